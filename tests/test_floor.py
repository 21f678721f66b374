"""planner.floor: the one floor rule (footprints, inside the hall, overlap, free spots, aisles),
applied alike by `dcplan import`, the GUI's import and the GUI's edits."""
from __future__ import annotations

import json

import pytest

from models.store import save_plan
from planner.csv_exchange import RACK_PLAN_CSV, RACKS_CSV, CsvImportError, import_csv
from planner.plan import CoolingLoop, CoolingUnit, Hall, Plan, Rack, Site
from ui.cli import main

SITE = "Site"
PLAN_HEAD = "rack,hall,x_m,y_m,orientation\n"


def hall_plan() -> Plan:
    """A 12 m x 8 m hall: rack A01 at (3.0, 1.8) facing S, a CRAH on the floor at (8.0, 1.8)."""
    return Plan(site=Site(SITE), halls=[Hall("H", 12.0, 8.0)],
                racks=[Rack("A01", hall="H", row="A", x_m=3.0, y_m=1.8, orientation="S")],
                cooling_loops=[CoolingLoop("AIR", "air")],
                cooling_units=[CoolingUnit("CRAH-1", "crah", "AIR", 150.0, x_m=8.0, y_m=1.8, hall="H")])


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def hall_file(tmp_path):
    p = tmp_path / "hall.dcplan"
    save_plan(hall_plan(), p)
    return p


@pytest.mark.parametrize("row, message", [
    ("B01,H,3.3,1.8,S", "rack_plan.csv:2: x_m: rack 'B01' overlaps rack 'A01' in hall 'H'"),
    ("B01,H,8.0,2.0,N", "rack_plan.csv:2: x_m: rack 'B01' overlaps cooling unit 'CRAH-1' in hall 'H'"),
    ("B01,H,11.9,4.0,N", "rack_plan.csv:2: x_m: rack 'B01' stands outside hall 'H' (12 m x 8 m)"),
])
def test_cli_import_refuses_what_the_gui_refuses(hall_file, tmp_path, capsys, row, message):
    """All or nothing: a rack on another rack, on a floor cooling unit or outside the hall is
    refused by `dcplan import` with `file:row: column: message`, and the plan is unchanged."""
    before = hall_file.read_bytes()
    csv = tmp_path / RACK_PLAN_CSV
    csv.write_text(PLAN_HEAD + "C01,H,6.0,6.0,N\n".replace("C01", "OK1") + row + "\n")
    # the good row comes first: the refused row is row 3
    message = message.replace("rack_plan.csv:2:", "rack_plan.csv:3:")
    code, _, err = cli(capsys, "import", str(hall_file), "--rack-plan", str(csv))
    assert code == 1, err
    assert message in err.splitlines()
    assert "was not changed" in err
    assert hall_file.read_bytes() == before


def test_gui_and_cli_import_give_the_same_problems(tmp_path):
    """One rule: the GUI's import job and the CLI's import refuse with identical problem lists."""
    from ui.file_jobs import import_csv_files
    from ui.jobs import CancelToken

    csv = tmp_path / RACK_PLAN_CSV
    csv.write_text(PLAN_HEAD + "B01,H,3.3,1.8,S\nB02,H,8.0,2.0,N\nB03,H,-0.1,4.0,N\n")
    with pytest.raises(CsvImportError) as core:
        import_csv(hall_plan(), rack_plan_path=csv)
    with pytest.raises(CsvImportError) as gui:
        import_csv_files(hall_plan(), {"rack_plan_path": str(csv)}, [], CancelToken())
    assert [str(p) for p in gui.value.problems] == [str(p) for p in core.value.problems]
    assert len(core.value.problems) == 3


def test_automatic_placement_steps_around_floor_cooling_units(tmp_path):
    """A new rack without a rack_plan.csv row never lands on a CRAH (the old placement ignored units)."""
    plan = hall_plan()
    plan.racks = []
    plan.cooling_units[0].x_m, plan.cooling_units[0].y_m = 1.95, 1.8  # CRAH covers x 1.5-2.4, y 0.6-3.0
    racks = tmp_path / RACKS_CSV
    racks.write_text("site,location,name,status\n" + "".join(f"{SITE},H,N{i},planned\n" for i in range(3)))
    out = import_csv(plan, racks_path=racks).plan
    from planner.floor import boxes_overlap, unit_footprint

    crah = unit_footprint(out.cooling_units[0])
    xs = [r.x_m for r in out.racks]
    assert xs == [2.7, 3.3, 3.9]  # first free spot east of the CRAH, then side by side
    assert not any(boxes_overlap(r.footprint(), crah) for r in out.racks)


def test_full_hall_refuses_the_import_naming_the_rack(tmp_path, capsys):
    """A rack that finds no free spot inside its hall is a problem (it used to be put beyond the wall)."""
    plan = Plan(site=Site(SITE), halls=[Hall("Tiny", 3.0, 3.0)])
    racks = tmp_path / RACKS_CSV
    racks.write_text(f"site,location,name,status\n{SITE},Tiny,T1,active\n{SITE},Tiny,T2,active\n")
    with pytest.raises(CsvImportError) as e:
        import_csv(plan, racks_path=racks)
    assert [str(p) for p in e.value.problems] == [
        "racks.csv:2: location: no free spot for rack 'T1' (0.6 m x 1.2 m) in hall 'Tiny' (3 m x 3 m) "
        "1.2 m from the walls; give its position in rack_plan.csv or enlarge the hall",
        "racks.csv:3: location: no free spot for rack 'T2' (0.6 m x 1.2 m) in hall 'Tiny' (3 m x 3 m) "
        "1.2 m from the walls; give its position in rack_plan.csv or enlarge the hall"]


def test_cli_import_json_lists_floor_problems(hall_file, tmp_path, capsys):
    csv = tmp_path / RACK_PLAN_CSV
    csv.write_text(PLAN_HEAD + "B01,H,3.3,1.8,S\n")
    code, out, _ = cli(capsys, "import", str(hall_file), "--rack-plan", str(csv), "--json")
    assert code == 1
    assert json.loads(out)["problems"] == ["rack_plan.csv:2: x_m: rack 'B01' overlaps rack 'A01' in hall 'H'"]


def test_racks_piled_onto_one_spot_are_one_problem_per_row(tmp_path):
    """Fuzz campaign find: 3,400 rack_plan rows on six spots gave 971,283 problems (every rack
    against every earlier one) and took 20 s. Each row is reported once, against the first rack it
    meets (a rack of the plan before the file's own), so n rows give n problems."""
    n = 3000
    csv = tmp_path / RACK_PLAN_CSV
    csv.write_text(PLAN_HEAD + "".join(f"P{i},H,{3.0 if i % 2 else 6.0},{1.8 if i % 2 else 6.0},S\n"
                                       for i in range(n)))
    with pytest.raises(CsvImportError) as e:
        import_csv(hall_plan(), rack_plan_path=csv)
    assert e.value.total == n - 1  # P0 stands alone at (6.0, 6.0); every other row overlaps once
    shown = [str(p) for p in e.value.problems]
    assert shown[:3] == ["rack_plan.csv:3: x_m: rack 'P1' overlaps rack 'A01' in hall 'H'",
                         "rack_plan.csv:4: x_m: rack 'P2' overlaps rack 'P0' in hall 'H'",
                         "rack_plan.csv:5: x_m: rack 'P3' overlaps rack 'A01' in hall 'H'"]


def test_moving_an_existing_rack_onto_another_is_refused_but_untouched_overlaps_are_not(tmp_path):
    """Only racks the import adds or moves are checked: an overlap already in the plan (reported by
    `dcplan check`) does not block an unrelated import."""
    plan = hall_plan()
    plan.racks.append(Rack("A02", hall="H", x_m=3.2, y_m=1.8, orientation="S"))  # already overlaps A01
    csv = tmp_path / RACK_PLAN_CSV
    csv.write_text(PLAN_HEAD + "Z01,H,6.0,6.0,N\n")
    assert import_csv(plan, rack_plan_path=csv).plan.rack_map()["Z01"].x_m == 6.0
    csv.write_text(PLAN_HEAD + "Z01,H,6.0,6.0,N\nA01,H,6.3,6.0,N\n")
    with pytest.raises(CsvImportError) as e:
        import_csv(plan, rack_plan_path=csv)
    assert [str(p) for p in e.value.problems] == ["rack_plan.csv:3: x_m: rack 'A01' overlaps rack 'Z01' in hall 'H'"]


def test_floor_module_is_the_only_home_of_the_rules():
    """checks, the document and the import all use planner.floor's objects (no copies)."""
    import planner.checks as checks
    import planner.floor as floor
    import ui.document as document

    assert checks.FootprintIndex is floor.FootprintIndex and checks.boxes_overlap is floor.boxes_overlap
    assert document.unit_footprint is floor.unit_footprint and document.on_floor is floor.on_floor
    import planner.csv_exchange as cx
    assert not hasattr(cx, "_free_spot") and not hasattr(cx, "_place_new_racks")
    import ui.file_jobs as fj
    assert not hasattr(fj, "_fsync_dir") and not hasattr(fj, "_rack_rows")


def _brute_partners(racks, gap=4.0):
    """The O(n²) rule as planner/solver/recirculation.py had it (numpy over every rack pair)."""
    cold, hot = [], []
    for i, r in enumerate(racks):
        fx, fy = r.front_vector()
        best = {1: None, -1: None}
        for j, o in enumerate(racks):
            if j == i or o.hall != r.hall or o.front_vector() != (-fx, -fy):
                continue
            dx, dy = o.x_m - r.x_m, o.y_m - r.y_m
            ahead, lateral = dx * fx + dy * fy, abs(dx * fy - dy * fx)
            if ahead == 0 or abs(ahead) >= gap or lateral >= 0.5 * r.width_m:
                continue
            side = 1 if ahead > 0 else -1
            if best[side] is None or abs(ahead) < best[side][0]:
                best[side] = (abs(ahead), j)
        cold.append(best[1][1] if best[1] else -1)
        hot.append(best[-1][1] if best[-1] else -1)
    return cold, hot


def test_aisle_partners_of_a_two_row_pod():
    """Rows A (facing S) and B (facing N) share a cold aisle; row C (facing S) backs onto B."""
    from planner.floor import aisle_partners

    racks = [Rack(f"{row}{i}", row=row, x_m=1.5 + 0.6 * i, y_m=y, orientation=o)
             for row, y, o in (("A", 1.8, "S"), ("B", 4.2, "N"), ("C", 6.6, "S")) for i in range(3)]
    p = aisle_partners(racks)
    assert p.cold[:6] == (3, 4, 5, 0, 1, 2) and p.hot[:3] == (-1, -1, -1)
    assert p.hot[3:6] == (6, 7, 8) and p.hot[6:] == (3, 4, 5) and p.cold[6:] == (-1, -1, -1)


@pytest.mark.parametrize("seed", range(4))
def test_aisle_partners_match_the_pairwise_rule(seed):
    import random

    from planner.floor import aisle_partners

    rng = random.Random(seed)
    racks = [Rack(f"R{i}", hall=rng.choice("HK"), x_m=round(rng.uniform(0, 20) / 0.3) * 0.3,
                  y_m=round(rng.uniform(0, 20) / 0.3) * 0.3, orientation=rng.choice("NESW")) for i in range(300)]
    p = aisle_partners(racks)
    assert (list(p.cold), list(p.hot)) == _brute_partners(racks)


def test_row_aisles_put_the_cold_strip_in_front():
    from planner.floor import row_aisles

    racks = [Rack(f"A{i}", row="A", x_m=1.5 + 0.6 * i, y_m=1.8, orientation="S") for i in range(2)]
    (a,) = row_aisles(racks, 1.2)
    assert a.extent == pytest.approx((1.2, 1.2, 2.4, 2.4))
    assert a.cold == pytest.approx((1.2, 2.4, 2.4, 3.6)) and a.hot == pytest.approx((1.2, 0.0, 2.4, 1.2))
