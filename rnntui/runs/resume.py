"""Resuming a run: what a resume may change, whether there is anything left to train, and the
command that continues a run."""

from __future__ import annotations

import shlex
from pathlib import Path

from rnntui.config import Config, ConfigError
from rnntui.runs.checkpoint import Checkpoint
from rnntui.runs.folder import portable
from rnntui.util.numbers import short_repr

# Settings a resume may change: none alters the shapes in the checkpoint or the data it stands in
# (the learning rate is the optimizer's; its accumulated state is kept as it is).
RESUMABLE_KEYS = (
    "train.epochs",
    "train.learning_rate",
    "train.chunk",
    "train.xla",
    "train.eval_every",
    "train.patience",
)


def check_resume_changes(old: Config, new: Config) -> None:
    """ConfigError naming the first `--set` key a resume cannot apply (see RESUMABLE_KEYS):
    anything else would not fit the checkpoint's arrays or its place in the data. Paths are
    compared as a run folder stores them (absolute)."""
    before, after = portable(old).to_dict(), portable(new).to_dict()
    for section in ("task", "model", "train"):
        for name, value in after[section].items():
            key, was = f"{section}.{name}", before[section].get(name)
            if key in RESUMABLE_KEYS or value == was:
                continue
            if key == "model.state_size":
                has = f"the checkpoint has {was} units"
            elif key == "model.layers":
                has = f"the checkpoint has layers of {was} units"
            elif key in ("model.cell", "model.stacked_cell"):
                has = f"the checkpoint holds a {was} network"
            elif key == "train.optimizer":
                has = f"the checkpoint holds {was}'s state"
            else:
                has = f"the run has {short_repr(was)}"
            raise ConfigError(
                f"cannot change on resume ({has}); start a new run instead", key, "--set"
            )


def check_resume_position(run_name: str, checkpoint: Checkpoint, config: Config) -> None:
    """ConfigError when the checkpoint is already at (or past) the last epoch: such a resume
    would train nothing and only rewrite a finished run's summary."""
    epochs = config.train.epochs
    if checkpoint.epoch < epochs:
        return
    done = f"{checkpoint.epoch} epoch(s)"
    if checkpoint.window:
        done += f" and part of epoch {checkpoint.epoch + 1}"
    raise ConfigError(
        f"{run_name} has done {done} of the {epochs} asked for; nothing to resume: "
        f"train longer with --epochs {checkpoint.epoch + 1} or more",
        source="--resume",
    )


def resume_command(run_name: str, runs_dir: Path | None = None) -> str:
    """The shell command that continues a run, working as printed (paths shell-quoted)."""
    command = ["rnntui", "train", "--resume", run_name]
    if runs_dir is not None:
        command += ["--runs-dir", str(Path(runs_dir).expanduser().absolute())]
    return shlex.join(command)
