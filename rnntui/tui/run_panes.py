"""What the panes show of the runs: the app's run events and run dialogs turned into pane updates.

The app routes here only what concerns the run in front of the user (the run desk knows which
that is); this object owns how the chart, status bar, probe, inspector, Generate pane and hidden
units follow it, and the dialogs that start, follow or change a run. It holds no run state of its
own: that is the desk's (`run_desk.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.widgets import Input

from rnntui.config import Config, ConfigError
from rnntui.engine.events import (
    EpochEnd,
    Event,
    Failed,
    Finished,
    KnobChanged,
    Paused,
    ProbeResult,
    Progress,
    Resumed,
    Started,
)
from rnntui.runs.curves import knob_mark
from rnntui.runs.files import CHECKPOINT_FILE
from rnntui.sessions.followed import FollowedSession, NotLive
from rnntui.sessions.session import RunState
from rnntui.tasks.base import view_of
from rnntui.tasks.registry import TASK_KINDS, task_class
from rnntui.tui.messages import ProbeUpdated
from rnntui.tui.terminal_alerts import TerminalAlerts
from rnntui.tui.widgets.inspector_pane import WeightsSource

if TYPE_CHECKING:
    from rnntui.runs.listing import RunInfo
    from rnntui.tui.widgets.dataset_preview import DatasetPreview

PROBE_INTERVAL_S = 0.25  # while the probe pane shows: as often as the chart redraws, at most


def _edited_keys(preset: Config, config: Config) -> list[str]:
    """The settings (`section.key`) where `config` differs from the preset it was opened as."""
    before, after = preset.to_dict(), config.to_dict()
    return [
        f"{section}.{key}"
        for section in ("task", "model", "train")
        for key, value in after[section].items()
        if before[section].get(key) != value
    ]


def _checkpoint_mtime(folder: Path) -> int | None:
    """When the run folder's checkpoint was last written (None: it has none yet)."""
    try:
        return (folder / CHECKPOINT_FILE).stat().st_mtime_ns
    except OSError:
        return None


class RunPanes:
    """The panes' side of the runs, for one app."""

    def __init__(self, app: Any) -> None:
        # the RnnTuiApp (typed loosely: the app imports this module, not the other way round)
        self.app = app
        self.desk = app.desk
        self._probed_checkpoint: int | None = None  # the checkpoint (mtime) last probed
        self.terminal_alerts = TerminalAlerts(app)  # the bell when a run needs you

    # --- settings, data, probe truth -------------------------------------------------------------

    def settings_changed(self, config: Config, errors: dict[str, str]) -> None:
        app = self.app
        if not app.running:  # the preset's description holds only while its settings do
            edited = _edited_keys(app.preset_config, config)
            description = app.preset_config.description
            if edited:
                description = f"edited from the preset: {', '.join(edited[:3])}"
                description += " …" if len(edited) > 3 else ""
            app.settings.set_title(app.preset_name, description)
        task_ok = not any(key.startswith("task.") or key == "train.seed" for key in errors)
        if task_ok:  # after the next paint: generating the data must not delay a frame
            app.call_after_refresh(app.preview.show_task, config.task, config.train.seed)
            if not errors and self.probe_shown():  # else when it opens: nothing to wait on
                app.call_after_refresh(self.show_probe_truth, config)
        if not app.running and "train.seed" not in errors:
            app.inspector.set_fresh_cell(4, config.train.seed)
        if not app.running and not app.chart.steps and "task.kind" not in errors:
            app.chart.show_task(config.task.kind)  # the faded curves of this task
        if not app.running and not app.chart.steps and not errors:
            app.run_worker(
                lambda: self._count_steps(config), thread=True, exclusive=True, group="steps"
            )

    def _count_steps(self, config: Config) -> None:
        """The run's length for the chart's x axis, off the UI thread (a text is read for it)."""
        from rnntui.tasks.build import total_steps

        try:
            steps = total_steps(config)
        except Exception:  # the preview reports what is wrong with the data
            return
        self.app.call_from_thread(self._show_total_steps, steps)

    def _show_total_steps(self, steps: int) -> None:
        app = self.app
        if not app.running and not app.chart.steps:
            app.chart.total_steps = steps
            app.chart.refresh()

    def preview_ready(self, message: DatasetPreview.Ready) -> None:
        app = self.app
        data = message.data
        app.data_problem = {message.error_key: message.error} if message.error_key else {}
        summary = getattr(data.preview, "summary", "") if data is not None else ""
        for key in app.settings.picker_keys():
            reason = app.data_problem.get(key, "")
            app.settings.set_note(key, reason or summary, ok=not reason)
        if data is not None and not app.chart.steps:
            app.chart.set_baselines(tuple(data.baselines))
        if data is not None:
            app.pane_layout.generative(task_class(data.kind).autoregressive)
            app.pane_layout.evaluation(view_of(task_class(data.kind)))
        app.live.data_changed(app.config, data)

    def show_probe_truth(self, config: Config) -> None:
        """The task's true effect per lag (no TensorFlow needed), or why it has none; only while
        the pane shows (at start-up every message is slow while TensorFlow imports)."""
        from rnntui.tasks.build import make_task
        from rnntui.tasks.lags import ProbeError, check_probeable, probe_max_lag

        try:
            task = make_task(config.task, config.train.seed)
            truth = check_probeable(task).true_lag_effects(
                probe_max_lag(task, config.train.num_steps)
            )
        except (ProbeError, ValueError) as error:
            self.app.probe.show_task({}, 0, str(error))
            return
        self.app.probe.show_task(truth, config.train.num_steps)

    def probe_shown(self) -> bool:
        return self.app.pane_layout.probe_shown()

    def toggle_probe_view(self) -> None:
        """Lag effects or the gradient reach; the probe pane comes to the front."""
        self.app.probe.toggle_view()
        if not self.probe_shown():
            self.app.action_probe()
        self.sync_probe()  # the gradient reach is traced and measured only while on screen

    def generate(self) -> None:
        app = self.app
        if not app.live.generative:
            app.notify("Generation needs a text task.", severity="warning")
            return
        app.pane_layout.place("generate")
        self.sync_probe()
        app.live.sample_now()
        if not isinstance(app.focused, Input):  # typing goes into the prime, never to app keys
            app.query_one("#generate-prime", Input).focus()

    def sync_probe(self) -> None:
        """A run this app trains probes itself, between chunks, while the pane shows (and not
        otherwise). A run that has ended, or that another process trains, is probed from its
        latest checkpoint by the helper: when the pane shows and the checkpoint is newer than
        what the pane has (or the gradient reach is asked for and not yet measured)."""
        app, session = self.app, self.desk.session
        if session is None:
            return
        if session.running and not isinstance(session, FollowedSession):
            shown = self.probe_shown()
            session.set_probe(PROBE_INTERVAL_S if shown else 0.0, app.probe.wants_gradients)
            return
        if (
            session.run_folder is None
            or app.tensorflow is None
            or not app.tf_ready
            or not self.probe_shown()
            or app.probe.problem
        ):
            return
        checkpoint = _checkpoint_mtime(session.run_folder.path)
        result = app.probe.result
        stale = result is None or checkpoint != self._probed_checkpoint
        reach_missing = app.probe.wants_gradients and (result is None or not result.gradient_reach)
        if checkpoint is not None and (stale or reach_missing):
            self._probed_checkpoint = checkpoint
            number, folder = self.desk.number, session.run_folder.path
            app.run_worker(
                lambda: self._probe_checkpoint(number, folder),
                thread=True,
                exclusive=True,
                group="probe",
            )

    def _probe_checkpoint(self, number: int, folder: Path) -> None:
        app = self.app
        assert app.tensorflow is not None
        try:
            result = app.tensorflow.probe(folder, True)
        except RuntimeError as error:  # e.g. no checkpoint: the pane keeps what it shows
            app.call_from_thread(app.notify, str(error), severity="warning")
            return
        app.post_message(ProbeUpdated(number, result))

    # --- starting, following and leaving runs ----------------------------------------------------

    def _retire_live_curve(self) -> str:
        """The label the live curve keeps as a comparison, when it belongs to an ended run
        (asked before the desk moves on to the next run)."""
        return self.desk.comparison_label() if self.app.chart.steps and self.desk.keep else ""

    def new_run(self, config: Config) -> None:
        """Before the desk starts the next run: keep the ended run's curve to compare."""
        label = self._retire_live_curve()
        if label:
            self.app.chart.finish_run(label)

    def run_started(self, config: Config, warning: str) -> None:
        app, desk = self.app, self.desk
        app.chart.show_task(config.task.kind)
        app.chart.start_run(desk.label, 0)
        app.status.clear_run(config.train.epochs, task_class(config.task.kind).metrics)
        assert desk.session is not None
        app.live.run_started(desk.session, f"run {desk.number}")
        if warning:
            app.notify(warning, title="Run not saved", severity="warning", timeout=10)
        app.probe.clear_result()
        app.pane_layout.forecast.clear()
        self.sync_probe()
        app.show_state("(building the model)" if app.tf_ready else "(loading TensorFlow)")
        if (
            not app.pane_layout.wide and not self.probe_shown()
        ):  # the probe pane stays: it shows training
            app.pane_layout.show("chart")

    def forget_run(self) -> None:
        app = self.app
        app.chart.finish_companion(None)
        app.chart.reset_run()
        app.live.run_forgotten()
        app.probe.clear_result()
        app.status.clear_run()

    def attach(self, run: str) -> None:
        app = self.app
        label = self._retire_live_curve()
        try:
            session = self.desk.attach(run)
        except (ConfigError, NotLive, OSError) as error:
            app.notify(str(error), title="Cannot attach", severity="error", timeout=8)
            return
        if label:
            app.chart.finish_run(label)
        config = session.config
        app.chart.show_task(config.task.kind)
        app.chart.start_run(self.desk.label, 0)
        assert session.run_folder is not None
        name = session.run_folder.name
        # every pane describes the run being watched: its settings, data, model and number
        app.show_config(config, name)
        app.live.run_started(session, f"run {self.desk.number}")
        app.probe.clear_result()
        app.pane_layout.forecast.clear()
        self.show_evaluation(session.run_folder.path, config.task.kind)
        app.status.clear_run(config.train.epochs, task_class(config.task.kind).metrics)
        app.show_state()
        self.sync_probe()
        app.notify(
            f"following {name}, trained by pid {session.pid}: p pauses, x stops it, "
            "q leaves it training",
            title="Attached",
        )
        if not app.pane_layout.wide:
            app.pane_layout.show("chart")

    def pick_run_to_attach(self, offer: bool = False) -> None:
        """Pick a live run to follow. `offer`: a tab of `rnntui serve` opening on the runs
        training now (closing a tab stops none); nothing shows when none trains."""
        from rnntui.tui.screens.run_picker import RunPicker

        def chosen(info: RunInfo | None) -> None:
            if info is not None:
                self.attach(str(info.path))

        picker = RunPicker(self.app.runs_dir, live_only=True)
        if offer and not picker.rows:
            return
        if offer:
            self.app.notify(
                f"{len(picker.rows)} run(s) training: enter follows one, escape starts afresh",
                title="Live runs",
            )
        self.app.push_screen(picker, chosen)

    def detach(self) -> None:
        app = self.app
        session = self.desk.detach()
        if session is None:
            app.notify("Only a run this app started can be detached.", severity="warning")
            return
        assert session.run_folder is not None
        self.desk.keep = bool(app.chart.steps)
        app.set_state(RunState.IDLE)
        where = f" --runs-dir {app.runs_dir}" if self.desk.runs_dir_given else ""
        app.notify(
            f"{session.run_folder.name} trains on in the background (pid {session.pid}); "
            f"follow it again with a, or rnntui --attach {session.run_folder.name}{where}",
            title="Detached",
            timeout=10,
        )

    # --- what the runs tell ----------------------------------------------------------------------

    def run_event(self, number: int, event: Event) -> None:
        """An event of run `number`: only the run in front of the user changes the panes (and
        the A/B companion its own curve); any of them may ring the terminal's bell."""
        self.terminal_alerts.observe(event)
        if self.desk.is_current(number):
            match event:
                case Started():
                    self.started(event)
                case Progress():
                    self.progress(event)
                case EpochEnd():
                    self.epoch_finished(event)
                case Paused() | Resumed():
                    self.app.show_state()
                case Finished() | Failed():
                    self.ended(event)
                case KnobChanged():
                    self.knob_applied(event)
                case ProbeResult():
                    self.app.probe.show_result(event)
        elif self.desk.companion.owns(number):
            if isinstance(event, Progress):
                self.app.chart.add_companion_losses(event.losses)
            elif isinstance(event, Finished | Failed):
                self.companion_ended(event)

    def started(self, event: Started) -> None:
        app = self.app
        app.chart.total_steps = event.total_steps
        app.chart.set_baselines(event.baselines)
        app.status.total_steps = event.total_steps
        app.status.device = event.device
        app.show_state()

    def progress(self, event: Progress) -> None:
        app = self.app
        app.chart.add_losses(event.losses)
        app.status.show_progress(event, app.chart.smoothed_loss)
        if app.state is RunState.STARTING:
            app.show_state()

    def epoch_finished(self, event: EpochEnd) -> None:
        self.app.status.show_metrics(event.metrics)
        if "tail_loss" in event.metrics:
            self.desk.final = event.metrics["tail_loss"]
        view = self.app.pane_layout.view
        if view is not None and view.metric in event.metrics:  # an evaluation: its new view
            self.show_evaluation()

    def show_evaluation(self, folder: Path | None = None, kind: str = "") -> None:
        """The evaluation view a run folder holds (the current run's by default), in the
        Forecast pane, for a task that has one (`kind`: the run's, when it may differ from the
        settings' task, as for an attached or a past run)."""
        layout = self.app.pane_layout
        if kind:
            view = view_of(task_class(kind)) if kind in TASK_KINDS else None
            if view is None:
                return  # nothing to draw for that run (the settings' task decides the pane)
            layout.evaluation(view)
        session = self.desk.session
        if folder is None and session is not None and session.run_folder is not None:
            folder = session.run_folder.path
        if layout.view is not None and folder is not None:
            layout.forecast.load(folder)

    def ended(self, event: Finished | Failed) -> None:
        from rnntui.tui.screens.knob_dialog import KnobDialog

        if isinstance(self.app.screen, KnobDialog):  # nothing left to change
            self.app.screen.dismiss(None)
        if isinstance(event, Failed):
            self._failed(event)
        else:
            self._finished(event)

    def _finished(self, event: Finished) -> None:
        app, desk = self.app, self.desk
        final = event.summary.get("final_loss")
        desk.ended(final if isinstance(final, float) else app.chart.smoothed_loss,
                   bool(app.chart.steps))  # fmt: skip
        app.status.eta_s = None
        app.status.show_metrics(event.summary)
        app.show_state()
        self.show_evaluation()  # a run that kept its best epoch saved that epoch's view last
        steps = event.summary.get("steps", app.chart.steps)
        if event.summary.get("stopped_early"):  # the axis ends where the run did, not its plan
            app.chart.total_steps = steps
        loss = f", loss {desk.final:.4f}" if desk.final is not None else ""
        saved = ""
        run_folder = desk.session.run_folder if desk.session is not None else None
        if run_folder is not None:
            saved = f"\nsaved in {run_folder.name}"
            if event.stopped:
                saved += f"\ncontinue: {desk.resume_command()}"
        app.notify(f"{desk.label}: {steps:,} steps{loss}{saved}", title=app.state.capitalize())
        app.live.finished()
        if event.lstm_weights is not None:
            app.inspector.use_weights(
                WeightsSource(
                    event.lstm_weights,
                    f"trained first LSTM layer of {desk.label}",
                    self._sample_input(len(event.lstm_weights[0])),
                )
            )

    def _failed(self, event: Failed) -> None:
        app, desk = self.app, self.desk
        desk.keep = False
        app.show_state(event.message)
        run_folder = desk.session.run_folder if desk.session is not None else None
        where = f"\n(run folder {run_folder.name})" if run_folder is not None else ""
        app.notify(event.message + where, title=f"{desk.label} failed", severity="error",
                   timeout=10)  # fmt: skip

    def _sample_input(self, width: int = 2) -> str:
        """An input the trained first layer accepts: the first steps of the data, as fed; a
        unit vector when the layer reads something else (e.g. an embedding's output)."""
        inputs = self.app.preview.sample_inputs
        if not inputs or len(inputs[0]) != width:
            return ",".join(["1"] + ["0"] * (width - 1)) if width != 2 else "1,0; 0,1; 0,1; 1,0"
        return "; ".join(",".join(f"{v:g}" for v in row) for row in inputs)

    # --- the knob marks and the A/B companion ------------------------------------------------

    def knob_applied(self, event: KnobChanged) -> None:
        step, label = knob_mark(event.step, event.name, event.value)
        self.app.chart.add_mark(step, label)
        self.app.notify(f"{label} from step {step + 1:,} (marked on the chart)", title="Knob")

    def companion_ended(self, event: Finished | Failed) -> None:
        app, label = self.app, self.desk.companion.label
        if isinstance(event, Failed):
            app.chart.finish_companion(None)
            app.notify(event.message, title=f"{label} failed", severity="error")
        else:
            final = event.summary.get("final_loss")
            loss = f" {final:.3f}" if isinstance(final, float) else ""
            app.chart.finish_companion(f"{label}{loss}")
            steps = event.summary.get("steps", 0)
            app.notify(
                f"{label}: {steps:,} steps{loss}",
                title="A/B run " + ("stopped" if event.stopped else "finished"),
            )
        app.refresh_bindings()
