"""Sending an alert: an HTTP POST to an ntfy-style topic URL, or any apprise URL.

Plain standard library (apprise is imported only for its URLs), so the tiny crash watcher
(`engine/alert_watch.py`) can load it in a few milliseconds. Delivery runs on a `Notifier`'s own
thread with a short timeout and a few retries: a slow, hanging or refusing server never slows or
stops training, and a failure is reported to a callback, never raised.
"""

from __future__ import annotations

import base64
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TIMEOUT_S = 5.0  # one attempt: connect and answer
ATTEMPTS = 3
BACKOFF_S = (0.5, 1.5)  # the waits between attempts: a refusal is known in ~2 s
USER_CONFIG = "config.toml"  # in the user's config folder: [alerts] url = "..."


@dataclass(frozen=True)
class Alert:
    """One alert: what happened to which run, and how a person picks it up from there."""

    kind: str  # finished, stopped, nan, crashed, plateau
    run: str  # the run folder's name
    title: str
    message: str
    step: int = 0
    loss: float | None = None
    priority: int = 3  # ntfy's 1 (min) .. 5 (urgent)
    tags: tuple[str, ...] = ()
    time: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tags"] = list(self.tags)
        return data


class DeliveryError(Exception):
    """An attempt failed; `str()` says why in a few words; `retry` when another may succeed."""

    def __init__(self, reason: str, retry: bool = True) -> None:
        super().__init__(reason)
        self.retry = retry


def is_http(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme.lower() in ("http", "https")


def where(url: str) -> str:
    """The URL without its path, query or password (a topic name is as good as a password)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


def url_problem(url: str) -> str:
    """Why `url` cannot carry alerts on this machine ("" when it can): an apprise URL needs the
    apprise extra."""
    if not url or is_http(url):
        return ""
    from rnntui.util.extras import missing_extra

    missing = missing_extra("apprise")
    if missing:
        return f"{where(url)}... is an apprise URL, which {missing}"
    import apprise

    if apprise.Apprise.instantiate(url) is None:
        return f"apprise does not know the URL {where(url)}...; see apprise's list of services"
    return ""


def post_ntfy(url: str, alert: Alert, timeout: float = TIMEOUT_S) -> str:
    """One POST in ntfy's format (the message as the body; title, priority and tags as headers);
    returns "HTTP <code>", raises DeliveryError."""
    parts = urllib.parse.urlsplit(url)
    headers = {
        "Title": _header(alert.title),
        "Priority": str(alert.priority),
        "Tags": _header(",".join(alert.tags)),
        "Content-Type": "text/plain; charset=utf-8",
        "User-Agent": "rnntui",
    }
    if parts.username is not None:  # https://user:password@host/topic: ntfy's basic auth
        user, password = parts.username, parts.password or ""
        pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    request = urllib.request.Request(
        url, data=alert.message.encode("utf-8"), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as error:  # 429 and 5xx may pass; 4xx will not
        raise DeliveryError(f"HTTP {error.code}", error.code == 429 or error.code >= 500) from None
    except urllib.error.URLError as error:
        reason = error.reason
        text = getattr(reason, "strerror", None) or str(reason)
        raise DeliveryError(str(text).lower()) from None
    except TimeoutError:
        raise DeliveryError(f"no answer in {timeout:g} s") from None
    except OSError as error:  # reset mid-answer and the like
        raise DeliveryError((error.strerror or type(error).__name__).lower()) from None


def send_apprise(url: str, alert: Alert) -> str:
    import apprise

    kinds = {"finished": "success", "plateau": "warning", "stopped": "info"}
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError("apprise does not know this URL", retry=False)
    if not notifier.notify(
        title=alert.title, body=alert.message, notify_type=kinds.get(alert.kind, "failure")
    ):
        raise DeliveryError("apprise could not deliver it (its log says why)")
    return "sent by apprise"


def deliver(url: str, alert: Alert, timeout: float = TIMEOUT_S) -> str:
    """One attempt by the URL's kind; returns a short outcome, raises DeliveryError."""
    if is_http(url):
        return post_ntfy(url, alert, timeout)
    problem = url_problem(url)
    if problem:
        raise DeliveryError(problem, retry=False)
    return send_apprise(url, alert)


def deliver_with_retries(
    url: str,
    alert: Alert,
    *,
    attempts: int = ATTEMPTS,
    timeout: float = TIMEOUT_S,
    backoff: tuple[float, ...] = BACKOFF_S,
    stop: threading.Event | None = None,
) -> tuple[bool, str]:
    """(delivered, what happened): a few attempts, waiting between them unless `stop` is set."""
    reason = ""
    for attempt in range(attempts):
        try:
            return True, deliver(url, alert, timeout)
        except DeliveryError as error:
            reason = str(error)
            if not error.retry:
                return False, reason
        except Exception as error:  # noqa: BLE001 - a plugin's own bug must not escape
            return False, f"{type(error).__name__}: {error}"
        if attempt + 1 < attempts:
            wait = backoff[min(attempt, len(backoff) - 1)] if backoff else 0.0
            if stop is not None and stop.wait(wait):
                break
            if stop is None:
                time.sleep(wait)
    tries = f"{attempts} tries" if attempts > 1 else "1 try"
    return False, f"{reason} (after {tries})"


Outcome = Callable[[Alert, bool, str, int], None]


class Notifier:
    """Delivers alerts to one URL on a daemon thread, in order; `outcome(alert, ok, detail,
    number)` is called there after each. `close(wait_s)` waits (bounded) for what is queued and
    returns what was not handled by then."""

    def __init__(self, url: str, outcome: Outcome, **options: Any) -> None:
        self.url = url
        self.outcome = outcome
        self.options = options
        self._queue: queue.Queue[tuple[int, Alert] | None] = queue.Queue()
        self._pending: list[tuple[int, Alert]] = []  # sent to the thread, not yet handled
        self._idle = threading.Condition()
        self._stop = threading.Event()  # closed: no more waiting between retries
        self._thread = threading.Thread(target=self._serve, name="rnntui-alerts", daemon=True)
        self._thread.start()

    def send(self, alert: Alert, number: int = 0) -> None:
        with self._idle:
            self._pending.append((number, alert))
        self._queue.put((number, alert))

    def close(self, wait_s: float) -> list[tuple[int, Alert]]:
        """Wait up to `wait_s` for queued alerts; the ones not handled by then (the thread
        stops after its current attempt; a daemon, it never holds up the exit)."""
        with self._idle:
            self._idle.wait_for(lambda: not self._pending, timeout=wait_s)
            left = list(self._pending)
            self._pending.clear()
        self._stop.set()
        self._queue.put(None)
        return left

    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._stop.is_set():
                return
            number, alert = item
            try:
                ok, detail = deliver_with_retries(self.url, alert, stop=self._stop, **self.options)
                with self._idle:
                    handled = (number, alert) in self._pending
                if handled:  # not handed on by `close` meanwhile
                    self.outcome(alert, ok, detail, number)
            except Exception:  # noqa: BLE001, S110 - reporting must not kill the thread
                pass
            finally:
                with self._idle:
                    if (number, alert) in self._pending:
                        self._pending.remove((number, alert))
                    self._idle.notify_all()


def user_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("rnntui")) / USER_CONFIG


def user_alert_url() -> str:
    """`[alerts] url` from the user's config file ("" when there is none); ConfigError (one line
    naming the file and the key) when the file is broken."""
    import tomllib

    from rnntui.config import MAX_PRESET_BYTES, Config, ConfigError, set_value
    from rnntui.util.safe_read import read_text

    path = user_config_path()
    source = str(path)
    try:
        data = tomllib.loads(read_text(path, MAX_PRESET_BYTES))
    except FileNotFoundError:
        return ""
    except OSError as error:
        raise ConfigError(f"cannot read ({error.strerror})", source=source) from None
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text; save it as UTF-8", source=source) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"malformed TOML ({error}); fix the syntax", source=source) from None
    alerts = data.get("alerts", {})
    if not isinstance(alerts, dict):
        raise ConfigError("must be a table like [alerts]", "alerts", source)
    config = Config()
    for key, value in alerts.items():
        if key != "url":
            raise ConfigError('unknown key; this file holds [alerts] url = "..."', key, source)
        try:
            set_value(config, "alerts.url", value)
        except ConfigError as error:
            raise ConfigError(error.reason, error.key, source) from None
    return config.alerts.url


def alert_url(config_url: str) -> str:
    """The URL a run sends its alerts to: its config's (a preset's [alerts] url or --notify),
    else the user config file's."""
    return config_url or user_alert_url()


def _header(text: str) -> str:
    """A header value: ASCII as it is, anything else as RFC 2047 (which ntfy reads)."""
    text = " ".join(text.split())
    if text.isascii():
        return text
    return "=?UTF-8?B?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="
