"""Atomic file writes: a crash mid-write leaves the previous good file, never a torn one."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from rnntui.util.processes import pid_alive

# what follows ".NAME." in a temporary file's name: its writer's pid and thread, or nothing (the
# one shared name of earlier versions, ".NAME.tmp")
_WRITER = re.compile(r"(?:(\d+)-\d+)?")


def temp_path(path: Path) -> Path:
    """The hidden temporary name this process and thread write `path` under before the rename:
    a writer's own, so two processes writing one file at once (a status both update) never
    rename each other's half-written bytes into place."""
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_native_id()}.tmp")


def target_name(filename: str) -> str:
    """The name of the file a temporary file stands for (a name that is none, unchanged)."""
    name = os.path.basename(filename)
    if name.startswith(".") and name.endswith(".tmp"):
        base, _, writer = name[1:-4].rpartition(".")
        return base if base and _WRITER.fullmatch(writer) else name[1:-4]
    return name


def _remove_leftovers(path: Path) -> None:
    """Delete temporary files of `path` whose writer is gone (killed mid-write): they would
    pile up beside it, one per crash. A running writer's file is left alone."""
    prefix = f".{path.name}."
    try:
        entries = os.scandir(path.parent)
    except OSError:
        return
    with entries:
        for entry in entries:
            name = entry.name
            if name == f".{path.name}.tmp":
                writer = None  # the old shared name: its writer is not known
            elif name.startswith(prefix) and name.endswith(".tmp"):
                match = _WRITER.fullmatch(name[len(prefix) : -4])
                if match is None or match.group(1) is None:
                    continue  # another file's (".NAME.more.tmp")
                writer = int(match.group(1))
            else:
                continue
            if writer is None or not pid_alive(writer):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


@contextlib.contextmanager
def atomic_file(path: Path, text: bool = False) -> Iterator[IO]:
    """Stream into a hidden temporary file beside `path`; once the block ends, fsync it and
    rename it over `path`.

    When any step fails (a full disk, a read-only folder, an error in the block) the temporary
    file is removed and the error re-raised: `path` keeps its previous content and no stray file
    is left behind.
    """
    tmp = temp_path(path)
    _remove_leftovers(path)
    # A leftover of a crash may be anything, even a FIFO (opening that would block): replace it.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        mode = {"mode": "w", "encoding": "utf-8", "newline": ""} if text else {"mode": "wb"}
        with os.fdopen(fd, **mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.filename is None:
            error.filename = str(path)  # a failed write or fsync names no file: say which
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (see `atomic_file`)."""
    with atomic_file(path) as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
