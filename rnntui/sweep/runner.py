"""The launching side of a sweep, whatever runs the runs: state per run, pruning, status file.

A backend (the local process pool or Ray) takes runs from `next_job()` (longest first, see
schedule.py), feeds it what its workers report (`started`, `progress`, `epoch_end`, `done`) and
calls `tick()` from its loop; the runner keeps one `RunStatus` per run for the progress view,
decides pruning, and rewrites the sweep folder's status.json about once a second so the app (or
anyone) can follow the sweep live.

It also keeps the sweep's parallel efficiency: the seconds its runs trained (each from its start
to its worker's "done", in this invocation) over workers x wall seconds. The wall seconds run
from the workers' start to the last run's end (`finish()`), so a ceiling measured after the runs
does not count.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rnntui.runs.folder import RunFolder
from rnntui.sweep.ceiling import Ceiling
from rnntui.sweep.folder import Job, RunRecord, SweepFolder
from rnntui.sweep.prune import MedianRule
from rnntui.sweep.schedule import Schedule, estimate_seconds
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
    handed_s: float | None = None  # … when it was (last) handed to a worker
    train_s: float = 0.0  # seconds it trained in this invocation (every attempt)


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
        order: str = "longest",
        ceiling: Ceiling | None = None,
    ) -> None:
        self.folder = folder
        self.jobs = jobs
        self.backend = backend
        self.workers = workers
        self.view = view
        self.ceiling = ceiling  # the machine's two-process ceiling, when known
        self.stopping = False
        self.ended: float | None = None  # when the last run ended (monotonic), see `finish`
        self.worker_times: dict[str, dict[str, Any]] = {}  # per worker: spawned, ready, import
        self.notices: list[str] = []  # lines for the progress view, in order
        self.rule = MedianRule() if prune else None
        self.pruned: dict[str, dict[str, Any]] = folder.read_pruned()
        self._to_prune: list[str] = []
        self._records = {r.spec.name: r for r in records}
        self._epochs = {r.spec.name: r.spec.config.train.epochs for r in records}
        self._kinds = {r.spec.name: r.spec.config.task.kind for r in records}
        self.schedule = Schedule(
            jobs, _estimates(jobs, self._records), order=order, rounds=prune and order != "grid"
        )
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

    def next_job(self) -> Job | None:
        """The run a free worker takes next (the longest left), or None when none is left or
        the sweep stops. Runs whose configuration was pruned are skipped (marked pruned)."""
        while not self.stopping and (job := self.schedule.take()) is not None:
            if self.should_start(job.name):
                self.runs[job.name].handed_s = round(self.wall_s, 3)
                return job
        return None

    def has_jobs(self) -> bool:
        """Whether runs are left to hand out."""
        return len(self.schedule) > 0

    def requeue(self, job: Job) -> None:
        """A run handed out must run again (its worker died): it goes first."""
        self.schedule.put_back(job)

    def worker_ready(self, label: str, pid: int | None, spawned_s: float, import_s: float) -> None:
        """A local worker is ready: when it was spawned and how long its TensorFlow import took."""
        self.worker_times[label] = {
            "pid": pid,
            "spawned_s": round(spawned_s, 3),
            "ready_s": round(self.wall_s, 3),
            "import_s": import_s,
        }

    def finish(self) -> None:
        """The runs are over: the sweep's wall time stops here (the first call counts)."""
        if self.ended is None:
            self.ended = time.monotonic()

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
        trained = self._close_interval(run)
        if summary is None:
            self._set(run, "pruned" if pruned else "stopped" if self.stopping else "queued")
            return
        if not (summary.get("failed") or summary.get("stopped") or pruned):
            self.schedule.finished(name, trained)  # refines the estimates of the runs left
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
        self._close_interval(run)
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

    def _close_interval(self, run: RunStatus) -> float:
        """Add the run's training since its (last) start to its `train_s`; that interval."""
        if run.started_s is None or run.state not in ("running", "paused"):
            return 0.0
        interval = max(0.0, self.wall_s - run.started_s)
        run.train_s += interval
        return interval

    @property
    def train_s(self) -> float:
        """Seconds the runs trained in this invocation, those running counted up to now."""
        total = sum(run.train_s for run in self.runs.values())
        now = self.wall_s
        for run in self.runs.values():
            if run.state in ("running", "paused") and run.started_s is not None:
                total += max(0.0, now - run.started_s)
        return total

    @property
    def efficiency(self) -> float | None:
        """train_s / (workers x wall_s): 1.0 when every worker trained all the time."""
        wall = self.wall_s
        trained = self.train_s
        if trained <= 0 or wall <= 0 or self.workers < 1:
            return None
        return trained / (self.workers * wall)

    @property
    def startup_s(self) -> float | None:
        """Seconds until the first run began training (starting workers, importing TensorFlow)."""
        starts = [run.started_s for run in self.runs.values() if run.started_s is not None]
        return min(starts) if starts else None

    def performance(self) -> dict[str, Any]:
        """How well the sweep used its workers, and what this machine can give (for the table,
        --json and status.json)."""
        efficiency = self.efficiency
        return {
            "workers": self.workers,
            "train_s": round(self.train_s, 2),
            "startup_s": None if self.startup_s is None else round(self.startup_s, 2),
            "efficiency": None if efficiency is None else round(efficiency, 3),
            "ceiling": None if self.ceiling is None else self.ceiling.speedup,
        }

    def _set(self, run: RunStatus, state: str) -> None:
        if run.state != state:
            run.state = state
            run.changed = time.monotonic()

    @property
    def wall_s(self) -> float:
        return (self.ended or time.monotonic()) - self.started

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
                **self.performance(),
                "worker_times": self.worker_times,
                "runs": {
                    run.name: {
                        "state": run.state,
                        "step": run.step,
                        "total": run.total,
                        "loss": run.loss,
                        "worker": run.worker,
                        "pid": run.pid,
                        "handed_s": run.handed_s,
                        "started_s": run.started_s,
                        "ended_s": run.ended_s,
                        "train_s": round(run.train_s, 3),
                    }
                    for run in self.runs.values()
                },
            }
        )


def _estimates(jobs: list[Job], records: dict[str, RunRecord]) -> dict[str, float]:
    """Each job's estimated seconds (a resumed run: what is left of it)."""
    estimates: dict[str, float] = {}
    known: dict[tuple[str, int], float] = {}  # a configuration's seeds cost the same
    for job in jobs:
        summary = records[job.name].summary if job.name in records else None
        done = int((summary or {}).get("steps") or 0) if job.resume else 0
        key = (job.label, done)
        if key not in known:
            try:
                known[key] = estimate_seconds(job.config, done)
            except Exception:  # a config the estimate cannot read: the schedule's neutral guess
                known[key] = 1.0
        estimates[job.name] = known[key]
    return estimates
