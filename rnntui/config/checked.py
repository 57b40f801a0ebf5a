"""Checking a config: each value against its rule, the checks that span fields, and building a
checked config from a parsed preset or from `--set key=value` overrides."""

from __future__ import annotations

import difflib
import math
import tomllib
from typing import Any

from rnntui.config.schema import (
    ALERT_URL,
    RULES,
    SECTIONS,
    Config,
    ConfigError,
    Rule,
    field_types,
    format_number,
    short_repr,
)
from rnntui.runtime.device_setting import DEVICE_HELP, DEVICE_PATTERN
from rnntui.tasks.registry import task_class


def _unknown_key(key: str, known: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=1)
    # the keys of the section named, else all of them (a section's own list stays short)
    same = [k for k in known if k.startswith(key.partition(".")[0] + ".")]
    hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(same or known)
    if len(hint) > 300:
        hint = "keys are section.name, the sections task, model, train and alerts; see a preset"
    return ConfigError(f"unknown key; {hint}", key)


def _check_value(key: str, value: Any) -> Any:
    """Coerce and check one value; raise ConfigError naming the key and what is allowed."""
    kind = field_types()[key]
    rule = RULES.get(key, Rule())
    if key == "train.device" and not (isinstance(value, str) and DEVICE_PATTERN.match(value)):
        raise ConfigError(f"{short_repr(value)} is not a device; use {DEVICE_HELP}", key)
    if key == "alerts.url" and not (isinstance(value, str) and ALERT_URL.fullmatch(value)):
        raise ConfigError(
            f"{short_repr(value)} is not a URL; use an ntfy topic like https://ntfy.sh/TOPIC, an "
            'apprise URL, or "" for none',
            key,
        )
    if key == "train.xla" and (isinstance(value, bool) or value in ("true", "false")):
        value = "on" if value in (True, "true") else "off"
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{short_repr(value)} is not true/false", key)
        return value
    if kind is int:
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole:
            raise ConfigError(
                f"{short_repr(value)} is not an integer; use {rule.describe(int)}", key
            )
        value = int(value)
    elif kind is float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ConfigError(
                f"{short_repr(value)} is not a number; use {rule.describe(float)}", key
            )
        value = float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{short_repr(value)} is not text; use {rule.describe(str)}", key)
        if rule.choices and value not in rule.choices:
            raise ConfigError(f"{short_repr(value)} is not allowed; use {rule.describe(str)}", key)
        return value
    else:
        return _check_list(key, value)
    if (rule.low is not None and value < rule.low) or (rule.high is not None and value > rule.high):
        raise ConfigError(f"{format_number(value)} is out of range; use {rule.describe(kind)}", key)
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
                f"{short_repr(value)} is not allowed; use 1 to 8 layer sizes like [4, 5]", key
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
                f"{short_repr(value)} is not allowed; use up to 8 distinct [lag, effect] pairs, "
                "lag 1..1000 and effect -1..1, like [[3, 0.5], [8, -0.25]]",
                key,
            )
        return pairs
    if key in ("task.target", "task.inputs"):
        return _check_columns(key, value)
    raise ConfigError("is not settable", key)


def _check_columns(key: str, value: Any) -> list[str]:
    """Column names: a list of strings, or one string of names split at commas ("a, b")."""
    if isinstance(value, str):
        value = [name.strip() for name in value.split(",")] if value.strip() else []
    ok = isinstance(value, list) and len(value) <= 1000
    ok = ok and all(isinstance(name, str) and name.strip() for name in value)
    if not ok or len(set(value)) != len(value):
        raise ConfigError(
            f'{short_repr(value)} is not allowed; use distinct column names like ["load", "temp"]'
            ' or "load, temp"',
            key,
        )
    return list(value)


def check_consistency(config: Config, files: bool = True) -> None:
    """Checks that span several fields (the task's own: e.g. the data must fill a batch).
    `files=False` skips a task that checks files it reads (a text): a trained run's config is
    used without its text (generate, export, listing); a resume reads the text and checks it."""
    kind = task_class(config.task.kind)
    if files or not kind.path_keys:
        kind.check_config(config)


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


def from_dict(data: Any, source: str = "", files: bool = True) -> Config:
    """Build a checked Config from a parsed TOML document; missing keys take defaults (`files`:
    see `check_consistency`)."""
    try:
        if not isinstance(data, dict):
            raise ConfigError("a preset must be a TOML table")
        config = Config()
        for key, value in data.items():
            if key in ("name", "description"):
                if not isinstance(value, str):
                    raise ConfigError(f"{short_repr(value)} is not text", key)
                setattr(config, key, value)
            elif key in SECTIONS:
                if not isinstance(value, dict):
                    raise ConfigError(f"must be a table like [{key}]", key)
                for name, item in value.items():
                    set_value(config, f"{key}.{name}", item)
            else:
                raise _unknown_key(key, ["name", "description", *SECTIONS])
        check_consistency(config, files)
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
        raise ConfigError(f"{short_repr(raw)} is far too large a number", key, "--set") from None
    return key, value


def apply_overrides(config: Config, overrides: list[str], files: bool = True) -> Config:
    config = config.copy()
    for text in overrides:
        key, value = parse_override(text)
        try:
            set_value(config, key, value)
        except ConfigError as err:
            raise ConfigError(err.reason, err.key, "--set") from None
    try:
        check_consistency(config, files)
    except ConfigError as err:
        raise ConfigError(err.reason, err.key, "--set") from None
    return config
