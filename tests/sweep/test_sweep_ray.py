"""Sweeps through a real local Ray instance (started once for the module; Ray takes seconds)."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from rnntui.config import load_file
from rnntui.runs.metrics import read_metrics
from tests.helpers import (
    TINY_ARGS,
    last_json,
    run_cli,
    sets,
    start_sweep,
    sweep_folder,
    wait_for_running,
)

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray cluster with two CPUs; the sweeps join it by address, as a cluster's would."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_a_sweep_on_ray_brings_every_run_home(tmp_path, ray_address, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", ray_address)  # a bare --ray finds the running cluster
    result = run_cli(
        "sweep", "echo-raw-5", *TINY_ARGS, "--grid", "train.num_steps=2,5", "--seeds", "2",
        "--ray", "--runs-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = last_json(result.stdout)
    folder = sweep_folder(tmp_path)
    assert [row["seeds"] for row in table["rows"]] == [2, 2]
    for row in table["rows"]:
        for name in row["runs"]:
            run = folder / "runs" / name
            assert sorted(p.name for p in run.iterdir()) == [
                "checkpoint.npz", "config.toml", "metrics", "summary.json",
            ]  # fmt: skip
            summary = json.loads((run / "summary.json").read_text())
            assert summary["run"] == str(run)  # not the task's temporary folder
            config = load_file(run / "config.toml")  # each run's own files came home
            assert f"num_steps={config.train.num_steps}_seed={config.train.seed}" == name
            assert summary["steps"] == 20000 // 20 // config.train.num_steps
            assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == list(
                range(1, summary["steps"] + 1)
            )
    assert json.loads((folder / "status.json").read_text())["backend"] == "ray"


@pytest.mark.slow
def test_a_killed_ray_worker_is_retried_and_the_sweep_completes(tmp_path, ray_address):
    # 12,800 steps a run, so it is still running when looked at (4,800 could end between looks
    # on a busy box)
    longer = [*TINY_ARGS, *sets("train.chunk=5", "train.epochs=64")]
    args = ["echo-raw-5", *longer, "--seeds", "2", "--ray", ray_address]
    args += ["--runs-dir", str(tmp_path)]
    with start_sweep([*args, "--json"]) as process:
        victim, pid = wait_for_running(tmp_path, process, steps=200)
        os.kill(pid, signal.SIGKILL)  # a Ray worker process on "another machine"
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr
        (row,) = last_json(stdout)["rows"]
        assert (row["seeds"], row["failed"]) == (2, 0)
        metrics = read_metrics(sweep_folder(tmp_path) / "runs" / victim / "metrics.jsonl")
        assert [r["step"] for r in metrics] == list(range(1, 64 * 200 + 1))  # the retry's, whole


@pytest.fixture
def silent_address():
    """A loopback address that never answers: a listener whose accept queue is full drops
    further SYNs, as a host behind a firewall would (tests send nothing off this machine)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    host, port = listener.getsockname()
    fillers = []
    try:
        for _ in range(16):
            filler = socket.socket()
            filler.settimeout(0.5)
            try:
                filler.connect((host, port))
            except TimeoutError:
                filler.close()
                break
            fillers.append(filler)
        else:
            pytest.fail("the listener's queue never filled")
        yield f"{host}:{port}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.mark.parametrize(
    ("address", "reason"),
    [("127.0.0.1:1", "Connection refused"), ("silent", "no answer within 3 s")],
)
def test_an_unreachable_ray_address_is_one_line_within_seconds(tmp_path, request, address, reason):
    if address == "silent":
        address = request.getfixturevalue("silent_address")
    started = time.monotonic()
    result = run_cli(
        "sweep", "echo-raw-5", "--seeds", "2", "--ray", address, "--runs-dir", str(tmp_path)
    )
    assert time.monotonic() - started < 15
    assert result.returncode == 2
    assert result.stderr.startswith(f"rnntui: --ray: cannot reach Ray at {address} ({reason}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_ray_auto_without_a_cluster_says_how_to_start_one(tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "ray"))  # no `ray start` recorded here
    result = run_cli(
        "sweep", "echo-raw-5", "--seeds", "2", "--ray", "auto", "--runs-dir", str(tmp_path)
    )
    assert result.returncode == 2
    assert result.stderr == (
        "rnntui: --ray auto: no running Ray cluster found; start one with `ray start --head`, "
        "or give --ray alone for a local Ray\n"
    )


def test_ray_missing_names_the_extra(tmp_path):
    # Ray uninstalled, as Python sees it: not importable and not findable
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['ray'] = None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    result = subprocess.run(
        [sys.executable, "-m", "rnntui", "sweep", "echo-raw-5", "--seeds", "2", "--ray"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == "rnntui: --ray: needs the ray package: pip install 'rnntui[ray]'\n"
