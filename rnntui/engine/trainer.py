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
from rnntui.engine.ahead import AHEAD_MAX_BYTES, Ahead
from rnntui.engine.alerts import RunAlerts
from rnntui.engine.best import BestWeights
from rnntui.engine.errors import TrainingStopped, one_line
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
from rnntui.engine.memory import MEMORY_SHARE, available_memory_bytes, check_fits_in_memory
from rnntui.engine.recorder import RunRecorder
from rnntui.runs.checkpoint import Checkpoint, check_checkpoint_fits
from rnntui.runs.files import CONTROL_FILE, RunFolderError
from rnntui.runs.folder import RunFolder
from rnntui.runs.resume import check_resume_changes, check_resume_position
from rnntui.runtime.devices import device_memory_mb, preload_tensorflow
from rnntui.tasks.base import Task, evaluation_view, summary_fields
from rnntui.tasks.build import make_task, total_steps

if TYPE_CHECKING:
    from rnntui.engine.compiled import CompiledSteps
    from rnntui.engine.probes import LiveProbe

EMIT_INTERVAL_S = 0.05  # progress events at most this often; losses of skipped chunks are batched
TAIL_FRACTION = 0.10  # final_loss: the mean loss over the last 10 % of an epoch's steps
# Epoch-end saves (checkpoint + summary, each fsynced) at most this often: count-lstm's epochs
# last ~5 ms, and saving each one took half the run (every 0.25 s still cost it ~3 %); a crash
# loses at most a second. Stop, failure and the last epoch always save.
SAVE_INTERVAL_S = 1.0
# A long epoch (text-lstm's is a minute) also checkpoints in its middle this often: a crash loses
# less, and a run trained in another process can be shown (sampled, traced) as it is now.
MID_EPOCH_SAVE_S = 10.0
# Memory in use is read for progress events at most this often: count-lstm sends one an epoch
# (2,000 in ~5 s), and reading /proc (or the GPU allocator) for each cost ~2 % of its run.
MEMORY_READ_INTERVAL_S = 0.5
RATE_WINDOW_S = 0.5  # the speed (steps/s, ETA) is reported once measured over this long
KNOBS = ("learning_rate", "clip_norm")  # train.* keys that can change while a run trains


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
        self._windows: tuple[Any, Any] = ((), ())
        self._windows_epoch = -1  # the epoch `_windows` holds
        self._ahead: Ahead | None = None  # the next epoch's windows, made on a background thread
        self._on_gpu = False
        self._memory_mb, self._memory_read = 0.0, float("-inf")  # the latest reading, and when
        self._rate_from: tuple[float, int] | None = None  # (time, steps) the speed counts from
        self.recorder = RunRecorder(run, tensorboard)  # what the run leaves in its folder
        self.failure: Exception | None = None  # why run() failed, for callers choosing exit codes
        self._task: Task | None = None
        self.knobs: list[dict[str, Any]] = []  # live changes: {"step", "knob", "value"}
        self._pending_knobs: dict[str, float] = {}
        # probes between chunks, at most every `probe_interval` s (0: never; the app's probe pane)
        self.probe_interval = 0.0
        self.probe_gradients = True
        self._live_probe: LiveProbe | None = None
        self._control_mtime: int | None = None  # control.json as last read
        self._control_seq = 0  # the last knob request applied from it
        self.alerts: RunAlerts | None = None  # set by run() for a run with a folder
        self.best = BestWeights(self.config.train.patience)  # early stopping (engine/best.py)

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

    def weights_snapshot(self) -> list[np.ndarray] | None:
        """Copies of every weight as it is now (any thread), or None before the model exists.

        Read while training may be running: each variable is read whole, but a read between two
        variables' updates can mix steps. That is fine for what this serves (sampling text and
        drawing hidden units from a live run a few times a minute), not for checkpoints.
        """
        compiled = self.compiled
        return None if compiled is None else compiled.model.get_weights()

    # --- the run (worker thread) ----------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Train to the end (or until stopped). Never raises: failures become a `Failed` event.

        The run folder is owned (locked) while training; a caller may lock it first (the CLI
        does, to refuse a second process before checking anything), else this takes the lock.
        """
        folder = self.run_folder
        took_lock = False
        try:
            if folder is not None and not folder.locked:
                folder.acquire()
                took_lock = True
            self.recorder.may_write = folder is not None and not self.resume_run
            self.alerts = RunAlerts.attach(self)  # from the training process; see engine/alerts.py
            return self._run()
        except Exception as error:  # anything inside training: report, never crash the caller
            message = one_line(error)
            self.failure = error
            self.summary = {**self.summary, "failed": message, "steps": self.step}
            self.recorder.failed(self.summary, self.step)
            self.on_event(Failed(message=message, step=self.step))
            return self.summary
        finally:
            if self._ahead is not None:
                self._ahead.close()
            if folder is not None:
                folder.close()
                if took_lock:
                    folder.release()

    def _run(self) -> dict[str, Any]:
        from rnntui.engine.compiled import CompiledSteps, configure_runtime, warm_up_matmuls

        cfg = self.config
        self.recorder.status("starting", self.step)
        checkpoint = self._read_checkpoint() if self.resume_run else None
        # a resumed run encodes its data as before (e.g. the text's vocabulary)
        task = make_task(cfg.task, cfg.train.seed, checkpoint.task_state if checkpoint else None)
        self._task = task
        check_fits_in_memory(cfg, task)
        configure_runtime(cfg)  # threads and devices, before TensorFlow runs anything
        device = preload_tensorflow()
        self._on_gpu = device != "CPU"
        ahead = self._ahead = self.start_ahead(task, checkpoint.epoch if checkpoint else 0)
        if not self._on_gpu:
            ahead.run(lambda: warm_up_matmuls(cfg, task))
        compiled = self.compiled = CompiledSteps(cfg, task)
        self.summary = self._summarize(task, device, 0, False)
        if checkpoint is not None:
            self._restore(compiled, checkpoint)
        self._snapshot_weights(compiled)
        self.recorder.open_tensorboard(compiled.tf)

        total = total_steps(cfg, task)
        self.recorder.status("training", self.step)
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
        else:  # a run that ended by itself keeps its best evaluated weights (train.patience)
            if (best := self.best.restore(compiled, task)) is not None:
                self.metrics = {**self.metrics, **best}
                self._checkpoint(compiled)
                self.recorder.evaluation(self.best.view)
        self._snapshot_weights(compiled)
        if self.probe_interval and not stopped:  # what the final model learned (a stop is quick)
            self._probe(compiled, task, final=True)
        self.summary = self._summarize(task, device, self._position[0], stopped)
        self._write_summary()
        self.recorder.status("stopped" if stopped else "finished", self.step)
        finished = Finished(stopped=stopped, summary=dict(self.summary))
        self.on_event(replace(finished, lstm_weights=self.lstm_weights()))
        return self.summary

    def start_ahead(self, task: Task, first_epoch: int) -> Ahead:
        """The background thread (engine/ahead.py), already making the first epoch's windows
        while the model is built, when the task makes fresh data each epoch."""
        train = self.config.train
        need = task.estimate_bytes(train.batch_size, train.num_steps)
        free = available_memory_bytes()
        # two epochs at once: within the bound, and within what check_fits_in_memory allows
        fits = need <= AHEAD_MAX_BYTES and (free is None or 2 * need <= MEMORY_SHARE * free)
        ahead = Ahead(
            lambda epoch: task.windows(epoch, train.batch_size, train.num_steps),
            train.epochs,
            enabled=task.fresh_data and fits,
        )
        ahead.start(first_epoch)
        return ahead

    def _train_epochs(self, compiled: CompiledSteps, task: Task, total: int) -> None:
        last_emit = time.perf_counter()
        pending: list[float] = []
        epochs = self.config.train.epochs
        while self._position[0] < epochs and not self.best.stop:
            pieces = self._next_call(task, compiled.per_epoch)
            try:
                self._wait_while_paused(compiled)
            except TrainingStopped:
                if pending:
                    self._emit_progress(pieces[0][0], total, pending, time.perf_counter())
                raise
            epoch, begin, _ = pieces[0]
            if begin == 0:
                self._state = compiled.initial_state()  # the tutorial resets it each epoch
                self._epoch_losses = []
            xs, ys = self._call_windows(task, pieces)
            self._poll_control()
            if self._pending_knobs:
                self._apply_knobs(compiled)
            losses, self._state = compiled.train_chunk(xs, ys, self._state)
            self._check_finite(losses)
            for index, (epoch, begin, end) in enumerate(pieces):
                done, losses = losses[: end - begin], losses[end - begin :]
                self.recorder.chunk(self.step, epoch, done, self._wall())
                self.losses.extend(done)
                self._epoch_losses.extend(done)
                pending.extend(done)
                self._position = (epoch, end)
                if end < compiled.per_epoch:
                    break
                # the steps of an epoch are reported before its end
                self._emit_progress(epoch, total, pending, time.perf_counter())
                pending, last_emit = [], time.perf_counter()
                self._end_epoch(compiled, task, epoch, evaluate=index == len(pieces) - 1)
                self._epoch_losses = []
            now = time.perf_counter()
            since = now - max(self.recorder.last_save, self._started)
            if self._position[1] and since >= MID_EPOCH_SAVE_S:
                self._checkpoint(compiled)
            if pending and (now - last_emit >= EMIT_INTERVAL_S or self.step >= total):
                self._emit_progress(self._position[0], total, pending, now)
                pending, last_emit = [], now
            if self.probe_interval:
                self._probe(compiled, task)

    def _next_call(self, task: Task, per_epoch: int) -> list[tuple[int, int, int]]:
        """The (epoch, first window, end window) pieces the next compiled call trains on.

        Up to the compiled chunk's windows (`train.chunk`, or the engine's choice). When the state
        does not carry from window to window, one call may span several short epochs
        (count-lstm's 5-window epochs: 20 a call, not one), up to an epoch whose end is evaluated
        (that needs the model as it is then).
        """
        train = self.config.train
        epoch, window = self._position
        pieces: list[tuple[int, int, int]] = []
        room = self.compiled.chunk
        while room > 0 and epoch < train.epochs:
            end = min(window + room, per_epoch)
            pieces.append((epoch, window, end))
            room -= end - window
            if end < per_epoch or task.many_to_many or self._evaluates(task, epoch):
                break
            epoch, window = epoch + 1, 0
        return pieces

    def _call_windows(self, task: Task, pieces: list[tuple[int, int, int]]) -> tuple[Any, Any]:
        """The windows of `pieces`: views of one epoch's data, or a copy joining several."""
        parts = []
        for epoch, begin, end in pieces:
            if self._windows_epoch != epoch:  # echo makes a fresh million samples per epoch
                assert self._ahead is not None
                self._windows = self._ahead.get(epoch)
                self._windows_epoch = epoch
            xs, ys = self._windows
            parts.append((xs[begin:end], ys[begin:end]))
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])

    def _evaluates(self, task: Task, epoch: int) -> bool:
        train = self.config.train
        last = epoch + 1 == train.epochs
        return bool(task.metrics) and (last or (epoch + 1) % train.eval_every == 0)

    def _end_epoch(self, compiled: CompiledSteps, task: Task, epoch: int, evaluate: bool) -> None:
        """Bookkeeping at an epoch's end. Only the last epoch of a call (`evaluate`) has the
        model as it was then: only it is evaluated and may be saved."""
        measured = {"tail_loss": _tail_mean(self._epoch_losses)}
        self._position = (epoch + 1, 0)
        if evaluate:
            measured = self._evaluate(compiled, task, epoch)
            self.metrics = {**self.metrics, **self.best.note(task, compiled.model, epoch, measured)}
            self._snapshot_weights(compiled)
            now = time.perf_counter()
            last = epoch + 1 == self.config.train.epochs or self.best.stop
            if last or now - self.recorder.last_save >= SAVE_INTERVAL_S:
                self._checkpoint(compiled)
                self.recorder.evaluation(evaluation_view(task))
                self._write_summary(task, epoch + 1)
        else:
            self.metrics = {**self.metrics, **measured}
        self.recorder.epoch(measured, self.step, epoch)
        self.on_event(EpochEnd(epoch, self.step, measured))

    def _poll_control(self) -> None:
        """Knobs and probe requests from another process (the app) via control.json: a stat
        per chunk, and a read only when it changed."""
        if self.run_folder is None:
            return
        try:
            changed = os.stat(self.run_folder.path / CONTROL_FILE).st_mtime_ns
        except OSError:
            return
        if changed == self._control_mtime:
            return
        self._control_mtime = changed
        control = self.run_folder.read_control()
        try:
            interval = float(control.get("probe_interval") or 0.0)
            self.set_probe(interval, bool(control.get("probe_gradients", True)))
            for knob in control.get("knobs") or []:
                if int(knob["seq"]) > self._control_seq:
                    self._control_seq = int(knob["seq"])
                    self.set_knob(str(knob["name"]), float(knob["value"]))
        except (ConfigError, KeyError, TypeError, ValueError):  # a bad request is ignored
            pass

    def _apply_knobs(self, compiled: CompiledSteps) -> None:
        with self._lock:
            pending, self._pending_knobs = self._pending_knobs, {}
        for name, value in pending.items():
            compiled.set_knob(name, value)
            setattr(self.config.train, name, value)
            self.knobs.append({"step": self.step, "knob": name, "value": value})
            self.recorder.knob(self.step, name, value)
            self.summary = {**self.summary, "knobs": list(self.knobs)}
            self.on_event(KnobChanged(self.step, name, value))

    def _probe(self, compiled: CompiledSteps, task: Task, final: bool = False) -> None:
        """Measure what the network learned, if a probe is due (engine/probes.py)."""
        from rnntui.engine.probes import LiveProbe
        from rnntui.tasks.lags import ProbeError

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

    def _wait_while_paused(self, compiled: CompiledSteps) -> None:
        if self._stop.is_set():
            raise TrainingStopped
        if not self._pause.is_set():
            return
        if self.recorder.saved_step != self.step and self.recorder.may_write:
            # a paused run's weights are what the live views and a follower read from its folder
            self._checkpoint(compiled)
        self.on_event(Paused(self.step))
        self.recorder.status("paused", self.step)
        self.recorder.flush()
        while self._pause.is_set() and not self._stop.is_set():
            time.sleep(0.02)
        if self._stop.is_set():
            raise TrainingStopped
        self.recorder.status("training", self.step)
        self.on_event(Resumed(self.step))

    def _wall(self, now: float | None = None) -> float:
        return self._wall_before + ((now or time.perf_counter()) - self._started)

    def _emit_progress(self, epoch: int, total: int, losses: list[float], now: float) -> None:
        # The speed is measured from the first report on: the first call's tracing and compile
        # would make it (and the ETA) look many times slower. 0 until it has been measured.
        if self._rate_from is None:
            self._rate_from = (now, len(self.losses))
        since, done = self._rate_from
        rate = (len(self.losses) - done) / (now - since) if now - since >= RATE_WINDOW_S else 0.0
        eta = (total - self.step) / rate if rate > 0 else float("inf")
        if now - self._memory_read >= MEMORY_READ_INTERVAL_S:
            self._memory_mb, self._memory_read = device_memory_mb(self._on_gpu), now
        progress = (tuple(losses), rate, eta, self._wall(now), self._memory_mb)
        self.on_event(Progress(self.step, epoch, total, *progress))

    def _evaluate(self, compiled: CompiledSteps, task: Task, epoch: int) -> dict[str, float]:
        """What this epoch measured: its tail loss, and the task's metrics every `eval_every`
        epochs and at the last. `self.metrics` keeps the latest of each for the summary."""
        measured = {"tail_loss": _tail_mean(self._epoch_losses)}
        if self._evaluates(task, epoch):
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

    def _write_summary(self, task: Task | None = None, epochs: int = 0) -> None:
        if task is not None:  # an epoch end: the whole summary as of it (its loss, metrics)
            self.summary = self._summarize(task, self.summary["device"], epochs, False)
        self.recorder.summary(self.summary)

    def _checkpoint(self, compiled: CompiledSteps) -> None:
        if self.run_folder is None:
            return
        epoch, window = self._position
        state = [] if self._state is None or window == 0 else [np.asarray(s) for s in self._state]
        checkpoint = Checkpoint(
            epoch=epoch,
            window=window,
            step=self.step,
            wall_s=self._wall(),
            weights=compiled.model.get_weights(),
            optimizer=[np.asarray(v) for v in compiled.optimizer.variables],
            state=state,
            epoch_losses=list(self._epoch_losses) if window else [],
            metrics=dict(self.metrics),
            task_state=self._task.state() if self._task is not None else {},
            best=[np.asarray(w) for w in self.best.kept()],
        )
        self.recorder.checkpoint(checkpoint)
        self.recorder.last_save = time.perf_counter()

    def _read_checkpoint(self) -> Checkpoint:
        run = self.run_folder
        if run is None:
            raise RunFolderError("there is no run folder to resume from")
        return run.read_checkpoint()

    def _restore(self, compiled: CompiledSteps, checkpoint: Checkpoint) -> None:
        """Continue from the run folder's checkpoint: weights, optimizer, state, data position.

        Everything is checked before anything is written (the checkpoint against the model this
        config builds, the files the run will rewrite): a resume that cannot go on leaves the
        folder as it was. Then the config is saved (a resume may change the epochs or the
        learning rate) and the steps logged after the checkpoint are dropped.
        """
        run = self.run_folder
        assert run is not None
        check_resume_changes(run.load_config(), self.config)
        check_resume_position(run.name, checkpoint, self.config)
        expected = {
            "weights": [(w.shape, w.dtype) for w in compiled.model.get_weights()],
            "optimizer": [
                (tuple(v.shape), np.dtype(v.dtype)) for v in compiled.optimizer.variables
            ],
            "state": [((compiled.batch_size, n), np.float32) for n in compiled.model.state_sizes],
        }
        check_checkpoint_fits(checkpoint, expected, compiled.per_epoch)
        run.check_resumable()

        compiled.model.set_weights(checkpoint.weights)
        for variable, value in zip(compiled.optimizer.variables, checkpoint.optimizer, strict=True):
            variable.assign(value)
        # The checkpoint holds the learning rate it ran with; the config's (maybe changed) wins.
        compiled.optimizer.learning_rate = self.config.train.learning_rate
        self._position = (checkpoint.epoch, checkpoint.window)
        if checkpoint.window:
            self._state = [compiled.tf.constant(s) for s in checkpoint.state]
        self._epoch_losses = list(checkpoint.epoch_losses)
        self.metrics = dict(checkpoint.metrics)
        self.best.resume(self.metrics, checkpoint.best)
        self.start_step = checkpoint.step
        self._wall_before = checkpoint.wall_s

        self.knobs = self.recorder.begin_resume(self.config, checkpoint)
        for row in self.knobs:  # live knob changes hold on: the latest of each
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
        summary.update(self.best.summary())
        summary.update(summary_fields(task, self.metrics))
        return summary


def _tail_mean(losses: list[float]) -> float | None:
    """Mean over the last 10 % of `losses` (at least one)."""
    if not losses:
        return None
    tail = max(1, int(len(losses) * TAIL_FRACTION))
    return float(np.mean(losses[-tail:]))
