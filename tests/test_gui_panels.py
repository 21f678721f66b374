"""Inspector, catalog drops, rack elevation, problem list, status bar and units — through the widgets."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from test_gui_support import H100, drag, msgs, select, view_point, win  # noqa: F401  (fixtures)

pytestmark = pytest.mark.gui


def drop(widget, mime: QMimeData, pos: QPoint) -> None:
    """Deliver drag-enter, drag-move and drop of ``mime`` at ``pos``, as Qt does during a real drag."""
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, QDragEnterEvent(pos, *args))
    QApplication.sendEvent(widget, QDragMoveEvent(pos, *args))
    QApplication.sendEvent(widget, QDropEvent(QPointF(pos), *args))


def catalog_mime(win, key: str) -> QMimeData:
    """The mime data the catalog tree itself produces when its item is dragged."""
    item = win.catalog.item_for(key)
    assert item is not None, key
    return win.catalog.tree.mimeData([item])


def set_box(box, text: str) -> None:
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, text)
    QTest.keyClick(box, Qt.Key.Key_Return)


# ------------------------------------------------------------------ inspector
def test_inspector_shows_rack_with_units(win):
    select(win, "R01")
    insp = win.inspector
    assert insp.header.text() == "Rack R01"
    assert insp.x_box.text().endswith(" m") and insp.x_box.value() == pytest.approx(1.5)
    assert insp.budget_box.suffix() == " kW"
    assert insp.power_bar.allocated_kw == pytest.approx(20.4) and insp.power_bar.budget_kw == pytest.approx(40.0)
    assert "20.4 / 40.0 kW (51 %)" == insp.power_bar.text()


def test_multi_selection_edits_shared_field_in_one_step(win, qtbot):
    select(win, "R01", "R02", "L01")
    insp = win.inspector
    assert "3 racks selected" in insp.header.text()
    assert insp.budget_box.text() == "—"  # 40, 40, 30: mixed
    assert insp.orient.currentText() == "—"  # N, N, S
    assert insp.air_loop.currentText() == "AIR"  # shared
    set_box(insp.budget_box, "55")
    assert [win.doc.rack(n).power_budget_kw for n in ("R01", "R02", "L01")] == [55.0, 55.0, 55.0]
    assert win.doc.undo_stack.count() == 1
    win.doc.undo_stack.undo()
    assert [win.doc.rack(n).power_budget_kw for n in ("R01", "R02", "L01")] == [40.0, 40.0, 30.0]
    assert insp.budget_box.text() == "—"


def test_position_edit_that_overlaps_is_refused(win, msgs):
    select(win, "L01")
    set_box(win.inspector.x_box, "1.5")
    set_box(win.inspector.y_box, "2.4")  # onto R01
    assert msgs.warnings and "overlap" in msgs.warnings[-1]
    assert win.doc.rack("L01").y_m == pytest.approx(5.4)
    assert win.inspector.y_box.value() == pytest.approx(5.4)  # the box shows the truth again


def test_feed_and_loop_pickers(win):
    select(win, "R02")
    insp = win.inspector
    i = insp.feed_b.findData("\x00none")
    insp.feed_b.setCurrentIndex(i)
    insp.feed_b.activated.emit(i)
    assert win.doc.rack("R02").feed_b is None
    win.doc.validate_now()
    # a rack without servers draws nothing, so no single-feed warning yet; the picker is undoable
    win.doc.undo_stack.undo()
    assert win.doc.rack("R02").feed_b == "FB"
    i = insp.air_loop.findData("\x00none")
    insp.air_loop.activated.emit(i)
    assert win.doc.rack("R02").air_loop is None


def test_rename_from_inspector(win):
    select(win, "L01")
    set_box(win.inspector.name_edit, "LONE")
    assert win.doc.rack("LONE") is not None and win.doc.selected_racks == ("LONE",)


def test_orientation_combo(win):
    select(win, "L01")
    c = win.inspector.orient
    i = c.findData("N")
    c.activated.emit(i)
    assert win.doc.rack("L01").orientation == "N"


def test_cooling_unit_inspector_edits_capacity(win):
    select(win, units=["CRAH-1"])
    insp = win.inspector
    assert insp.stack.currentWidget() is insp.unit_page
    assert insp.unit_cap.suffix() == " kW"
    set_box(insp.unit_cap, "200")
    assert win.doc.unit("CRAH-1").rated_capacity_kw == 200.0
    win.doc.validate_now()
    assert win.totals_labels["cooling"].text().count("200") == 1


# -------------------------------------------------------------- catalog drops
def test_catalog_search_filters(win):
    win.catalog.search.setText("nvl72")
    keys = win.catalog.visible_keys()
    assert keys and all("nvl72" in k for k in keys)
    win.catalog.search.setText("cdu")
    assert win.catalog.visible_keys() == ["In-row CDU 800 kW"]
    win.catalog.search.clear()
    assert len(win.catalog.visible_keys()) > 10


def test_drop_server_type_on_rack_fills_first_free_u(win):
    r = win.doc.rack("R01")  # U1-8 and U9-16 taken
    drop(win.view.viewport(), catalog_mime(win, "nvidia-dgx-h100"), view_point(win, r.x_m, r.y_m))
    placed = [s for s in win.doc.servers_in("R01") if s.server_type == "nvidia-dgx-h100"]
    assert [s.u_position for s in placed] == [17]
    assert "nvidia-dgx-h100" in win.doc.plan.server_type_map()  # the type came along from the catalog
    assert win.doc.selected_server == placed[0].name
    win.doc.undo_stack.undo()
    assert not [s for s in win.doc.servers_in("R01") if s.server_type == "nvidia-dgx-h100"]
    assert "nvidia-dgx-h100" not in win.doc.plan.server_type_map()


def test_drop_into_full_rack_is_refused(win, msgs):
    r = win.doc.rack("R02")
    for _ in range(5):  # 5 x 8U = 40U of 42U
        drop(win.view.viewport(), catalog_mime(win, "nvidia-dgx-h100"), view_point(win, r.x_m, r.y_m))
    assert len(win.doc.servers_in("R02")) == 5
    drop(win.view.viewport(), catalog_mime(win, "nvidia-dgx-h100"), view_point(win, r.x_m, r.y_m))
    assert msgs.warnings and "No 8 U free in R02" in msgs.warnings[-1]
    assert len(win.doc.servers_in("R02")) == 5


def test_drop_crah_on_floor(win):
    before = len(win.doc.plan.cooling_units)
    drop(win.view.viewport(), catalog_mime(win, "Chilled-water CRAH 150 kW"), view_point(win, 10.0, 6.0))
    assert len(win.doc.plan.cooling_units) == before + 1
    new = win.doc.selected_units[0]
    u = win.doc.unit(new)
    assert u.kind == "crah" and u.loop == "AIR" and u.x_m == pytest.approx(10.0, abs=0.6)
    assert new in win.scene.unit_items
    win.doc.undo_stack.undo()
    assert win.doc.unit(new) is None and new not in win.scene.unit_items


def test_catalog_button_adds_to_selected_rack(win):
    select(win, "R03")
    win.catalog.tree.setCurrentItem(win.catalog.item_for("nvidia-dgx-b200"))
    QTest.mouseClick(win.catalog.add_button, Qt.MouseButton.LeftButton)
    assert [s.server_type for s in win.doc.servers_in("R03")] == ["nvidia-dgx-b200"]


# ----------------------------------------------------------------- elevation
def elevation_point(win, u: float) -> QPoint:
    e = win.elevation
    f = e.frame_rect()
    return QPoint(int(f.center().x()), int(f.bottom() - (u - 0.5) * e.u_px()))


def test_elevation_drop_at_u(win):
    select(win, "R01")
    e = win.elevation
    assert e.rack_name == "R01"
    # a 2U... here an 8U box dropped centred on U24 lands with its lowest U at 24 - 3 = 21
    drop(e, catalog_mime(win, "nvidia-dgx-h100"), elevation_point(win, 24))
    placed = [s for s in win.doc.servers_in("R01") if s.server_type == "nvidia-dgx-h100"]
    assert [s.u_position for s in placed] == [21]


def test_elevation_drop_on_taken_u_is_refused(win, msgs):
    select(win, "R01")
    drop(win.elevation, catalog_mime(win, "nvidia-dgx-h100"), elevation_point(win, 6))
    assert msgs.warnings and "taken by" in msgs.warnings[-1]


def test_elevation_drag_moves_server_one_step(win):
    select(win, "R01")
    e = win.elevation
    drag(e, elevation_point(win, 12), elevation_point(win, 30), steps=8)  # R01-b occupies U9-16
    s = next(s for s in win.doc.plan.servers if s.name == "R01-b")
    assert s.u_position == 9 + 18
    assert win.doc.undo_stack.count() == 1
    win.doc.undo_stack.undo()
    assert next(s for s in win.doc.plan.servers if s.name == "R01-b").u_position == 9


def test_elevation_drag_onto_other_server_is_refused(win, msgs):
    select(win, "R01")
    drag(win.elevation, elevation_point(win, 12), elevation_point(win, 6))
    assert msgs.warnings and "taken by R01-a" in msgs.warnings[-1]
    assert next(s for s in win.doc.plan.servers if s.name == "R01-b").u_position == 9


def test_elevation_delete_key_removes_selected_server(win):
    select(win, "R01")
    e = win.elevation
    QTest.mouseClick(e, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, elevation_point(win, 3))
    assert win.doc.selected_server == "R01-a"
    e.setFocus()
    QTest.keyClick(e, Qt.Key.Key_Delete)
    assert [s.name for s in win.doc.servers_in("R01")] == ["R01-b"]
    win.doc.undo_stack.undo()
    assert len(win.doc.servers_in("R01")) == 2


# ---------------------------------------------------------------- problems
def test_problem_list_is_live_and_navigates(win, qtbot):
    assert win.problems.tree.topLevelItemCount() == 0
    select(win, "L01")
    set_box(win.inspector.budget_box, "5")  # L01 is empty: still fine
    select(win, "R01")
    set_box(win.inspector.budget_box, "10")  # 20.4 kW in a 10 kW budget
    qtbot.waitUntil(lambda: any(p.code == "rack-over-budget" for p in win.doc.problems), timeout=2000)
    tree = win.problems.tree
    row = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
               if tree.topLevelItem(i).text(3) == "rack-over-budget")
    assert row.text(1) == "R01" and "exceeds its 10.0 kW budget" in row.text(2)
    assert win.scene.rack_items["R01"].severity == "error"
    select(win, "L01")
    win.view.zoom_by(4.0)
    win.view.centerOn(11.0, 7.5)  # R01 far off screen
    rect = tree.visualItemRect(row)
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert win.doc.selected_racks == ("R01",)
    assert win.scene.rack_items["R01"].isSelected()
    assert win.view.viewport().rect().contains(view_point(win, 1.5, 2.4))  # scrolled to it
    win.doc.undo_stack.undo()
    qtbot.waitUntil(lambda: not win.doc.problems, timeout=2000)
    assert win.scene.rack_items["R01"].severity is None


def test_loop_problem_selects_every_rack_and_unit_on_the_loop(win, qtbot):
    from test_gui_support import small_plan

    plan = small_plan()
    plan.cooling_units[0].rated_capacity_kw = 10.0  # 20.4 kW of heat on a 10 kW loop
    win.doc.set_plan(plan, None)
    tree = win.problems.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() > 0, timeout=2000)
    row = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
               if tree.topLevelItem(i).text(3) == "loop-over-capacity")
    assert row.text(1) == "AIR"
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     tree.visualItemRect(row).center())
    assert set(win.doc.selected_racks) == {"R01", "R02", "R03", "L01"}
    assert win.doc.selected_units == ("CRAH-1",)


# ---------------------------------------------------------- status and units
def test_status_bar_totals(win):
    L = win.totals_labels
    assert "<b>4</b>" in L["racks"].text() and "<b>2</b>" in L["servers"].text()
    assert "<b>16</b>" in L["gpus"].text()
    assert "20 kW" in L["it"].text() and "150 kW" in L["cooling"].text()
    assert "130 kW" in L["headroom"].text()


def test_imperial_preference_switches_every_view(win):
    from PySide6.QtCore import QSettings

    select(win, "R01")
    combo = win.units_combo
    combo.setCurrentIndex(1)
    combo.activated.emit(1)
    assert QSettings("dcplan", "dcplan").value("units/system") == "imperial"
    assert win.inspector.x_box.suffix() == " ft"
    assert win.inspector.x_box.value() == pytest.approx(1.5 / 0.3048, abs=0.01)
    assert "tons" in win.totals_labels["cooling"].text()  # 150 kW = 42.7 tons
    assert "43 tons" in win.totals_labels["cooling"].text()
    assert "BTU/h" in win.totals_labels["it"].text()
    assert "BTU/h" in win.inspector.heat_label.text()
    assert "CFM" in win.catalog.details.text() or win.catalog.tree.topLevelItemCount() == 2
    # editing in feet stores metres
    select(win, "L01")
    set_box(win.inspector.x_box, "22.64")  # 6.9 m
    assert win.doc.rack("L01").x_m == pytest.approx(6.9, abs=0.01)
    select(win, units=["CRAH-1"])
    assert win.inspector.unit_setpoint.suffix() == " °F"
    assert win.inspector.unit_setpoint.value() == pytest.approx(18.0 * 1.8 + 32)
    win.act_si.trigger()
    assert win.inspector.unit_setpoint.suffix() == " °C"
