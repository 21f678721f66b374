"""Undoable edit commands on a ``PlanDocument`` alone: no window, no widgets, no event loop.

The commands compute their element swaps in the constructor; these tests push them on the
document's undo stack and check the plan after redo, undo and redo again.
"""
from __future__ import annotations

import pytest

from planner.plan import PowerFeed
from test_gui_support import small_plan

pytestmark = pytest.mark.gui  # QUndoCommand: needs the Qt library, not a screen


@pytest.fixture
def doc(qapp):
    from ui.document import PlanDocument

    return PlanDocument(small_plan())


def push(doc, factory, *args, **kwargs):
    cmd = factory(doc, *args, **kwargs)
    doc.push(cmd)
    return cmd


def round_trip(doc, read):
    """``read()`` after the push, after undo, and after redo."""
    after = read()
    doc.undo_stack.undo()
    before = read()
    doc.undo_stack.redo()
    assert read() == after
    return before, after


def test_add_feed_alternates_sides_and_refuses_bad_values(doc):
    from ui import plan_commands as pc
    from ui.commands import EditRefused

    push(doc, pc.AddFeedCommand)
    push(doc, pc.AddFeedCommand)
    assert [(f.name, f.side) for f in doc.plan.power_feeds][2:] == [("Feed A2", "A"), ("Feed B2", "B")]
    with pytest.raises(EditRefused, match="Feed X: breaker rating must be > 0, got 0"):
        pc.AddFeedCommand(doc, PowerFeed("X", amperage=0))
    with pytest.raises(EditRefused, match="Feed FA: max utilisation must be ≤ 1, got 1.5"):
        pc.EditFeedCommand(doc, "FA", {"max_utilization": 1.5})
    before, after = round_trip(doc, lambda: len(doc.plan.power_feeds))
    assert (before, after) == (3, 4)


def test_renaming_a_feed_carries_every_rack_with_it_in_one_step(doc):
    from ui import plan_commands as pc

    push(doc, pc.EditFeedCommand, "FB", {"name": "PDU-2B"})
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Rename power feed FB to PDU-2B"
    before, after = round_trip(doc, lambda: sorted({r.feed_b for r in doc.plan.racks}))
    assert (before, after) == (["FB"], ["PDU-2B"])


def test_deleting_a_feed_leaves_its_racks_without_that_side_and_undo_restores_order(doc):
    from ui import plan_commands as pc

    assert pc.racks_on_feeds(doc, ["FA"]) == ["R01", "R02", "R03", "L01"]
    push(doc, pc.DeleteFeedsCommand, ["FA"])
    before, after = round_trip(doc, lambda: ([f.name for f in doc.plan.power_feeds],
                                             {(r.feed_a, r.feed_b) for r in doc.plan.racks}))
    assert before == (["FA", "FB"], {("FA", "FB")})
    assert after == (["FB"], {(None, "FB")})


def test_loops_add_rename_and_delete_follow_every_reference(doc):
    from ui import plan_commands as pc
    from ui.commands import EditRefused

    push(doc, pc.AddLoopCommand, "facility")
    push(doc, pc.EditLoopCommand, "AIR", "Facility water 1")  # AIR rejects to the new plant loop
    push(doc, pc.RenameLoopCommand, "Facility water 1", "CHW")
    assert [(l.name, l.rejects_to) for l in doc.plan.cooling_loops] == [("AIR", "CHW"), ("TCS", None), ("CHW", None)]
    push(doc, pc.RenameLoopCommand, "AIR", "CRAH air")
    assert {r.air_loop for r in doc.plan.racks} == {"CRAH air"} and doc.unit("CRAH-1").loop == "CRAH air"
    with pytest.raises(EditRefused, match=r"Loop CRAH air still has 1 cooling unit\(s\) \(CRAH-1\)"):
        pc.DeleteLoopCommand(doc, "CRAH air")
    with pytest.raises(EditRefused, match="already a cooling loop named TCS"):
        pc.RenameLoopCommand(doc, "CHW", "TCS")
    push(doc, pc.DeleteLoopCommand, "CHW")  # CRAH air then rejects outdoors
    before, after = round_trip(doc, lambda: [(l.name, l.rejects_to) for l in doc.plan.cooling_loops])
    assert before == [("CRAH air", "CHW"), ("TCS", None), ("CHW", None)]
    assert after == [("CRAH air", None), ("TCS", None)]
    for _ in range(5):
        doc.undo_stack.undo()
    assert [(l.name, l.rejects_to) for l in doc.plan.cooling_loops] == [("AIR", None), ("TCS", None)]
    assert {r.air_loop for r in doc.plan.racks} == {"AIR"} and doc.unit("CRAH-1").loop == "AIR"


def test_deleting_a_loop_takes_it_off_its_racks(doc):
    from dataclasses import replace

    from ui import plan_commands as pc

    doc.plan.racks[0] = replace(doc.plan.racks[0], liquid_loop="TCS")
    assert pc.racks_on_loop(doc, "TCS") == ["R01"]
    push(doc, pc.DeleteLoopCommand, "TCS")
    before, after = round_trip(doc, lambda: doc.rack("R01").liquid_loop)
    assert (before, after) == ("TCS", None)


def test_add_row_and_add_rack_without_a_window(doc):
    from ui import commands as cmds

    doc.set_selection(["R02"])
    push(doc, cmds.add_rack_at, (10.0, 1.0))
    (name,) = doc.selected_racks
    assert (doc.rack(name).feed_a, doc.rack(name).feed_b) == (None, None)
    push(doc, cmds.add_row_at, (6.0, 4.0), 4, feeds=("FA", "FB"), neighbour="R")
    new = [r for r in doc.plan.racks if r.row not in ("R", "L")]
    assert len(new) == 4 and {r.orientation for r in new} == {"S"}  # backs onto row R (its cold side is the wall)
    assert {round(r.footprint()[1], 6) for r in new} == {3.0 + 1.2}
    before, after = round_trip(doc, lambda: len(doc.plan.racks))
    assert (before, after) == (5, 9)
