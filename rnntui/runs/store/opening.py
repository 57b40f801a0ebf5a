"""A run folder's metrics, in whichever form the run has them: `open_metrics` (a reader of
the store, or of an older rnntui's metrics.jsonl converted once), `stored_steps` (a listing and a
stat, for an attach to know where to start) and `has_metrics`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from rnntui.runs.store.format import (
    CONVERTING_DIR,
    LEGACY_FILE,
    RECORD,
    STORE_DIR,
    blocks_name,
    list_segments,
    read_format,
    segment_name,
)
from rnntui.runs.store.legacy import convert_legacy, feed_legacy
from rnntui.runs.store.reader import MetricsReader
from rnntui.runs.store.writer import MetricsWriter


def stored_steps(run_path: Path) -> int | None:
    """How many steps the run's store holds (None without one): a directory listing and a stat."""
    store = Path(run_path) / STORE_DIR
    try:
        fmt = read_format(store)
    except (OSError, ValueError):
        return None
    segments = list_segments(store)
    if not segments:
        try:
            size = os.stat(store / blocks_name(fmt.block)).st_size
        except OSError:
            return 0
        return size // RECORD.itemsize * fmt.block
    try:
        size = os.stat(store / segment_name(segments[-1])).st_size
    except OSError:
        return None
    return segments[-1] * fmt.segment + size // 4


def has_metrics(run_path: Path) -> bool:
    """Whether the run logged metrics in either form (a store, or an old metrics.jsonl)."""
    run_path = Path(run_path)
    return (run_path / STORE_DIR).is_dir() or os.path.lexists(run_path / LEGACY_FILE)


# --- opening a run folder ------------------------------------------------------------------------


def open_metrics(run_path: Path, *, convert: bool = True) -> MetricsReader:
    """The run's metrics. An old metrics.jsonl is turned into a store once, in place, when the
    run is not live and its folder can be written (`convert`); otherwise it is read into a
    temporary store that `close()` removes (a pass over the file, in constant memory).
    OSError when the metrics cannot be read (a FIFO in place of metrics.jsonl, no permission);
    StoreError for a store of a newer format."""
    run_path = Path(run_path)
    legacy = run_path / LEGACY_FILE
    store = run_path / STORE_DIR
    if os.path.lexists(legacy):
        if convert and _convert_in_place(run_path):
            return MetricsReader(store)
        if not store.is_dir():
            temp = Path(tempfile.mkdtemp(prefix="rnntui-metrics-"))
            try:
                writer = MetricsWriter(temp / STORE_DIR, flush_interval=float("inf"))
                try:
                    feed_legacy(writer, legacy)
                finally:
                    writer.close()
                return MetricsReader(temp / STORE_DIR, cleanup=temp)
            except BaseException:
                shutil.rmtree(temp, ignore_errors=True)
                raise
    return MetricsReader(store)


def _convert_in_place(run_path: Path) -> bool:
    """Convert under the run's lock; False when it is live (another process holds the lock)
    or the folder cannot be written (then nothing of the attempt is left behind)."""
    from rnntui.runs.lock import RunLock, RunLockedError

    lock = RunLock(run_path)
    try:
        lock.acquire()
    except (RunLockedError, OSError):
        return False
    try:
        convert_legacy(run_path)
        return True
    except OSError:
        shutil.rmtree(run_path / CONVERTING_DIR, ignore_errors=True)
        return False
    finally:
        lock.release()
