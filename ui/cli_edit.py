"""``dcplan edit PLAN ACTION ...``: the editor's edits from the command line. Imports no Qt.

Each action is one rule of :mod:`planner.edits`, the same the GUI's undo commands use, so a script
gets exactly the editor's checks and refusals (overlap, outside the hall, a taken name, a bad value).
The plan is saved in place (atomically, under the plan's lock, refused if another program saved it
since it was read) unless ``--out`` names another file or ``--dry-run`` asks for nothing to be
written. The output says what changed and which problems the edit added or removed.

Exit codes: 0 done, 1 the edit was refused (the plan is untouched), 2 bad usage or unreadable plan.
"""
from __future__ import annotations

import argparse
import sys
import typing

EXIT_REFUSED, EXIT_USAGE = 1, 2


def _value(cls, field: str, text: str):
    """``text`` as the type of ``cls.field`` (``none`` or empty: None where the field may be None)."""
    hint = typing.get_type_hints(cls)[field]
    optional = type(None) in typing.get_args(hint)
    base = next((a for a in typing.get_args(hint) if a is not type(None)), hint) if optional else hint
    if optional and text.strip().lower() in ("", "none"):
        return None
    try:
        if base is float:
            return float(text)
        if base is int:
            return int(text)
    except ValueError:
        raise _Usage(f"{field}: {text!r} is not a {'number' if base is float else 'whole number'}") from None
    return text


class _Usage(Exception):
    """Bad usage of an action (a field that does not exist, a value of the wrong type)."""


def _assignments(cls, pairs: list[str], allowed) -> dict:
    """``["power_budget_kw=40", "feed_a=none"]`` -> typed values of ``cls`` fields in ``allowed``."""
    out = {}
    for pair in pairs:
        name, eq, text = pair.partition("=")
        name = name.strip()
        if not eq:
            raise _Usage(f"{pair!r}: write FIELD=VALUE")
        if name not in allowed:
            raise _Usage(f"{name!r} is not a field this action sets; fields: {', '.join(allowed)}")
        out[name] = _value(cls, name, text)
    return out


def _server_type(plan, key: str):
    """The server type ``key`` (or model name) of the plan, else of the bundled catalog."""
    from planner.catalog import load_catalog

    k = key.strip().lower()
    for t in plan.server_types:
        if t.key.lower() == k or t.model.lower() == k:
            return t
    try:
        return load_catalog().server_type(key)
    except KeyError:
        known = sorted({t.key for t in plan.server_types} | {t.key for t in load_catalog().server_types})
        raise _Usage(f"no server type {key!r} in the plan or the catalog; types: {', '.join(known)}") from None


def _cooling_unit(name: str):
    """The bundled catalog's cooling unit ``name`` (as the GUI's catalog lists them)."""
    from planner.catalog import load_catalog

    units = load_catalog().cooling_units
    found = next((u for u in units if u.name.lower() == name.strip().lower()), None)
    if found is None:
        raise _Usage(f"no cooling unit {name!r} in the catalog; units: {', '.join(repr(u.name) for u in units)}")
    return found


def _edits(args, state):
    """The :class:`planner.edits.Edit` s of ``args.action`` on ``state``: one, or one per server placed
    (``add-server --count``); each is applied before the next is built, as the editor would."""
    from planner.edits import NoChange, servers

    if args.action != "add-server":
        yield _edit(args, state)
        return
    if args.count < 1:
        raise _Usage("--count must be at least 1")
    stype = _server_type(state.plan, args.type)
    for i in range(args.count):
        try:
            yield servers.add_server(state, args.rack, stype, args.u if i == 0 else None)
        except NoChange:  # pragma: no cover - adding a server always changes the plan
            return


def _edit(args, state):
    """The :class:`planner.edits.Edit` of ``args.action`` on ``state``."""
    from planner.edits import plant, racks, servers
    from planner.plan import PowerFeed, Rack

    a = args.action
    if a == "add-row":
        near = tuple(args.near) if args.near else (0.0, 0.0)
        return racks.add_row_at(state, near, args.count, orientation=args.facing, row=args.row,
                                origin=tuple(args.at) if args.at else None, feeds=(args.feed_a, args.feed_b),
                                neighbour=args.next_to, free_floor=args.next_to is None)
    if a == "add-rack":
        return racks.add_rack_at(state, tuple(args.near) if args.near else (0.0, 0.0), like=args.like)
    if a == "move":
        return racks.move(state, {args.rack: (args.x, args.y)})
    if a == "rotate":
        return racks.rotate(state, args.racks, args.turn)
    if a == "duplicate":
        return racks.duplicate(state, args.racks)
    if a == "delete":
        return racks.delete(state, args.racks)
    if a == "rename":
        return racks.rename_rack(state, args.old, args.new)
    if a == "set":
        names = [x for x in args.racks if "=" not in x]
        pairs = [x for x in args.racks if "=" in x]
        if not names or not pairs:
            raise _Usage("name the racks, then FIELD=VALUE pairs (set A01 A02 power_budget_kw=40)")
        return racks.edit_racks(state, names, _assignments(Rack, pairs, racks.RACK_FIELDS))
    if a == "add-feed":
        values = _assignments(PowerFeed, args.values, plant.FEED_FIELDS)
        return plant.add_feed(state, PowerFeed(**values) if values else None)
    if a == "set-feed":
        return plant.edit_feed(state, args.feed, _assignments(PowerFeed, args.values, plant.FEED_FIELDS))
    if a == "delete-feed":
        return plant.delete_feeds(state, args.feeds)
    if a == "move-server":
        return servers.move_server(state, args.server, args.u, rack=args.rack)
    if a == "remove-server":
        return servers.remove_servers(state, args.servers)
    if a == "set-hall":
        from planner.plan import Hall
        return racks.edit_hall(state, state.hall().name, _assignments(Hall, args.values, racks.HALL_FIELDS))
    if a == "add-unit":
        return plant.add_cooling_unit(state, _cooling_unit(args.template), tuple(args.at) if args.at else None,
                                      loop=args.loop)
    if a == "set-unit":
        from planner.plan import CoolingUnit
        return plant.edit_units(state, [args.unit], _assignments(CoolingUnit, args.values,
                                                                 plant.UNIT_FIELDS + ("name",)))
    if a == "delete-unit":
        return racks.delete(state, units=args.units)
    if a == "add-loop":
        return plant.add_loop(state, args.medium, args.name, args.rejects_to)
    if a == "rename-loop":
        return plant.rename_loop(state, args.old, args.new)
    if a == "delete-loop":
        return plant.delete_loop(state, args.loop)
    raise _Usage(f"unknown action {a!r}")  # argparse offers only the ones above


def _problem_keys(plan) -> dict[tuple, object]:
    from planner.checks import check_plan

    return {(p.severity, p.code, p.rack, p.subject, p.message): p for p in check_plan(plan)}


def _print_json(obj) -> None:
    import json

    json.dump(obj, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def cmd_edit(args) -> int:
    """Load, apply one edit through its ``planner.edits`` rule, report, save (or not).

    Errors of the plan file and the output name (``PlanFileError``, ``OutputError``) reach
    ``ui.cli.main`` (one line, exit 2); usage errors of an action are written here (one line, exit 2)."""
    from models.store import disk_stamp, load_plan, save_plan
    from planner.edits import EditRefused, NoChange, PlanState
    from planner.outputs import check_output_target

    plan = load_plan(args.plan)
    stamp = disk_stamp(args.plan)
    if args.out:
        check_output_target(args.out, protect=[args.plan])
    state = PlanState(plan, args.hall)
    if args.hall and args.hall not in state.hall_names():
        print(f"dcplan: error: no hall named {args.hall!r}; halls: {', '.join(state.hall_names())}", file=sys.stderr)
        return EXIT_USAGE
    before = _problem_keys(plan)
    done, change = [], None
    try:
        for edit in _edits(args, state):
            c = state.apply(edit.diff)
            done.append(edit)
            if change is None:
                change = c
            else:
                for name in ("racks_added", "racks_removed", "racks_modified", "server_racks"):
                    getattr(change, name).update(getattr(c, name))
    except _Usage as exc:
        print(f"dcplan: error: edit {args.action}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NoChange:
        pass
    except EditRefused as exc:
        if args.json:
            _print_json({"action": args.action, "refused": str(exc), "saved": None})
        hint = (" Give --at X Y (the row's top-left corner [m]) to place it exactly, or --near X Y without "
                "--next-to for the free floor nearest a point." if args.action == "add-row" and args.next_to
                and "No room" in str(exc) else "")
        print(f"dcplan: edit refused: {exc}{hint} (the plan is unchanged)", file=sys.stderr)
        return EXIT_REFUSED
    edit = None
    if done:  # one report for the whole action (several servers placed: their texts joined)
        from planner.edits.core import Edit

        text = done[0].text if len(done) == 1 else f"{done[0].text} … {done[-1].text} ({len(done)} edits)"
        edit = Edit(text, tuple(s for e in done for s in e.diff), done[0].hall)
    after = _problem_keys(plan) if edit is not None else before
    added = [p for k, p in after.items() if k not in before]
    removed = [p for k, p in before.items() if k not in after]
    target = args.out or args.plan
    saved = None
    if edit is not None and not args.dry_run:
        save_plan(plan, target, expect=stamp if target == args.plan else None)
        saved = target
    out = {"action": args.action, "edit": edit.text if edit else None, "changed": edit is not None,
           "racks_added": sorted(change.racks_added) if edit else [],
           "racks_removed": sorted(change.racks_removed) if edit else [],
           "racks_modified": sorted(change.racks_modified) if edit else [],
           "racks_with_server_changes": sorted(change.server_racks) if edit else [],
           "problems_added": [f"{p.severity}: {p.code}: {p.message}" for p in added],
           "problems_removed": [f"{p.severity}: {p.code}: {p.message}" for p in removed],
           "errors": sum(p.severity == "error" for p in after.values()),
           "warnings": sum(p.severity != "error" for p in after.values()), "saved": saved}
    if args.json:
        _print_json(out)
        return 0
    if edit is None:
        print("nothing to change: the plan already has these values (nothing written)")
        return 0
    print(edit.text + (f" — saved to {saved}" if saved else " — not saved (--dry-run)"))
    new = [n for k, o, n in edit.diff if k == "rack" and o is None]
    if new:
        boxes = [r.footprint() for r in new]
        print(f"  {len(new)} rack{'s' if len(new) > 1 else ''} {new[0].name}{'…' + new[-1].name if len(new) > 1 else ''} "
              f"at x {min(b[0] for b in boxes):.2f}–{max(b[2] for b in boxes):.2f} m, "
              f"y {min(b[1] for b in boxes):.2f}–{max(b[3] for b in boxes):.2f} m, fronts facing "
              f"{'/'.join(sorted({r.orientation for r in new}))}, feeds "
              f"{new[0].feed_a or 'none'} / {new[0].feed_b or 'none'}")
    for p in added:
        print(f"  new {p.severity}: {p.message} ({p.code})")
    for p in removed:
        print(f"  gone {p.severity}: {p.message} ({p.code})")
    if not added and not removed:
        print("  no problem added or removed")
    return 0


def add_subcommands(sub) -> None:
    """Register ``dcplan edit`` on the main parser's subcommands."""
    from planner.edits.racks import TURNS
    from planner.plan import LOOP_MEDIA, ORIENTATIONS

    e = sub.add_parser("edit", help="edit a plan as the editor does (add a row, move, rename, feeds, loops)",
                       description="Each action is the editor's own rule (the GUI's undo commands use the same): "
                       "the same checks and refusals (overlap, outside the hall, a taken name, a bad value). The "
                       "plan is saved in place (atomically, under its lock, refused if another program saved it "
                       "since) unless --out names another file or --dry-run writes nothing. Exit 0 done, 1 edit "
                       "refused (plan untouched), 2 bad usage or unreadable plan.")
    e.add_argument("plan", metavar="PLAN", help="plan file (.dcplan); saved in place unless --out or --dry-run")
    e.add_argument("--hall", default=None, help="hall to edit in (default: the plan's first hall)")
    e.add_argument("--out", default=None, help="save the edited plan to this file instead (the original stays)")
    e.add_argument("--dry-run", dest="dry_run", action="store_true", help="check and report; write nothing")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_edit)
    acts = e.add_subparsers(dest="action", metavar="ACTION", parser_class=sub._parser_class)
    acts.required = True

    def action(name: str, help_: str):
        p = acts.add_parser(name, help=help_, description=help_)
        p.set_defaults(_usage_parser=p)
        # the edit's options also after the action (SUPPRESS: given only here, they do not reset the others)
        p.add_argument("--hall", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.add_argument("--out", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.add_argument("--dry-run", dest="dry_run", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return p

    xy = {"nargs": 2, "type": float, "metavar": ("X", "Y")}
    r = action("add-row", "a row of racks across a hot or cold aisle from an existing row (as Add Row)")
    r.add_argument("--count", type=int, default=10, help="racks in the row (default 10)")
    r.add_argument("--row", default=None, help="row name (default: the next free letter)")
    r.add_argument("--facing", choices=ORIENTATIONS, default=None,
                   help="side the rack fronts face (default: the hot/cold aisle pattern chooses)")
    r.add_argument("--next-to", dest="next_to", default=None, help="row to pair with (default: the row nearest --near)")
    r.add_argument("--near", **xy, help="a floor point [m] the row should be near (default 0 0)")
    r.add_argument("--at", **xy, help="top-left corner [m]: place the row exactly there instead")
    r.add_argument("--feed-a", dest="feed_a", default=None, help="A-side power feed (default: none)")
    r.add_argument("--feed-b", dest="feed_b", default=None, help="B-side power feed (default: none)")
    r = action("add-rack", "one rack at the free spot nearest a point")
    r.add_argument("--like", default=None, help="copy this rack's row and look (not its feeds)")
    r.add_argument("--near", **xy, help="floor point [m] (default 0 0)")
    r = action("move", "move a rack's centre to X Y [m]")
    r.add_argument("rack")
    r.add_argument("x", type=float)
    r.add_argument("y", type=float)
    r = action("rotate", "turn racks 90° (cw, ccw) or 180° (flip); several turn together")
    r.add_argument("racks", nargs="+")
    r.add_argument("--turn", choices=TURNS, default="cw", help="default cw")
    r = action("duplicate", "copy racks with their servers, continuing their row")
    r.add_argument("racks", nargs="+")
    r = action("delete", "delete racks with their servers")
    r.add_argument("racks", nargs="+")
    r = action("rename", "rename a rack (its servers follow)")
    r.add_argument("old")
    r.add_argument("new")
    r = action("set", "set rack fields: dcplan edit P set A01 A02 power_budget_kw=40 feed_a=none")
    r.add_argument("racks", nargs="+", metavar="RACK_OR_FIELD=VALUE", help="rack names, then FIELD=VALUE pairs")
    r = action("add-feed", "a new power feed (default: the next of an A/B pair, 415 V 63 A 3-phase)")
    r.add_argument("values", nargs="*", help="FIELD=VALUE of the feed: name=, side=A|B, voltage=, amperage=, ...")
    r = action("set-feed", "set power feed fields (name= renames it and every rack on it)")
    r.add_argument("feed")
    r.add_argument("values", nargs="+", help="FIELD=VALUE pairs")
    r = action("delete-feed", "delete power feeds (their racks lose that side)")
    r.add_argument("feeds", nargs="+")
    r = action("add-server", "place servers of a type (key or model, from the plan or the catalog) in a rack")
    r.add_argument("rack")
    r.add_argument("type", help="server type key or model name, e.g. dgx-h100")
    r.add_argument("--u", type=int, default=None, help="lowest U of the first server (default: lowest free U)")
    r.add_argument("--count", type=int, default=1, help="servers to place, each at the lowest free U (default 1)")
    r = action("move-server", "move a server to another U (and rack)")
    r.add_argument("server")
    r.add_argument("u", type=int)
    r.add_argument("--rack", default=None, help="rack to move it to (default: its own)")
    r = action("remove-server", "take servers out of their racks")
    r.add_argument("servers", nargs="+")
    r = action("set-hall", "set the hall's size, floor tile pitch or containment (refused if racks would be outside)")
    r.add_argument("values", nargs="+", help="width_m=, depth_m=, tile_m=, containment=none|cold|hot")
    r = action("add-unit", "place a catalog cooling unit (CRAH, CDU on the floor; plant units off it)")
    r.add_argument("template", help="catalog name, e.g. 'Chilled-water CRAH 150 kW'")
    r.add_argument("--at", **xy, help="centre [m] of a CRAH or CDU on the floor (snapped to the tiles)")
    r.add_argument("--loop", default=None, help="loop it joins (default: the first of its medium, made if none)")
    r = action("set-unit", "set cooling-unit fields (name= renames it)")
    r.add_argument("unit")
    r.add_argument("values", nargs="+", help="FIELD=VALUE pairs, e.g. rated_capacity_kw=200 supply_setpoint_c=18")
    r = action("delete-unit", "delete cooling units")
    r.add_argument("units", nargs="+")
    r = action("add-loop", "a new empty cooling loop")
    r.add_argument("medium", choices=LOOP_MEDIA)
    r.add_argument("--name", default=None)
    r.add_argument("--rejects-to", dest="rejects_to", default=None, help="loop it rejects its heat to")
    r = action("rename-loop", "rename a cooling loop and every reference to it")
    r.add_argument("old")
    r.add_argument("new")
    r = action("delete-loop", "delete an empty cooling loop (racks on it lose it)")
    r.add_argument("loop")
