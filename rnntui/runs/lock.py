"""One process at a time writes a run folder: `<run>/lock`, held with flock, names its owner.

The owner keeps the lock file open with an exclusive `flock` for as long as it trains. The kernel
drops the lock when the process ends in any way (kill -9 included), so a lock file left behind by
a dead process is simply not locked: nobody has to guess from a pid whether it is stale. The file
also holds the owner's pid, host and start time (JSON), so a second process can say who holds the
run and readers (`rnntui runs`, the app) can tell a live run and whom to signal.

Readers never block: they test the lock with LOCK_NB and read the file without waiting.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rnntui.util.safe_read import NotRegularFileError, open_regular

LOCK_FILE = "lock"
# A reader testing the lock holds it (shared) for microseconds; an owner-to-be retries this long
# before it concludes that another process really holds the run.
CONTENDED_RETRY_S = 0.3


@dataclass(frozen=True)
class LockOwner:
    """Who holds a run: what the lock file says (any field may be missing in a torn file)."""

    pid: int | None
    host: str = ""
    started: str = ""

    def describe(self) -> str:
        """ "pid 4242 on box since 2026-05-02 14:31:07" (as much as is known)."""
        who = f"pid {self.pid}" if self.pid is not None else "another process"
        if self.host and self.host != socket.gethostname():
            who += f" on {self.host}"
        if self.started:
            who += f" since {self.started}"
        return who


class RunLockedError(RuntimeError):
    """Another live process holds the run folder."""

    def __init__(self, path: Path, owner: LockOwner) -> None:
        self.path = path
        self.owner = owner
        hint = f"wait for it to finish or stop it (kill {owner.pid})" if owner.pid else "wait"
        super().__init__(f"{path.name} is in use by {owner.describe()}; {hint}")


class RunLock:
    """The exclusive lock of one run folder, held by this process until `release()`."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise: RunLockedError (a live owner), OSError (cannot write here,
        or `lock` is a directory or FIFO: NotRegularFileError)."""
        if self._fd is not None:
            return
        deadline = time.monotonic() + CONTENDED_RETRY_S
        while True:
            fd = open_regular(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                raise RunLockedError(self.path.parent, read_owner_file(self.path)) from None
            except BaseException:
                os.close(fd)
                raise
            # The previous owner may have removed the file between our open and our flock: then
            # we locked an orphan inode. Only the lock on the file at the path counts.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:
            record = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)
        except BaseException:
            self._unlock(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Remove the lock file and unlock (in that order, so a waiting process that then
        locks the removed file notices the swap and retries on the path)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        self._unlock(fd)

    def _unlock(self, fd: int) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_owner_file(path: Path) -> LockOwner:
    """What a lock file says, without locking it; a torn or odd file gives what it can."""
    try:
        fd = open_regular(path)
        with os.fdopen(fd, "rb") as handle:
            data = json.loads(handle.read(4096).decode("utf-8"))
    except (OSError, ValueError):
        return LockOwner(None)
    if not isinstance(data, dict):
        return LockOwner(None)
    pid = data.get("pid")
    host, started = data.get("host"), data.get("started")
    return LockOwner(
        pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else None,
        host if isinstance(host, str) else "",
        started if isinstance(started, str) else "",
    )


def lock_owner(folder: Path) -> LockOwner | None:
    """The live owner of a run folder, or None when no process holds it (never blocks).

    A lock file whose process has died is not locked any more: None, whatever its pid says.
    """
    path = Path(folder) / LOCK_FILE
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        return None
    except NotRegularFileError:
        return None  # not a lock anybody could hold; acquiring will say what is wrong
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EPERM):
            return None
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return read_owner_file(path)
    os.close(fd)  # we could lock it: nobody holds it (closing drops our shared lock)
    return None


def process_is_rnntui(pid: int) -> bool:
    """Whether `pid` is a running rnntui process (its command line names rnntui): for records
    without a lock to test, such as a sweep's driver."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        pass
    try:
        return b"rnntui" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (not Linux): trust the pid
