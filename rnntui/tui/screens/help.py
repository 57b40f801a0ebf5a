"""Keys and panes, generated from the app's own bindings so it never goes stale."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from rnntui.tui.screens.dialog import Dialog

PANES = """\
[b]Settings[/b]  every value of the run; a bad value is flagged under its field with the reason and
          Start stays disabled until it is fixed. Tab moves between fields, escape leaves one.
[b]Chart[/b]     loss per step (dim), its smoothed line (bright), the analytic loss levels (yellow:
          what a predictor knowing those lags reaches) and earlier runs (grey) to compare.
          Earlier runs of another task than the one shown are hidden, not cleared (their
          losses are on another scale); they come back with their task. c clears them.
[b]Data[/b]      the first samples the network sees, the lags Y depends on, and the measured
          probabilities beside the theoretical ones.
[b]Inspect[/b]   one LSTM cell stepped along your input: gates i, f, g, o and state c, h per unit,
          recomputed in NumPy. After training an LSTM it uses the trained first layer.
[b]Probe[/b]     what the network learned (v): the effect of X[t-k] on P(Y_t=1) per lag k, ◀ at the
          task's true effect; G switches to the gradient reach, |d loss_t / d x_t-k| with the
          run's truncation (zero from num_steps on) beside full backpropagation. Measured
          while training, a few times a second at most; `rnntui probe RUN` prints the same.
[b]Knobs[/b]     k changes the learning rate or gradient clip of a running run from the next chunk;
          each change is a mark on the chart and a row in the run's metrics and summary.
          b trains the same settings with another cell beside it (A/B); m cycles the chart's
          smoothing: EMA, moving average, raw points.
[b]System[/b]    CPU, memory of the app and of each run's process, disk free, GPUs (y); sampled
          once a second while it shows. `rnntui runs --watch` prints the same.
[b]Status[/b]    state, epoch, step, smoothed loss, speed, time left and the TensorFlow device.
[b]Runs[/b]      every run is saved in a run folder (Settings → Run): config, metrics, summary and
          checkpoints; continue one with `rnntui train --resume NAME`. l adds a past run's curve
          to the chart; e writes the chart's curves to a CSV file (curve,step,loss) in the
          current folder. Closing the terminal or kill stops a run with a checkpoint."""


def key_label(binding: Binding) -> str:
    return binding.key_display or binding.key.split(",")[0]


class HelpScreen(Dialog[None]):
    """Every key of the app with what it does, and what each pane shows."""

    BINDINGS = [
        Binding("escape,question_mark,f1,q", "dismiss", "Close"),
    ]

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        tabs = [b for b in self.bindings if b.action.startswith("show_pane")]
        for binding in self.bindings:
            if binding in tabs:
                if binding is tabs[0]:  # one row for the tab keys
                    titles = " / ".join(b.description.removesuffix(" tab") for b in tabs)
                    keys = f"{key_label(tabs[0])}-{key_label(tabs[-1])}"
                    table.add_row(keys, Text(f"{titles} tabs (on a small terminal)"))
                continue
            if binding.description:
                text = Text(binding.description)
                if binding.tooltip:
                    text.append(f" — {binding.tooltip}", style="dim")
                table.add_row(key_label(binding), text)
        table.add_row("ctrl+p", Text("command palette: every action by name"))
        with VerticalScroll(id="dialog", classes="dialog help"):
            yield Label("rnntui — keys", classes="dialog-title")
            yield Static(table)
            yield Label("Panes", classes="dialog-title")
            yield Static(PANES)
            yield Label("escape closes this help", classes="dialog-hint")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
