"""The metrics store of long runs (rnntui/runs/store/), on real files:
what the chart reads against a brute-force computation on the same losses, torn tails, old
metrics.jsonl files, a reader beside a writer in another process (killed with SIGKILL, too),
truncation for a resume, a full disk (a tmpfs, else RLIMIT_FSIZE) and the CSV export.

Most tests use a small format (blocks of 16 steps, level-2 blocks of 64, files of 1,024 steps,
the latest 2,048 kept per step) so that a few thousand steps cover every part of the store.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rnntui.runs.curves import comparison_curve, smooth
from rnntui.runs.lock import RunLock
from rnntui.runs.metrics import read_knobs, read_metrics
from rnntui.runs.store import binning as binning_module
from rnntui.runs.store import reader as reader_module
from rnntui.runs.store.binning import chart_edges
from rnntui.runs.store.events import events_offset
from rnntui.runs.store.export import write_csv
from rnntui.runs.store.follow import MetricsFollower
from rnntui.runs.store.format import (
    EVENTS_FILE,
    RECORD,
    STORE_DIR,
    blocks_name,
    list_segments,
    segment_name,
)
from rnntui.runs.store.opening import open_metrics
from rnntui.runs.store.reader import MetricsReader, mean_chart
from rnntui.runs.store.writer import MetricsWriter
from tests.helpers import REPO
from tests.unit.metrics_child import SMALL, SMALL_KEEP, synthetic


def small_writer(store: Path, **kwargs) -> MetricsWriter:
    return MetricsWriter(
        store, new_format=SMALL, keep_steps=SMALL_KEEP, flush_interval=0.0, **kwargs
    )


def write_chunks(writer: MetricsWriter, losses: np.ndarray, seed: int = 0) -> None:
    """Append `losses` after the writer's last step in chunks of random sizes."""
    rng = np.random.default_rng(seed)
    done = 0
    start = writer.steps
    while done < len(losses):
        size = int(rng.integers(1, 200))
        writer.append_steps(start + done, losses[done : done + size], 0, (start + done) / 1000)
        done += size


def brute_force(losses: np.ndarray, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Per non-empty bin, from every step's loss (NaN: none): what the chart must show."""
    finite = np.isfinite(losses)
    line = np.full(len(losses), np.nan)
    line[finite] = smooth(losses[finite].astype(float))  # the chart's own smoothing
    out: dict[str, list] = {k: [] for k in ("x", "count", "mean", "min", "max", "last", "smooth")}
    for first, last in zip(edges[:-1], edges[1:], strict=True):
        values = losses[first:last]
        keep = np.isfinite(values)
        if not keep.any():
            continue
        out["x"].append(last)
        out["count"].append(keep.sum())
        out["mean"].append(values[keep].astype(float).mean())
        out["min"].append(values[keep].min())
        out["max"].append(values[keep].max())
        out["last"].append(values[keep][-1])
        out["smooth"].append(line[first:last][keep].mean())
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def assert_bins_match(
    reader: MetricsReader, losses: np.ndarray, bins: int, per_step: bool | None = None, **span
) -> None:
    got = reader.chart(bins, per_step=per_step, **span)
    edges = reader.edges(bins, **span)
    want = brute_force(losses, edges)
    assert len(got) == len(want["x"]) > 0
    np.testing.assert_array_equal(got.x, want["x"])
    np.testing.assert_array_equal(got.count, want["count"])
    np.testing.assert_array_equal(got.min, want["min"])  # min, max, last: bit for bit
    np.testing.assert_array_equal(got.max, want["max"])
    np.testing.assert_array_equal(got.last, want["last"])
    np.testing.assert_allclose(got.mean, want["mean"], rtol=1e-12)
    np.testing.assert_allclose(got.smoothed, want["smooth"], rtol=1e-9)


def child(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.unit.metrics_child", *args]


def child_env() -> dict[str, str]:
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def legacy_lines(first: int, losses: np.ndarray, epoch: int, wall: float) -> str:
    """Lines as RunFolder.append_metrics wrote them before the store."""
    return "".join(
        f'{{"step": {first + i + 1}, "epoch": {epoch}, "loss": {float(v)!r}, "wall_s": {wall!r}}}\n'
        for i, v in enumerate(losses)
    )


# --- what the chart reads -------------------------------------------------------------------------


@pytest.mark.parametrize("bins", [1, 7, 300, 1000, 50_000])
@pytest.mark.parametrize("per_step", [None, True, False], ids=["auto", "per-step", "per-bin"])
def test_chart_bins_equal_a_brute_force_computation(tmp_path, monkeypatch, bins, per_step):
    """Every way of reading the kept steps: all of them (in pieces of 1,000 here), or only those
    at the ends of each bin (as a chart of wide bins over millions of kept steps reads)."""
    monkeypatch.setattr(binning_module, "VECTOR_STEPS", 1000)  # several pieces here
    monkeypatch.setattr(reader_module, "VECTOR_STEPS", 1000)
    losses = synthetic(0, 20_000)
    losses[[5, 17, 18, 4000, 19_999]] = np.nan  # steps without a loss (a skipped stretch)
    losses[9000:9100] = np.nan
    writer = small_writer(tmp_path / STORE_DIR)
    write_chunks(writer, losses)
    writer.close()
    with MetricsReader(tmp_path / STORE_DIR) as reader:
        assert reader.steps == 20_000
        assert reader.raw_from > 10_000  # most of the run is in blocks only
        assert_bins_match(reader, losses, bins, per_step=per_step)
        # a zoomed view; one of kept steps only
        assert_bins_match(reader, losses, bins, start=3000, end=15_000, per_step=per_step)
        assert_bins_match(reader, losses, bins, start=reader.raw_from + 5, per_step=per_step)


def test_a_kept_run_is_charted_as_comparison_curve_draws_it(tmp_path):
    losses = synthetic(0, 12_345)
    writer = MetricsWriter(tmp_path / STORE_DIR, flush_interval=0.0)
    write_chunks(writer, losses)
    writer.close()
    want = comparison_curve("run", smooth(losses.astype(float)))
    with MetricsReader(tmp_path / STORE_DIR) as reader:
        got = reader.chart(1000).as_curve("run")
    assert got.steps == want.steps
    np.testing.assert_allclose(got.losses, want.losses, rtol=1e-9)


def test_the_edges_are_the_charts_own_until_only_blocks_are_left():
    np.testing.assert_array_equal(
        chart_edges(1000, 300, 0, 512), np.linspace(0, 1000, 301).astype(int)
    )
    edges = chart_edges(100_000, 10, 50_000, 512)
    assert all(e % 512 == 0 for e in edges if e < 50_000)
    assert edges[-1] == 100_000 and 60_000 in edges


def test_mean_of_runs_of_different_lengths(tmp_path):
    runs = [synthetic(0, 9000), synthetic(0, 5000) * 2]
    readers = []
    for i, losses in enumerate(runs):
        writer = small_writer(tmp_path / str(i) / STORE_DIR)
        write_chunks(writer, losses, seed=i)
        writer.close()
        readers.append(MetricsReader(tmp_path / str(i) / STORE_DIR))
    bins, seen = mean_chart(readers, 100)
    for reader in readers:
        reader.close()
    assert seen == 2
    edges = chart_edges(9000, 100, max(r.raw_from for r in readers), SMALL.block)
    sums, counts = np.zeros(9000), np.zeros(9000)
    for losses in runs:
        sums[: len(losses)] += losses
        counts[: len(losses)] += 1
    want = [sums[a:b].sum() / counts[a:b].sum() for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_allclose(bins.mean, want, rtol=1e-9)
    assert bins.count.sum() == 14_000


# --- torn tails and crashes -----------------------------------------------------------------------


def test_a_torn_tail_is_skipped_and_cut_off_by_the_next_writer(tmp_path):
    store = tmp_path / STORE_DIR
    losses = synthetic(0, 5000)
    writer = small_writer(store)
    write_chunks(writer, losses)
    writer.append_knob(5000, "learning_rate", 0.5)
    writer.close()
    newest = store / segment_name(list_segments(store)[-1])
    with open(newest, "ab") as f:  # what a kill -9 mid-write can leave: part of each append
        f.write(b"\x01\x02")
    with open(store / blocks_name(SMALL.block), "ab") as f:
        f.write(b"\x00" * 7)
    with open(store / EVENTS_FILE, "ab") as f:
        f.write(b'{"step": 5001, "kind": "kn')
    with MetricsReader(store) as reader:
        assert reader.steps == 5000
        assert reader.knobs() == [{"step": 5000, "knob": "learning_rate", "value": 0.5}]
        assert_bins_match(reader, losses, 100)
    writer = small_writer(store)  # repairs, then appends after step 5000
    more = synthetic(5000, 3000)
    write_chunks(writer, more)
    writer.append_knob(8000, "clip_norm", 1.0)
    writer.close()
    with MetricsReader(store) as reader:
        assert reader.steps == 8000
        assert [k["step"] for k in reader.knobs()] == [5000, 8000]
        assert_bins_match(reader, np.concatenate([losses, more]), 300)


def test_blocks_lost_behind_the_losses_are_recomputed(tmp_path):
    """A kill between writing the losses and their blocks: readers compute the missing blocks
    from the losses; the next writer writes them."""
    store = tmp_path / STORE_DIR
    losses = synthetic(0, 3000)
    writer = small_writer(store)
    write_chunks(writer, losses)
    writer.close()
    for size in (SMALL.block, SMALL.block * SMALL.level2):
        path = store / blocks_name(size)
        os.truncate(path, os.path.getsize(path) // 2 // RECORD.itemsize * RECORD.itemsize)
    with MetricsReader(store) as reader:
        assert_bins_match(reader, losses, 50)
    small_writer(store).close()
    assert (
        os.path.getsize(store / blocks_name(SMALL.block)) == 3000 // SMALL.block * RECORD.itemsize
    )


def test_kill_9_loses_at_most_the_last_second(tmp_path):
    store = tmp_path / STORE_DIR
    process = subprocess.Popen(
        child("append", str(store), "60", "40", "1.0", "0.001"),
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=REPO,
    )
    appended: list[tuple[float, int]] = []
    try:
        assert process.stdout is not None
        while not appended or appended[-1][0] - appended[0][0] < 3.5:
            line = process.stdout.readline()
            assert line, "the writer stopped"
            when, steps = line.split()
            appended.append((float(when), int(steps)))
        process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
    finally:
        process.kill()
        process.wait()
    with MetricsReader(store) as reader:
        kept = reader.steps
        before = [steps for when, steps in appended if when <= killed - 1.05]
        assert kept >= before[-1], (kept, before[-1])  # all but the last second is there
        assert kept <= appended[-1][1] + 40
        np.testing.assert_array_equal(reader.losses(0, kept), synthetic(0, kept))
        assert reader.chart(300).count.sum() == kept


# --- a reader beside a live writer ----------------------------------------------------------------


def test_readers_while_another_process_appends(tmp_path):
    """A follower streams every step exactly once, in order, while the writer (another process)
    appends and deletes its oldest loss files; each fresh reader's chart is exact."""
    store = tmp_path / STORE_DIR
    process = subprocess.Popen(
        child("append", str(store), "5", "23", "0.05", "0.01", "small"),
        stdout=subprocess.DEVNULL,
        env=child_env(),
        cwd=REPO,
    )
    follower = MetricsFollower(tmp_path)
    followed = []
    knobs = []
    charts = 0
    try:
        while process.poll() is None or follower.position < _steps(store):
            update = follower.poll(max_steps=5000)
            assert not update.restarted
            assert update.first_step == sum(len(x) for x in followed)
            followed.append(update.losses)
            knobs += [e for e in update.events if e["kind"] == "knob"]
            with MetricsReader(store) as reader:
                if reader.steps:
                    losses = synthetic(0, reader.steps)
                    assert_bins_match(reader, losses, 160)
                    steps, tail = reader.tail(500)
                    np.testing.assert_array_equal(tail, losses[steps - 1])
                    charts += 1
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0
    got = np.concatenate(followed)
    assert min(list_segments(store)) > 0  # the oldest loss files were deleted meanwhile
    np.testing.assert_array_equal(got, synthetic(0, len(got)))
    assert charts > 10 and len(knobs) > 2
    assert [k["step"] for k in knobs] == sorted(k["step"] for k in knobs)


def _steps(store: Path) -> int:
    with MetricsReader(store) as reader:
        return reader.steps


# --- old run folders: metrics.jsonl ---------------------------------------------------------------


def write_legacy(run: Path) -> np.ndarray:
    losses = synthetic(0, 3000)
    text = legacy_lines(0, losses[:1200], 0, 0.5)
    text += json.dumps({"step": 1200, "knob": "learning_rate", "value": 0.01}) + "\n"
    text += "not json\n" + '{"step": 1201, "epoch": 0, "loss": nan, "wall_s": 1.0}\n'
    text += legacy_lines(1201, losses[1201:], 1, 2.25)
    text += '{"step": 3001, "epoch": 1, "lo'  # torn by a crash
    run.mkdir(parents=True, exist_ok=True)
    (run / "metrics.jsonl").write_text(text)
    losses[1200] = np.nan
    return losses


def test_an_old_metrics_jsonl_converts_once_and_reads_as_before(tmp_path):
    run = tmp_path / "run"
    losses = write_legacy(run)
    rows = read_metrics(run / "metrics.jsonl")  # how it read before the store
    knobs = read_knobs(run / "metrics.jsonl")
    with open_metrics(run) as reader:
        assert not (run / "metrics.jsonl").exists() and (run / STORE_DIR).is_dir()
        steps, kept = reader.tail(10_000)
        assert steps.tolist() == [row["step"] for row in rows]
        assert kept.tolist() == [np.float32(row["loss"]) for row in rows]
        assert reader.knobs() == knobs
        assert_bins_match(reader, losses, 1000)
        assert reader.last_mark().wall_s == 2.25
    mtime = (run / STORE_DIR / "format.json").stat().st_mtime_ns
    with open_metrics(run) as reader:  # converted once: opened as it is now
        assert reader.steps == 3000
    assert (run / STORE_DIR / "format.json").stat().st_mtime_ns == mtime
    # the rows read through the old function, from the store
    assert [(r["step"], np.float32(r["loss"])) for r in read_metrics(run / "metrics.jsonl")] == [
        (r["step"], np.float32(r["loss"])) for r in rows
    ]
    assert read_metrics(run / "metrics.jsonl", knobs=True)[1200] == knobs[0]


def test_a_live_old_run_is_read_without_touching_its_folder(tmp_path):
    run = tmp_path / "run"
    losses = write_legacy(run)
    before = (run / "metrics.jsonl").read_bytes()
    with RunLock(run):  # an older rnntui trains it
        with open_metrics(run) as reader:
            assert_bins_match(reader, losses, 300)
            temp = reader.store.parent
        assert not temp.exists()  # the temporary store is gone with the reader
    assert (run / "metrics.jsonl").read_bytes() == before
    assert sorted(p.name for p in run.iterdir()) == ["metrics.jsonl"]


def test_steps_an_older_rnntui_logged_after_a_converted_run_are_merged(tmp_path):
    run = tmp_path / "run"
    write_legacy(run)
    open_metrics(run).close()  # converted
    resumed = synthetic(2000, 500) + 1  # the older rnntui resumed from step 2000
    (run / "metrics.jsonl").write_text(legacy_lines(2000, resumed, 1, 9.0))
    with open_metrics(run) as reader:
        assert reader.steps == 2500
        np.testing.assert_array_equal(reader.losses(2000, 2500), resumed)
    assert not (run / "metrics.jsonl").exists()


def test_a_follower_reads_an_old_live_log(tmp_path):
    path = tmp_path / "metrics.jsonl"
    losses = synthetic(0, 100)
    path.write_text(legacy_lines(0, losses[:60], 0, 1.0) + '{"step": 61, "ep')
    follower = MetricsFollower(tmp_path)
    first = follower.poll()
    assert first.first_step == 0 and len(first.losses) == 60
    with open(path, "a") as f:
        f.write('och": 0, "loss": ' + repr(float(losses[60])) + ', "wall_s": 2.0}\n')
        f.write(legacy_lines(61, losses[61:], 0, 2.5))
    second = follower.poll()
    assert second.first_step == 60 and second.mark is not None and second.mark.wall_s == 2.5
    np.testing.assert_array_equal(np.concatenate([first.losses, second.losses]), losses)
    path.write_text(legacy_lines(0, losses[:10], 0, 1.0))  # a resume truncated it
    third = follower.poll()
    assert third.restarted and third.first_step == 0 and len(third.losses) == 10


# --- resume ---------------------------------------------------------------------------------------


def test_truncate_for_a_resume(tmp_path):
    store = tmp_path / STORE_DIR
    losses = synthetic(0, 9000)
    writer = small_writer(store)
    write_chunks(writer, losses[:4000])
    writer.pin(4000)  # a checkpoint: what follows it stays per step until it is superseded
    writer.append_knob(3500, "learning_rate", 0.1)
    writer.append_knob(4000, "learning_rate", 0.2)
    write_chunks(writer, losses[4000:])
    writer.append_knob(8000, "learning_rate", 0.3)
    writer.flush()
    assert min(list_segments(store)) * SMALL.segment <= 4000 < 9000 - SMALL_KEEP
    follower = MetricsFollower(tmp_path, from_step=8500)
    assert len(follower.poll().losses) == 500

    writer.truncate(4000)
    assert writer.steps == 4000
    with MetricsReader(store) as reader:
        assert reader.steps == 4000
        assert [k["value"] for k in reader.knobs()] == [0.1, 0.2]
        assert_bins_match(reader, losses[:4000], 300)
    update = follower.poll()
    assert update.restarted and update.first_step == 4000 and not len(update.losses)

    again = synthetic(4000, 2000) * 3  # the steps after the checkpoint, trained again
    write_chunks(writer, again)
    writer.close()
    update = follower.poll()
    assert not update.restarted and update.first_step == 4000
    np.testing.assert_array_equal(update.losses, again)
    with MetricsReader(store) as reader:
        assert_bins_match(reader, np.concatenate([losses[:4000], again]), 200)


def test_truncate_into_the_blocks_loses_only_part_of_one_block(tmp_path):
    """Without a checkpoint to keep them, old steps are in blocks only; a truncation there
    (which a resume never asks for) keeps the whole blocks before the step."""
    store = tmp_path / STORE_DIR
    losses = synthetic(0, 8000)
    writer = small_writer(store)
    write_chunks(writer, losses)
    assert writer.flush() is None and min(list_segments(store)) * SMALL.segment > 1000
    writer.truncate(1000)
    write_chunks(writer, losses[1000:2000])
    writer.close()
    with MetricsReader(store) as reader:
        assert reader.steps == 2000
        kept = losses[:2000].copy()
        kept[1000 // SMALL.block * SMALL.block : 1000] = np.nan
        assert_bins_match(reader, kept, 100)


# --- a full disk ----------------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(path: Path) -> Iterator[int | None]:
    """A 64 KiB tmpfs at `path` (root), else None: then RLIMIT_FSIZE stands in for it."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", path], capture_output=True
    )
    if mounted.returncode != 0:
        yield None
        return
    try:
        yield errno.ENOSPC
    finally:
        subprocess.run(["umount", "-l", path], capture_output=True)


def test_a_full_disk_raises_oserror_and_keeps_what_was_written(tmp_path):
    disk = tmp_path / "disk"
    with small_disk(disk) as code:
        limit = [] if code else ["20000"]  # bytes per file
        result = subprocess.run(
            child("fill", str(disk / STORE_DIR), *limit),
            capture_output=True,
            text=True,
            env=child_env(),
            cwd=REPO,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr  # close() did not raise
        error, flushed = map(int, result.stdout.split())
        assert error == (code or errno.EFBIG)
        with MetricsReader(disk / STORE_DIR) as reader:
            assert reader.steps >= flushed > 1000
            losses = synthetic(0, reader.steps)
            np.testing.assert_array_equal(reader.tail(500)[1], losses[-500:])
            assert_bins_match(reader, losses, 100)


# --- exporting ------------------------------------------------------------------------------------


def test_the_csv_export_streams_every_stored_point(tmp_path):
    store = tmp_path / STORE_DIR
    losses = synthetic(0, 10_000)
    losses[9990] = np.nan
    writer = small_writer(store)
    write_chunks(writer, losses)
    writer.close()
    out = io.StringIO()
    with MetricsReader(store) as reader:
        rows = write_csv(reader, out, 'run "a", 1')
        raw_from = reader.raw_from
    table = list(csv.reader(io.StringIO(out.getvalue())))
    assert table[0] == ["curve", "step", "loss", "steps", "min", "max"]
    assert len(table) - 1 == rows == raw_from // SMALL.block + (10_000 - raw_from - 1)
    assert {row[0] for row in table[1:]} == {'run "a", 1'}
    blocks = [row for row in table[1:] if row[3] != "1"]
    steps = [row for row in table[1:] if row[3] == "1"]
    assert len(blocks) == raw_from // SMALL.block
    for row in blocks[:50]:
        end = int(row[1])
        block = losses[end - SMALL.block : end]
        assert float(row[2]) == pytest.approx(block.astype(float).mean(), rel=1e-8)
        assert np.float32(row[4]) == block.min() and np.float32(row[5]) == block.max()
    kept = np.array([np.float32(row[2]) for row in steps])
    want = losses[raw_from:]
    np.testing.assert_array_equal(kept, want[np.isfinite(want)])


def test_a_late_follower_reads_only_the_events_after_its_step(tmp_path):
    store = tmp_path / STORE_DIR
    writer = small_writer(store)
    writer.append_steps(0, synthetic(0, 100_000), 0, 1.0)
    for step in range(1, 100_001):
        writer.append_knob(step, "learning_rate", step / 1e5)
    writer.close()
    follower = MetricsFollower(tmp_path, from_step=98_000)
    update = follower.poll(max_steps=20_000)
    assert not update.restarted
    assert [e["step"] for e in update.events] == list(range(98_001, 100_001))
    np.testing.assert_array_equal(update.losses, synthetic(98_000, 2000))
    size = (store / EVENTS_FILE).stat().st_size
    with open(store / EVENTS_FILE, "rb") as handle:  # it skipped (nearly) all the earlier ones
        assert events_offset(handle.fileno(), size, 98_000) > 0.95 * size


def test_a_store_that_lost_its_loss_files_goes_on_from_its_blocks(tmp_path):
    store = tmp_path / STORE_DIR
    losses = synthetic(0, 3000)
    writer = small_writer(store)
    write_chunks(writer, losses)
    writer.close()
    for index in list_segments(store):
        (store / segment_name(index)).unlink()
    writer = small_writer(store)
    assert writer.steps == 3000 // SMALL.block * SMALL.block
    more = synthetic(writer.steps, 500)
    write_chunks(writer, more)
    writer.close()
    with MetricsReader(store) as reader:
        assert reader.steps == 2992 + 500 and reader.raw_from == 2992
        np.testing.assert_array_equal(reader.losses(2992, 3492), more)
        assert_bins_match(reader, np.concatenate([losses[:2992], more]), 100)


def test_a_store_begun_late_starts_at_its_first_step(tmp_path):
    """A resume whose metrics were lost (or a Ray task's fresh folder) logs from the checkpoint's
    step on, millions of steps in: empty blocks before it (40 bytes per 512 steps), no losses."""
    store = tmp_path / STORE_DIR
    first = 3_000_000
    losses = synthetic(first, 1500)
    writer = MetricsWriter(store, flush_interval=0.0)
    writer.append_steps(first, losses[:100], 0, 1.0)
    write_chunks(writer, losses[100:])
    writer.close()
    assert sum(p.stat().st_size for p in store.iterdir()) < 8 << 20
    with MetricsReader(store) as reader:
        assert reader.steps == first + 1500
        np.testing.assert_array_equal(reader.tail(1500)[1], losses)
        everything = np.concatenate([np.full(first, np.nan, np.float32), losses])
        assert_bins_match(reader, everything, 300, start=first - 10_000)
        assert int(reader.chart(1000).count.sum()) == 1500
