"""`rnntui serve`: the app in web browsers, each tab its own app process (see `rnntui/serve`).

The server and textual-serve are imported only when the command runs: they are an extra
(`pip install 'rnntui[serve]'`), and `rnntui --help` must stay instant.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rnntui.cli.main import DEFAULT_PRESET, app, fail, load_config
from rnntui.cli.options import OverridesOption, RunsDirOption
from rnntui.serve.access import TOKEN_ENV
from rnntui.util.extras import missing_extra


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", help="Port to listen on (0: any free one).")
    ] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            envvar=TOKEN_ENV,
            show_envvar=False,
            help="Require this token (off loopback one is made up and printed when not given).",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            metavar="URL",
            help="Where browsers reach the server, e.g. http://localhost:9000 (default: the "
            "address each browser used).",
        ),
    ] = None,
    preset: Annotated[
        str, typer.Option("--preset", "-p", metavar="NAME|PATH", help="Each tab's preset.")
    ] = DEFAULT_PRESET,
    overrides: OverridesOption = None,
    runs_dir: RunsDirOption = None,
    max_tabs: Annotated[
        int,
        typer.Option(
            "--max-tabs", metavar="N", min=1, help="Tabs open at once (each takes ~0.7 GB)."
        ),
    ] = 4,
) -> None:
    """Serve the app to web browsers: each tab runs its own app, and runs outlive tabs."""
    if problem := missing_extra("textual_serve"):
        raise fail(f"serve: {problem}")
    load_config(preset, overrides)  # a bad preset is one line now, not one in every tab
    from rnntui.serve.server import ServeError, ServeSettings, app_command, run_server

    settings = ServeSettings(
        app_command(preset, overrides or [], runs_dir), host, port, token, public_url, max_tabs
    )
    try:
        code = run_server(settings)
    except ServeError as error:
        raise fail(str(error)) from None
    raise typer.Exit(code)
