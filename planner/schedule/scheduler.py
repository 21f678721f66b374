""":func:`schedule`: the scheduler's one entry point (plan in, verified schedule out)."""
from __future__ import annotations

import time
from dataclasses import replace

from planner.plan import Plan, Scenario
from planner.solver.errors import SolverInputError

from . import methods, milp
from .build import build_problem
from .errors import ScheduleCancelled, ScheduleInputError
from .placement import place
from .result import ScheduleResult
from .verify import simulate_schedule, throttled_cells, tighten

METHODS = ("fcfs", "backfill", "greedy", "optimal")
#: Solver runs that may tighten headroom after the first verification (bounded rounds).
MAX_VERIFY_ROUNDS = 3


class _Clock:
    """Progress over phases and cancel polling."""

    def __init__(self, progress, cancel):
        self.progress, self.cancel = progress, cancel

    def at(self, fraction: float) -> None:
        if self.cancel is not None and self.cancel():
            raise ScheduleCancelled("scheduling cancelled")
        if self.progress is not None:
            self.progress(min(max(fraction, 0.0), 1.0))

    def span(self, a: float, b: float):
        return None if self.progress is None else (lambda f: self.progress(a + (b - a) * min(max(f, 0.0), 1.0)))


def _sim(ctx, jobs, clock, a, b, servers=False):
    try:
        res = simulate_schedule(ctx, jobs, servers=servers, progress=clock.span(a, b), cancel=clock.cancel)
    except SolverInputError as exc:
        raise ScheduleInputError(str(exc)) from None
    if res.cancelled:
        raise ScheduleCancelled("scheduling cancelled")
    return res


def _missed(pr, assign, reasons) -> list[str]:
    """Jobs that miss their deadline: scheduled to end after it, or not scheduled at all."""
    out = [j.name for j, a in zip(pr.jobs, assign)
           if a is not None and a[0] * pr.slot_s + j.offset_s + j.duration_s > j.deadline_s + 1e-6]
    return out + [name for name in reasons]


def schedule(plan: Plan, scenario: Scenario | None = None, *, method: str = "greedy", jobs=None,
             slot_s: float = 900.0, time_limit_s: float = 60.0, progress=None, cancel=None,
             weather=None) -> ScheduleResult:
    """Schedule ``jobs`` (default the plan's) on ``plan`` under ``scenario`` and verify with the solver.

    plan : Plan
    scenario : Scenario | None  Start, horizon, weather, tariff; default the plan's first scenario
    method : one of :data:`METHODS`
    jobs : list[Job] | None  Jobs to schedule (default ``plan.jobs``). A job with ``start_s`` and no
        ``placement`` keeps that start (the scheduler picks its loop); one with both (a saved
        schedule) is planned again.
    slot_s : float  Slot length [s]; starts fall on slot boundaries
    time_limit_s : float  Wall-clock budget of the optimisation, verification rounds included [s]
    progress : callable(fraction) | None
    cancel : callable() -> bool | None  Polled between phases and inside solver runs; True raises
        :class:`ScheduleCancelled`
    weather : see :mod:`planner.solver.ambient`  Outdoor conditions for headroom and verification
        (e.g. an ``EpwData`` a sweep ships to its workers); default the scenario's weather file

    Raises :class:`ScheduleInputError` for bad input (the message names the job or setting).
    """
    return schedule_many(plan, scenario, (method,), jobs=jobs, slot_s=slot_s, time_limit_s=time_limit_s,
                         progress=progress, cancel=cancel, weather=weather)[method]


def schedule_many(plan: Plan, scenario: Scenario | None, methods_: tuple, *, jobs=None, slot_s: float = 900.0,
                  time_limit_s: float = 60.0, progress=None, cancel=None, weather=None) -> dict:
    """:func:`schedule` for several methods on one problem (built once, one fcfs baseline run);
    ``time_limit_s`` applies to each method. Returns ``{method: ScheduleResult}``."""
    for method in methods_:
        if method not in METHODS:
            raise ScheduleInputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float)) or not time_limit_s > 0:
        raise ScheduleInputError(f"time limit must be > 0 s, got {time_limit_s!r}")
    if scenario is None:
        if not plan.scenarios:
            raise ScheduleInputError("the plan has no scenario: pass one (start date, horizon, weather)")
        scenario = plan.scenarios[0]
    scenario = replace(scenario, load="jobs")
    jobs = list(plan.jobs if jobs is None else jobs)
    clock = _Clock(progress, cancel)
    clock.at(0.0)
    pr, ctx = build_problem(plan, scenario, jobs, slot_s, weather=weather, cancel=cancel)
    headroom0 = pr.headroom_w.copy()
    names = ctx.model.server_names
    share = 0.7 / max(len(methods_), 1)

    def finish(outcome, plan_order):
        return place(pr, jobs, ctx.pools, names, outcome.assign, plan_order=plan_order)

    # the baseline: fcfs, simulated, never corrected
    t0 = time.perf_counter()
    base = methods.fcfs(pr)
    base_jobs = finish(base, True)
    t_base = time.perf_counter() - t0
    base_sim = _sim(ctx, base_jobs, clock, 0.1, 0.3)
    base_res = _result("fcfs", pr, ctx, base, base_jobs, base_sim, None, t_base, 0, None)
    baseline = base_res.summary()
    baseline.pop("baseline", None)
    out = {}
    for i, method in enumerate(methods_):
        a = 0.3 + share * i
        pr.headroom_w[:] = headroom0  # every method starts from the physics' headroom
        if method == "fcfs":
            out[method] = base_res
        elif method == "backfill":
            t0 = time.perf_counter()
            o = methods.backfill(pr)
            dt = time.perf_counter() - t0
            bjobs = finish(o, True)
            out[method] = _result("backfill", pr, ctx, o, bjobs, _sim(ctx, bjobs, clock, a, a + share), baseline, dt,
                                  0, None)
        else:
            out[method] = _optimise(method, pr, ctx, finish, clock, a, share, base_sim.wall_time_s, time_limit_s,
                                    baseline)
    clock.at(1.0)
    return out


def _optimise(method, pr, ctx, finish, clock, a, share, sim_time, time_limit_s, baseline) -> ScheduleResult:
    """greedy / optimal: solve, verify with the solver, tighten where it still throttles (bounded rounds)."""
    t_opt = time.perf_counter()
    deadline = t_opt + float(time_limit_s)
    rounds = 0
    lb = None
    complete = None
    step = share / (MAX_VERIFY_ROUNDS + 1)
    while True:
        clock.at(a + step * rounds)
        g = methods.greedy(pr)
        out = g
        if method == "optimal":
            # verification runs and the final LP bound are kept back from the optimisation's budget
            left = deadline - time.perf_counter() - sim_time * (MAX_VERIFY_ROUNDS - rounds + 1)
            budget = max(left * (0.6 if rounds == 0 else 0.4), 1.0)
            sol = milp.optimise(pr, g, budget)
            assign = sol.assign
            n_opt, n_g = sum(x is None for x in assign), sum(x is None for x in g.assign)
            # as many jobs as possible first, then the cost (what the MILP's penalties say)
            if pr.feasible(assign) and (n_opt < n_g or n_opt == n_g
                                        and pr.evaluate(assign).cost <= pr.evaluate(g.assign).cost + 1e-9):
                out = methods.Outcome(assign=assign, reasons=sol.reasons)
            lb = sol.lower_bound
            complete = sol.complete
        sjobs = finish(out, False)
        sim = _sim(ctx, sjobs, clock, a + step * rounds, a + step * (rounds + 1))
        if sim.throttled_gpu_hours <= 0 or rounds >= MAX_VERIFY_ROUNDS or time.perf_counter() >= deadline:
            break
        cells = throttled_cells(pr, ctx, sim)
        if not cells:
            break
        tighten(pr, out.assign, cells)
        rounds += 1
    if method == "optimal" and time.perf_counter() < deadline - 2.0:
        lp = milp.lp_bound(pr, deadline - time.perf_counter())
        if lp is not None and all(x is not None for x, j in zip(out.assign, pr.jobs) if not j.reason):
            lb = lp if lb is None else max(lb, lp)
    solve_time = time.perf_counter() - t_opt
    res = _result(method, pr, ctx, out, sjobs, sim, baseline, solve_time, rounds, lb if method == "optimal" else None)
    if complete is not None:
        # True: the search ended by itself (its schedule does not depend on machine speed); False: the
        # time limit stopped it (a faster machine or a larger --time-limit may find a cheaper schedule)
        res.notes["search_complete"] = bool(complete)
    return res


def _result(method, pr, ctx, outcome, sjobs, sim, baseline, solve_time, rounds, lb) -> ScheduleResult:
    model_cost = pr.evaluate(outcome.assign).cost
    gap = None
    if lb is not None:
        if model_cost < lb <= model_cost * (1 + 1e-9):  # solver tolerance, not a real excess
            lb = model_cost
        gap = (model_cost - lb) / model_cost if model_cost > 0 else 0.0
    reasons = {pr.jobs[k].name: outcome.reasons.get(pr.jobs[k].name) or pr.jobs[k].reason or "not scheduled"
               for k, a in enumerate(outcome.assign) if a is None}
    return ScheduleResult(
        method=method, jobs=sjobs, unscheduled=reasons,
        loops={pr.jobs[k].name: pr.pool_names[a[1]] for k, a in enumerate(outcome.assign) if a is not None},
        simulation=sim, baseline=baseline, model_cost_usd=model_cost, lower_bound_usd=lb, gap=gap,
        solve_time_s=solve_time, verify_rounds=rounds, n_jobs=len(pr.jobs), missed=_missed(pr, outcome.assign, reasons),
        start=ctx.scenario.start, timezone=ctx.plan.site.timezone, horizon_s=pr.n * pr.slot_s, slot_s=pr.slot_s)
