"""Experiment configuration: a typed, printable, savable description of one run.

A preset is a TOML file with three sections (`task`, `model`, `train`) plus a name and a one-line
description. Every value is checked against `RULES`; a problem is reported as a `ConfigError` that
names the file, the key and what is allowed, so callers can print one line instead of a traceback.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import errno
import math
import os
import reprlib
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnntui.atomic_write import atomic_write_text
from rnntui.devices import DEVICE_HELP, DEVICE_PATTERN
from rnntui.safe_read import describe_mode, read_text
from rnntui.tasks import TASK_KINDS, task_class

MAX_PRESET_BYTES = 1 << 20  # presets and run configs are well under a kilobyte

CELL_KINDS = ("raw_rnn", "rnn", "gru", "lstm", "stacked")
STACKABLE_CELLS = ("rnn", "gru", "lstm")
OPTIMIZERS = ("adagrad", "adam", "sgd", "rmsprop")
XLA_MODES = ("auto", "on", "off")  # auto: XLA for runs long enough to repay its compile


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
    device: str = "auto"  # auto, cpu, gpu or gpu:N (see rnntui.devices)
    gpu_memory_growth: bool = True  # take GPU memory as needed, so runs can share a GPU


@dataclass
class Config:
    name: str = "custom"
    description: str = ""
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    def copy(self) -> Config:
        """A deep copy; never validates (a config being edited may be inconsistent)."""
        return copy.deepcopy(self)


SECTIONS = {"task": TaskConfig, "model": ModelConfig, "train": TrainConfig}


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
            return f"{noun} from {_fmt(self.low)} to {_fmt(self.high)}"
        if self.low is not None:
            return f"{noun} >= {_fmt(self.low)}"
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


def _show(value: Any) -> str:
    """A value as a short repr, for messages."""
    return _short.repr(value)


def _fmt(value: float) -> str:
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


def _unknown_key(key: str, known: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(known)
    return ConfigError(f"unknown key; {hint}", key)


def _check_value(key: str, value: Any) -> Any:
    """Coerce and check one value; raise ConfigError naming the key and what is allowed."""
    kind = field_types()[key]
    rule = RULES.get(key, Rule())
    if key == "train.device" and not (isinstance(value, str) and DEVICE_PATTERN.match(value)):
        raise ConfigError(f"{_show(value)} is not a device; use {DEVICE_HELP}", key)
    if key == "train.xla" and (isinstance(value, bool) or value in ("true", "false")):
        value = "on" if value in (True, "true") else "off"
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{_show(value)} is not true/false", key)
        return value
    if kind is int:
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole:
            raise ConfigError(f"{_show(value)} is not an integer; use {rule.describe(int)}", key)
        value = int(value)
    elif kind is float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ConfigError(f"{_show(value)} is not a number; use {rule.describe(float)}", key)
        value = float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{_show(value)} is not text; use {rule.describe(str)}", key)
        if rule.choices and value not in rule.choices:
            raise ConfigError(f"{_show(value)} is not allowed; use {rule.describe(str)}", key)
        return value
    else:
        return _check_list(key, value)
    if (rule.low is not None and value < rule.low) or (rule.high is not None and value > rule.high):
        raise ConfigError(f"{_fmt(value)} is out of range; use {rule.describe(kind)}", key)
    return value


def _check_list(key: str, value: Any) -> list:
    if key == "model.layers":
        ok = (
            isinstance(value, list)
            and 1 <= len(value) <= 8
            and all(
                isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1024 for v in value
            )
        )
        if not ok:
            raise ConfigError(
                f"{_show(value)} is not allowed; use 1 to 8 layer sizes like [4, 5]", key
            )
        return list(value)
    if key == "task.lags":
        ok = isinstance(value, list) and len(value) <= 8
        pairs = []
        for pair in value if ok else []:
            if not (
                isinstance(pair, list)
                and len(pair) == 2
                and isinstance(pair[0], int | float)
                and not isinstance(pair[0], bool)
                and float(pair[0]).is_integer()
                and 1 <= pair[0] <= 1000
                and isinstance(pair[1], int | float)
                and not isinstance(pair[1], bool)
                and -1 <= pair[1] <= 1
            ):
                ok = False
                break
            pairs.append([int(pair[0]), float(pair[1])])
        if not ok or len({p[0] for p in pairs}) != len(pairs):
            raise ConfigError(
                f"{_show(value)} is not allowed; use up to 8 distinct [lag, effect] pairs, "
                "lag 1..1000 and effect -1..1, like [[3, 0.5], [8, -0.25]]",
                key,
            )
        return pairs
    raise ConfigError("is not settable", key)


def check_consistency(config: Config) -> None:
    """Checks that span several fields (the task's own: e.g. the data must fill a batch)."""
    task_class(config.task.kind).check_config(config)


def validate(config: Config) -> list[ConfigError]:
    """Every problem in a config (for inline display); empty when it can run."""
    problems: list[ConfigError] = []
    data = config.to_dict()
    for key in field_types():
        section, name = key.split(".")
        try:
            _check_value(key, data[section][name])
        except ConfigError as err:
            problems.append(err)
    if not problems:
        try:
            check_consistency(config)
        except ConfigError as err:
            problems.append(err)
    return problems


def from_dict(data: Any, source: str = "") -> Config:
    """Build a checked Config from a parsed TOML document; missing keys take defaults."""
    try:
        if not isinstance(data, dict):
            raise ConfigError("a preset must be a TOML table")
        config = Config()
        for key, value in data.items():
            if key in ("name", "description"):
                if not isinstance(value, str):
                    raise ConfigError(f"{_show(value)} is not text", key)
                setattr(config, key, value)
            elif key in SECTIONS:
                if not isinstance(value, dict):
                    raise ConfigError(f"must be a table like [{key}]", key)
                for name, item in value.items():
                    set_value(config, f"{key}.{name}", item)
            else:
                raise _unknown_key(key, ["name", "description", *SECTIONS])
        check_consistency(config)
        return config
    except ConfigError as err:
        raise ConfigError(err.reason, err.key, source) from None


def set_value(config: Config, key: str, value: Any) -> None:
    """Set one dotted key ("train.num_steps") after checking it."""
    types = field_types()
    if key not in types:
        raise _unknown_key(key, list(types))
    section, name = key.split(".")
    setattr(getattr(config, section), name, _check_value(key, value))


def parse_override(text: str) -> tuple[str, Any]:
    """`a.b=value` -> (key, value). The value is read as TOML, else taken as a bare string."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise ConfigError(f"'{text}' is not of the form section.key=value", "--set")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    except ValueError:  # an integer of thousands of digits: Python refuses to convert it
        raise ConfigError(f"{_show(raw)} is far too large a number", key, "--set") from None
    return key, value


def apply_overrides(config: Config, overrides: list[str]) -> Config:
    config = config.copy()
    for text in overrides:
        key, value = parse_override(text)
        try:
            set_value(config, key, value)
        except ConfigError as err:
            raise ConfigError(err.reason, err.key, "--set") from None
    try:
        check_consistency(config)
    except ConfigError as err:
        raise ConfigError(err.reason, err.key, "--set") from None
    return config


# --- presets -------------------------------------------------------------------------------------

BUNDLED_DIR = Path(__file__).parent / "presets"


def user_presets_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("rnntui")) / "presets"


def load_file(path: Path) -> Config:
    source = str(path)
    try:
        text = read_text(path, MAX_PRESET_BYTES)  # a FIFO or device is refused, never read
    except OSError as err:
        raise ConfigError(f"cannot read ({err.strerror}); check the path", source=source) from None
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text; save it as UTF-8", source=source) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"malformed TOML ({err}); fix the syntax", source=source) from None
    config = from_dict(data, source)
    if "name" not in data:
        config.name = path.stem
    return config


def preset_paths() -> dict[str, Path]:
    """Every preset by name: the bundled ones, then the user's (a user preset wins)."""
    found: dict[str, Path] = {}
    for folder in (BUNDLED_DIR, user_presets_dir()):
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found[path.stem] = path
    return found


def check_preset_file(path: Path) -> None:
    """Raise ConfigError (one line) unless `path` is an existing regular file.

    Only stats the path: a FIFO is named as such, never opened.
    """
    source = str(path)
    try:
        info = os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise ConfigError("is a symbolic link loop; check the path", source=source) from None
        if err.errno == errno.ENOENT and os.path.islink(path):
            target = os.readlink(path)
            raise ConfigError(
                f"is a broken symbolic link (to {target}); check the path", source=source
            ) from None
        if err.errno == errno.ENOENT:
            raise ConfigError("no such preset file; check the path", source=source) from None
        raise ConfigError(f"cannot read ({err.strerror}); check the path", source=source) from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            f"is {describe_mode(info.st_mode)}, not a preset file; give a .toml file",
            source=source,
        )


def resolve_preset(name_or_path: str) -> Path:
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or os.path.lexists(path):  # lexists: a link loop is a path too
        check_preset_file(path)
        return path
    presets = preset_paths()
    if name_or_path in presets:
        return presets[name_or_path]
    close = difflib.get_close_matches(name_or_path, list(presets), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "see `rnntui presets`"
    raise ConfigError(f"no preset named '{name_or_path}'; {hint}", source="preset")


def load_preset(name_or_path: str) -> Config:
    return load_file(resolve_preset(name_or_path))


def save_preset(config: Config, path: Path | None = None) -> Path:
    """Write a preset (atomically), by default into the user's preset folder under its name."""
    if path is None:
        path = user_presets_dir() / f"{config.name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, config.to_toml())
    return path


def describe_presets() -> list[tuple[str, str, Path]]:
    """(name, description, path) of every preset; a broken one says so instead of failing."""
    rows = []
    for name, path in preset_paths().items():
        try:
            rows.append((name, load_file(path).description, path))
        except ConfigError as err:
            rows.append((name, f"(broken: {err.reason})", path))
    return rows


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
