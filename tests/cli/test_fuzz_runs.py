"""Property-based: damaged run folders never crash or hang `runs`, `--resume` or the app's `l`.

A good run (stopped mid-epoch, so a resume has work to do) is damaged at random: a file truncated,
overwritten with garbage, flipped in place, filled with values of the wrong types, replaced by a
FIFO or a directory, or removed. Then:

- `rnntui runs` lists it in one line (damaged or not) and exits 0;
- `rnntui train --resume` either finishes the run (exit 0: the folder is then a sound finished run
  that kept every step it had) or refuses in one line (exit 2) leaving every file as it was;
- the app's `l` lists it and loads whatever can be loaded, and the app carries on.

A good folder never gets worse. Every call runs with a timeout, and a watchdog lets any reader or
writer stuck on a FIFO go (so a hang fails the test instead of stalling the suite). Example counts
are small and derandomized: the same examples every run, a few seconds each.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rnntui.cli.main import app as cli_app
from rnntui.config import apply_overrides, load_preset
from rnntui.engine import trainer as trainer_module
from rnntui.engine.events import Progress
from rnntui.engine.trainer import Trainer
from rnntui.runs.folder import RunFolder
from rnntui.runs.listing import describe_run
from rnntui.runs.lock import LOCK_FILE
from rnntui.runs.metrics import read_metrics
from rnntui.runs.store.reader import MetricsReader
from rnntui.tui.past_runs import load_past_run
from rnntui.tui.screens.run_picker import RunPicker
from tests.helpers import NotedApp, notifications, run_app, run_cli, snapshot, wait_for

FILES = (
    "config.toml",
    "summary.json",
    "metrics",  # the metrics store (a folder): damaged whole, or one of its files
    "metrics/format.json",
    "metrics/loss-000000.f32",
    "metrics/events.jsonl",
    "metrics.jsonl",  # an older rnntui's log beside the store
    "checkpoint.npz",
    LOCK_FILE,
)
KINDS = ("missing", "truncate", "garbage", "flip", "types", "fifo", "directory")
PER_EPOCH, EPOCHS = 200, 2
TOTAL = PER_EPOCH * EPOCHS
CALL_TIMEOUT_S = 120.0
FUZZ = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)

# Config documents that parse but hold wrong types, or valid values that do not fit the checkpoint.
CONFIG_VARIANTS = (
    '[model]\nstate_size = "four"\n',
    "name = 5\n",
    "task = 5\n",
    "[[model]]\ncell = 1\n",
    "[train]\nepochs = inf\n",
    "",  # every default: another data size and batch than the checkpoint's
)
CHECKPOINT_VARIANTS = (
    "meta-value",  # a meta field holds any JSON value
    "meta-missing",
    "meta-floats",  # the meta record stored as floats
    "meta-step",  # a step that is not the epoch and window
    "meta-window",  # a window past the end of the epoch
    "meta-epoch",  # an epoch past the last one: nothing to resume
    "shape",
    "dtype-int8",
    "dtype-bool",
    "dtype-complex",
    "dtype-str",
    "extra",
    "dropped",
)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A run of 2 epochs stopped at about step 260 (mid-epoch: it holds a carried state)."""
    config = apply_overrides(
        load_preset("echo-raw-5"),
        ["task.size=20000", "train.batch_size=20", "train.chunk=20", f"train.epochs={EPOCHS}"],
    )
    run = RunFolder.create(config, tmp_path_factory.mktemp("template"))

    def on_event(event: Any) -> None:
        if isinstance(event, Progress) and event.step >= 260:
            trainer.stop()

    trainer = Trainer(config, on_event, run=run)
    with pytest.MonkeyPatch.context() as patch:
        # progress after every chunk, so the stop lands at step 260 however fast the machine is
        # (at the default interval a quick machine reported only the two epoch ends)
        patch.setattr(trainer_module, "EMIT_INTERVAL_S", 0.0)
        summary = trainer.run()
    assert summary["stopped"] and 0 < summary["steps"] < TOTAL, summary
    assert run.read_checkpoint().window > 0
    return run.path


# --- damage --------------------------------------------------------------------------------------


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def wrong_types(name: str, original: bytes, variant: int, value: Any) -> bytes:
    text = json.dumps(value)
    if name == "config.toml":
        return CONFIG_VARIANTS[variant % len(CONFIG_VARIANTS)].encode()
    if name == "summary.json":
        return (
            text.encode()
            if variant % 2
            else json.dumps({"steps": value, "final_loss": value}).encode()
        )
    if name == "metrics/format.json" and original:
        fields = json.loads(original)
        fields[sorted(fields)[variant % len(fields)]] = value
        return json.dumps(fields).encode()
    if name == "metrics/loss-000000.f32":  # losses no run logs: inf, NaN, the largest float32
        losses = np.frombuffer(original[: len(original) // 4 * 4], "<f4").copy()
        bad = np.array([np.inf, -np.inf, np.nan, 3.4e38, -0.0], np.float32)
        losses[variant % max(1, len(losses)) :: 7] = bad[variant % len(bad)]
        return losses.tobytes()
    if name.endswith(".jsonl"):
        lines = original.splitlines(keepends=True)
        lines.insert(variant % (len(lines) + 1), (text + "\n").encode())
        return b"".join(lines)
    if name == LOCK_FILE:
        return json.dumps({"pid": value, "host": value, "started": value}).encode()
    return damaged_checkpoint(
        original, CHECKPOINT_VARIANTS[variant % len(CHECKPOINT_VARIANTS)], value
    )


def damaged_checkpoint(original: bytes, variant: str, value: Any) -> bytes:
    """A well-formed npz whose content is wrong in one way."""
    if not original.startswith(b"PK"):
        return original  # already not an archive: another damage came first
    with np.load(io.BytesIO(original)) as npz:
        arrays = {key: npz[key] for key in npz.files}
    meta = json.loads(arrays["meta"].tobytes())
    first = sorted(k for k in arrays if k != "meta")[0]
    if variant == "meta-value":
        meta[sorted(meta)[zlib.crc32(json.dumps(value).encode()) % len(meta)]] = value
    elif variant == "meta-missing":
        meta.pop("window")
    elif variant == "meta-step":
        meta["step"] += 1
    elif variant == "meta-window":
        meta["window"] = PER_EPOCH
    elif variant == "meta-epoch":
        meta["epoch"] = EPOCHS + 3
    elif variant == "shape":
        arrays[first] = np.zeros((3,), np.float32)
    elif variant.startswith("dtype-"):
        kind = variant.removeprefix("dtype-")
        arrays[first] = arrays[first].astype({"str": "U3"}.get(kind, kind))
    elif variant == "extra":
        arrays["bogus"] = np.zeros(2)
    elif variant == "dropped":
        del arrays[first]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    if variant == "meta-floats":
        arrays["meta"] = arrays["meta"].astype(np.float64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def apply_damage(run: Path, name: str, kind: str, param: Any) -> None:
    path = run / name
    if not path.parent.is_dir():  # inside a folder an earlier damage replaced
        return
    try:
        original = path.read_bytes() if stat.S_ISREG(path.lstat().st_mode) else b""
    except FileNotFoundError:
        original = b""
    remove(path)
    if kind == "missing":
        return
    if kind == "fifo":
        os.mkfifo(path)
        return
    if kind == "directory":
        path.mkdir()
        (path / "inside").write_text("x")
        return
    if kind == "truncate":
        data = original[: int(len(original) * param[0])]
    elif kind == "garbage":
        data = param[1]
    elif kind == "flip":
        flipped = bytearray(original)
        for position in param[2] if flipped else ():
            flipped[position % len(flipped)] ^= 0xFF
        data = bytes(flipped)
    else:
        data = wrong_types(name, original, param[3], param[4])
    path.write_bytes(data)


params = st.tuples(
    st.floats(0, 1),
    st.binary(max_size=64),
    st.lists(st.integers(0, 2**20), min_size=1, max_size=4),
    st.integers(0, 100),
    json_values,
)
damages = st.lists(
    st.tuples(st.sampled_from(FILES), st.sampled_from(KINDS), params), min_size=1, max_size=2
)


# --- what must hold ------------------------------------------------------------------------------


def let_fifo_users_go(folder: Path) -> None:
    """Open every FIFO both ways without blocking: a reader or writer stuck on it returns."""
    for path in folder.rglob("*"):
        if stat.S_ISFIFO(path.lstat().st_mode):
            for flags in (os.O_RDONLY, os.O_WRONLY):
                try:
                    os.close(os.open(path, flags | os.O_NONBLOCK))
                except OSError:
                    pass


def within(seconds: float, folder: Path, call: Callable[[], Any]) -> Any:
    """`call()` in a thread; a hang (a FIFO opened without care) fails instead of stalling."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as error:  # noqa: BLE001 - re-raised below, in the test's thread
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        let_fifo_users_go(folder)
        thread.join(10)
        pytest.fail(f"hung for {seconds:.0f} s on {sorted(p.name for p in folder.rglob('*'))}")
    if "error" in box:
        raise box["error"]
    return box["value"]


runner = CliRunner()


def cli(args: list[str], folder: Path) -> Any:
    result = within(CALL_TIMEOUT_S, folder, lambda: runner.invoke(cli_app, args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}"
    )
    assert "Traceback" not in result.output
    return result


def check_runs_lists_it(run: Path) -> None:
    result = cli(["runs", "--runs-dir", str(run.parent)], run)
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert line.startswith(run.name), line


def good_rows(run: Path) -> dict[int, float]:
    """The steps and losses the run holds: in its store when that can be read, else in an
    older rnntui's metrics.jsonl."""
    if (run / "metrics").is_dir():
        try:
            with MetricsReader(run / "metrics") as reader:
                return {
                    int(s): float(v)
                    for p in reader.iter_points()
                    for s, v in zip(p.step.tolist(), p.loss.tolist(), strict=True)
                }
        except (OSError, ValueError):
            return {}
    path = run / "metrics.jsonl"
    if not path.is_file():
        return {}
    return {row["step"]: row["loss"] for row in read_metrics(path)}


def check_resume(run: Path) -> None:
    """Exit 2 with one line and nothing changed, or exit 0 and a sound finished run."""
    # the lock is run-time state, not the run's data
    before, rows_before = snapshot(run, leave_out=[LOCK_FILE]), good_rows(run)
    result = cli(["train", "--resume", run.name, "--runs-dir", str(run.parent)], run)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("rnntui: "), (
            result.stderr
        )
        assert snapshot(run, leave_out=[LOCK_FILE]) == before, result.stderr
        return
    info = describe_run(run)
    assert not info.damaged and info.steps == TOTAL, info
    assert RunFolder(run).read_checkpoint().step == TOTAL
    rows = good_rows(run)
    steps = list(rows)
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    resumed_from = min(s for s in range(TOTAL + 1) if set(range(s + 1, TOTAL + 1)) <= set(steps))
    for step, loss in rows_before.items():  # every step it had (up to the checkpoint) is kept
        if step <= resumed_from:
            assert rows.get(step) == loss, step
    assert not list(run.glob(".*.tmp")) and not (run / LOCK_FILE).exists()


# --- the properties ------------------------------------------------------------------------------


@pytest.mark.slow
@FUZZ
@given(damages)
def test_damaged_run_folders_list_and_resume_cleanly(template, tmp_path_factory, damage_list):
    run = tmp_path_factory.mktemp("fuzz") / "runs" / template.name
    shutil.copytree(template, run)
    for name, kind, param in damage_list:
        apply_damage(run, name, kind, param)
    try:
        check_runs_lists_it(run)
        check_resume(run)
    finally:
        let_fifo_users_go(run)


def matrix() -> list[tuple[str, str, tuple]]:
    """One damage of every kind to every file, then every wrong-types case of the config and the
    checkpoint (each fails fast: they cost no training)."""
    cases = []
    for i, name in enumerate(FILES):
        for j, kind in enumerate(KINDS):
            param = (0.5, b"\x00garbage\xff" * (i + 1), [7 * i + j, 1000 + j], i * 7 + j, [j, "x"])
            cases.append((name, kind, param))
    for name, variants in (
        ("config.toml", CONFIG_VARIANTS),
        ("checkpoint.npz", CHECKPOINT_VARIANTS),
    ):
        cases += [(name, "types", (0, b"", [0], k, "x")) for k in range(len(variants))]
    return cases


@pytest.fixture(scope="module")
def damaged_runs(template, tmp_path_factory) -> Path:
    """A runs folder holding one copy of the good run per (file, damage) case, plus the good one."""
    root = tmp_path_factory.mktemp("matrix") / "runs"
    shutil.copytree(template, root / f"{template.name}-good")
    for number, (name, kind, param) in enumerate(matrix()):
        run = root / f"{template.name}-{number:02d}-{name.replace('/', '-')}-{kind}"
        shutil.copytree(template, run)
        apply_damage(run, name, kind, param)
    return root


@pytest.mark.slow
def test_every_kind_of_damage_resumes_cleanly_or_not_at_all(damaged_runs):
    listed = run_cli("runs", "--runs-dir", str(damaged_runs), timeout=60)  # the real CLI
    assert listed.returncode == 0 and not listed.stderr, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == sorted(p.name for p in damaged_runs.iterdir())
    for line in lines:  # a folder whose config or summary cannot be read says so
        name = line.split()[0]
        unreadable = any(f"-{k}" in name for k in ("garbage", "flip", "fifo", "directory"))
        if ("config.toml" in name or "summary.json" in name) and unreadable:
            assert "damaged: " in line, line
    for run in sorted(damaged_runs.iterdir()):
        try:
            check_resume(run)
        except AssertionError as error:
            raise AssertionError(f"{run.name}: {error}") from None


def test_the_app_lists_and_loads_every_damaged_run(damaged_runs):
    """`l` lists every folder; each one it offers loads or says why not, and the app carries on.

    Through the pilot for the good run and each damaged metrics log (the only damage that
    changes what loading reads); `load_past_run`, the worker's own call, for every offered row.
    """
    names = {p.name for p in damaged_runs.iterdir()}
    app = NotedApp(load_preset("echo-raw-5"), runs_dir=damaged_runs)

    async def scenario(app, pilot) -> None:
        await pilot.press("l")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, RunPicker)
        assert {info.name for info in picker.rows} == names
        options = picker.query_one("#run-list")
        offered = [
            i for i, _ in enumerate(picker.rows) if not options.get_option_at_index(i).disabled
        ]
        assert offered, "even the good run cannot be loaded"
        for index in offered:
            message = load_past_run(picker.rows[index])
            assert (message.curve is None) == bool(message.error), message.error
        through_the_ui = [
            i for i in offered if "metrics" in picker.rows[i].name or "good" in picker.rows[i].name
        ]
        for index in through_the_ui:
            if not isinstance(app.screen, RunPicker):
                await pilot.press("l")
                await pilot.pause()
            heard = len(notifications(app))
            app.screen.query_one("#run-list").highlighted = index
            await pilot.press("enter")
            answer = f"an answer for row {index}"  # "Run loaded" or "Cannot load"
            await wait_for(pilot, lambda heard=heard: len(notifications(app)) > heard, 20, answer)
        await pilot.pause()
        assert app.is_running and len(app.chart.comparison) >= 1

    within(CALL_TIMEOUT_S * 2, damaged_runs, lambda: run_app(scenario, app, (100, 30)))
