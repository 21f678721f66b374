"""NetBox 4.6 import columns, choice values and list-export labels.

Source: netbox-community/netbox at tag v4.6.8 (Apache-2.0).

* Import columns: ``Meta.fields`` of the import forms in ``netbox/dcim/forms/bulk_import.py``
  (SiteImportForm, LocationImportForm, RackGroupImportForm, DeviceRoleImportForm,
  ManufacturerImportForm, PowerPanelImportForm, PowerFeedImportForm), in their order. A copy of
  the lists read from the tag is ``tests/data/netbox/import-fields-4.6.8.json``; the tests compare.
* Choice values and their display labels: ``netbox/dcim/choices.py`` (SiteStatusChoices,
  LocationStatusChoices, RackStatusChoices, DeviceStatusChoices, DeviceFaceChoices,
  RackWidthChoices, PowerFeedStatusChoices, PowerFeedTypeChoices, PowerFeedSupplyChoices,
  PowerFeedPhaseChoices, WeightUnitChoices, RackDimensionUnitChoices).
* Limits: ``netbox/dcim/models/power.py`` (voltage: SmallIntegerField, not 0; amperage:
  PositiveSmallIntegerField >= 1; max_utilization: 1..100 [%]).

Rack and device columns
-----------------------
``Meta.fields`` of ``RackImportForm`` and ``DeviceImportForm`` in
``netbox/dcim/forms/bulk_import.py`` of netbox-community/netbox, in their order. The
stored index held no copy of that file at a v4.6 commit, so the v4.6 lists were
established (before the v4.6.8 tag could be read; ``tests/data/netbox/import-fields-4.6.8.json``
confirms them) from two copies that bracket it plus the v4.6 release notes:

* a v4.5-era copy (has ``owner`` and ``outer_height``, no ``RackGroup``);
* a v4.7 copy (has ``RackGroup`` plus the v4.7 cooling models and fields);
* ``docs/release-notes/version-4.6.md`` at commit 3da4af35abf8 (v4.6.0-beta2): the only
  Rack/Device import change in v4.6 is the new optional ``Rack.group`` (RackGroup, "by row
  or aisle"). The v4.7 notes (#22447) add ``cooling_capability``/``cooling_capacity`` to
  racks and ``cooling_method`` to devices (version-4.7.md at commit 002e8de1be7d, v4.7.1).

So v4.6 = v4.7 minus the three v4.7 cooling fields = v4.5 plus ``group`` after
``location`` (the position it has in v4.7). Choice values come from ``dcim/choices.py``
(RackStatusChoices, DeviceStatusChoices, DeviceFaceChoices, RackAirflowChoices,
DeviceAirflowChoices, RackDimensionUnitChoices, WeightUnitChoices) and
``RACK_U_HEIGHT_MAX = 100`` from ``dcim/constants.py``.

Uniqueness NetBox enforces (``Meta.constraints`` of the models): site name and slug; location
name and slug per site; rack group name and slug, *globally* (a rack group has no site in 4.6);
device role, manufacturer: name and slug; device type: model and slug per manufacturer; power
panel name per site; power feed name per power panel; rack name per location.
"""
from __future__ import annotations

#: NetBox 4.6 ``RackImportForm.Meta.fields`` (source: "Rack and device columns" above).
NETBOX_RACK_COLUMNS: tuple[str, ...] = (
    "site", "location", "group", "name", "facility_id", "tenant", "status", "role", "rack_type",
    "form_factor", "serial", "asset_tag", "width", "u_height", "desc_units", "outer_width",
    "outer_height", "outer_depth", "outer_unit", "mounting_depth", "airflow", "weight",
    "max_weight", "weight_unit", "description", "owner", "comments", "tags",
)

#: NetBox 4.6 ``DeviceImportForm.Meta.fields`` (source: "Rack and device columns" above).
NETBOX_DEVICE_COLUMNS: tuple[str, ...] = (
    "name", "role", "tenant", "manufacturer", "device_type", "platform", "serial", "asset_tag",
    "status", "site", "location", "rack", "position", "face", "latitude", "longitude", "parent",
    "device_bay", "airflow", "virtual_chassis", "vc_position", "vc_priority", "cluster",
    "description", "config_template", "owner", "comments", "tags",
)


RACK_STATUSES = ("reserved", "available", "planned", "active", "deprecated")
DEVICE_STATUSES = ("offline", "active", "planned", "staged", "failed", "inventory", "decommissioning")
DEVICE_FACES = ("front", "rear")
DIMENSION_UNITS = ("mm", "in")  # RackDimensionUnitChoices; 1 in = 0.0254 m exactly
WEIGHT_UNITS = ("kg", "g", "lb", "oz")  # WeightUnitChoices
LB_KG, OZ_KG = 0.45359237, 0.028349523125  # international avoirdupois pound and ounce [kg], exact
RACK_U_HEIGHT_MAX = 100

NETBOX_RACK_WIDTH_IN = 19  # EIA-310 rail-to-rail width of a standard rack [in]
DEVICE_ROLE = "GPU server"

SITES_CSV = "sites.csv"
LOCATIONS_CSV = "locations.csv"
RACK_GROUPS_CSV = "rack_groups.csv"
DEVICE_ROLES_CSV = "device_roles.csv"
MANUFACTURERS_CSV = "manufacturers.csv"
DEVICE_TYPES_YAML = "device_types.yaml"
POWER_PANELS_CSV = "power_panels.csv"
POWER_FEEDS_CSV = "power_feeds.csv"
README_TXT = "README.txt"

SITE_COLUMNS: tuple[str, ...] = (
    "name", "slug", "status", "region", "group", "tenant", "facility", "time_zone", "description",
    "physical_address", "shipping_address", "latitude", "longitude", "owner", "comments", "tags",
)
LOCATION_COLUMNS: tuple[str, ...] = (
    "site", "parent", "name", "slug", "status", "tenant", "facility", "description", "owner",
    "comments", "tags",
)
RACK_GROUP_COLUMNS: tuple[str, ...] = ("name", "slug", "description", "owner", "comments", "tags")
DEVICE_ROLE_COLUMNS: tuple[str, ...] = (
    "name", "slug", "parent", "color", "vm_role", "config_template", "description", "owner",
    "comments", "tags",
)
MANUFACTURER_COLUMNS: tuple[str, ...] = ("name", "slug", "description", "owner", "comments", "tags")
POWER_PANEL_COLUMNS: tuple[str, ...] = ("site", "location", "name", "description", "owner", "comments", "tags")
POWER_FEED_COLUMNS: tuple[str, ...] = (
    "site", "power_panel", "location", "rack", "name", "status", "type", "mark_connected", "supply",
    "phase", "voltage", "amperage", "max_utilization", "tenant", "description", "owner", "comments",
    "tags",
)

#: Import form name -> its columns (the names of ``import-fields-4.6.8.json``).
IMPORT_FORMS: dict[str, tuple[str, ...]] = {
    "RackImportForm": NETBOX_RACK_COLUMNS,
    "DeviceImportForm": NETBOX_DEVICE_COLUMNS,
    "SiteImportForm": SITE_COLUMNS,
    "LocationImportForm": LOCATION_COLUMNS,
    "RackGroupImportForm": RACK_GROUP_COLUMNS,
    "DeviceRoleImportForm": DEVICE_ROLE_COLUMNS,
    "ManufacturerImportForm": MANUFACTURER_COLUMNS,
    "PowerPanelImportForm": POWER_PANEL_COLUMNS,
    "PowerFeedImportForm": POWER_FEED_COLUMNS,
}

# Choice values (value, display label), dcim/choices.py at v4.6.8.
SITE_STATUSES = (("planned", "Planned"), ("staging", "Staging"), ("active", "Active"),
                 ("decommissioning", "Decommissioning"), ("retired", "Retired"))
RACK_STATUS_LABELS = (("reserved", "Reserved"), ("available", "Available"), ("planned", "Planned"),
                      ("active", "Active"), ("deprecated", "Deprecated"))
DEVICE_STATUS_LABELS = (("offline", "Offline"), ("active", "Active"), ("planned", "Planned"),
                        ("staged", "Staged"), ("failed", "Failed"), ("inventory", "Inventory"),
                        ("decommissioning", "Decommissioning"))
FACE_LABELS = (("front", "Front"), ("rear", "Rear"))
RACK_WIDTH_LABELS = ((10, "10 inches"), (19, "19 inches"), (21, "21 inches"), (23, "23 inches"))
POWER_FEED_STATUSES = ("offline", "active", "planned", "failed")
POWER_FEED_TYPES = ("primary", "redundant")
POWER_FEED_SUPPLIES = ("ac", "dc")
POWER_FEED_PHASES = ("single-phase", "three-phase")
VOLTAGE_RANGE = (-32768, 32767)  # SmallIntegerField; 0 excluded
AMPERAGE_RANGE = (1, 32767)  # PositiveSmallIntegerField, MinValueValidator(1)
MAX_UTILIZATION_RANGE = (1, 100)  # [%]

#: Separator of rack group names: NetBox 4.6 rack groups are global, so a row is named
#: ``"<hall> / <row>"`` to keep row A of Hall 1 apart from row A of Hall 2.
RACK_GROUP_SEPARATOR = " / "


def rack_group_name(hall: str, row: str) -> str:
    """NetBox rack group name of ``row`` in ``hall``: ``"Hall 1 / A"``; ``""`` for no row."""
    return f"{hall}{RACK_GROUP_SEPARATOR}{row}" if row else ""


def row_from_group(hall: str, group: str) -> str:
    """Row of a NetBox rack group name read back for a rack in ``hall``.

    ``"Hall 1 / A"`` in Hall 1 -> ``"A"``; a group that does not start with the rack's hall and
    the separator (a group made in NetBox, or an older dcplan export) is the row as it is.
    """
    prefix = f"{hall}{RACK_GROUP_SEPARATOR}"
    return group[len(prefix):] if hall and group.startswith(prefix) and len(group) > len(prefix) else group
