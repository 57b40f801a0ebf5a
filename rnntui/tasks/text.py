"""The "text" task: next-character prediction on any text (char-rnn), many-to-many.

Batched like echo: the training text is cut into `batch_size` parallel streams, each read in
`num_steps` windows; the state carries from window to window and is reset each epoch. The last
`task.valid_fraction` of the text is held out: `evaluate` reports its loss (nats per character)
and bits per character. The vocabulary is the `task.max_vocab` most frequent characters of the
training text (one unknown symbol for the rest); it is saved in every checkpoint (`state`), so
a resumed run, generation and export need nothing but the run folder.

The baselines are the training text's unigram entropy and its order-1 (bigram) conditional
entropy, in nats: what a model that ignores context, or sees only the previous character, gets.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rnntui.config import ConfigError
from rnntui.tasks.base import Baseline, Evaluator, Metric, Segment, Setting, TaskDefaults
from rnntui.tasks.corpus import (
    KEY,
    Sources,
    Vocabulary,
    bigram_conditional_entropy,
    count_characters,
    count_ids,
    describe_path,
    entropy,
    map_to_ids,
    read_characters,
    resolve,
)

if TYPE_CHECKING:
    from rnntui.config import Config, TaskConfig

LN2 = float(np.log(2.0))
PREVIEW_CHARS = 2000  # characters of the excerpt the Data pane shows
EXCERPT_CHARS = 1200  # characters a hidden-unit view draws its activations over
EVAL_CHUNK = 50  # validation windows per compiled call
CACHE_SIZE = 2  # loaded corpora kept (the settings form, the preview and the trainer share one)


@dataclass(frozen=True)
class TextPreview:
    """What the Data pane shows for a text."""

    source: str  # task.path, as the user wrote it
    files: int
    skipped: int  # binary or empty files a folder or glob left out
    characters: int
    train_characters: int
    valid_characters: int
    vocabulary: int
    unknown: int  # characters of the text mapped to the unknown symbol
    top: tuple[tuple[str, float], ...]  # the most frequent symbols and their share
    excerpt: str
    baselines: tuple[Baseline, ...]

    @property
    def summary(self) -> str:
        """One line for the settings form, under the path."""
        files = f"{self.files:,} file{'s' if self.files != 1 else ''}"
        return f"{self.characters:,} characters, {self.vocabulary} symbols, {files}"


@dataclass
class _Corpus:
    ids: np.ndarray
    vocabulary: Vocabulary
    train: int  # the first `train` ids train, the rest validate
    unknown: int
    files: int
    skipped: int
    _fingerprint: dict[str, Any] | None = None

    def fingerprint(self) -> dict[str, Any]:
        """{"characters", "digest"}: the text as ids (a 100 MB text hashes in ~0.2 s, once)."""
        if self._fingerprint is None:
            digest = hashlib.blake2b(np.ascontiguousarray(self.ids).data, digest_size=8)
            self._fingerprint = {"characters": len(self.ids), "digest": digest.hexdigest()}
        return self._fingerprint


_cache: OrderedDict[tuple, _Corpus] = OrderedDict()
_cache_lock = threading.Lock()  # the preview worker and the trainer may load the same text


def load_corpus(task: TaskConfig, state: dict | None = None) -> _Corpus:
    """The text `task` names as ids, with its vocabulary (or the one in `state`); cached."""
    sources = resolve(task.path, fresh=True)  # a file edited since must be read again
    vocab_key = tuple(sorted((state or {}).items()))
    key = (sources.key(), task.max_chars, task.max_vocab, task.valid_fraction, vocab_key)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        corpus = _load(task, sources, state)
        _cache[key] = corpus
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return corpus


def _load(task: TaskConfig, sources: Sources, state: dict | None) -> _Corpus:
    chars = read_characters(sources, task.max_chars)
    if chars.count == 0:
        raise ConfigError(f"'{task.path}' holds no characters; name a file with text in it", KEY)
    valid = int(chars.count * task.valid_fraction)
    train = chars.count - valid
    counts = count_characters(chars, 0, train)
    if state:
        try:
            vocabulary = Vocabulary.from_state(state)
        except ValueError as error:
            raise ConfigError(str(error), KEY) from None
    else:
        seen = counts > 0
        held_out = count_characters(chars, train, chars.count)
        unseen = bool((held_out[len(seen) :] > 0).any()) or bool(
            ((held_out[: len(seen)] > 0) & ~seen[: len(held_out)]).any()
        )
        vocabulary = Vocabulary.build(counts, task.max_vocab, unseen)
        if len(vocabulary.symbols) < 2:  # nothing to predict, and no vocabulary to keep
            only = vocabulary.decode([0]) if vocabulary.symbols else ""
            raise ConfigError(
                f"'{task.path}' has one distinct character ({only!r}): there is nothing to "
                "predict; use a text with at least two",
                KEY,
            )
    try:
        ids = map_to_ids(chars, vocabulary)
    except ValueError as error:
        raise ConfigError(
            f"'{task.path}' changed since the run trained on it ({error}); a resume needs the "
            "same text: put it back, or start a new run",
            KEY,
        ) from None
    unknown = int((ids == len(vocabulary.symbols) - 1).sum()) if vocabulary.unknown else 0
    corpus = _Corpus(ids, vocabulary, train, unknown, len(sources.files), sources.skipped)
    if state and "characters" in state:  # a checkpoint's text (older ones did not record it)
        now = corpus.fingerprint()
        if now != {"characters": state["characters"], "digest": state.get("digest")}:
            then = state["characters"]
            size = (
                f"{then:,} characters then, {now['characters']:,} now"
                if isinstance(then, int)
                else "other characters"
            )
            raise ConfigError(
                f"'{task.path}' changed since the run trained on it ({size}); a resume needs "
                "the same text: put it back, or start a new run",
                KEY,
            )
    return corpus


class TextTask(TaskDefaults):
    kind = "text"
    title = "text: next character (char-rnn)"
    settings = (
        Setting(
            "task.path",
            "text",
            "a UTF-8 file, a folder or a glob; {stdlib} = this Python's standard library",
            picker="path",
        ),
        Setting("task.valid_fraction", "held out", "the last part of the text, for validation"),
        Setting("task.max_vocab", "max vocab", "most frequent characters kept; rest = unknown"),
        Setting("task.max_chars", "max chars", "read at most this many characters (0: all)"),
        Setting("train.num_steps", "num_steps", "truncated-backprop window"),
        Setting("train.eval_every", "eval every", "epochs between validations"),
    )
    metrics = (
        Metric("valid_loss", "valid", ".4f", " nats"),
        Metric("bits_per_char", "bits/char", ".3f"),
    )
    headline = "valid_loss"
    autoregressive = True  # the next character is the next input: samples feed back
    path_keys = ("path",)  # it reads task.path: stored absolute; config checks may skip it

    def __init__(self, task: TaskConfig, seed: int = 0, state: dict | None = None) -> None:
        self.path = task.path
        self.seed = int(seed)
        try:
            corpus = load_corpus(task, state)
        except ConfigError as error:
            if not state or error.key != KEY or "changed" in error.reason:
                raise
            # a checkpoint's run: only a resume reads the text (generate and export do not)
            raise ConfigError(
                f"{error.reason.removesuffix('; check the path')}; a resume trains on the "
                "run's text again: put it back, or start a new run",
                KEY,
            ) from None
        self._corpus = corpus
        self.ids = corpus.ids
        self.ids.flags.writeable = False  # shared through the cache: nobody edits it
        self.vocabulary = corpus.vocabulary
        self.num_classes = self.input_dim = len(self.vocabulary.symbols)
        self.train_size = corpus.train
        self._baselines: tuple[Baseline, ...] | None = None

    @classmethod
    def from_config(cls, task: TaskConfig, seed: int, state: dict | None = None) -> TextTask:
        return cls(task, seed, state)

    @classmethod
    def check_config(cls, config: Config) -> None:
        """Cheap enough for the settings form, which checks on every keystroke: a walk, a stat
        and a sniff per file. The byte count bounds the characters (1 to 4 bytes each); only
        when the bounds cannot decide is the (then small) text read."""
        task = config.task
        sources = resolve(task.path)
        most = sources.total_bytes
        least = most // 4
        if task.max_chars:
            most, least = min(most, task.max_chars), min(least, task.max_chars)
        if _length_problem(least, config) is None:
            return
        if _length_problem(most, config) is None:
            most = len(load_corpus(task).ids)  # a few MB at most here
        problem = _length_problem(most, config)
        if problem is not None:
            raise ConfigError(problem, KEY)

    # --- the codec and its state -----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The vocabulary, and what identifies the text (its length and a digest), so that a
        resume on a text changed since is refused by name."""
        return {**self.vocabulary.state(), **self._corpus.fingerprint()}

    @classmethod
    def codec_from_state(cls, task: TaskConfig, state: dict[str, Any]) -> Vocabulary:
        return Vocabulary.from_state(state)

    def codec(self) -> Vocabulary:
        return self.vocabulary

    # --- data ------------------------------------------------------------------------------------

    def _streams(self, ids: np.ndarray, batch_size: int, num_steps: int):
        """x, y [windows, batch, steps]: stream b reads ids [L*b, L*(b+1)), y one step ahead."""
        length = (len(ids) - 1) // batch_size
        count = length // num_steps

        def cut(a: np.ndarray) -> np.ndarray:
            streams = a[: length * batch_size].reshape(batch_size, length)
            return (
                streams[:, : count * num_steps].reshape(batch_size, count, num_steps).swapaxes(0, 1)
            )

        return cut(ids[:-1]), cut(ids[1:])

    def windows(self, epoch: int, batch_size: int, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """The same windows every epoch (views of the id array, nothing copied)."""
        return self._streams(self.ids[: self.train_size], batch_size, num_steps)

    def steps_per_epoch(self, batch_size: int, num_steps: int) -> int:
        return ((self.train_size - 1) // batch_size) // num_steps

    def estimate_bytes(self, batch_size: int, num_steps: int) -> int:
        return 2 * self.ids.nbytes  # the ids (loaded already) and the trainer's chunk copies

    def validation_windows(self, batch_size: int, num_steps: int):
        """The held-out text as windows: up to `batch_size` streams, fewer when it is short."""
        held_out = self.ids[self.train_size :]
        streams = min(batch_size, (len(held_out) - 1) // num_steps)
        if streams < 1:
            return None
        return self._streams(held_out, streams, num_steps)

    # --- analysis --------------------------------------------------------------------------------

    def baselines(self) -> tuple[Baseline, ...]:
        if self._baselines is None:
            train = self.ids[: self.train_size]
            size = len(self.vocabulary.symbols)
            unigram = entropy(count_ids(train, size))
            bigram = bigram_conditional_entropy(train, size)
            self._baselines = (Baseline("unigram", unigram), Baseline("bigram", bigram))
        return self._baselines

    def evaluate(self, model: Evaluator) -> dict[str, float]:
        """Loss on the held-out text, windows as in training (num_steps), the state carried."""
        windows = self.validation_windows(model.batch_size, model.num_steps)
        if windows is None:
            return {}
        xs, ys = windows
        loss = model.mean_loss(xs, ys)
        return {"valid_loss": loss, "bits_per_char": loss / LN2}

    def preview(self) -> TextPreview:
        vocabulary = self.vocabulary
        counts = count_ids(self.ids[: self.train_size], len(vocabulary.symbols))
        order = np.argsort(-counts, kind="stable")[:12]
        total = max(int(counts.sum()), 1)
        top = tuple((vocabulary.symbols[i], float(counts[i]) / total) for i in order if counts[i])
        return TextPreview(
            source=describe_path(self.path),
            files=self._corpus.files,
            skipped=self._corpus.skipped,
            characters=len(self.ids),
            train_characters=self.train_size,
            valid_characters=len(self.ids) - self.train_size,
            vocabulary=len(vocabulary.symbols),
            unknown=self._corpus.unknown,
            top=top,
            excerpt=vocabulary.decode(self.ids[:PREVIEW_CHARS]),
            baselines=self.baselines(),
        )

    def excerpt(self) -> tuple[Segment, ...]:
        """Unseen text when there is enough of it (the start of the held-out part), else the
        start of the training text."""
        held_out = self.ids[self.train_size :]
        ids = held_out if len(held_out) >= EXCERPT_CHARS // 2 else self.ids
        ids = np.asarray(ids[: 2 * EXCERPT_CHARS], np.int32)
        newline = self.vocabulary.symbols.find("\n")
        if newline >= 0:  # start at a line's beginning, as a reader would
            breaks = np.flatnonzero(ids[:200] == newline)
            if len(breaks) and len(ids) - breaks[0] > EXCERPT_CHARS // 2:
                ids = ids[breaks[0] + 1 :]
        ids = ids[:EXCERPT_CHARS]
        return (Segment(ids, self.vocabulary.labels(ids)),)

    def sample_inputs(self, steps: int) -> list[list[float]]:
        eye = np.eye(len(self.vocabulary.symbols), dtype=np.float32)
        return eye[self.ids[:steps]].tolist()


def _length_problem(characters: int, config: Config) -> str | None:
    """What is too short in a text of `characters`: the training part must fill one window in
    every stream (plus the last target), the held-out part one window."""
    task, train = config.task, config.train
    held_out = int(characters * task.valid_fraction)
    need = train.batch_size * train.num_steps + 1
    if characters - held_out < need:
        return (
            f"the training text ({characters - held_out:,} characters) is shorter than one batch "
            f"of windows (batch_size {train.batch_size} x num_steps {train.num_steps} + 1 = "
            f"{need:,}); use more text or lower train.batch_size or train.num_steps"
        )
    if task.valid_fraction > 0 and held_out < train.num_steps + 1:
        return (
            f"the held-out text ({held_out:,} characters) is shorter than one window "
            f"(num_steps {train.num_steps} + 1); raise task.valid_fraction or set it to 0"
        )
    return None
