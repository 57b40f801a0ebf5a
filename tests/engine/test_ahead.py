"""Work made ahead on a background thread: the next epoch's data, and the matmul warm-up."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rnntui.config import Config
from rnntui.engine.ahead import Ahead
from rnntui.engine.trainer import Trainer
from rnntui.tasks.echo import EchoTask
from tests.helpers import tiny


class Recorder:
    """make(epoch) that records which thread made which epoch, and can be held or made to fail."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[tuple[int, str]] = []
        self.release = threading.Event()
        self.release.set()
        self.fail_at = fail_at

    def __call__(self, epoch: int) -> str:
        self.release.wait(10)
        self.calls.append((epoch, threading.current_thread().name))
        if epoch == self.fail_at:
            raise MemoryError(f"epoch {epoch}")
        return f"data {epoch}"


def test_the_next_epoch_is_made_on_the_background_thread():
    make = Recorder()
    ahead = Ahead(make, epochs=3, enabled=True)
    ahead.start(0)
    assert [ahead.get(epoch) for epoch in range(3)] == ["data 0", "data 1", "data 2"]
    ahead.close()
    assert [epoch for epoch, _ in make.calls] == [0, 1, 2]  # each once, nothing past the end
    assert all(name.startswith("rnntui-ahead") for _, name in make.calls)


def test_disabled_it_makes_each_epoch_when_asked_on_the_callers_thread():
    make = Recorder()
    ahead = Ahead(make, epochs=3, enabled=False)
    ahead.start(0)
    assert ahead.get(1) == "data 1"  # a resumed run may begin anywhere
    ahead.close()
    assert make.calls == [(1, threading.current_thread().name)]


def test_a_failure_on_the_thread_is_raised_where_the_data_is_taken():
    ahead = Ahead(Recorder(fail_at=1), epochs=3, enabled=True)
    ahead.start(0)
    assert ahead.get(0) == "data 0"
    with pytest.raises(MemoryError, match="epoch 1"):
        ahead.get(1)
    ahead.close()


def test_other_work_runs_in_order_and_close_drops_what_has_not_started():
    make = Recorder()
    make.release.clear()  # hold epoch 0 on the thread
    ahead = Ahead(make, epochs=5, enabled=True)
    ahead.start(0)
    later = ahead.run(lambda: "warmed")
    ahead.close()
    make.release.set()
    assert later.cancelled()  # queued behind epoch 0 when the run ended: never runs
    assert len(make.calls) <= 1


def echo(*overrides: str) -> Config:
    """Three epochs of 60 windows."""
    return tiny("train.epochs=3", *overrides, size=6000, chunk=0)


def test_a_run_with_data_made_ahead_trains_exactly_as_without(monkeypatch):
    ahead, plain = Trainer(echo()), None
    ahead.run()
    assert EchoTask.fresh_data  # so the run above made epochs 1 and 2 ahead
    monkeypatch.setattr(EchoTask, "fresh_data", False)
    plain = Trainer(echo())
    plain.run()
    assert len(ahead.losses) == 3 * 60
    assert ahead.losses == plain.losses  # same windows, same order, bit for bit
    assert not np.allclose(ahead.losses[:60], ahead.losses[60:120])  # epochs differ: fresh data


def test_data_too_big_for_two_epochs_at_once_is_not_made_ahead():
    from rnntui.tasks.build import make_task

    small, big = echo(), echo("task.size=40000000")  # ~0.9 GB an epoch by the task's estimate
    for config, expected in ((small, True), (big, False)):
        trainer = Trainer(config)
        ahead = trainer.start_ahead(make_task(config.task, config.train.seed), 0)
        assert ahead.enabled is expected
        ahead.close()
