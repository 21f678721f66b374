"""Sweep speed on Dask: 200 one-day demo variants on the embedded LocalCluster against a serial
loop, the per-task overhead, and the wall time of a 36-variant annual sweep.

Run: ``.venv/bin/python benchmarks/bench_sweep.py [--part scaling|annual|all] [--variants 200]
[--days 1] [--workers N] [--annual-days 365]``. Prints one JSON object per part.

* scaling: the same variants (TCS and air-loop setpoints × control mode) run serially in this
  process (``planner.sweep.run_serial``) and on a LocalCluster of ``--workers`` processes (default
  one per core), alternating over ``--rounds`` slices so both see the same machine load. Reported:
  speed-up end to end (cluster start-up included) and of the task phase alone; cluster start-up
  time; per-task overhead of the sweep, ``(workers × task-phase wall − Σ serial variant times) / n``
  (scheduling, transfer, deep copy of the plan, idle tail); the round trip of an empty task; the
  CPU seconds per variant and the cores each phase actually got, with the load average: on a
  machine other sessions saturate, Linux's per-session (autogroup) scheduling gives all of one
  session's processes one share, which caps the speed-up whatever the worker count.
  Target (issue 15): ≥ 1.7× on 2 cores.
* annual: 3 cities × 3 TCS setpoints × 2 containments × N/N+1 dry coolers = 36 variants of
  ``--annual-days`` from 1 January (365: the whole weather year) on the LocalCluster. The solver
  measured is the one in this checkout (its git commit is printed).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _scaling_params(n: int) -> dict:
    """``n`` distinct variants: TCS setpoints × air-loop setpoints × control mode."""
    controls = ["reactive", "predictive"]
    per = max(1, n // len(controls))
    k_tcs = max(1, int(round(per ** 0.5)))
    k_air = max(1, per // k_tcs)
    return {"control": controls,
            "setpoint.TCS": [round(40.0 + 0.5 * k, 1) for k in range(k_tcs)],
            "setpoint.AIR": [round(20.0 + 0.4 * k, 1) for k in range(k_air)]}


def _worker_cpu_s(client) -> float:
    """CPU seconds (user + system) the cluster's worker processes have used so far."""
    def cpu():
        import psutil
        t = psutil.Process().cpu_times()
        return t.user + t.system
    return sum(client.run(cpu).values())


def _own_cpu_s() -> float:
    import psutil
    t = psutil.Process().cpu_times()
    return t.user + t.system


def scaling(n_variants: int, days: float, workers: int | None, rounds: int) -> dict:
    """Serial and cluster phases alternate over ``rounds`` slices of the variants, so both see the
    same machine load; CPU seconds used per phase show how much of the machine each phase got
    (on a shared machine with Linux autogroup scheduling, all processes of one session share one
    session's CPU share, so a saturated machine caps any speed-up)."""
    import os

    from planner.demo import build_demo_plan
    from planner.sweep import Sweep, connect, default_workers, define, execute, run_serial

    plan = build_demo_plan()
    sweep = define(plan, _scaling_params(n_variants), days=days)
    n = len(sweep)
    w = workers or default_workers()
    slices = [sweep.variants[k::rounds] for k in range(rounds)]
    times: list[float] = []
    t_serial = t_tasks = cpu_serial = cpu_cluster = 0.0
    load = [os.getloadavg()[0]]
    t0 = time.perf_counter()
    with connect(workers=w, tasks=n) as client:
        startup = time.perf_counter() - t0
        client.gather(client.map(_warm, range(w), pure=False))  # import the solver on every worker
        serial_rows, rows = [], []
        for part in slices:
            sub = Sweep(plan=sweep.plan, scenario=sweep.scenario, params=sweep.params, variants=part,
                        weather=sweep.weather, settings=sweep.settings)
            c0, t_prev = _own_cpu_s(), time.perf_counter()
            t_start = t_prev

            def tick(_row):
                nonlocal t_prev
                t = time.perf_counter()
                times.append(t - t_prev)
                t_prev = t

            serial_rows += run_serial(sub, on_row=tick)
            t_serial += time.perf_counter() - t_start
            cpu_serial += _own_cpu_s() - c0
            c0, wc0, t_start = _own_cpu_s(), _worker_cpu_s(client), time.perf_counter()
            rows += execute(sub, client)
            t_tasks += time.perf_counter() - t_start
            cpu_cluster += _own_cpu_s() - c0 + _worker_cpu_s(client) - wc0
            load.append(os.getloadavg()[0])
        t_e = time.perf_counter()
        client.gather(client.map(_empty, range(n), pure=False))
        t_empty = time.perf_counter() - t_e
    assert sorted(r["variant_hash"] for r in rows) == sorted(r["variant_hash"] for r in serial_rows)
    return {
        "part": "scaling", "commit": _commit(), "variants": n, "days_each": days, "workers": w, "rounds": rounds,
        "integrator": rows[0]["integrator"], "load_average_1min": [round(x, 1) for x in load],
        "serial_s": round(t_serial, 2), "serial_cores_used": round(cpu_serial / t_serial, 2),
        "serial_per_variant_s": {"mean": round(statistics.fmean(times), 3), "min": round(min(times), 3),
                                 "max": round(max(times), 3)},
        "cluster_startup_s": round(startup, 2), "cluster_task_phase_s": round(t_tasks, 2),
        "cluster_cores_used": round(cpu_cluster / t_tasks, 2),
        "speedup_end_to_end": round(t_serial / (t_tasks + startup), 2), "speedup_task_phase": round(t_serial / t_tasks, 2),
        "cpu_per_variant_s": {"serial": round(cpu_serial / n, 3), "cluster": round(cpu_cluster / n, 3)},
        "overhead_per_task_s": round((w * t_tasks - sum(times)) / n, 4),
        "empty_task_round_trip_s": round(t_empty * w / n, 5),
        "target_speedup": 1.7,
    }


def _warm(_):
    import planner.sweep.worker  # noqa: F401  (numpy, scipy and the solver imported before timing)
    return None


def _empty(x):
    return x


def annual(days: float, workers: int | None, limit: int | None = None) -> dict:
    from planner.demo import build_demo_plan
    from planner.sweep import default_workers, define, execute

    plan = build_demo_plan()
    params = {"weather": ["phoenix", "minneapolis", "dallas"], "setpoint.TCS": [40, 43, 45],
              "containment": ["none", "hot"], "units.FWS": ["N", "N+1"]}
    if days >= 365:
        sweep = define(plan, params, year=True)
    else:  # a shorter run from 1 January, for a quick look
        start = plan.scenarios[0].start.replace(month=1, day=1).date().isoformat()
        sweep = define(plan, {**params, "start": [start]}, days=days)
    w = workers or default_workers()
    if limit:  # the first `limit` variants only (a quick measure of a slow solver; the JSON says so)
        sweep.variants = sweep.variants[:limit]
    t0 = time.perf_counter()
    rows = execute(sweep, workers=w)
    wall = time.perf_counter() - t0
    inner = [r["wall_time_s"] for r in rows if r["wall_time_s"] is not None]
    return {"part": "annual", "commit": _commit(), "variants": len(rows), "of_variants": 36, "days_each": days,
            "workers": w, "load_average_1min": round(__import__("os").getloadavg()[0], 1),
            "integrator": rows[0]["integrator"], "wall_s": round(wall, 1),
            "simulate_wall_per_variant_s": {"mean": round(statistics.fmean(inner), 2), "max": round(max(inner), 2)},
            "failed": sum(bool(r["error"]) for r in rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("scaling", "annual", "all"), default="all")
    ap.add_argument("--variants", type=int, default=200)
    ap.add_argument("--days", type=float, default=1.0, help="simulated days of each scaling variant")
    ap.add_argument("--workers", type=int, default=None, help="cluster worker processes (default one per core)")
    ap.add_argument("--rounds", type=int, default=4, help="alternations of serial and cluster slices")
    ap.add_argument("--annual-days", type=float, default=365.0,
                    help="days of each annual-sweep variant from 1 January (365: the weather year)")
    ap.add_argument("--annual-limit", type=int, default=None, help="run only the first N of the 36 variants")
    a = ap.parse_args()
    if a.part in ("scaling", "all"):
        print(json.dumps(scaling(a.variants, a.days, a.workers, a.rounds)), flush=True)
    if a.part in ("annual", "all"):
        print(json.dumps(annual(a.annual_days, a.workers, a.annual_limit)), flush=True)


if __name__ == "__main__":
    main()
