"""What a run's configuration holds: typed sections, the rules each value follows, the error a
bad value raises, and the TOML a config is written as.

A preset is a TOML file with three sections (`task`, `model`, `train`), an optional fourth
(`alerts`: where the run's alerts go), a name and a one-line description. Every value is checked
against `RULES` (`config/checked.py`); a problem is a `ConfigError` that names the file, the key
and what is allowed, so callers can print one line instead of a traceback. The kinds of task
and cell come from their registries (leaves that name them; the config never imports a task's
or a model's code).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import reprlib
from dataclasses import dataclass, field
from typing import Any

from rnntui.models.registry import CELL_KINDS, STACKABLE_CELLS
from rnntui.tasks.registry import TASK_KINDS

OPTIMIZERS = ("adagrad", "adam", "sgd", "rmsprop")
XLA_MODES = ("auto", "on", "off")  # auto: XLA for runs long enough to repay its compile
MISSING_MODES = ("error", "interpolate", "drop")  # what a series does with missing cells


@dataclass
class TaskConfig:
    """What data the network sees."""

    kind: str = "echo"
    # echo: X_t ~ Bernoulli(.5); P(Y_t=1) = base + sum(effect * X_{t-lag})
    size: int = 1_000_000
    base: float = 0.5
    lags: list[list[float]] = field(default_factory=lambda: [[3, 0.5], [8, -0.25]])
    # count: all 2**bits strings, the first train_size (after a seeded shuffle) train the net
    bits: int = 10
    train_size: int = 500
    # text: next-character prediction on a UTF-8 file, a folder of text files or a glob;
    # "{stdlib}" in the path stands for the running Python's standard library folder
    path: str = "{stdlib}/*.py"  # a text every machine running rnntui has
    valid_fraction: float = 0.1  # the last part of the text, held out for validation
    max_vocab: int = 256  # the most frequent characters kept (with the unknown symbol)
    max_chars: int = 0  # read at most this many characters (0: all of them)
    # series: forecast columns of a CSV/TSV (task.path; "{data}" is rnntui's shipped data folder)
    target: list[str] = field(default_factory=list)  # columns to forecast ([]: the only numeric)
    inputs: list[str] = field(default_factory=list)  # columns fed in ([]: every numeric column)
    time: str = ""  # an optional time column: the axis, and checked to never go backwards
    horizon: int = 1  # forecast this many rows ahead
    missing: str = "error"  # empty or non-numeric cells: one of MISSING_MODES
    season: int = 0  # rows per season for the seasonal-naive baseline (0: none)


@dataclass
class ModelConfig:
    """Which recurrent network is trained."""

    cell: str = "raw_rnn"
    state_size: int = 4
    layers: list[int] = field(default_factory=lambda: [4, 5])  # used by cell = "stacked"
    stacked_cell: str = "lstm"
    embedding: int = 0  # ids -> learned vectors of this size (0: one-hot), for tasks fed ids


@dataclass
class TrainConfig:
    """How it is trained."""

    epochs: int = 1
    num_steps: int = 5  # truncated-backprop window (echo only; count uses the whole string)
    batch_size: int = 200
    optimizer: str = "adagrad"
    learning_rate: float = 0.1
    clip_norm: float = 0.0  # cap on the gradients' global norm per window; 0 = no clipping
    seed: int = 0
    # windows per compiled call (Python only touches chunk boundaries); 0 = the engine's choice
    chunk: int = 0
    xla: str = "auto"  # one of XLA_MODES; true/false are read as on/off
    eval_every: int = 1  # count: epochs between test-set evaluations
    # stop after this many evaluations without a better headline metric, and keep the best
    # weights (0: never stop early)
    patience: int = 0
    device: str = "auto"  # auto, cpu, gpu or gpu:N (see rnntui.runtime.devices)
    gpu_memory_growth: bool = True  # take GPU memory as needed, so runs can share a GPU


@dataclass
class AlertsConfig:
    """Where a run says it finished, failed or stalled (rnntui/engine/alerts.py)."""

    url: str = ""  # an ntfy-style http(s) topic URL or an apprise URL; "" = the user config's
    patience: int = 5  # evaluations with no better validation loss before a plateau alert; 0 off


ALERT_URL = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://\S+)?")  # "" or scheme://anything


@dataclass
class Config:
    name: str = "custom"
    description: str = ""
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    def copy(self) -> Config:
        """A deep copy; never validates (a config being edited may be inconsistent)."""
        return copy.deepcopy(self)


SECTIONS = {
    "task": TaskConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "alerts": AlertsConfig,
}


@dataclass(frozen=True)
class Rule:
    """What a field accepts: a range for numbers, or a set of choices."""

    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None

    def describe(self, kind: type) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        noun = "an integer" if kind is int else "a number"
        if self.low is not None and self.high is not None:
            return f"{noun} from {format_number(self.low)} to {format_number(self.high)}"
        if self.low is not None:
            return f"{noun} >= {format_number(self.low)}"
        return noun


RULES: dict[str, Rule] = {
    "task.kind": Rule(choices=TASK_KINDS),
    "task.size": Rule(100, 100_000_000_000),
    "task.base": Rule(0.0, 1.0),
    "task.bits": Rule(2, 16),
    "task.train_size": Rule(1, 65_535),
    "task.valid_fraction": Rule(0.0, 0.5),
    "task.max_vocab": Rule(2, 65_535),
    "task.max_chars": Rule(0, 100_000_000_000),
    "task.horizon": Rule(1, 10_000),
    "task.missing": Rule(choices=MISSING_MODES),
    "task.season": Rule(0, 1_000_000),
    "model.cell": Rule(choices=CELL_KINDS),
    "model.state_size": Rule(1, 1024),
    "model.stacked_cell": Rule(choices=STACKABLE_CELLS),
    "model.embedding": Rule(0, 4096),
    "train.epochs": Rule(1, 1_000_000),
    "train.num_steps": Rule(1, 1000),
    "train.batch_size": Rule(1, 100_000),
    "train.optimizer": Rule(choices=OPTIMIZERS),
    "train.learning_rate": Rule(1e-6, 10.0),
    "train.clip_norm": Rule(0.0, 1e6),
    "train.seed": Rule(0, 2**31 - 1),
    "train.chunk": Rule(0, 10_000),
    "train.xla": Rule(choices=XLA_MODES),
    "train.eval_every": Rule(1, 1_000_000),
    "train.patience": Rule(0, 1_000_000),
    "alerts.patience": Rule(0, 1_000_000),
}


class ConfigError(ValueError):
    """A bad preset or override. `str()` is the one line a user should read."""

    def __init__(self, message: str, key: str = "", source: str = "") -> None:
        # one line, whatever a fuzzer or a typo put into a key or value
        message, key, source = _printable(message), _printable(key), _printable(source)
        self.key = key
        self.source = source
        self.reason = message
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


_short = reprlib.Repr()
_short.maxstring = _short.maxother = 40
_short.maxlist, _short.maxlevel = 6, 2


def short_repr(value: Any) -> str:
    """A value as a short repr, for messages."""
    return _short.repr(value)


def format_number(value: float) -> str:
    """A number for a message: integers exactly (never 1e+23), floats short."""
    if isinstance(value, int):
        text = str(value)
        return text if len(text) <= 30 else f"{text[:12]}... ({len(text)} digits)"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


def field_types() -> dict[str, type]:
    """Map of every settable key ("train.num_steps") to its Python type."""
    out: dict[str, type] = {}
    for section, cls in SECTIONS.items():
        hints = {f.name: f.type for f in dataclasses.fields(cls)}
        for name, hint in hints.items():
            text = hint if isinstance(hint, str) else getattr(hint, "__name__", str(hint))
            out[f"{section}.{name}"] = {"int": int, "float": float, "str": str, "bool": bool}.get(
                text, list
            )
    return out


# --- TOML writing (the subset presets use) -----------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps_toml(data: dict[str, Any]) -> str:
    top = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    blocks = ["\n".join(top)]
    for key, table in data.items():
        if isinstance(table, dict):
            lines = [f"[{key}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
