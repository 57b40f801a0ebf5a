"""Atomic writes with two writers at once, and what crashed writers leave behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from rnntui.util.atomic_write import atomic_write_bytes, target_name, temp_path

SIZE = 256 * 1024  # big enough that a write is still going when the other writer renames

WRITER = f"""
import sys
from pathlib import Path
from rnntui.util.atomic_write import atomic_write_bytes
path, byte = Path(sys.argv[1]), sys.argv[2].encode()
for _ in range(150):
    atomic_write_bytes(path, byte * {SIZE})
"""


def test_two_processes_writing_one_file_never_leave_it_torn(tmp_path):
    path = tmp_path / "status.json"
    atomic_write_bytes(path, b"0" * SIZE)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), byte], stderr=subprocess.PIPE)
        for byte in ("a", "b")
    ]
    seen = set()
    try:
        while any(w.poll() is None for w in writers):
            data = path.read_bytes()
            assert len(data) == SIZE and data == data[:1] * SIZE, "a torn file was read"
            seen.add(data[:1])
    finally:
        errors = [w.communicate(timeout=60)[1].decode() for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    data = path.read_bytes()
    assert data in (b"a" * SIZE, b"b" * SIZE)
    assert seen <= {b"0", b"a", b"b"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.json"]  # no temporary left


def test_a_dead_writers_leftover_goes_a_running_writers_stays(tmp_path):
    path = tmp_path / "summary.json"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f".summary.json.{int(gone.stdout)}-1.tmp"
    legacy = tmp_path / ".summary.json.tmp"  # the one shared name of earlier versions
    running = tmp_path / f".summary.json.{os.getppid()}-7.tmp"  # a writer still at work
    other = tmp_path / f".summary.json.bak.{int(gone.stdout)}-1.tmp"  # another file's
    for leftover in (dead, legacy, running, other):
        leftover.write_bytes(b"half")
    time.sleep(0.01)
    atomic_write_bytes(path, b"{}")
    assert path.read_bytes() == b"{}"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([path.name, running.name, other.name])


def test_a_temporary_name_says_which_file_it_stands_for():
    path = Path("/runs/sweep/status.json")
    assert temp_path(path).parent == path.parent
    assert temp_path(path).name.startswith(".status.json.") and temp_path(path).suffix == ".tmp"
    assert target_name(str(temp_path(path))) == "status.json"
    assert target_name("/runs/.status.json.tmp") == "status.json"
    assert target_name("/runs/status.json") == "status.json"
