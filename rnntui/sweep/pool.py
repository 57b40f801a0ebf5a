"""The local backend: long-lived worker processes, each importing TensorFlow once.

Workers are started with the `spawn` method (TensorFlow is not fork-safe) and run one job after
another. Each has its own duplex pipe to the launching process: jobs and commands (stop, prune,
quit) go down, events come up, throttled to a few a second per run. A pipe per worker, rather than
shared queues, means a worker killed mid-write (kill -9) can only break its own pipe; its death
shows as its process sentinel, and its run is handed to another worker to resume from its
checkpoint (or to start afresh if it had none).

On CPU each worker gets one TensorFlow thread and there is a worker per core; with GPUs there is a
worker per GPU (`CUDA_VISIBLE_DEVICES` set per worker, memory growth on so that more workers than
GPUs can share one). The GPU path cannot be exercised on a machine without GPUs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from rnntui.config import Config
from rnntui.sweep.folder import Job
from rnntui.sweep.runner import SweepRunner

PROGRESS_INTERVAL_S = 0.25  # progress messages per run: about four a second
STOP_TIMEOUT_S = 30.0  # a stopping worker checkpoints within a chunk; after this it is killed
MAX_ATTEMPTS = 3  # a run whose worker dies this many times is marked failed
MAX_FAILED_STARTS = 3  # workers dying before they are ready: something is broken, give up


class SweepError(RuntimeError):
    """The sweep cannot go on (workers cannot start); `str()` is one line for the user."""


def default_workers() -> int:
    """One per GPU if there are GPUs, else one per core this process may use."""
    gpus = detect_gpus()
    if gpus:
        return len(gpus)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


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


# --- the worker process ---------------------------------------------------------------------------


def worker_main(conn: Connection, label: str, env: dict[str, str], log_path: str) -> None:
    """Entry point of a worker process."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)  # TensorFlow's C++ logs must not scribble over the progress view
    os.dup2(log, 2)
    os.close(log)
    os.environ.update(env)
    worker = _Worker(conn, label)
    # The launching process owns Ctrl+C and hang-ups (a terminal signals the whole group) and
    # tells workers to stop. The signals that control one run (what the app sends a run it
    # follows: SIGTERM stop, SIGUSR1 pause, SIGUSR2 resume) act on this worker's current run.
    for name in ("SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    for name in ("SIGTERM", "SIGUSR1", "SIGUSR2"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), worker.on_signal)
    worker.serve()


def _setup_tensorflow() -> None:
    """Import TensorFlow once; on CPU, one thread per worker (a worker per core: more threads
    would only fight over the cores). Devices and GPU memory growth follow each run's config
    (`train.device`, `train.gpu_memory_growth`), applied by the trainer."""
    from rnntui.tf_runtime import import_tf

    tf = import_tf()
    if not tf.config.list_physical_devices("GPU"):
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def worker_config(config: Config) -> Config:
    """The config a worker trains: a worker given one GPU (CUDA_VISIBLE_DEVICES) sees it as the
    only one, so `gpu:N` means that GPU there. The run folder keeps the config as written."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") and config.train.device.startswith("gpu:"):
        config = config.copy()
        config.train.device = "gpu"
    return config


class _Worker:
    def __init__(self, conn: Connection, label: str) -> None:
        self.conn = conn
        self.label = label
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.lock = threading.RLock()  # `send` may stop the run while `_run` holds it
        self.trainer: Any = None
        self.current: str | None = None
        self.prune_names: set[str] = set()
        self.stopping = False

    def serve(self) -> None:
        _setup_tensorflow()
        threading.Thread(target=self._listen, name="commands", daemon=True).start()
        self.send("ready", os.getpid())
        while (job := self.jobs.get()) is not None:
            self._run(job)
            self.send("ready", os.getpid())

    def send(self, *message: Any) -> None:
        try:
            self.conn.send(message)
        except OSError:  # the launching process is gone: stop with a checkpoint
            self._stop()

    def on_signal(self, signum: int, frame: Any) -> None:  # noqa: ARG002 - handler signature
        trainer = self.trainer  # no lock: this runs on the main thread, which may hold it
        if trainer is None:
            if signum == signal.SIGTERM:
                os._exit(0)  # idle: nothing to save
            return
        if signum == signal.SIGTERM:
            trainer.stop()  # this run stops with a checkpoint; the worker takes the next one
        elif signum == getattr(signal, "SIGUSR1", None):
            trainer.pause()
        elif signum == getattr(signal, "SIGUSR2", None):
            trainer.resume()

    def _listen(self) -> None:
        while True:
            try:
                kind, *args = self.conn.recv()
            except (EOFError, OSError):
                kind, args = "stop", []
            if kind == "run":
                self.jobs.put(args[0])
            elif kind == "prune":
                with self.lock:
                    self.prune_names.add(args[0])
                    if self.current == args[0] and self.trainer is not None:
                        self.trainer.stop()
            elif kind in ("stop", "quit"):
                self._stop()
                self.jobs.put(None)
                return

    def _stop(self) -> None:
        with self.lock:
            self.stopping = True
            if self.trainer is not None:
                self.trainer.stop()

    def _run(self, job: Job) -> None:
        from rnntui.engine.runs import RunFolder
        from rnntui.engine.trainer import Trainer

        with self.lock:
            if self.stopping or job.name in self.prune_names:
                self.send("done", job.name, None, job.name in self.prune_names)
                return
            forward = _Forwarder(self.send, job.name)
            run = RunFolder(Path(job.path))
            config = worker_config(job.config)
            self.trainer = Trainer(config, forward, run=run, resume=job.resume)
            self.current = job.name
        summary = self.trainer.run()
        with self.lock:
            self.trainer, self.current = None, None
            pruned = job.name in self.prune_names
        self.send("done", job.name, summary, pruned)


class _Forwarder:
    """Trainer callback in a worker: started, throttled progress, pauses, epoch ends."""

    def __init__(self, send: Any, name: str) -> None:
        from rnntui.curves import Ema

        self.send = send
        self.name = name
        self.smoothed = Ema()  # the smoothing of the progress bar and the chart
        self.last = 0.0

    def __call__(self, event: Any) -> None:
        from rnntui.engine.events import EpochEnd, Paused, Progress, Resumed, Started

        if isinstance(event, Started):
            self.send("started", self.name, event.total_steps, event.start_step, event.device)
        elif isinstance(event, Progress):
            for loss in event.losses:
                self.smoothed.add(loss)
            now = time.monotonic()
            if now - self.last >= PROGRESS_INTERVAL_S or event.step >= event.total_steps:
                self.last = now
                self.send(
                    "progress", self.name, event.step, event.total_steps, self.smoothed.value,
                    event.steps_per_s,
                )  # fmt: skip
        elif isinstance(event, EpochEnd):
            self.send("epoch", self.name, event.epoch, dict(event.metrics))
        elif isinstance(event, Paused | Resumed):
            self.send("paused", self.name, isinstance(event, Paused))


# --- the launching process ------------------------------------------------------------------------


@dataclass
class _Slot:
    label: str
    env: dict[str, str]
    process: Any = None
    conn: Connection | None = None
    ready: bool = False
    job: Job | None = None
    stop_sent: bool = False
    ever_ready: bool = False
    pid: int | None = None
    started: float = field(default_factory=time.monotonic)


class LocalPool:
    """Runs a sweep's jobs on `workers` local processes; `run()` returns when all have ended."""

    def __init__(self, workers: int, log_dir: Path, gpus: list[str] | None = None) -> None:
        self.workers = workers
        self.log_dir = Path(log_dir)
        self.gpus = detect_gpus() if gpus is None else gpus
        self._ctx = multiprocessing.get_context("spawn")

    def _env(self, index: int) -> dict[str, str]:
        env = {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = self.gpus[index % len(self.gpus)]
        return env

    def _label(self, index: int) -> str:
        """`w1`, `w2`, … on CPU; `gpu0-1` (GPU 0, worker 1) with GPUs."""
        if self.gpus:
            return f"gpu{self.gpus[index % len(self.gpus)]}-{index + 1}"
        return f"w{index + 1}"

    def _start(self, slot: _Slot) -> _Slot:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        parent, child = self._ctx.Pipe(duplex=True)
        log = str(self.log_dir / f"worker-{slot.label}.log")
        slot.process = self._ctx.Process(
            target=worker_main, args=(child, slot.label, slot.env, log), name=f"rnntui-{slot.label}"
        )
        slot.process.daemon = True  # never outlive the launching process
        slot.process.start()
        child.close()
        slot.conn, slot.ready, slot.job, slot.stop_sent = parent, False, None, False
        slot.started = time.monotonic()
        return slot

    def run(self, runner: SweepRunner) -> None:
        pending = deque(runner.jobs)
        count = min(self.workers, len(pending))
        slots = [self._start(_Slot(self._label(i), self._env(i))) for i in range(count)]
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
                self._dispatch(slots, pending, runner)
                if not any(slot.job for slot in slots) and (not pending or runner.stopping):
                    break
                if stop_deadline is not None and time.monotonic() > stop_deadline:
                    break
                if not slots:
                    raise SweepError("no worker is left to run the sweep")
                ready = wait([s.conn for s in slots] + [s.process.sentinel for s in slots], 0.2)
                for slot in [s for s in slots if s.conn in ready]:
                    self._receive(slot, runner)
                for slot in [s for s in slots if s.process.sentinel in ready]:
                    self._receive(slot, runner)  # whatever it sent before dying
                    slots.remove(slot)
                    if not runner.stopping:
                        failed_starts = 0 if slot.ever_ready else failed_starts + 1
                    if failed_starts >= MAX_FAILED_STARTS:
                        raise SweepError(
                            f"workers die before they start (exit {slot.process.exitcode}); "
                            f"see {self.log_dir / f'worker-{slot.label}.log'}"
                        )
                    self._lost(slot, pending, runner)
                    if pending and not runner.stopping and len(slots) < count:
                        slots.append(self._start(_Slot(slot.label, slot.env)))
                runner.tick()
        finally:
            self._shut_down(slots)
            runner.tick(force=True)

    def _dispatch(self, slots: list[_Slot], pending: deque[Job], runner: SweepRunner) -> None:
        for slot in slots:
            while slot.ready and slot.job is None and pending and not runner.stopping:
                job = pending.popleft()
                if runner.should_start(job.name):
                    slot.job, slot.ready = job, False
                    self._send(slot, "run", job)

    def _receive(self, slot: _Slot, runner: SweepRunner) -> None:
        while True:
            try:
                if not slot.conn.poll():
                    return
                kind, *args = slot.conn.recv()
            except (EOFError, OSError):
                return
            if kind == "ready":
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

    def _lost(self, slot: _Slot, pending: deque[Job], runner: SweepRunner) -> None:
        """A worker died: hand its run to another worker (resuming from its checkpoint)."""
        slot.process.join(1)
        job, slot.job = slot.job, None
        if job is None:
            return
        code = slot.process.exitcode
        if runner.stopping:
            runner.done(job.name, None)
            return
        retry = runner.retry(job, f"worker {slot.label} died (exit {code})", MAX_ATTEMPTS)
        if retry is not None:
            pending.appendleft(retry)

    def _send(self, slot: _Slot, *message: Any) -> None:
        with contextlib.suppress(OSError):
            slot.conn.send(message)

    def _shut_down(self, slots: list[_Slot]) -> None:
        for slot in slots:
            if slot.process.is_alive():
                self._send(slot, "quit")
        deadline = time.monotonic() + 10
        for slot in slots:
            slot.process.join(max(0.1, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(5)
            with contextlib.suppress(OSError):
                slot.conn.close()
