"""The views that run the model itself, kept fed: the Generate pane and the hidden-unit view.

They show the model as it is: the untrained model of the current settings, the current run's
weights (refreshed every `INTERVAL_S` while it trains, read with `Trainer.weights_snapshot`), or
the finished run's. This object holds that bookkeeping so the app only forwards its events here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from rnntui.runs.files import CHECKPOINT_FILE

if TYPE_CHECKING:
    from rnntui.config import Config
    from rnntui.sessions.session import Session
    from rnntui.tui.widgets.dataset_preview import PreviewData
    from rnntui.tui.widgets.generate_pane import GeneratePane
    from rnntui.tui.widgets.hidden_units_view import HiddenUnitsView

INTERVAL_S = 8.0  # while training: a sample and a trace this often (each a fraction of a second)


class LiveViews:
    def __init__(self, generate: GeneratePane, units: HiddenUnitsView) -> None:
        self.generate = generate
        self.units = units
        self.config: Config | None = None  # the settings the preview was made for
        self.data: PreviewData | None = None
        self.session: Session | None = None
        self.label = ""  # "run 2" for the current run's weights
        self.tf_ready = False

    # --- what the app tells us -------------------------------------------------------------------

    def data_changed(self, config: Config, data: PreviewData | None) -> None:
        """The preview of the current settings is ready (None: the data cannot be read)."""
        self.config, self.data = config, data
        session = self.session
        if session is not None and not session.running:
            same = (session.config.task, session.config.model) == (config.task, config.model)
            if not same:  # the settings moved on from the finished run: show their own model
                self.session = None
        if data is None:
            return
        from rnntui.tasks.registry import task_class

        if not task_class(data.kind).autoregressive:
            self.generate.show_note(
                f"Generation needs a text task; the {data.kind} task's outputs are not its next "
                "input."
            )
        if self.session is None:
            self.refresh(sample=self.generative)

    def ready(self) -> None:
        """TensorFlow has loaded."""
        self.tf_ready = True
        self.refresh(sample=self.generative)

    def run_started(self, session: Session, label: str) -> None:
        self.session, self.label = session, label

    def run_forgotten(self) -> None:
        """The app was reset: back to the untrained model of the settings."""
        self.session = None
        self.refresh(sample=self.generative)

    def tick(self, training: bool) -> None:
        """The app's timer: while a run trains, sample (if asked to) and trace again."""
        if training and self.weights() is not None:
            self.refresh(sample=self.generative and self.generate.auto)

    def finished(self) -> None:
        self.refresh(sample=self.generative)

    # --- feeding the views -----------------------------------------------------------------------

    @property
    def generative(self) -> bool:
        from rnntui.tasks.registry import task_class

        return self.data is not None and task_class(self.data.kind).autoregressive

    def weights(self) -> Any:
        """The current run's weights: a copy as they are now when it trains in this process,
        else its folder's path (the helper reads its latest checkpoint, written every few
        seconds); None before there is either."""
        session = self.session
        if session is None:
            return None
        trainer = getattr(session, "trainer", None)
        if trainer is not None:
            return trainer.weights_snapshot()
        folder = session.run_folder
        if folder is not None and os.path.lexists(folder.path / CHECKPOINT_FILE):
            return folder.path
        return None

    def _source(self) -> tuple[Config | None, Any, str]:
        """(config, weights, label) of the model to show."""
        weights = self.weights()
        if weights is not None and self.session is not None:
            return self.session.config, weights, f"{self.label} at step {self.session.step:,}"
        if self.config is None:
            return None, None, ""
        return self.config, None, f"untrained (seed {self.config.train.seed})"

    def refresh(self, sample: bool = False) -> None:
        """Trace the units again, and sample when `sample` (both in workers)."""
        if not self.tf_ready or self.data is None or self.data.codec is None:
            return
        config, weights, label = self._source()
        if config is None:
            return
        self.units.compute(config, self.data.codec, self.data.excerpt, weights, label)
        if sample:
            self.generate.sample(config, self.data.codec, weights, label)

    def sample_now(self) -> bool:
        """`g`: sample at once; False when the task does not generate."""
        if not self.generative:
            return False
        if not self.tf_ready:
            self.generate.show_note("waiting for TensorFlow to load…")
            return True
        config, weights, label = self._source()
        if config is not None and self.data is not None:
            self.generate.sample(config, self.data.codec, weights, label)
        return True
