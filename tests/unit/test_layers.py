"""The house rules, checked: layers (import-linter contracts in pyproject.toml), nothing loose at
the package's top, module sizes, and an app process that never imports TensorFlow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import rnntui

PACKAGE = Path(rnntui.__file__).parent
REPO = PACKAGE.parent
MAX_MODULE_LINES = 600
MAX_APP_LINES = 450


def test_the_import_contracts_hold():
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert linter, "import-linter is a test dependency: pip install -e '.[test]'"
    result = subprocess.run([linter, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "0 broken" in result.stdout


def test_nothing_is_loose_at_the_top_of_the_package():
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py"]


def test_no_module_is_over_600_lines_and_the_app_is_at_most_450():
    sizes = {
        str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
        for p in PACKAGE.rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}
    assert sizes["tui/app.py"] <= MAX_APP_LINES


APP_PROCESS = """
import asyncio, sys, time
from rnntui.tui.app import RnnTuiApp

async def until(pilot, condition, what):
    deadline = time.monotonic() + 120
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.1)

async def main():
    app = RnnTuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.tf_ready, "the TensorFlow helper")  # it imported TF
        await pilot.press("4")  # the inspector computes in the helper
        await until(pilot, lambda: app.inspector.inspection is not None, "an inspection")
    bad = [m for m in ("tensorflow", "keras") if m in sys.modules]
    print("imported:", bad)

asyncio.run(main())
"""


def test_the_app_process_never_imports_tensorflow():
    result = subprocess.run(
        [sys.executable, "-c", APP_PROCESS], capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "imported: []" in result.stdout


def test_no_child_process_runs_python_between_fork_and_exec():
    """A preexec_fn runs Python in the forked child of a threaded process (the app has several):
    it can deadlock on a lock another thread held at the fork, and the parent waits for ever
    (it did: the app's spawn of its trainer). What a child needs, it does after exec."""
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "preexec_fn" in line
    ]
    assert offenders == []
