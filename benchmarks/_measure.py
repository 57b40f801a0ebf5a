"""Helpers the benchmark scripts share: run a child process and measure it honestly.

Every contender runs in a fresh Python process, so each pays its own tracing and compiling, keeps
its own TensorFlow settings, and has its own peak memory. Alongside each child we record how busy
the rest of the machine was (CPU seconds used by other processes per wall second), because on a
shared 2-core box that is what most often spoils a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def busy_seconds() -> float:
    """CPU seconds all processes have spent busy since boot (Linux), else 0."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / TICK


@dataclass
class ChildRun:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float  # the child's own user + system time
    peak_rss_mb: float
    others_cores: float  # CPU used by every other process during the run, in cores

    def last_json(self) -> dict:
        for line in reversed(self.stdout.strip().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"no JSON from child (exit {self.returncode}): {self.stderr[-2000:]}")


def run_child(args: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> ChildRun:
    """Run `args` to the end; reap it with wait4 to get this child's own peak RSS and CPU."""
    import tempfile

    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        busy_before = busy_seconds()
        started = time.perf_counter()
        child = subprocess.Popen(args, stdout=out, stderr=err, text=True, env=environment, cwd=REPO)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
            time.sleep(0.005)
        wall = time.perf_counter() - started
        busy = busy_seconds() - busy_before
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    cpu = usage.ru_utime + usage.ru_stime
    others = max(0.0, busy - cpu) / wall if wall > 0 else 0.0
    return ChildRun(child.returncode, stdout, stderr, wall, cpu, usage.ru_maxrss / 1024, others)


def with_sets(command: list[str], overrides: list[str]) -> list[str]:
    """`command` with a `--set` for each override."""
    return [*command, *(arg for text in overrides for arg in ("--set", text))]


def run_json_child(command: list[str], what: str) -> tuple[dict, ChildRun]:
    """Run a child whose last line is its result as JSON; stop the benchmark if it fails."""
    child = run_child(command)
    if child.returncode != 0:
        raise SystemExit(f"{what} failed:\n{child.stderr[-3000:]}")
    return child.last_json(), child


async def wait_for_tensorflow(app: Any, pilot: Any, limit_s: float = 120) -> None:
    """Until the app's TensorFlow helper has loaded (what a user waits for before training)."""
    started = time.perf_counter()
    while not app.tf_ready:
        await pilot.pause(0.05)
        if time.perf_counter() - started > limit_s:
            raise SystemExit(f"TensorFlow did not load within {limit_s:.0f} s")


def machine() -> str:
    import importlib.metadata as md

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for package in ("tensorflow", "keras", "numpy", "textual"):
        try:
            versions.append(f"{package} {md.version(package)}")
        except md.PackageNotFoundError:
            pass
    return f"{os.cpu_count()} CPU cores ({cpu}), Python {platform.python_version()}, " + ", ".join(
        versions
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def python() -> str:
    return sys.executable


def bench_parser(doc: str | None, *, repeat: int, repeat_help: str) -> argparse.ArgumentParser:
    """The options every app benchmark takes: --set KEY=VALUE (repeatable), --repeat N, and the
    hidden --worker a benchmark runs itself with in a fresh process (its value, if any, is the
    contender). Each script adds its own (--preset, --epochs...)."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=repeat, help=repeat_help)
    parser.add_argument("--worker", nargs="?", const="yes", help=argparse.SUPPRESS)
    return parser
