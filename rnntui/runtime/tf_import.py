"""Lazy, quiet access to TensorFlow.

Importing TensorFlow takes seconds, so nothing imports it at module level: code that needs it
calls `import_tf()` inside a function. TF's C++ runtime also writes log lines straight to file
descriptor 2 while it loads (some before its log level is even read), which would scribble over a
full-screen terminal app; those are swallowed here and replayed only if the import fails.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing.util
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

from rnntui.runtime import xla_cache

_lock = threading.Lock()
_native_stderr_detached = False


def detach_native_stderr(log_path: str | os.PathLike) -> None:
    """Give fd 2 to a log file for the life of a full-screen app.

    Textual draws on `sys.__stderr__` (fd 2), and TensorFlow's C++ runtime logs to fd 2 from any
    thread at any time. Swapping fd 2 around TF's import would blank the screen for seconds, so
    the app keeps the terminal on a duplicate descriptor and fd 2 becomes a log file instead.
    """
    global _native_stderr_detached
    if _native_stderr_detached:
        return
    try:
        sys.__stderr__.flush()
        terminal = os.dup(2)
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except (OSError, ValueError, AttributeError):
        return
    sys.__stderr__ = os.fdopen(terminal, "w", encoding="utf-8", errors="replace")
    sys.stderr = sys.__stderr__
    os.dup2(log, 2)
    os.close(log)
    _native_stderr_detached = True


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send fd 2 to a temporary file for the duration; replay it if the body raises."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            os.write(2, sink.read()[-20_000:])
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def import_tf() -> Any:
    """Import TensorFlow (once, quietly) and return the module."""
    if "tensorflow" in sys.modules and hasattr(sys.modules["tensorflow"], "function"):
        return sys.modules["tensorflow"]
    with _lock:
        caching = xla_cache.prepare() is not None  # TensorFlow reads its XLA flags once
        if caching:
            # multiprocessing runs these at any normal exit (its own atexit hook) and at the end
            # of one of its workers (a sweep's), which ends in os._exit, past plain atexit
            multiprocessing.util.Finalize(None, xla_cache.close, exitpriority=0)
        # Loading a kept program, TensorFlow first tries it as a text proto and logs that failure
        # at ERROR level ("Error parsing text-format ..."), on every such run: errors that matter
        # reach us as exceptions, so its C++ log stays quiet (a user's own setting wins).
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3" if caching else "2")
        quiet = contextlib.nullcontext() if _native_stderr_detached else quiet_native_stderr()
        # The import allocates millions of long-lived objects: collecting mid-import is wasted
        # time (2.2 -> 1.7 s measured), and freezing them keeps later collections short.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with quiet:
                import tensorflow as tf

                # Device discovery logs too (e.g. cuInit failures on machines without a driver).
                tf.config.list_physical_devices()
        finally:
            gc.freeze()
            if collecting:
                gc.enable()
    return tf
