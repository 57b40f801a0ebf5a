"""Work done on one background thread before the training thread needs it.

- The next epoch's windows, for tasks that make fresh data every epoch (echo: a million samples,
  10-25 ms of NumPy an epoch for echo-raw-5, mostly outside the GIL, as the compiled calls it now
  overlaps are). The first epoch's are made while the model is built.
- TensorFlow's matmul kernels: on CPU its contractions run oneDNN's sgemm, which generates its
  machine code on first use, once per process and transpose variant: 16-30 ms inside the first
  training call (perf: `xbyak_gemm_t::generate`), while tracing leaves the other core idle.

A task whose windows are views of fixed data (count, text) has nothing to make ahead. Data is
made ahead only while two epochs of it fit well in memory (`AHEAD_MAX_BYTES`). A failure on the
thread is raised where the training thread takes the result, as if it had made the data itself.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

AHEAD_MAX_BYTES = 256 * 2**20  # an epoch's data (the task's own estimate) made ahead up to this


class Ahead:
    """`get(epoch)` returns `make(epoch)` and starts making epoch + 1 (below `epochs`)."""

    def __init__(self, make: Callable[[int], Any], epochs: int, enabled: bool) -> None:
        self._make = make
        self._epochs = epochs
        self.enabled = enabled  # else every epoch is made when asked, on the caller's thread
        self._pending: dict[int, Future] = {}
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="rnntui-ahead")

    def start(self, epoch: int) -> None:
        """Begin making `epoch`'s data now (the first one the run will train)."""
        if self.enabled and epoch < self._epochs and epoch not in self._pending:
            self._pending[epoch] = self._pool.submit(self._make, epoch)

    def run(self, work: Callable[[], Any]) -> Future:
        """Any other work for the background thread, in order after what was asked before."""
        return self._pool.submit(work)

    def get(self, epoch: int) -> Any:
        future = self._pending.pop(epoch, None)
        for stale in [e for e in self._pending if e < epoch]:  # skipped (a resume, a restart)
            self._pending.pop(stale).cancel()
        data = future.result() if future is not None else self._make(epoch)
        self.start(epoch + 1)
        return data

    def close(self) -> None:
        """Drop what is not started; a piece of work running finishes on its own (milliseconds)."""
        self._pending.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
