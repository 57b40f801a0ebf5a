"""A second process that writes a metrics store, for tests/test_metrics_store.py.

python -m tests.unit.metrics_child append STORE SECONDS CHUNK FLUSH_S PAUSE_S [small]
    appends `synthetic` losses CHUNK steps at a time, PAUSE_S apart, for SECONDS (or until
    killed), printing "<monotonic time> <steps appended>" after each chunk
python -m tests.unit.metrics_child fill STORE [RLIMIT_BYTES]
    appends until the disk (or RLIMIT_FSIZE) refuses, then prints "<errno> <steps flushed>"
    and closes the store (close never raises)
"""

from __future__ import annotations

import resource
import signal
import sys
import time
from pathlib import Path

import numpy as np

from rnntui.runs.store.format import Format
from rnntui.runs.store.writer import MetricsWriter

SMALL = Format(block=16, level2=4, segment=1024, alpha=0.02)
SMALL_KEEP = 2048


def synthetic(first: int, count: int) -> np.ndarray:
    """The loss of steps first+1 ... first+count: a slow wave plus fixed per-step noise."""
    s = np.arange(first + 1, first + count + 1, dtype=np.float64)
    return (1.0 + 0.5 * np.sin(s / 300.0) + (s * 2654435761 % 1000) / 4000.0).astype(np.float32)


def append(
    store: Path, seconds: float, chunk: int, flush_s: float, pause_s: float, small: bool
) -> None:
    writer = MetricsWriter(
        store,
        flush_interval=flush_s,
        new_format=SMALL if small else None,
        keep_steps=SMALL_KEEP if small else 1 << 23,
    )
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        first = writer.steps
        writer.append_steps(first, synthetic(first, chunk), first // 1000, time.monotonic() - start)
        if first // chunk % 50 == 0:
            writer.append_knob(writer.steps, "learning_rate", first / 1e6)
        print(f"{time.monotonic()} {writer.steps}", flush=True)
        time.sleep(pause_s)
    writer.close()


def fill(store: Path, limit: int | None) -> None:
    if limit is not None:  # a file past the limit: EFBIG instead of the signal that kills
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    writer = MetricsWriter(store, new_format=SMALL, keep_steps=SMALL_KEEP)
    flushed = 0
    try:
        while True:
            first = writer.steps
            writer.append_steps(first, synthetic(first, 100), 0, first / 1000)
            writer.flush()
            flushed = writer.steps
    except OSError as error:
        print(f"{error.errno} {flushed}", flush=True)
    writer.close()


if __name__ == "__main__":
    mode, store = sys.argv[1], Path(sys.argv[2])
    if mode == "append":
        seconds, chunk, flush_s, pause_s = sys.argv[3:7]
        append(
            store, float(seconds), int(chunk), float(flush_s), float(pause_s), "small" in sys.argv
        )
    else:
        fill(store, int(sys.argv[3]) if len(sys.argv) > 3 else None)
