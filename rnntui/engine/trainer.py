"""The training loop shared by the TUI and the headless CLI.

`Trainer.run()` blocks (call it from a worker thread), imports TensorFlow lazily, and reports plain
Python events through a callback. The hot loop runs a chunk of windows per `tf.function` call (an
in-graph loop that carries the RNN state), so Python only touches chunk boundaries; pause and stop
are `threading.Event`s checked there.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rnntui.config import Config
from rnntui.engine.events import (
    EpochEnd,
    Event,
    Failed,
    Finished,
    Paused,
    Progress,
    Resumed,
    Started,
)

EMIT_INTERVAL_S = 0.05  # progress events at most this often; losses of skipped chunks are batched
TAIL_FRACTION = 0.10  # echo evaluation: mean loss over the last 10 % of an epoch's steps


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
    """Trains one config; thread-safe pause/resume/stop; events via `on_event`."""

    def __init__(self, config: Config, on_event: Callable[[Event], None] | None = None) -> None:
        self.config = config.copy()
        self.on_event = on_event or (lambda event: None)
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._lock = threading.Lock()
        self._lstm_weights: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.losses: list[float] = []  # every step's loss, in order
        self.metrics: dict[str, float] = {}
        self.summary: dict[str, Any] = {}
        self.steps: Any = None  # the CompiledSteps, once TensorFlow has built them

    # --- control (any thread) -------------------------------------------------------------------

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def stop(self) -> None:
        self._stop.set()
        self._pause.clear()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

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
            self.summary = {**self.summary, "failed": message}
            self.on_event(Failed(message=message, step=len(self.losses)))
            return self.summary

    def _run(self) -> dict[str, Any]:
        from rnntui.engine.compiled import CompiledSteps
        from rnntui.tasks import make_task

        cfg = self.config
        task = make_task(cfg.task, cfg.train.seed)
        device = preload_tensorflow()
        steps = self.steps = CompiledSteps(cfg, task)
        self._snapshot_weights(steps)

        per_epoch = task.steps_per_epoch(cfg.train.batch_size, cfg.train.num_steps)
        total = per_epoch * cfg.train.epochs
        baselines = tuple(task.baselines())
        self.on_event(Started(device, total, per_epoch, baselines))

        started = time.perf_counter()
        last_emit = started
        pending: list[float] = []
        stopped = False
        epochs_done = 0
        try:
            for epoch in range(cfg.train.epochs):
                xs, ys = task.windows(epoch, cfg.train.batch_size, cfg.train.num_steps)
                state = steps.initial_state()  # the tutorial resets the state each epoch
                epoch_losses: list[float] = []
                for begin in range(0, len(xs), cfg.train.chunk):
                    self._wait_while_paused()
                    end = begin + cfg.train.chunk
                    losses, state = steps.train_chunk(xs[begin:end], ys[begin:end], state)
                    bad = next((i for i, v in enumerate(losses) if not math.isfinite(v)), None)
                    if bad is not None:
                        at = len(self.losses) + bad + 1
                        raise FloatingPointError(
                            f"loss became {losses[bad]} at step {at}; "
                            "lower train.learning_rate or try another optimizer"
                        )
                    self.losses.extend(losses)
                    epoch_losses.extend(losses)
                    pending.extend(losses)
                    now = time.perf_counter()
                    if now - last_emit >= EMIT_INTERVAL_S or end >= len(xs):
                        self._emit_progress(epoch, total, pending, started, now)
                        pending, last_emit = [], now
                self.metrics = self._evaluate(steps, task, epoch, epoch_losses)
                epochs_done = epoch + 1
                self._snapshot_weights(steps)
                self.on_event(EpochEnd(epoch, len(self.losses), dict(self.metrics)))
        except TrainingStopped:
            stopped = True
            if pending:
                self._emit_progress(epochs_done, total, pending, started, time.perf_counter())
            self._snapshot_weights(steps)

        wall = time.perf_counter() - started
        self.summary = self._summarize(task, device, epochs_done, wall, baselines, stopped)
        self.on_event(Finished(stopped=stopped, summary=dict(self.summary)))
        return self.summary

    def _wait_while_paused(self) -> None:
        if self._stop.is_set():
            raise TrainingStopped
        if not self._pause.is_set():
            return
        self.on_event(Paused(len(self.losses)))
        while self._pause.is_set() and not self._stop.is_set():
            time.sleep(0.02)
        if self._stop.is_set():
            raise TrainingStopped
        self.on_event(Resumed(len(self.losses)))

    def _emit_progress(
        self, epoch: int, total: int, losses: list[float], started: float, now: float
    ) -> None:
        step = len(self.losses)
        wall = now - started
        rate = step / wall if wall > 0 else 0.0
        eta = (total - step) / rate if rate > 0 else float("inf")
        self.on_event(Progress(step, epoch, total, tuple(losses), rate, eta, wall))

    def _evaluate(self, steps, task, epoch: int, epoch_losses: list[float]) -> dict[str, float]:
        tail = max(1, int(len(epoch_losses) * TAIL_FRACTION))
        metrics = {"tail_loss": float(np.mean(epoch_losses[-tail:]))}
        last = epoch == self.config.train.epochs - 1
        if task.kind == "count" and (last or (epoch + 1) % self.config.train.eval_every == 0):
            metrics["test_error_pct"] = steps.test_error_pct(*task.test_set())
        elif task.kind == "count" and "test_error_pct" in self.metrics:
            metrics["test_error_pct"] = self.metrics["test_error_pct"]
        return metrics

    def _snapshot_weights(self, steps) -> None:
        weights = steps.model.lstm_weights()
        if weights is not None:
            weights = tuple(np.array(w, copy=True) for w in weights)
        with self._lock:
            self._lstm_weights = weights

    def _summarize(self, task, device, epochs_done, wall, baselines, stopped) -> dict[str, Any]:
        cfg = self.config
        steps = len(self.losses)
        summary: dict[str, Any] = {
            "preset": cfg.name,
            "task": cfg.task.kind,
            "cell": cfg.model.cell,
            "epochs": epochs_done,
            "steps": steps,
            "wall_s": round(wall, 3),
            "steps_per_s": round(steps / wall, 1) if wall > 0 else 0.0,
            "final_loss": self.metrics.get("tail_loss", _tail_mean(self.losses)),
            "stopped": stopped,
            "device": device,
        }
        if task.kind == "echo":
            summary["baselines"] = {b.label: round(b.value, 4) for b in baselines}
        else:
            summary["test_error_pct"] = self.metrics.get("test_error_pct")
        return summary


def _tail_mean(losses: list[float]) -> float | None:
    if not losses:
        return None
    tail = max(1, int(len(losses) * TAIL_FRACTION))
    return float(np.mean(losses[-tail:]))
