"""The TensorFlow helper process's side: its jobs and its loop (`python -c "from
rnntui.analysis.helper_jobs import serve; serve()"`, started by `helper.TensorFlowProcess`).

`InProcess` runs the sampling and tracing jobs on the calling thread instead, for scripts and
tests that have TensorFlow in their own process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from rnntui.analysis.helper import receive, send

HELPER_NICE = 10  # the app's UI comes first; this only serves the inspector and the live views


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


def serve() -> None:
    """The helper's loop: a call in from stdin, its result out on stdout, until stdin closes."""
    os.nice(HELPER_NICE)
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints (there should be none) must not corrupt the replies
    while True:
        try:
            job, args, kwargs = receive(requests)
        except (EOFError, OSError):
            return
        try:
            reply = (True, JOBS[job](*args, **kwargs))
        except Exception as error:  # noqa: BLE001 - sent back as one line
            reply = (False, f"{type(error).__name__}: {error}")
        send(replies, reply)
