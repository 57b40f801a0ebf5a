"""What a training run leaves on disk as it trains: its metrics, summary, checkpoints and
status in the run folder (and TensorBoard scalars when asked), written by one object.

It writes nothing before it may: not before the trainer owns the folder, and for a resume not
before the checkpoint has been checked against the model (`begin_resume`), so a resume that
cannot go on leaves the folder as it was. A failed write is a `RunWriteError`: one line naming
the file and the last good checkpoint, which atomic writes keep intact.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from rnntui.engine.errors import RunWriteError
from rnntui.runs.files import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    EVALUATION_FILE,
    METRICS_STORE,
    SUMMARY_FILE,
)
from rnntui.util.safe_read import read_bytes

if TYPE_CHECKING:
    from rnntui.config import Config
    from rnntui.runs.checkpoint import Checkpoint
    from rnntui.runs.folder import RunFolder


class RunRecorder:
    """The run folder's writer for one trainer (a no-op without a folder)."""

    def __init__(self, run: RunFolder | None, tensorboard: bool = False) -> None:
        self.run = run
        self.tensorboard = tensorboard and run is not None
        # May this process write the run folder? Not before it owns the folder, and a resume
        # not before its checkpoint is checked: a failed resume leaves the folder as it was.
        self.may_write = False
        self.saved_step: int | None = None  # the step of the last checkpoint written or read
        self.resumed = False  # a resume has begun writing (begin_resume)
        self.last_save = -math.inf  # when the last checkpoint was written (perf_counter)
        self._writer: Any = None  # TensorBoard's, once TensorFlow is in
        self._tf: Any = None

    @contextlib.contextmanager
    def saving(self, name: str) -> Iterator[None]:
        """Turn an OSError while writing `name` into a RunWriteError the user can act on."""
        try:
            yield
        except OSError as error:
            kept = (
                f"the last good checkpoint (step {self.saved_step:,}) is kept"
                if self.saved_step is not None
                else "no checkpoint was saved yet"
            )
            reason = error.strerror or type(error).__name__
            raise RunWriteError(f"cannot write {name} ({reason}); {kept}") from None

    def open_tensorboard(self, tf: Any) -> None:
        """Start writing TensorBoard scalars into the folder's tb/ (when asked for)."""
        if self.tensorboard and self.run is not None:
            self._tf = tf
            self._writer = tf.summary.create_file_writer(str(self.run.path / "tb"))

    def status(self, state: str, step: int) -> None:
        """status.json: this process's state, for followers (never before it may write)."""
        if self.run is not None and self.may_write:
            self.run.write_status(state, step)

    def chunk(self, first_step: int, epoch: int, losses: list[float], wall: float) -> None:
        """The steps of one compiled call (first_step is the step before the first of them)."""
        if self.run is not None:
            with self.saving(METRICS_STORE):
                self.run.append_metrics(first_step, epoch, losses, wall)
        if self._writer is not None:
            with self._writer.as_default():
                self._tf.summary.scalar("loss", float(np.mean(losses)), step=first_step)

    def epoch(self, measured: dict[str, float], step: int, epoch: int = 0) -> None:
        """An epoch's measurements, an event in the metrics store (which has its steps already;
        epoch ends that evaluated nothing at most once a second)."""
        if self.run is not None:
            with self.saving(METRICS_STORE):
                self.run.append_epoch(step, epoch, measured)
        if self._writer is not None:
            with self._writer.as_default():
                for key, value in measured.items():
                    if value is not None:
                        self._tf.summary.scalar(f"epoch/{key}", value, step=step)
            self._writer.flush()

    def knob(self, step: int, name: str, value: float) -> None:
        if self.run is not None:
            with self.saving(METRICS_STORE):
                self.run.append_knob(step, name, value)

    def flush(self) -> None:
        """Every logged step on disk (a paused run's followers read up to here)."""
        if self.run is not None:
            with self.saving(METRICS_STORE):
                self.run.flush()

    def summary(self, summary: dict[str, Any]) -> None:
        if self.run is not None:
            with self.saving(SUMMARY_FILE):
                self.run.write_summary(summary)

    def checkpoint(self, checkpoint: Checkpoint) -> None:
        """Write it (on failure the previous checkpoint stays intact)."""
        if self.run is None:
            return
        with self.saving(CHECKPOINT_FILE):
            self.run.write_checkpoint(checkpoint)
        self.saved_step = checkpoint.step

    def evaluation(self, view: dict[str, Any]) -> None:
        """What the task's evaluation left to draw (a `ViewTask`'s view; nothing when empty)."""
        if self.run is not None and view and self.may_write:
            with self.saving(EVALUATION_FILE):
                self.run.write_evaluation(view)

    def failed(self, summary: dict[str, Any], step: int) -> None:
        """The run failed: record it, if this process may write (the disk may be what failed,
        so nothing here raises). A resume that fails keeps the summary its last epoch end or
        finish wrote (it describes the checkpoint that stays); status.json says it failed."""
        if self.run is not None and self.may_write:
            if not self.resumed:
                with contextlib.suppress(OSError):
                    self.run.write_summary(summary)
            self.status("failed", step)

    def begin_resume(self, config: Config, checkpoint: Checkpoint) -> list[dict[str, Any]]:
        """A checked resume starts writing: the config (a resume may change the epochs or the
        learning rate) and the metrics cut back to the checkpoint's step (the steps after
        it run again). Returns the live knob changes the log records, which hold on."""
        run = self.run
        assert run is not None
        self.saved_step = checkpoint.step
        self.may_write = self.resumed = True
        text = config.to_toml()
        with self.saving(CONFIG_FILE):
            if _read_or_none(run.path / CONFIG_FILE) != text.encode("utf-8"):
                run.save_config(config)
        with self.saving(METRICS_STORE):
            run.truncate_metrics(checkpoint.step)  # converts an older rnntui's metrics.jsonl
            if (run.path / METRICS_STORE).is_dir():
                return run.read_knobs()
        return []


def _read_or_none(path: Any) -> bytes | None:
    try:
        return read_bytes(path)
    except OSError:
        return None
