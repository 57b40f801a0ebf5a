"""The app's side of `rnntui serve`: Textual's web driver, tied to the server that started it.

textual-serve runs each tab's app with Textual's `WebDriver`, which talks to the server over the
app's stdin and stdout. When the server dies without stopping its apps (kill -9, a crash), the
stock driver's input thread ends quietly at end of file and the app lives on: one was still
running 43 minutes later. This driver ends the app, by the same SIGTERM the app already handles
(it exits the normal way; a served app leaves its runs training):
- Linux's parent-death signal (prctl PR_SET_PDEATHSIG): SIGTERM the moment the server dies;
- stdin at end of file, or stdout broken, while the app is not closing: the server is gone.
The server names itself in RNNTUI_SERVE_PARENT, so a server that died before this process got
here is noticed too.
"""

from __future__ import annotations

import ctypes
import os
import signal
from typing import Any

from textual.drivers.web_driver import WebDriver

from rnntui.serve import PARENT_ENV

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def tie_to_parent(parent: int | None) -> bool:
    """SIGTERM this process when its parent dies; True when the kernel took the request.
    A parent already gone (this process was re-parented) is a SIGTERM now."""
    tied = False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        tied = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: stdin's end of file still ends the app
        pass
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)
    return tied


class ServedDriver(WebDriver):
    """`WebDriver` that ends the app (SIGTERM to itself) once its server is gone."""

    def __init__(self, app: Any, **options: Any) -> None:
        super().__init__(app, **options)
        self._server_gone = False
        parent = os.environ.get(PARENT_ENV, "")
        tie_to_parent(int(parent) if parent.isdigit() else None)

    def write(self, data: str) -> None:
        if not self._server_gone:
            try:
                super().write(data)
            except OSError:  # EPIPE: nobody reads the screen any more
                self._lost_server()

    def write_meta(self, data: dict[str, object]) -> None:
        if not self._server_gone:
            try:
                super().write_meta(data)
            except OSError:
                self._lost_server()

    def write_binary_encoded(self, data: tuple[str | bytes, ...]) -> None:
        if not self._server_gone:
            try:
                super().write_binary_encoded(data)
            except OSError:
                self._lost_server()

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # input ended while the app was not closing
            self._lost_server()

    def _lost_server(self) -> None:
        """Exit the way a `kill` would: the app's SIGTERM handling saves what needs saving."""
        if not self._server_gone:
            self._server_gone = True
            os.kill(os.getpid(), signal.SIGTERM)
