"""Binary sequences as coloured cells: what several task previews share."""

from __future__ import annotations

from rich.text import Text

ONE = "black on #5fd787"
ZERO = "#8a8a8a on #303030"


def cells(values: tuple[int, ...], marks: dict[int, str] | None = None) -> Text:
    text = Text()
    for t, value in enumerate(values):
        style = ONE if value else ZERO
        if marks and t in marks:
            style += " bold underline"
        text.append(str(value), style=style)
    return text
