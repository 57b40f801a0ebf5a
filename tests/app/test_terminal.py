"""The real `rnntui` in a real terminal (tmux): start it, press keys, read the screen.

This is what a user over SSH sees. It runs the installed console script (or `python -m rnntui`)
in a private tmux server sized 80x24, trains a tiny echo run and walks the panes.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (apt-get install tmux); .ci/run installs it"
)

# About 60,000 steps: long enough to pause, stop and quit while it trains.
LONG_RUN = ["--set", "task.size=6000000", "--set", "train.batch_size=20", "--set", "train.chunk=20"]


def rnntui_command() -> list[str]:
    script = shutil.which("rnntui", path=os.path.dirname(sys.executable)) or shutil.which("rnntui")
    return [script] if script else [sys.executable, "-m", "rnntui"]


class Terminal:
    """A private tmux server with one pane running a command."""

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

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "app")

    def press(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "app", key)
            time.sleep(0.15)

    def wait_for(self, condition: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def terminal():
    term = Terminal("main", 80, 24)
    yield term
    term.close()


def test_train_pause_stop_walk_the_panes_and_quit_in_80x24(terminal):
    started = time.monotonic()
    terminal.start([*rnntui_command(), "--preset", "echo-raw-5", *LONG_RUN])

    screen = terminal.wait_for(lambda s: "Start" in s and "Settings" in s, 15, "the first frame")
    first_frame = time.monotonic() - started
    assert "echo-raw-5" in screen
    assert "num_steps" in screen and "batch size" in screen
    assert first_frame < 10, f"first frame after {first_frame:.1f} s"

    # TensorFlow loads in the background; the status says when it is ready.
    terminal.wait_for(lambda s: "● idle" in s and ("CPU" in s or "GPU" in s), 60, "TensorFlow")

    terminal.press("s")
    screen = terminal.wait_for(
        lambda s: "● training" in s and "run 1: raw_rnn 4 n=5  step" in s, 60, "the live chart"
    )
    assert "lag 3 0.5192" in screen  # a labelled baseline on the chart
    terminal.press("p")
    terminal.wait_for(lambda s: "● paused" in s, 10, "the pause")
    terminal.press("p")
    terminal.wait_for(lambda s: "● training" in s, 10, "the resume")
    terminal.press("x")
    screen = terminal.wait_for(lambda s: "● stopped" in s, 10, "the stop")
    assert "loss 0." in screen and "step " in screen

    terminal.press("3")
    screen = terminal.wait_for(lambda s: "P(Y=1 | X[t-3]=1)" in s, 10, "the data tab")
    assert "Loss levels" in screen

    terminal.press("i")
    screen = terminal.wait_for(lambda s: "NumPy recomputation agrees" in s, 30, "the inspector")
    assert "cell state" in screen and "hidden" in screen

    terminal.press("Escape", "?")
    terminal.wait_for(lambda s: "rnntui — keys" in s, 10, "the help screen")
    terminal.press("Escape")

    # Quit while a second run trains: the worker stops within a chunk and the app exits cleanly.
    terminal.press("s")
    terminal.wait_for(lambda s: "● training" in s and "run 2" in s, 60, "the second run")
    quit_at = time.monotonic()
    terminal.press("q")
    terminal.wait_for(lambda s: "rnntui-exited-0" in s, 15, "a clean exit")
    assert time.monotonic() - quit_at < 5
