"""Timeline of one end-to-end sweep on the embedded cluster, as ``bench_sweep.py --part e2e`` runs it
(fresh process, demo plan built before the clock, ``define`` + ``execute``), with the CPU of every
process: where the seconds to the first row and after the last row go (planner/sweep/STATUS.md,
session 8).

Run: ``.venv/bin/python benchmarks/sweep_timeline.py [--root CHECKOUT] [--variants 200]``; prints one
JSON object: ``marks`` (seconds from the call: variants defined, forkserver started, this process done
importing ``distributed``, scheduler up, kernel plugin registered, first row, last row, returned),
``forkserver`` (its preload imports: start, end, CPU seconds; its CPU in all), ``workers`` (each: fork,
registered with the scheduler, first task start and end, last task end, tasks, variants, seconds
busy in tasks, CPU seconds of the process and of the task thread, its last four tasks, its idle time
before the last row, the variants of each of its tasks), ``main_threads_cpu`` (this
process's threads during the run: the sweep's own thread, Dask's event loop with scheduler, nannies
and client), ``load`` (1-min load average). ``--root`` measures another checkout (e.g. main's).

Instrumentation only: two preload modules around the forkserver's own (timestamps in the server),
wrappers of Dask's scheduler/worker methods and of ``planner.sweep.worker.run_batch`` (task times);
nothing of the sweep's code path is changed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

_BEGIN = """import os, time
if os.environ.get("DCPLAN_FORKSERVER") == "1":
    T = (time.time(), time.process_time())
"""
_END = """import json, os, time
EVENTS = []
if os.environ.get("DCPLAN_FORKSERVER") == "1":
    import tl_fs_begin
    with open(os.path.join(os.environ["TL_DIR"], f"fs_{os.getpid()}.json"), "w") as fh:
        json.dump({"begin": tl_fs_begin.T, "end": (time.time(), time.process_time())}, fh)

    def _child():
        del EVENTS[:]
        EVENTS.append(("fork", time.time()))
        import distributed.worker as dw
        import planner.sweep.worker as w
        real = w.run_batch

        def run_batch(*a, **k):
            t, c = time.time(), time.thread_time()
            r = real(*a, **k)
            EVENTS.append(("task", t, time.time(), len(a[4]), time.thread_time() - c))
            return r
        w.run_batch = run_batch
        real_register = dw.Worker._register_with_scheduler

        async def register(self):
            r = await real_register(self)
            EVENTS.append(("registered", time.time()))
            return r
        dw.Worker._register_with_scheduler = register
    os.register_at_fork(after_in_child=_child)
"""


def _proc_cpu(pid: int, tid: int | None = None) -> float:
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    with open(path) as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def _worker_report():
    import psutil
    import tl_fs_end
    t = psutil.Process().cpu_times()
    return {"pid": os.getpid(), "cpu": t.user + t.system, "events": list(tl_fs_end.EVENTS)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[1]), help="checkout of dcplan measured")
    ap.add_argument("--variants", type=int, default=200)
    a = ap.parse_args()
    root = str(Path(a.root).resolve())
    tl_dir = tempfile.mkdtemp(prefix="dcplan-timeline-")
    for name, text in (("tl_fs_begin", _BEGIN), ("tl_fs_end", _END)):
        Path(tl_dir, f"{name}.py").write_text(text)
    os.environ["TL_DIR"] = tl_dir
    os.environ["DCPLAN_BENCH_ROOT"] = root  # bench_sweep (imported for its variants) puts that checkout first
    os.chdir(root)  # as bench_sweep's e2e children run (a forked worker takes its parent's working directory)
    sys.path[:0] = [root, tl_dir, str(Path(__file__).resolve().parent)]
    import bench_sweep
    from planner.demo import build_demo_plan
    from planner.sweep import define, execute
    from planner.sweep import runner

    runner.FORKSERVER_PRELOAD = ("tl_fs_begin", *runner.FORKSERVER_PRELOAD, "tl_fs_end")
    marks: dict[str, float] = {}
    info: dict = {}

    def mark(key):
        marks.setdefault(key, time.time())

    from multiprocessing import forkserver as fsm
    real_ensure = fsm.ForkServer.ensure_running

    def ensure(self):
        mark("forkserver_start_called")
        return real_ensure(self)
    fsm.ForkServer.ensure_running = ensure
    fsm.ensure_running = fsm._forkserver.ensure_running

    def patch_dask():  # on the first connect (distributed is imported there, inside the clock)
        import distributed
        real_reg = distributed.Client.register_plugin
        real_close = distributed.Client.close

        real_lc = distributed.LocalCluster.__init__

        def lc_init(self, *x, **k):
            real_lc(self, *x, **k)
            mark("local_cluster_returned")
            info["workers_at_cluster_return"] = len(self.scheduler_info.get("workers", {}))

        def reg(self, plugin, *x, **k):
            if type(plugin).__name__ == "SolverKernels":
                mark("kernel_plugin_register_called")
            r = real_reg(self, plugin, *x, **k)
            if type(plugin).__name__ == "SolverKernels":
                mark("kernel_plugin_registered")
            return r
        distributed.LocalCluster.__init__ = lc_init

        def close(self, *x, **k):
            if "workers" not in info:
                mark("close_called")
                info["workers"] = list(self.run(_worker_report).values())
                info["threads"] = {th.name: _proc_cpu(os.getpid(), th.native_id) for th in threading.enumerate()}
                pid = fsm._forkserver._forkserver_pid
                info["fs_pid"], info["fs_cpu"] = pid, (_proc_cpu(pid) if pid else None)
            return real_close(self, *x, **k)
        distributed.Client.register_plugin, distributed.Client.close = reg, close

    real_connect = runner.connect

    @contextmanager
    def connect(*x, **k):
        mark("connect_called")
        patch_dask()
        mark("distributed_imported")
        with real_connect(*x, **k) as c:
            yield c
    runner.connect = connect
    plan = build_demo_plan()
    params = bench_sweep._scaling_params(a.variants)
    rows_at: list[float] = []

    def on_row(_row):
        rows_at.append(time.time())
    th0 = {th.name: _proc_cpu(os.getpid(), th.native_id) for th in threading.enumerate()}
    t0 = time.time()
    sweep = define(plan, params, days=1)
    mark("defined")
    rows = execute(sweep, on_row=on_row)
    mark("returned")
    marks["first_row"], marks["last_row"] = rows_at[0], rows_at[-1]
    out = {"root": root, "runner": runner.__file__, "variants": len(rows),
           "workers_at_cluster_return": info.get("workers_at_cluster_return"),
           "marks": {k: round(v - t0, 3) for k, v in sorted(marks.items(), key=lambda kv: kv[1])},
           "main_threads_cpu": {k: round(v - th0.get(k, 0.0), 3) for k, v in info["threads"].items()
                                if v - th0.get(k, 0.0) > 0}}
    fs_file = Path(tl_dir, f"fs_{info['fs_pid']}.json")
    if fs_file.exists():
        fs = json.loads(fs_file.read_text())
        out["forkserver"] = {"preload_start": round(fs["begin"][0] - t0, 3), "preload_end": round(fs["end"][0] - t0, 3),
                             "preload_cpu": round(fs["end"][1] - fs["begin"][1], 3), "cpu": info["fs_cpu"]}
    out["workers"] = []
    for w in info["workers"]:
        ev = {e[0]: round(e[1] - t0, 3) for e in w["events"] if e[0] != "task"}
        tasks = [e for e in w["events"] if e[0] == "task"]
        out["workers"].append({**ev, "first_task": round(tasks[0][1] - t0, 3), "first_task_end": round(tasks[0][2] - t0, 3),
                               "last_task_end": round(tasks[-1][2] - t0, 3), "tasks": len(tasks),
                               "variants": sum(e[3] for e in tasks), "busy_s": round(sum(e[2] - e[1] for e in tasks), 3),
                               "cpu": round(w["cpu"], 3), "task_thread_cpu": round(sum(e[4] for e in tasks), 3),
                               # the sweep's end: this worker's last tasks (start, end, variants) and how long it
                               # sat idle before the last row arrived (the other worker's last task still running)
                               "last_tasks": [[round(e[1] - t0, 3), round(e[2] - t0, 3), e[3]] for e in tasks[-4:]],
                               "idle_at_end_s": round(marks["last_row"] - tasks[-1][2], 3),
                               "task_sizes": [e[3] for e in tasks]})
    out["load"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
