"""Floor plan editing through the real widgets: every action, its undo and redo, and refusals."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui_helpers import answer_dialog, click_tool, drag, focus_floor, keys, select, undo_redo, view_point

pytestmark = pytest.mark.gui


def racks(win):
    return {r.name: r for r in win.doc.plan.racks}


def no_overlaps(win) -> bool:
    return not [p for p in win.doc.problems if p.code == "rack-overlap"]


def click_rack(win, name, modifier=Qt.KeyboardModifier.NoModifier):
    r = win.doc.rack(name)
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, modifier, view_point(win, r.x_m, r.y_m))


def select_by_clicks(win, *names):
    """Click the first rack, Ctrl-click the others (the document keeps that order)."""
    click_rack(win, names[0])
    for n in names[1:]:
        click_rack(win, n, Qt.KeyboardModifier.ControlModifier)
    assert win.doc.selected_racks == tuple(names)


def test_add_rack_button_places_on_free_tile(win, qtbot):
    n0 = len(win.doc.plan.racks)
    click_tool(win, win.act_add_rack)
    assert len(win.doc.plan.racks) == n0 + 1
    new = win.doc.selected_racks[0]
    r = win.doc.rack(new)
    x0, y0, _, _ = r.footprint()
    assert x0 / 0.6 == pytest.approx(round(x0 / 0.6)) and y0 / 0.6 == pytest.approx(round(y0 / 0.6))
    assert new in win.scene.rack_items
    win.doc.validate_now()
    assert no_overlaps(win)
    undo_redo(win, n0, n0 + 1, lambda: len(win.doc.plan.racks))
    assert new in win.scene.rack_items


def test_add_row_through_the_real_dialog(win, qtbot):
    from PySide6.QtWidgets import QDialogButtonBox

    def fill(dlg):
        assert dlg.windowTitle() == "Add a row of racks"
        dlg.count.setFocus()
        QTest.keyClick(dlg.count, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClicks(dlg.count, "5")
        dlg.orientation.setFocus()
        for _ in range(3):  # Automatic -> N -> E -> S
            QTest.keyClick(dlg.orientation, Qt.Key.Key_Down)
        dlg.row.setFocus()
        QTest.keyClick(dlg.row, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClicks(dlg.row, "Z")
        ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        QTest.mouseClick(ok, Qt.MouseButton.LeftButton)

    answer_dialog(qtbot, fill)
    click_tool(win, win.act_add_row)
    row = [r for r in win.doc.plan.racks if r.row == "Z"]
    assert [r.name for r in row] == ["Z01", "Z02", "Z03", "Z04", "Z05"]
    assert all(r.orientation == "S" for r in row)
    xs = sorted(r.x_m for r in row)
    assert [b - a for a, b in zip(xs, xs[1:])] == pytest.approx([0.6] * 4)  # side by side
    assert len({r.y_m for r in row}) == 1
    win.doc.validate_now()
    assert no_overlaps(win)
    assert win.doc.undo_stack.count() == 1
    undo_redo(win, 0, 5, lambda: len([r for r in win.doc.plan.racks if r.row == "Z"]))
    assert all(n in win.scene.rack_items for n in ("Z01", "Z05"))


def test_add_row_cancelled_does_nothing(win, qtbot):
    from PySide6.QtWidgets import QDialogButtonBox

    answer_dialog(qtbot, lambda dlg: QTest.mouseClick(
        dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton))
    keys(win, "Ctrl+Shift+W")
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
    undo_redo(win, r0.x_m, r0.x_m - 1.2, lambda: round(win.doc.rack("L01").x_m, 6))
    assert win.scene.rack_items["L01"].pos().x() == pytest.approx(r0.x_m - 1.2)
    assert win.doc.undo_stack.undoText() == "Move L01"


def test_drag_onto_another_rack_is_refused_with_message(win, msgs):
    before = racks(win)
    a, b = before["R03"], before["R02"]
    drag(win.view.viewport(), view_point(win, a.x_m, a.y_m), view_point(win, b.x_m + 0.05, b.y_m))
    assert msgs.warnings and "may not overlap" in msgs.warnings[-1] and "R03" in msgs.warnings[-1]
    assert racks(win) == before  # not moved, not silently shifted
    assert win.doc.undo_stack.count() == 0
    assert win.scene.rack_items["R03"].pos().x() == pytest.approx(a.x_m)  # item snapped back


def test_multi_rack_drag_moves_together_undo_and_redo(win):
    select_by_clicks(win, "R01", "R02", "R03")
    r = win.doc.rack("R02")
    drag(win.view.viewport(), view_point(win, r.x_m, r.y_m), view_point(win, r.x_m, r.y_m + 1.2))
    ys = lambda: [round(win.doc.rack(n).y_m, 6) for n in ("R01", "R02", "R03")]  # noqa: E731
    assert ys() == pytest.approx([3.6] * 3)
    assert win.doc.undo_stack.count() == 1 and win.doc.undo_stack.undoText() == "Move 3 items"
    undo_redo(win, [2.4] * 3, [3.6] * 3, ys)
    assert [win.scene.rack_items[n].pos().y() for n in ("R01", "R02", "R03")] == pytest.approx([3.6] * 3)


def test_click_selects_and_ctrl_click_adds(win, qtbot):
    click_rack(win, "R01")
    assert win.doc.selected_racks == ("R01",)
    click_rack(win, "L01", Qt.KeyboardModifier.ControlModifier)
    assert set(win.doc.selected_racks) == {"R01", "L01"}


def test_rubber_band_selects_a_row(win):
    vp = win.view.viewport()
    drag(vp, view_point(win, 0.9, 1.2), view_point(win, 3.3, 3.4))  # around R01..R03, from empty floor
    assert set(win.doc.selected_racks) == {"R01", "R02", "R03"}


@pytest.mark.parametrize("key, after", [("R", "W"), ("Shift+R", "E")])
def test_rotate_one_rack_cw_and_ccw(win, key, after):
    click_rack(win, "L01")
    keys(win, key)
    assert win.doc.rack("L01").orientation == after  # S -> W clockwise, S -> E counter-clockwise
    x0, y0, x1, y1 = win.doc.rack("L01").footprint()
    assert (x1 - x0, y1 - y0) == pytest.approx((1.2, 0.6))
    assert x0 / 0.6 == pytest.approx(round(x0 / 0.6)) and y0 / 0.6 == pytest.approx(round(y0 / 0.6))
    undo_redo(win, "S", after, lambda: win.doc.rack("L01").orientation)


@pytest.mark.parametrize("key", ["R", "Shift+R"])
def test_rotate_row_turns_about_its_centre(win, key):
    select_by_clicks(win, "R01", "R02", "R03")
    keys(win, key)
    rs = lambda: [win.doc.rack(n) for n in ("R01", "R02", "R03")]  # noqa: E731
    assert {r.orientation for r in rs()} == {"E" if key == "R" else "W"}
    assert len({r.x_m for r in rs()}) == 1  # a horizontal row became a vertical one
    win.doc.validate_now()
    assert no_overlaps(win)
    after = [(r.x_m, r.y_m, r.orientation) for r in rs()]
    undo_redo(win, [(1.5, 2.4, "N"), (2.1, 2.4, "N"), (2.7, 2.4, "N")], after,
              lambda: [(round(r.x_m, 6), round(r.y_m, 6), r.orientation) for r in rs()])


def test_flip_front_with_toolbar_and_undo_redo(win):
    select_by_clicks(win, "R01", "R02")
    click_tool(win, win.act_flip)
    read = lambda: [win.doc.rack(n).orientation for n in ("R01", "R02")]  # noqa: E731
    assert read() == ["S", "S"]
    undo_redo(win, ["N", "N"], ["S", "S"], read)


def test_rotation_that_would_overlap_is_refused(win, msgs, qtbot):
    # a rack squeezed between two others cannot turn sideways
    click_rack(win, "R02")
    keys(win, "R")
    assert msgs.warnings and "overlap" in msgs.warnings[-1]
    assert win.doc.rack("R02").orientation == "N" and win.doc.undo_stack.count() == 0


def test_duplicate_copies_servers_next_to_original(win, qtbot):
    click_rack(win, "R01")
    keys(win, "Ctrl+D")
    new = win.doc.selected_racks[0]
    assert new != "R01" and new in racks(win)
    assert sorted(s.u_position for s in win.doc.servers_in(new)) == [1, 9]
    win.doc.validate_now()
    assert no_overlaps(win)
    undo_redo(win, (False, 0), (True, 2), lambda: (new in racks(win), len(win.doc.servers_in(new))))
    assert new in win.scene.rack_items


@pytest.mark.parametrize("how", ["Delete", "Backspace", "toolbar"])
def test_delete_removes_servers_and_undo_restores_in_place(win, how):
    order = [r.name for r in win.doc.plan.racks]
    click_rack(win, "R02")
    if how == "toolbar":
        click_tool(win, win.act_delete)
    else:
        focus_floor(win)
        QTest.keyClick(win.view, getattr(Qt.Key, f"Key_{how}"))
    assert "R02" not in racks(win) and "R02" not in win.scene.rack_items
    undo_redo(win, order, [n for n in order if n != "R02"], lambda: [r.name for r in win.doc.plan.racks])
    keys(win, "Ctrl+Z")
    assert [r.name for r in win.doc.plan.racks] == order  # back in its place: exports keep their order
    assert "R02" in win.scene.rack_items


def test_delete_rack_with_servers_restores_them(win):
    click_rack(win, "R01")
    keys(win, "Delete")
    assert not win.doc.servers_in("R01")
    undo_redo(win, 2, 0, lambda: len(win.doc.servers_in("R01")))


def test_delete_cooling_unit(win):
    u = win.doc.unit("CRAH-1")
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(win, u.x_m, u.y_m))
    assert win.doc.selected_units == ("CRAH-1",)
    keys(win, "Delete")
    assert win.doc.unit("CRAH-1") is None and "CRAH-1" not in win.scene.unit_items
    undo_redo(win, True, False, lambda: win.doc.unit("CRAH-1") is not None)
    keys(win, "Ctrl+Z")
    assert "CRAH-1" in win.scene.unit_items


@pytest.mark.parametrize("axis, key", [("row", "Ctrl+Shift+H"), ("column", "Ctrl+Shift+V")])
def test_align_uses_first_selected(win, axis, key):
    click_rack(win, "L01")
    keys(win, "Ctrl+D")  # a copy of L01 beside it
    extra = win.doc.selected_racks[0]
    focus_floor(win)
    for _ in range(2):
        QTest.keyClick(win.view, Qt.Key.Key_Down)  # then 1.2 m further down
    if axis == "column":
        QTest.keyClick(win.view, Qt.Key.Key_Right)
    select_by_clicks(win, "L01", extra)
    coord = "y_m" if axis == "row" else "x_m"
    before = getattr(win.doc.rack(extra), coord)
    assert before != pytest.approx(getattr(win.doc.rack("L01"), coord))
    keys(win, key)
    anchor = getattr(win.doc.rack("L01"), coord)
    assert getattr(win.doc.rack(extra), coord) == pytest.approx(anchor)
    assert win.doc.undo_stack.undoText() == f"Align 2 racks in a {axis}"
    undo_redo(win, round(before, 6), round(anchor, 6), lambda: round(getattr(win.doc.rack(extra), coord), 6))


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
    undo_redo(win, ("R01", {"R01"}), ("GPU-01", {"GPU-01"}),
              lambda: (win.doc.plan.racks[0].name, {s.rack for s in win.doc.plan.servers}))
    assert "GPU-01" in win.scene.rack_items and "R01" not in win.scene.rack_items


def test_rename_with_f2(win):
    click_rack(win, "L01")
    keys(win, "F2")
    editor = win.view.findChild(type(win.inspector.name_edit), "rackRenameEditor")
    assert editor is not None and editor.hasFocus()
    QTest.keyClicks(editor, "LONE")  # the whole name is selected: typing replaces it
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert win.doc.rack("LONE") is not None
    undo_redo(win, (True, False), (False, True), lambda: (win.doc.rack("L01") is not None,
                                                         win.doc.rack("LONE") is not None))


def test_rename_to_taken_name_is_refused(win, msgs):
    click_rack(win, "R01")
    keys(win, "F2")
    editor = win.view.findChild(type(win.inspector.name_edit), "rackRenameEditor")
    QTest.keyClicks(editor, "R02")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert msgs.warnings and "already a rack named R02" in msgs.warnings[-1]
    assert "R01" in racks(win)


def test_escape_cancels_rename(win):
    click_rack(win, "R01")
    keys(win, "F2")
    editor = win.view.findChild(type(win.inspector.name_edit), "rackRenameEditor")
    QTest.keyClicks(editor, "XYZ")
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
    click_rack(win, "L01")
    x = win.doc.rack("L01").x_m
    focus_floor(win)
    QTest.keyClick(win.view, Qt.Key.Key_Right)
    QTest.keyClick(win.view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert win.doc.rack("L01").x_m == pytest.approx(x + 0.6 + 3.0)
    assert win.doc.undo_stack.count() == 2
    undo_redo(win, round(x + 0.6, 6), round(x + 3.6, 6), lambda: round(win.doc.rack("L01").x_m, 6))


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
