"""Faults from a hostile test pass (issue 9), through the real command line.

Each case must end in one line on stderr and an exit code: never a traceback, never a hang
(every command runs with a timeout). FIFOs, full disks and read-only folders are made for real:
`os.mkfifo`, a small tmpfs mounted for the test (skipped, saying why, where mounting is not
permitted), and a process without root's permission override for EACCES.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnntui.config import load_preset
from rnntui.runs.checkpoint import CheckpointError
from rnntui.runs.folder import RunFolder
from rnntui.runs.lock import LOCK_FILE, RunLockedError, lock_owner
from rnntui.runs.resume import resume_command
from rnntui.util import exit_codes
from tests.helpers import (
    TINY_ARGS,
    fill_disk,
    run_cli,
    sets,
    snapshot,
    steps_logged,
    tmpfs,
    wait_until,
)

# 200 steps an epoch, a second or two a run once TensorFlow is loaded
TINY = [*TINY_ARGS, *sets("train.chunk=20")]
PER_EPOCH = 200


# --- helpers -------------------------------------------------------------------------------------


def assert_one_line(result: subprocess.CompletedProcess, code: int, starts: str = "") -> str:
    """The command failed with `code` and exactly one line on stderr, `rnntui: ...`."""
    assert result.returncode == code, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    line = result.stderr
    assert line.count("\n") == 1 and line.startswith("rnntui: "), line
    assert line.startswith(starts), line
    return line.strip()


@pytest.fixture(scope="module")
def finished_template(tmp_path_factory) -> Path:
    """A finished 2-epoch run (400 steps), made by the real CLI; copy it, never change it."""
    root = tmp_path_factory.mktemp("template")
    result = run_cli("train", "echo-raw-5", *TINY, "--epochs", "2", "--runs-dir", str(root))
    assert result.returncode == 0, result.stderr
    (run,) = root.iterdir()
    return run


@pytest.fixture
def finished(finished_template, tmp_path) -> Path:
    """This test's own copy of the finished run, in `tmp_path/runs`."""
    run = tmp_path / "runs" / finished_template.name
    shutil.copytree(finished_template, run)
    return run


# Run the CLI in a process that gives up root's CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (for
# good, via the bounding set), so file permissions apply to it as to any user. Done by the new
# interpreter, not a preexec_fn: Python code between fork and exec can deadlock on a lock another
# thread of this process held at the fork.
AS_USER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
        sys.exit(f"no-prctl: errno {ctypes.get_errno()}")
# the bounding set caps what the next exec grants: only the rnntui exec'd now is without them
os.execv(sys.executable, [sys.executable, "-m", "rnntui", *sys.argv[1:]])
"""


def run_cli_as_user(*args: str) -> subprocess.CompletedProcess:
    """`run_cli` in a process that file permissions apply to (root ignores them)."""
    if os.geteuid() != 0:
        return run_cli(*args, timeout=120)
    result = subprocess.run(
        [sys.executable, "-c", AS_USER, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    if result.stderr.startswith("no-prctl"):
        pytest.skip(f"cannot drop root's permission override here: {result.stderr.strip()}")
    return result


def rnntui_argv(command: str) -> list[str]:
    """A printed `rnntui ...` command as argv for this interpreter."""
    argv = shlex.split(command)
    assert argv[0] == "rnntui"
    return [sys.executable, "-m", "rnntui", *argv[1:]]


# --- 2. FIFOs never hang the listing commands ----------------------------------------------------


def test_a_fifo_in_the_user_preset_folder_is_listed_as_broken(isolated_user_dirs):
    folder = isolated_user_dirs / "config" / "rnntui" / "presets"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "stuck.toml")
    (folder / "adir.toml").mkdir()
    result = run_cli("presets", timeout=30)  # before: blocked until someone wrote to the FIFO
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "(broken: cannot read (is a FIFO, not a regular file)" in lines["stuck"]
    assert "(broken: cannot read (is a directory, not a regular file)" in lines["adir"]
    assert "echo-raw-5" in lines


@pytest.mark.parametrize("name", ["config.toml", "summary.json"])
def test_a_fifo_in_a_run_folder_is_reported_by_runs(finished, name):
    (finished / name).unlink()
    os.mkfifo(finished / name)
    result = run_cli("runs", "--runs-dir", str(finished.parent), timeout=30)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    what = "config.toml cannot read" if name == "config.toml" else "summary.json unreadable"
    assert f"damaged: {what} (is a FIFO, not a regular file)" in line


def test_runs_of_an_unreadable_folder_is_one_line(tmp_path):
    locked = tmp_path / "runs"
    locked.mkdir(mode=0o000)
    result = run_cli_as_user("runs", "--runs-dir", str(locked))
    line = assert_one_line(result, exit_codes.BAD_INPUT)
    assert line == f"rnntui: cannot list the runs in {locked} (permission denied)"


# --- 3. a resume that changes what the checkpoint holds is refused before anything is written ----


def test_resume_refuses_a_set_that_does_not_fit_and_leaves_the_run_resumable(finished):
    before = snapshot(finished)
    runs = str(finished.parent)
    result = run_cli(
        "train", "--resume", finished.name, "--runs-dir", runs, "--epochs", "3",
        "--set", "model.state_size=8",
    )  # fmt: skip
    line = assert_one_line(result, exit_codes.BAD_INPUT)
    assert line == (
        "rnntui: --set: model.state_size: cannot change on resume (the checkpoint has 4 units); "
        "start a new run instead"
    )
    assert snapshot(finished) == before  # before: config.toml had state_size 8 for good

    # the keys that may change do: more epochs, another learning rate (optimizer state kept)
    result = run_cli(
        "train", "--resume", finished.name, "--runs-dir", runs, "--epochs", "3",
        "--set", "train.learning_rate=0.05", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["steps"] == 3 * PER_EPOCH
    assert steps_logged(finished) == list(range(1, 3 * PER_EPOCH + 1))
    run = RunFolder(finished)
    assert run.load_config().train.learning_rate == 0.05
    optimizer = run.read_checkpoint().optimizer  # iteration, learning_rate, accumulators
    assert int(optimizer[0]) == 3 * PER_EPOCH and float(optimizer[1]) == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("train.batch_size=10", "train.batch_size: cannot change on resume (the run has 20)"),
        ("train.optimizer=adam", "train.optimizer: cannot change on resume (the checkpoint holds"),
        ("model.cell=lstm", "model.cell: cannot change on resume (the checkpoint holds a raw_rnn"),
    ],
)
def test_resume_names_the_key_that_cannot_change(finished, override, fragment):
    before = snapshot(finished)
    result = run_cli(
        "train", "--resume", str(finished), "--epochs", "3", "--set", override, timeout=60
    )
    line = assert_one_line(result, exit_codes.BAD_INPUT, "rnntui: --set: ")
    assert fragment in line
    assert snapshot(finished) == before


def test_a_checkpoint_that_does_not_fit_its_own_config_is_refused_untouched(finished):
    # the config edited by hand: the policy sees no change, the model built from it does
    config = (finished / "config.toml").read_text().replace("state_size = 4", "state_size = 6")
    (finished / "config.toml").write_text(config)
    before = snapshot(finished)
    result = run_cli("train", "--resume", str(finished), "--epochs", "3")
    line = assert_one_line(result, exit_codes.BAD_INPUT)
    assert re.fullmatch(
        r"rnntui: --resume: checkpoint\.npz does not fit the run's config \(weights 0 has shape "
        r"\(\d+, 4\), the model \(\d+, 6\)\); the run cannot be resumed from it",
        line,
    ), line
    assert snapshot(finished) == before


# --- 4. a torn checkpoint or an empty resume leaves the folder as it was -------------------------


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        ("truncate", "truncated zip"),
        ("garbage", "not an npz archive"),
        ("pickled", "it holds Python objects, not arrays"),
        ("empty", "an empty file"),
    ],
)
def test_a_damaged_checkpoint_is_one_line_and_the_summary_survives(finished, damage, why):
    path = finished / "checkpoint.npz"
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(data)).replace(b"PK", b"pk"))
    elif damage == "pickled":
        np.savez(path, meta=np.array([{"epoch": 1}], dtype=object))
    else:
        path.write_bytes(b"")
    before = snapshot(finished)
    result = run_cli("train", "--resume", str(finished), "--epochs", "3", timeout=60)
    line = assert_one_line(result, exit_codes.BAD_INPUT)
    assert line == (
        f"rnntui: --resume: checkpoint.npz is damaged ({why}); the run cannot be resumed from it"
    )
    assert "allow_pickle" not in result.stderr
    assert snapshot(finished) == before  # before: summary.json said steps 0, final_loss null
    listed = run_cli("runs", "--runs-dir", str(finished.parent), timeout=30)
    assert f"{2 * PER_EPOCH:>9,}" in listed.stdout and "loss 0." in listed.stdout


def test_resuming_a_finished_run_without_more_epochs_changes_nothing(finished):
    before = snapshot(finished)
    result = run_cli("train", "--resume", finished.name, "--runs-dir", str(finished.parent))
    line = assert_one_line(result, exit_codes.BAD_INPUT)
    assert line == (
        f"rnntui: --resume: {finished.name} has done 2 epoch(s) of the 2 asked for; nothing to "
        "resume: train longer with --epochs 3 or more"
    )
    assert snapshot(finished) == before  # before: steps_per_s became 0


def test_read_checkpoint_raises_one_checkpoint_error(finished):
    (finished / "checkpoint.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(CheckpointError, match=r"^checkpoint\.npz is damaged \(truncated zip\)"):
        RunFolder(finished).read_checkpoint()
    assert issubclass(CheckpointError, ValueError)


# --- 5. folders that cannot be written -----------------------------------------------------------


def test_runs_dir_that_is_a_file_or_under_one(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for runs_dir, why in (
        (afile, "it is not a folder"),
        (afile / "runs", "a part of that path is a file, not a folder"),
    ):
        result = run_cli("train", "echo-raw-5", *TINY, "--runs-dir", str(runs_dir), timeout=60)
        line = assert_one_line(result, exit_codes.BAD_INPUT)
        assert line == (
            f"rnntui: --runs-dir: cannot create a run folder in {runs_dir} ({why}); "
            "choose a writable folder with --runs-dir DIR"
        )
    assert afile.read_text() == "x"


def test_runs_dir_without_permission(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = run_cli_as_user("train", "echo-raw-5", *TINY, "--runs-dir", str(locked / "runs"))
    line = assert_one_line(result, exit_codes.BAD_INPUT)
    assert f"cannot create a run folder in {locked / 'runs'} (permission denied)" in line
    assert list(locked.iterdir()) == []


def test_read_only_runs_dir_and_resume_in_a_read_only_folder(tmp_path, finished_template):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        run = disk / finished_template.name
        shutil.copytree(finished_template, run)
        subprocess.run(["mount", "-o", "remount,ro", disk], check=True, timeout=30)
        before = snapshot(run)
        result = run_cli("train", "echo-raw-5", *TINY, "--runs-dir", str(disk), timeout=60)
        line = assert_one_line(result, exit_codes.BAD_INPUT)
        assert f"cannot create a run folder in {disk} (read-only file system)" in line

        result = run_cli("train", "--resume", str(run), "--epochs", "3", timeout=60)
        line = assert_one_line(result, exit_codes.BAD_INPUT)
        assert line.startswith(f"rnntui: --resume: cannot lock {run} (read-only file system)")
        assert snapshot(run) == before


def test_a_full_disk_before_the_run_leaves_nothing_behind(tmp_path):
    with tmpfs(tmp_path / "disk", "64k") as disk:
        fill_disk(disk)
        result = run_cli("train", "echo-raw-5", *TINY, "--runs-dir", str(disk), timeout=60)
        line = assert_one_line(result, exit_codes.BAD_INPUT)
        assert f"cannot create a run folder in {disk} (no space left on device)" in line
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # no run folder, no .tmp


def test_a_disk_that_fills_mid_run_stops_it_with_the_last_good_checkpoint(tmp_path):
    # 40,000 steps (~4 s at 10,000 steps/s): the disk fills just after the first checkpoint
    # (the first epoch's end), and the next write (the metrics' flush or a checkpoint, each at
    # most a second later) fails long before the run could end (4,000 steps could all be
    # trained between the first checkpoint and the filling of the disk)
    with tmpfs(tmp_path / "disk", "2m") as disk:  # the whole run fits, once the filler is gone
        process = subprocess.Popen(
            [
                sys.executable, "-m", "rnntui", "train", "echo-raw-5", *TINY,
                "--set", "train.chunk=5", "--epochs", "200", "--runs-dir", str(disk),
            ],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_until(lambda: list(disk.glob("*/checkpoint.npz")), 120, "the first checkpoint")
            filler = fill_disk(disk)
            _, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
        result = subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
        # the progress lines (non-tty) come first: the failure is the one last line
        result.stderr = stderr.splitlines(keepends=True)[-1]
        assert "Traceback" not in stderr
        line = assert_one_line(result, exit_codes.TRAINING_FAILED)
        (run,) = [p for p in disk.iterdir() if p.is_dir()]
        match = re.fullmatch(
            r"rnntui: training failed: cannot write (metrics|checkpoint\.npz|summary\.json) "
            r"\(No space left on device\); the last good checkpoint \(step ([\d,]+)\) is kept; "
            r"continue later with: (.*)",
            line,
        )
        assert match, line
        kept = int(match[2].replace(",", ""))
        assert not list(run.glob(".*.tmp")), "a temporary file was left behind"
        checkpoint = RunFolder(run).read_checkpoint()
        assert checkpoint.step == kept and kept % PER_EPOCH == 0 and kept > 0

        filler.unlink()  # space again: the printed command finishes the run
        resumed = subprocess.run(rnntui_argv(match[3]), capture_output=True, text=True, timeout=240)
        assert resumed.returncode == 0, resumed.stderr
        assert steps_logged(run) == list(range(1, 200 * PER_EPOCH + 1))


def test_atomic_write_removes_its_temporary_file_on_a_full_disk(tmp_path):
    from rnntui.util.atomic_write import atomic_write_bytes

    with tmpfs(tmp_path / "disk", "64k") as disk:
        target = disk / "summary.json"
        target.write_text("good")
        os.mkfifo(disk / ".summary.json.tmp")  # a leftover that would block open() for writing
        with pytest.raises(OSError) as raised:
            atomic_write_bytes(target, b"x" * 200_000)
        assert raised.value.errno == errno.ENOSPC
        assert sorted(p.name for p in disk.iterdir()) == ["summary.json"]
        assert target.read_text() == "good"


# --- 6. one process owns a run folder ------------------------------------------------------------


def test_a_second_resume_of_a_live_run_is_refused(finished):
    runs = str(finished.parent)
    first = subprocess.Popen(
        [sys.executable, "-m", "rnntui", "train", "--resume", finished.name, "--runs-dir", runs,
         "--epochs", "6", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: (lock_owner(finished) or None) is not None, 60, "the first to lock")
        # held still while the second tries: the first holds the lock for ~1.5 s (most of it
        # TensorFlow's import, its 800 steps take 0.1 s), about as long as the second needs
        os.kill(first.pid, signal.SIGSTOP)
        try:
            assert lock_owner(finished).pid == first.pid
            second = run_cli(
                "train", "--resume", finished.name, "--runs-dir", runs, "--epochs", "6"
            )
        finally:
            os.kill(first.pid, signal.SIGCONT)
        line = assert_one_line(second, exit_codes.BAD_INPUT)
        assert line.startswith(f"rnntui: --resume: {finished.name} is in use by pid {first.pid}")
        assert line.endswith(f"wait for it to finish or stop it (kill {first.pid})")
        _, stderr = first.communicate(timeout=240)
    finally:
        first.kill()
    assert first.returncode == 0, stderr
    assert steps_logged(finished) == list(range(1, 6 * PER_EPOCH + 1))  # in order, once each
    assert not (finished / LOCK_FILE).exists() and lock_owner(finished) is None


def test_a_stale_lock_of_a_killed_process_does_not_block(finished):
    (finished / LOCK_FILE).write_text('{"pid": 999999999, "host": "elsewhere"}\n')
    assert lock_owner(finished) is None  # the file is there, but nobody holds it
    result = run_cli("train", "--resume", str(finished), "--epochs", "3", "--json")
    assert result.returncode == 0, result.stderr
    assert not (finished / LOCK_FILE).exists()


def test_the_lock_in_process(tmp_path):
    run = RunFolder.create(load_preset("echo-raw-5"), tmp_path)
    run.acquire()
    run.acquire()  # idempotent
    other = RunFolder(run.path)
    with pytest.raises(RunLockedError, match=rf"is in use by pid {os.getpid()}"):
        other.acquire()
    assert other.owner().pid == os.getpid() and run.locked and not other.locked
    run.release()
    assert not (run.path / LOCK_FILE).exists() and other.owner() is None
    other.acquire()
    other.release()


# --- 7. the resume hint works as printed ---------------------------------------------------------


def test_the_printed_resume_command_names_the_runs_dir_and_works(tmp_path):
    # 32,000 steps (~3 s at 10,000 steps/s): the steps show at the first epoch's end (its
    # checkpoint flushes them), and the Ctrl+C must come before the run ends (2,000 steps were
    # all trained 0.1 s after the first 1,000 showed)
    runs_dir = tmp_path / "my runs"  # a space: the command must quote it
    process = subprocess.Popen(
        [sys.executable, "-m", "rnntui", "train", "echo-raw-5", "--set", "task.size=100000",
         "--set", "train.batch_size=20", "--set", "train.chunk=5", "--epochs", "32",
         "--runs-dir", str(runs_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(
            lambda: any(len(steps_logged(p)) > 300 for p in runs_dir.glob("*/") if p.is_dir()),
            120,
            "training",
        )
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == exit_codes.INTERRUPTED, stderr
    (run,) = runs_dir.iterdir()
    hint = stderr.splitlines()[-1]
    command = resume_command(run.name, runs_dir)
    assert hint == f"stopped with a checkpoint; continue with: {command}"
    assert f"--runs-dir '{runs_dir}'" in command
    resumed = subprocess.run(
        rnntui_argv(command), capture_output=True, text=True, timeout=240, cwd="/"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert steps_logged(run) == list(range(1, 32_001))


def test_resume_command():
    assert resume_command("r1", None) == "rnntui train --resume r1"
    assert resume_command("r1", Path("/a b")) == "rnntui train --resume r1 --runs-dir '/a b'"
    relative = resume_command("r1", Path("runs"))
    assert relative.endswith(f"--runs-dir {Path.cwd() / 'runs'}")


# --- 8. smaller ones -----------------------------------------------------------------------------


def test_inspect_refuses_inputs_that_do_not_fit_float32():
    result = run_cli("inspect", "--input", "1e300", timeout=60)
    line = assert_one_line(result, exit_codes.BAD_INPUT)
    assert line == (
        "rnntui: --input: timestep 1: '1e300' does not fit the cell's float32 "
        "(at most 3.4e+38 in size)"
    )


def test_inspect_stacked_refuses_an_input_it_would_ignore():
    result = run_cli("inspect", "--stacked", "--input", "garbage;;", timeout=60)
    line = assert_one_line(result, exit_codes.BAD_INPUT)
    assert line.startswith("rnntui: --input: --stacked runs the tutorial's fixed (2, 3, 6) batch")


def test_preset_paths_that_are_not_files_say_what_they_are(tmp_path):
    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "folder.toml").mkdir()
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere.toml")
    cases = {
        tmp_path / "fifo.toml": "is a FIFO, not a preset file; give a .toml file",
        tmp_path / "folder.toml": "is a directory, not a preset file; give a .toml file",
        Path("/dev/null"): "is a character device, not a preset file; give a .toml file",
        tmp_path / "loop-a": "is a symbolic link loop; check the path",
        tmp_path
        / "dangling": f"is a broken symbolic link (to {tmp_path}/nowhere.toml); check the path",
        tmp_path / "missing.toml": "no such preset file; check the path",
    }
    for path, message in cases.items():
        result = run_cli("train", str(path), "--check", timeout=30)
        assert assert_one_line(result, exit_codes.BAD_INPUT) == f"rnntui: {path}: {message}"


def test_huge_integers_print_as_integers():
    result = run_cli(
        "train", "echo-raw-5", "--check", "--set", "train.epochs=100000000000000000000000"
    )
    assert assert_one_line(result, exit_codes.BAD_INPUT) == (
        "rnntui: --set: train.epochs: 100000000000000000000000 is out of range; "
        "use an integer from 1 to 1000000"
    )
    result = run_cli("train", "echo-raw-5", "--check", "--epochs", "99999999999999999999999")
    assert assert_one_line(result, exit_codes.BAD_INPUT) == (
        "rnntui: --epochs: 99999999999999999999999 is out of range; "
        "use an integer from 1 to 1000000"
    )
    thousands = "1" + "0" * 5000  # more digits than Python converts
    result = run_cli("train", "echo-raw-5", "--check", "--set", f"train.epochs={thousands}")
    line = assert_one_line(result, exit_codes.BAD_INPUT, "rnntui: --set: train.epochs: ")
    assert "is far too large a number" in line and len(line) < 200
