"""Benchmark scripts, run as `python -m benchmarks.<name>`.

They measure the bundled presets. A preset the user saved under the same name shadows the bundled
one everywhere else (as it should in the app and the CLI); here it would silently change what is
measured: a copy of echo-raw-5 saved before `train.chunk = 0` became the default kept 100 windows
a call under XLA, and bench_e2e measured that (ten epochs cold ~4 % slower). Importing this
package points the user's config folder, for the benchmark and every child it starts, at an
empty one that goes when the benchmark exits.
"""

import atexit
import os
import shutil
import tempfile

_EMPTY_CONFIG = tempfile.mkdtemp(prefix="rnntui-bench-config-")
os.environ["XDG_CONFIG_HOME"] = _EMPTY_CONFIG
atexit.register(shutil.rmtree, _EMPTY_CONFIG, True)
