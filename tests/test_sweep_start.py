"""The embedded cluster's start (session 8 of issue 15): the forkserver starts before this process
imports Dask, the client is handed out while the forked workers start, tasks go to the workers as
they register, and a variant task carries the base plan and weather it needs instead of depending
on tasks that pinned every variant task to the first worker."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from planner.sweep import TIMING_FIELDS, define, execute, run_serial
from planner.sweep import runner, worker

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _comparable(rows):
    return {r["variant_hash"]: {k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows}


def _forkserver_or_skip():
    if runner.worker_start_method() != "forkserver":  # pragma: no cover (macOS, Windows: spawn)
        pytest.skip("no forkserver on this platform")


_FRESH_START = r"""
import json, os, sys


def environ():
    return dict(os.environ)


if __name__ == "__main__":
    from planner.sweep import runner
    before = dict(os.environ)
    runner.start_forkserver()
    out = {"dask_imported_by_the_start": "dask" in sys.modules, "env_unchanged": dict(os.environ) == before}
    with runner.connect(workers=1) as client:
        out["worker_env"] = list(client.run(environ).values())[0]
    print(json.dumps(out))
"""


@pytest.mark.timeout(180)
def test_a_fresh_process_starts_the_forkserver_before_importing_dask_and_its_workers_get_the_pre_spawn_settings(tmp_path):
    """A process that has not imported Dask starts its forkserver at once (``import dask`` here took
    ~0.1 s before the server could start) and the server reads Dask's pre-spawn environment itself:
    the worker has distributed's defaults (one BLAS/OpenMP thread, the malloc trim threshold) and a
    setting the user made through Dask's own environment variables, exactly what this process, which
    has Dask, reads; the sweep's process keeps its environment."""
    _forkserver_or_skip()
    user = {"DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON__DCPLAN_TEST_SETTING": "yes"}
    script = tmp_path / "fresh_start.py"
    script.write_text(_FRESH_START)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    out = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=150,
                         env={**env, **user, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert not res["dask_imported_by_the_start"] and res["env_unchanged"], res
    expected = subprocess.run([sys.executable, "-c", "import json; from planner.sweep import forkserver_start as f; "
                               "print(json.dumps(f.dask_pre_spawn_environ()))"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60, env={**env, **user, "PYTHONPATH": str(ROOT)})
    expected = json.loads(expected.stdout.strip().splitlines()[-1])
    assert expected.get("OMP_NUM_THREADS") == "1" and "MALLOC_TRIM_THRESHOLD_" in expected, expected
    assert "yes" in expected.values(), expected  # the user's setting (Dask lower-cases the variable's name)
    got = res["worker_env"]
    assert {k: got.get(k) for k in expected} == expected
    assert got["NUMBA_NUM_THREADS"] == "1" and got["DCPLAN_THREADS"] == "1"


def _futures_in(obj) -> list:
    from distributed import Future
    if isinstance(obj, Future):
        return [obj]
    if isinstance(obj, dict):
        return [f for v in obj.values() for f in _futures_in(v)]
    if isinstance(obj, (list, tuple, set)):
        return [f for v in obj for f in _futures_in(v)]
    return []


def _spy_submits(monkeypatch) -> list:
    """(function, args, kwargs) of every task any Client submits from now on."""
    from distributed import Client

    submitted = []
    real_submit = Client.submit

    def spy(self, func, *args, **kwargs):
        submitted.append((func, args, kwargs))
        return real_submit(self, func, *args, **kwargs)

    monkeypatch.setattr(Client, "submit", spy)
    return submitted


@pytest.mark.timeout(240)
def test_on_the_embedded_cluster_variant_tasks_carry_their_plan_and_weather_and_depend_on_no_task(demo, monkeypatch):
    """Every variant task of the embedded cluster gets the base plan and the weather files of its
    variants as pickles (a task that depends on another runs only where that one's result is: the
    first worker to register took every task); the rows are the serial rows."""
    sweep = define(demo, {"weather": ["phoenix", "minneapolis"], "setpoint.TCS": [43, 45]}, days=1 / 24)
    submitted = _spy_submits(monkeypatch)
    rows = execute(sweep, workers=2, batch_size=1)
    assert _comparable(rows) == _comparable(run_serial(sweep))
    assert len(submitted) == 4 and all(f is worker.run_packed_batch for f, _, _ in submitted)
    assert [_futures_in((a, k)) for _, a, k in submitted] == [[]] * 4  # no task depends on another
    assert len({a[0] for _, a, _ in submitted}) == 1 and len({k for _, a, _ in submitted for k in a[3]}) == 2


@pytest.mark.timeout(240)
def test_on_a_users_cluster_the_plan_and_each_weather_file_are_sent_once_as_tasks_the_variants_depend_on(demo, monkeypatch):
    """A client of the user's (here a LocalCluster the test builds; --scheduler alike): the base plan
    and each weather file are one task each, which every variant task depends on, so a variant task
    carries neither (a weather file is ~0.6 MB: inside each of 1000 annual tasks, ~630 MB sent from
    the user's machine); the rows are the serial rows."""
    import pickle

    from distributed import Client, LocalCluster

    sweep = define(demo, {"weather": ["phoenix", "minneapolis"], "setpoint.TCS": [43, 45]}, days=1 / 24)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        submitted = _spy_submits(monkeypatch)
        rows = execute(sweep, client, batch_size=1)
    assert _comparable(rows) == _comparable(run_serial(sweep))
    variant_tasks = [(a, k) for f, a, k in submitted if f is worker.run_batch]
    others = [k["key"] for f, _, k in submitted if f is not worker.run_batch]
    assert len(variant_tasks) == 4 and len(others) == 3, others
    assert sum(k.startswith("dcplan-plan-") for k in others) == 1
    assert sum(k.startswith("dcplan-weather-") for k in others) == 2
    for args, kwargs in variant_tasks:
        deps = _futures_in((args, kwargs))
        assert len(deps) == 2 and {d.key for d in deps} <= set(others)  # the plan and the variant's weather
        plain = pickle.dumps((args[1], args[2], args[4]))  # scenario, settings, the variant: what travels inline
        assert len(plain) < 20_000, len(plain)  # a parsed weather file alone is ~600 kB
    assert len(pickle.dumps(sweep.weather[next(iter(sweep.weather))])) > 300_000  # what no variant task carries


class _Nthreads:
    def __init__(self, n):
        self.n = n

    def nthreads(self):
        return {f"w{k}": 1 for k in range(self.n)}


def test_while_the_workers_start_tasks_are_submitted_for_the_registered_threads_only():
    """While an embedded cluster's workers start, the sweep counts the worker threads registered so
    far (tasks submitted while no worker is registered all go to the first one that registers); a
    registration wakes the sweep; once all are up it asks the scheduler as before."""
    import concurrent.futures

    woken = []
    starting = runner._Starting()
    starting.future = concurrent.futures.Future()
    starting.wake = lambda: woken.append(starting.threads)
    threads = runner._Threads(_Nthreads(5), starting)
    assert threads.count() == 0 and starting.check()
    starting.registered(1, "tcp://127.0.0.1:1")
    assert threads.count() == 1 and woken == [1]
    starting.registered(1, "tcp://127.0.0.1:2")
    assert threads.count() == 2 and woken == [1, 2]
    starting.future.set_result(None)
    assert not starting.check()
    assert threads.count() == 5  # the scheduler's count from now on
    failed = runner._Starting()
    failed.future = concurrent.futures.Future()
    failed.future.set_exception(RuntimeError("Nanny failed to start."))
    with pytest.raises(runner.SweepError, match=r"could not start \(RuntimeError: Nanny failed to start.\); the rows done"):
        failed.check()
    with pytest.raises(runner.SweepError, match="could not start"):  # what execute's loop asks every POLL_S
        runner._Threads(_Nthreads(1), failed).count()
    assert math.isinf(runner._Threads(_Nthreads(1)).at)


@pytest.mark.timeout(60)
def test_a_worker_that_dies_while_the_others_start_leaves_the_count_and_its_replacement_is_counted_once():
    """The scheduler plugin that follows the embedded cluster's start, on a real Dask scheduler with
    real workers (in this process): one that joins and then dies (its nanny would start a replacement
    under a new address) no longer counts; the replacement counts once; the wake fires per join."""
    import asyncio

    from distributed import Scheduler, Worker

    starting = runner._Starting()
    woken = []
    starting.wake = lambda: woken.append(starting.threads)
    counts = []

    async def main():
        async with Scheduler(host="127.0.0.1", dashboard_address=":0", validate=True) as s:
            s.add_plugin(runner._registrations(starting))
            async with Worker(s.address, nthreads=1, host="127.0.0.1"):
                counts.append(starting.threads)  # 1
                async with Worker(s.address, nthreads=2, host="127.0.0.1") as dies:
                    counts.append(starting.threads)  # 3
                    gone = dies.address
                    await dies.close()  # dies mid-start (as a killed process is removed by the scheduler)
                    while gone in s.workers:
                        await asyncio.sleep(0.01)
                    counts.append(starting.threads)  # 1
                async with Worker(s.address, nthreads=2, host="127.0.0.1"):  # the nanny's replacement
                    counts.append(starting.threads)  # 3
            counts.append(starting.threads)  # all gone: 0

    asyncio.run(main())
    assert counts == [1, 3, 1, 3, 0]
    assert woken == [1, 3, 3]  # a wake per registration (a removal submits nothing new)


@pytest.mark.timeout(240)
def test_the_embedded_cluster_submits_while_its_workers_start_and_rows_equal_serial(demo, monkeypatch):
    """An embedded cluster (forked workers): the sweep submits before its workers are up, never more
    tasks than two per registered worker thread (one before the first registers), and gives the
    serial rows."""
    _forkserver_or_skip()
    import asyncio
    import threading

    sweep = define(demo, {"setpoint.TCS": [42, 43, 44, 45], "control": ["reactive", "predictive"]}, days=1 / 24)
    seen = []
    from distributed import Client

    # The workers' start waits on an asyncio.Event (in the cluster's event loop) that the first submit
    # sets: the first task goes out while no worker is up, whatever the machine's load (without it a
    # worker registered before register_plugin made the sweep wait for its kernel load meanwhile).
    gate = {"released": False, "loop": None, "event": None}
    lock = threading.Lock()
    real_start = runner._start_workers

    async def held_start(cluster, starting):
        with lock:
            gate["loop"], gate["event"] = asyncio.get_running_loop(), asyncio.Event()
            if gate["released"]:
                gate["event"].set()
        await gate["event"].wait()
        await real_start(cluster, starting)

    def release():
        with lock:
            if not gate["released"]:
                gate["released"] = True
                if gate["loop"] is not None:
                    gate["loop"].call_soon_threadsafe(gate["event"].set)

    real_submit = Client.submit

    def spy(self, func, *args, **kwargs):
        st = runner._STARTING.get(self)
        in_flight = sum(1 for f in self.futures.values() if getattr(f, "status", "") == "pending")
        seen.append((None if st is None or st.future.done() else st.threads, in_flight))
        try:
            return real_submit(self, func, *args, **kwargs)
        finally:
            release()

    monkeypatch.setattr(runner, "_start_workers", held_start)
    monkeypatch.setattr(Client, "submit", spy)
    rows = execute(sweep, workers=2, batch_size=1)
    assert _comparable(rows) == _comparable(run_serial(sweep))
    assert seen and seen[0] == (0, 0), seen  # the first task went out before any worker was up
    for threads, in_flight in seen:
        if threads is not None:
            assert in_flight < max(runner.IN_FLIGHT_PER_THREAD * threads, 1), seen


def _forked_workers() -> list:
    """Live processes forked by this process's forkserver (the embedded cluster's workers)."""
    import psutil

    me = psutil.Process()
    return [p for child in me.children() for p in child.children(recursive=True) if p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.timeout(120)
def test_a_worker_that_cannot_start_fails_the_sweep_with_one_line_instead_of_hanging(demo, monkeypatch):
    """A worker whose start fails (a real nanny: its worker preloads a module that does not exist)
    fails the sweep, which no longer waits for its workers before submitting, with a SweepError (the
    CLI prints it as one line, not a traceback) instead of waiting for ever for rows; no forked
    worker process is left behind."""
    _forkserver_or_skip()
    import time

    from distributed import LocalCluster

    real_spec = LocalCluster.new_worker_spec

    def broken_spec(self):
        spec = real_spec(self)
        for s in spec.values():
            s.setdefault("options", {})["preload"] = ["no_such_module_xyz"]
        return spec

    monkeypatch.setattr(LocalCluster, "new_worker_spec", broken_spec)
    sweep = define(demo, {"setpoint.TCS": [43]}, days=1 / 24)  # one variant: none left to submit while it waits
    with pytest.raises(runner.SweepError, match=r"^a worker of the embedded cluster could not start \(\w+: .+\); "
                                                r"the rows done so far are kept$") as err:
        execute(sweep, workers=1)
    assert err.value.__cause__ is not None, str(err.value)
    deadline = time.monotonic() + 10
    while _forked_workers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _forked_workers() == []


def test_two_in_process_workers_load_the_kernels_once(monkeypatch):
    """The in-process workers of a ``processes=False`` cluster run the plugin's setup in two threads of
    one process at once: the kernels load once, and both get its time."""
    import threading
    import time

    import planner.solver.warmup
    from planner.sweep import kernels

    calls = []

    def slow_warm():
        calls.append(threading.get_ident())
        time.sleep(0.2)  # long enough for the second thread to arrive while the first loads
        return 0.2

    monkeypatch.setattr(kernels, "_loaded_s", None)
    monkeypatch.setattr(planner.solver.warmup, "warm", slow_warm)
    got = []
    threads = [threading.Thread(target=lambda: got.append(kernels.load_kernels())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(calls) == 1 and got == [0.2, 0.2]
