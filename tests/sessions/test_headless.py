"""Headless runs (`rnntui train`) in real processes: signal or kill one mid-run, resume it and
compare curves; a failing run keeps its last good checkpoint; `rnntui runs` lists the folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnntui.config import load_preset
from rnntui.engine.events import EpochEnd, Failed
from rnntui.engine.trainer import Trainer
from rnntui.runs.folder import RunFolder
from rnntui.runs.listing import list_runs
from rnntui.runs.metrics import read_metrics
from rnntui.runs.store.events import Mark
from rnntui.runs.store.opening import has_metrics, open_metrics
from tests.helpers import only_run, run_cli, sets, tiny, wait_until

# 20,000 small steps in epochs of 2,000: long enough to interrupt, short enough for the suite.
# The tests wait on the metrics store, flushed once a second and at each epoch's checkpoint: at
# CI's ~6,000 steps/s a run of 8,000 steps could end before the signal landed.
SLOW = [*sets("task.size=200000", "train.batch_size=20", "train.chunk=5"), "--epochs", "10"]


def metric_rows(run_dir: Path) -> list[dict]:
    return read_metrics(run_dir / "metrics.jsonl") if has_metrics(run_dir) else []


def logged(root: Path) -> int:
    """Steps logged by the run in `root` (0 before it has a folder)."""
    runs = [p for p in root.iterdir() if p.is_dir()]
    return len(metric_rows(runs[0])) if runs else 0


def start_slow_run(runs_dir: Path, **popen: Any) -> subprocess.Popen:
    """The real `rnntui train` on the SLOW config, in the background."""
    command = [sys.executable, "-m", "rnntui", "train", "echo-raw-5", *SLOW]
    return subprocess.Popen([*command, "--runs-dir", str(runs_dir)], **popen)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> list[float]:
    root = tmp_path_factory.mktemp("full")
    result = run_cli("train", "echo-raw-5", *SLOW, "--runs-dir", str(root), "--json")
    assert result.returncode == 0, result.stderr
    return [row["loss"] for row in metric_rows(only_run(root))]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_checkpoints_and_the_resumed_curve_continues(tmp_path, uninterrupted, signum):
    process = start_slow_run(tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # mid-way through epoch 2
    wait_until(lambda: logged(tmp_path) >= 2500, 120, "2,500 steps logged", every=0.1)
    sent = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - sent < 5, "the process took too long to stop"
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    run = only_run(tmp_path)
    assert f"rnntui train --resume {run.name}" in stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped"] is True
    stopped_at = summary["steps"]
    assert 2500 <= stopped_at < len(uninterrupted)
    assert len(metric_rows(run)) == stopped_at  # every step up to the checkpoint is logged

    resumed = run_cli("train", "--resume", run.name, "--runs-dir", str(tmp_path), "--json")
    assert resumed.returncode == 0, resumed.stderr
    rows = metric_rows(run)
    assert [row["step"] for row in rows] == list(range(1, len(uninterrupted) + 1))
    # same seed: the resumed curve is the uninterrupted one
    np.testing.assert_allclose([row["loss"] for row in rows], uninterrupted, rtol=1e-4, atol=1e-5)
    assert json.loads(resumed.stdout.splitlines()[-1])["steps"] == len(uninterrupted)


@pytest.mark.slow
def test_sigkill_mid_run_leaves_a_loadable_checkpoint(tmp_path):
    process = start_slow_run(tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    saved = lambda: any(tmp_path.glob("*/checkpoint.npz")) and logged(tmp_path) > 2100  # noqa: E731
    wait_until(saved, 120, "a checkpoint and 2,100 steps")
    process.kill()
    process.wait(30)
    run = RunFolder(only_run(tmp_path))
    checkpoint = run.read_checkpoint()  # never torn: written to a temp name and renamed
    assert checkpoint.step % 2000 == 0 and checkpoint.window == 0
    resumed = run_cli("train", "--resume", str(run.path), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert [row["step"] for row in metric_rows(run.path)] == list(range(1, 20001))


def test_runs_lists_runs_and_reports_damage(tmp_path):
    good = run_cli(
        "train", "count-lstm", "--epochs", "2", "--set", "train.eval_every=1",
        "--runs-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert good.returncode == 0, good.stderr
    damaged = tmp_path / "20200101-000000-broken"
    damaged.mkdir()
    (damaged / "config.toml").write_text(load_preset("echo-raw-5").to_toml())
    (damaged / "summary.json").write_text('{"steps": 12, "final_lo')  # torn by a crash
    garbage = tmp_path / "20200101-000001-garbage"
    garbage.mkdir()
    (garbage / "config.toml").write_text("[[[")
    result = run_cli("runs", "--runs-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert "broken" in lines[0] and "damaged: summary.json unreadable" in lines[0]
    assert "garbage" in lines[1] and "damaged" in lines[1]
    assert "count-lstm" in lines[2] and "10" in lines[2] and "test error" in lines[2]


def test_nan_keeps_the_last_good_checkpoint(tmp_path):
    config = tiny("train.epochs=3", chunk=10)
    run = RunFolder.create(config, tmp_path)
    events: list = []

    def on_event(event):
        events.append(event)
        if isinstance(event, EpochEnd) and event.epoch == 0:  # after epoch 0's checkpoint
            weights = trainer.compiled.variables[0]
            weights.assign(weights * float("nan"))

    trainer = Trainer(config, on_event, run=run)
    trainer.run()
    assert isinstance(events[-1], Failed)
    assert "loss became nan at step 201" in events[-1].message
    checkpoint = run.read_checkpoint()
    assert (checkpoint.epoch, checkpoint.window, checkpoint.step) == (1, 0, 200)
    assert all(np.isfinite(w).all() for w in checkpoint.weights)
    assert "loss became nan" in run.read_summary()["failed"]


def test_tensorboard_scalars_are_written(tmp_path):
    result = run_cli(
        "train", "echo-raw-5", "--set", "task.size=20000", "--set", "train.batch_size=20",
        "--tensorboard", "--runs-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = list((only_run(tmp_path) / "tb").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 100


def test_a_config_too_big_for_memory_is_refused_before_allocating(tmp_path):
    result = run_cli(
        "train", "echo-raw-5", "--set", "task.size=90000000000", "--runs-dir", str(tmp_path)
    )
    assert result.returncode == 2
    assert result.stderr.startswith("rnntui: task.size: one epoch of data needs about ")
    assert "GiB" in result.stderr and result.stderr.count("\n") == 1
    assert list_runs(tmp_path) == []


def test_resume_of_a_missing_run_is_one_line(tmp_path):
    result = run_cli("train", "--resume", "nope", "--runs-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("rnntui: --resume: no run folder 'nope'")
    assert os.listdir(tmp_path) == []


def test_metrics_rows_are_kept_as_float32_with_where_the_run_was(tmp_path):
    """Each step's loss is kept as the float32 TensorFlow computed it; the epoch and training
    time are kept in marks (the latest at each flush)."""
    run = RunFolder.create(load_preset("echo-raw-5"), tmp_path)
    losses = [0.5, 1e-9, 1.2345678901234567, 3.0, 12345678.9]
    run.append_metrics(3, 1, losses, 1.23456)
    run.append_metrics(8, 2, [0.25], 2.0)
    run.flush()
    rows = read_metrics(run.path / "metrics.jsonl")
    assert [row["step"] for row in rows] == [4, 5, 6, 7, 8, 9]  # steps 1-3 were not logged
    assert [row["loss"] for row in rows] == [float(np.float32(v)) for v in [*losses, 0.25]]
    with open_metrics(run.path) as reader:
        assert reader.last_mark() == Mark(9, 2, 2.0)
