"""`rnntui forecast RUN`: a series run's forecasts, in the target's units, as CSV.

Without `--input`, every validation window of the run's own file; with `--input FILE`, every
window of FILE (the same columns; its time column, if the run had one), read with the run's
scale (its checkpoint's task state), so nothing is refitted. A window whose target row lies past
the end of FILE is a forecast of the future: its truth is left empty.

Problems are a `ConfigError` (one line; the command exits 2), found before TensorFlow is
imported where the input alone shows them, and before anything is written.
"""

from __future__ import annotations

import copy
import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnntui.config import ConfigError

BATCH = 4_096  # windows per call of the model


@dataclass(frozen=True)
class Forecasts:
    """One row per window: where its target row is, the truth and the forecast of each target."""

    run: str
    targets: tuple[str, ...]
    time_name: str  # "" when the run has no time column
    rows: tuple[int, ...]  # the target row's data row number (1 = the first row under the header)
    times: tuple[str, ...]  # the target row's time ("" past the end of the file)
    truth: np.ndarray  # [n, targets], NaN past the end of the file
    forecast: np.ndarray  # [n, targets]

    @property
    def errors(self) -> tuple[float, float, int]:
        """MSE (mean over targets) and MAE over the windows that have a truth, and their count."""
        known = ~np.isnan(self.truth).any(axis=1)
        if not known.any():
            return math.nan, math.nan, 0
        error = self.forecast[known] - self.truth[known]
        mse = float(np.mean(np.mean(error**2, axis=0)))
        return mse, float(np.mean(np.abs(error))), int(known.sum())

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        head = ["row", *([self.time_name] if self.time_name else [])]
        for name in self.targets:
            head += [name, f"{name}_forecast"]
        writer.writerow(head)
        for i, row in enumerate(self.rows):
            cells = [str(row), *([self.times[i]] if self.time_name else [])]
            for j in range(len(self.targets)):
                truth = self.truth[i, j]
                cells += [
                    "" if math.isnan(truth) else f"{truth:.10g}",
                    f"{self.forecast[i, j]:.10g}",
                ]
            writer.writerow(cells)
        return out.getvalue()


def forecast_run(name: str, runs_dir: Path | None, input_path: str | None = None) -> Forecasts:
    """The forecasts of run `name` on its validation windows, or on every window of a file."""
    from rnntui.analysis.replica import load_trained_run
    from rnntui.runs.folder import RunFolder
    from rnntui.tasks.build import make_task
    from rnntui.tasks.registry import task_class

    source = "forecast"
    try:
        folder = RunFolder.find(name, runs_dir)
        run = load_trained_run(folder)
    except ConfigError as error:
        raise ConfigError(error.reason, error.key, source) from None
    config = run.config
    if task_class(config.task.kind).loss != "mse" or not hasattr(run.codec, "to_units"):
        raise ConfigError(
            f"run '{run.name}' is a {config.task.kind} run; forecast needs a series run",
            source=source,
        )
    state = folder.read_checkpoint().task_state
    task_config = copy.deepcopy(config.task)
    if input_path is not None:
        task_config.path = input_path
    where = "--input" if input_path is not None else source
    try:
        task = make_task(task_config, config.train.seed, state)
    except ConfigError as error:
        raise ConfigError(error.reason, error.key, where) from None
    steps = config.train.num_steps
    if input_path is None:
        ends = task.window_ends(steps, valid=True)
    else:
        if task.rows < steps:
            raise ConfigError(
                f"'{input_path}' has {task.rows:,} rows, fewer than the run's window "
                f"(num_steps {steps}); give at least {steps} rows",
                source="--input",
            )
        ends = np.arange(steps - 1, task.rows)
    outputs = _outputs(run, task, ends, steps)
    codec = run.codec
    forecast = codec.to_units(outputs, task.raw[ends])
    target_rows = ends + task.horizon
    inside = target_rows < task.rows
    truth = np.full(forecast.shape, np.nan)
    truth[inside] = task.truth[target_rows[inside]]
    times: tuple[str, ...] = ()
    time_name = config.task.time
    if time_name and task.time is not None:
        from rnntui.tasks.series_data import time_text

        times = tuple(
            time_text(task.time[r]) if r < task.rows else "" for r in target_rows.tolist()
        )
    return Forecasts(
        run.name,
        tuple(codec.targets),
        time_name,
        tuple(int(r) + 1 for r in target_rows.tolist()),
        times,
        truth,
        forecast,
    )


def _outputs(run, task, ends: np.ndarray, steps: int) -> np.ndarray:
    """The run's network on the windows ending at `ends` (rows past the file are fine: only
    their targets are missing)."""
    from rnntui.models.build import build_model
    from rnntui.runtime.tf_import import import_tf

    tf = import_tf()
    codec = run.codec
    model = build_model(
        run.config.model, codec.num_classes, codec.input_dim, False, run.config.train.seed
    )
    model.set_weights(run.weights)

    def graph(x):
        state = [tf.zeros(tf.stack([tf.shape(x)[0], n])) for n in model.state_sizes]
        return model(x, state)[0]

    signature = [tf.TensorSpec([None, steps, codec.input_dim], tf.float32)]
    function = tf.function(graph, input_signature=signature, autograph=False)
    out = np.empty((len(ends), codec.num_classes))
    for begin in range(0, len(ends), BATCH):
        part = ends[begin : begin + BATCH]
        rows = part[:, None] + np.arange(1 - steps, 1)
        out[begin : begin + len(part)] = function(tf.constant(codec.features(task.raw[rows])))
    return out


def write_forecasts(forecasts: Forecasts, out: Path) -> None:
    """The CSV, written whole or not at all."""
    from rnntui.util.atomic_write import atomic_write_text
    from rnntui.util.output_paths import output_file_problem

    out = Path(out).expanduser()
    if problem := output_file_problem(out, force=True):
        raise ConfigError(problem, "--csv")
    atomic_write_text(out, forecasts.to_csv())
