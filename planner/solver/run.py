"""``simulate``: the solver's one entry point."""
from __future__ import annotations

import math
from dataclasses import replace

from ..plan import DEFAULT_STEP_S, Plan, Scenario  # noqa: F401  (DEFAULT_STEP_S re-exported)
from .ambient import ambient_grid, check_timezone
from .energy import check_tariff
from .errors import SolverInputError
from .integrate import run_fast
from .stability import max_stable_step
from .model import CONTROL_MODES, SolverOptions, compile_model
from .results import SimulationResult

#: Step used when neither the call nor the scenario asks for one [s]. Accuracy at this step is
#: verified against solve_ivp and against half the step (tests/test_solver_verification.py).
RECORD_KINDS = ("summary", "minute", "server")


def _pick_scenario(plan: Plan, scenario: Scenario | None) -> Scenario:
    if scenario is not None:
        return scenario
    if plan.scenarios:
        return plan.scenarios[0]
    raise SolverInputError("the plan has no scenario: pass one (start date, horizon, weather)")


def _positive(name, v):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise SolverInputError(f"{name} must be a finite number > 0, got {v!r}")
    return float(v)


def simulate(plan: Plan, scenario: Scenario | None = None, *, weather=None, control=None, step_s=None,
             horizon_s=None, record=("summary", "minute"), progress=None, cancel=None,
             options: SolverOptions | None = None, integrator: str | None = None,
             **ivp_options) -> SimulationResult:
    """Run the transient power/thermal simulation of ``plan`` under ``scenario``.

    plan : Plan  The plan (plain dataclasses)
    scenario : Scenario | None  What to run; default the plan's first scenario
    weather : see :mod:`.ambient`  Outdoor conditions; default the scenario's weather file
    control : str | None  ``reactive`` / ``predictive``; default the scenario's
    step_s : float | None  Time step [s]; default the scenario's ``step_s``
    horizon_s : float | None  Simulated time [s]; default the scenario's
    record : tuple  ``summary``, ``minute`` (always kept: it is O(minutes)), ``server`` (per-server
        minute histories; memory grows with servers × minutes)
    progress : callable(fraction) | None  Called about every 1 % of the run
    cancel : callable() -> bool | None  Polled before the first step and every 16 steps (reference:
        every chunk); True stops early
        (the result then has ``cancelled=True`` and covers the steps done)
    options : SolverOptions | None  Model choices (containment, conversion losses, throttling)
    integrator : ``fast`` (default) or ``reference`` (scipy ``solve_ivp``; ``ivp_options`` such as
        ``method``, ``rtol``, ``atol``, ``max_step`` are passed through, python-control style)
    """
    if not isinstance(plan, Plan):
        raise SolverInputError(f"plan must be a planner.plan.Plan, got {type(plan).__name__}")
    sc = _pick_scenario(plan, scenario)
    mode = control or sc.control
    if mode not in CONTROL_MODES:
        raise SolverInputError(f"control must be one of {CONTROL_MODES}, got {mode!r}")
    horizon = _positive("horizon_s", horizon_s) or _positive("scenario horizon_s", sc.horizon_s)
    step = _positive("step_s", step_s)
    if step is None:
        step = _positive("scenario step_s", sc.step_s)
    if step > horizon:
        raise SolverInputError(f"step {step:g} s is longer than the horizon {horizon:g} s")
    for kind in record:
        if kind not in RECORD_KINDS:
            raise SolverInputError(f"record entries must be among {RECORD_KINDS}, got {kind!r}")
    check_timezone(plan.site.timezone)
    prices = check_tariff(sc.tariff)
    sc = replace(sc, control=mode)
    model = compile_model(plan, sc, horizon, options)
    limit = max_stable_step(model)
    if step > limit:
        raise SolverInputError(
            f"step {step:g} s is larger than the stability limit {limit:.3g} s of this plan "
            f"(set by the smallest loop thermal mass against the server conductance, and the loop lags); "
            f"use --step {max(math.floor(limit), 1)} or less")
    n_steps = int(round(horizon / step))
    if abs(n_steps * step - horizon) > 1e-9 * max(horizon, 1.0):
        lo, hi = max(math.floor(horizon / step), 1) * step, math.ceil(horizon / step) * step
        raise SolverInputError(
            f"horizon {horizon:g} s is not a whole number of {step:g} s steps; use a horizon of {lo:g} s or "
            f"{hi:g} s, or a step that divides {horizon:g} s (energy and cost are reported for exactly the "
            f"simulated time)")
    _, db, wb = ambient_grid(weather, start=sc.start, horizon_s=n_steps * step, step_s=step, n_steps=n_steps,
                             timezone=plan.site.timezone, weather_file=sc.weather_file)
    if integrator is None:
        integrator = "reference" if ivp_options else "fast"
    if integrator == "fast":
        if ivp_options:
            raise SolverInputError(f"solve_ivp options {sorted(ivp_options)} need integrator='reference'")
        return run_fast(model, db, wb, step, n_steps, control=mode, record=record, start=sc.start,
                        prices=prices, demand_charge=sc.tariff.demand_charge_usd_per_kw,
                        progress=progress, cancel=cancel)
    if integrator == "reference":
        from .reference import run_reference
        return run_reference(model, db, wb, step, n_steps, control=mode, start=sc.start, prices=prices,
                             demand_charge=sc.tariff.demand_charge_usd_per_kw, progress=progress,
                             cancel=cancel, **ivp_options)
    raise SolverInputError(f"integrator must be 'fast' or 'reference', got {integrator!r}")
