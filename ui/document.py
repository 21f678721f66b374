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
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from planner.checks import check_plan, plan_totals, rack_problem_severity
from planner.edits.core import Change, PlanState, new_plan  # noqa: F401  (new_plan: the editor's name for it)
from planner.floor import (  # noqa: F401  (the editor's names for planner.floor's rules)
    FLOOR_UNIT_KINDS,
    on_floor,
    unit_footprint,
    unit_size,
)
from planner.plan import Plan


class PlanDocument(QObject, PlanState):
    """One open plan: the data, where it lives on disk, undo stack, selection and problems.

    The plan, the hall shown and the lookups edits need are :class:`planner.edits.PlanState`
    (Qt-free; the edit rules take this document as their state); this adds the signals, the
    ``QUndoStack``, the selection and the debounced problem check. A plan may have several halls;
    the editor shows one at a time (:attr:`hall_name`).
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
        # cooperative: QObject.__init__ passes ``plan`` on to PlanState.__init__
        super().__init__(parent, plan=plan if plan is not None else new_plan())
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.path: Path | None = Path(path) if path else None
        #: ``models.store.disk_stamp`` of :attr:`path` when it was read or last saved (None: unknown);
        #: a save over the file checks it, so another program's save is never silently overwritten
        self.disk_stamp: tuple | None = None
        self.selected_racks: tuple[str, ...] = ()
        self.selected_units: tuple[str, ...] = ()
        self.selected_server: str | None = None
        self.problems: list = []
        self.rack_severity: dict[str, str] = {}
        self.last_check_s: float = 0.0
        #: > 0 while a command's redo/undo runs: editors must not push commands from the
        #: focus-out and selection signals that a command itself causes
        self.executing = 0
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
    def show_hall(self, name: str) -> None:
        """Show another hall of the plan (not an edit: no undo step); clears the selection."""
        if name == self.hall_name or name not in self.hall_names():
            return
        self.hall_name = name
        self.selected_racks, self.selected_units, self.selected_server = (), (), None
        self.sigHallChanged.emit()
        self.sigSelectionChanged.emit()

    # --------------------------------------------------------------- lookups
    def totals(self):
        """Status-bar totals (``planner.checks.plan_totals``: racks, servers, GPUs, kW)."""
        return plan_totals(self.plan)

    # ---------------------------------------------------------------- checks
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

    def apply(self, diff, positions: dict[int, int] | None = None) -> Change:
        """:meth:`PlanState.apply` (swap plan elements), then announce the change once and
        schedule the problem check. Called only by commands (redo with the diff, undo with its inverse)."""
        change = PlanState.apply(self, diff, positions)
        self.sigPlanChanged.emit(change)
        self.schedule_validation()
        return change
