"""The kernel's forecast with error and power cap (planner/solver/forecast.py, power_cap.py, compiled
forms) against the numpy code the runs of issue 11 use (integrate_numpy._Chunk's forecast,
power_cap.PowerCap.caps), step by step."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from planner.demo import build_demo_plan
from planner.solver.examples import liquid_burst_plan
from planner.solver.forecast import forecast_job_utilization_means, forecast_rise, forecast_table
from planner.solver.integrate_numpy import forecast_weights
from planner.solver.model import compile_model
from planner.solver.power_cap import PowerCap, cap_table, caps_into
from planner.solver.serverstep import server_table


def _numpy_rise(model, t_edges, lookahead, w):
    err = model.options.forecast_error
    now = forecast_job_utilization_means(model.placement, t_edges, err)
    fc = np.empty((t_edges.size - 1, model.m))
    for l in range(model.m):
        ujl = forecast_job_utilization_means(model.placement, t_edges + lookahead[l], err)
        fc[:, l] = np.maximum(w[l] @ (ujl - now), 0.0)
    return fc


@pytest.mark.parametrize("step", [10.0, 90.0, 900.0])
def test_forecast_rise_equals_the_numpy_forecast(step):
    """Three days of the demo's job week (training bursts every 30 min with ±60 s / ±10 % errors, job
    starts and ends): the kernel's per-step rise equals numpy's to 1e-9 of the loops' scale."""
    demo = build_demo_plan()
    sc = replace(demo.scenarios[0], horizon_s=3 * 86400.0)
    model = compile_model(demo, sc, sc.horizon_s)
    w, _ = forecast_weights(model)
    w = np.ascontiguousarray(w, float)
    la = (model.loop_dead + model.loop_tau).astype(float)
    ft = forecast_table(model.placement, model.options.forecast_error)
    edges = np.arange(0.0, sc.horizon_s + step / 2, step)
    ref = _numpy_rise(model, edges, la, w)
    got = np.zeros_like(ref)
    now, fc = np.zeros(len(model.placement.jobs)), np.zeros(model.m)
    for k in range(edges.size - 1):
        forecast_rise(ft, w, la, edges[k], edges[k + 1], now, fc)
        got[k] = fc
    scale = float(np.abs(ref).max())
    assert scale > 1e4 and np.count_nonzero(ref) > 50  # kW of foreseen rise, many steps
    assert np.abs(got - ref).max() < 1e-9 * scale, np.abs(got - ref).max() / scale


def test_power_cap_equals_the_numpy_power_cap():
    """The pump-lag pair under predictive throttling: random demand, loop temperatures and removal
    lines through the burst windows; the kernel's caps equal PowerCap.caps (None ⇔ not capped)."""
    plan = liquid_burst_plan(lag_s=90.0, horizon_s=4 * 3600.0)
    sc = plan.scenarios[0]
    model = compile_model(plan, sc, sc.horizon_s)
    dt, n_steps = 10.0, int(sc.horizon_s / 10.0)
    ref = PowerCap(model, dt, n_steps)
    C = cap_table(model, dt, n_steps)
    P = server_table(model)
    rng = np.random.default_rng(3)
    u_cap = np.zeros(model.n)
    n_capped = n_active = 0
    k = 0
    while k < n_steps:
        u = np.clip(0.5 + 0.6 * rng.random(model.n), 0.0, 1.0)
        tl = model.loop_setpoint + rng.normal(0.0, 1.5, model.m)
        y = rng.random(model.m)
        a = rng.normal(0.0, 2e5, model.m)
        b = rng.random(model.m) * 2e4
        want = ref.caps(k, u, tl, list(zip(y, a, b)))
        got = caps_into(C, P, k, u, tl, np.stack([y, a, b], axis=1), u_cap)
        n_active += bool(ref.any_step[k])
        if want is None:
            assert not got, k
        else:
            capped = bool(np.any(want < u - 1e-12))
            assert got == capped, k
            np.testing.assert_allclose(u_cap, want, rtol=0, atol=1e-13)
            n_capped += capped
        k += int(rng.integers(1, 4))  # adaptive runs ask at irregular base steps
    assert n_active > 50 and n_capped > 10, (n_active, n_capped)
