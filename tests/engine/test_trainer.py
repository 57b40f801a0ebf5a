"""The trainer: tutorial numbers, events, state carry, determinism, pause/stop, failures."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rnntui.config import Config, apply_overrides, load_preset
from rnntui.engine.events import EpochEnd, Failed, Finished, Paused, Progress, Resumed, Started
from rnntui.engine.trainer import Trainer
from tests.helpers import tiny, wait_until


def train(config: Config) -> tuple[Trainer, list]:
    events: list = []
    trainer = Trainer(config, events.append)
    trainer.run()
    return trainer, events


def test_raw_rnn_learns_the_three_step_echo_in_one_epoch():
    """The tutorial's headline: 5-step truncation reaches the lag-3 optimum, 0.5192."""
    trainer, events = train(load_preset("echo-raw-5"))
    finished = events[-1]
    assert isinstance(finished, Finished) and not finished.stopped
    summary = finished.summary
    assert summary["steps"] == 1000
    assert summary["baselines"]["lag 3"] == pytest.approx(0.5192, abs=1e-4)
    assert abs(summary["final_loss"] - 0.5192) < 0.01
    # it learned lag 3 but cannot have learned lag 8 through a 5-step window
    assert summary["final_loss"] > summary["baselines"]["lags 3+8"] + 0.03


def test_event_stream_accounts_for_every_step():
    config = tiny("train.epochs=2")
    trainer, events = train(config)
    assert isinstance(events[0], Started)
    started = events[0]
    assert started.steps_per_epoch == (20000 // 20) // 5
    assert started.total_steps == 2 * started.steps_per_epoch
    assert [b.label for b in started.baselines] == ["nothing learned", "lag 3", "lags 3+8"]
    progress = [e for e in events if isinstance(e, Progress)]
    assert sum(len(p.losses) for p in progress) == started.total_steps == len(trainer.losses)
    assert [p.first_step for p in progress][0] == 0
    for before, after in zip(progress, progress[1:], strict=False):
        assert after.first_step == before.step  # no gap, no overlap
    epoch_ends = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epoch_ends] == [0, 1]
    assert all(np.isfinite(e.metrics["tail_loss"]) for e in epoch_ends)
    assert isinstance(events[-1], Finished)


def test_chunking_does_not_change_the_math():
    """Windows per compiled call is a speed knob: the state carry across calls must be exact."""
    whole, _ = train(tiny("train.chunk=200"))
    pieces, _ = train(tiny("train.chunk=7"))
    np.testing.assert_allclose(whole.losses, pieces.losses, rtol=1e-4, atol=1e-5)


def test_state_is_carried_between_windows():
    """Resetting the state every window (as `count` does) changes the losses: the carry is real."""
    from rnntui.engine.compiled import CompiledSteps
    from rnntui.tasks.build import make_task

    config = tiny()
    task = make_task(config.task, config.train.seed)
    xs, ys = task.windows(0, config.train.batch_size, config.train.num_steps)
    steps = CompiledSteps(config, task)
    zero = steps.initial_state()
    _, after_two = steps.train_chunk(xs[:2], ys[:2], zero)
    assert float(np.abs(after_two[0].numpy()).max()) > 0.0  # the carried state is real
    steps_reset = CompiledSteps(config, task)
    steps_reset.carry_state = False
    losses_reset, _ = steps_reset.train_chunk(xs[:20], ys[:20], zero)
    losses_carry, _ = CompiledSteps(config, task).train_chunk(xs[:20], ys[:20], zero)
    assert losses_reset[0] == pytest.approx(losses_carry[0], abs=1e-6)  # same start
    assert not np.allclose(losses_reset[1:], losses_carry[1:], atol=1e-6)


def test_seed_makes_runs_reproducible():
    first, _ = train(tiny("train.seed=3"))
    again, _ = train(tiny("train.seed=3"))
    other, _ = train(tiny("train.seed=4"))
    assert first.losses == again.losses
    assert first.losses != other.losses


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm", "stacked"])
def test_every_cell_kind_trains(cell):
    trainer, events = train(tiny(f"model.cell={cell}", "model.layers=[4, 3]"))
    assert isinstance(events[-1], Finished), events[-1]
    assert len(trainer.losses) == 200 and all(np.isfinite(trainer.losses))
    assert (trainer.lstm_weights() is not None) == (cell in ("lstm", "stacked"))


@pytest.mark.parametrize("optimizer", ["adagrad", "adam", "sgd", "rmsprop"])
def test_every_optimizer_lowers_the_loss(optimizer):
    rate = {"adagrad": 0.1, "adam": 0.01, "sgd": 0.5, "rmsprop": 0.01}[optimizer]
    trainer, _ = train(
        tiny(f"train.optimizer={optimizer}", f"train.learning_rate={rate}", "task.size=60000")
    )
    assert np.mean(trainer.losses[-50:]) < np.mean(trainer.losses[:20]) - 0.02


def test_count_task_reports_test_error():
    config = apply_overrides(
        Config(),
        [
            "task.kind=count",
            "task.bits=6",
            "task.train_size=48",
            "model.cell=lstm",
            "model.state_size=8",
            "train.batch_size=16",
            "train.optimizer=adam",
            "train.learning_rate=0.01",
            "train.epochs=150",
            "train.eval_every=50",
        ],
    )
    trainer, events = train(config)
    summary = events[-1].summary
    assert summary["task"] == "count" and summary["steps"] == 150 * 3
    # only the epochs that evaluated report the metric (no stale value carried forward)
    evaluated = [e for e in events if isinstance(e, EpochEnd) and "test_error_pct" in e.metrics]
    assert [e.epoch for e in evaluated] == [49, 99, 149]
    # 7 classes: guessing gets ~86 % of the 16 test strings wrong; measured here: 1 wrong
    assert summary["test_error_pct"] <= 12.5
    assert summary["test_error_pct"] == evaluated[-1].metrics["test_error_pct"]
    assert evaluated[-1].metrics["test_error_pct"] < evaluated[0].metrics["test_error_pct"]
    assert all("tail_loss" in e.metrics for e in events if isinstance(e, EpochEnd))


def test_pause_resume_and_stop_from_another_thread():
    config = tiny("train.epochs=50", "train.chunk=4")
    events: list = []
    paused_seen = threading.Event()

    def on_event(event):
        events.append(event)
        if (
            isinstance(event, Progress)
            and event.step >= 20
            and not trainer.paused
            and not any(isinstance(e, Paused) for e in events)
        ):
            trainer.pause()
        if isinstance(event, Paused):
            paused_seen.set()

    trainer = Trainer(config, on_event)
    worker = threading.Thread(target=trainer.run)
    worker.start()
    assert paused_seen.wait(60), "trainer never paused"
    steps_at_pause = len(trainer.losses)
    events.append("resume called")  # where this thread's resume falls among the trainer's events
    trainer.resume()
    wait_until(lambda: len(trainer.losses) >= steps_at_pause + 20, 30, "steps after resuming")
    trainer.stop()
    worker.join(30)
    assert not worker.is_alive()
    kinds = [type(e) for e in events]
    paused, resumed = events[kinds.index(Paused)], events[kinds.index(Resumed)]
    # nothing ran while paused: no step between the pause and the resume, which came after the
    # call, at the very step the pause held
    held = events[kinds.index(Paused) : events.index("resume called")]
    assert not any(isinstance(e, Progress) for e in held)
    assert kinds.index(Paused) < events.index("resume called") < kinds.index(Resumed)
    assert paused.step == resumed.step == steps_at_pause
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.stopped
    assert finished.summary["steps"] == len(trainer.losses) < 50 * 200


def test_a_crash_inside_training_becomes_a_failed_event():
    def explode(event):
        if isinstance(event, Progress):
            raise RuntimeError("disk full\nsecond line")

    trainer = Trainer(tiny(), explode)
    seen: list = []
    trainer.on_event = lambda e: (seen.append(e), explode(e))
    summary = trainer.run()
    failed = seen[-1]
    assert isinstance(failed, Failed)
    assert failed.message == "RuntimeError: disk full"
    assert summary["failed"] == "RuntimeError: disk full"


def test_nan_loss_stops_with_the_step():
    """Weights gone bad (as divergence leaves them) stop training, naming the step."""
    events: list = []

    def on_event(event):
        events.append(event)
        if isinstance(event, Progress) and event.step < 40:
            weights = trainer.compiled.variables[0]
            weights.assign(weights * float("nan"))

    trainer = Trainer(tiny("train.chunk=8"), on_event)
    trainer.run()
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.message.startswith("FloatingPointError: loss became nan at step 9;")
    assert "learning_rate" in failed.message
