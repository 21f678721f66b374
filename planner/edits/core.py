"""What an edit of a plan is, how it is applied and undone, and the lookups edits need. No Qt.

The pattern is glue's (``glue/core/command.py``): an edit is plain data computed once, here
an :class:`Edit` holding the exact element swaps ``(kind, old, new)`` (old None adds, new None
removes). Plan elements are never changed in place: an edit swaps the old instance for a new one
(``dataclasses.replace``), and undo swaps them back, so an edit holds exact before/after objects.

A rule function (``planner.edits.racks.move`` and the like) takes a :class:`PlanState` and the
user's input and returns an :class:`Edit`, or raises :class:`EditRefused` with the message to
show (overlap, no free U, name taken); :class:`NoChange` when the edit would change nothing.
The GUI wraps each edit in a ``QUndoCommand`` (``ui.commands``); :class:`EditHistory` is the
same undo/redo without Qt (tests, scripts).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from planner import floor
from planner.floor import FootprintIndex, on_floor, unit_footprint
from planner.plan import CoolingUnit, Hall, Plan, Rack

#: kind -> (Plan attribute, key attribute)
KINDS = {
    "rack": ("racks", "name"),
    "server": ("servers", "name"),
    "unit": ("cooling_units", "name"),
    "server_type": ("server_types", "key"),
    "loop": ("cooling_loops", "name"),
    "feed": ("power_feeds", "name"),
    "hall": ("halls", "name"),
    "job": ("jobs", "name"),
    "scenario": ("scenarios", "name"),
    "site": ("site", None),  # the one Site: old/new swap the whole object
}

#: Medium of the loop each unit kind serves (CRAHs cool air, CDUs the liquid loop, plant the facility water).
UNIT_MEDIUM = {"crah": "air", "cdu": "liquid"}
PLANT_MEDIUM = "facility"

#: Longest rack, unit or row name an edit accepts [characters]: names label racks on the floor,
#: history entries and exports; 64 is NetBox's ``name`` limit for racks.
MAX_NAME_CHARS = 64

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
    """The edit would break a rule (overlap, no space, a bad value); the message says which."""


class NoChange(EditRefused):
    """The edit would change nothing (same value picked again): no edit, no message."""


def loop_medium(kind: str) -> str:
    """Medium of the loop a cooling unit of ``kind`` serves (air, liquid or facility water)."""
    return UNIT_MEDIUM.get(kind, PLANT_MEDIUM)


# ------------------------------------------------------------------ the edit itself
Swap = tuple[str, object, object]


@dataclass(frozen=True)
class Edit:
    """One undoable change of a plan, as plain data.

    text : str  What the history list shows ("Move R01", "Add row B (10 racks)")
    diff : tuple of (kind, old, new)  Element swaps; old None adds, new None removes
    hall : str  Hall the edit was made in (the editor shows it again on undo and redo)
    select : (rack names, unit names) or None  What to select after the edit; None keeps the
        selection (with renamed racks and units following their new names)
    name : str or None  Name of what the edit created or renamed (a new feed, loop, job, ...)
    server : str or None  Server to select after the edit (a server placed or moved)
    """

    text: str
    diff: tuple[Swap, ...]
    hall: str = ""
    select: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    name: str | None = None
    server: str | None = None

    def inverse_diff(self) -> list[Swap]:
        """The swaps that undo this edit (in reverse order)."""
        return [(k, new, old) for k, old, new in reversed(self.diff)]

    def renames(self, kind: str) -> dict[str, str]:
        """``{old name: new name}`` of the ``kind`` elements this edit renames."""
        key = KINDS[kind][1]
        return {getattr(o, key): getattr(n, key) for k, o, n in self.diff
                if k == kind and o is not None and n is not None and getattr(o, key) != getattr(n, key)}


def make_edit(state: "PlanState", text: str, diff, select=None, name: str | None = None,
              server: str | None = None) -> Edit:
    """An :class:`Edit` in the hall ``state`` shows; an empty ``diff`` raises :class:`NoChange`."""
    diff = tuple(diff)
    if not diff:
        raise NoChange(text)
    if select is not None:
        select = (tuple(select[0]), tuple(select[1]))
    return Edit(text, diff, state.hall().name, select, name, server)


@dataclass
class Change:
    """What one :meth:`PlanState.apply` changed, by name."""

    racks_added: set[str] = field(default_factory=set)
    racks_removed: set[str] = field(default_factory=set)
    racks_modified: set[str] = field(default_factory=set)
    server_racks: set[str] = field(default_factory=set)  # racks whose servers changed
    units_added: set[str] = field(default_factory=set)
    units_removed: set[str] = field(default_factory=set)
    units_modified: set[str] = field(default_factory=set)
    other: set[str] = field(default_factory=set)  # kinds: loop / feed / server_type / hall / ...

    @property
    def racks_any(self) -> set[str]:
        return self.racks_added | self.racks_removed | self.racks_modified

    def note(self, kind: str, pairs) -> None:
        """Record the swaps ``pairs`` of elements of ``kind``."""
        for old, new in pairs:
            if kind == "rack":
                _note_named(old, new, self.racks_added, self.racks_removed, self.racks_modified)
            elif kind == "server":
                self.server_racks.update(s.rack for s in (old, new) if s is not None)
            elif kind == "unit":
                _note_named(old, new, self.units_added, self.units_removed, self.units_modified)
            else:
                self.other.add(kind)


def _note_named(old, new, added: set, removed: set, modified: set) -> None:
    if old is None:
        added.add(new.name)
    elif new is None:
        removed.add(old.name)
    elif old.name != new.name:
        removed.add(old.name)
        added.add(new.name)
    else:
        modified.add(new.name)


# ------------------------------------------------------------------ the plan an edit works on
class PlanState:
    """A plan, the hall being edited, and the lookups edits need (cached until the next change).

    A plan may have several halls; placement rules (overlap, inside the hall) apply within a
    hall, and edits that place things place them in :meth:`hall`.
    """

    def __init__(self, plan: Plan, hall_name: str | None = None) -> None:
        self.plan = plan
        self.hall_name: str = hall_name or self._first_hall_name()
        #: bumped by every change of plan data: results computed from an older generation are stale
        self.generation = 0
        self._rack_map: dict[str, Rack] | None = None
        self._unit_map: dict[str, CoolingUnit] | None = None
        self._indexes: dict[str, FootprintIndex] = {}

    def _first_hall_name(self) -> str:
        return self.plan.halls[0].name if self.plan.halls else Hall().name

    def _forget_caches(self) -> None:
        self._rack_map = None
        self._unit_map = None
        self._indexes = {}

    # ----------------------------------------------------------------- halls
    def hall_names(self) -> list[str]:
        return [h.name for h in self.plan.halls]

    def hall(self) -> Hall:
        """The hall being edited (the first if the name is gone)."""
        for h in self.plan.halls:
            if h.name == self.hall_name:
                return h
        return self.plan.halls[0] if self.plan.halls else Hall()

    def unit_hall(self, u: CoolingUnit) -> str:
        """Hall a cooling unit stands in (units saved without one belong to the first hall)."""
        return floor.unit_hall(self.plan, u)

    def in_hall(self, element) -> bool:
        """True if a rack or cooling unit belongs to the hall being edited."""
        hall = element.hall if isinstance(element, Rack) else self.unit_hall(element)
        return hall == self.hall().name

    def racks_here(self) -> list[Rack]:
        """Racks of the hall being edited, in plan order."""
        name = self.hall().name
        return [r for r in self.plan.racks if r.hall == name]

    def units_here(self) -> list[CoolingUnit]:
        """Floor cooling units of the hall being edited."""
        return [u for u in self.plan.cooling_units if on_floor(u) and self.in_hall(u)]

    # --------------------------------------------------------------- lookups
    def rack_map(self) -> dict[str, Rack]:
        if self._rack_map is None:
            self._rack_map = {r.name: r for r in self.plan.racks}
        return self._rack_map

    def rack(self, name: str) -> Rack | None:
        return self.rack_map().get(name)

    def unit(self, name: str) -> CoolingUnit | None:
        if self._unit_map is None:
            self._unit_map = {u.name: u for u in self.plan.cooling_units}
        return self._unit_map.get(name)

    def servers_in(self, rack: str) -> list:
        return [s for s in self.plan.servers if s.rack == rack]

    def element_names(self) -> set[str]:
        """Names of every rack and cooling unit: they share one namespace (problems, labels)."""
        return set(self.rack_map()) | {u.name for u in self.plan.cooling_units}

    @staticmethod
    def unique_name(base: str, taken: set[str]) -> str:
        """``base`` or ``base`` with the next free number (``R07`` -> ``R08``, ``X`` -> ``X-2``)."""
        return unique_name(base, taken)

    # ----------------------------------------------------------- floor rules
    def floor_index(self, hall: str | None = None) -> FootprintIndex:
        """Spatial index of the racks (key ``("rack", name)``) and floor units (``("unit", name)``)
        of ``hall`` (default: the hall being edited). Built on first use after a change."""
        hall = hall or self.hall().name
        index = self._indexes.get(hall)
        if index is None:
            index = self._indexes[hall] = floor.hall_index(self.plan, hall)
        return index

    def floor_indexes(self) -> dict[str, FootprintIndex]:
        """The per-hall spatial indexes kept until the next rack/unit change (for ``planner.floor``
        calls that take ``indexes``: they add missing halls, never change one)."""
        return self._indexes

    def conflicts(self, racks: list[Rack] = (), units: list[CoolingUnit] = (), ignore: set[str] = frozenset(),
                  ignore_units: set[str] = frozenset()) -> list[floor.Conflict]:
        """``planner.floor.placement_conflicts`` of racks and units at proposed positions; racks named
        in ``ignore`` and units in ``ignore_units`` (usually the ones being moved) are left out."""
        skip = {floor.rack_key(n) for n in ignore} | {floor.unit_key(n) for n in ignore_units}
        return floor.placement_conflicts(self.plan, racks, units, ignore=skip, indexes=self.floor_indexes())

    def overlapping(self, candidates: list[Rack], ignore: set[str] = frozenset(),
                    units: list[CoolingUnit] = (), ignore_units: set[str] = frozenset()) -> list[tuple[str, str]]:
        """Pairs (candidate, other) of names whose footprints overlap, within the candidate's hall
        (see :meth:`conflicts`)."""
        return [(c.element[1], c.other[1]) for c in self.conflicts(candidates, units, ignore, ignore_units)
                if not c.outside]

    def outside_hall(self, candidates: list[Rack], units: list[CoolingUnit] = ()) -> list[str]:
        """Names of racks and floor units whose footprint leaves their hall's floor."""
        out = []
        halls = {h.name: h for h in self.plan.halls}
        for r in candidates:
            if floor.leaves_hall(r.footprint(), halls.get(r.hall, self.hall())):
                out.append(r.name)
        for u in units:
            box = unit_footprint(u)
            if box is not None and floor.leaves_hall(box, halls.get(self.unit_hall(u), self.hall())):
                out.append(u.name)
        return out

    def free_spot(self, w: float, d: float, near: tuple[float, float],
                  ignore: set[str] = frozenset()) -> tuple[float, float] | None:
        """Top-left corner on the tile grid of the hall being edited, nearest ``near``, where a
        ``w`` x ``d`` box [m] fits; None if the floor is full."""
        h = self.hall()
        return self.floor_index().free_spot((0.0, 0.0, h.width_m, h.depth_m), w, d, near, h.tile_m,
                                            {("rack", n) for n in ignore})

    # ---------------------------------------------------------------- change
    def positions(self, kind: str, elements) -> dict[int, int]:
        """``{id(element): index}`` of ``elements`` in the plan list of ``kind``."""
        want = {id(e) for e in elements}
        if not want:
            return {}
        items = getattr(self.plan, KINDS[kind][0])
        return {id(x): i for i, x in enumerate(items) if id(x) in want}

    def removal_positions(self, diff) -> dict[int, int]:
        """List positions of the elements ``diff`` removes: undo puts them back there."""
        out: dict[int, int] = {}
        for kind in {k for k, _o, n in diff if n is None}:
            out.update(self.positions(kind, [o for k, o, n in diff if k == kind and n is None]))
        return out

    def apply(self, diff, positions: dict[int, int] | None = None) -> Change:
        """Swap plan elements: each entry ``(kind, old, new)``; old None adds, new None removes.

        Keeps list order for replaced elements. Additions go to the end, or to the index
        ``positions[id(new)]`` (undo of a delete puts elements back where they were, so exports
        keep their order).
        """
        positions = positions or {}
        change = Change()
        by_kind: dict[str, list[tuple[object, object]]] = {}
        for kind, old, new in diff:
            by_kind.setdefault(kind, []).append((old, new))
        self.generation += 1
        for kind, pairs in by_kind.items():
            attr, _ = KINDS[kind]
            if kind == "site":
                self.plan.site = pairs[-1][1]
                change.other.add(kind)
                continue
            replaced = {id(o): n for o, n in pairs if o is not None and n is not None}
            removed = {id(o) for o, n in pairs if o is not None and n is None}
            added = [n for o, n in pairs if o is None and n is not None]
            items = getattr(self.plan, attr)
            new_items = [replaced.get(id(x), x) for x in items if id(x) not in removed]
            placed = sorted((positions[id(n)], i, n) for i, n in enumerate(added) if id(n) in positions)
            for index, _i, n in placed:
                new_items.insert(min(index, len(new_items)), n)
            new_items.extend(n for n in added if id(n) not in positions)
            setattr(self.plan, attr, new_items)
            change.note(kind, pairs)
        if by_kind.keys() & {"rack", "unit", "hall"}:
            self._forget_caches()
        return change


class EditHistory:
    """Undo and redo of :class:`Edit` s on a :class:`PlanState`, without Qt.

    The GUI keeps its history in a ``QUndoStack`` (menus, the history list); this is the same
    bookkeeping for tests and scripts: :meth:`do` applies an edit, :meth:`undo` swaps back (removed
    elements return to their list positions), :meth:`redo` applies again; a new edit clears redo.
    """

    def __init__(self, state: PlanState) -> None:
        self.state = state
        self._done: list[tuple[Edit, dict[int, int]]] = []
        self._undone: list[Edit] = []

    def do(self, edit: Edit) -> Change:
        positions = self.state.removal_positions(edit.diff)
        change = self.state.apply(edit.diff)
        self._done.append((edit, positions))
        self._undone.clear()
        return change

    def undo(self) -> Change:
        if not self._done:
            raise IndexError("nothing to undo")
        edit, positions = self._done.pop()
        self._undone.append(edit)
        return self.state.apply(edit.inverse_diff(), positions)

    def redo(self) -> Change:
        if not self._undone:
            raise IndexError("nothing to redo")
        edit = self._undone.pop()
        positions = self.state.removal_positions(edit.diff)
        self._done.append((edit, positions))
        return self.state.apply(edit.diff)

    @property
    def undo_text(self) -> str:
        return self._done[-1][0].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    def __len__(self) -> int:
        return len(self._done)


# ------------------------------------------------------------------ helpers the rules share
def unique_name(base: str, taken: set[str]) -> str:
    """``base`` or ``base`` with the next free number (``R07`` -> ``R08``, ``X`` -> ``X-2``)."""
    if base not in taken:
        return base
    stem = base.rstrip("0123456789")
    digits = base[len(stem):]
    n = int(digits) if digits else 1
    width = len(digits)
    sep = "" if digits else "-"
    while True:
        n += 1
        cand = f"{stem}{sep}{n:0{width}d}"
        if cand not in taken:
            return cand


def field_text(values) -> str:
    """``"power budget"`` for ``{"power_budget_kw": ...}``: human labels, each once."""
    return ", ".join(dict.fromkeys(FIELD_LABELS.get(f, f.replace("_", " ")) for f in values))


def short(name: str, limit: int = 40) -> str:
    """A name for messages and history entries, elided in the middle if very long."""
    return name if len(name) <= limit else f"{name[:limit // 2 - 1]}…{name[-(limit // 2 - 1):]}"


def finite(name: str, v, lo: float | None = None, hi: float | None = None, strict: bool = False) -> None:
    """Refuse ``v`` unless it is a finite number in [lo, hi] ((lo, hi] if ``strict``), naming the field."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise EditRefused(f"{name} must be a number, got {v!r}.")
    if lo is not None and (v <= lo if strict else v < lo):
        raise EditRefused(f"{name} must be {'>' if strict else '≥'} {lo:g}, got {v:g}.")
    if hi is not None and v > hi:
        raise EditRefused(f"{name} must be ≤ {hi:g}, got {v:g}.")


def new_name(new: str, taken, what: str) -> str:
    """``new`` stripped, or refused: empty, longer than ``MAX_NAME_CHARS`` or in ``taken``."""
    new = (new or "").strip()
    if not new:
        raise EditRefused(f"A {what} name cannot be empty.")
    if len(new) > MAX_NAME_CHARS:
        raise EditRefused(f"A {what} name can have at most {MAX_NAME_CHARS} characters (this one has {len(new)}).")
    if new in taken:
        raise EditRefused(f"There is already a {what} named {short(new)}.")
    return new


def check_fields(values: dict, allowed, what: str) -> None:
    """Refuse ``values`` that set a field not in ``allowed``, naming it (``what``: "rack", "job", ...)."""
    bad = set(values) - set(allowed)
    if bad:
        raise EditRefused(f"Not an editable {what} field: {', '.join(sorted(bad))}.")


def element_named(state: PlanState, kind: str, name: str, what: str):
    """The ``kind`` element called ``name`` (``what`` names the kind in the refusal), or refused."""
    attr, key = KINDS[kind]
    found = next((x for x in getattr(state.plan, attr) if getattr(x, key) == name), None)
    if found is None:
        raise EditRefused(f"No {what} named {short(name)}.")
    return found


def edited(state: PlanState, kind: str, name: str, values: dict, allowed, what: str, check=None):
    """``(old, new, values)`` for setting ``values`` on the ``kind`` element ``name``.

    Refused: a field not in ``allowed``, no such element, a new name that is empty, too long or
    taken by another element of the kind, or what ``check(new)`` refuses; :class:`NoChange` if the
    values are the ones it has. ``values`` comes back with the new name stripped.
    """
    check_fields(values, allowed, what)
    old = element_named(state, kind, name, what)
    if "name" in values:
        attr, key = KINDS[kind]
        taken = {getattr(x, key) for x in getattr(state.plan, attr)} - {name}
        values = {**values, "name": new_name(values["name"], taken, what)}
    new = replace(old, **values)
    if new == old:
        raise NoChange(f"Set {what}")
    if check is not None:
        check(new)
    return old, new, values


def removal(state: PlanState, kind: str, names, verb: str, plural: str, nothing: str) -> tuple[list, str]:
    """The swaps removing the ``kind`` elements called ``names`` and the history text; refused with
    ``nothing`` if none exists."""
    names = set(names)
    attr, key = KINDS[kind]
    diff = [(kind, x, None) for x in getattr(state.plan, attr) if getattr(x, key) in names]
    if not diff:
        raise EditRefused(nothing)
    text = f"{verb} {short(getattr(diff[0][1], key))}" if len(diff) == 1 else f"{verb} {len(diff)} {plural}"
    return diff, text


def new_plan() -> Plan:
    """An empty plan with one 30 m x 20 m hall, one air loop and an A/B feed pair.

    Defaults are the ``planner.plan`` dataclass defaults; the feeds are 415 V, 63 A three-phase
    PDU circuits (the PowerFeed defaults).
    """
    from planner.plan import CoolingLoop, PowerFeed

    return Plan(halls=[Hall()], cooling_loops=[CoolingLoop("Air loop 1", "air")],
                power_feeds=[PowerFeed("Feed A1", side="A", redundancy_group="1"),
                             PowerFeed("Feed B1", side="B", redundancy_group="1")])


__all__ = ["KINDS", "UNIT_MEDIUM", "PLANT_MEDIUM", "MAX_NAME_CHARS", "FIELD_LABELS", "EditRefused", "NoChange",
           "loop_medium", "Edit", "make_edit", "Change", "PlanState", "EditHistory", "unique_name", "field_text",
           "short", "finite", "new_name", "check_fields", "element_named", "edited", "removal", "new_plan"]
