"""Snapshots of the app's main views at 80x24 and 160x48 (issue 24): the training view, the
attached view, the sweep view, the inspector and the probe pane (pytest-textual-snapshot; the
SVGs are in __snapshots__/, `pytest --snapshot-update` rewrites them after a deliberate change).

A snapshot must be the same on every machine and every run, so nothing in the frame may come
from a clock, a pid, a temporary path or TensorFlow:
- the app's own run is trained by `ScriptedTrainer`, which tells the app what a trainer tells it
  (the same events, through the same session and messages) with fixed numbers;
- the attached run is a run folder written here with fixed metrics, held by this process's lock
  with a fixed pid in the lock file (what `rnntui runs` and the app read as its trainer);
- the folders are relative to a temporary working directory (`runs`, `sweeps/demo`);
- the TensorFlow helper is not started (`preload_tensorflow`): the inspector computes with NumPy
  from fixed weights instead (`InspectorPane.compute`).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from rnntui.config import Config, apply_overrides, load_preset
from rnntui.engine.events import GradientReach, LagEffect, ProbeResult, Progress, Started
from rnntui.engine.trainer import Trainer
from rnntui.tasks.build import make_task, total_steps
from rnntui.tui.app import RnnTuiApp
from rnntui.tui.sweep_app import SweepApp
from tests.helpers import FIXED_PID, RUN_NAME, live_run, numpy_inspection, write_sweep

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def losses(steps: int, start: float, end: float, seed: int = 0) -> list[float]:
    """A fixed, noisy falling curve (NumPy's seeded generator is the same on every machine)."""
    noise = np.random.default_rng(seed).normal(0.0, 0.02, steps)
    return [round(float(v), 6) for v in np.linspace(start, end, steps) + noise]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working directory: the frame shows relative folders, the same everywhere."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def settle(pilot: Pilot, app: RnnTuiApp, what: str, ready, timeout: float = 20) -> None:
    """Wait for `ready()` and for the app's background work to reach the screen: the data
    preview, and the chart's drawing of its current data."""
    import time

    deadline = time.monotonic() + timeout
    while not (ready() and app.preview.data is not None and app.chart.up_to_date):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what}: {ready()} {app.preview.data is not None} "
                f"{app.chart.up_to_date} {app.inspector.inspection}"
            )
        await pilot.pause(0.05)
    app.clear_notifications()  # toasts time out: a slow machine would shoot fewer of them
    await pilot.pause()


# --- the app's own run ---------------------------------------------------------------------------


class ScriptedTrainer(Trainer):
    """A trainer that reports fixed numbers: 6,000 of the run's steps at 2,000 steps/s, then
    waits to be stopped; asked to probe, it reports a fixed probe result."""

    def __init__(self, config: Config, on_event, **options) -> None:
        super().__init__(config, on_event, **options)
        self.ended = threading.Event()

    def run(self) -> None:
        config = self.config
        task = make_task(config.task, config.train.seed)
        per_epoch = task.steps_per_epoch(config.train.batch_size, config.train.num_steps)
        total = total_steps(config, task)
        self.on_event(Started("CPU", total, per_epoch, tuple(task.baselines())))
        curve, rate = losses(6_000, 0.69, 0.53), 2_000.0
        for first in range(0, 6_000, 1_000):
            step = first + 1_000
            self.on_event(Progress(step, first // per_epoch, total, tuple(curve[first:step]),
                                   rate, (total - step) / rate, step / rate))  # fmt: skip
        self.ended.wait()

    def set_probe(self, interval_s: float, gradients: bool = True) -> None:
        if interval_s > 0:
            truth = {1: 0.0, 2: 0.0, 3: 0.5, 4: 0.0, 5: 0.0}
            lags = tuple(
                LagEffect(lag, round(0.9 * true + 0.01 * ((lag % 3) - 1), 4), true)
                for lag, true in truth.items()
            )
            reach = tuple(
                GradientReach(lag, 0.1 / lag if lag < 5 else 0.0, 0.1 / lag) for lag in truth
            )
            self.on_event(ProbeResult(6_000, lags, reach, 5))

    def stop(self) -> None:
        self.ended.set()


def trained_app() -> RnnTuiApp:
    """The app with echo-raw-5 for 20 epochs (20,000 steps), a run of its own under way."""
    config = apply_overrides(load_preset("echo-raw-5"), ["train.epochs=20"])
    app = RnnTuiApp(config, preset_name="echo-raw-5", runs_dir="runs")
    app.preload_tensorflow = False
    app.trainer_factory = ScriptedTrainer
    return app


async def start_run(pilot: Pilot) -> None:
    app = pilot.app
    await pilot.press("s")
    await settle(pilot, app, "the run's 6,000 steps", lambda: app.status.step == 6_000)


@pytest.mark.parametrize("size", SIZES)
def test_the_training_view(snap_compare, here, size):
    """A run of the app's own under way: settings, its curve, the status line (and at 160x48
    every pane)."""
    assert snap_compare(trained_app(), terminal_size=size, run_before=start_run)


@pytest.mark.parametrize("size", SIZES)
def test_the_probe_pane(snap_compare, here, size):
    """The probe pane of the run in front: the model's lag effects beside the true ones (and the
    gradient reach where the pane is tall enough)."""

    async def probe(pilot: Pilot) -> None:
        app = pilot.app
        await start_run(pilot)
        await pilot.press("v")
        await settle(pilot, app, "the probe result", lambda: app.probe.result is not None)

    assert snap_compare(trained_app(), terminal_size=size, run_before=probe)


# --- an attached run -----------------------------------------------------------------------------


@pytest.fixture
def attached_run(here: Path):
    """An echo-raw-10 run with state 16, 1,500 of its 2,500 steps in, that 'pid 4242' trains."""
    config = apply_overrides(load_preset("echo-raw-10"), ["model.state_size=16"])
    with live_run(here / "runs", RUN_NAME, config, 1_500, FIXED_PID):
        yield config


@pytest.mark.parametrize("size", SIZES)
def test_the_attached_view(snap_compare, attached_run, size):
    """`rnntui --attach RUN`: every pane describes the attached run (echo-raw-10, state 16, its
    name and pid), though the app opened on echo-raw-5."""
    app = RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5", runs_dir="runs",
                    attach=RUN_NAME)  # fmt: skip
    app.preload_tensorflow = False

    async def attached(pilot: Pilot) -> None:
        await settle(pilot, app, "the run's 1,500 steps", lambda: app.status.step == 1_500)

    assert snap_compare(app, terminal_size=size, run_before=attached)


# --- the inspector -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_inspector(snap_compare, here, size):
    """The LSTM inspector on a three-step input, at its second timestep (→ after Esc)."""
    app = RnnTuiApp(load_preset("echo-raw-5"), preset_name="echo-raw-5", runs_dir="runs")
    app.preload_tensorflow = False

    async def inspect(pilot: Pilot) -> None:
        app.inspector.compute = numpy_inspection
        app.inspector.activate()
        await pilot.press("i", "tab")  # the pane, then its input field
        assert app.focused is app.query_one("#inspector-input")
        app.query_one("#inspector-input", Input).value = "1,0; 0,1; 1,1"
        done = lambda: len(getattr(app.inspector.inspection, "steps", ())) == 3  # noqa: E731
        await settle(pilot, app, "the inspection", done)
        await pilot.press("escape", "right")  # out of the field, a step forward (issue 24, 5)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=inspect)


# --- the sweep view ------------------------------------------------------------------------------


@pytest.fixture
def sweep(here: Path) -> Path:
    return write_sweep(Path("sweeps"))


@pytest.mark.parametrize("size", SIZES)
def test_the_sweep_view(snap_compare, sweep, size):
    """`rnntui sweeps --open demo`: the table (mean ± std in full) and the first row's mean curve
    (space marks it)."""
    app = SweepApp(sweep)

    async def marked(pilot: Pilot) -> None:
        import time

        screen = app.screen
        chart = screen.query_one("#sweep-chart")
        deadline = time.monotonic() + 20
        while screen.snapshots < 1:
            assert time.monotonic() < deadline, "the sweep's first snapshot"
            await pilot.pause(0.05)
        await pilot.press("space")
        while not (chart.comparison and chart.up_to_date):
            assert time.monotonic() < deadline, "the marked configuration's curve drawn"
            await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=size, run_before=marked)
