"""Run folders: everything needed to see, compare and resume a training run, written atomically.

    <runs>/<YYYYmmdd-HHMMSS>-<preset>/
        config.toml      the resolved config (a run can be reproduced from its folder alone)
        metrics.jsonl    a line per step: step, epoch, loss, wall_s (flushed at least every second),
                         and one per live knob change: step, knob, value
        summary.json     the run's summary (rewritten at epoch ends and at the finish)
        checkpoint.npz   weights, optimizer state, carried RNN state and the data position

Every file but the metrics log is written to a temporary name and renamed, so a crash mid-write
leaves the previous good version in place.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from rnntui.atomic_write import atomic_write_bytes, atomic_write_text
from rnntui.config import Config, ConfigError, load_file

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
CHECKPOINT_FILE = "checkpoint.npz"
FLUSH_INTERVAL_S = 1.0


def default_runs_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("rnntui")) / "runs"


def resume_command(run_name: str, runs_dir: Path | None = None) -> str:
    """The shell command that continues a run, working as printed (quoted, with its runs dir)."""
    command = f"rnntui train --resume {shlex.quote(run_name)}"
    return command + (f" --runs-dir {shlex.quote(str(runs_dir))}" if runs_dir else "")


@dataclass
class Checkpoint:
    """Where training stands: enough to continue as if it had never stopped."""

    epoch: int  # the epoch in progress (or the next one, when `window` is 0)
    window: int  # the next window of that epoch to train on
    step: int  # steps done in total
    wall_s: float  # training time so far
    weights: list[np.ndarray]
    optimizer: list[np.ndarray]
    state: list[np.ndarray]  # the carried RNN state
    epoch_losses: list[float]  # losses of the epoch in progress (for its evaluation)
    metrics: dict[str, float]


class RunFolder:
    """One run's folder; the trainer writes, `rnntui runs` and the TUI read."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._metrics = None
        self._last_flush = 0.0

    # --- creating and finding -------------------------------------------------------------------

    @classmethod
    def create(cls, config: Config, root: Path | None = None) -> RunFolder:
        root = Path(root) if root else default_runs_dir()
        root.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in config.name) or "run"
        for attempt in range(1000):
            name = f"{stamp}-{safe}" + (f"-{attempt}" if attempt else "")
            try:
                (root / name).mkdir()
                break
            except FileExistsError:
                continue
        run = cls(root / name)
        atomic_write_text(run.path / CONFIG_FILE, config.to_toml())
        return run

    @classmethod
    def find(cls, name_or_path: str, root: Path | None = None) -> RunFolder:
        """A run by folder path or by name under the runs folder; ConfigError if there is none."""
        path = Path(name_or_path).expanduser()
        if not path.is_dir():
            path = (Path(root) if root else default_runs_dir()) / name_or_path
        if not (path / CONFIG_FILE).is_file():
            raise ConfigError(
                f"no run folder '{name_or_path}' (with a {CONFIG_FILE}); see `rnntui runs`",
                source="--resume",
            )
        return cls(path)

    @property
    def name(self) -> str:
        return self.path.name

    def load_config(self) -> Config:
        return load_file(self.path / CONFIG_FILE)

    def save_config(self, config: Config) -> None:
        atomic_write_text(self.path / CONFIG_FILE, config.to_toml())

    # --- metrics --------------------------------------------------------------------------------

    def append_metrics(
        self, first_step: int, epoch: int, losses: list[float], wall_s: float
    ) -> None:
        """Log a chunk of steps; the file is flushed at least once a second."""
        log = self._log()
        wall = round(wall_s, 3)
        lines = (
            json.dumps({"step": first_step + i + 1, "epoch": epoch, "loss": loss, "wall_s": wall})
            for i, loss in enumerate(losses)
        )
        log.write("\n".join(lines) + "\n")
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()
            self._last_flush = now

    def append_knob(self, step: int, name: str, value: float) -> None:
        """Log a live knob change as a metrics row of its own, `{"step", "knob", "value"}`."""
        self._log().write(json.dumps({"step": step, "knob": name, "value": value}) + "\n")

    def _log(self) -> Any:
        if self._metrics is None:
            self._metrics = open(self.path / METRICS_FILE, "a", encoding="utf-8")  # noqa: SIM115
        return self._metrics

    def flush(self) -> None:
        if self._metrics is not None:
            self._metrics.flush()
            os.fsync(self._metrics.fileno())

    def close(self) -> None:
        if self._metrics is not None:
            self.flush()
            self._metrics.close()
            self._metrics = None

    def truncate_metrics(self, step: int) -> None:
        """Drop logged steps after `step` (they ran after the checkpoint a resume starts from)."""
        path = self.path / METRICS_FILE
        if not path.exists():
            return
        kept = [row for row in read_metrics(path, knobs=True) if row["step"] <= step]
        atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in kept))

    # --- summary and checkpoints ----------------------------------------------------------------

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_text(self.path / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")

    def read_summary(self) -> dict[str, Any]:
        return json.loads((self.path / SUMMARY_FILE).read_text(encoding="utf-8"))

    def write_checkpoint(self, checkpoint: Checkpoint) -> None:
        arrays: dict[str, np.ndarray] = {}
        for group in ("weights", "optimizer", "state"):
            for i, value in enumerate(getattr(checkpoint, group)):
                arrays[f"{group}_{i:04d}"] = np.asarray(value)
        meta = {
            "epoch": checkpoint.epoch,
            "window": checkpoint.window,
            "step": checkpoint.step,
            "wall_s": checkpoint.wall_s,
            "epoch_losses": checkpoint.epoch_losses,
            "metrics": checkpoint.metrics,
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(self.path / CHECKPOINT_FILE, buffer.getvalue())
        self.flush()  # the metrics up to the checkpoint are on disk with it

    def has_checkpoint(self) -> bool:
        return (self.path / CHECKPOINT_FILE).is_file()

    def read_checkpoint(self) -> Checkpoint:
        with np.load(self.path / CHECKPOINT_FILE) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            groups: dict[str, list[np.ndarray]] = {"weights": [], "optimizer": [], "state": []}
            for key in sorted(k for k in data.files if k != "meta"):
                groups[key.rsplit("_", 1)[0]].append(data[key])
        return Checkpoint(**meta, **groups)


def read_metrics(path: Path, *, knobs: bool = False) -> list[dict[str, Any]]:
    """The step rows of a metrics log (with `knobs`, the knob-change rows too, in file order);
    a torn last line (a crash mid-append) is skipped."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if knobs or "knob" not in row:
                rows.append(row)
    return rows


def read_knobs(path: Path) -> list[dict[str, Any]]:
    """The live knob changes a metrics log records: `{"step", "knob", "value"}`, in order."""
    return [row for row in read_metrics(path, knobs=True) if "knob" in row]


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


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run under `root`, oldest first; a damaged folder is reported, never fatal."""
    root = Path(root) if root else default_runs_dir()
    if not root.is_dir():
        return []
    rows = []
    for path in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        rows.append(describe_run(path))
    return rows


def describe_run(path: Path) -> RunInfo:
    date = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    run = RunFolder(path)
    try:
        config = run.load_config()
    except ConfigError as error:
        return RunInfo(path.name, path, "?", date, None, f"damaged: {error.reason}", True)
    if not (path / SUMMARY_FILE).exists():
        return RunInfo(path.name, path, config.name, date, None, "no summary yet", False)
    try:
        summary = run.read_summary()
        steps = int(summary["steps"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        reason = f"damaged: {SUMMARY_FILE} unreadable ({type(error).__name__})"
        return RunInfo(path.name, path, config.name, date, None, reason, True)
    return RunInfo(path.name, path, config.name, date, steps, describe_result(summary), False)


def describe_result(summary: dict[str, Any]) -> str:
    from rnntui.tasks import task_metrics
    from rnntui.tasks.base import describe_metrics

    if summary.get("failed"):
        return f"failed: {summary['failed']}"
    parts = []
    if summary.get("final_loss") is not None:
        parts.append(f"loss {summary['final_loss']:.4f}")
    parts += describe_metrics(task_metrics(summary.get("task")), summary)
    if summary.get("stopped"):
        parts.append("stopped")
    return ", ".join(parts) or "-"
