"""Build the slot problem (:class:`.problem.Problem`) from a plan, a scenario and a job list."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from planner.plan import Job, Plan, Scenario
from planner.solver.ambient import ambient_grid, check_timezone, local_hour, month_fractions, month_index
from planner.solver.energy import (check_tariff, demand_charges, demand_window_mask, electrical_chain_w,
                                   lighting_misc_w)
from planner.solver.loads import COMM_LEVEL, COMPUTE_FRACTION, TRAINING_KINDS, validate_job
from planner.solver.model import Model, compile_model

from .errors import ScheduleInputError
from .headroom import HeadroomModel, Pool, build_pools, job_peak_utilization, round_conditions
from .problem import Problem, SlotJob, job_profile
from .transient import MAX_START_PROBES, start_probe, transient_margin


@dataclass
class Context:
    """What the methods do not need but placement and verification do."""

    plan: Plan
    scenario: Scenario
    model: Model
    pools: list
    jobs: list
    weather: object
    slot_conditions: np.ndarray  # [n] index into the headroom's conditions


def _mean_utilization(job: Job) -> float:
    """Mean utilisation over a training job's iterations (what a cold plate sees) [-]."""
    if job.kind in TRAINING_KINDS:
        return job_peak_utilization(job.utilization, job.kind) * (COMPUTE_FRACTION + (1 - COMPUTE_FRACTION) * COMM_LEVEL)
    return job.utilization


def _slot_job(k: int, job: Job, pools: list[Pool], slot_s: float, n: int, horizon_s: float) -> SlotJob:
    pinned = job.start_s is not None and not job.placement  # a saved schedule (with placement) is re-planned
    deadline = job.deadline_s if job.deadline_s is not None else horizon_s
    fits = [p for p, pool in enumerate(pools) if pool.gpus >= job.gpus]
    reason = ""
    if pinned:
        first = int(math.floor(job.start_s / slot_s + 1e-9))
        offset = job.start_s - first * slot_s
        earliest = latest = first
        if not 0 <= first < n:
            reason = "its fixed start lies outside the horizon"
    else:
        offset = 0.0
        earliest = max(0, math.ceil(job.release_s / slot_s - 1e-9))
        # a run must also end inside the horizon: the solver's bill covers the horizon only, so work
        # after its end would be free in the cost model and in the verified figures (a job due after
        # the horizon was pushed to its last slot: 1,472 of 1,536 GPU-h unbilled, "cheaper" than fcfs)
        end = min(deadline, horizon_s)
        latest = min(math.floor((end - job.duration_s) / slot_s + 1e-9), n - 1)
        if deadline < job.release_s + job.duration_s:
            reason = (f"deadline {deadline / 3600:g} h is before release {job.release_s / 3600:g} h + "
                      f"duration {job.duration_s / 3600:g} h")
        elif earliest >= n:
            reason = "released after the end of the horizon"
        elif earliest > latest and deadline > horizon_s and job.release_s + job.duration_s > horizon_s + 1e-6:
            reason = (f"cannot end inside the horizon ({horizon_s / 3600:g} h; release {job.release_s / 3600:g} h + "
                      f"duration {job.duration_s / 3600:g} h): the verified bill would not cover its work — "
                      "lengthen the horizon (--days)")
        elif earliest > latest:
            reason = "no start on the slot grid fits between release and deadline inside the horizon"
    if not fits and not reason:
        most = max((p.gpus for p in pools), default=0)
        reason = f"asks for {job.gpus} GPUs, the largest loop pool has {most}"
    return SlotJob(index=k, name=job.name, gpus=int(job.gpus), duration_s=float(job.duration_s),
                   release_s=float(job.release_s), deadline_s=float(deadline), offset_s=float(offset),
                   profile=job_profile(job, slot_s, offset), earliest=int(earliest), latest=int(latest),
                   pinned=int(earliest) if pinned else None, preemptible=bool(job.preemptible),
                   priority=int(job.priority), pools=fits, reason=reason)


def electrical_chain(model: Model) -> tuple[float, float]:
    """The utility's draw for the hall's IT through the electrical chain, linear in the jobs' IT power:
    ``(input at idle [W], secant slope from idle to every server at max [W per W])``.

    The solver's chain (:func:`planner.solver.energy.electrical_chain_w`: PDU transformer and UPS,
    no-load + proportional + square-law losses on the total IT power) is quadratic in the jobs' power
    J: ``loss(I_idle + J)``. The secant over [0, J_max] errs by at most ``c2·J_max²/4`` (c2 the
    square-law coefficient per W), 0.1 % of the demo's facility power, in the middle.
    """
    idle = float(model.p_idle.sum())
    top = float(model.rated_it_w)
    opt = model.options

    def draw(it_w):
        return float(electrical_chain_w(it_w, model.rated_it_w, opt.ups_loss_coeffs, opt.transformer_loss_coeffs,
                                        opt.electrical_capacity_factor)[0])
    base = draw(idle)
    slope = (draw(top) - base) / (top - idle) if top > idle else 1.0
    return base, slope


def lighting_w(model: Model) -> float:
    """Lighting and other facility loads, constant [W] (:func:`planner.solver.energy.lighting_misc_w`)."""
    opt = model.options
    return lighting_misc_w(model.hall_area_m2, model.rated_it_w, opt.lighting_w_per_m2, opt.misc_fraction_of_it)


def demand_periods(scenario: Scenario, timezone: str, t_mid, month, frac) -> tuple[np.ndarray, dict]:
    """Each slot's demand period and each period's charge [$ per W of its peak]: period ``2·m`` is
    billing month m's slots inside the tariff's on-peak demand window (the on-peak charge), ``2·m + 1``
    its slots outside (the off-peak charge), each prorated by the month's share simulated — the
    solver's bill (:func:`planner.solver.energy.demand_charge_usd`). A slot is placed by its middle
    (the window is whole hours: a clock-aligned 15-min slot lies wholly inside or outside). Every
    slot has a period, also one with no charge (the MILP's peak rows need a column).

    t_mid : [n] slot middles [s]; month : [n] billing-month index; frac : {month: share of the month}
    """
    dc = demand_charges(scenario.tariff)
    inside = demand_window_mask(scenario.start, t_mid, timezone, dc)
    period = 2 * np.asarray(month, int) + (~inside).astype(int)
    charge = {}
    for key in np.unique(period).tolist():
        rate = dc.on_peak_usd_per_kw if key % 2 == 0 else dc.off_peak_usd_per_kw
        charge[int(key)] = rate / 1e3 * frac[key // 2]
    return period, charge


def refuse_hot_starts(plan: Plan, scenario: Scenario, model: Model, pools: list[Pool], hm: HeadroomModel,
                      jobs: list[Job], sjobs: list[SlotJob], cancel=None) -> None:
    """Take off each job's pool list the pools where the job's own start throttles, whatever the hour.

    A job start is a heat step; the plant catches up after an overshoot, so the hottest GPU passes its
    settled value by the *start overshoot* (measured with the solver: :func:`.transient.start_probe`,
    the job alone on the pool's hottest servers, the plant at its setpoint). With the plant holding
    its setpoint that overshoot sits on the die at setpoint supplies, at any outdoor temperature; where
    it exceeds the room left to the software slowdown (:meth:`.HeadroomModel.start_room_k`) the job
    throttles at every start on that pool, and no (loop, slot) headroom can prevent it — the
    verification rounds only moved such a job from slot to slot. A job left with no pool is reported
    by name with the figures (``SlotJob.reason``).

    The largest job per pool is probed first; a job with more room than that overshoot needs no probe
    of its own (the overshoot grows with the step). At most :data:`.transient.MAX_START_PROBES`
    probes; past that, the largest overshoot measured on the pool stands in (errs toward refusing).
    """
    cache: dict[tuple, tuple[float, float]] = {}
    largest: dict[int, float] = {}

    def overshoot(p: int, job: Job) -> tuple[float, float]:
        pool = pools[p]
        n_srv = min(math.ceil(job.gpus / pool.gpus_per_server), len(pool.servers))
        key = (p, n_srv, round(float(job.utilization), 4), job.kind)
        if key not in cache:
            if len(cache) >= MAX_START_PROBES and p in largest:
                return largest[p], float("nan")
            probe = replace(job, gpus=min(n_srv * pool.gpus_per_server, pool.gpus))
            peak, settled = start_probe(plan, scenario, model, pool, probe, cancel=cancel)
            cache[key] = (max(peak - settled, 0.0), peak)
            largest[p] = max(largest.get(p, 0.0), cache[key][0])
        return cache[key]

    live = [(j, s) for j, s in zip(jobs, sjobs) if not s.reason and s.pools]
    for p in range(len(pools)):  # the largest job by heat on each pool: an upper bound on the overshoot
        fit = [j for j, s in live if p in s.pools]
        if fit:
            overshoot(p, max(fit, key=lambda j: (j.gpus * j.utilization, j.gpus)))
    for job, sj in live:
        u_mean, u_peak = _mean_utilization(job), job_peak_utilization(job.utilization, job.kind)
        keep, why = [], []
        for p in sj.pools:
            room = hm.start_room_k(pools[p], u_mean, u_peak)
            if room < 0 or (p in largest and largest[p] <= room):
                keep.append(p)  # steady already too hot (the headroom says so), or any start fits
                continue
            over, peak = overshoot(p, job)
            if over <= room:
                keep.append(p)
                continue
            i = pools[p].worst
            why.append(f"on {pools[p].name} its start overshoots the hottest GPU by {over:.2f} K"
                       + (f" (to {peak:.1f} °C)" if math.isfinite(peak) else "")
                       + f" where {room:.2f} K are left below the max operating temperature "
                       f"{model.t_op[i]:g} °C at the loops' setpoints")
        if keep != sj.pools:
            sj.pools = keep
            if not keep:
                sj.reason = ("every start throttles, at any outdoor temperature: " + "; ".join(why))


def build_problem(plan: Plan, scenario: Scenario, jobs: list[Job], slot_s: float, *, weather=None,
                  cancel=None) -> tuple[Problem, Context]:
    """The slot problem of ``jobs`` on ``plan`` under ``scenario`` (its start, horizon, weather, tariff).

    Raises :class:`ScheduleInputError` for a slot that does not divide the horizon, bad jobs or a
    plan the solver refuses.
    """
    from planner.solver.errors import SolverInputError

    if not (isinstance(slot_s, (int, float)) and math.isfinite(slot_s) and slot_s > 0):
        raise ScheduleInputError(f"slot must be a finite number of seconds > 0, got {slot_s!r}")
    horizon = float(scenario.horizon_s)
    n = int(round(horizon / slot_s))
    if n < 1 or abs(n * slot_s - horizon) > 1e-6 * horizon:
        raise ScheduleInputError(f"the horizon {horizon / 3600:g} h is not a whole number of {slot_s / 60:g}-min slots")
    names = [j.name for j in jobs]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise ScheduleInputError(f"job names must be unique: {', '.join(map(repr, dup))}")
    try:
        for j in jobs:
            validate_job(j)
        check_timezone(plan.site.timezone)
        prices = check_tariff(scenario.tariff)
        model = compile_model(replace(plan, jobs=[]), replace(scenario, load="jobs"), horizon)
        _, db, wb = ambient_grid(weather, start=scenario.start, horizon_s=horizon, step_s=slot_s, n_steps=n,
                                 timezone=plan.site.timezone, weather_file=scenario.weather_file)
    except SolverInputError as exc:
        raise ScheduleInputError(str(exc)) from None
    pools = build_pools(model)
    if not pools:
        raise ScheduleInputError("the plan has no servers with GPUs")
    # the hottest moment of each slot (the weather is linear between its samples): headroom errs cool
    db_s, wb_s = np.maximum(db[:-1], db[1:]), np.maximum(wb[:-1], wb[1:])
    sjobs = [_slot_job(k, j, pools, slot_s, n, horizon) for k, j in enumerate(jobs)]
    live = [j for j in jobs] or [Job(name="none", gpus=1, utilization=1.0)]
    u_mean = max(_mean_utilization(j) for j in live)
    u_peak = max(job_peak_utilization(j.utilization, j.kind) for j in live)
    try:
        margin = transient_margin(plan, scenario, pools, model, [j for j, s in zip(jobs, sjobs) if not s.reason],
                                  cancel=cancel)
    except SolverInputError as exc:
        raise ScheduleInputError(str(exc)) from None
    hm = HeadroomModel(model, pools, u_mean, u_peak, margin)
    try:
        refuse_hot_starts(plan, scenario, model, pools, hm, jobs, sjobs, cancel=cancel)
    except SolverInputError as exc:
        raise ScheduleInputError(str(exc)) from None
    cond, inv = round_conditions(db_s, wb_s)
    hr = hm.compute(cond[:, 0], cond[:, 1])
    loops = hr.loops
    share = np.array([[p.share[l] for l in loops] for p in pools])
    slope = hr.cool_slope[:, inv]  # [loops × n]
    t_mid = (np.arange(n) + 0.5) * slot_s
    hours = local_hour(scenario.start, t_mid, plan.site.timezone)
    price_w = prices[hours] * slot_s / 3.6e6  # $ per W held one slot
    chain_base_w, chain_slope = electrical_chain(model)
    base = chain_base_w + lighting_w(model) + hr.cool_base_w[inv]
    t_start = np.arange(n) * slot_s
    month = month_index(scenario.start, t_start, plan.site.timezone)
    frac = month_fractions(scenario.start, t_start, slot_s, plan.site.timezone)
    period, period_charge = demand_periods(scenario, plan.site.timezone, t_mid, month, frac)
    problem = Problem(
        slot_s=float(slot_s), n=n, start=scenario.start, timezone=plan.site.timezone, price_w=price_w,
        base_w=base, fac=chain_slope + share @ slope, dyn_w_per_gpu=np.array([p.dyn_w_per_gpu for p in pools]),
        pool_gpus=np.array([p.gpus for p in pools], float), pool_names=[p.name for p in pools], share=share,
        loop_names=[model.loop_names[l] for l in loops], headroom_w=hr.headroom_w[:, inv].copy(),
        period=period, period_charge=period_charge, jobs=sjobs, ambient_c=db_s,
        tie_w=1e-9 * price_w.mean() * (db_s - db_s.min()))
    ctx = Context(plan=plan, scenario=scenario, model=model, pools=pools, jobs=list(jobs), weather=weather,
                  slot_conditions=inv)
    return problem, ctx
