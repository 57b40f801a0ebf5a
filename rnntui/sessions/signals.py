"""Turn SIGINT, SIGTERM and SIGHUP (an SSH drop) into a clean stop with a checkpoint, and
SIGUSR1/SIGUSR2 into pause/resume: how the app (or `rnntui stop`-style tools) control a run that
another process trains."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator

from rnntui.util import exit_codes

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
PAUSE_SIGNAL = getattr(signal, "SIGUSR1", None)
RESUME_SIGNAL = getattr(signal, "SIGUSR2", None)


def ignore_stop_signals() -> None:
    """From now on Ctrl+C, SIGTERM and SIGHUP do nothing: for a process that has stopped and is
    exiting with its own code (a Ctrl+C pressed again must not turn 130 into death by SIGINT)."""
    for sig in STOP_SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, signal.SIG_IGN)


@contextlib.contextmanager
def stop_on_signals(
    stop: Callable[[], None],
    pause: Callable[[], None] | None = None,
    resume: Callable[[], None] | None = None,
    last_words: Callable[[], None] | None = None,
) -> Iterator[None]:
    """While inside, the first stop signal asks for a stop; a second one exits at once, after
    `last_words` (quick and best effort: record the state, say how to continue), ignoring any
    further signal meanwhile. SIGUSR1 calls `pause` and SIGUSR2 `resume`, when given."""
    received: list[int] = []

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        if received:
            ignore_stop_signals()  # a third Ctrl+C must not cut the last words short
            if last_words is not None:
                with contextlib.suppress(Exception):
                    last_words()
            # the last checkpoint on disk is intact (atomic writes)
            os._exit(exit_codes.INTERRUPTED)
        received.append(signum)
        stop()

    handlers: dict[int, Callable] = {sig: handler for sig in STOP_SIGNALS}
    for sig, action in ((PAUSE_SIGNAL, pause), (RESUME_SIGNAL, resume)):
        if sig is not None and action is not None:
            handlers[sig] = lambda signum, frame, action=action: action()
    previous = {}
    for sig, function in handlers.items():
        try:
            previous[sig] = signal.signal(sig, function)
        except ValueError:  # not the main thread: the caller handles stopping
            break
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
