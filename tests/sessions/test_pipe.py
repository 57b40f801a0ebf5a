"""The event pipe between a trainer in its own process and whoever follows it: every event
survives encoding unchanged, and the writer batches progress without dropping a step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnntui.config import apply_overrides, load_preset
from rnntui.engine.events import (
    EpochEnd,
    Failed,
    Finished,
    GradientReach,
    KnobChanged,
    LagEffect,
    Paused,
    ProbeResult,
    Progress,
    Resumed,
    Started,
    decode,
    encode,
)
from rnntui.engine.trainer import Trainer
from rnntui.sessions.pipe import EventWriter, read_events
from rnntui.tasks.base import Baseline


def test_events_survive_the_pipe_unchanged():
    weights = (np.ones((2, 16), np.float32), np.zeros((4, 16), np.float32), np.arange(16.0))
    events = [
        Started("CPU", 100, 10, (Baseline("lag 3", 0.5192),), 0),
        Progress(5, 0, 100, (0.7, 0.6, math.nan), 100.0, math.inf, 0.5, 600.0),
        EpochEnd(0, 10, {"tail_loss": 0.6, "test_error_pct": 1.5}),
        Paused(10),
        Resumed(10),
        Finished(True, {"steps": 10, "final_loss": None}, weights),
        Failed("FloatingPointError: loss became nan at step 9", 8),
        KnobChanged(40, "learning_rate", 0.01),
        ProbeResult(
            50,
            (LagEffect(1, 0.01, 0.0), LagEffect(3, 0.45, 0.5)),
            (GradientReach(0, 0.2, 0.2), GradientReach(6, 0.0, 0.03)),
            num_steps=5,
            cost_s=0.002,
        ),
    ]
    for event in events:
        back = decode(encode(event))
        assert type(back) is type(event)
        if isinstance(event, Progress):
            assert back.losses[:2] == event.losses[:2] and math.isnan(back.losses[2])
            assert back.eta_s == math.inf and back.memory_mb == 600.0
        elif isinstance(event, Finished):
            assert back.summary == event.summary
            assert all(
                np.array_equal(a, b) for a, b in zip(back.lstm_weights, weights, strict=True)
            )
        else:
            assert back == event


def test_the_writer_batches_progress_and_thins_epoch_ends(tmp_path):
    config = apply_overrides(
        load_preset("count-lstm"), ["train.epochs=300", "train.eval_every=100"]
    )
    path = tmp_path / "events.jsonl"
    with open(path, "w", encoding="utf-8") as stream:
        writer = EventWriter(stream)
        trainer = Trainer(config, writer)
        trainer.run()
        writer.close()
    received: list = []
    with open(path, encoding="utf-8") as stream:
        read_events(stream, received.append)
    progress = [e for e in received if isinstance(e, Progress)]
    # every step arrives, in order, in far fewer events than the 300 epochs
    assert [loss for p in progress for loss in p.losses] == pytest.approx(trainer.losses)
    assert len(received) < 150
    evaluated = [e.epoch for e in received if isinstance(e, EpochEnd) and len(e.metrics) > 1]
    assert evaluated == [99, 199, 299]  # epoch ends with a fresh test error are never dropped
    assert isinstance(received[-1], Finished)
