"""Which run the app shows and controls: plain Python, no Textual, testable without a terminal.

The desk holds the current session — a run this app started (in a child process), or one it
follows (another process trains it) — with its number and label, the A/B companion beside it, and
what leaving the app means for them. Every session's events reach `post(number, event)` tagged
with the run's number (the companion's are negative); a new run, an attach, a detach or a reset
moves the number on, so `is_current` tells the app whether a late event still describes the run in
front of the user. The app turns events into messages and the messages into widget updates.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rnntui.config import Config
from rnntui.engine.events import Event
from rnntui.models.registry import describe_cell
from rnntui.sessions.child import ChildSession
from rnntui.sessions.followed import FollowedSession
from rnntui.sessions.launch import new_session
from rnntui.sessions.session import Session
from rnntui.tasks.registry import task_class
from rnntui.tui.companion import AllDone, CompanionRun, companion_config

if TYPE_CHECKING:
    from rnntui.engine.trainer import Trainer

_ALWAYS_DONE = threading.Event()  # `training_done` before any run
_ALWAYS_DONE.set()


def run_label(number: int, config: Config) -> str:
    """ "run 2: lstm 16 n=10": which run, which model, and its truncation when the task has one."""
    truncated = task_class(config.task.kind).truncated
    steps = f" n={config.train.num_steps}" if truncated else ""
    return f"run {number}: {describe_cell(config.model)}{steps}"


class RunDesk:
    """The current run and its companion; see the module docstring."""

    def __init__(
        self,
        runs_dir: Path,
        runs_dir_given: bool,
        post: Callable[[int, Event], None],
        trainer_factory: Callable[[], Callable[..., Trainer] | None] = lambda: None,
    ) -> None:
        """`post(number, event)` is called on the sessions' threads (it must only post);
        `trainer_factory()` gives what builds a run's trainer on a thread of this process
        instead of a child process (tests), or None."""
        self.runs_dir = runs_dir
        self.runs_dir_given = runs_dir_given  # a resume hint names the folder only if given
        self.post = post
        self.trainer_factory = trainer_factory
        self.session: Session | None = None  # the current (or last) run
        self.number = 0  # the current run's number; events of other numbers are stale
        self.label = ""  # "run 3: lstm 16 n=10"
        self.final: float | None = None  # where the current run ended (its tail loss)
        self.keep = False  # the live curve belongs to an ended run worth comparing
        self.companion = CompanionRun()

    # --- what is shown ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.running

    def is_current(self, number: int) -> bool:
        return number == self.number and self.session is not None

    @property
    def folder(self) -> Path | None:
        """The current run's folder (None before a run, or when it could not be saved)."""
        session = self.session
        return session.run_folder.path if session and session.run_folder else None

    @property
    def detachable(self) -> bool:
        return isinstance(self.session, ChildSession) and self.running

    @property
    def given_runs_dir(self) -> Path | None:
        return self.runs_dir if self.runs_dir_given else None

    def comparison_label(self) -> str:
        """ "#1 raw_rnn 4 n=5 0.519": which run, what model, where it ended."""
        final = f" {self.final:.3f}" if self.final is not None else ""
        model = self.label.partition(": ")[2]
        return f"#{self.number} {model}{final}"

    def resume_command(self) -> str:
        """The shell command that continues the current run from its checkpoint."""
        return self.session.resume_command() if self.session is not None else ""

    # --- changing the run -------------------------------------------------------------------------

    def _poster(self, number: int) -> Callable[[Event], None]:
        return lambda event: self.post(number, event)

    def start(self, config: Config, tensorboard: bool) -> str:
        """Train `config` as the next run; returns a warning ("" when its folder was made)."""
        self.number += 1
        self.label = run_label(self.number, config)
        self.final, self.keep = None, False
        self.session = new_session(
            config,
            self._poster(self.number),
            runs_dir=self.given_runs_dir,
            tensorboard=tensorboard,
            trainer_factory=self.trainer_factory(),
        )
        return self.session.start()

    def attach(self, run: str) -> FollowedSession:
        """Follow a run another process trains (its name or folder). ConfigError (no such
        run), NotLive (nothing trains it) or OSError; the current run is kept then."""
        from rnntui.runs.folder import RunFolder

        folder = RunFolder.find(run, self.runs_dir, source="attach")
        session = FollowedSession(folder, self._poster(self.number + 1))
        session.start()
        self.number += 1
        self.session = session
        self.label = f"run {self.number}: {folder.name} (pid {session.pid})"
        self.final, self.keep = None, False
        return session

    def detach(self) -> ChildSession | None:
        """Leave the current run training on its own; None when it cannot be detached."""
        session = self.session
        if not isinstance(session, ChildSession) or not session.detach():
            return None
        self.number += 1  # its late events are stale from now on
        return session

    def control(self, request: str) -> bool:
        """Pause, resume or stop the current run and its companion; False when the current run
        cannot do it now."""
        if self.companion.session is not None:
            getattr(self.companion.session, request)()
        return self.session is not None and getattr(self.session, request)()

    def forget(self) -> None:
        """Stop the current run and its companion, and ignore their late events."""
        if self.session is not None:
            self.session.stop()
            self.number += 1
            self.session = None
        self.keep = False
        self.companion.forget()

    def ended(self, final: float | None, has_curve: bool) -> None:
        """The current run finished or stopped at `final`."""
        self.final = final
        self.keep = has_curve

    def start_companion(self, cell: str) -> tuple[str, str]:
        """Train the current run's settings with `cell` beside it: (its label, a warning)."""
        assert self.session is not None
        base = self.session.config
        warning = self.companion.start(
            base, cell, self._poster, self.given_runs_dir, self.trainer_factory()
        )
        companion = companion_config(base, cell)
        self.companion.label = "B " + run_label(0, companion).partition(": ")[2]
        return self.companion.label, warning

    # --- leaving the app --------------------------------------------------------------------------

    def stop_for_exit(self, signalled: str = "") -> str:
        """Stop the app's own running runs (they write a checkpoint); a run the app only
        follows, or one it detached, goes on. Returns the line that says how to continue the
        stopped run ("" when none was stopped); `signalled` names the signal that stopped it."""
        self.companion.stop()
        session = self.session
        if isinstance(session, FollowedSession):
            session.close()
            return ""
        if session is None or session.done.is_set() or getattr(session, "detached", False):
            return ""
        session.stop()
        if session.run_folder is None:
            return ""
        how = f"stopped by {signalled}" if signalled else "stopped"
        return (
            f"rnntui: {session.run_folder.name} {how} with a checkpoint; "
            f"continue with: {session.resume_command()}"
        )

    def wait_for_own_run(self, timeout: float) -> bool:
        """After the app closed: wait for its own stopped run to write its checkpoint."""
        session = self.session
        if session is None or isinstance(session, FollowedSession):
            return True
        if getattr(session, "detached", False):
            return True
        return session.wait(timeout)

    @property
    def training_done(self) -> threading.Event | AllDone:
        """Set while no training runs (the exit watchdog waits on it)."""
        done = self.session.done if self.session is not None else _ALWAYS_DONE
        companion = self.companion.session
        return AllDone(done, companion.done) if companion is not None else done
