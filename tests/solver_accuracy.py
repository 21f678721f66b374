"""The solver tests' error bounds in one table, and the cases that measure those errors.

Issue 13, point 7: a bound sits a small factor (about 2–3×) above the error it guards, with the
measured error written beside it, so a defect larger than the scheme's own error fails the test.
``tests/test_solver_verification.py`` and ``tests/test_solver_stories.py`` assert these bounds on
the figures the functions below compute; ``benchmarks/measure_bounds.py`` runs the same functions and
prints each bound next to the error measured now (re-run it after a solver change: a ratio below ~1.5
is about to fail, one above ~5 no longer guards much).

Errors, not times: machine load does not change them. "measured" is the value on main 08166e2
(issue 11's physics on the numpy path), fixed 10 s steps unless the key says otherwise.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np


@dataclass(frozen=True)
class Bound:
    """One asserted bound: ``value`` (what the test allows), ``measured`` (the error when it was set,
    same unit), ``unit`` and what is compared."""

    value: float
    measured: float
    unit: str
    what: str

    @property
    def ratio(self) -> float:
        return self.value / self.measured if self.measured else float("inf")


B = Bound
#: key -> bound; keys are ``case.quantity``. Each bound is ~2–3× its measured error unless a comment
#: says why not.
BOUNDS: dict[str, Bound] = {
    # fast path vs solve_ivp (LSODA rtol 1e-6), demo hall 14:00–15:00 on Phoenix's hottest day at
    # 10 s (was 0.3 K / 1e-3 / 0.02 for all). Max GPU is not compared: both start at the same steady
    # state with the GB200s already held at max operating, so the hour's maximum is the initial
    # state's in both (difference 0 by construction) — see the onset case instead.
    "demo_hour.servers": B(0.03, 0.0120, "K", "hottest GPU of every server at every minute end"),
    "demo_hour.loops": B(0.06, 0.0283, "K", "every loop's minute-mean supply"),
    "demo_hour.final_loops": B(0.008, 0.00256, "K", "loop temperatures at the end"),
    "demo_hour.it_energy": B(3e-5, 8.5e-6, "rel", "IT energy"),
    "demo_hour.lost_gpu_hours": B(7e-4, 2.3e-4, "rel", "lost GPU-hours (19.01 GPU-h)"),
    # the delayed burst (95 s CDU lag) at the pump-lag study's 2 s step (was: 0.3 K at 10 s, where
    # the error is 0.232 K servers / 0.275 K loops: the fast scheme's first-order step error, so the
    # 10 s run is checked for that order instead of against a 1.1–1.3× bound)
    "burst_2s.servers": B(0.1, 0.0425, "K", "hottest GPU of every server at every minute end"),
    "burst_2s.loops": B(0.14, 0.0556, "K", "every loop's minute-mean supply"),
    "burst_order.servers_low": B(3.5, 5.46, "-", "server error at 10 s / at 2 s, at least (first order: 5)"),
    "burst_order.servers_high": B(7.0, 5.46, "-", "server error at 10 s / at 2 s, at most"),
    "burst_order.loops_low": B(3.5, 4.95, "-", "loop error at 10 s / at 2 s, at least (first order: 5)"),
    "burst_order.loops_high": B(7.0, 4.95, "-", "loop error at 10 s / at 2 s, at most"),
    # throttle onset under a warming afternoon (new): solve_ivp locates the crossing with an event
    "onset.time_s": B(1.5, 0.60, "s", "time the hottest GPU group first reaches max operating"),
    "onset.halving_s": B(2.5, 0.82, "s", "the same onset at 10 s vs 5 s"),
    "onset.servers": B(0.06, 0.0236, "K", "hottest GPU of every server at every minute end"),
    "onset.max_gpu": B(4e-4, 1.35e-4, "K", "hottest GPU of the run (reached at the end, above max operating)"),
    "onset.lost_gpu_hours": B(6e-3, 2.2e-3, "rel", "lost GPU-hours (3 min of throttling)"),
    # halving the step (10 s -> 5 s), demo hot hour (was 0.1 K for all; max GPU as above)
    "halving.servers": B(0.015, 0.0050, "K", "hottest GPU of every server at every minute end"),
    "halving.loops": B(0.06, 0.0223, "K", "every loop's minute-mean supply"),
    "halving.max_inlet": B(0.0025, 0.00077, "K", "hottest rack air inlet"),
    # energies, small air plan over a hot afternoon (was 0.005 for both)
    "energy.mismatch": B(2.5e-3, 8.5e-4, "rel", "IT energy and heat rejected, fast vs solve_ivp"),
    "energy.reference_balance": B(4e-9, 1.3e-9, "rel", "solve_ivp's own energy balance (its tolerances)"),
    "energy.fast_balance": B(1e-9, 4.9e-14, "rel", "the fast path's own balance (bookkeeping: rounding; unchanged)"),
    # Rounding-level figures (the two runs reach the same steady state, or the quantity does not
    # depend on the stepping): bound 5e-9 — a few times issue 12's compiled kernel's agreement with
    # the numpy path (~1e-9), so the kernel lands without touching them; anything physical is far above.
    # Steps at 3× the explicit stability limit vs 10 s (was 0.01 K, 0.01 K, 0.1 K):
    "big_steps.settled_ptp": B(5e-9, 8.2e-14, "K", "spread of the loop over the last 20 steps (settled)"),
    "big_steps.final_loop": B(5e-9, 3.2e-14, "K", "loop temperature at the end, big steps vs 10 s"),
    "big_steps.max_gpu": B(0.01, 0.0031, "K", "hottest GPU through the load step, big steps vs 10 s"),
    # cost_plan two days at 60 s and 300 s vs 10 s (was 0.05 K and 1e-4)
    "cost_steps.settled_ptp": B(1.5e-6, 4.3e-7, "K", "air loop spread over the last 2 h (no limit cycle)"),
    "cost_steps.facility_energy": B(5e-9, 4.6e-10, "rel", "facility energy vs the 10 s run"),
    # the cost story (was ±2 % and 1e-4): constant utilisation below slowdown, flat tariff, so the IT
    # figures are exact up to rounding; same 5e-9 as above
    "cost.it_cost": B(5e-9, 3.4e-14, "rel", "IT electricity cost vs $60,000"),
    "cost.it_energy": B(5e-9, 7.6e-13, "rel", "IT energy vs 500,000 kWh (100 × 570.78 W × 8,760 h)"),
    # the Phoenix story, pinned (was: Minneapolis × 10 ≤ Phoenix, vacuous with Minneapolis at 0).
    # Margins from the integrator's verified accuracy, not from the step alone: halving the step
    # moves Phoenix's figure by 7.2e-6 and Minneapolis's hottest GPU by 2e-6 K, but the fast path is
    # 2.3e-4 (lost GPU-h) and 0.012 K (servers) from solve_ivp on the demo's hot hour.
    "phoenix.phoenix_throttled": B(1e-3, 7.2e-6, "rel", "Phoenix's throttled GPU-h on its hottest day vs 10,525.3"),
    "phoenix.minneapolis_throttled": B(1e-9, 0.0, "GPU-h", "Minneapolis's throttled GPU-h on its hottest day (0)"),
    "phoenix.minneapolis_max_gpu": B(0.03, 2e-6, "K", "Minneapolis's hottest GPU that day vs 86.4979 °C (0.50 K below max operating)"),
}
del B


def bound(key: str) -> float:
    return BOUNDS[key].value


# ----------------------------------------------------------------------------- helpers


def minute_means(ref, per_minute: int) -> np.ndarray:
    """Mean of the reference's per-step loop samples over each minute (the fast path's loop series)."""
    x = ref.loop_supply_c
    return x[: len(x) // per_minute * per_minute].reshape(-1, per_minute, x.shape[1]).mean(axis=1)


def trajectory_errors(fast, ref) -> dict:
    """Largest differences along the run: every server's hottest GPU at each minute end and every
    loop's minute mean [K]."""
    per_minute = int(round(60.0 / fast.step_s))
    assert fast.step_s == ref.step_s
    return {"servers": float(np.abs(fast.server_temp_c - ref.server_temp_c[per_minute - 1::per_minute]).max()),
            "loops": float(np.abs(fast.loop_supply_c - minute_means(ref, per_minute)).max())}


@contextmanager
def solve_ivp_events():
    """Collect what ``solve_ivp`` locates for ``events`` passed through ``simulate(...,
    integrator="reference", events=[...])`` (solve_ivp keyword arguments go through unchanged); the
    reference path keeps only its samples, so this wraps its ``solve_ivp`` for the duration and
    yields a list that receives, per event function, the event times of every chunk."""
    from planner.solver import reference
    real = reference.solve_ivp
    found: list[list[float]] = []

    def wrapped(*args, **kwargs):
        sol = real(*args, **kwargs)
        for j, times in enumerate(sol.t_events or []):
            while len(found) <= j:
                found.append([])
            found[j].extend(float(t) for t in times)
        return sol
    reference.solve_ivp = wrapped
    try:
        yield found
    finally:
        reference.solve_ivp = real


# ----------------------------------------------------------------------------- cases


def demo_hour(demo):
    """The demo hall 14:00–15:00 on Phoenix's hottest day at full load (the GB200s at slowdown, the
    plant short)."""
    from planner.demo import DEMO_HOT_DAY
    return replace(demo.scenarios[1], start=DEMO_HOT_DAY + timedelta(hours=14), horizon_s=3600.0)


def demo_hour_vs_reference(demo, scenario):
    """(errors, fast, ref): the fast path at the default step vs solve_ivp on the demo hour."""
    from planner.solver import simulate
    fast = simulate(demo, scenario, record=("summary", "minute", "server"))
    ref = simulate(demo, scenario, integrator="reference", rtol=1e-6, atol=1e-6)
    err = trajectory_errors(fast, ref)
    err["final_loops"] = float(np.abs(fast.final_loop_temp_c - ref.final_loop_temp_c).max())
    err["it_energy"] = abs(fast.it_energy_kwh / ref.it_energy_kwh - 1.0)
    err["lost_gpu_hours"] = abs(fast.lost_gpu_hours / ref.lost_gpu_hours - 1.0)
    return err, fast, ref


def halving(demo, scenario, fast=None):
    """Errors of the default step against half of it on the demo hour."""
    from planner.solver import DEFAULT_STEP_S, simulate
    a = fast if fast is not None else simulate(demo, scenario, record=("summary", "minute", "server"))
    b = simulate(demo, scenario, step_s=DEFAULT_STEP_S / 2, record=("summary", "minute", "server"))
    return {"servers": float(np.abs(a.server_temp_c - b.server_temp_c).max()),
            "loops": float(np.abs(a.loop_supply_c - b.loop_supply_c).max()),
            "max_inlet": abs(a.max_inlet_temp_c - b.max_inlet_temp_c)}


#: the delayed burst's run: the training job starts at 10 min; the error peaks at minute 13 (the
#: 95 s-lagged CDU catches up) and has halved by minute 18
BURST_HORIZON_S = 1200.0


def burst_vs_reference(step_s: float):
    """(errors, fast, ref) through the delayed burst (95 s CDU lag) at ``step_s``: both paths get the
    same step-averaged load, so only the integration differs."""
    from planner.solver import simulate
    from planner.solver.examples import liquid_burst_plan
    plan = liquid_burst_plan(lag_s=95.0, horizon_s=BURST_HORIZON_S)
    fast = simulate(plan, weather=35.0, step_s=step_s, record=("summary", "minute", "server"))
    ref = simulate(plan, weather=35.0, step_s=step_s, integrator="reference", rtol=1e-6, atol=1e-6)
    return trajectory_errors(fast, ref), fast, ref


#: the onset case: the GB200 pair at constant full load while the outdoor air warms 10 K an hour
#: from 35 °C, so the dry coolers fall behind, the facility and CDU water warm and the hottest GPU
#: group reaches max operating at ~1,614 s (once, monotonically: no load steps)
ONSET_HORIZON_S = 1800.0
ONSET_WARMING_K_PER_H = 10.0


def onset_plan():
    from planner.solver.examples import liquid_burst_plan
    plan = liquid_burst_plan(horizon_s=ONSET_HORIZON_S)
    plan.scenarios = [replace(plan.scenarios[0], load="full", step_s=10.0, horizon_s=ONSET_HORIZON_S)]
    return plan


def onset_weather(t):
    """Outdoor dry bulb [°C] at ``t`` [s]: 35 °C warming at ``ONSET_WARMING_K_PER_H``."""
    return 35.0 + ONSET_WARMING_K_PER_H * np.asarray(t, float) / 3600.0


def first_kinks(plan):
    """(model, die temperature at which each server's hottest GPU group reaches max operating at full
    load [°C], share of its GPUs throttled just above it [-])."""
    from planner.solver.model import compile_model
    sc = plan.scenarios[0]
    model = compile_model(plan, sc, sc.horizon_s)
    kinks, _, _, thr, _ = model.gpu_tables(np.ones(model.n))
    return model, kinks[:, 0], thr[:, 1]


def fast_onsets(plan, res, share) -> np.ndarray:
    """Each server's first crossing of its first kink [s] from the fast path's public output: the
    per-rack throttled share of GPU time in each minute (exact within a step: the server step finds
    the crossing and counts throttled time from it). In the first throttled minute
    ``fraction = share · (minute end − t_cross) / 60 s`` for a rack holding one server whose hottest
    group alone throttles and stays throttled — checked: the next minute is throttled at exactly
    that share all the time."""
    f = np.asarray(res.rack_throttled_fraction, float)
    t, span = res.rack_series_time_s, res.rack_series_step_s
    out = []
    for i, srv in enumerate(plan.servers):
        r = res.rack_names.index(srv.rack)
        assert sum(s.rack == srv.rack for s in plan.servers) == 1
        k = int(np.argmax(f[:, r] > 0))
        assert f[k, r] > 0 and f[k + 1, r] == np.float32(share[i]), (k, f[k:k + 2, r], share[i])
        out.append(t[k] + span - span * f[k, r] / share[i])
    return np.asarray(out)


def onset_vs_reference():
    """(errors, figures): the throttle onset of the fast path at 10 s and 5 s and of solve_ivp, where
    an event function per server (die − first kink, rising) locates it."""
    from planner.solver import simulate
    plan = onset_plan()
    sc = plan.scenarios[0]
    _, kink, share = first_kinks(plan)
    fast = simulate(plan, sc, weather=onset_weather, step_s=10.0, record=("summary", "minute", "server"))
    half = simulate(plan, sc, weather=onset_weather, step_s=5.0)
    events = []
    for i in range(len(plan.servers)):
        def reaches_max_operating(t, x, i=i):
            return x[i] - kink[i]  # x[:n] are the servers' mean dies
        reaches_max_operating.direction = 1.0
        events.append(reaches_max_operating)
    with solve_ivp_events() as found:
        ref = simulate(plan, sc, weather=onset_weather, step_s=10.0, integrator="reference", rtol=1e-6, atol=1e-6,
                       events=events)
    t_ref = np.array([min(times) if times else np.nan for times in found])
    t_fast, t_half = fast_onsets(plan, fast, share), fast_onsets(plan, half, share)
    err = {"time_s": float(np.abs(t_fast - t_ref).max()), "halving_s": float(np.abs(t_fast - t_half).max()),
           "servers": trajectory_errors(fast, ref)["servers"],
           "max_gpu": abs(fast.max_gpu_temp_c - ref.max_gpu_temp_c),
           "lost_gpu_hours": abs(fast.lost_gpu_hours / ref.lost_gpu_hours - 1.0)}
    return err, {"t_ref": t_ref, "t_fast": t_fast, "t_half": t_half, "fast": fast, "ref": ref, "kink": kink}


def balance(res):
    """(IT + fan/pump heat + chiller work) − (rejected outdoors + Δstored) as a fraction of IT energy:
    the heat to outdoors includes the chillers' compressor and condenser-fan work."""
    return (res.it_energy_kwh + res.mover_heat_kwh + res.chiller_energy_kwh - res.heat_rejected_kwh
            - res.stored_energy_change_kwh) / res.it_energy_kwh


def energy_mismatch(fast, ref) -> float:
    """Largest relative difference of the fast path's energies from solve_ivp's, which integrates
    ∫P dt, ∫(heat rejected) dt and ∫(fan/pump heat) dt from its own right-hand side."""
    pairs = [(fast.it_energy_kwh, ref.it_energy_kwh), (fast.heat_rejected_kwh, ref.heat_rejected_kwh)]
    return max(abs(a / b - 1.0) for a, b in pairs)


def energy_ambient(t):
    """A hot afternoon [°C] at ``t`` [s]."""
    return 38.0 + 6.0 * np.sin(2 * np.pi * np.asarray(t, float) / 86400.0)


def energy_vs_reference():
    """(errors, fast, ref): two hours of the small air plan with throttling and a short chiller."""
    from planner.solver import simulate
    from planner.solver.examples import small_air_plan
    plan = small_air_plan(chiller_margin=0.4, crah_power_kw=5.0, pump_power_kw=3.0)
    fast = simulate(plan, weather=energy_ambient, horizon_s=7200.0)
    ref = simulate(plan, weather=energy_ambient, horizon_s=7200.0, integrator="reference")
    return ({"mismatch": energy_mismatch(fast, ref), "reference_balance": abs(balance(ref)),
             "fast_balance": abs(balance(fast))}, fast, ref)


def big_steps():
    """(errors, figures): a CRAH loop of fixed capacity (no parent) at 3× the explicit scheme's
    stability limit against 10 s, through a load step at 1 h, over 4 h."""
    from planner.plan import CoolingLoop, Job
    from planner.solver import simulate
    from planner.solver.examples import small_air_plan
    from planner.solver.model import compile_model
    from planner.solver.stability import max_stable_step
    plan = small_air_plan()
    plan.cooling_loops = [CoolingLoop(name="CRAH", medium="air")]
    plan.cooling_units = [u for u in plan.cooling_units if u.kind == "crah"]  # fixed capacity, no parent
    plan.jobs = [Job(name="step", gpus=64, utilization=1.0, duration_s=1e6, kind="batch", start_s=3600.0)]
    plan.scenarios[0].load = "jobs"  # idle, then a load step at 1 h: something to respond to
    model = compile_model(plan, plan.scenarios[0], 3600.0)
    limit = max_stable_step(model)
    horizon = 4 * 3600.0
    fine = simulate(plan, weather=30.0, step_s=10.0, horizon_s=horizon)
    big = 3.0 * limit
    coarse = simulate(plan, weather=30.0, step_s=big, horizon_s=round(horizon / big) * big)
    err = {"settled_ptp": float(np.ptp(coarse.loop_supply_c[-20:], axis=0).max()),
           "final_loop": abs(coarse.final_loop_temp_c[0] - fine.final_loop_temp_c[0]),
           "max_gpu": abs(coarse.max_gpu_temp_c - fine.max_gpu_temp_c)}
    return err, {"model": model, "limit": limit, "fine": fine, "coarse": coarse}


def cost_plan_steps(steps=(60.0, 300.0)):
    """Errors of cost_plan's two days at each of ``steps`` against 10 s: the air loop's last 2 h
    (settled, no limit cycle) and facility energy."""
    from planner.solver import simulate
    from planner.solver.studies import cost_plan
    plan = cost_plan(idle_fraction=0.0)
    sc = replace(plan.scenarios[0], horizon_s=2 * 86400.0)
    fine = simulate(plan, sc, step_s=10.0)
    err = {"settled_ptp": 0.0, "facility_energy": 0.0}
    for dt in steps:
        res = simulate(plan, sc, step_s=dt)
        err["settled_ptp"] = max(err["settled_ptp"], float(np.ptp(res.loop_supply_c[-720:, 0])))
        err["facility_energy"] = max(err["facility_energy"], abs(res.facility_energy_kwh / fine.facility_energy_kwh - 1))
    return err


# ----------------------------------------------------------------------------- stories (pinned figures)

#: 100 nodes at 570.776 W mean (70 % utilisation, idle at 25 % of max) for 8,760 h: the hand figure [kWh]
COST_STORY_IT_KWH = 60000.0 / 0.12  # = 100 × 570.776 W × 8,760 h


def cost_story():
    from planner.solver.studies import cost_study
    return cost_study()


def cost_story_errors(out) -> dict:
    """The cost story's IT cost against $60,000 and IT energy against the hand figure (relative)."""
    return {"it_cost": abs(out["it_cost_usd"] / 60000.0 - 1.0),
            "it_energy": abs(out["it_energy_kwh"] / COST_STORY_IT_KWH - 1.0)}


#: The Phoenix story's figures, pinned (measured on main 08166e2 at the study's 10 s step), with the
#: change from halving the step (5 s) they were measured against
PHOENIX_THROTTLED_GPU_H = 10525.33  #: [GPU-h] (10,525.26 at 5 s)
MINNEAPOLIS_MAX_GPU_C = 86.4979  #: [°C] (86.497930 at 10 s, 86.497932 at 5 s); max operating 87 °C


def phoenix_story(on_run=None):
    from planner.solver.studies import phoenix_study
    return phoenix_study(on_run=on_run)


def phoenix_story_errors(out) -> dict:
    """Deviations of the pinned figures: Phoenix's throttled GPU-hours on its hottest day (relative),
    Minneapolis's (GPU-hours: pinned at 0) and Minneapolis's hottest GPU that day [K]."""
    ph, mn = out["phoenix"], out["minneapolis"]
    return {"phoenix_throttled": abs(ph["throttled_gpu_hours_day"] / PHOENIX_THROTTLED_GPU_H - 1.0),
            "minneapolis_throttled": mn["throttled_gpu_hours_day"],
            "minneapolis_max_gpu": abs(mn["max_gpu_temp_c"] - MINNEAPOLIS_MAX_GPU_C)}
