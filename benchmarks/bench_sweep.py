"""Sweep speed on Dask: 200 one-day demo variants on the embedded LocalCluster against a serial
loop, the per-task overhead, and the wall time of a 36-variant annual sweep.

Run: ``.venv/bin/python benchmarks/bench_sweep.py [--part kernels|scaling|annual|all] [--variants 200]
[--days 1] [--workers N] [--rounds 2] [--batches 1,auto] [--annual-days 365]``. Prints one JSON object per part.

* scaling: the same variants (TCS and air-loop setpoints × control mode) run serially in this
  process (``planner.sweep.run_serial``) and on a LocalCluster of ``--workers`` processes (default
  one per core), alternating over ``--rounds`` slices so both see the same machine load. Reported:
  speed-up end to end (cluster start-up included) and of the task phase alone; cluster start-up
  time (the workers' kernel load included); the cores the idle cluster uses (background loops); per-task overhead of the sweep, ``(workers × task-phase wall − Σ serial variant times) / n``
  (scheduling, transfer, deep copy of the plan, idle tail); the round trip of an empty task; the
  CPU seconds per variant and the cores each phase actually got, with the load average: on a
  machine other sessions saturate, Linux's per-session (autogroup) scheduling gives all of one
  session's processes one share, which caps the speed-up whatever the worker count.
  Each slice runs on the cluster once per ``--batches`` entry (variants per Dask task: 1 = a task
  per variant, ``auto`` = what ``execute`` chooses by default), with the tasks and batch sizes used.
  Target (issue 15): ≥ 1.7× on 2 cores.
* kernels: whether a worker compiles the solver's numba kernels or loads them from the on-disk
  cache, and what the load costs: on a fresh LocalCluster, 2 × ``--kernel-tasks`` one-day
  variants per worker, the first task of each worker against its later ones (wall and CPU
  seconds, numba cache hits and misses of the stepping kernel), once with the workers as Dask
  starts them and once with dcplan's worker plugin (:class:`planner.sweep.kernels.SolverKernels`,
  which ``execute`` registers) having loaded the kernels when the worker joined.
* threads: worker processes (what ``dcplan sweep`` starts) against one worker process with
  ``--workers`` threads and against worker threads inside this process, each after its own serial
  run of the same variants (the solver's numba kernel releases the GIL; the Python around it does not).
* e2e: the sweep as a user runs it, each run in a fresh Python process (imports and the demo plan
  built before the clock): the clock runs from the call (``define`` of the variants included) to
  all rows back, so the cluster's start-up, its workers' imports and kernel load and its shutdown
  are inside it, and the serial loop pays its own kernel load in its first variant. Serial
  (``define`` + ``run_serial``) and cluster (``define`` + ``execute``: an embedded LocalCluster of
  ``--workers``) alternate over ``--rounds`` (serial, cluster, serial, cluster …). Reported: the walls
  of each run, the ratio of the sums, the median and the minimum of each mode and the ratio of the
  medians (one disturbed run moves it less), ``uptime`` before and after, and whether the batch is
  ``clean`` (the rest of the machine used < 1 CPU-s during every run), ``quiet`` (clean, and < 1 s of
  hypervisor steal during every run). ``--e2e-root DIR`` runs the
  same measure against another checkout of dcplan; ``--e2e-compare DIR`` interleaves a second
  checkout's runs with the first's in the same batch (serial, cluster, serial', cluster' per round:
  an A/B on the same machine load; one JSON line per checkout); ``--e2e-method`` overrides the
  embedded cluster's worker start method (spawn / forkserver / fork).
* annual: 3 cities × 3 TCS setpoints × 2 containments × N/N+1 dry coolers = 36 variants of
  ``--annual-days`` from 1 January (365: the whole weather year) on the LocalCluster. The solver
  measured is the one in this checkout (its git commit is printed).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# the checkout measured: this one, or the one an e2e parent names for its child (the variable, not an
# argument, so the child's workers — which re-run this module's top level — import that checkout too)
ROOT = Path(os.environ.get("DCPLAN_BENCH_ROOT") or Path(__file__).resolve().parents[1]).resolve()
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


def _batch_arg(text: str) -> int | None:
    return None if text == "auto" else int(text)


def scaling(n_variants: int, days: float, workers: int | None, rounds: int, batches: list[str],
            idle_s: float = 5.0) -> dict:
    """Serial and cluster phases alternate over ``rounds`` slices of the variants, so both see the
    same machine load; CPU seconds used per phase show how much of the machine each phase got
    (on a shared machine with Linux autogroup scheduling, all processes of one session share one
    session's CPU share, so a saturated machine caps any speed-up). Each slice runs on the cluster
    once per entry of ``batches`` (variants per Dask task: a number, or ``auto``, the default of
    ``execute``), in the order given, after the serial loop."""
    import os

    from planner.demo import build_demo_plan
    from planner.sweep import Sweep, connect, default_workers, define, execute, run_serial
    from planner.sweep import runner
    from planner.sweep.kernels import SolverKernels, load_kernels, loaded_s

    plan = build_demo_plan()
    sweep = define(plan, _scaling_params(n_variants), days=days)
    n = len(sweep)
    w = workers or default_workers()
    slices = [sweep.variants[k::rounds] for k in range(rounds)]
    times: list[float] = []
    t_serial = cpu_serial = 0.0
    phase = {b: {"t": 0.0, "cpu": 0.0, "cpu_here": 0.0, "sizes": []} for b in batches}
    sizes: list[int] = []
    real_next = runner._BatchSizer.next

    def counted_next(self, remaining, threads):  # records the batch sizes execute() chooses (client side)
        k = real_next(self, remaining, threads)
        sizes.append(k)
        return k

    runner._BatchSizer.next = counted_next
    load = [os.getloadavg()[0]]
    load_here = load_kernels()  # the serial baseline runs with loaded kernels, like the workers
    t_cluster = time.perf_counter()
    with connect(workers=w, tasks=n) as client:
        t_plugin = time.perf_counter()
        client.register_plugin(SolverKernels())  # what execute() does first; counted as start-up
        startup = time.perf_counter() - t_cluster
        plugin_s = time.perf_counter() - t_plugin
        worker_load = sorted(client.run(loaded_s).values())
        c0, wc0, t_idle = _own_cpu_s(), _worker_cpu_s(client), time.perf_counter()
        time.sleep(idle_s)  # the cluster's background CPU (event-loop ticks, monitors, heartbeats)
        idle_cores = (_own_cpu_s() - c0 + _worker_cpu_s(client) - wc0) / (time.perf_counter() - t_idle)
        serial_rows, rows = [], {b: [] for b in batches}
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
            for b in batches:
                sizes.clear()
                c0, wc0, t_start = _own_cpu_s(), _worker_cpu_s(client), time.perf_counter()
                rows[b] += execute(sub, client, batch_size=_batch_arg(b))
                ph = phase[b]
                ph["t"] += time.perf_counter() - t_start
                here = _own_cpu_s() - c0
                ph["cpu_here"] += here
                ph["cpu"] += here + _worker_cpu_s(client) - wc0
                ph["sizes"] += sizes
            load.append(os.getloadavg()[0])
        t_e = time.perf_counter()
        client.gather(client.map(_empty, range(n), pure=False))
        t_empty = time.perf_counter() - t_e
    runner._BatchSizer.next = real_next
    for b in batches:
        assert sorted(r["variant_hash"] for r in rows[b]) == sorted(r["variant_hash"] for r in serial_rows)
    out = {
        "part": "scaling", "commit": _commit(), "variants": n, "days_each": days, "workers": w, "rounds": rounds,
        "integrator": serial_rows[0]["integrator"], "load_average_1min": [round(x, 1) for x in load],
        "serial_s": round(t_serial, 2), "serial_cores_used": round(cpu_serial / t_serial, 2),
        "serial_per_variant_s": {"mean": round(statistics.fmean(times), 3), "min": round(min(times), 3),
                                 "max": round(max(times), 3)},
        "serial_cpu_per_variant_s": round(cpu_serial / n, 3),
        "kernel_load_s": {"here": round(load_here, 2), "workers": [round(x, 2) for x in worker_load]},
        "cluster_startup_s": round(startup, 2), "cluster_startup_plugin_s": round(plugin_s, 2),
        "idle_cluster_cores": round(idle_cores, 4),
        "empty_task_round_trip_s": round(t_empty * w / n, 5), "target_speedup": 1.7, "by_batch": {},
    }
    for b in batches:
        ph = phase[b]
        tasks = len(ph["sizes"])
        out["by_batch"][b] = {
            "tasks": tasks, "variants_per_task": {"mean": round(n / tasks, 2), "max": max(ph["sizes"])},
            "cluster_task_phase_s": round(ph["t"], 2), "cluster_cores_used": round(ph["cpu"] / ph["t"], 2),
            # end to end = from a fresh process each: the serial loop pays its kernel load in its first variant
            "speedup_end_to_end": round((t_serial + load_here) / (ph["t"] + startup), 2),
            "speedup_task_phase": round(t_serial / ph["t"], 2),
            "cpu_per_variant_s": round(ph["cpu"] / n, 3), "client_scheduler_cpu_per_variant_s": round(ph["cpu_here"] / n, 4),
            "overhead_per_task_s": round((w * ph["t"] - sum(times)) / tasks, 4),
            "overhead_per_variant_s": round((w * ph["t"] - sum(times)) / n, 4),
        }
    return out


def _cluster(kind: str, w: int):
    """A LocalCluster with the embedded cluster's settings: ``processes`` (w single-thread worker
    processes, what ``dcplan sweep`` starts), ``threads`` (one worker process with w threads) or
    ``in-process`` (w worker threads in this process, no worker process at all)."""
    import logging

    import dask
    from distributed import LocalCluster

    from planner.sweep.runner import EMBEDDED_CONFIG, _sigint_ignored

    n, t, procs = {"processes": (w, 1, True), "threads": (1, w, True), "in-process": (1, w, False)}[kind]
    kw = {"host": "127.0.0.1"} if procs else {}
    with _sigint_ignored(), dask.config.set(EMBEDDED_CONFIG):
        return LocalCluster(n_workers=n, threads_per_worker=t, processes=procs, dashboard_address=None,
                            silence_logs=logging.CRITICAL, **kw)


def threads(n_variants: int, days: float, workers: int | None, kinds: list[str]) -> dict:
    """Worker processes against worker threads (numba's kernel releases the GIL, the rest of a
    variant holds it): the same one-day variants serially, then on each kind of cluster (start-up
    included, automatic batches), alternating in one run."""
    import os

    from distributed import Client

    from planner.demo import build_demo_plan
    from planner.sweep import default_workers, define, execute, run_serial
    from planner.sweep.kernels import SolverKernels, load_kernels

    w = workers or default_workers()
    plan = build_demo_plan()
    sweep = define(plan, _scaling_params(n_variants), days=days)
    load_here = load_kernels()
    out: dict = {"part": "threads", "commit": _commit(), "variants": len(sweep), "days_each": days, "workers": w,
                 "kernel_load_here_s": round(load_here, 2), "load_average_1min": [round(os.getloadavg()[0], 1)]}
    for kind in kinds:
        c0, t0 = _own_cpu_s(), time.perf_counter()
        serial = run_serial(sweep)
        t_serial, cpu_serial = time.perf_counter() - t0, _own_cpu_s() - c0
        t0 = time.perf_counter()
        cluster = _cluster(kind, w)
        with Client(cluster, set_as_default=False) as client:
            client.register_plugin(SolverKernels())
            startup = time.perf_counter() - t0
            wc0 = _worker_cpu_s(client) if kind != "in-process" else 0.0
            c0, t1 = _own_cpu_s(), time.perf_counter()
            rows = execute(sweep, client)
            t_tasks = time.perf_counter() - t1
            cpu = _own_cpu_s() - c0 + (_worker_cpu_s(client) - wc0 if kind != "in-process" else 0.0)
        cluster.close()
        assert sorted(r["variant_hash"] for r in rows) == sorted(r["variant_hash"] for r in serial)
        out[kind] = {"serial_s": round(t_serial, 2), "serial_cores_used": round(cpu_serial / t_serial, 2),
                     "startup_s": round(startup, 2), "task_phase_s": round(t_tasks, 2),
                     "cores_used": round(cpu / t_tasks, 2),
                     "speedup_task_phase": round(t_serial / t_tasks, 2),
                     "speedup_end_to_end": round((t_serial + load_here) / (t_tasks + startup), 2)}
        out["load_average_1min"].append(round(os.getloadavg()[0], 1))
    return out


def _timed_variant(plan, scenario, settings, changes, h, labels):
    """One variant on a worker: its wall and CPU seconds, whether the kernels were loaded before it,
    the stepping kernel's numba cache hits and misses (a miss = a compile) in this process."""
    import os

    from planner.solver import integrate
    from planner.sweep.worker import run_variant
    loaded = bool(getattr(integrate._advance, "signatures", None))
    t, c = time.perf_counter(), time.process_time()
    run_variant(plan, scenario, settings, changes, None, h, labels)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    st = integrate._advance.stats
    return {"pid": os.getpid(), "wall": wall, "cpu": cpu, "loaded_before": loaded,
            "cache_hits": sum(st.cache_hits.values()), "cache_misses": sum(st.cache_misses.values())}


def kernels(per_worker: int, workers: int | None) -> dict:
    """First task against later tasks on each worker, without and with the kernel plugin."""
    import os

    from planner.demo import build_demo_plan
    from planner.sweep import connect, default_workers, define
    from planner.sweep.kernels import SolverKernels, loaded_s

    w = workers or default_workers()
    plan = build_demo_plan()
    sweep = define(plan, {"setpoint.TCS": [round(40 + 0.25 * k, 2) for k in range(w * per_worker)]}, days=1)
    out: dict = {"part": "kernels", "commit": _commit(), "workers": w, "tasks_per_worker": per_worker,
                 "load_average_1min": [round(os.getloadavg()[0], 1)]}
    for mode in ("dask_default", "with_plugin"):
        t0 = time.perf_counter()
        with connect(workers=w, tasks=len(sweep)) as client:
            if mode == "with_plugin":
                client.register_plugin(SolverKernels())
            startup = time.perf_counter() - t0
            plugin_load = sorted(x for x in client.run(loaded_s).values() if x is not None)
            plan_f = client.scatter(sweep.plan, broadcast=True)
            fs = [client.submit(_timed_variant, plan_f, sweep.scenario, sweep.settings, v.changes, v.hash, v.labels,
                                pure=False) for v in sweep.variants]
            res = client.gather(fs)
        by_pid: dict[int, list[dict]] = {}
        for r in res:  # submission order = execution order on each single-thread worker
            by_pid.setdefault(r["pid"], []).append(r)
        first = [rs[0] for rs in by_pid.values()]
        later = [r for rs in by_pid.values() for r in rs[1:]]
        out[mode] = {
            "startup_s": round(startup, 2), "plugin_load_s": [round(x, 2) for x in plugin_load],
            "first_task": {"wall_s": [round(r["wall"], 3) for r in first], "cpu_s": [round(r["cpu"], 3) for r in first],
                           "kernels_loaded_before": [r["loaded_before"] for r in first]},
            "later_tasks": {"wall_s_median": round(statistics.median(r["wall"] for r in later), 3),
                            "cpu_s_median": round(statistics.median(r["cpu"] for r in later), 3), "n": len(later)},
            "numba_cache_hits": sum(max(r["cache_hits"] for r in rs) for rs in by_pid.values()),
            "numba_cache_misses_compiles": sum(max(r["cache_misses"] for r in rs) for rs in by_pid.values()),
        }
        out["load_average_1min"].append(round(os.getloadavg()[0], 1))
    return out


def _empty(x):
    return x


def _e2e_child(mode: str, n_variants: int, days: float, workers: int | None, method: str | None) -> dict:
    """One end-to-end run in this (fresh) process; see the module docstring (part e2e)."""
    import os

    from planner.demo import build_demo_plan
    from planner.sweep import define, execute, run_serial
    from planner.sweep import runner

    if method:  # the start method measured instead of dcplan's (a checkout before the choice had none: spawn)
        runner.worker_start_method = lambda: method
    start_method = runner.worker_start_method() if hasattr(runner, "worker_start_method") else "spawn"
    plan = build_demo_plan()
    params = _scaling_params(n_variants)
    marks: dict[str, float] = {}

    def on_row(_row):
        t = time.perf_counter()
        marks.setdefault("first_row", t)
        marks["last_row"] = t

    c0, t0 = _own_cpu_s(), time.perf_counter()
    sweep = define(plan, params, days=days)
    marks["defined"] = time.perf_counter()
    if mode == "serial":
        rows = run_serial(sweep, on_row=on_row)
    else:
        rows = execute(sweep, workers=workers, on_row=on_row)
    t1 = time.perf_counter()
    assert len(rows) == len(sweep)
    return {"mode": mode, "wall_s": t1 - t0, "define_s": marks["defined"] - t0,
            "to_first_row_s": marks["first_row"] - t0, "after_last_row_s": t1 - marks["last_row"],
            "cpu_here_s": _own_cpu_s() - c0, "load": os.getloadavg()[0],
            "start_method": start_method, "runner_file": runner.__file__,
            "variants": len(rows)}


def _machine_cpu_s() -> tuple[float, float] | None:
    """(CPU seconds the whole machine has been busy, seconds stolen by the hypervisor) since boot
    (Linux ``/proc/stat``), or None elsewhere."""
    try:
        with open("/proc/stat") as fh:
            v = [int(x) for x in fh.readline().split()[1:]]
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / tick, v[7] / tick


def _reap_orphans() -> None:
    """Wait for every child left (the forkserver of a finished e2e child, reparented to this process
    as a subreaper), so that its CPU time counts in ``os.times().children_*``."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.02)


def _uptime() -> str:
    """The ``uptime`` line (load averages over 1, 5, 15 minutes), or the load averages where there is no ``uptime``."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _e2e_run(mode: str, src: Path, n_variants: int, days: float, w: int, method: str | None) -> dict:
    """One e2e child (serial or cluster) of checkout ``src``, with its process tree's CPU and the rest
    of the machine's meanwhile."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--e2e-child", mode, "--variants", str(n_variants),
           "--days", str(days), "--workers", str(w), "--e2e-root", str(src)]
    if method:
        cmd += ["--e2e-method", method]
    t0, m0 = os.times(), _machine_cpu_s()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=src,
                         env={**os.environ, "DCPLAN_BENCH_ROOT": str(src)})
    _reap_orphans()
    t1, m1 = os.times(), _machine_cpu_s()
    run = json.loads(out.stdout.strip().splitlines()[-1])
    tree = (t1.children_user + t1.children_system) - (t0.children_user + t0.children_system)
    run["tree_cpu_s"] = round(tree, 2)
    if m0 is not None and m1 is not None:
        run["others_cpu_s"] = round(m1[0] - m0[0] - tree, 2)
        run["steal_s"] = round(m1[1] - m0[1], 2)
    return run


#: A run is clean when the rest of the machine used less than this many CPU seconds meanwhile
CLEAN_OTHERS_CPU_S = 1.0
#: A clean run is quiet when the hypervisor also stole less than this many seconds from the machine meanwhile
QUIET_STEAL_S = 1.0


def _e2e_summary(runs: dict[str, list[dict]], src: Path, days: float, w: int, rounds: int, load: list[float],
                 uptime: list[str]) -> dict:
    ser = [r["wall_s"] for r in runs["serial"]]
    clu = [r["wall_s"] for r in runs["cluster"]]

    def med(key, mode):
        return round(statistics.median(r[key] for r in runs[mode]), 3)

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=src, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    others = [r.get("others_cpu_s") for m in runs for r in runs[m]]
    return {"part": "e2e", "commit": commit, "root": str(src), "variants": runs["serial"][0]["variants"],
            "days_each": days, "workers": w, "rounds": rounds,
            "start_method": runs["cluster"][0]["start_method"], "load_average_1min": [round(x, 1) for x in load],
            "uptime": uptime,
            "serial_wall_s": [round(x, 2) for x in ser], "cluster_wall_s": [round(x, 2) for x in clu],
            "speedup_end_to_end": round(sum(ser) / sum(clu), 3),
            "speedup_per_round": [round(a / b, 3) for a, b in zip(ser, clu)],
            # robust to one disturbed run: medians and minima of each mode over the interleaved rounds
            "serial_wall_median_s": round(statistics.median(ser), 3), "serial_wall_min_s": round(min(ser), 3),
            "cluster_wall_median_s": round(statistics.median(clu), 3), "cluster_wall_min_s": round(min(clu), 3),
            "speedup_of_medians": round(statistics.median(ser) / statistics.median(clu), 3),
            "speedup_of_minima": round(min(ser) / min(clu), 3),
            # clean: every run of the batch had the rest of the machine below CLEAN_OTHERS_CPU_S
            "clean": all(o is not None and o < CLEAN_OTHERS_CPU_S for o in others),
            # quiet: clean, and the hypervisor took less than QUIET_STEAL_S from every run (steal is not other
            # processes' CPU: a clean run can still lose seconds to it, planner/sweep/STATUS.md session 10)
            "quiet": all(o is not None and o < CLEAN_OTHERS_CPU_S for o in others)
            and all(r.get("steal_s") is not None and r["steal_s"] < QUIET_STEAL_S for m in runs for r in runs[m]),
            "define_s": {"serial": med("define_s", "serial"), "cluster": med("define_s", "cluster")},
            "cluster_to_first_row_s": med("to_first_row_s", "cluster"),
            "serial_to_first_row_s": med("to_first_row_s", "serial"),
            "cluster_after_last_row_s": med("after_last_row_s", "cluster"),
            "cluster_client_cpu_s": med("cpu_here_s", "cluster"),
            "tree_cpu_s": {m: [r["tree_cpu_s"] for r in runs[m]] for m in runs},
            "others_cpu_s": {m: [r.get("others_cpu_s") for r in runs[m]] for m in runs},
            "steal_s": {m: [r.get("steal_s") for r in runs[m]] for m in runs},
            "to_first_row_s": {m: [round(r["to_first_row_s"], 2) for r in runs[m]] for m in runs},
            "target_speedup": 1.7}


def e2e(n_variants: int, days: float, workers: int | None, rounds: int, root: str | None, method: str | None,
        compare: str | None = None) -> list[dict]:
    """Serial and cluster sweeps end to end, each in a fresh process, interleaved over ``rounds``
    (serial, cluster, serial, cluster …); with ``compare`` (another checkout) its serial and cluster
    runs are interleaved too (serial, cluster, serial', cluster' per round, so both trees see the same
    machine). One summary per checkout.

    Each run also reports the CPU seconds of its process tree (imports before the clock included)
    and what the rest of the machine used meanwhile (``others_cpu_s``: busy CPU seconds of the
    machine less the tree's; other sessions' work shares the two cores, so a ratio is a quiet-machine
    figure only where that is near 0: ``clean``) and the hypervisor's steal."""
    from planner.sweep import default_workers

    w = workers or default_workers()
    srcs = [Path(root).resolve() if root else ROOT]
    if compare:
        srcs.append(Path(compare).resolve())
    runs = [{"serial": [], "cluster": []} for _ in srcs]
    load = [os.getloadavg()[0]]
    uptime = [_uptime()]
    if sys.platform.startswith("linux"):  # orphans (a child's forkserver) are reparented here, reaped, counted
        import ctypes
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    for _ in range(rounds):
        for k, src in enumerate(srcs):
            for mode in ("serial", "cluster"):
                runs[k][mode].append(_e2e_run(mode, src, n_variants, days, w, method))
        load.append(os.getloadavg()[0])
    uptime.append(_uptime())
    return [_e2e_summary(r, src, days, w, rounds, load, uptime) for r, src in zip(runs, srcs)]


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
    ap.add_argument("--part", choices=("kernels", "scaling", "threads", "e2e", "annual", "all"), default="all")
    ap.add_argument("--kinds", default="processes,threads,in-process",
                    help="clusters of the threads part: processes, threads (one process), in-process")
    ap.add_argument("--kernel-tasks", type=int, default=6, help="one-day variants per worker in the kernels part")
    ap.add_argument("--variants", type=int, default=200)
    ap.add_argument("--days", type=float, default=1.0, help="simulated days of each scaling variant")
    ap.add_argument("--workers", type=int, default=None, help="cluster worker processes (default one per core)")
    ap.add_argument("--rounds", type=int, default=2, help="alternations of serial and cluster slices")
    ap.add_argument("--batches", default="1,auto", help="variants per Dask task in the scaling part, each measured "
                    "against the same serial slices: numbers or 'auto' (execute's default), comma-separated")
    ap.add_argument("--annual-days", type=float, default=365.0,
                    help="days of each annual-sweep variant from 1 January (365: the weather year)")
    ap.add_argument("--e2e-root", default=None, help="checkout of dcplan the e2e part measures (default this one)")
    ap.add_argument("--e2e-compare", default=None, help="another checkout whose e2e runs are interleaved with "
                    "those of --e2e-root (or this one) in the same batch; one JSON line each")
    ap.add_argument("--e2e-method", default=None, choices=("spawn", "forkserver", "fork"),
                    help="worker start method of the embedded cluster in the e2e part (default: dcplan's)")
    ap.add_argument("--e2e-child", default=None, choices=("serial", "cluster"), help=argparse.SUPPRESS)
    ap.add_argument("--annual-limit", type=int, default=None, help="run only the first N of the 36 variants")
    a = ap.parse_args()
    if a.e2e_child:  # one run of the e2e part, in the checkout given (the parent started this process for it)
        if a.e2e_root:
            sys.path.insert(0, str(Path(a.e2e_root).resolve()))
        print(json.dumps(_e2e_child(a.e2e_child, a.variants, a.days, a.workers, a.e2e_method)), flush=True)
        return
    if a.part in ("kernels", "all"):
        print(json.dumps(kernels(a.kernel_tasks, a.workers)), flush=True)
    if a.part in ("scaling", "all"):
        print(json.dumps(scaling(a.variants, a.days, a.workers, a.rounds, a.batches.split(","))), flush=True)
    if a.part in ("threads", "all"):
        print(json.dumps(threads(a.variants, a.days, a.workers, a.kinds.split(","))), flush=True)
    if a.part in ("e2e", "all"):
        for out in e2e(a.variants, a.days, a.workers, a.rounds, a.e2e_root, a.e2e_method, a.e2e_compare):
            print(json.dumps(out), flush=True)
    if a.part in ("annual", "all"):
        print(json.dumps(annual(a.annual_days, a.workers, a.annual_limit)), flush=True)


if __name__ == "__main__":
    main()
