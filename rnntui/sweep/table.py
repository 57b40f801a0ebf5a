"""The sweep's result: one row per configuration, the metric's mean ± std over its seeds.

The metric is the task's headline (`Task.headline`): the final loss (the mean loss over the last
10 % of the final epoch) or a metric such as count's test error, with the task's analytic
baselines beside it when it has any. The std is the sample standard deviation (ddof=1) over the
finished seeds: undefined (None, shown as –) for a single seed.

Under the rows, one line says how well the sweep used its workers (its parallel efficiency, see
runner.py) against what two processes can give on this machine (its ceiling, see ceiling.py), and
suggests fewer workers when they mostly waited.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from rnntui.sweep.folder import RunRecord

FINAL_LOSS = "final_loss"
PERFORMANCE_KEYS = ("workers", "train_s", "startup_s", "efficiency", "ceiling")
LOW_EFFICIENCY = 0.75  # below this, see whether fewer workers would have done as well


def headline(kind: object) -> str:
    """The summary key that ranks runs of a task kind (final_loss for a kind not known here)."""
    from rnntui.tasks.registry import REGISTRY, task_class

    return task_class(kind).headline if isinstance(kind, str) and kind in REGISTRY else FINAL_LOSS


def metric_of(summary: dict[str, Any]) -> tuple[str, float | None]:
    """(metric key, value) of a run summary: its task's headline."""
    key = headline(summary.get("task"))
    return key, summary.get(key)


def epoch_value(kind: str, metrics: dict[str, float]) -> float | None:
    """The headline as an epoch end measured it (None in an epoch that did not evaluate it)."""
    key = headline(kind)
    return metrics.get("tail_loss" if key == FINAL_LOSS else key)


def metric_format(key: str) -> tuple[str, str, str]:
    """(label, format spec, unit) of a headline key, from the task that reports it."""
    from rnntui.tasks.registry import TASK_KINDS, task_metrics

    for kind in TASK_KINDS:
        for metric in task_metrics(kind):
            if metric.key == key:
                return metric.label, metric.spec, metric.unit
    return key.replace("_", " "), ".4f", ""


def build_table(
    name: str,
    folder: str,
    records: list[RunRecord],
    pruned: dict[str, dict[str, Any]] | None = None,
    wall_s: float | None = None,
    performance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `--json` object: {"sweep", "folder", "wall_s", "workers", "train_s", "startup_s",
    "efficiency", "ceiling", "rows": [...]}, rows in grid order. `performance` is
    `SweepRunner.performance()` (or a status.json holding it); without it those keys are null."""
    pruned = pruned or {}
    groups: dict[str, list[RunRecord]] = {}
    for record in records:
        groups.setdefault(record.spec.label, []).append(record)
    rows = []
    for label, group in groups.items():
        finished = [r for r in group if r.state == "finished" and r.summary]
        values = [v for v in (metric_of(r.summary)[1] for r in finished) if v is not None]
        metric = headline(group[0].spec.config.task.kind)
        mean = statistics.fmean(values) if values else None
        std = statistics.stdev(values) if len(values) > 1 else None  # undefined for one seed
        baselines = next((r.summary.get("baselines") for r in finished if r.summary), None)
        rows.append(
            {
                "config": dict(group[0].spec.values),
                "metric": metric,
                "mean": _round(mean),
                "std": _round(std),
                "seeds": len(values),
                "failed": sum(r.state == "failed" for r in group),
                "runs": [r.spec.name for r in group],
                "pruned": sum(r.state == "pruned" for r in group),
                "pruned_at_epoch": pruned.get(label, {}).get("epoch"),
                "pending": sum(r.state in ("pending", "stopped", "busy") for r in group),
                "steps_per_s": _round(_mean(r.summary.get("steps_per_s") for r in finished), 1),
                "wall_s": _round(_mean(r.summary.get("wall_s") for r in finished), 2),
                "baselines": baselines or {},
                "errors": {r.spec.name: r.summary["failed"] for r in group if r.state == "failed"},
            }
        )
    performance = performance or {}
    return {
        "sweep": name,
        "folder": folder,
        "wall_s": _round(wall_s, 2),
        **{key: performance.get(key) for key in PERFORMANCE_KEYS},
        "rows": rows,
    }


def _mean(values: Any) -> float | None:
    numbers = [v for v in values if isinstance(v, int | float) and math.isfinite(v)]
    return statistics.fmean(numbers) if numbers else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def nearest_baseline(mean: float | None, baselines: dict[str, float]) -> str:
    """`≈ lag 3 +0.0012`: the analytic level the mean sits nearest, and how far above it."""
    if mean is None or not baselines:
        return ""
    label, value = min(baselines.items(), key=lambda item: abs(item[1] - mean))
    return f"≈ {label} {mean - value:+.4f}"


def format_spread(row: dict[str, Any]) -> str:
    """`0.5200 ± 0.0031`, `0.5200 ± –` for one seed (no sample std), `-` with no finished seed."""
    if row["mean"] is None:
        return "-"
    _, spec, unit = metric_format(row["metric"])
    std = "–" if row["std"] is None else f"{row['std']:{spec}}"
    return f"{row['mean']:{spec}} ± {std}{unit}"


def format_table(table: dict[str, Any]) -> str:
    """The table for people: a line per configuration, then the baselines and any failures."""
    rows = table["rows"]
    if not rows:
        return "no runs"
    head = [
        "config",
        "metric",
        "mean ± std",
        "seeds",
        "failed",
        "vs baselines",
        "steps/s",
        "wall s",
    ]
    lines = []
    for row in rows:
        label = ", ".join(f"{key.split('.')[1]}={_value(v)}" for key, v in row["config"].items())
        mean = row["mean"]
        metric_label = metric_format(row["metric"])[0]
        spread = format_spread(row)
        notes = []
        if row["pruned"]:
            notes.append(f"pruned at epoch {row['pruned_at_epoch']} ({row['pruned']} run(s))")
        if row["pending"]:
            notes.append(f"{row['pending']} not finished")
        lines.append(
            [
                label or "(preset)",
                metric_label,
                spread,
                str(row["seeds"]),
                str(row["failed"] or "-"),
                nearest_baseline(mean, row["baselines"]) if row["metric"] == FINAL_LOSS else "",
                f"{row['steps_per_s']:,.0f}" if row["steps_per_s"] is not None else "-",
                f"{row['wall_s']:.1f}" if row["wall_s"] is not None else "-",
                "  ".join(notes),
            ]
        )
    widths = [max(len(head[i]), *(len(line[i]) for line in lines)) for i in range(len(head))]
    right = {3, 4, 6, 7}

    def fmt(cells: list[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells[: len(head)])
        ]
        return ("  ".join(parts) + ("  " + cells[-1] if len(cells) > len(head) else "")).rstrip()

    out = [fmt(head), *(fmt(line) for line in lines)]
    shared = {tuple(row["baselines"].items()) for row in rows if row["baselines"]}
    if len(shared) == 1:
        levels = "  ".join(
            f"{label} {value:.4f}" for label, value in dict(next(iter(shared))).items()
        )
        out.append(f"baselines: {levels}")
    for row in rows:
        for run, error in row["errors"].items():
            out.append(f"failed: {run}: {error}")
    out += performance_lines(table)
    return "\n".join(out)


def fewer_workers(table: dict[str, Any]) -> int | None:
    """The worker count that would likely have finished as soon, when the workers mostly
    waited; None when the count was right. Start-up (importing TensorFlow) does not count
    against the workers: fewer of them pay it just the same."""
    workers, efficiency = table.get("workers") or 0, table.get("efficiency")
    wall, trained = table.get("wall_s") or 0.0, table.get("train_s") or 0.0
    if workers <= 1 or efficiency is None or efficiency >= LOW_EFFICIENCY:
        return None
    running = wall - (table.get("startup_s") or 0.0)
    if running <= 0 or trained <= 0:
        return None
    at_once = trained / running  # runs training at once, on average, once the first had begun
    suggested = max(1, math.ceil(at_once - 0.05))
    return suggested if suggested < workers else None


def performance_brief(table: dict[str, Any]) -> str:
    """`efficiency 93 % of 2 workers · ceiling 1.38x` ('' when nothing ran)."""
    parts = []
    if table.get("efficiency") is not None:
        parts.append(f"efficiency {table['efficiency']:.0%} of {table['workers']} worker(s)")
    if table.get("ceiling") is not None:
        parts.append(f"ceiling {table['ceiling']:.2f}x")
    return " · ".join(parts)


def performance_lines(table: dict[str, Any]) -> list[str]:
    """The lines under the table: efficiency and ceiling, and fewer workers if they waited."""
    efficiency, ceiling = table.get("efficiency"), table.get("ceiling")
    lines = []
    if efficiency is not None:
        startup = table.get("startup_s")
        start = f", {startup:.1f} s of it starting them" if startup else ""
        line = (
            f"efficiency {efficiency:.0%}: {table['workers']} worker(s) trained "
            f"{table['train_s']:.1f} s in {table['wall_s']:.1f} s{start}"
        )
        lines.append(line)
        suggested = fewer_workers(table)
        if suggested is not None:
            lines.append(f"the workers often waited: --workers {suggested} would likely do as well")
    if ceiling is not None:
        lines.append(f"ceiling {ceiling:.2f}x: two trainings at once go that much faster than one")
    return lines


def _value(value: Any) -> str:
    return value if isinstance(value, str) else str(value).replace(" ", "")
