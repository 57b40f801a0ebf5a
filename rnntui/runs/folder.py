"""A run folder: the one object that writes a run's files (config, metrics, summary,
checkpoint, status, control) and reads them back. See `runs/files.py` for the layout.

Every file but the metrics is written to a temporary name and renamed, so a crash mid-write
leaves the previous good version in place. Every file is read through `safe_read`: a FIFO or a
directory where a file should be is reported, never opened in a way that could block.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rnntui.config import Config, ConfigError, load_file
from rnntui.runs.checkpoint import Checkpoint, CheckpointError, encode_checkpoint, parse_checkpoint
from rnntui.runs.files import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    CONTROL_FILE,
    EVALUATION_FILE,
    LIVE_STATES,
    METRICS_FILE,
    METRICS_STORE,
    STATUS_FILE,
    SUMMARY_FILE,
    RunFolderError,
    default_runs_dir,
)
from rnntui.runs.lock import LockOwner, RunLock, lock_owner
from rnntui.runs.metrics import read_knobs
from rnntui.runs.store.format import StoreError, check_store
from rnntui.runs.store.legacy import open_writer
from rnntui.runs.store.writer import MetricsWriter
from rnntui.util.atomic_write import atomic_write_bytes, atomic_write_text
from rnntui.util.safe_read import describe_mode, open_regular, read_bytes, read_text

MAX_SUMMARY_BYTES = 1 << 20  # a summary is a few hundred bytes


class RunFolder:
    """One run's folder; the trainer writes, `rnntui runs` and the TUI read."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._metrics: MetricsWriter | None = None
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
            atomic_write_text(run.path / CONFIG_FILE, portable(config).to_toml())
        except BaseException:
            shutil.rmtree(run.path, ignore_errors=True)  # ours, made a moment ago
            raise
        return run

    @classmethod
    def find(
        cls, name_or_path: str, root: Path | None = None, source: str = "--resume"
    ) -> RunFolder:
        """A run by folder path or by name under the runs folder; ConfigError (naming the option
        `source`) if there is none."""
        path = Path(name_or_path).expanduser()
        if not path.is_dir():
            path = (Path(root).expanduser() if root else default_runs_dir()) / name_or_path
        # lexists: a config.toml that is a FIFO is still a run folder; loading it says what is wrong
        if not path.is_dir() or not os.path.lexists(path / CONFIG_FILE):
            raise ConfigError(
                f"no run folder '{name_or_path}' (with a {CONFIG_FILE}); see `rnntui runs`",
                source=source,
            )
        return cls(path)

    @property
    def name(self) -> str:
        return self.path.name

    def load_config(self) -> Config:
        """The run's config. The text a text run trained on is not read: a trained run is
        self-contained (its vocabulary is in the checkpoint); a resume reads the text."""
        return load_file(self.path / CONFIG_FILE, files=False)

    def save_config(self, config: Config) -> None:
        atomic_write_text(self.path / CONFIG_FILE, portable(config).to_toml())

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
        text = json.dumps(status) + "\n"
        try:
            atomic_write_text(self.path / STATUS_FILE, text)
        except OSError:
            if state in LIVE_STATES:
                return
            # An end must not be lost to a full disk (a stale "training" reads as a crash):
            # rewrite the small file in place, reusing its room, or else remove it.
            try:
                fd = open_regular(self.path / STATUS_FILE, os.O_WRONLY | os.O_TRUNC)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(self.path / STATUS_FILE)

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
        """Log a chunk of steps (first_step+1 ...); the store is flushed at least once a second."""
        self._store().append_steps(first_step, losses, epoch, wall_s)

    def append_knob(self, step: int, name: str, value: float) -> None:
        """Log a live knob change (an event `{"step", "knob", "value"}`)."""
        self._store().append_knob(step, name, value)

    def append_epoch(self, step: int, epoch: int, metrics: dict[str, float]) -> None:
        """Log an epoch's end (every one that evaluated, the others at most once a second)."""
        self._store().append_epoch(step, epoch, metrics)

    def _store(self) -> MetricsWriter:
        if self._metrics is None:  # converts an older rnntui's metrics.jsonl first
            self._metrics = open_writer(self.path)
        return self._metrics

    def flush(self) -> None:
        if self._metrics is not None:
            self._metrics.flush()

    def close(self) -> None:
        """Flush and close the metrics store. Never raises: it runs on the way out of a run that
        may have failed because the disk is full (every step up to the last checkpoint was
        flushed before that checkpoint was written)."""
        if self._metrics is not None:
            metrics, self._metrics = self._metrics, None
            metrics.close()

    def truncate_metrics(self, step: int) -> None:
        """Drop logged steps after `step` (they ran after the checkpoint a resume starts from).
        Nothing to drop rewrites nothing (a nearly full disk may not hold a copy)."""
        if not (self.path / METRICS_STORE).is_dir() and not os.path.lexists(
            self.path / METRICS_FILE
        ):
            return
        self._store().truncate(step)

    def read_knobs(self) -> list[dict[str, Any]]:
        """The live knob changes logged: `{"step", "knob", "value"}`, in order."""
        from rnntui.runs.store.reader import MetricsReader

        if os.path.lexists(self.path / METRICS_FILE):
            return read_knobs(self.path / METRICS_FILE)
        with MetricsReader(self.path / METRICS_STORE) as reader:
            return reader.knobs()

    def check_resumable(self) -> None:
        """RunFolderError unless the files a resume rewrites are regular files (or absent) and
        the metrics log can be read: checked before a resume writes anything."""
        for name in (SUMMARY_FILE, METRICS_FILE, METRICS_STORE):
            try:
                mode = os.lstat(self.path / name).st_mode
            except FileNotFoundError:
                continue
            except OSError as error:
                raise RunFolderError(f"{name} cannot be read ({error.strerror})") from None
            if name == METRICS_STORE:
                if not stat.S_ISDIR(mode):
                    what = describe_mode(mode) if not stat.S_ISREG(mode) else "a file"
                    raise RunFolderError(
                        f"{name} is {what}, not a folder; move it out of {self.path} to resume"
                    )
            elif not stat.S_ISREG(mode):
                raise RunFolderError(
                    f"{name} is {describe_mode(mode)}, not a file; move it out of {self.path} "
                    "to resume"
                )
        try:
            if os.path.lexists(self.path / METRICS_FILE):
                os.close(open_regular(self.path / METRICS_FILE))
        except OSError as error:
            raise RunFolderError(f"{METRICS_FILE} cannot be read ({error.strerror})") from None
        if os.path.lexists(self.path / METRICS_STORE):
            try:
                check_store(self.path / METRICS_STORE)
            except StoreError as error:
                raise RunFolderError(str(error)) from None

    # --- summary and checkpoints ----------------------------------------------------------------

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_text(self.path / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")

    def write_evaluation(self, view: dict[str, Any]) -> None:
        atomic_write_text(self.path / EVALUATION_FILE, json.dumps(view) + "\n")

    def read_evaluation(self) -> dict[str, Any]:
        """What the latest evaluation left to draw; {} when there is none or it is unreadable."""
        try:
            view = json.loads(read_bytes(self.path / EVALUATION_FILE, MAX_SUMMARY_BYTES))
        except (OSError, ValueError):
            return {}
        return view if isinstance(view, dict) else {}

    def read_summary(self) -> dict[str, Any]:
        """The summary as written; OSError (a FIFO, a directory...) or ValueError (not JSON)."""
        text = read_bytes(self.path / SUMMARY_FILE, MAX_SUMMARY_BYTES).decode("utf-8")
        return json.loads(text)

    def write_checkpoint(self, checkpoint: Checkpoint) -> None:
        data = encode_checkpoint(checkpoint)
        # The metrics up to the checkpoint reach the disk first: a checkpoint is only written
        # once every step it counts is logged (a full disk fails here, keeping the last one).
        self.flush()
        atomic_write_bytes(self.path / CHECKPOINT_FILE, data)
        if self._metrics is not None:  # a resume truncates to it: its later steps stay per step
            self._metrics.pin(checkpoint.step)

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


def portable(config: Config) -> Config:
    """The config with the paths its task reads made absolute (`data/small.txt` ->
    `/home/me/data/small.txt`), so the run works from any folder."""
    from rnntui.tasks.corpus import absolute_path
    from rnntui.tasks.registry import task_class

    keys = task_class(config.task.kind).path_keys
    if not keys:
        return config
    config = config.copy()
    for key in keys:
        setattr(config.task, key, absolute_path(getattr(config.task, key)))
    return config
