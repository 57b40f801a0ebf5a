"""The terminal's alert channel in real tmux: a run that finishes while you are in another
window rings the bell (tmux flags the app's window) and sends the desktop-notification escapes;
one that finishes while you watch sends nothing. tmux reports focus (`focus-events on`) to the
app as a real terminal does, through an attached client."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from rnntui.tui.terminal_alerts import notification_escapes
from tests.helpers import TINY_ARGS, TMUX, Terminal, needs_tmux, rnntui_command

needs_script = pytest.mark.skipif(shutil.which("script") is None, reason="script is not installed")

NOTIFY = "]777;notify;rnntui: run finished;200 steps"


@needs_tmux
@needs_script
def test_a_run_that_finishes_behind_your_back_rings_and_notifies(tmp_path):
    raw = tmp_path / "pane-output"
    terminal = Terminal("alerts", 80, 24)
    client = None
    try:
        terminal.start([*rnntui_command(), "--runs-dir", str(tmp_path / "runs"), *TINY_ARGS])
        # the attached client below is 80x24 too, and tmux's status line must not take a row of it
        terminal.tmux("set", "-g", "status", "off")
        terminal.tmux("set", "-s", "focus-events", "on")
        terminal.tmux("set", "-g", "allow-passthrough", "on")
        terminal.tmux("pipe-pane", "-o", "-t", "app:0", f"cat >> {raw}")
        # an attached client: tmux tells panes about focus only where someone looks
        attach = f"{TMUX} -L {terminal.socket} attach -t app"
        client = subprocess.Popen(
            ["script", "-qc", f"stty rows 24 cols 80; {attach}", "/dev/null"],
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
