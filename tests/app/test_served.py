"""The app as a tab of `rnntui serve` (`detach_runs`): its runs outlive it, and it opens on the
runs training now. The real app under Textual's pilot, with a real training process."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from rnntui.config import apply_overrides, load_preset
from rnntui.runs.listing import list_runs
from rnntui.runs.metrics import read_metrics
from rnntui.runs.store.opening import has_metrics
from rnntui.sessions.child import ChildSession
from rnntui.sessions.followed import FollowedSession
from rnntui.sessions.spawn import APP_CHILD_NICE
from rnntui.tui.app import RnnTuiApp
from rnntui.tui.screens.run_picker import RunPicker

# long enough to outlive the first app and be followed by the second; the test stops it
ENDLESS = ["task.size=200000", "train.batch_size=20", "train.chunk=5", "train.epochs=50"]


def run(scenario: Callable, app: RnnTuiApp) -> None:
    async def main() -> None:
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await scenario(app, pilot)

    asyncio.run(main())


async def wait_for(pilot, condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """Running, not a zombie (a trainer is not this process's child, but to be sure)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def steps_logged(run: Path) -> int:
    path = run / "metrics.jsonl"
    return len(read_metrics(path)) if has_metrics(run) else 0


def test_a_served_app_leaves_its_run_training_and_the_next_opens_on_it(tmp_path):
    config = apply_overrides(load_preset("echo-raw-5"), ENDLESS)
    first = RnnTuiApp(config, preset_name="echo-raw-5", runs_dir=tmp_path, detach_runs=True)
    first.exit_watchdog = False

    async def start_and_quit(app, pilot):
        await pilot.press("s")
        await wait_for(pilot, lambda: len(app.chart.losses) > 0, 90, "the run's steps")
        assert isinstance(app.desk.session, ChildSession)
        # the app's child yields to the app's UI (niced by the child itself, see spawn.py)
        assert (
            os.getpriority(os.PRIO_PROCESS, app.desk.session.pid)
            == os.getpriority(os.PRIO_PROCESS, 0) + APP_CHILD_NICE
        )
        await pilot.press("q")

    run(start_and_quit, first)
    (row,) = list_runs(tmp_path)
    trainer = row.live_pid
    try:
        assert trainer == first.desk.session.pid and alive(trainer)  # quitting stopped nothing
        assert first.exit_note == f"rnntui: {row.name} trains on (pid {trainer})"
        assert first.desk.training_done.is_set()  # nothing waits for a run that goes on
        logged = steps_logged(row.path)
        wait_until(lambda: steps_logged(row.path) > logged + 20, 30, "training to go on")

        second = RnnTuiApp(config, preset_name="echo-raw-5", runs_dir=tmp_path, detach_runs=True)
        second.exit_watchdog = False

        async def follow(app, pilot):
            await wait_for(pilot, lambda: isinstance(app.screen, RunPicker), 10, "the live runs")
            assert [info.name for info in app.screen.rows] == [row.name]
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(app.chart.losses) > 0, 30, "the followed steps")
            assert isinstance(app.desk.session, FollowedSession) and app.desk.session.pid == trainer
            await pilot.press("q")

        run(follow, second)
        assert alive(trainer)
    finally:
        os.kill(trainer, signal.SIGTERM)
        wait_until(lambda: not alive(trainer), 30, "the run to stop")
