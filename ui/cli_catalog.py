"""``dcplan catalog import``: NetBox device-type YAML files into a plan's catalog.

Registered on the main parser by :func:`add_subcommands`. All or nothing: any problem in any
file (listed as ``FILE:LINE: FIELD: message``) leaves the plan as it was; exit 1.
"""
from __future__ import annotations

import sys
from pathlib import Path


def cmd_catalog_import(args) -> int:
    from planner.netbox.catalog_import import CatalogImportError, add_server_types
    from planner.netbox.device_types import DeviceTypeError, read_device_types
    from planner.plan import Plan
    from ui.cli import EXIT_OK, EXIT_PROBLEMS, _load, _print_json, _save

    path = Path(args.plan)
    plan = _load(str(path)) if path.exists() else Plan()
    try:
        read = read_device_types(args.paths, args.side_file)
        merged = add_server_types(plan, read.types)
    except (DeviceTypeError, CatalogImportError) as exc:
        problems = [str(p) for p in exc.problems]
        if args.json:
            _print_json({"imported": False, "problems": problems})
        else:
            for p in problems:
                print(p, file=sys.stderr)
            fate = "was not changed" if path.exists() else "was not created"
            print(f"dcplan: catalog import refused: {len(problems)} problem(s); {path} {fate}", file=sys.stderr)
        return EXIT_PROBLEMS
    _save(merged.plan, str(path))
    info = {"imported": True, "plan": str(path), "added": merged.added, "replaced": merged.replaced,
            "unchanged": merged.unchanged, "warnings": read.warnings + merged.notes}
    if args.json:
        _print_json(info)
    else:
        print(f"Imported {len(read.types)} device type(s) into {path}: {len(merged.added)} added, "
              f"{len(merged.replaced)} replaced, {len(merged.unchanged)} unchanged")
        for w in info["warnings"]:
            print(f"warning: {w}")
    return EXIT_OK


def add_subcommands(subparsers) -> None:
    """Register ``catalog`` (with ``import``) on the main parser's sub-parser object."""
    c = subparsers.add_parser("catalog", help="the plan's catalog of server types")
    sub = c.add_subparsers(dest="catalog_command", metavar="ACTION", parser_class=type(c))
    sub.required = True
    i = sub.add_parser("import", help="add NetBox device-type YAML files (devicetype-library format)")
    i.add_argument("plan", help="plan file; created when it does not exist")
    i.add_argument("paths", nargs="+", metavar="PATH", help="device-type YAML file(s)")
    i.add_argument("--side-file", dest="side_file", default=None,
                   help="YAML with what NetBox lacks (GPU count, TDP, liquid fraction, ...) by slug")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_catalog_import)
