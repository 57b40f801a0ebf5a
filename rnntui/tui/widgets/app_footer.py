"""The footer, trimmed on narrow terminals.

At 80 columns not every key fits on one line. The keys of `LESS_IMPORTANT` actions, and keys that
are greyed out because they cannot apply right now (except Start, whose grey says "fix the
settings"), get a class the stylesheet hides below the wide breakpoint. Unlike an action that
`check_action` disables, a hidden key still works, from the keyboard and the command palette, and
the help screen lists it.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

# The inspector's ←/→ are also explained in the pane itself; the probe pane names its g key.
LESS_IMPORTANT = frozenset(
    {"save_preset", "export_csv", "step", "probe_view", "ab_run", "smoothing", "load_run"}
)
ALWAYS_SHOWN = frozenset({"start"})


class AppFooter(Footer):
    """A `Footer` whose less important keys can be hidden by the stylesheet."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            action = str(getattr(widget, "action", "")).partition("(")[0]
            greyed = widget.has_class("-disabled") and action not in ALWAYS_SHOWN
            if action in LESS_IMPORTANT or greyed:
                widget.add_class("-less-important")
            yield widget
