"""NetBox's own list exports ("All data" / "Current view") translated to import columns.

A NetBox list view's *Export* menu writes the table as the user sees it, not the import format:
headers are column labels (``Name, Site, Height, Type, Rack face``) and values are display
text (``42U``, ``600 mm``, ``1360 kg``, ``19 inches``, ``Active``, ``Front``, and ``None`` for
an empty role). Source: netbox-community/netbox v4.6.8 -- ``dcim/tables/racks.py`` (RackTable),
``dcim/tables/devices.py`` (DeviceTable), ``dcim/tables/template_code.py`` (OUTER_UNIT,
WEIGHT), ``netbox/tables/columns.py`` (ChoiceFieldColumn, TemplateColumn, ColoredLabelColumn),
``utilities/export.py`` and django-tables2 2.7 (``BoundRow.get_cell_value``: choice fields give
their display label, empty cells ``""``; ``TemplateColumn.value``: rendered, tags stripped,
stripped of whitespace -- HTML escapes such as ``&amp;`` stay).

"Current view" holds the user's visible columns (by default for racks: Name, Site, Location,
Group, Status, Facility ID, Tenant, Role, Type, Height, Devices, Space; for devices: Name,
Status, Tenant, Site, Location, Rack, Role, Manufacturer, Type, IP Address); "All data" every
column. So a devices "Current view" has no Position and no Rack face: it is refused with the
columns to add, never imported with invented positions.

Translation (:func:`translate`)
-------------------------------
racks: Name, Site, Location, Group, Status (label), Height (``42U``), Outer Width / Outer Depth
(``600 mm``, ``23.6 in``), Max Weight (``1360 kg``, ``3000 lbs``), Starting unit, Width
(``19 inches``, checked). devices: Name (HTML-unescaped), Status, Site, Location, Rack, Position
(``5``; NetBox's floatformat), Rack face (``Front``), Manufacturer, Type (the device type's
model), U Height; Parent Device must be empty (devices in device bays have no rack unit).

* Unreadable values of what matters -- rack height, device position, face, type, status,
  sizes and weights the file carries -- are problems naming the row and the column label.
  A column that matters and is missing (Height; Position, Rack face, Type) is a problem too.
* Defaults the file forces are warnings with counts: no Starting unit column (U1, NetBox's
  default), no outer size or max weight (the plan's value, or dcplan's default for a new rack),
  and always the unit numbering (NetBox's list export has no "descending units" column, so
  bottom-up, NetBox's default, is assumed).
* Positions are converted for racks whose starting unit is not 1:
  dcplan U = NetBox position - starting unit + 1.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from os import PathLike

from planner.csv_cells import CsvImportError, CsvProblem
from planner.csv_cells import Table as _Table
from planner.csv_cells import csv_line as _csv_line
from planner.csv_cells import read_table as _read_table
from planner.netbox import columns as nb

RACKS, DEVICES = "racks", "devices"

#: Label (lower case) -> what it is, per file kind. ``None``: known and not read by dcplan.
RACK_LABELS: dict[str, str | None] = {
    "name": "name", "site": "site", "location": "location", "group": "group", "status": "status",
    "height": "u_height", "starting unit": "starting_unit", "width": "width", "outer width": "outer_width",
    "outer depth": "outer_depth", "max weight": "max_weight",
    **dict.fromkeys(("id", "facility id", "tenant", "tenant group", "role", "type", "manufacturer", "serial number",
                     "asset tag", "form factor", "outer height", "mounting depth", "airflow", "weight", "comments",
                     "devices", "space", "power", "description", "contacts", "tags", "created", "last updated",
                     "owner", "owner group", "region", "site group")),
}
DEVICE_LABELS: dict[str, str | None] = {
    "name": "name", "status": "status", "site": "site", "location": "location", "rack": "rack",
    "position": "position", "rack face": "face", "manufacturer": "manufacturer", "type": "device_type",
    "u height": "u_height", "parent device": "parent_device", "position (device bay)": "device_bay",
    "role": "role", "airflow": "airflow",
    **dict.fromkeys(("id", "tenant", "tenant group", "serial number", "asset tag", "region", "site group",
                     "latitude", "longitude", "ip address", "ipv4 address", "ipv6 address", "oob ip", "cluster",
                     "virtual chassis", "vc position", "vc priority", "description", "config template",
                     "comments", "contacts", "tags", "created", "last updated", "platform", "console ports",
                     "console server ports", "power ports", "power outlets", "interfaces", "front ports",
                     "rear ports", "device bays", "module bays", "inventory items", "owner", "owner group")),
}
#: Labels only a list export has (an import file never does): they identify one.
_LIST_ONLY = {RACKS: {"height", "outer width", "outer depth", "max weight", "starting unit", "devices", "space"},
              DEVICES: {"rack face", "type", "u height", "ip address", "parent device"}}
_REQUIRED = {RACKS: ("name", "site", "status", "height"),
             DEVICES: ("name", "site", "status", "rack", "position", "rack face", "type")}
_HOW_TO = "add the column to the table view in NetBox (Configure Table), or export 'All data'"

_HEIGHT_RE = re.compile(r"(\d+)\s*U\Z", re.IGNORECASE)
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(mm|in)\Z")
_WEIGHT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(kg|g|lbs|lb|oz)\Z")
_WIDTH_RE = re.compile(r"(\d+)\s*inches\Z")
_DECIMAL_RE = re.compile(r"[+-]?\d+(?:\.\d+)?\Z")
UNNAMED_DEVICE = "Unnamed device"  # dcim/tables/template_code.py DEVICE_LINK, tags stripped


@dataclass
class Translated:
    """A list export in import columns.

    table : rows in dcplan's import columns (``racks.csv`` / ``devices.csv``); extra columns
        ``starting_unit`` (racks) and ``device_u_height`` (devices) for the importer's checks
    starting_units : rack -> NetBox starting unit (racks files)
    warnings : defaults the file forces, with counts
    """

    table: _Table
    starting_units: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def csv_text(self) -> str:
        """The translated rows as an import CSV (racks.csv / devices.csv columns)."""
        header = sorted(self.table.columns, key=self.table.columns.get)
        return "".join([_csv_line(header)] + [_csv_line(cells) for _, cells in self.table.rows])


def is_list_export(kind: str, table: _Table) -> bool:
    """True if ``table``'s header is a NetBox list export of ``kind`` (racks or devices)."""
    return bool(_LIST_ONLY[kind] & set(table.columns))


def translate(kind: str, table: _Table, problems: list[CsvProblem],
              starting_units: dict[str, int] | None = None) -> Translated:
    """Translate a list-export ``table`` of ``kind`` into import columns; problems appended.

    starting_units : rack -> starting unit, from the racks file of the same import (devices)
    """
    labels = RACK_LABELS if kind == RACKS else DEVICE_LABELS
    headers = table.columns  # lower-case label -> cell index
    file = table.file
    missing = [k for k in _REQUIRED[kind] if k not in headers]
    for k in missing:
        problems.append(CsvProblem(file, 1, k.title() if k != "rack face" else "Rack face",
                                   f"missing column; dcplan needs it ({_HOW_TO})"))
    unknown = sorted(k for k in headers if k not in labels)
    warnings: list[str] = []
    if unknown:
        warnings.append(f"{file}: columns dcplan does not read: {', '.join(unknown)}")
    if missing:
        return Translated(_Table(file, {}, []), warnings=warnings)
    if kind == RACKS:
        return _racks(table, headers, problems, warnings)
    return _devices(table, headers, problems, warnings, starting_units or {})


class _Row:
    """Cells of one row by label; problems name the row and the label."""

    def __init__(self, table: _Table, headers: dict[str, int], number: int, cells: list[str],
                 problems: list[CsvProblem]):
        self.table, self.headers, self.number, self.cells, self.problems = table, headers, number, cells, problems
        self.ok = True

    def get(self, label: str) -> str | None:
        i = self.headers.get(label)
        if i is None:
            return None
        return self.cells[i].strip() if i < len(self.cells) else ""

    def problem(self, label: str, message: str) -> None:
        column = {"rack face": "Rack face", "u height": "U Height", "max weight": "Max Weight",
                  "outer width": "Outer Width", "outer depth": "Outer Depth", "starting unit": "Starting unit",
                  "parent device": "Parent Device"}.get(label, label.title())
        self.problems.append(CsvProblem(self.table.file, self.number, column, message))
        self.ok = False

    def choice(self, label: str, choices: tuple[tuple[str, str], ...]) -> str | None:
        v = self.get(label)
        if v is None:
            return None
        for value, text in choices:
            if v.casefold() in (value.casefold(), text.casefold()):
                return value
        self.problem(label, f"cannot read {v!r}; expected one of {', '.join(t for _, t in choices)}"
                     if v else "empty; dcplan needs it")
        return None

    def required(self, label: str) -> str | None:
        v = self.get(label)
        if v == "":
            self.problem(label, "empty; dcplan needs it")
            return None
        return v


def _out_table(table: _Table, columns: tuple[str, ...], rows: list[tuple[int, dict]]) -> _Table:
    index = {c: i for i, c in enumerate(columns)}
    return _Table(table.file, index, [(n, [r.get(c, "") for c in columns]) for n, r in rows])


_RACK_OUT = ("site", "location", "group", "name", "status", "u_height", "desc_units", "outer_width", "outer_depth",
             "outer_unit", "max_weight", "weight_unit", "starting_unit")
_DEVICE_OUT = ("name", "manufacturer", "device_type", "status", "site", "location", "rack", "position", "face",
               "device_u_height")


def _racks(table: _Table, headers: dict[str, int], problems: list[CsvProblem], warnings: list[str]) -> Translated:
    rows: list[tuple[int, dict]] = []
    starts: dict[str, int] = {}
    no_size = no_weight = other_width = 0
    for number, cells in table.rows:
        r = _Row(table, headers, number, cells, problems)
        out = {"name": r.required("name") or "", "site": r.required("site") or "",
               "location": r.get("location") or "", "group": r.get("group") or "", "desc_units": "false"}
        out["status"] = r.choice("status", nb.RACK_STATUS_LABELS) or ""
        height = r.get("height")
        m = _HEIGHT_RE.match(height or "")
        if m and 1 <= int(m.group(1)):
            out["u_height"] = m.group(1)
        else:
            r.problem("height", f"cannot read rack height {height!r} (NetBox writes e.g. '42U')" if height
                      else "empty; dcplan needs the rack height")
        start = r.get("starting unit")
        if start is not None and start != "":
            if start.isdigit():
                out["starting_unit"] = start
            else:
                r.problem("starting unit", f"cannot read starting unit {start!r}")
        unit = None
        for label, key in (("outer width", "outer_width"), ("outer depth", "outer_depth")):
            v = r.get(label)
            if not v:
                continue
            m = _SIZE_RE.match(v)
            if not m:
                r.problem(label, f"cannot read {v!r} (NetBox writes e.g. '600 mm')")
            elif unit is not None and m.group(2) != unit:
                r.problem(label, f"unit {m.group(2)} differs from {unit} of the other outer size")
            else:
                unit = m.group(2)
                out[key] = m.group(1)
        if unit:
            out["outer_unit"] = unit
        if "outer_width" not in out or "outer_depth" not in out:
            no_size += 1
        weight = r.get("max weight")
        if weight:
            m = _WEIGHT_RE.match(weight)
            if m:
                out["max_weight"], out["weight_unit"] = m.group(1), {"lbs": "lb"}.get(m.group(2), m.group(2))
            else:
                r.problem("max weight", f"cannot read {weight!r} (NetBox writes e.g. '1360 kg')")
        else:
            no_weight += 1
        width = r.get("width")
        if width:
            m = _WIDTH_RE.match(width)
            if not m or int(m.group(1)) not in dict(nb.RACK_WIDTH_LABELS):
                r.problem("width", f"cannot read {width!r}; expected one of "
                                   f"{', '.join(t for _, t in nb.RACK_WIDTH_LABELS)}")
            elif int(m.group(1)) != 19:
                other_width += 1
        if r.ok:
            rows.append((number, out))
            if out.get("starting_unit") not in (None, "1"):
                starts[out["name"]] = int(out["starting_unit"])
    n = len(rows)
    file = table.file
    if n:
        warnings.append(f"{file}: {n} rack(s): unit numbering assumed bottom-up (NetBox's default; its list export "
                        "has no 'descending units' column)")
        if "starting unit" not in headers:
            warnings.append(f"{file}: {n} rack(s): no 'Starting unit' column; U1 assumed (NetBox's default)")
    if no_size:
        warnings.append(f"{file}: {no_size} rack(s) without outer width and depth: existing racks keep theirs, "
                        "new racks get dcplan's default footprint")
    if no_weight:
        warnings.append(f"{file}: {no_weight} rack(s) without max weight: existing racks keep theirs, new racks "
                        "get dcplan's default rating")
    if other_width:
        warnings.append(f"{file}: {other_width} rack(s) are not 19 inches wide; dcplan does not model rail width")
    return Translated(_out_table(table, _RACK_OUT, rows), starts, warnings)


def _devices(table: _Table, headers: dict[str, int], problems: list[CsvProblem], warnings: list[str],
             starts: dict[str, int]) -> Translated:
    rows: list[tuple[int, dict]] = []
    for number, cells in table.rows:
        r = _Row(table, headers, number, cells, problems)
        name = html.unescape(r.required("name") or "")  # a TemplateColumn: HTML escapes stay in the export
        if name == UNNAMED_DEVICE:
            r.problem("name", "the device has no name in NetBox; dcplan identifies servers by name")
        out = {"name": name, "site": r.required("site") or "", "location": r.get("location") or "",
               "rack": r.required("rack") or "", "manufacturer": r.get("manufacturer") or "",
               "device_type": r.required("type") or ""}
        out["status"] = r.choice("status", nb.DEVICE_STATUS_LABELS) or ""
        out["face"] = r.choice("rack face", nb.FACE_LABELS) or ""
        if r.get("parent device"):
            r.problem("parent device", f"installed in a device bay of {r.get('parent device')!r}; dcplan places "
                                       "devices in rack units only")
        pos = r.get("position")
        if not pos:
            r.problem("position", "empty; dcplan places every device at a rack unit")
        elif not _DECIMAL_RE.match(pos):
            r.problem("position", f"cannot read position {pos!r}")
        elif float(pos) % 1:
            r.problem("position", f"U {pos}: dcplan places devices at whole rack units")
        else:
            p = int(float(pos)) - starts.get(out["rack"], 1) + 1
            if p < 1:
                r.problem("position", f"U {pos} is below the rack's first unit")
            out["position"] = str(p)
        uh = r.get("u height")
        if uh:
            if _DECIMAL_RE.match(uh):
                out["device_u_height"] = uh
            else:
                r.problem("u height", f"cannot read {uh!r}")
        if r.ok:
            rows.append((number, out))
    return Translated(_out_table(table, _DEVICE_OUT, rows), {}, warnings)


def read_list_export(path: str | PathLike, kind: str, starting_units: dict[str, int] | None = None) -> Translated:
    """Read a NetBox list export of ``kind`` (``"racks"`` / ``"devices"``) and translate it.

    Raises :class:`~planner.csv_exchange.CsvImportError` listing every problem.
    """
    problems: list[CsvProblem] = []
    table = _read_table(path, (), problems)
    if table is None:
        raise CsvImportError(problems)
    if not is_list_export(kind, table):
        problems.append(CsvProblem(table.file, 1, "", f"not a NetBox list export of {kind} (no column such as "
                                   f"{', '.join(sorted(_LIST_ONLY[kind]))})"))
        raise CsvImportError(problems)
    result = translate(kind, table, problems, starting_units)
    if problems:
        raise CsvImportError(problems)
    return result
