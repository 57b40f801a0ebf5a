"""`rnntui probe` as text: the effect of each lagged input beside the truth, and gradient reach."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rnntui.cli.main import app, fail
from rnntui.cli.options import RunsDirOption, json_option, run_argument
from rnntui.config import ConfigError

if TYPE_CHECKING:  # `rnntui --help` does not load the engine's events
    from rnntui.engine.events import ProbeResult

BAR_WIDTH = 20  # characters for the largest |value|


def signed_bar(value: float, scale: float, width: int = BAR_WIDTH) -> str:
    """`value` as a bar of '+' or '-' out of `width` characters for |value| = scale."""
    cells = round(abs(value) / scale * width) if scale > 0 else 0
    return ("+" if value >= 0 else "-") * min(cells, width)


def format_probe(result: ProbeResult, run_name: str) -> str:
    # a series measures its forecast's response, beside a linear AR (ProbeResult.reference)
    reference = result.reference or "true"
    wide = max(7, len(reference))
    lines = [
        f"{run_name}: step {result.step:,}, num_steps {result.num_steps}",
        (result.measures or "effect of X[t-lag] on P(Y_t = 1), the model's and the task's true one")
        + ":",
        f"{'lag':>5}  {'model':>7}  {reference:>{wide}}",
    ]
    scale = max([abs(e.effect) for e in result.lags] + [abs(e.true) for e in result.lags] + [0.1])
    for e in result.lags:
        bar = signed_bar(e.effect, scale)
        mark = "  <- a true lag" if e.true and not result.reference else ""
        row = f"{e.lag:>5}  {e.effect:>+7.3f}  {e.true:>+{wide}.3f}  {bar:<{BAR_WIDTH}}{mark}"
        lines.append(row.rstrip())
    if result.gradient_reach:
        lines += [
            "",
            f"gradient reach, mean |d loss_t / d x_(t-lag)|: truncated at {result.num_steps} "
            "steps, and full backpropagation",
            f"{'lag':>5}  {'truncated':>10}  {'full':>10}",
        ]
        for g in result.gradient_reach:
            lines.append(f"{g.lag:>5}  {g.truncated:>10.3g}  {g.full:>10.3g}")
    return "\n".join(lines)


def probe_json(result: ProbeResult) -> dict[str, Any]:
    """The JSON `rnntui probe --json` prints: lags (and gradient_reach) as lists of rows."""
    out: dict[str, Any] = {
        "step": result.step,
        "num_steps": result.num_steps,
        **({"reference": result.reference} if result.reference else {}),
        "lags": [
            {"lag": e.lag, "effect": round(e.effect, 6), "true": round(e.true, 6)}
            for e in result.lags
        ],
    }
    if result.gradient_reach:
        out["gradient_reach"] = [
            {"lag": g.lag, "truncated": g.truncated, "full": g.full} for g in result.gradient_reach
        ]
    return out


@app.command()
def probe(
    run_name: Annotated[str, run_argument("A run's name or folder.")],
    as_json: Annotated[
        bool, json_option('One JSON line: {"lags": [{"lag", "effect", "true"}]}.')
    ] = False,
    gradients: Annotated[
        bool,
        typer.Option(
            "--gradients", help="Add the gradient reach, truncated and with full backprop."
        ),
    ] = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Show what a run's network learned: the effect of each lagged input beside the truth."""
    from rnntui.analysis.probe import probe_run
    from rnntui.runs.folder import RunFolder
    from rnntui.tasks.lags import ProbeError

    try:
        run_folder = RunFolder.find(run_name, runs_dir)
        result = probe_run(run_folder, gradients)
    except ConfigError as error:
        raise fail(str(ConfigError(error.reason, error.key, "probe"))) from None
    except ProbeError as error:
        raise fail(f"probe: {error}") from None
    typer.echo(json.dumps(probe_json(result)) if as_json else format_probe(result, run_folder.name))
