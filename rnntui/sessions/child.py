"""A run trained by a child process that this process started and listens to.

Why a process and not a thread (measured, see docs/performance.md): importing TensorFlow holds
the GIL for hundreds of milliseconds at a time (the UI stalled up to 400 ms), and a training loop
on a thread of the UI process shares one GIL with the screen, which slowed training in the app
to 47-63 % of the headless speed. A child has its own interpreter: the UI process never imports
TensorFlow, and the two use both cores.

The child is `python -m rnntui.sessions.child_main FOLDER --events`: it trains into a folder
made here, writes its events to stdout (see `pipe.py`) and obeys SIGUSR1/SIGUSR2/SIGTERM (pause,
resume, stop). It runs in its own session, so it can outlive this process: `detach` stops
listening and leaves it training.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from subprocess import Popen

from rnntui.engine.events import Event, Failed, Finished
from rnntui.sessions.session import RunState, SignalledSession, create_run_folder
from rnntui.util import exit_codes


class ChildSession(SignalledSession):
    """Trains `config` in a child process; events arrive on a reader thread. Built as any
    `Session` is (config, on_event, runs_dir, tensorboard)."""

    process: Popen | None = None
    detached = False
    _scratch: Path | None = None  # an unsaved run trains in a temporary folder
    _ended = False  # a Finished or Failed event arrived

    def start(self) -> str:
        from rnntui.sessions.spawn import spawn_trainer

        if self.process is not None:
            raise RuntimeError("a session runs once; make a new one for another run")
        self.run_folder, warning = create_run_folder(self.config, self.runs_dir)
        if self.run_folder is not None:
            folder = self.run_folder.path
        else:
            from rnntui.runs.files import CONFIG_FILE
            from rnntui.util.atomic_write import atomic_write_text

            folder = self._scratch = Path(tempfile.mkdtemp(prefix="rnntui-unsaved-"))
            atomic_write_text(folder / CONFIG_FILE, self.config.to_toml())
        args = [str(folder)]
        if self.tensorboard and self.run_folder is not None:
            args.append("--tensorboard")
        self.state = RunState.STARTING
        self.done.clear()
        try:
            self.process = spawn_trainer(args, folder, events=True)
        except OSError as error:
            self.done.set()
            self._handle(Failed(f"cannot start the training process: {error}"))
            return warning
        threading.Thread(target=self._listen, name="rnntui-events", daemon=True).start()
        return warning

    def _listen(self) -> None:
        from rnntui.sessions.pipe import read_events

        process = self.process
        assert process is not None and process.stdout is not None
        try:
            read_events(process.stdout, self._receive)
            code = process.wait()
            if not self._ended and not self.detached:
                self._handle(Failed(self._why_it_ended(code), self.step))
        finally:
            if self._scratch is not None:
                shutil.rmtree(self._scratch, ignore_errors=True)
            self.done.set()

    def _receive(self, event: Event) -> None:
        if self.detached:
            return
        if isinstance(event, Finished | Failed):
            self._ended = True
        self._handle(event)

    def _why_it_ended(self, code: int) -> str:
        log = f"; see {self.run_folder.path / 'train.log'}" if self.run_folder else ""
        if code < 0:
            return f"the training process was killed by signal {-code}{log}"
        if code == exit_codes.BAD_INPUT:
            return f"the training process refused the settings{log}"
        return f"the training process ended unexpectedly (exit {code}){log}"

    # --- control ----------------------------------------------------------------------------------

    def detach(self) -> bool:
        """Stop listening and leave the run training on its own (False when nothing runs)."""
        with self._lock:
            if not self.running or self.run_folder is None:
                return False
            self.detached = True
            return True

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None
