"""The jobs CSV: the one reader (``dcplan schedule --jobs``, the bundled studies, the GUI's jobs table)
and its writer (the GUI's export), which writes what the reader reads back.

Columns (header row, names case-insensitive, any order):

=============  ========  ==========================================================================
name           required  unique job name
gpus           required  GPUs, an integer ≥ 1
utilization    optional  mean demanded utilisation 0–1 while running; empty = 1
duration_h     required  run time at full clock [h], > 0
release        required  earliest start, ISO 8601 in the site's local time (``2025-07-02T22:00``)
deadline       optional  latest end, ISO 8601 local; empty = end of the horizon
preemptible    optional  true/false, yes/no, 1/0; empty = false
priority       optional  integer; empty = 0
kind           optional  ``training`` (bursty curve), ``inference`` or ``batch``; empty = training
start          optional  a fixed start, ISO 8601 local (the scheduler keeps it and picks the loop)
=============  ========  ==========================================================================

Every problem of every row is collected, as ``file:row: column: what is wrong`` (row as a
spreadsheet shows it, header = 1), and :class:`JobsCsvError` lists them all; nothing is returned
for a file with any problem. Times become seconds from the scenario start on the site's wall
clock (daylight saving included).
"""
from __future__ import annotations

import csv
import io
import math
import os
from datetime import datetime, timedelta, timezone as dt_timezone

from planner.csv_exchange import CsvProblem
from planner.plan import Job
from planner.solver.ambient import check_timezone

REQUIRED = ("name", "gpus", "duration_h", "release")
#: Column order of :func:`jobs_csv_text` (the table above).
COLUMNS = ("name", "gpus", "utilization", "duration_h", "release", "deadline", "preemptible", "priority", "kind",
           "start")
OPTIONAL = ("utilization", "deadline", "preemptible", "priority", "kind", "start")
KINDS = ("training", "inference", "batch")
_TRUE, _FALSE = ("true", "yes", "1", "y"), ("false", "no", "0", "n", "")


class JobsCsvError(ValueError):
    """The jobs CSV was refused; ``problems`` lists every problem (``file:row: column: what``)."""

    def __init__(self, problems: list[CsvProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _seconds(text: str, start: datetime, tz) -> float:
    """Elapsed seconds from the naive local ``start`` to the naive local time ``text`` (ISO 8601)."""
    t = datetime.fromisoformat(text)
    a = start.replace(tzinfo=tz).astimezone(dt_timezone.utc)
    # a time with its UTC offset is that instant (also in the hour repeated when daylight saving ends)
    b = t.astimezone(dt_timezone.utc) if t.tzinfo is not None else t.replace(tzinfo=tz).astimezone(dt_timezone.utc)
    return (b - a).total_seconds()


def read_jobs_text(path: str | os.PathLike) -> str:
    """The text of the jobs CSV at ``path`` (UTF-8, an Excel BOM dropped); :class:`JobsCsvError`
    naming the file when it cannot be read."""
    shown = os.path.basename(str(path)) or str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return fh.read()
    except FileNotFoundError:
        raise JobsCsvError([CsvProblem(shown, 0, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise JobsCsvError([CsvProblem(shown, 0, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except OSError as exc:
        raise JobsCsvError([CsvProblem(shown, 0, "", f"cannot read: {exc.strerror or exc}")]) from None


def read_jobs_csv(path: str | os.PathLike, start: datetime, timezone: str = "UTC") -> list[Job]:
    """Jobs of the CSV at ``path``; times relative to the scenario ``start`` (naive, site local).

    Raises :class:`JobsCsvError` listing every problem, or ``OSError`` subclasses are turned into one
    problem naming the file.
    """
    return parse_jobs_csv(read_jobs_text(path), os.path.basename(str(path)) or str(path), start, timezone)


def parse_jobs_csv(text: str, shown: str, start: datetime, timezone: str = "UTC") -> list[Job]:
    """Jobs of a jobs CSV given as ``text`` (``shown`` names it in problems); see :func:`read_jobs_csv`.

    Sweeps ship the text to their workers, which parse it against each variant's start and site
    time zone (a weather variant moves the site).
    """
    problems: list[CsvProblem] = []
    tz = check_timezone(timezone)

    def bad(row, col, msg):
        problems.append(CsvProblem(file=shown, row=row, column=col, message=msg))

    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise JobsCsvError([CsvProblem(shown, 0, "", f"cannot read: {exc}")]) from None
    if not rows or not any(c.strip() for c in rows[0]):
        raise JobsCsvError([CsvProblem(shown, 1, "", "no header row (expected columns: "
                                       + ", ".join(REQUIRED + OPTIONAL) + ")")])
    header = [c.strip().lower() for c in rows[0]]
    for c in REQUIRED:
        if c not in header:
            bad(1, c, "required column is missing")
    for c in header:
        if c and c not in REQUIRED + OPTIONAL:
            bad(1, c, f"unknown column (columns: {', '.join(REQUIRED + OPTIONAL)})")
    dups = sorted({c for c in header if c and header.count(c) > 1})
    for c in dups:
        bad(1, c, "column appears twice")
    if problems:
        raise JobsCsvError(problems)
    col = {c: header.index(c) for c in header if c}
    jobs: list[Job] = []
    seen: dict[str, int] = {}
    for r, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) > len(header):
            bad(r, "", f"{len(cells)} cells, the header has {len(header)} columns")
            continue
        get = {c: (cells[i].strip() if i < len(cells) else "") for c, i in col.items()}
        n0 = len(problems)
        name = get["name"]
        if not name:
            bad(r, "name", "empty; every job needs a name")
        elif name in seen:
            bad(r, "name", f"{name!r} already on row {seen[name]}")
        else:
            seen[name] = r

        def number(c, *, integer=False, default=None, lo=None, hi=None, lo_open=False):
            text = get.get(c, "")
            if text == "":
                if default is None:
                    bad(r, c, "empty; a value is required")
                return default
            try:
                v = int(text) if integer else float(text)
            except ValueError:
                bad(r, c, f"{text!r} is not {'an integer' if integer else 'a number'}")
                return None
            if not math.isfinite(v):
                bad(r, c, f"{text!r} is not a finite number")
                return None
            if lo is not None and (v <= lo if lo_open else v < lo):
                bad(r, c, f"{text} must be {'>' if lo_open else '≥'} {lo:g}")
                return None
            if hi is not None and v > hi:
                bad(r, c, f"{text} must be ≤ {hi:g}")
                return None
            return v

        def when(c, required):
            text = get.get(c, "")
            if text == "":
                if required:
                    bad(r, c, "empty; give a local date and time like 2025-07-02T22:00")
                return None
            try:
                return _seconds(text, start, tz)
            except ValueError:
                bad(r, c, f"{text!r} is not an ISO 8601 date and time (like 2025-07-02T22:00)")
                return None

        gpus = number("gpus", integer=True, lo=1)
        util = number("utilization", default=1.0, lo=0.0, hi=1.0)
        dur_h = number("duration_h", lo=0.0, lo_open=True)
        prio = number("priority", integer=True, default=0)
        release = when("release", True)
        deadline = when("deadline", False)
        fixed = when("start", False)
        pre_text = get.get("preemptible", "").lower()
        if pre_text not in _TRUE + _FALSE:
            bad(r, "preemptible", f"{get['preemptible']!r} is not true/false (yes/no, 1/0)")
        kind = get.get("kind", "").lower() or "training"
        if kind not in KINDS:
            bad(r, "kind", f"{get['kind']!r} is not one of {', '.join(KINDS)}")
        if release is not None and deadline is not None and deadline <= release:
            bad(r, "deadline", "must be after release")
        if len(problems) > n0:
            continue
        jobs.append(Job(name=name, gpus=int(gpus), utilization=float(util), duration_s=float(dur_h) * 3600.0,
                        release_s=float(release), deadline_s=deadline, preemptible=pre_text in _TRUE,
                        priority=int(prio), kind=kind, start_s=fixed))
    if not jobs and not problems:
        bad(0, "", "no job rows")
    if problems:
        raise JobsCsvError(problems)
    return jobs


def _local_text(seconds: float | None, start: datetime, tz) -> str:
    """ISO 8601 local time ``seconds`` after the naive local ``start``; what :func:`_seconds` reads back.

    Whole minutes are written to the minute, else to the second. A wall time that occurs twice
    (the hour repeated when daylight saving ends) or not at all carries its UTC offset, so it reads
    back to the same instant.
    """
    if seconds is None:
        return ""
    utc = start.replace(tzinfo=tz).astimezone(dt_timezone.utc) + timedelta(seconds=round(float(seconds)))
    local = utc.astimezone(tz)
    naive = local.replace(tzinfo=None, fold=0)  # as the reader takes a wall time: the first occurrence
    spec = "minutes" if naive.second == 0 else "seconds"
    if naive.replace(tzinfo=tz).astimezone(dt_timezone.utc) != utc:
        return local.isoformat(timespec=spec)
    return naive.isoformat(timespec=spec)


def _number(x: float) -> str:
    """Shortest text that reads back to ``x`` (``repr``), without a trailing ``.0``."""
    t = repr(float(x))
    return t[:-2] if t.endswith(".0") else t


def jobs_csv_text(jobs, start: datetime, timezone: str = "UTC") -> str:
    """``jobs`` as jobs CSV text (columns :data:`COLUMNS`), times as local ISO 8601 from the naive local
    ``start`` in ``timezone``: :func:`read_jobs_csv` of it gives the same jobs (times to the second)."""
    tz = check_timezone(timezone)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for j in jobs:
        w.writerow([j.name, j.gpus, _number(j.utilization), _number(j.duration_s / 3600.0),
                    _local_text(j.release_s, start, tz), _local_text(j.deadline_s, start, tz),
                    "true" if j.preemptible else "false", j.priority, j.kind, _local_text(j.start_s, start, tz)])
    return out.getvalue()
