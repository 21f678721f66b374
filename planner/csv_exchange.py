"""Rack-plan CSV exchange: NetBox bulk-import files plus dcplan's own rack plan.

Three files, UTF-8, ``,``-separated, ``\\n`` line endings:

* ``racks.csv`` -- NetBox ``RackImportForm`` columns, one row per rack.
* ``devices.csv`` -- NetBox ``DeviceImportForm`` columns, one row per server.
* ``rack_plan.csv`` -- dcplan's columns (:data:`RACK_PLAN_COLUMNS`): floor position,
  orientation, size, budgets, cooling loops and power feeds, so a plan survives a round trip.

NetBox columns and choices: :mod:`planner.netbox.columns` (with their source); typed cell
reading, writing and formula neutralising: :mod:`planner.csv_cells`. This module holds the
mapping of a plan to these files and the merge rules of an import.

Mapping
-------
racks.csv: site = ``plan.site.name``; location = hall; group = row (NetBox 4.6 rack group);
name; status; width = 19 (EIA-310 rail-to-rail width [in]); u_height [U];
desc_units = false (dcplan numbers U from the bottom); outer_width/outer_depth [mm, whole]
with outer_unit = mm; airflow = front-to-rear (the front faces the cold aisle);
max_weight [kg, whole; NetBox stores an integer] with weight_unit = kg. Values dcplan does
not know (tenant, role, rack_type, serial, the rack's own weight, ...) are left empty.

devices.csv: name; role = "GPU server"; manufacturer; device_type = ``ServerType.model``
(NetBox identifies a device type by model within its manufacturer); site; location =
the rack's hall; rack; position = lowest U; face; status = "active" in an active rack,
else "planned" (dcplan servers have no status of their own); airflow = front-to-rear, or
passive for a fully liquid-cooled type.

Formula injection
-----------------
A *text* cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading single
quote (OWASP "CSV Injection"); so does a text cell that already starts with a quote, so
the escaping is lossless. Numeric columns (:data:`NUMERIC_COLUMNS`) are written by dcplan
from floats and never escaped, so ``-1.5`` stays a number. Import strips one such quote
from any cell that starts with a quote followed by one of those characters.

Import
------
:func:`import_csv` never mutates its input; it returns a new plan. All problems in all
files are collected first, then :class:`CsvImportError` lists every one. Row numbers are
rows as a spreadsheet shows them (header = 1; a quoted multi-line cell stays one row).
Cells are stripped of surrounding whitespace (as NetBox does). Header names are matched
case-insensitively; unknown columns are ignored; column order is free; the columns of
:data:`REQUIRED_COLUMNS` must be present and their cells non-empty. Choice values are
matched case-insensitively. Numbers must be finite decimals (``1.5``, ``-2``, ``1e3``).
Import reads from racks.csv only what dcplan models (location, group, status, u_height,
outer size, max_weight, desc_units) and from devices.csv name, manufacturer, device_type,
rack, position, face (status is checked, not stored).

* Racks are created or updated by name: racks.csv first, then rack_plan.csv (whose exact
  values win). An optional column that is absent, or an empty optional numeric cell,
  keeps the current value (the dataclass default for a new rack).
* Servers are created or updated by name; plan servers the file does not list are kept
  (so a devices.csv of three new servers adds three servers). Exception: a rack listed
  in racks.csv or rack_plan.csv *imported together with* devices.csv is complete -- its
  plan servers that devices.csv does not list are removed (a NetBox export of racks and
  their devices, or dcplan's own export edited in a spreadsheet). Servers are full depth,
  so front and rear servers may not share a U.
* NetBox ``desc_units`` = true (units numbered from the top) in racks.csv converts that
  rack's device positions to dcplan's bottom-up U; export always writes false.
* ``device_type`` is matched against ``ServerType.key``, else ``ServerType.model``
  (within ``manufacturer`` when given), in ``plan.server_types`` then ``catalog_types``;
  a catalog type used is added to the plan.
* Halls, loops and feeds named but missing from the plan are created with defaults
  (air_loop -> medium "air", liquid_loop -> "liquid", feed_a/feed_b -> side A/B) and
  listed in ``notes``.
* racks.csv ``group`` ``"<hall> / <row>"`` (the NetBox rack group ``export --netbox`` writes) is
  the row of that hall; any other group is the row as written.
* racks.csv / devices.csv may be NetBox list exports (display labels): see
  :mod:`planner.netbox.list_export`; power_panels.csv / power_feeds.csv: :mod:`planner.netbox.power`.
* New racks that have no rack_plan.csv row are placed by :func:`planner.floor.place_new_racks`
  (rows with aisles, around racks and floor cooling units); a rack that finds no spot in its hall
  refuses the import.
* Every rack the import adds or moves obeys the editor's floor rule
  (:func:`planner.floor.placement_conflicts`): no overlap with a rack or a floor cooling unit of its
  hall, inside the hall's walls; otherwise the import is refused (all or nothing).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Sequence

from planner.floor import (
    FLOOR_COORD_MAX_M,
    PLACEMENT_MARGIN_M,
    RACK_SIDE_MAX_M,
    RACK_SIDE_MIN_M,
    moved_racks,
    place_new_racks,
    placement_conflicts,
)
from planner.csv_cells import (  # noqa: F401  (the errors and neutralising re-exported for callers)
    CsvImportError,
    CsvProblem,
    neutralise,
    unneutralise,
)
from planner.csv_cells import Cells as _Cells  # the merge code below uses the short private names
from planner.csv_cells import Problems as _Problems
from planner.csv_cells import Table as _Table
from planner.csv_cells import csv_line as _csv_line
from planner.csv_cells import format_number as _format_number
from planner.csv_cells import read_table as _read_table
from planner.export_set import check_export_set, write_export_set
from planner.netbox.columns import (
    DEVICE_FACES,
    DEVICE_ROLE,
    DEVICE_STATUSES,
    DIMENSION_UNITS,
    NETBOX_DEVICE_COLUMNS,
    NETBOX_RACK_COLUMNS,
    NETBOX_RACK_WIDTH_IN,
    RACK_STATUSES,
    RACK_U_HEIGHT_MAX,
    WEIGHT_UNITS,
    LB_KG as _LB_KG,
    OZ_KG as _OZ_KG,
    rack_group_name,
    row_from_group,
)
from planner.plan import (
    COOLING_TYPES,
    ORIENTATIONS,
    QUANTITY_MAX,
    CoolingLoop,
    Hall,
    Plan,
    PowerFeed,
    Rack,
    Server,
    ServerType,
    Site,
)

RACKS_CSV, DEVICES_CSV, RACK_PLAN_CSV = "racks.csv", "devices.csv", "rack_plan.csv"

#: dcplan's own rack columns. ``servers`` (count) and ``max_it_kw`` (sum of server max
#: power [kW]) are derived, written for people, and ignored on import.
RACK_PLAN_COLUMNS: tuple[str, ...] = (
    "rack", "hall", "row", "x_m", "y_m", "orientation", "width_m", "depth_m", "u_height",
    "power_budget_kw", "max_weight_kg", "cooling_type", "air_loop", "liquid_loop", "feed_a",
    "feed_b", "status", "servers", "max_it_kw",
)

#: Columns an imported file must have: NetBox's required import fields (plus what dcplan
#: needs to place a server: name, rack, position) and, for rack_plan.csv, the placement.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    RACKS_CSV: ("site", "name", "status"),
    DEVICES_CSV: ("name", "device_type", "site", "rack", "position", "status"),
    RACK_PLAN_CSV: ("rack", "hall", "x_m", "y_m", "orientation"),
}

#: Columns holding numbers written by dcplan: never formula-escaped on export.
NUMERIC_COLUMNS: dict[str, frozenset[str]] = {
    RACKS_CSV: frozenset({"width", "u_height", "outer_width", "outer_height", "outer_depth",
                          "mounting_depth", "weight", "max_weight"}),
    DEVICES_CSV: frozenset({"position", "latitude", "longitude", "vc_position", "vc_priority"}),
    RACK_PLAN_CSV: frozenset({"x_m", "y_m", "width_m", "depth_m", "u_height", "power_budget_kw",
                              "max_weight_kg", "servers", "max_it_kw"}),
}

@dataclass
class ImportOutcome:
    """Result of :func:`import_csv`.

    plan : Plan  The new plan (the input plan is untouched)
    updated_racks, updated_servers : int  Existing objects whose values changed
    removed_servers : int  Plan servers dropped from complete racks (see module docstring)
    notes : list[str]  What was created or assumed (loops, feeds, halls, types, placements)
    warnings : list[str]  What the user should know (files without a manifest, changed files let in)
    """

    plan: Plan
    created_racks: int = 0
    updated_racks: int = 0
    created_servers: int = 0
    removed_servers: int = 0
    notes: list[str] = field(default_factory=list)
    updated_servers: int = 0
    warnings: list[str] = field(default_factory=list)
    created_feeds: int = 0
    updated_feeds: int = 0


# --------------------------------------------------------------------------- export

def export_csv(plan: Plan, out_dir: str | PathLike, *, protect=(), cancel=None, netbox: bool = False,
               notes: list[str] | None = None) -> list[Path]:
    """Write racks.csv, devices.csv (NetBox headers) and rack_plan.csv into ``out_dir``, and
    ``manifest.json`` last (:func:`planner.export_set.write_export_set`: one set, never a mix).

    The folder is created if needed. Output is deterministic (racks by name, servers by
    rack, U, name). Returns the three paths in that order (``[]`` if ``cancel()`` said so before
    anything was written). Never writes over a plan or a ``protect`` path.

    netbox : also write NetBox's prerequisites (:mod:`planner.netbox.prerequisites`: site,
        locations, rack groups, role, manufacturers, device types, power panels and feeds,
        README.txt with the import order) in the same set; text cells are written as they are
        (NetBox reads cells verbatim, a leading ``'`` would stay in its names) and racks.csv's
        ``group`` is the rack group ``"<hall> / <row>"`` (rack groups are global in NetBox 4.6).
        The paths are returned in import order.
    notes : list that receives what NetBox cannot hold as the plan has it (``netbox`` only)
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    racks = sorted(plan.racks, key=lambda r: r.name)
    rack_map = {r.name: r for r in plan.racks}
    types = plan.server_type_map()

    rack_rows = []
    for r in racks:
        rack_rows.append({
            "site": plan.site.name, "location": r.hall, "group": rack_group_name(r.hall, r.row) if netbox else r.row,
            "name": r.name,
            "status": r.status, "width": NETBOX_RACK_WIDTH_IN, "u_height": r.u_height,
            "desc_units": "false",
            "outer_width": _whole_mm(r.width_m), "outer_depth": _whole_mm(r.depth_m),
            "outer_unit": "mm", "airflow": "front-to-rear",
            "max_weight": _whole(r.max_weight_kg), "weight_unit": "kg",
        })

    device_rows = []
    for s in sorted(plan.servers, key=lambda s: (s.rack, s.u_position, s.name)):
        t = types.get(s.server_type)
        rack = rack_map.get(s.rack)
        device_rows.append({
            "name": s.name, "role": DEVICE_ROLE,
            "manufacturer": t.manufacturer if t else "",
            "device_type": t.model if t else s.server_type,
            "status": "active" if rack is not None and rack.status == "active" else "planned",
            "site": plan.site.name, "location": rack.hall if rack else "", "rack": s.rack,
            "position": s.u_position, "face": s.face,
            "airflow": "" if t is None else ("passive" if t.cooling_type == "liquid" else "front-to-rear"),
        })

    by_rack = plan.servers_by_rack()
    plan_rows = []
    for r in racks:
        plan_rows.append({
            "rack": r.name, "hall": r.hall, "row": r.row, "x_m": r.x_m, "y_m": r.y_m,
            "orientation": r.orientation, "width_m": r.width_m, "depth_m": r.depth_m,
            "u_height": r.u_height, "power_budget_kw": r.power_budget_kw,
            "max_weight_kg": r.max_weight_kg, "cooling_type": r.cooling_type,
            "air_loop": r.air_loop, "liquid_loop": r.liquid_loop, "feed_a": r.feed_a,
            "feed_b": r.feed_b, "status": r.status, "servers": len(by_rack.get(r.name, [])),
            # fsum: the same value whatever order the servers are listed in
            "max_it_kw": math.fsum(types[s.server_type].max_power_w for s in by_rack.get(r.name, [])
                                   if s.server_type in types) / 1000.0,
        })

    files = {}
    for name, columns, rows in ((RACKS_CSV, NETBOX_RACK_COLUMNS, rack_rows),
                                (DEVICES_CSV, NETBOX_DEVICE_COLUMNS, device_rows),
                                (RACK_PLAN_CSV, RACK_PLAN_COLUMNS, plan_rows)):
        numeric = NUMERIC_COLUMNS[name]
        lines = [_csv_line(columns)]
        for row in rows:
            lines.append(_csv_line(_cell(row.get(c), c in numeric, raw=netbox) for c in columns))
        files[name] = "".join(lines).encode("utf-8")
    if netbox:
        from planner.netbox.prerequisites import IMPORT_ORDER, prerequisite_files  # imports this module

        extra, extra_notes = prerequisite_files(plan)
        if notes is not None:
            notes.extend(extra_notes)
        order = [n for n, _, _ in IMPORT_ORDER] + [RACK_PLAN_CSV]
        files = {n: files.get(n) or extra[n].encode("utf-8") for n in [*order, *extra] if n in files or n in extra}
    return write_export_set(out, files, protect=protect, cancel=cancel)


def _cell(value, numeric: bool, raw: bool = False) -> str:
    """Text of one cell: numbers compact and lossless, text formula-escaped (unless ``raw``)."""
    if value is None:
        return ""
    if numeric and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _format_number(value)
    return str(value) if raw else neutralise(str(value))


def _whole(x: float) -> int | None:
    """Nearest whole number (NetBox stores these as integers); ``None`` if not finite."""
    return round(x) if math.isfinite(x) else None


def _whole_mm(x_m: float) -> int | None:
    """Length [m] as whole millimetres; ``None`` (empty cell) below 1 mm or not finite."""
    mm = _whole(x_m * 1000.0)
    return mm if mm is not None and mm >= 1 else None


# --------------------------------------------------------------------------- import

@dataclass
class _RackIn:
    """Rack fields read from one row."""

    file: str
    row: int
    values: dict
    top_down: bool = False  # NetBox desc_units: units numbered from the top


@dataclass
class _ServerIn:
    server: Server
    row: int
    u_height: int


#: Largest share of the plan's servers an import may remove without ``allow_deletions`` [-]: a
#: devices.csv that misses more than a tenth of the servers of the racks it covers is more likely
#: a wrong or truncated file than a decommissioning.
MAX_REMOVED_SHARE = 0.10


class DeletionsRefused(CsvImportError):
    """The import's only problem: it would remove more than :data:`MAX_REMOVED_SHARE` of the plan's
    servers. ``removed``, ``servers``: how many, of how many."""

    def __init__(self, problems: list[CsvProblem], removed: int, servers: int):
        super().__init__(problems)
        self.removed, self.servers = removed, servers


def import_csv(plan: Plan, racks_path: str | PathLike | None = None,
               devices_path: str | PathLike | None = None,
               rack_plan_path: str | PathLike | None = None,
               catalog_types: Sequence[ServerType] = (), *, allow_deletions: bool = False,
               ignore_manifest: bool = False, power_panels_path: str | PathLike | None = None,
               power_feeds_path: str | PathLike | None = None) -> ImportOutcome:
    """Import NetBox racks/devices files and/or dcplan's rack_plan.csv into a copy of ``plan``.

    The files must form one export set (:func:`planner.export_set.check_export_set`: a mixed or
    interrupted export is refused; files without a manifest are warned about, in
    ``ImportOutcome.warnings``; ``ignore_manifest`` accepts files changed since their export).
    Removing more than :data:`MAX_REMOVED_SHARE` of the plan's servers needs ``allow_deletions``
    (else :class:`DeletionsRefused`).

    racks.csv and devices.csv may also be NetBox's own list exports (display labels such as
    ``Height`` / ``42U``): :mod:`planner.netbox.list_export` translates them, and the defaults
    they force are listed in ``ImportOutcome.warnings`` with counts. ``power_panels_path`` /
    ``power_feeds_path`` (NetBox import columns, :mod:`planner.netbox.power`) are applied after
    the racks, in the same all-or-nothing import.

    Raises :class:`CsvImportError` listing the problems in every file; nothing is
    imported then. See the module docstring for the rules.
    """
    from planner.netbox import list_export  # imports this module

    if racks_path is None and devices_path is None and rack_plan_path is None and power_feeds_path is None \
            and power_panels_path is None:
        raise ValueError("import_csv needs racks_path, devices_path, rack_plan_path or a power file")
    # problems are reported file by file, in the order the files are processed
    file_rank = {Path(f).name: i for i, f in enumerate((racks_path, rack_plan_path, devices_path)) if f is not None}
    problems = _Problems(file_rank)
    given = [p for p in (racks_path, rack_plan_path, devices_path, power_panels_path, power_feeds_path)
             if p is not None]
    set_check = check_export_set(given, ignore_changes=ignore_manifest)
    for file, message in set_check.problems:
        problems.append(CsvProblem(file, 0, "", message))
    warnings = list(set_check.warnings)
    tables = []
    starting_units: dict[str, int] = {}
    for path, kind in ((racks_path, RACKS_CSV), (rack_plan_path, RACK_PLAN_CSV), (devices_path, DEVICES_CSV)):
        t = _read_table(path, (), problems) if path is not None else None
        netbox_kind = {RACKS_CSV: list_export.RACKS, DEVICES_CSV: list_export.DEVICES}.get(kind)
        if t is not None and netbox_kind and list_export.is_list_export(netbox_kind, t):
            try:
                translated = list_export.translate(netbox_kind, t, problems, starting_units)
            finally:
                t.close()
            starting_units.update(translated.starting_units)
            warnings += translated.warnings
            t = translated.table
        elif t is not None:
            for c in REQUIRED_COLUMNS[kind]:
                if c not in t.columns:
                    problems.append(CsvProblem(t.file, 1, c, "missing required column"))
        tables.append(t)
    try:
        outcome = _import(plan, *tables, catalog_types, problems, allow_deletions)
    finally:
        for t in tables:
            if t is not None:
                t.close()
    if power_panels_path is not None or power_feeds_path is not None:
        from planner.netbox.power import import_power

        power = import_power(outcome.plan, power_panels_path, power_feeds_path)
        outcome.plan = power.plan
        outcome.created_feeds, outcome.updated_feeds = power.created_feeds, power.updated_feeds
        warnings += power.warnings
    outcome.warnings[:0] = warnings
    return outcome


def _import(plan: Plan, racks_t: _Table | None, plan_t: _Table | None, devices_t: _Table | None,
            catalog_types: Sequence[ServerType], problems: _Problems, allow_deletions: bool) -> ImportOutcome:
    new = copy.deepcopy(plan)
    notes: list[str] = []
    outcome = ImportOutcome(plan=new, notes=notes)

    sites: dict[str, str] = {}
    netbox_racks = _netbox_rack_rows(racks_t, problems, sites) if racks_t else {}
    plan_racks = _rack_plan_rows(plan_t, problems) if plan_t else {}
    to_place = _merge_racks(new, netbox_racks, plan_racks, outcome)
    _check_loops_and_feeds(new, plan_racks, problems, notes)
    imported: set[str] = set()
    if devices_t:
        complete = set(netbox_racks) | set(plan_racks)
        imported = _import_devices(new, devices_t, catalog_types, netbox_racks, plan_racks, complete,
                                   problems, outcome, sites)
    _check_kept_heights([s for s in new.servers if s.name not in imported], {r.name: r for r in new.racks},
                        new.server_type_map(), netbox_racks, plan_racks, problems)
    if problems:
        raise problems.error()
    removed, servers = outcome.removed_servers, len(plan.servers)
    if removed > MAX_REMOVED_SHARE * servers and not allow_deletions:  # counted on clean files only
        lists = " and ".join(t.file for t in (racks_t, plan_t) if t is not None)
        raise DeletionsRefused([CsvProblem(devices_t.file, 0, "", (
            f"would remove {removed:,} of {servers:,} servers ({100 * removed / servers:.0f} %): {lists} list their "
            f"racks but {devices_t.file} does not list them; removing more than {MAX_REMOVED_SHARE:.0%} of the "
            "servers needs --allow-deletions (in the editor: confirm)"))], removed, servers)

    if sites and not plan.racks and plan.site == Site():
        # a new plan takes its site name from the files, so an export of it matches theirs
        new.site.name = next(iter(sites.values()))
    for file, site in sites.items():
        if site != new.site.name:
            notes.append(f"{file} names site {site!r}; the plan's site {new.site.name!r} is kept")
    _place_on_floor(plan, new, to_place, netbox_racks, plan_racks, notes, problems)
    if problems:
        raise problems.error()
    if to_place:  # a default the files force: listed with its count (each placement is a note)
        outcome.warnings.append(f"{len(to_place)} new rack(s) have no rack_plan.csv row: dcplan chose their floor "
                                "positions (rows with aisles, in the notes); add rack_plan.csv to keep positions")
    return outcome


def _netbox_rack_rows(t: _Table, problems: _Problems, sites: dict[str, str]) -> dict[str, _RackIn]:
    """racks.csv rows -> rack field values, by rack name."""
    out: dict[str, _RackIn] = {}
    for number, cells in t.rows:
        c = _Cells(t, number, cells, problems)
        name = c.text("name", required=True)
        site = c.text("site", required=True)
        values: dict = {}
        status = c.choice("status", RACK_STATUSES, required=True)
        if status:
            values["status"] = status
        hall = c.text("location")
        if hall:
            values["hall"] = hall
        row = c.text("group")
        if row is not None:  # a rack group "<hall> / <row>" (dcplan's NetBox export) is the hall's row
            values["row"] = row_from_group(hall or "", row)
        u = c.number("u_height", integer=True, minimum=1, maximum=RACK_U_HEIGHT_MAX)
        if u is not None:
            values["u_height"] = u
        unit = c.choice("outer_unit", DIMENSION_UNITS)
        width = c.number("outer_width", minimum=0, exclusive=True)  # in outer_unit; checked in metres below
        depth = c.number("outer_depth", minimum=0, exclusive=True)
        if (width is not None or depth is not None) and not c.text("outer_unit"):
            c.problem("outer_unit", "required when outer_width or outer_depth is set")
        for key, column, size in (("width_m", "outer_width", width), ("depth_m", "outer_depth", depth)):
            if unit is not None and size is not None:
                metres = size / 1000.0 if unit == "mm" else size * 0.0254
                if metres > RACK_SIDE_MAX_M:
                    c.problem(column, f"{c.text(column)} {unit} is larger than any rack ({RACK_SIDE_MAX_M:g} m at most)")
                elif metres < RACK_SIDE_MIN_M:  # the converted value: 4.9e-324 mm passes "> 0", then is 0 m
                    c.problem(column, f"{c.text(column)} {unit} is less than 1 mm; no rack is that small")
                else:
                    values[key] = metres
        weight_unit = c.choice("weight_unit", WEIGHT_UNITS)
        max_weight = c.number("max_weight", minimum=0)
        if max_weight is not None and not c.text("weight_unit"):
            c.problem("weight_unit", "required when max_weight is set")
        if max_weight is not None and weight_unit is not None:
            kg = {"kg": max_weight, "g": max_weight / 1000.0, "lb": max_weight * _LB_KG,
                  "oz": max_weight * _OZ_KG}[weight_unit]
            if kg > QUANTITY_MAX:  # the converted value, as the plan holds it
                c.problem("max_weight", f"{c.text('max_weight')} {weight_unit} is more than {QUANTITY_MAX:g} kg")
            else:
                values["max_weight_kg"] = kg
        top_down = c.boolean("desc_units")
        if site:
            sites.setdefault(t.file, site)
        if name:
            if name in out:
                c.problem("name", f"duplicate rack name {name!r} (first on row {out[name].row})")
            else:
                out[name] = _RackIn(t.file, number, values, bool(top_down))
    return out


def _rack_plan_rows(t: _Table, problems: _Problems) -> dict[str, _RackIn]:
    """rack_plan.csv rows -> rack field values, by rack name."""
    out: dict[str, _RackIn] = {}
    for number, cells in t.rows:
        c = _Cells(t, number, cells, problems)
        name = c.text("rack", required=True)
        values: dict = {
            "hall": c.text("hall", required=True),
            "row": c.text("row"),
            "x_m": c.number("x_m", required=True, minimum=-FLOOR_COORD_MAX_M, maximum=FLOOR_COORD_MAX_M),
            "y_m": c.number("y_m", required=True, minimum=-FLOOR_COORD_MAX_M, maximum=FLOOR_COORD_MAX_M),
            "orientation": c.choice("orientation", ORIENTATIONS, required=True),
            "width_m": c.number("width_m", minimum=RACK_SIDE_MIN_M, maximum=RACK_SIDE_MAX_M),
            "depth_m": c.number("depth_m", minimum=RACK_SIDE_MIN_M, maximum=RACK_SIDE_MAX_M),
            "u_height": c.number("u_height", integer=True, minimum=1, maximum=RACK_U_HEIGHT_MAX),
            "power_budget_kw": c.number("power_budget_kw", minimum=0, maximum=QUANTITY_MAX),
            "max_weight_kg": c.number("max_weight_kg", minimum=0, maximum=QUANTITY_MAX),
            "cooling_type": c.choice("cooling_type", COOLING_TYPES),
            "status": c.choice("status", RACK_STATUSES),
        }
        values = {k: v for k, v in values.items() if v is not None}
        for ref in ("air_loop", "liquid_loop", "feed_a", "feed_b"):
            v = c.text(ref)
            if v is not None:  # column present: an empty cell means "none"
                values[ref] = v or None
        if name:
            if name in out:
                c.problem("rack", f"duplicate rack name {name!r} (first on row {out[name].row})")
            else:
                out[name] = _RackIn(t.file, number, values)
    return out


def _merge_racks(new: Plan, netbox: dict[str, _RackIn], own: dict[str, _RackIn],
                 outcome: ImportOutcome) -> list[Rack]:
    """Create/update racks in ``new``; returns the new racks that still need a position."""
    racks = {r.name: r for r in new.racks}
    default_hall = new.halls[0].name if new.halls else Rack("").hall
    to_place = []
    for name in list(dict.fromkeys([*netbox, *own])):
        rack = racks.get(name)
        is_new = rack is None
        if is_new:
            rack = Rack(name=name, hall=default_hall)
        before = copy.copy(rack)
        for source in (netbox.get(name), own.get(name)):
            if source is not None:
                for k, v in source.values.items():
                    setattr(rack, k, v)
        if is_new:
            new.racks.append(rack)
            racks[name] = rack
            outcome.created_racks += 1
            if name not in own:
                to_place.append(rack)
            if not any("u_height" in s.values for s in (netbox.get(name), own.get(name)) if s):
                outcome.notes.append(f"new rack {name!r} has no u_height; using {rack.u_height} U")
        elif rack != before:
            outcome.updated_racks += 1
    halls = {h.name for h in new.halls}
    placed = {id(r) for r in to_place}
    for name in dict.fromkeys([*netbox, *own]):
        hall = racks[name].hall
        if hall not in halls:
            halls.add(hall)
            h = _new_hall(hall, [r.footprint() for r in new.racks if r.hall == hall and id(r) not in placed])
            new.halls.append(h)
            default = Hall(name=hall)
            how = "default size" if (h.width_m, h.depth_m) == (default.width_m, default.depth_m) else \
                f"the {default.width_m:g} x {default.depth_m:g} m default enlarged to hold its racks"
            outcome.notes.append(f"created hall {hall!r} ({h.width_m:g} x {h.depth_m:g} m {how})")
    return to_place


def _new_hall(name: str, footprints: list[tuple[float, float, float, float]]) -> Hall:
    """A hall the import creates (CSV files carry no hall size): the ``Hall`` defaults, enlarged
    in whole tiles to hold the given rack footprints [m] plus the placement margin."""
    h = Hall(name=name)
    for attr, i in (("width_m", 2), ("depth_m", 3)):
        far = max((fp[i] for fp in footprints if math.isfinite(fp[i])), default=0.0) + PLACEMENT_MARGIN_M
        if far > getattr(h, attr):
            setattr(h, attr, round(math.ceil(round(far / h.tile_m, 6)) * h.tile_m, 6))
    return h


def _check_loops_and_feeds(new: Plan, own: dict[str, _RackIn], problems: _Problems,
                           notes: list[str]) -> None:
    """Create loops/feeds named in rack_plan.csv but missing; check loop media."""
    loops = {lp.name: lp for lp in new.cooling_loops}
    feeds = {f.name for f in new.power_feeds}
    for rack_in in own.values():
        for column, medium in (("air_loop", "air"), ("liquid_loop", "liquid")):
            name = rack_in.values.get(column)
            if not name:
                continue
            loop = loops.get(name)
            if loop is None:
                loop = loops[name] = CoolingLoop(name=name, medium=medium)
                new.cooling_loops.append(loop)
                notes.append(f"created {medium} cooling loop {name!r} (named in {rack_in.file})")
            elif loop.medium != medium:
                problems.append(CsvProblem(rack_in.file, rack_in.row, column,
                                           f"{name!r} is a {loop.medium} loop, not {medium}"))
        for column, side in (("feed_a", "A"), ("feed_b", "B")):
            name = rack_in.values.get(column)
            if name and name not in feeds:
                feeds.add(name)
                new.power_feeds.append(PowerFeed(name=name, side=side))
                notes.append(f"created power feed {name!r} on side {side} with default rating "
                             f"(named in {rack_in.file})")


def _resolve_type(device_type: str, manufacturer: str, pools: Sequence[Sequence[ServerType]]):
    """(type, pool index, problem text) for a NetBox device_type cell."""
    for i, pool in enumerate(pools):
        hits = [t for t in pool if t.key == device_type]
        if not hits:
            hits = [t for t in pool if t.model == device_type
                    and (not manufacturer or t.manufacturer.casefold() == manufacturer.casefold())]
        keys = sorted({t.key for t in hits})
        if len(keys) == 1:
            return hits[0], i, None
        if len(keys) > 1:
            return None, i, (f"ambiguous device type {device_type!r}: matches {', '.join(keys)}; "
                             "give the manufacturer or the type key")
    extra = f" from manufacturer {manufacturer!r}" if manufacturer else ""
    return None, -1, f"unknown device type {device_type!r}{extra}"


def _import_devices(new: Plan, t: _Table, catalog: Sequence[ServerType], netbox: dict[str, _RackIn],
                    own: dict[str, _RackIn], complete: set[str], problems: _Problems,
                    outcome: ImportOutcome, sites: dict[str, str]) -> set[str]:
    """devices.csv -> servers of ``new``, with rack, type, height and overlap checks.

    complete : set[str]  Racks whose plan servers not listed in the file are removed
    Returns the names of the servers the file set.
    """
    racks = {r.name: r for r in new.racks}
    old_servers = {s.name: s for s in new.servers}
    incoming: dict[str, _ServerIn] = {}
    top_down_racks: set[str] = set()
    for number, cells in t.rows:
        c = _Cells(t, number, cells, problems)
        name = c.text("name", required=True)
        rack_name = c.text("rack", required=True)
        device_type = c.text("device_type", required=True)
        site = c.text("site", required=True)
        c.choice("status", DEVICE_STATUSES, required=True)  # checked; dcplan servers have no status
        manufacturer = c.text("manufacturer") or ""
        position = c.number("position", required=True, integer=True, minimum=1)
        face = c.choice("face", DEVICE_FACES)
        if site:
            sites.setdefault(t.file, site)
        if name and name in incoming:
            c.problem("name", f"duplicate device name {name!r} (first on row {incoming[name].row})")
            continue
        if rack_name:
            if rack_name not in racks:
                c.problem("rack", f"unknown rack {rack_name!r}")
        stype = None
        if device_type:
            stype, pool, message = _resolve_type(device_type, manufacturer, (new.server_types, catalog))
            if message:
                c.problem("device_type", message)
            elif pool == 1 and any(x.key == stype.key for x in new.server_types):
                c.problem("device_type", f"catalog type {stype.key!r} clashes with a different plan "
                                         "server type of the same key")
            elif pool == 1:
                stype = copy.deepcopy(stype)
                new.server_types.append(stype)
                outcome.notes.append(f"added server type {stype.key!r} ({stype.manufacturer} "
                                     f"{stype.model}) from the catalog")
        if not (c.ok and name and rack_name and stype and position):
            continue
        rack = racks[rack_name]
        top = position + stype.u_height - 1
        if top > rack.u_height:
            c.problem("position", f"server occupies U {position}-{top}, above the top of rack "
                                  f"{rack_name!r} ({rack.u_height} U)")
            continue
        if rack_name in netbox and netbox[rack_name].top_down:
            # NetBox position = lowest-numbered unit; numbered from the top here.
            position = rack.u_height - top + 1
            top_down_racks.add(rack_name)
        old = old_servers.get(name)
        server = Server(name=name, rack=rack_name, server_type=stype.key, u_position=position,
                        face=face or (old.face if old else "front"))
        incoming[name] = _ServerIn(server, number, stype.u_height)

    for rack_name in sorted(top_down_racks):
        outcome.notes.append(f"rack {rack_name!r} numbers units from the top (desc_units); "
                             "positions converted to dcplan's bottom-up U")
    # Plan servers not listed are kept, except in complete racks.
    kept = [s for s in new.servers if s.name not in incoming and s.rack not in complete]
    removed = [s for s in new.servers if s.name not in incoming and s.rack in complete]
    types = new.server_type_map()
    _check_overlaps(incoming, kept, types, t.file, problems)

    old_by_name = {s.name: s for s in new.servers}
    outcome.removed_servers = len(removed)
    outcome.created_servers = sum(1 for n in incoming if n not in old_by_name)
    outcome.updated_servers = sum(1 for n, s in incoming.items()
                                  if n in old_by_name and old_by_name[n] != s.server)
    removed_names = {s.name for s in removed}
    new.servers = ([incoming[s.name].server if s.name in incoming else s
                    for s in new.servers if s.name not in removed_names]
                   + [s.server for n, s in incoming.items() if n not in old_by_name])
    return set(incoming)


def _check_kept_heights(kept: list[Server], racks: dict[str, Rack], types: dict[str, ServerType],
                        netbox: dict[str, _RackIn], own: dict[str, _RackIn],
                        problems: _Problems) -> None:
    """A kept server must still fit under a rack height changed by this import."""
    for s in kept:
        if s.rack not in racks:
            continue
        source = next((src for src in (own.get(s.rack), netbox.get(s.rack))
                       if src is not None and "u_height" in src.values), None)
        t = types.get(s.server_type)
        if source is None or t is None:
            continue
        top = s.u_position + t.u_height - 1
        height = racks[s.rack].u_height
        if top > height:
            problems.append(CsvProblem(source.file, source.row, "u_height",
                                       f"rack height {height} U leaves server {s.name!r} "
                                       f"(U {s.u_position}-{top}) above the top"))


def _check_overlaps(incoming: dict[str, _ServerIn], kept: list[Server], types: dict[str, ServerType],
                    file: str, problems: _Problems) -> None:
    """No two servers of one rack may share a U (servers are full depth: faces don't help).

    A row is reported against the servers already in the plan it overlaps, and against the first
    earlier row it overlaps. Each rack's units are an occupancy table (racks are at most
    ``RACK_U_HEIGHT_MAX`` units high), so a file of n devices costs O(n), however they pile up.
    """
    kept_at: dict[str, dict[int, tuple[int, int, str]]] = {}
    for s in kept:
        t = types.get(s.server_type)
        if t is not None:
            span = (s.u_position, s.u_position + t.u_height - 1, s.name)
            units = kept_at.setdefault(s.rack, {})
            for u in range(max(span[0], 0), min(span[1], 10 * RACK_U_HEIGHT_MAX) + 1):
                units.setdefault(u, span)
    first_at: dict[str, dict[int, _ServerIn]] = {}
    for a in sorted(incoming.values(), key=lambda a: a.row):
        lo, hi = a.server.u_position, a.server.u_position + a.u_height - 1
        units = range(lo, hi + 1)
        kept_units = kept_at.get(a.server.rack, {})
        for klo, khi, kname in dict.fromkeys(kept_units[u] for u in units if u in kept_units):
            problems.append(CsvProblem(file, a.row, "position",
                                       f"U {lo}-{hi} overlaps {kname!r} (U {klo}-{khi}) already in the plan"))
        taken = first_at.setdefault(a.server.rack, {})
        earlier = [taken[u] for u in units if u in taken]
        if earlier:
            b = min(earlier, key=lambda b: b.row)
            blo, bhi = b.server.u_position, b.server.u_position + b.u_height - 1
            problems.append(CsvProblem(file, a.row, "position",
                                       f"U {lo}-{hi} overlaps {b.server.name!r} (U {blo}-{bhi}) on row {b.row}"))
        for u in units:
            taken.setdefault(u, a)


def _place_on_floor(old: Plan, new: Plan, to_place: list[Rack], netbox: dict[str, _RackIn],
                    own: dict[str, _RackIn], notes: list[str], problems: _Problems) -> None:
    """Place the new racks that have no position (:func:`planner.floor.place_new_racks`) and apply
    the floor rule of every edit (:func:`planner.floor.placement_conflicts`) to each rack the import
    adds or moves. Problems name the row that set the rack's place: its rack_plan.csv row
    (column ``x_m``), else its racks.csv row (column ``location``)."""
    halls = {h.name: h for h in new.halls}
    unplaced = {id(r) for r in place_new_racks(new, to_place)}
    for rack in to_place:
        src = netbox[rack.name]
        if id(rack) in unplaced:
            h = halls[rack.hall]
            problems.append(CsvProblem(src.file, src.row, "location", (
                f"no free spot for rack {rack.name!r} ({rack.width_m:g} m x {rack.depth_m:g} m) in hall "
                f"{h.name!r} ({h.width_m:g} m x {h.depth_m:g} m) {PLACEMENT_MARGIN_M:g} m from the walls; "
                "give its position in rack_plan.csv or enlarge the hall")))
        else:
            notes.append(f"placed new rack {rack.name!r} at x={_format_number(rack.x_m)} m, "
                         f"y={_format_number(rack.y_m)} m in {rack.hall!r}, facing {rack.orientation}; "
                         "it has no rack_plan.csv row")
    if problems:
        return

    def source(rack: Rack) -> tuple[int, int, str, str]:
        """(file order, row, file, column) of the row that put ``rack`` where it is."""
        if rack.name in own:
            return 1, own[rack.name].row, own[rack.name].file, "x_m"
        src = netbox[rack.name]
        return 0, src.row, src.file, "location"

    # in file and row order, so an overlapping pair is reported on the later row
    moved = sorted(moved_racks(old, new), key=source)
    racks = {r.name: r for r in moved}
    for c in placement_conflicts(new, moved):
        _, row, file, column = source(racks[c.element[1]])
        problems.append(CsvProblem(file, row, column, c.message()))
