"""The footer: the keys that apply now, drawn as one line of text.

Textual's `Footer` builds a widget per key and rebuilds them all whenever the bindings may have
changed; with this app's ~20 keys that took 100-250 ms of the UI thread at 160x48 each time a run
started, paused or ended, the largest stalls `benchmarks/bench_ui` measured. This footer is one
widget that renders a line of text (a millisecond), so a bindings refresh is a repaint.

At 80 columns not every key fits on one line. Below the wide breakpoint the keys of
`LESS_IMPORTANT` actions, and keys that are greyed out because they cannot apply right now
(except Start, whose grey says "fix the settings"), are left out. Unlike an action that
`check_action` disables, a left-out key still works, from the keyboard and the command palette,
and the help screen lists it. A click on a key presses it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

# The inspector's ←/→ are also explained in the pane itself; the probe pane names its G key;
# the System pane has its tab (7).
LESS_IMPORTANT = frozenset(
    {"save_preset", "export_csv", "step", "probe_view", "ab_run", "smoothing", "load_run", "system"}
)
ALWAYS_SHOWN = frozenset({"start"})


def _action_name(action: object) -> str:
    """The name the footer's rules know an action by: `dialog('knobs')` is "knobs"."""
    name, _, arguments = str(action).partition("(")
    if name == "dialog":
        return arguments.rstrip(")").strip("'\"")
    return name


class AppFooter(Widget):
    """The keys of the focused widget, the screen and the app, as Textual's footer shows them."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"footer--key", "footer--description"}
    DEFAULT_CSS = """
    AppFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.spans: list[tuple[int, int, str, bool]] = []  # (start, end, key, enabled) as drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        self.refresh()

    def shown(self) -> list[tuple[str, str, str, bool]]:
        """(key, display, description, enabled) of each key drawn, in order."""
        narrow = self.screen.has_class("-narrow")
        keys: list[tuple[str, str, str, bool]] = []
        actions: set[str] = set()
        for _, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in actions:
                continue  # one key per action, as Textual's footer does
            actions.add(binding.action)
            action = _action_name(binding.action)
            greyed = not enabled and action not in ALWAYS_SHOWN
            if narrow and (action in LESS_IMPORTANT or greyed):
                continue
            display = self.app.get_key_display(binding)
            keys.append((binding.key, display, binding.description, enabled))
        return keys

    def render(self) -> Text:
        key_style = self.get_component_rich_style("footer--key", partial=True)
        description_style = self.get_component_rich_style("footer--description", partial=True)
        greyed = Style(dim=True)
        text = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, str, bool]] = []
        for key, display, description, enabled in self.shown():
            start = len(text)
            text.append(f" {display} ", style=key_style if enabled else key_style + greyed)
            text.append(
                f"{description} ",
                style=description_style if enabled else description_style + greyed,
            )
            spans.append((start, len(text), key, enabled))
        self.spans = spans
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, key, enabled in self.spans:
            if start <= event.x < end and enabled:
                self.app.simulate_key(key)
                return
