"""Sweeps on the local process pool, with real processes, signals and TensorFlow runs.

Configs are tiny (200 windows an epoch) so each sweep is mostly the workers' TensorFlow import.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import statistics
import time
from pathlib import Path

import pytest

from rnntui.cli.sweep import SweepRequest, run_sweep
from rnntui.config import ConfigError, apply_overrides, load_preset
from rnntui.runs.folder import RunFolder
from rnntui.runs.metrics import read_metrics
from rnntui.sweep import ceiling
from rnntui.sweep.folder import Job, RunRecord, SweepFolder, results_csv
from rnntui.sweep.grid import expand, parse_grid, split_values
from rnntui.sweep.pool import LocalPool, default_workers, sweep_gpus
from rnntui.sweep.prune import MedianRule
from rnntui.sweep.schedule import Schedule, estimate_seconds
from rnntui.sweep.table import build_table, fewer_workers, format_table
from rnntui.sweep.worker import worker_config
from tests.helpers import (
    TINY_ARGS,
    handed_order,
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
    assert (second["mean"], second["std"], second["seeds"]) == (0.52, None, 1)  # issue 23
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
    assert (row["metric"], row["mean"], row["std"]) == ("test_error_pct", 0.19, None)
    assert "state_size=12  test error  0.19 ± – %" in format_table(table)


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


def test_estimates_grow_with_steps_and_model_size():
    def estimate(*sets: str) -> float:
        return estimate_seconds(apply_overrides(load_preset("echo-raw-10"), list(sets)))

    base = estimate("train.epochs=40")
    # the quiet-box figures: 3.8 s with state 16, 2.5 s with state 4
    assert base / estimate("train.epochs=40", "model.state_size=4") == pytest.approx(
        3.8 / 2.5, 0.15
    )
    assert estimate("train.epochs=80") > 1.9 * base - 1  # steps
    assert estimate("train.epochs=40", "model.state_size=64") > base  # model size
    assert estimate("train.epochs=40", "model.cell=lstm") > estimate(
        "train.epochs=40", "model.cell=rnn"
    )
    # the same samples in ten times the windows: each window's steps cost more than its size
    assert estimate("train.epochs=40", "train.batch_size=20") > 2 * base
    config = apply_overrides(load_preset("echo-raw-10"), ["train.epochs=40"])
    assert estimate_seconds(config, steps_done=10_000) < 0.6 * base  # a resumed run: what is left


def _jobs(preset: str, grid: list[str], seeds: int, *sets: str) -> list[Job]:
    specs = expand(apply_overrides(load_preset(preset), list(sets)), parse_grid(grid), seeds)
    return [Job(s.name, f"/x/{s.name}", s.config, False, s.label, s.seed) for s in specs]


def test_runs_are_handed_out_longest_first_and_the_order_is_refined_as_runs_finish():
    jobs = _jobs("echo-raw-5", ["train.epochs=1,3", "model.state_size=4,16"], 2)
    estimates = {job.name: estimate_seconds(job.config) for job in jobs}
    schedule = Schedule(jobs, estimates)
    longest = [
        "epochs=3_state_size=16_seed=0", "epochs=3_state_size=16_seed=1",
        "epochs=3_state_size=4_seed=0", "epochs=3_state_size=4_seed=1",
        "epochs=1_state_size=16_seed=0", "epochs=1_state_size=16_seed=1",
        "epochs=1_state_size=4_seed=0", "epochs=1_state_size=4_seed=1",
    ]  # fmt: skip
    assert schedule.upcoming() == longest
    first = schedule.take()
    assert first is not None and first.name == "epochs=3_state_size=16_seed=0"
    # it took 3x its estimate: its other seed is estimated from it, the configurations not
    # measured yet are scaled alike (their order holds)
    schedule.finished(first.name, 3 * estimates[first.name])
    assert schedule.estimate("epochs=3_state_size=16_seed=1") == pytest.approx(
        3 * estimates["epochs=3_state_size=16_seed=1"]
    )
    assert schedule.estimate("epochs=1_state_size=4_seed=0") == pytest.approx(
        3 * estimates["epochs=1_state_size=4_seed=0"]
    )
    assert schedule.upcoming() == longest[1:]

    # refined: A, B, C estimated 3, 2 and 1.9 s, two seeds each, three workers
    jobs = _jobs("echo-raw-5", ["train.learning_rate=0.1,0.2,0.3"], 2)
    a0, b0, c0, a1, b1, c1 = (job.name for job in jobs)
    schedule = Schedule(jobs, {a0: 3, a1: 3, b0: 2, b1: 2, c0: 1.9, c1: 1.9})
    assert [schedule.take().name for _ in range(3)] == [a0, a1, b0]
    schedule.finished(b0, 1.0)  # B took half its estimate: B's other seed goes before C's
    assert schedule.upcoming() == [b1, c0, c1]
    schedule.finished(a0, 6.0)  # A took twice its estimate: C, not measured, is likely longer
    assert schedule.upcoming() == [c0, c1, b1]
    # a run put back (its worker died) goes first; the schedule empties in the end
    lost = schedule.take()
    schedule.put_back(lost)
    assert schedule.take() == lost and len(schedule) == 2
    assert [schedule.take().name, schedule.take().name] == [c1, b1]
    assert schedule.take() is None and len(schedule) == 0


def test_grid_order_and_prune_rounds():
    jobs = _jobs("echo-raw-5", ["train.epochs=1,3"], 2)
    estimates = {job.name: estimate_seconds(job.config) for job in jobs}
    names = [job.name for job in jobs]
    assert Schedule(jobs, estimates, order="grid").upcoming() == names  # as listed, seed-major
    # --prune: every configuration gets its seed 0 before any seed 1 (the median rule compares
    # configurations at the same epoch), longest first within a round
    assert Schedule(jobs, estimates, rounds=True).upcoming() == [
        "epochs=3_seed=0", "epochs=1_seed=0", "epochs=3_seed=1", "epochs=1_seed=1",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown order"):
        Schedule(jobs, estimates, order="shortest")


def test_the_table_reports_efficiency_and_the_ceiling():
    specs = expand(load_preset("echo-raw-5"), parse_grid(["train.num_steps=2,5"]), 1)
    records = [_record(spec, "finished", 0.6) for spec in specs]
    performance = {
        "workers": 2, "train_s": 36.0, "startup_s": 2.5, "efficiency": 0.9, "ceiling": 1.38,
    }  # fmt: skip
    table = build_table("s", "/x", records, wall_s=20.0, performance=performance)
    assert (table["efficiency"], table["ceiling"], table["workers"]) == (0.9, 1.38, 2)
    assert (table["train_s"], table["startup_s"], table["wall_s"]) == (36.0, 2.5, 20.0)
    lines = format_table(table).splitlines()
    assert (
        lines[-2]
        == "efficiency 90%: 2 worker(s) trained 36.0 s in 20.0 s, 2.5 s of it starting them"
    )
    assert lines[-1] == "ceiling 1.38x: two trainings at once go that much faster than one"
    assert fewer_workers(table) is None
    # 8 workers that mostly waited: 12 s of training in the 10 s after start-up
    idle = {**table, "workers": 8, "train_s": 12.0, "wall_s": 12.0, "startup_s": 2.0}
    idle["efficiency"] = 12.0 / (8 * 12.0)
    assert fewer_workers(idle) == 2
    assert "the workers often waited: --workers 2 would likely do as well" in format_table(idle)
    # short runs behind a long start-up: low efficiency, yet both workers trained at once
    startup = {**table, "train_s": 2.7, "wall_s": 4.5, "startup_s": 2.9, "efficiency": 0.3}
    assert fewer_workers(startup) is None
    bare = build_table("s", "/x", records)
    assert bare["efficiency"] is None and bare["ceiling"] is None
    assert "efficiency" not in format_table(bare) and "ceiling" not in format_table(bare)


def test_the_ceiling_setting_and_cache(monkeypatch):
    monkeypatch.setenv("RNNTUI_CEILING", "1.5")  # given: nothing measured
    assert ceiling.known().speedup == 1.5 and not ceiling.wanted()
    monkeypatch.setenv("RNNTUI_CEILING", "off")
    assert ceiling.known() is None and not ceiling.wanted()
    monkeypatch.delenv("RNNTUI_CEILING")
    assert ceiling.known() is None and ceiling.wanted()  # not measured on this machine yet
    measured = ceiling.Ceiling.from_rates(1000.0, [690.0, 710.0], others=0.1)
    assert measured.speedup == 1.4 and measured.together == 700.0
    ceiling.save(measured)
    path = ceiling.cache_file()
    assert path.parent.parent.name == "rnntui" and path.parent.name == "ceiling"
    assert ceiling.known() == measured and not ceiling.wanted()
    monkeypatch.setenv("RNNTUI_CEILING", "measure")  # measure again at the next sweep
    assert ceiling.known() is None and ceiling.wanted()
    monkeypatch.delenv("RNNTUI_CEILING")
    path.write_text("{not json")  # damaged: measured again, never an error
    assert ceiling.known() is None and ceiling.wanted()
    assert ceiling.Ceiling.from_rates(1000.0, [1200.0, 1300.0]).speedup == 2.0  # noise, capped


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


def test_longest_runs_go_first_with_the_numbers_grid_order_gives(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNTUI_CEILING", "1.5")  # a known ceiling: nothing is measured
    args = ["echo-raw-5", *TINY_ARGS, "--grid", "train.epochs=1,3", "--seeds", "2"]
    result = run_cli("sweep", *args, "--workers", "2", "--runs-dir", str(tmp_path / "a"), "--json")
    assert result.returncode == 0, result.stderr
    table = last_json(result.stdout)
    folder = sweep_folder(tmp_path / "a")
    order = handed_order(folder)
    assert sorted(order[:2]) == ["epochs=3_seed=0", "epochs=3_seed=1"], order

    # efficiency: the runs' training seconds over workers x wall seconds; the ceiling as given
    status = SweepFolder(folder).read_status()
    trained = sum(run["train_s"] for run in status["runs"].values())
    assert table["train_s"] == pytest.approx(trained, abs=0.02) and trained > 0
    assert table["workers"] == 2 and table["ceiling"] == 1.5
    assert table["efficiency"] == pytest.approx(trained / (2 * table["wall_s"]), abs=0.01)
    assert 0 < table["efficiency"] <= 1
    assert 0 < table["startup_s"] < table["wall_s"]
    for run in status["runs"].values():  # each trained within its own start and end
        assert run["train_s"] == pytest.approx(run["ended_s"] - run["started_s"], abs=0.01)
        assert run["handed_s"] <= run["started_s"]
    assert "ceiling 1.50x" in format_table(table)
    assert (status["efficiency"], status["ceiling"]) == (table["efficiency"], 1.5)
    times = status["worker_times"]
    assert sorted(times) == ["w1", "w2"]
    assert all(0 < t["import_s"] < t["ready_s"] - t["spawned_s"] for t in times.values())

    # the same sweep in grid order on one worker: every run's numbers, to the last digit
    request = SweepRequest(
        "echo-raw-5", ["train.epochs=1,3"], seeds=2, workers=1, runs_dir=tmp_path / "b",
        overrides=TINY_ARGS[1::2], as_json=True, order="grid",
    )  # fmt: skip
    assert run_sweep(request, out=io.StringIO(), err=io.StringIO()) == 0
    other = sweep_folder(tmp_path / "b")
    assert handed_order(other) == ["epochs=1_seed=0", "epochs=3_seed=0", "epochs=1_seed=1",
                                   "epochs=3_seed=1"]  # fmt: skip
    for name in order:
        ours, theirs = folder / "runs" / name, other / "runs" / name
        assert [row["loss"] for row in read_metrics(ours / "metrics.jsonl")] == [
            row["loss"] for row in read_metrics(theirs / "metrics.jsonl")
        ]
        summary = json.loads((ours / "summary.json").read_text())
        assert (
            summary["final_loss"] == json.loads((theirs / "summary.json").read_text())["final_loss"]
        )


def test_the_ceiling_is_measured_once_per_machine_and_then_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNTUI_CEILING")  # as a user has it: measured by the first sweep
    args = ["sweep", "echo-raw-5", *TINY_ARGS, "--workers", "2", "--runs-dir", str(tmp_path)]
    first = run_cli(*args, "--seeds", "2")
    assert first.returncode == 0, first.stderr
    assert "measuring this machine's two-process ceiling (once)" in first.stderr
    (cached,) = (Path(os.environ["XDG_CACHE_HOME"]) / "rnntui" / "ceiling").glob("*.json")
    measured = json.loads(cached.read_text())
    assert 0 < measured["speedup"] <= 2 and measured["alone"] > 0 and measured["together"] > 0
    assert first.stdout.strip().splitlines()[-1].startswith(f"ceiling {measured['speedup']:.2f}x")
    stamp = cached.stat().st_mtime_ns

    more = run_cli(*args, "--seeds", "4", "--json")  # two more runs on two workers
    assert more.returncode == 0, more.stderr
    assert last_json(more.stdout)["ceiling"] == measured["speedup"]
    assert cached.stat().st_mtime_ns == stamp  # read, not measured again


@pytest.mark.slow
def test_ctrl_c_stops_every_worker_with_checkpoints_and_the_sweep_continues(tmp_path):
    # 24,000 steps a run. Each run is paused (as the app pauses a run it follows) once it has
    # logged steps and held there until Ctrl+C: however loaded the machine, neither can end
    # first (a run that finished before the Ctrl+C failed this test under load). The steps show
    # at the metrics' first flush, a second in: 4,800 steps could all be trained by then.
    longer = [*SLOW, "--set", "train.epochs=120"]
    args = ["echo-raw-5", *longer, "--seeds", "2", "--workers", "2", "--runs-dir", str(tmp_path)]
    # its own process group: Ctrl+C in a terminal signals the sweep and its workers alike
    with start_sweep(args, start_new_session=True) as process:
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
            wait_until(
                lambda run=run: run_status(run)["state"] == "paused", 30, f"{run.name} paused"
            )
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
        assert steps == list(range(1, 120 * 200 + 1))  # the resumed curve has no gap or repeat


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_its_run_resumes_from_its_checkpoint(tmp_path):
    # 32,000 steps a run (~5 s on a quiet machine at 6,000 steps/s): time to pause, resume and
    # kill it mid-way (12,800 could end before the resume was seen)
    longer = [*SLOW, "--set", "train.epochs=160"]
    args = ["echo-raw-5", *longer, "--seeds", "2", "--workers", "2", "--runs-dir", str(tmp_path)]
    with start_sweep([*args, "--json"]) as process:
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
        assert [r["step"] for r in after] == list(range(1, 32001))
        # resumed, not restarted: the steps up to the checkpoint are the very rows logged before the
        # kill (a fresh start would have logged them again, at other wall times)
        assert saved >= 200 and after[:saved] == before[:saved]


@pytest.mark.slow
def test_prune_stops_the_clearly_worse_configuration(tmp_path):
    result = run_cli(
        # 30 short epochs in 5-window calls: long enough that the prune reaches a running seed
        # (3 epochs of the bad configuration could end before the median rule's message came,
        # and 12 failed once under load)
        "sweep", "echo-raw-5", *SLOW, "--set", "train.epochs=30",
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
