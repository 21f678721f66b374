"""Reading a plan file's tables into a ``Plan`` — every cell checked before it is used.

A ``.dcplan`` file is an SQLite database anyone can edit, so a structurally sound file may still
hold a wrong type (``u_position = 'x'``), a NULL, an unknown choice (orientation ``'n'``), an
infinity, a time with a UTC offset, a dangling id or a number no hall or pump ever had
(``dead_time_s = 1e300``). Such a value used to travel into checks, exports and the solver and end
as an internal error there. Here each table is read with plain ``sqlite3`` (text as bytes, so a cell
that is not UTF-8 is named too), every column is checked by the rule in :data:`TABLES`, and the
first bad cell raises :class:`PlanDataError` naming table, row (the element's name where it has a
valid one, else its id) and column.

Before any row is read, :func:`check_structure` makes sure each table is a real table with the
columns dcplan needs: a VIEW in place of a table (a recursive one never ends) is refused at once.

Bounds are wide: they admit every value the editor, the CSV import and the catalog can produce, and
refuse only the impossible (a negative flow) and the absurd that would make later code allocate or
loop without end. Rules a plan may legitimately break while being edited (a feed on phase 2, a rack
over budget) are left to ``planner.checks``, which reports them.
"""
from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime
from typing import Callable

from planner.floor import FLOOR_COORD_MAX_M, RACK_SIDE_MAX_M, RACK_SIDE_MIN_M
from planner.plan import (
    MAX_DEMAND_CHARGE_USD_PER_KW,
    MAX_PRICE_USD_PER_KWH,
    QUANTITY_MAX,
    CONTAINMENTS,
    COOLING_TYPES,
    LOOP_MEDIA,
    ORIENTATIONS,
    RACK_STATUSES,
    UNIT_KINDS,
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


class PlanDataError(Exception):
    """A plan file's tables hold something dcplan cannot use; the message names table, row and column
    (``table rack, row 'A01', column orientation: 'n' is not one of N, E, S, W``)."""


def _cell_error(table: str, row: str, column: str, problem: str) -> PlanDataError:
    return PlanDataError(f"table {table}, row {row}, column {column}: {problem}")


class _Bad(Exception):
    """A checker's complaint about one cell (wrapped into :class:`PlanDataError` with its place)."""


Checker = Callable[[object], object]


def _shown(v) -> str:
    if isinstance(v, bytes):
        try:
            v = v.decode("utf-8")
        except UnicodeDecodeError:
            return f"bytes {v[:16].hex()}"
    text = repr(v) if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _decode(v) -> str:
    try:
        return v.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad(f"not UTF-8 text (byte 0x{v[exc.start]:02x} at {exc.start})") from None


def text(*, nullable: bool = False, nonempty: bool = False, max_chars: int = 100_000) -> Checker:
    def check(v):
        if v is None:
            if nullable:
                return None
            raise _Bad("empty (NULL)")
        if not isinstance(v, bytes):
            raise _Bad(f"{_shown(v)} is not text")
        s = _decode(v)
        if nonempty and not s:
            raise _Bad("empty")
        if len(s) > max_chars:
            raise _Bad(f"text of {len(s):,} characters (at most {max_chars:,})")
        return s
    return check


def name() -> Checker:
    """A non-empty text: the name or key that other rows refer to."""
    return text(nonempty=True)


def real(lo: float, hi: float, *, nullable: bool = False, lo_open: bool = False) -> Checker:
    def check(v):
        if v is None:
            if nullable:
                return None
            raise _Bad("empty (NULL)")
        if isinstance(v, bytes):
            raise _Bad(f"{_shown(v)} is not a number")
        x = float(v)
        if not math.isfinite(x):
            raise _Bad(f"{_shown(x)} is not a finite number")
        if x < lo or (lo_open and x == lo):
            raise _Bad(f"{x:g} is {'at or ' if lo_open else ''}below {lo:g}")
        if x > hi:
            raise _Bad(f"{x:g} is above {hi:g}")
        return x
    return check


def integer(lo: int, hi: int) -> Checker:
    def check(v):
        if v is None:
            raise _Bad("empty (NULL)")
        if not isinstance(v, int):
            raise _Bad(f"{_shown(v)} is not a whole number")
        if not lo <= v <= hi:
            raise _Bad(f"{v} is outside {lo}..{hi}")
        return v
    return check


def boolean() -> Checker:
    def check(v):
        if v in (0, 1) and isinstance(v, int):
            return bool(v)
        raise _Bad(f"{_shown(v)} is not true or false (1 or 0)")
    return check


def choice(values: tuple[str, ...] | Callable[[], tuple[str, ...]]) -> Checker:
    def check(v):
        s = text()(v)
        allowed = values() if callable(values) else values
        if s not in allowed:
            raise _Bad(f"{_shown(s)} is not one of {', '.join(allowed)}")
        return s
    return check


class ref:
    """An id of a row of ``table`` (checked once that table is read)."""

    def __init__(self, table: str, *, nullable: bool = False):
        self.table, self.nullable = table, nullable

    def __call__(self, v):
        if v is None:
            if self.nullable:
                return None
            raise _Bad("empty (NULL)")
        if not isinstance(v, int):
            raise _Bad(f"{_shown(v)} is not a row id")
        return v


def sources_json() -> Checker:
    def check(v):
        s = text(nullable=True)(v)
        if s is None or s == "":
            return {}
        try:
            d = json.loads(s)
        except ValueError:
            raise _Bad("not valid JSON") from None
        if not isinstance(d, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in d.items()):
            raise _Bad("JSON that is not an object of texts (field -> source)")
        return d
    return check


def _json_list(v) -> list | None:
    """The JSON list a text cell holds, or None when it holds anything else (or no JSON)."""
    try:
        value = json.loads(text()(v))
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def months_json() -> Checker:
    """A JSON list of distinct calendar months 1–12 (a tariff's demand-window months; [] = all)."""
    def check(v):
        months = _json_list(v)
        if months is None:
            raise _Bad("not a JSON list of months 1-12")
        for m in months:
            if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12:
                raise _Bad(f"month {_shown(m)} is not a whole number from 1 to 12")
        if len(set(months)) != len(months):
            raise _Bad("lists a month twice")
        return tuple(months)
    return check


def prices_json() -> Checker:
    def check(v):
        prices = _json_list(v)
        if prices is None or len(prices) != 24:
            raise _Bad("not a JSON list of 24 prices [$/kWh]")
        for i, p in enumerate(prices):
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p) \
                    or not 0 <= p <= MAX_PRICE_USD_PER_KWH:
                raise _Bad(f"price of hour {i}, {_shown(p)}, is not a number from 0 to {MAX_PRICE_USD_PER_KWH:g} $/kWh")
        return [float(p) for p in prices]
    return check


def local_time() -> Checker:
    def check(v):
        s = text()(v)
        try:
            t = datetime.fromisoformat(s)
        except ValueError:
            raise _Bad(f"{_shown(s)} is not a date and time (ISO 8601, e.g. 2025-07-01T00:00:00)") from None
        if t.tzinfo is not None:
            raise _Bad(f"{_shown(s)} has a UTC offset; a plan holds local wall-clock time at the site")
        return t
    return check


def time_zone() -> Checker:
    def check(v):
        s = text()(v)
        from planner.weather import parse_timezone  # the one time-zone parser

        try:
            parse_timezone(s)
        except ValueError as exc:
            raise _Bad(str(exc)) from None
        return s
    return check


def _control_modes() -> tuple[str, ...]:
    from planner.solver.model import CONTROL_MODES  # the one list of control modes

    return tuple(CONTROL_MODES)


# Bounds (SI; wide, see the module docstring). Temperatures [°C]; powers [W] for server types,
# [kW] elsewhere; times [s].
_KM = FLOOR_COORD_MAX_M
_BIG = QUANTITY_MAX  # counts and sizes no plan reaches (a billion kW, a billion m³/s)
_DAY, _YEAR = 86400.0, 366 * 86400.0
TEMP = (-100.0, 1000.0)
#: Longest pure delay a cooling unit may have [s]: valves and pumps respond in seconds to minutes;
#: an hour bounds the actuator delay buffer (planner.solver.limits checks it against the step too).
MAX_DEAD_TIME_S = 3600.0

#: table -> {column: checker}, in the order tables are read (references point backwards).
TABLES: dict[str, dict[str, Checker]] = {
    "site": {"name": text(), "latitude": real(-90, 90), "longitude": real(-180, 180), "timezone": time_zone(),
             "elevation_m": real(-1000, 10_000)},
    "hall": {"site_id": ref("site"), "name": name(), "width_m": real(0, _KM, lo_open=True),
             "depth_m": real(0, _KM, lo_open=True), "tile_m": real(0, 10, lo_open=True),
             "containment": choice(CONTAINMENTS)},
    "server_type": {"key": name(), "manufacturer": text(), "model": text(), "u_height": integer(1, 100),
                    "gpu_count": integer(0, 100_000), "gpu_model": text(), "gpu_tdp_w": real(0, 1e6),
                    "idle_power_w": real(0, 1e8), "max_power_w": real(0, 1e8), "liquid_fraction": real(0, 1),
                    "airflow_m3s": real(0, 1e3), "gpu_slowdown_c": real(*TEMP), "gpu_shutdown_c": real(*TEMP),
                    "gpu_design_temp_c": real(*TEMP), "thermal_time_constant_s": real(0, _DAY, lo_open=True),
                    "weight_kg": real(0, 1e6), "gpu_memory_gb": real(0, 1e9), "sources_json": sources_json()},
    "cooling_loop": {"name": name(), "medium": choice(LOOP_MEDIA),
                     "rejects_to_id": ref("cooling_loop", nullable=True)},
    "cooling_unit": {"name": name(), "kind": choice(UNIT_KINDS), "loop_id": ref("cooling_loop"),
                     "hall_id": ref("hall", nullable=True), "model": text(),
                     "rated_capacity_kw": real(0, _BIG), "rated_outdoor_c": real(*TEMP),
                     "supply_setpoint_c": real(*TEMP), "flow_m3s": real(0, 1e6), "loop_volume_m3": real(0, 1e6),
                     "time_constant_s": real(0, _DAY), "dead_time_s": real(0, MAX_DEAD_TIME_S),
                     "rated_power_kw": real(0, _BIG), "design_cop": real(0, 1000), "approach_k": real(0, 1000),
                     "x_m": real(-_KM, _KM, nullable=True), "y_m": real(-_KM, _KM, nullable=True)},
    "power_feed": {"name": name(), "panel": text(), "voltage": real(0, 1e6), "amperage": real(0, 1e6),
                   "phase": integer(0, 1000), "max_utilization": real(0, 10), "power_factor": real(0, 1),
                   "redundancy_group": text(), "side": text()},
    "rack": {"name": name(), "hall_id": ref("hall"), "row": text(), "x_m": real(-_KM, _KM),
             "y_m": real(-_KM, _KM), "orientation": choice(ORIENTATIONS),
             "width_m": real(RACK_SIDE_MIN_M, RACK_SIDE_MAX_M), "depth_m": real(RACK_SIDE_MIN_M, RACK_SIDE_MAX_M),
             "u_height": integer(0, 1000), "power_budget_kw": real(0, _BIG), "max_weight_kg": real(0, _BIG),
             "cooling_type": choice(COOLING_TYPES), "status": choice(RACK_STATUSES),
             "air_loop_id": ref("cooling_loop", nullable=True), "liquid_loop_id": ref("cooling_loop", nullable=True),
             "feed_a_id": ref("power_feed", nullable=True), "feed_b_id": ref("power_feed", nullable=True)},
    "server": {"name": name(), "rack_id": ref("rack"), "server_type_id": ref("server_type"),
               "u_position": integer(-10_000, 10_000), "face": choice(("front", "rear"))},
    "job": {"name": name(), "gpus": integer(0, 10_000_000), "utilization": real(0, 1),
            "duration_s": real(0, 100 * _YEAR), "release_s": real(0, 100 * _YEAR),
            "deadline_s": real(0, 100 * _YEAR, nullable=True), "preemptible": boolean(),
            "priority": integer(-1_000_000, 1_000_000), "kind": text(), "start_s": real(0, 100 * _YEAR, nullable=True)},
    "job_placement": {"job_id": ref("job"), "server_id": ref("server"), "gpus": integer(0, 10_000_000)},
    "scenario": {"name": name(), "start": local_time(), "horizon_s": real(0, 100 * _YEAR, lo_open=True),
                 "step_s": real(0, _DAY, lo_open=True), "weather_file": text(), "hourly_price_json": prices_json(),
                 "demand_charge_usd_per_kw": real(0, MAX_DEMAND_CHARGE_USD_PER_KW),
                 "demand_window_start_h": integer(0, 23), "demand_window_end_h": integer(1, 24),
                 "demand_window_weekdays_only": boolean(), "demand_window_months_json": months_json(),
                 "off_peak_demand_charge_usd_per_kw": real(0, MAX_DEMAND_CHARGE_USD_PER_KW),
                 "load": choice(("jobs", "full")), "control": choice(_control_modes)},
}

#: The column that names a row (the row label of an error), per table.
_LABEL = {"hall": "name", "server_type": "key", "cooling_loop": "name", "cooling_unit": "name",
          "power_feed": "name", "rack": "name", "server": "name", "job": "name", "scenario": "name"}


def check_structure(con: sqlite3.Connection) -> None:
    """Every table of :data:`TABLES` (and ``meta``) is a real table with the columns dcplan reads.

    Reads only the schema, so a VIEW in place of a table is refused before anything runs it.
    """
    kinds = {n: t for t, n in con.execute("SELECT type, name FROM sqlite_master")}
    for table, columns in (("meta", {"key": None, "value": None}), *TABLES.items()):
        kind = kinds.get(table)
        if kind is None:
            raise PlanDataError(f"has no table {table}")
        if kind != "table":
            raise PlanDataError(f"table {table} is a {kind}, not a table")
        have = {r[1] for r in con.execute(f'PRAGMA table_info("{table}")')}
        for column in ("id", *columns) if table != "meta" else columns:
            if column not in have:
                raise PlanDataError(f"table {table} has no column {column}")


def read_tables(con: sqlite3.Connection) -> dict[str, list[dict]]:
    """Every row of every table of :data:`TABLES`, checked and converted, by ``id``.

    Raises :class:`PlanDataError` for the first bad cell, dangling id or repeated name.
    """
    con.text_factory = bytes
    out: dict[str, list[dict]] = {}
    refs: list[tuple[str, str, str, ref, int]] = []  # checked once every table is read
    for table, columns in TABLES.items():
        cols = ", ".join(f'"{c}"' for c in ("id", *columns))
        rows = []
        seen: dict[str, int] = {}
        label_col = _LABEL.get(table)
        for raw in con.execute(f'SELECT {cols} FROM "{table}" ORDER BY id'):
            rid, cells = raw[0], dict(zip(columns, raw[1:]))
            label = f"id {rid}"
            if label_col is not None:
                try:
                    label = repr(name()(cells[label_col]))
                except _Bad:
                    pass
            row = {"id": rid}
            for column, check in columns.items():
                try:
                    value = check(cells[column])
                    if isinstance(check, ref) and value is not None:
                        refs.append((table, label, column, check, value))
                except _Bad as exc:
                    raise _cell_error(table, label, column, str(exc)) from None
                row[column] = value
            if label_col is not None:
                key = row[label_col]
                if key in seen:
                    raise _cell_error(table, label, label_col, f"two rows are named {key!r} (ids {seen[key]} and {rid})")
                seen[key] = rid
            rows.append(row)
        out[table] = rows
    ids = {table: {r["id"] for r in rows} for table, rows in out.items()}
    for table, label, column, check, value in refs:
        if value not in ids[check.table]:
            raise _cell_error(table, label, column, f"no {check.table.replace('_', ' ')} with id {value}")
    return out


def read_plan(con: sqlite3.Connection) -> Plan:
    """The plan held by ``con`` (a plan database of the current schema), every cell checked."""
    check_structure(con)
    t = read_tables(con)
    by_id = {table: {r["id"]: r for r in rows} for table, rows in t.items()}

    def named(table: str, rid, key: str = "name"):
        return None if rid is None else by_id[table][rid][key]

    site_row = t["site"][0] if t["site"] else None
    site = Site(**{k: site_row[k] for k in ("name", "latitude", "longitude", "timezone", "elevation_m")}) \
        if site_row else Site()
    plan = Plan(site=site)
    plan.halls = [Hall(h["name"], h["width_m"], h["depth_m"], h["tile_m"], h["containment"]) for h in t["hall"]]
    type_fields = [c for c in TABLES["server_type"] if c != "sources_json"]
    plan.server_types = [ServerType(**{k: r[k] for k in type_fields}, sources=r["sources_json"])
                         for r in t["server_type"]]
    plan.cooling_loops = [CoolingLoop(r["name"], r["medium"], named("cooling_loop", r["rejects_to_id"]))
                          for r in t["cooling_loop"]]
    unit_fields = [c for c in TABLES["cooling_unit"] if c not in ("loop_id", "hall_id")]
    plan.cooling_units = [CoolingUnit(**{k: r[k] for k in unit_fields}, loop=named("cooling_loop", r["loop_id"]),
                                      hall=named("hall", r["hall_id"])) for r in t["cooling_unit"]]
    plan.power_feeds = [PowerFeed(**{k: r[k] for k in TABLES["power_feed"]}) for r in t["power_feed"]]
    plan.racks = [
        Rack(name=r["name"], hall=named("hall", r["hall_id"]), row=r["row"], x_m=r["x_m"], y_m=r["y_m"],
             orientation=r["orientation"], width_m=r["width_m"], depth_m=r["depth_m"], u_height=r["u_height"],
             power_budget_kw=r["power_budget_kw"], max_weight_kg=r["max_weight_kg"],
             cooling_type=r["cooling_type"], status=r["status"],
             air_loop=named("cooling_loop", r["air_loop_id"]), liquid_loop=named("cooling_loop", r["liquid_loop_id"]),
             feed_a=named("power_feed", r["feed_a_id"]), feed_b=named("power_feed", r["feed_b_id"]))
        for r in t["rack"]]
    plan.servers = [Server(r["name"], named("rack", r["rack_id"]), named("server_type", r["server_type_id"], "key"),
                           r["u_position"], r["face"]) for r in t["server"]]
    placement: dict[int, list[tuple[str, int]]] = {}
    for r in t["job_placement"]:
        placement.setdefault(r["job_id"], []).append((named("server", r["server_id"]), r["gpus"]))
    plan.jobs = [Job(**{k: r[k] for k in TABLES["job"]}, placement=tuple(placement.get(r["id"], ())))
                 for r in t["job"]]
    plan.scenarios = []
    for r in t["scenario"]:
        tariff = Tariff(r["hourly_price_json"], r["demand_charge_usd_per_kw"],
                        demand_window_start_h=r["demand_window_start_h"], demand_window_end_h=r["demand_window_end_h"],
                        demand_window_weekdays_only=r["demand_window_weekdays_only"],
                        demand_window_months=r["demand_window_months_json"],
                        off_peak_demand_charge_usd_per_kw=r["off_peak_demand_charge_usd_per_kw"])
        problem = tariff.window_problem()  # the rule across columns (each column is checked above)
        if problem:
            raise _cell_error("scenario", repr(r["name"]), "demand_window_start_h", problem)
        plan.scenarios.append(Scenario(name=r["name"], start=r["start"], horizon_s=r["horizon_s"], step_s=r["step_s"],
                                       weather_file=r["weather_file"], tariff=tariff, load=r["load"],
                                       control=r["control"]))
    return plan
