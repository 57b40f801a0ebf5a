"""Reference implementations to measure rnntui's engine against, on the very same data.

- `train_tf1_loop`: the tutorial's way — a TF1 graph (via `tf.compat.v1`), one `sess.run` per
  window, the final state fed back as the next window's initial state.
- `train_keras_fit`: the Keras way — a stateful `RNN(cell)` + `Dense` model fed the same windows in
  order through `model.fit(shuffle=False)`, states reset each epoch.

Both return (per-window losses, wall seconds). They live under benchmarks/ because they exist only
to be compared with; the product never runs them.
"""

from __future__ import annotations

import time

import numpy as np


def train_tf1_loop(
    xs: np.ndarray, ys: np.ndarray, state_size: int = 4, learning_rate: float = 0.1, seed: int = 0
) -> tuple[list[float], float]:
    """xs, ys: [windows, batch, num_steps] int32, as `EchoTask.windows` returns."""
    import tensorflow as tf

    v1 = tf.compat.v1
    _, batch_size, num_steps = xs.shape
    num_classes = 2
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(seed)
        x = v1.placeholder(tf.int32, [batch_size, num_steps])
        y = v1.placeholder(tf.int32, [batch_size, num_steps])
        init_state = v1.placeholder_with_default(tf.zeros([batch_size, state_size]), None)
        inputs = tf.unstack(tf.one_hot(x, num_classes), axis=1)
        W = v1.get_variable("W", [num_classes + state_size, state_size])  # noqa: N806
        b = v1.get_variable("b", [state_size], initializer=v1.constant_initializer(0.0))
        state, outputs = init_state, []
        for rnn_input in inputs:
            state = tf.tanh(tf.matmul(tf.concat([rnn_input, state], 1), W) + b)
            outputs.append(state)
        W2 = v1.get_variable("W2", [state_size, num_classes])  # noqa: N806
        b2 = v1.get_variable("b2", [num_classes], initializer=v1.constant_initializer(0.0))
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
        started = time.perf_counter()
        for window in range(len(xs)):
            value, carried, _ = sess.run(
                [loss, state, train_op],
                feed_dict={x: xs[window], y: ys[window], init_state: carried},
            )
            losses.append(float(value))
        wall = time.perf_counter() - started
    return losses, wall


def train_keras_fit(
    xs: np.ndarray,
    ys: np.ndarray,
    cell: str = "rnn",
    state_size: int = 4,
    learning_rate: float = 0.1,
    seed: int = 0,
) -> tuple[list[float], float]:
    """A stateful Keras model trained with `fit` on the same windows, in the same order."""
    import keras

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
    model.compile(
        optimizer=keras.optimizers.Adagrad(learning_rate, initial_accumulator_value=0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    # Stream b's windows must stay in batch row b: flatten [W, B, T] window-major, no shuffling.
    x = np.eye(2, dtype=np.float32)[xs.reshape(-1, num_steps)]
    y = ys.reshape(-1, num_steps)

    class PerBatch(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.losses: list[float] = []
            self.previous_sum = 0.0

        def on_train_batch_end(self, batch, logs=None):
            # Keras reports the running mean over the epoch; recover each batch's own loss
            running = float(logs["loss"])
            total = running * (batch + 1)
            self.losses.append(total - self.previous_sum)
            self.previous_sum = total

    record = PerBatch()
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    wall = time.perf_counter() - started
    return record.losses, wall
