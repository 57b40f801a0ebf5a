"""Pick the text to train on: a keyboard-driven file browser (Textual's DirectoryTree).

↑/↓ move, → or enter opens a folder, enter on a file picks it, `u` picks the highlighted folder
(every text file under it), backspace goes up to the parent folder, escape cancels.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DirectoryTree, Label, Static

from rnntui.tui.screens.dialog import Dialog


class FilePicker(Dialog[Path | None]):
    """Dismisses with the chosen file or folder, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("u", "use_folder", "Use folder", tooltip="train on every text file under it"),
        Binding("backspace", "parent", "Parent folder"),
    ]

    def __init__(self, start: Path) -> None:
        super().__init__()
        start = Path(start).expanduser()
        while not start.is_dir() and start != start.parent:
            start = start.parent
        self.root = start.resolve() if start.is_dir() else Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog file-picker"):
            yield Label("Choose the text to train on", classes="dialog-title")
            yield Static(str(self.root), id="picker-root", markup=False)
            yield DirectoryTree(self.root, id="picker-tree")
            yield Label(
                "enter: open / pick a file · u: use the highlighted folder · backspace: parent "
                "folder · escape: cancel",
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one(DirectoryTree).focus()

    @on(DirectoryTree.FileSelected)
    def _file_chosen(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(Path(event.path))

    def action_use_folder(self) -> None:
        tree = self.query_one(DirectoryTree)
        node = tree.cursor_node
        path = node.data.path if node is not None and node.data is not None else self.root
        self.dismiss(path if path.is_dir() else path.parent)

    def action_parent(self) -> None:
        if self.root.parent != self.root:
            self.root = self.root.parent
            self.query_one(DirectoryTree).path = self.root
            self.query_one("#picker-root", Static).update(str(self.root))

    def action_cancel(self) -> None:
        self.dismiss(None)
