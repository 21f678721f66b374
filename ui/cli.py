"""``dcplan``: the headless command line. Imports no Qt (tests and CI run it without a screen).

Every command prints human-readable text, or one JSON object with ``--json``. Errors are
one clear message on stderr and a non-zero exit code, never a traceback:
exit 1 = the plan has problems / the import was refused, exit 2 = bad usage or unreadable input,
exit 3 = a bug in dcplan (reported in one line; ``DCPLAN_DEBUG=1`` shows the traceback).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from ui.cli_text import count

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class CliError(Exception):
    """A user-facing failure: printed as ``dcplan: error: ...``, exit code 2."""


def _print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def _load(path: str):
    """``models.store.load_plan``; its ``PlanFileError`` reaches :func:`main` (one line, detail
    with ``--verbose``)."""
    from models.store import load_plan

    return load_plan(path)


def _save(plan, path: str) -> None:
    from models.store import save_plan

    save_plan(plan, path)


# ------------------------------------------------------------------------------ commands


def cmd_demo(args) -> int:
    from planner.demo import build_demo_plan

    if args.racks is not None and args.racks < 1:
        raise CliError("--racks must be at least 1")
    out = Path(args.path)
    if out.exists() and not args.force:
        raise CliError(f"{out}: already exists (use --force to overwrite)")
    plan = build_demo_plan(args.racks)
    _save(plan, str(out))
    info = {"path": str(out), "racks": len(plan.racks), "servers": len(plan.servers),
            "cooling_units": len(plan.cooling_units), "jobs": len(plan.jobs)}
    if args.json:
        _print_json(info)
    else:
        print(f"Wrote demo plan {out}: {info['racks']} racks, {info['servers']} servers, "
              f"{info['cooling_units']} cooling units, {info['jobs']} jobs")
    return EXIT_OK


def cmd_check(args) -> int:
    from planner.checks import ERROR, check_plan, plan_totals

    plan = _load(args.plan)
    weather = None
    if args.weather is not None:
        from planner.weather import load_weather_header
        weather = load_weather_header(args.weather)  # a WeatherError is printed as one line
    problems = check_plan(plan, weather)
    n_err = sum(p.severity == ERROR for p in problems)
    totals = plan_totals(plan, weather)
    if args.json:
        _print_json({"errors": n_err, "warnings": len(problems) - n_err,
                     "problems": [asdict(p) for p in problems], "totals": asdict(totals)})
    else:
        for p in problems:
            print(f"{p.severity.upper():7s} {p.code:24s} {p.message}")
        n_warn = len(problems) - n_err
        print(f"{count(n_err, 'error')}, {count(n_warn, 'warning')}; {count(totals.racks, 'rack')}, "
              f"{count(totals.servers, 'server')}, {count(totals.gpus, 'GPU')}, {totals.it_kw_max:,.1f} kW IT at max, "
              f"{totals.cooling_capacity_kw:,.0f} kW cooling, headroom {totals.headroom_kw:,.1f} kW"
              + (f" at the {totals.design_dry_bulb_c:.1f} °C design day" if totals.design_dry_bulb_c is not None
                 else ""))
    return EXIT_PROBLEMS if n_err else EXIT_OK


def cmd_export(args) -> int:
    from planner.csv_exchange import export_csv

    plan = _load(args.plan)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        notes: list[str] = []
        files = export_csv(plan, out, protect=[args.plan], netbox=args.netbox, notes=notes)
    except OSError as exc:
        raise CliError(f"{out}: cannot write: {exc.strerror or exc}") from None
    if args.json:
        _print_json({"files": [str(f) for f in files], "racks": len(plan.racks), "devices": len(plan.servers),
                     "notes": notes})
    else:
        for f in files:
            print(f"wrote {f}")
        for n in notes:
            print(f"note: {n}")
    return EXIT_OK


def cmd_import(args) -> int:
    from models.store import plan_lock
    from planner.catalog import load_catalog
    from planner.csv_exchange import CsvImportError, import_csv
    from planner.plan import Plan

    if not (args.racks or args.devices or args.rack_plan or args.power_panels or args.power_feeds):
        raise CliError("give at least one of --racks, --devices, --rack-plan, --power-panels, --power-feeds")
    path = Path(args.plan)
    with plan_lock(path):  # load, merge, save: no other writer in between (their update is never lost)
        plan = _load(str(path)) if path.exists() else Plan()
        try:
            outcome = import_csv(plan, racks_path=args.racks, devices_path=args.devices,
                                 rack_plan_path=args.rack_plan, catalog_types=load_catalog().server_types,
                                 allow_deletions=args.allow_deletions, ignore_manifest=args.ignore_manifest,
                                 power_panels_path=args.power_panels, power_feeds_path=args.power_feeds)
        except CsvImportError as exc:
            if args.json:
                _print_json({"imported": False, "problems": [str(p) for p in exc.problems],
                             "problems_total": exc.total})
            else:
                for p in exc.problems:
                    print(p, file=sys.stderr)
                if exc.total > len(exc.problems):
                    print(f"... and {exc.total - len(exc.problems):,} more problem(s) not shown", file=sys.stderr)
                fate = "was not changed" if path.exists() else "was not created"
                print(f"dcplan: import refused: {exc.total:,} problem(s); {path} {fate}", file=sys.stderr)
            return EXIT_PROBLEMS
        _save(outcome.plan, str(path))
    info = {"imported": True, "plan": str(path), "created_racks": outcome.created_racks,
            "updated_racks": outcome.updated_racks, "created_servers": outcome.created_servers,
            "updated_servers": outcome.updated_servers, "removed_servers": outcome.removed_servers,
            "created_feeds": outcome.created_feeds, "updated_feeds": outcome.updated_feeds,
            "notes": list(outcome.notes), "warnings": list(outcome.warnings)}
    if args.json:
        _print_json(info)
    else:
        for w in outcome.warnings:
            print(f"warning: {w}", file=sys.stderr)
        print(f"Imported into {path}: {outcome.created_racks} racks created, {outcome.updated_racks} updated, "
              f"{outcome.created_servers} servers created, {outcome.updated_servers} updated, "
              f"{outcome.removed_servers} removed"
              + (f", {outcome.created_feeds} power feeds created, {outcome.updated_feeds} updated"
                 if args.power_feeds else ""))
        for n in outcome.notes:
            print(f"note: {n}")
    return EXIT_OK


def cmd_info(args) -> int:
    from planner.checks import plan_totals

    plan = _load(args.plan)
    t = plan_totals(plan)
    info = {"site": plan.site.name, "timezone": plan.site.timezone, "halls": [h.name for h in plan.halls],
            "racks": t.racks, "servers": t.servers, "gpus": t.gpus, "it_kw_max": round(t.it_kw_max, 3),
            "cooling_capacity_kw": round(t.cooling_capacity_kw, 3), "headroom_kw": round(t.headroom_kw, 3),
            "loops": [lp.name for lp in plan.cooling_loops], "cooling_units": len(plan.cooling_units),
            "power_feeds": len(plan.power_feeds), "jobs": len(plan.jobs),
            "scenarios": [s.name for s in plan.scenarios], "design_dry_bulb_c": t.design_dry_bulb_c}
    if args.json:
        _print_json(info)
    else:
        for label, value in _info_lines(info):
            print(f"{label:20s} {value}")
    return EXIT_OK


def _info_lines(info: dict) -> list[tuple[str, str]]:
    """``dcplan info`` as an engineer reads it: words, units and separators (the JSON keeps the keys)."""
    def names(xs) -> str:  # a name with a comma in it is quoted, so the list still reads
        return ", ".join(repr(x) if "," in x else x for x in xs) or "none"

    return [("site", f"{info['site']} ({info['timezone']})"), ("halls", names(info["halls"])),
            ("racks", f"{info['racks']:,}"), ("servers", f"{info['servers']:,}"), ("GPUs", f"{info['gpus']:,}"),
            ("IT at max", f"{info['it_kw_max']:,.1f} kW"),
            ("cooling capacity", f"{info['cooling_capacity_kw']:,.1f} kW" + (
                f" at the {info['design_dry_bulb_c']:.1f} °C design day (plant derated for the heat)"
                if info.get("design_dry_bulb_c") is not None else " at the units' ratings")),
            ("headroom", f"{info['headroom_kw']:,.1f} kW (cooling capacity − IT at max)"),
            ("cooling loops", names(info["loops"])), ("cooling units", f"{info['cooling_units']:,}"),
            ("power feeds", f"{info['power_feeds']:,}"), ("jobs", f"{info['jobs']:,}"),
            ("scenarios", names(info["scenarios"]))]


# ------------------------------------------------------------------------------ parser


class _Parser(argparse.ArgumentParser):
    """Every dcplan parser: options only by their full name (``--day 1`` is not ``--days``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dcplan", description="dcplan: AI datacenter floor and thermal planner "
                "(headless commands; the GUI is dcplan-gui)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    p.set_defaults(_subparsers=sub)
    sub.required = True

    d = sub.add_parser("demo", help="write the bundled Phoenix demo plan")
    d.add_argument("path", help="plan file to write (.dcplan)")
    d.add_argument("--racks", type=int, default=None, help="scale the design to N racks")
    d.add_argument("--force", action="store_true", help="overwrite an existing file")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_demo)

    c = sub.add_parser("check", help="list every problem of a plan (exit 1 on errors)")
    c.add_argument("plan")
    c.add_argument("--weather", metavar="EPW",
                   help="check the plant at this site's ASHRAE design day: an EPW file or a bundled city name "
                        "(default: the weather file of the plan's first scenario)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_check)

    i = sub.add_parser("info", help="plan summary")
    i.add_argument("plan")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)

    e = sub.add_parser("export", help="write racks.csv, devices.csv (NetBox columns) and rack_plan.csv")
    e.add_argument("plan")
    e.add_argument("--out", required=True, help="output folder")
    e.add_argument("--netbox", action="store_true",
                   help="also write what NetBox needs first (site, locations, rack groups, role, manufacturers, "
                        "device types, power panels and feeds, README.txt with the import order); names as they are")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_export)

    m = sub.add_parser("import", help="create or update racks and servers from CSV (all or nothing)")
    m.add_argument("plan", help="plan file; created when it does not exist")
    m.add_argument("--racks", help="racks.csv (NetBox or dcplan export)")
    m.add_argument("--devices", help="devices.csv (NetBox or dcplan export)")
    m.add_argument("--rack-plan", dest="rack_plan", help="rack_plan.csv (dcplan positions, loops, feeds)")
    m.add_argument("--power-panels", dest="power_panels", help="power_panels.csv (NetBox columns)")
    m.add_argument("--power-feeds", dest="power_feeds", help="power_feeds.csv (NetBox columns): feed ratings, A/B")
    m.add_argument("--allow-deletions", dest="allow_deletions", action="store_true",
                   help="let the import remove more than 10 %% of the plan's servers (servers of listed racks "
                        "that devices.csv does not list)")
    m.add_argument("--ignore-manifest", dest="ignore_manifest", action="store_true",
                   help="import files changed since their export (hand edits) with a warning instead of refusing")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_import)

    from ui import cli_catalog

    cli_catalog.add_subcommands(sub)
    from ui import cli_edit; cli_edit.add_subcommands(sub)  # noqa: E702  (edits: planner.edits' rules)
    try:  # solver commands live with the solver's CLI module
        from ui import cli_sim
    except ImportError as exc:  # pragma: no cover - only while the solver is not installed
        if "cli_sim" not in str(exc):
            raise
    else:
        cli_sim.add_subcommands(sub)
        from ui import cli_schedule; cli_schedule.add_subcommands(sub)  # noqa: E702  (scheduler, issue 9)
    from ui import cli_sweep; cli_sweep.add_subcommands(sub)  # noqa: E702  (sweeps: their own module)
    for command in sub.choices.values():  # every command, whichever module added it
        try:
            command.add_argument("--verbose", action="store_true",
                                 help="with an error, also print the underlying report (SQLite's, the system's)")
        except argparse.ArgumentError:
            pass  # the command has its own --verbose
    return p


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is written for the user (file, row, field)."""
    from models.store import PlanFileError
    from planner.catalog import CatalogError
    from planner.outputs import OutputError
    from planner.weather import WeatherError

    return (CliError, CatalogError, OutputError, WeatherError, PlanFileError)


def _silence_stdout() -> None:
    """Point the process's stdout at /dev/null so the interpreter's flush at exit does not raise
    BrokenPipeError again (Python docs, "Note on SIGPIPE"); harmless where stdout is no real file."""
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # a mistyped option: the command's own usage (an action's, for dcplan edit), not the top-level one
        usage = getattr(args, "_usage_parser", None) or args._subparsers.choices[args.command]
        usage.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, while the handlers below can still answer
        return code
    except _user_errors() as exc:
        print(f"dcplan: error: {exc}", file=sys.stderr)
        detail = getattr(exc, "detail", "")
        if detail and getattr(args, "verbose", False):
            print(detail, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dcplan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as Unix tools do
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the pipe
    except Exception as exc:  # last resort: one line, not a traceback (DCPLAN_DEBUG=1 shows it)
        if os.environ.get("DCPLAN_DEBUG"):
            raise
        print(f"dcplan: internal error: {exc.__class__.__name__}: {exc} (set DCPLAN_DEBUG=1 for details; "
              "please report it)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
