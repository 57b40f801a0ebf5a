"""Shared fixtures: every test gets its own user folders, so no test sees a developer's presets.
(The shared helper functions live in tests/helpers.py.)"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import tempfile
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))  # kept XLA programs
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    # sweeps do not measure the machine's two-process ceiling (~2.5 s) unless a test asks
    monkeypatch.setenv("RNNTUI_CEILING", "off")
    return home


# --- a test that hangs past pytest-timeout ------------------------------------------------------
# pytest-timeout's SIGALRM (300 s) fails a slow test cleanly, but cannot reach a main thread stuck
# in native code, or one inside an event loop that catches the exception: then the whole run
# would wait forever. faulthandler's watchdog is a C thread: a minute later it writes every
# thread's stack to a file and ends the worker; the controller prints the file at the end (a
# worker's own output is not shown under xdist).
HARD_TIMEOUT_S = 360
HANGS_FOLDER = "RNNTUI_TEST_HANGS"


def pytest_configure(config: pytest.Config) -> None:
    if HANGS_FOLDER not in os.environ:  # the controller's, inherited by its workers
        os.environ[HANGS_FOLDER] = tempfile.mkdtemp(prefix="rnntui-test-hangs-")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    record = Path(os.environ[HANGS_FOLDER], f"{os.getpid()}.txt")
    with record.open("w", encoding="utf-8") as handle:
        handle.write(f"{item.nodeid} still ran after {HARD_TIMEOUT_S} s; its threads:\n")
        handle.flush()
        faulthandler.dump_traceback_later(HARD_TIMEOUT_S, exit=True, file=handle)
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
    record.unlink()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    folder = Path(os.environ.get(HANGS_FOLDER, ""))
    if not os.environ.get(HANGS_FOLDER) or not folder.is_dir():
        return
    for record in sorted(folder.glob("*.txt")):
        terminalreporter.section(f"hung: {record.read_text(encoding='utf-8').splitlines()[0]}")
        terminalreporter.write(record.read_text(encoding="utf-8", errors="replace"))


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller: its folder, if nothing hung
        with contextlib.suppress(OSError, KeyError):
            os.rmdir(os.environ[HANGS_FOLDER])
