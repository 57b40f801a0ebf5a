"""Reading a table of numbers fast: a CSV or TSV file (gzip too) with a header row, into NumPy.

The reader is NumPy's own `loadtxt` (C since NumPy 1.23): measured against pyarrow's CSV reader,
pandas (C and pyarrow engines) and polars (`benchmarks/bench_series.py`) it loads 1M rows x 4
columns in ~0.3-0.4 s with the lowest peak memory of all (62 MB against 171-248 MB at 1M rows)
and adds nothing to install, where the others add 82-258 MB for ~0.2 s less.

A clean file is parsed once by `loadtxt`. Anything it refuses (an empty or non-numeric cell, a
row of the wrong length) sends the file through a Python `csv` scan, which finds the exact line
and column for the one-line error, or, when the caller accepts missing cells, reads them as NaN.
That path is slower (~2 s per million rows), and only bad or gappy files take it.

Bad input is a `TableError` naming the file, and the line and column where it applies: one line,
nothing else. Its `about` says which part of the request it concerns ("path", "time", "column",
"missing"), so a caller (the series task) can name its own setting.

Here in `util` because it is plain data reading (no TensorFlow, no config): the series task, the
forecast command and the benchmark all read tables through it.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import stat
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

KEY = "path"


class TableError(ValueError):
    """A file that cannot be read as a table. `str()` is the one line a user should read;
    `about` is "path" (the file), "time" (the time column), "column" (a column asked for) or
    "missing" (a missing cell)."""

    def __init__(self, message: str, about: str = KEY) -> None:
        super().__init__(message)
        self.about = about


DATA = "{data}"  # in task.path: the folder of data shipped with rnntui
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SNIFF_ROWS = 200  # rows read to tell numeric columns from text ones
MAX_BYTES = 4 << 30  # a table beyond this (uncompressed) is not a series for a small RNN
MISSING_TEXT = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "?", "#n/a"})


@dataclass
class Table:
    """The columns of a file: numbers as float64 (NaN where a cell was missing), the time column
    as float64 or datetime64[ms], and where the first missing cell of each column was."""

    path: str  # task.path as the user wrote it
    names: tuple[str, ...]  # every column of the header, in order
    numeric: tuple[str, ...]  # columns whose cells are numbers (the default inputs)
    columns: dict[str, np.ndarray]  # the columns that were asked for, numeric ones float64
    time: np.ndarray | None = None
    lines: np.ndarray | None = None  # the file line of each row, when blank lines shift them
    count: int = 0  # rows of data
    parquet: bool = False
    first_missing: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> (row, text)

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else self.count

    def line(self, row: int) -> int:
        """The file line (1 = the header) of data row `row` (0-based)."""
        return int(self.lines[row]) if self.lines is not None else row + 2

    def place(self, row: int) -> str:
        """Where data row `row` (0-based) is, for a message: "line 12" of a text file, "row 11"
        of a Parquet file (which has no lines)."""
        return f"row {row + 1}" if self.parquet else f"line {self.line(row)}"


def expand(path_text: str) -> Path:
    """A path as written: "{data}" is rnntui's data folder, "~" the home folder."""
    return Path(os.path.expanduser(path_text.replace(DATA, str(DATA_DIR))))


def describe_path(path_text: str) -> str:
    """A path for people: "{data}/co2.csv (shipped with rnntui)"."""
    return f"{path_text} (shipped with rnntui)" if DATA in path_text else path_text


def read_data(path_text: str) -> bytes:
    """The file's bytes (gunzipped when it is gzip, without a BOM), checked: a regular,
    non-empty UTF-8 file. Bytes, not str: loadtxt reads a BytesIO twice as fast as a StringIO,
    and the fills and checks below are bytes operations."""
    path = expand(path_text)
    where = f"'{path_text}'"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise TableError(f"no such file {where}; check the path", KEY) from None
    except OSError as error:
        raise TableError(f"cannot read {where} ({error.strerror}); check it", KEY) from None
    if stat.S_ISDIR(info.st_mode):
        raise TableError(f"{where} is a folder; name a CSV or TSV file", KEY)
    if not stat.S_ISREG(info.st_mode):
        raise TableError(f"{where} is not a regular file; name a CSV or TSV file", KEY)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise TableError(f"cannot read {where} ({error.strerror}); check it", KEY) from None
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
                data = unzipped.read(MAX_BYTES + 1)
        except (OSError, EOFError, zlib.error):
            raise TableError(f"{where} is a damaged gzip file; check it", KEY) from None
    if len(data) > MAX_BYTES:
        raise TableError(f"{where} is larger than {MAX_BYTES >> 30} GB; use a part of it", KEY)
    if data.startswith(b"PAR1"):
        raise TableError(f"{where} is a Parquet file; read_table reads it", KEY)  # not here
    if b"\0" in data[:8192]:
        raise TableError(f"{where} is a binary file; name a CSV or TSV file", KEY)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TableError(
                f"{where} is not UTF-8 text (byte offset {error.start}); save it as UTF-8", KEY
            ) from None
    if b"\0" in data:
        raise TableError(f"{where} is a binary file; name a CSV or TSV file", KEY)
    if not data or data.isspace():
        raise TableError(
            f"{where} is empty; name a file with a header row and rows of numbers", KEY
        )
    return data


def delimiter_of(path_text: str, header: str) -> str:
    """Tab for .tsv files or a tabbed header; a semicolon when the header has one but no comma."""
    name = path_text.lower().removesuffix(".gz")
    if name.endswith((".tsv", ".tab")) or ("\t" in header and "," not in header):
        return "\t"
    if ";" in header and "," not in header:
        return ";"
    return ","


def _number(text: str) -> float | None:
    """A cell as a number, or None when it is not one (inf and nan count as not numbers)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _numeric(sample: list[list[str]], index: int) -> bool:
    """A column of numbers: most of its sampled cells that are not blank or NA are numbers (a
    stray word is then a bad cell, named by line, rather than the column being text)."""
    numbers = others = 0
    for row in sample:
        cell = row[index]
        if _number(cell) is not None:
            numbers += 1
        elif cell.strip().lower() not in MISSING_TEXT:
            others += 1
    return numbers > 0 and numbers >= others


def _time_kind(cells: list[str]) -> str:
    """ "f8" when the time cells are plain numbers (years, seconds), else "M8[ms]" (ISO dates)."""
    for cell in cells:
        cell = cell.strip()
        if cell:
            return "f8" if _number(cell) is not None and "-" not in cell[1:] else "M8[ms]"
    return "f8"


def read_table(
    path_text: str,
    wanted: tuple[str, ...] | None = None,
    time: str = "",
    missing_ok: bool = False,
) -> Table:
    """The columns `wanted` (None: every numeric one) and the `time` column of a CSV/TSV file.

    Missing cells (empty, NA, nan, or any text in a numeric column) are NaN when `missing_ok`;
    otherwise the first one is a TableError naming its line and column. Unknown columns are a
    TableError listing the columns there are."""
    where = f"'{path_text}'"
    if _is_parquet(path_text):
        return _read_parquet(path_text, wanted, time, missing_ok)
    data = read_data(path_text)
    cut = data.find(b"\n")
    cut = len(data) if cut < 0 else cut
    first_line = data[:cut].decode("utf-8")
    delimiter = delimiter_of(path_text, first_line)
    try:
        header = next(csv.reader([first_line], delimiter=delimiter))
    except csv.Error as error:
        raise TableError(f"{where}: the header row cannot be read ({error}); fix it", KEY) from None
    names = tuple(name.strip() for name in header)
    for index, name in enumerate(names):
        if not name:
            raise TableError(
                f"{where}: column {index + 1} has no name in the header row; name it", KEY
            )
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise TableError(f"{where}: column '{twice}' appears twice in the header; rename one", KEY)
    sample = _sample_rows(data[cut + 1 : cut + 1 + (1 << 20)], delimiter, len(names), where)
    if not sample:
        raise TableError(f"{where} has a header row but no rows of data; add rows", KEY)
    numeric = tuple(name for i, name in enumerate(names) if name != time and _numeric(sample, i))
    asked = list(numeric if wanted is None else wanted)
    for name in [*asked, *([time] if time else [])]:
        if name not in names:
            raise TableError(
                f"{where} has no column '{name}'; its columns are {', '.join(names)}",
                "time" if name == time else "column",
            )
    asked = [name for name in dict.fromkeys(asked) if name != time]
    indices = [names.index(name) for name in asked]
    time_kind = _time_kind([row[names.index(time)] for row in sample]) if time else ""
    # loadtxt reads the whole file past its header: no copy of the rows is made for it
    table = _fast(data, delimiter, names, asked, indices, time, time_kind)
    if table is None and missing_ok:
        # empty cells (the common gap): spelt "nan" in C, and loadtxt reads them as NaN
        table = _fast(_fill_empty(data, delimiter), delimiter, names, asked, indices, time,
                      time_kind, lines_of=data, gaps=True)  # fmt: skip
    if table is None:  # something loadtxt refused: the careful scan says what, and where
        rest = data[cut + 1 :]
        table = _careful(rest, delimiter, names, asked, indices, time, time_kind, where)
    table.path, table.numeric = path_text, numeric
    if table.rows == 0:
        raise TableError(f"{where} has a header row but no rows of data; add rows", KEY)
    for name, (row, cell) in table.first_missing.items():
        if not missing_ok:
            what = describe_missing(cell)
            raise TableError(
                f"{where} {table.place(row)}, column '{name}': {what}; fill it in",
                "missing",
            )
    return table


GAP = "\0gap"  # the cell text noted for a cell loadtxt read as NaN (empty, or nan written out)


def describe_missing(cell: str) -> str:
    """A missing cell, for a message."""
    if cell == GAP:
        return "an empty or NaN cell"
    return "an empty cell" if not cell.strip() else f"'{cell[:20]}', not a number"


def _sample_rows(rest: bytes, delimiter: str, width: int, where: str) -> list[list[str]]:
    """The first data rows (blank lines skipped), each padded or cut to the header's width."""
    rows = []
    head = rest[: 1 << 20].decode("utf-8", "ignore")  # a character cut at the end: dropped
    try:
        for row in csv.reader(io.StringIO(head), delimiter=delimiter):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            rows.append((row + [""] * width)[:width])
            if len(rows) >= SNIFF_ROWS:
                break
    except csv.Error as error:
        raise TableError(
            f"{where}: the first rows cannot be read ({error}); fix them", KEY
        ) from None
    return rows


def _fill_empty(data: bytes, delimiter: str) -> bytes:
    """Every empty cell of a file (header included) written as "nan": C-level replaces, no
    Python loop over cells, each only when its pattern occurs (each is a copy of the file)."""
    d = delimiter.encode()
    text = data.replace(b"\r\n", b"\n") if b"\r" in data else data
    if d + d in text:  # twice: ",,," has two gaps that overlap
        text = text.replace(d + d, d + b"nan" + d).replace(d + d, d + b"nan" + d)
    if b"\n" + d in text:  # a row's first cell (the header, first of all, has a name)
        text = text.replace(b"\n" + d, b"\nnan" + d)
    if d + b"\n" in text:
        text = text.replace(d + b"\n", d + b"nan\n")
    return text + b"nan" if text.endswith(d) else text


def _fast(
    data, delimiter, names, asked, indices, time, time_kind, lines_of=None, gaps=False
) -> Table | None:
    """One pass of `loadtxt` over a clean file (its header skipped); None when it refuses
    anything (or finds a NaN: with `gaps`, empty cells filled in as "nan" are noted as missing
    instead, and `lines_of` is the file as it was, for line numbers)."""
    columns: list[tuple[str, int, str]] = [
        (name, i, "f8") for name, i in zip(asked, indices, strict=True)
    ]
    if time:
        columns.append(("\0time", names.index(time), time_kind))
    columns.sort(key=lambda column: column[1])
    if not columns:
        return None
    dtype = [(f"c{i}", kind) for _, i, kind in columns]
    try:
        rows = np.loadtxt(
            io.BytesIO(data),  # shares the bytes (copy on write)
            skiprows=1,
            delimiter=delimiter,
            dtype=dtype,
            usecols=[i for _, i, _ in columns],
            comments=None,
            quotechar='"',
            ndmin=1,
            encoding="utf-8",
        )
    except (ValueError, IndexError, OverflowError):
        return None
    table = Table("", names, (), {}, count=len(rows))
    for name, i, _ in columns:
        values = np.ascontiguousarray(rows[f"c{i}"])
        if name == "\0time":
            if (
                np.isnat(values).any()
                if values.dtype.kind == "M"
                else not np.isfinite(values).all()
            ):
                return None  # a time cell that is empty or not a time: the scan names it
            table.time = values
            continue
        finite = np.isfinite(values)
        if not finite.all():
            if not gaps:  # "nan" or "inf" written out: the scan says where
                return None
            table.first_missing[name] = (int(np.argmin(finite)), GAP)
        table.columns[name] = values.astype(np.float64, copy=False)
    original = data if lines_of is None else lines_of
    lines = original.count(b"\n") + (not original.endswith(b"\n"))
    if table.count != lines - 1:
        # blank lines: loadtxt skipped them, so rows no longer match lines; count them exactly
        table.lines = _row_lines(original[original.find(b"\n") + 1 :], delimiter)
    return table


def _row_lines(rest: bytes, delimiter: str) -> np.ndarray:
    lines = []
    reader = csv.reader(io.StringIO(rest.decode("utf-8")), delimiter=delimiter)
    for row in reader:
        if row and not (len(row) == 1 and not row[0].strip()):
            lines.append(reader.line_num + 1)
    return np.asarray(lines, np.int64)


def _careful(rest, delimiter, names, asked, indices, time, time_kind, where) -> Table:
    """Every row through `csv`: the exact line of a bad row; missing cells as NaN, the first
    one of each column noted."""
    values: list[list[float]] = [[] for _ in asked]
    stamps: list[str] = []
    lines: list[int] = []
    first: dict[str, tuple[int, str]] = {}
    time_index = names.index(time) if time else -1
    reader = csv.reader(io.StringIO(rest.decode("utf-8")), delimiter=delimiter)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            line = reader.line_num + 1
            if len(row) != len(names):
                raise TableError(
                    f"{where} line {line} has {len(row)} cells, the header {len(names)} "
                    f"columns; fix that row",
                    KEY,
                )
            position = len(lines)
            lines.append(line)
            for column, index in enumerate(indices):
                cell = row[index]
                number = _number(cell)
                if number is None:
                    number = math.nan
                    first.setdefault(asked[column], (position, cell))
                values[column].append(number)
            if time:
                stamp = row[time_index].strip()
                if not stamp:
                    raise TableError(
                        f"{where} line {line}, time column '{time}': an empty cell; "
                        "every row needs its time",
                        "time",
                    )
                stamps.append(stamp)
    except csv.Error as error:
        raise TableError(
            f"{where} line {reader.line_num + 1} cannot be read ({error}); fix it", KEY
        ) from None
    table = Table(
        "", names, (), {}, lines=np.asarray(lines, np.int64), first_missing=first, count=len(lines)
    )
    for name, column in zip(asked, values, strict=True):
        table.columns[name] = np.asarray(column, np.float64)
    if time:
        table.time = _parse_times(stamps, time_kind, time, where, table)
    return table


def _parse_times(stamps: list[str], kind: str, time: str, where: str, table: Table) -> np.ndarray:
    if kind == "f8":
        out = np.empty(len(stamps), np.float64)
        for row, stamp in enumerate(stamps):
            number = _number(stamp)
            if number is None:
                raise TableError(
                    f"{where} line {table.line(row)}, time column '{time}': '{stamp[:20]}' is "
                    "not a number like the rows before it; write every time the same way",
                    "time",
                )
            out[row] = number
        return out
    try:
        return np.array(stamps, "M8[ms]")
    except ValueError:
        for row, stamp in enumerate(stamps):
            try:
                np.datetime64(stamp, "ms")
            except ValueError:
                raise TableError(
                    f"{where} line {table.line(row)}, time column '{time}': '{stamp[:20]}' is "
                    "not a date; write times as ISO 8601 (2024-03-15 or 2024-03-15T10:00) or "
                    "numbers",
                    "time",
                ) from None
        raise


# --- Parquet (the optional `parquet` extra: pyarrow) -------------------------------------------


def _is_parquet(path_text: str) -> bool:
    try:
        with open(expand(path_text), "rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False  # read_data says what is wrong with the path


def _read_parquet(
    path_text: str, wanted: tuple[str, ...] | None, time: str, missing_ok: bool
) -> Table:
    """A Parquet file's columns through pyarrow: numbers (integer, float, decimal) as float64,
    nulls and NaN as missing; the time column as datetime64[ms] (dates, timestamps) or float."""
    from rnntui.util.extras import missing_extra

    where = f"'{path_text}'"
    if missing_extra("pyarrow"):
        raise TableError(f"{where} is a Parquet file, which {missing_extra('pyarrow')}", KEY)
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(expand(path_text))
    except (OSError, pa.ArrowException) as error:
        raise TableError(f"{where} cannot be read as Parquet ({error}); check it", KEY) from None
    names = tuple(arrow.column_names)
    types = {name: arrow.schema.field(name).type for name in names}

    def is_number(kind) -> bool:
        return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)

    numeric = tuple(n for n in names if n != time and is_number(types[n]))
    asked = list(numeric if wanted is None else wanted)
    for name in [*asked, *([time] if time else [])]:
        if name not in names:
            raise TableError(
                f"{where} has no column '{name}'; its columns are {', '.join(names)}",
                "time" if name == time else "column",
            )
    table = Table(path_text, names, numeric, {}, count=arrow.num_rows, parquet=True)
    for name in dict.fromkeys(asked):
        if name == time or not is_number(types[name]):
            continue  # a text column: the task names it as such
        values = arrow.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False)
        values = np.asarray(values, np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            values = np.where(bad, np.nan, values)
            table.first_missing[name] = (int(np.argmax(bad)), "")
        table.columns[name] = values
    if time:
        column = arrow.column(time)
        kind = types[time]
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            stamps = column.cast(pa.timestamp("ms")).to_numpy(zero_copy_only=False)
            table.time = np.asarray(stamps, "M8[ms]")
            broken = np.isnat(table.time)
        elif is_number(kind):
            table.time = np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False))
            broken = ~np.isfinite(table.time)
        else:
            raise TableError(
                f"{where}: the time column '{time}' holds {kind}; use dates, timestamps or numbers",
                "time",
            )
        if broken.any():
            raise TableError(
                f"{where} row {int(np.argmax(broken)) + 1}, time column '{time}': no time; "
                "every row needs its time",
                "time",
            )
    if table.rows == 0:
        raise TableError(f"{where} has no rows of data; add rows", KEY)
    for name, (row, _) in table.first_missing.items():
        if not missing_ok:
            raise TableError(
                f"{where} row {row + 1}, column '{name}': a missing value; fill it in",
                "missing",
            )
    return table
