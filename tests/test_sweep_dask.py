"""Sweeps on real Dask clusters: an in-process LocalCluster, a `dask scheduler` and `dask worker`
processes on 127.0.0.1 (one killed mid-sweep), Ctrl+C then --resume through the CLI.

Kept small (one-hour to six-hour demo variants) and bounded: every test has a timeout, every
process it starts runs in its own session and is stopped at the end, and the tests check that
nothing is left behind.
"""
from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from models.store import load_plan
from planner.sweep import ResultsFile, TIMING_FIELDS, define, run, run_serial

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DCPLAN = [sys.executable, "-m", "ui.cli"]
pytestmark = pytest.mark.slow


def _python_json(args: list, env: dict | None = None, timeout: float = 120) -> dict:
    """Run ``python *args`` from the checkout (``env``: the whole environment, this process's unless
    given; ``PYTHONPATH`` set to the checkout) and return the JSON of its last output line; a
    failed run fails the test with its stderr."""
    out = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                         env={**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    return __import__("json").loads(out.stdout.strip().splitlines()[-1])


def _comparable(rows):
    """Rows keyed by content hash, timing fields dropped (they differ from run to run)."""
    return {r["variant_hash"]: {k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows}


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _session_pids(sid: int) -> list[int]:
    """Live processes of session ``sid`` (the processes a test started with start_new_session)."""
    out = []
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getsid(p.pid) == sid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except (ProcessLookupError, PermissionError, psutil.Error):
            pass
    return out


def _left_in_session(sid: int, wait_s: float = 10.0) -> list[str]:
    """Command lines of processes still in session ``sid`` after up to ``wait_s`` (helpers such
    as multiprocessing's resource tracker exit a moment after their parent)."""
    t0 = time.monotonic()
    while _session_pids(sid) and time.monotonic() - t0 < wait_s:
        time.sleep(0.1)
    out = []
    for pid in _session_pids(sid):
        try:
            out.append(" ".join(psutil.Process(pid).cmdline()))
        except psutil.Error:
            pass
    return out


def _stop_session(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Stop every process of the session ``proc`` leads: SIGTERM, then SIGKILL after ``grace_s``."""
    sid = proc.pid
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        if not _session_pids(sid):
            break
        try:
            os.killpg(sid, sig)
        except ProcessLookupError:
            pass
        t0 = time.monotonic()
        while _session_pids(sid) and time.monotonic() - t0 < wait:
            time.sleep(0.1)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


def _children() -> set[int]:
    """Child processes of this test process, except multiprocessing's resource tracker (the stdlib
    starts one with the first spawned process; it lives as long as its parent, by design)."""
    out = set()
    for c in psutil.Process().children(recursive=True):
        try:
            if not any("resource_tracker" in part for part in c.cmdline()):
                out.add(c.pid)
        except psutil.Error:
            pass
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(240)
def test_local_cluster_with_two_workers_gives_the_serial_rows(demo):
    from distributed import Client, LocalCluster

    params = {"weather": ["phoenix", "minneapolis"], "control": ["reactive", "predictive"],
              "units.FWS": ["N", "N+1"], "setpoint.TCS": [43, 45]}
    serial = run_serial(define(demo, params, days=2 / 24))
    before = _children()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        rows = run(demo, params, client=client, days=2 / 24)
        assert len(client.scheduler_info()["workers"]) == 2
    assert len(rows) == len(serial) == 16
    assert [r["variant_hash"] for r in rows] == [r["variant_hash"] for r in serial]  # factorial order
    assert _comparable(rows) == _comparable(serial)  # every field but wall_time_s, bit for bit
    assert all(r["error"] == "" and r["cost_usd"] > 0 for r in rows)
    # the variants really differ (a TCS setpoint on a lightly loaded night moves energies in the 7th
    # digit, below the rounded cost, since issue 12's implicit loop control: compare energies too)
    assert len({(r["cost_usd"], r["max_gpu_temp_c"], r["facility_energy_kwh"], r["heat_rejected_kwh"])
                for r in rows}) == 16
    time.sleep(0.5)
    assert _children() - before == set()


def _kernel_state():
    """On a worker: (stepping kernel loaded, numba cache misses = compiles, seconds the dcplan plugin's
    load took or None)."""
    from planner.solver import integrate
    from planner.sweep.kernels import loaded_s

    return (bool(integrate._advance.signatures), sum(integrate._advance.stats.cache_misses.values()), loaded_s())


def _first_task_state():
    from planner.solver import integrate
    return bool(integrate._advance.signatures)


@pytest.mark.timeout(240)
def test_workers_load_the_compiled_kernels_once_when_they_join_and_never_compile(demo):
    """The worker plugin loads numba's cached kernels as a worker joins (a replacement worker too),
    so no variant pays the load (bench_sweep.py --part kernels: ~5x a one-day variant's CPU) and no
    worker compiles."""
    from distributed import Client, LocalCluster

    from planner.sweep.kernels import load_kernels

    load_kernels()  # fills the on-disk cache here if this checkout's kernels are not compiled yet
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        assert list(client.run(_kernel_state).values()) == [(False, 0, None)]  # Dask alone: nothing loaded
        rows = run(demo, {"setpoint.TCS": [43, 45]}, client=client, days=1 / 24)
        assert [r["error"] for r in rows] == ["", ""]
        (loaded, compiles, first_load_s), = client.run(_kernel_state).values()
        assert loaded and compiles == 0 and first_load_s > 0
        # a task submitted now (a new variant's first call) finds them loaded
        assert client.submit(_first_task_state, pure=False).result()
        cluster.scale(2)  # a worker that joins later (as after a crash) gets the plugin from the scheduler
        client.wait_for_workers(2, timeout=120)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120:
            states = list(client.run(_kernel_state).values())
            if all(st[2] is not None for st in states):
                break
            time.sleep(0.2)
        assert len(states) == 2 and all(st[0] and st[1] == 0 and st[2] > 0 for st in states), states
        run(demo, {"setpoint.TCS": [44]}, client=client, days=1 / 24)  # registered again: not reloaded
        assert sorted(st[2] for st in client.run(_kernel_state).values()) == sorted(st[2] for st in states)


def _dask_setting(name):
    import dask
    return dask.config.get(name)


@pytest.mark.timeout(120)
def test_the_embedded_cluster_runs_its_background_loops_at_the_sweep_settings():
    """The embedded cluster's scheduler and worker processes run with EMBEDDED_CONFIG (an idle
    2-worker cluster: 0.017 of a core instead of Dask's default 0.077, bench_sweep.py), and the
    caller's own Dask configuration is left as it was."""
    import dask
    import distributed  # noqa: F401  (registers the distributed.* config defaults read below; alone, this
    # test used to run before anything had imported it and dask.config.get raised KeyError)

    from planner.sweep.runner import EMBEDDED_CONFIG, connect

    before = {k: dask.config.get(k) for k in EMBEDDED_CONFIG}
    assert before != EMBEDDED_CONFIG  # Dask's defaults differ, so the check below can fail
    with connect(workers=1) as client:
        for name, value in EMBEDDED_CONFIG.items():
            assert list(client.run(_dask_setting, name).values()) == [value], name
    assert {k: dask.config.get(k) for k in EMBEDDED_CONFIG} == before


def _worker_origin():
    """On a worker: its parent's command line, whether SIGINT is ignored, the BLAS/OpenMP thread
    setting, where dcplan's package comes from, and whether the parent has numba's compiler library
    loaded (it imported the solver: the preload worked; a failed preload import is silent)."""
    import signal as sig

    import planner
    parent = psutil.Process().parent()
    import numba
    return {"parent": " ".join(parent.cmdline()), "sigint_ignored": sig.getsignal(sig.SIGINT) == sig.SIG_IGN,
            "omp_threads": os.environ.get("OMP_NUM_THREADS"), "planner": planner.__file__,
            "numba_threads": (numba.config.NUMBA_NUM_THREADS, os.environ.get("DCPLAN_THREADS")),
            "parent_has_numba": any("llvmlite" in m.path for m in parent.memory_maps())}


@pytest.mark.timeout(120)
def test_the_embedded_workers_fork_from_a_preloaded_forkserver_that_ignores_ctrl_c():
    """The embedded cluster starts its workers from this process's forkserver (not by spawning a fresh
    interpreter each: ~1.2 CPU-s of imports per worker, and ~1 s of interpreter exit at shutdown; not
    by forking this threaded process): each worker is a child of the forkserver, ignores SIGINT (Ctrl+C
    reaches only the sweep's process, which cancels and closes the cluster), has Dask's one-thread
    BLAS/OpenMP setting and one numba thread, and runs this checkout's dcplan. The cluster's processes are gone when the
    sweep is over; the forkserver stays for the next sweep of this process."""
    import planner
    from planner.sweep.runner import FORKSERVER_PRELOAD, connect, worker_start_method

    if worker_start_method() != "forkserver":  # pragma: no cover (Windows: spawn)
        pytest.skip("no forkserver on this platform")
    # as it was, not "not ignored": a process started in the background by a non-interactive shell
    # (nohup … &, a CI runner) starts with SIGINT ignored, and that is not the sweep's doing
    sigint_before = signal.getsignal(signal.SIGINT)
    with connect(workers=2) as client:
        origins = list(client.run(_worker_origin).values())
        pids = list(client.run(os.getpid).values())
    assert len(origins) == 2
    for o in origins:
        assert "multiprocessing.forkserver" in o["parent"] and repr(list(FORKSERVER_PRELOAD)) in o["parent"], o
        assert o["sigint_ignored"] and o["omp_threads"] == "1" and o["parent_has_numba"], o
        assert o["numba_threads"] == (1, "1"), o  # two workers on two cores, not 2 x numba's threads
        assert o["planner"] == planner.__file__
    assert {"distributed", "planner.sweep.worker"} <= set(FORKSERVER_PRELOAD)
    t0 = time.monotonic()
    while any(psutil.pid_exists(p) for p in pids) and time.monotonic() - t0 < 10:
        time.sleep(0.1)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids)
    # the SIGINT disposition of this process is as it was
    assert signal.getsignal(signal.SIGINT) is sigint_before


def test_starting_the_forkserver_leaves_this_process_environment_as_it_was(monkeypatch):
    """The forkserver gets Dask's pre-spawn settings (one BLAS/OpenMP thread) and this checkout's path;
    the sweep's own process keeps its environment — it may start no cluster at all (a bad plan, a
    refused definition, --resume with every row done) and its numpy would otherwise run one thread."""
    from planner.sweep.runner import start_forkserver, worker_start_method

    if worker_start_method() != "forkserver":  # pragma: no cover (macOS, Windows: spawn)
        pytest.skip("no forkserver on this platform")
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path[:1]))
    before = dict(os.environ)
    start_forkserver()
    assert dict(os.environ) == before


@pytest.mark.timeout(120)
def test_where_there_is_no_forkserver_the_embedded_workers_are_spawned(monkeypatch):
    """The spawn path (Windows, macOS) on this machine: the workers are fresh interpreters, not children
    of a forkserver, ignore Ctrl+C, run one numba thread and this checkout's dcplan."""
    import planner
    from planner.sweep import runner

    monkeypatch.setattr(runner, "worker_start_method", lambda: "spawn")
    with runner.connect(workers=1) as client:
        origins = list(client.run(_worker_origin).values())
    assert len(origins) == 1
    assert "multiprocessing.forkserver" not in origins[0]["parent"], origins
    assert origins[0]["sigint_ignored"] and origins[0]["planner"] == planner.__file__, origins
    assert origins[0]["numba_threads"] == (1, "1"), origins


@pytest.fixture
def dask_processes(tmp_path):
    """A `dask scheduler` and two single-thread `dask worker` processes on 127.0.0.1, each in its own
    session; stopped (and checked gone) at the end."""
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs: dict[str, subprocess.Popen] = {}

    def start(name, *args):
        log = open(tmp_path / f"{name}.log", "w")
        procs[name] = subprocess.Popen([str(BIN / "dask"), *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
        for k in (1, 2):
            start(f"worker{k}", "worker", address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                  "--no-dashboard", "--name", f"w{k}")
        with Client(address, timeout="60s") as c:
            c.wait_for_workers(2, timeout=90)
        yield address, procs
    finally:
        for p in procs.values():
            _stop_session(p)
        left = {n: _session_pids(p.pid) for n, p in procs.items()}
        assert not any(left.values()), f"processes left behind: {left}"


@pytest.mark.timeout(300)
def test_sweep_through_a_scheduler_survives_a_killed_worker(tmp_path, demo, plan_file, dask_processes):
    from distributed import Client

    address, procs = dask_processes
    out = tmp_path / "results.csv"

    def running(dask_worker) -> list[str]:  # (local: sent by value; the workers cannot import this module)
        """Keys of the tasks the worker is running now (``Client.run`` on a worker)."""
        return [str(ts.key) for ts in dask_worker.state.executing]

    # 20 one-day variants (~2.6 CPU-s) in tasks of 2: a killed worker's batch is run again, whole
    tcs = [str(41 + k) for k in range(10)]
    vary = ["--vary", "control=reactive,predictive", "--vary", f"setpoint.TCS={','.join(tcs)}"]
    cli = subprocess.Popen([*DCPLAN, "sweep", str(plan_file), "--days", "1", *vary, "--scheduler", address,
                            "--out", str(out), "--json", "--batch", "2"], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        # Kill worker 1 while it runs a variant task of the sweep, once some rows are written: asked of
        # the worker itself at each poll (not a row count at one instant, which depends on the timing),
        # so the kill lands mid-sweep by construction (that task's rows cannot have been written yet),
        # with rows done before it and rows to do after it.
        def rows_written() -> int:
            return out.read_bytes().count(b"\n") - 1 if out.exists() else 0

        with Client(address, timeout="30s") as c:
            victim = next(a for a, w in c.scheduler_info()["workers"].items() if w["name"] == "w1")
            t0 = time.monotonic()
            while not (rows_written() >= 2 and any(k.startswith("dcplan-variants-")
                                                   for k in c.run(running, workers=[victim])[victim])):
                assert cli.poll() is None, ("the sweep ended before worker 1 ran a task after the first rows",
                                            cli.communicate())
                assert time.monotonic() - t0 < 120, "no rows, or worker 1 got no variant task, in 2 minutes"
                time.sleep(0.02)
            os.killpg(procs["worker1"].pid, signal.SIGKILL)  # worker and its nanny: a lost machine
        rows_at_kill = rows_written()
        assert 2 <= rows_at_kill <= 18, rows_at_kill  # (the victim's batch of 2 was running)
        stdout, stderr = cli.communicate(timeout=180)
    finally:
        _stop_session(cli)
    assert cli.returncode == 0, stderr
    with Client(address, timeout="30s") as c:
        assert list(w["name"] for w in c.scheduler_info()["workers"].values()) == ["w2"]
    rows = _read_csv(out)
    hashes = [r["variant_hash"] for r in rows]
    sweep = define(load_plan(str(plan_file)), {"control": ["reactive", "predictive"], "setpoint.TCS": tcs}, days=1)
    assert hashes == [v.hash for v in sweep.variants]  # every row, once, in variant order
    import json
    report = json.loads(stdout)
    assert report["run"] == 20 and report["failed"] == 0
    assert _comparable(report["rows"]) == _comparable(run_serial(sweep))


@pytest.mark.timeout(300)
def test_ctrl_c_then_resume_gives_the_uninterrupted_rows(tmp_path, demo, plan_file):
    out = tmp_path / "results.csv"
    # 24 one-day variants in tasks of 2 (~3 CPU-s: the Ctrl+C after the first rows lands mid-sweep
    # however fast the machine; the rows of batches that finished are kept, the rest run on --resume)
    vary = {"containment": ["none", "hot"], "units.FWS": ["N-1", "N", "N+1", "N+2"],
            "setpoint.TCS": ["42", "44", "46"]}
    args = [*DCPLAN, "sweep", str(plan_file), "--days", "1", "--out", str(out), "--workers", "2", "--batch", "2"]
    for name, values in vary.items():
        args += ["--vary", f"{name}={','.join(values)}"]
    # started as a shell starts it: SIGINT at its default (the test runner's own process may ignore
    # SIGINT, and an ignored SIGINT is inherited: Python would then never raise KeyboardInterrupt)
    cli = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120:
            if out.exists() and out.read_bytes().count(b"\n") >= 3:
                break
            time.sleep(0.05)
        assert cli.poll() is None
        os.killpg(cli.pid, signal.SIGINT)  # what Ctrl+C sends: the whole foreground process group
        _, stderr = cli.communicate(timeout=60)
        assert _left_in_session(cli.pid) == [], "the embedded cluster's workers must be gone"
    finally:
        _stop_session(cli)
    assert cli.returncode == 130, stderr
    assert "sweep interrupted" in stderr and "--resume" in stderr and "Traceback" not in stderr
    partial = _read_csv(out)
    assert 2 <= len(partial) < 24
    sweep = define(load_plan(str(plan_file)), vary, days=1)
    assert all(r["variant_hash"] in {v.hash for v in sweep.variants} for r in partial)
    done = subprocess.run([*args, "--resume", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    import json
    report = json.loads(done.stdout)
    assert report["resumed"] == len(partial) and report["run"] == 24 - len(partial)
    rf = ResultsFile(out, sweep, resume=True)
    rf.open()
    rf.close()
    final = rf.ordered()
    assert len(final) == 24
    assert _comparable(final) == _comparable(run_serial(sweep))
    # rows written before the interrupt are kept as they were, wall time included
    by_hash = {r["variant_hash"]: r for r in _read_csv(out)}
    assert all(by_hash[r["variant_hash"]] == r for r in partial)


@pytest.mark.timeout(120)
def test_cli_refuses_a_bad_definition_before_starting_any_cluster(tmp_path, plan_file, monkeypatch, capsys):
    import planner.sweep.runner as ex
    from ui.cli import main

    def no_cluster(*a, **k):
        raise AssertionError("a cluster was started for a refused sweep")

    monkeypatch.setattr(ex, "connect", no_cluster)
    out = tmp_path / "r.csv"
    for vary, named in ((["setpoint.NOPE=40"], "setpoint.NOPE: unknown loop"),
                        (["control="], "control: empty list"),
                        (["setpoint.TCS=40,warm"], "setpoint.TCS: 'warm' is not a temperature"),
                        (["colour=red"], "colour: unknown parameter")):
        args = ["sweep", str(plan_file), "--days", "1", "--out", str(out)]
        for v in vary:
            args += ["--vary", v]
        code = main(args)
        assert code == 2
        assert capsys.readouterr().err.startswith(f"dcplan: error: {named}")
        assert not out.exists()
    assert main(["sweep", str(plan_file), "--vary", "control=reactive", "--require", "cost<1"]) == 2
    assert main(["sweep", str(plan_file), "--vary", "control=reactive", "--resume"]) == 2


@pytest.mark.timeout(180)
def test_cli_text_summary_from_a_file_and_the_command_line(tmp_path, plan_file):
    spec = tmp_path / "sweep.toml"
    spec.write_text('days = 0.25\nrequire = ["lost_gpu_hours<=0"]\n[vary]\n"units.FWS" = ["N-1", "N"]\n')
    out = tmp_path / "r.csv"
    done = subprocess.run([*DCPLAN, "sweep", str(plan_file), "--file", str(spec), "--vary", "control=reactive,predictive",
                           "--out", str(out), "--workers", "1", "--require", "max_gpu_temp_c<100"],
                          cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "4 variants (4 run on 1 local worker process(es), 0 from an earlier run, 0 failed)" in text
    assert "Pareto set on cost_usd vs lost_gpu_hours vs installed_cooling_kw" in text
    rows = _read_csv(out)
    # the best is the cheapest row meeting both requirements; which one that is is physics (N and N-1
    # dry coolers differ by 0.01 % here: fans on the 90.1 curve at part speed), so read it from the rows
    ok = [r for r in rows if float(r["lost_gpu_hours"]) <= 0 and float(r["max_gpu_temp_c"]) < 100]
    best = min(ok, key=lambda r: float(r["cost_usd"]))
    assert (f"Best with lost_gpu_hours<=0 and max_gpu_temp_c<100: units.FWS={best['units.FWS']}, "
            f"control={best['control']}") in text
    assert best["control"] == "predictive"  # predictive control's lower loop temperatures cost less
    assert [(r["units.FWS"], r["control"]) for r in rows] == [
        ("N-1", "reactive"), ("N-1", "predictive"), ("N", "reactive"), ("N", "predictive")]
    again = subprocess.run([*DCPLAN, "sweep", str(plan_file), "--file", str(spec), "--vary", "units.FWS=N"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "units.FWS: given in" in again.stderr


_PRELOADED_SWEEP = r"""
import json, os, sys
import psutil
from planner.demo import build_demo_plan
from planner.sweep import run
from planner.sweep.runner import connect

def state():
    import gc
    import numba
    from planner.solver import integrate
    from planner.sweep import kernels, preload
    return {"status": preload.STATUS, "server_threads": preload.THREADS, "server_counts": preload.CACHE_COUNTS,
            "parent_is_server": psutil.Process().ppid() == preload.SERVER_PID, "server_s": preload.SECONDS,
            "loaded_s": kernels.loaded_s(), "counts": kernels.cache_counts(),
            "kernel_loaded": bool(integrate._advance.signatures),
            "numba_threads": numba.config.NUMBA_NUM_THREADS, "dcplan_threads": os.environ.get("DCPLAN_THREADS"),
            "gc": [gc.isenabled(), gc.get_freeze_count()],
            "target_set_up": "numba.np.arraymath" in sys.modules,
            "server_threads_after_forks": psutil.Process().parent().num_threads()}

if __name__ == "__main__":
    with connect(workers=2) as client:
        before = list(client.run(state).values())
        rows = run(build_demo_plan(), {"setpoint.TCS": [43, 45], "control": ["reactive", "predictive"]},
                   client=client, days=1 / 24)
        after = list(client.run(state).values())
    print(json.dumps({"before": before, "after": after, "errors": [r["error"] for r in rows]}))
"""


@pytest.mark.timeout(240)
def test_the_forkserver_loads_the_cached_kernels_once_and_the_workers_load_none(tmp_path):
    """With numba's cache warm, the embedded cluster's forkserver loads the solver kernels once and
    the workers it forks start with them (the ~0.5 CPU-s load is paid once, not once per worker):
    before any task each worker has the stepping kernel and the server's load time, after a sweep
    (the worker plugin registered, four variants run) it has loaded and compiled nothing itself
    (numba's cache counters are still the server's). The server was single-threaded when it forked,
    and the workers run one numba thread each and collect garbage as usual, without rescanning the
    server's frozen modules. In a fresh process: this process's forkserver may
    have started before the cache was warm."""
    from planner.sweep.kernels import load_kernels
    from planner.sweep.runner import worker_start_method

    if worker_start_method() != "forkserver":  # pragma: no cover (macOS, Windows: spawn)
        pytest.skip("no forkserver on this platform")
    load_kernels()  # fills the on-disk cache if this checkout's kernels are not compiled yet
    script = tmp_path / "preloaded_sweep.py"
    script.write_text(_PRELOADED_SWEEP)
    res = _python_json([str(script)], timeout=200)
    assert res["errors"] == ["", "", "", ""]
    assert len(res["before"]) == len(res["after"]) == 2
    for b, a in zip(res["before"], res["after"]):
        assert b["status"] == "loaded" and b["parent_is_server"], b
        assert b["server_threads_after_forks"] == 1 and b["server_threads"] <= 2, b  # 2: numba's TBB pool, joined at fork
        assert b["kernel_loaded"] and b["loaded_s"] == b["server_s"] > 0, b
        assert b["server_counts"][0] > 0 and b["server_counts"][1] == 0, b  # loaded from the cache, nothing compiled
        assert b["counts"] == b["server_counts"], b
        assert a["counts"] == b["server_counts"] and a["loaded_s"] == b["server_s"], a  # the worker loaded nothing
        assert a["numba_threads"] == 1 and a["dcplan_threads"] == "1", a
        # numba's target set-up (its registries, scipy.linalg) was skipped in the server and was not needed
        assert not b["target_set_up"] and not a["target_set_up"], (b, a)
        # the collector, paused for the server's imports, is on; the server's objects are frozen (not rescanned)
        assert b["gc"][0] and a["gc"][0] and b["gc"][1] > 100_000, b


def test_with_a_cold_numba_cache_the_forkserver_compiles_nothing(tmp_path):
    """A fresh install (numba's cache empty): the forkserver's preload stops at numba's first compile,
    before anything is compiled (nothing written to the cache, seconds not the minute a compile
    takes, no compile listener left behind), and leaves the load to the worker plugin (loaded_s unset),
    which loads or compiles in each worker (tests above). numba's target set-up is not done there
    either (the worker's compile does it; next test)."""
    code = ("import json, sys, time; t = time.perf_counter()\n"
            "import planner.sweep.preload as p\n"
            "from numba.core import event\n"
            "from planner.sweep import kernels\n"
            "print(json.dumps({'status': p.STATUS, 'seconds': p.SECONDS, 'loaded_s': kernels.loaded_s(),\n"
            "  'counts': kernels.cache_counts(), 'listeners': len(event._registered['numba:compile']),\n"
            "  'compiled': sum(len(d.signatures) for d in kernels.solver_dispatchers()),\n"
            "  'target_set_up': 'numba.np.arraymath' in sys.modules,\n"
            "  'wall': time.perf_counter() - t}))")
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    res = _python_json(["-c", code], {**os.environ, "NUMBA_CACHE_DIR": str(cache), "DCPLAN_FORKSERVER": "1"})
    assert res["status"].startswith("cold") and res["seconds"] is None and res["loaded_s"] is None, res
    assert res["compiled"] == 0 and res["counts"][0] == 0 and res["listeners"] == 0 and not res["target_set_up"], res
    assert [p for p in cache.rglob("*") if p.is_file()] == []  # numba saves what it compiles: nothing
    assert res["wall"] < 30, res  # imports and the target set-up; compiling the kernels takes minutes


def test_after_a_preload_without_numba_target_set_up_a_later_load_or_compile_does_the_set_up():
    """The forkserver loads the short runs' kernels from the cache without numba's target set-up
    (``kernels._target_set_up_deferred``): in a process that did so, the set-up is not done and the
    kernels give the same figures as in a process that did it; the next load of another
    specialisation (the float32 loop series of long runs, what a worker's first long variant loads)
    and a compile of a new function then do numba's whole set-up as usual, and the context has
    numba's own ``refresh`` again."""
    from planner.sweep.kernels import load_kernels

    load_kernels()  # the cache warm (both specialisations)
    code = ("import json, sys\n"
            "import planner.sweep.preload as p\n"
            "from planner.sweep import kernels\n"
            "from numba.core.registry import cpu_target\n"
            "from planner.solver.examples import liquid_burst_plan\n"
            "from planner.solver.run import simulate\n"
            "from planner.solver import recorder\n"
            "plan = liquid_burst_plan(lag_s=60.0, horizon_s=1200.0)\n"
            "out = {'status': p.STATUS, 'after_preload': 'numba.np.arraymath' in sys.modules,\n"
            "       'own_refresh': 'refresh' not in vars(cpu_target.target_context), 'counts': [kernels.cache_counts()],\n"
            "       'summary': simulate(plan, weather=30.0, step_s=10.0).summary()}\n"
            "out['short_again'] = 'numba.np.arraymath' in sys.modules\n"
            "with recorder.loop_series_in_float32():\n"
            "    out['float32'] = simulate(plan, weather=30.0, step_s=10.0, rtol=1e-3).summary()\n"
            "out['counts'].append(kernels.cache_counts())\n"
            "out['after_long'] = 'numba.np.arraymath' in sys.modules\n"
            "import numba\n"
            "out['new_function'] = numba.njit(lambda x: x * 2.0 + 1.0)(3.0)\n"
            "print(json.dumps(out, default=str))")
    env = {k: v for k, v in os.environ.items() if k != "DCPLAN_FORKSERVER_DASK_ENV"}

    def run_(extra):
        return _python_json(["-c", code], {**env, **extra})

    pre = run_({"DCPLAN_FORKSERVER": "1"})  # as the forkserver: the preload loads the short runs' kernels
    plain = run_({})  # any other process: numba's own way (the preload does nothing)
    assert pre["status"] == "loaded" and plain["status"] == "not the forkserver", (pre, plain)
    assert not pre["after_preload"] and not pre["short_again"] and pre["own_refresh"], pre
    (hits0, misses0), (hits1, misses1) = pre["counts"]
    assert hits0 > 0 and hits1 > hits0 and misses0 == misses1 == 0, pre  # the float32 kernel: from the cache
    assert pre["after_long"] and plain["after_long"], (pre, plain)  # numba's set-up done at that load
    assert pre["new_function"] == plain["new_function"] == 7.0
    for key in ("summary", "float32"):
        a, b = dict(pre[key]), dict(plain[key])
        a.pop("wall_time_s", None), b.pop("wall_time_s", None)
        assert a == b, key  # the same machine code: the same figures, bit for bit


def test_a_preload_that_fails_without_numba_target_set_up_is_done_again_the_usual_way():
    """Should a kernel need numba's registries to load after all, the forkserver's load without the
    set-up fails and the server loads again with it (numba's own way) instead of leaving every
    worker to load the kernels itself; numba's ``refresh`` is its own again either way."""
    from planner.sweep.kernels import load_kernels

    load_kernels()  # the cache warm
    code = ("import json\n"
            "from numba.core.registry import cpu_target\n"
            "from planner.sweep import kernels\n"
            "calls, real = [], kernels._warm_short_runs\n"
            "def needs_the_set_up():\n"
            "    deferred = 'refresh' in vars(cpu_target.target_context)\n"
            "    calls.append(deferred)\n"
            "    if deferred:\n"
            "        raise LookupError('no lowering for this kernel without the registries')\n"
            "    real()\n"
            "kernels._warm_short_runs = needs_the_set_up\n"
            "print(json.dumps({'status': kernels.preload_from_cache(), 'calls': calls,\n"
            "  'loaded': kernels.loaded_s() is not None, 'counts': kernels.cache_counts(),\n"
            "  'own_refresh': 'refresh' not in vars(cpu_target.target_context)}))")
    res = _python_json(["-c", code])
    assert res["status"] == "loaded" and res["calls"] == [True, False] and res["loaded"] and res["own_refresh"], res
    assert res["counts"][0] > 0 and res["counts"][1] == 0, res  # from the cache, nothing compiled


def test_the_forkserver_modules_do_nothing_outside_the_forkserver():
    """Imported anywhere but in the forkserver (an import of every planner module, a documentation
    tool), the server's first and last preload leave the collector on, set no thread setting and
    load no kernel: only the environment the server starts with carries their marker."""
    code = ("import gc, json, os\n"
            "import planner.sweep.forkserver_start, planner.sweep.preload as p\n"
            "from planner.sweep import kernels\n"
            "print(json.dumps({'gc': gc.isenabled(), 'frozen': gc.get_freeze_count(), 'status': p.STATUS,\n"
            "  'loaded': kernels.loaded_s(), 'env': [os.environ.get(k) for k in ('NUMBA_NUM_THREADS', 'DCPLAN_THREADS')]}))")
    env = {k: v for k, v in os.environ.items() if k not in ("DCPLAN_FORKSERVER", "NUMBA_NUM_THREADS", "DCPLAN_THREADS")}
    res = _python_json(["-c", code], env)
    assert res == {"gc": True, "frozen": 0, "status": "not the forkserver", "loaded": None, "env": [None, None]}, res


@pytest.mark.parametrize("layer, status", [("workqueue", "parallel"), ("omp", "parallel"), ("tbb", "loaded")])
def test_kernels_on_numba_threads_are_preloaded_only_where_numba_joins_its_pool_at_fork(layer, status):
    """A solver kernel compiled for numba's threads (prange) launches numba's thread pool when it is
    loaded from the cache, and a process with threads must not fork: with the workqueue or OpenMP
    layer (their threads live on across a fork) the forkserver loads no kernel (the workers' plugin
    does) and stays single-threaded; with TBB (numba joins its pool before each fork) it loads them."""
    from planner.sweep.kernels import load_kernels

    load_kernels()  # the cache warm, so that "loaded" is possible
    code = ("import json, numba\n"
            "from planner.solver import integrate\n"
            "integrate._advance.targetoptions['parallel'] = True  # as a prange kernel would have\n"
            f"numba.config.THREADING_LAYER = {layer!r}\n"
            "from planner.sweep import kernels\n"
            "print(json.dumps({'status': kernels.preload_from_cache(), 'loaded': kernels.loaded_s() is not None,\n"
            "  'compiled': sum(len(d.signatures) for d in kernels.solver_dispatchers())}))")
    res = _python_json(["-c", code])
    if status == "parallel":
        assert res == {"status": "parallel", "loaded": False, "compiled": 0}, res
    else:
        assert res["status"] == "loaded" and res["loaded"] and res["compiled"] > 0, res
