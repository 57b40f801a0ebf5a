"""The Textual app: layout, bindings, and routing messages to the panes.

Runs are not the app's business: a session (engine/session.py) owns each one — its run folder,
its trainer in a child process (`ChildSession`), its state. The session's events reach the app as
messages (posted from its reader thread, which is thread-safe) tagged with the run's number, and
the app turns them into widget updates on the UI thread. This process never imports TensorFlow:
the inspector, Generate and the hidden units use a helper process (`tf_process.py`), so the
first frame and every key never wait for it.

SIGTERM, SIGHUP and SIGINT stop the run with a checkpoint and exit (see `shutdown`); past runs can
be loaded into the chart and the shown curves exported as CSV.

While the probe pane shows, the trainer probes what the network learned a few times a second
(engine/probes.py); `k` changes the learning rate or gradient clip of a running run, `b` starts an
A/B companion run with another cell (tui/companion.py), `m` cycles the chart's smoothing.
"""

from __future__ import annotations

import functools
import gc
import signal
import threading
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.widgets import Input, Tab, Tabs

from rnntui import exit_codes
from rnntui.config import Config, ConfigError, load_file, save_preset
from rnntui.curves import knob_mark
from rnntui.engine.child_session import ChildSession
from rnntui.engine.events import Event
from rnntui.engine.followed_session import FollowedSession, NotLive
from rnntui.engine.session import RunState, Session, new_session
from rnntui.extras import missing_extra
from rnntui.tasks import task_class
from rnntui.tui import shutdown
from rnntui.tui.commands import RnnTuiCommands
from rnntui.tui.companion import AllDone, CompanionRun, companion_config
from rnntui.tui.curves_csv import FORMAT_NOTE, write_curves_csv
from rnntui.tui.live_views import INTERVAL_S, LiveViews
from rnntui.tui.messages import (
    CurvesExported,
    EpochFinished,
    KnobApplied,
    PastRunLoaded,
    ProbeUpdated,
    TensorFlowFailed,
    TensorFlowReady,
    TrainingFailed,
    TrainingFinished,
    TrainingPaused,
    TrainingProgress,
    TrainingResumed,
    TrainingStarted,
    message_for,
)
from rnntui.tui.past_runs import load_past_run
from rnntui.tui.screens.cell_picker import CellPicker
from rnntui.tui.screens.file_picker import FilePicker
from rnntui.tui.screens.help import HelpScreen
from rnntui.tui.screens.knob_dialog import KnobDialog
from rnntui.tui.screens.preset_picker import PresetPicker
from rnntui.tui.screens.run_picker import RunPicker
from rnntui.tui.screens.save_preset import SavePresetDialog
from rnntui.tui.widgets.app_footer import AppFooter
from rnntui.tui.widgets.dataset_preview import DatasetPreview
from rnntui.tui.widgets.generate_pane import GeneratePane
from rnntui.tui.widgets.hidden_units_view import HiddenUnitsView
from rnntui.tui.widgets.inspector_pane import InspectorPane, WeightsSource
from rnntui.tui.widgets.loss_chart import LossChart
from rnntui.tui.widgets.probe_pane import ProbePane
from rnntui.tui.widgets.settings_pane import SettingsPane
from rnntui.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from rnntui.engine.runs import RunInfo
    from rnntui.engine.trainer import Trainer
    from rnntui.tf_process import TensorFlowProcess


_ALWAYS_DONE = threading.Event()  # `training_done` before any run
_ALWAYS_DONE.set()
PANES = (
    ("settings", "Settings"),
    ("chart", "Chart"),
    ("data", "Data"),
    ("inspector", "Inspect"),
    ("generate", "Generate"),
    ("probe", "Probe"),
)
PROBE_INTERVAL_S = 0.25  # while the probe pane shows: as often as the chart redraws, at most


def while_running(handler: Callable) -> Callable:
    """A message handler that skips messages reaching the app while it shuts down (see
    `RnnTuiApp._shutting_down`): Textual stops running, then removes the screens and widgets
    while it still handles its queue, and a run's or a worker's late message found the screen
    stack empty (ScreenStackError from refresh_bindings) or a pane's children gone (NoMatches)
    and crashed the app on its way out (seen in tests and on a loaded CI box)."""

    @functools.wraps(handler)
    def guarded(self: RnnTuiApp, message: object) -> None:
        if not self._shutting_down():
            handler(self, message)

    return guarded


class RnnTuiApp(App[None]):
    """Train, watch and inspect small recurrent networks."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "rnntui"
    COMMANDS = App.COMMANDS | {RnnTuiCommands}
    # Below 120x36 the panes become tabs; above, they all show at once.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    PALETTE_BINDINGS = [
        Binding("s", "start", "Start", tooltip="train the current settings"),
        Binding("p", "pause", "Pause", tooltip="pause training"),
        Binding("p", "resume", "Resume", tooltip="resume training"),
        Binding("x", "stop", "Stop", tooltip="stop training (the run is kept)"),
        Binding("r", "reset", "Reset", tooltip="stop, clear the live curve, reload the preset"),
        Binding("o", "open_preset", "Open", tooltip="open a preset"),
        Binding("w", "save_preset", "Save", tooltip="save the settings as a preset"),
        Binding("i", "inspector", "Inspect", tooltip="step an LSTM cell: gates, c and h"),
        Binding("g", "generate", "Generate", tooltip="sample text from the model as it is"),
        Binding("v", "probe", "Probe", tooltip="what the network learned: effect per lag"),
        Binding("G", "probe_view", "Reach", tooltip="probe: lag effects or gradient reach"),
        Binding("k", "knobs", "Knobs", tooltip="change learning rate or clip while training"),
        Binding("b", "ab_run", "A/B", tooltip="the same run with another cell, overlaid"),
        Binding("m", "smoothing", "Smooth", tooltip="chart: EMA, moving average or raw"),
        Binding("l", "load_run", "Load run", tooltip="add a past run's curve to the chart"),
        Binding("a", "attach", "Attach", tooltip="follow a run training in another process"),
        Binding("d", "detach", "Detach", tooltip="leave the run training in the background"),
        Binding("e", "export_csv", "Export", tooltip="save the chart's curves as CSV"),
        Binding("c", "clear_comparison", "Clear", tooltip="remove earlier runs from the chart"),
        Binding("question_mark,f1", "help", "Help", key_display="?", tooltip="keys and panes"),
        Binding("q", "quit", "Quit", tooltip="stop training and exit"),
    ]
    BINDINGS = [
        Binding("escape", "leave_field", "Leave field", tooltip="so single keys work again"),
        *PALETTE_BINDINGS,
        *(
            Binding(str(n), f"show_pane('{pane}')", f"{title} tab", show=False)
            for n, (pane, title) in enumerate(PANES, start=1)
        ),
    ]

    # What builds a run's trainer; None = rnntui.engine.trainer.Trainer (imported on first use,
    # since it pulls in NumPy). Tests substitute a subclass.
    trainer_factory: Callable[..., Trainer] | None = None

    # On SIGTERM/SIGHUP/SIGINT, end the process if the normal exit stalls (see `shutdown`).
    # Pilot tests that send signals to their own process switch it off.
    exit_watchdog = True

    def __init__(
        self,
        config: Config | None = None,
        preset_name: str = "",
        runs_dir: Path | str | None = None,
        attach: str = "",
    ) -> None:
        """`attach` names a run (or its folder) to follow from the start."""
        super().__init__()
        self.attach_to = attach
        from rnntui.engine.runs import default_runs_dir  # here: it pulls in NumPy

        self.runs_dir = Path(runs_dir).expanduser() if runs_dir else default_runs_dir()
        self.runs_dir_given = runs_dir is not None
        self.tensorboard_problem = missing_extra("tensorboard")
        self.session: Session | None = None  # the current (or last) run
        self.tensorflow: TensorFlowProcess | None = None  # the inspector's TensorFlow
        self.signalled = ""  # the name of the signal that ended the app
        self.exit_note = ""  # a line for the shell after the app exits (the CLI prints it)
        self.signals_handled: list[int] = []  # the stop signals routed to the app
        self.preset_config = deepcopy(config or Config())
        # The CLI passes what the user typed: a name or a path (then the name inside the file).
        is_path = "/" in preset_name or preset_name.endswith(".toml")
        self.preset_name = self.preset_config.name if is_path or not preset_name else preset_name
        self.config = deepcopy(self.preset_config)
        self.errors: dict[str, str] = {}
        self.state = RunState.LOADING
        self.tf_ready = False
        self.device = ""
        self.run_number = 0
        self.run_label = ""
        self.run_final: float | None = None
        self.keep_run = False  # the live curve belongs to a finished run worth comparing
        self.data_problem: dict[str, str] = {}  # what reading the task's data found wrong
        self.companion = CompanionRun()  # the A/B run beside the current one

    # --- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept as attributes: messages may still arrive while the screen is being torn down.
        self.settings = SettingsPane(
            self.config,
            runs_dir=str(self.runs_dir),
            tensorboard_problem=self.tensorboard_problem,
            id="settings",
            classes="pane",
        )
        self.chart = LossChart(id="chart", classes="pane")
        self.preview = DatasetPreview(id="data-preview")
        self.units = HiddenUnitsView(id="units")
        self.inspector = InspectorPane(id="inspector", classes="pane")
        self.generate_pane = GeneratePane(id="generate", classes="pane")
        self.live = LiveViews(self.generate_pane, self.units)
        self.probe = ProbePane(id="probe", classes="pane")
        self.status = StatusBar(id="status")
        yield Tabs(*(Tab(title, id=f"tab-{pane}") for pane, title in PANES), id="tabs")
        with Container(id="panes", classes="-show-settings"):
            yield self.settings
            yield self.chart
            with VerticalScroll(id="data", classes="pane"):
                yield self.preview
                yield self.units
            yield self.inspector
            yield self.generate_pane
            yield self.probe
        yield self.status
        yield AppFooter()

    def on_mount(self) -> None:
        titles = {
            "settings": "Settings",
            "chart": "Loss",
            "data": "Data",
            "inspector": "Inspector",
            "generate": "Generate",
            "probe": "Probe",
        }
        for pane, title in titles.items():
            self.query_one(f"#{pane}").border_title = title
        self.settings.set_title(self.preset_name, self.config.description)
        self.status.state = self.state
        self.inspector.set_fresh_cell(4, self.config.train.seed)
        # Import TF once the first frame is on screen: the import holds the GIL for seconds.
        self.set_timer(0.3, self._preload)
        self.signals_handled = shutdown.install_signal_handlers(self._stop_signal)
        if self.attach_to:
            self.call_after_refresh(self.action_attach, self.attach_to)
        self.set_interval(INTERVAL_S, self._live_tick)
        # The screen's ~230 widgets, their styles and the imports are there for good: a full
        # garbage collection walking them took 100-160 ms of the UI thread in the middle of a
        # frame (seen in bench_ui's first 10 s); frozen, later collections skip them.
        self.set_timer(1.0, gc.freeze)

    @property
    def running(self) -> bool:
        return self.state.active

    def _set_state(self, state: RunState, detail: str = "") -> None:
        self.state = state
        self.status.state = state
        self.status.detail = detail
        self.settings.set_locked(self.running)
        self.refresh_bindings()

    def _show_state(self, detail: str = "") -> None:
        """Show the current session's state (it tracks its own from the trainer's events)."""
        if self.session is not None:
            if self.session.state is RunState.STARTING and self.tf_ready and not detail:
                detail = "(building the model)"
            self._set_state(self.session.state, detail)

    # --- panes (tabs when the terminal is small) -------------------------------------------------

    @on(Tabs.TabActivated, "#tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        pane = (event.tab.id or "tab-settings").removeprefix("tab-")
        panes = self.query_one("#panes")
        for name, _ in PANES:
            panes.set_class(name == pane, f"-show-{name}")
        self._sync_probe()
        if pane == "probe" and not self.errors:
            self._show_probe_truth(self.config)

    def action_show_pane(self, pane: str) -> None:
        tabs = self.query_one("#tabs", Tabs)
        tabs.active = f"tab-{pane}"
        if pane == "inspector" and (self.focused is None or self.focused is tabs):
            self.inspector.focus()  # so ←/→ step the cell rather than switch tabs
        if pane == "data" and (self.focused is None or self.focused is tabs):
            self.units.focus()  # so ↑/↓ choose a hidden unit

    @property
    def wide(self) -> bool:
        return self.screen.has_class("-wide") and self.screen.has_class("-tall")

    # --- settings and preview --------------------------------------------------------------------

    @on(SettingsPane.Changed)
    def _settings_changed(self, event: SettingsPane.Changed) -> None:
        if not self.screen_stack:  # a late message while the app closes
            return
        self.config = event.config
        self.errors = event.errors
        task_ok = not any(key.startswith("task.") or key == "train.seed" for key in event.errors)
        if task_ok:  # after the next paint: generating the data must not delay a frame
            self.call_after_refresh(
                self.preview.show_task, event.config.task, event.config.train.seed
            )
            if not event.errors and self._probe_shown():  # else when it opens: nothing to wait on
                self.call_after_refresh(self._show_probe_truth, event.config)
        if not self.running and not any(key == "train.seed" for key in event.errors):
            self.inspector.set_fresh_cell(4, event.config.train.seed)
        if not self.running and not self.chart.losses and not event.errors:
            self._count_steps(event.config)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="steps")
    def _count_steps(self, config: Config) -> None:
        """The run's length for the chart's x axis, off the UI thread (a text is read for it)."""
        from rnntui.tasks import total_steps

        try:
            steps = total_steps(config)
        except Exception:  # the preview reports what is wrong with the data
            return
        self.call_from_thread(self._show_total_steps, steps)

    def _show_total_steps(self, steps: int) -> None:
        if not self.running and not self.chart.losses:
            self.chart.total_steps = steps
            self.chart.refresh()

    @on(DatasetPreview.Ready)
    @while_running
    def _preview_ready(self, message: DatasetPreview.Ready) -> None:
        if message.key != self.preview.key:
            return  # an older preview, already replaced
        data = message.data
        self.data_problem = {message.error_key: message.error} if message.error_key else {}
        summary = getattr(data.preview, "summary", "") if data is not None else ""
        for key in self.settings.picker_keys():
            reason = self.data_problem.get(key, "")
            self.settings.set_note(key, reason or summary, ok=not reason)
        if data is not None and not self.chart.losses:
            self.chart.set_baselines(tuple(data.baselines))
        if data is not None:
            from rnntui.tasks import task_class

            panes = self.query_one("#panes")
            generative = task_class(data.kind).autoregressive
            panes.set_class(generative, "-bottom-generate")
            if generative:  # one pane in the inspector's cell on a large terminal
                panes.remove_class("-probe")
        self.live.data_changed(self.config, data)
        self.refresh_bindings()

    def load_config(self, config: Config, name: str) -> None:
        self.preset_config = deepcopy(config)
        self.preset_name = name
        self.config = deepcopy(config)
        self.settings.load(config)
        self.settings.set_title(name, config.description)

    # --- TensorFlow ------------------------------------------------------------------------------

    @work(thread=True, group="tensorflow")
    def _preload(self) -> None:
        """Start the TensorFlow helper process and wait (on this worker thread) for its import."""
        from rnntui.tf_process import TensorFlowProcess

        try:
            self.tensorflow = TensorFlowProcess()
            device = self.tensorflow.call("preload")
        except Exception as error:  # reported; the rest of the app still works
            self.post_message(TensorFlowFailed(f"{type(error).__name__}: {error}"))
            return
        self.post_message(TensorFlowReady(device))

    def _inspect_in_helper(self, *args, **kwargs):
        """The inspector's computation, run by the TensorFlow helper process."""
        assert self.tensorflow is not None
        return self.tensorflow.call("inspect", *args, **kwargs)

    def _shutting_down(self) -> bool:
        """The app is shutting down: its screen's widgets are being removed (a TensorFlow helper
        that reports in now has nothing left to wake, and the panes' children may be gone).
        Textual stops running before it removes them, in no fixed order: the inspector could
        still be attached while the Generate pane's lines were gone (seen on a loaded CI box)."""
        return not self.is_running or not self.inspector.is_attached

    @on(TensorFlowReady)
    @while_running
    def _tf_ready(self, message: TensorFlowReady) -> None:
        self.tf_ready = True
        self.device = message.device
        if self.session is None or not self.session.running:
            self.status.device = message.device
        self.inspector.compute = self._inspect_in_helper
        assert self.tensorflow is not None
        self.generate_pane.helper = self.units.helper = self.tensorflow.call
        if self.state is RunState.LOADING:
            self._set_state(RunState.IDLE)
        elif self.state is RunState.STARTING:
            self.status.detail = "(building the model)"
        self.inspector.activate()
        self.live.ready()

    @on(TensorFlowFailed)
    @while_running
    def _tf_failed(self, message: TensorFlowFailed) -> None:
        self.status.device = "no TensorFlow"
        self._set_state(RunState.FAILED, message.error)
        self.notify(message.error, title="TensorFlow failed to load", severity="error", timeout=10)

    # --- training --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Footer room is scarce at 80 columns: keys that cannot apply now are hidden.
        if action == "start":
            return False if self.running else (None if self.problems else True)
        if action == "generate":
            live = getattr(self, "live", None)
            return live is not None and live.generative
        if action == "pause":
            if self.state is RunState.TRAINING:
                return True
            return None if self.running and self.state is not RunState.PAUSED else False
        if action == "resume":
            return self.state is RunState.PAUSED
        if action == "stop":
            return self.running and self.state is not RunState.STOPPING
        if action == "detach":
            return isinstance(self.session, ChildSession) and self.running
        if action == "attach":
            return None if self.running else True
        if action == "leave_field":  # dialogs bind escape themselves
            return isinstance(self.focused, Input) and self.screen is self.screen_stack[0]
        if action in ("open_preset",):
            return None if self.running else True
        if action == "clear_comparison":
            return bool(self.chart.comparison)
        if action == "knobs":
            return self.state in (RunState.TRAINING, RunState.PAUSED)
        if action == "ab_run":
            return False if self.companion.running else (None if self.errors else True)
        if action == "export_csv":
            return bool(self.chart.losses or self.chart.comparison)
        return True

    @property
    def problems(self) -> dict[str, str]:
        """What stops a run: the settings' problems and what reading the data found."""
        return {**self.errors, **self.data_problem}

    def action_start(self) -> None:
        if self.running:
            return
        if self.problems:
            key, reason = next(iter(self.problems.items()))
            self.notify(f"{key}: {reason}", title="Fix the settings first", severity="warning")
            return
        config = deepcopy(self.config)
        config.name = self.preset_name or config.name
        if self.chart.losses and self.keep_run:
            self.chart.finish_run(self._comparison_label())
        self.run_number += 1
        self.run_label = run_label(self.run_number, config)
        self.run_final = None
        self.keep_run = False
        self.chart.start_run(self.run_label, 0)
        self.status.clear_run(config.train.epochs, task_class(config.task.kind).metrics)
        runs_dir = self.runs_dir if self.runs_dir_given else None
        tensorboard = self.settings.tensorboard
        self.session = new_session(
            config,
            self._poster(self.run_number),
            runs_dir=runs_dir,
            tensorboard=tensorboard,
            trainer_factory=self.trainer_factory,
        )
        warning = self.session.start()
        self.live.run_started(self.session, f"run {self.run_number}")
        if warning:
            self.notify(warning, title="Run not saved", severity="warning", timeout=10)
        self.probe.clear_result()
        self._sync_probe()
        self._show_state("(building the model)" if self.tf_ready else "(loading TensorFlow)")
        if not self.wide and not self._probe_shown():  # the probe pane stays: it shows training
            self.action_show_pane("chart")

    def _poster(self, run: int) -> Callable[[Event], None]:
        """The session's event callback: runs on the training thread, so it only posts."""

        def on_event(event: Event) -> None:
            message = message_for(run, event)
            if message is None:
                return
            try:
                self.post_message(message)
            except RuntimeError:  # the app has closed its event loop; nobody is listening
                pass

        return on_event

    @property
    def training_done(self) -> threading.Event:
        """Set while no training thread runs (the exit watchdog waits on it)."""
        done = self.session.done if self.session is not None else _ALWAYS_DONE
        companion = self.companion.session
        return AllDone(done, companion.done) if companion is not None else done  # type: ignore

    def _current(self, run: int) -> bool:
        return run == self.run_number and self.session is not None

    @on(TrainingStarted)
    @while_running
    def _started(self, message: TrainingStarted) -> None:
        if not self._current(message.run):
            return
        event = message.event
        self.chart.total_steps = event.total_steps
        self.chart.set_baselines(event.baselines)
        self.status.total_steps = event.total_steps
        self.status.device = event.device
        self._show_state()

    @on(TrainingProgress)
    @while_running
    def _progress(self, message: TrainingProgress) -> None:
        if not self._current(message.run):
            return
        event = message.event
        self.chart.add_losses(event.losses)
        self.status.show_progress(event, self.chart.smoothed_loss)
        if self.state is RunState.STARTING:
            self._show_state()

    @on(EpochFinished)
    @while_running
    def _epoch_finished(self, message: EpochFinished) -> None:
        if not self._current(message.run):
            return
        metrics = message.event.metrics
        self.status.show_metrics(metrics)
        if "tail_loss" in metrics:
            self.run_final = metrics["tail_loss"]

    @on(TrainingPaused)
    @on(TrainingResumed)
    @while_running
    def _pause_changed(self, message: TrainingPaused | TrainingResumed) -> None:
        if self._current(message.run):
            self._show_state()

    @on(TrainingFinished)
    @while_running
    def _finished(self, message: TrainingFinished) -> None:
        if not self._current(message.run):
            return
        event = message.event
        final = event.summary.get("final_loss")
        self.run_final = final if isinstance(final, float) else self.chart.smoothed_loss
        self.keep_run = bool(self.chart.losses)
        self.status.eta_s = None
        self.status.show_metrics(event.summary)
        self._show_state()
        steps = event.summary.get("steps", len(self.chart.losses))
        loss = f", loss {self.run_final:.4f}" if self.run_final is not None else ""
        saved = ""
        run_folder = self.session.run_folder if self.session is not None else None
        if run_folder is not None:
            saved = f"\nsaved in {run_folder.name}"
            if event.stopped:
                saved += f"\ncontinue: {self.resume_command()}"
        self.notify(
            f"{self.run_label}: {steps:,} steps{loss}{saved}", title=self.state.capitalize()
        )
        self.live.finished()
        if event.lstm_weights is not None:
            self.inspector.use_weights(
                WeightsSource(
                    event.lstm_weights,
                    f"trained first LSTM layer of {self.run_label}",
                    self._sample_input(len(event.lstm_weights[0])),
                )
            )

    @on(TrainingFailed)
    @while_running
    def _failed(self, message: TrainingFailed) -> None:
        if not self._current(message.run):
            return
        self.keep_run = False
        self._show_state(message.event.message)
        run_folder = self.session.run_folder if self.session is not None else None
        where = f"\n(run folder {run_folder.name})" if run_folder is not None else ""
        self.notify(
            message.event.message + where,
            title=f"{self.run_label} failed",
            severity="error",
            timeout=10,
        )

    def resume_command(self) -> str:
        """The shell command that continues the current run from its checkpoint."""
        return self.session.resume_command() if self.session is not None else ""

    def _comparison_label(self) -> str:
        """ "#1 raw_rnn 4 n=5 0.519": which run, what model, where it ended."""
        final = f" {self.run_final:.3f}" if self.run_final is not None else ""
        model = self.run_label.partition(": ")[2]
        return f"#{self.run_number} {model}{final}"

    def _sample_input(self, width: int = 2) -> str:
        """An input the trained first layer accepts: the first steps of the data, as fed; a
        unit vector when the layer reads something else (e.g. an embedding's output)."""
        inputs = self.preview.sample_inputs
        if not inputs or len(inputs[0]) != width:
            return ",".join(["1"] + ["0"] * (width - 1)) if width != 2 else "1,0; 0,1; 0,1; 1,0"
        return "; ".join(",".join(f"{v:g}" for v in row) for row in inputs)

    def action_pause(self) -> None:
        self.companion.pause()
        if self.session is not None and self.session.pause():
            self._show_state()

    def action_resume(self) -> None:
        self.companion.resume()
        if self.session is not None and self.session.resume():
            self._show_state()

    def action_stop(self) -> None:
        self.companion.stop()
        if self.session is not None and self.session.stop():
            self._show_state()

    def action_reset(self) -> None:
        """Stop any run, forget its curve and reload the opened preset's settings."""
        if self.session is not None:
            self.session.stop()
            self.run_number += 1  # late messages of the old run are ignored from now on
            self.session = None
        self.keep_run = False
        self.companion.forget()
        self.chart.finish_companion(None)
        self.chart.reset_run()
        self.live.run_forgotten()
        self.probe.clear_result()
        self.load_config(self.preset_config, self.preset_name)
        self.status.clear_run()
        self._set_state(RunState.IDLE)  # training needs no TensorFlow here (it runs in a child)

    def action_leave_field(self) -> None:
        """Leave a text field, so the single-key shortcuts work again."""
        self.screen.set_focus(None)

    def action_clear_comparison(self) -> None:
        self.chart.clear_comparison()
        self.refresh_bindings()

    # --- probe, live knobs, A/B runs, smoothing --------------------------------------------------

    def _show_probe_truth(self, config: Config) -> None:
        """The task's true effect per lag (no TensorFlow needed), or why it has none; only while
        the pane shows (at start-up every message is slow while TensorFlow imports)."""
        from rnntui.engine.probes import ProbeError, check_probeable, probe_max_lag
        from rnntui.tasks import make_task

        try:
            task = make_task(config.task, config.train.seed)
            truth = check_probeable(task).true_lag_effects(
                probe_max_lag(task, config.train.num_steps)
            )
        except (ProbeError, ValueError) as error:
            self.probe.show_task({}, 0, str(error))
            return
        self.probe.show_task(truth, config.train.num_steps)

    def _probe_shown(self) -> bool:
        if self.wide:
            return self.query_one("#panes").has_class("-probe")
        return self.query_one("#tabs", Tabs).active == "tab-probe"

    def _sync_probe(self) -> None:
        """The trainer probes between chunks while the pane shows, and not otherwise; after
        the run, the helper probes its last checkpoint when the gradient reach is asked for."""
        session = self.session
        if session is not None and session.running:
            shown = self._probe_shown()
            session.set_probe(PROBE_INTERVAL_S if shown else 0.0, self.probe.wants_gradients)
            return
        result = self.probe.result
        if (
            session is not None
            and session.run_folder is not None
            and self.tensorflow is not None
            and self.tf_ready
            and self._probe_shown()
            and not self.probe.problem
            and self.probe.wants_gradients
            and (result is None or not result.gradient_reach)
        ):
            self._probe_checkpoint(self.run_number, session.run_folder.path)

    @work(thread=True, exclusive=True, group="probe")
    def _probe_checkpoint(self, run: int, folder: Path) -> None:
        assert self.tensorflow is not None
        try:
            result = self.tensorflow.call("probe", folder, True)
        except RuntimeError as error:  # e.g. no checkpoint: the pane keeps what it shows
            self.call_from_thread(self.notify, str(error), severity="warning")
            return
        self.post_message(ProbeUpdated(run, result))

    def action_probe(self) -> None:
        self.query_one("#panes").remove_class("-bottom-generate")
        self.query_one("#panes").add_class("-probe")  # wide: in the inspector's cell
        self.action_show_pane("probe")
        self._sync_probe()

    def action_probe_view(self) -> None:
        self.probe.toggle_view()
        if not self._probe_shown():
            self.action_probe()
        self._sync_probe()  # the gradient reach is traced and measured only while on screen

    @on(ProbeUpdated)
    @while_running
    def _probe_updated(self, message: ProbeUpdated) -> None:
        if self._current(message.run):
            self.probe.show_result(message.event)

    def action_knobs(self) -> None:
        session = self.session
        if session is None or not self.running:
            self.notify("Knobs change a run while it trains; press s first.", severity="warning")
            return
        train = session.config.train
        current = {"learning_rate": train.learning_rate, "clip_norm": train.clip_norm}

        def chosen(changes: dict[str, float] | None) -> None:
            if not changes or self.session is not session or not session.running:
                return
            for name, value in changes.items():
                session.set_knob(name, value)
                setattr(session.config.train, name, value)  # what the dialog shows next

        self.push_screen(KnobDialog(current, self.run_label), chosen)

    @on(KnobApplied)
    @while_running
    def _knob_applied(self, message: KnobApplied) -> None:
        if not self._current(message.run):
            return
        event = message.event
        step, label = knob_mark(event.step, event.name, event.value)
        self.chart.add_mark(step, label)
        self.notify(f"{label} from step {step + 1:,} (marked on the chart)", title="Knob")

    def action_ab_run(self) -> None:
        if self.companion.running:
            self.notify("An A/B run is training already.", severity="warning")
            return
        running = self.running and self.session is not None
        base = self.session.config if running and self.session is not None else self.config

        def chosen(cell: str | None) -> None:
            if cell is None or self.companion.running:
                return
            if not self.running:
                self.action_start()
            if self.session is None or not self.running:
                return
            warning = self.companion.start(
                self.session.config,
                cell,
                self._poster,
                self.runs_dir if self.runs_dir_given else None,
                self.trainer_factory,
            )
            companion = companion_config(self.session.config, cell)
            self.companion.label = "B " + run_label(0, companion).partition(": ")[2]
            self.chart.start_companion(self.companion.label)
            self.refresh_bindings()
            if warning:
                self.notify(warning, title="A/B run not saved", severity="warning", timeout=10)
            if not self.wide:
                self.action_show_pane("chart")

        self.push_screen(CellPicker(base.model.cell, running), chosen)

    @on(TrainingProgress)
    @while_running
    def _companion_progress(self, message: TrainingProgress) -> None:
        if self.companion.owns(message.run):
            self.chart.add_companion_losses(message.event.losses)

    @on(TrainingFinished)
    @on(TrainingFailed)
    @while_running
    def _companion_ended(self, message: TrainingFinished | TrainingFailed) -> None:
        if not self.companion.owns(message.run):
            return
        label = self.companion.label
        if isinstance(message, TrainingFailed):
            self.chart.finish_companion(None)
            self.notify(message.event.message, title=f"{label} failed", severity="error")
        else:
            final = message.event.summary.get("final_loss")
            loss = f" {final:.3f}" if isinstance(final, float) else ""
            self.chart.finish_companion(f"{label}{loss}")
            steps = message.event.summary.get("steps", 0)
            self.notify(
                f"{label}: {steps:,} steps{loss}",
                title="A/B run " + ("stopped" if message.event.stopped else "finished"),
            )
        self.refresh_bindings()

    def action_smoothing(self) -> None:
        self.notify(self.chart.cycle_smoothing(), title="Chart smoothing")

    # --- past runs and export --------------------------------------------------------------------

    def action_load_run(self) -> None:
        def chosen(info: RunInfo | None) -> None:
            if info is not None:
                self._load_run(info)

        self.push_screen(RunPicker(self.runs_dir), chosen)

    def action_attach(self, run: str = "") -> None:
        """Follow a run another process trains (pick one of the live runs, or name it)."""
        if self.running:
            self.notify("Stop or detach the current run first.", severity="warning")
            return
        if run:
            self._attach(run)
            return

        def chosen(info: RunInfo | None) -> None:
            if info is not None:
                self._attach(str(info.path))

        self.push_screen(RunPicker(self.runs_dir, live_only=True), chosen)

    def _attach(self, run: str) -> None:
        from rnntui.engine.runs import RunFolder

        try:
            folder = RunFolder.find(run, self.runs_dir)
            session = FollowedSession(folder, self._poster(self.run_number + 1))
            session.start()
        except (ConfigError, NotLive, OSError) as error:
            self.notify(str(error), title="Cannot attach", severity="error", timeout=8)
            return
        if self.chart.losses and self.keep_run:
            self.chart.finish_run(self._comparison_label())
        self.run_number += 1
        self.session = session
        self.run_label = f"run {self.run_number}: {folder.name} (pid {session.pid})"
        self.run_final = None
        self.keep_run = False
        self.chart.start_run(self.run_label, 0)
        self.status.clear_run(
            session.config.train.epochs, task_class(session.config.task.kind).metrics
        )
        self._show_state()
        self.notify(
            f"following {folder.name}, trained by pid {session.pid}: p pauses, x stops it, "
            "q leaves it training",
            title="Attached",
        )
        if not self.wide:
            self.action_show_pane("chart")

    def action_detach(self) -> None:
        """Leave the current run training in its own process; the app stops following it."""
        session = self.session
        if not isinstance(session, ChildSession) or not session.detach():
            self.notify("Only a run this app started can be detached.", severity="warning")
            return
        assert session.run_folder is not None
        self.run_number += 1  # its late messages are ignored from now on
        self.keep_run = bool(self.chart.losses)
        self._set_state(RunState.IDLE)
        where = f" --runs-dir {self.runs_dir}" if self.runs_dir_given else ""
        self.notify(
            f"{session.run_folder.name} trains on in the background (pid {session.pid}); "
            f"follow it again with a, or rnntui --attach {session.run_folder.name}{where}",
            title="Detached",
            timeout=10,
        )

    @work(thread=True, group="load-run")
    def _load_run(self, info: RunInfo) -> None:
        self.post_message(load_past_run(info))

    @on(PastRunLoaded)
    @while_running
    def _past_run_loaded(self, message: PastRunLoaded) -> None:
        if message.curve is None:
            self.notify(message.error, title=f"Cannot load {message.name}", severity="error")
            return
        self.chart.add_comparison(message.curve)
        self.refresh_bindings()
        if not self.wide:
            self.action_show_pane("chart")
        self.notify(
            f"{message.name}: {message.steps:,} steps, shown as '{message.curve.label}' (c clears)",
            title="Run loaded",
        )

    def action_export_csv(self) -> None:
        curves = self.chart.shown_curves()
        if not curves:
            self.notify("Train or load a run first.", title="Nothing to export", severity="warning")
            return
        self._export(curves)

    @work(thread=True, group="export")
    def _export(self, curves: list) -> None:
        rows = sum(len(steps) for _, steps, _ in curves)
        try:
            path = write_curves_csv(curves, [Path.cwd(), self.runs_dir.parent])
        except OSError as error:
            self.post_message(CurvesExported("", error=str(error)))
            return
        self.post_message(CurvesExported(str(path), len(curves), rows))

    @on(CurvesExported)
    @while_running
    def _exported(self, message: CurvesExported) -> None:
        if message.error:
            self.notify(message.error, title="Cannot export", severity="error", timeout=10)
            return
        self.notify(
            f"{message.curves} curves, {message.rows:,} rows → {message.path}\n{FORMAT_NOTE}",
            title="Curves exported",
            timeout=10,
        )

    # --- presets, inspector, help, quit ----------------------------------------------------------

    def action_open_preset(self) -> None:
        if self.running:
            self.notify("Stop training before opening a preset.", severity="warning")
            return

        def opened(path: Path | None) -> None:
            if path is None:
                return
            try:
                config = load_file(path)
            except ConfigError as error:
                self.notify(str(error), title="Cannot open preset", severity="error", timeout=8)
                return
            self.load_config(config, config.name or path.stem)
            self.notify(f"opened {config.name}", title="Preset")

        self.push_screen(PresetPicker(self.preset_name), opened)

    def action_save_preset(self) -> None:
        def save(answer: tuple[str, str] | None) -> None:
            if answer is None:
                return
            name, description = answer
            config = deepcopy(self.config)
            config.name, config.description = name, description
            try:
                path = save_preset(config)
            except OSError as error:
                self.notify(str(error), title="Cannot save preset", severity="error", timeout=8)
                return
            self.preset_config, self.preset_name = deepcopy(config), name
            self.settings.set_title(name, description)
            self.notify(f"saved to {path}", title="Preset saved")

        name = self.preset_name if self.preset_name else "my-preset"
        self.push_screen(SavePresetDialog(name, self.config.description), save)

    def action_inspector(self) -> None:
        self.query_one("#panes").remove_class("-bottom-generate")
        self.query_one("#panes").remove_class("-probe")  # wide: the inspector's cell back
        self.action_show_pane("inspector")
        self.inspector.focus()
        self._sync_probe()

    # --- text: generation and choosing the file --------------------------------------------------

    def action_generate(self) -> None:
        """Show the Generate pane and sample from the model as it is now."""
        if not self.live.generative:
            self.notify("Generation needs a text task.", severity="warning")
            return
        self.query_one("#panes").remove_class("-probe")
        self.query_one("#panes").add_class("-bottom-generate")
        self.action_show_pane("generate")
        self._sync_probe()
        self.live.sample_now()

    def _live_tick(self) -> None:
        self.live.tick(self.state is RunState.TRAINING)

    @on(SettingsPane.BrowseRequested)
    def _browse(self, event: SettingsPane.BrowseRequested) -> None:
        from rnntui.tasks.corpus import expand

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.settings.set_text(event.key, str(path))

        start = Path(expand(event.current)) if event.current.strip() else Path.cwd()
        self.push_screen(FilePicker(start), chosen)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(list(self.BINDINGS)))

    async def action_quit(self) -> None:
        """Stop the training loop first, so the worker thread ends within one chunk."""
        self._stop_for_exit()
        self.exit()

    def on_unmount(self) -> None:
        # Every way out (ctrl+q, the palette's Quit, an error) ends here; without this the
        # run would go on training after the app has gone.
        self._stop_for_exit()
        shutdown.remove_signal_handlers(self.signals_handled)
        if self.tensorflow is not None:
            self.tensorflow.close()

    def _stop_for_exit(self) -> None:
        """Stop the app's own running runs (they write a checkpoint) and say how to continue.
        A run the app only follows, or one it detached, goes on."""
        self.companion.stop()
        session = self.session
        if isinstance(session, FollowedSession):
            session.close()
            return
        if session is None or session.done.is_set() or getattr(session, "detached", False):
            return
        session.stop()
        if session.run_folder is not None and not self.exit_note:
            how = f"stopped by {self.signalled}" if self.signalled else "stopped"
            self.exit_note = (
                f"rnntui: {session.run_folder.name} {how} with a checkpoint; "
                f"continue with: {session.resume_command()}"
            )

    def wait_for_own_run(self, timeout: float) -> bool:
        """After the app closed: wait for its own stopped run to write its checkpoint."""
        session = self.session
        if session is None or isinstance(session, FollowedSession):
            return True
        if getattr(session, "detached", False):
            return True
        return session.wait(timeout)

    def _stop_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP or SIGINT (on the event loop): checkpoint, restore the terminal, exit."""
        if self.signalled:  # a second signal: do not wait any longer
            shutdown.end_process(self._restore_terminal)
        self.signalled = signal.Signals(signum).name
        self._stop_for_exit()
        if self.exit_watchdog:
            shutdown.start_watchdog(self.training_done, self._restore_terminal)
        try:
            self.exit(return_code=exit_codes.INTERRUPTED)
        except RuntimeError:  # already closing
            pass

    def _restore_terminal(self) -> None:
        """Best effort, for the watchdog: put the terminal back as Textual found it."""
        shutdown.restore_driver_terminal(self._driver)


def run_label(number: int, config: Config) -> str:
    model = config.model
    cell = f"{model.stacked_cell}{model.layers}" if model.cell == "stacked" else model.cell
    size = "" if model.cell == "stacked" else f" {model.state_size}"
    truncated = task_class(config.task.kind).truncated
    steps = f" n={config.train.num_steps}" if truncated else ""
    return f"run {number}: {cell}{size}{steps}"
