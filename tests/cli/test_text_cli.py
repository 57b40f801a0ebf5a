"""The text task end to end with the real command line: train on a Markov source of known entropy
rate, generate, inspect hidden units, export to Keras and reload; one-line errors, exit 2."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from rnntui.analysis.replica import Replica, load_trained_run
from rnntui.config import apply_overrides, load_preset
from rnntui.engine.trainer import Trainer
from rnntui.runs.folder import RunFolder
from tests.helpers import markov2, run_cli, tiny, words, write

MARKOV_CHARS = 240_000  # 3 epochs of 135 windows: ~30 s on 2 quiet cores


@pytest.fixture(scope="module")
def markov(tmp_path_factory) -> dict:
    """`rnntui train text-lstm` (its own model and optimizer) on an order-2 Markov text."""
    root = tmp_path_factory.mktemp("markov")
    text, rate = markov2(MARKOV_CHARS, symbols=16, alpha=0.1, seed=0)
    path = write(root / "markov.txt", text)
    runs = root / "runs"
    result = run_cli(
        "train", "text-lstm",
        "--set", f"task.path={path}",
        "--set", "task.max_chars=0",
        "--epochs", "3",
        "--runs-dir", str(runs),
        "--json",
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return {"summary": summary, "rate": rate, "runs": runs, "run": Path(summary["run"]).name}


def test_text_lstm_learns_a_markov_source_to_near_its_entropy_rate(markov):
    summary, rate = markov["summary"], markov["rate"]
    baselines = summary["baselines"]
    print(
        f"\nentropy rate {rate:.4f} nats; valid_loss {summary['valid_loss']:.4f} "
        f"({summary['valid_loss'] / rate - 1:+.1%}); bigram {baselines['bigram']:.4f}, "
        f"unigram {baselines['unigram']:.4f}"
    )
    assert summary["task"] == "text" and summary["epochs"] == 3
    assert summary["valid_loss"] < 1.10 * rate
    assert summary["valid_loss"] < 0.6 * baselines["bigram"] < baselines["unigram"]
    assert summary["bits_per_char"] == pytest.approx(summary["valid_loss"] / math.log(2))


# --- generation --------------------------------------------------------------------------------


def test_generate_prints_sampled_text_reproducibly(markov):
    from rnntui.analysis.generate import sample

    runs, run = str(markov["runs"]), markov["run"]
    result = run_cli("generate", run, "--runs-dir", runs, "--prime", "ab", "--length", "80",
                     "--temperature", "0.7", "--seed", "5", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"text", "prime", "temperature", "seed"}
    assert (out["prime"], out["temperature"], out["seed"]) == ("ab", 0.7, 5)
    assert len(out["text"]) == 80 and set(out["text"]) <= set("abcdefghijklmnop")

    # the same in this process: same weights, prime, temperature and seed, same text
    replica = Replica(*_config_codec_weights(markov))
    assert sample(replica, "ab", 80, 0.7, 5).text == out["text"]
    assert sample(replica, "ab", 80, 0.7, 6).text != out["text"]
    greedy = sample(replica, "ab", 40, 0.0, 1).text
    assert sample(replica, "ab", 40, 0.0, 2).text == greedy  # temperature 0 ignores the seed


def test_generated_text_follows_the_source(markov):
    """Sampled at temperature 1, a trained model makes the source's moves: 99 % of the source's
    own transitions have a true probability above 1 %, against 34 % of all possible ones."""
    from rnntui.analysis.generate import sample

    replica = Replica(*_config_codec_weights(markov))
    text = sample(replica, "ab", 2000, 1.0, 0).text
    rng = np.random.default_rng(0)
    p = rng.dirichlet([0.1] * 16, size=(16, 16))  # markov2's table (same seed, same draws)
    x = [ord(c) - ord("a") for c in "ab" + text]
    plausible = np.mean([p[x[t - 2], x[t - 1], x[t]] > 0.01 for t in range(2, len(x))])
    assert plausible > 0.9


def test_generate_refuses_bad_input_in_one_line(markov, tmp_path):
    runs, run = str(markov["runs"]), markov["run"]
    echo = RunFolder.create(tiny(), tmp_path)
    Trainer(tiny(), run=echo).run()
    cases = [
        (["generate", run, "--runs-dir", runs, "--prime", "abc→Z"], "'Z' '→'"),
        (["generate", echo.name, "--runs-dir", str(tmp_path)], "trained the echo task"),
        (["generate", "no-such-run", "--runs-dir", runs], "no run folder 'no-such-run'"),
        (["generate", run, "--runs-dir", runs, "--temperature", "-1"], "--temperature"),
    ]
    for args, fragment in cases:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr


# --- hidden units ------------------------------------------------------------------------------


def test_inspect_prints_a_runs_hidden_units_per_character(markov, tmp_path):
    from rnntui.analysis.hidden_units import trace_units
    from rnntui.tasks.base import Segment

    runs, run = str(markov["runs"]), markov["run"]
    text = "abcabdpo"
    result = run_cli("inspect", "--run", run, "--runs-dir", runs, "--text", text,
                     "--unit", "h:3", "--unit", "c:0", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["labels"] == list(text)
    assert [(u["state"], u["unit"]) for u in out["units"]] == [("h", 3), ("c", 0)]
    replica = Replica(*_config_codec_weights(markov))
    codec = replica.codec
    trace = trace_units(replica, [Segment(codec.encode(text), codec.labels(codec.encode(text)))])
    for unit in out["units"]:
        expected = trace.values(unit["state"], unit["unit"])
        assert unit["values"] == pytest.approx(expected.tolist(), abs=1e-5)
    # the h of an LSTM is o * tanh(c): bounded; c is not
    assert max(abs(v) for v in out["units"][0]["values"]) < 1

    file = write(tmp_path / "in.txt", "ponmlk")
    ranked = run_cli("inspect", "--run", run, "--runs-dir", runs, "--text", str(file), "--top", "3")
    assert ranked.returncode == 0, ranked.stderr
    assert "most variable first" in ranked.stdout and "'p'" in ranked.stdout
    bad = run_cli("inspect", "--run", run, "--runs-dir", runs, "--text", "abz!")
    assert bad.returncode == 2 and "'!' 'z'" in bad.stderr


# --- export ------------------------------------------------------------------------------------


def test_export_writes_a_keras_model_that_predicts_the_same(markov, tmp_path):
    import keras

    runs, run = str(markov["runs"]), markov["run"]
    result = run_cli("export", run, str(tmp_path / "char.keras"), "--runs-dir", runs)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and (tmp_path / "char.vocabulary.json").is_file()
    vocabulary = json.loads((tmp_path / "char.vocabulary.json").read_text())["symbols"]
    model = keras.models.load_model(tmp_path / "char.keras")
    replica = Replica(*_config_codec_weights(markov))
    ids = np.array([[vocabulary.index(c) for c in "abcdefabcponm"]], np.int32)
    assert_same_predictions(replica, ids, model.predict(ids, verbose=0))

    again = run_cli("export", run, str(tmp_path / "char.keras"), "--runs-dir", runs)
    assert again.returncode == 2 and "exists" in again.stderr


@pytest.mark.parametrize(
    "preset, overrides",
    [
        ("echo-raw-5", []),
        ("echo-gru", []),
        ("count-lstm", ["train.epochs=3"]),
        ("text-stacked", ["model.layers=[12, 10]", "model.embedding=0", "train.num_steps=10"]),
    ],
)
def test_every_task_and_cell_exports_to_keras_and_a_saved_model(preset, overrides, tmp_path):
    import keras
    import tensorflow as tf

    from rnntui.analysis.export import export_run

    config = load_preset(preset)
    base = ["task.size=20000", "train.batch_size=20"] if config.task.kind == "echo" else []
    if config.task.kind == "text":
        path = write(tmp_path / "t.txt", words(8000))
        base = [f"task.path='{path}'", "task.max_chars=0", "train.batch_size=8"]
    config = apply_overrides(config, [*base, *overrides])
    folder = RunFolder.create(config, tmp_path / "runs")
    assert "failed" not in Trainer(config, run=folder).run()
    run = load_trained_run(folder)
    replica = Replica(run.config, run.codec, run.weights)
    codec = run.codec
    rng = np.random.default_rng(1)
    if codec.ids:
        x = rng.integers(0, codec.input_dim, (3, 12)).astype(np.int32)
    else:
        x = rng.integers(0, 2, (3, 10, 1)).astype(np.float32)

    keras_file = export_run(run, tmp_path / "model.keras")
    loaded = keras.models.load_model(keras_file.path)
    assert_same_predictions(replica, x, loaded.predict(x, verbose=0))

    saved = export_run(run, tmp_path / "saved")
    assert saved.format == "saved_model"
    loaded_saved = tf.saved_model.load(str(saved.path))  # kept: serve() needs its variables
    assert_same_predictions(replica, x, loaded_saved.serve(tf.constant(x)).numpy())


def assert_same_predictions(replica: Replica, x: np.ndarray, probabilities: np.ndarray) -> None:
    """The exported model's probabilities are the softmax of rnntui's own logits."""
    import tensorflow as tf

    model = replica.model
    inputs = model.encode_ids(x) if replica.codec.ids else tf.constant(x)
    logits, _ = model(inputs, model.initial_state(len(x)))
    expected = tf.nn.softmax(logits).numpy()
    assert probabilities.shape == expected.shape
    np.testing.assert_allclose(probabilities, expected, atol=2e-5)


def _config_codec_weights(markov: dict) -> tuple:
    run = load_trained_run(RunFolder(markov["runs"] / markov["run"]))
    return run.config, run.codec, run.weights


# --- bad input through the command line ----------------------------------------------------------


def test_bad_text_input_exits_2_with_one_line_and_writes_nothing(tmp_path):
    runs = tmp_path / "runs"
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"hello " * 300 + "na\xefve".encode("latin-1"))
    binary = tmp_path / "b.dat"
    binary.write_bytes(b"\0" * 4000)
    cases = [
        (f"task.path={tmp_path / 'missing.txt'}", "no such file or folder"),
        (f"task.path={binary}", "binary file"),
        (f"task.path={latin}", "not UTF-8 text (byte offset 1802)"),
        (f"task.path={write(tmp_path / 'short.txt', 'abc' * 100)}", "shorter than one batch"),
        (f"task.path={tmp_path}/*.nothing", "matches no files"),
    ]
    for override, fragment in cases:
        result = run_cli("train", "text-lstm", "--set", override, "--runs-dir", str(runs))
        assert result.returncode == 2, (override, result.stderr)
        assert fragment in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "task.path" in result.stderr
        assert not runs.exists() or not any(runs.iterdir()), "a run folder was written"
