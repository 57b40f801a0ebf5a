"""Reading files that may be anything: only regular files are read, and opening never blocks.

A FIFO opened for reading blocks until something writes to it, and `/dev/zero` never ends; a
preset path, a run folder or a user's preset folder can hold either. So every read of a file the
user (or a crash, or a fuzzer) may have put there goes through `open_regular`: it opens with
O_NONBLOCK (a FIFO opens at once) and then checks, on the open descriptor, that it is a regular
file. Checking the descriptor rather than the path first means a FIFO swapped in after a check
cannot block either.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFileError(OSError):
    """The path is a directory, FIFO, device or socket; `strerror` says which."""


class FileTooLargeError(OSError):
    """A file far larger than its kind ever is (a preset of gigabytes): not read at all."""


def describe_mode(mode: int) -> str:
    """ "a FIFO", "a directory", ... for a stat mode that is not a regular file."""
    return next((name for test, name in KINDS if test(mode)), "not a regular file")


def open_regular(path: Path | str, flags: int = os.O_RDONLY, mode: int = 0o666) -> int:
    """`os.open` that never blocks on a FIFO and refuses anything but a regular file.

    Returns a blocking descriptor (O_NONBLOCK is cleared once the file is known to be regular).
    Raises NotRegularFileError (an OSError) naming what the path is instead.
    """
    flags |= os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags, mode)
    except IsADirectoryError:  # opened for writing
        raise NotRegularFileError(errno.EISDIR, "is a directory", str(path)) from None
    except OSError as error:
        if error.errno == errno.ENXIO:  # a FIFO opened for writing with no reader
            raise NotRegularFileError(errno.ENXIO, "is a FIFO", str(path)) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = describe_mode(info.st_mode)
            code = errno.EISDIR if stat.S_ISDIR(info.st_mode) else errno.EINVAL
            raise NotRegularFileError(code, f"is {kind}, not a regular file", str(path))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: Path | str, max_bytes: int | None = None) -> bytes:
    """The whole file; NotRegularFileError for a FIFO, directory or device, never a hang."""
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as handle:
        if max_bytes is not None:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise FileTooLargeError(
                    errno.EFBIG,
                    f"is {size / 2**20:.1f} MiB, more than the {max_bytes // 2**20} MiB such a "
                    "file ever needs",
                    str(path),
                )
        return handle.read()


def read_text(path: Path | str, max_bytes: int | None = None, encoding: str = "utf-8") -> str:
    """`read_bytes` decoded (UnicodeDecodeError, a ValueError, when it is not `encoding`)."""
    return read_bytes(path, max_bytes).decode(encoding)
