"""Compiled XLA programs kept between runs, so a run whose shapes an earlier run compiled skips
XLA's compile (~0.7-1.2 s on a 2-core box for echo-raw-5; loading the kept one takes ~0.1 s).

TensorFlow has the mechanism (`--tf_xla_persistent_cache_directory`) but uses it unsafely for a
tool that many processes share: it writes its file in place, and a file it cannot read (torn by
a kill or a full disk, or half-written by a concurrent sweep worker) fails the training op, in
every later run too (measured: "Read less bytes than requested"); a folder it cannot write fails
the op as well. So TensorFlow only ever sees a folder private to this process ("stage-PID-..."),
holding links to the kept programs. A program it writes there is complete once the training call
that compiled it has returned; only then is it fsynced and renamed into the shared `programs/`
folder (atomic), named with its size and a digest of its bytes, which are checked before it is
linked: a damaged program is removed (loading one failed runs, crashed one, and once trained
wrong losses without an error). Hard links: another process evicting a program cannot pull it
from under a reader. Stages of dead processes are removed by the next process.

TensorFlow finds a program by a fingerprint of the compiled graph, and the graph's function
names carry a counter of the whole process: a run finds a kept program when it traces the same
graph at the same point of its process. Every headless and detached run does, and the app's
first run; a sweep worker's n-th run finds the program of an earlier sweep's n-th run.

Programs are machine code for this CPU and this TensorFlow, made by the XLA flags in force: the
folder is per TensorFlow version, CPU feature set and the user's XLA_FLAGS/TF_XLA_FLAGS (a home
folder shared by different machines never mixes them). GPU programs are not kept. The kept
programs are limited to `LIMIT_BYTES` and `LIMIT_COUNT` (oldest go first).

RNNTUI_XLA_CACHE=off turns it off; RNNTUI_XLA_CACHE=DIR (absolute) puts it elsewhere. A folder
that cannot be written or a disk with less than `MIN_FREE_BYTES` free turns it off silently: it
is only ever a speed-up. The setting must be made before TensorFlow is imported (`prepare`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
import time
from pathlib import Path

from rnntui.util.processes import pid_alive

# every start checks each kept program's bytes (~2 ms a MB): these bound that to ~0.1 s
LIMIT_BYTES = 64 * 2**20
LIMIT_COUNT = 200
MIN_FREE_BYTES = 512 * 2**20
STALE_STAGE_S = 24 * 3600  # a stage of a process whose pid was reused is removed after this
_FLAG = "--tf_xla_persistent_cache_directory"
_ADDED = "RNNTUI_XLA_FLAGS_ADDED"  # what prepare() added to TF_XLA_FLAGS, for its children

_stage: Path | None = None
_owner = 0  # the process that made the stage (a forked child must not publish or remove it)
_linked: set[str] = set()  # names in the stage that are kept programs, not new ones


def cache_folder() -> Path | None:
    """Where kept programs live for this TensorFlow and CPU, or None when turned off."""
    setting = os.environ.get("RNNTUI_XLA_CACHE", "").strip()
    if setting.lower() in {"off", "0", "false", "no"}:
        return None
    if setting and setting.lower() not in {"on", "1", "true", "yes"}:
        root = Path(setting).expanduser()
        if not root.is_absolute():  # a cache made wherever the command ran would surprise
            return None
    else:
        from platformdirs import user_cache_dir

        root = Path(user_cache_dir("rnntui")) / "xla"
    return root / _machine_key()


def _machine_key() -> str:
    """TensorFlow's version, the CPU's feature flags and the user's XLA flags: a program runs
    only where the first two match, and is what the flags made it (an optimisation level, fast
    math, a dump folder that must be written)."""
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
    flags = os.environ.get("XLA_FLAGS", "") + "\0" + os.environ.get("TF_XLA_FLAGS", "")
    return f"tf{version}-{hashlib.sha256((cpu + flags).encode()).hexdigest()[:12]}"


def prepare() -> Path | None:
    """Point TensorFlow at a fresh stage of kept programs (call before importing TensorFlow).
    Returns the stage, or None when the cache is off, unusable, or the user set TF's flag."""
    global _stage, _owner
    if _stage is not None:
        return _stage
    # A child of a process that prepared (a detached run, a sweep worker) inherits its flags,
    # which point at the parent's stage: those are not the user's, and go.
    inherited = os.environ.pop(_ADDED, "")
    if inherited:
        flags = os.environ.get("TF_XLA_FLAGS", "").replace(inherited, "").strip()
        os.environ["TF_XLA_FLAGS"] = flags
    if "persistent_cache" in os.environ.get("TF_XLA_FLAGS", ""):
        return None  # the user configures TensorFlow's cache themselves
    folder = cache_folder()
    if folder is None or any(c.isspace() or c in "'\"" for c in str(folder)):
        return None  # TensorFlow splits its flags at spaces and exits on a piece it can't parse
    programs = folder / "programs"
    try:
        programs.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(folder).free < MIN_FREE_BYTES:
            return None
        remove_dead_stages(folder)
        stage = folder / f"stage-{os.getpid()}-{time.time_ns():x}"
        stage.mkdir()
        link_programs(programs, stage)
    except OSError:
        return None
    _stage, _owner = stage, os.getpid()
    added = f"{_FLAG}={stage} --tf_xla_persistent_cache_device_types=CPU"
    os.environ["TF_XLA_FLAGS"] = f"{os.environ.get('TF_XLA_FLAGS', '')} {added}".strip()
    os.environ[_ADDED] = added
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
            with open(source, "rb") as handle:
                data = handle.read()
                os.fsync(handle.fileno())
            target = programs / f"{entry.name}.{len(data)}.{digest_of(data)}"
            os.replace(source, target)
            _link(target, source)  # a later compile in this process finds it too
            _linked.add(entry.name)
            moved += 1
        except OSError:
            with contextlib.suppress(OSError):
                source.unlink()
    if moved:
        evict(programs, LIMIT_BYTES, LIMIT_COUNT)
    return moved


def close() -> None:
    """Publish what is left and remove this process's stage."""
    global _stage
    if _stage is None or _owner != os.getpid():
        return
    publish()
    shutil.rmtree(_stage, ignore_errors=True)
    _stage = None


def link_programs(programs: Path, stage: Path) -> None:
    """Link every intact kept program into the stage under the name TensorFlow looks for (the
    newest, where two processes compiled a graph at once; the other is removed). A program whose
    bytes no longer match its name is removed: TensorFlow would fail the run on it, crash, or
    load damaged machine code (a flipped bit measured all three, one as wrong losses with no
    error)."""
    newest: dict[str, tuple[float, Path]] = {}
    for entry in os.scandir(programs):
        name, size, digest = _parse(entry.name)
        if not name:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):  # a FIFO would block TensorFlow's read
                continue
            info = entry.stat(follow_symlinks=False)
            if info.st_size != size or digest_of(Path(entry.path).read_bytes()) != digest:
                os.unlink(entry.path)
                continue
        except OSError:
            continue
        program = (info.st_mtime, Path(entry.path))
        if name in newest:  # two processes compiled it at once (the bytes differ a little)
            program, older = max(program, newest[name]), min(program, newest[name])
            with contextlib.suppress(OSError):
                os.unlink(older[1])  # a stage that linked it keeps its own link
        newest[name] = program
    for name, (_, program) in newest.items():
        with contextlib.suppress(OSError):
            _link(program, stage / name)
            _linked.add(name)


def _parse(file_name: str) -> tuple[str, int, str]:
    """("X.pb", size, digest) of a kept program's file name "X.pb.SIZE.DIGEST", else ("", 0, "")."""
    name, size, digest = (file_name.rsplit(".", 2) + ["", ""])[:3]
    if not name.endswith(".pb") or not size.isdigit() or int(size) == 0 or len(digest) != 32:
        return "", 0, ""
    return name, int(size), digest


def digest_of(data: bytes) -> str:
    """The digest a kept program's file name carries (of its bytes)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _link(program: Path, name: Path) -> None:
    """A hard link where the file system has them: another process evicting the program then
    cannot pull it away between TensorFlow finding it and reading it."""
    try:
        os.link(program, name)
    except OSError:
        name.symlink_to(program)


def remove_dead_stages(folder: Path) -> None:
    """Remove the stages of processes that are gone (or so old their pid was reused)."""
    now = time.time()
    for entry in os.scandir(folder):
        if not entry.name.startswith("stage-"):
            continue
        if not entry.is_dir(follow_symlinks=False):  # rmtree opens its path: a FIFO would block
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
            continue
        pid = entry.name.split("-")[1]
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_STAGE_S
        except OSError:
            continue
        if old or not (pid.isdigit() and pid_alive(int(pid))):
            shutil.rmtree(entry.path, ignore_errors=True)


def evict(programs: Path, limit: int, count: int) -> None:
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
