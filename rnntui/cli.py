"""Command line: `rnntui` opens the app; `rnntui train|presets|inspect|generate|export` work
headless.

This is the only module that parses argv. Commands stay thin: they load a config, call the engine
and turn failures into one line on stderr plus an exit code. Heavy imports (TensorFlow, Textual)
happen inside the commands that need them, so `rnntui --help` is instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from rnntui import exit_codes
from rnntui.config import Config, ConfigError, apply_overrides, describe_presets, load_preset
from rnntui.extras import missing_extra

DEFAULT_PRESET = "echo-raw-5"

app = typer.Typer(
    help="Train, watch and inspect small recurrent networks in your terminal.",
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = exit_codes.BAD_INPUT) -> typer.Exit:
    """Print one line on stderr and return the Exit to raise."""
    typer.echo(f"rnntui: {message}", err=True)
    return typer.Exit(code)


def load_config(preset: str, overrides: list[str] | None = None) -> Config:
    try:
        return apply_overrides(load_preset(preset), overrides or [])
    except ConfigError as error:
        raise fail(str(error)) from None


OverridesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", metavar="KEY=VALUE", help="Override a setting: section.key=value (repeatable)."
    ),
]
RunsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir", metavar="DIR", help="Where run folders go (default: your user data folder)."
    ),
]


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    preset: Annotated[
        str,
        typer.Option(
            "--preset", "-p", metavar="NAME|PATH", help="Preset name or path to a TOML file."
        ),
    ] = DEFAULT_PRESET,
    overrides: OverridesOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Open the app (the default command)."""
    if ctx.invoked_subcommand is not None:
        return
    config = load_config(preset, overrides)
    from platformdirs import user_log_dir

    from rnntui.tf_runtime import detach_native_stderr
    from rnntui.tui.app import RnnTuiApp

    log_dir = Path(user_log_dir("rnntui"))
    log_dir.mkdir(parents=True, exist_ok=True)
    detach_native_stderr(log_dir / "native-stderr.log")  # TF's C++ logs must not hit the screen
    tui = RnnTuiApp(config, preset_name=preset, runs_dir=runs_dir)
    tui.run()
    if tui.exit_note:  # a run stopped on the way out: how to continue it
        safe_echo(tui.exit_note, err=True)
    if tui.return_code:
        raise typer.Exit(tui.return_code)


@app.command()
def train(
    preset: Annotated[
        str | None, typer.Argument(metavar="PRESET", help="Preset name or path to a TOML file.")
    ] = None,
    overrides: OverridesOption = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", metavar="N", help="Override train.epochs.", min=1)
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run summary as one JSON line, no progress.")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option("--resume", metavar="RUN", help="Continue a run (its name or folder)."),
    ] = None,
    runs_dir: RunsDirOption = None,
    tensorboard: Annotated[
        bool, typer.Option("--tensorboard", help="Also write TensorBoard scalars to the run.")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only validate: print the resolved config and exit.")
    ] = False,
) -> None:
    """Train a preset headless and print its result. Ctrl+C stops with a checkpoint."""
    from rnntui.cli_progress import ProgressPrinter
    from rnntui.engine.runs import RunFolder, resume_command
    from rnntui.engine.signals import stop_on_signals
    from rnntui.engine.trainer import Trainer, check_fits_in_memory

    extra = [f"train.epochs={epochs}"] if epochs else []
    try:
        if resume:
            if preset:
                raise ConfigError("give a preset or --resume RUN, not both", source="train")
            run = RunFolder.find(resume, runs_dir)
            config = apply_overrides(run.load_config(), [*(overrides or []), *extra])
            run.save_config(config)  # e.g. more epochs: the folder describes the run it holds
        else:
            if not preset:
                raise ConfigError("name a preset (see `rnntui presets`) or --resume RUN")
            config = load_config(preset, [*(overrides or []), *extra])
            run = None
        check_fits_in_memory(config)
        if tensorboard and missing_extra("tensorboard"):
            raise ConfigError(missing_extra("tensorboard"), source="--tensorboard")
    except ConfigError as error:
        raise fail(str(error)) from None
    if check:
        typer.echo(config.to_toml(), nl=False)
        return
    if run is None:
        run = RunFolder.create(config, runs_dir)

    printer = ProgressPrinter(enabled=not as_json)
    trainer = Trainer(config, printer, run=run, resume=bool(resume), tensorboard=tensorboard)
    with stop_on_signals(trainer.stop):
        summary = trainer.run()
    printer.close()
    if "failed" in summary:
        raise fail(f"training failed: {summary['failed']}", exit_codes.TRAINING_FAILED)
    safe_echo(json.dumps(summary) if as_json else printer.describe_summary(summary))
    if summary.get("stopped"):
        safe_echo(
            f"stopped with a checkpoint; continue with: {resume_command(run.name, runs_dir)}",
            err=True,
        )
        raise typer.Exit(exit_codes.INTERRUPTED)


def safe_echo(text: str, err: bool = False) -> None:
    """Print, unless the terminal is gone (an SSH drop): the run folder has everything anyway."""
    try:
        typer.echo(text, err=err)
    except OSError:
        pass


@app.command()
def runs(runs_dir: RunsDirOption = None) -> None:
    """List training runs: name, preset, date, steps and the final metric."""
    from rnntui.engine.runs import list_runs

    rows = list_runs(runs_dir)
    if not rows:
        typer.echo("no runs yet; start one with `rnntui train PRESET`")
        return
    width = max(len(row.name) for row in rows)
    preset_width = max(len(row.preset) for row in rows)
    for row in rows:
        steps = f"{row.steps:>9,}" if row.steps is not None else f"{'-':>9}"
        typer.echo(
            f"{row.name:<{width}}  {row.preset:<{preset_width}}  {row.date}  {steps}  {row.final}"
        )


@app.command()
def presets() -> None:
    """List the bundled and your own presets with their descriptions."""
    rows = describe_presets()
    width = max((len(name) for name, _, _ in rows), default=0)
    for name, description, _ in rows:
        typer.echo(f"{name:<{width}}  {description}")


@app.command()
def inspect(
    inputs: Annotated[
        str,
        typer.Option("--input", help="One timestep '3,2,2,3,2,2' or several '1,0;0,1;1,1'."),
    ] = "3,2,2,3,2,2",
    units: Annotated[int, typer.Option("--units", min=1, max=256, help="LSTM units.")] = 4,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the cell's weights.")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON with gates, c, h and the cell's weights.")
    ] = False,
    stacked: Annotated[
        bool,
        typer.Option(
            "--stacked", help="Run the tutorial's stacked LSTM (4, 5) on its (2, 3, 6) batch."
        ),
    ] = False,
    run: Annotated[
        str | None,
        typer.Option("--run", metavar="RUN", help="A trained run: its hidden units over --text."),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option(
            "--text", metavar="TEXT|PATH", help="With --run: the input (or a file holding it)."
        ),
    ] = None,
    chosen: Annotated[
        list[str] | None,
        typer.Option(
            "--unit", metavar="STATE:N", help="With --run: a unit like h:12 or c:3 (repeatable)."
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, help="With --run: the N most variable units.")
    ] = 4,
    runs_dir: RunsDirOption = None,
) -> None:
    """Step an LSTM cell from a zero state and print its gates, c and h.

    With --run RUN --text TEXT: a trained run's hidden units (h, and c for LSTMs) at every
    character of TEXT, the most variable units first.
    """
    from rnntui.inspect import inspect_lstm, parse_inputs, stacked_lstm_demo

    if run is not None or text is not None:
        from rnntui.cli_text import inspect_run

        try:
            inspect_run(run, text, chosen or [], top, as_json, runs_dir)
        except ConfigError as error:
            raise fail(str(error)) from None
        return
    if stacked:
        output = stacked_lstm_demo(seed)
        if as_json:
            typer.echo(json.dumps({"shape": list(output.shape), "output": output.tolist()}))
        else:
            typer.echo(f"stacked LSTM (4 then 5 units) output, shape {tuple(output.shape)}:")
            typer.echo(str(output.round(6)))
        return

    try:
        sequence = parse_inputs(inputs)
    except ValueError as error:
        raise fail(f"--input: {error}") from None
    result = inspect_lstm(sequence, units=units, seed=seed)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    for t, step in enumerate(result.steps):
        typer.echo(f"step {t}  x = {list(step.x)}")
        for name in ("i", "f", "g", "o", "c", "h"):
            values = "  ".join(f"{v:+.6f}" for v in getattr(step, name))
            typer.echo(f"  {name}  {values}")
    typer.echo(f"NumPy recomputation agrees: max |difference| = {result.max_abs_diff:.2e}")


@app.command()
def generate(
    run: Annotated[str, typer.Argument(metavar="RUN", help="A text run (its name or folder).")],
    prime: Annotated[str, typer.Option("--prime", metavar="TEXT", help="Text to start from.")] = "",
    length: Annotated[int, typer.Option("--length", metavar="N", help="Characters.")] = 300,
    temperature: Annotated[
        float, typer.Option("--temperature", metavar="T", help="0 = greedy; 1 = as learned.")
    ] = 0.8,
    seed: Annotated[
        int, typer.Option("--seed", metavar="S", min=0, help="Seed of the sampling.")
    ] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: text, prime, temperature, seed.")
    ] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Sample text from a text run's checkpoint."""
    from rnntui.cli_text import generate_from_run

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
    run: Annotated[str, typer.Argument(metavar="RUN", help="A run (its name or folder).")],
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="NAME.keras, or a folder for a SavedModel.")
    ],
    runs_dir: RunsDirOption = None,
) -> None:
    """Write a run's trained network as a Keras model (.keras) or a SavedModel folder."""
    from rnntui.cli_text import export_from_run

    try:
        exported = export_from_run(run, path, runs_dir)
    except ConfigError as error:
        raise fail(str(error)) from None
    what = "Keras model" if exported.format == "keras" else "SavedModel"
    safe_echo(f"wrote {exported.path} ({what}: {exported.inputs})")
    if exported.vocabulary is not None:
        safe_echo(f"wrote {exported.vocabulary} (the symbol of each id)")


def run() -> None:  # pragma: no cover - console entry for `python -m`
    app(prog_name="rnntui")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
