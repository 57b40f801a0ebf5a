"""Command line: `rnntui` opens the app; `rnntui train|presets|inspect` work headless.

This is the only module that parses argv. Commands stay thin: they load a config, call the engine
and turn failures into one line on stderr plus an exit code. Heavy imports (TensorFlow, Textual)
happen inside the commands that need them, so `rnntui --help` is instant.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rnntui import exit_codes
from rnntui.config import Config, ConfigError, apply_overrides, describe_presets, load_preset
from rnntui.extras import missing_extra

if TYPE_CHECKING:
    from rnntui.engine.runs import RunFolder

DEFAULT_PRESET = "echo-raw-5"
EXIT_WAIT_S = 10.0  # longest wait, after the app closes, for its stopped run's checkpoint

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
DeviceOption = Annotated[
    str | None,
    typer.Option("--device", metavar="DEVICE", help="auto, cpu, gpu or gpu:N (sets train.device)."),
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
    attach: Annotated[
        str | None,
        typer.Option("--attach", metavar="RUN", help="Follow a run training in another process."),
    ] = None,
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
    tui = RnnTuiApp(config, preset_name=preset, runs_dir=runs_dir, attach=attach or "")
    tui.run()
    tui.wait_for_own_run(EXIT_WAIT_S)  # the note below promises a checkpoint on disk
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
    device: DeviceOption = None,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach", help="Train in the background: survives closing the terminal or SSH."
        ),
    ] = False,
    into: Annotated[str | None, typer.Option("--into", hidden=True)] = None,
    events: Annotated[bool, typer.Option("--events", hidden=True)] = False,
) -> None:
    """Train a preset headless and print its result. Ctrl+C stops with a checkpoint."""
    from rnntui.cli_progress import ProgressPrinter
    from rnntui.engine.event_pipe import EventWriter
    from rnntui.engine.runs import RunFolder, resume_command
    from rnntui.engine.signals import stop_on_signals
    from rnntui.engine.trainer import Trainer, check_fits_in_memory

    extra = [f"train.epochs={epochs}"] if epochs else []
    extra += [f"train.device={device}"] if device else []
    try:
        if into:  # the app's (or --detach's) child: the folder and its config are made
            run = RunFolder(Path(into))
            config = run.load_config()
        elif resume:
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
    check_device(config)
    if run is None:
        run = RunFolder.create(config, runs_dir)
    if detach:
        again = ["--resume", str(run.path)] if resume else ["--into", str(run.path)]
        start_in_background(run, [*again, *(["--tensorboard"] if tensorboard else [])], runs_dir)
        return

    printer = EventWriter(sys.stdout) if events else ProgressPrinter(enabled=not as_json)
    trainer = Trainer(config, printer, run=run, resume=bool(resume), tensorboard=tensorboard)
    with stop_on_signals(trainer.stop, trainer.pause, trainer.resume):
        summary = trainer.run()
    printer.close()
    if events:  # the app reads the events; the exit code says the rest
        code = exit_codes.TRAINING_FAILED if "failed" in summary else exit_codes.OK
        raise typer.Exit(exit_codes.INTERRUPTED if summary.get("stopped") else code)
    if "failed" in summary:
        raise fail(f"training failed: {summary['failed']}", exit_codes.TRAINING_FAILED)
    safe_echo(json.dumps(summary) if as_json else printer.describe_summary(summary))
    if summary.get("stopped"):
        safe_echo(
            f"stopped with a checkpoint; continue with: {resume_command(run.name, runs_dir)}",
            err=True,
        )
        raise typer.Exit(exit_codes.INTERRUPTED)


def check_device(config: Config) -> None:
    """A `train.device` this machine lacks is bad input (exit 2), found before any folder is
    made. Asking TensorFlow costs its import, so "auto" and "cpu", which always work, skip it."""
    if config.train.device in ("auto", "cpu"):
        return
    from rnntui.devices import DeviceError, choose_gpus
    from rnntui.tf_runtime import import_tf

    try:
        choose_gpus(config.train.device, import_tf().config.list_physical_devices("GPU"))
    except DeviceError as error:
        raise fail(str(error)) from None


def start_in_background(run: RunFolder, args: list[str], runs_dir: Path | None) -> None:
    """`train --detach`: start the run in its own session and say how to follow it."""
    from rnntui.engine.child import spawn_trainer
    from rnntui.engine.runs import LOG_FILE

    try:
        process = spawn_trainer(args, run.path, events=False)
    except OSError as error:
        raise fail(f"cannot start a background run: {error.strerror or error}") from None
    where = f" --runs-dir {shlex.quote(str(runs_dir))}" if runs_dir else ""
    safe_echo(
        f"training {run.name} in the background (pid {process.pid}); "
        f"its output goes to {run.path / LOG_FILE}\n"
        f"  watch it:  rnntui --attach {shlex.quote(run.name)}{where}\n"
        f"  list runs: rnntui runs{where}\n"
        f"  stop it:   kill {process.pid}   (it checkpoints; resume with "
        f"rnntui train --resume {shlex.quote(run.name)}{where})"
    )


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
        live = f"● {row.live_state} (pid {row.live_pid})  " if row.live_pid else ""
        typer.echo(
            f"{row.name:<{width}}  {row.preset:<{preset_width}}  {row.date}  {steps}  "
            f"{live}{row.final}"
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
) -> None:
    """Step an LSTM cell from a zero state and print its gates, c and h."""
    from rnntui.lstm_inspect import inspect_lstm, parse_inputs, stacked_lstm_demo

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


# --- sweeps (kept together at the end of the module) ----------------------------------------------

from rnntui.cli_sweep import SweepCommand  # noqa: E402 - light: no TensorFlow, no Ray

SweepsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir", metavar="DIR", help="Where sweep folders go (default: your user data folder)."
    ),
]


@app.command(cls=SweepCommand)
def sweep(
    preset: Annotated[
        str, typer.Argument(metavar="PRESET", help="Preset name or path to a TOML file.")
    ],
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid", metavar="KEY=V1,V2,...", help="Values to sweep, read as TOML (repeatable)."
        ),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", metavar="N", help="Seeds 0..N-1 each.")] = 1,
    workers: Annotated[
        int | None,
        typer.Option("--workers", metavar="N", help="Runs at a time (default: one per core/GPU)."),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            help="Run on Ray: a cluster's HOST:PORT, auto, or none for a local Ray.",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="The sweep folder's name.")
    ] = None,
    runs_dir: SweepsDirOption = None,
    overrides: OverridesOption = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Stop clearly worse configurations at epoch ends.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the table as one JSON line, no progress.")
    ] = False,
) -> None:
    """Train every --grid combination x seed and print one table. Ctrl+C stops with checkpoints."""
    from rnntui.cli_sweep import SweepRequest, run_sweep
    from rnntui.sweep.pool import SweepError

    request = SweepRequest(
        preset, grid or [], seeds, workers, ray, name, runs_dir, overrides, prune, as_json
    )
    try:
        code = run_sweep(request)
    except ConfigError as error:
        raise fail(str(error)) from None
    except SweepError as error:
        raise fail(str(error), exit_codes.TRAINING_FAILED) from None
    except KeyboardInterrupt:  # before any run started (e.g. while Ray starts): nothing to save
        raise fail("interrupted before any run started", exit_codes.INTERRUPTED) from None
    if code:
        raise typer.Exit(code)


@app.command()
def sweeps(
    runs_dir: SweepsDirOption = None,
    open_sweep: Annotated[
        str | None,
        typer.Option(
            "--open", metavar="NAME|PATH", help="Show a sweep's table and curves (live if running)."
        ),
    ] = None,
) -> None:
    """List sweeps: name, date, state, runs done, preset and grid; or --open one."""
    from rnntui.cli_sweep import list_sweeps_text

    if open_sweep is None:
        typer.echo(list_sweeps_text(runs_dir))
        return
    from rnntui.sweep.folder import SweepFolder
    from rnntui.tui.sweep_app import SweepApp

    try:
        folder = SweepFolder.find(open_sweep, runs_dir)
    except ConfigError as error:
        raise fail(str(error)) from None
    SweepApp(folder.path).run()


def run() -> None:  # pragma: no cover - console entry for `python -m`
    app(prog_name="rnntui")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
