"""`rnntui forecast RUN`: a series run's forecasts as CSV (the logic: analysis/forecast.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnntui.cli.main import app, fail, safe_echo
from rnntui.cli.options import RunsDirOption, run_argument
from rnntui.config import ConfigError


@app.command()
def forecast(
    run_name: Annotated[str, run_argument("A series run (its name or folder).")],
    csv_out: Annotated[
        Path | None,
        typer.Option("--csv", metavar="OUT", help="Write the CSV to OUT (default: print it)."),
    ] = None,
    input_file: Annotated[
        str | None,
        typer.Option(
            "--input", metavar="FILE", help="Forecast every window of FILE (the same columns)."
        ),
    ] = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Write a series run's forecasts: time, truth and forecast of each validation window."""
    from rnntui.analysis.forecast import forecast_run, write_forecasts

    try:
        forecasts = forecast_run(run_name, runs_dir, input_file)
        if csv_out is not None:
            write_forecasts(forecasts, csv_out)
    except ConfigError as error:
        raise fail(str(error)) from None
    if csv_out is None:
        safe_echo(forecasts.to_csv().rstrip("\n"))
        return
    mse, mae, known = forecasts.errors
    scored = f"; MSE {mse:.5g}, MAE {mae:.5g} over the {known:,} with a truth" if known else ""
    safe_echo(f"wrote {csv_out} ({len(forecasts.rows):,} forecasts{scored})")
