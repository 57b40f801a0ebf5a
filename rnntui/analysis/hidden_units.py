"""Hidden units over the input: each state unit's activation at every step of an excerpt.

This is the char-rnn picture (a unit that tracks quotes, indentation or line length), for any
task: the excerpt comes from the task (`Task.excerpt`: segments, each read from a zero state),
the activations from a `Replica` of the model. Units are ranked by their variance over the
excerpt, so the ones that do something come first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnntui.analysis.replica import Replica
from rnntui.tasks.base import Segment


@dataclass(frozen=True)
class RankedUnit:
    state: str  # "h", "c", "h2", ...
    unit: int
    std: float  # over the excerpt

    @property
    def label(self) -> str:
        return f"{self.state}[{self.unit}]"


@dataclass(frozen=True)
class UnitTrace:
    """Activations over an excerpt: states[name] is [steps, units] (read-only arrays)."""

    labels: tuple[str, ...]  # one per step, all segments in order
    lengths: tuple[int, ...]  # steps per segment
    states: dict[str, np.ndarray]
    ranking: tuple[RankedUnit, ...]  # every unit, most variable first

    def values(self, state: str, unit: int) -> np.ndarray:
        return self.states[state][:, unit]

    def to_dict(self, units: Sequence[RankedUnit] | None = None) -> dict:
        """JSON-able: per-step labels and the chosen units' activations (all when None)."""
        chosen = list(units) if units is not None else list(self.ranking)
        return {
            "labels": list(self.labels),
            "segments": list(self.lengths),
            "units": [
                {
                    "state": u.state,
                    "unit": u.unit,
                    "std": round(u.std, 6),
                    "values": [round(float(v), 6) for v in self.values(u.state, u.unit)],
                }
                for u in chosen
            ],
        }


def rank(states: dict[str, np.ndarray]) -> tuple[RankedUnit, ...]:
    units = [
        RankedUnit(name, int(i), float(std))
        for name, values in states.items()
        for i, std in enumerate(values.std(axis=0))
    ]
    return tuple(sorted(units, key=lambda u: (-u.std, u.state, u.unit)))


def trace_units(replica: Replica, segments: Sequence[Segment]) -> UnitTrace:
    """Every state unit at every step of `segments` (each segment from a zero state)."""
    pieces = [replica.trace(segment.inputs) for segment in segments]
    names = list(pieces[0]) if pieces else []
    states = {}
    for name in names:
        joined = np.concatenate([piece[name] for piece in pieces]).astype(np.float32)
        joined.flags.writeable = False
        states[name] = joined
    labels = tuple(label for segment in segments for label in segment.labels)
    lengths = tuple(len(segment.labels) for segment in segments)
    return UnitTrace(labels, lengths, states, rank(states))


def select(trace: UnitTrace, wanted: Sequence[str], top: int) -> list[RankedUnit]:
    """Units named like "h:12" or "c3" (state and index), else the `top` most variable ones;
    ValueError naming a unit that does not exist."""
    if not wanted:
        return list(trace.ranking[:top])
    by_key = {(u.state, u.unit): u for u in trace.ranking}
    chosen = []
    for text in wanted:
        name, _, index = text.replace("[", ":").rstrip("]").partition(":")
        if not index:
            name, index = name.rstrip("0123456789"), name[len(name.rstrip("0123456789")) :]
        try:
            key = (name, int(index))
        except ValueError:
            raise ValueError(f"'{text}' is not a unit; write it like h:12 or c:3") from None
        if key not in by_key:
            sizes = ", ".join(f"{n} 0..{v.shape[1] - 1}" for n, v in trace.states.items())
            raise ValueError(f"no unit '{text}'; this model has {sizes}")
        chosen.append(by_key[key])
    return chosen
