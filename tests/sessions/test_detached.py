"""Runs that outlive their terminal: a detached run survives its shell and is listed live. (The
app following such a run is tests/app/test_follow.py; the event pipe is test_pipe.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from rnntui.runs.folder import RunFolder
from rnntui.runs.listing import list_runs
from tests.helpers import ENDLESS, only_run, process_gone, run_cli, steps_logged, wait_until


def test_a_detached_run_survives_its_launching_shell_being_killed(tmp_path):
    # A shell launches the run and lingers, as a login shell over SSH does; then the whole
    # session is hung up and killed, as a dropped connection does.
    command = (
        f"{sys.executable} -m rnntui train echo-raw-5 {' '.join(ENDLESS)} --detach "
        f"--runs-dir {tmp_path} > {tmp_path}/launch.txt 2>&1; sleep 60"
    )
    shell = subprocess.Popen(["bash", "-c", command], start_new_session=True)
    launch = tmp_path / "launch.txt"
    wait_until(lambda: launch.exists() and "(pid " in launch.read_text(), 60, "the launch")
    pid = int(launch.read_text().split("(pid ")[1].split(")")[0])
    run = only_run(tmp_path)
    os.killpg(shell.pid, signal.SIGHUP)
    os.killpg(shell.pid, signal.SIGKILL)
    shell.wait(10)
    try:
        wait_until(lambda: steps_logged(run), 60, "the first steps")
        before = len(steps_logged(run))
        wait_until(lambda: len(steps_logged(run)) > before + 100, 30, "training to go on")
        assert not process_gone(pid)
        (row,) = list_runs(tmp_path)
        assert row.live_pid == pid and row.live_state == "training"
        listing = run_cli("runs", "--runs-dir", str(tmp_path))
        assert f"● training (pid {pid})" in listing.stdout
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: process_gone(pid), 30, "the run to stop")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped"] is True and summary["steps"] > before
    assert RunFolder(run).read_checkpoint().step == summary["steps"]
    assert RunFolder(run).live_owner() is None
    assert "● " not in run_cli("runs", "--runs-dir", str(tmp_path)).stdout
