"""Which runs are training right now, found cheaply enough to ask every second."""

from __future__ import annotations

import os
from pathlib import Path


def live_runs(runs_dir: Path) -> dict[str, int]:
    """The runs under `runs_dir` that a live process trains now: name -> pid (the holder of
    the run's lock; a crashed trainer holds none). Reads no run's files but its lock."""
    from rnntui.runs.lock import lock_owner

    found: dict[str, int] = {}
    try:
        entries = sorted(os.scandir(runs_dir), key=lambda entry: entry.name)
    except OSError:
        return found
    for entry in entries:
        try:
            if not entry.is_dir() or entry.name.startswith("."):
                continue
            owner = lock_owner(Path(entry.path))
        except OSError:
            continue
        if owner is not None:
            found[entry.name] = owner.pid
    return found
