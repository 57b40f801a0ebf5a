"""Lazy, quiet access to TensorFlow.

Importing TensorFlow takes seconds, so nothing imports it at module level: code that needs it
calls `import_tf()` inside a function. TF's C++ runtime also writes log lines straight to file
descriptor 2 while it loads (some before its log level is even read), which would scribble over a
full-screen terminal app; those are swallowed here and replayed only if the import fails.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

_lock = threading.Lock()


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
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with quiet_native_stderr():
            import tensorflow as tf

            # Device discovery logs too (e.g. cuInit failures on machines without a GPU driver).
            tf.config.list_physical_devices()
    return tf


def device_name() -> str:
    """ "CPU", or the name of the first GPU TensorFlow can use."""
    tf = import_tf()
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    try:
        details = tf.config.experimental.get_device_details(gpus[0])
    except (RuntimeError, ValueError):
        details = {}
    return str(details.get("device_name") or gpus[0].name)
