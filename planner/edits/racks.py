"""Edits of the floor: add, delete, move, rotate, duplicate, align, edit and rename racks; the hall's
size. Placement is ``planner.floor``'s one rule (overlap, inside the hall, free spot, aisles).

Every function takes a :class:`~planner.edits.core.PlanState` and returns an
:class:`~planner.edits.core.Edit`, or raises :class:`~planner.edits.core.EditRefused` naming what
is in the way.
"""
from __future__ import annotations

from dataclasses import replace

from planner import floor
from planner.edits.core import (
    MAX_NAME_CHARS,
    Edit,
    EditRefused,
    NoChange,
    PlanState,
    check_fields,
    element_named,
    field_text,
    finite,
    make_edit,
    short,
)
from planner.floor import on_floor
from planner.plan import CONTAINMENTS, ORIENTATIONS, CoolingUnit, Plan, Rack

#: Rack fields an edit may set (the inspector's fields).
RACK_FIELDS = ("row", "x_m", "y_m", "orientation", "width_m", "depth_m", "u_height", "power_budget_kw",
               "max_weight_kg", "cooling_type", "air_loop", "liquid_loop", "feed_a", "feed_b", "status", "hall")
GEOMETRY_FIELDS = {"x_m", "y_m", "orientation", "width_m", "depth_m"}
HALL_FIELDS = ("width_m", "depth_m", "tile_m", "containment")


# --------------------------------------------------------------------- helpers
def snap(value: float, tile: float) -> float:
    """``value`` [m] on the nearest multiple of the floor tile ``tile`` [m]."""
    return round(value / tile) * tile


def snapped_rack(r: Rack, tile: float) -> Rack:
    """``r`` moved so its footprint's top-left corner sits on the tile grid."""
    x0, y0, x1, y1 = r.footprint()
    dx = snap(x0, tile) - x0
    dy = snap(y0, tile) - y0
    return replace(r, x_m=round(r.x_m + dx, 6), y_m=round(r.y_m + dy, 6))


def racks_named(state: PlanState, names) -> list[Rack]:
    """The racks ``names`` of the plan; refused if one no longer exists."""
    rmap = state.rack_map()
    missing = [n for n in names if n not in rmap]
    if missing:
        raise EditRefused(f"No rack named {short(missing[0])} (it was deleted or renamed).")
    return [rmap[n] for n in names]


def units_named(state: PlanState, names) -> list[CoolingUnit]:
    """The cooling units ``names`` of the plan; refused if one no longer exists."""
    out = [state.unit(n) for n in names]
    missing = [n for n, u in zip(names, out) if u is None]
    if missing:
        raise EditRefused(f"No cooling unit named {short(missing[0])} (it was deleted or renamed).")
    return out


def check_name(state: PlanState, new: str, old: str | None = None, what: str = "rack") -> str:
    """``new`` stripped, or refused: empty, longer than ``MAX_NAME_CHARS``, or taken by another
    rack or cooling unit (the two share one namespace: problems and labels name them alike)."""
    new = new.strip()
    if not new:
        raise EditRefused(f"A {what} name cannot be empty.")
    if len(new) > MAX_NAME_CHARS:
        raise EditRefused(f"A {what} name can have at most {MAX_NAME_CHARS} characters "
                          f"(this one has {len(new)}).")
    if new != old:
        if state.rack(new) is not None:
            raise EditRefused(f"There is already a rack named {short(new)}.")
        if state.unit(new) is not None:
            raise EditRefused(f"There is already a cooling unit named {short(new)}.")
    return new


def _describe_overlaps(state: PlanState, pairs: list[tuple[str, str]]) -> str:
    def label(n: str) -> str:
        return f"cooling unit {short(n)}" if state.unit(n) is not None and state.rack(n) is None else short(n)

    shown = ", ".join(f"{label(a)} ↔ {label(b)}" for a, b in pairs[:4])
    more = f" and {len(pairs) - 4} more" if len(pairs) > 4 else ""
    return f"Racks and cooling units may not overlap: {shown}{more}."


def check_placement(state: PlanState, racks: list[Rack], ignore: set[str], units=(),
                    ignore_units=frozenset()) -> None:
    """Refuse if ``racks`` or floor ``units`` (proposed) overlap anything in their hall or leave its floor."""
    units = list(units)
    pairs = state.overlapping(racks, ignore=ignore, units=units, ignore_units=set(ignore_units))
    if pairs:
        raise EditRefused(_describe_overlaps(state, pairs))
    out = state.outside_hall(racks, units)
    if out:
        more = f" and {len(out) - 4} more" if len(out) > 4 else ""
        raise EditRefused(f"Outside the floor of {short(state.hall().name)}: "
                          f"{', '.join(short(n) for n in out[:4])}{more}.")


def next_row_letter(plan: Plan) -> str:
    """The first row name A, B, ..., Z, AA, AB, ... no rack of ``plan`` uses."""
    used = {r.row for r in plan.racks}
    n = 0
    while True:
        s, k = "", n
        while True:
            s = chr(ord("A") + k % 26) + s
            k = k // 26 - 1
            if k < 0:
                break
        if s not in used:
            return s
        n += 1


def default_rack(state: PlanState, name: str, row: str = "",
                 feeds: tuple[str | None, str | None] = (None, None)) -> Rack:
    """A new rack with the dataclass defaults on the first air loop, on ``feeds`` (A, B).

    No feeds unless the user picked them: a feed is a budget the engineer assigns, and guessing
    one (the first feed pair) overloaded it without a word. The problem list names racks without
    feeds (``rack-no-feed``).
    """
    air = next((l.name for l in state.plan.cooling_loops if l.medium == "air"), None)
    return Rack(name=name, hall=state.hall().name, row=row, air_loop=air, feed_a=feeds[0], feed_b=feeds[1])


# --------------------------------------------------------------------- edits
def add_racks(state: PlanState, racks: list[Rack], text: str | None = None, servers=()) -> Edit:
    """Add ``racks`` (with ``servers`` in them) where they stand; refused on a taken name or overlap."""
    names = [r.name for r in racks]
    if len(set(names)) != len(names):
        raise EditRefused("Rack names must differ.")
    for n in names:
        check_name(state, n)
    check_placement(state, racks, ignore=set())
    text = text or (f"Add rack {short(racks[0].name)}" if len(racks) == 1 else f"Add {len(racks)} racks")
    diff = [("rack", None, r) for r in racks] + [("server", None, s) for s in servers]
    return make_edit(state, text, diff, select=(names, ()))


def add_rack_at(state: PlanState, near: tuple[float, float], like: str | None = None) -> Edit:
    """A rack at the free tile-grid spot nearest ``near`` [m]: a copy of rack ``like`` (same row and
    look, no feeds: the same kind of rack is the likely next one), else a default rack in a new row."""
    sel = state.rack(like) if like else None
    row = sel.row if sel is not None else next_row_letter(state.plan)
    name = state.unique_name(f"{row}01", state.element_names())
    proto = default_rack(state, name, row)
    if sel is not None:
        proto = replace(sel, name=name, hall=state.hall().name, feed_a=None, feed_b=None)
    x0, y0, x1, y1 = proto.footprint()
    spot = state.free_spot(x1 - x0, y1 - y0, near)
    if spot is None:
        raise EditRefused("No free space on the hall floor for another rack.")
    rack = replace(proto, x_m=round(spot[0] + (x1 - x0) / 2, 6), y_m=round(spot[1] + (y1 - y0) / 2, 6))
    return add_racks(state, [rack])


def add_row_at(state: PlanState, near: tuple[float, float], count: int, orientation: str | None = None,
               row: str | None = None, prefix: str | None = None, origin: tuple[float, float] | None = None,
               feeds: tuple[str | None, str | None] = (None, None), neighbour: str | None = None,
               free_floor: bool = True) -> Edit:
    """A row of ``count`` default racks side by side on ``feeds`` (A, B), fronts facing ``orientation``.

    ``origin`` (top-left corner [m]) places it exactly (facing ``orientation``, default N). Otherwise
    the row goes across an aisle from an existing row of the hall (``planner.floor.row_across_aisle``:
    fronts facing fronts across a cold aisle, or backs facing backs across a hot aisle; row
    ``neighbour`` first, then the row nearest ``near``); ``orientation`` None lets the hot/cold aisle
    pattern choose the facing. A hall with no row to pair with (or no room beside one) gets the row at
    the free spot nearest ``near``; with ``free_floor`` False that is refused instead (a script that
    named the row to pair with should not find its row in a corner of the hall).
    """
    if count < 1:
        raise EditRefused("A row needs at least one rack.")
    if orientation is not None and orientation not in ORIENTATIONS:
        raise EditRefused(f"Orientation must be one of {', '.join(ORIENTATIONS)}.")
    row = (row or "").strip() or next_row_letter(state.plan)
    if len(row) > MAX_NAME_CHARS - 3:
        raise EditRefused(f"A row name can have at most {MAX_NAME_CHARS - 3} characters (this one has {len(row)}).")
    prefix = row if prefix is None else prefix
    unknown = [f for f in feeds if f is not None and f not in {p.name for p in state.plan.power_feeds}]
    if unknown:
        raise EditRefused(f"No power feed named {short(unknown[0])}.")
    taken = state.element_names()
    names = []
    for i in range(count):
        names.append(state.unique_name(f"{prefix}{i + 1:02d}", taken))
        taken.add(names[-1])
    proto = default_rack(state, "", row, feeds)
    text = f"Add row {short(row)} ({count} racks)"
    if origin is None:
        placed = floor.row_across_aisle(state.plan, state.hall(), proto, names, near=near, orientation=orientation,
                                        neighbour_row=neighbour, indexes=state.floor_indexes())
        if placed is not None:
            return add_racks(state, placed.racks, text=text)
        if not free_floor:
            beside = f"row {short(neighbour)}" if neighbour else "any row"
            raise EditRefused(f"No room for a row of {count} racks beside {beside} of {short(state.hall().name)} "
                              "across a hot or cold aisle; give a place for it.")
    proto = replace(proto, orientation=orientation or "N")
    x0, y0, x1, y1 = proto.footprint()
    rw, rd = x1 - x0, y1 - y0
    along_x = proto.orientation in ("N", "S")
    w, d = (rw * count, rd) if along_x else (rw, rd * count)
    if origin is None:
        spot = state.free_spot(w, d, near)
        if spot is None:
            raise EditRefused(f"No free space on the hall floor for a row of {count} racks.")
    else:
        spot = origin
    racks = []
    for i, name in enumerate(names):
        cx = spot[0] + rw / 2 + (i * rw if along_x else 0.0)
        cy = spot[1] + rd / 2 + (0.0 if along_x else i * rd)
        racks.append(replace(proto, name=name, x_m=round(cx, 6), y_m=round(cy, 6)))
    return add_racks(state, racks, text=text)


def delete(state: PlanState, racks=(), units=()) -> Edit:
    """Delete racks (with their servers) and floor cooling units; undo puts them back in place."""
    racks, units = set(racks), set(units)
    diff = [("server", s, None) for s in state.plan.servers if s.rack in racks]
    gone = [r for r in state.plan.racks if r.name in racks]
    ugone = [u for u in state.plan.cooling_units if u.name in units]
    diff += [("rack", r, None) for r in gone] + [("unit", u, None) for u in ugone]
    n = len(gone) + len(ugone)
    if n == 0:
        raise EditRefused("Nothing selected to delete.")
    text = f"Delete {short((gone or ugone)[0].name)}" if n == 1 else f"Delete {n} items"
    return make_edit(state, text, diff, select=((), ()))


def move(state: PlanState, rack_pos: dict[str, tuple[float, float]],
         unit_pos: dict[str, tuple[float, float]] | None = None, text: str | None = None) -> Edit:
    """Move racks and floor units to new centres [m] — one edit for a whole drag."""
    unit_pos = unit_pos or {}
    old = racks_named(state, list(rack_pos))
    uold = units_named(state, list(unit_pos))
    if any(not on_floor(u) for u in uold):
        raise EditRefused("Only CRAHs and CDUs standing on the floor can be moved.")
    moved = [replace(r, x_m=round(x, 6), y_m=round(y, 6)) for r, (x, y) in zip(old, rack_pos.values())]
    umoved = [replace(u, x_m=round(x, 6), y_m=round(y, 6)) for u, (x, y) in zip(uold, unit_pos.values())]
    if moved == old and umoved == uold:
        raise NoChange("Move")
    check_placement(state, moved, ignore=set(rack_pos), units=umoved, ignore_units=set(unit_pos))
    diff = [("rack", a, b) for a, b in zip(old, moved)] + [("unit", a, b) for a, b in zip(uold, umoved)]
    n = len(moved) + len(umoved)
    text = text or (f"Move {short(next(iter(rack_pos or unit_pos)))}" if n == 1 else f"Move {n} items")
    return make_edit(state, text, diff)


_CW = {"N": "E", "E": "S", "S": "W", "W": "N"}
_CCW = {v: k for k, v in _CW.items()}
_FLIP = {"N": "S", "S": "N", "E": "W", "W": "E"}
TURNS = ("cw", "ccw", "flip")


def rotate(state: PlanState, names, turn: str = "cw") -> Edit:
    """Rotate racks by 90° (``cw``/``ccw``) or 180° (``flip``).

    One rack turns in place; several turn together about the centre of their bounding box (a row
    stays a row). Results snap to the tile grid. A 180° turn of several racks flips each in place
    (a row turns to face the other aisle).
    """
    if turn not in TURNS:
        raise EditRefused(f"A turn is one of {', '.join(TURNS)}, not {turn!r}.")
    racks = racks_named(state, names)
    if not racks:
        raise EditRefused("Select racks to rotate.")
    table = {"cw": _CW, "ccw": _CCW, "flip": _FLIP}[turn]
    tile = state.hall().tile_m
    if len(racks) == 1 or turn == "flip":
        out = [snapped_rack(replace(r, orientation=table[r.orientation]), tile) for r in racks]
    else:
        fps = [r.footprint() for r in racks]
        cx = (min(f[0] for f in fps) + max(f[2] for f in fps)) / 2
        cy = (min(f[1] for f in fps) + max(f[3] for f in fps)) / 2
        out = []
        for r in racks:
            dx, dy = r.x_m - cx, r.y_m - cy
            nx, ny = (cx - dy, cy + dx) if turn == "cw" else (cx + dy, cy - dx)
            out.append(replace(r, orientation=table[r.orientation], x_m=nx, y_m=ny))
        # snap the group as a whole so relative spacing is kept
        x0 = min(r.footprint()[0] for r in out)
        y0 = min(r.footprint()[1] for r in out)
        dx, dy = snap(x0, tile) - x0, snap(y0, tile) - y0
        out = [replace(r, x_m=round(r.x_m + dx, 6), y_m=round(r.y_m + dy, 6)) for r in out]
    check_placement(state, out, ignore=set(names))
    label = {"cw": "Rotate", "ccw": "Rotate", "flip": "Flip"}[turn]
    text = f"{label} {short(racks[0].name)}" if len(racks) == 1 else f"{label} {len(racks)} racks"
    return make_edit(state, text, [("rack", a, b) for a, b in zip(racks, out)])


def duplicate(state: PlanState, names) -> Edit:
    """Copy racks with their servers next to the originals.

    The copies continue the row first: along it (x for racks facing N or S, y for E or W), the
    nearest free place at a whole multiple of the selection's length on either side, so a copied
    rack joins the end of its row with the same facing. Only if the row has no room: in front,
    behind, then the nearest free spot (the problem list then names any rack that would draw
    another's exhaust).
    """
    racks = racks_named(state, names)
    if not racks:
        raise EditRefused("Select racks to duplicate.")
    fps = [r.footprint() for r in racks]
    bx0, by0 = min(f[0] for f in fps), min(f[1] for f in fps)
    bx1, by1 = max(f[2] for f in fps), max(f[3] for f in fps)
    w, h = bx1 - bx0, by1 - by0
    taken = state.element_names()
    new_names = {}
    for r in racks:
        new_names[r.name] = state.unique_name(r.name, taken)
        taken.add(new_names[r.name])
    hall = state.hall()
    along_x = racks[0].orientation in ("N", "S")
    step = w if along_x else h
    reach = int((hall.width_m if along_x else hall.depth_m) / step) if step > 0 else 0
    offsets = [((k * step, 0.0) if along_x else (0.0, k * step)) for n in range(1, reach + 1) for k in (n, -n)]
    offsets += [(0.0, h), (0.0, -h)] if along_x else [(w, 0.0), (-w, 0.0)]
    spot = state.free_spot(w, h, ((bx0 + bx1) / 2 + w, (by0 + by1) / 2))
    if spot is not None:
        offsets.append((spot[0] - bx0, spot[1] - by0))
    last_error = "No free space for the copies."
    copies = None
    for dx, dy in offsets:
        if floor.leaves_hall((bx0 + dx, by0 + dy, bx1 + dx, by1 + dy), hall):
            last_error = f"Outside the floor of {short(hall.name)}."
            continue
        cand = [replace(r, name=new_names[r.name], x_m=round(r.x_m + dx, 6), y_m=round(r.y_m + dy, 6)) for r in racks]
        try:
            check_placement(state, cand, ignore=set())
        except EditRefused as e:
            last_error = str(e)
            continue
        copies = cand
        break
    if copies is None:
        raise EditRefused(f"Cannot place the copies: {last_error}")
    staken = {s.name for s in state.plan.servers}
    servers = []
    for s in state.plan.servers:
        if s.rack in new_names:
            sname = state.unique_name(s.name.replace(s.rack, new_names[s.rack], 1), staken)
            staken.add(sname)
            servers.append(replace(s, name=sname, rack=new_names[s.rack]))
    diff = [("rack", None, r) for r in copies] + [("server", None, s) for s in servers]
    text = f"Duplicate {short(racks[0].name)}" if len(racks) == 1 else f"Duplicate {len(racks)} racks"
    return make_edit(state, text, diff, select=([r.name for r in copies], ()))


def align(state: PlanState, names, axis: str = "row") -> Edit:
    """Line racks up on the first one: ``axis="row"`` same y (a horizontal row), ``"column"`` same x."""
    racks = racks_named(state, names)
    if len(racks) < 2:
        raise EditRefused("Select at least two racks to align.")
    anchor = racks[0]
    if axis == "row":
        out = [replace(r, y_m=anchor.y_m) for r in racks]
    else:
        out = [replace(r, x_m=anchor.x_m) for r in racks]
    check_placement(state, out, ignore=set(names))
    text = f"Align {len(racks)} racks {'in a row' if axis == 'row' else 'in a column'}"
    return make_edit(state, text, [("rack", a, b) for a, b in zip(racks, out) if a != b])


def edit_racks(state: PlanState, names, values: dict) -> Edit:
    """Set the same field values on one or many racks (the inspector's multi-edit)."""
    from planner.edits.servers import top_u

    check_fields(values, RACK_FIELDS, "rack")
    racks = racks_named(state, names)
    if "row" in values:
        values = {**values, "row": (values["row"] or "").strip()}
        if len(values["row"]) > MAX_NAME_CHARS:
            raise EditRefused(f"A row name can have at most {MAX_NAME_CHARS} characters "
                              f"(this one has {len(values['row'])}).")
    out = [replace(r, **values) for r in racks]
    changed = [(a, b) for a, b in zip(racks, out) if a != b]
    if not changed:
        raise NoChange("Set")
    if GEOMETRY_FIELDS & set(values):
        check_placement(state, out, ignore=set(names))
    if "u_height" in values or "power_budget_kw" in values:
        for r in out:
            if r.u_height < 1 or r.power_budget_kw < 0:
                raise EditRefused("Rack height must be ≥ 1 U and the power budget ≥ 0 kW.")
    if "u_height" in values:
        for r in out:
            top = top_u(state.plan, r.name)
            if r.u_height < top:
                raise EditRefused(f"Rack {short(r.name)} has servers up to U{top}: its height cannot be "
                                  f"less than {top} U. Move or remove those servers first.")
    who = short(racks[0].name) if len(racks) == 1 else f"{len(racks)} racks"
    text = f"Move {who}" if set(values) <= {"x_m", "y_m"} else f"Set {field_text(values)} of {who}"
    return make_edit(state, text, [("rack", a, b) for a, b in changed])


def rename_rack(state: PlanState, old: str, new: str) -> Edit:
    """Rename a rack; its servers follow it."""
    rack = racks_named(state, [old])[0]
    new = check_name(state, new, old, "rack")
    if new == old:
        raise NoChange("Rename")
    diff = [("rack", rack, replace(rack, name=new))]
    diff += [("server", s, replace(s, rack=new)) for s in state.plan.servers if s.rack == old]
    return make_edit(state, f"Rename {short(old)} to {short(new)}", diff, name=new)


def edit_hall(state: PlanState, name: str, values: dict) -> Edit:
    """Set the size, floor tile pitch or containment of a hall. A smaller floor that would leave a
    rack or floor unit outside is refused, naming it."""
    check_fields(values, HALL_FIELDS, "hall")
    old = element_named(state, "hall", name, "hall")
    new = replace(old, **values)
    if new == old:
        raise NoChange("Set hall")
    finite("Hall width", new.width_m, 0, floor.FLOOR_COORD_MAX_M, strict=True)
    finite("Hall depth", new.depth_m, 0, floor.FLOOR_COORD_MAX_M, strict=True)
    finite("Tile pitch", new.tile_m, 0, floor.RACK_SIDE_MAX_M, strict=True)
    if new.containment not in CONTAINMENTS:
        raise EditRefused(f"Containment must be one of {', '.join(CONTAINMENTS)}.")
    plan = state.plan
    outside = [r.name for r in plan.racks if r.hall == name and floor.leaves_hall(r.footprint(), new)]
    outside += [u.name for u in plan.cooling_units if floor.on_floor(u) and floor.unit_hall(plan, u) == name
                and floor.leaves_hall(floor.unit_footprint(u), new)]
    if outside:
        more = f" and {len(outside) - 3} more" if len(outside) > 3 else ""
        raise EditRefused(f"A {new.width_m:g} m x {new.depth_m:g} m floor would leave "
                          f"{', '.join(short(n) for n in outside[:3])}{more} outside hall {short(name)}: "
                          "move them first.")
    return make_edit(state, f"Set {field_text(values)} of hall {short(name)}", [("hall", old, new)])
