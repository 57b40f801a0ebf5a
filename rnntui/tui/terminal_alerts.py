"""Alerts in the terminal: the bell and a desktop notification when a run needs you.

When a run finishes, fails (its trainer may have died hard: the session says so) or stops
improving, and the app is not in front of you, the app writes a BEL (the terminal's bell, or
tmux's bell flag on the window) and a desktop-notification escape, both OSC 777 (`notify`:
foot, urxvt, WezTerm, VTE terminals that carry the patch) and OSC 9 (iTerm2, kitty, Windows
Terminal, WezTerm, Ghostty); a terminal ignores the one it does not know (one that knows both
may show two). Inside tmux the escapes are wrapped for tmux to pass on, which it does with
`set -g allow-passthrough on`; its `focus-events on` lets the app know where you are.

"Not in front of you": where the terminal reports focus (Textual's `App.app_focus`, which
AppBlur/AppFocus from `CSI ?1004` set), only while the app has lost it; until the focus has
changed once, every time (a terminal that never reports focus cannot tell us).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rnntui.engine.events import Alerted, Event, Failed, Finished

if TYPE_CHECKING:
    from textual.app import App

BEL = "\a"


def notification_escapes(title: str, body: str, tmux: bool = False) -> str:
    """OSC 777 and OSC 9 carrying `title` and `body` (control characters and the separators
    they use stripped), wrapped for tmux's passthrough when `tmux`."""
    title, body = _clean(title).replace(";", ","), _clean(body)
    sequences = [f"\x1b]777;notify;{title};{body}\a", f"\x1b]9;{title}: {body}\a"]
    if tmux:
        sequences = [f"\x1bPtmux;{s.replace(chr(27), chr(27) * 2)}\x1b\\" for s in sequences]
    return "".join(sequences)


class TerminalAlerts:
    """The app's terminal channel: `observe` every run's events (the A/B run's too)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.focus_reported = False  # the terminal has told us about focus at least once
        self.sent = 0  # alerts written (for tests)
        app.watch(app, "app_focus", self.focus_changed, init=False)

    def focus_changed(self) -> None:
        """The app gained or lost the terminal's focus: from now on, focus is known."""
        self.focus_reported = True

    @property
    def wanted(self) -> bool:
        return not self.focus_reported or not self.app.app_focus

    def observe(self, event: Event) -> None:
        """A run's event: alert on a finish (not a stop you asked for), a failure, a plateau;
        a failed delivery of the run's own alerts is shown once as a warning."""
        if isinstance(event, Finished):
            if not event.stopped:
                steps = event.summary.get("steps", 0)
                self.alert("rnntui: run finished", f"{steps:,} steps")
        elif isinstance(event, Failed):
            self.alert("rnntui: run failed", event.message)
        elif isinstance(event, Alerted):
            if event.kind == "plateau":
                self.app.notify(event.message, title=event.title, severity="warning", timeout=10)
                self.alert(event.title, event.message.splitlines()[0])
            elif event.kind == "undelivered":
                self.app.notify(event.message, title="Alert not sent", severity="warning")

    def alert(self, title: str, body: str) -> bool:
        """Ring and notify, unless the app is in front of you; True when written."""
        driver = getattr(self.app, "_driver", None)  # how App.bell writes, too
        if not self.wanted or driver is None or self.app.is_headless:
            return False
        driver.write(BEL + notification_escapes(title, body, tmux="TMUX" in os.environ))
        driver.flush()
        self.sent += 1
        return True


def _clean(text: str) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:200]
