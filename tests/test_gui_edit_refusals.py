"""Edits the hall cannot take are refused with a message and leave nothing behind, and edits that
change nothing push nothing: through the real widgets."""
from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from planner.plan import CoolingUnit
from gui_helpers import click_tool, focus_floor, keys, pick, select, type_into, undo_redo, view_point
from sample_plans import small_plan

pytestmark = pytest.mark.gui


def click_rack(win, name, modifier=Qt.KeyboardModifier.NoModifier):
    r = win.doc.rack(name)
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, modifier, view_point(win, r.x_m, r.y_m))


# 1 -------------------------------------------------- delete while a field is being edited
@pytest.mark.parametrize("field, text", [("name_edit", "RENAMED"), ("budget_box", "77"), ("row_edit", "Q")])
def test_delete_while_inspector_field_is_edited(win, field, text):
    click_rack(win, "R01")
    w = getattr(win.inspector, field)
    type_into(w, text, enter=False)  # typed, not committed: focus is still in the field
    assert w.hasFocus()
    click_tool(win, win.act_delete)  # hides the rack page: the field loses focus inside the command
    assert win.doc.rack("R01") is None and win.doc.undo_stack.count() == 1
    assert win.doc.undo_stack.undoText() == "Delete R01"
    undo_redo(win, True, False, lambda: win.doc.rack("R01") is not None)
    keys(win, "Ctrl+Z")
    assert win.doc.rack("R01").power_budget_kw == 40.0 and win.doc.rack("R01").row == "R"


def test_commands_refuse_racks_that_no_longer_exist(win, msgs):
    from ui import commands as cmds

    assert not cmds.try_push(win.doc, win, cmds.RenameRackCommand, "GONE", "X")
    assert not cmds.try_push(win.doc, win, cmds.EditRacksCommand, ["GONE"], {"row": "Q"})
    assert len(msgs.warnings) == 2 and "No rack named GONE" in msgs.warnings[-1]


# 2 ------------------------------------------------ arrow nudge with a plant unit selected
def test_arrow_nudge_skips_units_that_are_not_on_the_floor(win):
    plan = small_plan()
    plan.cooling_units.append(CoolingUnit("CH-1", "chiller", "AIR", 500.0))  # plant: no floor position
    win.doc.set_plan(plan, None)
    select(win, "L01", units=["CH-1", "CRAH-1"])
    focus_floor(win)
    QTest.keyClick(win.view, Qt.Key.Key_Up)
    assert win.doc.rack("L01").y_m == pytest.approx(4.8)
    assert win.doc.unit("CRAH-1").y_m == pytest.approx(5.4) and win.doc.unit("CH-1").x_m is None
    undo_redo(win, (5.4, 6.0), (4.8, 5.4), lambda: (round(win.doc.rack("L01").y_m, 6),
                                                    round(win.doc.unit("CRAH-1").y_m, 6)))


# 3 ---------------------------------------------------- cooling units stay in the hall
def test_cooling_unit_cannot_leave_the_hall(win, msgs):
    u = win.doc.unit("CRAH-1")
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(win, u.x_m, u.y_m))
    type_into(win.inspector.unit_x, "0.2")  # half of the 0.9 m wide unit through the west wall
    assert msgs.warnings and "Outside the floor" in msgs.warnings[-1] and "CRAH-1" in msgs.warnings[-1]
    focus_floor(win)
    QTest.keyClick(win.view, Qt.Key.Key_Left)
    assert len(msgs.warnings) == 2
    assert win.doc.unit("CRAH-1").x_m == pytest.approx(0.45) and win.doc.undo_stack.count() == 0


def test_far_away_unit_does_not_block_rack_moves(win, msgs):
    plan = small_plan()
    plan.cooling_units[0] = replace(plan.cooling_units[0], x_m=500.0, y_m=500.0)  # left outside by an old file
    win.doc.set_plan(plan, None)
    click_rack(win, "L01")
    focus_floor(win)
    QTest.keyClick(win.view, Qt.Key.Key_Left)
    assert not msgs.warnings and win.doc.rack("L01").x_m == pytest.approx(5.7)


def test_overlap_message_names_the_cooling_unit(win, msgs):
    click_rack(win, "L01")
    type_into(win.inspector.x_box, "0.9")
    type_into(win.inspector.y_box, "6.0")
    assert "cooling unit CRAH-1" in msgs.warnings[-1]


# 4 ------------------------------------------------- CSV import obeys the floor rules
def write_rack_plan(path, rows):
    lines = ["rack,hall,x_m,y_m,orientation"] + [f"{n},Hall 1,{x},{y},{o}" for n, x, y, o in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("rows, expect", [
    ([("Q1", 10.5, 1.2, "N"), ("Q2", 1.5, 2.4, "N")], "rack_plan.csv:3: x_m: rack 'Q2' overlaps rack 'R01'"),
    ([("Q1", 11.9, 1.2, "N")], "rack_plan.csv:2: x_m: rack 'Q1' stands outside hall 'Hall 1'"),
    ([("Q1", 0.45, 6.0, "N")], "rack_plan.csv:2: x_m: rack 'Q1' overlaps cooling unit 'CRAH-1'"),
])
def test_csv_import_refuses_overlaps_and_leaving_the_hall(win, msgs, tmp_path, rows, expect):
    f = tmp_path / "rack_plan.csv"
    write_rack_plan(f, rows)
    msgs.csv_files = [str(f)]
    win.act_import.trigger()
    assert msgs.warnings and expect in msgs.warnings[-1], msgs.warnings
    assert win.doc.undo_stack.count() == 0 and "Q1" not in win.doc.rack_map()


# 6 ----------------------------------------------------------------- long names
def test_long_names_are_refused_and_labels_stay_fixed(win, msgs):
    width = win.width()
    click_rack(win, "L01")
    type_into(win.inspector.name_edit, "X" * 300)
    assert msgs.warnings and "at most 64 characters" in msgs.warnings[-1]
    assert win.doc.rack("L01") is not None
    long = "N" * 64
    type_into(win.inspector.name_edit, long)
    assert win.doc.rack(long) is not None
    undo_button = win.toolbar.widgetForAction(win.act_undo)
    assert undo_button.text() == "Undo" and "Undo Rename L01 to NNN" in win.act_undo.toolTip()
    QApplication.processEvents()
    assert win.width() == width and win.minimumSizeHint().width() < 1400
    assert win.elevation.rack_name == long
    win.elevation.grab()  # the title is elided, not clipped (paints without growing the dock)
    assert win.inspector.header.minimumSizeHint().width() < 400


def test_row_name_length_is_limited(win, msgs):
    click_rack(win, "L01")
    type_into(win.inspector.row_edit, "R" * 80)
    assert "at most 64 characters" in msgs.warnings[-1] and win.doc.rack("L01").row == "L"


# 8 ------------------------------------------------------------------- empty edits
def test_repicking_the_same_value_pushes_nothing(win, qtbot):
    click_rack(win, "L01")
    pick(qtbot, win.inspector.orient, "S")
    pick(qtbot, win.inspector.status, "active")
    type_into(win.inspector.budget_box, "30")
    assert win.doc.undo_stack.count() == 0 and not win.isWindowModified()


def test_reimporting_identical_csv_pushes_nothing(win, msgs, tmp_path):
    f = tmp_path / "rack_plan.csv"
    write_rack_plan(f, [("Q1", 10.5, 1.2, "N")])
    msgs.csv_files = [str(f)]
    win.act_import.trigger()
    assert win.doc.rack("Q1") is not None and win.doc.undo_stack.count() == 1
    undo_redo(win, False, True, lambda: win.doc.rack("Q1") is not None)
    win.act_import.trigger()
    assert win.doc.undo_stack.count() == 1 and "nothing changed" in msgs.infos[-1]


def test_zero_move_pushes_nothing(win):
    select(win, "R01", "R02")
    assert not win.view.drag_selection_by(0.0, 0.0)
    assert win.doc.undo_stack.count() == 0


# 9 --------------------------------------------------------------------- smaller
def test_typed_value_survives_switching_units_from_the_menu(win):
    click_rack(win, "L01")
    type_into(win.inspector.x_box, "7.5", enter=False)  # metres, not confirmed yet
    win.act_imperial.trigger()  # View ▸ Units ▸ Imperial
    assert win.doc.rack("L01").x_m == pytest.approx(7.5)
    assert win.inspector.x_box.value() == pytest.approx(7.5 / 0.3048, abs=0.01)
    type_into(win.inspector.budget_box, "33", enter=False)
    win.act_si.trigger()
    assert win.doc.rack("L01").power_budget_kw == 33.0


def test_rack_height_cannot_drop_below_its_servers(win, msgs):
    click_rack(win, "R01")  # servers up to U16
    type_into(win.inspector.height_box, "12")
    assert msgs.warnings and "servers up to U16" in msgs.warnings[-1]
    assert win.doc.rack("R01").u_height == 42 and win.inspector.height_box.value() == 42
    type_into(win.inspector.height_box, "16")
    assert win.doc.rack("R01").u_height == 16


def test_names_are_unique_across_racks_and_cooling_units(win, msgs):
    u = win.doc.unit("CRAH-1")
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(win, u.x_m, u.y_m))
    type_into(win.inspector.unit_name, "R01")
    assert "already a rack named R01" in msgs.warnings[-1] and win.doc.unit("CRAH-1") is not None
    click_rack(win, "L01")
    type_into(win.inspector.name_edit, "CRAH-1")
    assert "already a cooling unit named CRAH-1" in msgs.warnings[-1] and win.doc.rack("L01") is not None
