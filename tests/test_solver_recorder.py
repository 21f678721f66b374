"""The kernel's recorder (planner/solver/recorder.py, compiled ``record_step`` and ``Recorder.finish``)
against the numpy recorder that runs issue 11's physics today (recorder_numpy.py) on the same steps:
the plant parts — electrical chain, lighting and other loads, chiller energy apart from the movers,
heat rejected with the compressor work, the ``electrical_loss_kw`` minute column, ASHRAE inlet
envelope rack-hours and coil dew-point hours, ``pue`` and ``pue_cooling`` (summary and monthly),
cost — and everything else both record (minute series, loop series, per-rack series)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest

from planner.demo import build_demo_plan
from planner.solver.coupling import Coupling, recirc_table
from planner.solver.energy import electrical_chain_coeffs, electrical_chain_kernel, electrical_chain_poly
from planner.solver.examples import small_air_plan
from planner.solver.model import compile_model
from planner.solver.recorder import MINUTE_KEYS, Recorder, record_step
from planner.solver.recorder_numpy import Recorder as NumpyRecorder
from planner.solver.serverstep import ServerBank, server_state, server_table

#: the adaptive stepping's step factors (integrate.LEVEL_FACTORS up to a quarter hour at 10 s)
FACTORS = (1, 2, 3, 6, 12, 18, 30, 60, 90)


def _model(which, start, horizon_s):
    plan = build_demo_plan() if which == "demo" else small_air_plan(n_racks=4)
    sc = replace(plan.scenarios[-1] if which == "demo" else plan.scenarios[0], start=start, horizon_s=horizon_s)
    return compile_model(plan, sc, horizon_s)


def _steps(rng, n_base, adaptive):
    """Base-step factors: fixed 1s, or adaptive steps aligned to their own length (as the kernel takes)."""
    out, k = [], 0
    while k < n_base:
        f = 1
        if adaptive:
            f = int(rng.choice([x for x in FACTORS if k % x == 0 and k + x <= n_base]))
        out.append((k, f))
        k += f
    return out


@pytest.mark.parametrize("which", ["demo", "air"])
@pytest.mark.parametrize("adaptive", [False, True])
def test_compiled_recorder_equals_the_numpy_recorder(which, adaptive):
    dt = 10.0
    start = datetime(2025, 1, 31, 20, 0)  # across a billing month's end
    horizon = 6 * 3600.0
    n_base = int(horizon / dt)
    model = _model(which, start, horizon)
    n, m = model.n, model.m
    rng = np.random.default_rng(5)
    cpl = Coupling(model)
    cpl.setup(model)
    p0 = model.p_idle + 0.5 * model.p_dyn
    tl0 = model.loop_setpoint.copy()
    td0 = 60.0 + 10.0 * rng.random(n)
    bank = ServerBank(model, dt, td0, td0 - 10.0)
    S, T, D = server_state(model, td0, td0 - 10.0), server_table(model), recirc_table(model)
    minute_len = 60.0 if adaptive else None
    rec_np = NumpyRecorder(model, dt, n_base, start, ("server",), cpl, False, tl0, p0, bank, minute_len=minute_len)
    rec_k = Recorder(model, dt, n_base, start, ("server",), cpl, tl0, p0, bank.t_hottest_gpu, minute_len=minute_len)
    srv_thr = bank.srv_thr_s  # both recorders read the servers' throttled time per server from here
    air = [l for l in range(m) if model.loop_medium[l] == "air"]
    chw = [l for l in range(m) if model.loop_names[l] == "CHW" or model.loop_medium[l] == "chilled_water"]
    for k, f in _steps(rng, n_base, adaptive):
        h, t0 = f * dt, k * dt
        ph = 2.0 * np.pi * t0 / 7200.0
        tl = tl0 + rng.normal(0.0, 0.3, m)
        tl[air] += 9.0 * np.sin(ph)  # inlets through 18 / 27 / 32 °C: outside both envelopes at times
        tl[chw] += 3.0 * np.cos(ph)  # chilled water through the coils' dew-point ceilings
        u = np.clip(0.55 + 0.45 * np.sin(ph + rng.random(n)), 0.0, 1.0)
        energy = (model.p_idle + model.p_dyn * u) * h
        t_die = 60.0 + 25.0 * rng.random(n)
        tmax = float(t_die.max())
        thr = float(rng.random() * 5.0 * h) if rng.random() < 0.3 else 0.0
        srv_thr += thr / n
        db = 10.0 + 5.0 * np.sin(ph)
        mover, chiller, rejected, mh = (float(x) for x in rng.random(4) * np.array([30e3, 200e3, 900e3, 20e3]))
        e_step = float(np.add.reduce(energy))
        rec_np.step(t0, h, db, e_step, mover, chiller, rejected, mh, tmax, thr, t_die, tl, energy)
        record_step(rec_k.arrays, T, D, srv_thr, t0, h, db, e_step, mover, chiller, rejected, mh, tmax, thr, t_die,
                    t_die, tl, energy, False)
    prices = 0.08 + 0.06 * (np.arange(24) >= 12)
    kw = dict(control="reactive", cancelled=False, energy0=0.0, prices=prices, demand_charge=15.0)
    a = rec_np.finish(bank, tl, 1, horizon, **kw)
    from planner.solver.groupstep import group_state, group_table
    b = rec_k.finish(S, tl, 1, horizon, server_table=T, groups=(group_table(model), group_state(model, td0)), **kw)
    rel = {}
    for key in ("it_energy_kwh", "cooling_energy_kwh", "chiller_energy_kwh", "electrical_loss_kwh",
                "lighting_misc_kwh", "facility_energy_kwh", "pue", "pue_cooling", "peak_it_kw", "peak_facility_kw",
                "heat_rejected_kwh", "mover_heat_kwh", "energy_cost_usd", "it_cost_usd", "demand_charge_usd",
                "cost_usd", "peak_15min_facility_kw", "max_throttled_fraction", "max_inlet_temp_c",
                "inlet_rack_hours_outside_recommended", "inlet_rack_hours_outside_a1",
                "dew_point_hours_over_recommended", "dew_point_hours_over_a1"):
        x, y = getattr(a, key), getattr(b, key)
        rel[key] = abs(x - y) / max(abs(x), 1e-300)
    for key in MINUTE_KEYS:
        x = a.max_gpu_temp_c_series if key == "max_gpu_temp_c" else getattr(a, key)
        y = b.max_gpu_temp_c_series if key == "max_gpu_temp_c" else getattr(b, key)
        assert x.shape == y.shape, key
        rel["minutes " + key] = float(np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-300)))
    rel["loop_supply_c"] = float(np.max(np.abs(a.loop_supply_c - b.loop_supply_c)))
    for key in ("rack_inlet_c", "rack_gpu_max_c", "rack_throttled_fraction", "rack_power_kw"):
        x, y = getattr(a, key), getattr(b, key)
        assert x.shape == y.shape and np.array_equal(np.isnan(x), np.isnan(y)), key
        rel[key] = float(np.nanmax(np.abs(x - y) / np.maximum(np.abs(x), 1.0))) if x.size else 0.0
    rel["rack_max_inlet_c"] = float(np.nanmax(np.abs(a.rack_max_inlet_c - b.rack_max_inlet_c), initial=0.0))
    assert len(a.monthly) == len(b.monthly) == 2
    for ma, mb in zip(a.monthly, b.monthly):
        assert ma.keys() == mb.keys() and ma["month"] == mb["month"]
        for key, x in ma.items():
            if key != "month":
                rel["monthly " + key] = max(rel.get("monthly " + key, 0.0), abs(x - mb[key]) / max(abs(x), 1e-300))
    worst = max(rel, key=rel.get)
    print(which, adaptive, worst, rel[worst], {k: rel[k] for k in rel if "hours" in k or "pue" in k})
    assert all(v < 1e-9 for v in rel.values()), (worst, rel[worst])
    # the sequence reaches what it is meant to check
    assert a.electrical_loss_kwh > 0 and a.lighting_misc_kwh > 0 and a.chiller_energy_kwh > 0
    assert a.facility_energy_kwh > a.it_energy_kwh + a.cooling_energy_kwh + a.electrical_loss_kwh
    assert 0 < a.inlet_rack_hours_outside_a1 < a.inlet_rack_hours_outside_recommended < 6 * len(model.rack_names)
    if which == "air":  # CRAH coils on the chilled water
        assert 0 < a.dew_point_hours_over_a1 < a.dew_point_hours_over_recommended < 6
    assert np.all(a.electrical_loss_kw > 0)


def test_chain_polynomial_equals_the_device_curves():
    """The compiled polynomial's one source (energy.electrical_chain_poly) against the vector
    function of UPS and transformer curves, and the closure the numpy recorder calls."""
    from planner.solver.energy import electrical_chain_w
    from planner.solver.recorder import _chain
    rated = 1.3e6
    c = electrical_chain_coeffs(rated)
    it = np.linspace(0.0, 1.2 * rated, 25)
    inp, ups, xfmr = electrical_chain_w(it, rated)
    closure = electrical_chain_kernel(rated)
    for x, i_ref, l_ref in zip(it, inp, ups + xfmr):
        for f in (lambda v: electrical_chain_poly(c, v), closure, lambda v: _chain(c, v)):
            i_w, l_w = f(float(x))
            assert i_w == pytest.approx(i_ref, rel=1e-13) and l_w == pytest.approx(l_ref, rel=1e-12, abs=1e-9)
    assert _chain(electrical_chain_coeffs(0.0), 5e3) == (5e3, 0.0)  # a hall with no IT rating: no losses
