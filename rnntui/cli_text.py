"""What `rnntui generate`, `rnntui export` and `rnntui inspect --run` do, behind their thin
commands in `cli.py`: find the run, check the input, call the engine, format the result.

Every problem is a `ConfigError` (one line; the command exits 2), raised before TensorFlow is
imported where the input alone shows it.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rnntui.config import ConfigError
from rnntui.engine.runs import RunFolder
from rnntui.export import Exported
from rnntui.generate import Generation
from rnntui.replica import TrainedRun

MAX_INSPECT_CHARS = 10_000


def find_run(name: str | None, runs_dir: Path | None, source: str) -> TrainedRun:
    from rnntui.replica import load_trained_run

    if not name:
        raise ConfigError("name a run (see `rnntui runs`)", source=source)
    try:
        folder = RunFolder.find(name, runs_dir)
        return load_trained_run(folder)
    except ConfigError as error:
        raise ConfigError(error.reason, error.key, source) from None


def generate_from_run(
    name: str, prime: str, length: int, temperature: float, seed: int, runs_dir: Path | None
) -> Generation:
    from rnntui.generate import check_generative, check_options, encode_prime, sample
    from rnntui.replica import Replica

    check_options(length, temperature)
    run = find_run(name, runs_dir, "generate")
    check_generative(run)
    if prime:  # checked before building anything
        try:
            run.codec.encode(prime)
        except ValueError as error:
            raise ConfigError(f"{error}; use characters the text had", "--prime") from None
    replica = Replica(run.config, run.codec, run.weights)
    encode_prime(replica, prime)
    return sample(replica, prime, length, temperature, seed)


def export_from_run(name: str, path: Path, runs_dir: Path | None) -> Exported:
    from rnntui.export import export_run

    return export_run(find_run(name, runs_dir, "export"), path)


def read_text_option(text: str | None) -> str:
    """--text: the text itself, or the path of a file holding it (UTF-8)."""
    if text is None or text == "":
        raise ConfigError("give the input with --text TEXT (or a path to a text file)", "--text")
    candidate = Path(text).expanduser()
    if len(text) < 4096 and "\n" not in text and candidate.is_file():
        try:
            text = candidate.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise ConfigError(
                f"'{candidate}' is not UTF-8 text (byte offset {error.start})", "--text"
            ) from None
        except OSError as error:
            raise ConfigError(f"cannot read '{candidate}' ({error.strerror})", "--text") from None
    if len(text) > MAX_INSPECT_CHARS:
        raise ConfigError(
            f"{len(text):,} characters is too long; give at most {MAX_INSPECT_CHARS:,}", "--text"
        )
    return text


def inspect_run(
    name: str | None,
    text: str | None,
    wanted: list[str],
    top: int,
    as_json: bool,
    runs_dir: Path | None,
) -> None:
    """Print a run's hidden units at every step of `text`."""
    from rnntui.hidden_units import select, trace_units
    from rnntui.replica import Replica
    from rnntui.tasks.base import Segment

    text = read_text_option(text)
    run = find_run(name, runs_dir, "--run")
    try:
        inputs = run.codec.encode(text)
    except ValueError as error:
        raise ConfigError(str(error), "--text") from None
    replica = Replica(run.config, run.codec, run.weights)
    trace = trace_units(replica, [Segment(inputs, run.codec.labels(inputs))])
    try:
        units = select(trace, wanted, top)
    except ValueError as error:
        raise ConfigError(str(error), "--unit") from None
    if as_json:
        typer.echo(json.dumps({"run": run.name, "text": text, **trace.to_dict(units)}))
        return
    header = "step  input  " + "  ".join(f"{u.label:>9}" for u in units)
    typer.echo(f"{run.name}: hidden units over {len(text)} characters (most variable first)")
    typer.echo(header)
    for t, label in enumerate(trace.labels):
        values = "  ".join(f"{trace.values(u.state, u.unit)[t]:>+9.4f}" for u in units)
        typer.echo(f"{t:>4}  {label!r:>5}  {values}")
    typer.echo("std over the text: " + "  ".join(f"{u.label} {u.std:.3f}" for u in units))
