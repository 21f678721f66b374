"""Editing that keeps the hall valid, through the real widgets: Add Row across an aisle, new racks
without guessed feeds, loop/server mismatch in the problem list, the inspector after a refused drag."""
from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from planner.plan import Rack
from gui_helpers import answer_dialog, click_tool, drag, pick, undo_redo, view_point
from sample_plans import small_plan

pytestmark = pytest.mark.gui


def click_rack(win, name):
    r = win.doc.rack(name)
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(win, r.x_m, r.y_m))


def problems(win) -> set[tuple[str, str | None]]:
    win.doc.validate_now()
    return {(p.code, p.rack) for p in win.doc.problems}


def shown_problems(win) -> list[str]:
    """The rows of the problem list as the user sees them (rule column and text)."""
    tree = win.problems.tree
    return [f"{tree.topLevelItem(i).text(3)} {tree.topLevelItem(i).text(2)}" for i in range(tree.topLevelItemCount())]


def add_row_with_dialog(win, qtbot, count: int, feeds=("FA", "FB"), row: str | None = None) -> None:
    """Toolbar Add Row; in the dialog: ``count`` racks, facing left on Automatic, feeds picked, OK."""
    from PySide6.QtWidgets import QDialogButtonBox

    errors = []

    def fill(dlg):
        try:
            fill_in(dlg)
        except Exception as e:  # a failing check must not leave the modal dialog open (the test would hang)
            errors.append(e)
            dlg.reject()

    def fill_in(dlg):
        dlg.count.setFocus()
        QTest.keyClick(dlg.count, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClicks(dlg.count, str(count))
        assert dlg.orientation.currentData() is None  # Automatic is the default
        if row is not None:
            dlg.row.setFocus()
            QTest.keyClick(dlg.row, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
            QTest.keyClicks(dlg.row, row)
        for combo, feed in zip((dlg.feed_a, dlg.feed_b), feeds):
            combo.setFocus()
            while combo.currentData() != feed:
                QTest.keyClick(combo, Qt.Key.Key_Down)
        QTest.mouseClick(dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok),
                         Qt.MouseButton.LeftButton)

    answer_dialog(qtbot, fill)
    click_tool(win, win.act_add_row)
    if errors:
        raise errors[0]


@pytest.fixture
def row_win(win):
    """Row R (three racks, fronts north) moved to y = 4.8 m, so there is floor on both of its sides."""
    plan = small_plan()
    plan.racks = [replace(r, y_m=4.8) if r.row == "R" else r for r in plan.racks]
    win.doc.set_plan(plan, None)
    return win


# 1 ------------------------------------------------------------ Add Row across an aisle
def test_add_row_faces_its_neighbour_across_a_cold_aisle_then_backs_onto_it(row_win, qtbot):
    win = row_win
    before = problems(win)
    click_rack(win, "R01")  # the neighbour: the selection's row
    add_row_with_dialog(win, qtbot, 3)
    new = [r for r in win.doc.plan.racks if r.name not in ("R01", "R02", "R03", "L01")]
    assert len(new) == 3 and {r.orientation for r in new} == {"S"}  # fronts face row R's fronts
    assert [r.x_m for r in new] == pytest.approx([1.5, 2.1, 2.7])  # lined up with row R
    # cold aisle of two 0.6 m tiles between the fronts (R's front edge at y = 4.2 m)
    assert {round(r.footprint()[3], 6) for r in new} == {3.0}
    assert {(r.feed_a, r.feed_b) for r in new} == {("FA", "FB")}
    assert problems(win) == before  # no new problem: the aisle is wide enough, nothing faces an exhaust
    assert win.doc.undo_stack.count() == 1

    click_rack(win, "R02")
    add_row_with_dialog(win, qtbot, 3, row="T")  # R's cold side is taken: backs to R's backs
    t = [r for r in win.doc.plan.racks if r.row == "T"]
    assert {r.orientation for r in t} == {"S"} and {round(r.footprint()[1], 6) for r in t} == {6.6}  # hot aisle 1.2 m
    assert problems(win) == before
    undo_redo(win, 0, 3, lambda: len([r for r in win.doc.plan.racks if r.row == "T"]))


def test_rows_facing_fronts_to_backs_are_listed(row_win, qtbot):
    """What the old Add Row built: a north-facing row right in front of row R, no aisle."""
    from ui import commands as cmds

    win = row_win
    assert cmds.try_push(win.doc, win, cmds.add_row_at, (0, 0), 3, "N", "Q", origin=(1.2, 2.4),
                         feeds=("FA", "FB"))
    problems(win)
    shown = shown_problems(win)
    assert any(s.startswith("inlet-faces-exhaust") and "row R face the backs of row Q" in s for s in shown), shown


# 2 ------------------------------------------------------------------- feeds of new racks
def test_new_rack_gets_no_feeds_and_the_problem_list_says_so(win):
    click_rack(win, "R01")  # on feeds FA/FB: Add Rack copies its look, not its feeds
    click_tool(win, win.act_add_rack)
    (new,) = win.doc.selected_racks
    r = win.doc.rack(new)
    assert (r.feed_a, r.feed_b) == (None, None)
    problems(win)
    assert any(s.startswith("rack-no-feed") and f"Rack {new} has no power feed yet" in s for s in shown_problems(win))


# 3 ------------------------------------------------------------ loops against server cooling
def test_liquid_loop_on_an_air_only_rack_is_warned(win, qtbot):
    click_rack(win, "R01")  # two air-cooled 8U servers
    pick(qtbot, win.inspector.liquid_loop, "TCS")
    assert win.doc.rack("R01").liquid_loop == "TCS"
    problems(win)
    rows = [s for s in shown_problems(win) if s.startswith("rack-loop-mismatch")]
    assert rows == ["rack-loop-mismatch Rack R01 is on liquid loop TCS but its servers reject no heat to liquid: "
                    "remove the loop or place liquid-cooled servers"]
    tree = win.problems.tree
    item = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                if tree.topLevelItem(i).text(3) == "rack-loop-mismatch")
    assert item.text(0).lower().startswith("warning")


# 4 ---------------------------------------------------------- inspector after a refused drag
def test_inspector_shows_the_real_position_after_a_refused_drag(win, msgs):
    click_rack(win, "R03")
    a, b = win.doc.rack("R03"), win.doc.rack("R02")
    assert win.inspector.x_box.si_value() == pytest.approx(a.x_m)
    drag(win.view.viewport(), view_point(win, a.x_m, a.y_m), view_point(win, b.x_m + 0.05, b.y_m))
    assert msgs.warnings and "may not overlap" in msgs.warnings[-1]
    assert win.doc.rack("R03").x_m == pytest.approx(a.x_m)
    assert win.inspector.x_box.si_value() == pytest.approx(a.x_m)  # not the refused 2.1 m
    assert win.inspector.y_box.si_value() == pytest.approx(a.y_m)


# 2 ----------------------------------------------------- power feeds and loops in the GUI
def edit_cell(view, row: int, col: int, text: str) -> None:
    """Click a table cell, press F2, type ``text`` over it and press Enter (as a user edits)."""
    view.scrollTo(view.model().index(row, col))
    rect = view.visualRect(view.model().index(row, col))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    QTest.keyClick(view, Qt.Key.Key_F2)
    editor = view.focusWidget()
    assert editor is not view, "no cell editor opened"
    QTest.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(editor, text)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    QTest.qWait(30)  # the delegate commits through a queued call


def test_power_feeds_are_created_renamed_edited_and_deleted_with_undo(win, qtbot, monkeypatch):
    from ui import messages

    asked = []
    monkeypatch.setattr(messages, "confirm", lambda parent, title, text, ok: asked.append(text) or True)
    win.power_dock.show()
    win.power_dock.raise_()
    ed = win.power_editor
    QTest.mouseClick(ed.add_btn, Qt.MouseButton.LeftButton)
    assert [f.name for f in win.doc.plan.power_feeds] == ["FA", "FB", "Feed A2"]  # FA/FB: one A, one B -> the second A
    assert ed.model.rowCount() == 3
    edit_cell(ed.table, 0, 0, "PDU-1A")  # rename FA: every rack on it follows
    assert win.doc.plan.power_feeds[0].name == "PDU-1A"
    assert {r.feed_a for r in win.doc.plan.racks} == {"PDU-1A"} and win.doc.undo_stack.count() == 2
    edit_cell(ed.table, 0, 4, "160")  # breaker rating
    assert win.doc.plan.power_feeds[0].amperage == 160.0
    assert ed.model.data(ed.model.index(0, 7)) == f"{win.doc.plan.power_feeds[0].capacity_kw:,.1f}"
    ed.table.selectRow(0)
    QTest.mouseClick(ed.del_btn, Qt.MouseButton.LeftButton)
    assert asked and "4 rack(s) are on PDU-1A" in asked[-1]
    assert [f.name for f in win.doc.plan.power_feeds] == ["FB", "Feed A2"]
    assert {r.feed_a for r in win.doc.plan.racks} == {None}  # left without side A: the problem list says so
    problems(win)
    assert any(s.startswith("rack-single-feed") for s in shown_problems(win))
    undo_redo(win, ["PDU-1A", "FB", "Feed A2"], ["FB", "Feed A2"], lambda: [f.name for f in win.doc.plan.power_feeds])
    for _ in range(4):
        QTest.keySequence(win, "Ctrl+Z")
    assert [f.name for f in win.doc.plan.power_feeds] == ["FA", "FB"]
    assert {r.feed_a for r in win.doc.plan.racks} == {"FA"}


def test_bad_feed_values_are_refused_naming_the_field(win, msgs):
    win.power_dock.show()
    win.power_dock.raise_()
    edit_cell(win.power_editor.table, 0, 5, "2")
    assert msgs.warnings and "Feed FA: phases must be 1 or 3, not 2." in msgs.warnings[-1]
    edit_cell(win.power_editor.table, 0, 1, "C")
    assert "side must be A or B" in msgs.warnings[-1]
    edit_cell(win.power_editor.table, 1, 0, "FA")
    assert "There is already a power feed named FA." in msgs.warnings[-1]
    assert win.doc.undo_stack.count() == 0


def test_cooling_loops_are_created_renamed_and_deleted_in_the_plant_dock(win, qtbot, msgs, monkeypatch):
    from ui import messages

    monkeypatch.setattr(messages, "confirm", lambda *a: True)
    win.plant_dock.show()
    win.plant_dock.raise_()
    ed = win.plant_editor
    menu = ed.new_loop_btn.menu()
    liquid = next(a for a in menu.actions() if a.text().startswith("Liquid"))
    liquid.trigger()  # what clicking the menu entry does
    assert [l.name for l in win.doc.plan.cooling_loops] == ["AIR", "TCS", "Liquid loop 1"]
    assert ed.current() == ("loop", "Liquid loop 1") and ed.loop_name.hasFocus()
    QTest.keyClicks(ed.loop_name, "TCS-2")  # the name is selected: typing replaces it
    QTest.keyClick(ed.loop_name, Qt.Key.Key_Return)
    assert [l.name for l in win.doc.plan.cooling_loops] == ["AIR", "TCS", "TCS-2"]
    ed.select_loop("AIR")  # rename the loop with the racks and the CRAH on it
    ed.loop_name.setFocus()
    QTest.keyClick(ed.loop_name, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(ed.loop_name, "CRAH loop")
    QTest.keyClick(ed.loop_name, Qt.Key.Key_Return)
    assert {r.air_loop for r in win.doc.plan.racks} == {"CRAH loop"}
    assert win.doc.unit("CRAH-1").loop == "CRAH loop"
    assert ed.current() == ("loop", "CRAH loop")
    QTest.mouseClick(ed.del_loop_btn, Qt.MouseButton.LeftButton)  # the CRAH is still on it: refused
    assert "still has 1 cooling unit(s) (CRAH-1)" in msgs.warnings[-1]
    ed.select_loop("TCS-2")
    QTest.mouseClick(ed.del_loop_btn, Qt.MouseButton.LeftButton)
    assert [l.name for l in win.doc.plan.cooling_loops] == ["CRAH loop", "TCS"]
    undo_redo(win, ["CRAH loop", "TCS", "TCS-2"], ["CRAH loop", "TCS"],
              lambda: [l.name for l in win.doc.plan.cooling_loops])



# 5 ----------------------------------------------------------------------- units on screen
def cdu_plan():
    from planner.plan import CoolingUnit

    plan = small_plan()
    plan.cooling_units.append(CoolingUnit("CDU-1", "cdu", "TCS", 800.0, flow_m3s=0.02, rated_power_kw=6.0,
                                          x_m=11.1, y_m=1.2, loop_volume_m3=0.2))
    return plan


def label_lines(widget) -> list[str]:
    from PySide6.QtWidgets import QLabel

    return [line for lbl in widget.findChildren(QLabel) if lbl.isVisible() for line in lbl.text().splitlines()]


def test_imperial_cdu_page_shows_gpm_and_no_line_mixes_btu_h_with_tons(win, qtbot):
    from ui.units import IMPERIAL

    win.doc.set_plan(cdu_plan(), None)
    pick(qtbot, win.units_combo, IMPERIAL)
    u = win.doc.unit("CDU-1")
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(win, u.x_m, u.y_m))
    assert win.doc.selected_units == ("CDU-1",)
    ins = win.inspector
    assert ins.unit_flow.suffix() == " GPM" and ins.unit_flow.text() == "317 GPM"  # 20 L/s
    assert ins.unit_cap.suffix() == " tons"
    lines = label_lines(ins)
    assert any("tons at max of" in line for line in lines), lines
    assert not [line for line in lines if "BTU/h" in line and "tons" in line]
    status = " ".join(win.totals_labels[k].text() for k in ("it", "cooling", "headroom"))
    assert "tons" in status and "BTU/h" not in status, status  # the status bar is one line too
    click_rack(win, "R01")  # back on the CRAH: air flow in CFM
    c = win.doc.unit("CRAH-1")
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(win, c.x_m, c.y_m))
    assert ins.unit_flow.suffix() == " CFM"
    win.plant_dock.show()
    win.plant_dock.raise_()
    ed = win.plant_editor
    (item,) = [it for it in ed.tree.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive)
               if it.data(0, Qt.ItemDataRole.UserRole) == ("unit", "CDU-1")]
    ed.tree.setCurrentItem(item)
    assert ed.boxes["flow_m3s"].text() == "317 GPM" and ed.boxes["loop_volume_m3"].text() == "53 gal"
    pick(qtbot, win.units_combo, "si")
    assert ed.boxes["flow_m3s"].text() == "20.0 L/s" and ed.boxes["loop_volume_m3"].text() == "200 L"


def test_two_foot_tiles_for_a_us_hall(win, qtbot):
    from ui.units import IMPERIAL, US_TILE_M

    win.doc.set_selection()
    ins = win.inspector
    assert ins.stack.currentWidget() is ins.empty and ins.hall_tiles.isVisible()
    pick(qtbot, ins.hall_tiles, US_TILE_M)
    assert win.doc.hall().tile_m == pytest.approx(0.6096)
    pick(qtbot, win.units_combo, IMPERIAL)
    assert win.scene.hall_caption() == "Hall 1 — 39.37 ft × 26.25 ft, 2 ft tiles"
    step, marks = win.scene.ruler_marks(win.view.px_per_m())
    assert step / US_TILE_M == pytest.approx(round(step / US_TILE_M))  # every mark on a tile line
    assert marks[1] == pytest.approx(step)
    undo_redo(win, 0.6, 0.6096, lambda: round(win.doc.hall().tile_m, 6))
    assert win.doc.undo_stack.undoText() == "Set floor tiles of hall Hall 1"


def test_hall_that_would_leave_racks_outside_is_refused(win, msgs):
    from gui_helpers import type_into

    win.doc.set_selection()
    type_into(win.inspector.hall_width, "6")
    assert msgs.warnings and "would leave L01 outside hall Hall 1" in msgs.warnings[-1]
    assert win.doc.hall().width_m == 12.0 and win.inspector.hall_width.si_value() == pytest.approx(12.0)


# jobs CSV: the GUI reads it with planner.schedule's one reader ---------------------------------
def test_jobs_csv_import_keeps_the_sites_daylight_saving(win, tmp_path, monkeypatch):
    from ui import messages

    win.doc.plan.site.timezone = "America/New_York"
    path = tmp_path / "jobs.csv"
    path.write_text("name,gpus,duration_h,release\nafter-dst,8,2,2025-03-10T00:00\n")
    monkeypatch.setattr(messages, "ask_jobs_csv", lambda parent, mode: str(path))
    win.jobs_dock.show()
    QTest.mouseClick(win.jobs_editor.imp_btn, Qt.MouseButton.LeftButton)
    (job,) = win.doc.plan.jobs
    assert job.release_s == (68 * 24 - 1) * 3600.0  # 1 Jan to 10 Mar local: clocks went forward an hour on 9 Mar
    QTest.mouseClick(win.jobs_editor.exp_btn, Qt.MouseButton.LeftButton)
    assert "after-dst,8,1,2,2025-03-10T00:00," in path.read_text()


def test_the_window_opens_no_taller_than_asked(qtbot, msgs):
    """The demo's docks stacked at their size hints made the first show 1,337 px tall on a 1,000 px screen."""
    from planner.demo import build_demo_plan
    from ui.main_window import MainWindow

    w = MainWindow(build_demo_plan())
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    qtbot.waitExposed(w)
    assert (w.width(), w.height()) == (1600, 1000)
    w.doc.undo_stack.setClean()


def test_a_cold_aisle_between_rows_of_unequal_length_is_shaded(qapp):
    """Seen on a screenshot after Duplicate lengthened row G: the cold aisle between G and H lost its
    shading (QPainterPath.simplified() on strips 18.6 m and 18.599999999999998 m deep)."""
    from PySide6.QtCore import QPointF

    from ui.floor_items import FloorOverlayItem

    g = [Rack(f"G0{i + 1}", row="G", x_m=2.7 + 0.6 * i, y_m=18.0, orientation="S") for i in range(5)]
    h = [Rack(f"H0{i + 1}", row="H", x_m=2.7 + 0.6 * i, y_m=20.4 - 2 ** -48, orientation="N") for i in range(4)]
    item = FloorOverlayItem()
    item.rebuild(g + h)
    assert item._cold.contains(QPointF(3.0, 19.2)) and item._cold.contains(QPointF(5.1, 19.2))
    assert not item._cold.contains(QPointF(5.7, 19.2)) and item._hot.contains(QPointF(3.0, 17.0))

