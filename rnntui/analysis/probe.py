"""Probing a trained run from its folder: the network its checkpoint holds, measured by the
engine's probes (`engine/probes.py`)."""

from __future__ import annotations

import zipfile
from typing import TYPE_CHECKING

from rnntui.engine.probes import Prober
from rnntui.tasks.lags import ProbeError, check_probeable

if TYPE_CHECKING:
    from rnntui.engine.events import ProbeResult
    from rnntui.runs.folder import RunFolder


def probe_run(run: RunFolder, gradients: bool = False) -> ProbeResult:
    """Probe the network a run folder's checkpoint holds (what `rnntui probe RUN` shows).

    Raises ProbeError (one line) for a task without lags or a missing or unreadable
    checkpoint, before TensorFlow is imported where it can.
    """
    from rnntui.engine.compiled import configure_runtime
    from rnntui.models.build import build_model
    from rnntui.runs.checkpoint import CheckpointError, check_weights_fit
    from rnntui.runs.files import CHECKPOINT_FILE
    from rnntui.tasks.build import make_task

    config = run.load_config()
    state = None
    if run.has_checkpoint():  # the run's own scale (a series), when it has one
        try:
            state = run.read_checkpoint().task_state
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # said below
    task = make_task(config.task, config.train.seed, state)
    task.steps_per_epoch(config.train.batch_size, config.train.num_steps)
    check_probeable(task)
    if not run.has_checkpoint():
        raise ProbeError(
            f"run '{run.name}' has no {CHECKPOINT_FILE} yet (one is written at every epoch end "
            "and on stop); let it reach an epoch end, or continue it with rnntui train --resume"
        )
    try:
        checkpoint = run.read_checkpoint()
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ProbeError(
            f"run '{run.name}': {CHECKPOINT_FILE} is unreadable ({type(error).__name__})"
        ) from None
    configure_runtime(config)
    model = build_model(
        config.model, task.num_classes, task.input_dim, task.many_to_many, config.train.seed
    )
    try:
        check_weights_fit(run.name, checkpoint.weights, model.get_weights())
    except CheckpointError as error:
        raise ProbeError(str(error)) from None
    model.set_weights(checkpoint.weights)
    return Prober(model, task, config.train.num_steps).measure(checkpoint.step, gradients)
