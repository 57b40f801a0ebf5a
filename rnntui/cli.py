"""Command line: `rnntui` opens the app; `rnntui train|presets|inspect` work headless.

This is the only module that parses argv. Commands stay thin: they load a config, call the engine
and turn failures into one line on stderr plus an exit code. Heavy imports (TensorFlow, Textual)
happen inside the commands that need them, so `rnntui --help` is instant.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from rnntui import exit_codes
from rnntui.config import Config, ConfigError, apply_overrides, describe_presets, load_preset

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


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    preset: Annotated[
        str, typer.Option("--preset", "-p", help="Preset name or path to a TOML file.")
    ] = DEFAULT_PRESET,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a setting: section.key=value (repeatable)."),
    ] = None,
) -> None:
    """Open the app (the default command)."""
    if ctx.invoked_subcommand is not None:
        return
    config = load_config(preset, overrides)
    from rnntui.tui.app import RnnTuiApp

    RnnTuiApp(config, preset_name=preset).run()


@app.command()
def train(
    preset: Annotated[str, typer.Argument(help="Preset name or path to a TOML file.")],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a setting: section.key=value (repeatable)."),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", help="Override train.epochs.", min=1)
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run summary as one JSON line, no progress.")
    ] = False,
) -> None:
    """Train a preset headless and print its result."""
    config = load_config(
        preset, [*(overrides or []), *([f"train.epochs={epochs}"] if epochs else [])]
    )
    from rnntui.cli_progress import ProgressPrinter
    from rnntui.engine.trainer import Trainer

    printer = ProgressPrinter(enabled=not as_json)
    trainer = Trainer(config, printer)
    summary = trainer.run()
    printer.close()
    if "failed" in summary:
        raise fail(f"training failed: {summary['failed']}", exit_codes.TRAINING_FAILED)
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(printer.describe_summary(summary))


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
) -> None:
    """Step an LSTM cell from a zero state and print its gates, c and h."""
    from rnntui.inspect import inspect_lstm, parse_inputs

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


def run() -> None:  # pragma: no cover - console entry for `python -m`
    app(prog_name="rnntui")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
