"""Unit conversions for display, and the zoomed-out (one-layer) drawing of big plans."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QGraphicsItem

from gui_helpers import view_point
from ui.units import IMPERIAL, SI, fmt, from_display, to_display

pytestmark = pytest.mark.gui


#: The unit an engineer expects for each quantity: kind -> (SI unit, imperial unit, an SI value as the plan
#: stores it, the same in the SI display unit, the same in the imperial display unit). Hand-computed from
#: the exact definitions (ft, lb, US gal) and NIST SP 811 (BTU_IT, ton of refrigeration).
EXPECTED = {
    "length": ("m", "ft", 0.6096, 0.6096, 2.0),
    "temp": ("°C", "°F", 18.0, 18.0, 64.4),
    "dtemp": ("K", "°F", 10.0, 10.0, 18.0),
    "power": ("kW", "kW", 12.5, 12.5, 12.5),  # electrical power stays in kW in the US too
    "heat": ("kW", "BTU/h", 3.516853, 3.516853, 12000.0),  # 1 ton = 12,000 BTU/h
    "cooling": ("kW", "tons", 351.6853, 351.6853, 100.0),
    "airflow": ("m³/s", "CFM", 0.4719474432, 0.4719474432, 1000.0),  # 1000 ft³/min
    "liquid_flow": ("L/s", "GPM", 0.003785411784 / 60 * 100, 0.3785411784 / 60 * 1000, 100.0),  # 100 US gal/min
    "volume": ("L", "gal", 0.2, 200.0, 52.83441),
    "mass": ("kg", "lb", 0.45359237, 0.45359237, 1.0),
    "energy": ("kWh", "kWh", 1000.0, 1000.0, 1000.0),
}


def test_one_table_holds_every_quantity_and_each_has_a_row_here():
    from ui.units import QUANTITIES

    assert set(QUANTITIES) == set(EXPECTED)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_quantity_in_the_unit_an_engineer_expects(kind):
    from ui.units import suffix

    si_unit, imp_unit, stored, si_shown, imp_shown = EXPECTED[kind]
    assert (suffix(kind, SI), suffix(kind, IMPERIAL)) == (si_unit, imp_unit)
    assert to_display(kind, stored, SI) == pytest.approx(si_shown, rel=1e-9)
    assert to_display(kind, stored, IMPERIAL) == pytest.approx(imp_shown, rel=1e-6)
    assert from_display(kind, imp_shown, IMPERIAL) == pytest.approx(stored, rel=1e-6)
    assert from_display(kind, si_shown, SI) == pytest.approx(stored, rel=1e-12)


def test_liquid_flow_is_litres_or_gallons_per_minute_never_cfm():
    assert fmt("liquid_flow", 0.02, SI) == "20.0 L/s"
    assert fmt("liquid_flow", 0.02, IMPERIAL) == "317 GPM"
    assert fmt("airflow", 0.5, IMPERIAL) == "1,059 CFM"


def test_format_keeps_electrical_power_in_kw():
    assert fmt("power", 12.5, IMPERIAL) == "12.5 kW"
    assert fmt("heat", 12.5, IMPERIAL) == "42,652 BTU/h"
    assert fmt("cooling", 351.6853, IMPERIAL) == "100.0 tons"
    assert fmt("temp", None, SI) == "—"


def test_every_kind_the_gui_shows_is_in_the_table():
    """No view converts a quantity the table does not know (a KeyError would say so at run time; this
    finds it in the source)."""
    import re
    from pathlib import Path

    from ui.units import QUANTITIES

    src = "\n".join(p.read_text() for p in (Path(__file__).parents[1] / "ui").glob("*.py"))
    kinds = set(re.findall(r"""(?:fmt|to_display|suffix|QuantitySpinBox|_qty|set_kind)\(\s*["']([a-z_]+)["']""", src))
    kinds |= set(re.findall(r'"(?:[A-Za-z /]+)", "([a-z_]+)", -?[\d.e]+, [\d.e]+, ""', src))  # plant editor table
    assert kinds and kinds <= set(QUANTITIES), kinds - set(QUANTITIES)


@pytest.mark.parametrize("tile, system, text", [
    (0.6096, IMPERIAL, "2 ft"), (0.6096, SI, "2 ft (0.61 m)"), (0.6, SI, "0.6 m"), (0.6, IMPERIAL, "0.6 m (1.97 ft)"),
    (0.5, SI, "0.50 m"),
])
def test_tiles_are_named_in_their_own_unit(tile, system, text):
    from ui.units import tile_text

    assert tile_text(tile, system) == text


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
