"""The NetBox objects racks and devices need first, written as NetBox import files.

Before NetBox imports racks.csv and devices.csv, the site, the locations (halls), the rack
groups (rows), the device role, the manufacturers and the device types must exist; power panels
and feeds come after the racks. :func:`write_prerequisites` writes them all from the plan, with
``README.txt`` listing the import order (:data:`IMPORT_ORDER`).

Mapping
-------
* sites.csv: the plan's site; status ``active``; ``time_zone`` the IANA name; latitude and
  longitude rounded to 6 decimals (NetBox: DecimalField(8, 6)).
* locations.csv: one location per hall, status ``active``, with the hall size in the
  description.
* rack_groups.csv: one group per (hall, row) named ``"<hall> / <row>"``
  (:func:`planner.netbox.columns.rack_group_name`): rack groups are global in NetBox 4.6, so a
  bare row name would merge row A of every hall.
* device_roles.csv: the role dcplan gives every device (``GPU server``), not a VM role.
* manufacturers.csv, device_types.yaml: the manufacturers and types of the plan's server types
  (:mod:`planner.netbox.device_types`).
* power_panels.csv: one panel per distinct ``PowerFeed.panel``; feeds without a panel go to
  :data:`NO_PANEL` (NetBox requires one). A panel's location is the hall of the racks its feeds
  serve when that is one hall, else empty.
* power_feeds.csv: one row per feed. ``rack`` is the rack whose ``feed_a``/``feed_b`` names the
  feed; ``type`` = ``primary`` for a rack's A feed, ``redundant`` for its B feed (a feed no rack
  names: from ``PowerFeed.side``); ``supply`` = ``ac``; ``phase`` single-/three-phase; voltage
  [V] and amperage [A] whole numbers; ``max_utilization`` [%] whole. The description carries
  what NetBox has no field for: ``dcplan side A; redundancy group A01; power factor 0.95``
  (:mod:`planner.netbox.power` reads it back).

All slugs are valid and unique in NetBox's scope (:mod:`planner.netbox.slugs`). Values are written
as they are: NetBox reads cells verbatim, so nothing is formula-neutralised here (the plain
``export`` neutralises for spreadsheets; ``dcplan check`` warns about risky names).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Iterable

from planner.csv_cells import csv_line as _csv_line
from planner.csv_cells import format_number as _format_number
from planner.csv_exchange import DEVICES_CSV, RACKS_CSV
from planner.netbox.columns import DEVICE_ROLE
from planner.netbox import columns as nb
from planner.netbox.device_types import device_types_yaml
from planner.netbox.slugs import slugify, unique_slugs
from planner.outputs import write_output
from planner.plan import Plan, PowerFeed

#: Panel of feeds that name none (NetBox needs a panel for every feed).
NO_PANEL = "No panel (dcplan)"
DEVICE_ROLE_COLOR = "9e9e9e"  # NetBox's default role colour (ColorChoices.COLOR_GREY)
COORD_DECIMALS = 6  # NetBox Site.latitude/longitude: DecimalField(max_digits=8, decimal_places=6)

#: (file, NetBox menu path, what it creates) in the order NetBox must import them.
IMPORT_ORDER: tuple[tuple[str, str, str], ...] = (
    (nb.SITES_CSV, "Organization > Sites > Import", "the site"),
    (nb.LOCATIONS_CSV, "Organization > Locations > Import", "one location per hall"),
    (nb.RACK_GROUPS_CSV, "Racks > Rack Groups > Import", "one group per row, named '<hall> / <row>'"),
    (RACKS_CSV, "Racks > Racks > Import", "the racks"),
    (nb.DEVICE_ROLES_CSV, "Devices > Device Roles > Import", "the device role"),
    (nb.MANUFACTURERS_CSV, "Devices > Manufacturers > Import", "the manufacturers"),
    (nb.DEVICE_TYPES_YAML, "Devices > Device Types > Import (format YAML)", "one device type per document"),
    (DEVICES_CSV, "Devices > Devices > Import", "the servers, at their rack positions"),
    (nb.POWER_PANELS_CSV, "Power > Power Panels > Import", "the power panels"),
    (nb.POWER_FEEDS_CSV, "Power > Power Feeds > Import", "the A/B feeds of each rack"),
)


@dataclass
class PrerequisiteFiles:
    """What :func:`write_prerequisites` wrote.

    paths : the files, in import order (README.txt last)
    notes : values NetBox cannot hold as dcplan has them (rounded, or a feed on two racks)
    """

    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _raw(value) -> str:
    """One cell as NetBox reads it: numbers compact, text verbatim, ``None`` empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _format_number(value)
    return str(value)


def csv_text(columns: Iterable[str], rows: Iterable[dict]) -> str:
    """A NetBox import CSV: header of ``columns``, one line per row dict (missing keys empty)."""
    columns = tuple(columns)
    lines = [_csv_line(columns)]
    lines += [_csv_line(_raw(row.get(c)) for c in columns) for row in rows]
    return "".join(lines)


def feed_description(feed: PowerFeed) -> str:
    """What NetBox has no field for, in words :func:`planner.netbox.power.parse_feed_description` reads."""
    parts = [f"dcplan side {feed.side}"]
    if feed.redundancy_group:
        parts.append(f"redundancy group {feed.redundancy_group}")
    parts.append(f"power factor {_format_number(feed.power_factor)}")
    return "; ".join(parts)


def _whole(x: float, what: str, notes: list[str], lo: int, hi: int) -> int:
    """``x`` as NetBox's whole number in [lo, hi]; a note when that changes it."""
    n = min(hi, max(lo, round(x))) if math.isfinite(x) else lo
    if n != x:
        notes.append(f"{what}: {x:g} written as {n} (NetBox stores a whole number in {lo}..{hi})")
    return n


def prerequisite_tables(plan: Plan) -> tuple[dict[str, tuple[tuple[str, ...], list[dict]]], list[str]]:
    """``({file: (columns, rows)}, notes)`` of the CSV prerequisites (device types: YAML, apart)."""
    notes: list[str] = []
    site = plan.site
    site_row = {"name": site.name, "slug": slugify(site.name), "status": "active", "time_zone": site.timezone,
                "latitude": round(site.latitude, COORD_DECIMALS), "longitude": round(site.longitude, COORD_DECIMALS),
                "description": "dcplan plan site"}

    halls = list(dict.fromkeys([h.name for h in plan.halls] + [r.hall for r in plan.racks]))
    hall_by_name = {h.name: h for h in plan.halls}
    hall_slugs = unique_slugs(halls)
    locations = []
    for name in halls:
        h = hall_by_name.get(name)
        size = f"{_format_number(h.width_m)} x {_format_number(h.depth_m)} m " if h else ""
        locations.append({"site": site.name, "name": name, "slug": hall_slugs[name], "status": "active",
                          "description": f"dcplan hall {size}".strip()})

    groups = list(dict.fromkeys(nb.rack_group_name(r.hall, r.row) for r in sorted(plan.racks, key=lambda r: r.name)
                                if r.row))
    group_slugs = unique_slugs(groups)
    rack_groups = [{"name": g, "slug": group_slugs[g], "description": "dcplan row"} for g in groups]

    roles = [{"name": DEVICE_ROLE, "slug": slugify(DEVICE_ROLE), "color": DEVICE_ROLE_COLOR, "vm_role": False,
              "description": "dcplan: GPU servers and rack-scale systems"}]

    makers = list(dict.fromkeys(t.manufacturer for t in plan.server_types))
    maker_slugs = unique_slugs(makers)
    manufacturers = [{"name": m, "slug": maker_slugs[m]} for m in makers]

    # feeds: which rack names each one, in which slot
    users: dict[str, list[tuple[str, str, str]]] = {}  # feed -> [(rack, hall, "A"/"B")]
    rack_status = {}
    for r in sorted(plan.racks, key=lambda r: r.name):
        rack_status[r.name] = r.status
        for slot, name in (("A", r.feed_a), ("B", r.feed_b)):
            if name:
                users.setdefault(name, []).append((r.name, r.hall, slot))
    feeds = sorted(plan.power_feeds, key=lambda f: (f.panel or NO_PANEL, f.name))
    panel_halls: dict[str, set[str]] = {}
    for f in feeds:
        panel_halls.setdefault(f.panel or NO_PANEL, set()).update(u[1] for u in users.get(f.name, []))
    if any(not f.panel for f in feeds):
        notes.append(f"{sum(not f.panel for f in feeds)} feed(s) name no panel: written under panel {NO_PANEL!r}")
    panels = [{"site": site.name, "location": next(iter(hs)) if len(hs) == 1 else "", "name": p,
               "description": "dcplan power panel"} for p, hs in panel_halls.items()]

    feed_rows = []
    for f in feeds:
        used = users.get(f.name, [])
        if len(used) > 1:
            notes.append(f"feed {f.name!r} serves racks {', '.join(u[0] for u in used)}; a NetBox feed has one "
                         f"rack, so it is written with {used[0][0]!r}")
        rack, hall, slot = used[0] if used else ("", "", f.side)
        status = {"active": "active", "deprecated": "offline"}.get(rack_status.get(rack, "active"), "planned")
        feed_rows.append({
            "site": site.name, "power_panel": f.panel or NO_PANEL, "location": hall, "rack": rack, "name": f.name,
            "status": status, "type": "primary" if slot == "A" else "redundant", "supply": "ac",
            "phase": "three-phase" if f.phase == 3 else "single-phase",
            "voltage": _whole(f.voltage, f"feed {f.name!r} voltage [V]", notes, *nb.VOLTAGE_RANGE),
            "amperage": _whole(f.amperage, f"feed {f.name!r} amperage [A]", notes, *nb.AMPERAGE_RANGE),
            "max_utilization": _whole(f.max_utilization * 100.0, f"feed {f.name!r} max utilisation [%]", notes,
                                      *nb.MAX_UTILIZATION_RANGE),
            "description": feed_description(f),
        })
    tables = {
        nb.SITES_CSV: (nb.SITE_COLUMNS, [site_row]),
        nb.LOCATIONS_CSV: (nb.LOCATION_COLUMNS, locations),
        nb.RACK_GROUPS_CSV: (nb.RACK_GROUP_COLUMNS, rack_groups),
        nb.DEVICE_ROLES_CSV: (nb.DEVICE_ROLE_COLUMNS, roles),
        nb.MANUFACTURERS_CSV: (nb.MANUFACTURER_COLUMNS, manufacturers),
        nb.POWER_PANELS_CSV: (nb.POWER_PANEL_COLUMNS, panels),
        nb.POWER_FEEDS_CSV: (nb.POWER_FEED_COLUMNS, feed_rows),
    }
    return tables, notes


def readme_text(plan: Plan) -> str:
    """README.txt: the import order, one line per file, and how to import."""
    lines = [f"NetBox import files for site {plan.site.name!r}, written by dcplan.", "",
             "Import them into NetBox 4.6 in this order (each object must exist before the next file",
             "names it). CSV files: 'Import' page, format CSV, comma as delimiter, UTF-8.", ""]
    for i, (name, where, what) in enumerate(IMPORT_ORDER, start=1):
        lines.append(f"{i:2d}. {name:20s} {where}: {what}")
    lines += ["", "Names are written as they are (no spreadsheet formula escaping): open the CSV files in a",
              "spreadsheet only if you trust the plan's names; 'dcplan check' warns about names that begin",
              "with = + - @.", ""]
    return "\n".join(lines)


def prerequisite_files(plan: Plan) -> tuple[dict[str, str], list[str]]:
    """``({file name: text}, notes)``: the prerequisite files in import order, README.txt last."""
    tables, notes = prerequisite_tables(plan)
    files: dict[str, str] = {}
    for name, _, _ in IMPORT_ORDER:
        if name in tables:
            files[name] = csv_text(*tables[name])
        elif name == nb.DEVICE_TYPES_YAML:
            files[name] = device_types_yaml(plan.server_types)
        # racks.csv, devices.csv: planner.csv_exchange
    files[nb.README_TXT] = readme_text(plan)
    return files, notes


def write_prerequisites(plan: Plan, out_dir: str | PathLike, *, protect=()) -> PrerequisiteFiles:
    """Write the prerequisite files and README.txt into ``out_dir`` (created if needed).

    Each file goes through :func:`planner.outputs.write_output` (atomic; never over a plan or a
    ``protect`` path). racks.csv and devices.csv are not written here.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files, notes = prerequisite_files(plan)
    result = PrerequisiteFiles(notes=notes)
    for name, text in files.items():
        write_output(out / name, text, protect=protect)
        result.paths.append(out / name)
    return result
