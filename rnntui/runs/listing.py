"""`rnntui runs`: a row per run folder, with the process training it if one is; a damaged folder
is described, never fatal."""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from rnntui.config import ConfigError
from rnntui.runs.checkpoint import CheckpointError
from rnntui.runs.files import CONFIG_FILE, LIVE_STATES, SUMMARY_FILE, default_runs_dir
from rnntui.runs.folder import RunFolder
from rnntui.runs.resume import resume_command
from rnntui.util.numbers import is_number


@dataclass(frozen=True)
class RunInfo:
    """A row of `rnntui runs`."""

    name: str
    path: Path
    preset: str
    date: str
    steps: int | None
    final: str  # the final metric as text, or what is wrong with the folder
    damaged: bool
    live_pid: int | None = None  # the process training it right now
    live_state: str = ""  # its state then: starting, training or paused


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run under `root`, oldest first; a damaged folder is reported, never fatal.
    OSError when `root` itself cannot be listed (no permission)."""
    root = Path(root).expanduser() if root else default_runs_dir()
    if not root.is_dir():
        return []
    rows = []
    for path in sorted(root.iterdir()):
        try:
            is_run = stat.S_ISDIR(path.stat().st_mode) and not path.name.startswith(".")
        except OSError:
            continue  # vanished, or a link to nowhere
        if is_run:
            rows.append(describe_run(path))
    return rows


def describe_run(path: Path) -> RunInfo:
    """A row for `path`, with the process training it if one is, or how it crashed."""
    info = _describe_folder(path)
    run = RunFolder(path)
    pid = run.live_owner()
    if pid is None:
        crashed = crash_note(run)
        if crashed and not info.damaged:
            figures = "" if info.final in ("-", "no summary yet") else f"{info.final}; "
            return replace(info, final=f"{figures}{crashed}; continue with: {crash_hint(run)}")
        return info
    return replace(info, live_pid=pid, live_state=str(run.read_status().get("state", "training")))


def crash_note(run: RunFolder) -> str:
    """`crashed (last checkpoint step N)` when the run's trainer went away without writing its
    end (kill -9, a power cut): status.json still says it trains, yet no process holds the run's
    lock. "" otherwise (a finished, stopped or failed run, or one that trains now)."""
    if run.read_status().get("state") not in LIVE_STATES or run.live_owner() is not None:
        return ""
    try:
        step = run.read_checkpoint().step
    except CheckpointError:
        return "crashed before its first checkpoint"
    return f"crashed (last checkpoint step {step:,})"


def crash_hint(run: RunFolder) -> str:
    """The resume command of a run found on disk (its runs folder named, so it works anywhere)."""
    return resume_command(run.name, run.path.parent)


def _describe_folder(path: Path) -> RunInfo:
    try:
        date = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    except (OSError, ValueError, OverflowError):
        date = "????-??-?? ??:??"
    run = RunFolder(path)
    try:
        config = run.load_config()
    except ConfigError as error:
        where = f"{CONFIG_FILE}: {error.key}: " if error.key else f"{CONFIG_FILE} "
        reason = f"damaged: {where}{error.reason}"
        return RunInfo(path.name, path, "?", date, None, reason, True)
    if not os.path.lexists(path / SUMMARY_FILE):
        return RunInfo(path.name, path, config.name, date, None, "no summary yet", False)
    try:
        summary = run.read_summary()
        problem = summary_problem(summary)
    except OSError as error:
        problem = f"{SUMMARY_FILE} unreadable ({error.strerror})"
    except ValueError:
        problem = f"{SUMMARY_FILE} unreadable (not JSON)"
    if problem:
        return RunInfo(path.name, path, config.name, date, None, f"damaged: {problem}", True)
    steps = int(summary["steps"])
    return RunInfo(path.name, path, config.name, date, steps, describe_result(summary), False)


def summary_problem(summary: Any) -> str:
    """What is wrong with a summary's shape ("" when the fields a listing reads are sound)."""
    if not isinstance(summary, dict):
        return f"{SUMMARY_FILE} is not a JSON object"
    steps = summary.get("steps")
    if not (is_number(steps) and math.isfinite(steps) and steps >= 0 and steps == int(steps)):
        return f"{SUMMARY_FILE} has no step count"
    for key in ("final_loss", "test_error_pct"):
        if summary.get(key) is not None and not is_number(summary[key]):
            return f"{SUMMARY_FILE} has a wrong '{key}'"
    if summary.get("failed") and not isinstance(summary["failed"], str):
        return f"{SUMMARY_FILE} has a wrong 'failed'"
    return ""


def describe_result(summary: dict[str, Any]) -> str:
    from rnntui.tasks.base import describe_metrics
    from rnntui.tasks.registry import task_metrics

    if summary.get("failed"):
        return f"failed: {summary['failed']}"
    parts = []
    if summary.get("final_loss") is not None:
        parts.append(f"loss {summary['final_loss']:.4f}")
    parts += describe_metrics(task_metrics(summary.get("task")), summary)
    if summary.get("stopped"):
        parts.append("stopped")
    elif summary.get("stopped_early"):  # train.patience: the best epoch's weights are kept
        epochs, best = summary.get("epochs"), summary.get("best_epoch")
        parts.append(f"stopped early at epoch {epochs} (best {best})")
    return ", ".join(parts) or "-"
