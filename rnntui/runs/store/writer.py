"""Writing a run's metrics store: one writer at a time (the process that holds the run's lock).

Crash safety: every file is append-only between truncations and written in that order (losses,
blocks, marks, events) at each flush, at most a second apart, so kill -9 loses at most the last
second. The once-a-second flush writes without fsync (what kill -9 would lose is already in the
page cache; a flush with fsyncs cost 14-25 ms here); `flush()` (the trainer's, before each
checkpoint) also fsyncs, so a power cut loses no step a checkpoint counts. A torn tail (part of
a float, of a record, of a line) is ignored by readers and cut off by the next writer; blocks
missing behind the losses (a kill between the two writes) are recomputed from the losses. A full
disk raises OSError from the append or `flush` that writes (what was not written stays pending).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rnntui.runs.store.blocks import block_records, ema_state, reduce_records
from rnntui.runs.store.format import (
    EVENTS_FILE,
    FORMAT_FILE,
    LOSS,
    MARK,
    MARKS_FILE,
    RECORD,
    SEGMENT,
    Format,
    blocks_name,
    default_format,
    file_size,
    list_segments,
    loss_path,
    parse_event,
    read_records,
)
from rnntui.runs.store.layout import Layout, RawReader, missing_blocks, seen_before
from rnntui.util.atomic_write import atomic_write_text
from rnntui.util.safe_read import open_regular

KEEP_STEPS = 1 << 23  # the latest 8.4 M steps keep their own loss (32 MiB)
HARD_KEEP_FACTOR = 4  # past 4 x keep_steps even steps after the last checkpoint go to blocks
MARK_INTERVAL_S = 1.0
FLUSH_INTERVAL_S = 1.0
EPOCH_EVENT_INTERVAL_S = 1.0  # epoch ends without an evaluation are logged at most this often
MAX_GAP = SEGMENT  # a chunk may skip at most this many steps ahead (the skipped ones hold NaN)


def open_append(path: Path) -> int:
    return open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)


def drain(fd: int, pending: bytearray) -> int:
    """Write `pending` to `fd`, removing what was written (all of it, or raise OSError with the
    rest still pending: a full disk part-way keeps the file and the buffer in step)."""
    written = 0
    while pending:
        n = os.write(fd, memoryview(pending)[: 1 << 22])
        del pending[:n]
        written += n
    return written


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class MetricsWriter:
    """Appends a run's step losses and events to its store (one writer at a time: the process
    that holds the run's lock). Buffers at most a flush interval; `flush` writes and fsyncs."""

    def __init__(
        self,
        store: Path,
        *,
        flush_interval: float = FLUSH_INTERVAL_S,
        keep_steps: int = KEEP_STEPS,
        new_format: Format | None = None,
    ) -> None:
        """Open (creating it in `new_format`, or repairing a crash's torn tails) the store.
        `keep_steps`: how many of the latest steps keep their own loss."""
        self.store = Path(store)
        self.flush_interval = flush_interval
        self.keep_steps = keep_steps
        self._new_format = new_format
        self._fds: dict[str, int] = {}
        self._segment_fd: tuple[int, int] | None = None  # (index, fd)
        self._last_flush = time.monotonic()
        self._last_epoch_event = -math.inf
        self._pin: int | None = None  # steps after this one keep their losses (a checkpoint)
        self._create_or_repair()

    # --- opening ---------------------------------------------------------------------------------

    def _create_or_repair(self) -> None:
        store = self.store
        if not store.is_dir():
            store.mkdir(parents=True)
        if not os.path.lexists(store / FORMAT_FILE):
            fmt = self._new_format or default_format()
            atomic_write_text(store / FORMAT_FILE, fmt.to_json() + "\n")
            fsync_dir(store)
        layout = Layout.scan(store)
        fmt = self.fmt = layout.fmt
        if not layout.segments and layout.steps > fmt.kept_from:  # every loss file lost
            fmt = self.fmt = replace(fmt, kept_from=layout.steps)  # the blocks hold the rest
            atomic_write_text(store / FORMAT_FILE, fmt.to_json() + "\n")
        # cut torn tails: part of a float, of a record, of a line
        if layout.segments:
            newest = loss_path(store, layout.segments[-1])
            size = file_size(newest)
            if size % 4:
                os.truncate(newest, size - size % 4)
        for name, keep in (
            (blocks_name(fmt.block), layout.l1_on_disk),
            (blocks_name(fmt.block * fmt.level2), layout.l2_on_disk),
        ):
            if file_size(store / name) != keep * RECORD.itemsize:
                with contextlib.suppress(FileNotFoundError):
                    os.truncate(store / name, keep * RECORD.itemsize)
        self._cut_marks(layout.steps)
        self._cut_events_tail()
        # recompute the blocks the losses have but the files lack
        raw = RawReader(store, layout)
        l1_fd = self._fd(blocks_name(fmt.block))
        l2_fd = self._fd(blocks_name(fmt.block * fmt.level2))
        try:
            l1_read = os.open(store / blocks_name(fmt.block), os.O_RDONLY)
            l2_read = os.open(store / blocks_name(fmt.block * fmt.level2), os.O_RDONLY)
            try:
                l1_extra, l2_extra = missing_blocks(layout, raw, l1_read, l2_read)
                if len(l1_extra):
                    drain(l1_fd, bytearray(l1_extra.tobytes()))
                if len(l2_extra):
                    drain(l2_fd, bytearray(l2_extra.tobytes()))
                os.fsync(l1_fd)
                os.fsync(l2_fd)
                # the writer's state: the partial block, the EMA at its start, the partial
                # level-2 group
                start = layout.l1 * fmt.block
                self._partial = raw.read(start, layout.steps)
                last = read_records(l1_read, max(0, layout.l1 - 1), layout.l1)
                self._seen = seen_before(layout.l1, l1_read, l2_read, layout)
                y = float(last["ema"][0]) if len(last) else math.nan
                self._ema = ema_state(y, self._seen, fmt.alpha)
                self._group = read_records(l1_read, layout.l2 * fmt.level2, layout.l1)
            finally:
                os.close(l1_read)
                os.close(l2_read)
        finally:
            raw.close()
        self.steps = layout.steps
        self._raw_from = layout.raw_from
        self._segments = list(layout.segments)
        self._l1 = layout.l1
        self._l1_flushed = layout.l1
        self._raw_pos = layout.steps * 4  # byte offset (in the step stream) of the pending bytes
        self._raw = bytearray()
        self._l1_pending = bytearray()
        self._l2_pending = bytearray()
        self._marks = bytearray()
        self._events = bytearray()
        last_mark = self._last_mark()
        self._mark_wall = float(last_mark["wall_s"]) if last_mark is not None else -math.inf
        self._mark_step = int(last_mark["step"]) if last_mark is not None else 0
        self._latest: tuple[int, int, float] | None = None

    def _fd(self, name: str) -> int:
        fd = self._fds.get(name)
        if fd is None:
            fd = self._fds[name] = open_append(self.store / name)
        return fd

    def _last_mark(self) -> np.void | None:
        size = file_size(self.store / MARKS_FILE) // MARK.itemsize
        if not size:
            return None
        fd = open_regular(self.store / MARKS_FILE)
        try:
            return read_records(fd, size - 1, size, MARK)[0]
        finally:
            os.close(fd)

    def _cut_marks(self, steps: int) -> None:
        path = self.store / MARKS_FILE
        size = file_size(path) // MARK.itemsize
        if not size:
            with contextlib.suppress(FileNotFoundError):
                os.truncate(path, 0)
            return
        fd = open_regular(path)
        try:
            marks = read_records(fd, 0, size, MARK)  # ~2 MB for a day
        finally:
            os.close(fd)
        keep = int(np.searchsorted(marks["step"], steps, side="right"))
        if keep * MARK.itemsize != file_size(path):
            os.truncate(path, keep * MARK.itemsize)

    def _cut_events_tail(self) -> None:
        """A line torn by a crash would swallow the next event appended: cut it."""
        path = self.store / EVENTS_FILE
        size = end = file_size(path)
        if not size:
            return
        fd = open_regular(path)
        try:
            while end > 0:
                begin = max(0, end - (1 << 16))
                cut = os.pread(fd, end - begin, begin).rfind(b"\n")
                if cut >= 0:
                    end = begin + cut + 1
                    break
                end = begin
        finally:
            os.close(fd)
        if end != size:
            os.truncate(path, end)

    # --- appending -------------------------------------------------------------------------------

    def append_steps(
        self, first_step: int, losses: Sequence[float] | np.ndarray, epoch: int, wall_s: float
    ) -> None:
        """The losses of steps first_step+1 ... (a chunk); non-finite losses are kept as NaN.
        A chunk that starts before the end truncates the store there first (the steps run
        again); one that starts after it leaves the skipped steps NaN (at most MAX_GAP)."""
        values = np.asarray(losses, dtype=np.float32).ravel()
        if first_step < self.steps:
            self.truncate(first_step)
        if first_step > self.steps:
            gap = first_step - self.steps
            if gap > MAX_GAP and self.steps == 0 and not self._raw:
                # a store begun late (a resume whose metrics were lost, a Ray task's folder):
                # empty blocks up to there, 40 bytes per 512 steps, and no loss file before it
                self._skip_to(first_step)
                gap = first_step - self.steps
            if gap > MAX_GAP:
                raise ValueError(f"step {first_step + 1} does not follow step {self.steps}")
            values = np.concatenate([np.full(gap, np.nan, np.float32), values])
        if not len(values):
            return
        values = np.where(np.isfinite(values), values, np.float32(np.nan)).astype(LOSS)
        self._raw += values.tobytes()
        self.steps += len(values)
        joined = np.concatenate([self._partial, values])
        full = len(joined) // self.fmt.block * self.fmt.block
        if full:
            records, self._ema, self._seen = block_records(
                joined[:full], self.fmt.block, self._ema, self._seen, self.fmt.alpha
            )
            self._add_blocks(records)
        self._partial = joined[full:].copy()
        wall = float(wall_s)
        self._latest = (self.steps, int(epoch), wall)
        if wall - self._mark_wall >= MARK_INTERVAL_S:
            self._add_mark()
        if time.monotonic() - self._last_flush >= self.flush_interval:
            # written, not fsynced: what kill -9 would lose is already safe in the page cache;
            # a power cut loses the steps after the last checkpoint anyway (its flush fsyncs)
            self.flush(sync=False)

    def _skip_to(self, step: int) -> None:
        """Start an empty store at the block holding `step`: the blocks before it hold no loss
        (count 0), and the first loss file starts there (NaN up to it, see `_write_losses`)."""
        empty = np.zeros(step // self.fmt.block, RECORD)
        for field in ("min", "max", "last", "ema"):
            empty[field] = np.nan
        self._add_blocks(empty)
        self.steps = len(empty) * self.fmt.block
        self._raw_pos = self.steps * 4
        self._raw_from = self.steps // self.fmt.segment * self.fmt.segment

    def _add_blocks(self, records: np.ndarray) -> None:
        self._l1_pending += records.tobytes()
        self._l1 += len(records)
        group = np.concatenate([self._group, records])
        full = len(group) // self.fmt.level2 * self.fmt.level2
        if full:
            self._l2_pending += reduce_records(group[:full].reshape(-1, self.fmt.level2)).tobytes()
        self._group = group[full:].copy()

    def _add_mark(self) -> None:
        assert self._latest is not None
        step, epoch, wall = self._latest
        if step <= self._mark_step:
            return
        mark = np.array([(step, epoch, wall)], MARK)
        self._marks += mark.tobytes()
        self._mark_step, self._mark_wall = step, wall

    def append_event(self, kind: str, step: int, **fields: Any) -> None:
        """An event kept exactly, as a JSON line: {"step", "kind", **fields}."""
        row = {"step": int(step), "kind": kind, **fields}
        self._events += (json.dumps(row) + "\n").encode("utf-8")

    def append_knob(self, step: int, name: str, value: float) -> None:
        self.append_event("knob", step, knob=name, value=value)

    def append_epoch(self, step: int, epoch: int, metrics: dict[str, float]) -> bool:
        """An epoch's end: kept when it carries an evaluation (more than its tail loss), else at
        most once every EPOCH_EVENT_INTERVAL_S (count-lstm ends 200 epochs a second; every
        step's loss is in the store anyway). Returns whether it was kept."""
        now = time.monotonic()
        evaluated = any(key != "tail_loss" for key in metrics)
        if not evaluated and now - self._last_epoch_event < EPOCH_EVENT_INTERVAL_S:
            return False
        self._last_epoch_event = now
        self.append_event("epoch", step, epoch=int(epoch), metrics=dict(metrics))
        return True

    def pin(self, step: int) -> None:
        """A checkpoint at `step` was written: the losses after it stay per step (a resume
        truncates to it), up to HARD_KEEP_FACTOR x keep_steps."""
        self._pin = int(step)

    # --- flushing --------------------------------------------------------------------------------

    def flush(self, sync: bool = True) -> None:
        """Write what is pending (losses, then blocks, then marks and events) and fsync;
        OSError (a full disk) leaves the unwritten rest pending."""
        self._last_flush = time.monotonic()
        if self._latest is not None and self._latest[0] > self._mark_step:
            self._add_mark()
        self._write_losses(sync)
        for name, pending in (
            (blocks_name(self.fmt.block), self._l1_pending),
            (blocks_name(self.fmt.block * self.fmt.level2), self._l2_pending),
            (MARKS_FILE, self._marks),
            (EVENTS_FILE, self._events),
        ):
            if pending:
                fd = self._fd(name)
                drain(fd, pending)
                if sync:
                    os.fsync(fd)
        self._l1_flushed = self._l1
        self._drop_old_losses()

    def _write_losses(self, sync: bool) -> None:
        seg_bytes = self.fmt.segment * 4
        touched = set()
        while self._raw:
            index = self._raw_pos // seg_bytes
            if self._segment_fd is None or self._segment_fd[0] != index:
                self._open_segment(index)
            assert self._segment_fd is not None
            fd = self._segment_fd[1]
            behind = self._raw_pos - index * seg_bytes - os.fstat(fd).st_size
            if behind > 0:  # a new file past steps only the blocks hold: NaN up to our step
                drain(fd, bytearray(np.full(behind // 4, np.nan, LOSS).tobytes()))
            take = min(len(self._raw), (index + 1) * seg_bytes - self._raw_pos)
            chunk = bytearray(self._raw[:take])
            try:
                drain(fd, chunk)
            finally:  # what was written leaves the buffer, even when the disk filled up
                self._raw_pos += take - len(chunk)
                del self._raw[: take - len(chunk)]
            touched.add(fd)
        if sync:
            for fd in touched:
                os.fsync(fd)

    def _open_segment(self, index: int) -> None:
        if self._segment_fd is not None:
            old = self._segment_fd[1]
            self._segment_fd = None
            os.fsync(old)
            os.close(old)
        path = loss_path(self.store, index)
        new = not os.path.lexists(path)
        fd = open_append(path)
        self._segment_fd = (index, fd)
        if new:
            fsync_dir(self.store)
            if not self._segments or self._segments[-1] != index - 1:
                self._segments = []  # a gap: only the newest run of files counts
            self._segments.append(index)

    def _drop_old_losses(self) -> None:
        """Delete loss files whose steps the blocks hold, beyond the latest KEEP_STEPS and not
        after the last checkpoint (a resume truncates to it)."""
        done = self._raw_pos // 4
        covered = self._l1_flushed * self.fmt.block
        while len(self._segments) > 1:
            index = self._segments[0]
            end = (index + 1) * self.fmt.segment
            hard = done - HARD_KEEP_FACTOR * self.keep_steps
            pinned = self._pin is not None and end > self._pin and end > hard
            if end > done - self.keep_steps or end > covered or pinned:
                break
            with contextlib.suppress(FileNotFoundError):
                os.unlink(loss_path(self.store, index))
            self._segments.pop(0)
            self._raw_from = self._segments[0] * self.fmt.segment

    # --- truncating (resume) ---------------------------------------------------------------------

    def truncate(self, step: int) -> None:
        """Drop every step after `step` and the events logged after it (they ran after the
        checkpoint a resume starts from). Followers see the generation change and start over."""
        self.flush(sync=False)
        if step >= self.steps:
            self.flush()
            return
        self._close_fds()
        fmt, store = self.fmt, self.store
        keeps = step // fmt.segment  # the file holding the step after `step` (maybe empty)
        for index in list_segments(store):
            path = loss_path(store, index)
            if index > keeps or step < self._raw_from:
                os.unlink(path)
            elif index == keeps:
                os.truncate(path, (step - index * fmt.segment) * 4)
        kept_from = fmt.kept_from
        if step < self._raw_from:  # inside what only the blocks hold: a new file from there
            kept_from = step // fmt.block * fmt.block  # the blocks before are whole
            first = keeps
            fill = np.full(step - first * fmt.segment, np.nan, np.float32)
            fd = open_append(loss_path(store, first))
            try:
                drain(fd, bytearray(fill.tobytes()))
                os.fsync(fd)
            finally:
                os.close(fd)
        for size in (fmt.block, fmt.block * fmt.level2):
            path = store / blocks_name(size)
            keep = min(file_size(path) // RECORD.itemsize, step // size)
            with contextlib.suppress(FileNotFoundError):
                os.truncate(path, keep * RECORD.itemsize)
        self._cut_marks(step)
        self._rewrite_events(step)
        fmt = Format(fmt.block, fmt.level2, fmt.segment, fmt.alpha, fmt.generation + 1, kept_from)
        atomic_write_text(store / FORMAT_FILE, fmt.to_json() + "\n")
        self._create_or_repair()

    def _rewrite_events(self, step: int) -> None:
        path = self.store / EVENTS_FILE
        if not file_size(path):
            return
        tmp = self.store / (EVENTS_FILE + ".tmp")
        with os.fdopen(open_regular(path), "rb") as src, open(tmp, "wb") as dst:
            for line in src:
                row = parse_event(line)
                if row is not None and row["step"] <= step:
                    dst.write(line)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, path)

    # --- closing ---------------------------------------------------------------------------------

    def _close_fds(self) -> None:
        fds = list(self._fds.values())
        if self._segment_fd is not None:
            fds.append(self._segment_fd[1])
        self._fds, self._segment_fd = {}, None
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        """Flush and close. Never raises: it runs on the way out of a run that may have failed
        because the disk is full (whatever was written before stays readable)."""
        with contextlib.suppress(OSError):
            self.flush()
        self._close_fds()
