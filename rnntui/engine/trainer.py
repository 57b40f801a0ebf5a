"""The training loop shared by the TUI and the headless CLI.

`Trainer.run()` blocks (call it from a worker thread), imports TensorFlow lazily, and reports plain
Python events through a callback. The hot loop runs a chunk of windows per `tf.function` call (an
in-graph loop that carries the RNN state), so Python only touches chunk boundaries; pause and stop
are `threading.Event`s checked there.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from rnntui.config import Config, ConfigError, set_value
from rnntui.engine.events import (
    EpochEnd,
    Event,
    Failed,
    Finished,
    KnobChanged,
    Paused,
    Progress,
    Resumed,
    Started,
)
from rnntui.engine.runs import METRICS_FILE, Checkpoint, RunFolder, read_knobs
from rnntui.tasks import Task, make_task, total_steps
from rnntui.tasks.base import summary_fields

if TYPE_CHECKING:
    from rnntui.engine.compiled import CompiledSteps
    from rnntui.engine.probes import LiveProbe

EMIT_INTERVAL_S = 0.05  # progress events at most this often; losses of skipped chunks are batched
TAIL_FRACTION = 0.10  # final_loss: the mean loss over the last 10 % of an epoch's steps
# Epoch-end saves (checkpoint + summary, each fsynced) at most this often: count-lstm's epochs
# last ~5 ms, and saving each one took half the run. Stop, failure and the last epoch always save.
SAVE_INTERVAL_S = 0.25
KNOBS = ("learning_rate", "clip_norm")  # train.* keys that can change while a run trains


def preload_tensorflow() -> str:
    """Import TensorFlow (slow, ~4 s) and return the device training will use."""
    from rnntui.tf_runtime import device_name

    return device_name()


def one_line(error: BaseException) -> str:
    """A user-facing, single-line description of an exception."""
    text = str(error).strip().splitlines()
    detail = text[0] if text else ""
    return f"{type(error).__name__}: {detail}"[:300] if detail else type(error).__name__


class TrainingStopped(Exception):
    """Raised inside the loop when stop() was requested (never escapes `run`)."""


class Trainer:
    """Trains one config; thread-safe pause/resume/stop; events via `on_event`.

    With a `RunFolder` it logs every step, checkpoints at each epoch end and on stop, and with
    `resume=True` continues from the folder's checkpoint exactly where it stood.
    """

    def __init__(
        self,
        config: Config,
        on_event: Callable[[Event], None] | None = None,
        *,
        run: RunFolder | None = None,
        resume: bool = False,
        tensorboard: bool = False,
    ) -> None:
        self.config = config.copy()
        self.on_event = on_event or (lambda event: None)
        self.run_folder = run
        self.resume_run = resume
        self.tensorboard = tensorboard
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._lock = threading.Lock()
        self._lstm_weights: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.start_step = 0  # steps done before this process (a resumed run)
        self.losses: list[float] = []  # the loss of every step this process ran, in order
        self.metrics: dict[str, float] = {}  # the latest value of every metric measured
        self.summary: dict[str, Any] = {}
        self.compiled: CompiledSteps | None = None  # once TensorFlow has built the model
        self._position = (0, 0)  # (epoch, next window): where the data stands
        self._epoch_losses: list[float] = []
        self._state: Any = None
        self._wall_before = 0.0
        self._started = 0.0
        self._writer: Any = None
        self._last_save = float("-inf")
        self.knobs: list[dict[str, Any]] = []  # live changes: {"step", "knob", "value"}
        self._pending_knobs: dict[str, float] = {}
        # Probes (engine/probes.py) between chunks, at most every `probe_interval` seconds
        # (0: never); the app sets it while its probe pane shows.
        self.probe_interval = 0.0
        self.probe_gradients = True
        self._live_probe: LiveProbe | None = None

    # --- control (any thread) -------------------------------------------------------------------

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def stop(self) -> None:
        self._stop.set()
        self._pause.clear()

    def set_knob(self, name: str, value: float) -> None:
        """Change `train.<name>` (learning_rate, clip_norm) from the next chunk on; a bad value
        raises ConfigError naming the key."""
        if name not in KNOBS:
            raise ConfigError(f"cannot change while training; live knobs: {', '.join(KNOBS)}", name)
        checked = self.config.copy()
        set_value(checked, f"train.{name}", value)
        with self._lock:
            self._pending_knobs[name] = getattr(checked.train, name)

    def set_probe(self, interval_s: float, gradients: bool = True) -> None:
        """Probe what the network learned every `interval_s` seconds (0: stop probing)."""
        self.probe_gradients = gradients
        self.probe_interval = max(0.0, float(interval_s))

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    @property
    def step(self) -> int:
        return self.start_step + len(self.losses)

    def lstm_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The first LSTM layer's trained weights (a snapshot), or None."""
        with self._lock:
            return self._lstm_weights

    # --- the run (worker thread) ----------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Train to the end (or until stopped). Never raises: failures become a `Failed` event."""
        try:
            return self._run()
        except Exception as error:  # anything inside training: report, never crash the caller
            message = one_line(error)
            self.summary = {**self.summary, "failed": message, "steps": self.step}
            self._write_summary()
            self.on_event(Failed(message=message, step=self.step))
            return self.summary
        finally:
            if self.run_folder is not None:
                self.run_folder.close()

    def _run(self) -> dict[str, Any]:
        from rnntui.engine.compiled import CompiledSteps

        cfg = self.config
        task = make_task(cfg.task, cfg.train.seed)
        check_fits_in_memory(cfg, task)
        device = preload_tensorflow()
        compiled = self.compiled = CompiledSteps(cfg, task)
        self.summary = self._summarize(task, device, 0, False)
        if self.resume_run:
            self._restore(compiled)
        self._snapshot_weights(compiled)
        if self.tensorboard and self.run_folder is not None:
            self._writer = compiled.tf.summary.create_file_writer(str(self.run_folder.path / "tb"))

        total = total_steps(cfg, task)
        self.on_event(
            Started(device, total, compiled.per_epoch, tuple(task.baselines()), self.start_step)
        )

        self._started = time.perf_counter()
        stopped = False
        try:
            self._train_epochs(compiled, task, total)
        except TrainingStopped:
            stopped = True
            self._checkpoint(compiled)
        self._snapshot_weights(compiled)
        if self.probe_interval and not stopped:  # what the final model learned (a stop is quick)
            self._probe(compiled, task, final=True)
        self.summary = self._summarize(task, device, self._position[0], stopped)
        self._write_summary()
        finished = Finished(stopped=stopped, summary=dict(self.summary))
        self.on_event(replace(finished, lstm_weights=self.lstm_weights()))
        return self.summary

    def _train_epochs(self, compiled: CompiledSteps, task: Task, total: int) -> None:
        cfg = self.config
        last_emit = time.perf_counter()
        pending: list[float] = []
        first_epoch, first_window = self._position
        for epoch in range(first_epoch, cfg.train.epochs):
            xs, ys = task.windows(epoch, cfg.train.batch_size, cfg.train.num_steps)
            if epoch != first_epoch or first_window == 0:
                self._state = compiled.initial_state()  # the tutorial resets it each epoch
                self._epoch_losses = []
            begin = first_window if epoch == first_epoch else 0
            while begin < len(xs):
                try:
                    self._wait_while_paused()
                except TrainingStopped:
                    if pending:
                        self._emit_progress(epoch, total, pending, time.perf_counter())
                    raise
                end = min(begin + cfg.train.chunk, len(xs))
                if self._pending_knobs:
                    self._apply_knobs(compiled)
                losses, self._state = compiled.train_chunk(
                    xs[begin:end], ys[begin:end], self._state
                )
                self._check_finite(losses)
                first_step = self.step
                self.losses.extend(losses)
                self._epoch_losses.extend(losses)
                self._position = (epoch, end)
                pending.extend(losses)
                self._log_chunk(first_step, epoch, losses)
                now = time.perf_counter()
                if now - last_emit >= EMIT_INTERVAL_S or end >= len(xs):
                    self._emit_progress(epoch, total, pending, now)
                    pending, last_emit = [], now
                if self.probe_interval:
                    self._probe(compiled, task)
                begin = end
            measured = self._evaluate(compiled, task, epoch)
            self._position = (epoch + 1, 0)
            self._snapshot_weights(compiled)
            now = time.perf_counter()
            if epoch + 1 == cfg.train.epochs or now - self._last_save >= SAVE_INTERVAL_S:
                self._checkpoint(compiled)
                self._write_summary(epochs=epoch + 1)
                self._last_save = now
            self._log_epoch(measured)
            self.on_event(EpochEnd(epoch, self.step, measured))

    def _apply_knobs(self, compiled: CompiledSteps) -> None:
        with self._lock:
            pending, self._pending_knobs = self._pending_knobs, {}
        for name, value in pending.items():
            compiled.set_knob(name, value)
            setattr(self.config.train, name, value)
            self.knobs.append({"step": self.step, "knob": name, "value": value})
            if self.run_folder is not None:
                self.run_folder.append_knob(self.step, name, value)
            self.summary = {**self.summary, "knobs": list(self.knobs)}
            self.on_event(KnobChanged(self.step, name, value))

    def _probe(self, compiled: CompiledSteps, task: Task, final: bool = False) -> None:
        """Measure what the network learned, if a probe is due (engine/probes.py)."""
        from rnntui.engine.probes import LiveProbe, ProbeError

        if self._live_probe is None:
            try:
                self._live_probe = LiveProbe(compiled.model, task, self.config.train.num_steps)
            except ProbeError:  # a task without lags: the app says so from the config
                self.probe_interval = 0.0
                return
        try:
            result = self._live_probe.poll(
                self.step, self.probe_interval, self.probe_gradients, wait=final
            )
        except Exception:  # a probe must never cost the run: stop probing, keep training
            self.probe_interval = 0.0
            return
        if result is not None:
            self.on_event(result)

    def _check_finite(self, losses: list[float]) -> None:
        bad = next((i for i, v in enumerate(losses) if not math.isfinite(v)), None)
        if bad is not None:
            raise FloatingPointError(
                f"loss became {losses[bad]} at step {self.step + bad + 1}; "
                "lower train.learning_rate or try another optimizer (the last good checkpoint "
                "is kept)"
            )

    def _wait_while_paused(self) -> None:
        if self._stop.is_set():
            raise TrainingStopped
        if not self._pause.is_set():
            return
        self.on_event(Paused(self.step))
        if self.run_folder is not None:
            self.run_folder.flush()
        while self._pause.is_set() and not self._stop.is_set():
            time.sleep(0.02)
        if self._stop.is_set():
            raise TrainingStopped
        self.on_event(Resumed(self.step))

    def _wall(self, now: float | None = None) -> float:
        return self._wall_before + ((now or time.perf_counter()) - self._started)

    def _emit_progress(self, epoch: int, total: int, losses: list[float], now: float) -> None:
        elapsed = now - self._started
        rate = len(self.losses) / elapsed if elapsed > 0 else 0.0
        eta = (total - self.step) / rate if rate > 0 else float("inf")
        self.on_event(Progress(self.step, epoch, total, tuple(losses), rate, eta, self._wall(now)))

    def _evaluate(self, compiled: CompiledSteps, task: Task, epoch: int) -> dict[str, float]:
        """What this epoch measured: its tail loss, and the task's metrics every `eval_every`
        epochs and at the last. `self.metrics` keeps the latest of each for the summary."""
        measured = {"tail_loss": _tail_mean(self._epoch_losses)}
        train = self.config.train
        if task.metrics and (epoch + 1 == train.epochs or (epoch + 1) % train.eval_every == 0):
            measured.update(task.evaluate(compiled))
        self.metrics = {**self.metrics, **measured}
        return measured

    def _snapshot_weights(self, compiled: CompiledSteps) -> None:
        weights = compiled.model.lstm_weights()
        if weights is not None:
            weights = tuple(np.array(w, copy=True) for w in weights)
        with self._lock:
            self._lstm_weights = weights

    # --- run folder -----------------------------------------------------------------------------

    def _log_chunk(self, first_step: int, epoch: int, losses: list[float]) -> None:
        if self.run_folder is not None:
            self.run_folder.append_metrics(first_step, epoch, losses, self._wall())
        if self._writer is not None:
            with self._writer.as_default():
                self.compiled.tf.summary.scalar("loss", float(np.mean(losses)), step=self.step)

    def _log_epoch(self, measured: dict[str, float]) -> None:
        if self._writer is not None:
            with self._writer.as_default():
                for key, value in measured.items():
                    if value is not None:
                        self.compiled.tf.summary.scalar(f"epoch/{key}", value, step=self.step)
            self._writer.flush()

    def _write_summary(self, **updates: Any) -> None:
        if self.run_folder is None:
            return
        if updates:
            self.summary = {**self.summary, **updates, "steps": self.step}
        self.run_folder.write_summary(self.summary)

    def _checkpoint(self, compiled: CompiledSteps) -> None:
        if self.run_folder is None:
            return
        epoch, window = self._position
        state = [] if self._state is None or window == 0 else [np.asarray(s) for s in self._state]
        self.run_folder.write_checkpoint(
            Checkpoint(
                epoch=epoch,
                window=window,
                step=self.step,
                wall_s=self._wall(),
                weights=compiled.model.get_weights(),
                optimizer=[np.asarray(v) for v in compiled.optimizer.variables],
                state=state,
                epoch_losses=list(self._epoch_losses) if window else [],
                metrics=dict(self.metrics),
            )
        )

    def _restore(self, compiled: CompiledSteps) -> None:
        """Continue from the run folder's checkpoint: weights, optimizer, state, data position."""
        run = self.run_folder
        if run is None or not run.has_checkpoint():
            raise FileNotFoundError("this run has no checkpoint to resume from")
        checkpoint = run.read_checkpoint()
        compiled.model.set_weights(checkpoint.weights)
        variables = compiled.optimizer.variables
        if len(variables) != len(checkpoint.optimizer):
            raise ValueError("the checkpoint's optimizer state does not fit this config")
        for variable, value in zip(variables, checkpoint.optimizer, strict=True):
            variable.assign(value)
        self._position = (checkpoint.epoch, checkpoint.window)
        self._state = [compiled.tf.constant(s) for s in checkpoint.state] or None
        self._epoch_losses = list(checkpoint.epoch_losses)
        self.metrics = dict(checkpoint.metrics)
        self.start_step = checkpoint.step
        self._wall_before = checkpoint.wall_s
        run.truncate_metrics(checkpoint.step)  # steps logged after the checkpoint run again
        if (run.path / METRICS_FILE).exists():  # live knob changes hold on: the latest of each
            self.knobs = read_knobs(run.path / METRICS_FILE)
            for row in self.knobs:
                compiled.set_knob(row["knob"], row["value"])
                setattr(self.config.train, row["knob"], row["value"])
            if self.knobs:
                self.summary = {**self.summary, "knobs": list(self.knobs)}

    def _summarize(
        self, task: Task, device: str, epochs_done: int, stopped: bool
    ) -> dict[str, Any]:
        cfg = self.config
        wall = self._wall() if self._started else self._wall_before
        ran = len(self.losses)
        elapsed = wall - self._wall_before
        summary: dict[str, Any] = {
            "preset": cfg.name,
            "task": cfg.task.kind,
            "cell": cfg.model.cell,
            "epochs": epochs_done,
            "steps": self.step,
            "wall_s": round(wall, 3),
            "steps_per_s": round(ran / elapsed, 1) if elapsed > 0 else 0.0,
            "final_loss": self.metrics.get("tail_loss", _tail_mean(self.losses)),
            "stopped": stopped,
            "device": device,
            "run": str(self.run_folder.path) if self.run_folder else None,
        }
        if self.knobs:
            summary["knobs"] = list(self.knobs)
        summary.update(summary_fields(task, self.metrics))
        return summary


def available_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits_in_memory(config: Config, task: Task | None = None) -> None:
    """Refuse, before allocating, a config whose data would not fit in free memory."""
    task = task or make_task(config.task, config.train.seed)
    need = task.estimate_bytes(config.train.batch_size, config.train.num_steps)
    free = available_memory_bytes()
    if free is not None and need > 0.8 * free:
        raise ConfigError(
            f"one epoch of data needs about {need / 2**30:.1f} GiB, more than the "
            f"{free / 2**30:.1f} GiB of free memory allows; lower task.size",
            "task.size",
        )


def _tail_mean(losses: list[float]) -> float | None:
    """Mean over the last 10 % of `losses` (at least one)."""
    if not losses:
        return None
    tail = max(1, int(len(losses) * TAIL_FRACTION))
    return float(np.mean(losses[-tail:]))
