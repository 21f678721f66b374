"""NetBox 4.6 import columns, choice values and list-export labels.

Source: netbox-community/netbox at tag v4.6.8 (Apache-2.0).

* Import columns: ``Meta.fields`` of the import forms in ``netbox/dcim/forms/bulk_import.py``
  (SiteImportForm, LocationImportForm, RackGroupImportForm, DeviceRoleImportForm,
  ManufacturerImportForm, PowerPanelImportForm, PowerFeedImportForm), in their order. A copy of
  the lists read from the tag is ``tests/data/netbox/import-fields-4.6.8.json``; the tests compare.
  (RackImportForm and DeviceImportForm: ``planner.csv_exchange``.)
* Choice values and their display labels: ``netbox/dcim/choices.py`` (SiteStatusChoices,
  LocationStatusChoices, RackStatusChoices, DeviceStatusChoices, DeviceFaceChoices,
  RackWidthChoices, PowerFeedStatusChoices, PowerFeedTypeChoices, PowerFeedSupplyChoices,
  PowerFeedPhaseChoices, WeightUnitChoices, RackDimensionUnitChoices).
* Limits: ``netbox/dcim/models/power.py`` (voltage: SmallIntegerField, not 0; amperage:
  PositiveSmallIntegerField >= 1; max_utilization: 1..100 [%]).

Uniqueness NetBox enforces (``Meta.constraints`` of the models): site name and slug; location
name and slug per site; rack group name and slug, *globally* (a rack group has no site in 4.6);
device role, manufacturer: name and slug; device type: model and slug per manufacturer; power
panel name per site; power feed name per power panel; rack name per location.
"""
from __future__ import annotations

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
