"""The predictive controllers' forecast: burst starts ±60 s, burst power ±10 %, uniform, seeded."""
from __future__ import annotations

import numpy as np
import pytest

from planner.solver.examples import liquid_burst_plan
from planner.solver.forecast import EXACT, ForecastError, forecast_job_utilization_step_means
from planner.solver.loads import CHECKPOINT_EVERY_S, job_utilization_step_means
from planner.solver.model import CONTROL_MODES, compile_model
from planner.solver.run import simulate


def _placement():
    plan = liquid_burst_plan()
    sc = plan.scenarios[0]
    return compile_model(plan, sc, sc.horizon_s).placement


def test_exact_forecast_is_the_schedule():
    pl = _placement()
    t0 = np.arange(0.0, 14400.0, 2.0)
    # (as the servers see it: utilisation clipped to 0..1, as the integrator clips the schedule)
    assert np.allclose(forecast_job_utilization_step_means(pl, t0, 2.0, EXACT),
                       np.clip(job_utilization_step_means(pl, t0, 2.0), 0.0, 1.0))


def test_each_burst_is_seen_within_60_s_and_10_percent():
    """The job starts at 600 s and resumes after each checkpoint; the forecast's start and level of each
    burst differ from the truth by the drawn Δ (|Δ| ≤ 60 s) and ε (|ε| ≤ 10 %)."""
    pl = _placement()
    err = ForecastError(seed=7)
    shift, scale = err.draws(0, 10)
    assert np.all(np.abs(shift) <= 60.0) and np.all(np.abs(scale) <= 0.10)
    assert np.ptp(shift) > 30.0  # drawn, not constant
    dt = 1.0
    t0 = np.arange(0.0, 14400.0, dt)
    fc = forecast_job_utilization_step_means(pl, t0, dt, err)[0]
    true = job_utilization_step_means(pl, t0, dt)[0]
    start = 600.0
    first_fc = t0[np.argmax(fc > 0)]
    assert first_fc == pytest.approx(start + shift[0], abs=dt) and first_fc != start
    # within burst k the forecast is (1 + ε_k)·u(t − Δ_k)
    for k in (1, 3):
        t = start + k * CHECKPOINT_EVERY_S + 600.0  # mid-burst, away from the shifted edges
        i = int(t / dt)
        j = int((t - shift[k]) / dt)
        assert fc[i] == pytest.approx(min((1 + scale[k]) * true[j], 1.0), rel=1e-9, abs=1e-12)
    # seeded: the same seed repeats, another differs
    again = forecast_job_utilization_step_means(pl, t0, dt, ForecastError(seed=7))[0]
    other = forecast_job_utilization_step_means(pl, t0, dt, ForecastError(seed=8))[0]
    assert np.array_equal(fc, again) and not np.array_equal(fc, other)


def test_predictive_throttle_is_a_control_mode_everywhere():
    assert CONTROL_MODES == ("reactive", "predictive", "predictive-throttle")
    plan = liquid_burst_plan(horizon_s=1800.0)
    res = simulate(plan, weather=35.0, control="predictive-throttle", step_s=2.0)
    assert res.control == "predictive-throttle" and res.lost_gpu_hours >= res.power_cap_lost_gpu_hours >= 0.0
    from ui.cli import build_parser
    sim = build_parser()._subparsers._group_actions[0].choices["simulate"]
    control = next(a for a in sim._actions if a.dest == "control")
    assert tuple(control.choices) == CONTROL_MODES
