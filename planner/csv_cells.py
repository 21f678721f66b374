"""CSV cells for every dcplan CSV format: written as RFC 4180 lines, read as typed values.

* Writing: :func:`csv_line` (one record; quotes a cell holding ``,``, ``"``, LF or CR),
  :func:`format_number` (shortest text that reads back to the same float), :func:`neutralise` /
  :func:`unneutralise` (OWASP "CSV Injection": a text cell that starts with ``=``, ``+``, ``-``,
  ``@``, tab or CR gets a leading ``'``; so does one that starts with ``'``, so it is lossless).
* Reading: :func:`read_table` opens one file and streams its rows (regular files only, size,
  row and line bounds), :class:`Cells` gives typed, checked cells of one row, and every bad cell
  becomes a :class:`CsvProblem` (file, spreadsheet row, column). :class:`Problems` keeps the first
  :data:`MAX_PROBLEMS_KEPT` in file and row order and counts the rest; :class:`CsvImportError`
  lists them.

Used by :mod:`planner.csv_exchange` (racks.csv, devices.csv, rack_plan.csv) and
:mod:`planner.netbox` (power files, NetBox list exports). Qt-free and ORM-free.
"""
from __future__ import annotations

import codecs
import csv
import heapq
import math
import os
import re
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from planner.inputs import InputFileError, open_input

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")
_NON_FINITE = {"nan", "inf", "infinity"}


@dataclass
class CsvProblem:
    """One problem in an imported file.

    file : str  File name as given (no directory)
    row : int  Spreadsheet row (header = 1); 0 for the whole file
    column : str  Column name ("" when the problem is not about one column)
    """

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row else self.file
        if self.column:
            where += f": {self.column}"
        return f"{where}: {self.message}"


class CsvImportError(ValueError):
    """Import refused. ``problems``: the first problems found (at most :data:`MAX_PROBLEMS_KEPT`, in
    file and row order); ``total``: how many there are in all."""

    def __init__(self, problems: Problems, total: int | None = None):
        self.problems = list(problems)
        self.total = len(self.problems) if total is None else total
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{self.total:,} problem(s) in the CSV import:\n{lines}{self.more_text()}")

    def more_text(self) -> str:
        """``"\n... and N more problems"`` when only the first ones were kept, else ``""``."""
        more = self.total - len(self.problems)
        return f"\n... and {more:,} more problem(s) not shown" if more > 0 else ""


def format_number(x: float) -> str:
    """Shortest text that reads back to the same float: 1360.0 -> '1360', 0.6 -> '0.6'."""
    x = float(x)
    if math.isfinite(x) and x.is_integer() and abs(x) < 2.0 ** 53:
        return str(int(x))
    return repr(x)


def csv_line(cells: Iterable[str]) -> str:
    """One RFC 4180 record. Quotes a cell holding ``,``, ``"``, LF or CR (the stdlib
    writer with a ``\\n`` terminator would leave a bare CR unquoted)."""
    out = []
    for c in cells:
        if any(ch in c for ch in ',"\n\r'):
            c = '"' + c.replace('"', '""') + '"'
        out.append(c)
    return ",".join(out) + "\n"


def neutralise(text: str) -> str:
    """Prefix a single quote to text a spreadsheet would run as a formula (and to text
    already starting with a quote, so :func:`unneutralise` restores it exactly)."""
    if text[:1] in _FORMULA_START or text[:1] == _QUOTE:
        return _QUOTE + text
    return text


def unneutralise(cell: str) -> str:
    """Undo :func:`neutralise`: drop a quote that precedes a formula character or a quote."""
    if len(cell) >= 2 and cell[0] == _QUOTE and (cell[1] in _FORMULA_START or cell[1] == _QUOTE):
        return cell[1:]
    return cell


#: Largest CSV file imported [bytes], most data rows in one file, longest physical line [bytes].
#: The largest AI campuses hold ~10,000 racks and ~100,000 servers; a bigger file is a wrong file
#: (or an attack) and is refused while it streams, before it can exhaust memory.
MAX_CSV_BYTES = 512 * 2 ** 20
MAX_CSV_ROWS = 250_000
MAX_LINE_BYTES = 2 ** 20
#: Problems kept (and printed) by a refused import: the first ones in file and row order; the
#: rest are counted (``CsvImportError.total``).
MAX_PROBLEMS_KEPT = 100


class Problems:
    """The problems of one import: every one counted, the first :data:`MAX_PROBLEMS_KEPT` in file
    and row order kept (a heap), so a million bad rows cost no memory."""

    def __init__(self, file_rank: dict[str, int], keep: int = MAX_PROBLEMS_KEPT):
        self.rank, self.keep = file_rank, keep
        self.total = 0
        self._heap: list = []  # max-heap by negated (file rank, row, arrival)

    def append(self, p: CsvProblem) -> None:
        self.total += 1
        key = (self.rank.get(p.file, -1), p.row, self.total)
        heapq.heappush(self._heap, (tuple(-k for k in key), p))
        if len(self._heap) > self.keep:
            heapq.heappop(self._heap)

    def __bool__(self) -> bool:
        return self.total > 0

    def __len__(self) -> int:
        return self.total

    def error(self) -> "CsvImportError":
        kept = [p for _k, p in sorted(self._heap, key=lambda e: tuple(-k for k in e[0]))]
        return CsvImportError(kept, total=self.total)


@dataclass
class Table:
    """One CSV file being read: its header, and its data rows as they stream from the file.

    rows : iterator of (spreadsheet row, cells)  Read once, in order; blank rows skipped; a file
        error (malformed CSV, not UTF-8, too many rows) becomes a problem and ends the rows.
    """

    file: str
    columns: dict[str, int]  # normalised header -> cell index
    rows: Iterator[tuple[int, list[str]]]
    close: Callable[[], None] = lambda: None


def _lines(fh, name: str, fail: Callable[[int, str], None]) -> Iterator[str]:
    """Physical lines of a UTF-8 file as text (a BOM dropped); a bad byte or an endless line is a
    problem on its line and ends the file."""
    number = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            fail(number, f"line longer than {MAX_LINE_BYTES // 2 ** 20} MiB; not a CSV file")
            return
        if number == 1 and raw.startswith(codecs.BOM_UTF8):  # Excel's "CSV UTF-8" writes a BOM
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            fail(number, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as 'CSV UTF-8'")
            return


def read_table(path: str | PathLike, required: Sequence[str], problems: Problems) -> Table | None:
    """Open one CSV file and read its header; file-level problems are appended and give ``None``.

    The data rows stream from the open file (:attr:`Table.rows`); call :attr:`Table.close`.
    """
    p = Path(path)
    name = p.name
    failed = []

    def fail(row: int, message: str, column: str = "") -> None:
        failed.append(row)
        problems.append(CsvProblem(name, row, column, message))

    try:
        fh = open_input(p)  # only a regular file: a FIFO would block, a device never end
    except InputFileError as exc:
        fail(0, {"does not exist": "file not found", "is a folder, not a file": "is a folder, not a CSV file"}
             .get(str(exc), str(exc)))
        return None
    size = os.fstat(fh.fileno()).st_size
    if size > MAX_CSV_BYTES:
        fh.close()
        fail(0, f"{size / 2 ** 20:,.0f} MiB is larger than any rack or device file "
                f"({MAX_CSV_BYTES // 2 ** 20} MiB at most)")
        return None
    # strict: an unclosed quote must be an error, not swallow the rest of the file
    reader = csv.reader(_lines(fh, name, fail), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        fh.close()
        fail(1, f"malformed CSV: {exc}")
        return None
    if header is None or not any(c.strip() for c in header):
        fh.close()
        if not failed:  # a bad byte on line 1 was reported already
            fail(1 if header is not None else 0, "no header row" if header is not None else "file is empty")
        return None
    if len(header) == 1:
        for sep, label in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
            if sep in header[0]:
                fh.close()
                fail(1, f"uses {label} as separator; dcplan expects ','")
                return None

    columns: dict[str, int] = {}
    for i, h in enumerate(header):
        key = h.strip().lower()
        if not key:
            continue
        if key in columns:
            fail(1, "duplicate column", key)
            continue
        columns[key] = i
    for c in required:
        if c not in columns:
            fail(1, "missing required column", c)

    def rows() -> Iterator[tuple[int, list[str]]]:
        number, count = 1, 0
        try:
            for record in reader:
                number += 1
                if not any(c.strip() for c in record):
                    continue  # blank line: a blank spreadsheet row
                count += 1
                if count > MAX_CSV_ROWS:
                    fail(number, f"more than {MAX_CSV_ROWS:,} rows; no hall holds that many (split the file)")
                    return
                if len(record) > len(header) and any(c.strip() for c in record[len(header):]):
                    fail(number, f"row has {len(record)} cells but the header has {len(header)}")
                yield number, record
        except csv.Error as exc:
            fail(number + 1, f"malformed CSV: {exc}")
        finally:
            fh.close()

    return Table(name, columns, rows(), fh.close)


class Cells:
    """Typed access to one row's cells; every bad cell becomes a problem."""

    def __init__(self, table: Table, row: int, cells: list[str], problems: Problems):
        self.table, self.row, self.cells, self.problems = table, row, cells, problems
        self.ok = True

    def problem(self, column: str, message: str) -> None:
        self.problems.append(CsvProblem(self.table.file, self.row, column, message))
        self.ok = False

    def present(self, column: str) -> bool:
        return column in self.table.columns

    def text(self, column: str, required: bool = False) -> str | None:
        """Stripped, unescaped cell; ``None`` if the column is absent (or required and empty)."""
        i = self.table.columns.get(column)
        if i is None:
            return None
        value = unneutralise(self.cells[i].strip()) if i < len(self.cells) else ""
        if required and not value:
            self.problem(column, "required value is empty")
            return None
        return value

    def number(self, column: str, *, required: bool = False, minimum: float | None = None,
               exclusive: bool = False, maximum: float | None = None, integer: bool = False):
        """Finite number in range, ``int`` if ``integer``; ``None`` if not given or bad."""
        v = self.text(column, required)
        if not v:
            return None
        if v.lower().lstrip("+-") in _NON_FINITE:
            self.problem(column, f"not a finite number: {v!r}")
            return None
        if not _NUMBER_RE.match(v):
            self.problem(column, f"not a number: {v!r}")
            return None
        x = float(v)
        if not math.isfinite(x):
            self.problem(column, f"not a finite number: {v!r}")
            return None
        if integer and not x.is_integer():
            self.problem(column, f"must be a whole number, got {v}")
            return None
        if minimum is not None and (x < minimum or (exclusive and x == minimum)):
            self.problem(column, f"must be {'>' if exclusive else '>='} {minimum}, got {v}")
            return None
        if maximum is not None and x > maximum:
            self.problem(column, f"must be <= {maximum}, got {v}")
            return None
        return int(x) if integer else x

    def boolean(self, column: str) -> bool | None:
        """NetBox CSV boolean (true/false, yes/no, 1/0); ``None`` if not given or bad."""
        v = self.text(column)
        if not v:
            return None
        if v.lower() in ("true", "yes", "1"):
            return True
        if v.lower() in ("false", "no", "0"):
            return False
        self.problem(column, f"not a boolean: {v!r}; expected true or false")
        return None

    def choice(self, column: str, choices: Sequence[str], required: bool = False) -> str | None:
        """One of ``choices`` (matched case-insensitively, returned as spelt there)."""
        v = self.text(column, required)
        if not v:
            return None
        for c in choices:
            if v.lower() == c.lower():
                return c
        self.problem(column, f"invalid choice {v!r}; expected one of {', '.join(choices)}")
        return None
