"""`rnntui generate` and `rnntui export`, and what `rnntui inspect --run` does: find the run,
check the input, call the analysis, format the result.

Every problem is a `ConfigError` (one line; the command exits 2), raised before TensorFlow is
imported where the input alone shows it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rnntui.cli.main import app, fail, safe_echo
from rnntui.cli.options import RunsDirOption, json_option, run_argument
from rnntui.config import ConfigError
from rnntui.util import exit_codes

if TYPE_CHECKING:  # `rnntui --help` loads none of these (NumPy among them: ~40 ms)
    from rnntui.analysis.export import Exported
    from rnntui.analysis.generate import Generation
    from rnntui.analysis.replica import TrainedRun

MAX_INSPECT_CHARS = 10_000


def find_run(name: str | None, runs_dir: Path | None, source: str) -> TrainedRun:
    from rnntui.analysis.replica import load_trained_run
    from rnntui.runs.folder import RunFolder

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
    from rnntui.analysis.generate import check_generative, check_options, encode_prime, sample
    from rnntui.analysis.replica import replica_of

    check_options(length, temperature)
    run = find_run(name, runs_dir, "generate")
    check_generative(run)
    if prime:  # checked before building anything
        try:
            run.codec.encode(prime)
        except ValueError as error:
            raise ConfigError(f"{error}; use characters the text had", "--prime") from None
    replica = replica_of(run)
    encode_prime(replica, prime)
    return sample(replica, prime, length, temperature, seed)


def export_from_run(name: str, path: Path, runs_dir: Path | None, force: bool = False) -> Exported:
    from rnntui.analysis.export import check_export_targets, export_run
    from rnntui.analysis.replica import check_fits

    run = find_run(name, runs_dir, "export")
    check_export_targets(run, path, force)  # before the model is built
    check_fits(run)  # the weights fit the model the config builds
    return export_run(run, path, force)


def export_losses(name: str, path: Path, runs_dir: Path | None, force: bool) -> None:
    """`rnntui export RUN FILE.csv`: every stored loss, streamed (runs/store/export.py)."""
    from rnntui.runs.folder import RunFolder
    from rnntui.runs.store.export import CSV_NOTE, export_csv_file
    from rnntui.runs.store.opening import has_metrics
    from rnntui.util.atomic_write import temp_path
    from rnntui.util.output_paths import output_file_problem

    try:
        run = RunFolder.find(name, runs_dir, "export")
        if not has_metrics(run.path):
            raise ConfigError(f"{run.name} has no steps logged yet; train it first", "export")
        if problem := output_file_problem(path, force):
            raise ConfigError(problem, "export")
        rows = export_csv_file(run.path, path)
    except ConfigError as error:
        raise fail(str(error)) from None
    except OSError as error:
        reason = (error.strerror or type(error).__name__).lower()
        if error.filename not in (str(path), str(temp_path(path))):
            raise fail(f"export: cannot read {name}'s metrics ({reason})") from None
        failed = exit_codes.TRAINING_FAILED
        raise fail(f"export: cannot write '{path}' ({reason})", failed) from None
    safe_echo(f"wrote {path} ({rows:,} rows: curve,step,loss,steps,min,max; {CSV_NOTE})")


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
    from rnntui.analysis.hidden_units import select, trace_units
    from rnntui.analysis.replica import replica_of
    from rnntui.tasks.base import Segment

    text = read_text_option(text)
    run = find_run(name, runs_dir, "--run")
    note = ""
    try:
        inputs = run.codec.encode(text)
    except ValueError as error:
        if not getattr(run.codec, "unknown", False):
            raise ConfigError(str(error), "--text") from None
        # as training does: characters the vocabulary left out are its unknown symbol
        inputs = run.codec.encode(text, unknown_ok=True)
        outside = run.codec.outside(text)
        note = f"{outside} character{'s' if outside > 1 else ''} outside the vocabulary read as "
        note += f"its unknown symbol {run.codec.symbols[-1]!r}"
    replica = replica_of(run)
    trace = trace_units(replica, [Segment(inputs, run.codec.labels(inputs))])
    try:
        units = select(trace, wanted, top)
    except ValueError as error:
        raise ConfigError(str(error), "--unit") from None
    if note:
        typer.echo(f"rnntui: note: {note}", err=True)
    if as_json:
        typer.echo(json.dumps({"run": run.name, "text": text, **trace.to_dict(units)}))
        return
    from rnntui.tasks.registry import task_class

    header = "step  input  " + "  ".join(f"{u.label:>9}" for u in units)
    steps = f"{len(trace.labels)} {task_class(run.config.task.kind).noun}"  # a series: rows
    typer.echo(f"{run.name}: hidden units over {steps} (most variable first)")
    typer.echo(header)
    for t, label in enumerate(trace.labels):
        values = "  ".join(f"{trace.values(u.state, u.unit)[t]:>+9.4f}" for u in units)
        typer.echo(f"{t:>4}  {label!r:>5}  {values}")
    typer.echo("std over the text: " + "  ".join(f"{u.label} {u.std:.3f}" for u in units))


@app.command()
def generate(
    run: Annotated[str, run_argument("A text run (its name or folder).")],
    prime: Annotated[str, typer.Option("--prime", metavar="TEXT", help="Text to start from.")] = "",
    length: Annotated[int, typer.Option("--length", metavar="N", help="Characters.")] = 300,
    temperature: Annotated[
        float, typer.Option("--temperature", metavar="T", help="0 = greedy; 1 = as learned.")
    ] = 0.8,
    seed: Annotated[
        int, typer.Option("--seed", metavar="S", min=0, help="Seed of the sampling.")
    ] = 0,
    as_json: Annotated[
        bool, json_option("One JSON object: text, prime, temperature, seed.")
    ] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Sample text from a text run's checkpoint."""
    try:
        generation = generate_from_run(run, prime, length, temperature, seed, runs_dir)
    except ConfigError as error:
        raise fail(str(error)) from None
    if as_json:
        safe_echo(json.dumps(generation.to_dict(), ensure_ascii=False))
    else:
        safe_echo(generation.prime + generation.text)


@app.command()
def export(
    run: Annotated[str, run_argument("A run (its name or folder).")],
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH",
            help="NAME.keras, a folder for a SavedModel, or NAME.csv for the run's losses.",
        ),
    ],
    runs_dir: RunsDirOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the files an export writes, if they exist.")
    ] = False,
) -> None:
    """Write a run's trained network as a Keras model (.keras) or a SavedModel folder; or, to a
    .csv file, every loss the run has stored."""
    from rnntui.analysis.export import ExportWriteError

    if path.suffix.lower() == ".csv":
        export_losses(run, path, runs_dir, force)
        return
    try:
        exported = export_from_run(run, path, runs_dir, force)
    except ConfigError as error:
        raise fail(str(error)) from None
    except ExportWriteError as error:
        raise fail(f"export: {error}", exit_codes.TRAINING_FAILED) from None
    what = "Keras model" if exported.format == "keras" else "SavedModel"
    safe_echo(f"wrote {exported.path} ({what}: {exported.inputs})")
    if exported.vocabulary is not None:
        safe_echo(f"wrote {exported.vocabulary} (the symbol of each id)")
