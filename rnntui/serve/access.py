"""Who may open a served app: the rules, as plain functions of what a request carries.

textual-serve has no authentication, and a page that starts processes must not be open to a
network. So:
- off loopback, every request (page, static file, websocket) needs the token: `?token=` on the
  page's address, then a cookie the page sets, which the browser sends with the rest;
- on loopback no token is needed, but the page answers only to loopback names (and the public
  URL's host), so another web site cannot reach it by DNS rebinding;
- a websocket from a page of another origin is refused either way (a site open in the same
  browser could otherwise drive the app through the tunnel).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TOKEN_ENV = "RNNTUI_SERVE_TOKEN"  # the token from the environment (not seen by `ps`)
MIN_TOKEN_CHARS = 8
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WEBSOCKET_PATH = "/ws"  # textual-serve's route for the app's websocket


def new_token() -> str:
    """A fresh token: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def check_token(token: str) -> str:
    """Why `token` cannot be used ("" when it can)."""
    if len(token) < MIN_TOKEN_CHARS:
        return f"--token: use at least {MIN_TOKEN_CHARS} characters (or leave it out for one)"
    if not all(c.isascii() and c.isprintable() and not c.isspace() for c in token):
        return "--token: use printable ASCII without spaces"
    return ""


def is_loopback(address: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name in a Host header or URL netloc, without port or brackets, lower case."""
    return (urlsplit(f"//{host_header}").hostname or "").lower()


@dataclass(frozen=True)
class Access:
    """The rules for one server. `token` "" means none is needed (a loopback bind)."""

    token: str = ""
    cookie: str = "rnntui-serve"
    public_host: str = ""  # the --public-url's netloc, answered to besides loopback names
    loopback_names: frozenset[str] = field(default=LOOPBACK_NAMES)

    def refusal(
        self,
        path: str,
        host: str,
        origin: str | None,
        query_token: str | None,
        cookie_token: str | None,
    ) -> str:
        """Why a request is refused ("" when it may go on), in a few words for the log."""
        if self.token:
            given = query_token if query_token is not None else cookie_token
            if given is None:
                return "no token"
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return "wrong token"
        else:
            name = host_name(host)
            allowed = self.loopback_names | {host_name(self.public_host)} - {""}
            if name not in allowed and not is_loopback(name):
                return f"Host {host!r} is not a loopback name (give --public-url for it)"
        if origin is not None and path == WEBSOCKET_PATH:
            netloc = urlsplit(origin).netloc.lower()
            if netloc not in {host.lower(), self.public_host.lower()} - {""}:
                return f"websocket from another origin ({origin})"
        return ""

    def sets_cookie(self, query_token: str | None) -> bool:
        """The page was opened with the right `?token=`: remember it for the page's requests."""
        return (
            bool(self.token)
            and query_token is not None
            and hmac.compare_digest(query_token.encode(), self.token.encode())
        )
