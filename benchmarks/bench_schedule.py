"""Scheduler speed and optimality gap on a large hall (issue 9's performance point).

The demo design scaled to 320 racks (``build_demo_plan(320)``: 10 pods, 1,040 servers, 13,440 GPUs,
20 loop pools) over its Phoenix July week with 15-min slots (672), and 500 jobs made by this rule
from the demo's job generator: batches ``planner.demo.demo_week_jobs(1344, seed=2025 + k)`` for
k = 0, 1, … (each a pod's week: one inference service pinned at the start, pre-training, fine-tuning
and evaluation jobs), names prefixed ``bKK-``, concatenated in order and cut at 500 jobs.

Measured: building the slot problem (headroom incl. the solver's transient probe), ``fcfs`` (the
baseline of the ratios), ``greedy``, and ``optimal`` with a total budget of 10, 30 and 60 s (MILP
from the greedy start, 15-min repair, proven bound: the MILP's own on the full grid, else the LP
relaxation if it finishes in the budget, else the best of :func:`milp.relaxation_bound` and
:func:`milp.lagrangian_bound`;
above 3,000 start columns the neighbourhood search :func:`milp.window_search` (per pod × 4-day window));
its gap = (model cost − bound) / model cost. Optionally the solver's verification run of the
greedy schedule (``--verify``; a week of 1,040 servers). Run: ``python benchmarks/bench_schedule.py``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dataclasses import replace  # noqa: E402

from planner.demo import build_demo_plan, demo_week_jobs  # noqa: E402
from planner.schedule import methods, milp  # noqa: E402
from planner.schedule.build import build_problem  # noqa: E402

N_RACKS, N_JOBS = 320, 500


def bench_jobs(n_jobs: int = N_JOBS):
    """The benchmark's job list (see the module docstring)."""
    jobs, k = [], 0
    while len(jobs) < n_jobs:
        jobs += [replace(j, name=f"b{k:02d}-{j.name}") for j in demo_week_jobs(1344, seed=2025 + k)]
        k += 1
    return jobs[:n_jobs]


def optimal_within(pr, g, budget: float) -> dict:
    """MILP + repair + bound inside ``budget`` seconds; model cost, bound, gap."""
    t0 = time.perf_counter()
    sol = milp.optimise(pr, g, 0.7 * budget)
    assign = sol.assign
    lb, how = sol.lower_bound, "milp" if sol.thinned_every == 1 else "relaxation/lagrangian"
    left = budget - (time.perf_counter() - t0)
    if left > 1.0 and sol.thinned_every != 1:
        lp = milp.lp_bound(pr, left)
        if lp is not None and lp > lb:
            lb, how = lp, "lp"
    cost = pr.evaluate(assign).cost
    return {"budget_s": budget, "wall_s": round(time.perf_counter() - t0, 2), "model_cost_usd": round(cost, 2),
            "lower_bound_usd": round(lb, 2), "bound": how, "gap": round((cost - lb) / cost, 4),
            "thinned_every": sol.thinned_every, "columns": sol.columns, "milp_status": sol.status,
            "search_complete": sol.complete,
            "unscheduled": sum(a is None for a in assign)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", default="10,30,60", help="optimal's budgets [s], comma separated")
    ap.add_argument("--verify", action="store_true", help="also time the solver run of the greedy schedule")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    plan = build_demo_plan(N_RACKS)
    sc = plan.scenarios[0]
    jobs = bench_jobs()
    out = {"racks": len(plan.racks), "servers": len(plan.servers), "jobs": len(jobs)}
    t0 = time.perf_counter()
    pr, ctx = build_problem(plan, sc, jobs, 900.0)
    out["build_s"] = round(time.perf_counter() - t0, 3)
    out["slots"], out["pools"] = pr.n, pr.n_pools
    # wall and CPU time: on a shared machine the CPU time is the figure that does not depend on load
    t0, c0 = time.perf_counter(), time.process_time()
    f = methods.fcfs(pr)
    t_fcfs, c_fcfs = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    g = methods.greedy(pr)
    t_greedy, c_greedy = time.perf_counter() - t0, time.process_time() - c0
    ev_f, ev_g = pr.evaluate(f.assign), pr.evaluate(g.assign)
    out["fcfs"] = {"time_s": round(t_fcfs, 3), "cpu_s": round(c_fcfs, 3), "model_cost_usd": round(ev_f.cost, 2),
                   "unscheduled": sum(a is None for a in f.assign)}
    out["greedy"] = {"time_s": round(t_greedy, 3), "cpu_s": round(c_greedy, 3),
                     "cpu_ratio_to_fcfs": round(c_greedy / max(c_fcfs, 1e-9), 2),
                     "model_cost_usd": round(ev_g.cost, 2), "unscheduled": sum(a is None for a in g.assign)}
    out["optimal"] = [optimal_within(pr, g, float(b)) for b in args.budgets.split(",")]
    if args.verify:
        from planner.schedule.placement import place
        from planner.schedule.verify import simulate_schedule
        sjobs = place(pr, jobs, ctx.pools, ctx.model.server_names, g.assign, plan_order=False)
        t0 = time.perf_counter()
        res = simulate_schedule(ctx, sjobs)
        out["verify_s"] = round(time.perf_counter() - t0, 2)
        out["verify_throttled_gpu_hours"] = res.throttled_gpu_hours
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['racks']} racks, {out['servers']} servers, {out['jobs']} jobs, {out['slots']} slots, "
              f"{out['pools']} pools; build {out['build_s']:.2f} s")
        print(f"fcfs   {out['fcfs']['time_s']:.3f} s wall, {out['fcfs']['cpu_s']:.3f} s CPU  model cost "
              f"${out['fcfs']['model_cost_usd']:,.0f}  unscheduled {out['fcfs']['unscheduled']}")
        print(f"greedy {out['greedy']['time_s']:.3f} s wall, {out['greedy']['cpu_s']:.3f} s CPU "
              f"({out['greedy']['cpu_ratio_to_fcfs']:.1f}x fcfs CPU)  model cost "
              f"${out['greedy']['model_cost_usd']:,.0f}  unscheduled {out['greedy']['unscheduled']}")
        for o in out["optimal"]:
            grid = "per pod" if o["thinned_every"] == 0 else f"every {o['thinned_every']}. start"
            print(f"optimal {o['budget_s']:>4.0f} s budget ({o['wall_s']:.1f} s): ${o['model_cost_usd']:,.0f}, bound "
                  f"${o['lower_bound_usd']:,.0f} ({o['bound']}), gap {o['gap']:.2%}, {o['columns']} start columns "
                  f"({grid}), MILP: {o['milp_status']}")
        if "verify_s" in out:
            print(f"solver verification of greedy: {out['verify_s']:.1f} s, throttled GPU-h "
                  f"{out['verify_throttled_gpu_hours']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
