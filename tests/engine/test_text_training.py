"""Training on text: the held-out loss, the vocabulary kept in the checkpoint, a resumed run that
continues the same curve, embeddings and one-hot ids (in process; the task's data is in
tests/unit/test_text_task.py, the command line in tests/cli/test_text_cli.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnntui.engine.events import Progress
from rnntui.engine.trainer import Trainer
from rnntui.runs.folder import RunFolder
from rnntui.runs.metrics import read_metrics
from rnntui.tasks.build import make_task
from tests.helpers import text_config, words, write


def test_a_text_run_reports_validation_loss_and_checkpoints_its_vocabulary(tmp_path):
    path = write(tmp_path / "t.txt", words(12000))
    config = text_config(path, "train.epochs=2")
    run = RunFolder.create(config, tmp_path / "runs")
    trainer = Trainer(config, run=run)
    summary = trainer.run()
    assert "failed" not in summary, summary
    assert summary["valid_loss"] > 0
    assert summary["bits_per_char"] == pytest.approx(summary["valid_loss"] / math.log(2))
    assert set(summary["baselines"]) == {"unigram", "bigram"}
    assert summary["valid_loss"] < summary["baselines"]["unigram"]
    # the task the config makes (the text's vocabulary) is the one the checkpoint keeps
    task = make_task(config.task, config.train.seed)
    checkpoint = run.read_checkpoint()
    state = checkpoint.task_state
    assert (state["symbols"], state["unknown"]) == (task.vocabulary.symbols, False)
    assert state["characters"] == len(task.ids)  # and a digest: the text, identified

    # the held-out loss is the mean over every held-out prediction, whatever the chunking
    xs, ys = task.validation_windows(8, 10)
    whole = trainer.compiled.mean_loss(xs, ys, chunk=1000)
    assert trainer.compiled.mean_loss(xs, ys, chunk=3) == pytest.approx(whole, rel=1e-6)
    assert whole == pytest.approx(summary["valid_loss"], rel=1e-6)


def test_a_resumed_text_run_continues_the_same_curve(tmp_path):
    path = write(tmp_path / "t.txt", words(12000))
    config = text_config(path, "train.epochs=2", "train.chunk=5")
    whole = RunFolder.create(config, tmp_path / "a")
    Trainer(config, run=whole).run()
    expected = [row["loss"] for row in read_metrics(whole.path / "metrics.jsonl")]

    stopped = RunFolder.create(config, tmp_path / "b")
    trainer: Trainer

    def stop_mid_epoch(event) -> None:
        if isinstance(event, Progress) and event.step >= 30:
            trainer.stop()

    trainer = Trainer(config, stop_mid_epoch, run=stopped)
    assert trainer.run()["stopped"] is True
    # the text changes after the stop: the resumed run keeps its vocabulary and fails loudly
    # only if a character has no id; here the text is the same
    Trainer(config, run=RunFolder(stopped.path), resume=True).run()
    resumed = [row["loss"] for row in read_metrics(stopped.path / "metrics.jsonl")]
    assert len(resumed) == len(expected)
    np.testing.assert_allclose(resumed, expected, rtol=1e-5)


def test_embedding_and_one_hot_both_train(tmp_path):
    path = write(tmp_path / "t.txt", words(6000))
    first_weights = {}
    for embedding in (0, 8):
        trainer = Trainer(text_config(path, f"model.embedding={embedding}", "model.cell=gru"))
        summary = trainer.run()
        assert "failed" not in summary, summary
        first_weights[embedding] = trainer.compiled.model.get_weights()[0].shape
        assert np.mean(trainer.losses[-10:]) < np.mean(trainer.losses[:5])
    size = make_task(text_config(path).task, 0).num_classes
    assert first_weights[8] == (size, 8)  # the embedding table, first
    assert first_weights[0] == (size, 48)  # the GRU's kernel reads one-hot ids (3 gates x 16)
