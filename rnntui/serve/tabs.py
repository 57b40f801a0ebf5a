"""One app process per browser tab, which never outlives its tab or its server.

textual-serve's `AppService` starts the app with `create_subprocess_shell`, so the process it
knows is a `/bin/sh` whose child is the app (a signal to the shell leaves the app running), and
its `stop` waits for the app without limit. Here the app is started without a shell, in a
session of its own (a Ctrl+C meant for the server does not reach it half-way; the server stops
it), with the driver that ends it when the server dies (`driver.ServedDriver`), and stopping is
bounded: ask it to quit, then SIGTERM, then SIGKILL its process group.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import time
from typing import Any

from textual_serve.app_service import AppService

from rnntui.serve import PARENT_ENV
from rnntui.serve.access import TOKEN_ENV

DRIVER = "rnntui.serve.driver:ServedDriver"  # Textual imports it in the app's process
QUIT_GRACE_S = 3.0  # a served app exits in well under a second when asked (it stops no run)
TERM_GRACE_S = 2.0  # then after SIGTERM


class TabApp(AppService):
    """The app process behind one websocket."""

    def __init__(self, argv: list[str], **service: Any) -> None:
        super().__init__(shlex.join(argv), **service)
        self.argv = argv
        self.started_at = 0.0
        self._stopping: asyncio.Future[int | None] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment["TEXTUAL_DRIVER"] = DRIVER
        environment[PARENT_ENV] = str(os.getpid())
        environment.pop(TOKEN_ENV, None)  # the app, and the runs it starts, have no use for it
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        environment = self._build_environment(width=width, height=height)
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,
        )
        self.started_at = time.monotonic()
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def stop(self) -> int | None:
        """End the app (once; later calls wait for the first); its exit code, None if it
        never started. Within QUIT_GRACE_S + TERM_GRACE_S and a moment, whatever the app does."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        return await asyncio.shield(self._stopping)

    async def _stop(self) -> int | None:
        process = self._process
        if process is None:
            return None
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if process.returncode is None:
            await self.send_meta({"type": "quit"})  # the app's own way out
        for then, grace in ((signal.SIGTERM, QUIT_GRACE_S), (signal.SIGKILL, TERM_GRACE_S)):
            try:
                await asyncio.wait_for(process.wait(), grace)
                break
            except TimeoutError:
                _signal_group(process.pid, then)
        code = await process.wait()
        if self._task is not None:  # the reader ends at the app's end of output
            try:
                await asyncio.wait_for(self._task, TERM_GRACE_S)
            except TimeoutError:
                self._task.cancel()
            self._task = None
        return code

    def kill(self) -> None:
        """At once, from a second Ctrl+C: the app and whatever it started in its group."""
        if self._process is not None and self._process.returncode is None:
            _signal_group(self._process.pid, signal.SIGKILL)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)  # the app leads its own session, so its group id is its pid
    except (ProcessLookupError, PermissionError):
        pass
