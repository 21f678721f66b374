"""Unit conversions for display, and the zoomed-out (one-layer) drawing of big plans."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QGraphicsItem

from test_gui_support import msgs, view_point  # noqa: F401  (fixtures)
from ui.units import IMPERIAL, SI, fmt, from_display, to_display

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("kind, si, imperial", [
    ("temp", 0.0, 32.0), ("temp", 100.0, 212.0), ("temp", 18.0, 64.4),
    ("length", 0.3048, 1.0), ("length", 0.6, 1.9685),
    ("heat", 1.0, 3412.142), ("cooling", 3.516853, 1.0),  # 1 ton = 12,000 BTU/h
    ("flow", 1.0, 2118.88), ("mass", 0.45359237, 1.0), ("dtemp", 10.0, 18.0),
])
def test_imperial_conversions_and_inverse(kind, si, imperial):
    assert to_display(kind, si, IMPERIAL) == pytest.approx(imperial, rel=1e-5)
    assert from_display(kind, imperial, IMPERIAL) == pytest.approx(si, rel=1e-5)
    assert to_display(kind, si, SI) == si


def test_ton_is_twelve_thousand_btu_per_hour():
    assert to_display("heat", 3.516853, IMPERIAL) == pytest.approx(12000.0, rel=1e-5)


def test_format_keeps_electrical_power_in_kw():
    assert fmt("power", 12.5, IMPERIAL) == "12.5 kW"
    assert fmt("heat", 12.5, IMPERIAL) == "42,652 BTU/h"
    assert fmt("cooling", 351.6853, IMPERIAL) == "100.0 tons"
    assert fmt("temp", None, SI) == "—"


def test_zoomed_out_big_plan_paints_as_one_layer_and_still_selects(qtbot, msgs):
    from planner.demo import build_demo_plan
    from ui.main_window import MainWindow

    w = MainWindow(build_demo_plan(400))
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    w.view.fit_hall()
    assert w.view.px_per_m() < 20
    sc = w.scene
    assert not sc.detail and sc.layer.isVisible()
    assert all(it.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents for it in sc.rack_items.values())
    name = w.doc.plan.racks[10].name
    r = w.doc.rack(name)
    QTest.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(w, r.x_m, r.y_m))
    assert w.doc.selected_racks == (name,)
    sc._rebuild_layer()
    assert len(sc.layer._selected) == 1
    w.view.zoom_by(40 / w.view.px_per_m())
    assert sc.detail and not sc.layer.isVisible()
    assert not any(it.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents for it in sc.rack_items.values())
    w.doc.undo_stack.setClean()
