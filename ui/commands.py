"""Undoable edits: every change to the plan is one of these ``QUndoCommand`` s.

Each command computes, in its constructor, the exact list of element swaps
(``(kind, old, new)``) and the selection before/after; ``redo``/``undo`` hand
that diff (or its inverse) to :meth:`PlanDocument.apply`. A constructor that
finds the edit impossible (overlap, no free U, name taken) raises
:class:`EditRefused` with the message to show, and nothing is pushed.
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtGui import QUndoCommand

from planner import floor
from planner.plan import ORIENTATIONS, CoolingLoop, CoolingUnit, Plan, Rack, Server, ServerType
from ui.document import FLOOR_UNIT_KINDS, KINDS, MAX_NAME_CHARS, PlanDocument, loop_medium, on_floor, unit_footprint

RACK_FIELDS = ("row", "x_m", "y_m", "orientation", "width_m", "depth_m", "u_height", "power_budget_kw",
               "max_weight_kg", "cooling_type", "air_loop", "liquid_loop", "feed_a", "feed_b", "status", "hall")
GEOMETRY_FIELDS = {"x_m", "y_m", "orientation", "width_m", "depth_m"}
UNIT_FIELDS = ("kind", "loop", "rated_capacity_kw", "supply_setpoint_c", "flow_m3s", "rated_power_kw",
               "x_m", "y_m", "model", "hall", "rated_outdoor_c", "loop_volume_m3", "time_constant_s", "dead_time_s",
               "design_cop", "approach_k")
#: What the history list calls each edited field ("Set power budget of R01").
FIELD_LABELS = {
    "row": "row", "x_m": "position", "y_m": "position", "orientation": "front", "width_m": "width",
    "depth_m": "depth", "u_height": "height", "power_budget_kw": "power budget", "max_weight_kg": "max weight",
    "cooling_type": "cooling type", "air_loop": "air loop", "liquid_loop": "liquid loop", "feed_a": "feed A",
    "feed_b": "feed B", "status": "status", "hall": "hall", "kind": "kind", "loop": "loop",
    "rated_capacity_kw": "rated capacity", "supply_setpoint_c": "supply setpoint", "flow_m3s": "design flow",
    "rated_power_kw": "fan/pump power", "model": "model", "name": "name", "rated_outdoor_c": "rating outdoor",
    "loop_volume_m3": "loop volume", "time_constant_s": "time constant", "dead_time_s": "dead time",
    "design_cop": "design COP", "approach_k": "approach", "horizon_s": "days", "step_s": "step",
    "weather_file": "weather", "hourly_price_usd_per_kwh": "prices", "demand_charge_usd_per_kw": "demand charge",
    "elevation_m": "elevation", "timezone": "time zone", "gpus": "GPUs", "utilization": "utilisation",
    "duration_s": "duration", "release_s": "release", "deadline_s": "deadline", "start_s": "start",
    "tile_m": "floor tiles", "containment": "containment", "voltage": "voltage", "amperage": "breaker rating",
    "phase": "phases", "max_utilization": "max utilisation", "side": "side", "panel": "panel",
}


class EditRefused(Exception):
    """The edit would break a rule (overlap, no space); the message says which."""


class NoChange(EditRefused):
    """The edit would change nothing (same value picked again): no command, no message."""


# --------------------------------------------------------------------- helpers
def snap(value: float, tile: float) -> float:
    return round(value / tile) * tile


def snapped_rack(r: Rack, tile: float) -> Rack:
    """``r`` moved so its footprint's top-left corner sits on the tile grid."""
    x0, y0, x1, y1 = r.footprint()
    dx = snap(x0, tile) - x0
    dy = snap(y0, tile) - y0
    return replace(r, x_m=round(r.x_m + dx, 6), y_m=round(r.y_m + dy, 6))


def server_heights(plan: Plan) -> dict[str, int]:
    return {t.key: t.u_height for t in plan.server_types}


def field_text(values) -> str:
    """``"power budget"`` for ``{"power_budget_kw": ...}``: human labels, each once."""
    return ", ".join(dict.fromkeys(FIELD_LABELS.get(f, f.replace("_", " ")) for f in values))


def short(name: str, limit: int = 40) -> str:
    """A name for messages and history entries, elided in the middle if very long."""
    return name if len(name) <= limit else f"{name[:limit // 2 - 1]}…{name[-(limit // 2 - 1):]}"


def racks_named(doc: PlanDocument, names) -> list[Rack]:
    """The racks ``names`` of the plan; refused if one no longer exists."""
    rmap = doc.rack_map()
    missing = [n for n in names if n not in rmap]
    if missing:
        raise EditRefused(f"No rack named {short(missing[0])} (it was deleted or renamed).")
    return [rmap[n] for n in names]


def units_named(doc: PlanDocument, names) -> list[CoolingUnit]:
    out = [doc.unit(n) for n in names]
    missing = [n for n, u in zip(names, out) if u is None]
    if missing:
        raise EditRefused(f"No cooling unit named {short(missing[0])} (it was deleted or renamed).")
    return out


def check_name(doc: PlanDocument, new: str, old: str | None = None, what: str = "rack") -> str:
    """``new`` stripped, or refused: empty, longer than ``MAX_NAME_CHARS``, or taken by another
    rack or cooling unit (the two share one namespace: problems and labels name them alike)."""
    new = new.strip()
    if not new:
        raise EditRefused(f"A {what} name cannot be empty.")
    if len(new) > MAX_NAME_CHARS:
        raise EditRefused(f"A {what} name can have at most {MAX_NAME_CHARS} characters "
                          f"(this one has {len(new)}).")
    if new != old:
        if doc.rack(new) is not None:
            raise EditRefused(f"There is already a rack named {short(new)}.")
        if doc.unit(new) is not None:
            raise EditRefused(f"There is already a cooling unit named {short(new)}.")
    return new


def _describe_overlaps(doc: PlanDocument, pairs: list[tuple[str, str]]) -> str:
    def label(n: str) -> str:
        return f"cooling unit {short(n)}" if doc.unit(n) is not None and doc.rack(n) is None else short(n)

    shown = ", ".join(f"{label(a)} ↔ {label(b)}" for a, b in pairs[:4])
    more = f" and {len(pairs) - 4} more" if len(pairs) > 4 else ""
    return f"Racks and cooling units may not overlap: {shown}{more}."


def check_placement(doc: PlanDocument, racks: list[Rack], ignore: set[str], units=(), ignore_units=frozenset()) -> None:
    """Raise :class:`EditRefused` if ``racks`` or floor ``units`` (proposed) overlap anything
    in their hall or leave its floor."""
    units = list(units)
    pairs = doc.overlapping(racks, ignore=ignore, units=units, ignore_units=set(ignore_units))
    if pairs:
        raise EditRefused(_describe_overlaps(doc, pairs))
    out = doc.outside_hall(racks, units)
    if out:
        more = f" and {len(out) - 4} more" if len(out) > 4 else ""
        raise EditRefused(f"Outside the floor of {short(doc.hall().name)}: "
                          f"{', '.join(short(n) for n in out[:4])}{more}.")


def find_free_spot(doc: PlanDocument, w: float, d: float, near: tuple[float, float],
                   ignore: set[str] = frozenset()) -> tuple[float, float] | None:
    """Top-left corner on the tile grid nearest ``near`` where a ``w`` x ``d`` box fits [m]
    (``planner.checks.FootprintIndex.free_spot`` on the hall shown)."""
    return doc.free_spot(w, d, near, ignore)


def next_row_letter(doc: PlanDocument) -> str:
    used = {r.row for r in doc.plan.racks}
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


def default_rack(doc: PlanDocument, name: str, row: str = "", feeds: tuple[str | None, str | None] = (None, None)) -> Rack:
    """A new rack with the dataclass defaults on the first air loop, on ``feeds`` (A, B).

    No feeds unless the user picked them: a feed is a budget the engineer assigns, and guessing
    one (the first feed pair) overloaded it without a word. The problem list names racks without
    feeds (``rack-no-feed``).
    """
    loops = doc.plan.cooling_loops
    air = next((l.name for l in loops if l.medium == "air"), None)
    return Rack(name=name, hall=doc.hall().name, row=row, air_loop=air, feed_a=feeds[0], feed_b=feeds[1])


# -------------------------------------------------------------------- commands
class PlanCommand(QUndoCommand):
    """Apply ``diff`` on redo and its inverse on undo, restoring the selection around it.

    An empty diff (the edit changes nothing) raises :class:`NoChange`: nothing is pushed
    and the plan does not become "modified". The command remembers the hall it was made
    in and shows that hall again on undo/redo, and the list positions of what it removes
    so undo puts them back in place.
    """

    def __init__(self, doc: PlanDocument, text: str, diff, select_after=None) -> None:
        diff = list(diff)
        if not diff:
            raise NoChange(text)
        super().__init__(text)
        self.doc = doc
        self.diff = diff
        self.hall_name = doc.hall().name
        self.select_before = (doc.selected_racks, doc.selected_units)
        self.select_after = select_after if select_after is not None else self.select_before
        self.undo_positions: dict[int, int] = {}
        for kind in {k for k, _o, n in diff if n is None}:
            self.undo_positions.update(doc.positions(kind, [o for k, o, n in diff if k == kind and n is None]))

    def redo(self) -> None:
        with self.doc.command_running():
            self.doc.show_hall(self.hall_name)
            self.doc.apply(self.diff)
            self.doc.set_selection(*self.select_after)

    def undo(self) -> None:
        with self.doc.command_running():
            self.doc.show_hall(self.hall_name)
            self.doc.apply([(k, new, old) for k, old, new in reversed(self.diff)], self.undo_positions)
            self.doc.set_selection(*self.select_before)


class AddRacksCommand(PlanCommand):
    def __init__(self, doc: PlanDocument, racks: list[Rack], text: str | None = None, servers=()) -> None:
        names = [r.name for r in racks]
        if len(set(names)) != len(names):
            raise EditRefused("Rack names must differ.")
        for n in names:
            check_name(doc, n)
        check_placement(doc, racks, ignore=set())
        text = text or (f"Add rack {short(racks[0].name)}" if len(racks) == 1 else f"Add {len(racks)} racks")
        diff = [("rack", None, r) for r in racks] + [("server", None, s) for s in servers]
        super().__init__(doc, text, diff, select_after=(tuple(names), ()))


def add_rack_at(doc: PlanDocument, near: tuple[float, float]) -> AddRacksCommand:
    """A default rack at the free tile-grid spot nearest ``near``."""
    sel = doc.rack(doc.selected_racks[0]) if doc.selected_racks else None
    row = sel.row if sel is not None else next_row_letter(doc)
    name = doc.unique_name(f"{row}01", doc.element_names())
    proto = default_rack(doc, name, row)
    if sel is not None:  # copy the look of the selected rack (same kind of rack is most likely), not its feeds
        proto = replace(sel, name=name, hall=doc.hall().name, feed_a=None, feed_b=None)
    x0, y0, x1, y1 = proto.footprint()
    spot = find_free_spot(doc, x1 - x0, y1 - y0, near)
    if spot is None:
        raise EditRefused("No free space on the hall floor for another rack.")
    rack = replace(proto, x_m=round(spot[0] + (x1 - x0) / 2, 6), y_m=round(spot[1] + (y1 - y0) / 2, 6))
    return AddRacksCommand(doc, [rack])


def add_row_at(doc: PlanDocument, near: tuple[float, float], count: int, orientation: str | None = None,
               row: str | None = None, prefix: str | None = None, origin: tuple[float, float] | None = None,
               feeds: tuple[str | None, str | None] = (None, None), neighbour: str | None = None) -> AddRacksCommand:
    """A row of ``count`` default racks side by side on ``feeds`` (A, B), fronts facing ``orientation``.

    ``origin`` (top-left corner [m]) places it exactly (facing ``orientation``, default N). Otherwise
    the row goes across an aisle from an existing row of the hall (``planner.floor.row_across_aisle``:
    fronts facing fronts across a cold aisle, or backs facing backs across a hot aisle; row
    ``neighbour`` first, then the row nearest ``near``); ``orientation`` None lets the hot/cold aisle
    pattern choose the facing. A hall with no row to pair with (or no room beside one) gets the row at
    the free spot nearest ``near``.
    """
    if count < 1:
        raise EditRefused("A row needs at least one rack.")
    if orientation is not None and orientation not in ORIENTATIONS:
        raise EditRefused(f"Orientation must be one of {', '.join(ORIENTATIONS)}.")
    row = (row or "").strip() or next_row_letter(doc)
    if len(row) > MAX_NAME_CHARS - 3:
        raise EditRefused(f"A row name can have at most {MAX_NAME_CHARS - 3} characters (this one has {len(row)}).")
    prefix = row if prefix is None else prefix
    unknown = [f for f in feeds if f is not None and f not in {p.name for p in doc.plan.power_feeds}]
    if unknown:
        raise EditRefused(f"No power feed named {short(unknown[0])}.")
    taken = doc.element_names()
    names = []
    for i in range(count):
        names.append(doc.unique_name(f"{prefix}{i + 1:02d}", taken))
        taken.add(names[-1])
    proto = default_rack(doc, "", row, feeds)
    text = f"Add row {short(row)} ({count} racks)"
    if origin is None:
        placed = floor.row_across_aisle(doc.plan, doc.hall(), proto, names, near=near, orientation=orientation,
                                        neighbour_row=neighbour, indexes=doc.floor_indexes())
        if placed is not None:
            return AddRacksCommand(doc, placed.racks, text=text)
    proto = replace(proto, orientation=orientation or "N")
    x0, y0, x1, y1 = proto.footprint()
    rw, rd = x1 - x0, y1 - y0
    along_x = proto.orientation in ("N", "S")
    w, d = (rw * count, rd) if along_x else (rw, rd * count)
    if origin is None:
        spot = find_free_spot(doc, w, d, near)
        if spot is None:
            raise EditRefused(f"No free space on the hall floor for a row of {count} racks.")
    else:
        spot = origin
    racks = []
    for i, name in enumerate(names):
        cx = spot[0] + rw / 2 + (i * rw if along_x else 0.0)
        cy = spot[1] + rd / 2 + (0.0 if along_x else i * rd)
        racks.append(replace(proto, name=name, x_m=round(cx, 6), y_m=round(cy, 6)))
    return AddRacksCommand(doc, racks, text=text)


class DeleteCommand(PlanCommand):
    """Delete racks (with their servers) and floor cooling units; undo puts them back in place."""

    def __init__(self, doc: PlanDocument, racks=(), units=()) -> None:
        racks, units = set(racks), set(units)
        diff = [("server", s, None) for s in doc.plan.servers if s.rack in racks]
        gone = [r for r in doc.plan.racks if r.name in racks]
        ugone = [u for u in doc.plan.cooling_units if u.name in units]
        diff += [("rack", r, None) for r in gone] + [("unit", u, None) for u in ugone]
        n = len(gone) + len(ugone)
        if n == 0:
            raise EditRefused("Nothing selected to delete.")
        text = f"Delete {short((gone or ugone)[0].name)}" if n == 1 else f"Delete {n} items"
        super().__init__(doc, text, diff, select_after=((), ()))


class MoveCommand(PlanCommand):
    """Move racks and floor units to new centres [m] — one step for a whole drag."""

    def __init__(self, doc: PlanDocument, rack_pos: dict[str, tuple[float, float]],
                 unit_pos: dict[str, tuple[float, float]] | None = None, text: str | None = None) -> None:
        unit_pos = unit_pos or {}
        old = racks_named(doc, list(rack_pos))
        uold = units_named(doc, list(unit_pos))
        if any(not on_floor(u) for u in uold):
            raise EditRefused("Only CRAHs and CDUs standing on the floor can be moved.")
        moved = [replace(r, x_m=round(x, 6), y_m=round(y, 6)) for r, (x, y) in zip(old, rack_pos.values())]
        umoved = [replace(u, x_m=round(x, 6), y_m=round(y, 6)) for u, (x, y) in zip(uold, unit_pos.values())]
        if moved == old and umoved == uold:
            raise NoChange("Move")
        check_placement(doc, moved, ignore=set(rack_pos), units=umoved, ignore_units=set(unit_pos))
        diff = [("rack", a, b) for a, b in zip(old, moved)] + [("unit", a, b) for a, b in zip(uold, umoved)]
        n = len(moved) + len(umoved)
        text = text or (f"Move {short(next(iter(rack_pos or unit_pos)))}" if n == 1 else f"Move {n} items")
        super().__init__(doc, text, diff)


_CW = {"N": "E", "E": "S", "S": "W", "W": "N"}
_CCW = {v: k for k, v in _CW.items()}
_FLIP = {"N": "S", "S": "N", "E": "W", "W": "E"}


class RotateCommand(PlanCommand):
    """Rotate racks by 90° (cw/ccw) or 180°.

    One rack turns in place; several turn together about the centre of their
    bounding box (a row stays a row). Results snap to the tile grid. A 180°
    turn of several racks flips each in place (a row turns to face the other aisle).
    """

    def __init__(self, doc: PlanDocument, names, turn: str = "cw") -> None:
        racks = racks_named(doc, names)
        if not racks:
            raise EditRefused("Select racks to rotate.")
        table = {"cw": _CW, "ccw": _CCW, "flip": _FLIP}[turn]
        tile = doc.hall().tile_m
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
        check_placement(doc, out, ignore=set(names))
        label = {"cw": "Rotate", "ccw": "Rotate", "flip": "Flip"}[turn]
        text = f"{label} {short(racks[0].name)}" if len(racks) == 1 else f"{label} {len(racks)} racks"
        super().__init__(doc, text, [("rack", a, b) for a, b in zip(racks, out)])


class DuplicateCommand(PlanCommand):
    """Copy racks with their servers next to the originals (right, below, left, above, then nearest free)."""

    def __init__(self, doc: PlanDocument, names) -> None:
        racks = racks_named(doc, names)
        if not racks:
            raise EditRefused("Select racks to duplicate.")
        fps = [r.footprint() for r in racks]
        bx0, by0 = min(f[0] for f in fps), min(f[1] for f in fps)
        bx1, by1 = max(f[2] for f in fps), max(f[3] for f in fps)
        w, h = bx1 - bx0, by1 - by0
        taken = doc.element_names()
        new_names = {}
        for r in racks:
            new_names[r.name] = doc.unique_name(r.name, taken)
            taken.add(new_names[r.name])
        offsets = [(w, 0.0), (0.0, h), (-w, 0.0), (0.0, -h)]
        spot = find_free_spot(doc, w, h, ((bx0 + bx1) / 2 + w, (by0 + by1) / 2))
        if spot is not None:
            offsets.append((spot[0] - bx0, spot[1] - by0))
        last_error = "No free space for the copies."
        copies = None
        for dx, dy in offsets:
            cand = [replace(r, name=new_names[r.name], x_m=round(r.x_m + dx, 6), y_m=round(r.y_m + dy, 6)) for r in racks]
            try:
                check_placement(doc, cand, ignore=set())
            except EditRefused as e:
                last_error = str(e)
                continue
            copies = cand
            break
        if copies is None:
            raise EditRefused(f"Cannot place the copies: {last_error}")
        staken = {s.name for s in doc.plan.servers}
        servers = []
        for s in doc.plan.servers:
            if s.rack in new_names:
                sname = doc.unique_name(s.name.replace(s.rack, new_names[s.rack], 1), staken)
                staken.add(sname)
                servers.append(replace(s, name=sname, rack=new_names[s.rack]))
        diff = [("rack", None, r) for r in copies] + [("server", None, s) for s in servers]
        text = f"Duplicate {short(racks[0].name)}" if len(racks) == 1 else f"Duplicate {len(racks)} racks"
        super().__init__(doc, text, diff, select_after=(tuple(r.name for r in copies), ()))


class AlignCommand(PlanCommand):
    """Line racks up on the first selected one: ``axis="row"`` same y (a horizontal row), ``"column"`` same x."""

    def __init__(self, doc: PlanDocument, names, axis: str = "row") -> None:
        racks = racks_named(doc, names)
        if len(racks) < 2:
            raise EditRefused("Select at least two racks to align.")
        anchor = racks[0]
        if axis == "row":
            out = [replace(r, y_m=anchor.y_m) for r in racks]
        else:
            out = [replace(r, x_m=anchor.x_m) for r in racks]
        check_placement(doc, out, ignore=set(names))
        text = f"Align {len(racks)} racks {'in a row' if axis == 'row' else 'in a column'}"
        super().__init__(doc, text, [("rack", a, b) for a, b in zip(racks, out) if a != b])


def top_u(doc: PlanDocument, rack: str) -> int:
    """Highest U taken by a server in ``rack`` (0 if empty)."""
    return max((hi for _lo, hi, _n in occupied_u(doc, rack)), default=0)


class EditRacksCommand(PlanCommand):
    """Set the same field values on one or many racks (the inspector's multi-edit)."""

    def __init__(self, doc: PlanDocument, names, values: dict) -> None:
        bad = set(values) - set(RACK_FIELDS)
        if bad:
            raise EditRefused(f"Not an editable rack field: {', '.join(sorted(bad))}.")
        racks = racks_named(doc, names)
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
            check_placement(doc, out, ignore=set(names))
        if "u_height" in values or "power_budget_kw" in values:
            for r in out:
                if r.u_height < 1 or r.power_budget_kw < 0:
                    raise EditRefused("Rack height must be ≥ 1 U and the power budget ≥ 0 kW.")
        if "u_height" in values:
            for r in out:
                top = top_u(doc, r.name)
                if r.u_height < top:
                    raise EditRefused(f"Rack {short(r.name)} has servers up to U{top}: its height cannot be "
                                      f"less than {top} U. Move or remove those servers first.")
        who = short(racks[0].name) if len(racks) == 1 else f"{len(racks)} racks"
        text = f"Move {who}" if set(values) <= {"x_m", "y_m"} else f"Set {field_text(values)} of {who}"
        super().__init__(doc, text, [("rack", a, b) for a, b in changed])


class RenameRackCommand(PlanCommand):
    def __init__(self, doc: PlanDocument, old: str, new: str) -> None:
        rack = racks_named(doc, [old])[0]
        new = check_name(doc, new, old, "rack")
        if new == old:
            raise NoChange("Rename")
        diff = [("rack", rack, replace(rack, name=new))]
        diff += [("server", s, replace(s, rack=new)) for s in doc.plan.servers if s.rack == old]
        sel = tuple(new if n == old else n for n in doc.selected_racks) or (new,)
        super().__init__(doc, f"Rename {short(old)} to {short(new)}", diff, select_after=(sel, doc.selected_units))


def occupied_u(doc: PlanDocument, rack: str, exclude: str | None = None) -> list[tuple[int, int, str]]:
    """``(lowest U, top U, server name)`` of the servers in ``rack``."""
    heights = server_heights(doc.plan)
    return [(s.u_position, s.u_position + heights.get(s.server_type, 1) - 1, s.name)
            for s in doc.plan.servers if s.rack == rack and s.name != exclude]


def fits(doc: PlanDocument, rack: str, u: int, height: int, exclude: str | None = None) -> str | None:
    """None if a ``height``-U server fits at ``u`` in ``rack``, else why not."""
    r = doc.rack(rack)
    if r is None:
        return f"No rack named {short(rack)}."
    if u < 1 or u + height - 1 > r.u_height:
        return f"{height} U at U{u} does not fit in {short(rack)} ({r.u_height} U)."
    for lo, hi, name in occupied_u(doc, rack, exclude):
        if u <= hi and lo <= u + height - 1:
            return f"U{u}–U{u + height - 1} of {short(rack)} is taken by {short(name)} (U{lo}–U{hi})."
    return None


def first_free_u(doc: PlanDocument, rack: str, height: int) -> int | None:
    r = doc.rack(rack)
    for u in range(1, r.u_height - height + 2):
        if fits(doc, rack, u, height) is None:
            return u
    return None


class AddServerCommand(PlanCommand):
    """Place a server of ``stype`` in ``rack`` at ``u`` (None: the lowest free U that fits).

    A type that is not yet in the plan (dragged from the catalog) is added with it.
    """

    def __init__(self, doc: PlanDocument, rack: str, stype: ServerType, u: int | None = None) -> None:
        racks_named(doc, [rack])
        if u is None:
            u = first_free_u(doc, rack, stype.u_height)
            if u is None:
                raise EditRefused(f"No {stype.u_height} U free in {short(rack)} for a {stype.model}.")
        else:
            why = fits(doc, rack, u, stype.u_height)
            if why:
                raise EditRefused(why)
        taken = {s.name for s in doc.plan.servers}
        name = doc.unique_name(f"{rack}-U{u:02d}", taken)
        diff = []
        if stype.key not in doc.plan.server_type_map():
            diff.append(("server_type", None, stype))
        diff.append(("server", None, Server(name=name, rack=rack, server_type=stype.key, u_position=u)))
        self.server_name = name
        super().__init__(doc, f"Add {stype.model} to {short(rack)} U{u}", diff, select_after=((rack,), ()))

    def redo(self) -> None:
        super().redo()
        self.doc.set_selected_server(self.server_name)


class MoveServerCommand(PlanCommand):
    def __init__(self, doc: PlanDocument, name: str, u: int, rack: str | None = None) -> None:
        s = next((s for s in doc.plan.servers if s.name == name), None)
        if s is None:
            raise EditRefused(f"No server named {short(name)}.")
        rack = rack or s.rack
        if (rack, u) == (s.rack, s.u_position):
            raise NoChange("Move server")
        height = server_heights(doc.plan).get(s.server_type, 1)
        why = fits(doc, rack, u, height, exclude=name)
        if why:
            raise EditRefused(why)
        self.server_name = name
        super().__init__(doc, f"Move {short(name)} to {short(rack)} U{u}",
                         [("server", s, replace(s, rack=rack, u_position=u))])

    def redo(self) -> None:
        super().redo()
        self.doc.set_selected_server(self.server_name)


def removal(doc: PlanDocument, kind: str, names, verb: str, plural: str, nothing: str) -> tuple[list, str]:
    """The diff removing the ``kind`` elements called ``names`` and its history text; refused with
    ``nothing`` if none exists."""
    names = set(names)
    attr, key = KINDS[kind]
    diff = [(kind, x, None) for x in getattr(doc.plan, attr) if getattr(x, key) in names]
    if not diff:
        raise EditRefused(nothing)
    text = f"{verb} {short(getattr(diff[0][1], key))}" if len(diff) == 1 else f"{verb} {len(diff)} {plural}"
    return diff, text


class RemoveServersCommand(PlanCommand):
    def __init__(self, doc: PlanDocument, names) -> None:
        diff, text = removal(doc, "server", names, "Remove", "servers", "No server selected.")
        super().__init__(doc, text, diff)


#: Name of a loop created for a unit when the plan has none of its medium.
NEW_LOOP_NAMES = {"air": "Air loop 1", "liquid": "Liquid loop 1", "facility": "Facility water 1"}


class AddCoolingUnitCommand(PlanCommand):
    """Place a catalog cooling unit: CRAHs and CDUs on the floor at ``pos`` (snapped), others off-floor.

    The unit joins the first loop of the medium it serves (CRAH: air, CDU: liquid, plant:
    facility water); with no such loop one is created with it.
    """

    def __init__(self, doc: PlanDocument, template: CoolingUnit, pos: tuple[float, float] | None = None,
                 loop: str | None = None) -> None:
        base = (template.name or template.kind.upper())[:MAX_NAME_CHARS - 4]
        name = doc.unique_name(base if base[-1:].isdigit() else f"{base}-1", doc.element_names())
        medium = loop_medium(template.kind)
        if loop is None:
            loop = next((l.name for l in doc.plan.cooling_loops if l.medium == medium), template.loop)
        if not loop:  # no loop of its medium yet, and the catalog names none: a new one comes with it
            loop = doc.unique_name(NEW_LOOP_NAMES[medium], {l.name for l in doc.plan.cooling_loops})
        unit = replace(template, name=name, loop=loop, hall=doc.hall().name)
        if template.kind in FLOOR_UNIT_KINDS and pos is not None:
            tile = doc.hall().tile_m
            fp = unit_footprint(replace(unit, x_m=pos[0], y_m=pos[1]))
            dx = snap(fp[0], tile) - fp[0]
            dy = snap(fp[1], tile) - fp[1]
            unit = replace(unit, x_m=round(pos[0] + dx, 6), y_m=round(pos[1] + dy, 6))
            check_placement(doc, [], ignore=set(), units=[unit])
        else:
            unit = replace(unit, x_m=None, y_m=None)
        diff = [("unit", None, unit)]
        if loop and loop not in {l.name for l in doc.plan.cooling_loops}:
            diff.insert(0, ("loop", None, CoolingLoop(loop, medium)))
        super().__init__(doc, f"Add {template.kind.upper()} {short(name)}", diff, select_after=((), (name,)))


class EditUnitsCommand(PlanCommand):
    def __init__(self, doc: PlanDocument, names, values: dict) -> None:
        bad = set(values) - set(UNIT_FIELDS) - {"name"}
        if bad:
            raise EditRefused(f"Not an editable cooling-unit field: {', '.join(sorted(bad))}.")
        units = units_named(doc, names)
        if "name" in values:
            if len(units) != 1:
                raise EditRefused("Rename one cooling unit at a time.")
            values = {**values, "name": check_name(doc, values["name"], units[0].name, "cooling unit")}
        out = [replace(u, **values) for u in units]
        changed = [(a, b) for a, b in zip(units, out) if a != b]
        if not changed:
            raise NoChange("Set")
        if {"x_m", "y_m"} & set(values):
            if any(not on_floor(u) for u in out):
                raise EditRefused("Only CRAHs and CDUs stand on the floor.")
            check_placement(doc, [], ignore=set(), units=out, ignore_units=set(names))
        sel = tuple(u.name for u in out)
        who = ", ".join(short(n) for n in names) if len(units) < 3 else f"{len(units)} units"
        if "name" in values:
            text = f"Rename {who} to {short(values['name'])}"
        elif set(values) <= {"x_m", "y_m"}:
            text = f"Move {who}"
        else:
            text = f"Set {field_text(values)} of {who}"
        super().__init__(doc, text, [("unit", a, b) for a, b in changed], select_after=((), sel))


class ReplacePlanCommand(QUndoCommand):
    """Swap in a whole new plan (CSV import): undo brings the old one back.

    An identical plan (the same files imported again) raises :class:`NoChange`.
    """

    def __init__(self, doc: PlanDocument, plan: Plan, text: str) -> None:
        if plan == doc.plan:
            raise NoChange(text)
        super().__init__(text)
        self.doc, self.new, self.old = doc, plan, doc.plan

    def redo(self) -> None:
        with self.doc.command_running():
            self.doc.swap_plan(self.new)

    def undo(self) -> None:
        with self.doc.command_running():
            self.doc.swap_plan(self.old)


def try_push(doc: PlanDocument, parent, factory, *args, **kwargs) -> bool:
    """Build a command and push it; a refusal is shown (through ``ui.messages``), not raised.

    An edit that changes nothing pushes nothing and says nothing. Edits that arrive while
    a command is executing (focus-out of an editor that the command hides) are dropped.
    """
    from ui import messages

    if doc.executing:
        return False
    try:
        cmd = factory(doc, *args, **kwargs)
    except NoChange:
        return False
    except EditRefused as e:
        messages.warn(parent, "Edit refused", str(e))
        return False
    doc.push(cmd)
    return True
