"""The machine's two-process ceiling: how much faster two trainings at once go than one.

Two workers cannot train twice as fast when the cores are not two cores' worth of floating point:
on a 2-vCPU box (SMT siblings, measured) a training slowed by 45 % when another ran beside it,
so two workers gave at most ~1.4x. A sweep's efficiency says how busy its workers were; the
ceiling says what being busy can give on this machine. It is measured by timing one reference
training alone, then two at once, each for `REFERENCE_S`, after a short warm-up together; twice,
keeping the fastest of each (other processes only ever slow a timing down).

When: at the end of the first local sweep with two or more CPU workers on a machine, in two of
its workers. They have imported TensorFlow already (a fresh measurement would pay two imports,
~5 s), the sweep's runs are over (their numbers and timings are untouched), and the processes are
exactly what a sweep trains in (spawned, one TensorFlow thread each). It adds ~2.5 s to that one
sweep; later sweeps read the cached value. `python -m rnntui.sweep.measure_ceiling` measures it on
demand (starting two workers) and caches it too.

The cache is a file per machine key beside the XLA cache (`<user cache>/rnntui/ceiling/`): the
key is the CPU model, the usable CPU count and the rnntui and TensorFlow versions, so another
machine, a resized VM or an upgrade measures again. A measurement taken while other processes
were busy is low: the cores they used meanwhile are recorded with it (`others`), and
`RNNTUI_CEILING=measure` measures again at the next sweep.

RNNTUI_CEILING: unset or "auto" (as above), "off" (never measured nor shown), "measure", or a
number (taken as the ceiling, nothing measured: for tests, or a user who knows it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rnntui.config import Config
from rnntui.util.atomic_write import atomic_write_text

ENV = "RNNTUI_CEILING"
REFERENCE_S = 0.4  # each timed phase: ~40 compiled calls of 50 windows on a 2-core Xeon
WARM_S = 0.2  # both workers trace and train the reference once before anything is timed
ROUNDS = 2  # alone then together, this many times: the fastest of each counts
PROCESSES = 2
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Ceiling:
    """Two processes' training throughput over one's (2.0: two full cores)."""

    speedup: float
    alone: float = 0.0  # steps/s of the reference training alone
    together: float = 0.0  # steps/s of each of two at once (their mean)
    measured: str = ""  # when (ISO date-time), or ENV for a value given there
    others: float | None = None  # cores other processes used meanwhile (a busy box measures low)

    @classmethod
    def from_rates(
        cls, alone: float, together: list[float], others: float | None = None
    ) -> Ceiling:
        """From the reference's steps/s alone and each of two at once'."""
        mean = sum(together) / len(together)
        speedup = min(float(PROCESSES), PROCESSES * mean / alone) if alone > 0 else 0.0
        when = datetime.now().isoformat(timespec="seconds")
        others = None if others is None else round(others, 2)
        return cls(round(speedup, 3), round(alone, 1), round(mean, 1), when, others)


class CpuMeter:
    """CPU the rest of the machine uses while something runs: all cores' busy time (Linux's
    /proc/stat) less that of the given processes and this one. `others()` is in cores; None
    where /proc is not there."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float] | None:
        import time

        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
            values = [int(v) for v in fields]
            busy = (sum(values[:8]) - values[3] - values[4]) / TICK
            own = sum(_process_cpu_s(pid) for pid in [*self.pids, os.getpid()])
        except (OSError, ValueError, IndexError):
            return None
        return time.monotonic(), busy, own

    def others(self) -> float | None:
        end = self._sample()
        if self.start is None or end is None or end[0] <= self.start[0]:
            return None
        wall = end[0] - self.start[0]
        return max(0.0, (end[1] - self.start[1]) - (end[2] - self.start[2])) / wall


def _process_cpu_s(pid: int) -> float:
    """User + system seconds of a process and its reaped children (Linux)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK


def setting() -> str:
    """RNNTUI_CEILING as "auto", "off", "measure" or a number's text."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("", "auto", "on"):
        return "auto"
    if value in ("off", "0", "no", "false"):
        return "off"
    return value


def given() -> float | None:
    """The ceiling RNNTUI_CEILING gives as a number, else None."""
    try:
        value = float(setting())
    except ValueError:
        return None
    return value if value > 0 else None


def machine_key() -> str:
    """What a ceiling holds for: the CPU model, the CPUs this process may use, the versions."""
    from importlib import metadata

    versions = []
    for dist in ("rnntui", "tensorflow", "tensorflow-cpu"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{dist}={metadata.version(dist)}")
    model = platform.machine() + platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith(("model name", "Hardware", "cpu model")):
                model += line.partition(":")[2].strip()
                break
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    text = f"{model}|{cpus}|{'|'.join(versions)}"
    return f"{cpus}cpu-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def cache_file() -> Path:
    """`<user cache>/rnntui/ceiling/<machine key>.json`, beside the XLA cache's `xla/`."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("rnntui")) / "ceiling" / f"{machine_key()}.json"


def cached() -> Ceiling | None:
    """The ceiling measured on this machine before, or None."""
    try:
        data = json.loads(cache_file().read_text(encoding="utf-8"))
        ceiling = Ceiling(**{k: data[k] for k in Ceiling.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError, KeyError):
        return None  # none yet, or damaged: measured again
    return ceiling if isinstance(ceiling.speedup, int | float) and ceiling.speedup > 0 else None


def known() -> Ceiling | None:
    """The ceiling a sweep shows now: given by RNNTUI_CEILING, or cached (None: off, or not
    measured yet)."""
    value = given()
    if value is not None:
        return Ceiling(round(value, 3), measured=ENV)
    state = setting()
    return None if state in ("off", "measure") else cached()


def wanted() -> bool:
    """Whether a sweep should measure the ceiling (it is not known, or a new value is asked)."""
    state = setting()
    return state == "measure" or (state == "auto" and cached() is None)


def save(ceiling: Ceiling) -> None:
    """Cache it for this machine (best effort: a folder that cannot be written keeps nothing)."""
    path = cache_file()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(asdict(ceiling), indent=2) + "\n")


def reference_config() -> Config:
    """The short training that is timed: the issue's echo-raw-10 (state 16, 10-step windows of
    200 streams), built here rather than loaded (a user's saved preset of that name must not
    change it), without XLA (a compile would be most of a short timing), with epochs to spare:
    it is stopped after a set time."""
    config = Config(name="ceiling-reference")
    config.task.size = 100_000  # 50 windows an epoch: one compiled call each
    config.model.cell, config.model.state_size = "raw_rnn", 16
    train = config.train
    train.epochs, train.num_steps, train.batch_size = 1000, 10, 200
    train.optimizer, train.learning_rate, train.xla = "adagrad", 0.1, "off"
    return config


def reference_rate(seconds: float, hold: Any = None) -> float | None:
    """Train the reference for `seconds` in this process, which has TensorFlow set up; its steps
    per second from the end of its first call (which traces) to its last, or None if it failed
    or was stopped early. `hold(trainer)` is called with the trainer before it runs (and None
    after), so that the caller can stop it."""
    from rnntui.engine.events import Progress
    from rnntui.engine.trainer import Trainer

    marks: list[tuple[int, float]] = []  # (step, wall seconds) of each progress report
    timer: list[threading.Timer] = []

    def on_event(event: Any) -> None:
        if isinstance(event, Progress):
            marks.append((event.step, event.wall_s))
            if not timer:  # timed from here: the first call has traced the step
                timer.append(threading.Timer(seconds, trainer.stop))
                timer[0].start()

    trainer = Trainer(reference_config(), on_event)
    if hold is not None:
        hold(trainer)
    try:
        summary = trainer.run()
    finally:
        for pending in timer:
            pending.cancel()
        if hold is not None:
            hold(None)
    if summary.get("failed") or len(marks) < 2:
        return None
    (first_step, first_s), (last_step, last_s) = marks[0], marks[-1]
    return (last_step - first_step) / (last_s - first_s) if last_s > first_s else None


def describe(ceiling: Ceiling | None) -> str:
    """One line for people."""
    if ceiling is None:
        return "ceiling not measured yet (the first local sweep with 2 workers measures it)"
    if ceiling.measured == ENV:
        when = "given by RNNTUI_CEILING"
    else:
        when = f"measured {ceiling.measured}"
        if ceiling.others is not None:
            when += f", other processes using {ceiling.others:.1f} cores meanwhile"
    return f"two processes train {ceiling.speedup:.2f}x as fast as one here ({when})"
