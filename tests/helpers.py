"""Texts the text tests generate: a Markov source of known entropy rate, and small files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnntui.config import Config, apply_overrides, load_preset


def markov2(length: int, symbols: int = 16, alpha: float = 0.1, seed: int = 0) -> tuple[str, float]:
    """An order-2 Markov text over `symbols` letters (a, b, ...) and its entropy rate in nats.

    P(x_t | x_{t-2}, x_{t-1}) is drawn from a Dirichlet(alpha); the entropy rate is the
    stationary pair distribution's average of each context's entropy.
    """
    rng = np.random.default_rng(seed)
    p = rng.dirichlet([alpha] * symbols, size=(symbols, symbols))  # p[a, b] = next | (a, b)
    pairs = np.full((symbols, symbols), 1.0 / symbols**2)
    for _ in range(5000):  # (a, b) -> (b, c) with p[a, b, c]
        pairs = np.einsum("ab,abc->bc", pairs, p)
    logs = np.log(np.where(p > 0, p, 1.0))
    rate = float(-(pairs[:, :, None] * p * logs).sum())
    x = np.empty(length, np.int64)
    x[:2] = rng.integers(0, symbols, 2)
    cumulative = p.cumsum(axis=2)
    uniforms = rng.random(length)
    for t in range(2, length):
        row = cumulative[x[t - 2], x[t - 1]]
        x[t] = min(int(np.searchsorted(row, uniforms[t], side="right")), symbols - 1)
    return "".join(chr(ord("a") + int(v)) for v in x), rate


def words(length: int, seed: int = 0) -> str:
    """English-looking text with lines, for quick runs."""
    rng = np.random.default_rng(seed)
    vocabulary = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "big", "red"]
    out, size = [], 0
    while size < length:
        line = " ".join(rng.choice(vocabulary, size=int(rng.integers(3, 9)))) + ".\n"
        out.append(line)
        size += len(line)
    return "".join(out)[:length]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def text_config(path: Path | str, *overrides: str) -> Config:
    """A small, fast text config (tiny LSTM, short windows, one epoch) on `path`."""
    return apply_overrides(
        load_preset("text-lstm"),
        [
            f"task.path='{path}'",
            "task.max_chars=0",
            "model.state_size=16",
            "model.embedding=8",
            "train.batch_size=8",
            "train.num_steps=10",
            "train.chunk=7",
            "train.epochs=1",
            *overrides,
        ],
    )
