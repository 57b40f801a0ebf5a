"""The System pane: CPU, the memory of the app and of each run's process, disk free where the
runs live, and the GPUs (or one line saying why there are none).

Self-contained: give it the runs folder and, optionally, a callable naming processes the app
knows that the folder does not show (an unsaved run's child). A thread worker samples
(`runtime/system.py`) at most once a second, and only while the pane is on screen (from its
first Show to its Hide); the UI thread only sets the text it is handed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from rnntui.runtime.system import SystemSample, describe

INTERVAL_S = 1.0


class SystemPane(Static):
    DEFAULT_CSS = """
    SystemPane {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(
        self,
        runs_dir: Path,
        processes: Callable[[], dict[str, int]] | None = None,
        interval_s: float = INTERVAL_S,
        **kwargs: object,
    ) -> None:
        super().__init__("sampling…", markup=False, **kwargs)  # type: ignore[arg-type]
        self.runs_dir = Path(runs_dir)
        self.processes = processes or dict
        self.interval_s = max(INTERVAL_S, interval_s)  # never more often than once a second
        self.sample: SystemSample | None = None
        self.samples = 0  # how many were shown (tests read it)
        self._visible = threading.Event()  # on screen: the worker samples
        self._worker: Worker | None = None

    def on_show(self) -> None:
        self._visible.set()
        if self._worker is None:  # the first time it shows: a hidden pane costs nothing
            self._worker = self.run_worker(
                self._sample_loop, thread=True, exclusive=True, group="system-pane"
            )

    def on_hide(self) -> None:
        self._visible.clear()

    def _sample_loop(self) -> None:
        from rnntui.runs.live import live_runs
        from rnntui.runtime.system import SystemSampler

        worker = get_current_worker()
        try:
            sampler = SystemSampler(self.runs_dir)
        except ImportError as error:  # psutil is a dependency; a broken install says so
            self.app.call_from_thread(self.update, f"system figures unavailable ({error})")
            return
        try:
            while not worker.is_cancelled:
                if not self._visible.wait(0.25):  # hidden: wait, and notice a cancel
                    continue
                started = time.monotonic()
                runs = {**self.processes(), **live_runs(self.runs_dir)}
                sampler.forget_others({os.getpid(), *runs.values()})
                sample = sampler.sample({"app": os.getpid(), **runs})
                if worker.is_cancelled:
                    break
                try:
                    self.app.call_from_thread(self._show, sample)
                except RuntimeError:  # the app stopped running meanwhile
                    break
                while not worker.is_cancelled and time.monotonic() - started < self.interval_s:
                    time.sleep(0.05)
        finally:
            sampler.close()

    def _show(self, sample: SystemSample) -> None:
        self.sample = sample
        self.samples += 1
        self.update("\n".join(describe(sample)))
