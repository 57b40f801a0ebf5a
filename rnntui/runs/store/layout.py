"""What a store holds on disk right now (`Layout`), the losses of kept steps (`RawReader`),
and the blocks a crash left unwritten behind the losses (`missing_blocks`): shared by the
writer's repair at open and by every reader, so both see the same steps.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnntui.runs.store.blocks import block_records, ema_state, reduce_records
from rnntui.runs.store.format import (
    LOSS,
    RECORD,
    Format,
    blocks_name,
    file_size,
    list_segments,
    loss_path,
    read_format,
    read_records,
)
from rnntui.util.safe_read import open_regular


@dataclass
class Layout:
    """What a store holds now, consistent: `steps` steps, the losses of steps [raw_from, steps)
    (0-based), `l1` and `l2` blocks (some maybe still to be recomputed from the losses)."""

    fmt: Format
    segments: list[int]
    steps: int
    raw_from: int
    l1_on_disk: int  # whole records in the file, at most what the losses cover
    l2_on_disk: int
    l1: int  # blocks that exist (on disk, or to be recomputed: the ones after l1_on_disk)
    l2: int

    @classmethod
    def scan(cls, store: Path) -> Layout:
        fmt = read_format(store)
        segments = list_segments(store)
        if segments:
            newest = segments[-1]
            steps = newest * fmt.segment + file_size(loss_path(store, newest)) // 4
            raw_from = max(segments[0] * fmt.segment, min(fmt.kept_from, steps))
        else:
            steps = raw_from = 0
        l1_size = file_size(store / blocks_name(fmt.block)) // RECORD.itemsize
        l2_size = file_size(store / blocks_name(fmt.block * fmt.level2)) // RECORD.itemsize
        if not segments:  # every loss file gone: the blocks are all there is
            steps = raw_from = l1_size * fmt.block
        l1 = steps // fmt.block
        l2 = l1 // fmt.level2
        l1_on_disk = min(l1_size, l1)
        if l1_on_disk * fmt.block < raw_from:  # blocks lost behind deleted losses (damage)
            raw_from = l1_on_disk * fmt.block  # the steps between read as NaN
        l2_on_disk = min(l2_size, l1_on_disk // fmt.level2)
        return cls(fmt, segments, steps, raw_from, l1_on_disk, l2_on_disk, l1, l2)


class RawReader:
    """Losses of steps [raw_from, steps) from the loss files, opened once (a file the writer
    deletes meanwhile stays readable through its descriptor)."""

    def __init__(self, store: Path, layout: Layout) -> None:
        self.segment = layout.fmt.segment
        self.raw_from = layout.raw_from
        self.steps = layout.steps
        self.fds: dict[int, int] = {}
        for index in layout.segments:
            with contextlib.suppress(FileNotFoundError):
                self.fds[index] = open_regular(loss_path(store, index))

    def read(self, first: int, last: int) -> np.ndarray:
        """Losses of steps [first, last) (0-based); NaN where none is kept."""
        out = np.full(max(0, last - first), np.nan, np.float32)
        step = max(first, self.raw_from)
        while step < min(last, self.steps):
            index = step // self.segment
            end = min(last, self.steps, (index + 1) * self.segment)
            fd = self.fds.get(index)
            if fd is not None:
                data = os.pread(fd, (end - step) * 4, (step - index * self.segment) * 4)
                got = np.frombuffer(data[: len(data) // 4 * 4], LOSS)
                out[step - first : step - first + len(got)] = got
            step = end
        return out

    def close(self) -> None:
        for fd in self.fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = {}


def missing_blocks(
    layout: Layout, raw: RawReader, l1_fd: int | None, l2_fd: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """The level-1 and level-2 records the files lack behind the losses (a kill between the two
    writes), computed from the losses and the level-1 records."""
    fmt = layout.fmt
    prev = None
    if l1_fd is not None and layout.l1_on_disk:
        prev = read_records(l1_fd, layout.l1_on_disk - 1, layout.l1_on_disk)
    seen = seen_before(layout.l1_on_disk, l1_fd, l2_fd, layout)
    if prev is not None and len(prev):
        e0 = ema_state(float(prev["ema"][0]), seen, fmt.alpha)
    else:
        e0 = 0.0
    values = raw.read(layout.l1_on_disk * fmt.block, layout.l1 * fmt.block)
    l1_extra, _, _ = block_records(values, fmt.block, e0, seen, fmt.alpha)
    first = layout.l2_on_disk * fmt.level2
    have = read_records(l1_fd, first, layout.l1_on_disk) if l1_fd else np.zeros(0, RECORD)
    group = np.concatenate([have, l1_extra])[: (layout.l2 - layout.l2_on_disk) * fmt.level2]
    l2_extra = reduce_records(group.reshape(-1, fmt.level2))
    return l1_extra, l2_extra


def seen_before(block: int, l1_fd: int | None, l2_fd: int | None, layout: Layout) -> int:
    """Finite losses in the blocks before `block` (the EMA's debiasing count)."""
    fmt = layout.fmt
    full = min(block // fmt.level2, layout.l2_on_disk)
    seen = 0
    if l2_fd is not None and full:
        seen += int(read_records(l2_fd, 0, full)["count"].sum(dtype=np.int64))
    if l1_fd is not None:
        seen += int(read_records(l1_fd, full * fmt.level2, block)["count"].sum(dtype=np.int64))
    return seen
