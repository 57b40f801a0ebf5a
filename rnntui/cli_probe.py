"""`rnntui probe` as text: the effect of each lagged input beside the truth, and gradient reach."""

from __future__ import annotations

from rnntui.engine.events import ProbeResult

BAR_WIDTH = 20  # characters for the largest |value|


def signed_bar(value: float, scale: float, width: int = BAR_WIDTH) -> str:
    """`value` as a bar of '+' or '-' out of `width` characters for |value| = scale."""
    cells = round(abs(value) / scale * width) if scale > 0 else 0
    return ("+" if value >= 0 else "-") * min(cells, width)


def format_probe(result: ProbeResult, run_name: str) -> str:
    lines = [
        f"{run_name}: step {result.step:,}, num_steps {result.num_steps}",
        "effect of X[t-lag] on P(Y_t = 1), the model's and the task's true one:",
        f"{'lag':>5}  {'model':>7}  {'true':>7}",
    ]
    scale = max([abs(e.effect) for e in result.lags] + [abs(e.true) for e in result.lags] + [0.1])
    for e in result.lags:
        bar = signed_bar(e.effect, scale)
        mark = "  <- a true lag" if e.true else ""
        lines.append(
            f"{e.lag:>5}  {e.effect:>+7.3f}  {e.true:>+7.3f}  {bar:<{BAR_WIDTH}}{mark}".rstrip()
        )
    if result.gradient_reach:
        lines += [
            "",
            f"gradient reach, mean |d loss_t / d x_(t-lag)|: truncated at {result.num_steps} "
            "steps, and full backpropagation",
            f"{'lag':>5}  {'truncated':>10}  {'full':>10}",
        ]
        for g in result.gradient_reach:
            lines.append(f"{g.lag:>5}  {g.truncated:>10.3g}  {g.full:>10.3g}")
    return "\n".join(lines)
