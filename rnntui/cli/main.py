"""The command line's root: the Typer app, opening the app (`rnntui` with no command), and the
one way commands fail (one line on stderr, an exit code).

Each command group is a module of this package that adds its commands to `app`; `cli/__init__.py`
imports them in the order `rnntui --help` lists them. Commands stay thin: they parse options, call
sessions, analysis or the sweep, and print. Heavy imports (TensorFlow, Textual) happen inside the
commands that need them, so `rnntui --help` is instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnntui.cli.options import NotifyOption, OverridesOption, RunsDirOption
from rnntui.config import Config, ConfigError, apply_overrides, load_preset
from rnntui.util import exit_codes

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


def safe_echo(text: str, err: bool = False) -> None:
    """Print, unless the terminal is gone (an SSH drop): the run folder has everything anyway."""
    try:
        typer.echo(text, err=err)
    except OSError:
        pass


def load_config(preset: str, overrides: list[str] | None = None) -> Config:
    try:
        return apply_overrides(load_preset(preset), overrides or [])
    except ConfigError as error:
        raise fail(str(error)) from None


def check_notify(config: Config, notify: str | None) -> None:
    """Exit with one line when `--notify` (else the config's alerts URL, else the user config
    file's) cannot carry alerts from here: the app and sweeps (`train` checks as it prepares)."""
    from rnntui.sessions.headless import check_alerts, with_option

    try:
        check_alerts(with_option(config.copy(), "alerts.url", notify, "--notify"))
    except ConfigError as error:
        raise fail(str(error)) from None


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
    detach_runs: Annotated[bool, typer.Option("--detach-runs", hidden=True)] = False,
    notify: NotifyOption = None,
) -> None:
    """Open the app (the default command)."""
    if ctx.invoked_subcommand is not None:
        return
    config = load_config(preset, overrides)
    check_notify(config, notify)
    if attach:
        check_attachable(attach, runs_dir)
    from platformdirs import user_log_dir

    from rnntui.runtime.tf_import import detach_native_stderr
    from rnntui.tui.app import RnnTuiApp

    log_dir = Path(user_log_dir("rnntui"))
    log_dir.mkdir(parents=True, exist_ok=True)
    detach_native_stderr(log_dir / "native-stderr.log")  # TF's C++ logs must not hit the screen
    tui = RnnTuiApp(
        config,
        preset_name=preset,
        runs_dir=runs_dir,
        attach=attach or "",
        detach_runs=detach_runs,
        notify=notify or "",
    )
    tui.run()
    tui.desk.wait_for_own_run(EXIT_WAIT_S)  # the note below promises a checkpoint on disk
    if tui.exit_note:  # a run stopped on the way out: how to continue it
        safe_echo(tui.exit_note, err=True)
    if tui.return_code:
        raise typer.Exit(tui.return_code)


def check_attachable(name: str, runs_dir: Path | None) -> None:
    """`--attach RUN`: a run folder that a live process trains, or one line and exit 2 before
    the app opens (the app's own `a` says the same in a toast)."""
    from rnntui.runs.folder import RunFolder
    from rnntui.runs.resume import resume_command

    try:
        folder = RunFolder.find(name, runs_dir, source="--attach")
    except ConfigError as error:
        raise fail(str(error)) from None
    if folder.live_owner() is None:
        hint = resume_command(folder.name, folder.path.parent)
        raise fail(
            f"--attach: {folder.name} is not training now; see `rnntui runs` (a stopped run "
            f"continues with {hint})"
        )
