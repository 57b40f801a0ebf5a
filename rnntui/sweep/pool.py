"""The local backend: long-lived worker processes, each importing TensorFlow once.

Each worker is a fresh interpreter (`python -m rnntui.sweep.worker`; TensorFlow is not fork-safe)
that runs one job after another. Each has its own socket pair to the launching process, used as a
`multiprocessing` Connection: jobs and commands (stop, prune, quit) go down, events come up,
throttled to a few a second per run. A connection per worker, rather than shared queues, means a
worker killed mid-write (kill -9) can only break its own; its death shows as the end of its
connection, and its run is handed to another worker to resume from its checkpoint (or to start
afresh if it had none). Why not multiprocessing's `spawn`: its children's command line does not
name rnntui, and a run folder's live owner must be an rnntui process (`RunFolder.live_owner`)
for the app to follow it.

On CPU each worker gets one TensorFlow thread and there is a worker per core; with GPUs there is a
worker per GPU (`CUDA_VISIBLE_DEVICES` set per worker, memory growth on so that more workers than
GPUs can share one). The GPU path cannot be exercised on a machine without GPUs.

A worker that frees up takes the longest run left (`SweepRunner.next_job`). With `ceiling=True`
two of the workers measure the machine's two-process ceiling once the runs are over (ceiling.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from rnntui.sweep.ceiling import REFERENCE_S, ROUNDS, WARM_S, Ceiling, CpuMeter, save
from rnntui.sweep.folder import Job
from rnntui.sweep.runner import SweepRunner

STOP_TIMEOUT_S = 30.0  # a stopping worker checkpoints within a chunk; after this it is killed
MAX_ATTEMPTS = 3  # a run whose worker dies this many times is marked failed
MAX_FAILED_STARTS = 3  # workers dying before they are ready: something is broken, give up
START_TIMEOUT_S = 120.0  # a worker not ready by then (importing TensorFlow) is not measured with


class _Abandoned(Exception):
    """A ceiling measurement cannot go on (a worker died or failed, or the sweep stops)."""


class SweepError(RuntimeError):
    """The sweep cannot go on (workers cannot start); `str()` is one line for the user."""


def default_workers(gpus: list[str]) -> int:
    """One per GPU if the sweep uses GPUs, else one per core this process may use."""
    if gpus:
        return len(gpus)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def sweep_gpus(device: str) -> list[str]:
    """The GPUs a sweep's workers share out, for the runs' `train.device`: none for "cpu", the
    one named by "gpu:N", else every GPU found."""
    if device == "cpu":
        return []
    found = detect_gpus()
    if device.startswith("gpu:"):
        index = int(device.partition(":")[2])
        return found[index : index + 1] or found  # a missing one: the trainer says so, in one line
    return found


def detect_gpus() -> list[str]:
    """GPU ids without importing TensorFlow: CUDA_VISIBLE_DEVICES if set, else `nvidia-smi -L`."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [gpu for gpu in visible.split(",") if gpu.strip() and gpu.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(listing.splitlines()) if line.startswith("GPU ")]


# --- the launching process ------------------------------------------------------------------------


@dataclass
class _Slot:
    label: str
    env: dict[str, str]
    process: subprocess.Popen | None = None
    conn: Connection | None = None
    ready: bool = False
    job: Job | None = None
    ever_ready: bool = False
    dead: bool = False
    pid: int | None = None
    spawned: float = 0.0  # time.monotonic() when it was started


class LocalPool:
    """Runs a sweep's jobs on `workers` local processes; `run()` returns when all have ended."""

    def __init__(
        self, workers: int, log_dir: Path, gpus: list[str] | None = None, ceiling: bool = False
    ) -> None:
        self.workers = workers
        self.log_dir = Path(log_dir)
        self.gpus = sweep_gpus("auto") if gpus is None else gpus
        self.ceiling = ceiling  # measure the two-process ceiling after the runs

    def worker_env(self, index: int) -> dict[str, str]:
        """What worker `index` adds to the environment (its GPU, when there are GPUs)."""
        env = {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = self.gpus[index % len(self.gpus)]
        return env

    def worker_label(self, index: int) -> str:
        """`w1`, `w2`, … on CPU; `gpu0-1` (GPU 0, worker 1) with GPUs."""
        if self.gpus:
            return f"gpu{self.gpus[index % len(self.gpus)]}-{index + 1}"
        return f"w{index + 1}"

    def _log(self, slot: _Slot) -> Path:
        return self.log_dir / f"worker-{slot.label}.log"

    def _start(self, slot: _Slot) -> _Slot:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        ours, theirs = socket.socketpair()
        with open(self._log(slot), "ab") as log, theirs:
            # stdout and stderr to the log: TensorFlow's C++ logs must not hit the progress view
            slot.process = subprocess.Popen(
                [sys.executable, "-m", "rnntui.sweep.worker", str(theirs.fileno()), slot.label],
                pass_fds=(theirs.fileno(),),
                env={**os.environ, **slot.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        slot.conn = Connection(ours.detach())
        slot.ready = slot.dead = False
        slot.job = None
        slot.spawned = time.monotonic()
        return slot

    def run(self, runner: SweepRunner) -> None:
        count = min(self.workers, len(runner.schedule))
        slots = [self._start(_Slot(self.worker_label(i), self.worker_env(i))) for i in range(count)]
        failed_starts = 0
        stop_deadline: float | None = None
        try:
            while True:
                if runner.stopping and stop_deadline is None:
                    stop_deadline = time.monotonic() + STOP_TIMEOUT_S
                    for slot in slots:
                        if slot.job is None:  # idle or still importing TensorFlow: nothing to save
                            slot.process.terminate()
                        else:
                            self._send(slot, "stop")
                for name in runner.take_prunes():
                    for slot in slots:
                        if slot.job is not None and slot.job.name == name:
                            self._send(slot, "prune", name)
                self._dispatch(slots, runner)
                if not any(slot.job for slot in slots) and (
                    not runner.has_jobs() or runner.stopping
                ):
                    break
                if stop_deadline is not None and time.monotonic() > stop_deadline:
                    break
                if not slots:
                    raise SweepError("no worker is left to run the sweep")
                for conn in wait([slot.conn for slot in slots], 0.2):
                    slot = next(s for s in slots if s.conn is conn)
                    self._receive(slot, runner)
                    if not slot.dead:
                        continue
                    slots.remove(slot)  # its connection ended: the process is gone
                    code = self._reap(slot)
                    if not runner.stopping:
                        failed_starts = 0 if slot.ever_ready else failed_starts + 1
                    if failed_starts >= MAX_FAILED_STARTS:
                        raise SweepError(
                            f"workers die before they start (exit {code}); see {self._log(slot)}"
                        )
                    self._lost(slot, code, runner)
                    if runner.has_jobs() and not runner.stopping and len(slots) < count:
                        slots.append(self._start(_Slot(slot.label, slot.env)))
                runner.tick()
            runner.finish()
            if self.ceiling and not runner.stopping:
                runner.notices.append("measuring this machine's two-process ceiling (once)")
                runner.tick(force=True)
                measured = self._measure(slots, runner)
                if measured is not None:
                    save(measured)
                    runner.ceiling = measured
        finally:
            runner.finish()
            self._shut_down(slots)
            runner.tick(force=True)

    def measure_ceiling(self) -> Ceiling | None:
        """Start two workers only to measure the ceiling in them (`python -m
        rnntui.sweep.measure_ceiling`); None if they could not start or a timing failed."""
        slots = [self._start(_Slot(self.worker_label(i), self.worker_env(i))) for i in range(2)]
        try:
            return self._measure(slots, None)
        finally:
            self._shut_down(slots)

    def _measure(self, slots: list[_Slot], runner: SweepRunner | None) -> Ceiling | None:
        """One reference training alone, then two at once, in two idle workers (after a warm-up
        together, which traces the reference in both)."""
        pair = [slot for slot in slots if not slot.dead and slot.job is None][:2]
        if len(pair) < 2 or not all(self._until_ready(slot, runner) for slot in pair):
            return None
        meter = CpuMeter([slot.pid for slot in pair if slot.pid])
        alone, together = 0.0, [0.0, 0.0]
        try:
            self._timed(pair, WARM_S, runner)
            for _ in range(ROUNDS):  # the fastest of each: other processes only slow them
                alone = max(alone, *self._timed(pair[:1], REFERENCE_S, runner))
                rates = self._timed(pair, REFERENCE_S, runner)
                together = max(together, rates, key=sum)
        except _Abandoned:
            return None
        return Ceiling.from_rates(alone, together, meter.others())

    def _until_ready(self, slot: _Slot, runner: SweepRunner | None) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not slot.ready:
            if time.monotonic() > deadline or (runner is not None and runner.stopping):
                return False
            try:
                if slot.conn.poll(0.2):
                    kind, *args = slot.conn.recv()
                    if kind == "ready":
                        slot.ready, slot.pid = True, args[0]
            except (EOFError, OSError):
                slot.dead = True
                return False
        return True

    def _timed(self, slots: list[_Slot], seconds: float, runner: SweepRunner | None) -> list:
        """Each slot's worker trains the reference for `seconds`, all at once: their rates."""
        for slot in slots:
            slot.ready = False
            self._send(slot, "ceiling", seconds)
        rates = []
        deadline = time.monotonic() + seconds + 60  # tracing it takes a second or two
        for slot in slots:
            rate = None
            while rate is None:
                if time.monotonic() > deadline or (runner is not None and runner.stopping):
                    raise _Abandoned
                try:
                    if not slot.conn.poll(0.2):
                        continue
                    kind, *args = slot.conn.recv()
                except (EOFError, OSError):
                    slot.dead = True
                    raise _Abandoned from None
                if kind == "ceiling":
                    if args[0] is None:
                        raise _Abandoned
                    rate = float(args[0])
            rates.append(rate)
        for slot in slots:  # each sends "ready" after its timing: idle again
            self._until_ready(slot, runner)
        return rates

    def _dispatch(self, slots: list[_Slot], runner: SweepRunner) -> None:
        for slot in slots:
            if slot.ready and slot.job is None and not runner.stopping:
                job = runner.next_job()
                if job is not None:
                    slot.job, slot.ready = job, False
                    self._send(slot, "run", job)

    def _receive(self, slot: _Slot, runner: SweepRunner) -> None:
        """Everything the worker sent so far; `slot.dead` once its connection has ended."""
        while True:
            try:
                if not slot.conn.poll():
                    return
                kind, *args = slot.conn.recv()
            except (EOFError, OSError):
                slot.dead = True
                return
            if kind == "ready":
                if not slot.ever_ready:
                    import_s = args[1] if len(args) > 1 else 0.0
                    runner.worker_ready(
                        slot.label, args[0], slot.spawned - runner.started, import_s
                    )
                slot.ready = slot.ever_ready = True
                slot.pid = args[0]
            elif kind == "started":
                name, total, start_step, _device = args
                runner.started_run(name, slot.label, total, start_step, slot.pid)
            elif kind == "progress":
                runner.progress(*args)
            elif kind == "epoch":
                runner.epoch_end(*args)
            elif kind == "paused":
                runner.paused(*args)
            elif kind == "done":
                name, summary, pruned = args
                slot.job = None
                runner.done(name, summary, pruned)

    def _reap(self, slot: _Slot) -> int | None:
        """The exit code of a worker whose connection ended (killed if it somehow lingers)."""
        try:
            return slot.process.wait(5)
        except subprocess.TimeoutExpired:
            slot.process.kill()
            return slot.process.wait()
        finally:
            with contextlib.suppress(OSError):
                slot.conn.close()

    def _lost(self, slot: _Slot, code: int | None, runner: SweepRunner) -> None:
        """A worker died: hand its run to another worker (resuming from its checkpoint)."""
        job, slot.job = slot.job, None
        if job is None:
            return
        if runner.stopping:
            runner.done(job.name, None)
            return
        retry = runner.retry(job, f"worker {slot.label} died (exit {code})", MAX_ATTEMPTS)
        if retry is not None:
            runner.requeue(retry)

    def _send(self, slot: _Slot, *message: Any) -> None:
        with contextlib.suppress(OSError):
            slot.conn.send(message)

    def _shut_down(self, slots: list[_Slot]) -> None:
        """Ask each worker to quit; kill those that do not within a few seconds."""
        for slot in slots:
            if slot.process.poll() is None:
                self._send(slot, "quit")
        deadline = time.monotonic() + 10
        for slot in slots:
            try:
                slot.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                slot.process.kill()
                slot.process.wait(5)
            with contextlib.suppress(OSError):
                slot.conn.close()
