"""The GUI's undo commands on a ``PlanDocument`` alone: no window, no widgets, no event loop.

The rules are tested without Qt in ``test_edits.py``; these tests check what ``ui.commands`` adds
on top: one ``QUndoStack`` entry per edit with its text, the selection after and before, the hall
shown on undo and redo, one ``sigPlanChanged`` per command, and refusals that push nothing.
"""
from __future__ import annotations

import pytest

from planner.plan import Hall, Rack
from sample_plans import small_plan

pytestmark = pytest.mark.gui  # QUndoCommand: needs the Qt library, not a screen


@pytest.fixture
def doc(qapp):
    from ui.document import PlanDocument

    return PlanDocument(small_plan())


def push(doc, factory, *args, **kwargs):
    cmd = factory(doc, *args, **kwargs)
    doc.push(cmd)
    return cmd


def test_each_factory_wraps_the_planner_rule_of_the_same_edit(doc):
    from planner.edits import plant, racks
    from ui import commands as cmds

    cmd = cmds.RenameRackCommand(doc, "R01", "A-01")
    assert isinstance(cmd, cmds.PlanCommand) and cmd.edit == racks.rename_rack(doc, "R01", "A-01")
    assert cmds.AddFeedCommand(doc).edit == plant.add_feed(doc)
    assert cmds.RenameRackCommand.__name__ == "RenameRackCommand" and "Rename a rack" in cmds.RenameRackCommand.__doc__


def test_selection_follows_the_edit_and_comes_back_on_undo(doc):
    from ui import commands as cmds

    doc.set_selection(["R02"])
    push(doc, cmds.add_rack_at, (10.0, 1.0))
    (name,) = doc.selected_racks
    assert doc.rack(name).row == "R" and (doc.rack(name).feed_a, doc.rack(name).feed_b) == (None, None)
    doc.undo_stack.undo()
    assert doc.selected_racks == ("R02",) and doc.rack(name) is None
    doc.set_selection(["R01", "R03"])
    push(doc, cmds.RenameRackCommand, "R01", "A-01")  # a renamed rack stays selected under its new name
    assert doc.selected_racks == ("A-01", "R03") and doc.undo_stack.undoText() == "Rename R01 to A-01"
    doc.undo_stack.undo()
    assert doc.selected_racks == ("R01", "R03")


def test_a_placed_server_is_selected_and_undo_clears_it(doc):
    from sample_plans import H100
    from ui import commands as cmds

    cmd = push(doc, cmds.AddServerCommand, "R02", H100)
    assert (cmd.server_name, doc.selected_server, doc.selected_racks) == ("R02-U01", "R02-U01", ("R02",))
    doc.undo_stack.undo()
    assert doc.selected_server is None and doc.servers_in("R02") == []


def test_undo_shows_the_hall_the_edit_was_made_in(doc):
    from ui import commands as cmds

    doc.plan.halls.append(Hall("Hall 2", 10.0, 6.0, 0.6))
    doc.plan.racks.append(Rack("H2-01", hall="Hall 2", row="H", x_m=1.5, y_m=2.4, orientation="N"))
    doc.show_hall("Hall 2")
    push(doc, cmds.MoveCommand, {"H2-01": (2.1, 2.4)})
    doc.show_hall("Hall 1")
    doc.undo_stack.undo()
    assert doc.hall_name == "Hall 2" and doc.rack("H2-01").x_m == 1.5


def test_one_change_signal_per_command_and_refusals_push_nothing(doc, monkeypatch):
    from ui import commands as cmds
    from ui import messages

    changes, warnings = [], []
    doc.sigPlanChanged.connect(changes.append)
    monkeypatch.setattr(messages, "warn", lambda parent, title, text: warnings.append(text))
    assert cmds.try_push(doc, None, cmds.DeleteFeedsCommand, ["FA"])
    assert len(changes) == 1 and changes[0].racks_modified == {"R01", "R02", "R03", "L01"}
    assert changes[0].other == {"feed"}
    assert not cmds.try_push(doc, None, cmds.MoveCommand, {"R01": (2.1, 2.4)})  # onto R02
    assert warnings == ["Racks and cooling units may not overlap: R01 ↔ R02."]
    r = doc.rack("R01")
    assert not cmds.try_push(doc, None, cmds.MoveCommand, {"R01": (r.x_m, r.y_m)})  # no change: no word
    assert len(warnings) == 1 and doc.undo_stack.count() == 1 and len(changes) == 1
    doc.undo_stack.undo()
    assert {(x.feed_a, x.feed_b) for x in doc.plan.racks} == {("FA", "FB")}
    assert [f.name for f in doc.plan.power_feeds] == ["FA", "FB"]  # back in its place
