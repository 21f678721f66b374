"""The bundled demo hall: size, hot/cold aisles, plant in proportion when scaled."""
import pytest

from planner.checks import ERROR, check_plan, loop_capacities_kw, loop_loads_kw
from planner.demo import POD_RACKS, build_demo_plan


def test_default_demo_shape():
    p = build_demo_plan()
    assert len(p.racks) >= 20
    assert p.site.timezone == "America/Phoenix"
    assert {r.cooling_type for r in p.racks} == {"air", "hybrid"}
    assert {u.kind for u in p.cooling_units} == {"crah", "cdu", "chiller", "dry_cooler"}
    assert any(s.load == "full" for s in p.scenarios) and any(s.load == "jobs" for s in p.scenarios)
    assert sum(j.gpus * j.duration_s for j in p.jobs) > 0


def test_rows_form_hot_and_cold_aisles():
    """Neighbouring rows face each other (cold aisle) or turn their backs (hot aisle), alternately."""
    p = build_demo_plan()
    rows = {}
    for r in p.racks:
        rows.setdefault(r.row, (r.y_m, r.orientation))
    ordered = sorted(rows.values())
    aisles = []
    for (ya, oa), (yb, ob) in zip(ordered, ordered[1:]):
        assert (oa, ob) in (("S", "N"), ("N", "S")), "rows must face along the aisle axis"
        aisles.append("cold" if (oa, ob) == ("S", "N") else "hot")
    assert aisles == ["cold", "hot", "cold", "hot", "cold"]


@pytest.mark.parametrize("n", [1, 31, 32, 33, 100, 5000])
def test_scaled_demo_has_exactly_n_racks_and_no_errors(n):
    p = build_demo_plan(n)
    assert len(p.racks) == n
    assert len({r.name for r in p.racks}) == n
    if n <= 100:
        # sized at 35 °C with no spare: clean where the design day is milder (Minneapolis, 32.8 °C),
        # short of plant only on Phoenix's 43.4 °C design day
        assert [x for x in check_plan(p, "Minneapolis") if x.severity == ERROR] == []
        assert {x.code for x in check_plan(p) if x.severity == ERROR} == {"loop-design-day"}


def test_plant_is_selected_from_the_design_heat():
    """Chillers and dry coolers deliver exactly the pod's design heat at their 35 °C rating (N, no spare)."""
    p = build_demo_plan()
    caps, loads = loop_capacities_kw(p), loop_loads_kw(p)
    assert 0 <= caps["CHW"] - loads["CHW"] < 30  # rounded up per unit, plus pump heat
    assert 0 <= caps["FWS"] - loads["FWS"] < 4
    assert caps["AIR"] > loads["AIR"] * 1.2 and caps["TCS"] > loads["TCS"] * 1.5  # room units: spare


def test_plant_scales_with_pods():
    one, four = build_demo_plan(), build_demo_plan(4 * POD_RACKS)
    cap1, cap4 = loop_capacities_kw(one), loop_capacities_kw(four)
    load1, load4 = loop_loads_kw(one), loop_loads_kw(four)
    assert cap4["CHW"] == pytest.approx(4 * cap1["CHW"])
    assert load4["CHW"] == pytest.approx(4 * load1["CHW"])
    assert cap4["FWS"] == pytest.approx(4 * cap1["FWS"])


def test_demo_is_deterministic():
    assert build_demo_plan() == build_demo_plan()


def test_rejects_zero_racks():
    with pytest.raises(ValueError):
        build_demo_plan(0)


def test_demo_dates_are_the_hottest_july_week_and_day_of_the_weather_file():
    from planner.assets import PHOENIX_EPW
    from planner.demo import DEMO_HOT_DAY, DEMO_WEEK_START
    from planner.weather import hottest_day, hottest_week, load_weather

    epw = load_weather(PHOENIX_EPW)
    assert hottest_week(epw, month=7) == (DEMO_WEEK_START.month, DEMO_WEEK_START.day)
    assert hottest_day(epw, month=7) == (DEMO_HOT_DAY.month, DEMO_HOT_DAY.day)
    week = build_demo_plan().scenarios[0]
    assert week.start == DEMO_WEEK_START and week.horizon_s == 7 * 86400
