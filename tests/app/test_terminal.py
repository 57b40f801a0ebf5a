"""The real `rnntui` in a real terminal (tmux): start it, press keys, read the screen.

This is what a user over SSH sees. It runs the installed console script (or `python -m rnntui`)
in a private tmux server sized 80x24, trains a tiny echo run and walks the panes.
"""

from __future__ import annotations

import time

import pytest

from tests.helpers import Terminal, needs_tmux, rnntui_command, sets

pytestmark = needs_tmux

# About 60,000 steps: long enough to pause, stop and quit while it trains.
LONG_RUN = sets("task.size=6000000", "train.batch_size=20", "train.chunk=20")


@pytest.fixture
def terminal():
    term = Terminal("main", 80, 24)
    yield term
    term.close()


@pytest.mark.slow
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
