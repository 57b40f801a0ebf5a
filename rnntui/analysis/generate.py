"""Sampling text from a network trained to predict its next input (the text task).

The prime is read from a zero state; then each step samples the next symbol from
softmax(logits / temperature) with a NumPy generator seeded by `seed` (temperature 0: the most
likely symbol), and feeds it back. The same weights, prime, temperature and seed give the same
text, on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnntui.config import ConfigError

if TYPE_CHECKING:
    from rnntui.analysis.replica import Replica, TrainedRun

MAX_LENGTH = 100_000
MAX_TEMPERATURE = 10.0
DEFAULT_START = "\n"  # what an empty prime starts from (when the vocabulary has it)


@dataclass(frozen=True)
class Generation:
    """Sampled text (the continuation; the prime is not repeated in `text`)."""

    text: str
    prime: str
    temperature: float
    seed: int

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "prime": self.prime,
            "temperature": self.temperature,
            "seed": self.seed,
        }


def check_generative(run: TrainedRun) -> None:
    """ConfigError unless the run's task predicts its next input (so samples can be fed back)."""
    from rnntui.tasks.registry import task_class

    if not task_class(run.config.task.kind).autoregressive:
        raise ConfigError(
            f"run '{run.name}' trained the {run.config.task.kind} task; generate needs a text "
            "run (a task whose output is its next input)",
            source="generate",
        )


def check_options(length: int, temperature: float) -> None:
    if not 0 <= length <= MAX_LENGTH:
        raise ConfigError(f"{length} is out of range; use 0 to {MAX_LENGTH:,}", "--length")
    if not 0 <= temperature <= MAX_TEMPERATURE:
        raise ConfigError(
            f"{temperature:g} is out of range; use 0 (greedy) to {MAX_TEMPERATURE:g}",
            "--temperature",
        )


def encode_prime(replica: Replica, prime: str) -> np.ndarray:
    """The prime's ids; ConfigError naming characters outside the vocabulary."""
    codec = replica.codec
    text = prime
    if not text:
        symbols = codec.decode(np.arange(codec.num_classes))
        text = DEFAULT_START if DEFAULT_START in symbols else symbols[0]
    try:
        return codec.encode(text)
    except ValueError as error:
        raise ConfigError(f"{error}; use characters the text had", "--prime") from None


def sample(
    replica: Replica, prime: str = "", length: int = 200, temperature: float = 1.0, seed: int = 0
) -> Generation:
    """`length` symbols after `prime`, sampled at `temperature` with `seed`."""
    check_options(length, temperature)
    rng = np.random.default_rng(seed)
    logits, state = replica.advance(encode_prime(replica, prime), replica.zero_state())
    chosen = np.empty(length, np.int32)
    for i in range(length):
        chosen[i] = _pick(logits, temperature, rng)
        logits, state = replica.advance(chosen[i : i + 1], state)
    return Generation(replica.codec.decode(chosen), prime, temperature, seed)


def _pick(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    if temperature == 0:
        return int(np.argmax(logits))
    # shifted first, so the best symbol scales to 0 and the rest to at most 0: a temperature so
    # small that a gap overflows (1e-308) leaves only the best one, which is greedy sampling
    with np.errstate(over="ignore"):
        scaled = (logits - logits.max()) / temperature
    if not np.isfinite(scaled).all():
        return int(np.argmax(logits))
    p = np.exp(scaled)
    p /= p.sum()
    # inverse-CDF with one uniform per step: the same draws whatever the vocabulary size
    return int(min(np.searchsorted(np.cumsum(p), rng.random(), side="right"), len(p) - 1))
