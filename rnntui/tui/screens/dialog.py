"""The base of every dialog: dismissing is safe to do twice.

Two Enters typed quickly arrive in one read, so a dialog's "chosen" handler runs twice before the
screen is gone. Textual's `dismiss` pops whatever screen is on top: the second call would pop the
main screen (ScreenStackError, the app exits) or a screen that is not this dialog. Here only the
first dismissal of a dialog that is still on top counts.
"""

from __future__ import annotations

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen, ScreenResultType


class Dialog(ModalScreen[ScreenResultType]):
    """A modal screen that dismisses at most once, and only while it is the top screen."""

    _dismissed = False

    def dismiss(self, result: ScreenResultType | None = None) -> AwaitComplete:
        if self._dismissed or not self.is_attached or self.app.screen is not self:
            return AwaitComplete.nothing()
        self._dismissed = True
        return super().dismiss(result)
