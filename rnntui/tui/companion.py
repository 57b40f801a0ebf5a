"""The B side of a one-key A/B comparison: the current settings with another cell, trained beside
the current run on the same data and seed, its curve drawn over the live one.

It is an ordinary session (its own run folder and, like every run of the app, its own process);
the app routes its messages here by their run number, which is negative so it never meets a
main run's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import TYPE_CHECKING

from rnntui.config import Config
from rnntui.engine.events import Event
from rnntui.sessions.launch import new_session
from rnntui.sessions.session import Session

if TYPE_CHECKING:
    from rnntui.engine.trainer import Trainer


def companion_config(config: Config, cell: str) -> Config:
    """`config` with another cell: same task, data, seed, sizes and training settings."""
    other = deepcopy(config)
    other.model.cell = cell
    other.name = f"{config.name}-{cell}"
    return other


class CompanionRun:
    """At most one B run at a time; `run` tags its messages."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self.run = 0
        self.label = ""
        self.cell = ""

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.running

    def owns(self, run: int) -> bool:
        return self.session is not None and run == self.run

    def start(
        self,
        config: Config,
        cell: str,
        poster: Callable[[int], Callable[[Event], None]],
        runs_dir: Path | None,
        trainer_factory: Callable[..., Trainer] | None,
    ) -> str:
        """Start B; returns the session's warning ("" when its run folder was made)."""
        self.run -= 1
        self.cell = cell
        companion = companion_config(config, cell)
        self.session = new_session(  # like A
            companion, poster(self.run), runs_dir=runs_dir, trainer_factory=trainer_factory
        )
        return self.session.start()

    def pause(self) -> None:
        if self.session is not None:
            self.session.pause()

    def resume(self) -> None:
        if self.session is not None:
            self.session.resume()

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()

    def forget(self) -> None:
        """Stop B and ignore its late messages."""
        self.stop()
        self.session = None


class AllDone:
    """Set once every given training thread has ended (what the exit watchdog waits for)."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return all(event.is_set() for event in self.events)

    def wait(self, timeout: float | None = None) -> bool:
        for event in self.events:
            if not event.wait(timeout):
                return False
        return True
