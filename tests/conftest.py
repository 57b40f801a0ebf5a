"""Shared fixtures: every test gets its own user folders, so no test sees a developer's presets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))  # kept XLA programs
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    # sweeps do not measure the machine's two-process ceiling (~2.5 s) unless a test asks
    monkeypatch.setenv("RNNTUI_CEILING", "off")
    return home


def run_cli(
    *args: str, timeout: float = 240, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the real command line (`python -m rnntui ...`) in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "rnntui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=os.environ.copy(),
    )
