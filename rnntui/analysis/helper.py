"""TensorFlow in a helper process, for the app's own small jobs: the inspector, sampling text and
tracing hidden units (from the settings' untrained model, a run's weights or its latest
checkpoint), probing a finished run, the device name.

`TensorFlowProcess` is the app's one typed interface to it (a method per job); `InProcess` does the
same jobs on the calling thread, for widgets used without the app's helper.

The app's UI process never imports TensorFlow: the import holds the GIL for hundreds of
milliseconds at a time, which froze keys and redraws for the first seconds (UI lag p99 344 ms,
max 404 ms measured). This process imports it once, in parallel, and answers calls over a pipe;
training runs in processes of its own (see engine/child_session.py). It is a daemon: quitting
the app ends it at once, even mid-import.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any


def _preload() -> str:
    from rnntui.runtime.devices import preload_tensorflow

    return preload_tensorflow()


def _inspect(*args: Any, **kwargs: Any) -> Any:
    from rnntui.analysis.lstm_step import inspect_lstm

    return inspect_lstm(*args, **kwargs)


_replicas: Any = None  # a ReplicaCache, once TensorFlow is in


def _replica(config: Any, codec: Any, weights: Any) -> Any:
    global _replicas
    if _replicas is None:
        from rnntui.analysis.replica import ReplicaCache

        _replicas = ReplicaCache()
    return _replicas.get(config, codec, weights)


def _sample(config: Any, codec: Any, weights: Any, *options: Any) -> Any:
    from rnntui.analysis.generate import sample

    return sample(_replica(config, codec, weights), *options)


def _trace(config: Any, codec: Any, weights: Any, segments: Any) -> Any:
    from rnntui.analysis.hidden_units import trace_units

    return trace_units(_replica(config, codec, weights), segments)


def _probe(folder: Any, gradients: bool) -> Any:
    """Probe a run folder's checkpoint (the app's probe pane, after the run has ended)."""
    from rnntui.analysis.probe import probe_run
    from rnntui.runs.folder import RunFolder

    return probe_run(RunFolder(folder), gradients)


JOBS: dict[str, Callable[..., Any]] = {
    "preload": _preload,
    "probe": _probe,
    "inspect": _inspect,
    "sample": _sample,
    "trace": _trace,
}
HELPER_NICE = 10


class TensorFlowProcess:
    """Calls run one at a time in the helper process; errors come back as RuntimeError.

    A plain subprocess speaking pickle over its stdin/stdout: multiprocessing's spawn start
    fails inside a running Textual app (it hands the replaced sys.stderr's descriptor to its
    resource tracker: "bad value(s) in fds_to_keep").
    """

    def __init__(self) -> None:
        # it compiles no XLA and is killed at close: it keeps no XLA programs (see xla_cache)
        environment = {"TF_CPP_MIN_LOG_LEVEL": "2", **os.environ, "RNNTUI_XLA_CACHE": "off"}
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from rnntui.analysis.helper import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environment,
            start_new_session=True,  # a Ctrl+C meant for the app is not for it
        )
        self._lock = threading.Lock()

    def preload(self) -> str:
        """Import TensorFlow there; the device training will use."""
        return self.call("preload")

    def inspect(self, *args: Any, **kwargs: Any) -> Any:
        """`analysis.lstm_step.inspect_lstm` there."""
        return self.call("inspect", *args, **kwargs)

    def sample(self, config: Any, codec: Any, weights: Any, *options: Any) -> Any:
        """`analysis.generate.sample` on a replica of the model with `weights` (None: untrained)."""
        return self.call("sample", config, codec, weights, *options)

    def trace(self, config: Any, codec: Any, weights: Any, segments: Any) -> Any:
        """`analysis.hidden_units.trace_units` on a replica of the model with `weights`."""
        return self.call("trace", config, codec, weights, segments)

    def probe(self, folder: Any, gradients: bool) -> Any:
        """`analysis.probe.probe_run` on a run folder's checkpoint."""
        return self.call("probe", folder, gradients)

    def call(self, job: str, *args: Any, **kwargs: Any) -> Any:
        """Run `job` (a key of JOBS) there; RuntimeError ("Kind: message") when it fails."""
        with self._lock:
            try:
                _send(self._process.stdin, (job, args, kwargs))
                ok, value = _receive(self._process.stdout)
            except (EOFError, OSError, pickle.UnpicklingError) as error:
                raise RuntimeError("the TensorFlow helper process has ended") from error
        if not ok:
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        """End the helper at once (it may be mid-import; nothing of it needs saving)."""
        if self._process.poll() is None:
            self._process.kill()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        self._process.wait()


class InProcess:
    """The sampling and tracing jobs on the calling thread (a widget without the app's helper
    process); errors are raised as they are."""

    def __init__(self) -> None:
        from rnntui.analysis.replica import ReplicaCache  # no TensorFlow until a replica is built

        self._replicas = ReplicaCache()

    def sample(self, config: Any, codec: Any, weights: Any, *options: Any) -> Any:
        from rnntui.analysis.generate import sample

        with self._replicas.lock:
            return sample(self._replicas.get(config, codec, weights), *options)

    def trace(self, config: Any, codec: Any, weights: Any, segments: Any) -> Any:
        from rnntui.analysis.hidden_units import trace_units

        with self._replicas.lock:
            return trace_units(self._replicas.get(config, codec, weights), segments)


def _send(stream: Any, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream: Any) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def serve() -> None:
    """The helper's loop: a call in from stdin, its result out on stdout, until stdin closes."""
    os.nice(HELPER_NICE)  # the app's UI comes first; this only serves the inspector
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints (there should be none) must not corrupt the replies
    while True:
        try:
            job, args, kwargs = _receive(requests)
        except (EOFError, OSError):
            return
        try:
            reply = (True, JOBS[job](*args, **kwargs))
        except Exception as error:  # noqa: BLE001 - sent back as one line
            reply = (False, f"{type(error).__name__}: {error}")
        _send(replies, reply)
