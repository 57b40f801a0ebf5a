"""Atomic file writes: a crash mid-write leaves the previous good file, never a torn one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def temp_path(path: Path) -> Path:
    """The hidden temporary name `path` is written under before the rename."""
    return path.with_name(f".{path.name}.tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a hidden temporary file beside `path`, fsync, then rename over `path`.

    When any step fails (a full disk, a read-only folder) the temporary file is removed and the
    OSError re-raised: `path` keeps its previous content and no stray file is left behind.
    """
    tmp = temp_path(path)
    # A leftover of a crash may be anything, even a FIFO (opening that would block): replace it.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.filename is None:
            error.filename = str(path)  # a failed write or fsync names no file: say which
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
