"""Every validation rule, on small hand-built plans with hand-computed figures."""
import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.checks import (
    ERROR,
    WARNING,
    check_plan,
    loop_loads_kw,
    plan_totals,
    rack_problem_severity,
)
from planner.demo import build_demo_plan
from planner.plan import CoolingLoop, CoolingUnit, Hall, Plan, PowerFeed, Rack, Server, ServerType

GPU = ServerType(key="gpu8", manufacturer="M", model="G8", u_height=8, gpu_count=8, gpu_model="X",
                 gpu_tdp_w=700, idle_power_w=2000, max_power_w=10000, weight_kg=100)
LIQ = replace(GPU, key="liq", model="L", liquid_fraction=0.8)


def base_plan(**rack_kw) -> Plan:
    """One hall, one rack with one 10 kW server, an air loop with 20 kW, two 43.7 kW feeds."""
    fields = dict(x_m=1.5, y_m=1.5, air_loop="AIR", feed_a="FA", feed_b="FB", power_budget_kw=15.0)
    rack = Rack("R1", **{**fields, **rack_kw})
    return Plan(
        halls=[Hall("Hall 1", 10, 10)], server_types=[GPU, LIQ], racks=[rack],
        servers=[Server("S1", "R1", "gpu8", 1)],
        cooling_loops=[CoolingLoop("AIR", "air", "CHW"), CoolingLoop("CHW", "facility")],
        cooling_units=[CoolingUnit("CRAH1", "crah", "AIR", 20.0), CoolingUnit("CH1", "chiller", "CHW", 20.0)],
        power_feeds=[PowerFeed("FA", amperage=80), PowerFeed("FB", amperage=80, side="B")],
    )


def codes(plan, severity=None):
    return sorted(p.code for p in check_plan(plan) if severity is None or p.severity == severity)


def test_clean_plan_has_no_problems():
    assert check_plan(base_plan()) == []


def test_demo_has_no_errors():
    assert codes(build_demo_plan(), ERROR) == []


def test_feed_capacity_follows_netbox_formula():
    # 415 V x 80 A x sqrt(3) x 0.8 x 0.95 = 43.70 kW
    assert PowerFeed("F", voltage=415, amperage=80, phase=3).capacity_kw == pytest.approx(
        415 * 80 * math.sqrt(3) * 0.8 * 0.95 / 1000)
    assert PowerFeed("F", voltage=230, amperage=32, phase=1, max_utilization=1, power_factor=1).capacity_kw == \
        pytest.approx(7.36)


def test_overlapping_racks():
    p = base_plan()
    p.racks.append(replace(p.racks[0], name="R2", x_m=1.8))  # 0.3 m into R1
    found = [x for x in check_plan(p) if x.code == "rack-overlap"]
    assert len(found) == 1 and found[0].rack == "R1" and "0.30 m x 1.20 m" in found[0].message


def test_touching_racks_do_not_overlap():
    p = base_plan()
    p.racks.append(replace(p.racks[0], name="R2", x_m=2.1, feed_a=None, feed_b=None))
    assert "rack-overlap" not in codes(p)


def test_rotated_rack_overlap_uses_rotated_footprint():
    p = base_plan()
    # R1 (N) spans x 1.2..1.8, y 0.9..2.1. R2 facing E spans x 2.0-0.6..2.0+0.6 -> 1.4..2.6: overlaps
    p.racks.append(replace(p.racks[0], name="R2", x_m=2.0, orientation="E"))
    assert "rack-overlap" in codes(p)
    p.racks[1].orientation = "N"  # unrotated spans 1.7..2.3: overlaps by 0.1 m
    assert "rack-overlap" in codes(p)
    p.racks[1].x_m = 2.3
    assert "rack-overlap" not in codes(p)


def test_racks_in_different_halls_do_not_overlap():
    p = base_plan()
    p.halls.append(Hall("Hall 2", 10, 10))
    p.racks.append(replace(p.racks[0], name="R2", hall="Hall 2", feed_a=None, feed_b=None))
    assert "rack-overlap" not in codes(p)


def rack_overlaps(candidate: Rack, others: list[Rack]) -> list[str]:
    """Brute-force oracle: racks of the same hall whose footprints share area with ``candidate``'s."""
    x0, y0, x1, y1 = candidate.footprint()
    hits = []
    for r in others:
        if r.name == candidate.name or r.hall != candidate.hall:
            continue
        bx0, by0, bx1, by1 = r.footprint()
        if min(x1, bx1) - max(x0, bx0) > 1e-6 and min(y1, by1) - max(y0, by0) > 1e-6:
            hits.append(r.name)
    return hits


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12), st.sampled_from("NESW")), min_size=2, max_size=25))
def test_overlap_detection_matches_brute_force(spots):
    racks = [Rack(f"R{i}", x_m=0.3 * x + 1, y_m=0.3 * y + 1, orientation=o) for i, (x, y, o) in enumerate(spots)]
    p = Plan(halls=[Hall("Hall 1", 10, 10)], racks=racks)
    found = {tuple(sorted((x.rack, x.subject))) for x in check_plan(p) if x.code == "rack-overlap"}
    brute = {tuple(sorted((a.name, b))) for a in racks for b in rack_overlaps(a, racks)}
    assert found == brute


def test_rack_height():
    p = base_plan(u_height=45)
    assert codes(p) == ["rack-height"] and check_plan(p)[0].severity == WARNING
    p.racks[0].u_height = 0
    assert "rack-height" in codes(p, ERROR)


def test_rack_outside_hall():
    p = base_plan()
    p.racks[0].x_m = 9.9
    assert "rack-outside-hall" in codes(p)


def test_rack_on_a_floor_cooling_unit_and_unit_outside_hall():
    """`dcplan check` reports what the editor and the import refuse (planner.floor's rule)."""
    p = base_plan()
    p.cooling_units[0].x_m, p.cooling_units[0].y_m = 1.5, 2.0  # CRAH 0.9 m x 2.4 m on R1
    found = [(x.code, x.rack, x.subject) for x in check_plan(p)]
    assert ("rack-unit-overlap", "R1", "CRAH1") in found
    p.cooling_units[0].x_m = 3.0  # x 2.55-3.45: touches nothing
    assert "rack-unit-overlap" not in codes(p) and "unit-outside-hall" not in codes(p)
    p.cooling_units[0].y_m = 9.5  # y 8.3-10.7 leaves the 10 m deep hall
    assert ("unit-outside-hall", None, "CRAH1") in [(x.code, x.rack, x.subject) for x in check_plan(p)]


def test_bad_field_values():
    p = base_plan(orientation="X", cooling_type="steam")
    assert {"rack-orientation", "rack-cooling-type"} <= set(codes(p))


def test_servers_overlapping_in_u():
    p = base_plan(power_budget_kw=100)
    p.servers.append(Server("S2", "R1", "gpu8", 8))  # S1 spans U1-U8
    found = [x for x in check_plan(p) if x.code == "server-u-overlap"]
    assert len(found) == 1 and "U8-U8" in found[0].message and found[0].rack == "R1"


def test_tall_server_covering_two_others():
    tall = replace(GPU, key="tall", u_height=20)
    p = base_plan(power_budget_kw=100)
    p.server_types.append(tall)
    p.servers = [Server("T", "R1", "tall", 1), Server("A", "R1", "gpu8", 3), Server("B", "R1", "gpu8", 12)]
    pairs = {(x.message.split()[1], x.message.split()[3]) for x in check_plan(p) if x.code == "server-u-overlap"}
    assert ("T", "B") in pairs and ("T", "A") in pairs


def test_server_beyond_rack_top_and_below_u1():
    p = base_plan()
    p.servers[0].u_position = 36  # 8U at U36 reaches U43 > 42
    assert "server-above-top" in codes(p)
    p.servers[0].u_position = 0
    assert "server-below-u1" in codes(p)
    p.servers[0].u_position = 35  # reaches U42 exactly: fine
    assert codes(p) == []


def test_unknown_server_type_and_rack():
    p = base_plan()
    p.servers.append(Server("S2", "R1", "nope", 20))
    p.servers.append(Server("S3", "R9", "gpu8", 1))
    assert {"server-type", "server-rack"} <= set(codes(p))


def test_rack_power_over_budget_and_near_budget():
    p = base_plan(power_budget_kw=9.0)
    assert "rack-over-budget" in codes(p, ERROR)
    p.racks[0].power_budget_kw = 10.5  # 95 %
    assert codes(p) == ["rack-near-budget"]


def test_rack_overweight():
    p = base_plan(max_weight_kg=50)
    assert "rack-overweight" in codes(p)


def test_loop_over_capacity_includes_fan_heat_and_propagates_to_plant():
    p = base_plan(power_budget_kw=100)
    p.cooling_units[0] = CoolingUnit("CRAH1", "crah", "AIR", 40.0, rated_power_kw=2.0)
    p.cooling_units[1] = CoolingUnit("CH1", "chiller", "CHW", 20.0)
    p.servers.append(Server("S2", "R1", "gpu8", 10))
    loads = loop_loads_kw(p)
    assert loads["AIR"] == pytest.approx(22.0) and loads["CHW"] == pytest.approx(22.0)
    found = [x for x in check_plan(p) if x.code == "loop-over-capacity"]
    assert [x.subject for x in found] == ["CHW"] and "22 kW" in found[0].message


def test_liquid_heat_goes_to_liquid_loop():
    p = base_plan(cooling_type="hybrid", liquid_loop="TCS", power_budget_kw=100)
    p.cooling_loops.append(CoolingLoop("TCS", "liquid", "CHW"))
    p.cooling_units.append(CoolingUnit("CDU1", "cdu", "TCS", 100.0))
    p.servers = [Server("S1", "R1", "liq", 1)]
    loads = loop_loads_kw(p)
    assert loads["TCS"] == pytest.approx(8.0) and loads["AIR"] == pytest.approx(2.0)
    assert loads["CHW"] == pytest.approx(10.0)


def test_rack_without_cooling():
    p = base_plan()
    p.racks[0].air_loop = None
    assert "rack-no-cooling" in codes(p)


def test_liquid_server_in_rack_without_liquid_loop():
    p = base_plan()
    p.servers[0].server_type = "liq"
    assert "server-needs-liquid" in codes(p)
    p.racks[0].cooling_type = "liquid"
    assert "rack-no-liquid" in codes(p)


def test_loop_medium_and_unknown_loops():
    p = base_plan()
    p.racks[0].liquid_loop = "AIR"
    p.cooling_loops[0].rejects_to = "GONE"
    p.cooling_units.append(CoolingUnit("X", "crah", "MISSING", 1.0))
    assert {"rack-loop-medium", "loop-unknown", "unit-loop"} <= set(codes(p))
    p.racks[0].air_loop = "NOPE"
    assert "rack-loop-unknown" in codes(p)


def test_rack_without_feed_and_single_feed():
    p = base_plan()
    p.racks[0].feed_b = None
    assert codes(p) == ["rack-single-feed"]
    p.racks[0].feed_a = None
    assert "rack-no-feed" in codes(p, ERROR)


def test_same_feed_twice_and_unknown_feed():
    p = base_plan()
    p.racks[0].feed_b = "FA"
    assert "rack-same-feed" in codes(p)
    p.racks[0].feed_b = "F-NONE"
    assert "feed-unknown" in codes(p)


def test_feed_cannot_carry_the_rack_alone():
    p = base_plan(power_budget_kw=100)
    p.power_feeds[1] = PowerFeed("FB", amperage=16, side="B")  # 8.7 kW < 10 kW
    found = [x for x in check_plan(p) if x.code == "feed-cannot-carry-rack"]
    assert len(found) == 1 and found[0].subject == "FB" and "8.7 kW" in found[0].message


def test_feed_shared_by_racks_overloaded_on_failover():
    p = base_plan()
    p.power_feeds[0] = PowerFeed("FA", amperage=20)  # 10.9 kW: carries one rack, not two
    p.racks.append(replace(p.racks[0], name="R2", x_m=2.1, feed_b="FB"))
    p.servers.append(Server("S2", "R2", "gpu8", 1))
    found = [x for x in check_plan(p) if x.code == "feed-overloaded"]
    assert [x.subject for x in found] == ["FA"]  # FB (43.7 kW) carries both racks
    assert "20.0 kW for 2 racks" in found[0].message


def test_errors_come_first_and_rack_severity():
    p = base_plan(power_budget_kw=10.5)
    p.racks[0].feed_a = "nope"
    probs = check_plan(p)
    assert probs[0].severity == ERROR and probs[-1].severity == WARNING
    assert rack_problem_severity(probs) == {"R1": ERROR}


def test_totals():
    t = plan_totals(build_demo_plan())
    assert (t.racks, t.servers, t.gpus) == (32, 104, 24 * 32 + 8 * 72)
    assert t.it_kw_max == pytest.approx(24 * 40.8 + 8 * 132)
    # plant, by the demo's selection rule (hand-computed):
    # chillers 3 x ceil((979.2 + 158.4 air + 10 x 6 CRAH fans) / 0.985 pumps / 3) = 3 x 406 kW;
    # dry coolers 4 x ceil((897.6 liquid + 2 x 8 CDU pumps) / 4) = 4 x 229 kW
    assert t.cooling_capacity_kw == pytest.approx(3 * 406 + 4 * 229)


def _mutate(code):
    """A base plan broken in exactly the way that should raise ``code``."""
    p = base_plan()
    r = p.racks[0]
    if code == "rack-duplicate":
        p.racks.append(replace(r, name="R1", x_m=5.0))
    elif code == "rack-hall":
        r.hall = "Nowhere"
    elif code == "hall-containment":
        p.halls[0].containment = "partial"
    elif code == "feed-phase":
        p.power_feeds[0].phase = 2
    elif code == "feed-utilization":
        p.power_feeds[0].max_utilization = 1.5
    elif code == "loop-medium":
        p.cooling_loops[1].medium = "steam"
    elif code == "unit-kind":
        p.cooling_units[0].kind = "fan"
    elif code == "rack-no-air":
        p.cooling_loops.append(CoolingLoop("TCS", "liquid", "CHW"))
        p.cooling_units.append(CoolingUnit("CDU", "cdu", "TCS", 50.0))
        r.air_loop, r.liquid_loop, r.cooling_type = None, "TCS", "hybrid"
        p.servers[0].server_type = "liq"
    elif code == "loop-near-capacity":
        p.cooling_units[0].rated_capacity_kw = 10.5
    return p


@pytest.mark.parametrize("code", ["rack-duplicate", "rack-hall", "hall-containment", "feed-phase",
                                  "feed-utilization", "loop-medium", "unit-kind", "rack-no-air",
                                  "loop-near-capacity"])
def test_remaining_rules(code):
    assert code in codes(_mutate(code))


def test_every_rule_in_the_source_is_tested():
    import re
    from pathlib import Path

    import planner.checks

    src = Path(planner.checks.__file__).read_text()
    rules = set(re.findall(r'Problem\((?:ERROR|WARNING), "([a-z0-9-]+)"', src))
    import inspect

    tests = Path(__file__).read_text().replace(inspect.getsource(test_every_rule_in_the_source_is_tested), "")
    tests += (Path(__file__).parent / "test_floor_aisles.py").read_text()  # the aisle and loop-match rules
    untested = sorted(c for c in rules if f'"{c}"' not in tests)
    assert len(rules) > 30 and not untested, untested


def test_absurdly_large_or_non_finite_racks_do_not_explode():
    """A 50 km 'rack' (a typo) must not be filed cell by cell (1.7e9 cells) nor crash the rule."""
    p = base_plan()
    p.racks.append(replace(p.racks[0], name="HUGE", x_m=5.0, y_m=5.0, width_m=50_000.0, depth_m=50_000.0,
                           feed_a=None, feed_b=None))
    p.racks.append(replace(p.racks[0], name="INF", x_m=1.7e308, width_m=1e308, feed_a=None, feed_b=None))
    found = {(x.code, x.rack, x.subject) for x in check_plan(p)}
    assert ("rack-overlap", "R1", "HUGE") in found
    assert ("rack-outside-hall", "HUGE", None) in found and ("rack-outside-hall", "INF", None) in found


def test_rack_names_with_outer_whitespace_are_refused():
    p = base_plan()
    p.racks[0].name = "R1 "
    p.servers[0].rack = "R1 "
    assert "rack-name" in codes(p, ERROR)
    p.racks[0].name = p.servers[0].rack = ""
    assert "rack-name" in codes(p, ERROR)


def test_check_warns_about_names_a_spreadsheet_would_run():
    plan = build_demo_plan()
    assert not [p for p in check_plan(plan) if p.code == "name-formula"]
    plan.racks[0].name = "-R1"
    for s in plan.servers:
        if s.rack == "A01":
            s.rack = "-R1"
    plan.servers[0].name = "=S1"
    plan.power_feeds[0].panel = "@PANEL"
    plan.racks[1].row = "+A"
    got = [p for p in check_plan(plan) if p.code == "name-formula"]
    assert all(p.severity == WARNING for p in got)
    assert [(p.message.split(" begins")[0], p.rack) for p in got] == [
        ("Rack '-R1'", "-R1"), ("Row '+A'", "A02"), ("Server '=S1'", "-R1"), ("Power panel '@PANEL'", None)]
