"""Turn SIGINT, SIGTERM and SIGHUP (an SSH drop) into a clean stop with a checkpoint."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator

from rnntui import exit_codes

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """While inside, the first signal asks for a stop; a second one exits at once."""
    received: list[int] = []

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        if received:
            os._exit(
                exit_codes.INTERRUPTED
            )  # the last checkpoint on disk is intact (atomic writes)
        received.append(signum)
        stop()

    previous = {}
    for sig in STOP_SIGNALS:
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread: the caller handles stopping
            break
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
