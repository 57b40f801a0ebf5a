"""Atomic file writes: a crash mid-write leaves the previous good file, never a torn one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def temp_path(path: Path) -> Path:
    """The hidden temporary name `path` is written under before the rename."""
    return path.with_name(f".{path.name}.tmp")


@contextlib.contextmanager
def atomic_file(path: Path, text: bool = False) -> Iterator[IO]:
    """Stream into a hidden temporary file beside `path`; once the block ends, fsync it and
    rename it over `path`.

    When any step fails (a full disk, a read-only folder, an error in the block) the temporary
    file is removed and the error re-raised: `path` keeps its previous content and no stray file
    is left behind.
    """
    tmp = temp_path(path)
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
