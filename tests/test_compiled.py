"""The compiled chunk: speed settings (XLA, padding, chunk size) never change the math."""

from __future__ import annotations

import numpy as np
import pytest

from rnntui.config import Config, apply_overrides
from rnntui.engine import compiled
from rnntui.engine.compiled import CompiledSteps, use_xla
from rnntui.tasks import make_task


def tiny(*overrides: str) -> Config:
    return apply_overrides(
        Config(),
        ["task.size=12000", "train.batch_size=20", "train.num_steps=5", *overrides],
    )


def run_windows(config: Config, sizes: list[int]) -> tuple[CompiledSteps, list[float], list]:
    """Feed the epoch's first sum(sizes) windows in calls of the given sizes."""
    task = make_task(config.task, config.train.seed)
    xs, ys = task.windows(0, config.train.batch_size, config.train.num_steps)
    steps = CompiledSteps(config, task)
    state, losses, begin = steps.initial_state(), [], 0
    for size in sizes:
        chunk_losses, state = steps.train_chunk(
            xs[begin : begin + size], ys[begin : begin + size], state
        )
        losses += chunk_losses
        begin += size
    return steps, losses, state


@pytest.mark.parametrize("cell", ["raw_rnn", "gru", "lstm"])
def test_xla_and_a_padded_last_chunk_match_the_graph_executor(cell):
    sizes = [16, 16, 5]  # the last call is short: XLA pads it to 16 rows and runs only 5
    graph_steps, graph, graph_state = run_windows(
        tiny(f"model.cell={cell}", "train.chunk=16"), sizes
    )
    xla_steps, xla, xla_state = run_windows(
        tiny(f"model.cell={cell}", "train.chunk=16", "train.xla=true"), sizes
    )
    assert xla_steps.xla and not graph_steps.xla
    assert len(xla) == len(graph) == sum(sizes)
    np.testing.assert_allclose(xla, graph, rtol=1e-4, atol=1e-5)
    for a, b in zip(xla_state, graph_state, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(xla_steps.model.get_weights(), graph_steps.model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_xla_compiles_one_shape_per_run():
    steps, _, _ = run_windows(tiny("train.chunk=8", "train.xla=true"), [8])
    assert steps.traces == 1
    xs, ys = steps.task.windows(0, 20, 5)
    state = steps.initial_state()
    for size in (8, 3, 1):
        steps.train_chunk(xs[:size], ys[:size], state)
    assert steps.traces == 1  # shorter calls were padded, not recompiled


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_chunking_does_not_change_the_math_for_keras_cells(cell):
    _, whole, _ = run_windows(tiny(f"model.cell={cell}", "train.chunk=40"), [40])
    _, pieces, _ = run_windows(tiny(f"model.cell={cell}", "train.chunk=7"), [7] * 5 + [5])
    np.testing.assert_allclose(whole, pieces, rtol=1e-4, atol=1e-5)


def test_xla_auto_turns_on_for_long_runs_only():
    task = make_task(tiny().task, 0)  # 12000 / 20 / 5 = 120 windows an epoch
    short = tiny("train.epochs=2")
    long = tiny(f"train.epochs={compiled.XLA_MIN_WINDOWS // 120 + 1}")
    for config in (short, long):
        config.train.xla = "auto"  # the config may not accept "auto" yet; the engine does
    assert not use_xla(short, task)
    assert use_xla(long, task)
    few_per_call = tiny(f"train.epochs={compiled.XLA_MIN_WINDOWS}", "train.chunk=4")
    few_per_call.train.xla = "auto"
    assert not use_xla(few_per_call, task)  # thousands of windows, but 4 a call
    assert use_xla(tiny("train.xla=true"), task)
    assert not use_xla(tiny("train.xla=false"), task)
