"""Runs that outlive their terminal: detached runs, following them, the event pipe, devices."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnntui.config import Config, apply_overrides, load_preset
from rnntui.engine.events import (
    EpochEnd,
    Failed,
    Finished,
    GradientReach,
    KnobChanged,
    LagEffect,
    Paused,
    ProbeResult,
    Progress,
    Resumed,
    Started,
    decode,
    encode,
)
from rnntui.engine.trainer import Trainer
from rnntui.runs.folder import RunFolder
from rnntui.runs.listing import list_runs
from rnntui.runs.metrics import read_metrics
from rnntui.runs.store.opening import has_metrics
from rnntui.runtime.device_setting import DeviceError, choose_gpus
from rnntui.sessions.pipe import EventWriter, read_events
from rnntui.tasks.base import Baseline
from tests.conftest import run_cli
from tests.test_tui_runs import process_gone

# long enough to be followed, paused and stopped; a test always stops it
ENDLESS = [
    "--set", "task.size=200000",
    "--set", "train.batch_size=20",
    "--set", "train.chunk=5",
    "--epochs", "50",
]  # fmt: skip


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def steps_logged(run: Path) -> int:
    path = run / "metrics.jsonl"
    return len(read_metrics(path)) if has_metrics(run) else 0


def alive(pid: int) -> bool:
    return not process_gone(pid)


def start_detached(runs_dir: Path) -> tuple[Path, int]:
    result = run_cli("train", "echo-raw-5", *ENDLESS, "--detach", "--runs-dir", str(runs_dir))
    assert result.returncode == 0, result.stderr
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    pid = int(result.stdout.split("(pid ")[1].split(")")[0])
    assert f"rnntui --attach {run.name} --runs-dir {runs_dir}" in result.stdout
    return run, pid


# --- detach --------------------------------------------------------------------------------------


def test_a_detached_run_survives_its_launching_shell_being_killed(tmp_path):
    # A shell launches the run and lingers, as a login shell over SSH does; then the whole
    # session is hung up and killed, as a dropped connection does.
    command = (
        f"{sys.executable} -m rnntui train echo-raw-5 {' '.join(ENDLESS)} --detach "
        f"--runs-dir {tmp_path} > {tmp_path}/launch.txt 2>&1; sleep 60"
    )
    shell = subprocess.Popen(["bash", "-c", command], start_new_session=True)
    wait_until(
        lambda: (
            "(pid " in (tmp_path / "launch.txt").read_text()
            if (tmp_path / "launch.txt").exists()
            else False
        ),
        60,
        "the launch",
    )
    pid = int((tmp_path / "launch.txt").read_text().split("(pid ")[1].split(")")[0])
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    os.killpg(shell.pid, signal.SIGHUP)
    os.killpg(shell.pid, signal.SIGKILL)
    shell.wait(10)
    try:
        wait_until(lambda: steps_logged(run) > 0, 60, "the first steps")
        before = steps_logged(run)
        wait_until(lambda: steps_logged(run) > before + 100, 30, "training to go on")
        assert alive(pid)
        (row,) = list_runs(tmp_path)
        assert row.live_pid == pid and row.live_state == "training"
        listing = run_cli("runs", "--runs-dir", str(tmp_path))
        assert f"● training (pid {pid})" in listing.stdout
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not alive(pid), 30, "the run to stop")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped"] is True and summary["steps"] > before
    assert RunFolder(run).read_checkpoint().step == summary["steps"]
    assert RunFolder(run).live_owner() is None
    assert "● " not in run_cli("runs", "--runs-dir", str(tmp_path)).stdout


def test_a_device_the_machine_lacks_is_refused_in_one_line(tmp_path):
    result = run_cli("train", "echo-raw-5", "--device", "gpu:3", "--runs-dir", str(tmp_path))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("rnntui: train.device: gpu:3 asked for")
    assert list(tmp_path.iterdir()) == []  # nothing was made
    bad = run_cli("train", "echo-raw-5", "--set", "train.device=tpu", "--check")
    assert bad.returncode == 2 and "use auto, cpu, gpu or gpu:N" in bad.stderr


def test_device_choice_rules():
    gpus = ["GPU:0", "GPU:1"]  # what TensorFlow lists on a two-GPU box (names only matter)
    assert choose_gpus("auto", gpus) == ["GPU:0"]
    assert choose_gpus("auto", []) == []
    assert choose_gpus("cpu", gpus) == []
    assert choose_gpus("gpu", gpus) == ["GPU:0"]
    assert choose_gpus("gpu:1", gpus) == ["GPU:1"]
    with pytest.raises(DeviceError, match="this machine has 2 GPU"):
        choose_gpus("gpu:2", gpus)
    with pytest.raises(DeviceError, match="sees no GPU"):
        choose_gpus("gpu", [])
    with pytest.raises(DeviceError, match="is not a device"):
        choose_gpus("cuda", gpus)


# --- the event pipe ------------------------------------------------------------------------------


def test_events_survive_the_pipe_unchanged():
    weights = (np.ones((2, 16), np.float32), np.zeros((4, 16), np.float32), np.arange(16.0))
    events = [
        Started("CPU", 100, 10, (Baseline("lag 3", 0.5192),), 0),
        Progress(5, 0, 100, (0.7, 0.6, math.nan), 100.0, math.inf, 0.5, 600.0),
        EpochEnd(0, 10, {"tail_loss": 0.6, "test_error_pct": 1.5}),
        Paused(10),
        Resumed(10),
        Finished(True, {"steps": 10, "final_loss": None}, weights),
        Failed("FloatingPointError: loss became nan at step 9", 8),
        KnobChanged(40, "learning_rate", 0.01),
        ProbeResult(
            50,
            (LagEffect(1, 0.01, 0.0), LagEffect(3, 0.45, 0.5)),
            (GradientReach(0, 0.2, 0.2), GradientReach(6, 0.0, 0.03)),
            num_steps=5,
            cost_s=0.002,
        ),
    ]
    for event in events:
        back = decode(encode(event))
        assert type(back) is type(event)
        if isinstance(event, Progress):
            assert back.losses[:2] == event.losses[:2] and math.isnan(back.losses[2])
            assert back.eta_s == math.inf and back.memory_mb == 600.0
        elif isinstance(event, Finished):
            assert back.summary == event.summary
            assert all(
                np.array_equal(a, b) for a, b in zip(back.lstm_weights, weights, strict=True)
            )
        else:
            assert back == event


def test_the_writer_batches_progress_and_thins_epoch_ends(tmp_path):
    config = apply_overrides(
        load_preset("count-lstm"), ["train.epochs=300", "train.eval_every=100"]
    )
    path = tmp_path / "events.jsonl"
    with open(path, "w", encoding="utf-8") as stream:
        writer = EventWriter(stream)
        trainer = Trainer(config, writer)
        trainer.run()
        writer.close()
    received: list = []
    with open(path, encoding="utf-8") as stream:
        read_events(stream, received.append)
    progress = [e for e in received if isinstance(e, Progress)]
    # every step arrives, in order, in far fewer events than the 300 epochs
    assert [loss for p in progress for loss in p.losses] == pytest.approx(trainer.losses)
    assert len(received) < 150
    evaluated = [e.epoch for e in received if isinstance(e, EpochEnd) and len(e.metrics) > 1]
    assert evaluated == [99, 199, 299]  # epoch ends with a fresh test error are never dropped
    assert isinstance(received[-1], Finished)


# --- several epochs per call ---------------------------------------------------------------------


def test_short_epochs_share_a_compiled_call_without_changing_the_math():
    base = apply_overrides(load_preset("count-lstm"), ["train.epochs=60", "train.eval_every=20"])
    one = Trainer(apply_overrides(base, ["train.chunk=5"]))  # one 5-window epoch a call
    one.run()
    packed = Trainer(apply_overrides(base, ["train.chunk=100"]))
    packed.run()
    assert packed.compiled.calls == 3 and one.compiled.calls == 60  # 20 epochs a call
    np.testing.assert_allclose(packed.losses, one.losses, rtol=1e-5, atol=1e-6)
    assert packed.summary["test_error_pct"] == one.summary["test_error_pct"]
    assert packed.summary["final_loss"] == pytest.approx(one.summary["final_loss"], rel=1e-5)


# --- the app follows a run it did not start ---------------------------------------------------


def test_the_app_follows_a_headless_run_pauses_resumes_and_stops_it(tmp_path):
    from rnntui.sessions.followed import FollowedSession
    from rnntui.tui.app import RnnTuiApp
    from rnntui.tui.screens.run_picker import RunPicker
    from tests.test_tui import run, wait_for

    folder, pid = start_detached(tmp_path)
    wait_until(lambda: RunFolder(folder).live_owner() == pid, 60, "the run to start")
    app = RnnTuiApp(Config(), preset_name="echo-raw-5", runs_dir=tmp_path)
    app.exit_watchdog = False

    async def scenario(app, pilot):
        await pilot.press("a")  # the live runs
        await wait_for(pilot, lambda: isinstance(app.screen, RunPicker), 10, "the run picker")
        await pilot.pause(0.2)
        assert [row.live_pid for row in app.screen.rows] == [pid]
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.chart.losses) > 0, 60, "the run's steps")
        assert isinstance(app.desk.session, FollowedSession) and app.desk.session.pid == pid
        seen = len(app.chart.losses)
        await wait_for(pilot, lambda: len(app.chart.losses) > seen + 100, 30, "more steps")
        assert app.state == "training" and app.status.step == len(app.chart.losses)

        await pilot.press("p")
        await wait_for(pilot, lambda: app.state == "paused", 20, "the pause")
        logged = steps_logged(folder)
        await pilot.pause(0.6)
        assert steps_logged(folder) == logged  # the other process really waits
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state == "training", 20, "the resume")
        await wait_for(pilot, lambda: steps_logged(folder) > logged, 20, "steps after resuming")

        await pilot.press("x")
        await wait_for(pilot, lambda: app.state == "stopped", 30, "the stop")

    try:
        run(scenario, app)
        wait_until(lambda: not alive(pid), 30, "the trainer to exit")
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["stopped"] is True
    assert RunFolder(folder).read_checkpoint().step == summary["steps"] == steps_logged(folder)
    assert len(app.chart.losses) == summary["steps"]  # every logged step reached the chart


def test_quitting_the_app_leaves_a_followed_run_training(tmp_path):
    from rnntui.tui.app import RnnTuiApp
    from tests.test_tui import run, wait_for

    folder, pid = start_detached(tmp_path)
    wait_until(lambda: RunFolder(folder).live_owner() == pid, 60, "the run to start")
    app = RnnTuiApp(Config(), preset_name="echo-raw-5", runs_dir=tmp_path, attach=folder.name)

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: len(app.chart.losses) > 0, 60, "the run's steps")
        await pilot.press("q")

    try:
        run(scenario, app)
        assert app.exit_note == ""
        before = steps_logged(folder)
        wait_until(lambda: steps_logged(folder) > before + 50, 30, "training to go on")
        assert alive(pid)
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not alive(pid), 30, "the run to stop")
