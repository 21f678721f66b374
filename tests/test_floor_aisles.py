"""Aisles: rows placed across a hot or cold aisle, and the check rules for aisles and loops (Qt-free)."""
from __future__ import annotations

import random

import pytest

from planner.checks import WARNING, check_plan
from planner.floor import (EXHAUST_REACH_M, MIN_COLD_AISLE_M, MIN_HOT_AISLE_M, aisle_widths, clear_gap_m,
                           exhaust_facing, row_across_aisle)
from planner.plan import CoolingLoop, Hall, Plan, PowerFeed, Rack, Server, ServerType

AIR_BOX = ServerType(key="air-8u", manufacturer="Test", model="air box", u_height=8, gpu_count=8, gpu_model="H100",
                     gpu_tdp_w=700, idle_power_w=2000, max_power_w=10200)
LIQUID_BOX = ServerType(key="dlc-4u", manufacturer="Test", model="liquid box", u_height=4, gpu_count=8,
                        gpu_model="B200", gpu_tdp_w=1000, idle_power_w=2000, max_power_w=12000, liquid_fraction=0.8)


def row(name: str, y: float, facing: str, n: int = 3, x0: float = 1.2, hall: str = "H") -> list[Rack]:
    """``n`` 0.6 m x 1.2 m racks side by side from ``x0``, centres at ``y`` [m]."""
    return [Rack(f"{name}{i + 1:02d}", hall=hall, row=name, x_m=x0 + 0.3 + 0.6 * i, y_m=y, orientation=facing,
                 air_loop="AIR", feed_a="FA", feed_b="FB") for i in range(n)]


def plan_of(*rows: list[Rack], depth: float = 12.0) -> Plan:
    return Plan(halls=[Hall("H", 12.0, depth, 0.6)], racks=[r for rr in rows for r in rr],
                cooling_loops=[CoolingLoop("AIR", "air"), CoolingLoop("TCS", "liquid")],
                power_feeds=[PowerFeed("FA", side="A"), PowerFeed("FB", side="B")])


def codes(plan: Plan) -> list[tuple[str, str | None]]:
    return [(p.code, p.rack) for p in check_plan(plan)]


# ------------------------------------------------------------------------ aisle widths
@pytest.mark.parametrize("tile, cold, hot", [
    (0.6, 1.2, 1.2),            # two 0.6 m tiles each (TIA-942: 1.2 m preferred in front, 1 m behind)
    (0.6096, 1.2192, 1.2192),   # two 2 ft tiles: 4 ft
    (0.5, 1.5, 1.0),            # 1.2 m needs three 0.5 m tiles, 1 m exactly two
    (1.2, 2.4, 1.2),            # a cold aisle is at least two tiles
])
def test_aisle_widths_are_whole_tiles_at_least_the_preferred_clearances(tile, cold, hot):
    assert aisle_widths(tile) == pytest.approx((cold, hot), abs=1e-9)


# -------------------------------------------------------------------- rows across an aisle
def test_a_lone_row_gets_its_partner_across_a_cold_aisle_then_one_behind_across_a_hot_aisle():
    plan = plan_of(row("A", 5.4, "N"))  # A: y 4.8-6.0, fronts north
    proto = Rack("", hall="H", row="B", air_loop="AIR", feed_a="FA", feed_b="FB")
    first = row_across_aisle(plan, plan.halls[0], proto, ["B01", "B02", "B03"], near=(6.0, 6.0))
    assert first.aisle == "cold" and first.neighbour == "A" and first.aisle_m == pytest.approx(1.2)
    assert {r.orientation for r in first.racks} == {"S"}  # fronts face A's fronts
    assert [r.x_m for r in first.racks] == pytest.approx([1.5, 2.1, 2.7])  # lined up with A
    assert [r.footprint()[3] for r in first.racks] == pytest.approx([4.8 - 1.2] * 3)  # 1.2 m of clear floor
    plan.racks += first.racks
    second = row_across_aisle(plan, plan.halls[0], proto, ["C01"], near=(6.0, 6.0), neighbour_row="A")
    assert second.aisle == "hot" and second.neighbour == "A"
    (c,) = second.racks
    assert c.orientation == "S" and c.footprint()[1] == pytest.approx(6.0 + 1.2)  # backs to A's backs
    plan.racks += second.racks
    assert codes(plan) == []


def test_asked_facing_picks_a_neighbour_facing_the_other_way_and_none_without_room():
    plan = plan_of(row("A", 5.4, "N"), row("E", 10.2, "S"))
    proto = Rack("", hall="H")
    placed = row_across_aisle(plan, plan.halls[0], proto, ["X01"], orientation="N", near=(0.0, 0.0))
    assert placed.neighbour == "E" and placed.racks[0].orientation == "N"
    assert row_across_aisle(plan, plan.halls[0], proto, ["X01"], orientation="E") is None  # no W-facing row
    full = plan_of(row("A", 0.6, "N", n=20), depth=1.2)  # one row fills the hall: no room either side
    assert row_across_aisle(full, full.halls[0], proto, ["X01"]) is None


def test_a_row_that_would_cross_the_wall_ends_where_its_neighbour_ends():
    plan = plan_of(row("A", 5.4, "N", n=3, x0=10.2))  # A ends at the east wall (x 10.2-12.0)
    proto = Rack("", hall="H", row="B", air_loop="AIR", feed_a="FA", feed_b="FB")
    placed = row_across_aisle(plan, plan.halls[0], proto, [f"B{i}" for i in range(5)])
    fps = [r.footprint() for r in placed.racks]
    assert (fps[0][0], fps[-1][2]) == pytest.approx((9.0, 12.0))
    plan.racks += placed.racks
    assert codes(plan) == []


# ------------------------------------------------------------------------- check rules
def test_fronts_against_backs_with_no_aisle_is_flagged_once_per_pair_of_rows():
    """The layout the old Add Row produced: a second N-facing row right in front of the first."""
    plan = plan_of(row("A", 5.4, "N"), row("B", 4.2, "N"))  # B's backs touch A's fronts
    problems = [p for p in check_plan(plan) if p.code == "inlet-faces-exhaust"]
    assert len(problems) == 1 and problems[0].severity == WARNING
    p = problems[0]
    assert (p.rack, p.subject) == ("A01", "B01")
    assert "row A face the backs of row B 0.00 m away (3 racks)" in p.message


@pytest.mark.parametrize("gap, flagged", [(0.0, True), (EXHAUST_REACH_M - 0.01, True), (EXHAUST_REACH_M, False)])
def test_inlet_facing_exhaust_within_the_reach(gap, flagged):
    plan = plan_of(row("A", 8.4, "N"), row("B", 8.4 - 1.2 - gap, "N"))
    assert (("inlet-faces-exhaust", "A01") in codes(plan)) is flagged


@pytest.mark.parametrize("facing_a, facing_b, rule, limit", [
    ("N", "S", "aisle-narrow-cold", MIN_COLD_AISLE_M),  # A faces north, B (north of it) faces south: fronts
    ("S", "N", "aisle-narrow-hot", MIN_HOT_AISLE_M),    # backs face backs
])
def test_aisles_narrower_than_the_tia_942_minimum(facing_a, facing_b, rule, limit):
    def plan_with(gap):
        return plan_of(row("A", 8.4, facing_a), row("B", 8.4 - 1.2 - gap, facing_b))

    narrow = [p for p in check_plan(plan_with(limit - 0.1)) if p.code == rule]
    assert len(narrow) == 1 and narrow[0].severity == WARNING
    assert f"{limit - 0.1:.2f} m wide (3 racks), narrower than the {limit:.1f} m ANSI/TIA-942" in narrow[0].message
    assert not [p for p in check_plan(plan_with(limit)) if p.code.startswith("aisle-")]


def test_the_demo_and_automatically_placed_halls_have_no_aisle_problems():
    from planner.demo import build_demo_plan

    for plan in (build_demo_plan(), build_demo_plan(400)):
        assert not [p for p in check_plan(plan) if p.code in ("inlet-faces-exhaust", "aisle-narrow-cold",
                                                               "aisle-narrow-hot", "rack-loop-mismatch")]


@pytest.mark.parametrize("seed", range(3))
def test_exhaust_facing_matches_the_pairwise_rule(seed):
    rng = random.Random(seed)
    racks = [Rack(f"R{i}", hall=rng.choice("HK"), x_m=round(rng.uniform(0, 15) / 0.3) * 0.3,
                  y_m=round(rng.uniform(0, 15) / 0.3) * 0.3, orientation=rng.choice("NESW"),
                  width_m=rng.choice((0.6, 0.8))) for i in range(250)]
    expected = []
    for r in racks:
        fx, fy = r.front_vector()
        best = None
        for j, o in enumerate(racks):
            if o is r or o.hall != r.hall or o.orientation != r.orientation:
                continue
            ahead = (o.x_m - r.x_m) * fx + (o.y_m - r.y_m) * fy
            lateral = abs((o.x_m - r.x_m) * fy - (o.y_m - r.y_m) * fx)
            if ahead > 0 and lateral < 0.5 * r.width_m and (best is None or (ahead, j) < best):
                best = (ahead, j)
        expected.append(best[1] if best and clear_gap_m(r, racks[best[1]]) < EXHAUST_REACH_M else -1)
    assert exhaust_facing(racks) == expected


# ----------------------------------------------------------- loops against server cooling
def loop_plan(stype: ServerType, **rack) -> Plan:
    plan = plan_of(row("A", 5.4, "N", n=1))
    plan.server_types = [stype]
    plan.racks[0] = Rack(**{**plan.racks[0].__dict__, **rack})
    plan.servers = [Server("s1", "A01", stype.key, 1)]
    return plan


def test_liquid_loop_on_an_air_only_rack_is_a_warning():
    plan = loop_plan(AIR_BOX, liquid_loop="TCS")
    (p,) = [p for p in check_plan(plan) if p.code == "rack-loop-mismatch"]
    assert p.severity == WARNING and (p.rack, p.subject) == ("A01", "TCS")
    assert "liquid loop TCS but its servers reject no heat to liquid" in p.message
    assert not [p for p in check_plan(loop_plan(AIR_BOX)) if p.code == "rack-loop-mismatch"]


def test_empty_air_rack_on_a_liquid_loop_and_mislabelled_cooling_types():
    plan = loop_plan(AIR_BOX, liquid_loop="TCS")
    plan.servers = []
    assert ("rack-loop-mismatch", "A01") in codes(plan)  # an air-cooled rack on a liquid loop
    plan = loop_plan(LIQUID_BOX, liquid_loop="TCS", cooling_type="air")
    msgs = [p.message for p in check_plan(plan) if p.code == "rack-loop-mismatch"]
    assert msgs == ["Rack A01 is marked air-cooled but its servers send 9.6 kW to liquid: set its cooling to hybrid "
                    "or liquid"]
    assert not [p for p in check_plan(loop_plan(LIQUID_BOX, liquid_loop="TCS", cooling_type="hybrid"))
                if p.code == "rack-loop-mismatch"]


def test_a_rack_without_feeds_is_named_even_when_empty():
    plan = plan_of(row("A", 5.4, "N", n=1))
    plan.racks[0].feed_a = plan.racks[0].feed_b = None
    (p,) = [p for p in check_plan(plan) if p.code == "rack-no-feed"]
    assert p.severity == WARNING and p.rack == "A01" and "no power feed yet" in p.message
