"""Issue 24, item 7: `inspect --run --text` reads characters outside a run's vocabulary as its
unknown symbol, as training does, and says so (it refused them before)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli, words, write


def test_characters_outside_the_vocabulary_are_read_as_its_unknown_symbol(tmp_path):
    path = write(tmp_path / "t.txt", words(3000))
    runs = tmp_path / "runs"
    trained = run_cli(
        "train", "text-lstm", "--set", f"task.path={path}", "--set", "task.max_vocab=8",
        "--set", "train.batch_size=8", "--epochs", "1", "--runs-dir", str(runs), "--json",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    run = Path(json.loads(trained.stdout.splitlines()[-1])["run"]).name

    result = run_cli("inspect", "--run", run, "--runs-dir", str(runs), "--text", "x = (1, 2)",
                     "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["labels"][2] == "\ufffd"  # '=' is not among the 8 most frequent characters
    assert "outside the vocabulary read as its unknown symbol" in result.stderr
