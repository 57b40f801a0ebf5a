"""Errors the engine raises or reports, and how any error becomes the one line a user reads."""

from __future__ import annotations

from rnntui.config import ConfigError
from rnntui.runs.files import RunFolderError
from rnntui.runs.lock import RunLockedError


class RunWriteError(RuntimeError):
    """Saving to the run folder failed (a full disk, a folder gone read-only); `str()` is one
    line naming the file and what was kept."""


# Errors whose message is already written for the user: shown without the exception's name.
USER_ERRORS = (ConfigError, RunFolderError, RunLockedError, RunWriteError)


def one_line(error: BaseException) -> str:
    """A user-facing, single-line description of an exception."""
    if isinstance(error, USER_ERRORS):
        return " ".join(str(error).split())[:300]
    text = str(error).strip().splitlines()
    detail = text[0] if text else ""
    return f"{type(error).__name__}: {detail}"[:300] if detail else type(error).__name__


class TrainingStopped(Exception):
    """Raised inside the loop when stop() was requested (never escapes `run`)."""
