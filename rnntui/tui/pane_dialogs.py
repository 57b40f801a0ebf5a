"""The app's dialog flows: a key opens a dialog (or starts a worker), and what is chosen there
changes the app. Keys reach them by name (`dialog('knobs')` in `actions.py`).
"""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnntui.config import ConfigError, load_file, save_preset
from rnntui.tui.curves_csv import FORMAT_NOTE, write_curves_csv
from rnntui.tui.messages import CurvesExported, PastRunLoaded

if TYPE_CHECKING:
    from rnntui.runs.listing import RunInfo

NAMES = ("knobs", "ab_run", "load_run", "export_csv", "open_preset", "save_preset")


class PaneDialogs:
    """The dialog flows of one app (see the module's docstring)."""

    def __init__(self, app: Any) -> None:
        # the RnnTuiApp (typed loosely: the app imports this module, not the other way round)
        self.app = app
        self.desk = app.desk

    def open(self, name: str) -> None:
        """The flow `name` (one of NAMES)."""
        if name not in NAMES:
            raise ValueError(f"no dialog {name!r}")
        getattr(self, name)()

    def browse(self, key: str, current: str) -> None:
        from rnntui.tasks.corpus import expand
        from rnntui.tui.screens.file_picker import FilePicker

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.app.settings.set_text(key, str(path))

        start = Path(expand(current)) if current.strip() else Path.cwd()
        self.app.push_screen(FilePicker(start), chosen)

    def knobs(self) -> None:
        from rnntui.tui.screens.knob_dialog import KnobDialog

        app, session = self.app, self.desk.session
        if session is None or not app.running:
            app.notify("Knobs change a run while it trains; press s first.", severity="warning")
            return
        train = session.config.train
        current = {"learning_rate": train.learning_rate, "clip_norm": train.clip_norm}

        def chosen(changes: dict[str, float] | None) -> None:
            if not changes or self.desk.session is not session or not session.running:
                return
            for name, value in changes.items():
                session.set_knob(name, value)
                setattr(session.config.train, name, value)  # what the dialog shows next

        app.push_screen(KnobDialog(current, self.desk.label), chosen)

    def ab_run(self) -> None:
        from rnntui.tui.screens.cell_picker import CellPicker

        app, desk = self.app, self.desk
        if desk.companion.running:
            app.notify("An A/B run is training already.", severity="warning")
            return
        running = app.running and desk.session is not None
        base = desk.session.config if running and desk.session is not None else app.config

        def chosen(cell: str | None) -> None:
            if cell is None or desk.companion.running:
                return
            if not app.running:
                app.action_start()
            if desk.session is None or not app.running:
                return
            label, warning = desk.start_companion(cell)
            app.chart.start_companion(label)
            app.refresh_bindings()
            if warning:
                app.notify(warning, title="A/B run not saved", severity="warning", timeout=10)
            if not app.pane_layout.wide:
                app.pane_layout.show("chart")

        app.push_screen(CellPicker(base.model.cell, running), chosen)

    def load_run(self) -> None:
        from rnntui.tui.past_runs import load_past_run
        from rnntui.tui.screens.run_picker import RunPicker

        app = self.app

        def chosen(info: RunInfo | None) -> None:
            if info is not None:
                app.run_worker(
                    lambda: app.post_message(load_past_run(info)), thread=True, group="load-run"
                )

        app.push_screen(RunPicker(app.runs_dir), chosen)

    def report(self, message: PastRunLoaded | CurvesExported) -> None:
        """What a worker of the panes found: a past run's curve, or where the curves went."""
        if isinstance(message, CurvesExported):
            self.curves_exported(message)
        else:
            self.past_run_loaded(message)

    def past_run_loaded(self, message: PastRunLoaded) -> None:
        app = self.app
        if message.curve is None:
            app.notify(message.error, title=f"Cannot load {message.name}", severity="error")
            return
        app.chart.add_comparison(message.curve)
        if message.path:  # its forecasts too, when its task draws an evaluation (a series)
            app.panes.show_evaluation(Path(message.path), message.curve.task)
        app.refresh_bindings()
        if not app.pane_layout.wide:
            app.pane_layout.show("chart")
        app.notify(
            f"{message.name}: {message.steps:,} steps, shown as '{message.curve.label}' (c clears)",
            title="Run loaded",
        )

    def export_csv(self) -> None:
        app = self.app
        curves = app.chart.shown_curves()
        if not curves:
            app.notify("Train or load a run first.", title="Nothing to export", severity="warning")
            return
        app.run_worker(lambda: self._export(curves), thread=True, group="export")

    def _export(self, curves: list) -> None:
        rows = sum(len(steps) for _, steps, _ in curves)
        try:
            path = write_curves_csv(curves, [Path.cwd(), self.app.runs_dir.parent])
        except OSError as error:
            self.app.post_message(CurvesExported("", error=str(error)))
            return
        self.app.post_message(CurvesExported(str(path), len(curves), rows))

    def curves_exported(self, message: CurvesExported) -> None:
        if message.error:
            self.app.notify(message.error, title="Cannot export", severity="error", timeout=10)
            return
        self.app.notify(
            f"{message.curves} curves, {message.rows:,} rows → {message.path}\n{FORMAT_NOTE}",
            title="Curves exported",
            timeout=10,
        )

    def open_preset(self) -> None:
        from rnntui.tui.screens.preset_picker import PresetPicker

        app = self.app
        if app.running:
            app.notify("Stop training before opening a preset.", severity="warning")
            return

        def opened(path: Path | None) -> None:
            if path is None:
                return
            try:
                config = load_file(path)
            except ConfigError as error:
                app.notify(str(error), title="Cannot open preset", severity="error", timeout=8)
                return
            app.load_config(config, config.name or path.stem)
            app.notify(f"opened {config.name}", title="Preset")

        app.push_screen(PresetPicker(app.preset_name), opened)

    def save_preset(self) -> None:
        from rnntui.tui.screens.save_preset import SavePresetDialog

        app = self.app

        def save(answer: tuple[str, str] | None) -> None:
            if answer is None:
                return
            name, description = answer
            config = deepcopy(app.config)
            config.name, config.description = name, description
            try:
                path = save_preset(config)
            except OSError as error:
                app.notify(str(error), title="Cannot save preset", severity="error", timeout=8)
                return
            app.preset_config, app.preset_name = deepcopy(config), name
            app.settings.set_title(name, description)
            app.notify(f"saved to {path}", title="Preset saved")

        name = app.preset_name if app.preset_name else "my-preset"
        app.push_screen(SavePresetDialog(name, app.config.description), save)
