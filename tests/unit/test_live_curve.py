"""The chart's live curve stays bounded past its cap, and what it keeps and draws matches a brute
force over the whole run: the exact tail, each block's figures, each column's min and max."""

from __future__ import annotations

import numpy as np
import pytest

from rnntui.runs.curves import SMOOTHINGS, downsample, moving_average, smooth, smoothed_line
from rnntui.runs.live_curve import LiveCurve

CAP, BLOCK = 4096, 64


def losses(n: int, seed: int = 0) -> np.ndarray:
    """A falling noisy loss with a few spikes, as float32 values (what training reports)."""
    rng = np.random.default_rng(seed)
    values = 2.0 * np.exp(-np.arange(n) / (n / 4)) + 0.3 * rng.random(n)
    spikes = rng.choice(n, 12, replace=False)
    values[spikes] += 40.0 * rng.random(12)
    return values.astype(np.float32).astype(float)


def fed(data: np.ndarray, seed: int = 1, curve: LiveCurve | None = None) -> LiveCurve:
    """`data` added in batches of uneven sizes, one larger than the cap and its slack."""
    curve = curve or LiveCurve(CAP, BLOCK)
    rng = np.random.default_rng(seed)
    sizes = [1, 7, 3 * CAP] + rng.integers(1, 3000, len(data)).tolist()
    done = 0
    for size in sizes:
        if done >= len(data):
            break
        before = curve.steps
        curve.add(tuple(data[done : done + size].tolist()))
        done = min(len(data), done + size)
        assert curve.steps == before + min(size, len(data) - before) == done
        assert curve.exact_steps <= CAP  # never more exact points than the cap
        assert curve.block_count * BLOCK + curve.exact_steps == done
        assert curve.block_count == max(0, -(-(done - CAP) // BLOCK))  # whole blocks, as needed
    return curve


def test_past_the_cap_the_tail_is_exact_and_each_block_is_its_steps_figures():
    data = losses(60_000)
    curve = fed(data)
    view = curve.view()
    exact = curve.exact_steps
    assert CAP - BLOCK < exact <= CAP and curve.steps == len(data)
    assert view.raw.tolist() == data[-exact:].tolist()
    assert view.smoothed.tolist() == smooth(data.tolist())[-exact:]  # the same EMA, exactly
    assert curve.last_smoothed == smooth(data.tolist())[-1]

    folded = data[: view.folded].reshape(-1, BLOCK)
    line = np.asarray(smooth(data.tolist()))[: view.folded].reshape(-1, BLOCK)
    assert len(view.blocks) == len(folded) == (len(data) - exact) // BLOCK
    assert view.blocks["count"].tolist() == [BLOCK] * len(folded)
    assert view.blocks["min"].tolist() == folded.min(axis=1).tolist()
    assert view.blocks["max"].tolist() == folded.max(axis=1).tolist()
    assert view.blocks["mean"] == pytest.approx(folded.mean(axis=1), rel=1e-6)
    assert view.blocks["smoothed"] == pytest.approx(line.mean(axis=1), rel=1e-6)
    assert view.blocks.nbytes == 20 * len(folded)


def test_memory_grows_by_blocks_only():
    curve = fed(losses(40_000))
    raw = curve.view().raw.base
    assert raw is not None and raw.nbytes <= 8 * (CAP + CAP // 8)  # the exact buffer is capped
    blocks = curve.block_count
    curve.add(tuple(losses(100 * BLOCK, seed=5).tolist()))
    assert curve.block_count == blocks + 100 and curve.exact_steps <= CAP
    assert curve.view().raw.base.nbytes <= 8 * (CAP + CAP // 8)


@pytest.mark.parametrize("bins", [320, 97, 7])
@pytest.mark.parametrize("smoothing", SMOOTHINGS, ids=lambda s: s.kind)
def test_past_the_cap_each_column_keeps_the_min_and_max_of_its_steps(bins, smoothing):
    data = losses(50_000, seed=bins)
    view = fed(data, seed=bins).view()
    line = view.drawn(bins, smoothing)
    x = line.raw_x.astype(int)
    assert len(x) <= bins and x[-1] == len(data) and (np.diff(x) > 0).all()
    edges = np.concatenate(([0], x))
    for i, (start, end) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        steps = data[start:end]
        assert line.low[i] == steps.min() and line.high[i] == steps.max()
        assert line.raw_y[i] == pytest.approx(steps.mean(), rel=1e-6)
    assert line.high.max() == data.max()  # the highest spike is drawn
    if smoothing.kind == "raw":
        assert line.smooth_y is None
        return
    assert line.smooth_x.tolist() == line.raw_x.tolist()
    full = (
        np.asarray(smooth(data.tolist()))
        if smoothing.kind == "ema"
        else moving_average(data, smoothing.window)
    )
    for i, (start, end) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        if smoothing.kind == "ema" or start >= view.folded:  # blocks keep the EMA's mean;
            # exact steps the moving average itself (the window reaches into the blocks)
            assert line.smooth_y[i] == pytest.approx(full[start:end].mean(), rel=1e-6)


@pytest.mark.parametrize("smoothing", SMOOTHINGS, ids=lambda s: s.kind)
def test_below_the_cap_the_drawing_is_downsample_of_every_step(smoothing):
    rng = np.random.default_rng(3)
    data = (1.0 + rng.random(CAP)).tolist()  # not float32 values: kept exactly all the same
    curve = fed(np.asarray(data))
    assert curve.block_count == 0 and curve.exact_steps == CAP
    values = np.asarray(data)
    for bins in (320, 10, CAP + 5):
        got = curve.drawn(bins, smoothing)
        raw_x, raw_y = downsample(values, bins)
        assert got.raw_x.tolist() == raw_x.tolist() and got.raw_y.tolist() == raw_y.tolist()
        assert got.low is None and got.high is None
        want = smoothed_line(values, smoothing, smooth(data))
        if want is None:
            assert got.smooth_x is None and got.smooth_y is None
        else:
            smooth_x, smooth_y = downsample(want, bins)
            assert got.smooth_x.tolist() == smooth_x.tolist()
            assert got.smooth_y.tolist() == smooth_y.tolist()


def test_rows_and_the_kept_comparison_curve_past_the_cap():
    data = losses(30_000)
    view = fed(data).view()
    steps, raw, smoothed = view.rows()
    assert len(steps) == len(raw) == len(smoothed) == len(view.blocks) + len(view.raw)
    assert (np.diff(steps) > 0).all() and steps[-1] == len(data)
    assert steps[: len(view.blocks)] == [BLOCK * (i + 1) for i in range(len(view.blocks))]
    assert raw[len(view.blocks) :] == data[view.folded :].tolist()
    curve = view.comparison("#1", [(10_000, "lr 0.01")], task="echo")
    assert 0 < len(curve.steps) <= 1000 and curve.steps[-1] == len(data)
    assert (np.diff(curve.steps) > 0).all() and curve.marks == ((10_000, "lr 0.01"),)


def test_a_block_of_nan_losses_counts_none_and_the_rest_still_draws():
    curve = LiveCurve(2 * BLOCK, BLOCK)
    curve.add((float("nan"),) * BLOCK + (1.0,) * (3 * BLOCK))
    blocks = curve.view().blocks
    assert blocks["count"].tolist() == [0, BLOCK]
    assert np.isnan(blocks["min"][0]) and blocks["min"][1] == 1.0
    line = curve.drawn(4, SMOOTHINGS[2])
    assert line.high[-1] == 1.0 and np.isnan(line.low[0])


def test_the_cap_is_whole_blocks():
    with pytest.raises(ValueError):
        LiveCurve(1000, 64)
    empty = LiveCurve(CAP, BLOCK)
    assert empty.steps == 0 and empty.last_smoothed is None
    assert empty.drawn(320, SMOOTHINGS[0]).raw_x is None
