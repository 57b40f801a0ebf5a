"""One training run as a whole: where it trains, its run folder, its state, how to control it.

The app shows sessions; it does not run them. A session is plain Python (no Textual), so its
life cycle — start, pause, resume, stop, finish, fail, stop on exit with a resume hint — is tested
without a terminal. Three kinds share one interface:

- `TrainingSession` (thread.py): the trainer on a thread of this process (tests; scripts).
- `ChildSession` (child.py): the trainer in a child process, which the app uses, so the UI
  process never imports TensorFlow nor shares a GIL with the training loop; events arrive over a
  pipe, control goes by signals.
- `FollowedSession` (followed.py): a run another process trains (a detached run, the app's own
  earlier one): followed from its run folder, controlled by the same signals.

`new_session` (launch.py) picks the kind for a new run.

Events reach `on_event` on a background thread, after the session has updated its own state
from them, so a listener that reads `session.state` when it handles an event sees it applied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from rnntui.config import Config
from rnntui.engine.events import Event, Failed, Finished, Paused, Progress, Resumed, Started

if TYPE_CHECKING:
    from rnntui.runs.folder import RunFolder


class RunState(StrEnum):
    """What the app is doing; the values are what the status bar shows."""

    LOADING = "loading TensorFlow"
    IDLE = "idle"
    STARTING = "starting"
    TRAINING = "training"
    PAUSING = "pausing"
    PAUSED = "paused"
    STOPPING = "stopping"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """A training thread is (or is about to be) running."""
        return self in ACTIVE


ACTIVE = frozenset(
    {RunState.STARTING, RunState.TRAINING, RunState.PAUSING, RunState.PAUSED, RunState.STOPPING}
)


class Session:
    """What every kind of session offers; subclasses start the run and carry out control."""

    def __init__(
        self,
        config: Config,
        on_event: Callable[[Event], None],
        *,
        runs_dir: Path | None = None,
        tensorboard: bool = False,
    ) -> None:
        """`runs_dir` None means the user's default runs folder; `tensorboard` also writes
        TensorBoard scalars into the run folder."""
        self.config = config.copy()
        self.on_event = on_event
        self.state = RunState.IDLE
        self.run_folder: RunFolder | None = None
        self.runs_dir = runs_dir  # as the user gave it (None: the default folder)
        self.tensorboard = tensorboard
        self.step = 0  # steps done, as the events tell
        self.done = threading.Event()  # set once training has ended (or never started)
        self.done.set()
        self._lock = threading.Lock()

    def start(self) -> str:
        """Start (or start following) the run; returns a warning ("" when all is well)."""
        raise NotImplementedError

    def _handle(self, event: Event) -> None:
        """Every event (background thread): track the state, then pass the event on."""
        with self._lock:
            self.state = _next_state(self.state, event)
            if isinstance(event, Progress):
                self.step = event.step
            elif isinstance(event, Finished):
                self.step = int(event.summary.get("steps", self.step))
        self.on_event(event)

    # --- control (any thread) ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.state.active

    def _request(self, allowed: set[RunState], then: RunState, act: Callable[[], bool]) -> bool:
        with self._lock:
            if self.state not in allowed or not act():
                return False
            self.state = then
            return True

    def pause(self) -> bool:
        """Ask the loop to pause at the next chunk; False when it is not training."""
        return self._request({RunState.TRAINING}, RunState.PAUSING, self._pause)

    def resume(self) -> bool:
        return self._request({RunState.PAUSED}, RunState.TRAINING, self._resume)

    def stop(self) -> bool:
        """Stop at the next chunk (a checkpoint is written); False when nothing runs."""
        return self._request(set(ACTIVE) - {RunState.STOPPING}, RunState.STOPPING, self._stop)

    def _pause(self) -> bool:
        raise NotImplementedError

    def _resume(self) -> bool:
        raise NotImplementedError

    def _stop(self) -> bool:
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for training to end; True when it has."""
        return self.done.wait(timeout)

    def set_knob(self, name: str, value: float) -> None:
        """Change a live knob (`Trainer.KNOBS`) from the next chunk on."""
        raise NotImplementedError

    def set_probe(self, interval_s: float, gradients: bool = True) -> None:
        """Probe what the network learned every `interval_s` (0: never) while it trains."""
        raise NotImplementedError

    # --- what it has to say -----------------------------------------------------------------------

    def resume_command(self) -> str:
        """The shell command that continues this run from its checkpoint ("" when unsaved)."""
        if self.run_folder is None:
            return ""
        from rnntui.runs.resume import resume_command

        return resume_command(self.run_folder.name, self.runs_dir)


class SignalledSession(Session):
    """A session whose trainer is another process: pause, resume and stop are signals to its
    pid (SIGUSR1, SIGUSR2, SIGTERM), which the trainer child handles (sessions/signals.py)."""

    @property
    def pid(self) -> int | None:
        raise NotImplementedError

    def _signal(self, signum: int) -> bool:
        from rnntui.sessions.spawn import send

        return self.pid is not None and send(self.pid, signum)

    def _pause(self) -> bool:
        from rnntui.sessions.signals import PAUSE_SIGNAL

        return self._signal(PAUSE_SIGNAL)

    def _resume(self) -> bool:
        from rnntui.sessions.signals import RESUME_SIGNAL

        return self._signal(RESUME_SIGNAL)

    def _stop(self) -> bool:
        import signal

        return self._signal(signal.SIGTERM)

    # Knobs and probes carry values, so they go through the run folder's control.json, which
    # the trainer reads between chunks when it changes (see `Trainer._poll_control`).

    def set_knob(self, name: str, value: float) -> None:
        control = self._control()
        control["knobs"] = [
            *control.get("knobs", []),
            {"seq": len(control.get("knobs", [])) + 1, "name": name, "value": value},
        ]
        self._write_control(control)

    def set_probe(self, interval_s: float, gradients: bool = True) -> None:
        control = self._control()
        if (control.get("probe_interval"), control.get("probe_gradients")) == (
            interval_s,
            gradients,
        ):
            return
        control.update(probe_interval=interval_s, probe_gradients=gradients)
        self._write_control(control)

    def _control(self) -> dict:
        """What this process has asked of the trainer so far (control.json's content)."""
        if not hasattr(self, "_control_state"):
            self._control_state: dict = {}
        return self._control_state

    def _write_control(self, control: dict) -> None:
        if self.run_folder is not None:
            self.run_folder.write_control(control)


def create_run_folder(config: Config, runs_dir: Path | None) -> tuple[RunFolder | None, str]:
    """A new run folder, or None and the one-line reason it could not be made."""
    from rnntui.runs.folder import RunFolder

    try:
        return RunFolder.create(config, runs_dir), ""
    except OSError as error:
        where = runs_dir or "the runs folder"
        return None, (
            f"cannot create a run folder in {where}: {error.strerror or error}; "
            "this run is not saved (try rnntui --runs-dir DIR)"
        )


def _next_state(state: RunState, event: Event) -> RunState:
    """The state after `event`. A stop request wins over late pause/resume news."""
    match event:
        case Started() | Progress() if state is RunState.STARTING:
            return RunState.TRAINING
        case Paused() if state is not RunState.STOPPING:
            return RunState.PAUSED
        case Resumed() if state is not RunState.STOPPING:
            return RunState.TRAINING
        case Finished(stopped=stopped):
            return RunState.STOPPED if stopped else RunState.FINISHED
        case Failed():
            return RunState.FAILED
    return state
