"""Shared fixtures: every test gets its own user folders, so no test sees a developer's presets.
(The shared helper functions live in tests/helpers.py.)"""

from __future__ import annotations

import pytest


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
