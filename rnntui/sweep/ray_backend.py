"""The Ray backend: each run is a Ray task; its files come back to the launching machine.

A task trains in a temporary folder on whichever node Ray picks and returns the run folder's files
(config, metrics, summary, checkpoint) as bytes, which the launching process writes into the sweep
folder: no shared filesystem is needed. While it trains, the task reports progress and each chunk's
losses to a small actor every quarter second (so the sweep folder's metrics grow live), and the
actor's answer carries stop and prune requests back. A resumed run ships its checkpoint with the
task. Ray retries a task whose worker process or node dies (`max_retries`). Runs are submitted
longest first, `workers` at a time (`SweepRunner.next_job`), so Ray starts them in that order.

`ray` is an optional dependency (`pip install 'rnntui[ray]'`); only this module imports it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rnntui.config import ConfigError
from rnntui.runs.curves import Ema
from rnntui.runs.files import CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, SUMMARY_FILE
from rnntui.runs.folder import RunFolder
from rnntui.runtime.tf_import import quiet_native_stderr
from rnntui.sweep.folder import Job
from rnntui.sweep.runner import SweepRunner
from rnntui.util.atomic_write import atomic_write_bytes
from rnntui.util.extras import missing_extra

RUN_FILES = (CONFIG_FILE, METRICS_FILE, SUMMARY_FILE, CHECKPOINT_FILE)
REPORT_INTERVAL_S = 0.25
CONNECT_TIMEOUT_S = 3.0
JOIN_TRIES = 4  # about a second each
STOP_TIMEOUT_S = 30.0
MAX_RETRIES = 2  # Ray re-runs a task whose worker died this many times
LOCAL = "local"


def import_ray() -> Any:
    try:
        import ray
    except ImportError as error:  # not installed, or installed but broken
        hint = missing_extra("ray") or f"Ray does not import ({error}); reinstall 'rnntui[ray]'"
        raise ConfigError(hint, source="--ray") from None
    return ray


def _current_cluster() -> str | None:
    """The address of a running Ray on this machine: RAY_ADDRESS, else the last `ray start`."""
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    temp = os.environ.get("RAY_TMPDIR") or (
        os.environ.get("TMPDIR") if sys.platform.startswith("linux") else None
    )
    path = Path(temp or "/tmp") / "ray" / "ray_current_cluster"
    with contextlib.suppress(OSError):
        return path.read_text(encoding="utf-8").strip() or None
    return None


def _host_port(address: str) -> tuple[str, int]:
    client = address.startswith("ray://")
    rest = address.removeprefix("ray://").rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep:
        host, port = rest, "10001" if client else "6379"
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise ConfigError(
            f"'{address}' is not HOST:PORT (or auto, or nothing for a local Ray)", source="--ray"
        ) from None


def _reachable(address: str) -> str | None:
    """None if something listens at the address, else why not (in a few seconds at most)."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return None
    except TimeoutError:
        return f"no answer within {CONNECT_TIMEOUT_S:.0f} s"
    except OSError as error:
        return error.strerror or type(error).__name__


class RayBackend:
    """Runs a sweep's jobs as Ray tasks, at most `workers` at a time."""

    def __init__(self, ray: Any, workers: int, local: bool = False) -> None:
        self.ray = ray
        self.workers = workers
        self.local = local  # a Ray this process started: its tasks train on this machine

    @classmethod
    def connect(cls, address: str, workers: int | None) -> RayBackend:
        """Connect (or start a local Ray); ConfigError in one line if that cannot happen."""
        ray = import_ray()
        found = _current_cluster() if address in (LOCAL, "auto") else address
        if address == "auto" and not found:
            raise ConfigError(
                "no running Ray cluster found; start one with `ray start --head`, "
                "or give --ray alone for a local Ray",
                source="--ray auto",
            )
        if found and address == LOCAL and _reachable(found) is not None:
            found = None  # a record of a cluster that is gone: start our own
        if found:
            problem = _reachable(found)
            if problem:
                raise ConfigError(
                    f"cannot reach Ray at {found} ({problem}); check the address and that "
                    "`ray start --head` runs there",
                    source="--ray",
                )
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
            "runtime_env": {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": "2"}},
        }
        if found:
            import rnntui

            # the cluster's workers run this very rnntui, whatever they have installed
            options["runtime_env"]["py_modules"] = [rnntui]
            options["address"] = found
        else:
            options["address"] = LOCAL
            options["num_cpus"] = workers or os.cpu_count() or 1
        error: Exception | None = None
        # Ray retries joining for ~20 s and logs each retry from C++ to fd 2; a few tries are
        # enough to tell (only while joining: starting a local Ray keeps Ray's own waits)
        waits = {"RAY_gcs_server_port_wait_time_s": str(JOIN_TRIES)} if found else {}
        with _quiet_ray_start(), _environment(waits), quiet_native_stderr():
            try:
                ray.init(**options)
            except Exception as caught:  # Ray raises many types here (ConnectionError, …)
                error = caught
        if error is not None:
            detail = f"{type(error).__name__}: {_first_line(error)}"
            if found:
                raise ConfigError(
                    f"cannot reach Ray at {found} ({detail}); check the address and that "
                    "`ray start --head` runs there",
                    source="--ray",
                )
            raise ConfigError(f"could not start a local Ray ({detail})", source="--ray")
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return cls(ray, workers, local=not found)

    def close(self) -> None:
        """Disconnect; a Ray this process started is shut down with it."""
        with contextlib.suppress(Exception):
            self.ray.shutdown()

    # --- the driver's loop ----------------------------------------------------------------------

    def run(self, runner: SweepRunner) -> None:
        ray = self.ray
        reporter = ray.remote(num_cpus=0)(Reporter).remote()
        task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(train_task)
        in_flight: dict[Any, Job] = {}
        local: dict[str, RunFolder] = {}  # live metrics, appended as the tasks report them
        self._paths = {job.name: Path(job.path) for job in runner.jobs}
        stop_deadline: float | None = None
        try:
            while True:
                if runner.stopping and stop_deadline is None:
                    stop_deadline = time.monotonic() + STOP_TIMEOUT_S
                    reporter.stop.remote()
                names = runner.take_prunes()
                if names:
                    reporter.prune.remote(names)
                while len(in_flight) < self.workers and not runner.stopping:
                    job = runner.next_job()
                    if job is None:
                        break
                    in_flight[task.remote(job, _files(job), reporter)] = job
                if not in_flight:
                    break
                if stop_deadline is not None and time.monotonic() > stop_deadline:
                    for ref in in_flight:
                        ray.cancel(ref, force=True)
                    break
                done, _ = ray.wait(
                    list(in_flight), num_returns=len(in_flight), timeout=REPORT_INTERVAL_S
                )
                self._apply(ray.get(reporter.drain.remote()), runner, local)
                for ref in done:
                    job = in_flight.pop(ref)
                    self._finish(job, ref, runner, local.pop(job.name, None))
                runner.tick()
            runner.finish()
            self._apply(ray.get(reporter.drain.remote()), runner, local)
        finally:
            runner.finish()
            for folder in local.values():
                folder.close()
            runner.tick(force=True)

    def _apply(self, updates: list, runner: SweepRunner, local: dict[str, RunFolder]) -> None:
        """What the tasks reported since the last call, in order."""
        for name, kind, *args in updates:
            if name not in runner.runs:
                continue
            if kind == "started":
                total, start_step, host, pid = args
                runner.started_run(name, host, total, start_step, pid)
                folder = local.setdefault(name, RunFolder(self._paths[name]))
                folder.close()
                folder.truncate_metrics(start_step)  # a retried task starts over from there
            elif kind == "metrics" and name in local:
                local[name].append_metrics(*args)
            elif kind == "progress":
                runner.progress(name, *args)
            elif kind == "epoch":
                runner.epoch_end(name, *args)

    def _finish(self, job: Job, ref: Any, runner: SweepRunner, live: RunFolder | None) -> None:
        """Write a finished task's files into the sweep folder (or record why it failed)."""
        if live is not None:
            live.close()
        path = Path(job.path)
        try:
            result = self.ray.get(ref)
        except Exception as error:  # the task failed after its retries, or was cancelled
            if runner.stopping:
                runner.done(job.name, None)
                return
            message = f"Ray: {type(error).__name__}: {_first_line(error)}"
            summary = {"failed": message, "steps": runner.runs[job.name].step}
            RunFolder(path).write_summary(summary)
            runner.done(job.name, summary)
            return
        if not result["started"]:
            runner.done(job.name, None, result.get("pruned", False))
            return
        summary = dict(result["summary"])
        summary["run"] = str(path)  # the task's temporary folder is gone; this one stays
        for name, data in result["files"].items():
            if name != SUMMARY_FILE:
                atomic_write_bytes(path / name, data)
        RunFolder(path).write_summary(summary)
        runner.done(job.name, summary, result["pruned"])


def _files(job: Job) -> dict[str, bytes]:
    """What a task needs from the run folder: the config, and to resume, the rest."""
    path = Path(job.path)
    names = RUN_FILES if job.resume else (CONFIG_FILE,)
    return {name: (path / name).read_bytes() for name in names if (path / name).is_file()}


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1].strip()[:200] if lines else ""


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Any:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _quiet_ray_start() -> Any:
    """Ray's start-up chatter (token setup, "Started a local Ray instance") is not for users."""
    loggers = [logging.getLogger(name) for name in ("ray", "ray._private")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


# --- on the cluster -------------------------------------------------------------------------------


class Reporter:
    """A Ray actor between the tasks and the driver: updates up, stop and prune requests down."""

    def __init__(self) -> None:
        self.updates: list[tuple] = []
        self.stopping = False
        self.pruned: set[str] = set()

    def should_start(self, name: str) -> str | None:
        return "prune" if name in self.pruned else "stop" if self.stopping else None

    def report(self, name: str, updates: list[tuple]) -> str | None:
        """Store a run's updates; answer "stop" or "prune" if it must stop."""
        self.updates.extend(updates)
        return self.should_start(name)

    def drain(self) -> list[tuple]:
        updates, self.updates = self.updates, []
        return updates

    def stop(self) -> None:
        self.stopping = True

    def prune(self, names: list[str]) -> None:
        self.pruned.update(names)


_tf_ready = False


def train_task(job: Job, files: dict[str, bytes], reporter: Any) -> dict[str, Any]:
    """A Ray task: train one run in a temporary folder, return its files."""
    import tempfile

    import ray

    from rnntui.engine.trainer import Trainer
    from rnntui.sweep.worker import setup_tensorflow

    global _tf_ready
    verdict = ray.get(reporter.should_start.remote(job.name))
    if verdict:
        return {"started": False, "pruned": verdict == "prune"}
    if not _tf_ready:  # Ray reuses worker processes: TensorFlow is set up once per worker
        setup_tensorflow()
        _tf_ready = True
    where = (socket.gethostname(), os.getpid())
    with tempfile.TemporaryDirectory(prefix="rnntui-sweep-") as tmp:
        path = Path(tmp) / job.name
        path.mkdir()
        for name, data in files.items():
            (path / name).write_bytes(data)
        relay = _Relay(reporter, job.name, where)
        trainer = Trainer(job.config, relay, run=RunFolder(path), resume=job.resume)
        relay.start(trainer)
        try:
            summary = trainer.run()
        finally:
            relay.close()
        returned = {
            name: (path / name).read_bytes() for name in RUN_FILES if (path / name).exists()
        }
    return {"started": True, "summary": summary, "files": returned, "pruned": relay.pruned}


class _Relay:
    """Trainer callback inside a task: batches events and sends them to the reporter actor from a
    thread every quarter second; a "stop"/"prune" answer stops the trainer (with a checkpoint)."""

    def __init__(self, reporter: Any, name: str, where: tuple[str, int]) -> None:
        self.reporter = reporter
        self.name = name
        self.where = where
        self.lock = threading.Lock()
        self.updates: list[tuple] = []
        self.latest: tuple | None = None
        self.smoothed = Ema()
        self.pruned = False
        self.trainer: Any = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="relay", daemon=True)

    def __call__(self, event: Any) -> None:
        from rnntui.engine.events import EpochEnd, Progress, Started

        with self.lock:
            if isinstance(event, Started):
                self.updates.append(
                    (self.name, "started", event.total_steps, event.start_step, *self.where)
                )
            elif isinstance(event, Progress):
                for loss in event.losses:
                    self.smoothed.add(loss)
                self.updates.append(
                    (self.name, "metrics", event.first_step, event.epoch, list(event.losses),
                     event.wall_s)
                )  # fmt: skip
                self.latest = (
                    self.name, "progress", event.step, event.total_steps, self.smoothed.value,
                    event.steps_per_s,
                )  # fmt: skip
            elif isinstance(event, EpochEnd):
                if self.latest is not None:  # the progress up to here first, then the epoch
                    self.updates.append(self.latest)
                    self.latest = None
                self.updates.append((self.name, "epoch", event.epoch, dict(event.metrics)))

    def start(self, trainer: Any) -> None:
        self.trainer = trainer
        self.thread.start()

    def close(self) -> None:
        self.done.set()
        self.thread.join()
        self._flush()

    def _loop(self) -> None:
        while not self.done.wait(REPORT_INTERVAL_S):
            self._flush()

    def _flush(self) -> None:
        import ray

        with self.lock:
            updates, self.updates = self.updates, []
            if self.latest is not None:
                updates.append(self.latest)
                self.latest = None
        try:
            verdict = ray.get(self.reporter.report.remote(self.name, updates), timeout=30)
        except Exception:  # the driver (and its actor) is gone: stop, keeping a checkpoint
            verdict = "stop"
        if verdict and self.trainer is not None:
            self.pruned = self.pruned or verdict == "prune"
            self.trainer.stop()
