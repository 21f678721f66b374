"""The kernel's server passes on numba's threads (issue 12): fixed chunks of servers, the same bits
on any number of threads, safe from several Python threads at once, the thread-count setting."""
from __future__ import annotations

import os
import threading
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from planner.demo import build_demo_plan
from planner.solver import SolverInputError, integrate, jit, lumping, serverstep, simulate
from planner.solver.model import compile_model
from planner.solver.serverstep import chunk_plan, server_chunks, server_table

TWO = pytest.mark.skipif(jit.max_threads() < 2, reason="numba sees one core")
NOT_COMPARED = {"wall_time_s", "stepping_wall_s", "threads"}


@pytest.fixture(scope="module")
def three_pods():
    """The demo scaled to three pods (312 servers, 12 loops)."""
    return build_demo_plan(96)


@pytest.fixture
def unlumped_parallel(monkeypatch):
    """Every server stepped (no lumping) and the chunks on threads however small the hall."""
    monkeypatch.setattr(lumping, "LUMP", False)
    monkeypatch.setattr(integrate, "PARALLEL_MIN_SERVERS", 0)


def _arrays(res) -> dict:
    out = {}
    for k, v in vars(res).items():
        if k in NOT_COMPARED:
            continue
        if isinstance(v, np.ndarray) and v.dtype.kind in "fiub":
            out[k] = v
        elif isinstance(v, (bool, int, float)):
            out[k] = np.array(v)
    return out


def _hot_afternoon(plan, hours=0.5, start_h=15.0):
    sc0 = plan.scenarios[1]  # Phoenix hot day, full load: the afternoon throttles
    return replace(sc0, start=sc0.start + timedelta(hours=start_h), horizon_s=hours * 3600.0, step_s=1.0)


def test_chunks_end_at_pods_and_keep_racks_and_loop_runs_whole(three_pods):
    demo = build_demo_plan()
    model = compile_model(demo, demo.scenarios[1], 3600.0)
    assert server_chunks(server_table(model)).bounds.tolist() == [0, model.n]  # one pod: one chunk
    model = compile_model(three_pods, three_pods.scenarios[1], 3600.0)
    T = server_table(model)
    assert server_chunks(T).bounds.tolist() == [0, 312]  # (at least CHUNK_MIN_SERVERS a chunk)
    K = server_chunks(T, min_servers=64)
    assert K.bounds.tolist() == [0, 104, 208, 312]
    for c in range(3):  # no rack on two chunks
        a, b = K.bounds[c], K.bounds[c + 1]
        assert not set(T.rack[a:b].tolist()) & set(T.rack[:a].tolist() + T.rack[b:].tolist())
    # every run slot is added once, air runs then liquid runs at the same server
    assert sorted(K.ev_slot.tolist()) == list(range(K.rs.size))
    # a chunk longer than max_servers is split at a rack end, even inside one loop's run
    F = chunk_plan(T.air, T.liq, T.rack, min_servers=8, max_servers=40)
    assert F.bounds.size - 1 > 3 and np.diff(F.bounds).max() <= 40 + 8
    assert F.rs.size > K.rs.size


@TWO
@pytest.mark.parametrize("chunking", ["pods", "split-runs"])
@pytest.mark.parametrize("stepping", ["fixed", "adaptive"])
def test_one_and_two_threads_give_identical_results(three_pods, unlumped_parallel, monkeypatch, chunking, stepping):
    monkeypatch.setattr(serverstep, "CHUNK_MIN_SERVERS", 64)  # a chunk a pod
    if chunking == "split-runs":  # chunks that cut loops' runs of servers (forced at rack ends)
        monkeypatch.setattr(serverstep, "CHUNK_MIN_SERVERS", 8)
        monkeypatch.setattr(serverstep, "CHUNK_MAX_SERVERS", 40)
    sc = _hot_afternoon(three_pods, hours=1.0 if stepping == "adaptive" else 0.5)
    kw = {"rtol": 3e-3, "step_s": 10.0} if stepping == "adaptive" else {"step_s": 1.0}
    one = simulate(three_pods, sc, threads=1, **kw)
    two = simulate(three_pods, sc, threads=2, **kw)
    assert one.threads == 1 and two.threads == 2
    assert one.throttled_gpu_hours > 10.0  # the GPU groups' piecewise path ran on the threads
    a, b = _arrays(one), _arrays(two)
    assert a.keys() == b.keys()
    differing = [k for k in a if not np.array_equal(a[k], b[k], equal_nan=True)]
    assert differing == []


@TWO
def test_numba_threads_path_gives_the_same_bits_as_the_pool(three_pods, unlumped_parallel, monkeypatch):
    """The chunks on numba's threads (``prange``, ``integrate.THREAD_POOL`` off) and on the run's
    helper pool: every result array the same bits as one thread."""
    monkeypatch.setattr(serverstep, "CHUNK_MIN_SERVERS", 64)  # a chunk a pod
    sc = _hot_afternoon(three_pods)
    one = simulate(three_pods, sc, step_s=1.0, threads=1)
    pooled = simulate(three_pods, sc, step_s=1.0, threads=2)
    monkeypatch.setattr(integrate, "THREAD_POOL", False)
    numba_threads = simulate(three_pods, sc, step_s=1.0, threads=2)
    assert pooled.threads == numba_threads.threads == 2 and one.throttled_gpu_hours > 5.0
    # the helper really ran chunks — not the stepping thread alone. Which passes it reaches is the
    # scheduler's: the stepping thread never waits for it, and on a loaded machine (CI, -n 2) it
    # was seen to run 9 step chunks and no predict chunk of 1,800 steps; so any chunk, not both kinds
    assert len(pooled.pool_chunks) == 1 and sum(pooled.pool_chunks[0]) > 0, pooled.pool_chunks
    a = _arrays(one)
    for r in (pooled, numba_threads):
        b = _arrays(r)
        assert [k for k in a if not np.array_equal(a[k], b[k], equal_nan=True)] == []


def _pool_threads():
    return [t for t in threading.enumerate() if t.name.startswith("dcplan-pool")]


@TWO
def test_pool_helpers_end_with_the_run(three_pods, unlumped_parallel, monkeypatch):
    """The pool's helper threads run while the run steps and end with it: after a finished run, a
    cancelled one and one whose progress callback raised."""
    monkeypatch.setattr(serverstep, "CHUNK_MIN_SERVERS", 64)
    sc = _hot_afternoon(three_pods, hours=0.1)
    seen = []
    simulate(three_pods, sc, step_s=1.0, threads=2, progress=lambda f: seen.append(len(_pool_threads())))
    assert max(seen) == 1 and _pool_threads() == []
    polls = []
    res = simulate(three_pods, sc, step_s=1.0, threads=2, cancel=lambda: polls.append(1) or len(polls) > 3)
    assert res.cancelled and _pool_threads() == []

    def boom(f):
        if f > 0.2:
            raise RuntimeError("progress callback failed")
    with pytest.raises(RuntimeError, match="progress callback failed"):
        simulate(three_pods, sc, step_s=1.0, threads=2, progress=boom)
    assert _pool_threads() == []


@TWO
def test_a_pass_never_waits_for_a_helper_that_is_not_running(three_pods, unlumped_parallel, monkeypatch):
    """The stepping thread claims chunks itself and waits only for chunks a helper took: with the
    pool on and no helper running at all (one that never got a core), the run finishes with the
    same bits as one thread."""
    monkeypatch.setattr(serverstep, "CHUNK_MIN_SERVERS", 64)
    sc = _hot_afternoon(three_pods, hours=0.1)
    one = simulate(three_pods, sc, step_s=1.0, threads=1)
    monkeypatch.setattr(integrate, "_start_helpers", lambda count, args, helpers, failed: None)
    alone = simulate(three_pods, sc, step_s=1.0, threads=2)
    assert alone.threads == 1 and alone.pool_chunks == ()  # the threads that really ran
    a, b = _arrays(one), _arrays(alone)
    assert [k for k in a if not np.array_equal(a[k], b[k], equal_nan=True)] == []


@TWO
def test_a_helper_that_fails_is_reported_and_the_run_keeps_its_bits(three_pods, unlumped_parallel, monkeypatch):
    """A pool helper that raises: a RuntimeWarning names it after the run, the result reports the
    threads that really ran (1) and is the same bits as one thread (the stepping thread claimed
    every chunk)."""
    from planner.solver.serverstep import POOL_QUIT
    monkeypatch.setattr(serverstep, "CHUNK_MIN_SERVERS", 64)
    sc = _hot_afternoon(three_pods, hours=0.1)
    one = simulate(three_pods, sc, step_s=1.0, threads=1)

    def broken(*a):
        if a[10].pool[POOL_QUIT] == 0:  # (the stepping thread's load call has the quit word set)
            raise RuntimeError("helper broke")
    monkeypatch.setattr(integrate, "pool_helper", broken)
    with pytest.warns(RuntimeWarning, match="helper broke"):
        res = simulate(three_pods, sc, step_s=1.0, threads=2)
    assert res.threads == 1 and _pool_threads() == []
    a, b = _arrays(one), _arrays(res)
    assert [k for k in a if not np.array_equal(a[k], b[k], equal_nan=True)] == []


@TWO
def test_pooled_power_cap_gives_the_same_bits_as_one_thread(three_pods, unlumped_parallel, monkeypatch):
    """Predictive throttling on the pool: the step pass's cap flag hands the helpers the run's
    per-server caps (``u_cap``), and every result array is the same bits as one thread."""
    monkeypatch.setattr(serverstep, "CHUNK_MIN_SERVERS", 64)
    sc = _hot_afternoon(three_pods)
    one = simulate(three_pods, sc, step_s=1.0, threads=1, control="predictive-throttle")
    two = simulate(three_pods, sc, step_s=1.0, threads=2, control="predictive-throttle")
    # the helper ran step-pass chunks, the pass the cap flag is for (its predict chunks are the
    # scheduler's: see test_numba_threads_path_gives_the_same_bits_as_the_pool)
    assert two.threads == 2 and two.pool_chunks[0][1] > 0, two.pool_chunks
    assert one.power_cap_lost_gpu_hours > 0.0  # the cap bit: capped servers ran on the helper
    a, b = _arrays(one), _arrays(two)
    assert [k for k in a if not np.array_equal(a[k], b[k], equal_nan=True)] == []


def test_pool_hands_out_each_chunk_of_each_pass_once():
    """The claim protocol (:func:`.serverstep.pool_publish` / ``pool_claim`` / ``pool_wait``): the
    stepping thread and two helpers claiming over 3,000 passes of 7 chunks each: every chunk of
    every pass is taken exactly once, and a claim read in one pass cannot succeed in the next (the
    claim word carries the pass's number); one thread alone takes them biggest first."""
    from numba import njit
    from planner.solver.jit import atomic_add, atomic_cas, atomic_load, os_yield, spin_pause
    from planner.solver.serverstep import (POOL_CLAIM, POOL_DONE, POOL_QUIT, POOL_SHIFT, pool_claim, pool_publish,
                                           pool_wait)
    air = np.repeat(np.arange(7), [3, 9, 3, 3, 5, 3, 3])  # chunk sizes 3, 9, 3, 3, 5, 3, 3
    K = chunk_plan(air, air + 7, np.arange(air.size), min_servers=1)
    assert K.bounds.size == 8 and K.order.tolist()[:2] == [1, 4]
    passes = 3000
    seen = np.zeros((passes + 2, 7), np.int64)  # by the pass's number (1: the lone thread's)

    @njit(nogil=True)
    def claim_all(K, seen):
        ran = 0
        while atomic_load(K.pool, POOL_QUIT) == 0:
            c = pool_claim(K)
            if c < 0:
                spin_pause()
                os_yield()  # (two helpers and the driver on 2 cores: let the driver publish)
                continue
            p = K.pool[POOL_CLAIM] >> POOL_SHIFT  # (this pass: it cannot end before this chunk is done)
            atomic_add(seen[p], c, 1)
            atomic_add(K.pool, POOL_DONE, 1)
            ran += 1
        return ran

    @njit(nogil=True)
    def drive(K, seen, passes):
        stale_ok = 0
        for _ in range(passes):
            old = atomic_load(K.pool, POOL_CLAIM)  # the last pass's word: every chunk handed out
            pool_publish(K, 1, 0, 0, 1.0)
            # a stale claim of the last pass's first chunk, right after the new pass put its claim
            # word at chunk 0: without the pass's number in the word this swap would succeed
            stale = (old >> POOL_SHIFT) << POOL_SHIFT
            if atomic_cas(K.pool, POOL_CLAIM, stale, stale + 1):
                stale_ok += 1
            while True:
                c = pool_claim(K)
                if c < 0:
                    break
                atomic_add(seen[K.pool[POOL_CLAIM] >> POOL_SHIFT], c, 1)
                atomic_add(K.pool, POOL_DONE, 1)
            pool_wait(K)
        return stale_ok

    @njit(nogil=True)
    def alone(K, out):
        pool_publish(K, 1, 0, 0, 1.0)
        for q in range(out.size):
            out[q] = pool_claim(K)
            if out[q] >= 0:
                atomic_add(K.pool, POOL_DONE, 1)
        pool_wait(K)

    out = np.zeros(8, np.int64)
    alone(K, out)
    assert out.tolist() == [1, 4, 0, 2, 3, 5, 6, -1]  # biggest first, then none left

    helpers = [threading.Thread(target=claim_all, args=(K, seen)) for _ in range(2)]
    for h in helpers:
        h.start()
    try:
        stale = drive(K, seen, passes)
    finally:
        K.pool[POOL_QUIT] = 1
        for h in helpers:
            h.join()
    assert stale == 0
    assert np.array_equal(seen[2:], np.ones((passes, 7), np.int64)) and not seen[:2].any()  # each chunk once a pass


@TWO
def test_chunked_passes_agree_with_one_pass_to_rounding(three_pods, unlumped_parallel, monkeypatch):
    """Per-loop sums are added in one pass's order (exact); the chunks' partial sums of IT energy
    and lost work differ from one running sum by rounding only (measured ≤ 4.3e-13 relative)."""
    sc = _hot_afternoon(three_pods)
    monkeypatch.setattr(serverstep, "CHUNK_MIN_SERVERS", 64)  # a chunk a pod
    chunked = simulate(three_pods, sc, step_s=1.0, threads=2)
    monkeypatch.setattr(serverstep, "CHUNK_MIN_SERVERS", 10**9)  # one chunk: the single pass
    single = simulate(three_pods, sc, step_s=1.0, threads=2)
    assert single.threads == 1  # one chunk runs serially
    a, b = _arrays(chunked), _arrays(single)
    for k in a:
        x, y = a[k].astype(float), b[k].astype(float)
        scale = max(float(np.nanmax(np.abs(y))) if y.size else 0.0, 1e-300)
        assert np.nanmax(np.abs(x - y), initial=0.0) <= 1e-12 * scale, k


@TWO
def test_runs_from_two_python_threads_at_once(three_pods, unlumped_parallel, monkeypatch):
    """numba's workqueue layer aborts the process on concurrent parallel launches; the kernel's
    layer (TBB / OpenMP, else a lock) must not, and each run gives its own result."""
    monkeypatch.setattr(serverstep, "CHUNK_MIN_SERVERS", 64)  # a chunk a pod: the threads run
    sc = _hot_afternoon(three_pods, hours=0.25)
    ref = simulate(three_pods, sc, step_s=1.0, threads=2)
    out, errors = [None, None], []

    def run(j):
        try:
            out[j] = simulate(three_pods, sc, step_s=1.0, threads=2)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(j,)) for j in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert not errors and all(r is not None for r in out)
    for r in out:
        assert r.threads >= 1
        a, b = _arrays(r), _arrays(ref)
        assert [k for k in a if not np.array_equal(a[k], b[k], equal_nan=True)] == []
    assert jit.THREADING_LAYER in ("tbb", "omp") or any(r.threads == 1 for r in out)


def test_small_halls_step_serially(unlumped_parallel, monkeypatch):
    monkeypatch.setattr(integrate, "PARALLEL_MIN_SERVERS", 2000)
    demo = build_demo_plan()
    res = simulate(demo, replace(demo.scenarios[1], horizon_s=600.0), step_s=10.0, threads=2)
    assert res.threads == 1


def test_thread_count_setting(monkeypatch):
    monkeypatch.setenv(jit.THREADS_ENV, "1")
    assert jit.threads_setting() == 1
    monkeypatch.setenv(jit.THREADS_ENV, "999")
    assert jit.threads_setting() == jit.max_threads()
    for bad in ("0", "two"):
        monkeypatch.setenv(jit.THREADS_ENV, bad)
        with pytest.raises(ValueError, match=jit.THREADS_ENV):
            jit.threads_setting()
    monkeypatch.delenv(jit.THREADS_ENV)
    assert jit.threads_setting() == jit.max_threads()
    demo = build_demo_plan()
    for bad in (0, 1.5, True):
        with pytest.raises(SolverInputError, match="threads"):
            simulate(demo, replace(demo.scenarios[1], horizon_s=600.0), step_s=10.0, threads=bad)
    # a bad setting in the environment is refused by every run, also one too small for threads
    monkeypatch.setenv(jit.THREADS_ENV, "two")
    with pytest.raises(SolverInputError, match=f"{jit.THREADS_ENV} must be a whole number of threads, not 'two'"):
        simulate(demo, replace(demo.scenarios[1], horizon_s=600.0), step_s=10.0)


def test_without_a_thread_safe_layer_one_run_at_a_time_takes_the_threads(monkeypatch):
    """numba's workqueue layer aborts the process when two Python threads launch parallel work at
    once: where it is the only layer (no TBB, no OpenMP), a run takes the threads under a lock and a
    run that cannot take it steps serially; the caller's own numba thread count is restored after."""
    import numba
    if jit.max_threads() < 2:  # pragma: no cover (a one-core machine)
        pytest.skip("needs two numba threads")
    monkeypatch.setattr(jit, "THREADING_LAYER", "workqueue")
    before = numba.get_num_threads()
    seen = []
    with jit.parallel_threads(True, 2) as k:
        assert k == 2 and numba.get_num_threads() == 2
        other = threading.Thread(target=lambda: seen.append(jit.parallel_threads(True, 2).__enter__()))
        other.start()
        other.join()
    assert seen == [1]
    assert numba.get_num_threads() == before
    with jit.parallel_threads(True, 2) as k:  # the lock was released
        assert k == 2
    monkeypatch.setattr(jit, "THREADING_LAYER", "tbb")
    with jit.parallel_threads(True, 2) as k:  # thread-safe layers take no lock
        assert k == 2


def test_a_threading_layer_the_user_names_still_finds_pips_tbb():
    """``NUMBA_THREADING_LAYER=tbb`` (numba's documented setting): pip's libtbb is loaded all the
    same, so a run starts (it raised "No threading layer could be loaded" when the user's choice
    skipped the load)."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    code = ("from dataclasses import replace\n"
            "from planner.demo import build_demo_plan\n"
            "from planner.solver import simulate, jit\n"
            "demo = build_demo_plan()\n"
            "res = simulate(demo, replace(demo.scenarios[1], horizon_s=600.0), step_s=10.0)\n"
            "print(jit.THREADING_LAYER, res.facility_energy_kwh > 0)")
    if jit.THREADING_LAYER != "tbb":  # pragma: no cover (no TBB wheel on this platform)
        pytest.skip("TBB is not this platform's layer")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=root, env={**os.environ, "PYTHONPATH": str(root), "NUMBA_THREADING_LAYER": "tbb"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["tbb", "True"]


def test_cli_threads_option(tmp_path, capsys):
    from models.store import save_plan
    from ui.cli import main
    path = tmp_path / "demo.dcplan"
    save_plan(build_demo_plan(), path)
    assert main(["simulate", str(path), "--days", "0.01", "--step", "10", "--threads", "0"]) != 0
    assert "--threads must be at least 1" in capsys.readouterr().err
    assert main(["simulate", str(path), "--days", "0.01", "--step", "10", "--threads", "1", "--json"]) == 0
