"""Presets: the bundled ones, the user's own, and a TOML path; found, loaded and saved."""

from __future__ import annotations

import difflib
import errno
import os
import stat
import tomllib
from pathlib import Path

from rnntui.config.checked import from_dict
from rnntui.config.schema import Config, ConfigError
from rnntui.util.atomic_write import atomic_write_text
from rnntui.util.safe_read import describe_mode, read_text

MAX_PRESET_BYTES = 1 << 20  # presets and run configs are well under a kilobyte
BUNDLED_DIR = Path(__file__).parent.parent / "presets"


def user_presets_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("rnntui")) / "presets"


def load_file(path: Path, files: bool = True) -> Config:
    """A preset or run config from a TOML file; `files=False` leaves the files it names
    (a text) unread, see `check_consistency`."""
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
    config = from_dict(data, source, files)
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
