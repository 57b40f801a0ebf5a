"""Start-up: `rnntui --help`, and launch to the app's first frame in a real (pseudo-)terminal.

- `--help`: wall time of the installed console script, several runs (median, best).
- First frame: `rnntui` is started in a pseudo-terminal (160x48, xterm-256color) exactly as a user
  starts it; the clock stops when the first full screen has been written (its pane titles are on
  the terminal). A second launch goes through a tiny wrapper that records, inside the app, when
  the first refresh ran, when the TensorFlow helper process began and ended its import (it must
  begin after the first frame), and that the app's own process never imported TensorFlow.

Each app is closed with ctrl+q (then SIGTERM, then SIGKILL if it will not go). Its user folders
point at a temporary directory, so nothing of yours is read or written.

    python -m benchmarks.bench_startup [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._measure import REPO, machine

MARKERS = ("Settings", "Loss")  # pane titles: both on screen = the first full frame
ANSI = re.compile(
    rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]"
)

# Runs inside the launched app: when its first refresh ran, and when the TensorFlow helper process
# began its import and had it ready (the app starts the helper once the first frame is up; the
# app's own process never imports TensorFlow, which is checked too).
HOOK = """
import json, os, sys, time
from rnntui.analysis.helper import TensorFlowProcess
from rnntui.tui.app import RnnTuiApp
record = {}
since_launch = lambda: time.time() - float(os.environ["BENCH_LAUNCHED"])
mount = RnnTuiApp.on_mount
def on_mount(self):
    mount(self)
    def first_frame():
        record["first_refresh_s"] = since_launch()
    self.call_after_refresh(first_frame)
RnnTuiApp.on_mount = on_mount
preload = TensorFlowProcess.preload
def preload_tensorflow(self):
    record["tf_import_started_s"] = since_launch()
    record["tf_imported_before"] = "tensorflow" in sys.modules
    try:
        return preload(self)
    finally:
        record["tf_ready_s"] = since_launch()
        record["tf_in_app_process"] = "tensorflow" in sys.modules
        with open(os.environ["BENCH_RECORD"], "w") as out:
            json.dump(record, out)
TensorFlowProcess.preload = preload_tensorflow
from rnntui.cli.main import app
app(prog_name="rnntui", args=[])
"""


def console_script() -> str:
    candidate = Path(sys.executable).with_name("rnntui")
    return str(candidate) if candidate.exists() else shutil.which("rnntui") or "rnntui"


def isolated_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(home / name.lower())
    env.update(TERM="xterm-256color", COLUMNS="160", LINES="48", TF_CPP_MIN_LOG_LEVEL="2")
    return env


def time_help(repeat: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(
            [console_script(), "--help"], capture_output=True, env=env, check=False
        )
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"rnntui --help failed: {done.stderr.decode()[-2000:]}")
    return times


def time_python(repeat: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        times.append(time.perf_counter() - started)
    return times


def launch_to_first_frame(
    args: list[str], env: dict[str, str], timeout: float = 60, record: Path | None = None
) -> float:
    """Seconds from spawning `args` in a pty until both MARKERS are on the terminal.

    With `record`, the app is closed only once the hook has written that file."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    env = {**env, "BENCH_LAUNCHED": repr(time.time())}
    started = time.perf_counter()
    child = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, start_new_session=True
    )
    os.close(slave)
    seen = b""
    elapsed = float("nan")
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.01)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                seen += chunk
                text = ANSI.sub(b"", seen)
                if elapsed != elapsed and all(m.encode() in text for m in MARKERS):
                    elapsed = time.perf_counter() - started
            if elapsed == elapsed and (record is None or record.exists()):
                break
            if child.poll() is not None:
                break
        close_app(child, master)
    finally:
        os.close(master)
    if elapsed != elapsed:
        tail = ANSI.sub(b"", seen)[-1500:].decode(errors="replace")
        raise SystemExit(f"no first frame within {timeout} s from {args}; the screen said:\n{tail}")
    return elapsed


def close_app(child: subprocess.Popen, master: int) -> None:
    """ctrl+q; if the app does not leave, SIGTERM; then SIGKILL. Drains the pty meanwhile."""
    os.write(master, b"\x11")
    for sig, wait in ((None, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if sig is not None:
            child.send_signal(sig)
        deadline = time.perf_counter() + wait
        while time.perf_counter() < deadline:
            if child.poll() is not None:
                return
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    os.read(master, 65536)
                except OSError:
                    pass


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s, best {min(values):.3f} s (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7, help="runs of --help")
    parser.add_argument("--frames", type=int, default=5, help="launches to the first frame")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rnntui-bench-") as folder:
        home = Path(folder)
        env = isolated_env(home)
        python_s = time_python(args.repeat, env)
        help_s = time_help(args.repeat, env)
        frame_s = [launch_to_first_frame([console_script()], env) for _ in range(args.frames)]
        record = home / "record.json"
        hooked_env = {**env, "BENCH_RECORD": str(record)}
        hooked, records = [], []
        for _ in range(args.frames):
            hooked.append(
                launch_to_first_frame([sys.executable, "-c", HOOK], hooked_env, record=record)
            )
            records.append(json.loads(record.read_text()) if record.exists() else {})
            record.unlink(missing_ok=True)

    print(f"Machine: {machine()}\n")
    print(f"  python -c pass (interpreter start)       {summary(python_s)}")
    print(f"  rnntui --help                            {summary(help_s)}")
    print(f"  rnntui: launch to first frame (pty)      {summary(frame_s)}")

    def column(key: str) -> list[float]:
        return [r[key] for r in records if key in r]

    print(f"  same, via a hook: first frame on screen   {summary(hooked)}")
    print(f"    the app's first refresh callback ran    {summary(column('first_refresh_s'))}")
    print(f"    its TensorFlow helper began importing   {summary(column('tf_import_started_s'))}")
    print(f"    and TensorFlow was ready in the helper  {summary(column('tf_ready_s'))}")
    early = [
        r
        for r, frame in zip(records, hooked, strict=True)
        if r.get("tf_imported_before") or r.get("tf_import_started_s", 0.0) < frame
    ]
    print(
        "  TensorFlow import began before the first frame: "
        + (f"YES in {len(early)}/{len(records)} launches" if early else "no, in every launch")
    )
    inside = sum(bool(r.get("tf_in_app_process")) for r in records)
    print(
        "  TensorFlow in the app's own process once the helper was ready: "
        + (f"YES in {inside}/{len(records)} launches" if inside else "no, in every launch")
    )


if __name__ == "__main__":
    main()
