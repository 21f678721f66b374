"""Plan data editors: site, scenarios (weather, tariff), plant tree, jobs table with CSV — undoable and saved."""
from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


pytestmark = pytest.mark.gui


def set_text(widget, text):
    widget.setFocus()
    widget.selectAll()
    QTest.keyClicks(widget, text)
    QTest.keyClick(widget, Qt.Key.Key_Return)


def test_site_edit_is_undoable(dwin):
    ed = dwin.scenario_editor
    set_text(ed.tz, "America/Denver")
    assert dwin.doc.plan.site.timezone == "America/Denver"
    set_text(ed.elev, "1600")
    assert dwin.doc.plan.site.elevation_m == 1600.0
    dwin.doc.undo_stack.undo()
    dwin.doc.undo_stack.undo()
    assert dwin.doc.plan.site.timezone == "America/Phoenix" and dwin.doc.plan.site.elevation_m == 337.0


def test_bad_time_zone_is_refused_naming_the_field(dwin, msgs):  # noqa: F811
    set_text(dwin.scenario_editor.tz, "Mars/Olympus")
    assert msgs.warnings and msgs.warnings[-1].startswith("Time zone")
    assert dwin.doc.plan.site.timezone == "America/Phoenix"


def test_scenarios_add_duplicate_delete_and_fields(dwin):
    from planner.solver.model import CONTROL_MODES

    ed = dwin.scenario_editor
    n = len(dwin.doc.plan.scenarios)
    ed.dup_btn.click()
    assert len(dwin.doc.plan.scenarios) == n + 1
    copy = dwin.doc.plan.scenarios[-1]
    assert copy.name != dwin.doc.plan.scenarios[0].name and ed.current().name == copy.name
    set_text(ed.days, "2")
    assert dwin.doc.plan.scenarios[-1].horizon_s == 2 * 86400.0
    assert [ed.control.itemData(i) for i in range(ed.control.count())] == list(CONTROL_MODES)
    # step longer than the scenario is refused with the field named
    set_text(ed.step, "3600")
    assert dwin.doc.plan.scenarios[-1].step_s == 3600.0
    ed.add_btn.click()
    assert len(dwin.doc.plan.scenarios) == n + 2
    ed.del_btn.click()
    assert len(dwin.doc.plan.scenarios) == n + 1
    # the toolbar's scenario picker follows the list
    assert dwin.analysis.scenario_combo.count() == n + 1


def test_weather_shows_location_and_design_conditions(dwin):
    ed = dwin.scenario_editor
    info = ed.weather_info.text()
    assert "Phoenix" in info and "WMO 722780" in info and "ASHRAE design: cooling 0.4 % 43.4 °C" in info
    i = ed.weather.findText("Minneapolis", Qt.MatchFlag.MatchContains)
    ed.weather.setCurrentIndex(i)
    ed.weather.activated.emit(i)
    assert "Minneapolis" in ed.current().weather_file and "Minneapolis" in ed.weather_info.text()
    dwin.doc.undo_stack.undo()
    assert "Phoenix" in ed.current().weather_file


def test_tariff_price_edit_and_chart(dwin):
    ed = dwin.scenario_editor
    before = list(ed.current().tariff.hourly_price_usd_per_kwh)
    ed.prices.item(1, 16).setText("0.5")
    after = ed.current().tariff.hourly_price_usd_per_kwh
    assert after[16] == 0.5 and after[:16] == before[:16] and after[17:] == before[17:]
    bars = [i for i in ed.chart.getPlotItem().items if i.__class__.__name__ == "BarGraphItem"]
    assert bars and list(bars[0].opts["height"])[16] == 0.5
    ed.prices.item(1, 3).setText("cheap")
    dwin.doc.undo_stack.undo()
    assert ed.current().tariff.hourly_price_usd_per_kwh == before


def test_tariff_demand_window_fields_edit_undo_and_refuse(dwin, msgs):  # noqa: F811
    """The demo's tariff has one demand charge at any hour (window 0–24, every day and month, no off-peak
    charge); each field edits the tariff (the rest kept) into APS E-32 TOU L's shape, undo restores it,
    a window that ends before it starts and a month 13 are refused with the reason."""
    ed = dwin.scenario_editor
    t0 = ed.current().tariff
    assert (ed.win_start.value(), ed.win_end.value(), ed.weekdays.isChecked()) == (0, 24, False)
    assert ed.win_months.text() == "all" and ed.demand.value() == pytest.approx(18.0)
    assert ed.off_demand.value() == 0.0
    set_text(ed.win_start, "15")
    set_text(ed.win_end, "20")
    ed.weekdays.setChecked(True)
    set_text(ed.win_months, "5-10")
    set_text(ed.off_demand, "2.85")
    t = ed.current().tariff
    assert (t.demand_window_start_h, t.demand_window_end_h, t.demand_window_weekdays_only) == (15, 20, True)
    assert t.demand_window_months == (5, 6, 7, 8, 9, 10) and t.off_peak_demand_charge_usd_per_kw == 2.85
    assert t.hourly_price_usd_per_kwh == t0.hourly_price_usd_per_kwh and t.demand_charge_usd_per_kw == 18.0
    set_text(ed.win_start, "21")  # after the window's end (20:00)
    assert "the demand window 21:00–20:00 must start before it ends" in msgs.warnings[-1]
    assert ed.current().tariff.demand_window_start_h == 15 and ed.win_start.value() == 15
    set_text(ed.win_months, "13")
    assert "months: '13' is not a month 1-12" in msgs.warnings[-1]
    for _ in range(5):
        dwin.doc.undo_stack.undo()
    assert ed.current().tariff == t0


def test_plant_tree_has_every_unit_by_loop_and_edits(dwin, msgs):  # noqa: F811
    from ui.plant_editor import ROLE

    tree = dwin.plant_editor.tree
    found, loops = set(), {}

    def walk(item, loop=None):
        kind, name = item.data(0, ROLE) or (None, None)
        if kind == "unit":
            found.add(name)
            loops[name] = loop
        for i in range(item.childCount()):
            walk(item.child(i), name if kind == "loop" else loop)

    for i in range(tree.topLevelItemCount()):
        walk(tree.topLevelItem(i))
    plan = dwin.doc.plan
    assert found == {u.name for u in plan.cooling_units}
    assert all(loops[u.name] == u.loop for u in plan.cooling_units)
    assert {u.kind for u in plan.cooling_units} >= {"chiller", "crah"}
    chiller = next(u for u in plan.cooling_units if u.kind == "chiller")
    dwin.plant_editor.refresh()

    def find(kind, name):
        for it in tree.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive):
            if it.data(0, ROLE) == (kind, name):
                return it
    tree.setCurrentItem(find("unit", chiller.name))
    box = dwin.plant_editor.boxes["rated_capacity_kw"]
    set_text(box, "900")
    assert dwin.doc.unit(chiller.name).rated_capacity_kw == pytest.approx(900.0)
    dwin.doc.undo_stack.undo()
    assert dwin.doc.unit(chiller.name).rated_capacity_kw == chiller.rated_capacity_kw
    # a loop cycle is refused
    child = next(l for l in plan.cooling_loops if l.rejects_to)
    tree.setCurrentItem(find("loop", child.rejects_to))
    combo = dwin.plant_editor.parent_combo
    combo.setCurrentIndex(combo.findData(child.name))
    combo.activated.emit(combo.currentIndex())
    assert "cycle" in msgs.warnings[-1]


def test_jobs_table_edit_and_csv_round_trip(dwin, msgs, tmp_path, monkeypatch):  # noqa: F811
    from ui import messages

    ed = dwin.jobs_editor
    jobs = dwin.doc.plan.jobs
    assert ed.table.rowCount() == len(jobs)
    ed.table.item(0, 1).setText(str(jobs[0].gpus + 8))
    assert dwin.doc.plan.jobs[0].gpus == jobs[0].gpus + 8
    dwin.doc.undo_stack.undo()
    out = tmp_path / "jobs.csv"
    monkeypatch.setattr(messages, "ask_jobs_csv", lambda parent, mode: str(out))
    ed.exp_btn.click()
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["name", "gpus", "utilization", "duration_h", "release", "deadline", "preemptible", "priority",
                       "kind", "start"]
    assert len(rows) == 1 + len(jobs)
    ed.del_btn.click()  # nothing selected: refused quietly with a message
    ed.table.selectRow(0)
    ed.del_btn.click()
    assert len(dwin.doc.plan.jobs) == len(jobs) - 1
    ed.imp_btn.click()  # the exported file brings the list back, in one undo step
    back = {j.name: j for j in dwin.doc.plan.jobs}
    assert set(back) == {j.name for j in jobs}
    for j in jobs:  # every field survives (times to the minute, as the CSV writes them)
        b = back[j.name]
        assert (b.gpus, b.utilization, b.preemptible, b.priority, b.kind) == (j.gpus, j.utilization, j.preemptible,
                                                                           j.priority, j.kind)
        assert b.duration_s == pytest.approx(j.duration_s, abs=1e-6) and abs(b.release_s - j.release_s) < 60
    assert dwin.doc.undo_stack.undoText().startswith("Import")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,gpus,utilization,duration_h,release,deadline,preemptible,priority\n"
                   "a,x,0.5,1,2025-07-10T00:00,,false,0\n")
    monkeypatch.setattr(messages, "ask_jobs_csv", lambda parent, mode: str(bad))
    ed.imp_btn.click()
    assert "bad.csv:2: gpus: 'x' is not an integer" in msgs.warnings[-1]


def test_edits_are_saved_in_the_plan(dwin, tmp_path):
    from models.store import load_plan, save_plan

    ed = dwin.scenario_editor
    set_text(ed.days, "3")
    ed.prices.item(1, 5).setText("0.33")
    set_text(ed.site_name, "Mesa campus")
    path = tmp_path / "p.dcplan"
    save_plan(dwin.doc.snapshot(), str(path))
    back = load_plan(str(path))
    sc = next(s for s in back.scenarios if s.name == ed.current().name)
    assert sc.horizon_s == 3 * 86400.0 and sc.tariff.hourly_price_usd_per_kwh[5] == pytest.approx(0.33)
    assert back.site.name == "Mesa campus"
