"""Edits of the plant: cooling units, cooling loops and power feeds.

Renames carry every reference (racks on a feed or loop, units in a loop, loops rejecting into a
loop) in the same edit, so one undo restores all of them.
"""
from __future__ import annotations

from dataclasses import fields, replace

from planner.edits.core import (
    MAX_NAME_CHARS,
    Edit,
    EditRefused,
    NoChange,
    PlanState,
    check_fields,
    edited,
    element_named,
    field_text,
    finite,
    loop_medium,
    make_edit,
    new_name,
    removal,
    short,
)
from planner.edits.racks import check_name, check_placement, snap, units_named
from planner.floor import FLOOR_UNIT_KINDS, on_floor, unit_footprint
from planner.plan import LOOP_MEDIA, CoolingLoop, CoolingUnit, PowerFeed

#: Cooling-unit fields an edit may set (the inspector's and the plant tree's fields).
UNIT_FIELDS = ("kind", "loop", "rated_capacity_kw", "supply_setpoint_c", "flow_m3s", "rated_power_kw",
               "x_m", "y_m", "model", "hall", "rated_outdoor_c", "loop_volume_m3", "time_constant_s", "dead_time_s",
               "design_cop", "approach_k")
FEED_FIELDS = tuple(f.name for f in fields(PowerFeed))
FEED_SIDES = ("A", "B")
#: Name of a loop created for a unit when the plan has none of its medium.
NEW_LOOP_NAMES = {"air": "Air loop 1", "liquid": "Liquid loop 1", "facility": "Facility water 1"}
#: Tag of each cooling-unit kind in a unit's name (``CH-1``, ``DC-2``: the demo's and drawings' usage).
UNIT_TAGS = {"crah": "CRAH", "cdu": "CDU", "chiller": "CH", "dry_cooler": "DC", "cooling_tower": "CT"}
#: Name stem of a new loop of each medium.
LOOP_STEMS = {"air": "Air loop", "liquid": "Liquid loop", "facility": "Facility water"}


# ------------------------------------------------------------------ cooling units
def _unit_base_name(state: PlanState, template: CoolingUnit) -> str:
    """``CRAH-11`` / ``CH-2`` ...: the kind's tag and the number after the plan's highest of that kind, as
    wide as the plan writes them (``CRAH-10`` -> ``CRAH-11``, ``CDU-02`` -> ``CDU-03``). A catalog entry's name is a
    description ("Chilled-water CRAH 150 kW"), too long for a label on the floor; a template whose name
    is already a tag (no spaces, ends in a digit) keeps it."""
    if template.name and " " not in template.name and template.name[-1:].isdigit():
        return template.name[:MAX_NAME_CHARS]
    prefix = f"{UNIT_TAGS.get(template.kind, template.kind.upper())}-"
    numbers = [u.name[len(prefix):] for u in state.plan.cooling_units
               if u.name.startswith(prefix) and u.name[len(prefix):].isdigit()]
    width = max((len(n) for n in numbers), default=1)
    return f"{prefix}{max((int(n) for n in numbers), default=0) + 1:0{width}d}"


def add_cooling_unit(state: PlanState, template: CoolingUnit, pos: tuple[float, float] | None = None,
                     loop: str | None = None) -> Edit:
    """Place a catalog cooling unit: CRAHs and CDUs on the floor at ``pos`` [m] (snapped), others off-floor.

    The unit joins ``loop``, else the first loop of the medium it serves (CRAH: air, CDU: liquid,
    plant: facility water); with no such loop one is created with it.
    """
    name = state.unique_name(_unit_base_name(state, template), state.element_names())
    medium = loop_medium(template.kind)
    if loop is None:
        loop = next((l.name for l in state.plan.cooling_loops if l.medium == medium), template.loop)
    if not loop:  # no loop of its medium yet, and the catalog names none: a new one comes with it
        loop = state.unique_name(NEW_LOOP_NAMES[medium], {l.name for l in state.plan.cooling_loops})
    unit = replace(template, name=name, loop=loop, hall=state.hall().name)
    if template.kind in FLOOR_UNIT_KINDS and pos is not None:
        tile = state.hall().tile_m
        fp = unit_footprint(replace(unit, x_m=pos[0], y_m=pos[1]))
        dx = snap(fp[0], tile) - fp[0]
        dy = snap(fp[1], tile) - fp[1]
        unit = replace(unit, x_m=round(pos[0] + dx, 6), y_m=round(pos[1] + dy, 6))
        check_placement(state, [], ignore=set(), units=[unit])
    else:
        unit = replace(unit, x_m=None, y_m=None)
    diff = [("unit", None, unit)]
    if loop and loop not in {l.name for l in state.plan.cooling_loops}:
        diff.insert(0, ("loop", None, CoolingLoop(loop, medium)))
    return make_edit(state, f"Add {template.kind.upper()} {short(name)}", diff, select=((), (name,)), name=name)


def edit_units(state: PlanState, names, values: dict) -> Edit:
    """Set the same field values on one or many cooling units, or rename one (``values["name"]``)."""
    check_fields(values, UNIT_FIELDS + ("name",), "cooling-unit")
    units = units_named(state, names)
    if "name" in values:
        if len(units) != 1:
            raise EditRefused("Rename one cooling unit at a time.")
        values = {**values, "name": check_name(state, values["name"], units[0].name, "cooling unit")}
    out = [replace(u, **values) for u in units]
    changed = [(a, b) for a, b in zip(units, out) if a != b]
    if not changed:
        raise NoChange("Set")
    if {"x_m", "y_m"} & set(values):
        if any(not on_floor(u) for u in out):
            raise EditRefused("Only CRAHs and CDUs stand on the floor.")
        check_placement(state, [], ignore=set(), units=out, ignore_units=set(names))
    who = ", ".join(short(n) for n in names) if len(units) < 3 else f"{len(units)} units"
    if "name" in values:
        text = f"Rename {who} to {short(values['name'])}"
    elif set(values) <= {"x_m", "y_m"}:
        text = f"Move {who}"
    else:
        text = f"Set {field_text(values)} of {who}"
    return make_edit(state, text, [("unit", a, b) for a, b in changed], select=((), [u.name for u in out]),
                     name=values.get("name"))


# ------------------------------------------------------------------ power feeds
def feed_named(state: PlanState, name: str) -> PowerFeed:
    return element_named(state, "feed", name, "power feed")


def check_feed(f: PowerFeed) -> None:
    """Refuse feed values NetBox and the capacity formula cannot take, naming the field."""
    finite(f"Feed {short(f.name)}: voltage", f.voltage, 0, 100_000, strict=True)
    finite(f"Feed {short(f.name)}: breaker rating", f.amperage, 0, 100_000, strict=True)
    finite(f"Feed {short(f.name)}: max utilisation", f.max_utilization, 0, 1, strict=True)
    finite(f"Feed {short(f.name)}: power factor", f.power_factor, 0, 1, strict=True)
    if f.phase not in (1, 3):
        raise EditRefused(f"Feed {short(f.name)}: phases must be 1 or 3, not {f.phase}.")
    if f.side not in FEED_SIDES:
        raise EditRefused(f"Feed {short(f.name)}: side must be A or B, not {f.side!r}.")


def _rack_refs(state: PlanState, fields_: tuple[str, ...], old: str, new: str | None) -> list:
    """Swaps pointing every rack field in ``fields_`` that names ``old`` at ``new`` (None: nothing)."""
    out = []
    for r in state.plan.racks:
        values = {f: new for f in fields_ if getattr(r, f) == old}
        if values:
            out.append(("rack", r, replace(r, **values)))
    return out


def add_feed(state: PlanState, feed: PowerFeed | None = None) -> Edit:
    """A new power feed: ``feed`` as given (name made unique), or the next of an A/B pair with the
    ``PowerFeed`` defaults (415 V, 63 A, 3-phase, 80 %)."""
    feeds = state.plan.power_feeds
    if feed is None:
        side = "B" if sum(f.side == "A" for f in feeds) > sum(f.side == "B" for f in feeds) else "A"
        group = str(sum(f.side == side for f in feeds) + 1)
        feed = PowerFeed(f"Feed {side}{group}", side=side, redundancy_group=group)
    name = state.unique_name(new_name(feed.name, (), "power feed"), {f.name for f in feeds})
    feed = replace(feed, name=name)
    check_feed(feed)
    return make_edit(state, f"Add power feed {short(name)}", [("feed", None, feed)], name=name)


def edit_feed(state: PlanState, name: str, values: dict) -> Edit:
    """Set fields of a feed; a new name is carried to every rack on the feed (one edit)."""
    old, new, values = edited(state, "feed", name, values, FEED_FIELDS, "power feed", check_feed)
    diff = [("feed", old, new)]
    if new.name != name:
        diff += _rack_refs(state, ("feed_a", "feed_b"), name, new.name)
        text = f"Rename power feed {short(name)} to {short(new.name)}"
    else:
        text = f"Set {field_text(values)} of power feed {short(name)}"
    return make_edit(state, text, diff, name=new.name)


def delete_feeds(state: PlanState, names) -> Edit:
    """Delete power feeds; the racks on them are left without that side (the problem list says so)."""
    diff, text = removal(state, "feed", names, "Delete power feed", "power feeds", "Select power feeds to delete.")
    gone = {old.name for _k, old, _n in diff}
    for r in state.plan.racks:
        values = {f: None for f in ("feed_a", "feed_b") if getattr(r, f) in gone}
        if values:
            diff.append(("rack", r, replace(r, **values)))
    return make_edit(state, text, diff)


def racks_on_feeds(state: PlanState, names) -> list[str]:
    """Racks fed by any of the feeds ``names`` (what deleting them leaves unfed)."""
    names = set(names)
    return [r.name for r in state.plan.racks if r.feed_a in names or r.feed_b in names]


# ------------------------------------------------------------------ cooling loops
def loop_named(state: PlanState, name: str) -> CoolingLoop:
    return element_named(state, "loop", name, "cooling loop")


def set_loop_parent(state: PlanState, name: str, rejects_to: str | None) -> Edit:
    """Set the loop ``name`` rejects its heat to (the plant tree's parent; None: outdoors).
    Refused if the loops would form a cycle: heat must reach the outdoors."""
    loops = {l.name: l for l in state.plan.cooling_loops}
    old = loops.get(name)
    if old is None:
        raise EditRefused(f"No cooling loop named {short(name)}.")
    if rejects_to is not None:
        if rejects_to not in loops:
            raise EditRefused(f"No cooling loop named {short(rejects_to)}.")
        p, seen = rejects_to, {name}
        while p is not None:
            if p in seen:
                raise EditRefused(f"{short(name)} cannot reject to {short(rejects_to)}: the loops would form "
                                  f"a cycle and the heat would never leave the building.")
            seen.add(p)
            p = loops[p].rejects_to
    new = replace(old, rejects_to=rejects_to)
    if new == old:
        raise NoChange("Set loop")
    return make_edit(state, f"Loop {short(name)} rejects to {short(rejects_to) if rejects_to else 'outdoors'}",
                     [("loop", old, new)])


def add_loop(state: PlanState, medium: str, name: str | None = None, rejects_to: str | None = None) -> Edit:
    """A new, empty cooling loop of ``medium`` (air, liquid or facility water), rejecting to ``rejects_to``."""
    if medium not in LOOP_MEDIA:
        raise EditRefused(f"A loop's medium must be one of {', '.join(LOOP_MEDIA)}, not {medium!r}.")
    taken = {l.name for l in state.plan.cooling_loops}
    if name is None:
        name = state.unique_name(f"{LOOP_STEMS[medium]} 1", taken)
    name = new_name(name, taken, "cooling loop")
    if rejects_to is not None:
        loop_named(state, rejects_to)
    return make_edit(state, f"Add cooling loop {short(name)}", [("loop", None, CoolingLoop(name, medium, rejects_to))],
                     name=name)


def rename_loop(state: PlanState, name: str, new: str) -> Edit:
    """Rename a loop and every reference to it: racks, cooling units and loops rejecting into it."""
    old = loop_named(state, name)
    new = new_name(new, {l.name for l in state.plan.cooling_loops} - {name}, "cooling loop")
    if new == name:
        raise NoChange("Rename loop")
    diff = [("loop", old, replace(old, name=new))]
    diff += [("loop", l, replace(l, rejects_to=new)) for l in state.plan.cooling_loops
             if l.rejects_to == name and l is not old]
    if old.rejects_to == name:  # a loop rejecting to itself (refused elsewhere) keeps pointing at itself
        diff[0] = ("loop", old, replace(old, name=new, rejects_to=new))
    diff += _rack_refs(state, ("air_loop", "liquid_loop"), name, new)
    diff += [("unit", u, replace(u, loop=new)) for u in state.plan.cooling_units if u.loop == name]
    return make_edit(state, f"Rename cooling loop {short(name)} to {short(new)}", diff, name=new)


def delete_loop(state: PlanState, name: str) -> Edit:
    """Delete an empty loop (no cooling units); racks on it lose that loop, loops rejecting into it
    then reject outdoors. A loop with units is refused: they would be left in no loop."""
    old = loop_named(state, name)
    units_in = [u.name for u in state.plan.cooling_units if u.loop == name]
    if units_in:
        more = f" and {len(units_in) - 3} more" if len(units_in) > 3 else ""
        raise EditRefused(f"Loop {short(name)} still has {len(units_in)} cooling unit(s) "
                          f"({', '.join(short(n) for n in units_in[:3])}{more}): move them to another loop or "
                          "delete them first.")
    diff = [("loop", old, None)]
    diff += [("loop", l, replace(l, rejects_to=None)) for l in state.plan.cooling_loops
             if l.rejects_to == name and l is not old]
    diff += _rack_refs(state, ("air_loop", "liquid_loop"), name, None)
    return make_edit(state, f"Delete cooling loop {short(name)}", diff)


def racks_on_loop(state: PlanState, name: str) -> list[str]:
    """Racks cooled by loop ``name`` (air or liquid side)."""
    return [r.name for r in state.plan.racks if name in (r.air_loop, r.liquid_loop)]
