"""The work behind File ▸ Save / Export / Import, run on a worker thread by ``ui.jobs``.

Each function takes plain data (a ``Plan`` snapshot, paths) and a ``CancelToken`` and
makes its result visible only after ``token.commit()``: the saved plan is renamed over
the old file, exported files are moved into the folder; before that, Cancel leaves the
disk as it was. Import returns a new plan and changes nothing on disk.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import threading
from pathlib import Path

from models import store
from models.store import PlanFileError
from planner.checks import FootprintIndex
from planner.csv_exchange import (DEVICES_CSV, RACK_PLAN_CSV, RACKS_CSV, CsvImportError, CsvProblem, export_csv,
                                  import_csv, unneutralise)
from planner.plan import Hall, Plan
from ui.document import on_floor, outside, unit_footprint
from ui.jobs import CancelToken, Cancelled


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_plan_file(path: Path, token: CancelToken) -> Plan:
    """Read a plan (``models.store.load_plan``); the caller drops it if cancelled meanwhile."""
    plan = store.load_plan(path)
    token.check()
    return plan


def save_plan_file(plan: Plan, path: Path, token: CancelToken) -> Path:
    """Write ``plan`` next to ``path`` and rename it over ``path`` unless cancelled first.

    ``models.store.save_plan`` writes a complete, synced file under a temporary name;
    the final ``os.replace`` is the commit point, so a cancelled (or failed) save leaves
    the previous file byte for byte.
    """
    path = Path(path)
    folder = path.resolve().parent
    if not folder.is_dir():
        raise PlanFileError(f"{path}: folder {folder} does not exist")
    tmp = folder / f".{path.name}.saving-{os.getpid()}-{threading.get_ident()}"
    try:
        try:
            store.save_plan(plan, tmp)
        except PlanFileError as e:
            raise PlanFileError(str(e).replace(str(tmp), str(path))) from None
        if not token.commit():
            raise Cancelled()
        os.replace(tmp, path)
        _fsync_dir(folder)
        return path
    finally:
        tmp.unlink(missing_ok=True)


def export_csv_files(plan: Plan, folder: Path, token: CancelToken) -> list[Path]:
    """``planner.csv_exchange.export_csv`` into a staging folder inside ``folder``, then move
    the files into place (after the commit point)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".dcplan-export-", dir=folder))
    try:
        written = export_csv(plan, staging)
        if not token.commit():
            raise Cancelled()
        out = []
        for p in written:
            dest = folder / Path(p).name
            os.replace(p, dest)
            out.append(dest)
        _fsync_dir(folder)
        return out
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def classify_csv(files) -> dict[str, str]:
    """``import_csv`` keyword per file, by file name (rack_plan / device / rack); ValueError otherwise."""
    kw = {}
    for f in files:
        name = Path(f).name.lower()
        if "rack_plan" in name:
            kw["rack_plan_path"] = str(f)
        elif "device" in name:
            kw["devices_path"] = str(f)
        elif "rack" in name:
            kw["racks_path"] = str(f)
        else:
            raise ValueError(f"{Path(f).name}: expected racks.csv, devices.csv or rack_plan.csv "
                             "(the file name says which).")
    return kw


def import_csv_files(plan: Plan, kw: dict, catalog_types, token: CancelToken):
    """``planner.csv_exchange.import_csv`` plus the editor's floor rule (:func:`placement_problems`)."""
    out = import_csv(plan, catalog_types=catalog_types, **kw)
    token.check()
    problems = placement_problems(plan, out.plan, kw)
    if problems:
        raise CsvImportError(problems)
    token.check()
    return out


def _rack_rows(kw: dict) -> dict[str, tuple[str, int, str]]:
    """Rack name -> (file, spreadsheet row, position column) from rack_plan.csv, else racks.csv."""
    found: dict[str, tuple[str, int, str]] = {}
    for key, column, where in (("racks_path", "name", ""), ("rack_plan_path", "rack", "x_m")):
        path = kw.get(key)
        if path is None:
            continue
        try:
            text = Path(path).read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue  # import_csv read it already; a race with an editor is not worth a message
        records = list(csv.reader(io.StringIO(text, newline="")))
        if not records:
            continue
        header = [h.strip().lower() for h in records[0]]
        if column not in header:
            continue
        i = header.index(column)
        for number, record in enumerate(records[1:], start=2):
            if i < len(record) and record[i].strip():
                found[unneutralise(record[i].strip())] = (Path(path).name, number, where)
    return found


def placement_problems(old: Plan, new: Plan, kw: dict) -> list[CsvProblem]:
    """Racks the import adds or moves that overlap another rack or a floor cooling unit of
    their hall, or leave its floor — the rule every edit in the editor obeys.

    Reported as ``file:row: column: message`` (rack_plan.csv row when the rack has one,
    else its racks.csv row).
    """
    before = {r.name: r for r in old.racks}
    moved = [r for r in new.racks if r.name not in before
             or (r.hall, r.footprint()) != (before[r.name].hall, before[r.name].footprint())]
    if not moved:
        return []
    halls = {h.name: h for h in new.halls}
    first = new.halls[0].name if new.halls else Hall().name
    index: dict[str, FootprintIndex] = {}
    for r in new.racks:
        index.setdefault(r.hall, FootprintIndex()).add(("rack", r.name), r.footprint())
    for u in new.cooling_units:
        if on_floor(u):
            index.setdefault(u.hall or first, FootprintIndex()).add(("unit", u.name), unit_footprint(u))
    rows = _rack_rows(kw)
    fallback = Path(kw.get("rack_plan_path") or kw.get("racks_path") or kw.get("devices_path") or RACKS_CSV).name
    problems: list[CsvProblem] = []
    reported: set[frozenset] = set()
    for r in moved:
        file, row, column = rows.get(r.name, (fallback, 0, ""))
        hall = halls.get(r.hall, Hall(r.hall))
        if outside(r.footprint(), hall):
            how = "" if column else " (placed automatically: no free spot inside)"
            problems.append(CsvProblem(file, row, column, f"rack {r.name!r} stands outside hall {hall.name!r} "
                                       f"({hall.width_m:g} m x {hall.depth_m:g} m){how}"))
        for kind, other in index[r.hall].query(r.footprint(), {("rack", r.name)}):
            pair = frozenset((r.name, other))
            if pair in reported:
                continue
            reported.add(pair)
            what = "cooling unit" if kind == "unit" else "rack"
            problems.append(CsvProblem(file, row, column, f"rack {r.name!r} overlaps {what} {other!r} "
                                       f"in hall {r.hall!r}"))
    rank = {RACKS_CSV: 0, RACK_PLAN_CSV: 1, DEVICES_CSV: 2}
    problems.sort(key=lambda p: (rank.get(p.file, 3), p.row))
    return problems
