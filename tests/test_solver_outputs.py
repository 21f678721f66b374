"""Result outputs: per-rack series (floor heat map), monthly energy/cost, throttling tables, wall time."""
from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest

from planner.demo import DEMO_HOT_DAY, build_demo_plan
from planner.solver import simulate
from planner.solver.examples import small_air_plan
from planner.solver.recorder import rack_series_step


def test_rack_series_step_is_a_minute_up_to_a_week_and_bounded_beyond():
    assert rack_series_step(86400.0, 10.0) == 60.0
    assert rack_series_step(7 * 86400.0, 10.0) == 60.0
    assert rack_series_step(30 * 86400.0, 10.0) == 300.0
    assert rack_series_step(365 * 86400.0, 10.0) == 3600.0  # 8,760 samples ≤ a week's 10,080
    assert rack_series_step(3600.0, 120.0) == 120.0  # never below the step
    for days in (8, 31, 92, 365, 3 * 365):
        assert days * 86400.0 / rack_series_step(days * 86400.0, 10.0) <= 7 * 24 * 60


@pytest.fixture(scope="module")
def hot_afternoon():
    """The demo from 12:00 to 18:00 on Phoenix's hottest day at full load: GB200 racks throttle."""
    demo = build_demo_plan()
    sc = replace(demo.scenarios[1], start=DEMO_HOT_DAY + timedelta(hours=12), horizon_s=6 * 3600.0)
    return demo, simulate(demo, sc)


def test_rack_series_agree_with_the_run_totals(hot_afternoon):
    """The heat-map series are the same physics as the summary: rack powers integrate to the IT
    energy, throttled shares to the throttled GPU-hours per rack, series maxima are the per-rack maxima."""
    demo, res = hot_afternoon
    nr = len(demo.racks)
    assert res.rack_series_step_s == 60.0
    assert res.rack_power_kw.shape == res.rack_gpu_max_c.shape == res.rack_inlet_c.shape == (360, nr)
    assert res.rack_throttled_fraction.shape == (360, nr) and res.rack_power_kw.dtype == np.float32
    assert np.array_equal(res.rack_series_time_s, np.arange(360) * 60.0)
    # float32 storage: ~1e-7 relative per sample
    assert res.rack_power_kw.sum() * 60.0 / 3600.0 == pytest.approx(res.it_energy_kwh, rel=1e-6)
    gpus = np.bincount([demo.racks.index(next(r for r in demo.racks if r.name == s.rack)) for s in demo.servers],
                       weights=[{t.key: t.gpu_count for t in demo.server_types}[s.server_type] for s in demo.servers],
                       minlength=nr)
    thr_h = (res.rack_throttled_fraction * gpus).sum(axis=0) * 60.0 / 3600.0
    assert np.allclose(thr_h, res.rack_throttled_gpu_hours, rtol=1e-5, atol=1e-6)
    assert thr_h.sum() > 100.0  # the GB200 racks throttle: the series show it
    assert np.allclose(res.rack_gpu_max_c.max(axis=0), res.rack_max_gpu_c, atol=1e-4)
    air = np.isfinite(res.rack_max_inlet_c)
    assert np.allclose(np.nanmax(res.rack_inlet_c, axis=0)[air], res.rack_max_inlet_c[air], atol=1e-4)
    assert np.all(np.isnan(res.rack_inlet_c[:, ~air])) or air.all()


def test_throttling_table_by_month_and_hour(hot_afternoon):
    """Hot afternoon in July: every hour 12–17 has throttling in the July row, no other cell; the
    GPU-hour table sums to the run's throttled GPU-hours."""
    _, res = hot_afternoon
    any_h = np.asarray(res.throttle_hours_by_month_hour)
    gpu_h = np.asarray(res.throttled_gpu_hours_by_month_hour)
    assert any_h.shape == gpu_h.shape == (12, 24)
    assert gpu_h.sum() == pytest.approx(res.throttled_gpu_hours, rel=1e-12)
    assert np.count_nonzero(any_h[:6]) == np.count_nonzero(any_h[7:]) == 0
    july = any_h[6]
    assert np.all(july[:12] == 0) and np.all(july[18:] == 0)
    assert np.all(july[13:18] == pytest.approx(1.0))  # throttling all afternoon
    assert 0 < july[12] <= 1.0
    (row,) = res.monthly
    assert row["month"] == "2025-07" and row["throttled_gpu_hours"] == pytest.approx(res.throttled_gpu_hours)
    assert row["throttle_hours"] == pytest.approx(any_h.sum())


def test_monthly_figures_split_a_run_across_billing_months():
    """A run from 29 January to 2 February: two billing months whose energies, costs and demand
    charges add up to the run's, each month's demand charge its own peak × charge × share of the month."""
    plan = small_air_plan(crah_power_kw=5.0, pump_power_kw=3.0, start=datetime(2025, 1, 29))
    sc = replace(plan.scenarios[0], horizon_s=4 * 86400.0, step_s=30.0)
    sc.tariff.demand_charge_usd_per_kw = 12.0
    res = simulate(plan, sc, weather=lambda t: 20.0 + 10.0 * np.sin(2 * np.pi * t / 86400.0) + t / 86400.0)
    months = res.monthly
    assert [m["month"] for m in months] == ["2025-01", "2025-02"]
    assert [m["simulated_h"] for m in months] == pytest.approx([3 * 24, 1 * 24])
    assert [m["billing_share"] for m in months] == pytest.approx([3 / 31, 1 / 28])
    for key in ("it_energy_kwh", "cooling_energy_kwh", "facility_energy_kwh", "energy_cost_usd",
                "demand_charge_usd", "cost_usd"):
        assert sum(m[key] for m in months) == pytest.approx(getattr(res, key), rel=1e-9), key
    for m in months:
        assert m["demand_charge_usd"] == pytest.approx(m["peak_15min_facility_kw"] * 12.0 * m["billing_share"])
        assert m["pue"] == pytest.approx(m["facility_energy_kwh"] / m["it_energy_kwh"])
    assert max(m["peak_15min_facility_kw"] for m in months) == pytest.approx(res.peak_15min_facility_kw)
    annual = res.annual()
    assert len(annual["monthly"]) == 2 and len(annual["throttle_hours_by_month_hour"]) == 12


def test_wall_time_covers_the_whole_simulate_call(monkeypatch):
    """wall_time_s includes model compile (and weather, loads, results), not only the stepping."""
    from planner.solver import run as run_mod
    original = run_mod.compile_model

    def slow_compile(*args, **kwargs):
        time.sleep(0.3)
        return original(*args, **kwargs)
    monkeypatch.setattr(run_mod, "compile_model", slow_compile)
    res = simulate(small_air_plan(), weather=25.0, horizon_s=600.0)
    assert res.wall_time_s >= 0.3
    assert res.stepping == "fixed" and res.jobs_repeated is False
