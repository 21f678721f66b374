"""Exchange with NetBox (https://netbox.dev), one module per file format, as pvlib's ``iotools``.

* :mod:`planner.netbox.columns` -- NetBox 4.6 import-form columns, choice values and the display
  labels NetBox's list export writes.
* :mod:`planner.netbox.slugs` -- valid, unique, stable NetBox slugs.
* :mod:`planner.netbox.prerequisites` -- the objects racks and devices need first (site,
  locations, rack groups, device role, manufacturers, power panels and feeds) as NetBox
  import files, and the README.txt with the import order.
* :mod:`planner.netbox.device_types` -- NetBox device-type YAML: written from the plan's server
  types, and read from the community devicetype-library format into server types.
* :mod:`planner.netbox.power` -- power_panels.csv / power_feeds.csv (NetBox import columns) read
  back into the plan's power feeds.
* :mod:`planner.netbox.list_export` -- NetBox's own list exports ("All data" / "Current view":
  display labels such as ``Height`` / ``42U``) translated to import columns.

Qt-free and ORM-free, like all of ``planner``.
"""
