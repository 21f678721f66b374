"""Compare and exports: PNG/SVG of each plot, the time series CSV, the PDF report (Qt printing)."""
from __future__ import annotations

import csv
import re
from dataclasses import replace

import pytest

from gui_helpers import menu_action, run_via_menu
from sample_plans import DAY

pytestmark = pytest.mark.gui


def test_export_png_svg_csv_and_pdf(dwin, qtbot, msgs, tmp_path, monkeypatch):  # noqa: F811
    from ui import messages

    out = run_via_menu(dwin, qtbot)
    msgs.directory = str(tmp_path)
    menu_action(dwin, "Simulation", "Export Plots (PNG, SVG)…").trigger()
    png = tmp_path / "gpu.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PySide6.QtGui import QImage
    img = QImage(str(png))
    assert img.width() == 1400 and img.height() > 200
    svg = (tmp_path / "gpu.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert {p.stem for p in tmp_path.glob("*.png")} == set(dwin.analysis.results.plots.plots)
    # time series CSV: the columns, one row a minute
    ts = tmp_path / "ts.csv"
    monkeypatch.setattr(messages, "ask_export_path", lambda parent, title, sug, flt: str(ts))
    menu_action(dwin, "Simulation", "Export Time Series (CSV)…").trigger()
    rows = list(csv.reader(ts.open()))
    assert rows[0][:11] == ["time", "ambient_c", "it_kw", "cooling_kw", "facility_kw", "supply_temp_c",
                            "max_gpu_temp_c", "throttled_fraction", "electrical_loss_kw", "pue", "pue_cooling"]
    assert rows[0][11:] == [f"supply_{n}_c" for n in out.result.loop_names]
    assert len(rows) == 1 + len(out.result.time_s) == 1 + 180
    # PDF report through Qt's printing
    pdf = tmp_path / "report.pdf"
    monkeypatch.setattr(messages, "ask_export_path", lambda parent, title, sug, flt: str(pdf))
    menu_action(dwin, "Simulation", "Report (PDF)…").trigger()
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 2
    assert f"({pages} pages)" in dwin.statusBar().currentMessage()
    # the floor is back in the colour mode it had
    assert dwin.scene.color_mode == "loop"


def test_export_never_writes_over_the_plan(dwin, qtbot, msgs, tmp_path, monkeypatch):  # noqa: F811
    from models.store import save_plan
    from ui import messages

    plan_path = tmp_path / "hall.dcplan"
    save_plan(dwin.doc.snapshot(), str(plan_path))
    dwin.doc.set_path(plan_path)
    before = plan_path.read_bytes()
    run_via_menu(dwin, qtbot)
    monkeypatch.setattr(messages, "ask_export_path", lambda parent, title, sug, flt: str(plan_path))
    menu_action(dwin, "Simulation", "Export Time Series (CSV)…").trigger()
    menu_action(dwin, "Simulation", "Report (PDF)…").trigger()
    assert plan_path.read_bytes() == before and len(msgs.warnings) == 2


def test_compare_two_scenarios_and_before_after_an_edit(dwin, qtbot):
    from ui import commands as cmds

    first = run_via_menu(dwin, qtbot)
    other = replace(next(s for s in dwin.doc.plan.scenarios if s.name == DAY), name="Cooler copy",
                    start=first.result.start.replace(hour=3))
    dwin.doc.plan.scenarios.append(other)
    dwin.analysis.fill_scenarios()
    dwin.analysis.set_scenario("Cooler copy")
    second = run_via_menu(dwin, qtbot)
    cv = dwin.analysis.compare_view
    menu_action(dwin, "Simulation", "Compare Runs").trigger()
    assert dwin.analysis.results.tabs.currentWidget() is cv
    a, b = cv.pair()
    assert {a.scenario_name, b.scenario_name} == {DAY, "Cooler copy"}
    hot = f"{first.answers['hottest_gpu']['temp_c']:.1f} °C"
    assert hot in {cv.table.item(0, 0).text(), cv.table.item(0, 1).text()}
    assert len(cv.plots["facility_kw"].listDataItems()) == 2
    # before/after an edit of the same scenario
    with qtbot.waitSignal(dwin.analysis.runner.sigFinished, timeout=60_000):
        cmds.try_push(dwin.doc, dwin, cmds.EditRacksCommand, ["A01"], {"power_budget_kw": 60.0})
    labels = [cv.left.itemText(i) for i in range(cv.left.count())]
    assert "Cooler copy (before the last edit)" in labels
    a, b = cv.pair()  # the default pair is the run before the edit against the one after it
    assert a is second and b is dwin.analysis.store.current and b.request.automatic
