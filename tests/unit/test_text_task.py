"""The text task's data: reading files fast and safely (a file, a folder, a glob; bad input in one
line), the vocabulary, the windows and the baselines. Training on text is in
tests/engine/test_text_training.py, the command line in tests/cli/test_text_cli.py."""

from __future__ import annotations

import math
import os
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rnntui.config import ConfigError, load_preset
from rnntui.tasks import corpus as corpus_module
from rnntui.tasks.build import make_task
from rnntui.tasks.corpus import UNKNOWN, resolve
from rnntui.tasks.text import TextTask
from tests.helpers import text_config, words, write


def load(path: Path | str, *overrides: str) -> TextTask:
    config = text_config(path, *overrides)
    return make_task(config.task, 0)


def reason(path: Path | str, *overrides: str) -> str:
    """The one-line ConfigError that loading `path` gives."""
    with pytest.raises(ConfigError) as caught:
        config = text_config(path, *overrides)  # the cheap checks
        make_task(config.task, 0)  # reading the text
    assert caught.value.key == "task.path"
    assert "\n" not in str(caught.value)
    return caught.value.reason


# --- which files, and bad input --------------------------------------------------------------


def test_a_file_a_folder_and_a_glob_read_the_same_text_in_order(tmp_path):
    write(tmp_path / "books" / "b.txt", "second part\n" * 40)
    write(tmp_path / "books" / "a.txt", "first part\n" * 40)
    write(tmp_path / "books" / "sub" / "c.txt", "third part\n" * 40)
    write(tmp_path / "books" / ".hidden" / "x.txt", "hidden\n" * 40)
    (tmp_path / "books" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" * 10)
    folder = load(tmp_path / "books")
    text = folder.vocabulary.decode(folder.ids)
    assert text == "first part\n" * 40 + "second part\n" * 40 + "third part\n" * 40
    assert folder.preview().files == 3 and folder.preview().skipped == 1  # the PNG

    globbed = load(f"{tmp_path}/books/**/*.txt")
    assert globbed.vocabulary.decode(globbed.ids) == text
    single = load(tmp_path / "books" / "a.txt")
    assert single.vocabulary.decode(single.ids) == "first part\n" * 40


def test_the_stdlib_placeholder_names_this_pythons_sources():
    import sysconfig

    sources = resolve("{stdlib}/*.py")
    assert len(sources.files) > 50
    assert all(p.parent == Path(sysconfig.get_paths()["stdlib"]) for p in sources.files)
    assert list(sources.files) == sorted(sources.files)
    for preset in ("text-lstm", "text-gru", "text-stacked"):
        config = load_preset(preset)
        assert config.task.path == "{stdlib}/*.py" and "Python version" in config.description


def test_bad_input_is_one_line_naming_the_file(tmp_path):
    assert "no such file or folder" in reason(tmp_path / "missing.txt")
    assert "is empty" in reason(write(tmp_path / "empty.txt", ""))
    assert "is empty" in reason("")
    binary = tmp_path / "data.bin"
    binary.write_bytes(b"abc" * 100 + b"\0" + b"def" * 100)
    assert "binary file (a NUL byte at offset 300)" in reason(binary)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"abcdef " * 200 + "café".encode("latin-1") + b" more" * 100)
    assert "not UTF-8 text (byte offset 1403)" in reason(latin) and "latin.txt" in reason(latin)
    (tmp_path / "bins").mkdir()
    (tmp_path / "bins" / "a.bin").write_bytes(b"\0\1\2" * 100)
    assert "holds no text files (1 binary or empty)" in reason(tmp_path / "bins")
    assert "matches no files" in reason(f"{tmp_path}/nothing/*.txt")
    short = write(tmp_path / "short.txt", "tiny text\n" * 5)
    problem = reason(short)
    assert "shorter than one batch of windows" in problem and "batch_size 8" in problem
    small = write(tmp_path / "s.txt", "x" * 200)
    assert "held-out text" in reason(small, "task.valid_fraction=0.01")
    with pytest.raises(ConfigError, match="task.max_vocab: 1 is out of range"):
        text_config(write(tmp_path / "ok.txt", words(5000)), "task.max_vocab=1")


def test_the_utf8_error_offset_is_right_across_decode_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_module, "DECODE_BYTES", 7)  # many pieces, characters split
    bad = "héllo wörld ".encode() * 300 + b"\xff" + b"tail" * 300
    path = tmp_path / "split.txt"
    path.write_bytes(bad)
    offset = bad.index(0xFF)
    assert f"byte offset {offset}" in reason(path)


def test_a_fifo_is_never_opened_for_reading(tmp_path):
    """A FIFO named directly is refused, and one inside a folder is skipped, without blocking."""
    fifo = tmp_path / "texts" / "pipe.txt"
    write(tmp_path / "texts" / "real.txt", words(3000))
    os.mkfifo(fifo)
    result: dict = {}

    def attempt() -> None:
        result["folder"] = load(tmp_path / "texts")
        try:
            load(fifo)
        except ConfigError as error:
            result["fifo"] = error.reason

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "reading blocked on the FIFO"
    assert result["folder"].preview().files == 1
    assert "not a regular file" in result["fifo"]


# --- vocabulary, windows, baselines --------------------------------------------------------------


def test_the_vocabulary_keeps_the_most_frequent_characters(tmp_path):
    text = "a" * 500 + "b" * 400 + "c" * 300 + "d" * 200 + "e" * 100 + "\n"
    task = load(write(tmp_path / "t.txt", text * 3), "task.max_vocab=4")
    vocabulary = task.vocabulary
    assert vocabulary.symbols == "abc" + UNKNOWN and vocabulary.unknown
    assert task.ids.dtype == np.uint8
    decoded = vocabulary.decode(task.ids)
    assert decoded.count(UNKNOWN) == 3 * 301  # d, e and the newline
    assert task.preview().unknown == 3 * 301
    with pytest.raises(ValueError, match="outside the vocabulary: 'd' 'z'"):
        vocabulary.encode("abdz")


def test_characters_seen_only_in_the_held_out_text_become_unknown(tmp_path):
    task = load(write(tmp_path / "t.txt", "ab" * 950 + "xyz" * 30))
    assert task.vocabulary.symbols == "ab" + UNKNOWN
    assert task.vocabulary.decode(task.ids[-3:]) == UNKNOWN * 3


def test_a_large_alphabet_uses_16_bit_ids(tmp_path):
    """5,000 CJK characters: ids are uint16, and the cap keeps the commonest."""
    rng = np.random.default_rng(0)
    codes = 0x4E00 + rng.integers(0, 5000, 60_000)
    text = "".join(map(chr, codes.tolist()))
    task = load(write(tmp_path / "cjk.txt", text), "task.max_vocab=3000", "task.valid_fraction=0")
    assert task.ids.dtype == np.uint16 and task.num_classes == 3000
    counts = Counter(text)
    kept = set(task.vocabulary.known())
    rare_kept = min(counts[c] for c in kept)
    assert all(counts[c] <= rare_kept for c in counts if c not in kept)
    assert task.vocabulary.decode(task.ids[:50]) == "".join(
        c if c in kept else UNKNOWN for c in text[:50]
    )


def test_windows_are_streams_read_in_steps_with_targets_one_ahead(tmp_path):
    text = words(4000)
    task = load(write(tmp_path / "t.txt", text), "task.valid_fraction=0.25")
    xs, ys = task.windows(0, 8, 10)
    train = task.ids[: task.train_size]
    length = (len(train) - 1) // 8
    assert xs.shape == ys.shape == (length // 10, 8, 10)
    assert task.steps_per_epoch(8, 10) == length // 10
    for b in (0, 5):
        stream = np.concatenate(list(xs[:, b]))
        assert np.array_equal(stream, train[b * length : b * length + len(stream)])
        targets = np.concatenate(list(ys[:, b]))
        assert np.array_equal(targets, train[b * length + 1 :][: len(stream)])
    assert task.vocabulary.decode(train) == text[: task.train_size]
    assert task.train_size == 3000  # the last quarter is held out


def test_baselines_are_the_training_texts_entropies(tmp_path):
    text = words(6000, seed=3)
    task = load(write(tmp_path / "t.txt", text))
    train = text[: task.train_size]
    n = len(train)
    unigram = -sum(c / n * math.log(c / n) for c in Counter(train).values())
    pairs = Counter(zip(train, train[1:], strict=False))
    firsts = Counter(train[:-1])
    bigram = -sum(c / (n - 1) * math.log(c / firsts[a]) for (a, _), c in pairs.items())
    by_label = {b.label: b.value for b in task.baselines()}
    assert by_label["unigram"] == pytest.approx(unigram, rel=1e-9)
    assert by_label["bigram"] == pytest.approx(bigram, rel=1e-9)
    cycle = load(write(tmp_path / "abc.txt", "abc" * 2000))
    values = {b.label: b.value for b in cycle.baselines()}
    assert values["unigram"] == pytest.approx(math.log(3)) and values["bigram"] == pytest.approx(0)


def test_the_loaded_text_is_cached_and_compact(tmp_path):
    path = write(tmp_path / "t.txt", words(20000))
    first = load(path)
    assert load(path).ids is first.ids  # the settings form, preview and trainer share one load
    assert first.ids.nbytes == len(first.ids)  # one byte a character, never one-hot
    path.write_text(words(20000, seed=9))  # a changed file is read again
    assert load(path).ids is not first.ids
