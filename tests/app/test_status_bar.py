"""The status line at 80 columns keeps what matters during a long run: state, loss and ETA."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from rnntui.sessions.session import RunState
from rnntui.tui.widgets.status_bar import StatusBar
from tests.helpers import run_app


class StatusOnly(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")


def long_run(bar: StatusBar) -> None:
    bar.state = RunState.TRAINING
    bar.epochs, bar.epoch = 2000, 66
    bar.step, bar.total_steps = 132_000, 4_000_000
    bar.loss, bar.metric = 0.5044, "test error 0.20 %"
    bar.steps_per_s, bar.eta_s = 24_512.0, 2 * 3600 + 17
    bar.device, bar.memory_mb = "CPU", 670.0


@pytest.mark.parametrize(
    ("width", "shown", "left_out"),
    [
        (80, ["● training", "step 132,000/4,000,000", "loss 0.5044", "ETA 2:00:17", "CPU"],
         ["epoch", "steps/s", "…"]),
        (160, ["● training", "epoch 66/2000", "step 132,000/4,000,000", "loss 0.5044",
               "test error 0.20 %", "24,512 steps/s", "ETA 2:00:17", "CPU 670 MB"], ["…"]),
    ],
)  # fmt: skip
def test_a_narrow_status_line_leaves_out_the_least_needed_parts(width, shown, left_out):
    async def scenario(app, pilot):
        bar = app.query_one(StatusBar)
        long_run(bar)
        await pilot.pause()
        line = str(bar.render())
        assert len(line) == width
        for part in shown:
            assert part in line, (part, line)
        for part in left_out:
            assert part not in line, (part, line)

    run_app(scenario, StatusOnly(), size=(width, 3))
