"""A sweep's definition: a base config, a grid of values per key, and seeds; expanded into runs.

`--grid train.num_steps=2,5,10` reads each value as TOML, exactly like `--set` (so
`--grid 'task.lags=[[3, 0.5]],[[8, 0.5]]'` and `--grid model.cell=gru,lstm` work). Every
combination times seeds 0..N-1 is one run with a stable name, so running the same sweep again
finds the same run folders. Every combination is validated before any run starts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from rnntui.config import (
    Config,
    ConfigError,
    check_consistency,
    dumps_toml,
    parse_override,
    set_value,
)
from rnntui.engine.memory import check_fits_in_memory

GRID = "--grid"


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a grid combination and a seed."""

    index: int  # position in the sweep (seed-major: every configuration gets a seed early)
    name: str  # the run folder's name, stable across invocations
    values: tuple[tuple[str, Any], ...]  # the combination, in grid order
    seed: int
    config: Config = field(compare=False, repr=False)

    @property
    def label(self) -> str:
        """The combination as text, `train.num_steps=2, model.cell=gru` ('' for no grid)."""
        return describe_values(self.values)


@dataclass(frozen=True)
class SweepDefinition:
    """What a sweep folder records: enough to expand the very same runs again."""

    name: str
    preset: str
    base: Config = field(compare=False)
    grid: dict[str, list[Any]] = field(compare=False)
    seeds: int = 1

    def fingerprint(self) -> str:
        """Identifies the runs' configs (base + grid), not the seed count: more seeds extend it."""
        base = self.base.to_dict()
        base.pop("alerts", None)  # where alerts go is not what the runs train
        text = dumps_toml(base) + json.dumps(self.grid)
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]

    def specs(self) -> list[RunSpec]:
        return expand(self.base, self.grid, self.seeds)


def describe_values(values: tuple[tuple[str, Any], ...] | list[tuple[str, Any]]) -> str:
    return ", ".join(f"{key}={json.dumps(value)}" for key, value in values)


def split_values(raw: str) -> list[str]:
    """Split `2,5,10` or `[[3, 0.5]],[[8, 0.5]]` at the commas outside brackets and quotes."""
    pieces, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(raw):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            pieces.append(raw[start:i])
            start = i + 1
    pieces.append(raw[start:])
    return [piece.strip() for piece in pieces]


def parse_grid(texts: list[str]) -> dict[str, list[Any]]:
    """`["train.num_steps=2,5,10", ...]` -> {"train.num_steps": [2, 5, 10]}, each value checked."""
    grid: dict[str, list[Any]] = {}
    for text in texts:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"'{text}' is not of the form section.key=v1,v2,...", source=GRID)
        if key in grid:
            raise ConfigError("given twice; list all its values in one --grid", key, GRID)
        if key == "train.seed":
            raise ConfigError("seeds come from --seeds N (seeds 0..N-1)", key, GRID)
        pieces = split_values(raw)
        if not raw.strip() or any(not piece for piece in pieces):
            raise ConfigError(f"'{raw}' has an empty value; give values like {key}=1,2", key, GRID)
        values = []
        for piece in pieces:
            _, value = parse_override(f"{key}={piece}")
            probe = Config()
            try:
                set_value(probe, key, value)  # unknown key or a bad value on its own
            except ConfigError as error:
                raise ConfigError(error.reason, error.key, GRID) from None
            section, name = key.split(".")
            value = getattr(getattr(probe, section), name)  # coerced: 2.0 -> 2, true -> "on"
            if value in values:
                raise ConfigError(f"{json.dumps(value)} is listed twice", key, GRID)
            values.append(value)
        grid[key] = values
    return grid


def configure(base: Config, values: tuple[tuple[str, Any], ...], seed: int) -> Config:
    """The config of one run; ConfigError naming the combination if it is not valid."""
    config = base.copy()
    try:
        for key, value in values:
            set_value(config, key, value)
        set_value(config, "train.seed", seed)
        check_consistency(config)
    except ConfigError as error:
        where = f"{GRID} {describe_values(values)}" if values else GRID
        raise ConfigError(error.reason, error.key, where) from None
    return config


def _slug(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "x"


def run_names(grid: dict[str, list[Any]], combos: list[tuple], seeds: int) -> list[list[str]]:
    """Readable folder names (`num_steps=2_seed=0`), made unique with a hash where slugs clash."""
    shorts = [key.split(".")[1] for key in grid]
    if len(set(shorts)) < len(shorts):
        shorts = list(grid)
    bases = [
        "_".join(f"{s}={_slug(v)}" for s, v in zip(shorts, combo, strict=True)) for combo in combos
    ]
    clashes = {b for b in bases if bases.count(b) > 1}
    names = []
    for base, combo in zip(bases, combos, strict=True):
        if base in clashes:
            base += "-" + hashlib.sha1(json.dumps(combo).encode()).hexdigest()[:6]
        prefix = f"{base}_" if base else ""
        names.append([f"{prefix}seed={seed}" for seed in range(seeds)])
    return names


def expand(base: Config, grid: dict[str, list[Any]], seeds: int) -> list[RunSpec]:
    """Every combination x seed as a RunSpec, seed-major; all validated before returning."""
    keys = list(grid)
    combos = list(itertools.product(*(grid[key] for key in keys)))
    names = run_names(grid, combos, seeds)
    configs = []
    for combo in combos:
        values = tuple(zip(keys, combo, strict=True))
        per_seed = [configure(base, values, seed) for seed in range(seeds)]
        try:  # the data's size does not depend on the seed: one check per combination
            check_fits_in_memory(per_seed[0])
        except ConfigError as error:
            where = f"{GRID} {describe_values(values)}" if values else GRID
            raise ConfigError(error.reason, error.key, where) from None
        configs.append((values, per_seed))
    specs = []
    for seed in range(seeds):
        for c, (values, per_seed) in enumerate(configs):
            specs.append(RunSpec(len(specs), names[c][seed], values, seed, per_seed[seed]))
    return specs


def default_name(base: Config, grid: dict[str, list[Any]]) -> str:
    """`echo-raw-5-num_steps-1a2b3c4d`: stable for the same preset, overrides and grid."""
    keys = "-".join(key.split(".")[1] for key in grid) or "seeds"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in base.name) or "sweep"
    fingerprint = SweepDefinition("", "", base, grid).fingerprint()
    return f"{safe}-{keys}-{fingerprint}"
