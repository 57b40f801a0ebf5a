"""Command palette entries (ctrl+p): every app action by name, with the key that also runs it."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class RnnTuiCommands(Provider):
    """Offers the app's bindings that have a description, as palette commands."""

    def _commands(self) -> list[tuple[str, str, str]]:
        app = self.app
        rows = []
        for binding in getattr(app, "PALETTE_BINDINGS", []):
            key = binding.key_display or binding.key.split(",")[0]
            help_text = f"{binding.tooltip} (key: {key})" if binding.tooltip else f"key: {key}"
            rows.append((binding.description, help_text, binding.action))
        return rows

    async def discover(self) -> Hits:
        for title, help_text, action in self._commands():
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self.app.run_action, action),
                    text=title,
                    help=help_text,
                )
