"""A run's alerts: it finished, was stopped, hit a NaN, crashed, or stopped getting better.

The trainer feeds `RunAlerts` every event it emits (`Trainer.run` attaches it once it owns its
run folder, so alerts leave from the training process itself: detached runs, sweeps and the
app's runs alike, with no app open). Each alert

- goes to the app, a plateau as an `Alerted` event (the rest it hears as the Finished or Failed
  event, which stays the run's last),
- and, when an URL is set (`--notify`, `[alerts] url` in the preset or the user config file), is
  recorded in the run's `alerts.jsonl` and sent by a `Notifier` thread (engine/notify.py), which
  never blocks training; outcomes are recorded there too, a failure also in `train.log` and,
  once per run, as an `Alerted(kind="undelivered")` event (and on the command line's stderr).

A trainer that dies hard (SIGKILL, the OOM killer, a segfault) says nothing. For that, a run with
an URL starts a tiny watcher process (engine/alert_watch.py) holding the read end of a pipe:
the trainer writes its progress and, at the end, "done" into it; end-of-file without "done"
means the trainer died, and the watcher sends the "crashed" alert. At the run's end (its Finished
or Failed event), alerts still being sent after `EXIT_WAIT_S` are handed to the watcher, which
finishes them, so a slow server delays neither training nor the exit.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import math
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from rnntui.engine.events import Alerted, EpochEnd, Event, Failed, Finished, Progress
from rnntui.engine.notify import Alert, Notifier, where
from rnntui.runs.alerts import append_alert, log_line

if TYPE_CHECKING:
    from rnntui.config import Config
    from rnntui.runs.folder import RunFolder


class AlertedTrainer(Protocol):
    """What the alerts use of `engine.trainer.Trainer` (named here: the trainer imports this
    module, not the other way round)."""

    on_event: Callable[[Event], None]
    run_folder: RunFolder | None
    config: Config
    failure: Exception | None


EXIT_WAIT_S = 3.0  # at the trainer's end, how long alerts in flight may hold it up
PROGRESS_NOTE_S = 2.0  # how often the watcher hears the step and loss
LOSS_WINDOW = 100  # an alert's loss: the mean of the last this many steps
MIN_IMPROVEMENT = 1e-3  # a plateau's "better": lower than the best by at least 0.1 %

PRIORITY = {"finished": 3, "stopped": 2, "plateau": 3, "nan": 4, "crashed": 5}
TAGS = {
    "finished": ("white_check_mark",),
    "stopped": ("stop_sign",),
    "plateau": ("hourglass",),
    "nan": ("warning",),
    "crashed": ("rotating_light",),
}


class Plateau:
    """Counts evaluations without a better value of one metric (lower is better)."""

    def __init__(self, metric: str, patience: int) -> None:
        self.metric = metric
        self.patience = patience
        self.best: float | None = None
        self.best_step = 0
        self.waited = 0

    def update(self, value: float | None, step: int) -> bool:
        """Take one evaluation; True exactly when this one makes `patience` without progress
        (once; an improvement starts the count again)."""
        if self.patience <= 0 or value is None or not math.isfinite(value):
            return False
        if self.best is None or value < self.best - MIN_IMPROVEMENT * abs(self.best):
            self.best, self.best_step, self.waited = value, step, 0
            return False
        self.waited += 1
        return self.waited == self.patience


class RunAlerts:
    """The alerts of one run, in the process that trains it (see the module's docstring)."""

    def __init__(
        self,
        run_path: Path,
        config: Config,
        emit: Callable[[Event], None],
        *,
        url: str = "",
        failure: Callable[[], BaseException | None] = lambda: None,
        runs_dir: Path | None = None,
        watch: bool = True,
    ) -> None:
        from rnntui.runs.resume import resume_command
        from rnntui.tasks.registry import task_metrics

        self.run_path = Path(run_path)
        self.run = self.run_path.name
        self.preset = config.name
        self.epochs = config.train.epochs
        self.emit = emit
        self.url = url
        self.failure = failure
        self.host = socket.gethostname()
        where_dir = f" --runs-dir {shlex.quote(str(runs_dir))}" if runs_dir is not None else ""
        self.resume = resume_command(self.run, runs_dir)
        self.attach = f"rnntui --attach {self.run}{where_dir}"
        keys = {metric.key for metric in task_metrics(config.task.kind)}
        self.plateau = Plateau(
            "valid_loss" if "valid_loss" in keys else "tail_loss", config.alerts.patience
        )
        self.step = 0
        self.epoch = 0
        self._losses: collections.deque[float] = collections.deque(maxlen=LOSS_WINDOW)
        self._count = 0
        self._lock = threading.Lock()
        self._notice = ""  # the first delivery failure, until shown
        self.notice_shown = False
        self.undelivered = ""  # the first delivery failure of the run ("" while none)
        self._notifier = Notifier(url, self._outcome) if url else None
        self._watcher: subprocess.Popen | None = None
        self._last_note = 0.0
        self._detach: Callable[[], None] = lambda: None  # `attach` sets it
        self.closed = False
        if url and watch:
            self._watcher = start_watcher(self._setup())

    @classmethod
    def attach(cls, trainer: AlertedTrainer) -> RunAlerts | None:
        """Start the alerts of `trainer`'s run (None without a run folder) and feed them every
        event the trainer emits from now on, after its listener, up to the run's last (Finished
        or Failed: `Trainer.run` ends with one, whatever happens), where they `close`."""
        emit = trainer.on_event
        alerts = cls.for_trainer(trainer, emit)
        if alerts is None:
            return None

        def both(event: Event) -> None:
            try:
                emit(event)
            finally:  # a listener that raises must not cost the run its alerts
                alerts.observe(event)

        trainer.on_event = both
        alerts._detach = lambda: setattr(trainer, "on_event", emit)
        return alerts

    @classmethod
    def for_trainer(
        cls, trainer: AlertedTrainer, emit: Callable[[Event], None]
    ) -> RunAlerts | None:
        """The alerts of a trainer that owns its run folder (None without one). An URL that
        cannot be used (a broken user config file) is written to the run's log, not raised."""
        from rnntui.engine.notify import alert_url
        from rnntui.runs.files import default_runs_dir

        folder = trainer.run_folder
        if folder is None:
            return None
        try:
            url = alert_url(trainer.config.alerts.url)
        except ValueError as error:  # ConfigError: one line naming the file
            log_line(folder.path, f"alerts are off: {error}")
            url = ""
        parent = folder.path.parent.absolute()
        runs_dir = None if parent == default_runs_dir().absolute() else parent
        return cls(
            folder.path, trainer.config, emit, url=url, failure=lambda: trainer.failure,
            runs_dir=runs_dir,
        )  # fmt: skip

    # --- the trainer's events (its thread) ------------------------------------------------------

    def observe(self, event: Event) -> None:
        """See one event the trainer emitted; never raises. The run's last event closes."""
        try:
            self._observe(event)
            if isinstance(event, Finished | Failed):
                self.close()
        except Exception as error:  # noqa: BLE001 - alerts must never cost the run
            log_line(self.run_path, f"alerts: {type(error).__name__}: {error}")

    def _observe(self, event: Event) -> None:
        self._show_notice()
        if isinstance(event, Progress):
            self.step, self.epoch = event.step, event.epoch
            self._losses.extend(v for v in event.losses if math.isfinite(v))
            now = time.monotonic()
            if self._watcher is not None and now - self._last_note >= PROGRESS_NOTE_S:
                self._last_note = now
                self._tell({"progress": {"step": self.step, "loss": self.loss}})
        elif isinstance(event, EpochEnd):
            self.step, self.epoch = event.step, event.epoch + 1
            value = event.metrics.get(self.plateau.metric)
            if self.plateau.update(value, event.step):
                self._raise("plateau", self._plateau_text(value))
        elif isinstance(event, Finished):
            self.step = int(event.summary.get("steps", self.step))
            self._finished(event)
        elif isinstance(event, Failed):
            self.step = max(self.step, event.step)
            self._failed(event)

    @property
    def loss(self) -> float | None:
        return sum(self._losses) / len(self._losses) if self._losses else None

    def _finished(self, event: Finished) -> None:
        summary = event.summary
        final = summary.get("final_loss")
        loss = f"loss {final:.4f}" if isinstance(final, int | float) else self._loss_text()
        extra = ""
        if isinstance(summary.get("valid_loss"), int | float):
            extra = f", valid_loss {summary['valid_loss']:.4f}"
        if isinstance(summary.get("test_error_pct"), int | float):
            extra += f", test error {summary['test_error_pct']:.2f} %"
        epochs = summary.get("epochs", self.epoch)
        if event.stopped:
            self._raise(
                "stopped",
                f"{self._who()} was stopped at step {self.step:,} (epoch {epochs} of "
                f"{self.epochs}) with a checkpoint, {loss}{extra}.\nContinue: {self.resume}",
                loss=final,
            )
        else:
            self._raise(
                "finished",
                f"{self._who()} finished: {self.step:,} steps, {epochs} epoch(s), "
                f"{loss}{extra}.\nTrain it longer: {self.resume} --epochs {self.epochs + 1}",
                loss=final,
            )

    def _failed(self, event: Failed) -> None:
        failure = self.failure()
        if isinstance(failure, FloatingPointError):
            self._raise(
                "nan",
                f"{self._who()} stopped at step {self.step:,}: {event.message}. Last finite "
                f"{self._loss_text()}.\nContinue from the last checkpoint with a lower rate: "
                f"{self.resume} --set train.learning_rate=...",
            )
            return
        self._raise(
            "crashed",
            f"{self._who()} failed at step {self.step:,}: {event.message}. {self._loss_text()}."
            f"\nContinue from the last checkpoint: {self.resume}",
        )

    def _plateau_text(self, value: float | None) -> str:
        plateau = self.plateau
        return (
            f"{self._who()} has gone {plateau.patience} evaluations without a better "
            f"{plateau.metric}: best {plateau.best:.4f} at step {plateau.best_step:,}, now "
            f"{value:.4f} at step {self.step:,}. It goes on training.\nWatch it: {self.attach}"
            f"\nStop it (it checkpoints): kill {os.getpid()}"
        )

    def _who(self) -> str:
        return f"{self.run} ({self.preset}) on {self.host}"

    def _loss_text(self) -> str:
        loss = self.loss
        return f"loss {loss:.4f}" if loss is not None else "no loss yet"

    def _raise(self, kind: str, message: str, loss: float | None = None) -> None:
        title = {
            "finished": "finished",
            "stopped": "stopped",
            "nan": "loss became NaN",
            "crashed": "crashed",
            "plateau": "stopped improving",
        }[kind]
        alert = Alert(
            kind=kind,
            run=self.run,
            title=f"rnntui: {self.run} {title}",
            message=message,
            step=self.step,
            loss=loss if loss is not None else self.loss,
            priority=PRIORITY[kind],
            tags=TAGS[kind],
        )
        if kind == "plateau":  # the rest the app hears as Finished or Failed, the last event
            self.emit(Alerted(kind, alert.title, message, self.step))
        if self._notifier is None:
            return
        with self._lock:
            self._count += 1
            number = self._count
        append_alert(self.run_path, {"alert": number, **_finite(alert.to_dict())})
        self._notifier.send(alert, number)

    # --- delivery outcomes (the notifier's thread) ----------------------------------------------

    def _outcome(self, alert: Alert, ok: bool, detail: str, number: int) -> None:
        append_alert(
            self.run_path, {"delivered": number, "ok": ok, "detail": detail, "time": time.time()}
        )
        if ok:
            return
        text = f"alert '{alert.kind}' not sent to {where(self.url)}: {detail}"
        log_line(self.run_path, text)
        with self._lock:
            if not self.undelivered:
                self.undelivered = self._notice = text

    def _show_notice(self) -> None:
        with self._lock:
            notice, self._notice = self._notice, ""
        if notice and not self.notice_shown:
            self.notice_shown = True
            self.emit(Alerted("undelivered", "alert not sent", notice, self.step))

    # --- the end ----------------------------------------------------------------------------------

    def close(self, wait_s: float = EXIT_WAIT_S) -> None:
        """At the trainer's end: wait a little for alerts in flight, hand what is left to the
        watcher (which finishes sending it), and tell the watcher all is well. Once."""
        if self.closed:
            return
        self.closed = True
        self._detach()
        if self._notifier is None:
            return
        left = self._notifier.close(wait_s if self._watcher is not None else 4 * wait_s)
        for number, alert in left:
            if self._watcher is None or not self._tell({"deliver": number, "alert": alert}):
                self._outcome(alert, False, "still not sent when the run ended", number)
        self._tell({"done": True})
        self._show_notice()
        if self._watcher is not None and self._watcher.stdin is not None:
            with contextlib.suppress(OSError):
                self._watcher.stdin.close()

    def _setup(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "run_path": str(self.run_path),
            "run": self.run,
            "who": self._who(),
            "pid": os.getpid(),
            "resume": self.resume,
        }

    def _tell(self, message: dict[str, Any]) -> bool:
        """A line to the watcher; never blocks (a full pipe drops it): False when not sent."""
        watcher = self._watcher
        if watcher is None or watcher.stdin is None:
            return False
        try:
            data = (json.dumps(_finite(message), default=_plain) + "\n").encode("utf-8")
            return os.write(watcher.stdin.fileno(), data) == len(data)
        except (OSError, ValueError):
            return False


def start_watcher(setup: dict[str, Any]) -> subprocess.Popen | None:
    """The crash watcher (engine/alert_watch.py) in its own session, so Ctrl+C or a hang-up
    that ends the trainer leaves it to report; its first line says what to report. None when
    it cannot start (the run goes on; a hard crash is then not reported)."""
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "rnntui.engine.alert_watch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=_environment(),
        )
    except OSError as error:
        log_line(Path(setup["run_path"]), f"no crash watcher ({error}); a hard crash is not sent")
        return None
    stdin: IO[bytes] | None = process.stdin
    assert stdin is not None
    fd = stdin.fileno()
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    os.write(fd, (json.dumps({"setup": setup}) + "\n").encode("utf-8"))
    return process


def _environment() -> dict[str, str]:
    """This environment, with the folder holding this rnntui first on the watcher's path, so it
    imports the same code."""
    root = str(Path(__file__).resolve().parent.parent.parent)
    paths = [root, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _plain(value: Any) -> Any:
    if isinstance(value, Alert):
        return _finite(value.to_dict())
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
