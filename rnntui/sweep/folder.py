"""The sweep folder: a definition and ordinary run folders under it.

<sweeps>/<name>/
    sweep.toml      name, preset, seeds, the grid and the fingerprint of base + grid
    base.toml       the resolved preset (with --set): a loadable preset itself
    runs/<run>/     one ordinary run folder per combination x seed (`rnntui runs --runs-dir`)
    status.json     the sweep's state (running with its pid / finished / stopped) and, while it
                    runs, each run's step and loss, rewritten about once a second
    pruned.json     configurations stopped by --prune: at which epoch, their value, the median
    results.json    the table, as `rnntui sweep --json` prints it
    results.csv     the same table as CSV
    logs/           the workers' stderr (TensorFlow's C++ logs, a crash's traceback)
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnntui.config import Config, ConfigError, dumps_toml, load_file
from rnntui.runs.files import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    METRICS_STORE,
    SUMMARY_FILE,
    default_runs_dir,
)
from rnntui.runs.folder import RunFolder
from rnntui.runs.lock import process_is_rnntui
from rnntui.sweep.grid import RunSpec, SweepDefinition
from rnntui.util.atomic_write import atomic_write_text

if TYPE_CHECKING:
    from rnntui.runs.store.binning import ChartBins

SWEEP_FILE = "sweep.toml"
BASE_FILE = "base.toml"
RUNS_DIR = "runs"
STATUS_FILE = "status.json"
PRUNED_FILE = "pruned.json"
RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"

# run states; "finished" and "pruned" are final, "stopped" resumes, "pending" starts, "failed"
# is tried again when the sweep runs again (from its checkpoint, if it has one)
FINAL_STATES = ("finished", "pruned")


def default_sweeps_dir() -> Path:
    """Beside the default runs folder: `~/.local/share/rnntui/sweeps` on Linux."""
    return default_runs_dir().parent / "sweeps"


@dataclass(frozen=True)
class Job:
    """A run handed to a worker (pickled to a process, or shipped to a Ray task)."""

    name: str
    path: str  # the run folder on the launching machine
    config: Config
    resume: bool  # continue from the folder's checkpoint
    label: str
    seed: int


@dataclass
class RunRecord:
    """A run of the sweep as its folder shows it."""

    spec: RunSpec
    path: Path
    state: str  # pending | stopped | finished | failed | pruned | busy (trained elsewhere)
    summary: dict[str, Any] | None


def run_state(path: Path, config: Config) -> tuple[str, dict[str, Any] | None]:
    """What a run folder holds: (state, summary or None)."""
    if not (path / CONFIG_FILE).is_file():
        return "pending", None
    summary = None
    with contextlib.suppress(OSError, ValueError):
        summary = json.loads((path / SUMMARY_FILE).read_text(encoding="utf-8"))
    if isinstance(summary, dict):
        if summary.get("failed"):
            return "failed", summary
        done = summary.get("epochs", 0) >= config.train.epochs and not summary.get("stopped")
        metric = summary.get("test_error_pct", summary.get("final_loss"))
        if done and metric is not None:
            return "finished", summary
    if (path / CHECKPOINT_FILE).is_file():
        return "stopped", summary
    return "pending", None


class SweepFolder:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.runs_path = self.path / RUNS_DIR

    # --- creating and loading -------------------------------------------------------------------

    @classmethod
    def open(cls, definition: SweepDefinition, root: Path | None = None) -> SweepFolder:
        """Create the sweep's folder, or reopen it if it holds the same sweep (same fingerprint)."""
        folder = cls((Path(root) if root else default_sweeps_dir()) / definition.name)
        if (folder.path / SWEEP_FILE).exists():
            existing = folder.read_header()
            if existing.get("fingerprint") != definition.fingerprint():
                raise ConfigError(
                    f"a different sweep named '{definition.name}' exists in {folder.path.parent} "
                    "(another preset, --set or --grid); choose another --name",
                    source="--name",
                )
        folder.runs_path.mkdir(parents=True, exist_ok=True)
        _write_if_changed(folder.path / BASE_FILE, definition.base.to_toml())
        header = {
            "name": definition.name,
            "preset": definition.preset,
            "seeds": definition.seeds,  # may grow: running again with more seeds extends a sweep
            "fingerprint": definition.fingerprint(),
            "created": folder.read_header().get("created")
            if (folder.path / SWEEP_FILE).exists()
            else datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            # quoted keys: "train.num_steps" stays one key instead of a nested table
            "grid": {json.dumps(key): values for key, values in definition.grid.items()},
        }
        _write_if_changed(folder.path / SWEEP_FILE, dumps_toml(header))
        return folder

    @classmethod
    def find(cls, name_or_path: str, root: Path | None = None) -> SweepFolder:
        path = Path(name_or_path).expanduser()
        if not (path / SWEEP_FILE).is_file():
            path = (Path(root) if root else default_sweeps_dir()) / name_or_path
        if not (path / SWEEP_FILE).is_file():
            raise ConfigError(
                f"no sweep folder '{name_or_path}'; see `rnntui sweeps`", source="--open"
            )
        return cls(path)

    @property
    def name(self) -> str:
        return self.path.name

    def read_header(self) -> dict[str, Any]:
        try:
            return tomllib.loads((self.path / SWEEP_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(
                f"unreadable ({type(error).__name__}); delete the folder or choose another --name",
                source=str(self.path / SWEEP_FILE),
            ) from None

    def definition(self) -> SweepDefinition:
        header = self.read_header()
        base: Config = load_file(self.path / BASE_FILE)
        return SweepDefinition(
            name=str(header.get("name", self.name)),
            preset=str(header.get("preset", base.name)),
            base=base,
            grid={key: list(values) for key, values in header.get("grid", {}).items()},
            seeds=int(header.get("seeds", 1)),
        )

    # --- runs -----------------------------------------------------------------------------------

    def run_path(self, spec: RunSpec) -> Path:
        return self.runs_path / spec.name

    def records(self, specs: list[RunSpec] | None = None) -> list[RunRecord]:
        specs = specs if specs is not None else self.definition().specs()
        pruned = self.read_pruned()
        records = []
        for spec in specs:
            path = self.run_path(spec)
            state, summary = run_state(path, spec.config)
            if spec.label in pruned and state not in ("finished", "failed"):
                state = "pruned"
            elif state not in FINAL_STATES and RunFolder(path).live_owner() is not None:
                state = "busy"  # another process trains it (e.g. `rnntui train --resume`)
            records.append(RunRecord(spec, path, state, summary))
        return records

    def refresh(self, record: RunRecord) -> RunRecord:
        """The record again, as the run's folder shows it now."""
        return self.records([record.spec])[0]

    def prepare(self, record: RunRecord) -> Job | None:
        """The job that brings a run to its end, or None when it has ended (or was pruned)."""
        if record.state in (*FINAL_STATES, "busy"):
            return None
        spec, path = record.spec, record.path
        resume = record.state == "stopped" or (
            record.state == "failed" and (path / CHECKPOINT_FILE).is_file()
        )
        if not resume:  # nothing to continue from: start afresh, dropping any partial files
            path.mkdir(parents=True, exist_ok=True)
            for stale in (METRICS_FILE, SUMMARY_FILE):
                with contextlib.suppress(FileNotFoundError):
                    (path / stale).unlink()
            shutil.rmtree(path / METRICS_STORE, ignore_errors=True)
            RunFolder(path).save_config(spec.config)
        return Job(spec.name, str(path), spec.config, resume, spec.label, spec.seed)

    def mean_curve(self, runs: list[str], points: int = 1000) -> tuple[ChartBins, int]:
        """The mean loss over `runs` (each step over the runs that reached it, so a live
        sweep's curve grows) and its smoothed line, as ChartBins of at most `points` bins read
        from the runs' stores (a few thousand records each, however long); and how many of
        them have logged any step."""
        from rnntui.runs.store.opening import has_metrics, open_metrics
        from rnntui.runs.store.reader import mean_chart

        readers = []
        try:
            for name in runs:
                path = self.runs_path / name
                if has_metrics(path):
                    with contextlib.suppress(OSError, ValueError):
                        readers.append(open_metrics(path))
            return mean_chart(readers, points)
        finally:
            for reader in readers:
                reader.close()

    # --- pruning, status, results ---------------------------------------------------------------

    def read_pruned(self) -> dict[str, dict[str, Any]]:
        return _read_json(self.path / PRUNED_FILE) or {}

    def write_pruned(self, pruned: dict[str, dict[str, Any]]) -> None:
        atomic_write_text(self.path / PRUNED_FILE, json.dumps(pruned, indent=2) + "\n")

    def read_status(self) -> dict[str, Any]:
        """The recorded status; a sweep whose driver is gone reads as "interrupted"."""
        status = _read_json(self.path / STATUS_FILE) or {}
        if status.get("state") == "running" and not _alive(status.get("pid")):
            status["state"] = "interrupted"
        return status

    def write_status(self, status: dict[str, Any]) -> None:
        atomic_write_text(self.path / STATUS_FILE, json.dumps(status) + "\n")

    def read_results(self) -> dict[str, Any] | None:
        return _read_json(self.path / RESULTS_JSON)

    def write_results(self, table: dict[str, Any]) -> None:
        atomic_write_text(self.path / RESULTS_JSON, json.dumps(table, indent=2) + "\n")
        atomic_write_text(self.path / RESULTS_CSV, results_csv(table))


def results_csv(table: dict[str, Any]) -> str:
    """One line per configuration: its grid values, then the aggregate columns."""
    rows = table.get("rows", [])
    keys = list(rows[0]["config"]) if rows else []
    columns = ["metric", "mean", "std", "seeds", "failed", "pruned", "pruned_at_epoch", "pending"]
    columns += ["steps_per_s", "wall_s", "runs"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*keys, *columns])
    for row in rows:
        cells = [_cell(row["config"][key]) for key in keys]
        cells += [_cell(row.get(column)) for column in columns[:-1]]
        cells.append(" ".join(row["runs"]))
        writer.writerow(cells)
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _write_if_changed(path: Path, text: str) -> None:
    """Running a sweep again that has nothing to do must leave its folder as it was."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if path.read_text(encoding="utf-8") == text:
            return
    atomic_write_text(path, text)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _alive(pid: Any) -> bool:
    """Whether the sweep's launching process still runs (not just some process with its pid)."""
    return isinstance(pid, int) and pid > 0 and process_is_rnntui(pid)


@dataclass(frozen=True)
class SweepInfo:
    """A row of `rnntui sweeps`."""

    name: str
    path: Path
    preset: str
    grid: str
    seeds: int
    runs: int
    finished: int
    failed: int
    state: str
    date: str


def list_sweeps(root: Path | None = None) -> list[SweepInfo]:
    """Every sweep folder under `root`, oldest first; a damaged one is reported, never fatal."""
    root = Path(root) if root else default_sweeps_dir()
    if not root.is_dir():
        return []
    rows = []
    for path in sorted(p for p in root.iterdir() if (p / SWEEP_FILE).is_file()):
        folder = SweepFolder(path)
        date = datetime.fromtimestamp((path / SWEEP_FILE).stat().st_mtime).strftime(
            "%Y-%m-%d %H:%M"
        )
        try:
            definition = folder.definition()
            records = folder.records(definition.specs())
        except ConfigError as error:
            rows.append(
                SweepInfo(path.name, path, "?", f"damaged: {error.reason}", 0, 0, 0, 0, "?", date)
            )
            continue
        states = [record.state for record in records]
        grid = " ".join(
            f"{key}={','.join(json.dumps(v) for v in values)}"
            for key, values in definition.grid.items()
        )
        rows.append(
            SweepInfo(
                name=path.name,
                path=path,
                preset=definition.preset,
                grid=grid or "-",
                seeds=definition.seeds,
                runs=len(records),
                finished=states.count("finished"),
                failed=states.count("failed"),
                state=folder.read_status().get("state", "new"),
                date=date,
            )
        )
    return rows
