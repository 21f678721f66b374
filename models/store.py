"""Open and save ``.dcplan`` files (one plan = one SQLite file).

* Opening never modifies the file: it is opened read-only (``mode=ro`` URI) and checked
  before anything is read: SQLite magic, dcplan application id, schema version, integrity.
* Saving is atomic: the whole plan is written to a temporary file in the same folder,
  flushed to disk, and renamed over the target (``os.replace``), so a crash or an error
  leaves either the old file or the new one, never a mix.
* Every connection runs ``PRAGMA foreign_keys=ON`` (SQLite ignores FKs otherwise).
"""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool, StaticPool
from sqlmodel import Session, SQLModel, create_engine

from models.migrations import migrated_copy
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
from planner.outputs import fsync_dir
from planner.plan import (
    CoolingLoop,
    CoolingUnit,
    Hall,
    Job,
    Plan,
    PowerFeed,
    Rack,
    Scenario,
    Server,
    ServerType,
    Site,
    Tariff,
)

SUFFIX = ".dcplan"
_SQLITE_MAGIC = b"SQLite format 3\x00"


class PlanFileError(Exception):
    """A plan file cannot be opened or saved; the message says which file and why."""


def _enable_foreign_keys(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(path: str | os.PathLike, *, readonly: bool = False) -> Engine:
    """An engine on one plan file with foreign keys enforced on every connection."""
    path = Path(path).resolve()
    if readonly:
        uri = path.as_uri() + "?mode=ro"
        engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=NullPool)
    else:
        engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    event.listen(engine, "connect", _enable_foreign_keys)
    return engine


# ---------------------------------------------------------------------------------- open


def _check_file(path: Path) -> int:
    """Refuse anything but a readable dcplan plan of a schema this dcplan reads; its schema version."""
    if not path.exists():
        raise PlanFileError(f"{path}: no such file")
    if path.is_dir():
        raise PlanFileError(f"{path}: is a folder, not a plan file")
    try:
        with path.open("rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read: {exc.strerror}") from None
    if not head.startswith(_SQLITE_MAGIC):
        raise PlanFileError(f"{path}: not a dcplan plan (not an SQLite database)")
    for suffix in ("-journal", "-wal"):
        side = path.with_name(path.name + suffix)
        if side.exists() and side.stat().st_size > 0:
            # opening read-only cannot roll the journal back or check a WAL in: say so plainly
            raise PlanFileError(f"{path}: another program left unfinished changes in {side.name}; open and "
                                f"close the file with that program (or sqlite3) first. The file was not changed.")
    try:
        con = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
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
            status = con.execute("PRAGMA quick_check").fetchone()[0]
            if status != "ok":
                raise PlanFileError(f"{path}: the plan file is damaged ({status})")
            return version
        finally:
            con.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # sqlite's damage report can hold raw bytes
        raise PlanFileError(f"{path}: the plan file is damaged or not a database ({exc})") from None


def load_plan(path: str | os.PathLike) -> Plan:
    """Read a plan file into a ``Plan``. Never writes to the file.

    Raises ``PlanFileError`` for a missing, non-SQLite, foreign, newer-schema or damaged file.
    """
    path = Path(path)
    version = _check_file(path)
    if version < SCHEMA_VERSION:  # an older plan: migrated in memory, the file stays as it is
        source = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            mem = migrated_copy(source, version, SCHEMA_VERSION)
        except sqlite3.DatabaseError as exc:
            raise PlanFileError(f"{path}: cannot read this schema-{version} plan ({exc})") from None
        finally:
            source.close()
        engine = create_engine("sqlite://", creator=lambda: mem, poolclass=StaticPool)
    else:
        engine = make_engine(path, readonly=True)
    try:
        with Session(engine) as s:
            return _read_plan(s)
    except Exception as exc:  # damage quick_check cannot see: bad text encoding, missing rows, bad values
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise PlanFileError(f"{path}: the plan file is damaged or incomplete "
                            f"({exc.__class__.__name__}: {first})") from None
    finally:
        engine.dispose()


def _rows(s: Session, table) -> list:
    return list(s.execute(select(table.__table__).order_by(table.__table__.c.id)).mappings())


def _read_plan(s: Session) -> Plan:
    sites = _rows(s, SiteRow)
    site = Site(**{k: sites[0][k] for k in ("name", "latitude", "longitude", "timezone", "elevation_m")}) \
        if sites else Site()
    halls = _rows(s, HallRow)
    hall_name = {h["id"]: h["name"] for h in halls}
    loops = _rows(s, CoolingLoopRow)
    loop_name = {r["id"]: r["name"] for r in loops}
    feeds = _rows(s, PowerFeedRow)
    feed_name = {r["id"]: r["name"] for r in feeds}
    types = _rows(s, ServerTypeRow)
    type_key = {r["id"]: r["key"] for r in types}
    racks = _rows(s, RackRow)
    rack_name = {r["id"]: r["name"] for r in racks}

    plan = Plan(site=site)
    plan.halls = [Hall(h["name"], h["width_m"], h["depth_m"], h["tile_m"], h["containment"]) for h in halls]
    plan.server_types = [
        ServerType(**{k: v for k, v in r.items() if k not in ("id", "sources_json")},
                   sources=json.loads(r["sources_json"] or "{}"))
        for r in types
    ]
    plan.cooling_loops = [CoolingLoop(r["name"], r["medium"], loop_name.get(r["rejects_to_id"])) for r in loops]
    plan.cooling_units = [
        CoolingUnit(**{k: v for k, v in r.items() if k not in ("id", "loop_id", "hall_id")},
                    loop=loop_name[r["loop_id"]], hall=hall_name.get(r["hall_id"]))
        for r in _rows(s, CoolingUnitRow)
    ]
    plan.power_feeds = [PowerFeed(**{k: v for k, v in r.items() if k != "id"}) for r in feeds]
    plan.racks = [
        Rack(name=r["name"], hall=hall_name[r["hall_id"]], row=r["row"], x_m=r["x_m"], y_m=r["y_m"],
             orientation=r["orientation"], width_m=r["width_m"], depth_m=r["depth_m"], u_height=r["u_height"],
             power_budget_kw=r["power_budget_kw"], max_weight_kg=r["max_weight_kg"],
             cooling_type=r["cooling_type"], status=r["status"],
             air_loop=loop_name.get(r["air_loop_id"]), liquid_loop=loop_name.get(r["liquid_loop_id"]),
             feed_a=feed_name.get(r["feed_a_id"]), feed_b=feed_name.get(r["feed_b_id"]))
        for r in racks
    ]
    servers = _rows(s, ServerRow)
    plan.servers = [
        Server(r["name"], rack_name[r["rack_id"]], type_key[r["server_type_id"]], r["u_position"], r["face"])
        for r in servers
    ]
    server_name = {r["id"]: r["name"] for r in servers}
    placement: dict[int, list[tuple[str, int]]] = {}
    for r in _rows(s, JobPlacementRow):
        placement.setdefault(r["job_id"], []).append((server_name[r["server_id"]], r["gpus"]))
    plan.jobs = [Job(**{k: (bool(v) if k == "preemptible" else v) for k, v in r.items() if k != "id"},
                     placement=tuple(placement.get(r["id"], ())))
                 for r in _rows(s, JobRow)]
    plan.scenarios = [
        Scenario(name=r["name"], start=datetime.fromisoformat(r["start"]), horizon_s=r["horizon_s"],
                 step_s=r["step_s"], weather_file=r["weather_file"],
                 tariff=Tariff(json.loads(r["hourly_price_json"]), r["demand_charge_usd_per_kw"]),
                 load=r["load"], control=r["control"])
        for r in _rows(s, ScenarioRow)
    ]
    return plan


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
                            load=sc.load, control=sc.control)
                       for i, sc in enumerate(plan.scenarios, start=1)]),
    ]
    return rows


class SaveCancelled(PlanFileError):
    """The caller cancelled a save before the new file replaced the old one."""


#: SQLite's side files: a leftover one belongs to the *old* file and must not meet the new one.
_SIDE_SUFFIXES = ("-journal", "-wal", "-shm")


def save_plan(plan: Plan, path: str | os.PathLike, *, cancel=None) -> None:
    """Write ``plan`` to ``path`` atomically (temporary file + rename).

    A symlinked ``path`` is followed (the link stays a link) and the old file's permission
    bits are kept. ``cancel()`` returning True before the rename stops the save with
    ``SaveCancelled`` and leaves the old file as it was.

    Raises ``PlanFileError`` for a plan with dangling references or duplicate names, a
    read-only target, or a folder that is not writable; the existing file is then untouched.
    """
    shown = Path(path)
    rows = _plan_rows(plan)  # validate before touching the disk
    target = Path(os.path.realpath(shown))
    folder = target.parent
    if not folder.is_dir():
        raise PlanFileError(f"{shown}: folder {folder} does not exist")
    if target.is_dir():
        raise PlanFileError(f"{shown}: is a folder, not a plan file")
    mode = None
    if target.exists():
        if not os.access(target, os.W_OK) or not (target.stat().st_mode & 0o222):
            raise PlanFileError(f"{shown}: the file is read-only; save under another name")
        mode = stat.S_IMODE(target.stat().st_mode)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
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
        raise PlanFileError(f"{shown}: saving failed, the previous file is unchanged ({exc})") from None
    finally:
        engine.dispose()
        if tmp.exists():
            tmp.unlink()


