"""Undoable edits for the GUI: each ``QUndoCommand`` here carries one Qt-free
:class:`planner.edits.Edit`.

The rules (what an edit changes, and whether it is allowed: overlap, no free U, a taken name, a
bad value) live in :mod:`planner.edits`, once, for the GUI and any script. This module only maps
them onto Qt's undo stack: a factory such as :data:`MoveCommand` calls the rule with the
:class:`~ui.document.PlanDocument` as its plan state and wraps the :class:`~planner.edits.Edit` in a
:class:`PlanCommand`; redo/undo hand its swaps (or their inverse) to :meth:`PlanDocument.apply`
and restore the selection around them. A rule that refuses raises
:class:`~planner.edits.EditRefused` and nothing is pushed (:func:`try_push` shows the message).
"""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from planner.edits import plant, racks, scenarios, servers
from planner.edits.core import Edit, EditRefused, NoChange, short  # noqa: F401  (NoChange, short: the editor's names)
from planner.edits.plant import racks_on_feeds, racks_on_loop  # noqa: F401  (the editor's names for the rules)
from planner.edits.racks import check_placement, snap  # noqa: F401  (the editor's names for the rules)
from planner.edits.servers import fits  # noqa: F401  (the editor's name for the rule)
from planner.plan import Plan
from ui.document import PlanDocument


class PlanCommand(QUndoCommand):
    """One :class:`~planner.edits.Edit` on the undo stack: apply its swaps on redo and their inverse
    on undo, showing the hall it was made in and restoring the selection around it.

    Undo puts removed elements back at their list positions (exports keep their order). The
    selection after the edit is the edit's own (what it added) or the one before, with renamed
    racks and units following their new names.
    """

    def __init__(self, doc: PlanDocument, edit: Edit) -> None:
        super().__init__(edit.text)
        self.doc, self.edit = doc, edit
        #: name of what the edit created or renamed; the server it placed or moved
        self.name, self.server_name = edit.name, edit.server
        self.select_before = (doc.selected_racks, doc.selected_units)
        if edit.select is not None:
            self.select_after = edit.select
        else:
            rr, ur = edit.renames("rack"), edit.renames("unit")
            after = tuple(rr.get(n, n) for n in doc.selected_racks) or tuple(rr.values())
            self.select_after = (after, tuple(ur.get(n, n) for n in doc.selected_units))
        self.undo_positions = doc.removal_positions(edit.diff)

    def redo(self) -> None:
        with self.doc.command_running():
            self.doc.show_hall(self.edit.hall)
            self.doc.apply(self.edit.diff)
            self.doc.set_selection(*self.select_after)
            if self.server_name is not None:
                self.doc.set_selected_server(self.server_name)

    def undo(self) -> None:
        with self.doc.command_running():
            self.doc.show_hall(self.edit.hall)
            self.doc.apply(self.edit.inverse_diff(), self.undo_positions)
            self.doc.set_selection(*self.select_before)


def _command(rule, name: str):
    """A factory ``name(doc, *args, **kwargs)`` -> :class:`PlanCommand` of ``rule(doc, *args, **kwargs)``."""
    def factory(doc: PlanDocument, *args, **kwargs) -> PlanCommand:
        return PlanCommand(doc, rule(doc, *args, **kwargs))

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"Undoable :func:`{rule.__module__}.{rule.__name__}`.\n\n{rule.__doc__ or ''}"
    return factory


# floor (planner.edits.racks)
AddRacksCommand = _command(racks.add_racks, "AddRacksCommand")
DeleteCommand = _command(racks.delete, "DeleteCommand")
MoveCommand = _command(racks.move, "MoveCommand")
RotateCommand = _command(racks.rotate, "RotateCommand")
DuplicateCommand = _command(racks.duplicate, "DuplicateCommand")
AlignCommand = _command(racks.align, "AlignCommand")
EditRacksCommand = _command(racks.edit_racks, "EditRacksCommand")
RenameRackCommand = _command(racks.rename_rack, "RenameRackCommand")
EditHallCommand = _command(racks.edit_hall, "EditHallCommand")
add_row_at = _command(racks.add_row_at, "add_row_at")
# servers (planner.edits.servers)
AddServerCommand = _command(servers.add_server, "AddServerCommand")
MoveServerCommand = _command(servers.move_server, "MoveServerCommand")
RemoveServersCommand = _command(servers.remove_servers, "RemoveServersCommand")
# plant (planner.edits.plant)
AddCoolingUnitCommand = _command(plant.add_cooling_unit, "AddCoolingUnitCommand")
EditUnitsCommand = _command(plant.edit_units, "EditUnitsCommand")
AddFeedCommand = _command(plant.add_feed, "AddFeedCommand")
EditFeedCommand = _command(plant.edit_feed, "EditFeedCommand")
DeleteFeedsCommand = _command(plant.delete_feeds, "DeleteFeedsCommand")
AddLoopCommand = _command(plant.add_loop, "AddLoopCommand")
RenameLoopCommand = _command(plant.rename_loop, "RenameLoopCommand")
DeleteLoopCommand = _command(plant.delete_loop, "DeleteLoopCommand")
EditLoopCommand = _command(plant.set_loop_parent, "EditLoopCommand")
# site, scenarios, jobs (planner.edits.scenarios)
EditSiteCommand = _command(scenarios.edit_site, "EditSiteCommand")
EditScenarioCommand = _command(scenarios.edit_scenario, "EditScenarioCommand")
AddScenarioCommand = _command(scenarios.add_scenario, "AddScenarioCommand")
DeleteScenarioCommand = _command(scenarios.delete_scenario, "DeleteScenarioCommand")
EditJobCommand = _command(scenarios.edit_job, "EditJobCommand")
AddJobCommand = _command(scenarios.add_job, "AddJobCommand")
DeleteJobsCommand = _command(scenarios.delete_jobs, "DeleteJobsCommand")
ReplaceJobsCommand = _command(scenarios.replace_jobs, "ReplaceJobsCommand")


def add_rack_at(doc: PlanDocument, near: tuple[float, float]) -> PlanCommand:
    """A rack at the free tile-grid spot nearest ``near`` [m], like the selected rack if one is selected."""
    return PlanCommand(doc, racks.add_rack_at(doc, near, like=doc.selected_racks[0] if doc.selected_racks else None))


def next_row_letter(doc: PlanDocument) -> str:
    """The first row name no rack of the plan uses (the Add Row dialog's suggestion)."""
    return racks.next_row_letter(doc.plan)


def find_free_spot(doc: PlanDocument, w: float, d: float, near: tuple[float, float],
                   ignore: set[str] = frozenset()) -> tuple[float, float] | None:
    """Top-left corner on the tile grid nearest ``near`` where a ``w`` x ``d`` box fits [m]."""
    return doc.free_spot(w, d, near, ignore)


def default_scenario(doc: PlanDocument):
    """``planner.edits.scenarios.default_scenario`` of the open plan."""
    return scenarios.default_scenario(doc.plan)


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
