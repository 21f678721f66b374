"""Floor plan editing through the real widgets: every action, its undo and redo, and refusals."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from test_gui_support import drag, msgs, select, view_point, win  # noqa: F401  (fixtures)

pytestmark = pytest.mark.gui


def racks(win):
    return {r.name: r for r in win.doc.plan.racks}


def no_overlaps(win) -> bool:
    return not [p for p in win.doc.problems if p.code == "rack-overlap"]


def undo_redo(win, qtbot, before, after, read):
    """Undo must bring back ``before`` and redo ``after`` (via the real shortcuts)."""
    win.activateWindow()
    win.view.setFocus()
    QTest.keySequence(win, QKeySequence("Ctrl+Z"))
    assert read() == before
    QTest.keySequence(win, QKeySequence("Ctrl+Shift+Z"))
    assert read() == after


def test_add_rack_action_places_on_free_tile_and_undoes(win, qtbot):
    n0 = len(win.doc.plan.racks)
    win.act_add_rack.trigger()
    assert len(win.doc.plan.racks) == n0 + 1
    new = win.doc.selected_racks[0]
    r = win.doc.rack(new)
    x0, y0, _, _ = r.footprint()
    assert x0 / 0.6 == pytest.approx(round(x0 / 0.6)) and y0 / 0.6 == pytest.approx(round(y0 / 0.6))
    assert new in win.scene.rack_items
    win.doc.validate_now()
    assert no_overlaps(win)
    undo_redo(win, qtbot, n0, n0 + 1, lambda: len(win.doc.plan.racks))
    assert new in win.scene.rack_items


def test_add_row_of_n_racks_is_one_step(win, msgs):
    msgs.row = {"count": 5, "orientation": "S", "row": "Z"}
    win.act_add_row.trigger()
    row = [r for r in win.doc.plan.racks if r.row == "Z"]
    assert [r.name for r in row] == ["Z01", "Z02", "Z03", "Z04", "Z05"]
    assert all(r.orientation == "S" for r in row)
    xs = sorted(r.x_m for r in row)
    assert [b - a for a, b in zip(xs, xs[1:])] == pytest.approx([0.6] * 4)  # side by side
    assert len({r.y_m for r in row}) == 1
    win.doc.validate_now()
    assert no_overlaps(win)
    win.doc.undo_stack.undo()
    assert not [r for r in win.doc.plan.racks if r.row == "Z"]
    assert all(n not in win.scene.rack_items for n in ("Z01", "Z05"))


def test_add_row_cancelled_does_nothing(win, msgs):
    msgs.row = None
    win.act_add_row.trigger()
    assert win.doc.undo_stack.count() == 0


def test_drag_rack_snaps_to_tiles_and_is_one_undo_step(win, qtbot):
    r0 = win.doc.rack("L01")
    start = view_point(win, r0.x_m, r0.y_m)
    end = view_point(win, r0.x_m - 1.35, r0.y_m - 0.2)  # 1.35 m left, 0.2 m up: snaps to -1.2 / 0
    drag(win.view.viewport(), start, end, steps=10)
    r1 = win.doc.rack("L01")
    assert (r1.x_m, r1.y_m) == pytest.approx((r0.x_m - 1.2, r0.y_m))
    assert win.doc.undo_stack.count() == 1  # ten mouse moves, one command
    assert win.scene.rack_items["L01"].pos().x() == pytest.approx(r1.x_m)
    win.doc.undo_stack.undo()
    assert (win.doc.rack("L01").x_m, win.scene.rack_items["L01"].pos().x()) == pytest.approx((r0.x_m, r0.x_m))
    win.doc.undo_stack.redo()
    assert win.doc.rack("L01").x_m == pytest.approx(r0.x_m - 1.2)


def test_drag_onto_another_rack_is_refused_with_message(win, msgs):
    before = racks(win)
    a, b = before["R03"], before["R02"]
    drag(win.view.viewport(), view_point(win, a.x_m, a.y_m), view_point(win, b.x_m + 0.05, b.y_m))
    assert msgs.warnings and "may not overlap" in msgs.warnings[-1] and "R03" in msgs.warnings[-1]
    assert racks(win) == before  # not moved, not silently shifted
    assert win.doc.undo_stack.count() == 0
    assert win.scene.rack_items["R03"].pos().x() == pytest.approx(a.x_m)  # item snapped back


def test_multi_rack_drag_moves_together(win):
    select(win, "R01", "R02", "R03")
    r = win.doc.rack("R02")
    drag(win.view.viewport(), view_point(win, r.x_m, r.y_m), view_point(win, r.x_m, r.y_m + 1.2))
    assert [win.doc.rack(n).y_m for n in ("R01", "R02", "R03")] == pytest.approx([3.6] * 3)
    assert win.doc.undo_stack.count() == 1
    win.doc.undo_stack.undo()
    assert [win.doc.rack(n).y_m for n in ("R01", "R02", "R03")] == pytest.approx([2.4] * 3)


def test_click_selects_and_ctrl_click_adds(win, qtbot):
    vp = win.view.viewport()
    r1, r2 = win.doc.rack("R01"), win.doc.rack("L01")
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_point(win, r1.x_m, r1.y_m))
    assert win.doc.selected_racks == ("R01",)
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, view_point(win, r2.x_m, r2.y_m))
    assert set(win.doc.selected_racks) == {"R01", "L01"}


def test_rubber_band_selects_a_row(win):
    vp = win.view.viewport()
    drag(vp, view_point(win, 0.9, 1.2), view_point(win, 3.3, 3.4))  # around R01..R03, from empty floor
    assert set(win.doc.selected_racks) == {"R01", "R02", "R03"}


def test_rotate_and_undo(win, qtbot):
    select(win, "L01")
    win.act_rotate_cw.trigger()
    assert win.doc.rack("L01").orientation == "W"  # S -> W clockwise
    x0, y0, x1, y1 = win.doc.rack("L01").footprint()
    assert (x1 - x0, y1 - y0) == pytest.approx((1.2, 0.6))
    assert x0 / 0.6 == pytest.approx(round(x0 / 0.6)) and y0 / 0.6 == pytest.approx(round(y0 / 0.6))
    undo_redo(win, qtbot, "S", "W", lambda: win.doc.rack("L01").orientation)


def test_rotate_row_turns_about_its_centre(win):
    select(win, "R01", "R02", "R03")
    win.act_rotate_cw.trigger()
    rs = [win.doc.rack(n) for n in ("R01", "R02", "R03")]
    assert {r.orientation for r in rs} == {"E"}
    assert len({r.x_m for r in rs}) == 1  # a horizontal row became a vertical one
    win.doc.validate_now()
    assert no_overlaps(win)


def test_flip_front_and_undo(win):
    select(win, "R01", "R02")
    win.act_flip.trigger()
    assert [win.doc.rack(n).orientation for n in ("R01", "R02")] == ["S", "S"]
    win.doc.undo_stack.undo()
    assert [win.doc.rack(n).orientation for n in ("R01", "R02")] == ["N", "N"]


def test_rotation_that_would_overlap_is_refused(win, msgs, qtbot):
    # a rack squeezed between two others cannot turn sideways
    select(win, "R02")
    win.act_rotate_cw.trigger()
    assert msgs.warnings and "overlap" in msgs.warnings[-1]
    assert win.doc.rack("R02").orientation == "N"


def test_duplicate_copies_servers_next_to_original(win, qtbot):
    select(win, "R01")
    win.activateWindow()
    win.view.setFocus()
    QTest.keySequence(win, QKeySequence("Ctrl+D"))
    new = win.doc.selected_racks[0]
    assert new != "R01" and new in racks(win)
    assert sorted(s.u_position for s in win.doc.servers_in(new)) == [1, 9]
    win.doc.validate_now()
    assert no_overlaps(win)
    win.doc.undo_stack.undo()
    assert new not in racks(win) and not win.doc.servers_in(new)


def test_delete_removes_servers_and_undo_restores(win, qtbot):
    select(win, "R01")
    win.view.setFocus()
    win.act_delete.trigger()
    assert "R01" not in racks(win) and not win.doc.servers_in("R01")
    assert "R01" not in win.scene.rack_items
    win.doc.undo_stack.undo()
    assert "R01" in racks(win) and len(win.doc.servers_in("R01")) == 2
    assert "R01" in win.scene.rack_items


def test_delete_cooling_unit(win):
    select(win, units=["CRAH-1"])
    win.act_delete.trigger()
    assert win.doc.unit("CRAH-1") is None and "CRAH-1" not in win.scene.unit_items
    win.doc.undo_stack.undo()
    assert win.doc.unit("CRAH-1") is not None and "CRAH-1" in win.scene.unit_items


def test_align_in_a_row_uses_first_selected(win):
    select(win, "L01")
    win.act_duplicate.trigger()  # a copy of L01 beside it
    extra = win.doc.selected_racks[0]
    assert win.view.drag_selection_by(0.0, 1.2)  # then 1.2 m further down
    assert win.doc.rack(extra).y_m != pytest.approx(win.doc.rack("L01").y_m)
    select(win, "L01", extra)
    win.act_align_row.trigger()
    assert win.doc.rack(extra).y_m == pytest.approx(win.doc.rack("L01").y_m)
    assert win.doc.undo_stack.undoText().startswith("Align")


def test_rename_in_place_with_double_click(win, qtbot):
    r = win.doc.rack("R01")
    vp = win.view.viewport()
    QTest.mouseDClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_point(win, r.x_m, r.y_m))
    editor = win.view.findChild(type(win.inspector.name_edit), "rackRenameEditor")
    assert editor is not None and editor.text() == "R01"
    editor.selectAll()
    QTest.keyClicks(editor, "GPU-01")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert "GPU-01" in racks(win) and "R01" not in racks(win)
    assert {s.rack for s in win.doc.plan.servers} == {"GPU-01"}  # servers follow the rack
    assert win.doc.selected_racks == ("GPU-01",)
    assert win.doc.undo_stack.count() == 1
    win.doc.undo_stack.undo()
    assert "R01" in racks(win) and {s.rack for s in win.doc.plan.servers} == {"R01"}
    assert "R01" in win.scene.rack_items and "GPU-01" not in win.scene.rack_items


def test_rename_to_taken_name_is_refused(win, msgs):
    select(win, "R01")
    win.act_rename.trigger()
    editor = win.view.findChild(type(win.inspector.name_edit), "rackRenameEditor")
    editor.setText("R02")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert msgs.warnings and "already a rack named R02" in msgs.warnings[-1]
    assert "R01" in racks(win)


def test_escape_cancels_rename(win):
    select(win, "R01")
    win.act_rename.trigger()
    editor = win.view.findChild(type(win.inspector.name_edit), "rackRenameEditor")
    editor.setText("XYZ")
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert "R01" in racks(win) and win.doc.undo_stack.count() == 0


def test_wheel_zooms_and_fit_hall(win, qtbot):
    from PySide6.QtGui import QWheelEvent

    before = win.view.px_per_m()
    vp = win.view.viewport()
    c = QPointF(vp.rect().center())
    ev = QWheelEvent(c, QPointF(vp.mapToGlobal(c.toPoint())), QPoint(0, 0), QPoint(0, 240),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, ev)
    assert win.view.px_per_m() == pytest.approx(before * 1.0015 ** 240, rel=1e-3)
    win.act_fit.trigger()
    assert win.view.px_per_m() == pytest.approx(before, rel=1e-3)


def test_colour_modes_change_rack_fill(win):
    item = win.scene.rack_items["R01"]
    loop_fill = item.fill.name()
    win.set_color_mode("density")
    assert item.fill.name() != loop_fill
    empty = win.scene.rack_items["R02"].fill.name()
    assert empty != item.fill.name()  # 20.4 kW vs 0 kW
    assert win.color_combo.currentData() == "density"


def test_arrow_keys_nudge_one_tile(win):
    select(win, "L01")
    x = win.doc.rack("L01").x_m
    win.view.setFocus()
    QTest.keyClick(win.view, Qt.Key.Key_Right)
    QTest.keyClick(win.view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert win.doc.rack("L01").x_m == pytest.approx(x + 0.6 + 3.0)
    assert win.doc.undo_stack.count() == 2


def test_right_drag_pans_without_selecting(win):
    win.view.zoom_by(4.0)
    h0 = win.view.horizontalScrollBar().value()
    vp = win.view.viewport()
    start = vp.rect().center()
    QTest.mousePress(vp, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 6):
        QTest.mouseMove(vp, QPoint(start.x() - 20 * i, start.y()))
    QTest.mouseRelease(vp, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, QPoint(start.x() - 100, start.y()))
    assert win.view.horizontalScrollBar().value() > h0
    assert win.doc.undo_stack.count() == 0


def test_typing_in_a_field_does_not_trigger_single_key_shortcuts(win):
    select(win, "L01")
    ed = win.inspector.row_edit
    ed.setFocus()
    ed.selectAll()
    QTest.keyClicks(ed, "R")  # "R" is also Rotate
    QTest.keyClick(ed, Qt.Key.Key_Return)
    assert win.doc.rack("L01").row == "R" and win.doc.rack("L01").orientation == "S"
