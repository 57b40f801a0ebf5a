"""The terminal's alert channel in real tmux: a run that finishes while you are in another
window rings the bell (tmux flags the app's window) and sends the desktop-notification escapes;
one that finishes while you watch sends nothing. tmux reports focus (`focus-events on`) to the
app as a real terminal does, through an attached client."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rnntui.tui.terminal_alerts import notification_escapes

TMUX = shutil.which("tmux")
needs_tmux = pytest.mark.skipif(
    TMUX is None or shutil.which("script") is None, reason="tmux or script is not installed"
)

NOTIFY = "]777;notify;rnntui: run finished;200 steps"
TINY = ["--set", "task.size=20000", "--set", "train.batch_size=20"]


def rnntui_command() -> list[str]:
    script = shutil.which("rnntui", path=os.path.dirname(sys.executable)) or shutil.which("rnntui")
    return [script] if script else [sys.executable, "-m", "rnntui"]


class Terminal:
    """A private tmux server with one window running a command (as tests/test_terminal.py)."""

    def __init__(self, name: str, width: int, height: int) -> None:
        self.socket = f"rnntui-test-{os.getpid()}-{name}"
        self.width, self.height = width, height

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            [TMUX, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return result.stdout

    def start(self, command: list[str]) -> None:
        shell = f"{shlex.join(command)}; echo rnntui-exited-$?; sleep 30"
        self.tmux(
            "new-session", "-d", "-s", "app", "-x", str(self.width), "-y", str(self.height), shell
        )

    def wait_for(self, condition: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.tmux("capture-pane", "-p", "-t", "app")
            if condition(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        self.tmux("kill-server")


@needs_tmux
def test_a_run_that_finishes_behind_your_back_rings_and_notifies(tmp_path):
    raw = tmp_path / "pane-output"
    terminal = Terminal("alerts", 80, 24)
    client = None
    try:
        terminal.start([*rnntui_command(), "--runs-dir", str(tmp_path / "runs"), *TINY])
        terminal.tmux("set", "-s", "focus-events", "on")
        terminal.tmux("set", "-g", "allow-passthrough", "on")
        terminal.tmux("pipe-pane", "-o", "-t", "app:0", f"cat >> {raw}")
        # an attached client: tmux tells panes about focus only where someone looks
        client = subprocess.Popen(
            ["script", "-qc", f"{TMUX} -L {terminal.socket} attach -t app", "/dev/null"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        terminal.tmux("new-window", "-d", "-t", "app:1", "sleep 300")
        terminal.wait_for(lambda s: "● idle" in s, 90, "TensorFlow")
        switch(terminal, 1)
        switch(terminal, 0)  # the app has heard AppBlur then AppFocus: focus is reported

        # watched: it finishes in front of you, and nothing rings
        terminal.tmux("send-keys", "-t", "app:0", "s")
        terminal.wait_for(lambda s: "● finished" in s, 90, "the first run")
        time.sleep(0.5)
        assert NOTIFY not in output(raw)
        assert bell_flag(terminal) == "0"

        # behind your back: start a run and go to the other window
        terminal.tmux("send-keys", "-t", "app:0", "s")
        terminal.wait_for(lambda s: "● training" in s or "starting" in s, 60, "the second run")
        switch(terminal, 1)
        deadline = time.monotonic() + 90
        while NOTIFY not in output(raw) and time.monotonic() < deadline:
            time.sleep(0.2)
        text = output(raw)
        assert NOTIFY in text.replace("\x1b\x1b", "\x1b")
        assert "\x1bPtmux;\x1b\x1b]777;notify;rnntui: run finished;200 steps\a\x1b\\" in text
        assert "\x1b\x1b]9;rnntui: run finished: 200 steps\a" in text
        assert text.count(NOTIFY) == 1
        assert bell_flag(terminal) == "1"  # tmux heard the BEL in a window you are not in
    finally:
        if client is not None:
            client.kill()
            client.wait()
        terminal.close()


def switch(terminal: Terminal, window: int) -> None:
    terminal.tmux("select-window", "-t", f"app:{window}")
    time.sleep(0.4)


def bell_flag(terminal: Terminal) -> str:
    return terminal.tmux("display-message", "-p", "-t", "app:0", "#{window_bell_flag}").strip()


def output(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace") if path.exists() else ""


def test_escapes_carry_no_control_characters_and_wrap_for_tmux():
    plain = notification_escapes("a;b\x1b]bad", "line\nnext\a")
    assert plain == "\x1b]777;notify;a,b ]bad;line next\a\x1b]9;a,b ]bad: line next\a"
    wrapped = notification_escapes("t", "b", tmux=True)
    assert wrapped.startswith("\x1bPtmux;\x1b\x1b]777;notify;t;b\a\x1b\\")
