"""Run folders: everything needed to see, compare and resume a training run, written atomically.

    <runs>/<YYYYmmdd-HHMMSS>-<preset>/
        config.toml      the resolved config (a run can be reproduced from its folder alone)
        metrics.jsonl    a line per step: step, epoch, loss, wall_s (flushed at least every second),
                         and one per live knob change: step, knob, value
        summary.json     the run's summary (rewritten at epoch ends and at the finish)
        checkpoint.npz   weights, optimizer state, carried RNN state and the data position
        status.json      who trains it now (pid) and how it stands: training, paused, finished…
        train.log        what a run in the background (detached, or the app's) printed

        lock             while a process trains the run: its pid, host and start time (run_lock)

Every file but the metrics log is written to a temporary name and renamed, so a crash mid-write
leaves the previous good version in place. Every file is read through `safe_read`: a FIFO or a
directory where a file should be is reported, never opened in a way that could block.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import re
import shlex
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from rnntui.atomic_write import atomic_write_bytes, atomic_write_text
from rnntui.config import Config, ConfigError, load_file
from rnntui.engine.run_lock import LockOwner, RunLock, lock_owner
from rnntui.safe_read import describe_mode, open_regular, read_bytes, read_text

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
CHECKPOINT_FILE = "checkpoint.npz"
STATUS_FILE = "status.json"
CONTROL_FILE = "control.json"  # knobs and probe requests for the trainer (from the app)
LOG_FILE = "train.log"
FLUSH_INTERVAL_S = 1.0
MAX_SUMMARY_BYTES = 1 << 20  # a summary is a few hundred bytes
# Settings a resume may change: none alters the shapes in the checkpoint or the data it stands in
# (the learning rate is the optimizer's; its accumulated state is kept as it is).
RESUMABLE_KEYS = (
    "train.epochs",
    "train.learning_rate",
    "train.chunk",
    "train.xla",
    "train.eval_every",
)
CHECKPOINT_GROUPS = ("weights", "optimizer", "state")
CHECKPOINT_META = {
    "epoch": int,
    "window": int,
    "step": int,
    "wall_s": float,
    "epoch_losses": list,
    "metrics": dict,
}


class RunFolderError(ValueError):
    """A run folder that cannot be resumed as it is; `str()` is one line saying why."""


class CheckpointError(RunFolderError):
    """A checkpoint that is damaged or does not fit the run's config."""


def default_runs_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("rnntui")) / "runs"


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
    task_state: dict[str, Any] = field(default_factory=dict)  # e.g. a vocabulary (Task.state)


class RunFolder:
    """One run's folder; the trainer writes, `rnntui runs` and the TUI read."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._metrics = None
        self._last_flush = 0.0
        self._lock = RunLock(self.path)

    # --- creating and finding -------------------------------------------------------------------

    @classmethod
    def create(cls, config: Config, root: Path | None = None) -> RunFolder:
        """A new, empty run folder holding the config. OSError when it cannot be written; then
        nothing is left behind."""
        root = Path(root).expanduser() if root else default_runs_dir()
        if os.path.lexists(root) and not root.is_dir():
            raise NotADirectoryError(errno.EEXIST, "it is not a folder", str(root))
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
        try:
            atomic_write_text(run.path / CONFIG_FILE, config.to_toml())
        except BaseException:
            shutil.rmtree(run.path, ignore_errors=True)  # ours, made a moment ago
            raise
        return run

    @classmethod
    def find(cls, name_or_path: str, root: Path | None = None) -> RunFolder:
        """A run by folder path or by name under the runs folder; ConfigError if there is none."""
        path = Path(name_or_path).expanduser()
        if not path.is_dir():
            path = (Path(root).expanduser() if root else default_runs_dir()) / name_or_path
        # lexists: a config.toml that is a FIFO is still a run folder; loading it says what is wrong
        if not path.is_dir() or not os.path.lexists(path / CONFIG_FILE):
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

    # --- one writer at a time -------------------------------------------------------------------

    def acquire(self) -> None:
        """Own the folder (see `run_lock`): RunLockedError when a live process holds it, OSError
        when the lock cannot be written. Idempotent."""
        self._lock.acquire()

    def release(self) -> None:
        self._lock.release()

    @property
    def locked(self) -> bool:
        """This object holds the folder's lock."""
        return self._lock.held

    def owner(self) -> LockOwner | None:
        """The live process that holds the folder (maybe this one), or None; never blocks."""
        return lock_owner(self.path)

    # --- status: which process trains it, and how it stands -------------------------------------

    def write_status(self, state: str, step: int) -> None:
        """Record this process as the run's trainer and its state (best effort: a status that
        cannot be written must not stop training; the checkpoint is what matters)."""
        status = {"state": state, "pid": os.getpid(), "step": step, "time": time.time()}
        try:
            atomic_write_text(self.path / STATUS_FILE, json.dumps(status) + "\n")
        except OSError:
            pass

    def read_status(self) -> dict[str, Any]:
        """The last recorded status ({} when there is none or it cannot be read)."""
        try:
            status = json.loads(read_text(self.path / STATUS_FILE, MAX_SUMMARY_BYTES))
        except (OSError, ValueError):
            return {}
        return status if isinstance(status, dict) else {}

    def live_owner(self) -> int | None:
        """The pid of the process training this run right now (it holds the run's lock), or
        None; a crashed process holds no lock, whatever its status.json still says."""
        owner = self.owner()
        return owner.pid if owner is not None else None

    # --- control: what another process asks of the trainer (knobs, probes) ---------------------

    def write_control(self, control: dict[str, Any]) -> None:
        """Best effort: a request that cannot be written is simply not made."""
        with contextlib.suppress(OSError):
            atomic_write_text(self.path / CONTROL_FILE, json.dumps(control) + "\n")

    def read_control(self) -> dict[str, Any]:
        try:
            control = json.loads(read_text(self.path / CONTROL_FILE, MAX_SUMMARY_BYTES))
        except (OSError, ValueError):
            return {}
        return control if isinstance(control, dict) else {}

    # --- metrics --------------------------------------------------------------------------------

    def append_metrics(
        self, first_step: int, epoch: int, losses: list[float], wall_s: float
    ) -> None:
        """Log a chunk of steps; the file is flushed at least once a second."""
        log = self._log()
        wall = round(float(wall_s), 3)
        # the line json.dumps writes (floats as repr), formatted directly: count-lstm logs
        # 10,000 steps in ~5 s and json.dumps of each cost ~2 % of that (losses are finite here)
        lines = (
            f'{{"step": {first_step + i + 1}, "epoch": {int(epoch)}, '
            f'"loss": {float(loss)!r}, "wall_s": {wall!r}}}'
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
        if self._metrics is None:  # a FIFO or a directory in its place is refused, never blocks
            fd = open_regular(self.path / METRICS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            self._metrics = os.fdopen(fd, "a", encoding="utf-8")
        return self._metrics

    def flush(self) -> None:
        if self._metrics is not None:
            self._metrics.flush()
            os.fsync(self._metrics.fileno())

    def close(self) -> None:
        """Flush and close the metrics log. Never raises: it runs on the way out of a run that
        may have failed because the disk is full (every step up to the last checkpoint was
        flushed before that checkpoint was written)."""
        if self._metrics is not None:
            metrics, self._metrics = self._metrics, None
            with contextlib.suppress(OSError):
                metrics.flush()
                os.fsync(metrics.fileno())
            with contextlib.suppress(OSError):
                metrics.close()

    def truncate_metrics(self, step: int) -> None:
        """Drop logged steps after `step` (they ran after the checkpoint a resume starts from)."""
        path = self.path / METRICS_FILE
        if not os.path.lexists(path):
            return
        kept = [row for row in read_metrics(path, knobs=True) if row["step"] <= step]
        atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in kept))

    def check_resumable(self) -> None:
        """RunFolderError unless the files a resume rewrites are regular files (or absent) and
        the metrics log can be read: checked before a resume writes anything."""
        for name in (SUMMARY_FILE, METRICS_FILE):
            try:
                mode = os.lstat(self.path / name).st_mode
            except FileNotFoundError:
                continue
            except OSError as error:
                raise RunFolderError(f"{name} cannot be read ({error.strerror})") from None
            if not stat.S_ISREG(mode):
                raise RunFolderError(
                    f"{name} is {describe_mode(mode)}, not a file; move it out of {self.path} "
                    "to resume"
                )
        try:
            if os.path.lexists(self.path / METRICS_FILE):
                read_metrics(self.path / METRICS_FILE)
        except (OSError, UnicodeDecodeError) as error:
            why = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
            raise RunFolderError(f"{METRICS_FILE} cannot be read ({why})") from None

    # --- summary and checkpoints ----------------------------------------------------------------

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_text(self.path / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")

    def read_summary(self) -> dict[str, Any]:
        """The summary as written; OSError (a FIFO, a directory...) or ValueError (not JSON)."""
        text = read_bytes(self.path / SUMMARY_FILE, MAX_SUMMARY_BYTES).decode("utf-8")
        return json.loads(text)

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
            "task_state": checkpoint.task_state,
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        # The metrics up to the checkpoint reach the disk first: a checkpoint is only written
        # once every step it counts is logged (a full disk fails here, keeping the last one).
        self.flush()
        atomic_write_bytes(self.path / CHECKPOINT_FILE, buffer.getvalue())

    def has_checkpoint(self) -> bool:
        return os.path.lexists(self.path / CHECKPOINT_FILE)

    def read_checkpoint(self) -> Checkpoint:
        """The checkpoint, checked for damage; CheckpointError (one line) when it is not usable."""
        try:
            data = read_bytes(self.path / CHECKPOINT_FILE)
        except FileNotFoundError:
            raise CheckpointError(
                f"{self.name} has no {CHECKPOINT_FILE} (it stopped before its first save); "
                "start a new run instead"
            ) from None
        except OSError as error:
            raise CheckpointError(
                f"{CHECKPOINT_FILE} cannot be read ({error.strerror}); "
                "the run cannot be resumed from it"
            ) from None
        return parse_checkpoint(data)


def parse_checkpoint(data: bytes) -> Checkpoint:
    """A checkpoint from the bytes of a `checkpoint.npz`; CheckpointError for anything torn,
    garbled or of the wrong kinds (never NumPy's own messages, such as its allow_pickle hint)."""

    def damaged(why: str) -> CheckpointError:
        return CheckpointError(
            f"{CHECKPOINT_FILE} is damaged ({why}); the run cannot be resumed from it"
        )

    if not data:
        raise damaged("an empty file")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise damaged("truncated zip" if data.startswith(b"PK") else "not an npz archive")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as error:  # noqa: BLE001 - an untrusted archive fails in many ways
        text = str(error)
        if "pickle" in text or "Object arrays" in text:
            raise damaged("it holds Python objects, not arrays") from None
        if isinstance(error, EOFError) or "truncated" in text.lower():
            raise damaged("truncated data") from None
        if "CRC" in text:
            raise damaged("corrupt data: bad CRC") from None
        raise damaged(f"unreadable: {type(error).__name__}") from None

    raw = arrays.pop("meta", None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise damaged("no meta record")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except ValueError:
        raise damaged("its meta record is not JSON") from None
    if isinstance(meta, dict):  # checkpoints from before tasks kept state have none
        meta.setdefault("task_state", {})
    if not isinstance(meta, dict) or set(meta) != {*CHECKPOINT_META, "task_state"}:
        raise damaged("its meta record has the wrong fields")
    if not isinstance(meta["task_state"], dict):  # the task checks what it holds
        raise damaged(f"meta 'task_state' is {_short(meta['task_state'])}")
    for key, kind in CHECKPOINT_META.items():
        value = meta[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = meta[key] = float(value)
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is int:
            ok = ok and value >= 0
        elif kind is float:
            ok = ok and math.isfinite(value) and value >= 0
        elif kind is list:
            ok = ok and all(_is_number(v) and math.isfinite(v) for v in value)
        else:
            ok = ok and all(
                isinstance(k, str) and (v is None or _is_number(v)) for k, v in value.items()
            )
        if not ok:
            raise damaged(f"meta '{key}' is {_short(value)}")

    groups: dict[str, list[np.ndarray]] = {group: [] for group in CHECKPOINT_GROUPS}
    for key in sorted(arrays):
        match = re.fullmatch(r"(weights|optimizer|state)_(\d{4})", key)
        if match is None:
            raise damaged(f"an unexpected array '{_short(key)}'")
        group, index = match[1], int(match[2])
        if index != len(groups[group]):
            raise damaged(f"{group} array {len(groups[group])} is missing")
        array = arrays[key]
        if array.dtype.kind not in "fiu":
            raise damaged(f"{key} holds {array.dtype} values, not numbers")
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise damaged(f"{key} holds NaN or infinite values")
        groups[group].append(array)
    return Checkpoint(**meta, **groups)


def check_checkpoint_fits(
    checkpoint: Checkpoint,
    expected: dict[str, list[tuple[tuple[int, ...], np.dtype]]],
    steps_per_epoch: int,
) -> None:
    """CheckpointError unless the checkpoint's arrays have the count, shapes and dtypes of
    `expected` (per group: what the config's model, optimizer and state hold) and its position
    is one the data has. Touches nothing: a resume calls this before it writes anything."""

    def misfit(why: str) -> CheckpointError:
        return CheckpointError(
            f"{CHECKPOINT_FILE} does not fit the run's config ({why}); "
            "the run cannot be resumed from it"
        )

    if checkpoint.window >= steps_per_epoch:
        raise misfit(f"window {checkpoint.window} of an epoch of {steps_per_epoch}")
    if checkpoint.step != checkpoint.epoch * steps_per_epoch + checkpoint.window:
        raise misfit(
            f"step {checkpoint.step} is not epoch {checkpoint.epoch}, window {checkpoint.window}"
        )
    for group in CHECKPOINT_GROUPS:
        if group == "state" and checkpoint.window == 0:
            continue  # a new epoch starts from a zero state: whatever was saved is not used
        have = getattr(checkpoint, group)
        want = expected[group]
        if len(have) != len(want):
            raise misfit(f"{len(have)} {group} arrays, the model has {len(want)}")
        for i, (array, (shape, dtype)) in enumerate(zip(have, want, strict=True)):
            if tuple(array.shape) != tuple(shape):
                raise misfit(
                    f"{group} {i} has shape {tuple(array.shape)}, the model {tuple(shape)}"
                )
            if np.dtype(array.dtype) != np.dtype(dtype):
                raise misfit(f"{group} {i} holds {array.dtype}, the model {np.dtype(dtype)}")


def check_resume_changes(old: Config, new: Config) -> None:
    """ConfigError naming the first `--set` key a resume cannot apply (see RESUMABLE_KEYS):
    anything else would not fit the checkpoint's arrays or its place in the data."""
    before, after = old.to_dict(), new.to_dict()
    for section in ("task", "model", "train"):
        for name, value in after[section].items():
            key, was = f"{section}.{name}", before[section].get(name)
            if key in RESUMABLE_KEYS or value == was:
                continue
            if key == "model.state_size":
                has = f"the checkpoint has {was} units"
            elif key == "model.layers":
                has = f"the checkpoint has layers of {was} units"
            elif key in ("model.cell", "model.stacked_cell"):
                has = f"the checkpoint holds a {was} network"
            elif key == "train.optimizer":
                has = f"the checkpoint holds {was}'s state"
            else:
                has = f"the run has {_short(was)}"
            raise ConfigError(
                f"cannot change on resume ({has}); start a new run instead", key, "--set"
            )


def check_resume_position(run_name: str, checkpoint: Checkpoint, config: Config) -> None:
    """ConfigError when the checkpoint is already at (or past) the last epoch: such a resume
    would train nothing and only rewrite a finished run's summary."""
    epochs = config.train.epochs
    if checkpoint.epoch < epochs:
        return
    done = f"{checkpoint.epoch} epoch(s)"
    if checkpoint.window:
        done += f" and part of epoch {checkpoint.epoch + 1}"
    raise ConfigError(
        f"{run_name} has done {done} of the {epochs} asked for; nothing to resume: "
        f"train longer with --epochs {checkpoint.epoch + 1} or more",
        source="--resume",
    )


def resume_command(run_name: str, runs_dir: Path | None = None) -> str:
    """The shell command that continues a run, working as printed (paths shell-quoted)."""
    command = ["rnntui", "train", "--resume", run_name]
    if runs_dir is not None:
        command += ["--runs-dir", str(Path(runs_dir).expanduser().absolute())]
    return shlex.join(command)


def process_is_rnntui(pid: int) -> bool:
    """Whether `pid` is a running rnntui process (its command line names rnntui): for records
    without a lock to test, such as a sweep's driver."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        pass
    try:
        return b"rnntui" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (not Linux): trust the pid


def read_metrics(path: Path, *, knobs: bool = False) -> list[dict[str, Any]]:
    """Step records of a metrics log (with `knobs`, the knob-change rows too, in file order).
    Lines that are neither (a torn last line from a crash mid-append, damage) are skipped.
    OSError for a FIFO or directory: never blocks."""
    rows = []
    with os.fdopen(open_regular(path), "rb") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:  # not JSON, or not UTF-8
                continue
            if not isinstance(row, dict):
                continue
            is_step = (
                isinstance(row.get("step"), int)
                and not isinstance(row["step"], bool)
                and _is_number(row.get("loss"))
                and math.isfinite(row["loss"])  # a run stops before it logs a NaN
            )
            is_knob = (
                knobs
                and isinstance(row.get("step"), int)
                and isinstance(row.get("knob"), str)
                and _is_number(row.get("value"))
            )
            if is_step or is_knob:
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
    """A row for `path`, with the process training it if one is."""
    info = _describe_folder(path)
    run = RunFolder(path)
    pid = run.live_owner()
    if pid is None:
        return info
    return replace(info, live_pid=pid, live_state=str(run.read_status().get("state", "training")))


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
    if not (_is_number(steps) and math.isfinite(steps) and steps >= 0 and steps == int(steps)):
        return f"{SUMMARY_FILE} has no step count"
    for key in ("final_loss", "test_error_pct"):
        if summary.get(key) is not None and not _is_number(summary[key]):
            return f"{SUMMARY_FILE} has a wrong '{key}'"
    if summary.get("failed") and not isinstance(summary["failed"], str):
        return f"{SUMMARY_FILE} has a wrong 'failed'"
    return ""


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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
