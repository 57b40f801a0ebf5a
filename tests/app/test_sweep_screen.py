"""The sweep screen under Textual's pilot, on a sweep folder written the way a sweep writes it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnntui.config import apply_overrides, load_preset
from rnntui.runs.curves import smooth
from rnntui.runs.folder import RunFolder
from rnntui.sweep.folder import SweepFolder
from rnntui.sweep.grid import SweepDefinition, parse_grid
from rnntui.tui.sweep_app import SweepApp
from rnntui.tui.widgets.loss_chart import LossChart
from rnntui.tui.widgets.sweep_table import SweepTable
from tests.helpers import plain, run_app, wait_for

FINAL = {"num_steps=2_seed=0": 0.60, "num_steps=2_seed=1": 0.64, "num_steps=5_seed=0": 0.52}


def write_run(path, steps: int, level: float, summary: dict | None) -> list[float]:
    losses = list(np.linspace(0.69, level, steps))
    run = RunFolder(path)
    run.append_metrics(0, 0, losses, 1.0)
    run.close()
    if summary is not None:
        run.write_summary(summary)
    return losses


@pytest.fixture
def sweep(tmp_path):
    """A sweep of num_steps 2 and 5 x 2 seeds, mid-way: three runs done, one still running."""
    base = apply_overrides(load_preset("echo-raw-5"), ["task.size=20000", "train.batch_size=20"])
    definition = SweepDefinition("demo", "echo-raw-5", base, parse_grid(["train.num_steps=2,5"]), 2)
    folder = SweepFolder.open(definition, tmp_path)
    curves = {}
    for record in folder.records(definition.specs()):
        folder.prepare(record)
        final = FINAL.get(record.spec.name)
        summary = None
        if final is not None:
            summary = {
                "task": "echo", "epochs": 1, "steps": 100, "final_loss": final, "stopped": False,
                "steps_per_s": 500.0, "wall_s": 0.2,
                "baselines": {"nothing learned": 0.6616, "lag 3": 0.5192, "lags 3+8": 0.4545},
            }  # fmt: skip
        steps = 100 if final is not None else 40
        curves[record.spec.name] = write_run(record.path, steps, final or 0.6, summary)
    folder.write_status(
        {
            "state": "running", "pid": 1, "runs": {"num_steps=5_seed=1": {"state": "running"}},
            "workers": 2, "wall_s": 10.0, "train_s": 18.2, "efficiency": 0.91, "ceiling": 1.38,
        }
    )  # fmt: skip
    return folder, curves


def test_the_sweep_screen_shows_the_table_and_overlays_marked_configurations(sweep):
    folder, curves = sweep
    app = SweepApp(folder.path)

    async def scenario(app, pilot) -> None:
        screen = app.screen
        await wait_for(pilot, lambda: screen.snapshots >= 1, what="the first snapshot")
        table = screen.query_one(SweepTable)
        chart = screen.query_one(LossChart)
        assert table.row_count == 2
        assert table.get_cell("num_steps=2", "mean ± std") == "0.6200 ± 0.0283"
        assert table.get_cell("num_steps=5", "mean ± std") == "0.5200 ± –"  # one seed (issue 23)
        assert plain(table.get_cell("num_steps=5", "state")).strip() == "running 1"
        # the sweep's efficiency (live, from status.json) and this machine's ceiling
        assert plain(table.border_subtitle) == "efficiency 91% of 2 worker(s) · ceiling 1.38x"
        assert [b.label for b in chart.baselines] == ["nothing learned", "lag 3", "lags 3+8"]

        await pilot.press("space")  # the cursor starts on the first row
        await wait_for(pilot, lambda: len(chart.comparison) == 1, what="one overlaid curve")
        (curve,) = chart.comparison
        assert curve.label == "num_steps=2 (2 seeds)"
        mean = np.mean([curves["num_steps=2_seed=0"], curves["num_steps=2_seed=1"]], axis=0)
        assert curve.losses == pytest.approx(smooth(mean))

        await pilot.press("down", "space")
        await wait_for(pilot, lambda: len(chart.comparison) == 2, what="two overlaid curves")
        # the running seed's 40 steps count where it has reached: the curve is 100 steps long
        assert chart.comparison[1].label == "num_steps=5 (2 seeds)"
        assert len(chart.comparison[1].steps) == 100

        await pilot.press("up", "space")
        await wait_for(pilot, lambda: len(chart.comparison) == 1, what="the first row unmarked")
        assert chart.comparison[0].label.startswith("num_steps=5")

        # live: the running seed finishes; the next poll shows it without any key press
        finished = json.loads(
            (folder.runs_path / "num_steps=2_seed=0" / "summary.json").read_text()
        )
        RunFolder(folder.runs_path / "num_steps=5_seed=1").write_summary(
            {**finished, "final_loss": 0.54}
        )
        folder.write_status({"state": "finished", "pid": 1, "runs": {}})
        await wait_for(
            pilot,
            lambda: table.get_cell("num_steps=5", "mean ± std") == "0.5300 ± 0.0141",
            timeout=10,
            what="the finished run in the table",
        )
        assert "4/4 runs finished" in plain(screen.query_one("#sweep-title").render())

    run_app(scenario, app, (120, 40))
