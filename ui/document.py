"""The open plan as the GUI sees it: a ``Plan`` dataclass, its undo stack, the selection.

Rules that keep undo and threading simple:

* Plan elements (``Rack``, ``Server``, ``CoolingUnit``, ...) are treated as
  immutable here. An edit never changes an object in place: a command swaps
  the old instance for a new one (``dataclasses.replace``) through
  :meth:`PlanDocument.apply`. Undo swaps them back. So a command holds exact
  before/after objects, and :meth:`snapshot` (a copy of the lists only) is a
  consistent, thread-safe picture of the plan for autosave and validation.
* Every change is announced once per command with a :class:`Change` through
  ``sigPlanChanged`` (no per-item signal storm when 5,000 racks move).
* During a drag the view moves its items itself and announces progress with
  ``sigRacksChanging``; only the drop pushes a command (one undo step).
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from planner import floor
from planner.checks import check_plan, plan_totals, rack_problem_severity
from planner.floor import (  # noqa: F401  (the editor's names for planner.floor's rules)
    FLOOR_UNIT_KINDS,
    OVERLAP_EPS_M,
    UNIT_FOOTPRINT_M,
    FootprintIndex,
    on_floor,
    unit_footprint,
    unit_size,
)
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

#: Longest rack, unit or row name the editor accepts [characters]: names label racks on the
#: floor, history entries and exports; 64 is NetBox's ``name`` limit for racks.
MAX_NAME_CHARS = 64


def loop_medium(kind: str) -> str:
    return UNIT_MEDIUM.get(kind, PLANT_MEDIUM)


@dataclass
class Change:
    """What one :meth:`PlanDocument.apply` changed, by name."""

    racks_added: set[str] = field(default_factory=set)
    racks_removed: set[str] = field(default_factory=set)
    racks_modified: set[str] = field(default_factory=set)
    server_racks: set[str] = field(default_factory=set)  # racks whose servers changed
    units_added: set[str] = field(default_factory=set)
    units_removed: set[str] = field(default_factory=set)
    units_modified: set[str] = field(default_factory=set)
    other: set[str] = field(default_factory=set)  # kinds: loop / feed / server_type / hall

    @property
    def racks_any(self) -> set[str]:
        return self.racks_added | self.racks_removed | self.racks_modified


class PlanDocument(QObject):
    """One open plan: the data, where it lives on disk, undo stack, selection and problems.

    A plan may have several halls; the editor shows one at a time (:attr:`hall_name`),
    and placement rules (overlap, inside the hall) apply within a hall.
    """

    sigPlanReplaced = Signal()  # a whole new plan (open, new, import): rebuild everything
    sigHallChanged = Signal()  # another hall is shown: rebuild the floor
    sigPlanChanged = Signal(object)  # Change, after each command
    sigRacksChanging = Signal(object)  # {rack name: (x_m, y_m)} while a drag is in progress
    sigSelectionChanged = Signal()
    sigServerSelectionChanged = Signal()
    sigProblemsChanged = Signal()
    sigDirtyChanged = Signal(bool)
    sigPathChanged = Signal(object)  # Path | None

    VALIDATE_DELAY_MS = 150

    def __init__(self, plan: Plan | None = None, path: Path | None = None, parent=None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.plan: Plan = plan if plan is not None else new_plan()
        self.path: Path | None = Path(path) if path else None
        #: ``models.store.disk_stamp`` of :attr:`path` when it was read or last saved (None: unknown);
        #: a save over the file checks it, so another program's save is never silently overwritten
        self.disk_stamp: tuple | None = None
        self.hall_name: str = self._first_hall_name()
        self.selected_racks: tuple[str, ...] = ()
        self.selected_units: tuple[str, ...] = ()
        self.selected_server: str | None = None
        self.problems: list = []
        self.rack_severity: dict[str, str] = {}
        self.last_check_s: float = 0.0
        #: > 0 while a command's redo/undo runs: editors must not push commands from the
        #: focus-out and selection signals that a command itself causes
        self.executing = 0
        #: bumped by every change of plan data (edit, undo, redo, new plan): results computed
        #: from an older generation are stale
        self.generation = 0
        self._rack_map: dict[str, Rack] | None = None
        self._unit_map: dict[str, CoolingUnit] | None = None
        self._indexes: dict[str, FootprintIndex] = {}
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(self.VALIDATE_DELAY_MS)
        self._validate_timer.timeout.connect(self.validate_now)
        self._validate_timer.start()

    # ----------------------------------------------------------------- state
    def _clean_changed(self, clean: bool) -> None:
        self.sigDirtyChanged.emit(not clean)

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def display_name(self) -> str:
        return self.path.name if self.path else "Untitled"

    def _first_hall_name(self) -> str:
        return self.plan.halls[0].name if self.plan.halls else Hall().name

    def _forget_caches(self) -> None:
        self._rack_map = None
        self._unit_map = None
        self._indexes = {}

    def set_plan(self, plan: Plan, path: Path | None, dirty: bool = False) -> None:
        """Replace the whole plan (open/new/recover); clears undo history."""
        self.plan = plan
        self.disk_stamp = None
        self.generation += 1
        self._forget_caches()
        self.hall_name = self._first_hall_name()
        self.undo_stack.clear()
        if dirty:
            # An empty, obsolete clean index makes the stack report "modified".
            self.undo_stack.resetClean()
        self.set_path(path)
        self.selected_racks, self.selected_units, self.selected_server = (), (), None
        self.problems, self.rack_severity = [], {}
        self.sigPlanReplaced.emit()
        self.sigSelectionChanged.emit()
        self.sigDirtyChanged.emit(self.dirty)
        self.validate_now()

    def swap_plan(self, plan: Plan) -> None:
        """Replace the plan as part of an undoable command (CSV import)."""
        self.plan = plan
        self.generation += 1
        self._forget_caches()
        if self.hall_name not in self.hall_names():
            self.hall_name = self._first_hall_name()
        racks = self.rack_map()
        self.selected_racks = tuple(n for n in self.selected_racks if n in racks and self.in_hall(racks[n]))
        self.selected_units = ()
        self.selected_server = None
        self.sigPlanReplaced.emit()
        self.sigSelectionChanged.emit()
        self.schedule_validation()

    def set_path(self, path: Path | None) -> None:
        self.path = Path(path) if path else None
        self.sigPathChanged.emit(self.path)

    def mark_saved(self, path: Path) -> None:
        self.set_path(path)
        self.undo_stack.setClean()

    def snapshot(self) -> Plan:
        """A consistent copy for another thread: new lists, shared (never mutated) elements.

        Copying nine list references costs microseconds even for 5,000 racks, so autosave
        and file jobs can take one on the GUI thread without a stall.
        """
        p = self.plan
        return replace(
            p, halls=list(p.halls), server_types=list(p.server_types), racks=list(p.racks),
            servers=list(p.servers), cooling_loops=list(p.cooling_loops),
            cooling_units=list(p.cooling_units), power_feeds=list(p.power_feeds),
            jobs=list(p.jobs), scenarios=list(p.scenarios))

    @contextmanager
    def command_running(self):
        """Marks the execution of a command's redo/undo (see :attr:`executing`)."""
        self.executing += 1
        try:
            yield
        finally:
            self.executing -= 1

    # ----------------------------------------------------------------- halls
    def hall_names(self) -> list[str]:
        return [h.name for h in self.plan.halls]

    def hall(self) -> Hall:
        """The hall shown in the editor."""
        for h in self.plan.halls:
            if h.name == self.hall_name:
                return h
        return self.plan.halls[0] if self.plan.halls else Hall()

    def show_hall(self, name: str) -> None:
        """Show another hall of the plan (not an edit: no undo step); clears the selection."""
        if name == self.hall_name or name not in self.hall_names():
            return
        self.hall_name = name
        self.selected_racks, self.selected_units, self.selected_server = (), (), None
        self.sigHallChanged.emit()
        self.sigSelectionChanged.emit()

    def unit_hall(self, u: CoolingUnit) -> str:
        """Hall a cooling unit stands in (units saved without one belong to the first hall)."""
        return floor.unit_hall(self.plan, u)

    def in_hall(self, element) -> bool:
        """True if a rack or cooling unit belongs to the hall shown."""
        hall = element.hall if isinstance(element, Rack) else self.unit_hall(element)
        return hall == self.hall().name

    def racks_here(self) -> list[Rack]:
        """Racks of the hall shown, in plan order."""
        name = self.hall().name
        return [r for r in self.plan.racks if r.hall == name]

    def units_here(self) -> list[CoolingUnit]:
        """Floor cooling units of the hall shown."""
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

    def unique_name(self, base: str, taken: set[str]) -> str:
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

    def totals(self):
        """Status-bar totals (``planner.checks.plan_totals``: racks, servers, GPUs, kW)."""
        return plan_totals(self.plan)

    # ---------------------------------------------------------------- checks
    def floor_index(self, hall: str | None = None) -> FootprintIndex:
        """Spatial index of the racks (key ``("rack", name)``) and floor units (``("unit", name)``)
        of ``hall`` (default: the hall shown). Built on first use after a change."""
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
        """Top-left corner on the tile grid of the hall shown, nearest ``near``, where a
        ``w`` x ``d`` box [m] fits; None if the floor is full."""
        h = self.hall()
        return self.floor_index().free_spot((0.0, 0.0, h.width_m, h.depth_m), w, d, near, h.tile_m,
                                            {("rack", n) for n in ignore})

    def schedule_validation(self) -> None:
        self._validate_timer.start()

    def validate_now(self) -> None:
        """Run the plan checks (``planner.checks.check_plan``) and publish problems."""
        self._validate_timer.stop()
        t0 = time.perf_counter()
        problems = check_plan(self.plan)
        self.last_check_s = time.perf_counter() - t0
        sev = rack_problem_severity(problems)
        self.problems = problems
        self.rack_severity = sev
        self.sigProblemsChanged.emit()

    # ------------------------------------------------------------- selection
    def set_selection(self, racks=(), units=()) -> None:
        racks, units = tuple(racks), tuple(units)
        if racks == self.selected_racks and units == self.selected_units:
            return
        self.selected_racks, self.selected_units = racks, units
        if self.selected_server is not None:
            self.selected_server = None
            self.sigServerSelectionChanged.emit()
        self.sigSelectionChanged.emit()

    def set_selected_server(self, name: str | None) -> None:
        if name != self.selected_server:
            self.selected_server = name
            self.sigServerSelectionChanged.emit()

    # ----------------------------------------------------------------- edits
    def push(self, command) -> None:
        self.undo_stack.push(command)

    def positions(self, kind: str, elements) -> dict[int, int]:
        """``{id(element): index}`` of ``elements`` in the plan list of ``kind``."""
        want = {id(e) for e in elements}
        if not want:
            return {}
        items = getattr(self.plan, KINDS[kind][0])
        return {id(x): i for i, x in enumerate(items) if id(x) in want}

    def apply(self, diff: list[tuple[str, object, object]], positions: dict[int, int] | None = None) -> Change:
        """Swap plan elements: each entry ``(kind, old, new)``; old None adds, new None removes.

        Called only by commands (redo with the diff, undo with its inverse).
        Keeps list order for replaced elements. Additions go to the end, or to the index
        ``positions[id(new)]`` (undo of a delete puts elements back where they were, so
        exports keep their order).
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
            self._note(kind, pairs, change)
        if by_kind.keys() & {"rack", "unit", "hall"}:
            self._forget_caches()
        self.sigPlanChanged.emit(change)
        self.schedule_validation()
        return change

    @staticmethod
    def _note(kind: str, pairs, change: Change) -> None:
        for old, new in pairs:
            if kind == "rack":
                if old is None:
                    change.racks_added.add(new.name)
                elif new is None:
                    change.racks_removed.add(old.name)
                elif old.name != new.name:
                    change.racks_removed.add(old.name)
                    change.racks_added.add(new.name)
                else:
                    change.racks_modified.add(new.name)
            elif kind == "server":
                for s in (old, new):
                    if s is not None:
                        change.server_racks.add(s.rack)
            elif kind == "unit":
                if old is None:
                    change.units_added.add(new.name)
                elif new is None:
                    change.units_removed.add(old.name)
                elif old.name != new.name:
                    change.units_removed.add(old.name)
                    change.units_added.add(new.name)
                else:
                    change.units_modified.add(new.name)
            else:
                change.other.add(kind)


def new_plan() -> Plan:
    """An empty plan with one 30 m x 20 m hall, one air loop and an A/B feed pair.

    Defaults are the ``planner.plan`` dataclass defaults; the feeds are 415 V,
    63 A three-phase PDU circuits (the PowerFeed defaults).
    """
    from planner.plan import CoolingLoop, PowerFeed

    return Plan(halls=[Hall()], cooling_loops=[CoolingLoop("Air loop 1", "air")],
                power_feeds=[PowerFeed("Feed A1", side="A", redundancy_group="1"),
                             PowerFeed("Feed B1", side="B", redundancy_group="1")])
