"""Probes: what a network has learned, and how far back its gradients reach.

Read-only functions of a model (a `SequenceModel`), its task and a fixed probe batch, cheap enough
to run a few times a second beside training (on the training thread, between chunks):

- **Lag effects**: for every lag k = 1..K, the mean change in the model's P(Y_t = 1) when X[t-k]
  is 1 rather than 0, with the carried state warmed up on real data first. K is at least twice
  the task's largest lag and twice num_steps. One flip at the start of a segment moves every
  later prediction, so two passes (X = 1 and X = 0 at the flip) measure all K lags at once.
- **Gradient reach**: mean |d loss_t / d x_{t-k}| for k = 0..2·num_steps, once with the run's
  truncation (the state is a constant at window boundaries, as in training: exactly zero past
  the window) and once with full backpropagation over the probe sequence. Each measured t gets
  its own copy of the batch, so one backward pass gives every (t, k) pair.

Both are compiled once per `Prober` (tf.function, no AutoGraph, fixed shapes, like
`compiled.py`) over a small fixed batch from an epoch training never uses.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from rnntui.engine.compiled import encode_inputs
from rnntui.engine.errors import one_line
from rnntui.engine.events import GradientReach, LagEffect, ProbeResult
from rnntui.runtime.tf_import import import_tf
from rnntui.tasks.lags import MeasuredLagTask, ProbeError, check_probeable, probe_max_lag

if TYPE_CHECKING:
    from rnntui.models.base import SequenceModel
    from rnntui.tasks.base import Task

PROBE_EPOCH = 1_000_003  # the probe's data: an epoch index no run trains on
LAG_SEQUENCES = 256  # sequences whose effects are averaged (±0.01 between batches, measured)
REACH_SEQUENCES = 16  # sequences per measured position for the gradient reach
REACH_POSITIONS = 10  # measured positions t, spread evenly over one window
# Beside training, probes take at most this share of the wall time: a probe that costs 5 ms runs
# at most every 250 ms, whatever interval is asked for.
PROBE_BUDGET = 0.02


def probe_data(task: Task, sequences: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """x, y [n, length]: up to `sequences` contiguous stretches of the task's probe epoch."""
    x, y = task.windows(PROBE_EPOCH, 1, length)
    if len(x) == 0:
        raise ProbeError(
            f"task.size is too small for the probe's {length}-step sequences; raise task.size"
        )
    n = min(sequences, len(x))
    return np.ascontiguousarray(x[:n, 0]), np.ascontiguousarray(y[:n, 0])


class Prober:
    """The probes of one model: data and compiled functions made once, measured on demand."""

    def __init__(
        self,
        model: SequenceModel,
        task: Task,
        num_steps: int,
        *,
        lag_sequences: int = LAG_SEQUENCES,
        reach_sequences: int = REACH_SEQUENCES,
    ) -> None:
        tf = self.tf = import_tf()
        self.model = model
        self.task = task
        self.num_steps = int(num_steps)
        self.max_lag = probe_max_lag(task, num_steps)
        self.true = check_probeable(task).true_lag_effects(self.max_lag)
        self.warmup = self.max_lag  # steps that warm the carried state before measuring
        self.measured = isinstance(task, MeasuredLagTask)
        if self.measured:  # the task measures, with the model's outputs; no gradient reach
            signature = [tf.TensorSpec([None, self.num_steps, task.input_dim], tf.float32)]
            self._outputs_fn = tf.function(
                self._outputs_graph, input_signature=signature, autograph=False
            ).get_concrete_function()
            return

        x, _ = probe_data(task, lag_sequences, self.warmup + self.max_lag + 1)
        self._lag_x = (tf.constant(x[:, : self.warmup]), tf.constant(x[:, self.warmup :]))
        self._lag_fn = _compile(self._lag_graph, self._lag_x)

        # Four windows: a warm-up (no gradient), two of history (lags up to 2T), the measured
        # one, whose positions t are spread evenly over the window; each gets a copy of the batch.
        steps = self.num_steps
        positions = min(steps, REACH_POSITIONS)
        self._reach_positions = [3 * steps + (r * steps) // positions for r in range(positions)]
        x, y = probe_data(task, reach_sequences, 4 * steps)
        n = len(x)
        copies = (2 * positions, *[1] * (x.ndim - 1))  # truncated copies first, then full
        self._reach_args = (
            tf.constant(np.tile(x, copies)),
            tf.constant(np.tile(y, (2 * positions, 1))),
        )
        mask = np.zeros((2, positions, n, 4 * steps), np.float32)
        lags = np.zeros((2, positions, 2 * steps + 1), np.int64)
        for r, t in enumerate(self._reach_positions):
            mask[:, r, :, t] = 1.0
            lags[:, r] = t - np.arange(2 * steps + 1)
        self._reach_mask = tf.constant(mask.reshape(-1, 4 * steps))
        self._reach_lags = tf.constant(lags)
        self._reach_fn: Any = None  # traced on first use: the backward pass costs most to trace

    # --- graph code -----------------------------------------------------------------------------

    def _outputs_graph(self, x: Any) -> Any:
        tf = self.tf
        state = [tf.zeros(tf.stack([tf.shape(x)[0], n])) for n in self.model.state_sizes]
        outputs, _ = self.model(x, state)
        return outputs

    def _lag_graph(self, warm_x: Any, segment: Any) -> Any:
        """Mean P(Y=1 | X[flip]=1) - P(Y=1 | X[flip]=0) at each of the K steps after the flip."""
        tf = self.tf
        n = segment.shape[0]
        _, state = self.model(encode_inputs(self.task, warm_x), self.model.initial_state(n))
        rest = segment[:, 1:]
        on = tf.concat([tf.ones_like(segment[:, :1]), rest], axis=1)
        off = tf.concat([tf.zeros_like(segment[:, :1]), rest], axis=1)
        both = encode_inputs(self.task, tf.concat([on, off], axis=0))
        logits, _ = self.model(both, [tf.concat([s, s], axis=0) for s in state])
        p_one = tf.nn.softmax(logits)[:, 1:, 1]
        return tf.reduce_mean(p_one[:n] - p_one[n:], axis=0)

    def _reach_graph(self, x: Any, y: Any) -> Any:
        """Mean |d loss_t / d x_{t-k}|, k = 0..2T: row 0 truncated, row 1 full.

        x, y [2·P·n, 4T]: the batch n times per measured position P, once for each mode. One
        loop over time serves both: at a window boundary a truncated row's state goes through
        `stop_gradient` (a full row's only after the first, warm-up window), so one backward
        pass gives every row its own gradients.
        """
        tf = self.tf
        steps, positions = self.num_steps, len(self._reach_positions)
        rows, length = x.shape[0], 4 * steps
        per_copy = rows // (2 * positions)
        inputs = encode_inputs(self.task, x)
        truncated = tf.constant(np.arange(rows) < rows // 2, tf.float32)[:, None]

        def body(t: Any, outputs: Any, *state: Any) -> tuple:
            boundary = tf.cast(t % steps == 0, tf.float32)
            cut = tf.maximum(tf.cast(t == steps, tf.float32), boundary * truncated)
            # the value stays exactly the state; only the gradient is cut where `cut` is 1
            state = [tf.stop_gradient(s) * cut + s * (1.0 - cut) for s in state]
            output, state = self.model.step(time_major[t], state)
            return (t + 1, outputs.write(t, output), *state)

        with tf.GradientTape() as tape:
            tape.watch(inputs)
            time_major = tf.transpose(inputs, [1, 0, *range(2, len(inputs.shape))])
            outputs = tf.TensorArray(tf.float32, size=length)
            _, outputs, *_ = tf.while_loop(
                lambda t, *_: t < length,
                body,
                (tf.constant(0), outputs, *self.model.initial_state(rows)),
            )
            logits = self.model.head(tf.transpose(outputs.stack(), [1, 0, 2]))
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.cast(y, tf.int32), logits=logits
            )
            objective = tf.reduce_sum(losses * self._reach_mask)
        gradient = tf.norm(tape.gradient(objective, inputs), axis=-1)  # [rows, 4T]
        gradient = tf.reshape(gradient, [2, positions, per_copy, length])
        picked = tf.gather(gradient, self._reach_lags, axis=3, batch_dims=2)  # [2, P, n, 2T+1]
        return tf.reduce_mean(picked, axis=[1, 2])

    # --- Python side ----------------------------------------------------------------------------

    def _outputs(self, x: np.ndarray) -> np.ndarray:
        return self._outputs_fn(self.tf.constant(np.asarray(x, np.float32))).numpy()

    def lag_effects(self) -> tuple[LagEffect, ...]:
        if self.measured:
            measured = self.task.lag_effects(self._outputs, self.num_steps)
            return tuple(
                LagEffect(k, float(measured.get(k, 0.0)), self.true.get(k, 0.0))
                for k in range(1, self.max_lag + 1)
            )
        effects = self._lag_fn(*self._lag_x).numpy().tolist()
        return tuple(
            LagEffect(k, float(e), self.true.get(k, 0.0)) for k, e in enumerate(effects, start=1)
        )

    def gradient_reach(self) -> tuple[GradientReach, ...]:
        if self.measured:
            return ()  # whole windows from a zero state: no truncation to measure
        if self._reach_fn is None:
            self._reach_fn = _compile(self._reach_graph, self._reach_args)
        truncated, full = self._reach_fn(*self._reach_args).numpy().tolist()
        return tuple(
            GradientReach(k, float(t), float(f))
            for k, (t, f) in enumerate(zip(truncated, full, strict=True))
        )

    def measure(self, step: int = 0, gradients: bool = True) -> ProbeResult:
        started = time.perf_counter()
        lags = self.lag_effects()
        reach = self.gradient_reach() if gradients else ()
        cost = time.perf_counter() - started
        if self.measured:
            reference = getattr(self.task, "reference", "reference")
            measures = (
                f"effect of {getattr(self.task, 'measured_input', 'the input')} lag rows back "
                f"on the forecast of {getattr(self.task, 'measured_output', 'the target')} "
                f"(per unit), the model's and a {reference}'s"
            )
            return ProbeResult(step, lags, (), self.num_steps, cost, reference, measures)
        return ProbeResult(step, lags, reach, self.num_steps, cost)


def _compile(function: Any, args: tuple) -> Any:
    """A concrete function for these arguments (traced once, called directly). The time axis
    is left unknown, so the model loops over it with a `tf.while_loop` instead of unrolling."""
    tf = import_tf()
    signature = [tf.TensorSpec([a.shape[0], None, *a.shape[2:]], a.dtype) for a in args]
    return tf.function(function, input_signature=signature, autograph=False).get_concrete_function()


def lag_effects(model: SequenceModel, task: Task, num_steps: int) -> tuple[LagEffect, ...]:
    """The lag probe of `model` once (a `Prober` measures repeatedly without retracing)."""
    return Prober(model, task, num_steps).lag_effects()


def gradient_reach(model: SequenceModel, task: Task, num_steps: int) -> tuple[GradientReach, ...]:
    """The gradient reach of `model` once, truncated at `num_steps` and in full."""
    return Prober(model, task, num_steps).gradient_reach()


class LiveProbe:
    """A `Prober` beside training: traced on a helper thread, measured between chunks.

    Tracing the probe functions takes ~0.2 s for the lag effects and ~0.4 s more for the
    gradient reach (measured, echo presets), which would stall a short run by far more than its
    few per cent; on a helper thread it overlaps training (whose chunks run outside the GIL),
    and the gradient reach is only traced once someone asks for it. Once ready, `poll` measures
    on the training thread, between chunks, so a probe never sees half-updated weights, at most
    every `interval` seconds and never more than `PROBE_BUDGET` of the time.
    """

    def __init__(self, model: SequenceModel, task: Task, num_steps: int) -> None:
        check_probeable(task)
        self._args = (model, task, num_steps)
        self._prober: Prober | None = None
        self._reach_ready = False
        self.error = ""  # why the probe could not be built, one line
        self._next = 0.0
        self._thread = self._start(self._build)

    def _start(self, target: Any) -> threading.Thread:
        thread = threading.Thread(target=target, name="rnntui-probe", daemon=True)
        thread.start()
        return thread

    def _build(self) -> None:
        try:
            prober = Prober(*self._args)
            prober.lag_effects()  # the first call instantiates the function: do it here too
            self._prober = prober
        except Exception as error:  # reported by `poll`'s caller; training goes on regardless
            self.error = one_line(error)

    def _build_reach(self) -> None:
        try:
            assert self._prober is not None
            self._prober.gradient_reach()
            self._reach_ready = True
        except Exception as error:
            self.error = one_line(error)

    def poll(
        self, step: int, interval: float, gradients: bool, wait: bool = False
    ) -> ProbeResult | None:
        """A probe of the model now, if one is due and ready (`wait`: finish building first);
        `gradients` adds the gradient reach once it is traced (asking starts that)."""
        if wait:
            self._thread.join()
        prober = self._prober
        if prober is None:
            return None
        if gradients and not self._reach_ready and not self._thread.is_alive() and not self.error:
            self._thread = self._start(self._build_reach)
            if wait:
                self._thread.join()
        now = time.perf_counter()
        if not wait and now < self._next:
            return None
        result = prober.measure(step, gradients and self._reach_ready)
        self._next = now + max(interval, result.cost_s / PROBE_BUDGET)
        return result
