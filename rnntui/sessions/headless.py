"""A run trained headless in this process: what `rnntui train` does, and what the trainer child
(`sessions/child_main.py`) does with a folder the app or `--detach` made.

The steps are separate so both callers share them: `prepare` turns the request into a checked
config (a resume locks its folder before reading anything, so a second process stops there,
naming the first), `create_run` makes the folder, `start_detached` hands it to a child in its own
session, `train` runs the trainer with Ctrl+C, SIGTERM and SIGHUP stopping it with a checkpoint.
Anything a user can fix is a `TrainRefused`: one line and an exit code, before anything is written.
"""

from __future__ import annotations

import errno
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnntui.config import Config, ConfigError, apply_overrides, load_preset, set_value
from rnntui.util import exit_codes

if TYPE_CHECKING:
    from collections.abc import Callable

    from rnntui.engine.events import Event
    from rnntui.runs.folder import RunFolder


class TrainRefused(Exception):
    """What stops a run before it starts (or a run that failed); `str()` is the one line."""

    def __init__(self, message: str, code: int = exit_codes.BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class TrainRequest:
    """`rnntui train`'s settings, parsed."""

    preset: str | None = None
    overrides: list[str] = field(default_factory=list)
    epochs: int | None = None
    resume: str | None = None  # a run's name or folder
    runs_dir: Path | None = None
    tensorboard: bool = False
    device: str | None = None
    notify: str | None = None  # --notify URL: alerts.url


def prepare(request: TrainRequest, held: list[RunFolder]) -> tuple[Config, RunFolder | None]:
    """The checked config, and the run folder a resume continues (locked, and appended to
    `held`: the caller releases it). TrainRefused for anything a user can fix."""
    from rnntui.engine.memory import check_fits_in_memory
    from rnntui.runs.files import RunFolderError
    from rnntui.runs.folder import RunFolder
    from rnntui.runs.lock import RunLockedError
    from rnntui.runs.resume import check_resume_changes, check_resume_position
    from rnntui.tasks.build import make_task
    from rnntui.util.extras import missing_extra
    from rnntui.util.safe_read import NotRegularFileError

    run: RunFolder | None = None
    resumed_task = None
    try:
        if request.resume:
            if request.preset:
                raise ConfigError("give a preset or --resume RUN, not both", source="train")
            run = RunFolder.find(request.resume, request.runs_dir)
            # Own the folder before reading it: a second process stops here, naming the first.
            run.acquire()
            held.append(run)
            previous = run.load_config()
            config = with_option(
                apply_overrides(previous, request.overrides, files=False),
                "train.epochs",
                request.epochs,
                "--epochs",
            )
            # Everything a resume needs is checked before the trainer writes anything.
            check_resume_changes(previous, config)
            checkpoint = run.read_checkpoint()
            check_resume_position(run.name, checkpoint, config)
            # the text it trained on, as it was (the trainer finds this one in the cache)
            resumed_task = make_task(config.task, config.train.seed, checkpoint.task_state)
        else:
            if not request.preset:
                raise ConfigError("name a preset (see `rnntui presets`) or --resume RUN")
            config = apply_overrides(load_preset(request.preset), request.overrides)
            config = with_option(config, "train.epochs", request.epochs, "--epochs")
        config = with_option(config, "train.device", request.device, "--device")
        config = with_option(config, "alerts.url", request.notify, "--notify")
        check_alerts(config)
        check_fits_in_memory(config, resumed_task)
        if request.tensorboard and missing_extra("tensorboard"):
            raise ConfigError(missing_extra("tensorboard"), source="--tensorboard")
    except ConfigError as error:
        raise TrainRefused(str(error)) from None
    except (RunFolderError, RunLockedError) as error:
        raise TrainRefused(f"--resume: {error}") from None
    except NotRegularFileError as error:  # only a resume takes a lock here
        raise TrainRefused(
            f"--resume: cannot lock the run: {error.filename} {error.strerror}; remove it"
        ) from None
    except OSError as error:
        where = run.path if run is not None else request.resume
        raise TrainRefused(
            f"--resume: cannot lock {where} ({os_reason(error)}); a resume writes there"
        ) from None
    return config, run


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


def check_alerts(config: Config) -> None:
    """ConfigError (one line) when the run's alerts cannot be sent from here: an apprise URL
    without the apprise extra, or a broken user config file."""
    from rnntui.engine.notify import alert_url, url_problem, user_config_path

    url = alert_url(config.alerts.url)
    problem = url_problem(url)
    if problem:
        source = "alerts.url" if config.alerts.url else str(user_config_path())
        raise ConfigError(problem, source=source)


def check_device(config: Config) -> None:
    """A `train.device` this machine lacks is bad input (exit 2), found before any folder is
    made. Asking TensorFlow costs its import, so "auto" and "cpu", which always work, skip it."""
    if config.train.device in ("auto", "cpu"):
        return
    from rnntui.runtime.device_setting import DeviceError, choose_gpus
    from rnntui.runtime.tf_import import import_tf

    try:
        choose_gpus(config.train.device, import_tf().config.list_physical_devices("GPU"))
    except DeviceError as error:
        raise TrainRefused(str(error)) from None


def create_run(config: Config, runs_dir: Path | None) -> RunFolder:
    """A new run folder for `config`; TrainRefused (one line) when it cannot be made."""
    from rnntui.runs.files import default_runs_dir
    from rnntui.runs.folder import RunFolder

    try:
        return RunFolder.create(config, runs_dir)
    except OSError as error:
        where = runs_dir if runs_dir is not None else default_runs_dir()
        raise TrainRefused(
            f"--runs-dir: cannot create a run folder in {where} ({os_reason(error)}); "
            "choose a writable folder with --runs-dir DIR"
        ) from None


def hint_runs_dir(run: RunFolder, runs_dir: Path | None) -> Path | None:
    """The runs folder a printed command must name: the given one, or the run's own parent
    unless that is the default folder (hints must work as printed)."""
    from rnntui.runs.files import default_runs_dir

    if runs_dir is None and run.path.parent.absolute() != default_runs_dir().absolute():
        return run.path.parent
    return runs_dir


def start_detached(
    run: RunFolder,
    request: TrainRequest,
    runs_dir: Path | None,
    *,
    resume: bool,
    as_json: bool = False,
) -> str:
    """`train --detach`: start the run in a child of its own session (it survives the terminal
    and an SSH drop) and return what to tell the user: how to follow, list and stop it (with
    `as_json`, one JSON object: run, name, pid, log, attach, resume)."""
    from rnntui.runs.files import LOG_FILE
    from rnntui.runs.resume import resume_command
    from rnntui.sessions.spawn import spawn_trainer

    args = [str(run.path)]
    if resume:  # the child checks again and takes the lock itself; it continues the same way
        args += ["--resume", *_resume_options(request)]
    if request.tensorboard:
        args.append("--tensorboard")
    try:
        process = spawn_trainer(args, run.path, events=False)
    except OSError as error:
        raise TrainRefused(f"cannot start a background run: {error.strerror or error}") from None
    where = f" --runs-dir {shlex.quote(str(runs_dir))}" if runs_dir else ""
    if as_json:
        return json.dumps(
            {
                "run": str(run.path.absolute()),
                "name": run.name,
                "pid": process.pid,
                "log": str((run.path / LOG_FILE).absolute()),
                "attach": f"rnntui --attach {shlex.quote(run.name)}{where}",
                "resume": resume_command(run.name, runs_dir),
            }
        )
    return (
        f"training {run.name} in the background (pid {process.pid}); "
        f"its output goes to {run.path / LOG_FILE}\n"
        f"  watch it:  rnntui --attach {shlex.quote(run.name)}{where}\n"
        f"  list runs: rnntui runs{where}\n"
        f"  stop it:   kill {process.pid}   (it checkpoints; resume with "
        f"{resume_command(run.name, runs_dir)})"
    )


def _resume_options(request: TrainRequest) -> list[str]:
    """The settings a detached resume was given, for its child to apply again."""
    options = [item for text in request.overrides for item in ("--set", text)]
    if request.epochs is not None:
        options += ["--epochs", str(request.epochs)]
    if request.device is not None:
        options += ["--device", request.device]
    if request.notify is not None:  # a new run has it in the config.toml it hands over
        options += ["--notify", request.notify]
    return options


def train(
    config: Config,
    run: RunFolder,
    on_event: Callable[[Event], None],
    *,
    resume: bool = False,
    tensorboard: bool = False,
    warn: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], BaseException | None]:
    """Train to the end, or until a stop signal (a checkpoint is written); the summary and, when
    the run failed, why. `warn` hears, once, that an alert could not be sent."""
    from rnntui.engine.trainer import Trainer
    from rnntui.runs.files import LOG_FILE
    from rnntui.sessions.signals import stop_on_signals

    trainer = Trainer(config, on_event, run=run, resume=resume, tensorboard=tensorboard)
    with stop_on_signals(trainer.stop, trainer.pause, trainer.resume):
        summary = trainer.run()
    undelivered = trainer.alerts.undelivered if trainer.alerts is not None else ""
    if warn is not None and undelivered:
        warn(f"{undelivered} (see {run.path / LOG_FILE})")
    return summary, trainer.failure


def failure(
    summary: dict[str, Any], error: BaseException | None, run: RunFolder, *, resume: bool, hint: str
) -> TrainRefused:
    """The one line (and exit code) for a run whose summary says it failed."""
    from rnntui.engine.errors import RunWriteError
    from rnntui.runs.files import RunFolderError
    from rnntui.runs.lock import RunLockedError

    if isinstance(error, ConfigError | RunFolderError | RunLockedError):
        return TrainRefused(f"--resume: {summary['failed']}" if resume else summary["failed"])
    message = f"training failed: {summary['failed']}"
    if isinstance(error, RunWriteError) and run.has_checkpoint():
        message += f"; continue later with: {hint}"
    return TrainRefused(message, exit_codes.TRAINING_FAILED)


def os_reason(error: OSError) -> str:
    """Why a path could not be written, in a few words."""
    if error.errno == errno.ENOTDIR:
        return "a part of that path is a file, not a folder"
    return (error.strerror or type(error).__name__).lower()
