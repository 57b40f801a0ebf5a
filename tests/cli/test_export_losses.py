"""`rnntui export RUN FILE.csv`: every loss a run has stored, streamed into a file that appears
only once complete; a bad path is one line, and a full disk leaves nothing behind."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

from rnntui.config import load_preset
from rnntui.runs.folder import RunFolder
from rnntui.runs.metrics import read_metrics
from tests.helpers import TINY_ARGS, fill_disk, only_run, run_cli, tmpfs


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    result = run_cli("train", "echo-raw-5", *TINY_ARGS, "--runs-dir", str(root), "--json")
    assert result.returncode == 0, result.stderr
    return only_run(root)


def export(run, path, *extra):
    return run_cli("export", run.name, str(path), "--runs-dir", str(run.parent), *extra)


def test_every_logged_step_is_written_as_the_float32_the_run_kept(trained, tmp_path):
    out = tmp_path / "losses.csv"
    result = export(trained, out)
    assert result.returncode == 0, result.stderr
    logged = read_metrics(trained / "metrics.jsonl")
    assert result.stdout.startswith(f"wrote {out} ({len(logged):,} rows: curve,step,loss,")
    with out.open(newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["curve", "step", "loss", "steps", "min", "max"]
    assert [int(row[1]) for row in table[1:]] == [row["step"] for row in logged]
    kept = np.array([np.float32(row[2]) for row in table[1:]])
    np.testing.assert_array_equal(kept, np.array([row["loss"] for row in logged], np.float32))
    assert {row[0] for row in table[1:]} == {trained.name}
    assert {row[3] for row in table[1:]} == {"1"}  # a short run: every step kept, no blocks
    assert not list(tmp_path.glob(".*.tmp"))


def test_an_existing_file_is_kept_unless_force(trained, tmp_path):
    out = tmp_path / "losses.csv"
    out.write_text("mine\n")
    refused = export(trained, out)
    assert refused.returncode == 2
    assert refused.stderr == (
        f"rnntui: export: '{out}' exists; choose a new path, or overwrite it with --force\n"
    )
    assert out.read_text() == "mine\n"
    forced = export(trained, out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert out.read_text().startswith("curve,step,loss")


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("folder.csv", "is a folder; choose a new path"),
        ("missing/losses.csv", "to write into; create it first"),
    ],
)
def test_a_path_it_cannot_use_is_one_line(trained, tmp_path, where, says):
    (tmp_path / "folder.csv").mkdir()
    result = export(trained, tmp_path / where, "--force")
    assert result.returncode == 2
    assert result.stderr.startswith("rnntui: export: ") and says in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_run_without_steps_or_no_run_is_one_line(tmp_path):
    missing = run_cli("export", "nope", str(tmp_path / "x.csv"), "--runs-dir", str(tmp_path))
    assert missing.returncode == 2
    assert missing.stderr.startswith("rnntui: export: no run folder 'nope'")
    fresh = RunFolder.create(load_preset("echo-raw-5"), tmp_path)  # made, nothing trained yet
    empty = run_cli("export", fresh.name, str(tmp_path / "x.csv"), "--runs-dir", str(tmp_path))
    assert empty.returncode == 2
    assert empty.stderr == f"rnntui: export: {fresh.name} has no steps logged yet; train it first\n"
    assert not (tmp_path / "x.csv").exists()


def test_a_full_disk_leaves_no_file_and_says_so(trained, tmp_path):
    with tmpfs(tmp_path / "disk", "64k") as disk:
        filler = fill_disk(disk)
        result = export(trained, disk / "losses.csv")
        assert result.returncode == 1
        assert result.stderr.startswith(f"rnntui: export: cannot write '{disk / 'losses.csv'}'")
        assert "no space left" in result.stderr and result.stderr.count("\n") == 1
        assert sorted(os.listdir(disk)) == [filler.name]  # no half file, no temporary one
