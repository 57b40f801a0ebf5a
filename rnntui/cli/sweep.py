"""`rnntui sweep` and `rnntui sweeps`: validation, the live progress view and the final table.

Nothing here imports TensorFlow or Ray at module level (`rnntui --help` must stay instant).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from typer.core import TyperCommand

from rnntui.cli.main import app, check_notify, fail
from rnntui.cli.options import (
    NotifyOption,
    OverridesOption,
    PresetArgument,
    SweepsDirOption,
    json_option,
)
from rnntui.config import Config, ConfigError
from rnntui.sessions.signals import ignore_stop_signals
from rnntui.util import exit_codes
from rnntui.util.atomic_write import target_name

LOCAL_RAY = "local"  # `--ray` with no address: a running local Ray, else a new one
TTY_INTERVAL_S = 0.2
PLAIN_INTERVAL_S = 5.0


class SweepCommand(TyperCommand):
    """`--ray` takes an optional address: a bare `--ray` (last, or before another option) means
    a local Ray. Typer has no optional option values, so the bare form is rewritten here."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = list(args)
        for i, arg in enumerate(args):
            if arg == "--":
                break
            if arg == "--ray" and (i + 1 == len(args) or args[i + 1].startswith("-")):
                args[i] = f"--ray={LOCAL_RAY}"
        return super().parse_args(ctx, args)


@dataclass(frozen=True)
class SweepRequest:
    """The `rnntui sweep` command line, parsed."""

    preset: str
    grid: list[str]
    seeds: int = 1
    workers: int | None = None
    ray: str | None = None
    name: str | None = None
    runs_dir: Path | None = None
    overrides: list[str] | None = None
    prune: bool = False
    as_json: bool = False
    order: str = "longest"  # runs handed out longest first, or "grid" (as listed, seed-major)

    def continue_command(self) -> str:
        """The same sweep again: it skips finished runs and resumes the stopped ones."""
        parts = ["rnntui", "sweep", self.preset]
        for text in self.overrides or []:
            parts += ["--set", text]
        for text in self.grid:
            parts += ["--grid", text]
        if self.seeds != 1:
            parts += ["--seeds", str(self.seeds)]
        if self.workers:
            parts += ["--workers", str(self.workers)]
        if self.ray:
            parts += ["--ray"] + ([] if self.ray == LOCAL_RAY else [self.ray])
        if self.name:
            parts += ["--name", self.name]
        if self.runs_dir:
            parts += ["--runs-dir", str(self.runs_dir)]
        if self.prune:
            parts.append("--prune")
        return shlex.join(parts)


def run_sweep(request: SweepRequest, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Validate everything, run the sweep, print the table; returns the exit code.

    Raises ConfigError (one line, exit 2) for any bad input before a run starts, SweepError
    (one line, exit 1) when the sweep's own files cannot be written (a full disk): the runs
    keep their last checkpoints, and the same command continues.
    """
    from rnntui.sweep.pool import SweepError

    try:
        return _run_sweep(request, out or sys.stdout, err or sys.stderr)
    except OSError as error:
        where = target_name(error.filename) if error.filename else "the sweep folder"
        reason = (error.strerror or type(error).__name__).lower()
        raise SweepError(
            f"cannot write {where} ({reason}); the runs keep their last checkpoints; "
            f"continue with: {request.continue_command()}"
        ) from None


def _run_sweep(request: SweepRequest, out: TextIO, err: TextIO) -> int:
    from rnntui.config import apply_overrides, load_preset
    from rnntui.sessions.signals import stop_on_signals
    from rnntui.sweep import ceiling
    from rnntui.sweep.folder import SweepFolder, default_sweeps_dir
    from rnntui.sweep.grid import SweepDefinition, default_name, parse_grid
    from rnntui.sweep.pool import LocalPool, default_workers, sweep_gpus
    from rnntui.sweep.runner import SweepRunner
    from rnntui.sweep.table import build_table, format_table

    if request.seeds < 1:
        raise ConfigError(f"{request.seeds} is not allowed; use 1 or more seeds", source="--seeds")
    if request.workers is not None and request.workers < 1:
        raise ConfigError(f"{request.workers} is not allowed; use 1 or more", source="--workers")
    base = apply_overrides(load_preset(request.preset), request.overrides or [])
    grid = parse_grid(request.grid)
    if not grid and request.seeds == 1:
        raise ConfigError(
            "nothing to sweep; give --grid KEY=V1,V2,... or --seeds N with N of 2 or more",
            source="--grid",
        )
    name = request.name or default_name(base, grid)
    if not name.strip() or "/" in name or name in (".", ".."):
        raise ConfigError(
            f"'{name}' cannot be a folder name; use letters, digits, - and _", source="--name"
        )
    definition = SweepDefinition(name, request.preset, base, grid, request.seeds)
    specs = definition.specs()  # every combination validated before anything starts

    backend: Any
    if request.ray:
        from rnntui.sweep.ray_backend import RayBackend

        backend = RayBackend.connect(request.ray, request.workers)  # fails fast, one line
        workers = backend.workers
        # this machine's ceiling says nothing of a cluster's machines
        known = ceiling.known() if backend.local else None
    else:
        gpus = sweep_gpus(base.train.device)
        workers = request.workers or default_workers(gpus)
        known = None if gpus else ceiling.known()  # a CPU figure: says nothing of GPU runs
    with contextlib.ExitStack() as guard:
        try:
            status = SweepFolder((request.runs_dir or default_sweeps_dir()) / name).read_status()
            if status.get("state") in ("running", "stopping") and status.get("pid") != os.getpid():
                raise ConfigError(
                    f"sweep '{name}' is running already (pid {status['pid']}); wait for it, or "
                    "stop it with Ctrl+C there (or kill -INT), then run this again",
                    source="sweep",
                )
            folder = SweepFolder.open(definition, request.runs_dir)
            records = folder.records(specs)
            jobs = [job for record in records if (job := folder.prepare(record)) is not None]
            if not jobs:  # nothing to train: show the table as it stands, and write nothing
                return show_ended_sweep(request, folder, records, out, err)
            retried = sum(record.state == "failed" for record in records)
            if not request.ray:
                workers = min(workers, len(jobs)) or 1
                # two CPU workers measure the ceiling once per machine, after the runs (ceiling.py)
                measure = workers >= 2 and not gpus and ceiling.wanted()
                backend = LocalPool(workers, folder.path / "logs", gpus, ceiling=measure)
            view = SweepView(err, enabled=not request.as_json)
            runner = SweepRunner(
                folder, records, jobs, prune=request.prune,
                backend="ray" if request.ray else "local", workers=workers, view=view,
                order=request.order, ceiling=known,
            )  # fmt: skip
            view.start(runner, len(specs) - len(jobs), retried)
            runner.write_status("running")  # with our pid: a second invocation will not start
            if jobs:

                def last_words() -> None:  # a second Ctrl+C: the workers checkpoint on their own
                    runner.write_status("stopped")
                    print(
                        f"stopped at once; runs that were training save a checkpoint as their "
                        f"workers end. Continue with: {request.continue_command()}",
                        file=err,
                        flush=True,
                    )

                # until the table and status are written: a second Ctrl+C meanwhile exits at once
                guard.enter_context(stop_on_signals(runner.request_stop, last_words=last_words))
                backend.run(runner)
            view.close()
        finally:
            if request.ray:
                backend.close()

        records = [runner.with_outcome(record) for record in folder.records(specs)]
        runner.finish()
        pruned, performance = folder.read_pruned(), runner.performance()
        table = build_table(name, str(folder.path), records, pruned, runner.wall_s, performance)
        folder.write_results(table)
        runner.write_status("stopped" if runner.stopping else "finished")
        print(json.dumps(table) if request.as_json else format_table(table), file=out, flush=True)
        if runner.stopping:
            stopped = runner.count("stopped", "queued")
            print(
                f"stopped; {stopped} run(s) not finished (running ones saved checkpoints). "
                f"Continue with: {request.continue_command()}",
                file=err,
                flush=True,
            )
            return exit_codes.INTERRUPTED
        if any(row["failed"] for row in table["rows"]):
            return exit_codes.TRAINING_FAILED
        return exit_codes.OK


def show_ended_sweep(
    request: SweepRequest, folder: Any, records: list[Any], out: TextIO, err: TextIO
) -> int:
    """A sweep whose every run has ended: its table (from the run folders, with the wall time
    the sweep took) and the exit code it had; nothing in the folder is rewritten."""
    from rnntui.sweep.table import build_table, format_table

    stored = folder.read_results() or {}
    wall_s = stored.get("wall_s") if isinstance(stored, dict) else None
    table = build_table(folder.name, str(folder.path), records, folder.read_pruned(), wall_s)
    if not request.as_json:
        print(f"sweep {folder.name}: all {len(records)} run(s) already ended", file=err)
    print(json.dumps(table) if request.as_json else format_table(table), file=out, flush=True)
    if any(row["failed"] for row in table["rows"]):
        return exit_codes.TRAINING_FAILED
    return exit_codes.OK


class SweepView:
    """One line per run, redrawn in place on a terminal; on a pipe, a line per state change and
    a status block every few seconds."""

    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = enabled and stream.isatty()
        self.drawn = 0
        self.last = 0.0
        self.states: dict[str, str] = {}
        self.runner: Any = None
        self.label_width = 0
        self.step_width = 7
        self.notices = 0  # the runner's notices written so far

    def start(self, runner: Any, already_done: int, retried: int = 0) -> None:
        self.runner = runner
        self.states = {name: run.state for name, run in runner.runs.items()}
        self.label_width = max((len(_short(run.label)) for run in runner.runs.values()), default=0)
        if not self.enabled:
            return
        todo, name = len(runner.jobs), runner.folder.name
        where = f"{runner.workers} worker(s)" + (" on Ray" if runner.backend == "ray" else "")
        done = f"; {already_done} already ended" if already_done else ""
        again = f" ({retried} that failed before, tried again)" if retried else ""
        self._write(f"sweep {name}: {todo} run(s) on {where}{again}{done}")

    def __call__(self, runner: Any) -> None:
        if not self.enabled:
            return
        for notice in runner.notices[self.notices :]:
            self._write(notice)
        self.notices = len(runner.notices)
        now = time.monotonic()
        if self.tty:
            if now - self.last >= TTY_INTERVAL_S:
                self.last = now
                self._redraw(runner)
            return
        for name, run in runner.runs.items():  # a plain line for each state change
            if self.states.get(name) != run.state:
                self.states[name] = run.state
                self._write(f"[{runner.wall_s:7.1f}s] {self._line(run)}")
        if now - self.last >= PLAIN_INTERVAL_S:
            self.last = now
            running = [run for run in runner.runs.values() if run.state == "running"]
            self._write(f"[{runner.wall_s:7.1f}s] {self._counts(runner)}")
            for run in running:
                self._write(f"    {self._line(run)}")

    def close(self) -> None:
        if self.tty and self.runner is not None:
            self._redraw(self.runner)  # the final states stay on screen above the table

    def _counts(self, runner: Any) -> str:
        order = ("running", "paused", "queued", "finished", "failed", "pruned", "stopped")
        parts = [f"{runner.count(state)} {state}" for state in order if runner.count(state)]
        return ", ".join(parts) + f"  ({runner.wall_s:.1f} s)"

    def _line(self, run: Any) -> str:
        label = _short(run.label).ljust(self.label_width)
        head = f"{label + '  ' if label.strip() else ''}seed {run.seed:<2}"
        step = f"step {run.step:>{self.step_width},}/{run.total:,}" if run.total else ""
        loss = f"loss {run.loss:.4f}" if run.loss is not None and run.state == "running" else ""
        if run.state in ("finished", "done") and run.metric is not None:
            loss = f"result {run.metric:.4f}"
        note = run.message if run.state in ("failed", "queued") and run.message else ""
        worker = f"[{run.worker}]" if run.worker and run.state == "running" else ""
        return "  ".join(p for p in (head, step, loss, run.state, worker, note) if p)

    def _redraw(self, runner: Any) -> None:
        size = shutil.get_terminal_size((100, 24))
        runs = list(runner.runs.values())
        room = max(3, size.lines - 3)
        if len(runs) > room:  # the live ones first, then whatever changed last
            rank = {"running": 0, "failed": 1, "stopped": 2, "pruned": 2}
            runs = sorted(runs, key=lambda r: (rank.get(r.state, 3), -r.changed))[: room - 1]
        lines = [f"sweep {runner.folder.name}: {self._counts(runner)}"]
        lines += [self._line(run) for run in runs]
        text = f"\x1b[{self.drawn}F" if self.drawn else ""
        text += "".join("\x1b[2K" + line[: size.columns - 1] + "\n" for line in lines)
        if len(lines) < self.drawn:
            text += "\x1b[J"
        self.drawn = len(lines)
        self._raw(text)

    def _write(self, line: str) -> None:
        if self.tty and self.drawn:  # keep the live block below the message
            self._raw(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0
        self._raw(line + "\n")

    def _raw(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError:  # the terminal is gone (an SSH drop): the sweep folder has everything
            self.enabled = False


def _short(label: str) -> str:
    """`train.num_steps=2, model.cell="gru"` -> `num_steps=2, cell="gru"`."""
    for section in ("train.", "model.", "task."):
        label = label.replace(section, "")
    return label


def list_sweeps_text(runs_dir: Path | None) -> str:
    """The lines of `rnntui sweeps`."""
    from rnntui.sweep.folder import list_sweeps

    rows = list_sweeps(runs_dir)
    if not rows:
        return "no sweeps yet; start one with `rnntui sweep PRESET --grid KEY=V1,V2 --seeds N`"
    width = max(len(row.name) for row in rows)
    lines = []
    for row in rows:
        done = f"{row.finished}/{row.runs} done" + (f", {row.failed} failed" if row.failed else "")
        lines.append(
            f"{row.name:<{width}}  {row.date}  {row.state:<11}  {done:<16}  {row.preset}  "
            f"{row.grid}  seeds {row.seeds}"
        )
    return "\n".join(lines)


@app.command(cls=SweepCommand)
def sweep(
    preset: PresetArgument,
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
    as_json: Annotated[bool, json_option("Print the table as one JSON line, no progress.")] = False,
    notify: NotifyOption = None,
) -> None:
    """Train every --grid combination x seed and print one table. Ctrl+C stops with checkpoints."""
    from rnntui.sweep.pool import SweepError

    check_notify(Config(), notify)
    if notify:  # every run of the sweep alerts: --notify is its base config's alerts.url
        overrides = [*(overrides or []), f"alerts.url={json.dumps(notify)}"]
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
    if code == exit_codes.INTERRUPTED:  # saved: a Ctrl+C pressed again as it exits changes nothing
        ignore_stop_signals()
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
