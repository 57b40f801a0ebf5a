"""Following a run that another process trains: a detached run, a headless one, the app's own.

Everything comes from the run folder, which the trainer keeps current for exactly this: the
metrics (flushed at least once a second; a MetricsFollower reads only what is new, from the last
FOLLOW_HISTORY steps of a long run on, never its whole history), status.json
(the trainer's pid and whether it is paused) and, at the end, summary.json. Control goes to the
trainer's pid by the signals its `rnntui train` handles (SIGUSR1 pause, SIGUSR2 resume, SIGTERM
stop with a checkpoint). Reading never blocks the trainer and takes no lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from rnntui.engine.events import Event, Failed, Finished, Paused, Progress, Resumed, Started
from rnntui.runs.folder import RunFolder
from rnntui.runs.store.follow import MetricsFollower
from rnntui.runs.store.opening import stored_steps
from rnntui.sessions.session import RunState, SignalledSession

POLL_S = 0.2
# An attach shows the latest this many steps one by one (the chart keeps each of them); a
# longer run's earlier steps are for a chart that reads the store's bins (MetricsReader.chart).
FOLLOW_HISTORY = 1 << 20
FOLLOW_CHUNK = 1 << 16  # steps a Progress event carries at most


class NotLive(ValueError):
    """The run has no process training it (it finished, stopped or crashed)."""


class FollowedSession(SignalledSession):
    """Shows a live run from its folder and signals the process that trains it."""

    def __init__(self, run: RunFolder, on_event: Callable[[Event], None]) -> None:
        super().__init__(run.load_config(), on_event)
        self.run_folder = run
        self._pid: int | None = None
        self._follower: MetricsFollower | None = None
        self._per_epoch = 1
        self._closing = threading.Event()

    def start(self) -> str:
        """Start following; NotLive when no process trains the run now."""
        assert self.run_folder is not None
        self._pid = self.run_folder.live_owner()
        if self._pid is None:
            raise NotLive(f"{self.run_folder.name} is not training now; see `rnntui runs`")
        status = self.run_folder.read_status().get("state")
        self.state = RunState.PAUSED if status == "paused" else RunState.TRAINING
        self.done.clear()
        threading.Thread(target=self._follow, name="rnntui-follow", daemon=True).start()
        return ""

    @property
    def pid(self) -> int | None:
        return self._pid

    def close(self) -> None:
        """Stop following (the run goes on)."""
        self._closing.set()

    # --- reading the folder ---------------------------------------------------------------------

    def _follow(self) -> None:
        from rnntui.tasks.build import make_task, total_steps

        run = self.run_folder
        assert run is not None
        try:
            task = make_task(self.config.task, self.config.train.seed)
            per_epoch = task.steps_per_epoch(
                self.config.train.batch_size, self.config.train.num_steps
            )
            total = total_steps(self.config, task)
            start = max(0, (stored_steps(run.path) or 0) - FOLLOW_HISTORY)
            self._follower = MetricsFollower(run.path, start)
            self._per_epoch = per_epoch
            self._handle(Started("", total, per_epoch, tuple(task.baselines()), start))
            paused = self.state is RunState.PAUSED
            while not self._closing.is_set():
                self._read_new_steps(total)
                status = run.read_status()
                if (status.get("state") == "paused") != paused:
                    paused = not paused
                    self._handle(Paused(self.step) if paused else Resumed(self.step))
                if run.live_owner() is None:
                    self._read_new_steps(total)
                    self._handle(self._ending())
                    return
                self._closing.wait(POLL_S)
        except Exception as error:  # a damaged folder must not take the app down
            self._handle(Failed(f"cannot follow {run.name}: {type(error).__name__}: {error}"))
        finally:
            self.done.set()

    def _read_new_steps(self, total: int) -> None:
        """Progress for the steps logged since the last read, FOLLOW_CHUNK at a time."""
        assert self._follower is not None
        while True:
            update = self._follower.poll(FOLLOW_CHUNK)
            if update.restarted:  # a resume truncated the log to its checkpoint: start over
                self.step = 0
            losses = update.losses[np.isfinite(update.losses)]
            if len(losses):
                mark = update.mark
                wall = mark.wall_s if mark is not None else 0.0
                rate = mark.step / wall if mark is not None and wall > 0 else 0.0
                # past its total (resumed for more epochs than it was started with): unknown
                left = total - update.step
                eta = left / rate if rate > 0 and left >= 0 else float("inf")
                epoch = max(0, update.step - 1) // max(1, self._per_epoch)
                progress = Progress(
                    update.step, epoch, total, tuple(losses.tolist()), rate, eta, wall
                )
                self._handle(progress)
            if len(update.losses) < FOLLOW_CHUNK:
                return

    def _ending(self) -> Event:
        from rnntui.runs.listing import crash_hint, crash_note

        assert self.run_folder is not None
        crashed = crash_note(self.run_folder)
        if crashed:  # its summary is an epoch end's: reading it as the finish would be a lie
            return Failed(
                f"{self.run_folder.name} {crashed}; continue with: {crash_hint(self.run_folder)}",
                self.step,
            )
        try:
            summary = self.run_folder.read_summary()
        except (OSError, ValueError):
            return Failed(f"{self.run_folder.name} ended without a summary", self.step)
        if summary.get("failed"):
            return Failed(str(summary["failed"]), int(summary.get("steps") or self.step))
        return Finished(stopped=bool(summary.get("stopped")), summary=summary)
