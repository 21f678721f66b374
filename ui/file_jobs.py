"""The work behind File ▸ Save / Export / Import, run on a worker thread by ``ui.jobs``.

Each function takes plain data (a ``Plan`` snapshot, paths) and a ``CancelToken`` and
makes its result visible only after ``token.commit()``: the saved plan replaces the old
file, exported files are moved into the folder; before that, Cancel leaves the disk as it
was. Import returns a new plan and changes nothing on disk.

Saving has one code path, ``models.store.save_plan`` (atomic; a symlink stays a link, the
file keeps its mode, a read-only plan is refused); nothing here renames plan files.
"""
from __future__ import annotations

from pathlib import Path

from models import store
from planner.csv_exchange import export_csv, import_csv
from planner.plan import Plan
from ui.jobs import CancelToken, Cancelled


def load_plan_file(path: Path, token: CancelToken) -> Plan:
    """Read a plan (``models.store.load_plan``); the caller drops it if cancelled meanwhile."""
    plan = store.load_plan(path)
    token.check()
    return plan


def save_plan_file(plan: Plan, path: Path, token: CancelToken, expect: tuple | None = None) -> tuple | None:
    """``models.store.save_plan(plan, path, expect=...)``; its commit point (the rename over ``path``)
    is this job's: Cancel before it leaves the previous file byte for byte. ``expect``: the file's
    ``store.disk_stamp`` when the editor read it (``store.ChangedOnDisk`` if another program saved
    over it since). Returns the saved file's stamp."""
    try:
        return store.save_plan(plan, path, cancel=lambda: not token.commit(), expect=expect)
    except store.SaveCancelled:
        raise Cancelled() from None


def export_csv_files(plan: Plan, folder: Path, token: CancelToken) -> list[Path]:
    """``planner.csv_exchange.export_csv``: the files are staged, then (after the commit point)
    replace the old ones, ``manifest.json`` last; Cancel before that writes nothing."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = export_csv(plan, folder, cancel=lambda: not token.commit())
    if not written:
        raise Cancelled()
    return written


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


def import_csv_files(plan: Plan, kw: dict, catalog_types, token: CancelToken, allow_deletions: bool = False):
    """``planner.csv_exchange.import_csv``: the same rules as ``dcplan import``, the floor rule
    (``planner.floor``) and the export-set check included; ``DeletionsRefused`` asks the user."""
    out = import_csv(plan, catalog_types=catalog_types, allow_deletions=allow_deletions, **kw)
    token.check()
    return out
