"""``dcplan edit``: the editor's rules from the command line (Qt-free), saved in place, to --out or not at all."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.store import load_plan, save_plan
from planner.edits import PlanState, racks
from sample_plans import small_plan
from ui.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def hall(tmp_path) -> Path:
    path = tmp_path / "small.dcplan"
    save_plan(small_plan(), path)
    return path


def edit(capsys, *argv):
    code = main(["edit", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_add_row_is_the_editors_rule_and_is_saved(hall, capsys):
    code, out, err = edit(capsys, hall, "add-row", "--count", "4", "--next-to", "R", "--feed-a", "FA", "--feed-b", "FB")
    assert code == 0, err
    assert out.splitlines()[:3] == [
        f"Add row A (4 racks) — saved to {hall}",
        "  4 racks A01…A04 at x 1.20–3.60 m, y 4.20–5.40 m, fronts facing S, feeds FA / FB",
        "  no problem added or removed"]
    # the same rule on the same plan in memory gives the same racks: one rule for the GUI and the CLI
    state = PlanState(small_plan())
    state.apply(racks.add_row_at(state, (0.0, 0.0), 4, feeds=("FA", "FB"), neighbour="R", free_floor=False).diff)
    assert load_plan(hall).racks == state.plan.racks


def test_a_refused_edit_leaves_the_file_as_it_was(hall, capsys):
    before = hall.read_bytes()
    code, out, err = edit(capsys, hall, "move", "R01", "2.1", "2.4")  # onto R02
    assert code == 1 and out == ""
    assert err == "dcplan: edit refused: Racks and cooling units may not overlap: R01 ↔ R02. (the plan is unchanged)\n"
    code, out, err = edit(capsys, hall, "add-row", "--count", "40", "--next-to", "R")
    assert code == 1 and "No room for a row of 40 racks beside row R of Hall 1" in err and "--at X Y" in err
    assert hall.read_bytes() == before


def test_dry_run_writes_nothing_and_out_keeps_the_original(hall, tmp_path, capsys):
    before = hall.read_bytes()
    code, out, _ = edit(capsys, hall, "set", "R01", "R02", "liquid_loop=TCS", "--dry-run")
    assert code == 0 and out.startswith("Set liquid loop of 2 racks — not saved (--dry-run)")
    assert "new warning: Rack R01 is on liquid loop TCS but its servers reject no heat to liquid" in out
    assert hall.read_bytes() == before
    other = tmp_path / "other.dcplan"
    code, out, _ = edit(capsys, "--json", hall, "--out", other, "set", "R01", "power_budget_kw=55.5", "feed_b=none")
    report = json.loads(out)
    assert code == 0 and report["saved"] == str(other) and report["racks_modified"] == ["R01"]
    assert report["problems_added"] == ["warning: rack-single-feed: Rack R01 has only one power feed: no A/B redundancy"]
    # (the other warning, already there: loop AIR has no redundant CRAH; issue 11's N+1 check)
    assert (report["edit"], report["errors"], report["warnings"]) == ("Set power budget, feed B of R01", 0, 2)
    r01 = next(r for r in load_plan(other).racks if r.name == "R01")
    assert (r01.power_budget_kw, r01.feed_b) == (55.5, None)
    assert hall.read_bytes() == before
    code, _, err = edit(capsys, hall, "--out", hall, "rename", "R01", "X")  # --out may not be the plan itself
    assert code == 2 and hall.read_bytes() == before


def test_renaming_a_loop_carries_racks_and_units(hall, capsys):
    code, out, _ = edit(capsys, hall, "--json", "rename-loop", "AIR", "CRAH air")
    report = json.loads(out)
    assert code == 0 and report["edit"] == "Rename cooling loop AIR to CRAH air"
    assert report["racks_modified"] == ["L01", "R01", "R02", "R03"]
    plan = load_plan(hall)
    assert {r.air_loop for r in plan.racks} == {"CRAH air"} and plan.cooling_units[0].loop == "CRAH air"
    code, out, _ = edit(capsys, hall, "rename-loop", "CRAH air", "CRAH air")
    assert code == 0 and out.startswith("nothing to change")


def test_bad_values_and_mistyped_options_name_the_action(hall, capsys):
    code, _, err = edit(capsys, hall, "set", "R01", "power_budget_kw=lots")
    assert code == 2 and err == "dcplan: error: edit set: power_budget_kw: 'lots' is not a number\n"
    code, _, err = edit(capsys, hall, "set", "R01", "colour=red")
    assert code == 2 and "'colour' is not a field this action sets" in err
    r = subprocess.run([sys.executable, "-m", "ui.cli", "edit", str(hall), "rotate", "R01", "--trun", "cw"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.startswith("usage: dcplan edit PLAN rotate")


def test_servers_are_placed_at_free_u_all_or_nothing(hall, capsys):
    # R02 (42 U) is empty: four 8 U servers fill U1-U32; a sixth does not fit, so asking for six places none
    before = hall.read_bytes()
    code, _, err = edit(capsys, hall, "add-server", "R02", "Eight-U GPU box", "--count", "6")
    assert code == 1 and err.startswith("dcplan: edit refused: No 8 U free in R02 for the Eight-U GPU box.")
    assert hall.read_bytes() == before
    code, out, _ = edit(capsys, "--json", hall, "add-server", "R02", "test-8u", "--count", "4", "--u", "3")
    report = json.loads(out)
    assert code == 0 and report["edit"] == "Add Eight-U GPU box to R02 U3 … Add Eight-U GPU box to R02 U27 (4 edits)"
    assert report["racks_with_server_changes"] == ["R02"]
    # 4 x 10.2 kW = 40.8 kW in a rack budgeted for 40 kW: the editor places them and says so
    assert report["problems_added"] == [
        "error: rack-over-budget: Rack R02: 40.8 kW at max load exceeds its 40.0 kW budget",
        "warning: loop-no-redundancy: Loop AIR has no redundant unit (N, not N+1): without CRAH-1 its units deliver "
        "0 kW at their rating, less than the 61 kW load"]  # 20.4 kW of R01 + 40.8 kW now on one 150 kW CRAH
    placed = sorted(s.u_position for s in load_plan(hall).servers if s.rack == "R02")
    assert placed == [3, 11, 19, 27]
    code, _, err = edit(capsys, hall, "add-server", "R02", "nope")
    assert code == 2 and "no server type 'nope' in the plan or the catalog; types: " in err


def test_hall_and_cooling_units(hall, capsys):
    code, _, err = edit(capsys, hall, "set-hall", "width_m=6")
    assert code == 1 and "A 6 m x 8 m floor would leave L01 outside hall Hall 1" in err
    code, out, _ = edit(capsys, hall, "set-hall", "depth_m=9.6", "containment=hot")
    assert code == 0 and out.startswith("Set depth, containment of hall Hall 1 — saved to")
    code, out, _ = edit(capsys, hall, "add-unit", "Chilled-water CRAH 150 kW", "--at", "9.45", "8.4")
    assert code == 0 and out.startswith("Add CRAH CRAH-2 — saved to"), out  # the plan has CRAH-1
    code, out, _ = edit(capsys, hall, "set-unit", "CRAH-2", "supply_setpoint_c=20", "name=CRAH-B")
    assert code == 0 and out.startswith("Rename CRAH-2 to CRAH-B")
    unit = next(u for u in load_plan(hall).cooling_units if u.name == "CRAH-B")
    assert (unit.kind, unit.loop, unit.supply_setpoint_c) == ("crah", "AIR", 20.0)
    code, _, err = edit(capsys, hall, "add-unit", "Chilled-water CRAH 150 kW", "--at", "0.45", "6.0")
    assert code == 1 and "may not overlap" in err and "cooling unit CRAH-1" in err
