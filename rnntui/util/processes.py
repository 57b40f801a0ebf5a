"""Whether a process id still names a running process."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True while some process has `pid` (another user's counts); False once it is gone."""
    if pid <= 0:  # 0 and negatives name process groups to os.kill, not a process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
