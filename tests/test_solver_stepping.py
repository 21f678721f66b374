"""Adaptive stepping and the implicit coupling: same answers as the fixed 10 s run, far fewer steps;
the job list repeating with its own period."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from planner.solver import simulate
from planner.solver.examples import liquid_burst_plan
from planner.solver.run import DEFAULT_RTOL

def _agree(adaptive, fixed, *, energy=2e-3, temp=0.1, gpu_h=0.02):
    """Issue 12's accuracy targets against the fixed 10 s run."""
    for key in ("it_energy_kwh", "facility_energy_kwh", "cost_usd"):
        a, f = getattr(adaptive, key), getattr(fixed, key)
        assert a == pytest.approx(f, rel=energy), key
    assert abs(adaptive.max_gpu_temp_c - fixed.max_gpu_temp_c) < temp
    if fixed.throttled_gpu_hours > 0:
        assert adaptive.throttled_gpu_hours == pytest.approx(fixed.throttled_gpu_hours, rel=gpu_h)


def test_phoenix_hot_day_adaptive_matches_fixed_10s(demo):
    """Full load through Phoenix's hottest day: the GB200 rows throttle all afternoon."""
    day = replace(demo.scenarios[1], horizon_s=86400.0)
    fixed = simulate(demo, day, step_s=10.0)
    adaptive = simulate(demo, day, rtol=DEFAULT_RTOL)  # a day runs fixed by default: ask for adaptive
    assert fixed.stepping == "fixed" and adaptive.stepping == "adaptive"
    assert fixed.throttled_gpu_hours > 4000
    _agree(adaptive, fixed)
    assert adaptive.steps * 5 < fixed.steps


def test_pump_lag_burst_adaptive_matches_fixed_10s():
    """A training job starting on a CDU loop with a 95 s lag: the job start is an event, the steps
    around it stay fine."""
    plan = liquid_burst_plan(lag_s=95.0, horizon_s=4 * 3600.0)
    fixed = simulate(plan, weather=35.0, step_s=10.0)
    adaptive = simulate(plan, weather=35.0, rtol=DEFAULT_RTOL, step_s=10.0)  # base step: the fixed run's
    _agree(adaptive, fixed)


def test_pump_lag_burst_at_45c_throttles_as_the_fixed_run():
    """The pump-lag headline (CDU at 45 °C): throttling in the minutes after the job starts. Near
    slowdown with a training job on the hot servers the steps stay at the base step (the iterations
    alias differently at longer steps), so throttled GPU-hours agree to 2 %."""
    plan = liquid_burst_plan(lag_s=90.0, horizon_s=4 * 3600.0)
    for u in plan.cooling_units:
        if u.kind == "cdu":
            u.supply_setpoint_c = 45.0
    fixed = simulate(plan, weather=35.0, step_s=10.0)
    adaptive = simulate(plan, weather=35.0, rtol=DEFAULT_RTOL, step_s=10.0)
    assert fixed.throttled_gpu_hours > 3.0
    _agree(adaptive, fixed)
    assert adaptive.steps * 3 < fixed.steps


def test_demo_days_of_jobs_match_fixed_10s(demo):
    """Three days of the demo's job week in July (training iterations, checkpoints, job starts and
    ends): energy and cost within 0.2 %, max GPU within 0.1 K of the fixed 10 s run. The hottest die
    (a GB200 NVL72 under training, 3 K below slowdown) sits on the iterations' base-grid ripple: the
    case that was +0.135 K before the ripple state (planner/solver/ripple.py); with issue 11's physics in
    the kernel (hottest GPU recorded) +0.0025 K, 2,275 vs 25,920 steps (+0.120 K without the ripple)."""
    days = replace(demo.scenarios[0], horizon_s=3 * 86400.0)
    fixed = simulate(demo, days, step_s=10.0)
    adaptive = simulate(demo, days, rtol=DEFAULT_RTOL, step_s=10.0)
    _agree(adaptive, fixed)
    assert adaptive.steps * 10 < fixed.steps  # 2,275 vs 25,920


def test_default_stepping_follows_the_horizon(demo):
    """Neither step nor tolerance: a day runs fixed at the scenario step, longer runs adaptive."""
    sc = demo.scenarios[1]
    assert simulate(demo, replace(sc, horizon_s=3600.0)).stepping == "fixed"
    assert simulate(demo, replace(sc, horizon_s=2 * 86400.0)).stepping == "adaptive"
    assert simulate(demo, replace(sc, horizon_s=2 * 86400.0), step_s=10.0).stepping == "fixed"


def test_job_list_repeats_with_its_own_period(demo):
    """The demo's week of jobs repeats weekly beyond the first week (unless told not to): the second
    week's IT energy equals the first's; without repetition the second week is idle."""
    two = replace(demo.scenarios[0], horizon_s=14 * 86400.0)
    rep = simulate(demo, two, rtol=1e-3)
    once = simulate(demo, two, rtol=1e-3, repeat_jobs=False)
    assert rep.jobs_repeated and not once.jobs_repeated
    week = int(7 * 86400 / 60)
    it1, it2 = rep.it_kw[:week].sum(), rep.it_kw[week:].sum()
    assert it2 == pytest.approx(it1, rel=1e-3)
    idle = float(sum(t.idle_power_w for t in demo.server_types for s in demo.servers if s.server_type == t.key)) / 1e3
    assert once.it_kw[week:].mean() == pytest.approx(idle, rel=1e-6)


def test_a_month_of_the_demo_matches_fixed_10s(demo):
    """Issue 12's month on the demo: July in Phoenix with the job week repeated, default stepping
    (adaptive beyond a day) against fixed 10 s steps — energy and cost within 0.2 %, max GPU within
    0.1 K, throttled GPU-hours within 2 %, with several times fewer steps."""
    from datetime import datetime
    month = replace(demo.scenarios[0], start=datetime(2025, 7, 1), horizon_s=31 * 86400.0)
    fixed = simulate(demo, month, step_s=10.0)
    adaptive = simulate(demo, month)
    assert adaptive.stepping == "adaptive" and adaptive.jobs_repeated and fixed.jobs_repeated
    _agree(adaptive, fixed)
    assert adaptive.steps * 4 < fixed.steps


def test_training_ripple_on_the_base_grid_keeps_max_gpu(demo, monkeypatch):
    """A January Monday–Wednesday of the demo's jobs (no server near slowdown, so adaptive steps run
    long through training): the hottest die follows the 10 s-to-10 s ripple of the iterations'
    step means (±0.7 K) in the fixed run. With the ripple carried for the servers near the hottest
    die (planner/solver/ripple.py) the adaptive max GPU stays within 0.1 K (measured +0.0735 K, from
    the loops' error after a job start); without it the mean hides the ripple and misses the 0.1 K target
    (measured −0.150 K with issue 11's physics, −0.175 K before)."""
    import planner.solver.integrate as integrate
    from datetime import datetime
    days = replace(demo.scenarios[0], start=datetime(2025, 1, 6), horizon_s=3 * 86400.0)
    fixed = simulate(demo, days, step_s=10.0)
    adaptive = simulate(demo, days, rtol=DEFAULT_RTOL, step_s=10.0)
    _agree(adaptive, fixed)
    monkeypatch.setattr(integrate, "TRACK_MARGIN_K", -np.inf)
    blind = simulate(demo, days, rtol=DEFAULT_RTOL, step_s=10.0)
    assert blind.steps == adaptive.steps and blind.facility_energy_kwh == adaptive.facility_energy_kwh
    assert blind.max_gpu_temp_c < fixed.max_gpu_temp_c - 0.1


def test_adaptive_server_histories_have_a_row_per_minute(demo):
    """Per-server minute histories line up with the minute series when steps span several minutes."""
    day = replace(demo.scenarios[0], horizon_s=2 * 86400.0)
    res = simulate(demo, day, rtol=DEFAULT_RTOL, record=("summary", "minute", "server"))
    assert max(res.step_factor_counts) * res.step_s > 60.0
    assert res.server_temp_c.shape == (res.time_s.size, res.servers) == res.server_power_kw.shape
    # the hottest die of each minute is the max over servers of the history (minute-end samples)
    assert np.all(res.server_temp_c.max(axis=1) <= res.max_gpu_temp_c_series + 1e-9)


@pytest.mark.parametrize("rtol", [None, DEFAULT_RTOL])
def test_minute_p95_and_loop_heat_equal_what_the_histories_give(demo, rtol):
    """gpu_p95_c and loop_heat_kw, recorded at each minute's end without per-server histories, equal
    what planner.solver.series.view_series computes from the histories (fixed and adaptive steps)."""
    from planner.solver.series import view_series
    sc = replace(demo.scenarios[0], horizon_s=86400.0)
    res = simulate(demo, sc, rtol=rtol, record=("summary", "minute", "server"))
    view = view_series(replace(res, gpu_p95_c=None, loop_heat_kw=None), demo, sc)
    assert res.gpu_p95_c.shape == res.time_s.shape and res.loop_heat_kw.shape == res.loop_supply_c.shape
    assert np.array_equal(res.gpu_p95_c, view["gpu_p95_c"])
    assert np.allclose(res.loop_heat_kw, view["loop_heat_kw"], rtol=1e-6, atol=1e-3)  # float32
    assert res.loop_heat_kw.max() > 100.0 and np.all(np.isfinite(res.gpu_p95_c))


def test_long_runs_keep_loop_series_in_float32(demo, monkeypatch):
    """Beyond LOOP_SERIES_F64_MAX_CELLS loop-minutes (a year of a 10,000-server hall) the per-loop
    minute series are float32 (half the memory); the run is otherwise the same."""
    from planner.solver import recorder
    sc = replace(demo.scenarios[1], horizon_s=6 * 3600.0)
    full = simulate(demo, sc)
    monkeypatch.setattr(recorder, "LOOP_SERIES_F64_MAX_CELLS", 0)
    small = simulate(demo, sc)
    assert full.loop_supply_c.dtype == np.float64 and small.loop_supply_c.dtype == np.float32
    assert np.allclose(small.loop_supply_c, full.loop_supply_c, rtol=1e-6, atol=0.0)
    assert small.facility_energy_kwh == full.facility_energy_kwh and small.max_gpu_temp_c == full.max_gpu_temp_c


def test_float32_loop_series_asked_for_in_one_thread_leave_other_threads_runs_float64(demo):
    """:func:`recorder.loop_series_in_float32` (the kernel warm-up's long-run specialisation) holds for
    its own thread only: a run in another thread meanwhile, and every run after the block, records
    float64. (It was a save / write / restore of the module value: two in-process Dask workers warming
    up at once restored each other's 0, and every later run in that process recorded float32.)"""
    import threading

    from planner.solver import recorder
    sc = replace(demo.scenarios[1], horizon_s=1800.0)
    inside, release, dtypes = threading.Event(), threading.Event(), {}

    def hold_float32():
        with recorder.loop_series_in_float32():
            inside.set()
            release.wait(60)
            dtypes["inside"] = simulate(demo, sc).loop_supply_c.dtype

    t = threading.Thread(target=hold_float32)
    t.start()
    try:
        assert inside.wait(60)
        dtypes["other thread"] = simulate(demo, sc).loop_supply_c.dtype
    finally:
        release.set()
        t.join(120)
    dtypes["after"] = simulate(demo, sc).loop_supply_c.dtype
    assert dtypes == {"inside": np.float32, "other thread": np.float64, "after": np.float64}
    assert recorder.loop_series_f64_max_cells() == recorder.LOOP_SERIES_F64_MAX_CELLS
