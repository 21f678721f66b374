"""Time-of-use demand charges (schema 3): the on-peak demand window of :class:`planner.plan.Tariff`,
the solver's bill (:mod:`planner.solver.energy`) and its validation."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest

from planner.demo import build_demo_plan
from planner.plan import Tariff
from planner.solver.ambient import month_fractions, month_index
from planner.solver.energy import (DemandCharges, demand_charge_usd, demand_charges, demand_window_mask,
                                   peak_15min_kw)
from planner.solver.errors import SolverInputError

ON_PEAK = DemandCharges(on_peak_usd_per_kw=20.0, off_peak_usd_per_kw=3.0, start_h=15, end_h=20, weekdays_only=True)


def test_window_mask_hours_weekdays_and_months():
    # Wednesday 2 July 2025 00:00; minute starts over 7 days
    start = datetime(2025, 7, 2)
    t = np.arange(7 * 1440) * 60.0
    m = demand_window_mask(start, t, "America/Phoenix", ON_PEAK)
    day, minute = np.divmod(np.arange(7 * 1440), 1440)
    weekday = (2 + day) % 7  # Wed = 2
    expect = (minute >= 15 * 60) & (minute < 20 * 60) & (weekday < 5)
    assert np.array_equal(m, expect)
    assert m.sum() == 5 * 5 * 60  # Wed..Fri + Mon, Tue: five weekdays of five hours
    # months: a window in August only covers none of July
    assert not demand_window_mask(start, t, "America/Phoenix", replace(ON_PEAK, months=(8,))).any()
    assert np.array_equal(demand_window_mask(start, t, "America/Phoenix", replace(ON_PEAK, months=(7, 8))), expect)
    # the whole-time default and a bare charge: every instant
    assert demand_window_mask(start, t, "UTC", 18.0).all()
    assert demand_window_mask(start, t, "UTC", DemandCharges(18.0)).all()


def test_window_mask_follows_the_wall_clock_through_daylight_saving():
    # New York springs forward on Sunday 9 March 2025 at 02:00; Monday's 15:00 is 23 elapsed hours
    # after Sunday 15:00, not 24
    start = datetime(2025, 3, 9, 0, 0)
    t = np.arange(48 * 60) * 60.0
    dc = DemandCharges(10.0, start_h=15, end_h=20)
    m = demand_window_mask(start, t, "America/New_York", dc)
    first = np.flatnonzero(m)
    # Sunday 15:00 local = 14 elapsed hours (the 02:00 hour does not exist)
    assert first[0] == 14 * 60
    assert m.sum() == 2 * 5 * 60
    monday = first[first > 24 * 60][0]
    assert monday == (14 + 24) * 60


def test_hand_computed_bill_with_a_peak_outside_the_window():
    # one day, minute data: 1,000 kW, a 3,000 kW quarter hour at 03:00 (outside the window) and a
    # 2,000 kW quarter hour at 16:30 (inside); Wednesday
    start = datetime(2025, 7, 2)
    t = np.arange(1440) * 60.0
    kw = np.full(1440, 1000.0)
    kw[3 * 60:3 * 60 + 15] = 3000.0
    kw[16 * 60 + 30:16 * 60 + 45] = 2000.0
    month = month_index(start, t, "UTC")
    inside = demand_window_mask(start, t, "UTC", ON_PEAK)
    # on-peak $20/kW on 2,000 kW, off-peak $3/kW on 3,000 kW, whole month
    assert demand_charge_usd(t, kw, month, 0.0, ON_PEAK, None, inside) == pytest.approx(20 * 2000 + 3 * 3000, rel=1e-12)
    # no off-peak charge: the 3,000 kW peak outside the window costs nothing
    on_only = replace(ON_PEAK, off_peak_usd_per_kw=0.0)
    assert demand_charge_usd(t, kw, month, 0.0, on_only, None, inside) == pytest.approx(20 * 2000, rel=1e-12)
    # the same on a Saturday: no on-peak hours at all, the off-peak charge takes the day's peak
    sat = datetime(2025, 7, 5)
    inside_sat = demand_window_mask(sat, t, "UTC", ON_PEAK)
    assert not inside_sat.any()
    assert demand_charge_usd(t, kw, month, 0.0, ON_PEAK, None, inside_sat) == pytest.approx(3 * 3000, rel=1e-12)
    # prorated by the share of July simulated (1/31)
    share = month_fractions(start, t, 60.0, "UTC")
    assert demand_charge_usd(t, kw, month, 0.0, ON_PEAK, share, inside) == pytest.approx((40000 + 9000) / 31, rel=1e-12)
    # the whole-time default is the old rule: one charge on the day's peak
    assert demand_charge_usd(t, kw, month, 0.0, 20.0) == pytest.approx(20 * 3000, rel=1e-12)


def test_simulated_bill_charges_the_window_peak_only():
    """The solver's bill on the demo's hottest day at full load, from its own minute series by hand:
    clock-aligned quarter hours (the day starts at midnight), on-peak 12:00–24:00. The day's highest
    quarter hour falls before noon (2,637 kW; 2,615 kW after noon)."""
    from planner.solver.run import simulate

    plan = build_demo_plan()
    base = plan.scenarios[1]  # hottest July day, full load
    tariff = Tariff(hourly_price_usd_per_kwh=[0.07] * 24, demand_charge_usd_per_kw=20.0,
                    demand_window_start_h=12, demand_window_end_h=24, off_peak_demand_charge_usd_per_kw=0.0)
    sc = replace(base, tariff=tariff, step_s=60.0)
    res = simulate(plan, sc)
    q = res.facility_kw.reshape(-1, 15).mean(axis=1)  # 96 quarter hours
    hours = np.arange(96) // 4
    share = 1 / 31
    on = q[hours >= 12].max()
    off = q[hours < 12].max()
    assert off > on * 1.004  # the day's peak falls outside this window
    assert res.peak_15min_facility_kw == pytest.approx(off, rel=1e-12)
    assert res.demand_charge_usd == pytest.approx(20.0 * on * share, rel=1e-12)
    # with an off-peak charge the afternoon peak is billed at it
    res2 = simulate(plan, replace(sc, tariff=replace(tariff, off_peak_demand_charge_usd_per_kw=4.0)))
    assert res2.demand_charge_usd == pytest.approx((20.0 * on + 4.0 * off) * share, rel=1e-12)
    assert res2.monthly[0]["demand_charge_usd"] == pytest.approx(res2.demand_charge_usd, rel=1e-12)
    assert res2.cost_usd == pytest.approx(res2.energy_cost_usd + res2.demand_charge_usd, rel=1e-12)


@pytest.mark.parametrize("fields, words", [
    (dict(demand_window_start_h=20, demand_window_end_h=15), "must start before it ends"),
    (dict(demand_window_start_h=-1), "0 ≤ start < end ≤ 24"),
    (dict(demand_window_end_h=25), "0 ≤ start < end ≤ 24"),
    (dict(demand_window_start_h=15.5), "demand_window_start_h must be a whole hour"),
    (dict(demand_window_months=(7, 13)), "demand_window_months must be months 1–12, got 13"),
    (dict(demand_window_months=(7, 7)), "lists a month twice"),
    (dict(off_peak_demand_charge_usd_per_kw=-1.0), "off_peak_demand_charge_usd_per_kw must be 0 to"),
    (dict(off_peak_demand_charge_usd_per_kw=float("nan")), "off_peak_demand_charge_usd_per_kw must be 0 to"),
])
def test_bad_windows_are_refused_naming_the_field(fields, words):
    t = Tariff(**fields)
    assert words in t.window_problem()
    plan = build_demo_plan()
    sc = replace(plan.scenarios[1], tariff=t, horizon_s=3600.0)
    from planner.solver.run import simulate
    with pytest.raises(SolverInputError, match="tariff: "):
        simulate(plan, sc)


def test_defaults_keep_one_charge_at_any_hour():
    t = Tariff(demand_charge_usd_per_kw=18.0)
    assert t.window_problem() == "" and t.window_is_whole_time
    dc = demand_charges(t)
    assert dc.whole_time and dc.on_peak_usd_per_kw == 18.0 and dc.off_peak_usd_per_kw == 0.0
    t = np.arange(600) * 60.0
    kw = np.linspace(500, 900, 600)
    assert demand_charge_usd(t, kw, np.zeros(600, int), 0.0, dc) == pytest.approx(
        18.0 * peak_15min_kw(t, kw, 0.0).max(), rel=1e-15)


def test_study_tariff_option_is_for_the_night_shift_only(capsys):
    from ui.cli import main

    assert main(["study", "cost", "--tariff", "aps-e32-tou-l"]) == 2
    assert "--tariff applies to the night-shift study only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["study", "night-shift", "--tariff", "srp"])
    assert exc.value.code == 2
    from planner.schedule.errors import ScheduleInputError
    from planner.schedule.study import night_shift_results
    with pytest.raises(ScheduleInputError, match="tariff must be one of demo, aps-e32-tou-l"):
        night_shift_results(tariff="srp")


def test_aps_rate_is_the_published_figures():
    """APS E-32 TOU L summer as planner/demo.py cites it: $0.07741 on-peak 15:00-20:00, $0.06334 off-peak,
    $18.941/kW on the weekday on-peak peak, $2.85/kW (estimate) off-peak; a valid window."""
    from planner.demo import aps_e32_tou_l_tariff, demo_tariff

    t = aps_e32_tou_l_tariff()
    assert t.window_problem() == ""
    assert [h for h, p in enumerate(t.hourly_price_usd_per_kwh) if p == 0.07741] == list(range(15, 20))
    assert {p for p in t.hourly_price_usd_per_kwh} == {0.06334, 0.07741}
    assert (t.demand_charge_usd_per_kw, t.off_peak_demand_charge_usd_per_kw) == (18.941, 2.85)
    assert (t.demand_window_start_h, t.demand_window_end_h, t.demand_window_weekdays_only) == (15, 20, True)
    assert demo_tariff().window_is_whole_time  # the demo's own tariff keeps one charge at any hour
