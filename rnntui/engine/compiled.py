"""The TensorFlow side of training: model, optimizer and the compiled chunk of steps.

Only this module (and `models`, `inspect`) touch TensorFlow; it is imported inside the trainer's
worker thread, never at start-up.

Why it looks the way it does (each point measured; see docs/performance.md):
- `autograph=False` and an explicit `tf.while_loop`: AutoGraph re-parses and transpiles every
  Python function a step touches (ours and Keras'), which was ~70 % of the first call.
- `gc.freeze()` once TensorFlow and the model exist: a full collection walks the millions of
  objects the import leaves behind (it cost the first call 0.16 s, holding the GIL, which also
  stalls the UI thread).
- One TensorFlow thread for small models: a window's ops are too small to split, and a second
  thread only adds hand-offs (XLA ran ~1.3x faster with one) and takes the UI's core.
- Grappler off on CPU without XLA: it rewrites the function on first use, and for these tiny
  ops that cost time and won nothing (first call -20 %, steady state +15 % without it; under
  XLA it is worth keeping, +10 %).
- At these sizes the op count is the run time (each op costs the executor about a microsecond,
  whatever it computes), so a window is built from few ops: the optimizer step is TensorFlow's
  fused kernels (`fused_updates.py`), a small LSTM layer runs in TensorFlow's fused LSTM
  kernels and a wide one has its backward pass written out (`models/cells`), the raw cell
  splits its kernel once a window, windows are taken with one `gather`, and whole-item tasks'
  zero state is made once outside the loop. count-lstm's window went from 619 ops to 392 (0.63x
  the time per window) and then to 109 (the fused LSTM kernels, no clipping cond), echo-raw-5's
  from 278 to 134 (the written-out tanh window, the two-class `cross_entropy`).
- XLA (`train.xla`, "auto" picks it for runs long enough to repay its ~1 s compile). Under XLA
  every call has the same shape (a short last chunk is padded and only its first `count`
  windows run), so it compiles once.
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np

from rnntui.config import Config
from rnntui.engine.fused_updates import apply_gradients
from rnntui.models.build import build_model
from rnntui.runtime import xla_cache
from rnntui.runtime.device_setting import choose_gpus
from rnntui.runtime.tf_import import import_tf
from rnntui.tasks.base import Task

SMALL_MODEL = 1 << 18  # batch x widest layer below this: one TF thread is as fast as two or more
# "auto" turns XLA on when it repays its compile (0.8-1.8 s here): runs of at least this many
# windows (break-even measured at 4,000-6,000), in calls of at least XLA_MIN_CALL windows (with a
# few windows a call, as the count task's 5, XLA ran no faster than the graph executor)
XLA_MIN_WINDOWS = 5_000
XLA_MIN_CALL = 50
# `train.chunk = 0` (the default): windows per compiled call. Under XLA, calls of small windows
# (batch x steps x widest layer up to XLA_SMALL_WINDOW, ~0.1 ms each) take up to an epoch:
# echo-raw-5's ten epochs in calls of 1,000 windows 1.23-1.29 s against 1.42-1.94 s in calls of
# 100 (3 rounds, alternating, programs kept); a call of 100 of these costs ~0.6 ms beyond its
# windows and XLA's own loop ran each window 76 us against 94-122 us. A call stays <~0.4 s.
DEFAULT_CHUNK = 100
XLA_SMALL_CHUNK = 1_000
XLA_SMALL_WINDOW = 16_000
_runtime_configured = False


def configure_runtime(config: Config) -> None:
    """Once per process, before the first op runs: the devices and TensorFlow's thread count.

    A device the machine lacks raises `DeviceError` (one line) every time it is asked for."""
    from rnntui.runtime.devices import apply_device_settings

    global _runtime_configured
    if _runtime_configured:
        choose_gpus(config.train.device, import_tf().config.list_physical_devices("GPU"))
        return
    apply_device_settings(config.train.device, config.train.gpu_memory_growth)
    _runtime_configured = True
    tf = import_tf()
    if config.train.batch_size * _widest(config) < SMALL_MODEL:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # the runtime already runs (something executed an op): keep it
            pass


def warm_up_matmuls(config: Config, task: Task) -> None:
    """Make oneDNN generate its sgemm code for each transpose variant now (see `engine.ahead`):
    run on a background thread while the training thread builds and traces, it took the 16-30 ms
    of code generation out of echo-raw-5's first call (first window 16-30 ms -> 1.3 ms).

    Not under XLA, which makes its own matmul code: these eager ops, beside the trace, renumber
    the traced functions (`while_body_104` or `_105`), and the kept XLA programs are found by
    those names (measured with TF 2.21: about every other run missed the cache)."""
    if use_xla(config, task):
        return
    tf = import_tf()
    square = tf.ones([8, 8])
    for transpose_a in (False, True):
        for transpose_b in (False, True):
            tf.linalg.matmul(square, square, transpose_a=transpose_a, transpose_b=transpose_b)


def use_xla(config: Config, task: Task) -> bool:
    """`train.xla`: "on", "off", or "auto" (on when the run is long enough to repay compiling)."""
    from rnntui.tasks.build import total_steps

    setting = config.train.xla
    if setting == "auto":
        per_epoch = task.steps_per_epoch(config.train.batch_size, config.train.num_steps)
        per_call = min(windows_per_call(config, xla=True), per_epoch)
        return per_call >= XLA_MIN_CALL and total_steps(config, task) >= XLA_MIN_WINDOWS
    return setting == "on"  # the config reads true/false as on/off


def windows_per_call(config: Config, xla: bool) -> int:
    """`train.chunk`, or when it is 0 the engine's choice (see DEFAULT_CHUNK)."""
    train = config.train
    if train.chunk:
        return train.chunk
    small = train.batch_size * train.num_steps * _widest(config) <= XLA_SMALL_WINDOW
    return XLA_SMALL_CHUNK if xla and small else DEFAULT_CHUNK


def _widest(config: Config) -> int:
    """The widest recurrent layer's units (what the size rules above measure)."""
    return max([config.model.state_size, *config.model.layers])


def make_optimizer(name: str, learning_rate: float) -> Any:
    import keras

    if name == "adagrad":
        # TF1's AdagradOptimizer starts its accumulators at 0.1, as the tutorial relied on
        return keras.optimizers.Adagrad(learning_rate, initial_accumulator_value=0.1)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    raise ValueError(f"unknown optimizer '{name}'")


def cross_entropy(labels: Any, logits: Any) -> Any:
    """Softmax cross-entropy (nats) of each prediction: labels [..] are class ids, logits [.., C].

    Two classes (the echo task): the same quantity as softplus of the logit margin, in ~8 ops
    forward and backward. `sparse_softmax_cross_entropy_with_logits` took 52 of echo-raw-5's
    ~270 us a window (its kernel reduces over an axis of 2), plus reshapes for rank-3 logits;
    this took ~25 us less with its gradient. It agrees with it to float rounding (~1e-7)."""
    tf = import_tf()
    labels = tf.cast(labels, tf.int32)
    if logits.shape[-1] == 2:
        first, second = tf.unstack(logits, axis=-1)
        sign = tf.cast(1 - 2 * labels, logits.dtype)  # +1 where the label is 0, else -1
        return tf.nn.softplus((second - first) * sign)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def prediction_loss(kind: str, labels: Any, outputs: Any) -> Any:
    """Each prediction's loss: cross-entropy (nats) of class ids, or the squared error of float
    targets (`Task.loss` = "mse": one per output column)."""
    if kind == "mse":
        return import_tf().math.squared_difference(outputs, labels)
    return cross_entropy(labels, outputs)


def reported_loss(task: Task, per_prediction: Any, mean: Any) -> Any:
    """The loss as the run reports it: the mean, each output column weighted by the task's
    `loss_weights` (a regression's squared target scale: the loss in the target's own units,
    while the network still minimises the mean over standardised columns)."""
    tf = import_tf()
    weights = tuple(task.loss_weights)
    if not weights:
        return mean  # `mean`, the objective's own: no op added to a classifier's window
    if len(set(weights)) == 1:  # one target: a constant factor, no extra op per element
        return mean * weights[0]
    return tf.reduce_mean(per_prediction * tf.constant(weights, per_prediction.dtype))


def encode_inputs(task: Task, x: Any) -> Any:
    """What the network is fed for task inputs `x` (graph code): one-hot class ids, or floats."""
    tf = import_tf()
    if task.one_hot:
        return tf.one_hot(x, task.num_classes)
    return tf.cast(x, tf.float32)


class CompiledSteps:
    """A model, its optimizer and `train_chunk`: many windows per compiled call."""

    def __init__(self, config: Config, task: Task) -> None:
        configure_runtime(config)
        tf = import_tf()
        self.tf = tf
        self.task = task
        self.batch_size = config.train.batch_size
        self.num_steps = config.train.num_steps
        self.xla = use_xla(config, task)
        self.chunk = windows_per_call(config, self.xla)
        if not tf.config.list_physical_devices("GPU"):
            # read when a function first runs, per thread: each run (worker thread) gets its own
            tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": not self.xla})
        self.per_epoch = task.steps_per_epoch(config.train.batch_size, config.train.num_steps)
        self.carry_state = task.many_to_many  # streams continue across windows; whole items do not
        self.model = build_model(
            config.model,
            task.num_classes,
            task.input_dim,
            task.many_to_many,
            config.train.seed,
            ids=task.one_hot,
        )
        self.variables = list(self.model.trainable_variables)
        self.optimizer = make_optimizer(config.train.optimizer, config.train.learning_rate)
        self.optimizer.build(self.variables)
        # a variable, not a constant: a live change (Trainer.set_knob) must not retrace the chunk.
        # Whether to clip at all is decided when tracing, not by a tf.cond in every window: the
        # cond cost 30 % of echo-raw-5's tracing, and its branches ran in each window; turning
        # clipping on or off mid-run retraces once (under XLA: compiles again, ~1 s).
        self.clip_norm = tf.Variable(config.train.clip_norm, trainable=False, dtype=tf.float32)
        self.clipping = config.train.clip_norm > 0
        self._train: Any = None  # traced on the first chunk, when the window shape is known
        self.traces = 0  # how often the chunk was traced (XLA compiles once per trace)
        self.calls = 0  # compiled calls made (each trains up to `chunk` windows)
        self._rows: int | None = None
        self._zero_state: tuple | None = None
        self._predict = tf.function(self._predict_graph, autograph=False)
        self._losses: Any = None  # mean_loss's compiled loop, traced on first use
        self._outputs: Any = None  # outputs()'s compiled function, traced on first use
        self.loss_kind = task.loss
        gc.freeze()  # the import and the model are permanent: later collections skip them

    # --- graph code -----------------------------------------------------------------------------

    def _inputs(self, x):
        if self.task.one_hot:
            return self.model.encode_ids(x)  # one-hot, or a learned embedding
        return self.tf.cast(x, self.tf.float32)

    def _step(self, x, y, state):
        tf = self.tf
        with tf.GradientTape() as tape:
            logits, new_state = self.model(self._inputs(x), state, xla=self.xla)
            per_prediction = prediction_loss(self.loss_kind, y, logits)
            mean = tf.reduce_mean(per_prediction)
            # the echo tutorial minimises the mean; the count tutorial the summed cross-entropy
            objective = tf.reduce_sum(per_prediction) if self.task.sum_loss else mean
        grads = tape.gradient(objective, self.variables)
        if self.clipping:
            grads = tf.clip_by_global_norm(grads, self.clip_norm)[0]
        apply_gradients(self.optimizer, grads, self.variables)
        return reported_loss(self.task, per_prediction, mean), new_state

    def _chunk_graph(self, xs, ys, count, state):
        """Train on windows 0..count-1 of xs, ys (any rows after `count` are padding)."""
        tf = self.tf
        losses = tf.TensorArray(tf.float32, size=tf.shape(xs)[0])
        # made once, outside the loop: whole-item tasks start every window from zeros
        zeros = None if self.carry_state else self.model.initial_state(self.batch_size)

        def body(i, losses, *state):
            # gather: one op where xs[i] was seven (a strided slice and its index packing)
            x, y = tf.gather(xs, i), tf.gather(ys, i)
            loss, new_state = self._step(x, y, list(state) if zeros is None else zeros)
            return (i + 1, losses.write(i, loss), *new_state)

        _, losses, *state = tf.while_loop(
            lambda i, *_: i < count, body, (tf.constant(0), losses, *state)
        )
        return losses.stack(), state

    def _loss_graph(self, xs, ys, state):
        """Summed cross-entropy over windows xs [W, B, T..] (no training), the state carried."""
        tf = self.tf
        streams = tf.shape(xs)[1]
        zero = [tf.zeros(tf.stack([streams, size])) for size in self.model.state_sizes]

        def body(i, total, *state):
            start = list(state) if self.carry_state else zero
            logits, new_state = self.model(self._inputs(xs[i]), start)
            per_prediction = prediction_loss(self.loss_kind, ys[i], logits)
            return (i + 1, total + tf.reduce_sum(tf.cast(per_prediction, tf.float64)), *new_state)

        _, total, *state = tf.while_loop(
            lambda i, *_: i < tf.shape(xs)[0],
            body,
            (tf.constant(0), tf.constant(0.0, tf.float64), *state),
        )
        return total, state

    def _predict_graph(self, x):
        state = self.model.initial_state(x.shape[0])
        logits, _ = self.model(self._inputs(x), state)
        return self.tf.argmax(logits, axis=-1, output_type=self.tf.int32)

    def _trace(self, xs: np.ndarray, ys: np.ndarray, rows: int | None) -> Any:
        """The compiled chunk; `rows` fixes its length (XLA compiles per shape), None takes any."""
        tf = self.tf
        signature = [
            tf.TensorSpec([rows, *xs.shape[1:]], tf.as_dtype(xs.dtype)),
            tf.TensorSpec([rows, *ys.shape[1:]], tf.as_dtype(ys.dtype)),
            tf.TensorSpec([], tf.int32),
            [tf.TensorSpec([self.batch_size, size], tf.float32) for size in self.model.state_sizes],
        ]
        self.traces += 1
        function = tf.function(
            self._chunk_graph, input_signature=signature, autograph=False, jit_compile=self.xla
        )
        return function.get_concrete_function()  # called directly: ~0.4 ms less per call

    # --- Python side ----------------------------------------------------------------------------

    def initial_state(self) -> list:
        if self._zero_state is None:  # tensors are immutable: make the zeros once
            self._zero_state = tuple(self.model.initial_state(self.batch_size))
        return list(self._zero_state)

    def train_chunk(self, xs: np.ndarray, ys: np.ndarray, state: list) -> tuple[list[float], list]:
        """Run len(xs) windows in one call; return each window's mean loss and the state."""
        count = len(xs)
        fresh = self._train is None or (self._rows is not None and count > self._rows)
        if fresh:
            # callers pass at most `chunk` windows, so under XLA this compiles once
            self._rows = max(min(self.chunk, self.per_epoch), count) if self.xla else None
            self._train = self._trace(xs, ys, self._rows)
        if self._rows is not None and count < self._rows:
            xs, ys = _pad(xs, self._rows), _pad(ys, self._rows)
        tf = self.tf
        self.calls += 1
        losses, state = self._train(
            tf.constant(xs), tf.constant(ys), tf.constant(count, tf.int32), list(state)
        )
        if fresh and self.xla:  # the program it compiled is complete now: keep it for later runs
            xla_cache.publish()
        return losses.numpy()[:count].tolist(), state

    def mean_loss(self, xs: np.ndarray, ys: np.ndarray, chunk: int = 50) -> float:
        """Mean cross-entropy (nats) over windows xs [W, streams, T..] without training; the state
        starts at zero and carries across windows when the task's does (a task's evaluation)."""
        tf = self.tf
        if self._losses is None:
            signature = [
                tf.TensorSpec([None, None, *xs.shape[2:]], tf.as_dtype(xs.dtype)),
                tf.TensorSpec([None, None, *ys.shape[2:]], tf.as_dtype(ys.dtype)),
                [tf.TensorSpec([None, size], tf.float32) for size in self.model.state_sizes],
            ]
            self._losses = tf.function(
                self._loss_graph, input_signature=signature, autograph=False
            ).get_concrete_function()
        state = [tf.zeros([xs.shape[1], size]) for size in self.model.state_sizes]
        total = 0.0
        for begin in range(0, len(xs), chunk):  # bounded memory, whatever the held-out size
            x, y = xs[begin : begin + chunk], ys[begin : begin + chunk]
            part, state = self._losses(tf.constant(x), tf.constant(y), state)
            total += float(part)
        return total / max(1, ys.size)

    def set_knob(self, name: str, value: float) -> None:
        """Change a live knob; the next chunk trains with it (both are variables: no retrace,
        except when clipping is turned on or off)."""
        if name == "learning_rate":
            self.optimizer.learning_rate = value  # Keras assigns its learning-rate variable
        elif name == "clip_norm":
            self.clip_norm.assign(value)
            if (value > 0) != self.clipping:  # the chunk clips or not: trace it again
                self.clipping, self._train = value > 0, None
        else:
            raise ValueError(f"unknown knob '{name}'; use learning_rate or clip_norm")

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class ids for whole sequences x, each from a zero state (a task's evaluation)."""
        return self._predict(x).numpy()

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """The head's raw outputs (logits, or a regression's values) for whole sequences x
        [n, steps(, features)], each from a zero state; one trace serves any n."""
        tf = self.tf
        if self._outputs is None:
            signature = [tf.TensorSpec([None, *x.shape[1:]], tf.as_dtype(x.dtype))]
            self._outputs = tf.function(
                self._outputs_graph, input_signature=signature, autograph=False
            ).get_concrete_function()
        return self._outputs(tf.constant(x)).numpy()

    def _outputs_graph(self, x):
        tf = self.tf
        state = [tf.zeros(tf.stack([tf.shape(x)[0], size])) for size in self.model.state_sizes]
        outputs, _ = self.model(self._inputs(x), state)
        return outputs


def _pad(a: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros((rows, *a.shape[1:]), a.dtype)
    out[: len(a)] = a
    return out
