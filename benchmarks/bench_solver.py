"""Solver speed: interactive demo run, 10,000-server scale run, fast path vs solve_ivp.

Run: ``.venv/bin/python benchmarks/bench_solver.py [--part interactive|scale|speedup|all] [--hours H]``.
Prints one JSON object per part. Baselines for the ratios (docs/physics.md, "Peer speed"): ORNL RAPS on
a synthetic 9,472-node Frontier at 1 s steps, 2 cores: 1 simulated hour in ~25 s wall
(≈ 1.4 million node-steps/s).
"""
from __future__ import annotations

import argparse
import math
import json
import resource
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RAPS_NODE_STEPS_PER_S = 9472 * 3600 / 25.0  # ≈ 1.36e6


def interactive(repeats: int = 3) -> dict:
    """Demo hall (100 servers), 24 h at the default step, each demo scenario's first day."""
    from planner.demo import build_demo_plan
    from planner.solver import DEFAULT_STEP_S, simulate
    plan = build_demo_plan()
    out = {"servers": len(plan.servers), "default_step_s": DEFAULT_STEP_S, "runs": []}
    for sc in plan.scenarios:
        day = replace(sc, horizon_s=86400.0)
        simulate(plan, day)  # warm caches (EPW parse, imports)
        walls, inner = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            res = simulate(plan, day)
            walls.append(time.perf_counter() - t)
            inner.append(res.wall_time_s)
        out["runs"].append({"scenario": sc.name, "step_s": res.step_s, "steps": res.steps,
                            "wall_s_min": min(walls), "wall_s_median": sorted(walls)[len(walls) // 2],
                            "integrator_s_min": min(inner), "throttled_gpu_hours": res.throttled_gpu_hours})
    return out


def scale(hours: float = 24.0) -> dict:
    """~10,000 servers (demo pods), ``hours`` at 1 s steps, hottest Phoenix day at full load."""
    from planner.demo import build_demo_plan
    from planner.solver import simulate
    from planner.solver.model import compile_model
    pod = build_demo_plan()  # racks → servers of whatever the demo pod is now (its size is the lead's)
    plan = build_demo_plan(math.ceil(10_000 * len(pod.racks) / len(pod.servers)))
    sc = replace(plan.scenarios[1], horizon_s=hours * 3600.0, step_s=1.0)
    t = time.perf_counter()
    compile_model(plan, sc, sc.horizon_s)
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    res = simulate(plan, sc, step_s=1.0)
    wall = time.perf_counter() - t
    node_steps = res.servers * res.steps
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"servers": res.servers, "loops": len(plan.cooling_loops), "steps": res.steps, "step_s": 1.0,
            "simulated_h": hours, "compile_s": compile_s, "wall_s": wall, "integrator_s": res.wall_time_s,
            "node_steps_per_s": node_steps / res.wall_time_s,
            "node_steps_per_s_incl_setup": node_steps / wall,
            "ratio_vs_raps": node_steps / res.wall_time_s / RAPS_NODE_STEPS_PER_S,
            "peak_rss_mb": rss_mb, "throttled_gpu_hours": res.throttled_gpu_hours,
            "max_throttled_fraction": res.max_throttled_fraction}


def speedup(hours: float = 1.0) -> dict:
    """Fast path vs solve_ivp (LSODA, rtol 1e-6) on the demo hall, same model, same run."""
    from planner.demo import DEMO_HOT_DAY, build_demo_plan
    from planner.solver import simulate
    plan = build_demo_plan()
    sc = replace(plan.scenarios[1], start=DEMO_HOT_DAY + timedelta(hours=14), horizon_s=hours * 3600.0)
    simulate(plan, sc)
    t = time.perf_counter()
    fast = simulate(plan, sc)
    t_fast = time.perf_counter() - t
    t = time.perf_counter()
    ref = simulate(plan, sc, integrator="reference", rtol=1e-6, atol=1e-6)
    t_ref = time.perf_counter() - t
    return {"servers": fast.servers, "simulated_h": hours, "fast_s": t_fast, "solve_ivp_s": t_ref,
            "speedup": t_ref / t_fast,
            "max_final_temp_diff_k": float(abs(fast.final_server_temp_c - ref.final_server_temp_c).max())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--part", choices=("interactive", "scale", "speedup", "all"), default="all")
    ap.add_argument("--hours", type=float, default=24.0, help="simulated hours of the scale run")
    args = ap.parse_args(argv)
    if args.part == "all":  # each part in its own process so peak RSS is the scale run's own
        for part in ("interactive", "speedup", "scale"):
            subprocess.run([sys.executable, __file__, "--part", part, "--hours", str(args.hours)], check=True)
        return 0
    fn = {"interactive": interactive, "scale": lambda: scale(args.hours), "speedup": speedup}[args.part]
    print(json.dumps({args.part: fn()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
