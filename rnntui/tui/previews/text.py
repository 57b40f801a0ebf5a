"""The text task's preview: where the text comes from, its size and vocabulary, the loss levels
(nats and bits per character), and the first lines of the text with its whitespace made visible."""

from __future__ import annotations

import math

from rich.console import Group
from rich.text import Text

from rnntui.tasks.text import TextPreview

EXCERPT_LINES = 4  # the hidden-unit view below shows more, coloured
WHITESPACE = {"\t": "→", "\r": "␍"}


def visible(line: str) -> Text:
    """A line with tabs and carriage returns shown (dim), everything else as is."""
    text = Text()
    for char in line:
        if char in WHITESPACE:
            text.append(WHITESPACE[char], style="dim")
        elif not char.isprintable():
            text.append("·", style="dim")
        else:
            text.append(char)
    return text


def excerpt_lines(excerpt: str, width: int, lines: int = EXCERPT_LINES) -> list[Text]:
    """The first `lines` lines, cut at `width` (a cut line ends in a dim …), each ending in ↵."""
    out = []
    for line in excerpt.split("\n")[:lines]:
        shown = visible(line[: max(1, width - 1)])
        if len(line) > width - 1:
            shown.append("…", style="dim")
        else:
            shown.append("↵", style="dim")
        out.append(shown)
    return out


def render_text(preview: TextPreview, width: int) -> Group:
    files = f"{preview.files:,} file{'s' if preview.files != 1 else ''}"
    if preview.skipped:
        files += f" ({preview.skipped} binary or empty skipped)"
    source = Text.assemble(("text ", "dim"), (preview.source, "bold"), ("  " + files, "dim"))
    sizes = Text.assemble(
        (f"{preview.characters:,}", "bold"),
        (" characters: ", "dim"),
        (f"{preview.train_characters:,}", "bold"),
        (" train · ", "dim"),
        (f"{preview.valid_characters:,}", "bold"),
        (" held out · ", "dim"),
        (f"{preview.vocabulary}", "bold"),
        (" symbols", "dim"),
        (
            f" ({preview.unknown:,} characters read as the unknown symbol)"
            if preview.unknown
            else "",
            "dim",
        ),
    )
    top = Text("commonest ", style="dim")
    for symbol, share in preview.top[:8]:
        top.append(repr(symbol)[1:-1] if symbol in "\n\t\r" else f"'{symbol}'", style="bold")
        top.append(f" {share:.0%}  ", style="dim")
    levels = Text("Loss levels: ", style="dim")
    for i, baseline in enumerate(preview.baselines):
        if i:
            levels.append(" · ", style="dim")
        levels.append(f"{baseline.label} ")
        levels.append(f"{baseline.value:.3f}", style="bold yellow")
        levels.append(f" nats ({baseline.value / math.log(2):.2f} bits)", style="dim")
    lines = excerpt_lines(preview.excerpt, max(10, width))
    return Group(source, sizes, top, levels, Text(), *lines)
