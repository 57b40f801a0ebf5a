"""`rnntui inspect`: step an LSTM cell and show its gates, c and h; or a trained run's hidden
units over a text (`--run RUN --text TEXT`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from rnntui.cli.main import app, fail
from rnntui.cli.options import RunsDirOption, json_option
from rnntui.config import ConfigError


@app.command()
def inspect(
    inputs: Annotated[
        str | None,
        typer.Option(
            "--input",
            help="One timestep '3,2,2,3,2,2' (the default) or several '1,0;0,1;1,1'.",
            show_default=False,
        ),
    ] = None,
    units: Annotated[
        int | None, typer.Option("--units", min=1, max=256, help="LSTM units [default: 4].")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the cell's weights.")] = 0,
    as_json: Annotated[bool, json_option("JSON with gates, c, h and the cell's weights.")] = False,
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
    from rnntui.analysis.lstm_gates import parse_inputs
    from rnntui.analysis.lstm_step import inspect_lstm, stacked_lstm_demo

    if run is not None or text is not None:
        from rnntui.cli.text import inspect_run

        try:
            inspect_run(run, text, chosen or [], top, as_json, runs_dir)
        except ConfigError as error:
            raise fail(str(error)) from None
        return
    if stacked:
        # The stacked demo has its own fixed batch and sizes: an --input would be ignored.
        for given, option in ((inputs, "--input"), (units, "--units")):
            if given is not None:
                raise fail(
                    f"{option}: --stacked runs the tutorial's fixed (2, 3, 6) batch through "
                    f"LSTMs of 4 and 5 units; leave out {option}"
                )
        output = stacked_lstm_demo(seed)
        if as_json:
            typer.echo(json.dumps({"shape": list(output.shape), "output": output.tolist()}))
        else:
            typer.echo(f"stacked LSTM (4 then 5 units) output, shape {tuple(output.shape)}:")
            typer.echo(str(output.round(6)))
        return

    try:
        sequence = parse_inputs("3,2,2,3,2,2" if inputs is None else inputs)
        result = inspect_lstm(sequence, units=4 if units is None else units, seed=seed)
    except ValueError as error:
        raise fail(f"--input: {error}") from None
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    for t, step in enumerate(result.steps):
        typer.echo(f"step {t}  x = {list(step.x)}")
        for name in ("i", "f", "g", "o", "c", "h"):
            values = "  ".join(f"{v:+.6f}" for v in getattr(step, name))
            typer.echo(f"  {name}  {values}")
    typer.echo(f"NumPy recomputation agrees: max |difference| = {result.max_abs_diff:.2e}")
