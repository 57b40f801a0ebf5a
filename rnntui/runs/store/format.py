"""The metrics store's files: their names, the record types, format.json, and the small
reads every part shares (which loss files there are, records at an offset, an event line).

Nothing here writes; see writer.py for the writer and the package docstring for the layout.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnntui.util.safe_read import describe_mode, read_bytes

STORE_DIR = "metrics"
LEGACY_FILE = "metrics.jsonl"
FORMAT_FILE = "format.json"
MARKS_FILE = "marks.bin"
EVENTS_FILE = "events.jsonl"
CONVERTING_DIR = ".metrics.converting"
FORMAT_NAME = "rnntui-metrics"
FORMAT_VERSION = 1

BLOCK = 512  # steps per block: 40 bytes per 512 steps is ~27 MB for a day at 4,000 steps/s
LEVEL2 = 128  # blocks per level-2 block (65,536 steps)
SEGMENT = 1 << 20  # steps per loss file (4 MiB)

RECORD = np.dtype(
    [
        ("sum", "<f8"),  # of the finite losses
        ("ema_sum", "<f8"),  # of the smoothed line (debiased EMA) at those steps
        ("ema", "<f8"),  # the smoothed line at the block's last finite loss (its EMA state)
        ("min", "<f4"),  # NaN when count is 0
        ("max", "<f4"),
        ("last", "<f4"),  # the last finite loss
        ("count", "<u4"),  # finite losses in the block
    ]
)
MARK = np.dtype([("step", "<i8"), ("epoch", "<i8"), ("wall_s", "<f8")])
LOSS = np.dtype("<f4")


class StoreError(ValueError):
    """A metrics store this rnntui cannot use (a newer format, a damaged format.json)."""


def segment_name(index: int) -> str:
    return f"loss-{index:06d}.f32"


def blocks_name(size: int) -> str:
    return f"blocks-{size}.bin"


_SEGMENT_RE = re.compile(r"loss-(\d{6,})\.f32")


@dataclass(frozen=True)
class Format:
    block: int = BLOCK
    level2: int = LEVEL2
    segment: int = SEGMENT
    alpha: float = 0.02
    generation: int = 0
    kept_from: int = 0  # after a truncation into the blocks: the first step with its own loss

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT_NAME,
                "version": FORMAT_VERSION,
                "block": self.block,
                "level2": self.level2,
                "segment": self.segment,
                "alpha": self.alpha,
                "generation": self.generation,
                "kept_from": self.kept_from,
            }
        )


def default_format() -> Format:
    from rnntui.runs.curves import EMA_ALPHA  # the chart's smoothing: the blocks hold its line

    return Format(alpha=EMA_ALPHA)


def read_format(store: Path) -> Format:
    """The store's format.json; StoreError (one line) when it is not one this rnntui reads."""
    path = store / FORMAT_FILE
    try:
        data = json.loads(read_bytes(path, 1 << 16))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as error:
        why = error.strerror if isinstance(error, OSError) else "not JSON"
        raise StoreError(f"{path} cannot be read ({why}); move the run's metrics/ away") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise StoreError(f"{path} is not an rnntui metrics format file")
    if data.get("version") != FORMAT_VERSION:
        raise StoreError(
            f"{path} is format {data.get('version')!r}, this rnntui reads {FORMAT_VERSION}: "
            "update rnntui to read this run"
        )
    try:
        fmt = Format(
            int(data["block"]),
            int(data["level2"]),
            int(data["segment"]),
            float(data["alpha"]),
            int(data.get("generation", 0)),
            int(data.get("kept_from", 0)),
        )
    except (KeyError, TypeError, ValueError):
        raise StoreError(f"{path} lacks a field this rnntui needs") from None
    ok = (
        fmt.block > 0
        and fmt.level2 > 0
        and fmt.segment % fmt.block == 0
        and fmt.segment % (fmt.block * fmt.level2) == 0
        and 0 < fmt.alpha <= 0.5
    )
    if not ok:
        raise StoreError(f"{path} has sizes that do not fit together")
    return fmt


def check_store(store: Path) -> None:
    """StoreError (one line) unless a writer can open the store as it is: its format file is
    one this rnntui reads and each of its files is a regular file. Writes nothing (a resume
    checks this before it touches the run)."""
    try:
        read_format(store)
    except FileNotFoundError:
        pass
    try:
        names = os.listdir(store)
    except OSError as error:
        raise StoreError(f"{store} cannot be read ({error.strerror})") from None
    ours = {FORMAT_FILE, MARKS_FILE, EVENTS_FILE}
    for name in names:
        if name in ours or _SEGMENT_RE.fullmatch(name) or re.fullmatch(r"blocks-\d+\.bin", name):
            try:
                mode = os.lstat(store / name).st_mode
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(mode):
                raise StoreError(
                    f"{store / name} is {describe_mode(mode)}, not a file; move the run's "
                    f"{store.name}/ away to resume"
                )


# --- reading what is on disk (shared by the writer's repair and the readers) ---------------------


def loss_path(store: Path, index: int) -> Path:
    return store / segment_name(index)


def list_segments(store: Path) -> list[int]:
    """The loss files' indices: the contiguous run ending with the newest (an older file left
    by a deletion a power cut undid is not part of it)."""
    try:
        names = os.listdir(store)
    except FileNotFoundError:
        return []
    found = sorted(int(m[1]) for name in names if (m := _SEGMENT_RE.fullmatch(name)))
    run: list[int] = []
    for index in reversed(found):
        if run and index != run[0] - 1:
            break
        run.insert(0, index)
    return run


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def read_records(fd: int, first: int, last: int, dtype: np.dtype = RECORD) -> np.ndarray:
    """Records [first, last) of an open record file (fewer when the file is shorter)."""
    if last <= first:
        return np.zeros(0, dtype)
    data = os.pread(fd, (last - first) * dtype.itemsize, first * dtype.itemsize)
    whole = len(data) // dtype.itemsize
    return np.frombuffer(data[: whole * dtype.itemsize], dtype).copy()


def parse_event(line: bytes) -> dict[str, Any] | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    if (
        not isinstance(row, dict)
        or not isinstance(row.get("step"), int)
        or isinstance(row["step"], bool)
        or not isinstance(row.get("kind"), str)
    ):
        return None
    return row
