"""Reference implementations to measure rnntui's engine against, on the very same data.

- `train_tf1_loop`: the tutorial's way — a TF1 graph (via `tf.compat.v1`), one `sess.run` per
  window, the final state fed back as the next window's initial state.
- `train_keras_fit`: the Keras way — a stateful `RNN(cell)` + `Dense` model fed the same windows in
  order through `model.fit(shuffle=False)`, states reset each epoch.

Both return a `Timed`: the per-window losses and where the time went. Both accept initial weights,
so they can start exactly where rnntui's engine starts and be compared loss for loss. They live
under benchmarks/ because they exist only to be compared with; the product never runs them.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np


class Timed(NamedTuple):
    """Per-window losses and timings (seconds) of one training epoch."""

    losses: list[float]
    setup_s: float  # building the graph or model, before the first window
    first_s: float  # the first call (the first window, or chunk): tracing and compiling
    rest_s: float  # every later call
    first_windows: int  # windows the first call trained
    rest_cpu_s: float = float("nan")  # CPU time (all threads) of every later call, when measured

    @property
    def wall_s(self) -> float:
        return self.setup_s + self.first_s + self.rest_s


def train_tf1_loop(
    xs: np.ndarray,
    ys: np.ndarray,
    state_size: int = 4,
    learning_rate: float = 0.1,
    seed: int = 0,
    weights: list[np.ndarray] | None = None,
    reset_every: int | None = None,
) -> Timed:
    """xs, ys: [windows, batch, num_steps] int32, as `EchoTask.windows` returns.

    `weights`, if given, are the initial [W, b, W_out, b_out] (rnntui's raw RNN layout).
    `reset_every`: windows per epoch; the tutorial zeroes the carried state at each epoch.
    """
    import tensorflow as tf

    v1 = tf.compat.v1
    started = time.perf_counter()
    _, batch_size, num_steps = xs.shape
    num_classes = 2
    initial = weights or [None] * 4

    def variable(name: str, shape: list[int], value: np.ndarray | None, zero: bool = False):
        if value is not None:
            init = v1.constant_initializer(np.asarray(value, np.float32))
        else:
            init = v1.constant_initializer(0.0) if zero else None
        return v1.get_variable(name, shape, initializer=init)

    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(seed)
        x = v1.placeholder(tf.int32, [batch_size, num_steps])
        y = v1.placeholder(tf.int32, [batch_size, num_steps])
        init_state = v1.placeholder_with_default(tf.zeros([batch_size, state_size]), None)
        inputs = tf.unstack(tf.one_hot(x, num_classes), axis=1)
        W = variable("W", [num_classes + state_size, state_size], initial[0])  # noqa: N806
        b = variable("b", [state_size], initial[1], zero=True)
        state, outputs = init_state, []
        for rnn_input in inputs:
            state = tf.tanh(tf.matmul(tf.concat([rnn_input, state], 1), W) + b)
            outputs.append(state)
        W2 = variable("W2", [state_size, num_classes], initial[2])  # noqa: N806
        b2 = variable("b2", [num_classes], initial[3], zero=True)
        logits = tf.stack([tf.matmul(o, W2) + b2 for o in outputs], axis=1)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        )
        train_op = v1.train.AdagradOptimizer(learning_rate).minimize(loss)
        init = v1.global_variables_initializer()
    losses = []
    with v1.Session(graph=graph) as sess:
        sess.run(init)
        carried = np.zeros((batch_size, state_size), np.float32)
        marks = [time.perf_counter()]
        for window in range(len(xs)):
            if reset_every and window and window % reset_every == 0:
                carried = np.zeros((batch_size, state_size), np.float32)
            value, carried, _ = sess.run(
                [loss, state, train_op],
                feed_dict={x: xs[window], y: ys[window], init_state: carried},
            )
            losses.append(float(value))
            if window == 0:
                marks.append(time.perf_counter())
        marks.append(time.perf_counter())
    return Timed(losses, marks[0] - started, marks[1] - marks[0], marks[2] - marks[1], 1)


def train_keras_fit(
    xs: np.ndarray,
    ys: np.ndarray,
    cell: str = "rnn",
    state_size: int = 4,
    learning_rate: float = 0.1,
    seed: int = 0,
    optimizer: str = "adagrad",
    weights: list[np.ndarray] | None = None,
    jit_compile: bool | str = "auto",
    steps_per_execution: int = 1,
) -> Timed:
    """A stateful Keras model trained with `fit` on the same windows, in the same order.

    `weights`, if given, are the initial weights in Keras' layout (cell, then Dense).
    `jit_compile="auto"` is Keras' default, which on a CPU-only machine means no XLA.
    """
    import keras

    started = time.perf_counter()
    keras.utils.set_random_seed(seed)
    _, batch_size, num_steps = xs.shape
    layer = {"rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[
        cell
    ]
    model = keras.Sequential(
        [
            keras.Input(shape=(num_steps, 2), batch_size=batch_size),
            layer(state_size, return_sequences=True, stateful=True),
            keras.layers.Dense(2),
        ]
    )
    if weights is not None:
        model.set_weights(weights)
    if optimizer == "adagrad":  # TF1-compatible, as rnntui's
        opt = keras.optimizers.Adagrad(learning_rate, initial_accumulator_value=0.1)
    else:
        kinds = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}
        opt = getattr(keras.optimizers, kinds[optimizer])(learning_rate)
    model.compile(
        optimizer=opt,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    # Stream b's windows must stay in batch row b: flatten [W, B, T] window-major, no shuffling.
    x = np.eye(2, dtype=np.float32)[xs.reshape(-1, num_steps)]
    y = ys.reshape(-1, num_steps)

    record = _PerBatch()
    fit_started = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    ended = time.perf_counter()
    return Timed(
        record.losses,
        fit_started - started,
        record.first_end - fit_started,
        ended - record.first_end,
        steps_per_execution,
    )


def train_keras_text_fit(
    xs: np.ndarray,
    ys: np.ndarray,
    vocabulary: int,
    embedding: int,
    units: int,
    learning_rate: float,
    seed: int = 0,
    weights: list[np.ndarray] | None = None,
    jit_compile: bool | str = "auto",
    steps_per_execution: int = 1,
) -> Timed:
    """What a Keras user writes for char-rnn: Embedding + stateful LSTM + Dense, Adam, `fit` over
    the same windows in the same order (stream b stays in batch row b), states carried."""
    import keras

    started = time.perf_counter()
    keras.utils.set_random_seed(seed)
    _, batch_size, num_steps = xs.shape
    model = keras.Sequential(
        [
            keras.Input(shape=(num_steps,), batch_size=batch_size, dtype="int32"),
            keras.layers.Embedding(vocabulary, embedding),
            keras.layers.LSTM(units, return_sequences=True, stateful=True),
            keras.layers.Dense(vocabulary),
        ]
    )
    if weights is not None:
        model.set_weights(weights)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    x = xs.reshape(-1, num_steps).astype(np.int32)
    y = ys.reshape(-1, num_steps).astype(np.int32)
    record = _PerBatch()
    fit_started = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    ended, ended_cpu = time.perf_counter(), time.process_time()
    return Timed(
        record.losses,
        fit_started - started,
        record.first_end - fit_started,
        ended - record.first_end,
        steps_per_execution,
        ended_cpu - record.first_cpu,
    )


def _per_batch_class():
    import keras

    class PerBatch(keras.callbacks.Callback):
        """Each batch's own loss (Keras logs a running mean) and when the first call ended."""

        def __init__(self) -> None:
            super().__init__()
            self.losses: list[float] = []
            self.done = 0  # batches accounted for
            self.total = 0.0
            self.first_end = 0.0

        def on_train_batch_end(self, batch, logs=None):
            total = float(logs["loss"]) * (batch + 1)
            count = batch + 1 - self.done  # > 1 when steps_per_execution > 1
            self.losses += [(total - self.total) / count] * count
            self.done, self.total = batch + 1, total
            if not self.first_end:
                self.first_end, self.first_cpu = time.perf_counter(), time.process_time()

    return PerBatch


def _PerBatch():  # noqa: N802 (a class made on first use: keras is imported lazily)
    return _per_batch_class()()


def train_keras_series_fit(config, task, epochs: int) -> dict:
    """What a Keras user writes for the series task: the same LSTM/GRU and Dense head, MSE,
    Adam with the same global norm clip, `fit` on the same windows in the same order (each
    epoch's shuffle as rnntui draws it), batch by batch, from the same initial weights."""
    import keras

    from rnntui.models.build import build_model
    from rnntui.runtime.tf_import import import_tf

    import_tf()
    train = config.train
    windows = [task.windows(epoch, train.batch_size, train.num_steps) for epoch in range(epochs)]
    x = np.concatenate([w[0].reshape(-1, train.num_steps, task.input_dim) for w in windows])
    y = np.concatenate([w[1].reshape(-1, task.num_classes) for w in windows])
    initial = build_model(
        config.model, task.num_classes, task.input_dim, False, train.seed
    ).get_weights()
    started = time.perf_counter()
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[config.model.cell]
    model = keras.Sequential(
        [
            keras.Input(shape=(train.num_steps, task.input_dim)),
            layer(config.model.state_size),
            keras.layers.Dense(task.num_classes),
        ]
    )
    model.set_weights(initial)
    clip = {"global_clipnorm": train.clip_norm} if train.clip_norm else {}
    model.compile(optimizer=keras.optimizers.Adam(train.learning_rate, **clip), loss="mse")
    model.fit(x, y, batch_size=train.batch_size, epochs=1, shuffle=False, verbose=0)
    wall = time.perf_counter() - started
    return {"windows": len(x), "wall_s": wall, "valid_mse": None}
