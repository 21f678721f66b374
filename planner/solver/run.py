"""``simulate``: the solver's one entry point."""
from __future__ import annotations

import math
import time

import numpy as np
from dataclasses import replace

from ..plan import DEFAULT_STEP_S, Plan, Scenario  # noqa: F401  (DEFAULT_STEP_S re-exported)
from .ambient import ambient_grid, check_timezone
from .energy import check_tariff, demand_charges
from .errors import SolverInputError
from . import integrate, lumping
from .integrate import run_fast
from .limits import check_run_size
from .model import CONTROL_MODES, DEFAULT_RTOL, SolverOptions, compile_model  # noqa: F401  (DEFAULT_RTOL re-exported)
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


#: Horizons longer than this run adaptive by default; shorter ones fixed at the scenario's step [s]
ADAPTIVE_FROM_S = 86400.0


def simulate(plan: Plan, scenario: Scenario | None = None, *, weather=None, control=None, step_s=None,
             horizon_s=None, record=("summary", "minute"), progress=None, cancel=None,
             options: SolverOptions | None = None, integrator: str | None = None, rtol: float | None = None,
             repeat_jobs: bool = True, threads: int | None = None, **ivp_options) -> SimulationResult:
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
        ``method``, ``atol``, ``max_step`` — and ``rtol`` — are passed through, python-control style)
    rtol : float | None  Fast integrator: adaptive stepping with local error ≤ ``rtol × 100 K`` per
        step on the base step grid (``step_s``, default the scenario's). ``step_s`` alone selects
        fixed stepping; with neither, horizons longer than a day run adaptive at :data:`DEFAULT_RTOL`,
        shorter ones fixed at the scenario's step. Reference integrator: solve_ivp's ``rtol``.
    repeat_jobs : bool  When the horizon is longer than the job list, repeat the list with its own
        period (first release to last deadline, rounded up to whole weeks); the result says so in
        ``jobs_repeated``
    threads : int | None  Fast integrator: threads the server passes of a large hall may use
        (default ``DCPLAN_THREADS``, else every core; halls below ``integrate.PARALLEL_MIN_SERVERS``
        servers step on one); the results are the same bit for bit whatever the count
    """
    wall0 = time.perf_counter()  # wall_time_s covers the whole call: compile, weather, loads, stepping, results
    if not isinstance(plan, Plan):
        raise SolverInputError(f"plan must be a planner.plan.Plan, got {type(plan).__name__}")
    check_run_size(plan, scenario, step_s=step_s, horizon_s=horizon_s, record=record)  # before any allocation
    sc = _pick_scenario(plan, scenario)
    mode = control or sc.control
    if mode not in CONTROL_MODES:
        raise SolverInputError(f"control must be one of {CONTROL_MODES}, got {mode!r}")
    horizon = _positive("horizon_s", horizon_s) or _positive("scenario horizon_s", sc.horizon_s)
    if integrator is None:
        integrator = "reference" if ivp_options else "fast"
    if integrator == "reference" and rtol is not None:
        ivp_options["rtol"] = rtol
        rtol = None
    rtol = _positive("rtol", rtol)
    if threads is not None and (isinstance(threads, bool) or int(threads) != threads or threads < 1):
        raise SolverInputError(f"threads must be a whole number of at least 1, got {threads!r}")
    if threads is None:  # the environment's setting, checked here for every run, not only for large halls
        from .jit import threads_setting
        try:
            threads = threads_setting()
        except ValueError as exc:
            raise SolverInputError(str(exc)) from None
    if integrator == "fast" and rtol is None and step_s is None and horizon > ADAPTIVE_FROM_S:
        rtol = DEFAULT_RTOL
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
    if step > MAX_STEP_S:
        raise SolverInputError(f"step {step:g} s is longer than {MAX_STEP_S:g} s: tariff hours and 15-minute "
                               f"demand intervals need whole steps; use --step {MAX_STEP_S:g} or less "
                               f"(or --rtol for adaptive steps)")
    run_model, lumped = model, None
    if integrator == "fast" and lumping.LUMP and integrate.KERNEL_CARRIES_PHYSICS_11:
        run_model, lumped = lumping.lump(model)  # identical servers, racks and loops stepped once
    workload, events, repeated = _workload(run_model, horizon, repeat_jobs)
    n_steps = int(round(horizon / step))
    if abs(n_steps * step - horizon) > 1e-9 * max(horizon, 1.0):
        lo, hi = max(math.floor(horizon / step), 1) * step, math.ceil(horizon / step) * step
        raise SolverInputError(
            f"horizon {horizon:g} s is not a whole number of {step:g} s steps; use a horizon of {lo:g} s or "
            f"{hi:g} s, or a step that divides {horizon:g} s (energy and cost are reported for exactly the "
            f"simulated time)")
    _, db, wb = ambient_grid(weather, start=sc.start, horizon_s=n_steps * step, step_s=step, n_steps=n_steps,
                             timezone=plan.site.timezone, weather_file=sc.weather_file)
    if integrator == "fast":
        if ivp_options:
            raise SolverInputError(f"solve_ivp options {sorted(ivp_options)} need integrator='reference'")
        res = run_fast(run_model, db, wb, step, n_steps, control=mode, record=record, start=sc.start,
                       prices=prices, demand_charge=demand_charges(sc.tariff),
                       progress=progress, cancel=cancel, rtol=rtol, workload=workload, events=events,
                       threads=threads)
        if lumped is not None:
            lumping.expand(res, model, lumped)
        res.servers_stepped = int(run_model.n)  # servers the kernel stepped (lumped classes)
    elif integrator == "reference":
        from .reference import run_reference
        res = run_reference(model, db, wb, step, n_steps, control=mode, start=sc.start, prices=prices,
                            demand_charge=demand_charges(sc.tariff), progress=progress,
                            cancel=cancel, **ivp_options)
    else:
        raise SolverInputError(f"integrator must be 'fast' or 'reference', got {integrator!r}")
    res.jobs_repeated = repeated
    res.wall_time_s = time.perf_counter() - wall0
    return res


#: Longest fixed step [s]: a quarter hour (tariff hours and demand intervals stay whole)
MAX_STEP_S = 900.0


def _workload(model, horizon: float, repeat: bool):
    """The utilisation source for the run, the known load events [s] (job starts and ends, ramp
    ends, repeated as the list repeats) and whether the job list repeats."""
    from .loads import RAMP_S, TRAINING_KINDS
    from .workload import Workload, repeat_period
    pl = model.placement
    period = repeat_period(pl) if (repeat and model.scenario.load == "jobs") else None
    placed = np.isfinite(pl.start_s)
    last_end = float(np.max(pl.end_s[placed])) if placed.any() else 0.0
    repeated = period is not None and horizon > max(period, last_end)
    wl = Workload(pl, period if repeated else None)
    starts = pl.start_s[placed]
    ends = pl.end_s[placed]
    ramps = np.array([s + RAMP_S for s, j in zip(pl.start_s, pl.jobs) if j.kind in TRAINING_KINDS and np.isfinite(s)])
    base = np.concatenate([starts, ends, ramps])
    base = base[np.isfinite(base)]
    if repeated:
        copies = np.arange(int(np.ceil(horizon / period)) + 1) * period
        base = (base[None, :] + copies[:, None]).ravel()
    return wl, np.unique(base[(base > 0) & (base < horizon)]), repeated
