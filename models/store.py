"""Open and save ``.dcplan`` files (one plan = one SQLite file).

* Opening never modifies the file and leaves nothing beside it: only a regular file is opened
  (a FIFO or a device is refused without blocking), read-only (``mode=ro`` URI; a WAL-mode file
  ``immutable``, so SQLite creates no ``-shm``/``-wal``), and checked before anything is read:
  SQLite magic, dcplan application id, schema version, integrity, real tables (not views) with
  their columns, and then every cell (``models.plan_reader``).
* Errors are one line naming the file (and table, row, column); SQLite's own text, which may
  span lines, is kept in ``PlanFileError.detail`` (the CLI shows it with ``--verbose``). A full
  disk is "disk full while writing FILE; the previous file is unchanged".
* Saving is atomic: the whole plan is written to a temporary file in the same folder,
  flushed to disk, and renamed over the target (``os.replace``), so a crash or an error
  leaves either the old file or the new one, never a mix.
* Every connection runs ``PRAGMA foreign_keys=ON`` (SQLite ignores FKs otherwise).
"""
from __future__ import annotations

import errno
import json
import os
import sqlite3
import stat
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel, create_engine

from models.migrations import migrated_copy
from models.plan_reader import PlanDataError, check_structure, read_plan, read_tables
from models.tables import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    CoolingLoopRow,
    CoolingUnitRow,
    HallRow,
    JobPlacementRow,
    JobRow,
    MetaRow,
    PowerFeedRow,
    RackRow,
    ScenarioRow,
    ServerRow,
    ServerTypeRow,
    SiteRow,
)
from planner.inputs import InputFileError, open_input
from planner.outputs import TEMP_PREFIX, TEMP_SUFFIX, LockedError, OutputError, fsync_dir, write_lock
from planner.plan import Plan

SUFFIX = ".dcplan"
_SQLITE_MAGIC = b"SQLite format 3\x00"


class PlanFileError(Exception):
    """A plan file cannot be opened or saved; the message (one line) says which file and why.

    detail : str  SQLite's or the system's own words, possibly several lines ("" when none)
    """

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


def _enable_foreign_keys(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(path: str | os.PathLike, *, readonly: bool = False) -> Engine:
    """An engine on one plan file with foreign keys enforced on every connection."""
    path = Path(path).resolve()
    if readonly:
        engine = create_engine("sqlite://", creator=lambda: connect_readonly(path), poolclass=NullPool)
    else:
        engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    event.listen(engine, "connect", _enable_foreign_keys)
    return engine


def _is_wal(head: bytes) -> bool:
    """SQLite header bytes 18-19 (file format write/read version) are 2 in WAL mode."""
    return len(head) >= 20 and head[18] == 2 and head[19] == 2


def connect_readonly(path: str | os.PathLike, *, wal: bool | None = None) -> sqlite3.Connection:
    """A read-only ``sqlite3`` connection that writes nothing beside the file.

    A WAL-mode file is opened ``immutable`` (with ``mode=ro`` alone SQLite would create ``-shm`` and
    ``-wal`` files, and fail as "damaged" in a read-only folder). That is safe here: a WAL file with
    unfinished content is refused before (:func:`_check_file`) and dcplan replaces plan files by
    rename, never in place.
    """
    path = Path(path).resolve()
    if wal is None:
        try:
            with open_input(path) as fh:
                wal = _is_wal(fh.read(100))
        except InputFileError:
            wal = False
    uri = path.as_uri() + "?mode=ro" + ("&immutable=1" if wal else "")
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


# ---------------------------------------------------------------------------------- open


def _check_file(path: Path) -> tuple[int, bool]:
    """Refuse anything but a readable dcplan plan of a schema this dcplan reads; its schema version
    and whether it is in WAL mode."""
    try:
        with open_input(path) as fh:  # a FIFO or a device never blocks or streams here
            head = fh.read(100)
    except InputFileError as exc:
        raise PlanFileError(f"{path}: {exc}") from None
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not head.startswith(_SQLITE_MAGIC):
        raise PlanFileError(f"{path}: not a dcplan plan (not an SQLite database)")
    for suffix in ("-journal", "-wal"):
        side = path.with_name(path.name + suffix)
        if side.exists() and side.stat().st_size > 0:
            # opening read-only cannot roll the journal back or check a WAL in: say so plainly
            raise PlanFileError(f"{path}: another program left unfinished changes in {side.name}; open and "
                                f"close the file with that program (or sqlite3) first. The file was not changed.")
    wal = _is_wal(head)
    try:
        con = connect_readonly(path, wal=wal)
        try:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if app_id != APPLICATION_ID:
                raise PlanFileError(f"{path}: an SQLite database, but not a dcplan plan")
            if version > SCHEMA_VERSION:
                raise PlanFileError(
                    f"{path}: written by a newer dcplan (plan schema {version}, this dcplan reads up to "
                    f"{SCHEMA_VERSION}); update dcplan to open it. The file was not changed.")
            if version < 1:
                raise PlanFileError(f"{path}: plan schema version {version} is not valid")
            report = [r[0] for r in con.execute("PRAGMA quick_check(20)")]
            if report != ["ok"]:
                raise PlanFileError(_damaged(path), "SQLite quick_check:\n" + "\n".join(map(str, report)))
            return version, wal
        finally:
            con.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # sqlite's damage report can hold raw bytes
        raise PlanFileError(_damaged(path), f"SQLite: {exc}") from None


def _damaged(path: Path) -> str:
    return f"{path}: the plan file is damaged (run with --verbose for SQLite's report); the file was not changed"


def load_plan(path: str | os.PathLike) -> Plan:
    """Read a plan file into a ``Plan``, every cell checked. Never writes to the file or beside it.

    Raises ``PlanFileError`` (one line) for a missing, non-regular, non-SQLite, foreign,
    newer-schema or damaged file, a view in place of a table, and a cell dcplan cannot use
    (naming table, row and column).
    """
    path = Path(path)
    version, wal = _check_file(path)
    source = None
    try:
        source = connect_readonly(path, wal=wal)
        if version < SCHEMA_VERSION:  # an older plan: migrated in memory, the file stays as it is
            try:
                con = migrated_copy(source, version, SCHEMA_VERSION)
            except sqlite3.DatabaseError as exc:
                raise PlanFileError(f"{path}: cannot read this schema-{version} plan ({_first_line(exc)})",
                                    str(exc)) from None
            source.close()
            source = con
        return read_plan(source)
    except PlanDataError as exc:
        raise PlanFileError(f"{path}: {exc}") from None
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # damage quick_check cannot see
        raise PlanFileError(_damaged(path), f"SQLite: {exc}") from None
    finally:
        if source is not None:
            source.close()


# ---------------------------------------------------------------------------------- save


def _ids(items, what: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, it in enumerate(items, start=1):
        key = getattr(it, "key", None) or it.name
        if key in out:
            raise PlanFileError(f"cannot save: two {what} are named '{key}'")
        out[key] = i
    return out


def _ref(ids: dict[str, int], name: str | None, owner: str, what: str, required: bool = False) -> int | None:
    if name is None or name == "":
        if required:
            raise PlanFileError(f"cannot save: {owner} has no {what}")
        return None
    try:
        return ids[name]
    except KeyError:
        raise PlanFileError(f"cannot save: {owner} refers to {what} '{name}', which is not in the plan") from None


def _plan_rows(plan: Plan) -> list[tuple[type, list[dict]]]:
    """Every table's rows with explicit ids, in foreign-key order."""
    hall_ids = _ids(plan.halls, "halls")
    loop_ids = _ids(plan.cooling_loops, "cooling loops")
    feed_ids = _ids(plan.power_feeds, "power feeds")
    type_ids = _ids(plan.server_types, "server types")
    rack_ids = _ids(plan.racks, "racks")
    server_ids = _ids(plan.servers, "servers")
    _ids(plan.cooling_units, "cooling units")
    job_ids = _ids(plan.jobs, "jobs")
    _ids(plan.scenarios, "scenarios")
    site = plan.site
    rows: list[tuple[type, list[dict]]] = [
        (SiteRow, [dict(id=1, name=site.name, latitude=site.latitude, longitude=site.longitude,
                        timezone=site.timezone, elevation_m=site.elevation_m)]),
        (HallRow, [dict(id=hall_ids[h.name], site_id=1, name=h.name, width_m=h.width_m, depth_m=h.depth_m,
                        tile_m=h.tile_m, containment=h.containment) for h in plan.halls]),
        (ServerTypeRow, [dict(id=type_ids[t.key], sources_json=json.dumps(t.sources, sort_keys=True),
                              **{k: v for k, v in vars(t).items() if k != "sources"}) for t in plan.server_types]),
        # loops first without parents, then parents set (a loop may reject to one defined later)
        (CoolingLoopRow, [dict(id=loop_ids[lp.name], name=lp.name, medium=lp.medium,
                               rejects_to_id=_ref(loop_ids, lp.rejects_to, f"loop '{lp.name}'", "loop"))
                          for lp in plan.cooling_loops]),
        (CoolingUnitRow, [dict(id=i, loop_id=_ref(loop_ids, u.loop, f"cooling unit '{u.name}'", "loop", True),
                               hall_id=_ref(hall_ids, u.hall, f"cooling unit '{u.name}'", "hall"),
                               **{k: v for k, v in vars(u).items() if k not in ("loop", "hall")})
                          for i, u in enumerate(plan.cooling_units, start=1)]),
        (PowerFeedRow, [dict(id=feed_ids[f.name], **vars(f)) for f in plan.power_feeds]),
        (RackRow, [dict(id=rack_ids[r.name], name=r.name,
                        hall_id=_ref(hall_ids, r.hall, f"rack '{r.name}'", "hall", True),
                        row=r.row, x_m=r.x_m, y_m=r.y_m, orientation=r.orientation, width_m=r.width_m,
                        depth_m=r.depth_m, u_height=r.u_height, power_budget_kw=r.power_budget_kw,
                        max_weight_kg=r.max_weight_kg, cooling_type=r.cooling_type, status=r.status,
                        air_loop_id=_ref(loop_ids, r.air_loop, f"rack '{r.name}'", "air loop"),
                        liquid_loop_id=_ref(loop_ids, r.liquid_loop, f"rack '{r.name}'", "liquid loop"),
                        feed_a_id=_ref(feed_ids, r.feed_a, f"rack '{r.name}'", "feed A"),
                        feed_b_id=_ref(feed_ids, r.feed_b, f"rack '{r.name}'", "feed B"))
                   for r in plan.racks]),
        (ServerRow, [dict(id=i, name=sv.name, rack_id=_ref(rack_ids, sv.rack, f"server '{sv.name}'", "rack", True),
                          server_type_id=_ref(type_ids, sv.server_type, f"server '{sv.name}'", "server type", True),
                          u_position=sv.u_position, face=sv.face)
                     for i, sv in enumerate(plan.servers, start=1)]),
        (JobRow, [dict(id=i, **{k: v for k, v in vars(j).items() if k != "placement"})
                  for i, j in enumerate(plan.jobs, start=1)]),
        (JobPlacementRow, [dict(job_id=job_ids[j.name],
                                server_id=_ref(server_ids, srv, f"job '{j.name}'", "server", True), gpus=g)
                           for j in plan.jobs for srv, g in j.placement]),
        (ScenarioRow, [dict(id=i, name=sc.name, start=sc.start.isoformat(), horizon_s=sc.horizon_s,
                            step_s=sc.step_s, weather_file=sc.weather_file,
                            hourly_price_json=json.dumps(list(sc.tariff.hourly_price_usd_per_kwh)),
                            demand_charge_usd_per_kw=sc.tariff.demand_charge_usd_per_kw,
                            demand_window_start_h=int(sc.tariff.demand_window_start_h),
                            demand_window_end_h=int(sc.tariff.demand_window_end_h),
                            demand_window_weekdays_only=bool(sc.tariff.demand_window_weekdays_only),
                            demand_window_months_json=json.dumps([int(m) for m in sc.tariff.demand_window_months]),
                            off_peak_demand_charge_usd_per_kw=sc.tariff.off_peak_demand_charge_usd_per_kw,
                            load=sc.load, control=sc.control)
                       for i, sc in enumerate(plan.scenarios, start=1)]),
    ]
    return rows


class SaveCancelled(PlanFileError):
    """The caller cancelled a save before the new file replaced the old one."""


#: SQLite's side files: a leftover one belongs to the *old* file and must not meet the new one.
_SIDE_SUFFIXES = ("-journal", "-wal", "-shm")


# ---------------------------------------------------------------------------------- lock


class PlanLockedError(PlanFileError):
    """Another process holds the plan's write lock."""


class ChangedOnDisk(PlanFileError):
    """``save_plan(..., expect=stamp)`` found the file changed since ``stamp`` was taken."""


@contextmanager
def plan_lock(path: str | os.PathLike):
    """Hold the write lock of the plan at ``path`` (existing or not) for a read-modify-write.

    Every dcplan writer takes it (``save_plan`` does: one save at a time), so a ``dcplan import``
    that loads, merges and saves cannot lose another writer's update. Another process holding it
    raises ``PlanLockedError`` at once (one clear line; nothing waits or hangs). Re-entrant within
    a process. Taking it removes the stale temporaries of crashed writers of this plan
    (``planner.outputs.write_lock``).
    """
    shown = Path(path)
    lock = write_lock(shown, busy=f"{shown}: is being changed by another program (a dcplan import or save); "
                                  "try again when it has finished. The file was not changed.")
    try:
        lock.__enter__()
    except LockedError as exc:
        raise PlanLockedError(str(exc)) from None
    except OutputError as exc:
        raise PlanFileError(str(exc)) from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def disk_stamp(path: str | os.PathLike) -> tuple | None:
    """Identity of the file at ``path`` now (device, inode, size, modification time [ns]); None if
    there is none. A save replaces the file (a new inode), so any save changes it."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def save_plan(plan: Plan, path: str | os.PathLike, *, cancel=None, expect=None) -> tuple | None:
    """Write ``plan`` to ``path`` atomically (temporary file + rename), holding the plan's lock.

    A symlinked ``path`` is followed (the link stays a link) and the old file's permission
    bits are kept. ``cancel()`` returning True before the rename stops the save with
    ``SaveCancelled`` and leaves the old file as it was. ``expect``: the :func:`disk_stamp` the file
    had when the plan was read; if the file changed since (another program saved over it), the save
    raises ``ChangedOnDisk`` instead (checked under the lock, so no other save slips in between).

    Returns the saved file's :func:`disk_stamp` (taken under the lock: the ``expect`` of the next
    save). Raises ``PlanFileError`` for a plan with dangling references or duplicate names, a
    read-only target, a folder that is not writable, or a plan locked by another process; the
    existing file is then untouched.
    """
    shown = Path(path)
    rows = _plan_rows(plan)  # validate before touching the disk
    target = Path(os.path.realpath(shown))
    folder = target.parent
    if not folder.is_dir():
        raise PlanFileError(f"{shown}: folder {folder} does not exist")
    if target.is_dir():
        raise PlanFileError(f"{shown}: is a folder, not a plan file")
    if target.exists() and (not os.access(target, os.W_OK) or not (target.stat().st_mode & 0o222)):
        raise PlanFileError(f"{shown}: the file is read-only; save under another name")
    with plan_lock(target):
        if expect is not None and disk_stamp(target) != expect:
            raise ChangedOnDisk(f"{shown}: changed on disk since it was opened (another program saved it)")
        _write_plan(rows, shown, target, cancel)
        return disk_stamp(target)


def _write_plan(rows, shown: Path, target: Path, cancel) -> None:
    folder = target.parent
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise PlanFileError(f"{shown}: cannot write in {folder}: {exc.strerror}") from None
    os.close(fd)
    os.unlink(tmp_name)  # SQLite creates it fresh
    tmp = Path(tmp_name)
    engine = make_engine(tmp)
    try:
        SQLModel.metadata.create_all(engine)
        with engine.begin() as con:
            con.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")
            con.exec_driver_sql(f"PRAGMA user_version={SCHEMA_VERSION}")
            con.execute(insert(MetaRow.__table__), [
                {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                {"key": "application", "value": "dcplan"},
                {"key": "saved_at", "value": datetime.now().astimezone().isoformat(timespec="seconds")},
            ])
            for table, data in rows:
                if data:
                    con.execute(insert(table.__table__), data)
        engine.dispose()
        _reads_back(tmp, shown)
        if mode is not None:
            os.chmod(tmp, mode)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        if cancel is not None and cancel():
            raise SaveCancelled(f"{shown}: save cancelled; the previous file is unchanged")
        os.replace(tmp, target)
        for suffix in _SIDE_SUFFIXES:  # stale journal/WAL of the replaced file would corrupt the new one
            side = target.with_name(target.name + suffix)
            if side.exists():
                side.unlink()
        fsync_dir(folder)
    except PlanFileError:
        raise
    except Exception as exc:
        raise _save_error(shown, exc) from None
    finally:
        engine.dispose()
        for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in _SIDE_SUFFIXES)):
            if leftover.exists():
                leftover.unlink()


def _reads_back(tmp: Path, shown: Path) -> None:
    """The written file passes the plan reader's checks (every table, every cell) before it replaces
    anything: no save leaves a plan that dcplan cannot open again (the fuzz campaign found an import
    that saved a 1e308 kW power budget the reader then refused). Costs about what a load's checks
    cost (0.4 s CPU for 3,000 racks and 9,768 servers)."""
    con = sqlite3.connect(f"file:{tmp}?mode=ro", uri=True)
    try:
        check_structure(con)
        read_tables(con)
    except PlanDataError as exc:
        raise PlanFileError(f"{shown}: not saved: the plan holds a value it could not be opened with again "
                            f"({exc}); the previous file is unchanged") from None
    finally:
        con.close()


#: SQLite's result code for "database or disk is full" (sqlite3.h).
_SQLITE_FULL = 13


def _save_error(shown: Path, exc: BaseException) -> PlanFileError:
    """One line for a failed save: a full disk says so; other causes keep SQLite's or the system's
    words (which can span lines and quote SQL) in ``detail``."""
    orig = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the sqlite3 error
    full = (isinstance(orig, OSError) and orig.errno in (errno.ENOSPC, errno.EDQUOT)) or \
        getattr(orig, "sqlite_errorcode", None) == _SQLITE_FULL or "database or disk is full" in str(orig)
    if full:
        return PlanFileError(f"disk full while writing {shown}; the previous file is unchanged", str(exc))
    why = orig.strerror if isinstance(orig, OSError) and orig.strerror else _first_line(orig)
    return PlanFileError(f"{shown}: saving failed ({why}); the previous file is unchanged", str(exc))


