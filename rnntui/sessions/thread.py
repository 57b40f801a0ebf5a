"""The trainer on a thread of this process: for tests and scripts (the app trains in a child
process of its own, `sessions/child.py`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rnntui.config import Config
from rnntui.engine.events import Event, Failed
from rnntui.sessions.session import RunState, Session, create_run_folder

if TYPE_CHECKING:
    from rnntui.engine.trainer import Trainer


class TrainingSession(Session):
    """The trainer on a thread of this process."""

    def __init__(
        self,
        config: Config,
        on_event: Callable[[Event], None],
        *,
        trainer_factory: Callable[..., Trainer],
        **options: Any,
    ) -> None:
        """`trainer_factory` builds the trainer: `engine.trainer.Trainer` or a subclass (passed
        in, so that a process that never trains here, the app's, never imports it); `options`
        are `Session`'s (runs_dir, tensorboard)."""
        super().__init__(config, on_event, **options)
        self.trainer_factory = trainer_factory
        self.trainer: Trainer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Create the run folder and start training. When the run folder cannot be made the run
        still trains, unsaved, and the warning says why and what to do."""
        if self._thread is not None:
            raise RuntimeError("a session runs once; make a new one for another run")
        self.run_folder, warning = create_run_folder(self.config, self.runs_dir)
        self.trainer = self.trainer_factory(
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

    def _pause(self) -> bool:
        assert self.trainer is not None
        self.trainer.pause()
        return True

    def _resume(self) -> bool:
        assert self.trainer is not None
        self.trainer.resume()
        return True

    def _stop(self) -> bool:
        assert self.trainer is not None
        self.trainer.stop()
        return True

    def set_knob(self, name: str, value: float) -> None:
        if self.trainer is not None:
            self.trainer.set_knob(name, value)

    def set_probe(self, interval_s: float, gradients: bool = True) -> None:
        if self.trainer is not None:
            self.trainer.set_probe(interval_s, gradients)
