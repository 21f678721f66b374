"""Plans with several halls: one hall shown at a time, the picker, problems that show their hall."""
from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from planner.plan import Hall, Rack
from gui_helpers import focus_floor, keys, pick, view_point
from sample_plans import small_plan

pytestmark = pytest.mark.gui


def click_rack(win, name, modifier=Qt.KeyboardModifier.NoModifier):
    r = win.doc.rack(name)
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, modifier, view_point(win, r.x_m, r.y_m))


# 7 ----------------------------------------------------------------- several halls
def two_hall_plan():
    plan = small_plan()
    plan.halls.append(Hall("Hall 2", 10.0, 6.0, 0.6))
    # a rack of hall 2 on the same coordinates as R01 of hall 1: not an overlap
    plan.racks.append(Rack("H2-01", hall="Hall 2", row="H", x_m=1.5, y_m=2.4, orientation="N", air_loop="AIR",
                           feed_a="FA", feed_b="FB"))
    return plan


def test_one_hall_at_a_time_with_a_picker(win, qtbot, msgs):
    win.doc.set_plan(two_hall_plan(), None)
    qtbot.waitUntil(win.hall_combo.isVisible, timeout=2000)
    assert win.hall_combo.count() == 2
    assert "H2-01" not in win.scene.rack_items and "R01" in win.scene.rack_items
    assert not [p for p in win.doc.problems if p.code == "rack-overlap"]
    click_rack(win, "L01")
    keys(win, "Ctrl+A")
    assert "H2-01" not in win.doc.selected_racks
    pick(qtbot, win.hall_combo, "Hall 2")
    assert set(win.scene.rack_items) == {"H2-01"} and "CRAH-1" not in win.scene.unit_items
    assert win.scene.hall_rect().width() == 10.0
    click_rack(win, "H2-01")
    focus_floor(win)
    QTest.keyClick(win.view, Qt.Key.Key_Right)  # free in hall 2, where hall 1's R02 would have been
    assert not msgs.warnings and win.doc.rack("H2-01").x_m == pytest.approx(2.1)
    pick(qtbot, win.hall_combo, "Hall 1")
    keys(win, "Ctrl+Z")  # undo shows the hall the edit was made in
    assert win.doc.hall().name == "Hall 2" and win.doc.rack("H2-01").x_m == pytest.approx(1.5)
    assert win.hall_combo.currentData() == "Hall 2"


def test_single_hall_plan_hides_the_picker(win):
    assert not win.hall_combo.isVisible()


def test_problem_in_another_hall_shows_that_hall(win, qtbot):
    plan = two_hall_plan()
    plan.racks[-1] = replace(plan.racks[-1], power_budget_kw=-1.0)  # an error only H2-01 has
    plan.servers.append(replace(plan.servers[0], name="H2-s", rack="H2-01"))
    win.doc.set_plan(plan, None)
    tree = win.problems.tree
    row = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount()) if tree.topLevelItem(i).text(1) == "H2-01")
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     tree.visualItemRect(row).center())
    assert win.doc.hall().name == "Hall 2" and win.doc.selected_racks == ("H2-01",)
    assert win.scene.rack_items["H2-01"].isSelected()
