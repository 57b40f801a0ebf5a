"""The series task: the CSV reader (NumPy's loadtxt, for real), every refusal as one line with
exit 2 and nothing written, a fuzz test of malformed CSVs, an AR(2) of known noise learned to its
noise floor, and the shipped Mauna Loa series end to end (train, forecast, export, probe, resume,
preview)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnntui.config import ConfigError, TaskConfig, apply_overrides, load_preset
from rnntui.engine.events import EpochEnd
from rnntui.engine.trainer import Trainer
from rnntui.runs.files import EVALUATION_FILE
from rnntui.runs.folder import RunFolder
from rnntui.runs.listing import describe_result
from rnntui.sessions.progress import ProgressPrinter
from rnntui.tasks.build import make_task
from rnntui.tasks.series import SeriesTask
from rnntui.util.table import GAP, TableError, read_table
from tests.helpers import run_cli

AR = (1.2, -0.5)  # y_t = 1.2 y_(t-1) - 0.5 y_(t-2) + e_t: stationary, a damped oscillation
SIGMA = 0.5


def ar2(rows: int, sigma: float = SIGMA, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An AR(2) series and its noise (after 200 rows of warm-up)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, sigma, rows + 200)
    y = np.zeros(rows + 200)
    for t in range(2, rows + 200):
        y[t] = AR[0] * y[t - 1] + AR[1] * y[t - 2] + noise[t]
    return y[200:], noise[200:]


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def series_config(path: Path, *overrides: str):
    """series-lstm on `path`, its target `y`, no time column unless asked."""
    return apply_overrides(
        load_preset("series-lstm"),
        [f"task.path='{path}'", 'task.target=["y"]', 'task.time=""', "task.season=0",
         'task.missing="error"', *overrides],
    )  # fmt: skip


# --- the reader --------------------------------------------------------------------------------


def test_the_reader_loads_clean_gzip_and_tab_separated_files_alike(tmp_path):
    y, _ = ar2(500)
    rows = [[f"2020-01-{1 + i // 24:02d}T{i % 24:02d}:00", f"{v:.6f}", i % 7] for i, v in
            enumerate(y[:24 * 20])]  # fmt: skip
    plain = write_csv(tmp_path / "a.csv", ["when", "y", "weekday"], rows)
    zipped = tmp_path / "a.csv.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    tabbed = tmp_path / "a.tsv"
    tabbed.write_text(plain.read_text().replace(",", "\t"))
    tables = [read_table(str(p), time="when") for p in (plain, zipped, tabbed)]
    for table in tables:
        assert table.numeric == ("y", "weekday")
        np.testing.assert_allclose(table.columns["y"], np.round(y[:480], 6))
        assert table.time.dtype == np.dtype("M8[ms]")
        assert str(table.time[25].astype("M8[m]")) == "2020-01-02T01:00"
        assert table.first_missing == {}


def test_missing_cells_are_found_with_their_line_even_after_blank_lines(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("t,y,z\n1,1.5,2\n\n2,,3\n3,2.5,n/a\n4,3.5,4\n")
    with pytest.raises(TableError) as refused:
        read_table(str(path), time="t")
    assert "line 4, column 'y': an empty cell" in str(refused.value)
    table = read_table(str(path), time="t", missing_ok=True)
    assert np.isnan(table.columns["y"][1]) and np.isnan(table.columns["z"][2])
    assert table.first_missing == {"y": (1, ""), "z": (2, "n/a")}
    assert [table.line(r) for r in range(4)] == [2, 4, 5, 6]

    # empty cells alone take loadtxt's path (filled in as "nan"): the same columns and lines
    only_empty = tmp_path / "empty.csv"
    only_empty.write_text("t,y,z\n1,1.5,\n\n2,,3\n3,2.5,5\n,4.5,6")
    fast = read_table(str(only_empty), missing_ok=True)
    np.testing.assert_array_equal(fast.columns["y"], [1.5, np.nan, 2.5, 4.5])
    np.testing.assert_array_equal(fast.columns["t"], [1, 2, 3, np.nan])
    assert fast.first_missing == {"t": (3, GAP), "y": (1, GAP), "z": (0, GAP)}
    assert [fast.line(r) for r in range(4)] == [2, 4, 5, 6]

    interpolated = make_task(
        TaskConfig(
            kind="series",
            path=str(path),
            target=["y"],
            time="t",
            missing="interpolate",
            valid_fraction=0.25,
        ),  # fmt: skip
        0,
    )
    np.testing.assert_allclose(interpolated.truth[:, 0], [1.5, 2.0, 2.5, 3.5])
    dropped = make_task(
        TaskConfig(
            kind="series",
            path=str(path),
            target=["y"],
            time="t",
            missing="drop",
            valid_fraction=0.25,
        ),  # fmt: skip
        0,
    )
    assert dropped.rows == 2 and dropped.preview().dropped == 2


# --- refusals: one line, exit 2, nothing written -------------------------------------------------


def test_every_refusal_is_one_line_exit_2_and_writes_nothing(tmp_path):
    y, _ = ar2(400)
    good = write_csv(tmp_path / "good.csv", ["t", "y", "x"], [[i, v, -v] for i, v in enumerate(y)])
    short = write_csv(tmp_path / "short.csv", ["t", "y"], [[i, v] for i, v in enumerate(y[:40])])
    flat = write_csv(tmp_path / "flat.csv", ["t", "y"], [[i, 3.0] for i in range(400)])
    back = write_csv(tmp_path / "back.csv", ["t", "y"], [[i if i != 200 else 5, v] for i, v in
                                                       enumerate(y)])  # fmt: skip
    gap = write_csv(tmp_path / "gap.csv", ["t", "y"], [[i, "" if i == 77 else v] for i, v in
                                                     enumerate(y)])  # fmt: skip
    text = write_csv(tmp_path / "text.csv", ["t", "y"], [[i, "oops" if i == 9 else v] for i, v in
                                                       enumerate(y)])  # fmt: skip
    runs = tmp_path / "runs"
    cases = [
        ([f"task.path={good}", "task.target=z"], "has no column 'z'; its columns are t, y, x"),
        ([f"task.path={good}", "task.inputs=y, w"], "has no column 'w'; its columns are t, y, x"),
        ([f"task.path={flat}", "task.time=t"], "the target 'y' is constant (3)"),
        ([f"task.path={short}", "task.time=t"], "fewer than one window and its target"),
        ([f"task.path={back}", "task.time=t"], "line 202: the time column 't' goes backwards"),
        ([f"task.path={gap}", "task.time=t"], "line 79, column 'y': an empty or NaN cell"),
        ([f"task.path={text}", "task.time=t"], "line 11, column 'y': 'oops', not a number"),
        ([f"task.path={tmp_path / 'none.csv'}"], "no such file"),
        ([f"task.path={good}", "task.valid_fraction=0"], "needs held-out rows"),
        # a series preset's time column and missing-cell mode, carried to a file without them
        (
            [f"task.path={good}", "task.time=date", "task.missing=interpolate"],
            "task.time: '"
            + str(good)
            + "' has no column 'date' for the time axis; its columns are "
            't, y, x; name yours, or set task.time = "" for none (and missing cells are '
            'interpolated: task.missing = "interpolate")',
        ),  # fmt: skip
    ]
    for overrides, fragment in cases:
        sets = [
            arg
            for o in ["task.target=y", 'task.time=""', "task.missing=error", *overrides]
            for arg in ("--set", o)
        ]
        result = run_cli("train", "series-lstm", *sets, "--runs-dir", str(runs))
        assert result.returncode == 2, (overrides, result.stderr)
        assert fragment in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not runs.exists() or not any(runs.iterdir()), "a run folder was written"


CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(
        ["", " ", "NA", "nan", '"', '""', "1e999", "2024-01-01", "a,b", "\t", ";", "\r"]
    ),
    st.text(max_size=6),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.lists(st.sampled_from(["t", "y", "x", "", "y "]), min_size=1, max_size=4),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=5), max_size=60),
    missing=st.sampled_from(["error", "interpolate", "drop"]),
    gzipped=st.booleans(),
)
def test_malformed_csvs_are_refused_in_one_line_or_read(tmp_path, header, rows, missing, gzipped):
    """Whatever the file holds, the task either reads it or raises one ConfigError line."""
    body = ",".join(header) + "\n" + "\n".join(",".join(row) for row in rows)
    data = body.encode("utf-8", "surrogatepass")
    path = tmp_path / ("fuzz.csv.gz" if gzipped else "fuzz.csv")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    config = load_preset("series-lstm")  # set directly: no --set parsing of odd paths
    config.task.path, config.task.target, config.task.time = str(path), ["y"], ""
    config.task.missing, config.train.num_steps, config.train.batch_size = missing, 3, 2
    try:
        SeriesTask.check_config(config)
        task = SeriesTask(config.task, 0)
        x, y = task.windows(0, 2, 3)
        assert np.isfinite(x).all() and np.isfinite(y).all()
        assert np.isfinite([b.value for b in task.baselines()]).all()
    except ConfigError as error:
        assert "\n" not in str(error) and str(error).strip()


# --- learning: an AR(2) of known noise ---------------------------------------------------------


def test_an_ar2_is_learned_to_its_noise_floor_and_beats_persistence(tmp_path):
    y, noise = ar2(3000, seed=3)
    path = write_csv(tmp_path / "ar2.csv", ["t", "y"], [[i, f"{v:.6f}"] for i, v in enumerate(y)])
    config = series_config(path, "task.time=t", "train.patience=6", "train.epochs=60")
    task = make_task(config.task, 0)
    task.steps_per_epoch(config.train.batch_size, config.train.num_steps)
    # the AR fit recovers the coefficients the series was made with
    effects = task.ar_coefficients(config.train.num_steps)
    assert effects[1] == pytest.approx(AR[0], abs=0.08) and effects[2] == pytest.approx(
        AR[1], abs=0.08
    )
    assert max(abs(effects[k]) for k in range(3, 49)) < 0.08

    summary = Trainer(config, run=RunFolder.create(config, tmp_path / "runs")).run()
    ends = task.window_ends(config.train.num_steps, valid=True)
    floor = float(np.mean(noise[ends + 1] ** 2))  # the true model's MSE on these windows
    baselines = summary["baselines"]
    print(f"\nnoise floor {floor:.4f}; valid_mse {summary['valid_mse']:.4f}; {baselines}")
    assert "failed" not in summary
    assert summary["valid_mse"] < 1.15 * floor
    assert summary["valid_mse"] < 0.75 * baselines["persistence"]
    assert baselines["linear AR(48)"] < 1.1 * floor
    assert summary["valid_mae"] == pytest.approx(
        np.sqrt(2 / np.pi * summary["valid_mse"]), rel=0.15
    )


def test_a_run_stopped_after_its_best_epoch_and_resumed_ends_on_the_best_weights(tmp_path):
    """The best weights of a run the user stopped after its best epoch are kept in its
    checkpoint: a resume that never does better ends on them, with their own figures."""
    y, _ = ar2(900, seed=5)
    path = write_csv(tmp_path / "ar2.csv", ["y"], [[f"{v:.6f}"] for v in y])
    config = series_config(path, "train.patience=100", "train.epochs=60",
                           "train.learning_rate=0.05", "model.state_size=8")  # fmt: skip
    folder = RunFolder.create(config, tmp_path / "runs")
    trainer: Trainer
    best: dict[str, float] = {}

    def stop_once_worse(event) -> None:
        if isinstance(event, EpochEnd) and trainer.metrics.get("best_waited", 0) >= 2:
            best.update(trainer.metrics)
            trainer.stop()

    trainer = Trainer(config, stop_once_worse, run=folder)
    stopped = trainer.run()
    assert stopped["stopped"] is True and best, "no epoch was worse than the best before 60"
    assert folder.read_checkpoint().best, "the checkpoint kept no best weights"
    assert stopped["valid_mse"] > best["best_value"]  # the stopped weights are not the best

    # a resume that cannot do better (a learning rate of almost nothing) ends on the kept ones
    more = apply_overrides(config, [f"train.epochs={stopped['epochs'] + 2}",
                                    "train.learning_rate=1e-6"])  # fmt: skip
    resumed = Trainer(more, run=RunFolder(folder.path), resume=True).run()
    assert "failed" not in resumed, resumed
    assert resumed["best_epoch"] == best["best_epoch"]
    assert resumed["valid_mse"] == pytest.approx(best["best_value"], rel=1e-5)
    assert not RunFolder(folder.path).read_checkpoint().best  # its weights are the best now


# --- the shipped series, end to end through the command line -------------------------------------


@pytest.fixture(scope="module")
def co2(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("co2")
    runs = root / "runs"
    result = run_cli("train", "series-lstm", "--json", "--runs-dir", str(runs), timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return {"summary": summary, "runs": runs, "run": Path(summary["run"]).name, "root": root}


def test_the_shipped_series_trains_past_its_baselines_and_keeps_the_best_epoch(co2):
    summary = co2["summary"]
    baselines = summary["baselines"]
    print(f"\nco2: valid_mse {summary['valid_mse']:.4f}, best epoch {summary['best_epoch']}, "
          f"{baselines}")  # fmt: skip
    assert summary["task"] == "series" and summary["stopped_early"] is True
    # what the text summary and `rnntui runs` say: not all of its 200 epochs ran
    note = f"stopped early at epoch {summary['epochs']}"
    assert note in ProgressPrinter.describe_summary(summary) and note in describe_result(summary)
    assert set(baselines) == {"persistence", "training mean", "seasonal naive (52)",
                              "linear AR(48)"}  # fmt: skip
    assert summary["valid_mse"] < baselines["persistence"] < baselines["seasonal naive (52)"]
    assert summary["valid_mae"] > 0 and summary["best_epoch"] < summary["epochs"]
    view = json.loads((co2["runs"] / co2["run"] / EVALUATION_FILE).read_text())
    errors = np.asarray(view["forecast"]) - np.asarray(view["truth"])
    assert view["target"] == "co2" and view["time"][-1] == "2001-12-29"
    # the saved view is the best epoch's: its last stretch scores about as the summary says
    assert float(np.mean(errors**2)) == pytest.approx(summary["valid_mse"], rel=0.5)


@pytest.mark.slow  # ~25 s: several CLI runs, each importing TensorFlow
def test_forecast_writes_time_truth_and_forecast_of_each_validation_window(co2, tmp_path):
    runs, run = str(co2["runs"]), co2["run"]
    printed = run_cli("forecast", run, "--runs-dir", runs)
    assert printed.returncode == 0, printed.stderr
    table = list(csv.DictReader(io.StringIO(printed.stdout)))
    assert list(table[0]) == ["row", "date", "co2", "co2_forecast"]
    assert len(table) == 228 and table[-1]["date"] == "2001-12-29"
    truth = np.array([float(r["co2"]) for r in table])
    forecast = np.array([float(r["co2_forecast"]) for r in table])
    assert float(np.mean((forecast - truth) ** 2)) == pytest.approx(
        co2["summary"]["valid_mse"], rel=1e-4
    )
    written = run_cli("forecast", run, "--runs-dir", runs, "--csv", str(tmp_path / "f.csv"))
    assert written.returncode == 0 and "228 forecasts" in written.stdout
    assert (tmp_path / "f.csv").read_text() == printed.stdout

    # a new file: every window, and one past its end (the future, no truth)
    newer = tmp_path / "newer.csv"
    newer.write_text("date,co2\n" + "".join(
        f"2002-01-{d:02d},{372 + 0.01 * d}\n" for d in range(1, 31)) + "".join(
        f"2002-02-{d:02d},{372.3 + 0.01 * d}\n" for d in range(1, 25)))  # fmt: skip
    fresh = run_cli("forecast", run, "--runs-dir", runs, "--input", str(newer))
    assert fresh.returncode == 0, fresh.stderr
    rows = list(csv.DictReader(io.StringIO(fresh.stdout)))
    assert len(rows) == 54 - 48 + 1 and rows[-1]["co2"] == "" and rows[-1]["date"] == ""
    assert 370 < float(rows[-1]["co2_forecast"]) < 375

    bad = run_cli("forecast", run, "--runs-dir", runs, "--input", str(tmp_path / "f.csv"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    nowhere = run_cli("forecast", run, "--runs-dir", runs, "--csv", str(tmp_path / "no/f.csv"))
    assert nowhere.returncode == 2 and "no folder" in nowhere.stderr


@pytest.mark.slow  # ~25 s: several CLI runs, each importing TensorFlow
def test_export_keeps_the_scale_inside_the_keras_model(co2, tmp_path):
    import keras

    runs, run = str(co2["runs"]), co2["run"]
    result = run_cli("export", run, str(tmp_path / "co2.keras"), "--runs-dir", runs)
    assert result.returncode == 0, result.stderr
    assert "raw co2" in result.stdout and "forecasts of co2" in result.stdout
    model = keras.models.load_model(tmp_path / "co2.keras")
    printed = run_cli("forecast", run, "--runs-dir", runs)
    table = list(csv.DictReader(io.StringIO(printed.stdout)))
    task = make_task(load_preset("series-lstm").task, 0)
    ends = task.window_ends(48, valid=True)[:20]
    raw = task.raw[ends[:, None] + np.arange(-47, 1)].astype(np.float32)  # raw ppm, as a user has
    exported = model.predict(raw, verbose=0)[:, 0]
    expected = [float(r["co2_forecast"]) for r in table[:20]]
    np.testing.assert_allclose(exported, expected, atol=2e-3)

    import tensorflow as tf

    saved = run_cli("export", run, str(tmp_path / "co2-saved"), "--runs-dir", runs)
    assert saved.returncode == 0, saved.stderr
    loaded = tf.saved_model.load(str(tmp_path / "co2-saved"))  # kept: .serve needs its variables
    served = loaded.serve(tf.constant(raw)).numpy()
    np.testing.assert_allclose(served[:, 0], expected, atol=2e-3)


def test_the_probe_shows_lag_effects_beside_the_linear_ar(co2):
    runs, run = str(co2["runs"]), co2["run"]
    result = run_cli("probe", run, "--runs-dir", runs, "--json")
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout)
    assert probe["reference"] == "linear AR" and len(probe["lags"]) == 48
    lags = {row["lag"]: row for row in probe["lags"]}
    # a slowly changing series: the last week matters most, to both
    assert lags[1]["effect"] > 0.2 and lags[1]["true"] > 0.2
    text = run_cli("probe", run, "--runs-dir", runs)
    assert "linear AR" in text.stdout and "forecast of co2" in text.stdout


def test_the_inspector_reads_a_series_input_as_rows_of_numbers(co2):
    runs, run = str(co2["runs"]), co2["run"]
    result = run_cli("inspect", "--run", run, "--text", "315.2; 315.5; 316", "--runs-dir", runs)
    assert result.returncode == 0, result.stderr
    assert f"{run}: hidden units over 3 rows" in result.stdout
    words = run_cli("inspect", "--run", run, "--text", "abc", "--runs-dir", runs)
    assert words.returncode == 2 and "'abc' is not a row of numbers" in words.stderr


def test_a_finished_series_run_resumes_for_more_epochs(co2):
    runs, run = str(co2["runs"]), co2["run"]
    epochs = co2["summary"]["epochs"]
    result = run_cli("train", "--resume", run, "--runs-dir", runs, "--epochs", str(epochs + 2),
                     "--set", "train.patience=0", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["epochs"] == epochs + 2 and summary["valid_mse"] > 0


def test_the_preview_draws_the_series_with_its_split_and_columns():
    from rich.console import Console

    from rnntui.tui.previews import renderer

    task = make_task(load_preset("series-lstm").task, 0)
    preview = task.preview()
    assert preview.rows == 2284 and preview.train_rows + preview.valid_rows == 2284
    facts = preview.columns[0]
    assert (facts.name, facts.missing, facts.low, facts.high) == ("co2", 59, 313.0, 373.9)
    console = Console(width=100, color_system=None, record=True)
    console.print(renderer("series")(preview, 100))
    shown = console.export_text()
    assert "validation from 1997-08-23" in shown and "59 (interpolated)" in shown
    assert "linear AR(48)" in shown and "⢀" in shown  # braille: plotext drew the series
    # the Data pane's width in the app at 160x48: dated ticks, nothing cut
    narrow = Console(width=45, color_system=None, record=True)
    narrow.print(renderer("series")(preview, 43))
    shown = narrow.export_text()
    axis = [line for line in shown.splitlines() if "1958-03-29" in line][-1]  # under the chart
    assert axis.split() == ["1958-03-29", "2001-12-29"], shown
    assert "59 missing (interpolated)" in shown and "…" not in shown, shown
    assert max(len(line.rstrip()) for line in shown.splitlines()) <= 45


def test_the_preview_of_a_series_without_time_counts_rows(tmp_path):
    from rich.console import Console

    from rnntui.tui.previews import renderer

    y, _ = ar2(500)
    path = write_csv(tmp_path / "s.csv", ["y"], [[v] for v in y])
    preview = make_task(series_config(path).task, 0).preview()
    console = Console(width=100, color_system=None, record=True)
    console.print(renderer("series")(preview, 100))
    shown = console.export_text().splitlines()
    axis = next(line for line in shown if line.split()[:1] == ["1"])
    assert axis.split() == ["1", "126", "251", "375", "500"], axis
    assert any(line.strip() == "row" for line in shown)


def write_parquet(path: Path, rows: int) -> tuple[Path, np.ndarray, np.ndarray]:
    """An AR(2) with a date column and one missing value (row 8) as Parquet (the test extra has
    pyarrow, so the real reader runs)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    y, _ = ar2(rows)
    dates = np.datetime64("2020-01-01") + np.arange(rows).astype("m8[D]")
    values = y.copy()
    values[7] = np.nan
    table = pa.table(
        {"day": pa.array(dates), "y": pa.array(values), "n": pa.array(np.arange(rows))}
    )
    pq.write_table(table, path)
    return path, y, values


def test_a_parquet_file_reads_like_its_csv_when_the_extra_is_installed(tmp_path):

    _, y, values = write_parquet(tmp_path / "s.parquet", 300)
    with pytest.raises(TableError, match=r"row 8, column 'y': a missing value"):
        read_table(str(tmp_path / "s.parquet"), time="day")
    read = read_table(str(tmp_path / "s.parquet"), time="day", missing_ok=True)
    assert read.numeric == ("y", "n") and read.time.dtype == np.dtype("M8[ms]")
    np.testing.assert_array_equal(read.columns["y"], values)
    task = make_task(
        TaskConfig(
            kind="series",
            path=str(tmp_path / "s.parquet"),
            target=["y"],
            time="day",
            missing="interpolate",
        ),  # fmt: skip
        0,
    )
    assert task.rows == 300 and task.truth[7, 0] == pytest.approx((y[6] + y[8]) / 2)


def test_a_parquet_file_without_the_extra_is_one_line_naming_it(tmp_path):
    path, _, _ = write_parquet(tmp_path / "s.parquet", 300)
    # pyarrow uninstalled, as Python sees it: not importable and not findable
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['pyarrow'] = None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    runs = tmp_path / "runs"
    sets = [f"task.path={path}", "task.target=y", "task.time=day", "task.missing=interpolate"]
    result = subprocess.run(
        [sys.executable, "-m", "rnntui", "train", "series-lstm", "--runs-dir", str(runs),
         *[arg for item in sets for arg in ("--set", item)]],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"rnntui: --set: task.path: '{path}' is a Parquet file, which needs the pyarrow package: "
        "pip install 'rnntui[parquet]'"
    ]
    assert not runs.exists() or not any(runs.iterdir()), "a run folder was written"
