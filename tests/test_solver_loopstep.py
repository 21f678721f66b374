"""The kernel's compiled loop step (planner/solver/loopbank.py ``loop_step``) against the numpy loop
banks that run issue 11's physics today (``ScalarLoopBank`` / ``VectorLoopBank``, what
integrate_numpy.run_fast advances), step by step from the same loop states and inputs: real
weather (Minneapolis January, Minneapolis May, Phoenix's hottest July day), the water-side economiser
through full, partial and bypassed free cooling, the chillers at their capacity limit, fan and pump
curves, the predictive controller's forecast rise, steps of varying length."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from planner.demo import build_demo_plan
from planner.solver.control import fopdt_ring
from planner.solver.coupling import Coupling
from planner.solver.loopbank import (ScalarLoopBank, VectorLoopBank, initial_mover_heat, loop_bank, loop_state,
                                     loop_step, loop_table, mover_split)
from planner.solver.model import compile_model
from planner.weather import hottest_day, load_weather


def _segment(epw, month, day, hour0, hours):
    """Hourly dry / wet bulb [°C] from local hour ``hour0`` of ``month``/``day`` for ``hours`` + 1 rows."""
    i = int(np.flatnonzero((epw.month == month) & (epw.day == day))[0]) + hour0
    return epw.dry_bulb_c[i:i + hours + 1].astype(float), epw.wet_bulb_c[i:i + hours + 1].astype(float)


def _weather_steps(rng, n_per_segment=160):
    """(db, wb, h) per step: Minneapolis 8 January (cold: full free cooling), Minneapolis 20 May
    (the economiser partial and bypassed), Phoenix's hottest July day from 11:00 (chillers at their
    limit, economiser off); steps of 10 s to 10 min."""
    mn, ph = load_weather("Minneapolis"), load_weather("Phoenix")
    pm, pd = hottest_day(ph, 7)
    segs = [_segment(mn, 1, 8, 0, 12), _segment(mn, 5, 20, 6, 12), _segment(ph, pm, pd, 11, 10)]
    out = []
    for db_h, wb_h in segs:
        t = 0.0
        for _ in range(n_per_segment):
            h = float(rng.choice([10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0]))
            x = min((t + 0.5 * h) / 3600.0, db_h.size - 1.0)
            out.append((float(np.interp(x, np.arange(db_h.size), db_h)),
                        float(np.interp(x, np.arange(wb_h.size), wb_h)), h))
            t += h
    return out


def _model(variant):
    demo = build_demo_plan(320 if variant == "10 pods" else None)
    sc = replace(demo.scenarios[1], horizon_s=86400.0)
    model = compile_model(demo, sc, sc.horizon_s)
    if variant == "tower+rating":
        # a cooling tower beside the dry coolers (wet-bulb stage) and chillers rated at 30 °C air
        chw = model.loop_names.index("CHW")
        model.loop_tower_ec = model.loop_tower_ec.copy()
        model.loop_tower_ec[chw] = 40e3
        model.loop_chiller_rated_c = model.loop_chiller_rated_c.copy()
        model.loop_chiller_rated_c[chw] = 30.0
    return model


def _inputs(model, rng, k, h, steps):
    """Servers' heat per loop over a step as ``q_hat − g_self·T_end`` [J], [J/K]: IT heat at a load that
    goes 0.3 → 1.0 → 1.25 of full (beyond the plant's rating), with a sensitivity of the IT-facing
    loops' heat to their temperature; and a forecast rise [W] on some steps."""
    cpl = Coupling(model)
    q_full = cpl.to_loops(model.p_idle + model.p_dyn)
    frac = 0.3 if k % 160 < 30 else (1.0 if k % 160 < 100 else 1.25)
    frac *= 1.0 + 0.05 * rng.standard_normal()
    it = np.array([model.loop_medium[l] in ("air", "liquid") for l in range(model.m)])
    g = np.where(it, 25e3, 0.0)  # [W/K]
    t_ref = model.loop_setpoint + 2.0
    q_hat = (frac * q_full + g * t_ref) * h
    fc = np.where(it & (rng.random(model.m) < 0.3), 80e3 * rng.random(model.m), 0.0)
    return q_hat, g * h, fc


@pytest.mark.parametrize("variant", ["demo", "tower+rating"])
@pytest.mark.parametrize("predictive", [False, True])
def test_compiled_loop_step_equals_the_numpy_banks(variant, predictive):
    model = _model(variant)
    m = model.m
    rng = np.random.default_rng(11)
    steps = _weather_steps(rng)
    cpl = Coupling(model)
    tl0 = model.loop_setpoint.copy()
    y0 = np.full(m, 0.7)
    q0 = cpl.to_loops(0.5 * (model.p_idle + model.p_dyn))
    scalar = loop_bank(model, 10.0, tl0.tolist(), y0, q0, variable=True)
    assert isinstance(scalar, ScalarLoopBank)
    movers_in, movers_out = mover_split(model)
    vector = VectorLoopBank(model, 10.0, tl0, y0, initial_mover_heat(model, q0), movers_in, movers_out, True)
    LT, LS = loop_table(model), loop_state(model, tl0, q0)
    R = fopdt_ring(model.loop_dead, model.loop_tau, y0, 10.0)
    chw = model.loop_names.index("CHW")
    worst = {"T": 0.0, "P": 0.0, "deliv": 0.0, "lines": 0.0, "y": 0.0, "vector T": 0.0, "vector P": 0.0}
    seen = {"full": 0, "partial": 0, "bypassed": 0, "chiller at 1": 0}
    t0 = 0.0
    full_prev = part_prev = 0.0
    for k, (db, wb, h) in enumerate(steps):
        q_hat, g_self, fc = _inputs(model, rng, k, h, steps)
        fc_np = fc if predictive else None
        out_s = scalar.step(q_hat, g_self, t0, h, db, wb, fc_np)
        out_v = vector.step(q_hat, g_self, t0, h, db, wb, fc_np)
        out_k = loop_step(LT, LS, R, q_hat, g_self, t0, h, db, wb, fc, predictive)
        t0 += h
        scale = max(abs(x) for x in out_s) + 1.0
        worst["T"] = max(worst["T"], np.abs(LS.tl - np.asarray(scalar.tl)).max())
        worst["P"] = max(worst["P"], max(abs(a - b) for a, b in zip(out_k, out_s)) / scale)
        worst["deliv"] = max(worst["deliv"], np.abs(LS.deliv - np.asarray(scalar.deliv)).max() / scale)
        lines = np.asarray(scalar.lines)
        worst["lines"] = max(worst["lines"], np.abs(LS.lines[:, 0] - lines[:, 0]).max(),
                             np.abs(LS.lines[:, 1:] - lines[:, 1:]).max() / scale)
        worst["y"] = max(worst["y"], np.abs(R.y - np.asarray(scalar.y)).max())
        worst["vector T"] = max(worst["vector T"], np.abs(LS.tl - np.asarray(vector.tl)).max())
        worst["vector P"] = max(worst["vector P"], max(abs(a - b) for a, b in zip(out_k, out_v)) / scale)
        assert LS.free_s[0] == scalar.free_full_s and LS.free_s[1] == scalar.free_partial_s
        # the regimes the sequence passes through (CHW: economiser full / partial / bypassed, chillers at 1)
        seen["full"] += LS.free_s[0] > full_prev
        seen["partial"] += LS.free_s[1] > part_prev
        full_prev, part_prev = LS.free_s[0], LS.free_s[1]
        t_ret = LS.tl[chw] + LT.ret_k[chw] * (LS.coef[chw, 4] - LS.coef[chw, 5] * LS.tl[chw])
        seen["bypassed"] += t_ret <= db
        seen["chiller at 1"] += LS.lines[chw, 0] == 1.0 and out_k[2] > 0.0
    print(worst, seen)
    assert worst["T"] < 1e-9 and worst["P"] < 1e-9 and worst["deliv"] < 1e-9 and worst["lines"] < 1e-9
    assert worst["y"] < 1e-12
    assert worst["vector T"] < 1e-9 and worst["vector P"] < 1e-9
    assert all(v >= 5 for v in seen.values()), seen


def test_compiled_loop_step_at_a_fixed_step_equals_the_fixed_step_bank():
    """Fixed stepping: the numpy run uses ``FopdtActuator`` (fixed weights), the kernel its ring."""
    model = _model("demo")
    m = model.m
    rng = np.random.default_rng(3)
    steps = [(db, wb, 10.0) for db, wb, _ in _weather_steps(rng, 100)]
    cpl = Coupling(model)
    tl0 = model.loop_setpoint.copy()
    y0 = np.full(m, 0.9)
    q0 = cpl.to_loops(0.5 * (model.p_idle + model.p_dyn))
    bank = loop_bank(model, 10.0, tl0.tolist(), y0, q0, variable=False)
    LT, LS = loop_table(model), loop_state(model, tl0, q0)
    R = fopdt_ring(model.loop_dead, model.loop_tau, y0, 10.0)
    worst_t = worst_p = 0.0
    t0 = 0.0
    for k, (db, wb, h) in enumerate(steps):
        q_hat, g_self, fc = _inputs(model, rng, k, h, steps)
        out_s = bank.step(q_hat, g_self, t0, h, db, wb, fc)
        out_k = loop_step(LT, LS, R, q_hat, g_self, t0, h, db, wb, fc, True)
        t0 += h
        worst_t = max(worst_t, np.abs(LS.tl - np.asarray(bank.tl)).max())
        worst_p = max(worst_p, max(abs(a - b) for a, b in zip(out_k, out_s)) / (max(map(abs, out_s)) + 1.0))
    print(worst_t, worst_p)
    assert worst_t < 1e-9 and worst_p < 1e-9


def test_compiled_loop_step_equals_the_vector_bank_of_a_large_hall():
    """The demo scaled to 10 pods (22 loops: the numpy path takes VectorLoopBank, one pass per tree
    level), reactive and predictive steps alike."""
    model = _model("10 pods")
    m = model.m
    rng = np.random.default_rng(23)
    steps = _weather_steps(rng, 120)
    cpl = Coupling(model)
    tl0 = model.loop_setpoint + rng.normal(0.0, 0.5, m)
    y0 = rng.uniform(0.3, 1.0, m)
    q0 = cpl.to_loops(0.5 * (model.p_idle + model.p_dyn))
    bank = loop_bank(model, 10.0, tl0.tolist(), y0, q0, variable=True)
    assert isinstance(bank, VectorLoopBank) and m > 20
    LT, LS = loop_table(model), loop_state(model, tl0, q0)
    R = fopdt_ring(model.loop_dead, model.loop_tau, y0, 10.0)
    worst_t = worst_p = worst_l = 0.0
    t0 = 0.0
    for k, (db, wb, h) in enumerate(steps):
        q_hat, g_self, fc = _inputs(model, rng, k, h, steps)
        use_fc = k % 2 == 1
        out_v = bank.step(q_hat, g_self, t0, h, db, wb, fc if use_fc else None)
        out_k = loop_step(LT, LS, R, q_hat, g_self, t0, h, db, wb, fc, use_fc)
        t0 += h
        scale = max(abs(x) for x in out_v) + 1.0
        worst_t = max(worst_t, np.abs(LS.tl - np.asarray(bank.tl)).max())
        worst_p = max(worst_p, max(abs(a - b) for a, b in zip(out_k, out_v)) / scale)
        lines = np.asarray(bank.lines)
        worst_l = max(worst_l, np.abs(LS.lines[:, 0] - lines[:, 0]).max(),
                      np.abs(LS.lines[:, 1:] - lines[:, 1:]).max() / scale,
                      np.abs(LS.deliv - bank.deliv).max() / scale)
        assert abs(LS.free_s[0] - bank.free_full_s) < 1e-9 and abs(LS.free_s[1] - bank.free_partial_s) < 1e-9
    print(m, worst_t, worst_p, worst_l, LS.free_s)
    assert worst_t < 1e-9 and worst_p < 1e-9 and worst_l < 1e-9
    assert LS.free_s[0] > 0 and LS.free_s[1] > 0


def _copy_state(kind, bank):
    import copy
    if kind == "kernel":
        LT, LS, R = bank
        return LT, type(LS)(*(x.copy() for x in LS)), type(R)(*(x.copy() for x in R))
    return copy.deepcopy(bank)


def _take(kind, bank, q_hat, g_self, t0, h, db, wb):
    if kind == "kernel":
        LT, LS, R = bank
        return loop_step(LT, LS, R, q_hat, g_self, t0, h, db, wb, np.zeros(LS.tl.size), False)
    return bank.step(q_hat, g_self, t0, h, db, wb)


@pytest.mark.parametrize("kind", ["scalar", "vector", "kernel"])
def test_outdoor_fans_run_at_the_step_mean_actuator_output_at_any_step_length(kind):
    """A plant loop's dry-cooler fans are its actuator: over a step they run at the actuator's mean
    output ``ȳ_hist + ω·cmd``. At a steady state one 900 s step (longer than the loop's dead time, so
    its own command acts within it) bills the fans as 90 steps of 10 s do. Before the fix they ran at
    ``ȳ_hist`` alone, the earlier commands' share (~dead time / step ≈ 0.3 of the speed)."""
    model = _model("demo")
    m = model.m
    fws = model.loop_names.index("FWS")
    assert model.loop_fan_out_w[fws] > 0 and model.loop_chiller_w[fws] == 0 and model.loop_dead[fws] < 900.0
    cpl = Coupling(model)
    q = cpl.to_loops(0.6 * (model.p_idle + model.p_dyn))
    it = np.array([model.loop_medium[l] in ("air", "liquid") for l in range(m)])
    tl0 = model.loop_setpoint.copy()
    y0 = np.full(m, 0.6)
    db, wb = 22.0, 14.0  # mild: the dry coolers hold the facility water at part speed
    if kind == "kernel":
        bank = (loop_table(model), loop_state(model, tl0, q), fopdt_ring(model.loop_dead, model.loop_tau, y0, 10.0))
    elif kind == "scalar":
        bank = loop_bank(model, 10.0, tl0.tolist(), y0, q, variable=True)
    else:
        movers_in, movers_out = mover_split(model)
        bank = VectorLoopBank(model, 10.0, tl0, y0, initial_mover_heat(model, q), movers_in, movers_out, True)

    def inputs(h):
        g = np.where(it, 25e3, 0.0)
        return (q + g * (model.loop_setpoint + 2.0)) * h, g * h

    t0 = 0.0
    for _ in range(2160):  # six hours at 10 s: the loops and actuators settle
        _take(kind, bank, *inputs(10.0), t0, 10.0, db, wb)
        t0 += 10.0
    y_now = {"kernel": lambda: bank[2].y, "scalar": lambda: np.asarray(bank.y),
             "vector": lambda: bank.act.y[bank.inv]}[kind]()[fws]
    assert 0.3 < y_now < 0.95  # at part speed, not saturated
    long = _copy_state(kind, bank)
    out_long = _take(kind, long, *inputs(900.0), t0, 900.0, db, wb)
    fans_short = 0.0
    for i in range(90):
        out = _take(kind, bank, *inputs(10.0), t0 + 10.0 * i, 10.0, db, wb)
        fans_short += (out[1] - out[3]) / 90.0  # outdoor fans: electricity beyond the movers' heat billed
    fans_long = out_long[1] - out_long[3]
    print(kind, y_now, fans_long, fans_short)
    assert fans_long == pytest.approx(fans_short, rel=1e-4)
