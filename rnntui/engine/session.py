"""One training run as a whole: its trainer on a background thread, its run folder, its state.

The app shows sessions; it does not run them. A session is plain Python (no Textual), so its
life cycle — start, pause, resume, stop, finish, fail, stop on exit with a resume hint — is tested
without a terminal, and the CLI or a sweep could drive one the same way.

Events reach `on_event` on the training thread, after the session has updated its own state from
them, so a listener that reads `session.state` when it handles an event sees that event applied.
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
    from rnntui.engine.runs import RunFolder
    from rnntui.engine.trainer import Trainer


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


class TrainingSession:
    """Owns one run: builds its run folder and trainer, trains on a thread, tracks its state."""

    def __init__(
        self,
        config: Config,
        on_event: Callable[[Event], None],
        *,
        runs_dir: Path | None = None,
        tensorboard: bool = False,
        trainer_factory: Callable[..., Trainer] | None = None,
    ) -> None:
        """`runs_dir` None means the user's default runs folder; `trainer_factory` defaults to
        `Trainer` (tests substitute a subclass)."""
        self.config = config.copy()
        self.on_event = on_event
        self.runs_dir = runs_dir
        self.tensorboard = tensorboard
        self.trainer_factory = trainer_factory
        self.state = RunState.IDLE
        self.run_folder: RunFolder | None = None
        self.trainer: Trainer | None = None
        self.done = threading.Event()  # set once the training thread has ended (or never ran)
        self.done.set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # --- life cycle -------------------------------------------------------------------------------

    def start(self) -> str:
        """Create the run folder and start training; returns a warning ("" when all is well).

        When the run folder cannot be made the run still trains, unsaved, and the warning says
        why and what to do.
        """
        from rnntui.engine.runs import RunFolder

        if self._thread is not None:
            raise RuntimeError("a session runs once; make a new one for another run")
        warning = ""
        try:
            self.run_folder = RunFolder.create(self.config, self.runs_dir)
        except OSError as error:
            where = self.runs_dir or "the runs folder"
            warning = (
                f"cannot create a run folder in {where}: {error.strerror or error}; "
                "this run is not saved (try rnntui --runs-dir DIR)"
            )
        factory = self.trainer_factory
        if factory is None:
            from rnntui.engine.trainer import Trainer as factory
        self.trainer = factory(
            self.config,
            self._handle,
            run=self.run_folder,
            tensorboard=self.tensorboard and self.run_folder is not None,
        )
        self.state = RunState.STARTING
        self.done.clear()
        # not a daemon: at exit the interpreter waits for the stopped loop's checkpoint
        self._thread = threading.Thread(target=self._train, name="rnntui-training")
        self._thread.start()
        return warning

    def _train(self) -> None:
        assert self.trainer is not None
        try:
            self.trainer.run()
        except Exception as error:  # Trainer.run never raises; a bug there must not go unseen
            self._handle(Failed(f"{type(error).__name__}: {error}", self.trainer.step))
        finally:
            self.done.set()  # the checkpoint is on disk: an exit may go on

    def _handle(self, event: Event) -> None:
        """The trainer's callback (training thread): track the state, then pass the event on."""
        with self._lock:
            self.state = _next_state(self.state, event)
        self.on_event(event)

    # --- control (any thread) ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.state.active

    def pause(self) -> bool:
        """Ask the loop to pause at the next chunk; False when it is not training."""
        with self._lock:
            if self.trainer is None or self.state is not RunState.TRAINING:
                return False
            self.trainer.pause()
            self.state = RunState.PAUSING
            return True

    def resume(self) -> bool:
        with self._lock:
            if self.trainer is None or self.state is not RunState.PAUSED:
                return False
            self.trainer.resume()
            self.state = RunState.TRAINING
            return True

    def stop(self) -> bool:
        """Stop at the next chunk (a checkpoint is written); False when nothing runs."""
        with self._lock:
            if self.trainer is None or not self.running or self.state is RunState.STOPPING:
                return False
            self.trainer.stop()
            self.state = RunState.STOPPING
            return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the training thread to end; True when it has."""
        return self.done.wait(timeout)

    # --- what it has to say ---------------------------------------------------------------------

    @property
    def step(self) -> int:
        return self.trainer.step if self.trainer is not None else 0

    def resume_command(self) -> str:
        """The shell command that continues this run from its checkpoint ("" when unsaved)."""
        if self.run_folder is None:
            return ""
        from rnntui.engine.runs import resume_command

        return resume_command(self.run_folder.name, self.runs_dir)


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
