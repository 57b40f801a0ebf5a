"""Sample text from the model as it is: on `g`, and every few seconds while a text run trains.

The prime, temperature, length and seed are fields; sampling runs in a thread worker on a
`Replica` of the model (rnntui.analysis.generate), fed the weights the app hands over, so the
training thread is never touched. The seed stays the same from sample to sample, so what changes
between two samples is the weights: the text visibly improves as the run trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Static

DEFAULTS = {"prime": "", "temperature": "0.8", "length": "400", "seed": "0"}


@dataclass(frozen=True)
class SampleRequest:
    prime: str
    temperature: float
    length: int
    seed: int


class GeneratePane(Vertical, can_focus=True):
    """Prime, temperature, length, seed; the sampled text and which weights made it."""

    @dataclass
    class Sampled(Message):
        """A background sample finished (`generation` None: `error` says why)."""

        request: int
        generation: Any
        label: str
        error: str = ""

    def __init__(self, *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.generation: Any = None  # rnntui.analysis.generate.Generation
        self.label = ""
        self.samples = 0  # finished samples, for tests and the status line
        self.note = "Generation needs a text task: its outputs predict its next input."
        self._request = 0
        # runs the TensorFlow work: the app's helper process (`TensorFlowProcess`, or
        # `helper_jobs.InProcess` outside the app); None until TensorFlow has loaded
        self.helper: Any = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="generate-row"):
            yield Label("prime ", classes="generate-label")
            yield Input(DEFAULTS["prime"], id="generate-prime", compact=True, placeholder="text")
            yield Label(" T ", classes="generate-label")
            yield Input(DEFAULTS["temperature"], id="generate-temperature", compact=True)
            yield Label(" n ", classes="generate-label")
            yield Input(DEFAULTS["length"], id="generate-length", compact=True)
            yield Label(" seed ", classes="generate-label")
            yield Input(DEFAULTS["seed"], id="generate-seed", compact=True)
        with Horizontal(classes="generate-row"):
            yield Button("Generate", id="generate-go", compact=True, action="app.generate")
            yield Checkbox("while training", value=True, id="generate-auto", compact=True)
        yield Static(id="generate-source")
        with VerticalScroll(id="generate-scroll"):
            yield Static(Text(self.note, style="dim"), id="generate-output")

    def _lines(self) -> tuple[Static, Static] | None:
        """The source line and the sampled text; None while the app tears the pane down (its
        children go one by one, and a late message, such as TensorFlow reporting in as the app
        exits, found some already gone: NoMatches, seen on a loaded CI box)."""
        try:
            return (
                self.query_one("#generate-source", Static),
                self.query_one("#generate-output", Static),
            )
        except NoMatches:
            return None

    @property
    def auto(self) -> bool:
        """Sample every few seconds while a run trains."""
        try:
            return self.query_one("#generate-auto", Checkbox).value
        except NoMatches:  # being torn down (see _lines)
            return False

    @property
    def latest_request(self) -> int:
        """The number of the latest sample asked for (a Sampled message of another is stale)."""
        return self._request

    def request(self) -> SampleRequest | str:
        """The fields as a request, or the first problem with them (one line)."""
        from rnntui.analysis.generate import MAX_LENGTH, MAX_TEMPERATURE

        try:
            fields = {name: self.query_one(f"#generate-{name}", Input).value for name in DEFAULTS}
        except NoMatches:  # being torn down (see _lines)
            return "the pane is closing"
        try:
            temperature = float(fields["temperature"])
            length = int(fields["length"])
            seed = int(fields["seed"])
        except ValueError:
            return "temperature is a number (0 = greedy), length and seed whole numbers"
        if not 0 <= temperature <= MAX_TEMPERATURE:
            return f"temperature: use 0 (greedy) to {MAX_TEMPERATURE:g}"
        if not 1 <= length <= 5000 or seed < 0:
            return (
                f"length: use 1 to 5000 characters here (the CLI goes to {MAX_LENGTH:,}); seed >= 0"
            )
        return SampleRequest(fields["prime"], temperature, length, seed)

    # --- sampling --------------------------------------------------------------------------------

    def sample(self, config: Any, codec: Any, weights: Any, label: str) -> None:
        """Sample with `weights` (None: the untrained model) in a worker."""
        lines = self._lines()
        if lines is None:  # being torn down: nothing to show it in
            return
        request = self.request()
        if isinstance(request, str):
            self._show_error(request)
            return
        self._request += 1
        lines[0].update(Text(f"{label} · sampling…", "dim"))
        self._sample(self._request, config, codec, weights, label, request)

    @work(thread=True, exclusive=True, group="generate")
    def _sample(self, number: int, config, codec, weights, label: str, request) -> None:
        from rnntui.config import ConfigError

        options = (request.prime, request.length, request.temperature, request.seed)
        if self.helper is None:
            self.post_message(self.Sampled(number, None, label, "TensorFlow has not loaded"))
            return
        try:
            generation = self.helper.sample(config, codec, weights, *options)
        except ConfigError as error:  # e.g. a prime with characters outside the vocabulary
            self.post_message(self.Sampled(number, None, label, str(error)))
            return
        except RuntimeError as error:  # from the helper: already "Kind: message"
            text = str(error).removeprefix("ConfigError: ")
            self.post_message(self.Sampled(number, None, label, text))
            return
        except Exception as error:  # shown in the pane; the app carries on
            self.post_message(self.Sampled(number, None, label, f"{type(error).__name__}: {error}"))
            return
        self.post_message(self.Sampled(number, generation, label))

    def on_generate_pane_sampled(self, message: Sampled) -> None:
        message.stop()
        lines = self._lines()
        if message.request != self._request or not self.is_attached or lines is None:
            return
        if message.generation is None:
            self._show_error(message.error)
            return
        self.generation, self.label = message.generation, message.label
        self.samples += 1
        generation = message.generation
        source, output = lines
        source.update(
            Text(
                f"{message.label} · T {generation.temperature:g} · seed {generation.seed}",
                style="dim",
            )
        )
        shown = Text(generation.prime, style="bold underline")
        shown.append(generation.text.replace("\t", "    "))
        output.update(shown)

    def show_note(self, note: str) -> None:
        """Why nothing can be sampled (e.g. the task does not generate)."""
        self.note = note
        self.generation = None
        if (lines := self._lines()) is not None:
            lines[0].update("")
            lines[1].update(Text(note, style="dim"))

    def _show_error(self, text: str) -> None:
        if (lines := self._lines()) is not None:
            lines[0].update(Text(f"✗ {text}", style="bold red"))

    @on(Input.Submitted)
    async def _submitted(self, event: Input.Submitted) -> None:
        """Enter in a field samples again, as the Generate button does."""
        event.stop()
        await self.app.run_action("generate")
