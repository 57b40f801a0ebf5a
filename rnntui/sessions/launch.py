"""Which kind of session trains a new run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rnntui.config import Config
from rnntui.engine.events import Event
from rnntui.sessions.session import Session

if TYPE_CHECKING:
    from rnntui.engine.trainer import Trainer


def new_session(
    config: Config,
    on_event: Callable[[Event], None],
    *,
    runs_dir: Path | None = None,
    tensorboard: bool = False,
    trainer_factory: Callable[..., Trainer] | None = None,
) -> Session:
    """The session for a new run: in a process of its own (the app's process never imports
    TensorFlow), or, given a test's `trainer_factory`, on a thread of this process."""
    if trainer_factory is not None:
        from rnntui.sessions.thread import TrainingSession

        return TrainingSession(
            config,
            on_event,
            runs_dir=runs_dir,
            tensorboard=tensorboard,
            trainer_factory=trainer_factory,
        )
    from rnntui.sessions.child import ChildSession

    return ChildSession(config, on_event, runs_dir=runs_dir, tensorboard=tensorboard)
