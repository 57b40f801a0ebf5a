"""`rnntui sweeps --open NAME`: the sweep screen on its own, for a sweep running elsewhere.

The screen itself (`screens/sweep_screen.py`) needs nothing from this app: the main app can push
it as it is (`self.push_screen(SweepScreen(path))`).
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App

from rnntui.tui.screens.sweep_screen import SweepScreen


class SweepApp(App[None]):
    """The sweep screen is this app's only screen: closing it (escape, q) ends the app."""

    TITLE = "rnntui sweep"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)

    def get_default_screen(self) -> SweepScreen:
        return SweepScreen(self.path)
