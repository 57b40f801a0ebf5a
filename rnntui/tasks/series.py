"""The "series" task: forecast columns of a CSV, `task.horizon` rows ahead, from a window of
`train.num_steps` rows.

Each training example is a window of the input columns (`task.inputs`, default every numeric
column) ending at row t, read from a zero state; its target is the `task.target` columns at row
t + horizon. The last `task.valid_fraction` of the rows validate: a validation window is one whose
target row lies there (its inputs may reach back into the training rows, as a forecaster's
would). Windows are reshuffled every epoch, and an epoch is every training window once, so an
epoch's size follows the data.

Scale: every input column is standardised with the mean and spread of the training rows only.
When every target is also an input (the default), the network forecasts the change from the last
value, standardised by the training rows' changes over the horizon: a series with a trend then
stays in range, and an untrained network starts out as persistence. Otherwise it forecasts the
standardised level. The scale is the task's `state()`, kept in every checkpoint, so a run's
forecasts, export and resume need nothing but the run folder, and everything a user sees (the
loss, the metrics, the baselines, the forecasts) is in the target's own units: the loss is the
mean squared error, averaged over the targets.

Baselines, on the same validation windows: persistence (the last value), the training mean,
seasonal naive when `task.season` is set (the value one season before the target row), and a
linear autoregression fitted by least squares on the same window of inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rnntui.config import ConfigError
from rnntui.tasks.base import Baseline, Evaluator, Metric, Segment, Setting, TaskDefaults
from rnntui.tasks.series_data import (
    SeriesCodec,
    check_not_constant,
    choose_columns,
    load_series,
    split_row,
    time_text,
)
from rnntui.util.table import describe_path

if TYPE_CHECKING:
    from rnntui.config import Config, TaskConfig

PREVIEW_POINTS = 2_000  # rows the preview keeps for its chart (evenly spaced)
VIEW_POINTS = 400  # validation forecasts kept for the app's forecast view (the last ones)
EXCERPT_ROWS = 200  # rows a hidden-unit view draws
EVAL_BATCH = 4_096  # validation windows per call
AR_CHUNK = 8_192  # windows per piece of the least-squares fit
RIDGE = 1e-6  # relative ridge of the AR fit: a constant input column stays solvable


@dataclass(frozen=True)
class ColumnFacts:
    name: str
    low: float
    high: float
    mean: float
    missing: int
    role: str  # "target", "input", "target, input" or "" (not used)


@dataclass(frozen=True)
class SeriesPreview:
    """What the Data pane shows for a series."""

    source: str
    rows: int
    train_rows: int
    valid_rows: int
    columns: tuple[ColumnFacts, ...]
    time: str  # the time column's name ("" when rows are the axis)
    first_time: str
    last_time: str
    split_time: str  # the first validation row's time (or row number)
    x: tuple[float, ...]  # the chart's x positions (row numbers) and each target's values
    times: tuple[str, ...]  # the time at each x position (empty when rows are the axis)
    series: tuple[tuple[str, tuple[float, ...]], ...]
    split: int  # the first validation row
    missing_mode: str
    dropped: int  # rows `task.missing = "drop"` left out
    baselines: tuple[Baseline, ...]
    windows: tuple[int, int]  # training and validation windows

    @property
    def summary(self) -> str:
        targets = ", ".join(name for name, _ in self.series)
        return f"{self.rows:,} rows, forecasting {targets}"


class SeriesTask(TaskDefaults):
    kind = "series"
    title = "series: forecast columns of a CSV"
    settings = (
        Setting("task.path", "CSV file", "a CSV or TSV file (gzip too) with a header row", "path"),
        Setting("task.target", "target", "column(s) to forecast, like load or load, temp"),
        Setting("task.inputs", "inputs", "columns fed in (empty: every numeric column)"),
        Setting("task.time", "time column", "optional: the axis; must never go backwards"),
        Setting("task.horizon", "horizon", "forecast this many rows ahead"),
        Setting("task.missing", "missing cells", "error, interpolate or drop"),
        Setting("task.season", "season", "rows per season for seasonal naive (0: none)"),
        Setting("task.valid_fraction", "held out", "the last part of the rows, for validation"),
        Setting("train.num_steps", "window", "rows the network reads for each forecast"),
        Setting("train.patience", "patience", "evaluations without improvement before stopping"),
        Setting("train.eval_every", "eval every", "epochs between validations"),
    )
    metrics = (
        Metric("valid_mse", "valid MSE", ".5g"),
        Metric("valid_mae", "valid MAE", ".5g"),
    )
    headline = "valid_mse"
    fresh_data = True  # reshuffled every epoch (made ahead, engine/ahead)
    one_hot = False
    many_to_many = False  # one forecast per window
    loss = "mse"
    path_keys = ("path",)  # it reads task.path: stored absolute; config checks may skip it
    noun = "rows"  # what an input step is (the inspector reads rows of numbers)
    reference = "linear AR"  # what the lag probe's effects stand beside
    evaluation_title = "Forecast"  # the app's pane for `evaluation_view` (ViewTask)
    evaluation_metric = "valid_mse"

    def __init__(
        self, task: TaskConfig, seed: int = 0, state: dict | None = None, num_steps: int = 0
    ) -> None:
        self.config = task
        self.path = task.path
        self.seed = int(seed)
        data = load_series(task)
        self._data = data
        inputs, targets = choose_columns(task, data.table)
        rows = len(data.raw)
        self.rows = rows
        self.split = split_row(rows, task.valid_fraction)
        self.horizon = task.horizon
        self.season = task.season
        self.raw = data.raw
        self.truth = data.targets
        self.time = data.time
        self.num_steps = int(num_steps)  # set by windows(); 0 until the engine asks
        if state:
            try:
                codec = SeriesCodec.from_state(state)
            except ValueError as error:
                raise ConfigError(str(error), "task.path") from None
            if list(codec.inputs) != inputs or list(codec.targets) != targets:
                raise ConfigError(
                    f"the run was trained on inputs {', '.join(codec.inputs)} -> "
                    f"{', '.join(codec.targets)}; the file now gives {', '.join(inputs)} -> "
                    f"{', '.join(targets)}; start a new run",
                    "task.path",
                )
        else:
            codec = self._fit_scale(inputs, targets, task)
        self._codec = codec
        self.values = codec.normalize(self.raw)  # [rows, inputs] float32
        self.values.flags.writeable = False
        self.num_classes = len(targets)
        self.input_dim = codec.input_dim
        self.loss_weights = tuple(s * s for s in codec.scale)  # the loss in the targets' units
        self.measured_input = self.measured_output = targets[0]  # the lag probe's pair
        self._baselines: dict[int, tuple[Baseline, ...]] = {}
        self._ar: dict[int, np.ndarray] = {}
        self.last_evaluation: dict[str, Any] = {}

    def _fit_scale(self, inputs: list[str], targets: list[str], task: TaskConfig) -> SeriesCodec:
        train = self.raw[: self.split]
        train_truth = self.truth[: self.split]
        check_not_constant(task, targets, train_truth)
        mean = train.mean(axis=0) if len(train) else np.zeros(len(inputs))
        std = train.std(axis=0) if len(train) else np.ones(len(inputs))
        std = np.where(std > 0, std, 1.0)  # a constant input is kept, merely centred
        residual = all(name in inputs for name in targets)
        h = task.horizon
        if residual:
            changes = train_truth[h:] - train_truth[:-h] if len(train_truth) > h else train_truth
            center, scale = changes.mean(axis=0), changes.std(axis=0)
            # a series that only steps now and then: fall back to the level's spread
            scale = np.where(scale > 0, scale, train_truth.std(axis=0))
        else:
            center, scale = train_truth.mean(axis=0), train_truth.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        changes: tuple[float, ...] = ()
        if residual:
            steps = np.diff(train_truth, axis=0) if len(train_truth) > 1 else train_truth
            spread = steps.std(axis=0)
            changes = tuple(float(v) if v > 0 else 1.0 for v in spread)
        return SeriesCodec(
            tuple(inputs),
            tuple(targets),
            tuple(float(v) for v in mean),
            tuple(float(v) for v in std),
            tuple(float(v) for v in center),
            tuple(float(v) for v in scale),
            residual,
            h,
            task.time,
            changes,
        )

    @classmethod
    def from_config(cls, task: TaskConfig, seed: int, state: dict | None = None) -> SeriesTask:
        return cls(task, seed, state)

    @classmethod
    def check_config(cls, config: Config) -> None:
        """The file is read (and cached) here: a series' size, columns and scale cannot be
        known otherwise, and a 10^5-row CSV reads in a few milliseconds."""
        task, train = config.task, config.train
        if task.valid_fraction <= 0:
            raise ConfigError(
                "a series needs held-out rows (its metrics, baselines and early stopping are "
                "measured there); use 0.05 to 0.5",
                "task.valid_fraction",
            )
        data = load_series(task)
        _, targets = choose_columns(task, data.table)
        rows = len(data.raw)
        check_not_constant(task, targets, data.targets[: split_row(rows, task.valid_fraction)])
        need = train.num_steps + task.horizon
        where = f"'{task.path}'"
        if rows < need:
            raise ConfigError(
                f"{where} has {rows:,} rows, fewer than one window and its target (num_steps "
                f"{train.num_steps} + horizon {task.horizon} = {need:,}); use a longer series or "
                "lower train.num_steps",
                "train.num_steps",
            )
        split = split_row(rows, task.valid_fraction)
        training = split - task.horizon - train.num_steps + 1
        if training < train.batch_size:
            raise ConfigError(
                f"{where}: its {split:,} training rows make {max(training, 0):,} windows, fewer "
                f"than one batch ({train.batch_size}); lower train.batch_size or "
                "train.num_steps, or task.valid_fraction",
                "train.batch_size",
            )
        first_valid = max(train.num_steps - 1, split - task.horizon)
        if rows - task.horizon - first_valid < 1:
            raise ConfigError(
                f"{where}: no validation window fits in its last {rows - split:,} rows; raise "
                "task.valid_fraction",
                "task.valid_fraction",
            )

    # --- the codec and its state -----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return self._codec.state()

    @classmethod
    def codec_from_state(cls, task: TaskConfig, state: dict[str, Any]) -> SeriesCodec:
        return SeriesCodec.from_state(state)

    def codec(self) -> SeriesCodec:
        return self._codec

    # --- windows ---------------------------------------------------------------------------------

    def window_ends(self, num_steps: int, valid: bool) -> np.ndarray:
        """The rows t a window ends at: training ones have their target row (t + horizon)
        among the training rows, validation ones in the held-out rows."""
        h = self.horizon
        if valid:
            first = max(num_steps - 1, self.split - h)
            return np.arange(first, self.rows - h)
        return np.arange(num_steps - 1, self.split - h)

    def gather(self, ends: np.ndarray, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """x [n, steps, features] (what the network reads) and the targets' raw values
        [n, targets] at t + h."""
        rows = ends[:, None] + np.arange(1 - num_steps, 1)
        x = self.values[rows]
        if self._codec.changes:
            x = np.concatenate([x, self._codec.change_features(self.raw[rows])], axis=-1)
        return x, self.truth[ends + self.horizon]

    def labels_for(self, ends: np.ndarray) -> np.ndarray:
        """What the network should output for the windows ending at `ends`."""
        return self._codec.to_outputs(self.truth[ends + self.horizon], self.raw[ends])

    def windows(self, epoch: int, batch_size: int, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """x [W, batch, steps, inputs], y [W, batch, targets]: every training window once, in
        an order drawn from (seed, epoch); the remainder of a batch is left out."""
        self.num_steps = num_steps
        ends = self.window_ends(num_steps, valid=False)
        order = np.random.default_rng([self.seed, epoch]).permutation(len(ends))
        count = len(ends) // batch_size
        ends = ends[order[: count * batch_size]]
        x, _ = self.gather(ends, num_steps)
        y = self.labels_for(ends)
        return (
            x.reshape(count, batch_size, num_steps, self.input_dim),
            y.reshape(count, batch_size, self.num_classes),
        )

    def steps_per_epoch(self, batch_size: int, num_steps: int) -> int:
        self.num_steps = num_steps
        return len(self.window_ends(num_steps, valid=False)) // batch_size

    def estimate_bytes(self, batch_size: int, num_steps: int) -> int:
        self.num_steps = num_steps
        windows = len(self.window_ends(num_steps, valid=False))
        # one epoch's windows (float32), twice for the trainer's copies, and the columns
        return (
            2 * windows * (num_steps * self.input_dim + self.num_classes) * 4 + 3 * self.raw.nbytes
        )

    # --- baselines and evaluation ----------------------------------------------------------------

    def _errors(self, forecast: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
        error = forecast - truth
        return float(np.mean(np.mean(error**2, axis=0))), float(np.mean(np.abs(error)))

    def ar_fit(self, num_steps: int) -> np.ndarray:
        """Least-squares weights [steps * inputs + 1, targets] from a window's scaled inputs
        (and a constant) to the network's scaled outputs, on the training windows."""
        if num_steps not in self._ar:
            ends = self.window_ends(num_steps, valid=False)
            width = num_steps * self.input_dim + 1
            gram = np.zeros((width, width))
            moment = np.zeros((width, self.num_classes))
            for begin in range(0, len(ends), AR_CHUNK):
                part = ends[begin : begin + AR_CHUNK]
                x, _ = self.gather(part, num_steps)
                design = np.concatenate(
                    [x.reshape(len(part), -1).astype(np.float64), np.ones((len(part), 1))], axis=1
                )
                gram += design.T @ design
                moment += design.T @ self.labels_for(part).astype(np.float64)
            ridge = RIDGE * max(float(np.trace(gram)) / width, 1e-12)
            self._ar[num_steps] = np.linalg.solve(gram + ridge * np.eye(width), moment)
        return self._ar[num_steps]

    def ar_forecast(self, ends: np.ndarray, num_steps: int) -> np.ndarray:
        weights = self.ar_fit(num_steps)
        out = np.empty((len(ends), self.num_classes))
        for begin in range(0, len(ends), AR_CHUNK):
            part = ends[begin : begin + AR_CHUNK]
            x, _ = self.gather(part, num_steps)
            design = np.concatenate(
                [x.reshape(len(part), -1).astype(np.float64), np.ones((len(part), 1))], axis=1
            )
            out[begin : begin + len(part)] = design @ weights
        return self._codec.to_units(out, self.raw[ends])

    def ar_outputs(self, x: np.ndarray) -> np.ndarray:
        """The AR fit's outputs (the network's scale) for windows of features x [n, steps, f]."""
        weights = self.ar_fit(x.shape[1])
        design = np.concatenate(
            [x.reshape(len(x), -1).astype(np.float64), np.ones((len(x), 1))], axis=1
        )
        return design @ weights

    def lag_effects(self, outputs: Any, num_steps: int, windows: int = 64) -> dict[int, float]:
        """How much the first target's forecast moves per unit its own value `lag` rows back
        moves (1 = the window's last row), in target units per target unit, averaged over the
        first `windows` validation windows: each is fed again with that one value raised by one
        training spread. `outputs(x)` gives outputs for windows of features (the network's, or
        `ar_outputs`). For a linear forecaster this is exactly its coefficient."""
        codec = self._codec
        if codec.targets[0] not in codec.inputs:
            return {}
        feature = codec.inputs.index(codec.targets[0])
        ends = self.window_ends(num_steps, valid=True)[:windows]
        if not len(ends):
            ends = self.window_ends(num_steps, valid=False)[:windows]
        rows = ends[:, None] + np.arange(1 - num_steps, 1)
        raw = self.raw[rows]  # [n, steps, inputs]
        delta = codec.std[feature]
        variants = np.repeat(raw[:, None], num_steps + 1, axis=1)  # [n, 1 + steps, steps, in]
        for lag in range(1, num_steps + 1):
            variants[:, lag, num_steps - lag, feature] += delta
        flat = variants.reshape(-1, num_steps, raw.shape[-1])
        units = codec.to_units(np.asarray(outputs(codec.features(flat))), flat[:, -1])
        units = units[:, 0].reshape(len(ends), num_steps + 1)
        change = (units[:, 1:] - units[:, :1]).mean(axis=0) / delta
        return {lag: float(change[lag - 1]) for lag in range(1, num_steps + 1)}

    def ar_coefficients(self, num_steps: int) -> dict[int, float]:
        """The linear autoregression's coefficient of the first target's own value at each lag
        (target units per target unit)."""
        return self.lag_effects(self.ar_outputs, num_steps)

    def true_lag_effects(self, max_lag: int | None = None) -> dict[int, float]:
        """For the lag probe: the linear autoregression's coefficients (what a statistician's
        first model makes of each lag), the reference the network's own effects stand beside."""
        steps = self.num_steps or max_lag or 1
        effects = self.ar_coefficients(steps)
        return {lag: effects.get(lag, 0.0) for lag in range(1, (max_lag or steps) + 1)}

    def baselines_for(self, num_steps: int) -> tuple[Baseline, ...]:
        """MSE (target units) of the simple forecasters on the validation windows."""
        if num_steps in self._baselines:
            return self._baselines[num_steps]
        ends = self.window_ends(num_steps, valid=True)
        if not len(ends):
            return ()
        truth = self.truth[ends + self.horizon]
        out = []
        codec = self._codec
        if codec.residual or all(t in codec.inputs for t in codec.targets):
            out.append(Baseline("persistence", self._errors(self.truth[ends], truth)[0]))
        mean = self.truth[: self.split].mean(axis=0)
        out.append(
            Baseline("training mean", self._errors(np.broadcast_to(mean, truth.shape), truth)[0])
        )
        if self.season:
            back = self.season * math.ceil(self.horizon / self.season)
            source = ends + self.horizon - back
            if len(source) and source.min() >= 0:
                label = f"seasonal naive ({self.season})"
                out.append(Baseline(label, self._errors(self.truth[source], truth)[0]))
        if len(self.window_ends(num_steps, valid=False)):
            forecast = self.ar_forecast(ends, num_steps)
            out.append(Baseline(f"linear AR({num_steps})", self._errors(forecast, truth)[0]))
        self._baselines[num_steps] = tuple(out)
        return self._baselines[num_steps]

    def baselines(self) -> tuple[Baseline, ...]:
        return self.baselines_for(self.num_steps or self.config_num_steps())

    def config_num_steps(self) -> int:
        return max(1, min(48, self.split - self.horizon))

    def forecast_windows(self, model: Any, ends: np.ndarray, num_steps: int) -> np.ndarray:
        """The model's forecasts (target units) for windows ending at `ends`."""
        out = np.empty((len(ends), self.num_classes))
        for begin in range(0, len(ends), EVAL_BATCH):
            part = ends[begin : begin + EVAL_BATCH]
            x, _ = self.gather(part, num_steps)
            out[begin : begin + len(part)] = model.outputs(x)
        return self._codec.to_units(out, self.raw[ends])

    def evaluate(self, model: Evaluator) -> dict[str, float]:
        """MSE and MAE of the forecasts on every validation window, in the targets' units."""
        steps = model.num_steps
        ends = self.window_ends(steps, valid=True)
        if not len(ends):
            return {}
        forecast = self.forecast_windows(model, ends, steps)
        truth = self.truth[ends + self.horizon]
        mse, mae = self._errors(forecast, truth)
        shown = slice(max(0, len(ends) - VIEW_POINTS), len(ends))
        rows = ends[shown] + self.horizon
        self.last_evaluation = {
            "target": self._codec.targets[0],
            "rows": rows.tolist(),
            "time": [time_text(t) for t in self.time[rows]] if self.time is not None else [],
            "truth": truth[shown, 0].tolist(),
            "forecast": forecast[shown, 0].tolist(),
            "valid_mse": mse,
            "valid_mae": mae,
            "baselines": {b.label: b.value for b in self.baselines_for(steps)},
        }
        return {"valid_mse": mse, "valid_mae": mae}

    def evaluation_view(self) -> dict[str, Any]:
        """The latest evaluation's forecasts (the last validation stretch), JSON-able: what the
        app's forecast view draws. Empty before the first evaluation."""
        return dict(self.last_evaluation)

    # --- showing it ------------------------------------------------------------------------------

    def preview(self) -> SeriesPreview:
        data = self._data
        codec = self._codec
        columns = []
        for name, values in data.table.columns.items():
            role = ", ".join(
                r
                for r, names in (("target", codec.targets), ("input", codec.inputs))
                if name in names
            )
            columns.append(
                ColumnFacts(
                    name,
                    float(np.min(values)),
                    float(np.max(values)),
                    float(np.mean(values)),
                    data.missing.get(name, 0),
                    role,
                )
            )
        step = max(1, self.rows // PREVIEW_POINTS)
        picked = np.arange(0, self.rows, step)
        series = tuple(
            (name, tuple(float(v) for v in self.truth[picked, j]))
            for j, name in enumerate(codec.targets)
        )
        times = self.time
        first = time_text(times[0]) if times is not None else "row 1"
        last = time_text(times[-1]) if times is not None else f"row {self.rows:,}"
        split_time = (
            time_text(times[self.split])
            if times is not None and self.split < self.rows
            else f"row {self.split + 1:,}"
        )
        steps = self.config_num_steps() if not self.num_steps else self.num_steps
        return SeriesPreview(
            source=describe_path(self.path),
            rows=self.rows,
            train_rows=self.split,
            valid_rows=self.rows - self.split,
            columns=tuple(columns),
            time=self.config.time,
            first_time=first,
            last_time=last,
            split_time=split_time,
            x=tuple(float(v) for v in picked),
            times=tuple(time_text(t) for t in times[picked]) if times is not None else (),
            series=series,
            split=self.split,
            missing_mode=self.config.missing,
            dropped=data.dropped,
            baselines=self.baselines_for(steps),
            windows=(
                len(self.window_ends(steps, valid=False)),
                len(self.window_ends(steps, valid=True)),
            ),
        )

    def excerpt(self) -> tuple[Segment, ...]:
        """The start of the validation rows, read from a zero state."""
        begin = max(0, min(self.split, self.rows - EXCERPT_ROWS))
        inputs = self._codec.features(self.raw[begin : begin + EXCERPT_ROWS])
        return (Segment(inputs, self._codec.labels(inputs)),)

    def sample_inputs(self, steps: int) -> list[list[float]]:
        return self._codec.features(self.raw[:steps]).astype(float).tolist()
