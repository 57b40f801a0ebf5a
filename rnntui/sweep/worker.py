"""A sweep's worker process: imports TensorFlow once, then trains the runs it is sent.

Started by the local pool as `python -m rnntui.sweep.worker FD LABEL`: a fresh interpreter (as
multiprocessing's `spawn` would give, since TensorFlow is not fork-safe) whose command line names
rnntui, so the run folders it trains show it as their live owner and the app can follow them.
FD is its end of a socket pair, used as a `multiprocessing` Connection: jobs and commands (stop,
prune, quit, ceiling) come down, events go up, throttled to a few a second per run. "ready"
carries how long importing TensorFlow took (the sweep's per-worker timeline).
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from rnntui.config import Config
from rnntui.runtime import xla_cache
from rnntui.sweep.folder import Job

PROGRESS_INTERVAL_S = 0.25  # progress messages per run: about four a second


def main(argv: list[str] | None = None) -> None:
    fd, label = (argv or sys.argv[1:])[:2]
    conn = Connection(socket.socket(fileno=int(fd)).detach())
    worker = Worker(conn, label)
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


def setup_tensorflow() -> None:
    """Import TensorFlow once; on CPU, one thread per worker (a worker per core: more threads
    would only fight over the cores). Devices and GPU memory growth follow each run's config
    (`train.device`, `train.gpu_memory_growth`), applied by the trainer."""
    from rnntui.runtime.tf_import import import_tf

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


class Worker:
    def __init__(self, conn: Connection, label: str) -> None:
        self.conn = conn
        self.label = label
        self.jobs: queue.Queue[Job | float | None] = queue.Queue()  # float: time the reference
        self.lock = threading.RLock()  # `send` may stop the run while `_run` holds it
        self.send_lock = threading.Lock()
        self.trainer: Any = None
        self.current: str | None = None
        self.prune_names: set[str] = set()
        self.stopping = False

    def serve(self) -> None:
        began = time.perf_counter()
        setup_tensorflow()
        import_s = round(time.perf_counter() - began, 3)
        threading.Thread(target=self._listen, name="commands", daemon=True).start()
        self.send("ready", os.getpid(), import_s)
        while (job := self.jobs.get()) is not None:
            if isinstance(job, float):
                self._time_reference(job)
            else:
                self._run(job)
            self.send("ready", os.getpid(), import_s)

    def send(self, *message: Any) -> None:
        try:
            with self.send_lock:
                self.conn.send(message)
        except OSError:  # the launching process is gone: stop with a checkpoint
            self._stop()

    def on_signal(self, signum: int, frame: Any) -> None:  # noqa: ARG002 - handler signature
        trainer = self.trainer  # no lock: this runs on the main thread, which may hold it
        if trainer is None:
            if signum == signal.SIGTERM:
                xla_cache.close()  # os._exit skips the exit handlers
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
            except (EOFError, OSError):  # the launching process is gone
                kind, args = "stop", []
            if kind == "run":
                self.jobs.put(args[0])
            elif kind == "ceiling":
                self.jobs.put(float(args[0]))
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

    def _time_reference(self, seconds: float) -> None:
        """Train the ceiling's reference for `seconds`; send its steps per second (or None)."""
        from rnntui.sweep.ceiling import reference_rate

        def hold(trainer: Any) -> None:
            with self.lock:
                self.trainer = trainer
                if trainer is not None and self.stopping:
                    trainer.stop()

        rate = None if self.stopping else reference_rate(seconds, hold)
        self.send("ceiling", rate)

    def _run(self, job: Job) -> None:
        from rnntui.engine.trainer import Trainer
        from rnntui.runs.folder import RunFolder

        with self.lock:
            if self.stopping or job.name in self.prune_names:
                self.send("done", job.name, None, job.name in self.prune_names)
                return
            forward = Forwarder(self.send, job.name)
            run = RunFolder(Path(job.path))
            config = worker_config(job.config)
            self.trainer = Trainer(config, forward, run=run, resume=job.resume)
            self.current = job.name
        summary = self.trainer.run()
        with self.lock:
            self.trainer, self.current = None, None
            pruned = job.name in self.prune_names
        self.send("done", job.name, summary, pruned)


class Forwarder:
    """Trainer callback in a worker: started, throttled progress, pauses, epoch ends."""

    def __init__(self, send: Any, name: str) -> None:
        from rnntui.runs.curves import Ema

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


if __name__ == "__main__":
    main()
