"""The app follows a run it did not start (a detached `rnntui train`): it shows the run's steps,
pauses, resumes and stops it, and quitting leaves it training."""

from __future__ import annotations

import json
import os
import signal

from rnntui.config import Config
from rnntui.runs.folder import RunFolder
from rnntui.sessions.followed import FollowedSession
from rnntui.tui.app import RnnTuiApp
from rnntui.tui.screens.run_picker import RunPicker
from tests.helpers import process_gone, run_app, start_detached, steps_logged, wait_for, wait_until


def test_the_app_follows_a_headless_run_pauses_resumes_and_stops_it(tmp_path):
    folder, pid = start_detached(tmp_path)
    run = RunFolder(folder)
    wait_until(lambda: run.live_owner() == pid, 60, "the run to start")
    app = RnnTuiApp(Config(), preset_name="echo-raw-5", runs_dir=tmp_path)
    app.exit_watchdog = False

    async def scenario(app, pilot):
        await pilot.press("a")  # the live runs
        await wait_for(pilot, lambda: isinstance(app.screen, RunPicker), 10, "the run picker")
        await wait_for(pilot, lambda: app.screen.rows, 10, "the live runs listed")
        assert [row.live_pid for row in app.screen.rows] == [pid]
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.chart.losses) > 0, 60, "the run's steps")
        assert isinstance(app.desk.session, FollowedSession) and app.desk.session.pid == pid
        seen = len(app.chart.losses)
        await wait_for(pilot, lambda: len(app.chart.losses) > seen + 100, 30, "more steps")
        assert app.state == "training" and app.status.step == len(app.chart.losses)

        await pilot.press("p")
        await wait_for(pilot, lambda: app.state == "paused", 20, "the pause")
        # the other process really waits: it saved every step up to where it paused
        status = run.read_status()
        assert status["state"] == "paused" and status["pid"] == pid
        held = status["step"]
        assert run.read_checkpoint().step == held
        every = lambda: steps_logged(folder) == list(range(1, held + 1))  # noqa: E731
        await wait_for(pilot, every, 10, "every step up to the pause logged")  # flushed next
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state == "training", 20, "the resume")
        after = lambda: len(steps_logged(folder)) > held  # noqa: E731
        await wait_for(pilot, after, 20, "steps after resuming")
        # and went on from the very step it paused at: nothing ran while it was paused
        status = run.read_status()
        assert (status["state"], status["step"]) == ("training", held)

        await pilot.press("x")
        await wait_for(pilot, lambda: app.state == "stopped", 30, "the stop")

    try:
        run_app(scenario, app)
        wait_until(lambda: process_gone(pid), 30, "the trainer to exit")
    finally:
        if not process_gone(pid):
            os.kill(pid, signal.SIGKILL)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["stopped"] is True
    assert RunFolder(folder).read_checkpoint().step == summary["steps"] == len(steps_logged(folder))
    assert len(app.chart.losses) == summary["steps"]  # every logged step reached the chart


def test_quitting_the_app_leaves_a_followed_run_training(tmp_path):
    folder, pid = start_detached(tmp_path)
    wait_until(lambda: RunFolder(folder).live_owner() == pid, 60, "the run to start")
    app = RnnTuiApp(Config(), preset_name="echo-raw-5", runs_dir=tmp_path, attach=folder.name)

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: len(app.chart.losses) > 0, 60, "the run's steps")
        await pilot.press("q")

    try:
        run_app(scenario, app)
        assert app.exit_note == ""
        before = len(steps_logged(folder))
        wait_until(lambda: len(steps_logged(folder)) > before + 50, 30, "training to go on")
        assert not process_gone(pid)
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: process_gone(pid), 30, "the run to stop")
