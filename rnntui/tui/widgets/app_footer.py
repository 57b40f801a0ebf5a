"""The footer, trimmed on narrow terminals, and updated in place.

At 80 columns not every key fits on one line. The keys of `LESS_IMPORTANT` actions, and keys that
are greyed out because they cannot apply right now (except Start, whose grey says "fix the
settings"), get a class the stylesheet hides below the wide breakpoint. Unlike an action that
`check_action` disables, a hidden key still works, from the keyboard and the command palette, and
the help screen lists it.

Textual's `Footer` recomposes (a new widget per key, each styled on mount) whenever the bindings
may have changed: with this app's ~20 keys that took 100-250 ms of the UI thread at 160x48, the
largest stalls `benchmarks/bench_ui` measured. Mostly only a key's greying changes (a run starts,
pauses, ends), so this footer restyles just those keys, and recomposes only when the keys shown
are different ones.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# The inspector's ←/→ are also explained in the pane itself; the probe pane names its G key.
LESS_IMPORTANT = frozenset(
    {"save_preset", "export_csv", "step", "probe_view", "ab_run", "smoothing", "load_run"}
)
ALWAYS_SHOWN = frozenset({"start"})


def _action_name(action: object) -> str:
    return str(action).partition("(")[0]


class AppFooter(Footer):
    """A `Footer` whose less important keys can be hidden by the stylesheet."""

    _keys_shown: tuple = ()  # (key, action, tooltip) of each binding shown when last composed

    def _shown(self) -> list[tuple[tuple[str, str, str], bool]]:
        """((key, action, tooltip), enabled) of each binding the footer shows, in order."""
        return [
            ((binding.key, binding.action, tooltip), enabled)
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        ]

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._keys_shown = tuple(keys for keys, _ in self._shown())
        for widget in super().compose():
            self._mark(widget, not widget.has_class("-disabled"))
            yield widget

    @staticmethod
    def _mark(widget: Widget, enabled: bool) -> None:
        action = _action_name(getattr(widget, "action", ""))
        greyed = not enabled and action not in ALWAYS_SHOWN
        widget.set_class(action in LESS_IMPORTANT or greyed, "-less-important")

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._update)

    async def _update(self) -> None:
        if not self.is_attached:
            return
        shown = self._shown()
        if tuple(keys for keys, _ in shown) != self._keys_shown:
            await self.recompose()
            return
        enabled_of = {}
        for (_, action, _), enabled in shown:
            enabled_of.setdefault(action, enabled)  # the footer shows an action's first binding
        for key in self.query(FooterKey):
            if key.has_class("-command-palette") or key.action not in enabled_of:
                continue
            enabled = enabled_of[key.action]
            if key.has_class("-disabled") == enabled:  # only the keys whose greying changed
                key._disabled = not enabled
                key.set_class(not enabled, "-disabled")
                self._mark(key, enabled)
                key.refresh()
