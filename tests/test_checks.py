"""Every validation rule, on small hand-built plans with hand-computed figures."""
import math
from dataclasses import replace
from datetime import datetime
from pathlib import Path

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
    """One hall, one rack with one 10 kW server, an air loop with 2 × 20 kW (N+1), two 43.7 kW feeds."""
    fields = dict(x_m=1.5, y_m=1.5, air_loop="AIR", feed_a="FA", feed_b="FB", power_budget_kw=15.0)
    rack = Rack("R1", **{**fields, **rack_kw})
    return Plan(
        halls=[Hall("Hall 1", 10, 10)], server_types=[GPU, LIQ], racks=[rack],
        servers=[Server("S1", "R1", "gpu8", 1)],
        cooling_loops=[CoolingLoop("AIR", "air", "CHW"), CoolingLoop("CHW", "facility")],
        cooling_units=[CoolingUnit("CRAH1", "crah", "AIR", 20.0), CoolingUnit("CH1", "chiller", "CHW", 20.0),
                       CoolingUnit("CRAH2", "crah", "AIR", 20.0), CoolingUnit("CH2", "chiller", "CHW", 20.0)],
        power_feeds=[PowerFeed("FA", amperage=80), PowerFeed("FB", amperage=80, side="B")],
    )


def codes(plan, severity=None):
    return sorted(p.code for p in check_plan(plan) if severity is None or p.severity == severity)


def test_clean_plan_has_no_problems():
    assert check_plan(base_plan()) == []


def test_demo_reports_the_design_day_shortfall_in_phoenix_and_none_in_minneapolis():
    """The Phoenix demo's plant is sized at 35 °C with no spare: at Phoenix's 0.4 % design dry bulb
    (43.4 °C, the EPW header) the facility-water dry coolers (and the chillers) cannot hold their
    setpoints. The same hall with the Minneapolis file (32.8 °C) has no error."""
    demo = build_demo_plan()
    found = {x.subject: x for x in check_plan(demo) if x.severity == ERROR}
    assert sorted(found) == ["CHW", "FWS"] and {x.code for x in found.values()} == {"loop-design-day"}
    fws = found["FWS"].message
    assert "43.4 °C design dry bulb" in fws and "USA_AZ_Phoenix" in fws and "40.0 °C supply" in fws
    # hand-computed: 4 dry coolers of 229 kW, 5 K approach; ε·C_min = Q / (5 K + own rise), return at
    # 40 °C + 914 kW / (ρ c_p V̇); 914 kW to remove at max load
    dc = [u for u in demo.cooling_units if u.loop == "FWS"]
    flow = sum(u.flow_m3s for u in dc)
    load = 4 * 132.0 * 0.85 * 2 + 2 * 8.0  # 8 NVL72 liquid heat + 2 CDU pumps [kW]
    t_ret = 40.0 + load * 1e3 / (997.0 * 4180.0 * flow)
    cap = sum(u.rated_capacity_kw / (5.0 + u.rated_capacity_kw * 1e3 / (997.0 * 4180.0 * u.flow_m3s))
              * (t_ret - 43.4) for u in dc)
    assert f"{load:.0f} kW to remove" in fws and f"{cap:.0f} kW of plant" in fws
    assert f"{load - cap:.0f} kW short" in fws
    assert codes(demo.__class__(**{**demo.__dict__}), ERROR) == ["loop-design-day", "loop-design-day"]
    assert [x for x in check_plan(demo, "Minneapolis") if x.severity == ERROR] == []
    # no spare unit anywhere in the plant: warnings, in both cities
    for weather in (None, "Minneapolis"):
        red = {x.subject for x in check_plan(demo, weather) if x.code == "loop-no-redundancy"}
        assert red == {"CHW", "FWS", "TCS"}


def _chiller_plant(rated_kw: float, extra=()) -> Plan:
    """A 100 kW rack on a CRAH pair (N+1) whose chilled water comes from chillers rated at 35 °C / 15 °C."""
    p = base_plan(power_budget_kw=120)
    p.server_types.append(replace(GPU, key="g100", max_power_w=100_000.0, idle_power_w=0.0))
    p.servers = [Server("S1", "R1", "g100", 1)]
    p.power_feeds = [PowerFeed("FA", amperage=250), PowerFeed("FB", amperage=250, side="B")]
    p.cooling_units = [CoolingUnit("CRAH1", "crah", "AIR", 120.0), CoolingUnit("CRAH2", "crah", "AIR", 120.0),
                       CoolingUnit("CH1", "chiller", "CHW", rated_kw, supply_setpoint_c=15.0), *extra]
    return p


def test_design_day_chiller_capacity_is_the_reference_curve():
    from planner.checks import DesignConditions, plant_at_condition
    # CAPFT(15, 43.4) / CAPFT(15, 35) of the ASHRAE 90.1 Appendix J air-cooled reference, by hand
    c = (0.794185315225093, 0.060198988329897, -0.00201553365333625, 0.0062031510838352, -0.000228894018237535,
         -0.000183160453325751)

    def capft(x, y):
        return c[0] + c[1] * x + c[2] * x * x + c[3] * y + c[4] * y * y + c[5] * x * y
    ratio = capft(15.0, 43.4) / capft(15.0, 35.0)
    p = _chiller_plant(105.0)
    (chw,) = plant_at_condition(p, 43.4, 24.0)
    assert chw.capacity_kw == pytest.approx(105.0 * ratio, rel=1e-12) and chw.load_kw == pytest.approx(100.0)
    hot = DesignConditions(43.4, 24.0, "test.epw")
    found = [x for x in check_plan(p, hot) if x.code == "loop-design-day"]
    assert len(found) == 1 and found[0].subject == "CHW" and found[0].severity == ERROR
    assert f"{100.0 - 105.0 * ratio:.0f} kW short" in found[0].message and "43.4 °C design dry bulb" in found[0].message
    # at 35 °C it holds; the rating check agrees
    assert not [x for x in check_plan(p, DesignConditions(35.0, 24.0, "t")) if x.severity == ERROR]


def test_dry_cooler_and_tower_at_the_design_condition_epsilon_ntu():
    from planner.checks import plant_at_condition
    from planner.solver.heat_rejection import chiller_capacity_ratio
    p = _chiller_plant(60.0, extra=(CoolingUnit("DC1", "dry_cooler", "CHW", 50.0, approach_k=5.0, flow_m3s=0.002,
                                                supply_setpoint_c=15.0),
                                    CoolingUnit("CT1", "cooling_tower", "CHW", 50.0, approach_k=4.0,
                                                supply_setpoint_c=15.0)))
    (chw,) = plant_at_condition(p, 10.0, 5.0)
    rho_cp = 997.0 * 4180.0
    t_ret = 15.0 + 100e3 / (rho_cp * 0.002)  # loop flow: the dry cooler's
    rise_dc = 50e3 / (rho_cp * 0.002)
    rise_ct = 60e3 / (rho_cp * 0.002)  # no own flow: the loop's rise at its design duty (the chiller's;
    # beside a chiller the dry cooler and the tower are economisers, not extra duty)
    ch = 60.0 * float(chiller_capacity_ratio(10.0, 15.0, 35.0, 15.0))
    dc, ct = 50.0 / (5.0 + rise_dc) * (t_ret - 10.0), 50.0 / (4.0 + rise_ct) * (t_ret - 5.0)
    assert chw.capacity_kw == pytest.approx(ch + dc + ct, rel=1e-12) and chw.has_towers
    assert (chw.largest_unit, chw.capacity_n1_kw) == ("CT1", pytest.approx(ch + dc, rel=1e-12))
    assert ct > max(ch, dc)  # 10 °C air, 5 °C wet bulb: the tower is the biggest unit today


def test_redundancy_warning_names_the_largest_unit():
    from planner.checks import DesignConditions
    p = _chiller_plant(60.0, extra=(CoolingUnit("CH2", "chiller", "CHW", 60.0, supply_setpoint_c=15.0),))
    mild = DesignConditions(30.0, 20.0, "mild.epw")
    assert "loop-no-redundancy" in {x.code for x in check_plan(p, mild)}
    p.cooling_units.append(CoolingUnit("CH3", "chiller", "CHW", 60.0, supply_setpoint_c=15.0))
    assert "loop-no-redundancy" not in {x.code for x in check_plan(p, mild)}
    # without design conditions, redundancy at the rating: the CRAH pair is N+1, one CRAH is not
    p.cooling_units = [u for u in p.cooling_units if u.name != "CRAH2"]
    found = [x for x in check_plan(p, False) if x.code == "loop-no-redundancy"]
    assert [x.subject for x in found] == ["AIR"] and "without CRAH1" in found[0].message


def test_design_day_weather_sources(tmp_path):
    from planner.plan import Scenario
    from planner.weather import WeatherError
    p = _chiller_plant(105.0)
    assert not [x for x in check_plan(p) if x.code.startswith("design-day")]  # no scenario: nothing to read
    p.scenarios = [Scenario(name="s", start=datetime(2025, 7, 1), weather_file=str(tmp_path / "gone.epw"))]
    skipped = [x for x in check_plan(p) if x.code == "design-day-skipped"]
    assert len(skipped) == 1 and skipped[0].severity == WARNING and "gone.epw" in skipped[0].message
    with pytest.raises(WeatherError, match="gone.epw"):  # named explicitly: the caller's error
        check_plan(p, str(tmp_path / "gone.epw"))
    p.scenarios = [Scenario(name="s", start=datetime(2025, 7, 1), weather_file="USA_AZ_Phoenix-Sky.Harbor.Intl.AP.722780_TMY3.epw")]
    assert "loop-design-day" in {x.code for x in check_plan(p)}
    assert "loop-design-day" not in {x.code for x in check_plan(p, "Minneapolis")}
    # a file without design conditions
    src = (Path(__file__).resolve().parents[1] / "assets" / "weather" /
           "USA_MN_Minneapolis-St.Paul.Intl.AP.726580_TMY3.epw").read_text(encoding="latin-1").split("\n")
    src[1] = "DESIGN CONDITIONS,0"
    bare = tmp_path / "bare.epw"
    bare.write_text("\n".join(src), encoding="latin-1")
    skipped = [x for x in check_plan(p, str(bare)) if x.code == "design-day-skipped"]
    assert len(skipped) == 1 and "no ASHRAE design conditions" in skipped[0].message


def test_status_bar_headroom_counts_plant_at_the_design_day():
    demo = build_demo_plan()
    rated = plan_totals(demo, False)
    hot, cold = plan_totals(demo), plan_totals(demo, "Minneapolis")
    assert rated.design_dry_bulb_c is None and rated.headroom_kw > 0  # the old green light
    assert hot.design_dry_bulb_c == 43.4 and hot.headroom_kw < -500
    assert cold.design_dry_bulb_c == 32.8 and cold.headroom_kw > 0


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
    p.cooling_units = [CoolingUnit("CRAH1", "crah", "AIR", 40.0, rated_power_kw=2.0),
                       CoolingUnit("CH1", "chiller", "CHW", 20.0)]
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
    t = plan_totals(build_demo_plan(), False)  # at the units' ratings (no design day)
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
        p.cooling_units = [u for u in p.cooling_units if u.name != "CRAH2"]
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
