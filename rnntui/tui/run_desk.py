"""Which run the app shows and controls: plain Python, no Textual, testable without a terminal.

The desk holds the current session — a run this app started (in a child process), or one it
follows (another process trains it) — with its number and label, the A/B companion beside it, and
what leaving the app means for them. Every session's events reach `post(number, event)` tagged
with the run's number (the companion's are negative); a new run, an attach, a detach or a reset
moves the number on, so `is_current` tells the app whether a late event still describes the run in
front of the user. The app turns events into messages and the messages into widget updates.

`detach_runs` (a tab of `rnntui serve`, where closing the tab ends the app): runs outlive the app,
which detaches its own runs when it ends instead of stopping them.
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
        self.detach_runs = False  # leaving the app leaves its runs training (see the docstring)
        self.notify_url = ""  # where the runs started here alert (`--notify`), over alerts.url

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

    def processes(self) -> dict[str, int]:
        """label -> pid of the app's runs whose trainers the runs folder does not show (an
        unsaved run's, or one followed from another folder): the System pane adds them. Read
        on the pane's worker thread."""
        found: dict[str, int] = {}
        for label, session in (("run", self.session), ("B run", self.companion.session)):
            pid = getattr(session, "pid", None)
            if session is None or not session.running or not pid:
                continue
            folder = session.run_folder
            if folder is None:
                found[f"{label} (unsaved)"] = pid
            elif folder.path.parent.absolute() != self.runs_dir.absolute():
                found[folder.name] = pid
        return found

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
        config = config.copy()
        config.alerts.url = self.notify_url or config.alerts.url
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
        follows, or one it detached, goes on; with `detach_runs` its own runs are detached, so
        they go on too (an unsaved one cannot be, and is stopped). Returns the lines that say
        how to continue a stopped run or where a detached one trains ("" when there are none);
        `signalled` names the signal that stopped the app."""
        notes = self._detach_for_exit() if self.detach_runs else []
        if not _detached(self.companion.session):
            self.companion.stop()
        session = self.session
        if isinstance(session, FollowedSession):
            session.close()
        elif session is not None and not session.done.is_set() and not _detached(session):
            session.stop()
            if session.run_folder is not None:
                how = f"stopped by {signalled}" if signalled else "stopped"
                notes.insert(
                    0,
                    f"rnntui: {session.run_folder.name} {how} with a checkpoint; "
                    f"continue with: {session.resume_command()}",
                )
        return "\n".join(notes)

    def _detach_for_exit(self) -> list[str]:
        """Detach the app's own runs (main and companion): where each trains on."""
        notes = []
        for own in (self.session, self.companion.session):
            if isinstance(own, ChildSession) and own.detach() and own.run_folder is not None:
                notes.append(f"rnntui: {own.run_folder.name} trains on (pid {own.pid})")
        return notes

    def wait_for_own_run(self, timeout: float) -> bool:
        """After the app closed: wait for its own stopped run to write its checkpoint."""
        session = self.session
        if session is None or isinstance(session, FollowedSession) or _detached(session):
            return True
        return session.wait(timeout)

    @property
    def training_done(self) -> threading.Event | AllDone:
        """Set while no training runs (the exit watchdog waits on it); a detached run trains
        on, so nothing waits for it."""
        done = _done_event(self.session)
        companion = self.companion.session
        return done if companion is None or _detached(companion) else AllDone(done, companion.done)


def _detached(session: Session | None) -> bool:
    """A run this app started and left training on its own (only a ChildSession can be)."""
    return getattr(session, "detached", False)


def _done_event(session: Session | None) -> threading.Event:
    return _ALWAYS_DONE if session is None or _detached(session) else session.done
