"""Sweeps on the local process pool, with real processes, signals and TensorFlow runs.

Configs are tiny (200 windows an epoch) so each sweep is mostly the workers' TensorFlow import.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import statistics
import time
from pathlib import Path

import pytest

from rnntui.cli.sweep import SweepRequest
from rnntui.config import ConfigError, load_preset
from rnntui.runs.folder import RunFolder
from rnntui.runs.metrics import read_metrics
from rnntui.sweep.folder import RunRecord, SweepFolder, results_csv
from rnntui.sweep.grid import expand, parse_grid, split_values
from rnntui.sweep.pool import LocalPool, default_workers, sweep_gpus
from rnntui.sweep.prune import MedianRule
from rnntui.sweep.table import build_table, format_table
from rnntui.sweep.worker import worker_config
from tests.helpers import (
    TINY_ARGS,
    last_json,
    process_gone,
    run_cli,
    sets,
    start_sweep,
    steps_logged,
    sweep_folder,
    wait_for_running,
    wait_until,
)

# ~200 steps an epoch in chunks of 5: slow enough to interrupt, short enough for the suite
SLOW = [*TINY_ARGS, *sets("train.chunk=5", "train.epochs=8")]


def wait_for_state(root: Path, run: str, wanted: str) -> None:
    """Until the sweep's status shows `run` in the state `wanted` (rewritten about once a
    second)."""

    def state() -> str:
        return SweepFolder(sweep_folder(root)).read_status()["runs"][run]["state"]

    wait_until(lambda: state() == wanted, 30, f"{run} to be {wanted}", every=0.1)


def run_status(run: Path) -> dict:
    """The run's own status.json, as its trainer writes it at each change of state."""
    return RunFolder(run).read_status()


# --- the grid, the rule and the table, without TensorFlow -----------------------------------------


def test_grid_values_are_read_as_toml_like_set():
    grid = parse_grid(
        [
            "train.num_steps=2,5,10",
            "model.cell=gru,lstm",
            "task.lags=[[3, 0.5]], [[3, 0.5], [8, -0.25]]",
            "train.learning_rate=1,0.5",
        ]
    )
    assert grid["train.num_steps"] == [2, 5, 10]
    assert grid["model.cell"] == ["gru", "lstm"]
    assert grid["task.lags"] == [[[3, 0.5]], [[3, 0.5], [8, -0.25]]]
    assert grid["train.learning_rate"] == [1.0, 0.5]  # coerced as --set does
    assert split_values('"a,b",c') == ['"a,b"', "c"]


@pytest.mark.parametrize(
    ("texts", "fragment"),
    [
        (
            ["train.num_step=2,5"],
            "--grid: train.num_step: unknown key; did you mean 'train.num_steps'?",
        ),
        (["train.num_steps="], "train.num_steps: '' has an empty value"),
        (["train.num_steps=2,,5"], "has an empty value"),
        (["train.num_steps=2,2"], "train.num_steps: 2 is listed twice"),
        (["train.num_steps=2", "train.num_steps=5"], "given twice"),
        (["train.seed=1,2"], "train.seed: seeds come from --seeds N"),
        (["model.cell=gru,transformer"], "model.cell: 'transformer' is not allowed"),
        (["num_steps"], "is not of the form section.key=v1,v2"),
    ],
)
def test_bad_grids_name_the_key(texts, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_grid(texts)
    assert fragment in str(caught.value)


def test_expansion_is_seed_major_with_stable_names_and_checked_combinations():
    base = load_preset("echo-raw-5")
    grid = parse_grid(["train.num_steps=2,5", "model.cell=rnn,gru"])
    specs = expand(base, grid, seeds=2)
    assert len(specs) == 8
    assert [s.seed for s in specs] == [0, 0, 0, 0, 1, 1, 1, 1]  # every configuration early
    assert specs[0].name == "num_steps=2_cell=rnn_seed=0"
    assert specs[5].name == "num_steps=2_cell=gru_seed=1"
    assert specs[5].config.train.num_steps == 2 and specs[5].config.model.cell == "gru"
    assert specs[5].config.train.seed == 1 and specs[5].config.name == "echo-raw-5"
    assert [s.name for s in expand(base, grid, 2)] == [s.name for s in specs]  # stable
    small = base.copy()
    small.task.size = 20000
    with pytest.raises(ConfigError) as caught:
        expand(small, parse_grid(["train.num_steps=5,200", "train.batch_size=10,200"]), 1)
    assert str(caught.value).startswith(
        "--grid train.num_steps=200, train.batch_size=200: train.batch_size: batch_size 200 x "
        "num_steps 200 is more than the 20000 samples"
    )


def test_the_median_rule_stops_a_clearly_worse_configuration_only():
    rule = MedianRule()
    assert rule.report("a", "a0", 0, 0.52, last=False) is None  # nothing to compare with yet
    assert rule.report("b", "b0", 0, 0.53, last=False) is None  # one other configuration only
    assert rule.report("c", "c0", 0, 0.535, last=False) is None  # within 2 % of the median
    decision = rule.report("d", "d0", 0, 0.66, last=False)
    assert decision == {"epoch": 1, "value": 0.66, "median": 0.53, "seeds": 1}
    assert rule.report("e", "e0", 1, 0.9, last=True) is None  # the last epoch saves nothing


def _record(spec, state, loss=None, failed=None) -> RunRecord:
    summary = None
    if state in ("finished", "failed"):
        summary = {"task": "echo", "final_loss": loss, "steps_per_s": 100.0, "wall_s": 2.0}
        summary["baselines"] = {"nothing learned": 0.6616, "lag 3": 0.5192}
        if failed:
            summary["failed"] = failed
    return RunRecord(spec, Path("/x") / spec.name, state, summary)


def test_the_table_has_mean_and_std_over_seeds_per_configuration():
    specs = expand(load_preset("echo-raw-5"), parse_grid(["train.num_steps=2,5"]), 3)
    by_name = {s.name: s for s in specs}
    records = [
        _record(by_name["num_steps=2_seed=0"], "finished", 0.60),
        _record(by_name["num_steps=2_seed=1"], "finished", 0.64),
        _record(by_name["num_steps=2_seed=2"], "failed", failed="FloatingPointError: nan"),
        _record(by_name["num_steps=5_seed=0"], "finished", 0.52),
        _record(by_name["num_steps=5_seed=1"], "stopped"),
        _record(by_name["num_steps=5_seed=2"], "pruned"),
    ]
    pruned = {"train.num_steps=5": {"epoch": 2}}
    table = build_table("s", "/x", records, pruned, wall_s=12.345)
    first, second = table["rows"]
    assert first["config"] == {"train.num_steps": 2} and first["metric"] == "final_loss"
    assert first["mean"] == pytest.approx(0.62) and first["std"] == pytest.approx(0.0283, abs=1e-4)
    assert (first["seeds"], first["failed"], first["pending"], first["pruned"]) == (2, 1, 0, 0)
    assert first["runs"] == ["num_steps=2_seed=0", "num_steps=2_seed=1", "num_steps=2_seed=2"]
    assert (second["mean"], second["std"], second["seeds"]) == (0.52, 0.0, 1)
    assert (second["pending"], second["pruned"], second["pruned_at_epoch"]) == (1, 1, 2)
    text = format_table(table)
    assert text.splitlines()[1].startswith(
        "num_steps=2  final loss  0.6200 ± 0.0283      2       1"
    )
    assert "≈ lag 3 +0.0008" in text
    assert "pruned at epoch 2" in text and "failed: num_steps=2_seed=2: FloatingPointError" in text
    csv_lines = results_csv(table).splitlines()
    assert csv_lines[0].startswith("train.num_steps,metric,mean,std,seeds,failed,pruned")
    assert csv_lines[1].startswith("2,final_loss,0.62,0.0283,2,1,0,,0,")


def test_a_task_with_a_headline_metric_is_tabulated_by_it():
    (spec,) = expand(load_preset("count-lstm"), parse_grid(["model.state_size=12"]), 1)
    summary = {"task": "count", "final_loss": 3.1, "test_error_pct": 0.19, "steps_per_s": 9.0}
    table = build_table("s", "/x", [RunRecord(spec, Path("/x"), "finished", summary)])
    (row,) = table["rows"]
    assert (row["metric"], row["mean"], row["std"]) == ("test_error_pct", 0.19, 0.0)
    assert "state_size=12  test error  0.19 ± 0.00 %" in format_table(table)


def test_gpus_are_shared_out_one_per_worker(monkeypatch, tmp_path):
    # the GPU path's decisions, without a GPU: what each worker is given
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert sweep_gpus("auto") == ["0", "1"] and sweep_gpus("gpu") == ["0", "1"]
    assert sweep_gpus("gpu:1") == ["1"] and sweep_gpus("cpu") == []
    assert default_workers(["0", "1"]) == 2
    pool = LocalPool(3, tmp_path, gpus=["0", "1"])  # --workers 3 on 2 GPUs: two share GPU 0
    assert [pool.worker_env(i)["CUDA_VISIBLE_DEVICES"] for i in range(3)] == ["0", "1", "0"]
    assert [pool.worker_label(i) for i in range(3)] == ["gpu0-1", "gpu1-2", "gpu0-3"]
    config = load_preset("echo-raw-5")
    config.train.device = "gpu:1"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")  # inside the worker given GPU 1
    assert worker_config(config).train.device == "gpu" and config.train.device == "gpu:1"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert worker_config(config) is config


def test_the_continue_command_repeats_the_sweep():
    request = SweepRequest(
        "echo-raw-5", ["task.lags=[[3, 0.5]]"], seeds=3, ray="local", runs_dir=Path("/d x")
    )
    assert request.continue_command() == (
        "rnntui sweep echo-raw-5 --grid 'task.lags=[[3, 0.5]]' --seeds 3 --ray --runs-dir '/d x'"
    )


# --- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--grid", "train.nums_steps=2,5"],
            "rnntui: --grid: train.nums_steps: unknown key; did you mean 'train.num_steps'?",
        ),
        (
            ["--grid", "train.num_steps=5,1000", "--grid", "train.batch_size=10,30"],
            "rnntui: --grid train.num_steps=1000, train.batch_size=30: train.batch_size: "
            "batch_size 30 x num_steps 1000 is more than the 20000 samples",
        ),
        (["--grid", "train.num_steps="], "rnntui: --grid: train.num_steps: '' has an empty value"),
        ([], "rnntui: --grid: nothing to sweep; give --grid KEY=V1,V2,..."),
        (["--seeds", "3", "--workers", "0"], "rnntui: --workers: 0 is not allowed; use 1 or more"),
        (["--seeds", "0"], "rnntui: --seeds: 0 is not allowed; use 1 or more seeds"),
    ],
)
def test_bad_sweeps_exit_2_with_one_line_before_anything_runs(tmp_path, args, message):
    result = run_cli("sweep", "echo-raw-5", *TINY_ARGS, *args, "--runs-dir", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_sweep_runs_every_combination_and_seed_and_reruns_for_free(tmp_path):
    args = ["echo-raw-5", *TINY_ARGS, "--grid", "train.num_steps=2,5", "--seeds", "2"]
    result = run_cli("sweep", *args, "--workers", "2", "--runs-dir", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    table = last_json(result.stdout)
    folder = sweep_folder(tmp_path)
    assert table["folder"] == str(folder) and table["sweep"] == folder.name
    assert [row["config"] for row in table["rows"]] == [
        {"train.num_steps": 2},
        {"train.num_steps": 5},
    ]
    for row in table["rows"]:
        steps = row["config"]["train.num_steps"]
        assert row["runs"] == [f"num_steps={steps}_seed=0", f"num_steps={steps}_seed=1"]
        assert (row["seeds"], row["failed"], row["metric"]) == (2, 0, "final_loss")
        losses = []
        for name in row["runs"]:
            run = folder / "runs" / name
            summary = json.loads((run / "summary.json").read_text())
            assert summary["steps"] == 20000 // 20 // steps and not summary["stopped"]
            assert summary["run"] == str(run)
            assert len(read_metrics(run / "metrics.jsonl")) == summary["steps"]
            assert (run / "checkpoint.npz").exists()
            losses.append(summary["final_loss"])
        assert row["mean"] == pytest.approx(statistics.fmean(losses), abs=1e-4)
        assert row["std"] == pytest.approx(statistics.stdev(losses), abs=1e-4)
    assert (folder / "results.csv").read_text().count("\n") == 3
    assert json.loads((folder / "results.json").read_text())["rows"] == table["rows"]
    assert "train.num_steps" in (folder / "sweep.toml").read_text()

    # a run of the sweep is the run `rnntui train` makes of the same settings
    single = run_cli(
        "train", "echo-raw-5", *TINY_ARGS, "--set", "train.num_steps=5", "--set", "train.seed=1",
        "--runs-dir", str(tmp_path / "single"), "--json",
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    swept = json.loads((folder / "runs" / "num_steps=5_seed=1" / "summary.json").read_text())
    assert last_json(single.stdout)["final_loss"] == pytest.approx(swept["final_loss"], rel=1e-6)

    listed = run_cli("runs", "--runs-dir", str(folder / "runs"))
    assert len(listed.stdout.splitlines()) == 4 and "loss 0." in listed.stdout
    sweeps = run_cli("sweeps", "--runs-dir", str(tmp_path))
    assert folder.name in sweeps.stdout and "4/4 done" in sweeps.stdout

    # the same sweep again: everything has ended, nothing runs (no TensorFlow import)
    stamp = (folder / "runs" / "num_steps=2_seed=0" / "summary.json").stat().st_mtime_ns
    started = time.monotonic()
    again = run_cli("sweep", *args, "--runs-dir", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert time.monotonic() - started < 15
    assert "all 4 run(s) already ended" in again.stderr
    assert "num_steps=2  final loss" in again.stdout
    assert (folder / "runs" / "num_steps=2_seed=0" / "summary.json").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_ctrl_c_stops_every_worker_with_checkpoints_and_the_sweep_continues(tmp_path):
    # 4,800 steps a run. Each run is paused (as the app pauses a run it follows) once it has
    # logged steps and held there until Ctrl+C: however loaded the machine, neither can end
    # first (a run that finished before the Ctrl+C failed this test under load)
    longer = [*SLOW, "--set", "train.epochs=24"]
    args = ["echo-raw-5", *longer, "--seeds", "2", "--workers", "2", "--runs-dir", str(tmp_path)]
    # its own process group: Ctrl+C in a terminal signals the sweep and its workers alike
    process = start_sweep(args, start_new_session=True)
    wait_until(lambda: list(tmp_path.glob("*/sweep.toml")), 60, "the sweep's folder")
    folder = sweep_folder(tmp_path)
    runs = [folder / "runs" / "seed=0", folder / "runs" / "seed=1"]
    pids: dict[str, int] = {}

    def pause_each_once_it_trains() -> bool:
        assert process.poll() is None, process.communicate()[1]
        for run in runs:
            if run.name not in pids and steps_logged(run):
                pids[run.name] = run_status(run)["pid"]  # the worker training it
                os.kill(pids[run.name], signal.SIGUSR1)
        return len(pids) == len(runs)

    wait_until(pause_each_once_it_trains, 180, "both runs to train", every=0.02)
    for run in runs:
        wait_until(lambda run=run: run_status(run)["state"] == "paused", 30, f"{run.name} paused")
    sent = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert time.monotonic() - sent < 10, "stopping took too long"
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    command = stderr.strip().splitlines()[-1].split("Continue with: ")[1]
    assert command == shlex.join(["rnntui", "sweep", *args])
    assert "not finished" in stdout
    assert all(process_gone(pid) for pid in pids.values()), "a worker outlived the sweep"
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        assert summary["stopped"] is True and summary["steps"] > 0
        assert RunFolder(run).read_checkpoint().step == summary["steps"]
        assert len(read_metrics(run / "metrics.jsonl")) == summary["steps"]

    # the same command continues; a damaged checkpoint fails its own run only
    (runs[1] / "checkpoint.npz").write_bytes(b"not a checkpoint")
    resumed = run_cli(*shlex.split(command)[1:], "--json")
    assert resumed.returncode == 1, resumed.stderr
    (row,) = last_json(resumed.stdout)["rows"]
    assert (row["seeds"], row["failed"], row["pending"]) == (1, True, 0)
    assert list(row["errors"]) == ["seed=1"]
    steps = [r["step"] for r in read_metrics(runs[0] / "metrics.jsonl")]
    assert steps == list(range(1, 24 * 200 + 1))  # the resumed curve has no gap or repeat


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_its_run_resumes_from_its_checkpoint(tmp_path):
    # 12,800 steps a run (5 s on a quiet machine): time to pause, resume and kill it mid-way
    longer = [*SLOW, "--set", "train.epochs=64"]
    args = ["echo-raw-5", *longer, "--seeds", "2", "--workers", "2", "--runs-dir", str(tmp_path)]
    process = start_sweep([*args, "--json"])
    victim, pid = wait_for_running(tmp_path, process, steps=300, checkpoint=True)
    run = sweep_folder(tmp_path) / "runs" / victim
    # a run of a sweep obeys what the app sends a run it follows: pause, then resume
    os.kill(pid, signal.SIGUSR1)
    wait_for_state(tmp_path, victim, "paused")
    assert run_status(run)["state"] == "paused"  # the run's own
    os.kill(pid, signal.SIGUSR2)
    wait_until(lambda: run_status(run)["state"] == "training", 30, "the run's own resume")
    wait_for_state(tmp_path, victim, "running")
    saved = RunFolder(run).read_checkpoint().step
    before = read_metrics(run / "metrics.jsonl")
    os.kill(pid, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr
    (row,) = last_json(stdout)["rows"]
    assert (row["seeds"], row["failed"], row["pending"]) == (2, 0, 0)
    assert SweepFolder(sweep_folder(tmp_path)).read_status()["runs"][victim]["pid"] != pid
    after = read_metrics(run / "metrics.jsonl")
    assert [r["step"] for r in after] == list(range(1, 12801))
    # resumed, not restarted: the steps up to the checkpoint are the very rows logged before the
    # kill (a fresh start would have logged them again, at other wall times)
    assert saved >= 200 and after[:saved] == before[:saved]


@pytest.mark.slow
def test_prune_stops_the_clearly_worse_configuration(tmp_path):
    result = run_cli(
        # 12 short epochs in 5-window calls: long enough that the prune reaches a running seed
        # (3 epochs of the bad configuration could end before the median rule's message came)
        "sweep", "echo-raw-5", *SLOW, "--set", "train.epochs=12",
        "--grid", "train.learning_rate=0.3,0.2,0.000001", "--seeds", "2", "--workers", "2",
        "--prune", "--runs-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    good, also_good, bad = last_json(result.stdout)["rows"]
    assert (bad["pruned"], bad["pruned_at_epoch"], bad["seeds"]) == (2, 1, 0)
    assert (good["seeds"], good["pruned"]) == (2, 0)
    assert also_good["pruned"] == 0
    pruned = json.loads((sweep_folder(tmp_path) / "pruned.json").read_text())
    assert (
        pruned["train.learning_rate=1e-06"]["value"] > pruned["train.learning_rate=1e-06"]["median"]
    )
    assert "pruned at epoch 1" in format_table(last_json(result.stdout))
