"""TensorFlow in a helper process, for the app's own small jobs: the inspector, sampling text and
tracing hidden units (from the settings' untrained model, a run's weights or its latest
checkpoint), probing a finished run, the device name.

`TensorFlowProcess` is the app's one typed interface to it (a method per job); the jobs themselves
and the helper's loop are in `helper_jobs.py`, which this module never imports (the app's process
must not: it would import TensorFlow).

The app's UI process never imports TensorFlow: the import holds the GIL for hundreds of
milliseconds at a time, which froze keys and redraws for the first seconds (UI lag p99 344 ms,
max 404 ms measured). This process imports it once, in parallel, and answers calls over a pipe;
training runs in processes of its own (see sessions/child.py). It is a daemon: quitting
the app ends it at once, even mid-import.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from typing import Any


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
            [sys.executable, "-c", "from rnntui.analysis.helper_jobs import serve; serve()"],
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
        """Run `job` (see helper_jobs.JOBS) there; RuntimeError ("Kind: message") if it fails."""
        with self._lock:
            try:
                send(self._process.stdin, (job, args, kwargs))
                ok, value = receive(self._process.stdout)
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


def send(stream: Any, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def receive(stream: Any) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)
