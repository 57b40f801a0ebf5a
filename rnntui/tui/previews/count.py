"""The count task's preview: sample strings with their counts and the train/test split."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from rnntui.tasks.count import CountPreview
from rnntui.tui.previews.cells import cells


def render_count(preview: CountPreview, width: int) -> Group:
    """Sample strings with their counts, and the train/test split."""
    head = Text.assemble(
        ("Every ", "dim"),
        (f"{len(preview.strings[0]) if preview.strings else '?'}-bit", "bold"),
        (" string, shuffled: ", "dim"),
        (f"{preview.train_size}", "bold"),
        (" train · ", "dim"),
        (f"{preview.test_size}", "bold"),
        (" test. The label is how many ones it holds.", "dim"),
    )
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold dim")
    table.add_column("string")
    table.add_column("count", justify="right")
    for string, count in zip(preview.strings, preview.counts, strict=False):
        table.add_row(cells(tuple(int(c) for c in string)), str(count))
    return Group(head, Text(), table)
