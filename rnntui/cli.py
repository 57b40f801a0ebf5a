"""Command line: `rnntui` opens the app; `rnntui train|presets|inspect|generate|export` work
headless.

This is the only module that parses argv. Commands stay thin: they load a config, call the engine
and turn failures into one line on stderr plus an exit code. Heavy imports (TensorFlow, Textual)
happen inside the commands that need them, so `rnntui --help` is instant.
"""

from __future__ import annotations

import errno
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rnntui import exit_codes
from rnntui.config import (
    Config,
    ConfigError,
    apply_overrides,
    describe_presets,
    load_preset,
    set_value,
)
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
        "--runs-dir",
        metavar="DIR",
        help="Where run folders go (default: your user data folder).",
        readable=False,  # checked by the commands, which say what is wrong in one line
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
    held: list[RunFolder] = []  # a resume locks its folder before checking anything
    try:
        _train(
            held, preset, overrides, epochs, as_json, resume, runs_dir, tensorboard, check,
            device, detach, into, events,
        )  # fmt: skip
    finally:
        for run in held:
            run.release()


def _train(
    held: list[RunFolder],
    preset: str | None,
    overrides: list[str] | None,
    epochs: int | None,
    as_json: bool,
    resume: str | None,
    runs_dir: Path | None,
    tensorboard: bool,
    check: bool,
    device: str | None,
    detach: bool,
    into: str | None,
    events: bool,
) -> None:
    from rnntui.cli_progress import ProgressPrinter
    from rnntui.engine.event_pipe import EventWriter
    from rnntui.engine.run_lock import RunLockedError
    from rnntui.engine.runs import (
        RunFolder,
        RunFolderError,
        check_resume_changes,
        check_resume_position,
        default_runs_dir,
        resume_command,
    )
    from rnntui.engine.signals import stop_on_signals
    from rnntui.engine.trainer import RunWriteError, Trainer, check_fits_in_memory
    from rnntui.safe_read import NotRegularFileError

    run: RunFolder | None = None
    try:
        if into:  # the app's (or --detach's) child: the folder and its config are made
            run = RunFolder(Path(into))
            config = run.load_config()
        elif resume:
            if preset:
                raise ConfigError("give a preset or --resume RUN, not both", source="train")
            run = RunFolder.find(resume, runs_dir)
            # Own the folder before reading it: a second process stops here, naming the first.
            run.acquire()
            held.append(run)
            previous = run.load_config()
            config = with_option(
                apply_overrides(previous, overrides or []), "train.epochs", epochs, "--epochs"
            )
            # Everything a resume needs is checked before the trainer writes anything.
            check_resume_changes(previous, config)
            check_resume_position(run.name, run.read_checkpoint(), config)
        else:
            if not preset:
                raise ConfigError("name a preset (see `rnntui presets`) or --resume RUN")
            config = apply_overrides(load_preset(preset), overrides or [])
            config = with_option(config, "train.epochs", epochs, "--epochs")
        config = with_option(config, "train.device", device, "--device")
        check_fits_in_memory(config)
        if tensorboard and missing_extra("tensorboard"):
            raise ConfigError(missing_extra("tensorboard"), source="--tensorboard")
    except ConfigError as error:
        raise fail(str(error)) from None
    except (RunFolderError, RunLockedError) as error:
        raise fail(f"--resume: {error}") from None
    except NotRegularFileError as error:  # only a resume takes a lock here
        raise fail(
            f"--resume: cannot lock the run: {error.filename} {error.strerror}; remove it"
        ) from None
    except OSError as error:
        where = run.path if run is not None else resume
        raise fail(
            f"--resume: cannot lock {where} ({os_reason(error)}); a resume writes there"
        ) from None
    if check:
        typer.echo(config.to_toml(), nl=False)
        return
    check_device(config)
    if run is None:
        try:
            run = RunFolder.create(config, runs_dir)
        except OSError as error:
            where = runs_dir if runs_dir is not None else default_runs_dir()
            raise fail(
                f"--runs-dir: cannot create a run folder in {where} ({os_reason(error)}); "
                "choose a writable folder with --runs-dir DIR"
            ) from None
    # The hint must work as printed: name the runs folder unless it is the default one.
    hint_dir = runs_dir
    if hint_dir is None and run.path.parent.absolute() != default_runs_dir().absolute():
        hint_dir = run.path.parent
    hint = resume_command(run.name, hint_dir)
    if detach:
        for folder in held:  # the background process takes the lock itself
            folder.release()
        again = ["--resume", str(run.path)] if resume else ["--into", str(run.path)]
        start_in_background(run, [*again, *(["--tensorboard"] if tensorboard else [])], hint_dir)
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
        failure = trainer.failure
        if isinstance(failure, ConfigError | RunFolderError | RunLockedError):
            raise fail(f"--resume: {summary['failed']}" if resume else summary["failed"])
        message = f"training failed: {summary['failed']}"
        if isinstance(failure, RunWriteError) and run.has_checkpoint():
            message += f"; continue later with: {hint}"
        raise fail(message, exit_codes.TRAINING_FAILED)
    safe_echo(json.dumps(summary) if as_json else printer.describe_summary(summary))
    if summary.get("stopped"):
        safe_echo(f"stopped with a checkpoint; continue with: {hint}", err=True)
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
    from rnntui.engine.runs import LOG_FILE, resume_command

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
        f"{resume_command(run.name, runs_dir)})"
    )


def with_option(config: Config, key: str, value: object, option: str) -> Config:
    """A command-line option over the config's `key` (checked, and named as the option when the
    value is refused); None leaves the config as it is."""
    if value is None:
        return config
    try:
        set_value(config, key, value)
    except ConfigError as error:
        raise ConfigError(error.reason, source=option) from None
    return config


def os_reason(error: OSError) -> str:
    """Why a path could not be written, in a few words."""
    if error.errno == errno.ENOTDIR:
        return "a part of that path is a file, not a folder"
    return (error.strerror or type(error).__name__).lower()


def safe_echo(text: str, err: bool = False) -> None:
    """Print, unless the terminal is gone (an SSH drop): the run folder has everything anyway."""
    try:
        typer.echo(text, err=err)
    except OSError:
        pass


@app.command()
def runs(runs_dir: RunsDirOption = None) -> None:
    """List training runs: name, preset, date, steps and the final metric."""
    from rnntui.engine.runs import default_runs_dir, list_runs

    try:
        rows = list_runs(runs_dir)
    except OSError as error:
        where = runs_dir if runs_dir is not None else default_runs_dir()
        raise fail(f"cannot list the runs in {where} ({os_reason(error)})") from None
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
    from rnntui.lstm_inspect import inspect_lstm, parse_inputs, stacked_lstm_demo

    if run is not None or text is not None:
        from rnntui.cli_text import inspect_run

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


@app.command()
def probe(
    run_name: Annotated[str, typer.Argument(metavar="RUN", help="A run's name or folder.")],
    as_json: Annotated[
        bool, typer.Option("--json", help='One JSON line: {"lags": [{"lag", "effect", "true"}]}.')
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
    from rnntui.cli_probe import format_probe
    from rnntui.engine.probes import ProbeError, probe_json, probe_run
    from rnntui.engine.runs import RunFolder

    try:
        run_folder = RunFolder.find(run_name, runs_dir)
        result = probe_run(run_folder, gradients)
    except ConfigError as error:
        raise fail(str(ConfigError(error.reason, error.key, "probe"))) from None
    except ProbeError as error:
        raise fail(f"probe: {error}") from None
    typer.echo(json.dumps(probe_json(result)) if as_json else format_probe(result, run_folder.name))


def run() -> None:  # pragma: no cover - console entry for `python -m`
    app(prog_name="rnntui")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
