"""What NetBox 4.6.8's list export writes for a plan's racks and devices (test fixtures).

Emulates ``ObjectListView.export_table`` for RackTable and DeviceTable after NetBox imported
dcplan's ``export --netbox`` files (so racks sit in rack groups ``"<hall> / <row>"``, have
width 19 inches, outer size in mm, max weight in kg, no role and no rack type; devices have the
role "GPU server"). Sources, netbox-community/netbox at v4.6.8:

* columns and labels: ``dcim/tables/racks.py`` RackTable, ``dcim/tables/devices.py``
  DeviceTable (``Meta.fields``, ``default_columns``, ``verbose_name``; columns without one use
  the model field's verbose name with a capital first letter, as django-tables2 does:
  ``facility ID`` -> ``Facility ID``, ``rack face`` -> ``Rack face``);
* "Current view" = the default columns; "All data" = those first, then the other columns
  (``BaseTable._set_columns``), ``pk`` and ``actions`` excluded (``export_table``);
* values (django-tables2 2.7 ``BoundRow.get_cell_value``): choice fields -> display label;
  empty -> ``""``; ``TemplateColumn`` -> rendered, tags stripped, whitespace stripped:
  ``{{ value }}U`` -> ``42U``, OUTER_UNIT -> ``600 mm``, WEIGHT -> ``1360 kg``, position
  ``{{ value|floatformat }}`` -> ``5``; ``ColoredLabelColumn.value`` = ``str(value)``, so an empty
  role is ``None``; ``UtilizationColumn.value`` = ``f'{value}%'``; counts as numbers; dates ISO;
* CSV: Python's csv.writer with its defaults (``\\r\\n`` line ends, minimal quoting).

The column order past the default columns follows ``Meta.fields``; the declared-only columns
(Manufacturer, Owner Group, Owner) go last. The reader matches headers by name, so order does
not matter to it.
"""
from __future__ import annotations

import csv
import html
import io

from planner.csv_exchange import DEVICE_ROLE
from planner.netbox.columns import rack_group_name
from planner.plan import Plan

CREATED = "2026-01-15T09:00:00.000000+00:00"
RACK_CURRENT = ("Name", "Site", "Location", "Group", "Status", "Facility ID", "Tenant", "Role", "Type", "Height",
                "Devices", "Space")
RACK_ALL = RACK_CURRENT + (
    "ID", "Tenant Group", "Serial number", "Asset tag", "Form factor", "Starting unit", "Width", "Outer Width",
    "Outer Height", "Outer Depth", "Mounting depth", "Airflow", "Weight", "Max Weight", "Comments", "Power",
    "Description", "Contacts", "Tags", "Created", "Last updated", "Manufacturer", "Owner Group", "Owner")
DEVICE_CURRENT = ("Name", "Status", "Tenant", "Site", "Location", "Rack", "Role", "Manufacturer", "Type",
                  "IP Address")
DEVICE_ALL = DEVICE_CURRENT + (
    "ID", "Tenant Group", "Serial number", "Asset tag", "Region", "Site Group", "Parent Device",
    "Position (Device Bay)", "Position", "Rack face", "Latitude", "Longitude", "Airflow", "IPv4 Address",
    "IPv6 Address", "OOB IP", "Cluster", "Virtual Chassis", "VC Position", "VC Priority", "Description",
    "Config Template", "Comments", "Contacts", "Tags", "Created", "Last updated", "U Height", "Platform",
    "Console ports", "Console server ports", "Power ports", "Power outlets", "Interfaces", "Front ports",
    "Rear ports", "Device bays", "Module bays", "Inventory items", "Owner Group", "Owner")


def _csv(header, rows) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    for row in rows:
        w.writerow([row.get(h, "") for h in header])
    return buf.getvalue()


def _floatformat(x: float) -> str:
    """Django's ``floatformat`` with no argument: one decimal, none when it is zero."""
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def rack_rows(plan: Plan) -> list[dict]:
    types = plan.server_type_map()
    by_rack = plan.servers_by_rack()
    rows = []
    for i, r in enumerate(sorted(plan.racks, key=lambda r: r.name), start=1):
        servers = by_rack.get(r.name, [])
        used = sum(types[s.server_type].u_height for s in servers if s.server_type in types)
        rows.append({
            "Name": r.name, "Site": plan.site.name, "Location": r.hall, "Group": rack_group_name(r.hall, r.row),
            "Status": r.status.capitalize(), "Role": "None", "Height": f"{r.u_height}U", "Devices": len(servers),
            "Space": f"{used / r.u_height * 100}%", "ID": i, "Starting unit": 1, "Width": "19 inches",
            "Outer Width": f"{round(r.width_m * 1000)} mm", "Outer Depth": f"{round(r.depth_m * 1000)} mm",
            "Airflow": "Front to rear", "Max Weight": f"{round(r.max_weight_kg)} kg", "Power": "0%",
            "Created": CREATED, "Last updated": CREATED})
    return rows


def device_rows(plan: Plan) -> list[dict]:
    types = plan.server_type_map()
    racks = plan.rack_map()
    rows = []
    servers = sorted(plan.servers, key=lambda s: (s.rack, s.u_position, s.name))
    for i, s in enumerate(servers, start=1):
        t = types[s.server_type]
        rack = racks[s.rack]
        rows.append({
            "Name": html.escape(s.name), "Status": "Active" if rack.status == "active" else "Planned",
            "Site": plan.site.name, "Location": rack.hall, "Rack": s.rack, "Role": DEVICE_ROLE,
            "Manufacturer": t.manufacturer, "Type": t.model, "ID": i, "Position": _floatformat(s.u_position),
            "Rack face": s.face.capitalize(), "Airflow": "Passive" if t.liquid_fraction >= 1 else "Front to rear",
            "Created": CREATED, "Last updated": CREATED, "U Height": _floatformat(t.u_height),
            "Console ports": 0, "Console server ports": 0, "Power ports": 1, "Power outlets": 0, "Interfaces": 0,
            "Front ports": 0, "Rear ports": 0, "Device bays": 0, "Module bays": 0, "Inventory items": 0})
    return rows


def racks_csv(plan: Plan, view: str = "all") -> str:
    """racks list export, ``view`` = ``"all"`` (All data) or ``"current"`` (default Current view)."""
    return _csv(RACK_ALL if view == "all" else RACK_CURRENT, rack_rows(plan))


def devices_csv(plan: Plan, view: str = "all") -> str:
    return _csv(DEVICE_ALL if view == "all" else DEVICE_CURRENT, device_rows(plan))
