"""Issue 23: the faults a second hostile pass found, each as a test through the real command line
and real files: `python -m rnntui ...` for what trains, signals or exits, and the same commands
in this process (`here`) for generate, export and inspect, so that TensorFlow is imported once
for the module rather than once a command (an exception that escapes shows as its traceback).
One tiny text run is trained for the module; a test that needs a run trained on a text of its
own copies it, naming a copy of its text.

Full disks are real tmpfs mounts of a few hundred KB, read-only folders real read-only bind
mounts (the suite runs as root, locally and in CI, and root ignores permission bits). Where
mounting is not allowed, a full disk falls back to RLIMIT_FSIZE (writes past the limit fail with
EFBIG, a per-file limit) and a read-only folder to `chattr +i`, or permission bits for a
non-root user; with none of those the test is skipped, saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rnntui.cli import app as cli_app
from tests.helpers import NotedApp, notifications, run_cli, words, write

TINY_TEXT = [
    "--set", "task.max_chars=0",
    "--set", "model.state_size=16",
    "--set", "model.embedding=8",
    "--set", "train.batch_size=8",
    "--set", "train.num_steps=10",
    "--set", "train.chunk=7",
]  # fmt: skip
TINY_ECHO = ["--set", "task.size=4000", "--set", "train.batch_size=10", "--set", "train.chunk=20"]


# --- helpers -------------------------------------------------------------------------------------


# `python -m rnntui` with each file limited to a size (RLIMIT_FSIZE: a write past it fails with
# EFBIG, as a full disk fails it with ENOSPC), set by the new interpreter rather than a preexec_fn
# (Python code between fork and exec can deadlock on a lock another thread held at the fork)
LIMITED = """
import resource, runpy, signal, sys
limit = int(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv = ["rnntui", *sys.argv[2:]]
runpy.run_module("rnntui", run_name="__main__", alter_sys=True)
"""


def rnntui(
    *args: str, cwd: Path | None = None, timeout: float = 240, file_limit: int | None = None
) -> subprocess.CompletedProcess:
    """`python -m rnntui ...` like `run_cli`, maybe with each file limited to `file_limit` bytes."""
    if file_limit is None:
        return run_cli(*args, cwd=cwd, timeout=timeout)
    return subprocess.run(
        [sys.executable, "-c", LIMITED, str(file_limit), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=os.environ.copy(),
    )


def here(*args: str) -> subprocess.CompletedProcess:
    """`rnntui ARGS` in this process, for the commands that only read a run (generate, export,
    inspect): TensorFlow is imported once for the module, not once a command. Returned like
    `rnntui`'s, with an exception that escaped the command as its traceback on stderr."""
    result = CliRunner().invoke(cli_app, list(args))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, stderr)


def one_line_error(result: subprocess.CompletedProcess, code: int) -> str:
    """The one stderr line of a refused command (exit `code`, no traceback)."""
    assert result.returncode == code, (
        result.returncode,
        result.stdout[-800:],
        result.stderr[-2000:],
    )
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr.split(": ", 1)[0]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnntui: "), result.stderr[-2000:]
    return lines[0]


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextlib.contextmanager
def small_disk(where: Path, size_kb: int, file_kb: int | None = None) -> Iterator[int | None]:
    """A folder on a real tmpfs of `size_kb` KB; yields None. Where mounting is not allowed, a
    plain folder and a per-file limit of `file_kb` KB in bytes, for `rnntui(file_limit=)`."""
    where.mkdir(parents=True, exist_ok=True)
    if _mount("-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)):
        try:
            yield None
        finally:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)
        return
    yield (file_kb or size_kb) * 1024


def fill(folder: Path, leave_bytes: int) -> None:
    """Fill the file system `folder` is on, leaving about `leave_bytes` free."""
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    with open(folder / "filler", "wb") as handle:
        handle.write(b"\0" * max(0, free - leave_bytes))


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """`folder` made read-only for real (root ignores permission bits): a read-only bind mount,
    else `chattr +i`, else permission bits for a non-root user; skips when none works."""
    folder.mkdir(parents=True, exist_ok=True)
    if _mount("--bind", str(folder), str(folder)):
        if _mount("-o", "remount,bind,ro", str(folder)):
            try:
                yield folder
            finally:
                subprocess.run(["umount", "-l", str(folder)], capture_output=True)
            return
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)]).returncode == 0:
        try:
            yield folder
        finally:
            subprocess.run(["chattr", "-i", str(folder)])
        return
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    pytest.skip("no way to make a read-only folder here (mount and chattr refused, and root)")


def train_text(text: Path, runs: Path, *extra: str, cwd: Path | None = None) -> Path:
    result = rnntui(
        "train", "text-lstm", "--set", f"task.path={text}", *TINY_TEXT,
        "--epochs", "1", "--runs-dir", str(runs), "--json", *extra, cwd=cwd,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return Path(json.loads(result.stdout.strip().splitlines()[-1])["run"])


@pytest.fixture(scope="module")
def text_run(tmp_path_factory) -> dict:
    """A finished tiny text run (1 epoch) on a words text, trained by the real CLI."""
    root = tmp_path_factory.mktemp("text")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CONFIG", "DATA", "CACHE"):
            patch.setenv(f"XDG_{name}_HOME", str(root / "home" / name.lower()))
        text = write(root / "words.txt", words(6000, seed=1))
        run = train_text(text, root / "runs")
    return {"run": run, "text": text, "root": root}


def copy_run(text_run: dict, tmp_path: Path, text: Path | None = None) -> Path:
    """A copy of the module's run; with `text`, one that trained on `text` (a copy of its text
    there): what training on it would have made, without training again."""
    run = tmp_path / "runs" / text_run["run"].name
    shutil.copytree(text_run["run"], run)
    if text is not None:
        shutil.copy(text_run["text"], text)
        config = (run / "config.toml").read_text()
        assert f'path = "{text_run["text"]}"' in config, config
        (run / "config.toml").write_text(config.replace(str(text_run["text"]), str(text)))
    return run


# --- data loss -----------------------------------------------------------------------------------


def test_case01_a_failed_resume_on_a_full_disk_leaves_the_finished_summary(text_run, tmp_path):
    """Issue 23, case 1: a resume that fails (the disk is full) keeps the finished run's summary:
    its figures stay, and `rnntui runs` still lists them."""
    # a run whose metrics log (~40 KB) is larger than the room left on the disk
    text = write(tmp_path / "long.txt", words(24000, seed=2))
    trained = train_text(text, tmp_path / "trained")
    with small_disk(tmp_path / "disk", 600, file_kb=24) as limit:
        runs = tmp_path / "disk" / "runs"
        run = runs / trained.name
        shutil.copytree(trained, run)
        before = json.loads((run / "summary.json").read_text())
        assert before["final_loss"] is not None and before["epochs"] == 1
        if limit is None:
            fill(tmp_path / "disk", 12 * 1024)
        result = rnntui(
            "train", "--resume", run.name, "--epochs", "30", "--runs-dir", str(runs),
            file_limit=limit,
        )  # fmt: skip
        # it may train a little before the disk fills: progress lines, then the one error line
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith("rnntui: ") and "cannot write" in line, line
        after = json.loads((run / "summary.json").read_text())
        for key in ("final_loss", "valid_loss", "bits_per_char"):
            assert after.get(key) is not None, (key, after)
        assert after["epochs"] >= before["epochs"] and after["wall_s"] >= before["wall_s"]
        assert after["steps"] >= before["steps"]
        listed = run_cli("runs", "--runs-dir", str(runs)).stdout
        assert "loss " in listed and "failed" not in listed, listed


def sweep_args(runs: Path, name: str, *extra: str) -> list[str]:
    return [
        "sweep", "echo-raw-5", *TINY_ECHO, "--grid", "train.num_steps=2,5",
        "--workers", "1", "--name", name, "--runs-dir", str(runs), *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory) -> dict:
    """A finished sweep of two configurations, one seed each (`--json`)."""
    root = tmp_path_factory.mktemp("sweep")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CONFIG", "DATA", "CACHE"):
            patch.setenv(f"XDG_{name}_HOME", str(root / "home" / name.lower()))
        result = rnntui(*sweep_args(root / "sweeps", "done", "--json"))
    assert result.returncode == 0, result.stderr[-3000:]
    return {"root": root / "sweeps", "folder": root / "sweeps" / "done", "result": result}


def test_case02_running_a_finished_sweep_again_writes_nothing(finished_sweep):
    """Issue 23, case 2: the same `rnntui sweep ... --name N` again is a no-op: it must not
    rewrite results.json (wall_s to 0) or null the runs' figures in status.json."""
    folder = finished_sweep["folder"]
    before = snapshot(folder)
    results = json.loads((folder / "results.json").read_text())
    assert results["wall_s"] > 0
    again = rnntui(*sweep_args(finished_sweep["root"], "done"))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "num_steps=2" in again.stdout  # the table is shown again
    assert snapshot(folder) == before
    status = json.loads((folder / "status.json").read_text())
    assert all(
        run["loss"] is not None or run["ended_s"] is not None for run in status["runs"].values()
    )


def test_case03_export_refuses_to_overwrite_any_file_it_would_write(text_run, tmp_path):
    """Issue 23, case 3: an existing `<path>.vocabulary.json` is refused like an existing model;
    `--force` overwrites."""
    out = tmp_path / "x"
    write(out / "m.vocabulary.json", "keep\n")
    result = here("export", str(text_run["run"]), str(out / "m.keras"))
    line = one_line_error(result, 2)
    assert "m.vocabulary.json" in line, line
    assert (out / "m.vocabulary.json").read_text() == "keep\n"
    assert not (out / "m.keras").exists()
    forced = here("export", str(text_run["run"]), str(out / "m.keras"), "--force")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert json.loads((out / "m.vocabulary.json").read_text())["symbols"]
    assert (out / "m.keras").stat().st_size > 0


# --- tracebacks ----------------------------------------------------------------------------------


def test_case04_export_to_a_read_only_folder_is_one_line(text_run, tmp_path):
    """Issue 23, case 4: exporting into a read-only folder (a .keras file or a SavedModel
    folder) is one line, exit 1, and leaves nothing behind."""
    with read_only(tmp_path / "ro") as folder:
        for target in ("m.keras", "saved"):
            result = here("export", str(text_run["run"]), str(folder / target))
            line = one_line_error(result, 1)
            assert str(folder) in line, line
        assert list(folder.iterdir()) == []


def test_case04_export_to_a_full_disk_leaves_nothing_half_written(text_run, tmp_path):
    """Issue 23, case 4 ("nothing half-written left"): an export that runs out of room is one
    line, exit 1, and leaves no partial model, SavedModel folder or vocabulary file."""
    with small_disk(tmp_path / "full", 64) as limit:
        folder = tmp_path / "full"
        if limit is None:
            fill(folder, 8 * 1024)
        for target in ("m.keras", "saved"):
            args = ("export", str(text_run["run"]), str(folder / target))
            result = here(*args) if limit is None else rnntui(*args, file_limit=limit)
            one_line_error(result, 1)
        assert sorted(p.name for p in folder.iterdir()) in ([], ["filler"])


def misfit_copy(text_run: dict, tmp_path: Path) -> Path:
    run = copy_run(text_run, tmp_path)
    config = (run / "config.toml").read_text()
    assert "state_size = 16" in config
    (run / "config.toml").write_text(config.replace("state_size = 16", "state_size = 32"))
    return run


def test_case05_a_checkpoint_that_does_not_fit_its_config_is_one_line(text_run, tmp_path):
    """Issue 23, case 5: generate, inspect --run and export of a run whose config no longer fits
    its checkpoint (state_size edited) say so in one line, exit 2, as probe and --resume do."""
    run = misfit_copy(text_run, tmp_path)
    for args in (
        ["generate", str(run), "--length", "20"],
        ["inspect", "--run", str(run), "--text", "the cat"],
        ["export", str(run), str(tmp_path / "a.keras")],
    ):
        line = one_line_error(here(*args), 2)
        assert "does not fit" in line, (args[0], line)
    assert not (tmp_path / "a.keras").exists()
    assert not (tmp_path / "a.vocabulary.json").exists()


def with_vocabulary(run: Path, symbols: str) -> None:
    """Rewrite the checkpoint's vocabulary (its task state), keeping every array."""
    path = run / "checkpoint.npz"
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta["task_state"]["symbols"] = symbols
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def test_case05_a_vocabulary_that_does_not_fit_the_weights_is_one_line(text_run, tmp_path):
    """Issue 23, case 5 (second bullet): a checkpoint whose vocabulary size differs from its
    weights: generate says so in one line (no traceback), export writes no vocabulary file."""
    run = copy_run(text_run, tmp_path)
    with np.load(run / "checkpoint.npz") as npz:
        symbols = json.loads(npz["meta"].tobytes())["task_state"]["symbols"]
    with_vocabulary(run, symbols[:-2])
    line = one_line_error(here("generate", str(run), "--length", "20"), 2)
    assert "does not fit" in line or "vocabulary" in line, line
    line = one_line_error(here("export", str(run), str(tmp_path / "b.keras")), 2)
    assert not (tmp_path / "b.keras").exists()
    assert not (tmp_path / "b.vocabulary.json").exists()


# --- wrong state ---------------------------------------------------------------------------------

# 400,000 steps (~40 s at 10,000 steps/s); the test kills it. (40,000 could end while the app
# that follows it started and waited for its steps, flushed once a second.)
ENDLESS = [
    "--set", "task.size=20000",
    "--set", "train.batch_size=20",
    "--set", "train.chunk=5",
    "--epochs", "2000",
]  # fmt: skip


def test_case06_a_killed_trainer_is_crashed_everywhere(tmp_path):
    """Issue 23, case 6: a followed trainer killed with -9 is "crashed (last checkpoint step N)"
    with the resume command, in the app that follows it and in `rnntui runs`; never finished."""
    from rnntui.config import load_preset

    started = rnntui("train", "echo-raw-5", *ENDLESS, "--detach", "--runs-dir", str(tmp_path))
    assert started.returncode == 0, started.stderr
    pid = int(started.stdout.split("(pid ")[1].split(")")[0])
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    try:
        wait_until(lambda: (run / "summary.json").exists(), 90, "an epoch end")
        app = NotedApp(load_preset("echo-raw-5"), runs_dir=tmp_path, attach=run.name)
        app.exit_watchdog = False
        heard: list[str] = []

        async def scenario() -> None:
            async with app.run_test(size=(100, 30), notifications=True) as pilot:
                deadline = time.monotonic() + 60
                while len(app.chart.losses) < 50:
                    assert time.monotonic() < deadline, "the followed steps never came"
                    await pilot.pause(0.05)
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 30
                while app.state == "training":
                    assert time.monotonic() < deadline, "the app never noticed the kill"
                    await pilot.pause(0.05)
                await pilot.pause(0.3)
                heard.extend(notifications(app))

        asyncio.run(scenario())
        said = "\n".join(heard)
        assert app.state != "finished" and "Finished" not in said, (app.state, said)
        assert "crashed" in said and "rnntui train --resume" in said, said
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not alive(pid), 20, "the trainer to go")
    listed = run_cli("runs", "--runs-dir", str(tmp_path)).stdout
    assert re.search(r"crashed \(last checkpoint step [\d,]+\)", listed), listed
    assert "--resume" in listed, listed


def test_case07_a_one_character_text_is_refused_or_usable(tmp_path):
    """Issue 23, case 7: a text of one distinct character is refused in one line before
    training, or its run can be used afterwards (generate, export, inspect, resume)."""
    text = write(tmp_path / "aaaa.txt", "a" * 3000)
    runs = tmp_path / "runs"
    result = rnntui(
        "train", "text-lstm", "--set", f"task.path={text}", *TINY_TEXT, "--epochs", "1",
        "--runs-dir", str(runs), "--json",
    )  # fmt: skip
    if result.returncode == 2:  # refused, before any run folder was made
        line = one_line_error(result, 2)
        assert "task.path" in line, line
        assert not runs.exists() or not list(runs.iterdir())
        return
    assert result.returncode == 0, result.stderr[-2000:]
    assert "-0.0" not in result.stdout
    run = json.loads(result.stdout.strip().splitlines()[-1])["run"]
    for args in (
        ["generate", run, "--length", "10"],
        ["export", run, str(tmp_path / "a.keras")],
        ["inspect", "--run", run, "--text", "aaa"],
        ["train", "--resume", run, "--epochs", "2"],
    ):
        done = rnntui(*args)
        assert done.returncode == 0, (args[0], done.stderr[-1000:])


def test_case07_the_entropy_of_a_certain_text_is_zero_not_minus_zero():
    """Issue 23, case 7 (`"unigram": -0.0` should print as 0): the plug-in entropy of a text of
    one symbol is +0.0 (`-(1 * log 1)` is -0.0, which JSON prints as -0.0)."""
    from rnntui.tasks.corpus import entropy

    value = entropy(np.array([3000]))
    assert value == 0 and json.dumps(value) == "0.0"


def test_case08_generate_export_and_inspect_need_no_training_text(text_run, tmp_path):
    """Issue 23, case 8: a trained run is self-contained: with its text deleted, generate,
    export and inspect still work."""
    text = tmp_path / "gone.txt"
    run = copy_run(text_run, tmp_path, text)
    text.unlink()
    for args in (
        ["generate", str(run), "--length", "20"],
        ["export", str(run), str(tmp_path / "m.keras")],
        ["inspect", "--run", str(run), "--text", "the cat"],
    ):
        done = here(*args)
        assert done.returncode == 0, (args[0], done.stderr[-1000:])
    listed = run_cli("runs", "--runs-dir", str(tmp_path / "runs")).stdout
    assert "damaged" not in listed, listed


def test_case08_a_relative_text_path_is_stored_absolute(tmp_path, monkeypatch):
    """Issue 23, case 8: `task.path=data/small.txt` is stored absolute, so generate and resume
    work from any folder."""
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    write(work / "data" / "small.txt", words(6000, seed=4))
    elsewhere.mkdir()
    run = train_text(Path("data/small.txt"), tmp_path / "runs", cwd=work)
    stored = (run / "config.toml").read_text()
    assert f'path = "{work / "data" / "small.txt"}"' in stored, stored
    monkeypatch.chdir(elsewhere)
    done = here("generate", str(run), "--length", "20")
    assert done.returncode == 0, done.stderr[-1000:]
    # a resume reads the text again; --check does all a resume checks first, with the text's
    resumed = rnntui("train", "--resume", str(run), "--epochs", "2", "--check", cwd=elsewhere)
    assert resumed.returncode == 0 and "epochs = 2" in resumed.stdout, resumed.stderr[-1000:]


def test_case08_a_resume_says_it_needs_the_text_and_when_it_changed(text_run, tmp_path):
    """Issue 23, case 8: a resume needs the run's text: a deleted text is named in one line; a
    changed one is called changed (not "checkpoint.npz does not fit ... window N")."""
    text = tmp_path / "book.txt"
    stopped = copy_run(text_run, tmp_path, text)  # one epoch: a resume may train more
    text.write_text(words(1500, seed=6))  # a shorter, different text
    line = one_line_error(rnntui("train", "--resume", str(stopped), "--epochs", "3"), 2)
    assert "changed" in line and "does not fit" not in line, line
    text.unlink()
    line = one_line_error(rnntui("train", "--resume", str(stopped), "--epochs", "3"), 2)
    assert str(text) in line and "text" in line, line


def test_case09_a_tiny_temperature_is_greedy(text_run):
    """Issue 23, case 9: a temperature small enough to overflow samples greedily (the same text
    as temperature 0), without overflow warnings."""
    run = str(text_run["run"])
    greedy = here("generate", run, "--temperature", "0", "--length", "60", "--json")
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        tiny = here("generate", run, "--temperature", "1e-308", "--length", "60", "--json")
    assert greedy.returncode == tiny.returncode == 0, tiny.stderr[-1000:]
    assert json.loads(tiny.stdout)["text"] == json.loads(greedy.stdout)["text"]
    said = [str(w.message) for w in warned if issubclass(w.category, RuntimeWarning)]
    assert not said and "overflow" not in tiny.stderr, (said, tiny.stderr)


def test_case10_failed_sweep_runs_are_retried(tmp_path):
    """Issue 23, case 10: runs that failed (their text was deleted mid-sweep) are retried when
    the same sweep runs again once the text is back."""
    text = write(tmp_path / "t.txt", words(6000, seed=7))
    runs = tmp_path / "sweeps"
    args = [
        "sweep", "text-lstm", "--set", f"task.path={text}", *TINY_TEXT,
        "--set", "train.epochs=1", "--seeds", "2", "--workers", "1",
        "--name", "t", "--runs-dir", str(runs),
    ]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "rnntui", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip
    # validated (the folder is made) but no worker has TensorFlow yet: take the text away
    wait_until(lambda: (runs / "t" / "status.json").exists() or process.poll() is not None, 60, "")
    saved = text.read_bytes()
    text.unlink()
    out, err = process.communicate(timeout=240)
    assert process.returncode == 1 and "failed" in out, (out, err[-2000:])
    text.write_bytes(saved)
    again = rnntui(*args)
    assert again.returncode == 0, (again.stdout, again.stderr[-2000:])
    assert "failed:" not in again.stdout, again.stdout
    table = json.loads((runs / "t" / "results.json").read_text())
    assert table["rows"][0]["seeds"] == 2 and table["rows"][0]["failed"] == 0


def test_case11_three_quick_ctrl_cs_stop_a_sweep_and_say_how_to_continue(tmp_path):
    """Issue 23, case 11: Ctrl+C three times 0.2 s apart (SIGINT to the process group) mid-sweep:
    exit 130 with the command that continues, and status.json not left "running"."""
    # 200,000 steps a run, stopped by the Ctrl+Cs: the steps show in the status about a second
    # in, and two runs of 40,000 sharing a busy box could end before the Ctrl+Cs
    runs = tmp_path / "sweeps"
    args = [
        "sweep", "echo-raw-5", "--set", "task.size=200000", "--set", "train.batch_size=20",
        "--set", "train.chunk=5", "--set", "train.epochs=100", "--seeds", "2",
        "--workers", "2", "--name", "s", "--runs-dir", str(runs),
    ]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "rnntui", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=os.environ.copy(), start_new_session=True,
    )  # fmt: skip
    try:

        def training() -> bool:
            try:
                status = json.loads((runs / "s" / "status.json").read_text())
            except (OSError, ValueError):
                return False
            return any(r["state"] == "running" and r["step"] > 0 for r in status["runs"].values())

        wait_until(training, 120, "a run to train")
        for _ in range(3):
            os.killpg(process.pid, signal.SIGINT)
            time.sleep(0.2)
        out, err = process.communicate(timeout=90)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, (process.returncode, err[-2000:])
    assert "continue with: rnntui sweep" in err.lower(), err[-2000:]
    status = json.loads((runs / "s" / "status.json").read_text())
    assert status["state"] != "running", status["state"]


def test_case12_one_finished_seed_has_no_std(finished_sweep):
    """Issue 23, case 12: with one finished seed the sample std is undefined: `null` in the
    JSON and `–` in the table, never `± 0.0000`."""
    table = json.loads(finished_sweep["result"].stdout.strip().splitlines()[-1])
    assert [row["seeds"] for row in table["rows"]] == [1, 1]
    assert [row["std"] for row in table["rows"]] == [None, None]
    shown = rnntui(*sweep_args(finished_sweep["root"], "done"))
    assert "num_steps=2" in shown.stdout and "± 0.0000" not in shown.stdout, shown.stdout
    assert "–" in shown.stdout


@pytest.mark.parametrize("target", ["nosuchrun", "/etc/passwd"])
def test_case12_attach_to_no_run_is_one_line_before_the_app_opens(tmp_path, target):
    """Issue 23, case 12: `rnntui --attach nosuchrun` (or a file) exits 2 with one line naming
    --attach, before the app opens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rnntui", "--attach", target, "--runs-dir", str(tmp_path)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TERM": "xterm"},
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the app opened instead of refusing --attach {target}")
    result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    line = one_line_error(result, 2)
    assert "--attach" in line and "--resume" not in line, line


def test_case12_detach_with_json_prints_json(tmp_path):
    """Issue 23, case 12: `rnntui train PRESET --detach --json` prints one JSON object."""
    result = rnntui(
        "train", "echo-raw-5", *TINY_ECHO, "--detach", "--json", "--runs-dir", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    try:
        lines = result.stdout.strip().splitlines()
        info = json.loads(lines[-1])
    finally:
        found = re.search(r'"?pid"?\D+(\d+)', result.stdout)
        if found and alive(int(found[1])):
            os.kill(int(found[1]), signal.SIGTERM)
    assert len(lines) == 1 and Path(info["run"]).is_dir() and isinstance(info["pid"], int)


def test_case12_a_proc_file_is_not_called_empty():
    """Issue 23, case 12: `task.path=/proc/cpuinfo` (size 0, yet it has text) is not reported
    as "is empty": it trains, or is refused for what it is."""
    result = rnntui("train", "text-lstm", "--set", "task.path=/proc/cpuinfo", "--check")
    if result.returncode == 0:
        return
    line = one_line_error(result, 2)
    assert "is empty" not in line and "/proc/cpuinfo" in line, line
