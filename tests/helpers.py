"""What the test modules share; no test module imports another, only this and conftest's fixtures.

- configs: `tiny()` (echo-raw-5 made small), `sets()` (the command line's --set pairs) and
  `TINY_ARGS` (a small echo-raw-5 on the command line);
- the real command line: `run_cli`, `rnntui_command`, `last_json`, `start_detached` (`ENDLESS`);
- waiting for a state, never for a guessed time: `wait_until` (threads and processes),
  `wait_for` (the app's pilot), `process_gone`;
- run folders on disk: `only_run`, `steps_logged`, `snapshot`, `live_run` (fixed numbers);
- the inspector without TensorFlow: `numpy_inspection`;
- sweeps: `start_sweep`, `sweep_folder`, `wait_for_running`, `write_sweep` (fixed numbers);
- the app under its pilot: `run_app`, `NotedApp` and `notifications`, `plain`, `static_text`,
  `screen_lines` and `screen_text` (what the terminal shows);
- a real terminal: `Terminal` (a private tmux server), `TMUX`, `needs_tmux`;
- texts for the text task: `markov2`, `words`, `write`, `text_config`;
- `REPO`, the repository's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from rich.console import Console
from textual.app import App
from textual.content import Content
from textual.widgets import Static

from rnntui.config import Config, apply_overrides, load_preset
from rnntui.runs.metrics import read_metrics
from rnntui.runs.store.opening import has_metrics
from rnntui.sweep.folder import SweepFolder
from rnntui.tui.app import RnnTuiApp

REPO = Path(__file__).resolve().parent.parent  # the repository: pyproject.toml, presets/, ...
T = TypeVar("T")
AnyApp = TypeVar("AnyApp", bound=App)

# --- configs -------------------------------------------------------------------------------------


def tiny(*overrides: str, size: int = 20_000, chunk: int = 20) -> Config:
    """echo-raw-5 made small: `size` samples in windows of 20 x 5 (200 steps an epoch at the
    default 20,000), `chunk` windows a compiled call (0: the engine's choice), then `overrides`."""
    return apply_overrides(
        load_preset("echo-raw-5"),
        [
            f"task.size={size}",
            "train.batch_size=20",
            "train.num_steps=5",
            f"train.chunk={chunk}",
            *overrides,
        ],
    )


def sets(*overrides: str) -> list[str]:
    """The command line's `--set KEY=VALUE` for each override."""
    return [arg for override in overrides for arg in ("--set", override)]


# echo-raw-5 on the command line, small: 20,000 samples in batches of 20 (200 steps an epoch)
TINY_ARGS = sets("task.size=20000", "train.batch_size=20")


# --- the real command line -----------------------------------------------------------------------


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


def rnntui_command() -> list[str]:
    """The installed console script, or `python -m rnntui` where it is not installed."""
    script = shutil.which("rnntui", path=os.path.dirname(sys.executable)) or shutil.which("rnntui")
    return [script] if script else [sys.executable, "-m", "rnntui"]


def last_json(stdout: str) -> dict[str, Any]:
    """The JSON document a command printed last (`--json`)."""
    return json.loads(stdout.strip().splitlines()[-1])


# echo-raw-5 long enough to be followed, paused and stopped (a test always stops it): 400,000
# steps, ~40 s at 10,000 steps/s (a probe of the attached run, TensorFlow loaded in the app's
# helper first, came at step ~52,000 of the 100,000 it had)
ENDLESS = [*sets("task.size=200000", "train.batch_size=20", "train.chunk=5"), "--epochs", "200"]


def start_detached(runs_dir: Path) -> tuple[Path, int]:
    """`rnntui train echo-raw-5 ENDLESS --detach`: (its run folder, the trainer's pid)."""
    result = run_cli("train", "echo-raw-5", *ENDLESS, "--detach", "--runs-dir", str(runs_dir))
    assert result.returncode == 0, result.stderr
    run = only_run(runs_dir)
    pid = int(result.stdout.split("(pid ")[1].split(")")[0])
    assert f"rnntui --attach {run.name} --runs-dir {runs_dir}" in result.stdout
    return run, pid


# --- waiting for a state -------------------------------------------------------------------------


def wait_until(condition: Callable[[], T], timeout: float, what: str, every: float = 0.05) -> T:
    """Poll `condition` until it returns something true, and return that; fail naming `what`
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)
    return value


async def wait_for(
    pilot: Any, condition: Callable[[], Any], timeout: float = 30.0, what: str = ""
) -> None:
    """`wait_until` for the app under its pilot: the app keeps running while this polls."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            state = getattr(pilot.app, "state", "?")
            raise AssertionError(f"timed out waiting for {what or condition} (state: {state})")
        await pilot.pause(0.05)


def process_gone(pid: int) -> bool:
    """The process has exited (a zombie nobody reaps counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


# --- run folders ---------------------------------------------------------------------------------


def only_run(root: Path) -> Path:
    """The one run folder in `root`."""
    (run,) = [p for p in root.iterdir() if p.is_dir()]
    return run


def steps_logged(run: Path) -> list[int]:
    """The steps in a run's metrics log, in the order logged ([] before it has one)."""
    path = run / "metrics.jsonl"  # read from the metrics store when there is one
    return [row["step"] for row in read_metrics(path)] if has_metrics(run) else []


def snapshot(folder: Path, leave_out: Iterable[str] = ()) -> dict[str, tuple]:
    """Every entry under `folder` but the top-level names in `leave_out`: kind, bytes (regular
    files) and modification time; equal snapshots mean nothing was touched."""
    left_out = {folder / name for name in leave_out}
    out = {}
    for path in sorted(folder.rglob("*")):
        if path in left_out:
            continue
        info = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
        out[str(path.relative_to(folder))] = (stat.S_IFMT(info.st_mode), content, info.st_mtime_ns)
    return out


FIXED_PID = 4242  # a live run's trainer, as its lock file names it (see `live_run`)
RUN_NAME = "20260101-120000-echo-raw-10"


@contextlib.contextmanager
def live_run(root: Path, name: str, config: Config, steps: int, pid: int = FIXED_PID):
    """A run folder `root/name` that reads as training now, with fixed numbers: `steps` steps of
    a fixed falling curve (epochs as the config makes them, 1,000 steps/s) and a live lock. This
    process holds the lock (so the run is live while the context lasts) and the lock file names
    `pid` (what `rnntui runs` and the app read as its trainer): the same frame on every run."""
    from rnntui.runs.folder import RunFolder
    from rnntui.runs.lock import RunLock
    from rnntui.tasks.build import make_task

    folder = RunFolder(root / name)
    folder.path.mkdir(parents=True)
    folder.save_config(config)
    per_epoch = make_task(config.task, config.train.seed).steps_per_epoch(
        config.train.batch_size, config.train.num_steps
    )
    noise = np.random.default_rng(1).normal(0.0, 0.02, steps)
    curve = [round(float(v), 6) for v in np.linspace(0.69, 0.47, steps) + noise]
    for first in range(0, steps, 500):
        last = min(first + 500, steps)
        folder.append_metrics(first, first // per_epoch, curve[first:last], last / 1_000)
    folder.close()
    (folder.path / "status.json").write_text(
        json.dumps({"state": "training", "pid": pid, "step": steps, "time": 0}) + "\n"
    )
    lock = RunLock(folder.path)
    lock.acquire()
    try:
        (folder.path / "lock").write_text(json.dumps({"pid": pid}) + "\n")  # still locked
        assert folder.live_owner() == pid
        yield folder
    finally:
        lock.release()


def numpy_inspection(inputs: Any, units: int = 4, seed: int = 0, weights: Any = None) -> Any:
    """An LSTM inspection as the inspector shows it (`InspectorPane.compute`), made with NumPy
    alone from fixed weights: the same digits on every machine, no TensorFlow helper."""
    from rnntui.analysis.lstm_gates import Inspection, LSTMStep, floats, lstm_step_numpy, matrix

    x = np.asarray(inputs, np.float64)
    rng = np.random.default_rng(seed)
    kernel = rng.normal(0.0, 0.5, (x.shape[1], 4 * units))
    recurrent = rng.normal(0.0, 0.5, (units, 4 * units))
    bias = np.zeros(4 * units)
    h, c = np.zeros((1, units)), np.zeros((1, units))
    steps = []
    for row in x:
        out = lstm_step_numpy(row[None, :], h, c, kernel, recurrent, bias)
        h, c = out["h"], out["c"]
        gates = {k: floats(np.round(v, 6)) for k, v in out.items()}
        steps.append(LSTMStep(x=floats(row), **gates, c_numpy=gates["c"], h_numpy=gates["h"],
                              max_abs_diff=0.0))  # fmt: skip
    return Inspection(tuple(steps), units, matrix(kernel), matrix(recurrent), floats(bias), 0.0)


# --- sweeps --------------------------------------------------------------------------------------


@contextlib.contextmanager
def start_sweep(args: list[str], **popen: Any) -> Iterator[subprocess.Popen]:
    """The real `rnntui sweep ARGS` in the background, its output piped; killed (with its
    workers, when it leads its own session) if the test leaves it running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rnntui", "sweep", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            with contextlib.suppress(OSError):
                if popen.get("start_new_session"):
                    os.killpg(process.pid, signal.SIGKILL)
                process.kill()
            process.communicate(timeout=30)


def sweep_folder(root: Path) -> Path:
    """The one sweep folder in `root`."""
    (path,) = [p for p in root.iterdir() if (p / "sweep.toml").exists()]
    return path


def write_sweep(root: Path) -> Path:
    """A sweep folder `root/demo` as a sweep leaves it, with fixed numbers: num_steps 2 and 5 x 2
    seeds; three runs finished (num_steps=2: 0.6030 ± 0.0026, num_steps=5: 0.5104), one begun;
    its driver (pid 1, not rnntui) has gone, so it reads as interrupted."""
    from rnntui.config import apply_overrides, load_preset
    from rnntui.runs.folder import RunFolder
    from rnntui.sweep.grid import SweepDefinition, parse_grid

    base = apply_overrides(load_preset("echo-raw-5"), ["task.size=20000", "train.batch_size=20"])
    definition = SweepDefinition("demo", "echo-raw-5", base, parse_grid(["train.num_steps=2,5"]), 2)
    folder = SweepFolder.open(definition, root)
    finals = {"num_steps=2_seed=0": 0.6012, "num_steps=2_seed=1": 0.6049,
              "num_steps=5_seed=0": 0.5104}  # fmt: skip
    for i, record in enumerate(folder.records(definition.specs())):
        folder.prepare(record)
        final = finals.get(record.spec.name)
        steps = 100 if final is not None else 40
        noise = np.random.default_rng(i).normal(0.0, 0.02, steps)  # the same on every machine
        losses = [round(float(v), 6) for v in np.linspace(0.69, final or 0.6, steps) + noise]
        run = RunFolder(record.path)
        run.append_metrics(0, 0, losses, 1.0)
        run.close()
        if final is not None:
            run.write_summary({
                "task": "echo", "epochs": 1, "steps": 100, "final_loss": final, "stopped": False,
                "steps_per_s": 500.0 + 10 * i, "wall_s": 0.2,
                "baselines": {"nothing learned": 0.6616, "lag 3": 0.5192, "lags 3+8": 0.4545},
            })  # fmt: skip
    folder.write_status({
        "state": "running", "pid": 1, "runs": {},
        "workers": 2, "wall_s": 10.0, "train_s": 18.2, "efficiency": 0.91, "ceiling": 1.38,
    })  # fmt: skip
    return folder.path


def handed_order(folder: Path) -> list[str]:
    """The sweep's runs in the order they were handed to workers (status.json)."""
    runs = SweepFolder(folder).read_status()["runs"]
    return sorted(runs, key=lambda name: runs[name]["handed_s"])


def wait_for_running(
    root: Path, process: subprocess.Popen, steps: int, checkpoint: bool = False
) -> tuple[str, int]:
    """(run name, its worker's pid) of a run the sweep's status shows past `steps` (with a
    checkpoint, if asked). The status is rewritten about once a second: the run may be further."""

    def running() -> tuple[str, int] | None:
        assert process.poll() is None, process.communicate()[1]
        folders = [p for p in root.iterdir() if (p / "status.json").exists()]
        if not folders:
            return None
        status = SweepFolder(folders[0]).read_status()
        for name, run in status.get("runs", {}).items():
            saved = (folders[0] / "runs" / name / "checkpoint.npz").exists()
            if run["state"] == "running" and run["step"] >= steps and (saved or not checkpoint):
                return name, run["pid"]
        return None

    return wait_until(running, 180, f"a run of the sweep past step {steps}", every=0.1)


# --- the app under its pilot ---------------------------------------------------------------------


def run_app(
    scenario: Callable[[AnyApp, Any], Awaitable[None]],
    app: AnyApp,
    size: tuple[int, int] = (80, 24),
) -> None:
    """Run `await scenario(app, pilot)` in the app, headless, at `size`.

    pytest-asyncio is not a dependency, so each test is a plain function running its scenario
    with `asyncio.run`.
    """

    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await scenario(app, pilot)

    asyncio.run(main())


class NotedApp(RnnTuiApp):
    """The app, keeping every notification it shows (Textual has no public list of them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[str] = []

    def notify(self, message: str, *, title: str = "", **options: Any) -> None:
        self.notes.append(f"{title}: {message}")
        super().notify(message, title=title, **options)


def notifications(app: NotedApp) -> list[str]:
    """Every notification the app showed, oldest first, as "title: message"."""
    return list(app.notes)


def plain(content: object, width: int = 120) -> str:
    """What a Rich renderable or Textual content shows, as plain text."""
    if isinstance(content, str):
        return Content.from_markup(content).plain
    if isinstance(content, Content):
        return content.plain
    console = Console(width=width, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(content)
    return captured.get()


def screen_lines(app: App) -> list[str]:
    """What the terminal shows now, line by line (from the app's own screenshot: every layer,
    toasts and dialogs included, as the user sees it)."""
    import html
    import re

    width = app.size.width
    lines = [[" "] * width for _ in range(app.size.height)]
    pattern = r'<text class="terminal-(?:\d+-)?r\d+" x="([\d.]+)" y="[\d.]+" '
    pattern += (
        r'textLength="[\d.]+" clip-path="url\(#terminal-(?:\d+-)?line-(\d+)\)">([^<]*)</text>'
    )
    for x, row, text in re.findall(pattern, app.export_screenshot()):
        column = round(float(x) / 12.2)  # Textual's screenshots: 12.2 pixels a cell
        for offset, char in enumerate(html.unescape(text).replace("\xa0", " ")):
            if int(row) < len(lines) and column + offset < width:
                lines[int(row)][column + offset] = char
    return ["".join(line).rstrip() for line in lines]


def screen_text(app: App) -> str:
    """`screen_lines` as one text."""
    return "\n".join(screen_lines(app))


def static_text(app: App, selector: str) -> str:
    """The plain text of the Static widget `selector`."""
    return plain(app.query_one(selector, Static).content)


# --- a real terminal -----------------------------------------------------------------------------

TMUX = shutil.which("tmux")
needs_tmux = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (apt-get install tmux); .ci/run installs it"
)


class Terminal:
    """A private tmux server with one pane running a command."""

    def __init__(self, name: str, width: int, height: int) -> None:
        self.socket = f"rnntui-test-{os.getpid()}-{name}"
        self.width, self.height = width, height

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        result = subprocess.run(
            [TMUX, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return result.stdout

    def start(self, command: list[str]) -> None:
        shell = f"{shlex.join(command)}; echo rnntui-exited-$?; sleep 30"
        self.tmux(
            "new-session", "-d", "-s", "app", "-x", str(self.width), "-y", str(self.height), shell
        )

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "app")

    def press(self, *keys: str) -> None:
        """Type `keys` one by one, at about a typist's pace."""
        for key in keys:
            self.tmux("send-keys", "-t", "app", key)
            time.sleep(0.15)

    def wait_for(self, condition: Callable[[str], bool], timeout: float, what: str) -> str:
        """The screen, once `condition(screen)` holds; fails showing the screen after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        self.tmux("kill-server")


# --- texts for the text task ---------------------------------------------------------------------


def markov2(length: int, symbols: int = 16, alpha: float = 0.1, seed: int = 0) -> tuple[str, float]:
    """An order-2 Markov text over `symbols` letters (a, b, ...) and its entropy rate in nats.

    P(x_t | x_{t-2}, x_{t-1}) is drawn from a Dirichlet(alpha); the entropy rate is the
    stationary pair distribution's average of each context's entropy.
    """
    rng = np.random.default_rng(seed)
    p = rng.dirichlet([alpha] * symbols, size=(symbols, symbols))  # p[a, b] = next | (a, b)
    pairs = np.full((symbols, symbols), 1.0 / symbols**2)
    for _ in range(5000):  # (a, b) -> (b, c) with p[a, b, c]
        pairs = np.einsum("ab,abc->bc", pairs, p)
    logs = np.log(np.where(p > 0, p, 1.0))
    rate = float(-(pairs[:, :, None] * p * logs).sum())
    x = np.empty(length, np.int64)
    x[:2] = rng.integers(0, symbols, 2)
    cumulative = p.cumsum(axis=2)
    uniforms = rng.random(length)
    for t in range(2, length):
        row = cumulative[x[t - 2], x[t - 1]]
        x[t] = min(int(np.searchsorted(row, uniforms[t], side="right")), symbols - 1)
    return "".join(chr(ord("a") + int(v)) for v in x), rate


def words(length: int, seed: int = 0) -> str:
    """English-looking text with lines, for quick runs."""
    rng = np.random.default_rng(seed)
    vocabulary = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "big", "red"]
    out, size = [], 0
    while size < length:
        line = " ".join(rng.choice(vocabulary, size=int(rng.integers(3, 9)))) + ".\n"
        out.append(line)
        size += len(line)
    return "".join(out)[:length]


def write(path: Path, text: str) -> Path:
    """`text` written to `path` (its folders made), as UTF-8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def text_config(path: Path | str, *overrides: str) -> Config:
    """A small, fast text config (tiny LSTM, short windows, one epoch) on `path`."""
    return apply_overrides(
        load_preset("text-lstm"),
        [
            f"task.path='{path}'",
            "task.max_chars=0",
            "model.state_size=16",
            "model.embedding=8",
            "train.batch_size=8",
            "train.num_steps=10",
            "train.chunk=7",
            "train.epochs=1",
            *overrides,
        ],
    )


@contextlib.contextmanager
def tmpfs(path: Path, size: str, *options: str) -> Iterator[Path]:
    """A small tmpfs mounted at `path` for the test; skip (saying why) where that is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", path],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except FileNotFoundError:
        pytest.skip("no mount command here: cannot make a small or read-only disk")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], capture_output=True, timeout=30)


def fill_disk(folder: Path) -> Path:
    """Write a file until the file system is full; returns it (delete it to free the space)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler
