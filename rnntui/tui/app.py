"""The Textual app: layout, keys, signals and quitting; it routes messages to the panes.

Runs are not the app's business: the run desk (`run_desk.py`, plain Python) holds the current
session and the A/B companion; `RunPanes` (`run_panes.py`) turns the events of the run in front
of the user into pane updates. Keys are data (`actions.py`). This process never imports
TensorFlow (the helper process: `analysis/helper.py`). Signals stop the run with a checkpoint
and exit (`shutdown`).
"""

from __future__ import annotations

import gc
import signal
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Container, VerticalScroll
from textual.widgets import Tab, Tabs

from rnntui.config import Config
from rnntui.engine.events import Event
from rnntui.sessions.session import RunState
from rnntui.tui import actions, shutdown
from rnntui.tui.actions import PANES, KeyContext
from rnntui.tui.commands import RnnTuiCommands
from rnntui.tui.live_views import INTERVAL_S, LiveViews
from rnntui.tui.messages import (
    CurvesExported,
    PastRunLoaded,
    RunMessage,
    TensorFlowLoaded,
    message_for,
)
from rnntui.tui.pane_dialogs import PaneDialogs
from rnntui.tui.pane_layout import PaneLayout
from rnntui.tui.run_desk import RunDesk
from rnntui.tui.run_panes import RunPanes
from rnntui.tui.shutdown import while_running
from rnntui.tui.widgets.app_footer import AppFooter
from rnntui.tui.widgets.dataset_preview import DatasetPreview
from rnntui.tui.widgets.generate_pane import GeneratePane
from rnntui.tui.widgets.hidden_units_view import HiddenUnitsView
from rnntui.tui.widgets.inspector_pane import InspectorPane
from rnntui.tui.widgets.loss_chart import LossChart
from rnntui.tui.widgets.probe_pane import ProbePane
from rnntui.tui.widgets.settings_pane import SettingsPane
from rnntui.tui.widgets.status_bar import StatusBar
from rnntui.util import exit_codes
from rnntui.util.extras import missing_extra

if TYPE_CHECKING:
    from rnntui.analysis.helper import TensorFlowProcess
    from rnntui.engine.trainer import Trainer


class RnnTuiApp(App[None]):
    """Train, watch and inspect small recurrent networks."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "rnntui"
    COMMANDS = App.COMMANDS | {RnnTuiCommands}
    # Below 120x36 the panes become tabs; above, they all show at once.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    PALETTE_BINDINGS = actions.PALETTE_BINDINGS
    BINDINGS = actions.BINDINGS

    # None: runs train in child processes. Tests set a Trainer (subclass): a thread of this process.
    trainer_factory: Callable[..., Trainer] | None = None

    # End the process if the exit after a signal stalls (`shutdown`); signalling tests: off.
    exit_watchdog = True

    # Start the TF helper once the first frame shows; snapshot tests switch it off (it races them).
    preload_tensorflow = True

    def __init__(
        self,
        config: Config | None = None,
        preset_name: str = "",
        runs_dir: Path | str | None = None,
        attach: str = "",
        detach_runs: bool = False,
        notify: str = "",
    ) -> None:
        """`attach`: a run (or its folder) to follow from the start; `detach_runs`: see RunDesk;
        `notify`: where the runs started here send their alerts (over the config's alerts.url)."""
        super().__init__()
        self.attach_to = attach
        from rnntui.runs.files import default_runs_dir

        self.runs_dir = Path(runs_dir).expanduser() if runs_dir else default_runs_dir()
        self.desk = RunDesk(
            self.runs_dir, runs_dir is not None, self._post_event, lambda: self.trainer_factory
        )
        self.desk.detach_runs = detach_runs
        self.desk.notify_url = notify  # over the config's alerts.url, like --notify on train
        self.tensorboard_problem = missing_extra("tensorboard")
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
        self.data_problem: dict[str, str] = {}  # what reading the task's data found wrong

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
        self.panes, self.dialogs = RunPanes(self), PaneDialogs(self)
        self.pane_layout = PaneLayout(self)
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
            yield self.pane_layout.system_pane()  # y; samples only while it shows
            yield self.pane_layout.forecast_pane()  # f; for a task with an evaluation view
        yield self.status
        yield AppFooter()

    def on_mount(self) -> None:
        self.pane_layout.set_titles()
        self.settings.set_title(self.preset_name, self.config.description)
        self.status.state = self.state
        self.inspector.set_fresh_cell(4, self.config.train.seed)
        # The TF helper process starts once the first frame is on screen.
        if self.preload_tensorflow:
            self.set_timer(0.3, self._preload)
        self.signals_handled = shutdown.install_signal_handlers(self._stop_signal)
        if self.attach_to:
            self.call_after_refresh(self.action_attach, self.attach_to)
        elif self.desk.detach_runs:  # a tab of `rnntui serve` opens on the runs training now
            self.call_after_refresh(self.panes.pick_run_to_attach, offer=True)
        self.set_interval(INTERVAL_S, self._live_tick)
        # ~230 widgets stay for good: collections walked them for 100-160 ms mid-frame (bench_ui)
        self.set_timer(1.0, gc.freeze)

    @property
    def running(self) -> bool:
        return self.state.active

    def set_state(self, state: RunState, detail: str = "") -> None:
        self.state = state
        self.status.state = state
        self.status.detail = detail
        self.settings.set_locked(self.running)
        self.refresh_bindings()

    def show_state(self, detail: str = "") -> None:
        """Show the current session's state (it tracks its own from the trainer's events)."""
        session = self.desk.session
        if session is not None:
            if session.state is RunState.STARTING and self.tf_ready and not detail:
                detail = "(building the model)"
            self.set_state(session.state, detail)

    @property
    def shutting_down(self) -> bool:
        """Its widgets are being removed, in no fixed order (see `shutdown.while_running`)."""
        return not self.is_running or not self.inspector.is_attached

    # --- panes (tabs when the terminal is small) -------------------------------------------------

    @on(Tabs.TabActivated, "#tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        pane = self.pane_layout.tab_activated(event.tab.id or "tab-settings")
        self.panes.sync_probe()
        if pane == "probe" and not self.errors:
            self.panes.show_probe_truth(self.config)

    def action_show_pane(self, pane: str) -> None:
        self.pane_layout.show(pane)

    def action_inspector(self) -> None:
        self.pane_layout.place("inspector")
        self.inspector.focus()
        self.panes.sync_probe()

    def action_probe(self) -> None:
        self.pane_layout.place("probe")
        self.panes.sync_probe()

    def action_system(self) -> None:
        self.pane_layout.place("system")

    def action_forecast(self) -> None:
        self.pane_layout.place("forecast")

    def action_probe_view(self) -> None:
        self.panes.toggle_probe_view()

    def action_generate(self) -> None:
        """Show the Generate pane and sample from the model as it is now."""
        self.panes.generate()

    # --- settings and preview --------------------------------------------------------------------

    @on(SettingsPane.Changed)
    def _settings_changed(self, event: SettingsPane.Changed) -> None:
        if not self.screen_stack:  # a late message while the app closes
            return
        self.config = event.config
        self.errors = event.errors
        self.panes.settings_changed(event.config, event.errors)
        self.refresh_bindings()

    @on(DatasetPreview.Ready)
    @while_running
    def _preview_ready(self, message: DatasetPreview.Ready) -> None:
        if message.key == self.preview.key:  # else an older preview, already replaced
            self.panes.preview_ready(message)
            self.refresh_bindings()

    @on(SettingsPane.BrowseRequested)
    def _browse(self, event: SettingsPane.BrowseRequested) -> None:
        self.dialogs.browse(event.key, event.current)

    def load_config(self, config: Config, name: str) -> None:
        """Open a preset: its settings, and what reset goes back to."""
        self.preset_config, self.preset_name = deepcopy(config), name
        self.show_config(config, name)

    def show_config(self, config: Config, title: str) -> None:
        """Show `config` in the settings (and so the Data pane and the untrained model)."""
        self.config = deepcopy(config)
        self.settings.load(config)
        self.settings.set_title(title, config.description)

    @property
    def problems(self) -> dict[str, str]:
        """What stops a run: the settings' problems and what reading the data found."""
        return {**self.errors, **self.data_problem}

    # --- TensorFlow, in the helper process -------------------------------------------------------

    @work(thread=True, group="tensorflow")
    def _preload(self) -> None:
        """Start the TensorFlow helper process and wait (on this worker thread) for its import."""
        from rnntui.analysis.helper import TensorFlowProcess

        try:
            self.tensorflow = TensorFlowProcess()
            if not self.is_running:  # closed as it started: on_unmount found no helper to close
                return self.tensorflow.close()
            device = self.tensorflow.preload()
        except Exception as error:  # reported; the rest of the app still works
            self.post_message(TensorFlowLoaded("", f"{type(error).__name__}: {error}"))
            return
        self.post_message(TensorFlowLoaded(device))

    @on(TensorFlowLoaded)
    @while_running
    def tensorflow_loaded(self, message: TensorFlowLoaded) -> None:
        """The helper's TensorFlow is in (or failed to load: `message.error`)."""
        if message.error:
            self.status.device = "no TensorFlow"
            self.set_state(RunState.FAILED, message.error)
            self.notify(message.error, title="TensorFlow failed to load", severity="error",
                        timeout=10)  # fmt: skip
            return
        self.tf_ready = True
        self.device = message.device
        if self.desk.session is None or not self.desk.session.running:
            self.status.device = message.device
        assert self.tensorflow is not None
        self.inspector.compute = self.tensorflow.inspect
        self.generate_pane.helper = self.units.helper = self.tensorflow
        if self.state is RunState.LOADING:
            self.set_state(RunState.IDLE)
        elif self.state is RunState.STARTING:
            self.status.detail = "(building the model)"
        self.inspector.activate()
        self.live.ready()

    def _live_tick(self) -> None:
        self.live.tick(self.state is RunState.TRAINING)
        self.panes.sync_probe()  # a run another process trains: its newest checkpoint

    # --- keys ------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        name = str(parameters[0]) if action == "dialog" and parameters else action
        if name not in actions.RULES or getattr(self, "chart", None) is None:
            return True  # (before the first compose there is nothing to ask)
        return actions.enabled(name, KeyContext.of(self))

    def action_leave_field(self) -> None:
        """Leave a text field for the pane around it (the inspector's ←/→ work again), so the
        single-key shortcuts work again."""
        field = self.focused
        pane = next((node for node in field.ancestors if getattr(node, "can_focus", False)), None)
        self.screen.set_focus(pane)

    # --- runs ------------------------------------------------------------------------------------

    def _post_event(self, number: int, event: Event) -> None:
        """A session's event, on its thread: only posting is safe there."""
        message = message_for(number, event)
        if message is None:
            return
        try:
            self.post_message(message)
        except RuntimeError:  # the app has closed its event loop; nobody is listening
            pass

    def action_start(self) -> None:
        if self.running:
            return
        if self.problems:
            key, reason = next(iter(self.problems.items()))
            self.notify(f"{key}: {reason}", title="Fix the settings first", severity="warning")
            return
        config = deepcopy(self.config)
        config.name = self.preset_name or config.name
        self.panes.new_run(config)
        warning = self.desk.start(config, self.settings.tensorboard)
        self.panes.run_started(config, warning)

    def action_pause(self) -> None:
        if self.desk.control("pause"):
            self.show_state()

    def action_resume(self) -> None:
        if self.desk.control("resume"):
            self.show_state()

    def action_stop(self) -> None:
        if self.desk.control("stop"):
            self.show_state()

    def action_reset(self) -> None:
        """Stop any run, forget its curve and reload the opened preset's settings."""
        self.desk.forget()
        self.panes.forget_run()
        self.load_config(self.preset_config, self.preset_name)
        self.set_state(RunState.IDLE)  # training needs no TensorFlow here (it runs in a child)

    def action_attach(self, run: str = "") -> None:
        """Follow a run another process trains (pick one of the live runs, or name it)."""
        if self.running:
            self.notify("Stop or detach the current run first.", severity="warning")
        elif run:
            self.panes.attach(run)
        else:
            self.panes.pick_run_to_attach()

    def action_detach(self) -> None:
        """Leave the current run training in its own process; the app stops following it."""
        self.panes.detach()

    def action_dialog(self, name: str) -> None:
        """Open the dialog flow `name` (see `pane_dialogs.py`)."""
        self.dialogs.open(name)

    def action_smoothing(self) -> None:
        self.notify(self.chart.cycle_smoothing(), title="Chart smoothing")

    def action_clear_comparison(self) -> None:
        self.chart.clear_comparison()
        self.refresh_bindings()

    def resume_command(self) -> str:
        """The shell command that continues the current run from its checkpoint."""
        return self.desk.resume_command()

    # --- what runs tell the app ------------------------------------------------------------------

    @on(RunMessage)
    @while_running
    def run_message(self, message: RunMessage) -> None:
        self.panes.run_event(message.run, message.event)

    @on(PastRunLoaded)
    @on(CurvesExported)
    @while_running
    def _worker_report(self, message: PastRunLoaded | CurvesExported) -> None:
        self.dialogs.report(message)

    # --- help and quitting -----------------------------------------------------------------------

    def action_help(self) -> None:
        from rnntui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(list(self.BINDINGS)))

    async def action_quit(self) -> None:
        """Stop the training loop first, so the worker thread ends within one chunk."""
        self._stop_for_exit()
        self.exit()

    def on_unmount(self) -> None:
        # Every way out (ctrl+q, the palette, an error) ends here: no run trains on after the app.
        self._stop_for_exit()
        shutdown.remove_signal_handlers(self.signals_handled)
        if self.tensorflow is not None:
            self.tensorflow.close()

    def _stop_for_exit(self) -> None:
        """Stop the app's own runs (with checkpoints); keep the line saying how to continue."""
        self.exit_note = self.exit_note or self.desk.stop_for_exit(self.signalled)

    def _stop_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP or SIGINT (on the event loop): checkpoint, restore the terminal, exit."""
        if self.signalled:  # a second signal: do not wait any longer
            shutdown.end_process(self._restore_terminal)
        self.signalled = signal.Signals(signum).name
        self._stop_for_exit()
        if self.exit_watchdog:
            shutdown.start_watchdog(self.desk.training_done, self._restore_terminal)
        try:
            self.exit(return_code=exit_codes.INTERRUPTED)
        except RuntimeError:  # already closing
            pass

    def _restore_terminal(self) -> None:
        """Best effort, for the watchdog: put the terminal back as Textual found it."""
        shutdown.restore_driver_terminal(self._driver)
