"""Compiled XLA programs kept between runs: real runs of the CLI share one folder, a later run
loads what an earlier one compiled, and nothing a kill, a torn file or an unusable folder
leaves behind can fail a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnntui.runtime import xla_cache
from tests.helpers import run_cli, sets

XLA_RUN = sets("task.size=20000", "train.batch_size=20", "train.xla=on")
LOADED = "Loading cached entry"  # TensorFlow's own log line when it loads a kept program


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "xla"
    monkeypatch.setenv("RNNTUI_XLA_CACHE", str(folder))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    monkeypatch.setenv("TF_CPP_VMODULE", "device_executable_persistor=1")
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    return folder


def train(runs: Path) -> subprocess.CompletedProcess:
    return run_cli("train", "echo-raw-5", *XLA_RUN, "--json", "--runs-dir", str(runs))


def final_loss(result: subprocess.CompletedProcess) -> float:
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])["final_loss"]


def kept(cache: Path) -> list[Path]:
    return sorted(cache.glob("*/programs/*"))


@pytest.mark.slow
def test_two_runs_at_once_then_a_third_loads_the_kept_program(cache, tmp_path):
    command = [sys.executable, "-m", "rnntui", "train", "echo-raw-5", *XLA_RUN, "--json"]
    both = [
        subprocess.Popen(
            [*command, "--runs-dir", str(tmp_path / f"runs{i}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=240) for p in both]  # read while they run: logs are long
    results = [
        subprocess.CompletedProcess(p.args, p.returncode, *out)
        for p, out in zip(both, outputs, strict=True)
    ]
    first = [final_loss(result) for result in results]
    names = {program.name.rsplit(".", 2)[0] for program in kept(cache)}
    assert len(names) == 1 and names.pop().endswith("XLA_CPU_JIT.pb")  # both compiled one graph
    for program in kept(cache):  # one copy each (their bytes differ a little): both whole
        assert int(program.name.rsplit(".", 2)[1]) == program.stat().st_size
    assert not list(cache.glob("*/stage-*"))  # each process removed its own stage

    third = train(tmp_path / "runs3")
    assert LOADED in third.stderr and all(LOADED not in r.stderr for r in results)
    assert final_loss(third) == first[0] == first[1]  # the kept program trains the same numbers
    assert len(kept(cache)) == 1  # a second copy of one graph is removed once one is linked


@pytest.mark.parametrize("damage", ["torn", "one flipped byte"])
def test_a_damaged_program_is_never_loaded_and_is_replaced(cache, tmp_path, damage):
    final = final_loss(train(tmp_path / "runs1"))
    [program] = kept(cache)
    whole = program.read_bytes()
    if damage == "torn":  # as a kill or a full disk would leave it
        program.write_bytes(whole[: len(whole) // 3])
    else:  # the same size: loaded, this gave wrong losses without an error (or a crash)
        flipped = bytearray(whole)
        flipped[int(len(whole) * 0.97)] ^= 0x10
        program.write_bytes(bytes(flipped))

    again = train(tmp_path / "runs2")
    assert final_loss(again) == final
    assert LOADED not in again.stderr  # compiled again instead of loading the damaged one
    [replaced] = kept(cache)
    name, size, _ = replaced.name.rsplit(".", 2)
    assert int(size) == replaced.stat().st_size == len(whole)  # a whole program in its place


def test_a_warm_run_prints_nothing_of_tensorflow_s(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNTUI_XLA_CACHE", str(tmp_path / "xla"))
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")  # as a user runs it
    cold = train(tmp_path / "runs1")
    warm = train(tmp_path / "runs2")
    assert kept(tmp_path / "xla") and final_loss(warm) == final_loss(cold)
    # TensorFlow logs "Error parsing text-format" at ERROR level when it loads a kept program
    assert warm.stderr.strip() == "", warm.stderr[-2000:]


def test_a_child_of_a_prepared_process_gets_its_own_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNTUI_XLA_CACHE", str(tmp_path / "xla"))
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    child = [
        sys.executable,
        "-c",
        "from rnntui.runtime import xla_cache; print(xla_cache.prepare())",
    ]
    parent = "import os, subprocess, sys; from rnntui.runtime import xla_cache; " + (
        "print(xla_cache.prepare()); sys.stdout.flush(); "
        f"subprocess.run({child!r}); print(os.environ['TF_XLA_FLAGS'])"
    )
    mine, theirs, flags = subprocess.run(
        [sys.executable, "-c", parent], capture_output=True, text=True, check=True
    ).stdout.split("\n")[:3]
    assert "stage-" in mine and "stage-" in theirs and mine != theirs
    assert flags.count("persistent_cache_directory") == 1 and mine in flags


def test_an_unusable_folder_turns_the_cache_off_and_the_run_trains(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RNNTUI_XLA_CACHE", str(blocker / "xla"))  # cannot be made, even by root
    result = train(tmp_path / "runs")
    assert 0.3 < final_loss(result) < 0.8
    assert "Traceback" not in result.stderr


def test_a_folder_tensorflow_cannot_be_told_is_not_used(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNTUI_XLA_CACHE", str(tmp_path / "with space"))
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    # a fresh process: prepare() sets up once per process, and this one may have done so
    prepared = subprocess.run(
        [sys.executable, "-c", "from rnntui.runtime import xla_cache; print(xla_cache.prepare())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert prepared.stdout == "None\n"  # TF splits its flags at spaces and exits on the rest
    assert not (tmp_path / "with space").exists()


def test_off_means_off(monkeypatch):
    for value in ("off", "0", "false"):
        monkeypatch.setenv("RNNTUI_XLA_CACHE", value)
        assert xla_cache.cache_folder() is None
    monkeypatch.setenv("RNNTUI_XLA_CACHE", "/somewhere")
    folder = xla_cache.cache_folder()
    assert folder.parent == Path("/somewhere") and folder.name.startswith("tf")
    monkeypatch.setenv("RNNTUI_XLA_CACHE", "on")  # the default folder, not ./on
    assert xla_cache.cache_folder().parent.parent.name == "rnntui"
    monkeypatch.setenv("RNNTUI_XLA_CACHE", "relative/folder")  # never a cache where you stand
    assert xla_cache.cache_folder() is None


def keep(programs: Path, name: str, data: bytes) -> Path:
    path = programs / f"{name}.{len(data)}.{xla_cache.digest_of(data)}"
    path.write_bytes(data)
    return path


def test_only_intact_programs_are_linked_into_a_stage(tmp_path):
    programs, stage = tmp_path / "programs", tmp_path / "stage"
    programs.mkdir()
    stage.mkdir()
    keep(programs, "a.pb", b"12345")
    old = keep(programs, "b.pb", b"first")
    os.utime(old, (1_000_000, 1_000_000))
    keep(programs, "b.pb", b"second")  # compiled at once by two processes: the newest is kept
    flipped = keep(programs, "c.pb", b"abcdef")
    flipped.write_bytes(b"abcdeF")  # same size, other bytes
    torn = keep(programs, "d.pb", b"abcdef")
    torn.write_bytes(b"abc")
    (programs / "notes.txt").write_text("x")
    os.mkfifo(programs / f"fifo.pb.5.{'0' * 32}")  # reading it would block TensorFlow forever
    (programs / f"empty.pb.0.{'0' * 32}").write_bytes(b"")
    xla_cache.link_programs(programs, stage)
    assert sorted(p.name for p in stage.iterdir()) == ["a.pb", "b.pb"]
    assert (stage / "a.pb").read_bytes() == b"12345" and (stage / "b.pb").read_bytes() == b"second"
    assert not flipped.exists() and not torn.exists()  # damaged: removed, compiled afresh later
    assert not old.exists()


def test_the_xla_flags_in_force_choose_the_folder(monkeypatch):
    monkeypatch.setenv("RNNTUI_XLA_CACHE", "/somewhere")
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    plain = xla_cache.cache_folder()
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=0")
    assert xla_cache.cache_folder() != plain  # a program is what the flags compiled it to


@pytest.mark.timeout(20)
def test_stages_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], stdout=-1)
    gone = tmp_path / f"stage-{int(dead.stdout)}-1"
    mine = tmp_path / f"stage-{os.getpid()}-2"
    for stage in (gone, mine):
        stage.mkdir()
        (stage / "x.pb").write_bytes(b"half")
    os.mkfifo(tmp_path / "stage-1-fifo")  # rmtree would open it and wait forever
    xla_cache.remove_dead_stages(tmp_path)
    assert not gone.exists() and mine.exists()
    assert not (tmp_path / "stage-1-fifo").exists()


def test_the_oldest_programs_go_first(tmp_path):
    for age, name in enumerate(["new", "mid", "old"]):
        path = tmp_path / name
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000_000 - age, 1_000_000 - age))
    xla_cache.evict(tmp_path, 250, 10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mid", "new"]
    xla_cache.evict(tmp_path, 10_000, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]
