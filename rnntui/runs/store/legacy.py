"""Old run folders: a `metrics.jsonl` (a JSON line per step, one per knob change) read in
constant memory and turned into a store once.

`open_writer` (a resume) and `convert_legacy` (a reader, under the run's lock) build the store
beside the run as `.metrics.converting`, rename it into place when complete, and only then remove
the old file: a crash at any point leaves either the old file or the complete store.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnntui.runs.store.format import CONVERTING_DIR, LEGACY_FILE, STORE_DIR
from rnntui.runs.store.writer import MARK_INTERVAL_S, MAX_GAP, MetricsWriter, fsync_dir
from rnntui.util.safe_read import open_regular

# The line `RunFolder.append_metrics` wrote (floats as repr); anything else goes through json.
_NUMBER = rb"(-?\d[0-9.eE+-]*)"
_LEGACY_LINE = re.compile(
    rb'^\{"step": (\d+), "epoch": (-?\d+), "loss": '
    + _NUMBER
    + rb', "wall_s": '
    + _NUMBER
    + rb"\}$",
    re.M,
)


@dataclass
class LegacyBatch:
    """Rows of a metrics.jsonl in file order: steps (with their epoch, wall_s) and knob rows,
    each knob row placed after `before` of the step rows."""

    steps: np.ndarray  # int64
    epochs: np.ndarray  # int64
    losses: np.ndarray  # float64
    walls: np.ndarray  # float64
    knobs: list[tuple[int, dict[str, Any]]]


def iter_legacy(path: Path, chunk_bytes: int = 1 << 22) -> Iterator[LegacyBatch]:
    """The rows `read_metrics(path, knobs=True)` returns, in batches, in constant memory: lines
    in the trainer's own format are parsed by one regular expression per batch (~4x faster than
    json.loads a line), others one by one like `read_metrics` (torn or foreign lines skipped)."""
    with os.fdopen(open_regular(path), "rb") as handle:
        rest = b""
        while True:
            data = handle.read(chunk_bytes)
            if not data:
                if rest:
                    yield parse_legacy(rest + b"\n")
                return
            data = rest + data
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            rest = data[cut + 1 :]
            yield parse_legacy(data[: cut + 1])


def parse_legacy(data: bytes) -> LegacyBatch:
    matches = _LEGACY_LINE.findall(data)
    lines = data.count(b"\n")
    if len(matches) == lines:  # every line is the trainer's own: the fast path
        cols = np.array(matches, dtype="S").reshape(-1, 4).T
        losses = cols[2].astype(float)
        keep = np.isfinite(losses)  # 1e999 parses as inf: read_metrics skips it too
        return LegacyBatch(
            cols[0].astype(np.int64)[keep],
            cols[1].astype(np.int64)[keep],
            losses[keep],
            cols[3].astype(float)[keep],
            [],
        )
    steps, epochs, losses, walls = [], [], [], []
    knobs = []
    for line in data.split(b"\n"):
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict) or not _is_int(row.get("step")):
            continue
        if _is_number(row.get("loss")) and math.isfinite(row["loss"]):
            steps.append(row["step"])
            epochs.append(row["epoch"] if _is_int(row.get("epoch")) else 0)
            losses.append(float(row["loss"]))
            walls.append(float(row["wall_s"]) if _is_number(row.get("wall_s")) else 0.0)
        elif isinstance(row.get("knob"), str) and _is_number(row.get("value")):
            knob = {"step": row["step"], "knob": row["knob"], "value": row["value"]}
            knobs.append((len(steps), knob))
    return LegacyBatch(
        np.array(steps, np.int64),
        np.array(epochs, np.int64),
        np.array(losses, float),
        np.array(walls, float),
        knobs,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def feed_legacy(writer: MetricsWriter, path: Path) -> None:
    """Append a metrics.jsonl's rows to `writer` in file order, with the store's own rules: a
    row at or before the last step truncates there (a resume that logged them again), rows
    after a gap leave the skipped steps empty, steps below 1 are dropped."""
    for batch in iter_legacy(path):
        steps, walls = batch.steps, batch.walls
        # runs of consecutive steps, appended whole; split where a knob row falls and where
        # wall_s passes a whole second (the marks a live writer would have made)
        cuts = {0, len(steps), *(at for at, _ in batch.knobs)}
        cuts.update((np.flatnonzero(np.diff(steps) != 1) + 1).tolist())
        second = np.floor(walls / MARK_INTERVAL_S)
        cuts.update((np.flatnonzero(np.diff(second) != 0) + 1).tolist())
        order = sorted(cuts)
        knobs = list(batch.knobs)
        for begin, end in zip(order[:-1], order[1:], strict=True):
            while knobs and knobs[0][0] <= begin:
                writer.append_knob(**_knob_args(knobs.pop(0)[1]))
            first = int(steps[begin]) - 1
            if first < 0 or first - writer.steps > MAX_GAP:
                continue
            writer.append_steps(
                first, batch.losses[begin:end], int(batch.epochs[end - 1]), float(walls[end - 1])
            )
        for _, knob in knobs:
            writer.append_knob(**_knob_args(knob))
        writer.flush(sync=False)


def _knob_args(row: dict[str, Any]) -> dict[str, Any]:
    return {"step": row["step"], "name": row["knob"], "value": row["value"]}


def convert_legacy(run_path: Path) -> bool:
    """Turn the run's metrics.jsonl into its metrics store, once: built in CONVERTING_DIR,
    renamed to STORE_DIR when complete, and only then the old file removed. When the run
    already has a store (an older rnntui resumed a converted run), the old file's rows are
    appended to it (truncating it where they start). The caller owns the run (its lock).
    Returns whether there was anything to convert."""
    run_path = Path(run_path)
    legacy = run_path / LEGACY_FILE
    store = run_path / STORE_DIR
    if not os.path.lexists(legacy):
        return False
    if store.is_dir():
        writer = MetricsWriter(store)
        try:
            feed_legacy(writer, legacy)
            writer.flush()
        finally:
            writer.close()
    else:
        building = run_path / CONVERTING_DIR
        shutil.rmtree(building, ignore_errors=True)  # a conversion a crash cut short
        writer = MetricsWriter(building)
        try:
            feed_legacy(writer, legacy)
            writer.flush()
        finally:
            writer.close()
        fsync_dir(building)
        os.rename(building, store)
        fsync_dir(run_path)
    os.unlink(legacy)
    fsync_dir(run_path)
    return True


def open_writer(run_path: Path) -> MetricsWriter:
    """The run's metrics writer (the caller holds the run's lock): converts an old
    metrics.jsonl first."""
    convert_legacy(run_path)
    return MetricsWriter(Path(run_path) / STORE_DIR)
