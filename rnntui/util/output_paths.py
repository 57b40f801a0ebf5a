"""Where a command writes a file a user named (`export`, `forecast --csv`): the refusals are the
same everywhere, and are given before any work is done, so a bad path costs nothing."""

from __future__ import annotations

import os
from pathlib import Path


def missing_folder(path: Path) -> str:
    """Why `path` cannot be created because its folder is missing ("" when the folder is there)."""
    if path.parent.is_dir():
        return ""
    return f"no folder '{path.parent}' to write into; create it first"


def existing(path: Path) -> str:
    """The refusal of a path that is already taken (overwritten only with --force)."""
    return f"'{path}' exists; choose a new path, or overwrite it with --force"


def output_file_problem(path: Path, force: bool) -> str:
    """Why a new file cannot be written at `path` ("" when it can): a missing folder, a folder in
    its place, or a file there already (unless `force`)."""
    if missing_folder(path):
        return missing_folder(path)
    if path.is_dir():
        return f"'{path}' is a folder; choose a new path"
    if os.path.lexists(path) and not force:
        return existing(path)
    return ""
