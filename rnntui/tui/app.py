"""The Textual app: wires the panes together and runs training in a thread worker.

The app owns the one piece of shared machinery, the `Trainer` of the current run. The trainer runs
in a thread worker and reports through a callback that only posts messages (thread-safe); the app
turns those into widget updates on the UI thread. TensorFlow is imported by a background worker at
start-up, so the first frame never waits for it.

Every run gets a run folder (metrics, summary, checkpoints) under `runs_dir`. SIGTERM, SIGHUP and
SIGINT stop the run with a checkpoint and exit (see `shutdown`); past runs can be loaded into the
chart and the shown curves exported as CSV.
"""

from __future__ import annotations

import importlib.util
import signal
import threading
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import Input, Tab, Tabs

from rnntui import exit_codes
from rnntui.config import Config, ConfigError, load_file, load_preset, save_preset
from rnntui.engine.events import Event
from rnntui.tui import shutdown
from rnntui.tui.commands import RnnTuiCommands
from rnntui.tui.curves_csv import FORMAT_NOTE, write_curves_csv
from rnntui.tui.messages import (
    CurvesExported,
    EpochFinished,
    PastRunLoaded,
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
from rnntui.tui.screens.help import HelpScreen
from rnntui.tui.screens.preset_picker import PresetPicker
from rnntui.tui.screens.run_picker import RunPicker
from rnntui.tui.screens.save_preset import SavePresetDialog
from rnntui.tui.widgets.app_footer import AppFooter
from rnntui.tui.widgets.dataset_preview import DatasetPreview
from rnntui.tui.widgets.inspector_pane import InspectorPane, WeightsSource
from rnntui.tui.widgets.loss_chart import LossChart
from rnntui.tui.widgets.settings_pane import SettingsPane
from rnntui.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from rnntui.engine.runs import RunFolder, RunInfo
    from rnntui.engine.trainer import Trainer

TENSORBOARD_MISSING = "needs the tensorboard package: pip install 'rnntui[tensorboard]'"

RUNNING = ("starting", "training", "pausing", "paused", "stopping")
PANES = (
    ("settings", "Settings"),
    ("chart", "Chart"),
    ("data", "Data"),
    ("inspector", "Inspect"),
)


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
        Binding("l", "load_run", "Load run", tooltip="add a past run's curve to the chart"),
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
    ) -> None:
        super().__init__()
        from rnntui.engine.runs import default_runs_dir  # here: it pulls in NumPy

        self.runs_dir = Path(runs_dir).expanduser() if runs_dir else default_runs_dir()
        self.runs_dir_given = runs_dir is not None
        has_tensorboard = importlib.util.find_spec("tensorboard") is not None
        self.tensorboard_problem = "" if has_tensorboard else TENSORBOARD_MISSING
        self.run_folder: RunFolder | None = None
        self.training_done = threading.Event()  # set while no training thread is running
        self.training_done.set()
        self.signalled = ""  # the name of the signal that ended the app
        self.exit_note = ""  # a line for the shell after the app exits (the CLI prints it)
        self._signals: list[int] = []
        self.preset_config = deepcopy(config or Config())
        # The CLI passes what the user typed: a name or a path (then the name inside the file).
        is_path = "/" in preset_name or preset_name.endswith(".toml")
        self.preset_name = self.preset_config.name if is_path or not preset_name else preset_name
        self.config = deepcopy(self.preset_config)
        self.errors: dict[str, str] = {}
        self.state = "loading TensorFlow"
        self.tf_ready = False
        self.device = ""
        self.trainer: Trainer | None = None
        self.run_number = 0
        self.run_label = ""
        self.run_final: float | None = None
        self.keep_run = False  # the live curve belongs to a finished run worth comparing

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
        self.preview = DatasetPreview(id="data", classes="pane")
        self.inspector = InspectorPane(id="inspector", classes="pane")
        self.status = StatusBar(id="status")
        yield Tabs(*(Tab(title, id=f"tab-{pane}") for pane, title in PANES), id="tabs")
        with Container(id="panes", classes="-show-settings"):
            yield self.settings
            yield self.chart
            yield self.preview
            yield self.inspector
        yield self.status
        yield AppFooter(show_command_palette=False)

    def on_mount(self) -> None:
        titles = {"settings": "Settings", "chart": "Loss", "data": "Data", "inspector": "Inspector"}
        for pane, title in titles.items():
            self.query_one(f"#{pane}").border_title = title
        self.settings.set_title(self.preset_name, self.config.description)
        self.status.state = self.state
        self.inspector.set_fresh_cell(4, self.config.train.seed)
        # Import TF once the first frame is on screen: the import holds the GIL for seconds.
        self.set_timer(0.3, self._preload)
        self._signals = shutdown.install_signal_handlers(self._stop_signal)

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    def _set_state(self, state: str, detail: str = "") -> None:
        self.state = state
        self.status.state = state
        self.status.detail = detail
        self.settings.set_locked(self.running)
        self.refresh_bindings()

    # --- panes (tabs when the terminal is small) -------------------------------------------------

    @on(Tabs.TabActivated, "#tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        pane = (event.tab.id or "tab-settings").removeprefix("tab-")
        panes = self.query_one("#panes")
        for name, _ in PANES:
            panes.set_class(name == pane, f"-show-{name}")

    def action_show_pane(self, pane: str) -> None:
        tabs = self.query_one("#tabs", Tabs)
        tabs.active = f"tab-{pane}"
        if pane == "inspector" and (self.focused is None or self.focused is tabs):
            self.inspector.focus()  # so ←/→ step the cell rather than switch tabs

    @property
    def wide(self) -> bool:
        return self.screen.has_class("-wide") and self.screen.has_class("-tall")

    # --- settings and preview --------------------------------------------------------------------

    @on(SettingsPane.Changed)
    def _settings_changed(self, event: SettingsPane.Changed) -> None:
        self.config = event.config
        self.errors = event.errors
        task_ok = not any(key.startswith("task.") or key == "train.seed" for key in event.errors)
        if task_ok:  # after the next paint: generating the data must not delay a frame
            self.call_after_refresh(
                self.preview.show_task, event.config.task, event.config.train.seed
            )
        if not self.running and not any(key == "train.seed" for key in event.errors):
            self.inspector.set_fresh_cell(4, event.config.train.seed)
        if not self.running and not self.chart.losses and not event.errors:
            from rnntui.tasks import total_steps

            self.chart.total_steps = total_steps(event.config)
            self.chart.refresh()
        self.refresh_bindings()

    @on(DatasetPreview.Ready)
    def _preview_ready(self) -> None:
        data = self.preview.data
        if data is not None and not self.chart.losses:
            self.chart.set_baselines(tuple(data.baselines))

    def load_config(self, config: Config, name: str) -> None:
        self.preset_config = deepcopy(config)
        self.preset_name = name
        self.config = deepcopy(config)
        self.settings.load(config)
        self.settings.set_title(name, config.description)

    # --- TensorFlow ------------------------------------------------------------------------------

    @work(thread=True, group="tensorflow")
    def _preload(self) -> None:
        from rnntui.engine.trainer import preload_tensorflow

        try:
            device = preload_tensorflow()
        except Exception as error:  # reported; the rest of the app still works
            self.post_message(TensorFlowFailed(f"{type(error).__name__}: {error}"))
            return
        self.post_message(TensorFlowReady(device))

    @on(TensorFlowReady)
    def _tf_ready(self, message: TensorFlowReady) -> None:
        self.tf_ready = True
        self.device = message.device
        self.status.device = message.device
        if self.state == "loading TensorFlow":
            self._set_state("idle")
        elif self.state == "starting":
            self.status.detail = "(building the model)"
        self.inspector.activate()

    @on(TensorFlowFailed)
    def _tf_failed(self, message: TensorFlowFailed) -> None:
        self.status.device = "no TensorFlow"
        self._set_state("failed", message.error)
        self.notify(message.error, title="TensorFlow failed to load", severity="error", timeout=10)

    # --- training --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Footer room is scarce at 80 columns: keys that cannot apply now are hidden.
        if action == "start":
            return False if self.running else (None if self.errors else True)
        if action == "pause":
            if self.state == "training":
                return True
            return None if self.running and self.state != "paused" else False
        if action == "resume":
            return self.state == "paused"
        if action == "stop":
            return self.state in ("starting", "training", "pausing", "paused")
        if action == "leave_field":  # dialogs bind escape themselves
            return isinstance(self.focused, Input) and self.screen is self.screen_stack[0]
        if action in ("open_preset",):
            return None if self.running else True
        if action == "clear_comparison":
            return bool(self.chart.comparison)
        if action == "export_csv":
            return bool(self.chart.losses or self.chart.comparison)
        return True

    def action_start(self) -> None:
        if self.running:
            return
        if self.errors:
            key, reason = next(iter(self.errors.items()))
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
        self.status.clear_run(config.train.epochs)
        run = self.run_number
        factory = self.trainer_factory
        if factory is None:
            from rnntui.engine.trainer import Trainer as factory
        on_event, made = self._callback(run)
        self.run_folder = self._create_run_folder(config)
        tensorboard = self.settings.tensorboard and self.run_folder is not None
        self.trainer = factory(config, on_event, run=self.run_folder, tensorboard=tensorboard)
        made.append(self.trainer)
        self._set_state(
            "starting", "(building the model)" if self.tf_ready else "(loading TensorFlow)"
        )
        if not self.wide:
            self.action_show_pane("chart")
        self.training_done.clear()
        self._train(self.trainer, run)

    def _create_run_folder(self, config: Config) -> RunFolder | None:
        """The new run's folder; None (the run still trains, unsaved) when it cannot be made."""
        from rnntui.engine.runs import RunFolder

        try:
            return RunFolder.create(config, self.runs_dir)
        except OSError as error:
            self.notify(
                f"cannot create a run folder in {self.runs_dir}: {error.strerror or error}; "
                "this run is not saved (try rnntui --runs-dir DIR)",
                title="Run not saved",
                severity="warning",
                timeout=10,
            )
            return None

    def _callback(self, run: int) -> tuple[Callable[[Event], None], list[Trainer]]:
        """The trainer's event callback (runs in the worker thread, so it only posts messages),
        and a list that will hold the trainer it reports for (built after its callback)."""
        made: list[Trainer] = []

        def on_event(event: Event) -> None:
            message = message_for(run, event)
            if message is None:
                return
            if isinstance(message, TrainingFinished) and made:
                message.lstm_weights = made[0].lstm_weights()
            try:
                self.post_message(message)
            except RuntimeError:  # the app has closed its event loop; nobody is listening
                pass

        return on_event, made

    @work(thread=True, exclusive=True, group="training", exit_on_error=False)
    def _train(self, trainer: Trainer, run: int) -> None:
        try:
            trainer.run()
        except Exception as error:  # Trainer.run should never raise; be safe anyway
            from rnntui.engine.events import Failed

            try:
                self.post_message(TrainingFailed(run, Failed(f"{type(error).__name__}: {error}")))
            except RuntimeError:  # the app has closed
                pass
        finally:
            self.training_done.set()  # the checkpoint is on disk; the exit watchdog may go on

    def _current(self, run: int) -> bool:
        return run == self.run_number and self.running

    @on(TrainingStarted)
    def _started(self, message: TrainingStarted) -> None:
        if not self._current(message.run):
            return
        event = message.event
        self.chart.total_steps = event.total_steps
        self.chart.set_baselines(event.baselines)
        self.status.total_steps = event.total_steps
        self.status.device = event.device
        if self.state == "starting":
            self._set_state("training")

    @on(TrainingProgress)
    def _progress(self, message: TrainingProgress) -> None:
        if message.run != self.run_number:
            return
        event = message.event
        self.chart.add_losses(event.losses)
        self.status.show_progress(event, self.chart.smoothed_loss)
        if self.state == "starting":
            self._set_state("training")

    @on(EpochFinished)
    def _epoch_finished(self, message: EpochFinished) -> None:
        if message.run != self.run_number:
            return
        metrics = message.event.metrics
        self.status.show_metrics(metrics)
        if "tail_loss" in metrics:
            self.run_final = metrics["tail_loss"]

    @on(TrainingPaused)
    def _paused(self, message: TrainingPaused) -> None:
        if self._current(message.run) and self.state != "stopping":
            self._set_state("paused")

    @on(TrainingResumed)
    def _resumed(self, message: TrainingResumed) -> None:
        if self._current(message.run) and self.state != "stopping":
            self._set_state("training")

    @on(TrainingFinished)
    def _finished(self, message: TrainingFinished) -> None:
        if message.run != self.run_number:
            return
        event = message.event
        final = event.summary.get("final_loss")
        self.run_final = final if isinstance(final, float) else self.chart.smoothed_loss
        self.keep_run = bool(self.chart.losses)
        self.status.eta_s = None
        self.status.show_metrics(event.summary)
        self._set_state("stopped" if event.stopped else "finished")
        steps = event.summary.get("steps", len(self.chart.losses))
        loss = f", loss {self.run_final:.4f}" if self.run_final is not None else ""
        saved = ""
        if self.run_folder is not None:
            saved = f"\nsaved in {self.run_folder.name}"
            if event.stopped:
                saved += f"\ncontinue: {self.resume_command()}"
        self.notify(
            f"{self.run_label}: {steps:,} steps{loss}{saved}", title=self.state.capitalize()
        )
        if message.lstm_weights is not None:
            self.inspector.use_weights(
                WeightsSource(
                    message.lstm_weights,
                    f"trained first LSTM layer of {self.run_label}",
                    self._sample_input(),
                )
            )

    @on(TrainingFailed)
    def _failed(self, message: TrainingFailed) -> None:
        if message.run != self.run_number:
            return
        self.keep_run = False
        self._set_state("failed", message.event.message)
        where = f"\n(run folder {self.run_folder.name})" if self.run_folder is not None else ""
        self.notify(
            message.event.message + where,
            title=f"{self.run_label} failed",
            severity="error",
            timeout=10,
        )

    def resume_command(self) -> str:
        """The shell command that continues the current run from its checkpoint."""
        if self.run_folder is None:
            return ""
        from rnntui.engine.runs import resume_command

        return resume_command(self.run_folder.name, self.runs_dir if self.runs_dir_given else None)

    def _comparison_label(self) -> str:
        """ "#1 raw_rnn 4 n=5 0.519": which run, what model, where it ended."""
        final = f" {self.run_final:.3f}" if self.run_final is not None else ""
        model = self.run_label.partition(": ")[2]
        return f"#{self.run_number} {model}{final}"

    def _sample_input(self) -> str:
        """An input the trained first layer accepts: the first steps of the data, as fed."""
        data = self.preview.data
        if data is not None and data.kind == "echo":
            return "; ".join("0,1" if x else "1,0" for x in data.preview.x[:8])
        if data is not None and data.kind == "count" and data.preview.strings:
            return "; ".join(data.preview.strings[0])
        return "1,0; 0,1; 0,1; 1,0"

    def action_pause(self) -> None:
        if self.trainer is not None and self.state == "training":
            self.trainer.pause()
            self._set_state("pausing")

    def action_resume(self) -> None:
        if self.trainer is not None and self.state == "paused":
            self.trainer.resume()
            self._set_state("training")

    def action_stop(self) -> None:
        if self.trainer is not None and self.running and self.state != "stopping":
            self.trainer.stop()
            self._set_state("stopping")

    def action_reset(self) -> None:
        """Stop any run, forget its curve and reload the opened preset's settings."""
        if self.running and self.trainer is not None:
            self.trainer.stop()
            self.run_number += 1  # late messages of the old run are ignored from now on
        self.keep_run = False
        self.chart.reset_run()
        self.load_config(self.preset_config, self.preset_name)
        self.status.clear_run()
        self._set_state("idle" if self.tf_ready else "loading TensorFlow")

    def action_leave_field(self) -> None:
        """Leave a text field, so the single-key shortcuts work again."""
        self.screen.set_focus(None)

    def action_clear_comparison(self) -> None:
        self.chart.clear_comparison()
        self.refresh_bindings()

    # --- past runs and export --------------------------------------------------------------------

    def action_load_run(self) -> None:
        def chosen(info: RunInfo | None) -> None:
            if info is not None:
                self._load_run(info)

        self.push_screen(RunPicker(self.runs_dir), chosen)

    @work(thread=True, group="load-run")
    def _load_run(self, info: RunInfo) -> None:
        self.post_message(load_past_run(info))

    @on(PastRunLoaded)
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
        self.action_show_pane("inspector")
        self.inspector.focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(list(self.BINDINGS)))

    async def action_quit(self) -> None:
        """Stop the training loop first, so the worker thread ends within one chunk."""
        self._stop_for_exit()
        self.exit()

    def on_unmount(self) -> None:
        # Every way out (ctrl+q, the palette's Quit, an error) ends here before the worker
        # thread is joined; without this the exit would wait for the whole run to finish.
        self._stop_for_exit()

    def _stop_for_exit(self) -> None:
        """Stop a running trainer (it writes a checkpoint) and say how to continue the run."""
        if self.trainer is None or self.training_done.is_set():
            return
        self.trainer.stop()
        if self.run_folder is not None and not self.exit_note:
            how = f"stopped by {self.signalled}" if self.signalled else "stopped"
            self.exit_note = (
                f"rnntui: {self.run_folder.name} {how} with a checkpoint; "
                f"continue with: {self.resume_command()}"
            )

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
    steps = f" n={config.train.num_steps}" if config.task.kind == "echo" else ""
    return f"run {number}: {cell}{size}{steps}"


def open_app(preset: str = "", runs_dir: Path | str | None = None) -> RnnTuiApp:
    """The app for a preset name or path (the default config when empty)."""
    config = load_preset(preset) if preset else Config()
    return RnnTuiApp(config, preset_name=preset, runs_dir=runs_dir)
