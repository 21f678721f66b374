"""Solver speed: demo year, 10,000-server scale, scheduler-verification week, fast path vs solve_ivp.

Run: ``.venv/bin/python benchmarks/bench_solver.py [--part NAME|all] [--hours H]``. Prints one JSON
object per part. Every part runs a **machine probe** in its own process first (numpy streaming
kernel: per-call overhead of a multiply-add on arrays of the plan's size, and element throughput on
large arrays) and states its figures also as ratios to it, so figures travel between machines.
Each timed run is preceded by a short run of the same plan (``first_call_s``: numba loads the
compiled kernels from its cache, or compiles them once after a source change), and reports wall
time and the process's CPU time: on the shared 2-core machine wall time swings with the load, CPU
time much less, so the ratios use CPU time (probe included) and the wall figures are stated beside.

Parts:
* ``interactive``  demo (104 servers) 24 h at the default step, each demo scenario's first day
* ``year``  demo, full weather year from 1 January, jobs load repeated weekly, default (adaptive)
  stepping; also fixed 10 s for the accuracy figures (``--accuracy``)
* ``week``  the scheduler's verification: ``planner.schedule.schedule`` on the demo's 7-day jobs week,
  each solver call timed (cold process, then warm)
* ``scale``  demo scaled with --racks to ≥ 10,000 servers, 24 h Phoenix hot day, fixed 1 s and
  adaptive; peak RSS per mode (each in its own process); ``--baseline`` adds the integrator of
  commit 31c66b1 (before issue 12) on the same plan in the same run, from git
* ``scale-ab``  fixed 1 s on that hall, this tree and the baseline commit alternating 2-hour slices in
  one process (the speed ratio under a changing machine load)
* ``scale-year``  the same hall for a full weather year, adaptive
* ``speedup``  fast path vs solve_ivp on the demo hot hour
Lumping: the solver steps identical servers, racks and loops once (planner/solver/lumping.py: the scaled
hall at full load is 54 kinds of server); ``--no-lump`` measures the kernel stepping every server (the
kernel's own per-node speed), inherited by each part's subprocesses. Node-steps count the plan's servers
× simulated seconds either way; ``servers_stepped`` says how many the kernel stepped.
Baseline for the node-step ratio (docs/physics.md, "Peer speed"): ORNL RAPS on a synthetic 9,472-node
Frontier at 1 s steps, 2 cores: 1 simulated hour in ~25 s wall (≈ 1.4 million node-steps/s).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RAPS_NODE_STEPS_PER_S = 9472 * 3600 / 25.0  # ≈ 1.36e6
BASELINE_COMMIT = "31c66b1"  # the integrator before issue 12 (explicit coupling, 15 s guard on the demo)


def probe(n: int = 10_004, repeats: int = 2000) -> dict:
    """Machine probe: a numpy multiply-add (``c = a*b; c += d``) on ``n``-element arrays — CPU seconds
    per call (per-call overhead plus streaming) — and element throughput on 4 M-element arrays (best
    of 5, process CPU time)."""
    import numpy as np
    a, b, d = (np.random.default_rng(k).random(n) for k in range(3))
    c = np.empty(n)
    best = math.inf
    for _ in range(5):
        t = time.process_time()
        for _ in range(repeats):
            np.multiply(a, b, out=c)
            c += d
        best = min(best, (time.process_time() - t) / (2 * repeats))
    big = [np.random.default_rng(k).random(4_000_000) for k in range(3)]
    cb = np.empty(4_000_000)
    tb = math.inf
    for _ in range(5):
        t = time.process_time()
        for _ in range(5):
            np.multiply(big[0], big[1], out=cb)
            cb += big[2]
        tb = min(tb, (time.process_time() - t) / 10)
    return {"n": n, "ufunc_call_s": best, "elem_ops_per_s_large": 4_000_000 / tb}


def _timed(fn, *a, **k):
    """``(result, wall_s, cpu_s)`` of ``fn(*a, **k)``."""
    w, c = time.perf_counter(), time.process_time()
    r = fn(*a, **k)
    return r, time.perf_counter() - w, time.process_time() - c


def _first_call(simulate, plan, sc, **kw) -> float:
    """A ten-minute run of the same plan (kernels loaded or compiled, EPW parsed): its wall time [s]."""
    return _timed(simulate, plan, replace(sc, horizon_s=600.0), **kw)[1]


def _lumping_on() -> bool:
    """Whether this process's solver lumps identical servers (planner/solver/lumping.py; ``--no-lump``
    measures the kernel stepping every server)."""
    try:
        import planner.solver.lumping as lumping
    except ImportError:
        return False
    return bool(lumping.LUMP)


def _threads() -> int:
    """Threads this tree's kernel may use (``DCPLAN_THREADS``, else every core; the baseline has one)."""
    try:
        from planner.solver.jit import threads_setting
    except ImportError:
        return 1
    return threads_setting()


def _load() -> list:
    return list(os.getloadavg())


def _demo(racks=None):
    from planner.demo import build_demo_plan
    return build_demo_plan(racks) if racks else build_demo_plan()


def _scale_racks() -> int:
    """Racks of the demo scaled to the nearest size with ≥ 10,000 servers."""
    pod = _demo()
    r = math.ceil(10_000 * len(pod.racks) / len(pod.servers))
    while len(_demo(r).servers) < 10_000:
        r += 1
    return r


def interactive(repeats: int = 3) -> dict:
    """Demo hall, 24 h at the default step, each demo scenario's first day."""
    from planner.solver import DEFAULT_STEP_S, simulate
    plan = _demo()
    pr = probe(len(plan.servers))
    out = {"probe": pr, "servers": len(plan.servers), "default_step_s": DEFAULT_STEP_S, "runs": []}
    for sc in plan.scenarios:
        day = replace(sc, horizon_s=86400.0)
        simulate(plan, day)  # warm caches (EPW parse, imports)
        walls = [simulate(plan, day).wall_time_s for _ in range(repeats)]
        res = simulate(plan, day)
        out["runs"].append({"scenario": sc.name, "step_s": res.step_s, "steps": res.steps, "wall_s_min": min(walls),
                            "wall_s_median": sorted(walls)[len(walls) // 2],
                            "wall_per_step_in_probe_calls": min(walls) / res.steps / pr["ufunc_call_s"],
                            "throttled_gpu_hours": res.throttled_gpu_hours})
    return out


def _summary(res) -> dict:
    keys = ("steps", "stepping", "jobs_repeated", "wall_time_s", "it_energy_kwh", "facility_energy_kwh", "pue",
            "cost_usd", "max_gpu_temp_c", "throttled_gpu_hours")
    return {k: getattr(res, k) for k in keys}


def year(accuracy: bool = False) -> dict:
    """Demo, the whole weather year from 1 January, jobs repeated weekly, default stepping."""
    from planner.solver import simulate
    plan = _demo()
    pr = probe(len(plan.servers))
    sc = replace(plan.scenarios[0], start=datetime(2025, 1, 1), horizon_s=365 * 86400.0)
    first = _first_call(simulate, plan, sc)
    res, wall, cpu = _timed(simulate, plan, sc)
    out = {"probe": pr, "servers": res.servers, "first_call_s": first, "adaptive": _summary(res), "wall_s": wall,
           "cpu_s": cpu, "stepping_wall_s": res.stepping_wall_s, "cpu_in_probe_calls": cpu / pr["ufunc_call_s"],
           "target_s": 5.0, "load_average": _load(),
           "step_factor_counts": res.step_factor_counts, "base_steps_near_slowdown": res.base_steps_near_slowdown,
           "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    if accuracy:
        fixed, fwall, fcpu = _timed(simulate, plan, sc, step_s=10.0)
        out["fixed_10s"] = {**_summary(fixed), "cpu_s": fcpu}
        out["cpu_ratio_fixed_10s_to_adaptive"] = fcpu / cpu
        out["rel_diff"] = {k: getattr(res, k) / getattr(fixed, k) - 1.0 for k in
                           ("it_energy_kwh", "facility_energy_kwh", "cost_usd")}
        out["max_gpu_temp_diff_k"] = res.max_gpu_temp_c - fixed.max_gpu_temp_c
    return out


def week() -> dict:
    """The scheduler's verification (issue 9): ``planner.schedule.schedule(demo, method)`` on the demo's
    7-day jobs week, every solver call it makes timed (the transient probe and each verification
    round: a 7-day simulation of the schedule as placed). First in a fresh process (``cold``: the
    compiled kernels load from numba's cache), then again (``warm``)."""
    import planner.schedule as schedule
    import planner.schedule.transient as transient
    import planner.schedule.verify as verify
    plan = _demo()
    pr = probe(len(plan.servers))
    calls = []

    def timed(fn):
        def run(*a, **k):
            t = time.perf_counter()
            r = fn(*a, **k)
            calls.append({"wall_s": time.perf_counter() - t, "horizon_h": r.horizon_s / 3600.0, "steps": r.steps,
                          "stepping": r.stepping})
            return r
        return run

    verify.simulate, transient.simulate = timed(verify.simulate), timed(transient.simulate)
    out = {"probe": pr, "servers": len(plan.servers), "target_s": 1.0}
    for label, method in (("cold", "greedy"), ("warm", "greedy"), ("warm_fcfs", "fcfs")):
        calls.clear()
        t = time.perf_counter()
        res = schedule.schedule(plan, method=method)
        wall = time.perf_counter() - t
        weeks = [c for c in calls if c["horizon_h"] >= 7 * 24 - 1e-6]
        out[label] = {"method": method, "schedule_wall_s": wall, "solver_calls": list(calls),
                      "solver_s": sum(c["wall_s"] for c in calls),
                      "verification_s": sum(c["wall_s"] for c in weeks), "verify_rounds": len(weeks),
                      "verification_in_probe_calls": sum(c["wall_s"] for c in weeks) / pr["ufunc_call_s"],
                      "throttled_gpu_hours": res.simulation.throttled_gpu_hours}
    return out


def week_sim() -> dict:
    """The demo's 7-day jobs scenario as placed by its job list, default stepping, best of 3: the
    scheduler-verification stand-in that benchmarks before the scheduler measured (``week`` in them;
    bench_physics_cost.py compares the two)."""
    from planner.solver import simulate
    plan = _demo()
    pr = probe(len(plan.servers))
    sc = replace(plan.scenarios[0], horizon_s=7 * 86400.0)
    simulate(plan, replace(sc, horizon_s=3600.0))
    walls = []
    for _ in range(3):
        res = simulate(plan, sc)
        walls.append(res.wall_time_s)
    return {"probe": pr, "servers": res.servers, "result": _summary(res), "wall_s_min": min(walls),
            "wall_in_probe_calls": min(walls) / pr["ufunc_call_s"], "target_s": 1.0}


def _scale_run(mode: str, hours: float, baseline_dir: str | None = None, scenario: int = 1) -> dict:
    """One scale run in this process (so peak RSS is its own)."""
    pkg = "planner"
    if baseline_dir:
        sys.path.insert(0, baseline_dir)
        pkg = "planner_base"
    import importlib
    demo = importlib.import_module(f"{pkg}.demo")
    solver = importlib.import_module(f"{pkg}.solver")
    racks = int(os.environ.get("DCPLAN_SCALE_RACKS") or 0) or _scale_racks()
    plan = demo.build_demo_plan(racks)
    pr = probe(len(plan.servers))
    sc = replace(plan.scenarios[scenario], horizon_s=hours * 3600.0, step_s=1.0)
    # adaptive: the default tolerance on the default 10 s base step (a day runs fixed unless asked)
    kw = {"step_s": 1.0} if mode == "fixed" else {"rtol": solver.run.DEFAULT_RTOL, "step_s": 10.0}
    first = _first_call(solver.simulate, plan, sc, **kw)
    res, wall, cpu = _timed(solver.simulate, plan, sc, **kw)
    node_steps = res.servers * hours * 3600.0  # node-seconds simulated (= node-steps at 1 s)
    return {"mode": mode, "baseline": bool(baseline_dir), "scenario": sc.name, "servers": res.servers, "racks": racks,
            "loops": len(plan.cooling_loops), "steps": res.steps, "stepping": getattr(res, "stepping", "fixed"),
            "simulated_h": hours, "first_call_s": first, "wall_s": wall, "cpu_s": cpu, "load_average": _load(),
            "node_steps_per_s": node_steps / wall, "node_steps_per_cpu_s": node_steps / cpu,
            "ratio_vs_raps": node_steps / wall / RAPS_NODE_STEPS_PER_S,
            "node_steps_per_probe_elem": node_steps / cpu / (pr["n"] / pr["ufunc_call_s"]),
            "probe": pr, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "throttled_gpu_hours": res.throttled_gpu_hours, "max_gpu_temp_c": res.max_gpu_temp_c,
            "facility_energy_kwh": res.facility_energy_kwh,
            "servers_stepped": getattr(res, "servers_stepped", res.servers), "lumping": _lumping_on(),
            "threads": getattr(res, "threads", 1)}


def baseline_tree() -> str:
    """The solver of ``BASELINE_COMMIT`` from git, as package ``planner_base`` in a temporary dir."""
    tmp = tempfile.mkdtemp(prefix="dcplan-base-")
    repo = os.environ.get("DCPLAN_BENCH_GIT", str(ROOT))  # a benchmark run from an exported tree names its repo
    arch = subprocess.run(["git", "-C", repo, "archive", BASELINE_COMMIT, "planner", "assets"],
                          check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=arch, check=True)
    os.rename(os.path.join(tmp, "planner"), os.path.join(tmp, "planner_base"))
    for dirpath, _, files in os.walk(os.path.join(tmp, "planner_base")):
        for f in files:
            if f.endswith(".py"):
                p = os.path.join(dirpath, f)
                text = open(p, encoding="utf-8").read()
                text = text.replace("from planner.", "from planner_base.").replace("from planner import",
                                                                                   "from planner_base import")
                open(p, "w", encoding="utf-8").write(text)
    return tmp


def _sub(part: str, *args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--part", part, *args], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)[part]


def scale(hours: float = 24.0, baseline: bool = False) -> dict:
    """Fixed 1 s and adaptive, each in its own process (peak RSS); optionally the old integrator."""
    out = {"fixed": _sub("scale-run", "--mode", "fixed", "--hours", str(hours)),
           "adaptive": _sub("scale-run", "--mode", "adaptive", "--hours", str(hours))}
    if baseline:
        tree = baseline_tree()
        try:
            out["baseline_fixed"] = _sub("scale-run", "--mode", "fixed", "--hours", str(hours), "--baseline-dir", tree)
        finally:
            shutil.rmtree(tree, ignore_errors=True)
        new, old = out["fixed"], out["baseline_fixed"]
        out["fixed_speedup_vs_baseline_probe_normalised"] = (new["node_steps_per_probe_elem"]
                                                             / old["node_steps_per_probe_elem"])
        out["fixed_speedup_vs_baseline_raw"] = new["node_steps_per_s"] / old["node_steps_per_s"]
        out["fixed_speedup_vs_baseline_cpu"] = new["node_steps_per_cpu_s"] / old["node_steps_per_cpu_s"]
    return out


def scale_ab(hours: float = 24.0, slice_h: float = 2.0) -> dict:
    """Fixed 1 s on the ≥ 10,000-server hall: this tree and the integrator of ``BASELINE_COMMIT`` in ONE
    process, alternating slices of ``slice_h`` hours through the Phoenix hot day (each slice a run
    from that hour, the same slices for both), so both see the same machine load; CPU time and wall
    time summed per side, with the probe run between slices."""
    tree = baseline_tree()
    try:
        sys.path.insert(0, tree)
        import importlib
        new_solver = importlib.import_module("planner.solver")
        base_solver = importlib.import_module("planner_base.solver")
        base_demo = importlib.import_module("planner_base.demo")
        racks = int(os.environ.get("DCPLAN_SCALE_RACKS") or 0) or _scale_racks()
        plans = {"new": _demo(racks), "baseline": base_demo.build_demo_plan(racks)}
        solvers = {"new": new_solver, "baseline": base_solver}
        tot = {k: {"cpu_s": 0.0, "wall_s": 0.0, "node_steps": 0.0} for k in plans}
        probes = []
        for k in plans:  # kernels loaded / compiled, EPW parsed
            _first_call(solvers[k].simulate, plans[k], replace(plans[k].scenarios[1], step_s=1.0), step_s=1.0)
        t = 0.0
        while t < hours - 1e-9:
            h = min(slice_h, hours - t)
            probes.append(probe(len(plans["new"].servers), repeats=500)["ufunc_call_s"])
            for k in ("new", "baseline") if int(t / slice_h) % 2 == 0 else ("baseline", "new"):
                sc0 = plans[k].scenarios[1]
                sc = replace(sc0, start=sc0.start + timedelta(hours=t), horizon_s=h * 3600.0, step_s=1.0)
                res, wall, cpu = _timed(solvers[k].simulate, plans[k], sc, step_s=1.0)
                tot[k]["cpu_s"] += cpu
                tot[k]["wall_s"] += wall
                tot[k]["node_steps"] += res.servers * h * 3600.0
            t += h
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    probe_s = sorted(probes)[len(probes) // 2]
    out = {"servers": len(plans["new"].servers), "hours": hours, "slice_h": slice_h, "load_average": _load(),
           "lumping": _lumping_on(), "threads_setting": _threads(),
           "probe_ufunc_call_s_median": probe_s, "probe_ufunc_call_s_range": [min(probes), max(probes)]}
    for k, v in tot.items():
        out[k] = {**v, "node_steps_per_cpu_s": v["node_steps"] / v["cpu_s"],
                  "node_steps_per_probe_elem": v["node_steps"] / v["cpu_s"] / (out["servers"] / probe_s)}
    out["fixed_speedup_cpu"] = out["new"]["node_steps_per_cpu_s"] / out["baseline"]["node_steps_per_cpu_s"]
    out["fixed_speedup_wall"] = out["baseline"]["wall_s"] / out["new"]["wall_s"]
    return out


def scale_year(hours: float = 365 * 24.0, scenario: int = 1) -> dict:
    """The scaled hall from the scenario's start for ``hours`` (a year unless told), adaptive."""
    return _sub("scale-run", "--mode", "adaptive", "--hours", str(hours), "--scenario", str(scenario))


def speedup(hours: float = 1.0) -> dict:
    """Fast path vs solve_ivp (LSODA, rtol 1e-6) on the demo hall, same model, same run."""
    from planner.demo import DEMO_HOT_DAY
    from planner.solver import simulate
    plan = _demo()
    sc = replace(plan.scenarios[1], start=DEMO_HOT_DAY + timedelta(hours=14), horizon_s=hours * 3600.0)
    simulate(plan, sc)
    fast = simulate(plan, sc)
    ref = simulate(plan, sc, integrator="reference", rtol=1e-6, atol=1e-6)
    return {"servers": fast.servers, "simulated_h": hours, "fast_s": fast.wall_time_s, "solve_ivp_s": ref.wall_time_s,
            "speedup": ref.wall_time_s / fast.wall_time_s,
            "max_final_temp_diff_k": float(abs(fast.final_server_temp_c - ref.final_server_temp_c).max())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", default="all", choices=("interactive", "year", "week", "week-sim", "scale", "scale-ab",
                                                      "scale-year", "speedup", "scale-run", "all"))
    ap.add_argument("--hours", type=float, default=None,
                    help="simulated hours of the scale runs (default 24; scale-year: a year)")
    ap.add_argument("--scenario", type=int, default=1,
                    help="scale-run / scale-year: the demo scenario (1 the hottest day at full load, 0 the jobs week)")
    ap.add_argument("--mode", choices=("fixed", "adaptive"), default="fixed", help=argparse.SUPPRESS)
    ap.add_argument("--baseline-dir", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--baseline", action="store_true", help=f"scale: also the integrator of {BASELINE_COMMIT}")
    ap.add_argument("--accuracy", action="store_true", help="year: also the fixed 10 s run and the differences")
    ap.add_argument("--no-lump", action="store_true",
                    help="step every server (no lumping of identical servers, racks, loops); inherited by the "
                         "parts' subprocesses")
    args = ap.parse_args(argv)
    if args.no_lump or os.environ.get("DCPLAN_BENCH_NO_LUMP"):
        os.environ["DCPLAN_BENCH_NO_LUMP"] = "1"
        import planner.solver.lumping as lumping
        lumping.LUMP = False
    if args.part == "all":  # each part in its own process so peak RSS is its own
        for part in ("interactive", "week", "year", "speedup", "scale"):
            extra = ["--baseline"] if part == "scale" else []
            subprocess.run([sys.executable, __file__, "--part", part, "--hours", str(24.0 if args.hours is None
                                                                                  else args.hours), *extra], check=True)
        return 0
    hours = 24.0 if args.hours is None else args.hours
    fn = {"interactive": interactive, "year": lambda: year(args.accuracy), "week": week,
          "week-sim": week_sim, "scale": lambda: scale(hours, args.baseline),
          "scale-year": lambda: scale_year(365 * 24.0 if args.hours is None else args.hours, args.scenario),
          "scale-ab": lambda: scale_ab(hours), "speedup": speedup,
          "scale-run": lambda: _scale_run(args.mode, hours, args.baseline_dir, args.scenario)}[args.part]
    print(json.dumps({args.part: fn()}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
