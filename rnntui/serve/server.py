"""The web server: textual-serve's `Server`, with access rules, one bounded app per tab, page
addresses that work through a tunnel, and a shutdown that leaves no app behind.

What is textual-serve's and what is changed (textual-serve 1.1):
- routes `/` (the page), `/ws` (the app's websocket), `/static`, `/download/{key}`: kept;
- the page: rendered here, with addresses from the request's own Host (so the page works through
  `ssh -L` on any local port) unless `--public-url` fixes them;
- every request passes `access.Access` first (token, Host, Origin); a refusal is a 403 and a
  line in the log;
- the socket is bound here, before anything else, so a bad --host or a port in use is one line;
- SIGINT, SIGTERM and SIGHUP stop every tab's app (bounded, see `tabs`) and exit; a second
  signal kills them at once.
"""

from __future__ import annotations

import asyncio
import errno
import getpass
import ipaddress
import logging
import os
import re
import shlex
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
from aiohttp import web
from aiohttp.web_runner import GracefulExit
from textual_serve.server import Server, to_int

from rnntui.serve.access import Access, check_token, host_name, new_token
from rnntui.serve.tabs import TabApp
from rnntui.util import exit_codes

log = logging.getLogger("rnntui.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Each tab is an app (~90 MB) and its TensorFlow helper (~570 MB, measured); more is a 503.
DEFAULT_MAX_TABS = 4
SHUTDOWN_TIMEOUT_S = 8.0  # aiohttp's wait for handlers, after every app has been stopped


# The page's one outside request; the same font ships with textual-serve.
GOOGLE_FONT = re.compile(r"<link[^>]*fonts\.googleapis\.com[^>]*>", re.S)
FONT_FILES = (("normal", "RobotoMono-VariableFont_wght.ttf"),
              ("italic", "RobotoMono-Italic-VariableFont_wght.ttf"))  # fmt: skip


def local_font(static: str) -> str:
    """Roboto Mono from the server's static files, preloaded (the load event that starts the
    terminal waits for it, so the terminal measures its cells in the right font)."""
    faces = "".join(
        f'@font-face {{ font-family: "Roboto Mono"; font-style: {style}; font-weight: 100 700; '
        f'src: url("{static}fonts/{name}") format("truetype"); }}'
        for style, name in FONT_FILES
    )
    preload = f'<link rel="preload" href="{static}fonts/{FONT_FILES[0][1]}" as="font" crossorigin>'
    return f"{preload}<style>{faces}</style>"


class ServeError(Exception):
    """A setting the server cannot use: one line for the user (exit 2)."""


@dataclass
class ServeSettings:
    argv: list[str]  # the command that runs one tab's app
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0: any free port
    token: str | None = None  # required when given; made up off loopback when None
    public_url: str | None = None  # where browsers reach the server, when not the Host they use
    max_tabs: int = DEFAULT_MAX_TABS
    title: str = "rnntui"
    out: Callable[[str], None] = field(default=print)  # the banner's lines


def check_public_url(url: str) -> str:
    """The URL without a trailing slash; ServeError when it is not http(s)://host[:port][/path]."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ServeError(
            f"--public-url {url}: give the address browsers open, such as "
            "http://localhost:9000 (no query)"
        )
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise ServeError(f"--public-url {url}: the port is not a number from 1 to 65535") from None
    return url.rstrip("/")


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; ServeError (one line) when it cannot be had."""
    if not 0 <= port <= 65535:
        raise ServeError(f"--port {port}: use 1 to 65535 (0 picks a free port)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ServeError(
            f"--host {host}: cannot resolve it ({reason}); use an address of this machine, "
            "such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface, with a token)"
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart within TIME_WAIT
        if family == socket.AF_INET6 and ipaddress.ip_address(address[0]).is_unspecified:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # "::" takes IPv4 too
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise ServeError(_bind_problem(host, port, error)) from None
    return sock


def _bind_problem(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"--port {port}: already in use on {host}; stop what listens there or choose "
            "another port (--port 0 picks a free one)"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"--host {host}: not an address of this machine; use 127.0.0.1 (this machine "
            "only) or 0.0.0.0 (every interface, with a token)"
        )
    if error.errno == errno.EACCES:
        return f"--port {port}: this user may not listen there (ports below 1024 need root)"
    return f"--host {host} --port {port}: cannot listen there ({error.strerror or error})"


@dataclass(frozen=True)
class Listening:
    """Where a bound socket listens, as the banner and the page need it."""

    url_host: str  # the host as it goes in a URL ([::1]; this machine's name for a wildcard)
    port: int
    loopback: bool
    ssh_target: str  # where `ssh -L` connects on this machine


def listening(sock: socket.socket) -> Listening:
    address, port = sock.getsockname()[:2]
    ip = ipaddress.ip_address(address.split("%")[0])
    in_url = f"[{address}]" if ip.version == 6 else address
    if ip.is_unspecified:  # every interface, loopback included
        return Listening(socket.gethostname(), port, False, "127.0.0.1")
    return Listening(in_url, port, ip.is_loopback, in_url)


def banner(where: Listening, token: str, public_url: str | None) -> list[str]:
    """What `rnntui serve` prints: where to open the app, and the ssh line for a laptop."""
    with_token = f"?token={quote(token, safe='')}" if token else ""
    local_port = where.port
    if public_url:
        parts = urlsplit(public_url)
        url = f"{public_url}/{with_token}  (listening on {where.url_host}:{where.port})"
        if host_name(parts.netloc) in ("localhost", "127.0.0.1", "::1"):
            local_port = parts.port or (443 if parts.scheme == "https" else 80)
    else:
        url = f"http://{where.url_host}:{where.port}/{with_token}"
    local = f"http://localhost:{local_port}/{with_token}"
    lines = [
        f"rnntui serve: {url}",
        "  each browser tab runs its own app; closing a tab or stopping the server stops no run",
        f"  from a laptop: ssh -N -L {local_port}:{where.ssh_target}:{where.port} "
        f"{getpass.getuser()}@{socket.gethostname()}   then open {local}",
    ]
    if token:
        lines.append("  every request needs the token; without it the answer is 403")
    lines.append("  stop with Ctrl+C (runs go on: rnntui runs)")
    return lines


class RnnTuiServer(Server):
    """textual-serve's server with the changes listed in the module docstring."""

    def __init__(
        self, settings: ServeSettings, sock: socket.socket, access: Access, public_url: str | None
    ) -> None:
        where = listening(sock)
        super().__init__(
            shlex.join(settings.argv), host=where.url_host, port=where.port,
            title=settings.title, public_url=public_url or f"http://{where.url_host}:{where.port}",
        )  # fmt: skip
        self.settings = settings
        self.sock = sock
        self.access = access
        self.fixed_public_url = public_url
        self.tabs: set[TabApp] = set()
        self.opened = 0  # tabs so far, to name them in the log
        self.signals = 0

    # --- set-up -----------------------------------------------------------------------------------

    def initialize_logging(self) -> None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        for name in ("rnntui.serve", "textual-serve"):
            logger = logging.getLogger(name)
            logger.addHandler(handler)
            logger.setLevel(logging.DEBUG if self.debug else logging.INFO)
            logger.propagate = False

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard())
        return app

    async def on_startup(self, app: web.Application) -> None:
        """The banner was printed before the socket was handed over; nothing more to say."""

    def serve(self, debug: bool = False) -> None:
        """Run until a signal; every tab's app has ended when this returns."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) is not signal.SIG_IGN:  # `nohup rnntui serve` stays up
                loop.add_signal_handler(signum, self.request_exit)
        web.run_app(
            self._make_app(),
            sock=self.sock,
            handle_signals=False,
            loop=loop,
            print=None,
            access_log=None,  # the log says what matters: tabs opened and closed, refusals
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )

    def request_exit(self) -> None:
        self.signals += 1
        if self.signals > 1:  # a second Ctrl+C: do not wait for anything
            for tab in list(self.tabs):
                tab.kill()
            os._exit(exit_codes.INTERRUPTED)
        log.info("stopping: closing %d tab(s); runs go on", len(self.tabs))
        raise GracefulExit()

    async def on_shutdown(self, app: web.Application) -> None:
        """Stop every tab's app before the server goes (each within seconds, see `tabs`)."""
        await asyncio.gather(*(tab.stop() for tab in list(self.tabs)))

    # --- requests ---------------------------------------------------------------------------------

    def _guard(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        access = self.access

        @web.middleware
        async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
            query_token = request.query.get("token")
            refusal = access.refusal(
                request.path,
                request.host,
                request.headers.get("Origin"),
                query_token,
                request.cookies.get(access.cookie),
            )
            if refusal:
                log.warning(
                    "refused %s %s from %s: %s", request.method, request.path, request.remote,
                    refusal,
                )  # fmt: skip
                return web.Response(status=403, text=f"403 Forbidden: {refusal}\n")
            response = await handler(request)
            if access.sets_cookie(query_token) and not response.prepared:
                response.set_cookie(
                    access.cookie, query_token, httponly=True, samesite="Strict",
                    secure=self._base_url(request).startswith("https"),
                )  # fmt: skip
            return response

        return guard

    def _base_url(self, request: web.Request) -> str:
        """Where this browser reaches the server: --public-url, else its own Host."""
        return self.fixed_public_url or f"{request.scheme}://{request.host}"

    async def handle_index(self, request: web.Request) -> web.Response:
        """textual-serve's page, its addresses made from `_base_url`, and its font from this
        server instead of Google's (the page works offline and tells no third party)."""
        base = self._base_url(request)
        router = request.app.router
        websocket = f"{base}{router['websocket'].url_for()}"
        scheme = "wss" if websocket.startswith("https") else "ws"
        static = f"{base}{router['static'].url_for(filename='/')}"
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{scheme}:{websocket.split(':', 1)[1]}",
            "config": {"static": {"url": static}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.text = re.sub(GOOGLE_FONT, local_font(static), response.text or "", count=1)
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab: its own app process, ended when the websocket closes."""
        if len(self.tabs) >= self.settings.max_tabs:
            log.warning(
                "refused a tab from %s: %d tabs are open (--max-tabs)",
                request.remote, len(self.tabs),
            )  # fmt: skip
            raise web.HTTPServiceUnavailable(text="too many tabs are open on this server\n")
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        await websocket.prepare(request)
        tab = TabApp(
            self.settings.argv,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        self.tabs.add(tab)
        self.opened += 1
        number = self.opened
        try:
            await tab.start(width, height)
            log.info("tab %d opened from %s: app pid %s", number, request.remote, tab.pid)
            await self._process_messages(websocket, tab)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # noqa: BLE001 - a broken tab must not end the server
            log.error("tab %d: %s: %s", number, type(error).__name__, error)
        finally:
            code = await tab.stop()
            self.tabs.discard(tab)
            lived = time.monotonic() - tab.started_at if tab.started_at else 0.0
            log.info("tab %d closed: app pid %s ended (%s) after %.1f s", number, tab.pid,
                     _exit_text(code), lived)  # fmt: skip
            await websocket.close()
        return websocket


def _exit_text(code: int | None) -> str:
    if code is None:
        return "never started"
    return f"signal {-code}" if code < 0 else f"exit {code}"


def app_command(preset: str, overrides: list[str], runs_dir: Path | None) -> list[str]:
    """The command each tab runs: the app, with the server's settings, leaving its runs
    training when it ends (`--detach-runs`)."""
    argv = [sys.executable, "-m", "rnntui", "--preset", preset, "--detach-runs"]
    for override in overrides:
        argv += ["--set", override]
    if runs_dir is not None:
        argv += ["--runs-dir", str(Path(runs_dir).expanduser().absolute())]
    return argv


def run_server(settings: ServeSettings) -> int:
    """Bind, print where to go, serve until a signal; the exit code. ServeError for bad
    settings, before anything is started."""
    public_url = check_public_url(settings.public_url) if settings.public_url else None
    token = settings.token
    if token is not None and (problem := check_token(token)):
        raise ServeError(problem)
    sock = bind_socket(settings.host, settings.port)
    where = listening(sock)
    if token is None and not where.loopback:
        token = new_token()
    access = Access(
        token=token or "",
        cookie=f"rnntui-serve-{where.port}",
        public_host=urlsplit(public_url).netloc if public_url else "",
    )
    for line in banner(where, token or "", public_url):
        settings.out(line)
    sys.stdout.flush()
    RnnTuiServer(settings, sock, access, public_url).serve()
    return exit_codes.OK
