"""Jobs CSV in the scheduler issue's format — a stand-in until ``planner.schedule``'s reader is on main.

Columns ``name, gpus, utilization, duration_h, release, deadline, preemptible, priority`` and optional
``kind, start``; ``release``/``deadline``/``start`` are ISO 8601 local site times (converted to
seconds from the scenario start), ``utilization`` 0–1 (default 1), ``deadline`` empty = none.
Every bad row is reported as ``file:row: column: problem`` and nothing is imported. When the
scheduler's reader lands this module calls it instead (one reader per format).
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

from planner.plan import Job

REQUIRED = ("name", "gpus", "utilization", "duration_h", "release", "deadline", "preemptible", "priority")
OPTIONAL = ("kind", "start")
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n", ""}


class JobsCsvError(ValueError):
    """Bad jobs CSV: every problem, one per line, as ``file:row: column: problem``."""


def _time(text: str, start: datetime) -> float:
    return (datetime.fromisoformat(text.strip()) - start).total_seconds()


def read_jobs_csv(path, start: datetime) -> list[Job]:
    """Jobs of ``path``, times relative to the scenario ``start`` (naive local)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise JobsCsvError(f"{p.name}: cannot read: {e.strerror or e}") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    header = [h.strip() for h in (csv.reader(io.StringIO(text)).__next__() if text.strip() else [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise JobsCsvError(f"{p.name}:1: missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED)})")
    jobs, errors, seen = [], [], set()
    for i, raw in enumerate(rows, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}

        def bad(col, why):
            errors.append(f"{p.name}:{i}: {col}: {why}")

        name = row["name"]
        if not name:
            bad("name", "empty")
        elif name in seen:
            bad("name", f"duplicate job name {name!r}")
        seen.add(name)
        vals = {}
        for col, conv in (("gpus", int), ("duration_h", float), ("priority", int)):
            try:
                vals[col] = conv(row[col]) if row[col] else (0 if col == "priority" else None)
            except ValueError:
                bad(col, f"not a {'whole ' if conv is int else ''}number: {row[col]!r}")
        try:
            vals["utilization"] = float(row["utilization"]) if row["utilization"] else 1.0
            if not 0 < vals["utilization"] <= 1:
                bad("utilization", f"must be in (0, 1], got {row['utilization']}")
        except ValueError:
            bad("utilization", f"not a number: {row['utilization']!r}")
        for col in ("release", "deadline") + (("start",) if "start" in row else ()):
            try:
                vals[col] = _time(row[col], start) if row.get(col) else None
            except ValueError:
                bad(col, f"not an ISO 8601 time: {row[col]!r}")
        pre = row["preemptible"].lower()
        if pre not in TRUE | FALSE:
            bad("preemptible", f"expected true/false, got {row['preemptible']!r}")
        if vals.get("gpus") is not None and vals["gpus"] < 1:
            bad("gpus", "must be ≥ 1")
        if vals.get("duration_h") is not None and vals["duration_h"] <= 0:
            bad("duration_h", "must be > 0")
        if errors and errors[-1].startswith(f"{p.name}:{i}:"):
            continue
        rel = vals.get("release") or 0.0
        if rel < 0:
            bad("release", "before the scenario start")
            continue
        job = Job(name=name, gpus=vals["gpus"], utilization=vals["utilization"], duration_s=vals["duration_h"] * 3600.0,
                  release_s=rel, deadline_s=vals.get("deadline"), preemptible=pre in TRUE,
                  priority=vals.get("priority") or 0, kind=row.get("kind") or "training", start_s=vals.get("start"))
        if job.deadline_s is not None and job.deadline_s < job.release_s + job.duration_s:
            bad("deadline", "before release + duration")
            continue
        jobs.append(job)
    if errors:
        raise JobsCsvError("\n".join(errors))
    return jobs


def _num(x: float) -> str:
    """Shortest text that reads back to ``x`` (``repr``), without a trailing ``.0``."""
    t = repr(float(x))
    return t[:-2] if t.endswith(".0") else t


def jobs_csv_text(jobs, start: datetime) -> str:
    """The jobs as CSV text (same columns, times local ISO 8601 from ``start``)."""
    def iso(s):
        return "" if s is None else (start + timedelta(seconds=float(s))).isoformat(timespec="minutes")

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(REQUIRED + OPTIONAL)
    for j in jobs:
        w.writerow([j.name, j.gpus, _num(j.utilization), _num(j.duration_s / 3600), iso(j.release_s),
                    iso(j.deadline_s), "true" if j.preemptible else "false", j.priority, j.kind, iso(j.start_s)])
    return out.getvalue()
