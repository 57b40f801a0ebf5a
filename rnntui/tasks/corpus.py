"""Reading a text corpus fast: which files, their characters as a compact integer array, and
the vocabulary that maps characters to ids.

`task.path` is a UTF-8 file, a folder (every text file under it, sorted), or a glob; "{stdlib}"
in it stands for the running Python's standard-library folder. Bad input is a `ConfigError` on
`task.path`: one line naming the file and what to do.

Speed and memory (the text may be 100 MB): bytes are read once per file, never copied per
character. Pure-ASCII files (the common case) are taken as a uint8 array as they are; other files
are decoded in 16 MB pieces to UTF-32 code points with NumPy. Counting and mapping characters to
ids are `bincount` and a lookup table, so nothing loops in Python over the characters.
"""

from __future__ import annotations

import codecs
import glob
import os
import stat
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnntui.config import ConfigError

KEY = "task.path"
STDLIB = "{stdlib}"
SNIFF_BYTES = 8192  # a file whose first 8 KB hold a NUL byte is binary (as git decides)
DECODE_BYTES = 1 << 24  # non-ASCII text is decoded in pieces this big
PIECE = 1 << 20  # counting and mapping work in pieces: NumPy casts indices to int64 first
UNKNOWN = "\ufffd"  # how the unknown symbol is written
RESOLVE_TTL_S = 5.0  # the settings form re-checks on every keystroke: reuse a fresh walk
MAX_FILES = 20_000  # a walk or glob beyond this is a mistake (a home folder), not a corpus
VISIBLE = {"\n": "↵", "\t": "→", "\r": "␍"}


def describe_path(text: str) -> str:
    """`task.path` for people: "{stdlib}/*.py (Python 3.11's standard library)"."""
    if STDLIB not in text:
        return text
    version = ".".join(sysconfig.get_python_version().split(".")[:2])
    return f"{text} (Python {version}'s standard library)"


def expand(text: str) -> str:
    """`task.path` with "{stdlib}" and "~" expanded (relative paths stay relative to the cwd)."""
    if STDLIB in text:
        text = text.replace(STDLIB, sysconfig.get_paths()["stdlib"])
    return os.path.expanduser(text)


def absolute_path(text: str) -> str:
    """`task.path` as stored in a run folder: absolute, so the run works from any folder
    ("{stdlib}" and "{data}" stay: they name folders of this install wherever it is; "~" is
    expanded)."""
    if STDLIB in text or "{data}" in text or not text.strip():
        return text
    return os.path.abspath(os.path.expanduser(text))


# --- which files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    """The files a `task.path` names, in reading order."""

    path: str  # as given
    mode: str  # "file", "folder" or "glob"
    files: tuple[Path, ...]
    sizes: tuple[int, ...]
    mtimes: tuple[int, ...]
    skipped: int  # binary or empty files left out of a folder or glob

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes)

    def key(self) -> tuple:
        return (self.files, self.sizes, self.mtimes)


def _stat_regular(path: Path) -> os.stat_result | None:
    """The file's stat if it is a regular file; never blocks on a FIFO or a device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    return info if stat.S_ISREG(info.st_mode) else None


def _read(path: Path, limit: int = -1) -> bytes:
    """The bytes of a regular file (opened without blocking, checked before reading)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb", closefd=True) as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ConfigError(f"'{path}' is not a regular file; name a text file", KEY)
        return handle.read(limit)


def _is_binary(path: Path) -> bool:
    try:
        return b"\0" in _read(path, SNIFF_BYTES)
    except OSError:
        return True


_resolved: dict[tuple[str, str], tuple[float, Sources]] = {}


def resolve(path_text: str, fresh: bool = False) -> Sources:
    """The files `path_text` names; ConfigError (one line) when there is nothing to read.

    Cheap enough for the settings form: a walk, a stat and an 8 KB sniff per file, reused for a
    few seconds unless `fresh` (reading the text always looks again). Folders and globs skip
    binary and empty files; a file named directly must be text (fully checked when read).
    """
    cache_key = (path_text, os.getcwd())
    hit = _resolved.get(cache_key)
    if not fresh and hit is not None and time.monotonic() - hit[0] < RESOLVE_TTL_S:
        return hit[1]
    try:
        sources = _resolve(path_text)
    except (OSError, ValueError) as error:  # a NUL in the path, a name too long, no permission
        if isinstance(error, ConfigError):
            raise
        detail = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"cannot read '{path_text}' ({detail}); check the path", KEY) from None
    if len(_resolved) > 32:
        _resolved.clear()
    _resolved[cache_key] = (time.monotonic(), sources)
    return sources


def _resolve(path_text: str) -> Sources:
    if not path_text.strip():
        raise ConfigError(
            "is empty; give a UTF-8 text file, a folder of text files or a glob like 'notes/*.txt'",
            KEY,
        )
    expanded = expand(path_text)
    if glob.has_magic(expanded):
        candidates = [Path(p) for p in sorted(glob.glob(expanded, recursive=True))]
        if not candidates:
            raise ConfigError(f"'{path_text}' matches no files; check the pattern", KEY)
        return _collect(path_text, "glob", candidates)
    path = Path(expanded)
    if path.is_dir():
        return _collect(path_text, "folder", _walk(path))
    if not path.exists():
        raise ConfigError(f"no such file or folder '{path_text}'; check the path", KEY)
    info = _stat_regular(path)
    if info is None:
        raise ConfigError(f"'{path_text}' is not a regular file; name a text file", KEY)
    head = _read(path, SNIFF_BYTES)
    if info.st_size == 0:
        if head:  # /proc and /sys files say 0 bytes yet hold text: sizes here cannot be trusted
            raise ConfigError(
                f"'{path_text}' is a special file that gives no size (like those under /proc); "
                "copy it to a regular file and name that",
                KEY,
            )
        raise ConfigError(f"'{path_text}' is empty; name a file with text in it", KEY)
    if b"\0" in head:
        raise ConfigError(
            f"'{path_text}' is a binary file (a NUL byte at offset {head.index(0)}); "
            "name a UTF-8 text file",
            KEY,
        )
    return Sources(path_text, "file", (path,), (info.st_size,), (info.st_mtime_ns,), 0)


def _walk(root: Path) -> list[Path]:
    """Every file under `root`, sorted, hidden files and folders left out, links not followed."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(folder, name) for name in sorted(files) if not name.startswith(".")]
        if len(found) > MAX_FILES:
            break  # _collect says so; no need to walk a whole disk first
    return found


def _collect(path_text: str, mode: str, candidates: list[Path]) -> Sources:
    if len(candidates) > MAX_FILES:
        raise ConfigError(
            f"'{path_text}' names {len(candidates):,} files, more than {MAX_FILES:,}; "
            "point task.path at the text's own folder or a narrower pattern",
            KEY,
        )
    files, sizes, mtimes, skipped = [], [], [], 0
    for path in candidates:
        info = _stat_regular(path)
        if info is None:
            continue  # a folder a glob matched, a FIFO, a socket, a dangling link
        if info.st_size == 0 or _is_binary(path):
            skipped += 1
            continue
        files.append(path)
        sizes.append(info.st_size)
        mtimes.append(info.st_mtime_ns)
    if not files:
        what = "folder" if mode == "folder" else "pattern"
        raise ConfigError(
            f"the {what} '{path_text}' holds no text files ({skipped} binary or empty); "
            "point task.path at UTF-8 text",
            KEY,
        )
    return Sources(path_text, mode, tuple(files), tuple(sizes), tuple(mtimes), skipped)


# --- reading characters --------------------------------------------------------------------------


def _code_points(data: bytes, where: str) -> list[np.ndarray]:
    """UTF-8 `data` as arrays of code points (uint8 for ASCII, else the narrowest that fits)."""
    if data.isascii():
        return [np.frombuffer(data, np.uint8)]  # no copy: the array keeps `data` alive
    decoder = codecs.getincrementaldecoder("utf-8")()
    parts = []
    view = memoryview(data)
    for begin in range(0, len(data), DECODE_BYTES):
        piece = view[begin : begin + DECODE_BYTES]
        final = begin + DECODE_BYTES >= len(data)
        try:
            text = decoder.decode(piece, final)
        except UnicodeDecodeError as error:
            # the decoder's buffered bytes of a split character come before `piece`
            buffered = len(decoder.getstate()[0])
            offset = begin - buffered + error.start
            raise ConfigError(
                f"{where} is not UTF-8 text (byte offset {max(offset, 0)}); save it as UTF-8",
                KEY,
            ) from None
        parts.append(_points(text))
    return parts


def _points(text: str) -> np.ndarray:
    """The code points of `text` in the narrowest array: CPython stores a str with 1, 2 or 4
    bytes a character (PEP 393), which its size reveals without a scan, so the matching
    encoding gives the array directly (UTF-16 has no surrogates when no character needs 4)."""
    width = 4
    if sys.implementation.name == "cpython" and text:
        width = min(4, max(1, round((sys.getsizeof(text) - 80) / len(text))))
    if width == 1:
        try:
            return np.frombuffer(text.encode("latin-1"), np.uint8)
        except UnicodeEncodeError:
            pass
    if width <= 2:
        points = np.frombuffer(text.encode("utf-16-le"), "<u2")
        if not ((points >= 0xD800) & (points < 0xE000)).any():
            return points
    return np.frombuffer(text.encode("utf-32-le"), "<u4")


@dataclass
class Characters:
    """A corpus as code points, in pieces (never one big UTF-32 copy)."""

    parts: list[np.ndarray]
    count: int

    @property
    def top(self) -> int:
        """The largest code point (at least 255: bytes index tables of 256)."""
        if self._top is None:
            self._top = max([255, *(int(p.max()) for p in self.parts if len(p))])
        return self._top

    _top: int | None = None


def read_characters(sources: Sources, max_chars: int = 0) -> Characters:
    """Every character of the sources in order (at most `max_chars` when it is > 0)."""
    parts: list[np.ndarray] = []
    count = 0
    for path in sources.files:
        where = f"'{path}'" if sources.mode != "file" else f"'{sources.path}'"
        try:
            data = _read(path)
        except OSError as error:
            raise ConfigError(f"cannot read {where} ({error.strerror}); check it", KEY) from None
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        nul = data.find(b"\0")
        if nul >= 0:
            if sources.mode == "file":
                raise ConfigError(
                    f"{where} is a binary file (a NUL byte at offset {nul}); "
                    "name a UTF-8 text file",
                    KEY,
                )
            continue  # binary past the sniffed head: left out, as the sniff would have
        for part in _code_points(data, where):
            if max_chars and count + len(part) > max_chars:
                part = part[: max_chars - count]
            parts.append(part)
            count += len(part)
            if max_chars and count >= max_chars:
                return Characters(parts, count)
    return Characters(parts, count)


def _slices(chars: Characters, begin: int, end: int):
    """(part, offset) pieces covering characters [begin, end)."""
    offset = 0
    for part in chars.parts:
        lo, hi = max(begin, offset), min(end, offset + len(part))
        if lo < hi:
            yield part[lo - offset : hi - offset], lo
        offset += len(part)


def byte_pairs(a: np.ndarray, piece: int = PIECE) -> np.ndarray:
    """How often each pair (a[2i], a[2i+1]) occurs in a uint8 array: a [256, 256] matrix.

    Half as many elements as counting bytes one by one (a uint16 view, little-endian: the first
    byte is the low one), in pieces, so NumPy's cast to its index type stays small."""
    pairs = np.zeros(65536, np.int64)
    view = np.ascontiguousarray(a[: len(a) // 2 * 2]).view("<u2")
    for begin in range(0, len(view), piece):
        pairs += np.bincount(view[begin : begin + piece], minlength=65536)
    return pairs.reshape(256, 256).T  # [first, second]


def _count(part: np.ndarray, top: int) -> np.ndarray:
    counts = np.zeros(top + 1, np.int64)
    if part.dtype == np.uint8:  # bytes: counted two at a time
        pairs = byte_pairs(part)
        counts[:256] += pairs.sum(axis=0) + pairs.sum(axis=1)
        if len(part) % 2:
            counts[part[-1]] += 1
        return counts
    for begin in range(0, len(part), PIECE):
        found = np.bincount(part[begin : begin + PIECE])
        counts[: len(found)] += found
    return counts


def count_ids(ids: np.ndarray, size: int) -> np.ndarray:
    """How often each id below `size` occurs (in pieces; uint8 two at a time)."""
    return _count(ids, max(size - 1, 255))[:size]


def count_characters(chars: Characters, begin: int, end: int) -> np.ndarray:
    """How often each code point occurs in [begin, end) (index = code point)."""
    top = chars.top
    counts = np.zeros(top + 1, np.int64)
    for piece, _ in _slices(chars, begin, end):
        counts += _count(piece, top)
    return counts


# --- the vocabulary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Characters <-> ids. `symbols` in id order; with `unknown`, the last one stands for every
    character outside the vocabulary. It is the text task's `Codec`."""

    symbols: str
    unknown: bool
    ids = True
    many_to_many = True

    @property
    def num_classes(self) -> int:
        return len(self.symbols)

    @property
    def input_dim(self) -> int:
        return len(self.symbols)

    @property
    def dtype(self) -> type:
        return np.uint8 if len(self.symbols) <= 256 else np.uint16

    @classmethod
    def build(cls, counts: np.ndarray, max_vocab: int, unseen: bool) -> Vocabulary:
        """The `max_vocab` most frequent characters (ties: lower code point first), in code point
        order; an unknown symbol when characters are left out or `unseen` ones exist."""
        present = np.flatnonzero(counts)
        order = present[np.lexsort((present, -counts[present]))]
        unknown = unseen or len(order) > max_vocab
        keep = np.sort(order[: max_vocab - 1 if unknown else max_vocab])
        symbols = "".join(map(chr, keep.tolist())) + (UNKNOWN if unknown else "")
        return cls(symbols, unknown)

    def state(self) -> dict[str, Any]:
        return {"symbols": self.symbols, "unknown": self.unknown}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Vocabulary:
        try:
            symbols, unknown = state["symbols"], bool(state["unknown"])
        except (KeyError, TypeError):
            raise ValueError("the checkpoint holds no vocabulary (is it a text run?)") from None
        if not isinstance(symbols, str) or len(symbols) < 2:
            raise ValueError("the checkpoint's vocabulary is damaged")
        return cls(symbols, unknown)

    def known(self) -> str:
        return self.symbols[:-1] if self.unknown else self.symbols

    def table(self, top: int) -> np.ndarray:
        """Code point (0..top) -> id; characters outside the vocabulary -> the unknown id, or
        len(symbols) when there is none (`map_to_ids` refuses those)."""
        miss = len(self.symbols) - 1 if self.unknown else len(self.symbols)
        table = np.full(top + 1, miss, np.uint8 if miss < 256 else np.uint16)
        codes = np.frombuffer(self.known().encode("utf-32-le"), "<u4")
        inside = codes <= top
        table[codes[inside]] = np.arange(len(codes))[inside]
        return table

    def encode(self, text: str, unknown_ok: bool = False) -> np.ndarray:
        """Ids of `text`; ValueError naming the characters outside the vocabulary, unless
        `unknown_ok` and the vocabulary has the unknown symbol: they are read as it, as in
        training (`outside()` counts them)."""
        index = {c: i for i, c in enumerate(self.known())}
        if unknown_ok and self.unknown:
            miss = len(self.symbols) - 1
            return np.fromiter((index.get(c, miss) for c in text), np.int32, len(text))
        missing = sorted({c for c in text if c not in index})
        if missing:
            shown = " ".join(repr(c) for c in missing[:12]) + (" …" if len(missing) > 12 else "")
            raise ValueError(
                f"{len(missing)} character{'s' if len(missing) > 1 else ''} outside the "
                f"vocabulary: {shown}"
            )
        return np.fromiter((index[c] for c in text), np.int32, len(text))

    def outside(self, text: str) -> int:
        """How many characters of `text` the vocabulary does not have."""
        known = set(self.known())
        return sum(c not in known for c in text)

    def decode(self, ids: Any) -> str:
        return "".join(self.symbols[int(i)] for i in np.asarray(ids).reshape(-1))

    def labels(self, inputs: np.ndarray) -> tuple[str, ...]:
        return tuple(VISIBLE.get(c, c) for c in self.decode(inputs))


def map_to_ids(chars: Characters, vocabulary: Vocabulary) -> np.ndarray:
    """The corpus as ids (uint8 up to 256 symbols, else uint16), a lookup table per piece;
    bytes go through `bytes.translate` (C, no index casts).

    ValueError when a character has no id (a vocabulary without an unknown symbol, kept from
    a run whose text has changed since)."""
    table = vocabulary.table(chars.top)
    miss = len(vocabulary.symbols)
    pieces = []
    for part in chars.parts:
        if part.dtype == np.uint8 and table.dtype == np.uint8:
            whole = isinstance(part.base, bytes) and len(part.base) == len(part)
            source = part.base if whole else part.tobytes()  # the file's own bytes: no copy
            mapped = np.frombuffer(source.translate(table[:256].tobytes()), np.uint8)
        else:
            mapped = np.empty(len(part), table.dtype)
            for begin in range(0, len(part), PIECE):
                np.take(table, part[begin : begin + PIECE], out=mapped[begin : begin + PIECE])
        if not vocabulary.unknown and (mapped == miss).any():
            codes = np.unique(part[mapped == miss])[:12]
            shown = " ".join(repr(chr(int(c))) for c in codes)
            raise ValueError(f"the text holds characters outside the run's vocabulary: {shown}")
        pieces.append(mapped)
    if len(pieces) == 1 and pieces[0].dtype == vocabulary.dtype:
        return pieces[0]  # one file: no second copy
    ids = np.empty(chars.count, vocabulary.dtype)
    offset = 0
    for mapped in pieces:
        ids[offset : offset + len(mapped)] = mapped
        offset += len(mapped)
    return ids


# --- entropies -----------------------------------------------------------------------------------


def entropy(counts: np.ndarray) -> float:
    """Plug-in entropy (nats) of a histogram."""
    counts = counts[counts > 0].astype(np.float64)
    p = counts / counts.sum()
    return max(0.0, float(-(p * np.log(p)).sum()))  # one symbol: -0.0, which JSON keeps


def bigram_conditional_entropy(ids: np.ndarray, size: int, piece: int = 1 << 22) -> float:
    """H(X_t | X_{t-1}) in nats, from the counts of every pair of neighbours in `ids`."""
    if len(ids) < 2:
        return 0.0
    if ids.dtype == np.uint8:  # the pairs at even and at odd offsets: every neighbour pair
        matrix = byte_pairs(ids) + byte_pairs(ids[1:])
        return max(0.0, entropy(matrix.reshape(-1)) - entropy(matrix.sum(axis=1)))
    dense = size * size <= 1 << 22
    pairs = np.zeros(size * size, np.int64) if dense else None
    sparse: list[tuple[np.ndarray, np.ndarray]] = []
    for begin in range(0, len(ids) - 1, piece):
        end = min(begin + piece, len(ids) - 1)
        codes = ids[begin:end].astype(np.int64) * size + ids[begin + 1 : end + 1]
        if dense:
            pairs += np.bincount(codes, minlength=size * size)
        else:
            sparse.append(np.unique(codes, return_counts=True))
    if not dense:
        codes = np.concatenate([c for c, _ in sparse])
        unique, inverse = np.unique(codes, return_inverse=True)
        pairs_counts = np.bincount(inverse, weights=np.concatenate([n for _, n in sparse]))
        firsts = np.bincount(unique // size, weights=pairs_counts, minlength=size)
        return max(0.0, entropy(pairs_counts) - entropy(firsts))
    matrix = pairs.reshape(size, size)
    return max(0.0, entropy(pairs) - entropy(matrix.sum(axis=1)))  # never a rounding's -1e-17
