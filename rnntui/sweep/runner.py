"""The launching side of a sweep, whatever runs the runs: state per run, pruning, status file.

A backend (the local process pool or Ray) feeds it what its workers report (`started`,
`progress`, `epoch_end`, `done`, `requeued`) and calls `tick()` from its loop; the runner keeps
one `RunStatus` per run for the progress view, decides pruning, and rewrites the sweep folder's
status.json about once a second so the app (or anyone) can follow the sweep live.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rnntui.runs.folder import RunFolder
from rnntui.sweep.folder import Job, RunRecord, SweepFolder
from rnntui.sweep.prune import MedianRule
from rnntui.sweep.table import epoch_value, metric_of

STATUS_INTERVAL_S = 1.0


@dataclass
class RunStatus:
    """What the progress view shows for one run (plain values, owned by the driver's loop)."""

    name: str
    label: str
    seed: int
    state: str  # queued | running | paused | finished | failed | stopped | pruned
    step: int = 0
    total: int = 0
    loss: float | None = None
    steps_per_s: float = 0.0
    worker: str = ""
    pid: int | None = None  # the worker process running it (on the worker's machine)
    attempts: int = 0
    message: str = ""
    metric: float | None = None
    changed: float = 0.0  # when the state last changed (monotonic), for plain-line logging
    started_s: float | None = None  # seconds into the sweep when it (last) started training
    ended_s: float | None = None  # … and when its worker reported it done


class SweepRunner:
    def __init__(
        self,
        folder: SweepFolder,
        records: list[RunRecord],
        jobs: list[Job],
        *,
        prune: bool = False,
        backend: str = "local",
        workers: int = 1,
        view: Callable[[SweepRunner], None] | None = None,
    ) -> None:
        self.folder = folder
        self.jobs = jobs
        self.backend = backend
        self.workers = workers
        self.view = view
        self.stopping = False
        self.rule = MedianRule() if prune else None
        self.pruned: dict[str, dict[str, Any]] = folder.read_pruned()
        self._to_prune: list[str] = []
        self._records = {r.spec.name: r for r in records}
        self._epochs = {r.spec.name: r.spec.config.train.epochs for r in records}
        self._kinds = {r.spec.name: r.spec.config.task.kind for r in records}
        self.started = time.monotonic()
        self._last_status = 0.0
        queued = {job.name for job in jobs}
        self.runs: dict[str, RunStatus] = {}
        self.failures: dict[str, dict[str, Any]] = {}  # runs that failed in this invocation
        for record in records:
            state = "queued" if record.spec.name in queued else record.state
            status = RunStatus(record.spec.name, record.spec.label, record.spec.seed, state)
            if record.summary and state != "queued":
                status.metric = metric_of(record.summary)[1]
                status.step = status.total = int(record.summary.get("steps") or 0)
                status.message = record.summary.get("failed", "")
            self.runs[record.spec.name] = status

    # --- from the backend -----------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask every worker to stop with a checkpoint (safe to call from a signal handler)."""
        self.stopping = True

    def should_start(self, name: str) -> bool:
        """False once the sweep stops, or the run's configuration was pruned (marks it pruned)."""
        run = self.runs[name]
        if run.label in self.pruned:
            self._set(run, "pruned")
            return False
        return not self.stopping

    def started_run(
        self, name: str, worker: str, total: int, step: int, pid: int | None = None
    ) -> None:
        run = self.runs[name]
        run.worker, run.total, run.step, run.pid = worker, total, step, pid
        run.started_s = round(self.wall_s, 3)
        self._set(run, "running")

    def paused(self, name: str, paused: bool) -> None:
        """Someone paused or resumed the run (the app signals a run it follows)."""
        self._set(self.runs[name], "paused" if paused else "running")

    def progress(self, name: str, step: int, total: int, loss: float | None, rate: float) -> None:
        run = self.runs[name]
        run.step, run.total, run.loss, run.steps_per_s = step, total, loss, rate

    def epoch_end(self, name: str, epoch: int, metrics: dict[str, float]) -> None:
        """An epoch ended; with --prune this may stop the run's whole configuration."""
        if self.rule is None:
            return
        run = self.runs[name]
        value = epoch_value(self._kinds[name], metrics)
        last = epoch + 1 >= self._epochs[name]
        decision = self.rule.report(run.label, name, epoch, value, last)
        if decision is None:
            return
        self.pruned[run.label] = decision
        self.folder.write_pruned(self.pruned)
        self._to_prune += [
            other.name
            for other in self.runs.values()
            if other.label == run.label and other.state in ("queued", "running")
        ]

    def take_prunes(self) -> list[str]:
        """Runs to stop because their configuration was pruned (each returned once)."""
        names, self._to_prune = self._to_prune, []
        return names

    def done(self, name: str, summary: dict[str, Any] | None, pruned: bool = False) -> None:
        """A worker finished with a run; `summary` None means it never started."""
        run = self.runs[name]
        run.ended_s = round(self.wall_s, 3)
        if summary is None:
            self._set(run, "pruned" if pruned else "stopped" if self.stopping else "queued")
            return
        run.step = int(summary.get("steps") or run.step)
        run.metric = metric_of(summary)[1]
        if summary.get("failed"):
            run.message = str(summary["failed"])
            # a failed resume leaves its folder as it was (stopped): the failure lives here
            self.failures[name] = summary
            self._set(run, "failed")
        elif pruned or (summary.get("stopped") and run.label in self.pruned):
            self._set(run, "pruned")
        elif summary.get("stopped"):
            self._set(run, "stopped")
        else:
            self._set(run, "finished")

    def with_outcome(self, record: RunRecord) -> RunRecord:
        """A run's record as its folder shows it, or as failed when it failed here."""
        failed = self.failures.get(record.spec.name)
        return record if failed is None else replace(record, state="failed", summary=failed)

    def retry(self, job: Job, reason: str, max_attempts: int) -> Job | None:
        """A run's worker was lost: the job that continues it (from its checkpoint, if it has
        one), or None once it has been lost `max_attempts` times (then it is marked failed)."""
        run = self.runs[job.name]
        run.attempts += 1
        run.message = reason
        record = self.folder.refresh(self._records[job.name])
        if run.attempts >= max_attempts:
            message = f"{reason}; gave up after {run.attempts} attempts"
            summary = {**(record.summary or {}), "failed": message, "steps": run.step}
            RunFolder(record.path).write_summary(summary)
            self.done(job.name, summary)
            return None
        self._set(run, "queued")
        return self.folder.prepare(record)

    def tick(self, force: bool = False) -> None:
        """Redraw the view and, about once a second, rewrite status.json."""
        if self.view is not None:
            self.view(self)
        now = time.monotonic()
        if force or now - self._last_status >= STATUS_INTERVAL_S:
            self._last_status = now
            self.write_status("stopping" if self.stopping else "running")

    # --- state ----------------------------------------------------------------------------------

    def _set(self, run: RunStatus, state: str) -> None:
        if run.state != state:
            run.state = state
            run.changed = time.monotonic()

    @property
    def wall_s(self) -> float:
        return time.monotonic() - self.started

    def count(self, *states: str) -> int:
        return sum(run.state in states for run in self.runs.values())

    def write_status(self, state: str) -> None:
        self.folder.write_status(
            {
                "state": state,
                "pid": os.getpid(),
                "backend": self.backend,
                "workers": self.workers,
                "updated": datetime.now().isoformat(timespec="seconds"),
                "wall_s": round(self.wall_s, 2),
                "runs": {
                    run.name: {
                        "state": run.state,
                        "step": run.step,
                        "total": run.total,
                        "loss": run.loss,
                        "worker": run.worker,
                        "pid": run.pid,
                        "started_s": run.started_s,
                        "ended_s": run.ended_s,
                    }
                    for run in self.runs.values()
                },
            }
        )
