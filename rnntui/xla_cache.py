"""Compiled XLA programs kept between runs, so a run whose shapes an earlier run compiled skips
XLA's compile (~0.7-1.2 s on a 2-core box for echo-raw-5; loading the kept one takes ~0.1 s).

TensorFlow has the mechanism (`--tf_xla_persistent_cache_directory`) but uses it unsafely for a
tool that many processes share: it writes its file in place, and a file it cannot read (torn by
a kill or a full disk, or half-written by a concurrent sweep worker) fails the training op, in
every later run too (measured: "Read less bytes than requested"); a folder it cannot write fails
the op as well. So TensorFlow only ever sees a folder private to this process ("stage-PID-..."),
holding links to the kept programs. A program it writes there is complete once the training call
that compiled it has returned; only then is it fsynced and renamed into the shared `programs/`
folder (atomic), named with its size so that a truncated one is never linked. Hard links: another
process evicting a program cannot pull it from under a reader. Stages of dead processes are
removed by the next process.

TensorFlow finds a program by a fingerprint of the compiled graph, and the graph's function
names carry a counter of the whole process: a run finds a kept program when it traces the same
graph at the same point of its process. Every headless and detached run does, and the app's
first run; a sweep worker's n-th run finds the program of an earlier sweep's n-th run.

Programs are machine code for this CPU and this TensorFlow: the folder is per TensorFlow version
and CPU feature set (a home folder shared by different machines never mixes them). GPU programs
are not kept. The kept programs are limited to `LIMIT_BYTES` and `LIMIT_COUNT` (oldest go
first).

RNNTUI_XLA_CACHE=off turns it off; RNNTUI_XLA_CACHE=DIR puts it elsewhere. A folder that cannot
be written or a disk with less than `MIN_FREE_BYTES` free turns it off silently: it is only
ever a speed-up. The setting must be made before TensorFlow is imported (`prepare`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
import time
from pathlib import Path

LIMIT_BYTES = 256 * 2**20
LIMIT_COUNT = 400  # each is linked at every start (~20 us each): bounded even for tiny programs
MIN_FREE_BYTES = 512 * 2**20
STALE_STAGE_S = 24 * 3600  # a stage of a process whose pid was reused is removed after this
_FLAG = "--tf_xla_persistent_cache_directory"

_stage: Path | None = None
_owner = 0  # the process that made the stage (a forked child must not publish or remove it)
_linked: set[str] = set()  # names in the stage that are kept programs, not new ones


def cache_folder() -> Path | None:
    """Where kept programs live for this TensorFlow and CPU, or None when turned off."""
    setting = os.environ.get("RNNTUI_XLA_CACHE", "").strip()
    if setting.lower() in {"off", "0", "false", "no"}:
        return None
    if setting:
        root = Path(setting).expanduser()
    else:
        from platformdirs import user_cache_dir

        root = Path(user_cache_dir("rnntui")) / "xla"
    return root / _machine_key()


def _machine_key() -> str:
    """TensorFlow's version and the CPU's feature flags: a program runs only where both match."""
    from importlib import metadata

    version = "unknown"
    for dist in ("tensorflow", "tensorflow-cpu", "tf-nightly", "tensorflow-macos"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            version = metadata.version(dist)
            break
    cpu = platform.machine() + platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith(("flags", "Features")):  # x86, ARM
                cpu += line
                break
    return f"tf{version}-{hashlib.sha256(cpu.encode()).hexdigest()[:12]}"


def prepare() -> Path | None:
    """Point TensorFlow at a fresh stage of kept programs (call before importing TensorFlow).
    Returns the stage, or None when the cache is off, unusable, or the user set TF's flag."""
    global _stage, _owner
    if _stage is not None or _FLAG in os.environ.get("TF_XLA_FLAGS", ""):
        return _stage
    folder = cache_folder()
    if folder is None or any(c.isspace() or c in "'\"" for c in str(folder)):
        return None  # TensorFlow splits its flags at spaces and exits on a piece it can't parse
    programs = folder / "programs"
    try:
        programs.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(folder).free < MIN_FREE_BYTES:
            return None
        _remove_dead_stages(folder)
        stage = folder / f"stage-{os.getpid()}-{time.time_ns():x}"
        stage.mkdir()
        _link_programs(programs, stage)
    except OSError:
        return None
    _stage, _owner = stage, os.getpid()
    flags = os.environ.get("TF_XLA_FLAGS", "")
    os.environ["TF_XLA_FLAGS"] = (
        f"{flags} {_FLAG}={stage} --tf_xla_persistent_cache_device_types=CPU".strip()
    )
    return stage


def publish() -> int:
    """Move programs TensorFlow wrote since the last call into the shared folder; call only after
    a training call returned (a program is complete then). Returns how many were moved."""
    if _stage is None or _owner != os.getpid():
        return 0
    programs = _stage.parent / "programs"
    moved = 0
    try:
        names = [
            entry
            for entry in os.scandir(_stage)
            if entry.name not in _linked and entry.is_file(follow_symlinks=False)
        ]
    except OSError:
        return 0
    for entry in names:
        source = Path(entry.path)
        try:
            size = entry.stat(follow_symlinks=False).st_size
            with open(source, "rb") as handle:
                os.fsync(handle.fileno())
            target = programs / f"{entry.name}.{size}"
            os.replace(source, target)
            _link(target, source)  # a later compile in this process finds it too
            _linked.add(entry.name)
            moved += 1
        except OSError:
            with contextlib.suppress(OSError):
                source.unlink()
    if moved:
        _evict(programs, LIMIT_BYTES, LIMIT_COUNT)
    return moved


def close() -> None:
    """Publish what is left and remove this process's stage."""
    global _stage
    if _stage is None or _owner != os.getpid():
        return
    publish()
    shutil.rmtree(_stage, ignore_errors=True)
    _stage = None


def _link_programs(programs: Path, stage: Path) -> None:
    for entry in os.scandir(programs):
        name, _, size = entry.name.rpartition(".")
        if not name.endswith(".pb") or not size.isdigit() or int(size) == 0:
            continue
        try:
            # torn, tampered, or not a file (a FIFO would block TensorFlow's read): never shown
            if not entry.is_file(follow_symlinks=False) or entry.stat().st_size != int(size):
                continue
            _link(Path(entry.path), stage / name)
            _linked.add(name)
        except OSError:
            continue


def _link(program: Path, name: Path) -> None:
    """A hard link where the file system has them: another process evicting the program then
    cannot pull it away between TensorFlow finding it and reading it."""
    try:
        os.link(program, name)
    except OSError:
        name.symlink_to(program)


def _remove_dead_stages(folder: Path) -> None:
    now = time.time()
    for entry in os.scandir(folder):
        if not entry.name.startswith("stage-"):
            continue
        pid = entry.name.split("-")[1]
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_STAGE_S
        except OSError:
            continue
        if old or not (pid.isdigit() and _pid_alive(int(pid))):
            shutil.rmtree(entry.path, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _evict(programs: Path, limit: int, count: int) -> None:
    """Remove the oldest kept programs until at most `count` are left, in `limit` bytes."""
    kept = []
    for entry in os.scandir(programs):
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            kept.append((info.st_mtime, info.st_size, entry.path))
    total = sum(size for _, size, _ in kept)
    left = len(kept)
    for _, size, path in sorted(kept):
        if total <= limit and left <= count:
            break
        with contextlib.suppress(OSError):
            os.unlink(path)
            total -= size
            left -= 1
