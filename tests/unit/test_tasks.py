"""Tasks: seeded data with the tutorials' semantics, gen_batch windows, analytic baselines."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from rnntui.config import (
    Config,
    ConfigError,
    TaskConfig,
    apply_overrides,
    field_types,
    load_preset,
)
from rnntui.tasks.base import Task
from rnntui.tasks.build import make_task
from rnntui.tasks.count import CountTask
from rnntui.tasks.echo import EchoTask
from rnntui.tasks.registry import TASK_KINDS, task_class


def h(p: float) -> float:
    """Binary entropy in nats, by hand."""
    return 0.0 if p in (0.0, 1.0) else -(p * math.log(p) + (1 - p) * math.log(1 - p))


@pytest.fixture(scope="module")
def echo() -> EchoTask:
    return EchoTask(seed=7)


@pytest.fixture(scope="module")
def echo_data(echo: EchoTask) -> tuple[np.ndarray, np.ndarray]:
    return echo.generate(0)


# --- echo: generation --------------------------------------------------------------------------


def test_generation_is_seeded(echo: EchoTask, echo_data) -> None:
    x, y = echo_data
    assert x.shape == y.shape == (1_000_000,)
    assert x.dtype == y.dtype == np.int32
    x2, y2 = EchoTask(seed=7).generate(0)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    x3, y3 = echo.generate(1)
    assert not np.array_equal(x, x3) and not np.array_equal(y, y3)
    assert not np.array_equal(x, EchoTask(seed=8).generate(0)[0])
    assert set(np.unique(x)) == set(np.unique(y)) == {0, 1}


def given(x: np.ndarray, y: np.ndarray, lag: int, value: int) -> float:
    """Empirical P(Y_t=1 | X_{t-lag}=value), with the tutorial's wrap-around."""
    return float(y[np.roll(x, lag) == value].mean())


def test_default_lag_effects_hold(echo_data) -> None:
    x, y = echo_data
    assert x.mean() == pytest.approx(0.5, abs=0.01)
    assert y.mean() == pytest.approx(0.625, abs=0.01)
    assert given(x, y, 3, 1) == pytest.approx(0.875, abs=0.01)
    assert given(x, y, 3, 0) == pytest.approx(0.375, abs=0.01)
    assert given(x, y, 8, 1) == pytest.approx(0.5, abs=0.01)
    assert given(x, y, 8, 0) == pytest.approx(0.75, abs=0.01)
    # a lag that is not in the formula has no effect
    assert given(x, y, 5, 1) == pytest.approx(given(x, y, 5, 0), abs=0.01)


def test_wraparound_matches_tutorial_loop() -> None:
    # The tutorial reads X[i-3] for i < 3 as the end of the array; Y_0 is then certain.
    task = EchoTask(size=1000, base=0.0, lags=[[3, 1.0]], seed=1)
    x, y = task.generate(0)
    expected = np.array([x[i - 3] for i in range(1000)])
    assert np.array_equal(y, expected)


def test_custom_lags_hold() -> None:
    x, y = EchoTask(size=1_000_000, base=0.2, lags=[[2, 0.6]], seed=3).generate(4)
    assert given(x, y, 2, 1) == pytest.approx(0.8, abs=0.01)
    assert given(x, y, 2, 0) == pytest.approx(0.2, abs=0.01)
    assert y.mean() == pytest.approx(0.5, abs=0.01)


def test_clipping() -> None:
    x, y = EchoTask(size=200_000, base=0.9, lags=[[1, 0.5]], seed=2).generate(0)
    assert given(x, y, 1, 1) == 1.0  # 1.4 clipped to 1: always one
    assert given(x, y, 1, 0) == pytest.approx(0.9, abs=0.01)
    x, y = EchoTask(size=200_000, base=0.1, lags=[[1, -0.5]], seed=2).generate(0)
    assert given(x, y, 1, 1) == 0.0  # -0.4 clipped to 0: never one


def test_statistics_measured_vs_theory(echo: EchoTask) -> None:
    stats = echo.statistics(0)
    assert stats.p_y_theory == 0.625
    assert stats.p_y == pytest.approx(0.625, abs=0.01)
    lag3, lag8 = stats.lags
    assert (lag3.lag, lag3.p_given_1_theory, lag3.p_given_0_theory) == (3, 0.875, 0.375)
    assert (lag8.lag, lag8.p_given_1_theory, lag8.p_given_0_theory) == (8, 0.5, 0.75)
    for row in stats.lags:
        assert row.p_given_1 == pytest.approx(row.p_given_1_theory, abs=0.01)
        assert row.p_given_0 == pytest.approx(row.p_given_0_theory, abs=0.01)


# --- echo: windows -----------------------------------------------------------------------------


def test_windows_are_gen_batch(echo: EchoTask, echo_data) -> None:
    batch, steps = 200, 7
    x, y = echo.windows(0, batch, steps)
    length = 1_000_000 // batch
    count = length // steps
    assert x.shape == y.shape == (count, batch, steps) == (714, 200, 7)
    assert echo.steps_per_epoch(batch, steps) == count
    raw_x, raw_y = echo_data
    for w, b in [(0, 0), (1, 0), (0, 1), (5, 17), (count - 1, batch - 1)]:
        span = slice(length * b + w * steps, length * b + (w + 1) * steps)
        assert np.array_equal(x[w, b], raw_x[span])
        assert np.array_equal(y[w, b], raw_y[span])
    # consecutive windows continue each stream: that is what makes carrying state meaningful
    stream = np.concatenate([x[w, 3] for w in range(count)])
    assert np.array_equal(stream, raw_x[length * 3 : length * 3 + count * steps])


def test_windows_drop_remainders() -> None:
    task = EchoTask(size=1003, seed=0)
    x, _ = task.windows(0, batch_size=10, num_steps=7)  # streams of 100, 14 windows, 2 left over
    assert x.shape == (14, 10, 7)
    assert task.estimate_bytes(10, 7) > 0


# --- echo: baselines ---------------------------------------------------------------------------


def test_default_baselines(echo: EchoTask) -> None:
    values = [b.value for b in echo.baselines()]
    assert [b.label for b in echo.baselines()] == ["nothing learned", "lag 3", "lags 3+8"]
    # the design's figures (0.4544 is the exact 0.454454 truncated)
    assert values == pytest.approx([0.6616, 0.5192, 0.4544], abs=1e-4)
    assert values[0] == pytest.approx(h(0.625), abs=1e-12)
    assert values[1] == pytest.approx((h(0.875) + h(0.375)) / 2, abs=1e-12)
    assert values[2] == pytest.approx((h(0.5) + h(1.0) + h(0.25) + h(0.75)) / 4, abs=1e-12)


def test_single_lag_baseline_by_hand() -> None:
    task = EchoTask(base=0.2, lags=[[2, 0.6]])
    nothing, lag2 = task.baselines()
    assert nothing.label == "nothing learned" and lag2.label == "lag 2"
    assert nothing.value == pytest.approx(math.log(2), abs=1e-12)  # P(Y=1) = .5
    assert lag2.value == pytest.approx(-(0.2 * math.log(0.2) + 0.8 * math.log(0.8)), abs=1e-12)
    # clipping inside the sum: base .9 + .5 -> 1, so knowing the lag halves to h(.9)/2
    clipped = EchoTask(base=0.9, lags=[[1, 0.5]]).baselines()
    assert clipped[0].value == pytest.approx(h(0.95), abs=1e-12)
    assert clipped[1].value == pytest.approx(h(0.9) / 2, abs=1e-12)


@pytest.mark.parametrize(
    ("base", "lags"),
    [(0.5, [[3, 0.5], [8, -0.25]]), (0.3, [[1, 0.6], [4, 0.3], [2, -0.4]])],
)
def test_baselines_match_optimal_predictor_on_data(base, lags) -> None:
    task = EchoTask(size=1_000_000, base=base, lags=lags, seed=11)
    x, y = task.generate(2)
    shifted = [np.roll(x, lag) for lag, _ in task.lags]
    for known, baseline in enumerate(task.baselines()):
        # the Bayes-optimal predictor's P(Y=1 | known lags), taken from the data itself
        key = sum(s << i for i, s in enumerate(shifted[:known])) if known else np.zeros_like(x)
        p_table = np.bincount(key, weights=y) / np.bincount(key)
        p = p_table[key]
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = -np.where(y == 1, np.log(p), np.log(1 - p))
        assert loss.mean() == pytest.approx(baseline.value, abs=0.005), baseline.label


def test_preview(echo: EchoTask, echo_data) -> None:
    preview = echo.preview(48)
    assert len(preview.x) == len(preview.y) == 48
    assert list(preview.x) == echo_data[0][:48].tolist()
    assert list(preview.y) == echo_data[1][:48].tolist()
    assert preview.lags == ((3, 0.5), (8, -0.25))


# --- count -------------------------------------------------------------------------------------


def test_count_split() -> None:
    task = CountTask(seed=0)
    x_train, y_train, x_test, y_test = task.split()
    assert x_train.shape == (500, 10, 1) and x_test.shape == (524, 10, 1)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int32
    everything = np.concatenate([x_train, x_test])[:, :, 0]
    assert len({row.tobytes() for row in everything}) == 1024
    assert np.array_equal(np.concatenate([y_train, y_test]), everything.sum(axis=1))
    assert task.num_classes == 11
    # bits are most significant first: reading them as binary gives back a permutation of 0..1023
    values = everything.astype(int) @ (2 ** np.arange(9, -1, -1))
    assert sorted(values.tolist()) == list(range(1024))
    assert np.array_equal(task.test_set()[0], x_test)


def test_count_shuffle_is_seeded() -> None:
    a, b, c = CountTask(seed=1).split(), CountTask(seed=1).split(), CountTask(seed=2).split()
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_count_windows_and_preview() -> None:
    task = CountTask(seed=0)
    x, y = task.windows(0, batch_size=100, num_steps=5)
    assert x.shape == (5, 100, 10, 1) and y.shape == (5, 100)
    assert task.steps_per_epoch(100, 5) == 5
    assert np.array_equal(x[1], task.split()[0][100:200])
    assert task.windows(0, 150, 5)[0].shape == (3, 150, 10, 1)  # remainder of 50 dropped
    # whole strings: neither the epoch nor num_steps changes the windows
    assert np.array_equal(task.windows(7, 100, 2)[0], x)
    assert task.baselines() == ()
    preview = task.preview(4)
    assert len(preview.strings) == 4 and all(len(s) == 10 for s in preview.strings)
    assert list(preview.counts) == [s.count("1") for s in preview.strings]
    assert (preview.train_size, preview.test_size) == (500, 524)


def test_make_task() -> None:
    echo = make_task(TaskConfig(kind="echo", size=5000, base=0.2, lags=[[2, 0.6]]), seed=4)
    assert isinstance(echo, EchoTask)
    assert (echo.size, echo.base, echo.lags, echo.seed) == (5000, 0.2, ((2, 0.6),), 4)
    count = make_task(TaskConfig(kind="count", bits=6, train_size=40), seed=4)
    assert isinstance(count, CountTask) and count.num_classes == 7
    assert count.split()[2].shape == (24, 6, 1)


def test_tasks_do_not_import_tensorflow_or_textual() -> None:
    code = (
        "import sys, rnntui.tasks.registry, rnntui.tasks.echo, rnntui.tasks.count; "
        "import rnntui.tasks.text; "
        "print(any(m in sys.modules for m in ('tensorflow', 'textual')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("kind", TASK_KINDS)
def test_every_registered_task_offers_the_whole_interface(kind: str) -> None:
    """The engine and the app read only `Task`; a task missing part of it fails here."""
    config = Config()
    config.task.kind = kind
    if kind == "series":  # the default task.path is the text task's; a series reads a CSV
        config.task = load_preset("series-lstm").task
    config.train.batch_size = 10
    task = make_task(config.task, seed=0)
    assert isinstance(task, Task) and task.kind == kind
    assert task_class(kind) is type(task)
    assert task.headline in ("final_loss", *(m.key for m in task.metrics))
    for setting in task.settings:
        assert setting.key in field_types(), setting.key
    task_class(kind).check_config(config)
    xs, ys = task.windows(0, 10, 5)
    assert len(xs) == len(ys) == task.steps_per_epoch(10, 5) > 0
    assert task.estimate_bytes(10, 5) > 0
    inputs = task.sample_inputs(3)
    assert len(inputs) == 3 and all(len(row) == task.input_dim for row in inputs)
    assert task.preview() is not None
    # what generation, hidden-unit views and export rebuild a run's model from
    codec = task_class(kind).codec_from_state(config.task, task.state())
    assert codec == task.codec()
    assert (codec.num_classes, codec.input_dim) == (task.num_classes, task.input_dim)
    assert (codec.ids, codec.many_to_many) == (task.one_hot, task.many_to_many)
    segments = task.excerpt()
    assert segments and all(len(s.labels) == len(s.inputs) > 0 for s in segments)
    assert isinstance(task.autoregressive, bool)


def test_config_consistency_is_the_tasks_own_check() -> None:
    with pytest.raises(ConfigError, match="task.size") as echo_error:
        apply_overrides(Config(), ["train.batch_size=1000", "task.size=1000"])
    assert echo_error.value.key == "train.batch_size"
    count = apply_overrides(Config(), ["task.kind='count'", "train.batch_size=100"])
    with pytest.raises(ConfigError, match="leaves no test strings"):
        apply_overrides(count, ["task.train_size=1024"])
