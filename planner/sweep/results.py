"""The results file of a sweep: one CSV row per variant, written as results arrive.

Columns: the varied parameters (named as in ``--vary``), then :func:`.worker.result_fields`
(``simulate --json`` summary fields, scenario, start, installed capacity, error, the scheduler's
figures when ``scheduler`` varies, content hash).

Crash safety without a temporary file per row: the header is written atomically
(:func:`planner.outputs.atomic_output`), then each row is appended as one complete record in a
single ``write`` on an ``O_APPEND`` descriptor and flushed to disk. A crash or a kill can at worst
leave the last record unfinished; :meth:`ResultsFile.open` with ``resume`` drops such a tail,
keeps every complete row of this sweep (matched by content hash) and rewrites the file
atomically before new rows are appended. When a sweep completes, the file is rewritten once
more in the variants' order, so the same sweep always ends in the same file.

Text cells that a spreadsheet would run as a formula are neutralised as in the CSV exchange.
"""
from __future__ import annotations

import csv
import errno
import io
import math
import os
import re
from pathlib import Path
from typing import Iterable

from ..csv_exchange import neutralise, unneutralise
from ..outputs import OutputError, atomic_output, check_output_target
from .definition import Sweep, SweepError
from .worker import field_type, result_fields

_HASH = re.compile(r"^[0-9a-f]{16}$")


def _write_failed(shown: Path, exc: OSError) -> SweepError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return SweepError(f"disk full while writing {shown}; the complete rows written so far are kept")
    return SweepError(f"{shown}: cannot write ({exc.strerror or exc})")


def columns(sweep: Sweep) -> list[str]:
    """Header of the results file of ``sweep``: the parameters, then the result fields (a result
    field named like a parameter, ``control`` or ``scenario``, is that parameter's column)."""
    return list(sweep.params) + [f for f in result_fields(sweep.params) if f not in sweep.params]


def format_cell(value, kind: str) -> str:
    """Text of one cell: numbers shortest round-trip, booleans true/false, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, int):
        return str(value)
    return neutralise(str(value))


def parse_cell(text: str, kind: str):
    """Inverse of :func:`format_cell` for a column of type ``kind``."""
    if kind == "str":
        return unneutralise(text)
    if text == "":
        return None
    if kind == "bool":
        return text == "true"
    if kind == "int":
        return int(text)
    return float(text)


def _record(values: Iterable[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(list(values))
    return buf.getvalue().encode("utf-8")


class ResultsFile:
    """Rows of one sweep in a CSV file, appended as they arrive.

    path : output file; protect : the command's inputs (never written over); resume : keep the
    complete rows a previous run of the same sweep left
    """

    def __init__(self, path: str | os.PathLike, sweep: Sweep, *, protect: Iterable = (), resume: bool = False):
        self.shown = Path(path)
        self.sweep = sweep
        self.columns = columns(sweep)
        self.kinds = [field_type(c) if c not in sweep.params else "str" for c in self.columns]
        self.protect = list(protect)
        self.resume = resume
        self.index = {v.hash: v.index for v in sweep.variants}
        self.rows: dict[str, dict] = {}  # hash -> row (typed)
        self.dropped_tail = False
        self._fd: int | None = None

    # ---------------------------------------------------------------- reading back

    def _read_existing(self, target: Path) -> list[dict] | None:
        """Rows of ``target`` if it is a results file; ``None`` if it does not exist."""
        try:
            text = target.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise SweepError(f"{self.shown}: cannot read the earlier results ({why})") from None
        if not text:
            return []
        complete = text.endswith("\n")
        records = list(csv.reader(io.StringIO(text, newline="")))
        if not records:
            return []
        header, body = records[0], records[1:]
        if header != self.columns:
            raise SweepError(f"{self.shown}: its columns are not this sweep's (found {', '.join(header[:6])}…, "
                             f"this sweep writes {', '.join(self.columns[:6])}…); choose another --out")
        rows = []
        for k, cells in enumerate(body):
            last = k == len(body) - 1
            if len(cells) != len(self.columns) or not _HASH.match(cells[-1]):
                if last:  # the unfinished record of an interrupted run
                    self.dropped_tail = True
                    break
                raise SweepError(f"{self.shown}, row {k + 2}: {len(cells)} fields, expected {len(self.columns)}; "
                                 f"the file is damaged, choose another --out")
            if last and not complete:
                self.dropped_tail = True
                break
            try:
                rows.append({c: parse_cell(v, t) for c, v, t in zip(self.columns, cells, self.kinds)})
            except ValueError as exc:
                raise SweepError(f"{self.shown}, row {k + 2}: {exc}; the file is damaged, choose another "
                                 f"--out") from None
        return rows

    # ---------------------------------------------------------------- writing

    def open(self) -> set[str]:
        """Check the target, keep earlier rows (resume) and write the header; the hashes done."""
        try:
            target = check_output_target(self.shown, protect=self.protect)
        except OutputError as exc:
            raise SweepError(str(exc)) from None
        self.target = target
        existing = self._read_existing(target)
        if existing:
            mine = [r for r in existing if r["variant_hash"] in self.index]
            foreign = len(existing) - len(mine)
            if not self.resume:
                if mine:
                    raise SweepError(f"{self.shown}: holds {len(mine)} result(s) of this sweep; add --resume to keep "
                                     f"them and run the rest, or choose another --out")
            elif foreign:
                raise SweepError(f"{self.shown}: {foreign} row(s) come from another plan or sweep definition (their "
                                 f"content hash is not one of this sweep's variants); choose another --out")
            else:
                for r in mine:
                    self.rows.setdefault(r["variant_hash"], r)
        self._rewrite(sorted(self.rows.values(), key=lambda r: self.index[r["variant_hash"]]))
        try:
            self._fd = os.open(target, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise _write_failed(self.shown, exc) from None
        return set(self.rows)

    def _rewrite(self, rows: list[dict]) -> None:
        try:
            with atomic_output(self.shown, protect=self.protect, binary=True) as fh:
                fh.write(_record(self.columns))
                for r in rows:
                    fh.write(self._encode(r))
        except OutputError as exc:
            raise SweepError(str(exc)) from None

    def _encode(self, row: dict) -> bytes:
        return _record(format_cell(row.get(c), t) for c, t in zip(self.columns, self.kinds))

    def append(self, row: dict) -> None:
        """Write one complete row and flush it to disk (a later crash keeps it)."""
        h = row["variant_hash"]
        if h in self.rows:  # a result that arrived twice (never expected): keep the first
            return
        data = self._encode(row)
        try:
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            os.fsync(self._fd)
        except OSError as exc:
            raise _write_failed(self.shown, exc) from None
        self.rows[h] = row

    def finish(self) -> None:
        """Rewrite the file in the variants' order (once every variant is done)."""
        self.close()
        self._rewrite(self.ordered())

    def ordered(self) -> list[dict]:
        return sorted(self.rows.values(), key=lambda r: self.index[r["variant_hash"]])

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
