"""Inspector, catalog drops, rack elevation, problem list, status bar and units — through the widgets."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui_helpers import drag, keys, pick, select, type_into, undo_redo, view_point

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


def click_at(win, x, y, modifier=Qt.KeyboardModifier.NoModifier):
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, modifier, view_point(win, x, y))


def click_rack(win, name, modifier=Qt.KeyboardModifier.NoModifier):
    r = win.doc.rack(name)
    click_at(win, r.x_m, r.y_m, modifier)


NONE = "\x00none"
#: inspector field -> (widget, how to enter it, what to enter, rack attribute, value before, value after) for L01
RACK_FIELDS = [
    ("row_edit", "type", "Q", "row", "L", "Q"),
    ("orient", "pick", "E", "orientation", "S", "E"),
    ("height_box", "type", "48", "u_height", 42, 48),
    ("width_box", "type", "0.8", "width_m", 0.6, 0.8),
    ("depth_box", "type", "1.0", "depth_m", 1.2, 1.0),
    ("budget_box", "type", "55", "power_budget_kw", 30.0, 55.0),
    ("weight_box", "type", "1500", "max_weight_kg", 1360.0, 1500.0),
    ("cooling", "pick", "liquid", "cooling_type", "air", "liquid"),
    ("status", "pick", "planned", "status", "active", "planned"),
    ("air_loop", "pick", NONE, "air_loop", "AIR", None),
    ("liquid_loop", "pick", "TCS", "liquid_loop", None, "TCS"),
    ("feed_a", "pick", NONE, "feed_a", "FA", None),
    ("feed_b", "pick", "FA", "feed_b", "FB", "FA"),
    ("x_box", "type", "7.5", "x_m", 6.3, 7.5),
    ("y_box", "type", "4.8", "y_m", 5.4, 4.8),
]


@pytest.mark.parametrize("widget, how, text, attr, before, after", RACK_FIELDS, ids=[f[0] for f in RACK_FIELDS])
def test_every_rack_field_through_the_inspector(win, qtbot, widget, how, text, attr, before, after):
    click_rack(win, "L01")
    w = getattr(win.inspector, widget)
    if how == "type":
        type_into(w, text)
    else:
        pick(qtbot, w, text)
    read = lambda: getattr(win.doc.rack("L01"), attr)  # noqa: E731
    assert read() == pytest.approx(after) if isinstance(after, float) else read() == after
    assert win.doc.undo_stack.count() == 1
    assert "_" not in win.doc.undo_stack.undoText()  # human labels: "Set power budget of L01"
    undo_redo(win, before, after, read)
    # picking / typing the same value again changes nothing and pushes nothing
    if how == "type":
        type_into(w, text)
    else:
        pick(qtbot, w, text)
    assert win.doc.undo_stack.count() == 1


def test_history_labels_are_human(win):
    click_rack(win, "L01")
    type_into(win.inspector.budget_box, "50")
    assert win.doc.undo_stack.undoText() == "Set power budget of L01"
    type_into(win.inspector.x_box, "7.5")
    assert win.doc.undo_stack.undoText() == "Move L01"


def test_rename_from_inspector_undo_redo(win):
    click_rack(win, "L01")
    type_into(win.inspector.name_edit, "LONE")
    assert win.doc.rack("LONE") is not None and win.doc.selected_racks == ("LONE",)
    undo_redo(win, ["R01", "R02", "R03", "L01"], ["R01", "R02", "R03", "LONE"],
              lambda: [r.name for r in win.doc.plan.racks])
    assert win.inspector.name_edit.text() == "LONE"


def test_multi_selection_edits_shared_field_in_one_step(win, qtbot):
    click_rack(win, "R01")
    click_rack(win, "R02", Qt.KeyboardModifier.ControlModifier)
    click_rack(win, "L01", Qt.KeyboardModifier.ControlModifier)
    insp = win.inspector
    assert "3 racks selected" in insp.header.text()
    assert insp.budget_box.text() == "—"  # 40, 40, 30: mixed
    assert insp.orient.currentText() == "—"  # N, N, S
    assert insp.air_loop.currentText() == "AIR"  # shared
    type_into(insp.budget_box, "55")
    read = lambda: [win.doc.rack(n).power_budget_kw for n in ("R01", "R02", "L01")]  # noqa: E731
    assert read() == [55.0, 55.0, 55.0]
    assert win.doc.undo_stack.count() == 1
    undo_redo(win, [40.0, 40.0, 30.0], [55.0, 55.0, 55.0], read)
    keys(win, "Ctrl+Z")
    assert insp.budget_box.text() == "—"


def test_position_edit_that_overlaps_is_refused(win, msgs):
    click_rack(win, "L01")
    type_into(win.inspector.x_box, "1.5")
    type_into(win.inspector.y_box, "2.4")  # onto R01
    assert msgs.warnings and "overlap" in msgs.warnings[-1]
    assert win.doc.rack("L01").y_m == pytest.approx(5.4)
    assert win.inspector.y_box.value() == pytest.approx(5.4)  # the box shows the truth again


def select_unit(win, name="CRAH-1"):
    u = win.doc.unit(name)
    click_at(win, u.x_m, u.y_m)
    assert win.doc.selected_units == (name,)


UNIT_FIELDS = [
    ("unit_cap", "type", "200", "rated_capacity_kw", 150.0, 200.0),
    ("unit_setpoint", "type", "20", "supply_setpoint_c", 18.0, 20.0),
    ("unit_flow", "type", "12", "flow_m3s", None, 12.0),
    ("unit_power", "type", "7.5", "rated_power_kw", 0.0, 7.5),
    ("unit_x", "type", "0.75", "x_m", 0.45, 0.75),
    ("unit_y", "type", "5.4", "y_m", 6.0, 5.4),
    ("unit_loop", "pick", "TCS", "loop", "AIR", "TCS"),
    ("unit_name", "type", "CRAH-A", "name", "CRAH-1", "CRAH-A"),
]


@pytest.mark.parametrize("widget, how, text, attr, before, after", UNIT_FIELDS, ids=[f[0] for f in UNIT_FIELDS])
def test_every_cooling_unit_field(win, qtbot, widget, how, text, attr, before, after):
    select_unit(win)
    unit = win.doc.plan.cooling_units[0]
    if before is None:
        before = getattr(unit, attr)
    w = getattr(win.inspector, widget)
    if how == "type":
        type_into(w, text)
    else:
        pick(qtbot, w, text)
    read = lambda: getattr(win.doc.plan.cooling_units[0], attr)  # noqa: E731
    assert read() == pytest.approx(after) if isinstance(after, float) else read() == after
    assert win.doc.undo_stack.count() == 1
    undo_redo(win, before, after, read)


def test_cooling_unit_capacity_reaches_status_bar(win):
    select_unit(win)
    assert win.inspector.stack.currentWidget() is win.inspector.unit_page
    assert win.inspector.unit_cap.suffix() == " kW"
    type_into(win.inspector.unit_cap, "200")
    win.doc.validate_now()
    assert win.totals_labels["cooling"].text().count("200") == 1


def test_drag_cooling_unit_on_floor(win):
    u = win.doc.unit("CRAH-1")
    drag(win.view.viewport(), view_point(win, u.x_m, u.y_m), view_point(win, u.x_m + 1.25, u.y_m))
    assert win.doc.unit("CRAH-1").x_m == pytest.approx(1.65)
    assert win.scene.unit_items["CRAH-1"].pos().x() == pytest.approx(1.65)
    undo_redo(win, 0.45, 1.65, lambda: round(win.doc.unit("CRAH-1").x_m, 6))


def test_feed_label_and_pickers_show_choices(win):
    click_rack(win, "R02")
    insp = win.inspector
    assert insp.feed_b.findData(NONE) >= 0 and insp.liquid_loop.findData("TCS") >= 0
    assert "carries the rack alone" in insp.feed_label.text()


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
    read = lambda: ([s.u_position for s in win.doc.servers_in("R01") if s.server_type == "nvidia-dgx-h100"],  # noqa
                    "nvidia-dgx-h100" in win.doc.plan.server_type_map())
    undo_redo(win, ([], False), ([17], True), read)


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
    undo_redo(win, (False, False), (True, True), lambda: (win.doc.unit(new) is not None, new in win.scene.unit_items))


def choose_in_catalog(win, key):
    """Click the catalog entry (the tree scrolls to it first)."""
    tree = win.catalog.tree
    item = win.catalog.item_for(key)
    tree.scrollToItem(item)
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     tree.visualItemRect(item).center())
    assert tree.currentItem() is item


def test_place_on_floor_button_adds_crah_at_free_spot(win):
    choose_in_catalog(win, "Fan-wall CRAH 400 kW")
    assert win.catalog.add_button.text() == "Place on floor"
    QTest.mouseClick(win.catalog.add_button, Qt.MouseButton.LeftButton)
    new = win.doc.selected_units[0]
    u = win.doc.unit(new)
    assert u.kind == "crah" and u.x_m is not None and new in win.scene.unit_items
    win.doc.validate_now()
    assert not [p for p in win.doc.problems if p.code == "rack-overlap"]
    undo_redo(win, False, True, lambda: win.doc.unit(new) is not None)


def test_add_to_plant_button_adds_chiller_with_its_loop(win):
    choose_in_catalog(win, "Air-cooled screw chiller 1000 kW")
    assert win.catalog.add_button.text() == "Add to plant"
    QTest.mouseClick(win.catalog.add_button, Qt.MouseButton.LeftButton)
    new = win.doc.selected_units[0]
    u = win.doc.unit(new)
    assert u.kind == "chiller" and u.x_m is None and new not in win.scene.unit_items
    loop = next(l for l in win.doc.plan.cooling_loops if l.name == u.loop)
    assert loop.medium == "facility"  # no facility loop in the plan: one came with it
    undo_redo(win, (False, False), (True, True),
              lambda: (win.doc.unit(new) is not None, loop.name in {l.name for l in win.doc.plan.cooling_loops}))


def test_catalog_button_adds_to_selected_rack(win):
    click_rack(win, "R03")
    choose_in_catalog(win, "nvidia-dgx-b200")
    QTest.mouseClick(win.catalog.add_button, Qt.MouseButton.LeftButton)
    read = lambda: [s.server_type for s in win.doc.servers_in("R03")]  # noqa: E731
    assert read() == ["nvidia-dgx-b200"]
    undo_redo(win, [], ["nvidia-dgx-b200"], read)


# ----------------------------------------------------------------- elevation
def elevation_point(win, u: float) -> QPoint:
    e = win.elevation
    f = e.frame_rect()
    return QPoint(int(f.center().x()), int(f.bottom() - (u - 0.5) * e.u_px()))


def test_elevation_drop_at_u(win):
    click_rack(win, "R01")
    e = win.elevation
    assert e.rack_name == "R01"
    # an 8U box dropped centred on U24 lands with its lowest U at 24 - 3 = 21
    drop(e, catalog_mime(win, "nvidia-dgx-h100"), elevation_point(win, 24))
    read = lambda: [s.u_position for s in win.doc.servers_in("R01") if s.server_type == "nvidia-dgx-h100"]  # noqa
    assert read() == [21]
    undo_redo(win, [], [21], read)


def test_elevation_drop_on_taken_u_is_refused(win, msgs):
    click_rack(win, "R01")
    drop(win.elevation, catalog_mime(win, "nvidia-dgx-h100"), elevation_point(win, 6))
    assert msgs.warnings and "taken by" in msgs.warnings[-1]


def test_elevation_drag_moves_server_one_step(win):
    click_rack(win, "R01")
    e = win.elevation
    drag(e, elevation_point(win, 12), elevation_point(win, 30), steps=8)  # R01-b occupies U9-16
    s = next(s for s in win.doc.plan.servers if s.name == "R01-b")
    assert s.u_position == 9 + 18
    assert win.doc.undo_stack.count() == 1
    undo_redo(win, 9, 27, lambda: next(s for s in win.doc.plan.servers if s.name == "R01-b").u_position)


def test_elevation_drag_onto_other_server_is_refused(win, msgs):
    select(win, "R01")
    drag(win.elevation, elevation_point(win, 12), elevation_point(win, 6))
    assert msgs.warnings and "taken by R01-a" in msgs.warnings[-1]
    assert next(s for s in win.doc.plan.servers if s.name == "R01-b").u_position == 9


def test_elevation_delete_key_removes_selected_server(win):
    click_rack(win, "R01")
    e = win.elevation
    QTest.mouseClick(e, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, elevation_point(win, 3))
    assert win.doc.selected_server == "R01-a"
    e.setFocus()
    QTest.keyClick(e, Qt.Key.Key_Delete)
    read = lambda: [s.name for s in win.doc.servers_in("R01")]  # noqa: E731
    assert read() == ["R01-b"]
    assert win.doc.rack("R01") is not None  # Delete in the elevation removes the server, not the rack
    undo_redo(win, ["R01-a", "R01-b"], ["R01-b"], read)


def test_elevation_context_menu_remove(win, qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QMenu

    click_rack(win, "R01")
    e = win.elevation
    clicked = []

    def choose():
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(20, choose)
            return
        action = next(a for a in menu.actions() if a.text() == "Remove server")
        QTest.mouseClick(menu, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         menu.actionGeometry(action).center())
        clicked.append(True)

    QTimer.singleShot(0, choose)
    # a right click: the press selects, the platform then sends the context-menu event
    pos = elevation_point(win, 12)
    QTest.mousePress(e, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, pos)
    QTest.mouseRelease(e, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, pos)
    QApplication.sendEvent(e, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, e.mapToGlobal(pos)))
    qtbot.waitUntil(lambda: bool(clicked), timeout=3000)
    read = lambda: [s.name for s in win.doc.servers_in("R01")]  # noqa: E731
    assert read() == ["R01-a"]
    undo_redo(win, ["R01-a", "R01-b"], ["R01-a"], read)


# ---------------------------------------------------------------- problems
def test_problem_list_is_live_and_navigates(win, qtbot):
    # the one CRAH has no spare: the only finding of the clean small plan is that warning
    assert [(p.code, p.subject) for p in win.doc.problems] == [("loop-no-redundancy", "AIR")]
    assert win.problems.tree.topLevelItemCount() == 1
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
    qtbot.waitUntil(lambda: [p.code for p in win.doc.problems] == ["loop-no-redundancy"], timeout=2000)
    assert win.scene.rack_items["R01"].severity is None


def test_loop_problem_selects_every_rack_and_unit_on_the_loop(win, qtbot):
    from sample_plans import small_plan

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
    # the status bar compares IT heat with cooling and headroom: one unit (tons) along the line
    assert "tons of heat" in win.totals_labels["it"].text() and "BTU/h" not in win.totals_labels["it"].text()
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
