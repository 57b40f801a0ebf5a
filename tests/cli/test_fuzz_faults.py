"""A fault at any write leaves every file that was good still good: exports and sweep folders.

The run-folder fuzz (test_fuzz_runs.py) damages files and checks what reads them, and
test_faults.py fills the disk under a training run. This one makes the writes of an export and
of a sweep fail, for real: the target folder is a small tmpfs filled to leave F bytes free.
F is not stepped through every page a command needs (that took minutes, mostly failing the same
write again). A roomy attempt first measures what the command writes, in 4 KB pages (what tmpfs
hands out), and F is then set so that each write in turn is the first to find no room: for an
export its model at its first and its last page, then its vocabulary; for a sweep each of its
own files, and its new run early and late. After every attempt:

- the command succeeded, and what it wrote is complete; or it failed in one line (exit 1),
  no traceback;
- every file that was there before is byte for byte as it was, or (a sweep's own files, which
  it rewrites) still parses;
- nothing half-written is left: no temporary file, no partial model.

One tiny text sweep (two seeds, one worker) is trained for the module: its first run is what
the exports export, and it is the sweep that grows. Where tmpfs cannot be mounted the tests are
skipped (they need a real full disk).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rnntui.cli import app as cli_app
from tests.helpers import words, write

pytestmark = pytest.mark.slow

PAGE = 4096
TINY_TEXT = [
    "--set", "task.max_chars=0",
    "--set", "model.state_size=16",
    "--set", "model.embedding=8",
    "--set", "train.batch_size=8",
    "--set", "train.num_steps=10",
    "--set", "train.chunk=7",
]  # fmt: skip
runner = CliRunner()


@pytest.fixture
def disk(tmp_path) -> Iterator[Path]:
    """A real 2 MB tmpfs (root: the suite runs as root locally and in CI)."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def leave_free(disk: Path, room: int) -> None:
    """Fill `disk` (with `disk/.filler`) so that `room` bytes stay free."""
    filler = disk / ".filler"
    filler.unlink(missing_ok=True)
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, free_bytes(disk) - room))


def pages(size: int) -> int:
    return -(-size // PAGE)


def fault_rooms(sizes: list[int]) -> tuple[list[int], int]:
    """The free room (bytes) at which each write of `sizes` (bytes, in the order they are
    written) is the first to find none: at its first page and, for a write of several pages, at
    its last; and the room they all take."""
    rooms, used = set(), 0
    for size in sizes:
        rooms.update({used, used + max(1, pages(size)) - 1})
        used += max(1, pages(size))
    return [PAGE * room for room in sorted(rooms)], PAGE * used


def contents(folder: Path) -> dict[str, bytes | None]:
    """Every entry under `folder` (the filler aside): a file's bytes, None for a folder."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
        if p.name != ".filler"
    }


def check_failed_in_one_line(result) -> None:
    assert result.exit_code == 1, (result.exit_code, result.output[-2000:])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnntui: "), result.stderr[-2000:]


def sweep(runs: Path, text: Path, seeds: int):
    """A tiny text sweep, in this process (its worker is a process of its own)."""
    return runner.invoke(
        cli_app,
        ["sweep", "text-lstm", "--set", f"task.path={text}", *TINY_TEXT, "--set",
         "train.epochs=1", "--seeds", str(seeds), "--workers", "1", "--name", "s",
         "--runs-dir", str(runs)],
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A finished sweep of two seeds, and its text."""
    root = tmp_path_factory.mktemp("sweep")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(root / "data"))
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        text = write(root / "words.txt", words(3000, seed=1))
        result = sweep(root / "sweeps", text, 2)
    assert result.exit_code == 0, (result.output[-2000:], result.exception)
    return {"sweep": root / "sweeps" / "s", "text": text, "run": root / "sweeps/s/runs/seed=0"}


# --- exports -------------------------------------------------------------------------------------


def export(run: Path, target: Path, *extra: str):
    return runner.invoke(cli_app, ["export", str(run), str(target), *extra])


def check_export(folder: Path, name: str, saved_model: bool) -> None:
    """A complete export: the model loads, the vocabulary parses."""
    import keras

    stem = name.removesuffix(".keras")
    vocabulary = json.loads((folder / f"{stem}.vocabulary.json").read_text())
    assert len(vocabulary["symbols"]) > 2
    if saved_model:
        from rnntui.runtime.tf_import import import_tf

        loaded = import_tf().saved_model.load(str(folder / name))
        probabilities = loaded.serve(np.zeros((1, 3), np.int32)).numpy()
    else:
        model = keras.models.load_model(folder / name)
        probabilities = model.predict(np.zeros((1, 3), np.int32), verbose=0)
    assert np.allclose(probabilities.sum(-1), 1, atol=1e-5)


def export_sizes(folder: Path, name: str) -> list[int]:
    """What an export of `name` writes into `folder`, in order: the model (a file, or a
    SavedModel folder, which TensorFlow writes in one call that fails one way) and then its
    vocabulary."""
    model = folder / name
    files = [p for p in model.rglob("*") if p.is_file()] if model.is_dir() else [model]
    vocabulary = folder / f"{name.removesuffix('.keras')}.vocabulary.json"
    return [sum(pages(p.stat().st_size) for p in files) * PAGE, vocabulary.stat().st_size]


@pytest.mark.parametrize("saved_model", [False, True], ids=["keras", "savedmodel"])
def test_an_export_that_runs_out_of_room_at_any_write_leaves_the_folder_as_it_was(
    trained, disk, saved_model
):
    """An export with no room for its model, then none for its model's last page, then none
    for its vocabulary: it fails in one line leaving the folder as it was, both a new export
    (keras) and `--force` over a good one; with room for it all it succeeds."""
    name = "saved" if saved_model else "m.keras"
    folder = disk / "out"
    folder.mkdir()
    write(folder / "notes.txt", "the user's own file\n")
    first = export(trained["run"], folder / name)  # a good export, to be overwritten with --force
    assert first.exit_code == 0, first.output
    check_export(folder, name, saved_model)
    rooms, need = fault_rooms(export_sizes(folder, name))
    good = contents(folder)
    for room in rooms:
        leave_free(disk, room)
        attempts = [["--force"]] if saved_model else [["--force"], []]
        for force in attempts:  # over the good export, and a new one beside it (n.keras)
            result = export(trained["run"], folder / (name if force else "n.keras"), *force)
            check_failed_in_one_line(result)
            assert contents(folder) == good, f"room {room}: the folder changed"
    leave_free(disk, need + 16 * PAGE)  # room for it all (and a few folders)
    result = export(trained["run"], folder / name, "--force")
    assert result.exit_code == 0, result.output[-2000:]
    check_export(folder, name, saved_model)
    assert (folder / "notes.txt").read_text() == "the user's own file\n"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


# --- sweep folders -------------------------------------------------------------------------------


def good(path: Path) -> bool:
    """Whether a sweep or run file is sound: it parses as what it is."""
    from rnntui.runs.folder import RunFolder
    from rnntui.runs.metrics import read_metrics

    try:
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix == ".jsonl":
            read_metrics(path)
        elif path.suffix == ".npz":
            RunFolder(path.parent).read_checkpoint()
    except (OSError, ValueError):
        return False
    return True


def test_a_sweep_that_runs_out_of_room_at_any_write_keeps_every_good_file(trained, disk):
    """The finished 2-seed sweep grows to 3 seeds on a disk with too little room, at each of
    the sweep's own writes and through its new run's: each attempt ends (finished, or failed,
    exit 1, no traceback); the two finished runs stay byte for byte, every file that parsed
    before still parses, and no temporary file is left.

    The rooms: none (its first write, sweep.toml, fails), one page (that fits; its status.json,
    written before any worker starts, fails), two (the new run's config.toml fits too: the disk
    fills as the run starts to train, while the sweep rewrites its status.json), and one page
    short of the room the whole growth took (the disk fills at the run's end). A run's trainer
    failing at each of its writes is test_faults.py's.
    """
    template, grown = trained["sweep"], disk / "s"
    finished = {name: contents(template / "runs" / name) for name in ("seed=0", "seed=1")}

    def attempt(room: int | None) -> tuple[int, int]:
        """The sweep's exit code, and the pages it took."""
        shutil.rmtree(grown, ignore_errors=True)
        (disk / ".filler").unlink(missing_ok=True)
        shutil.copytree(template, grown)
        if room is not None:
            leave_free(disk, room)
        before = {p: good(p) for p in grown.rglob("*") if p.is_file()}
        free = free_bytes(disk)
        result = sweep(disk, trained["text"], 3)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            room,
            result.exception,
        )
        assert "Traceback" not in result.stderr, (room, result.stderr[-3000:])
        # 1: the run failed (its line in the table), or the sweep's own files could not be written
        assert result.exit_code in (0, 1), (room, result.exit_code, result.stderr[-2000:])
        for name, files in finished.items():
            assert contents(grown / "runs" / name) == files, (room, name)
        for path, was_good in before.items():
            if was_good:
                assert path.exists() and good(path), (room, path)
        assert not list(grown.rglob(".*.tmp")), room
        return result.exit_code, pages(free - free_bytes(disk))

    code, took = attempt(None)
    assert code == 0  # room to spare: it grows
    outcomes = {room: attempt(PAGE * room)[0] for room in (0, 1, 2, took - 1)}
    assert set(outcomes.values()) == {1}, outcomes
