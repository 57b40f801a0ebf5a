"""Signals in the app: SIGTERM, SIGHUP (an SSH drop, a closed terminal window), SIGINT from kill.

Textual leaves these to Python's defaults, which end the process at once: no checkpoint, and the
terminal stuck in raw mode. The app instead handles them on its event loop (so the handler may touch
the app): the first one stops the trainer, which writes a checkpoint and the metrics, and asks the
app to exit the normal way, which restores the terminal.

The normal way can stall when the terminal is gone (Textual's writer thread dies on the first
failed write and the next writes block) or when a thread cannot finish (the TensorFlow import).
So a watchdog thread waits for training to wind down (its checkpoint is on disk), gives the exit a
moment more, then ends the process itself. A second signal ends it at once. Either way nothing is
lost: every file in a run folder is written atomically.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from rnntui.sessions.signals import STOP_SIGNALS
from rnntui.util import exit_codes

TRAINING_GRACE_S = 8.0  # longest wait for the training thread to write its checkpoint
EXIT_GRACE_S = 2.0  # then how long the normal exit may take before the process is ended

# Leave the alternate screen, show the cursor, stop mouse and focus reports, bracketed paste.
RESET_SEQUENCE = (
    b"\x1b[<u\x1b[?1049l\x1b[?25h\x1b[?1000l\x1b[?1003l\x1b[?1006l\x1b[?1004l\x1b[?2004l"
)


def install_signal_handlers(on_signal: Callable[[int], None]) -> list[int]:
    """Route the stop signals to `on_signal(signum)` on the running loop; the signals handled.

    Only the main thread's loop can handle signals; elsewhere (an app run from a thread) nothing
    is installed and Python's defaults stay.
    """
    loop = asyncio.get_running_loop()
    installed = []
    for signum in STOP_SIGNALS:
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (ValueError, RuntimeError, NotImplementedError):
            break
        installed.append(signum)
    return installed


def remove_signal_handlers(signals: list[int]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for signum in signals:
        loop.remove_signal_handler(signum)


def restore_terminal(input_fd: int | None, output_fd: int | None, attributes: list | None) -> None:
    """Best effort: the terminal's saved mode and the normal screen (it may be gone already)."""
    try:
        import termios

        if input_fd is not None and attributes is not None:
            termios.tcsetattr(input_fd, termios.TCSANOW, attributes)
        if output_fd is not None:
            os.write(output_fd, RESET_SEQUENCE)
    except Exception:  # noqa: BLE001 - on the way out; there is nothing more to do
        pass


def restore_driver_terminal(driver: object) -> None:
    """`restore_terminal` with what Textual's Linux driver saved (private, hence the care)."""
    output = getattr(driver, "_file", None)
    try:
        output_fd = output.fileno() if output is not None else None
    except (OSError, ValueError):
        output_fd = None
    restore_terminal(
        getattr(driver, "fileno", None), output_fd, getattr(driver, "attrs_before", None)
    )


def end_process(restore: Callable[[], None]) -> None:
    restore()
    os._exit(exit_codes.INTERRUPTED)


def start_watchdog(training_done: threading.Event, restore: Callable[[], None]) -> None:
    """End the process if the normal exit has not, once training has written its checkpoint."""

    def watch() -> None:
        training_done.wait(TRAINING_GRACE_S)
        time.sleep(EXIT_GRACE_S)
        end_process(restore)

    threading.Thread(target=watch, name="rnntui-exit-watchdog", daemon=True).start()


def while_running(handler: Callable) -> Callable:
    """A message handler that skips messages reaching the app while it shuts down (see
    `RnnTuiApp.shutting_down`): Textual stops running, then removes the screens and widgets
    while it still handles its queue, and a run's or a worker's late message found the screen
    stack empty (ScreenStackError from refresh_bindings) or a pane's children gone (NoMatches)
    and crashed the app on its way out (seen in tests and on a loaded CI box)."""

    @functools.wraps(handler)
    def guarded(self: Any, message: object) -> None:
        if not self.shutting_down:
            handler(self, message)

    return guarded
