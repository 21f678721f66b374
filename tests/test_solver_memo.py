"""Issue 12, session 8: the server passes' constants by kind of server, the predict pass taking back
what it stored when its inputs are the same bits, and the control ring's bisection — each the same
numbers as before, so every result is the same bit for bit."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from planner.demo import build_demo_plan
from planner.solver import integrate, lumping, simulate
from planner.solver.control import FopdtHistory, fopdt_ring, ring_commit, ring_window
from planner.solver.model import compile_model
from planner.solver.coupling import recirc_table
from planner.solver.workload import JobTable
from planner.solver.serverstep import (IX_AIR, IX_KIND, IX_LIQ, IX_RACK, ROW_LEN, _memo, pair_matrix_constants,
                                       server_chunks, server_state, server_table, servers_predict_all, step_levels)


def _model(racks: int):
    plan = build_demo_plan(racks)
    sc = plan.scenarios[1]
    return plan, compile_model(plan, sc, 3600.0)


def test_constants_by_kind_are_each_servers_constants():
    """``rows[lv, ix[i, kind]]`` is server i's own row (the same bits) at every level, and ``ix`` holds
    its loops and rack: the passes read the same numbers as from per-server tables."""
    _, model = _model(96)  # three pods, 312 servers, two server models at several rack heights
    T = server_table(model)
    L = step_levels(model, T, 1.0, [1, 2, 6, 30])
    n = model.n
    assert L.ix.shape == (n, 4) and L.ix.dtype == np.uint32
    assert L.rows.shape[1] < n // 10  # a few kinds, not one row a server
    kind = L.ix[:, IX_KIND].astype(np.int64)
    assert np.array_equal(L.ix[:, IX_AIR], T.air) and np.array_equal(L.ix[:, IX_LIQ], T.liq)
    assert np.array_equal(L.ix[:, IX_RACK], T.rack)
    for lv in range(L.factors.size):
        G1 = L.F1[lv] + L.F2[lv]  # −∂ΔX/∂T_coolant, and the heat sensitivity to the coolant [J/K]
        g = -(np.vstack((model.c_die, model.c_plate)) * G1).sum(axis=0)
        cols = (T.p_idle, T.p_dyn, T.r_th, T.r_plate, T.c_die, T.c_plate, T.wa, T.wb, T.hf, L.F1[lv, 0], L.F1[lv, 1],
                L.F2[lv, 0], L.F2[lv, 1], G1[0], G1[1], model.first_kink, model.off_max, g,
                *pair_matrix_constants(T.r_die, T.r_plate, T.c_die, T.c_plate))  # (their bits: test_solver_pieces)
        assert len(cols) == ROW_LEN
        full = np.stack([np.asarray(c, float) for c in cols], axis=1)
        assert np.array_equal(L.rows[lv][kind].view(np.int64), full.view(np.int64))  # bits, -0.0 included


def test_memo_flags_follow_the_inputs_bits():
    """Bit 0: the jobs' means are the same bits as at the last pass; bit 1: the rack powers are —
    compared as bits (−0.0 is not 0.0); −1: the memo is off; 0: nothing stored yet (then the arrays'
    sizes are checked against the counts the memo was set up for)."""
    _, model = _model(8)
    T = server_table(model)
    assert _memo(server_chunks(T), np.zeros(3), np.zeros(4)) == -1  # off: nothing compared, nothing stored
    K = server_chunks(T, memo=(3, 4))
    uj, rack_p = np.array([0.5, 1.0, 0.25]), np.array([1e3, 2e3, 0.0, 5.0])
    assert _memo(K, uj, rack_p) == 0  # on, nothing stored yet
    K.uj_prev[:] = uj
    K.rack_prev[:] = rack_p
    K.memo[0] = 1
    assert _memo(K, uj, rack_p) == 3
    uj1 = uj.copy()
    uj1[2] = np.nextafter(uj[2], np.inf)  # job 2's mean one ulp up
    assert _memo(K, uj1, rack_p) == 2
    rp1 = rack_p.copy()
    rp1[1] = np.nextafter(rack_p[1], 0.0)  # rack 1's power one ulp down
    assert _memo(K, uj, rp1) == 1
    rp0 = rack_p.copy()
    rp0[2] = -0.0  # equal to 0.0 as a float, not as bits
    assert _memo(K, uj, rp0) == 1
    # the sizes are checked once, at the first pass (server_chunks has the counts, not the arrays)
    K.memo[0] = 0
    with pytest.raises(ValueError, match="other numbers of jobs or racks"):
        _memo(K, uj[:2], rack_p)
    with pytest.raises(ValueError, match="other numbers of jobs or racks"):
        _memo(K, uj, rack_p[:3])


def test_predict_pass_takes_back_only_what_is_unchanged():
    """The kernel itself: a second pass with the same inputs leaves poisoned ``s.u`` / ``s.r`` /
    ``D.delta`` as they are (they are taken back, not recomputed); one job's mean one ulp up
    recomputes ``s.u`` only, one rack's power one ulp up ``s.r`` and ``D.delta`` — each equal to a
    pass without the memo from the same inputs (bits)."""
    _, model = _model(96)
    n, m, nr = model.n, model.m, model.recirc.shape[0]
    T = server_table(model)
    L = step_levels(model, T, 1.0, [1])
    rng = np.random.default_rng(3)
    td = 50.0 + 20.0 * rng.random(n)
    nj = 7
    z = np.zeros(nj)  # server i: 0.9 of job i mod 7 (the kernel's own job table: no other type cached)
    J = JobTable(z, z, z, np.zeros(nj, np.bool_), z, z, np.zeros(1), np.arange(n + 1, dtype=np.int64),
                 np.arange(n, dtype=np.int64) % nj, np.full(n, 0.9))
    uj = 0.3 + 0.6 * rng.random(nj)
    rack_p = 2e4 * rng.random(nr)
    tl = model.loop_setpoint + rng.normal(0.0, 2.0, m)

    def setup(memo):
        S = server_state(model, td, td - 10.0)
        D = recirc_table(model)
        assert D.has[0]
        return S, D, server_chunks(T, memo=memo)

    def run(S, D, K, uj, rack_p):
        D.rack_p[:] = rack_p
        q = np.zeros((2, m))
        servers_predict_all(T, J, L, 0, S, D, uj, 1.0, tl, True, q[0], q[1], K)
        return q

    S, D, K = setup((nj, nr))
    run(S, D, K, uj, rack_p)
    assert K.memo.tolist() == [1, 0, 0]
    S.u[:] = 0.123
    S.r[:] = 42.0
    D.delta[:] = -1.0
    run(S, D, K, uj, rack_p)  # the same bits: all taken back
    assert K.memo.tolist() == [1, 1, 1]
    assert np.all(S.u == 0.123) and np.all(S.r == 42.0) and np.all(D.delta == -1.0)

    uj1 = uj.copy()
    uj1[4] = np.nextafter(uj[4], np.inf)
    S0, D0, K0 = setup(None)
    q0 = run(S0, D0, K0, uj1, rack_p)
    assert K0.memo.tolist() == [-1, 0, 0]  # (off: nothing stored or counted)
    run(S, D, K, uj1, rack_p)  # one job's mean changed: u recomputed, r taken back
    assert K.memo.tolist() == [1, 1, 2]
    assert np.array_equal(S.u.view(np.int64), S0.u.view(np.int64))
    assert np.all(S.r == 42.0) and np.all(D.delta == -1.0)

    rp1 = rack_p.copy()
    r = int(np.flatnonzero(model.recirc.getnnz(axis=0))[0])  # a rack whose air reaches others
    rp1[r] = np.nextafter(rack_p[r], np.inf)
    S0, D0, K0 = setup(None)
    q0 = run(S0, D0, K0, uj1, rp1)
    q = run(S, D, K, uj1, rp1)  # one rack's power changed: r and the racks' rise recomputed, u taken back
    assert K.memo.tolist() == [1, 2, 2]
    for a, b in ((S.u, S0.u), (S.r, S0.r), (D.delta, D0.delta), (S.dX, S0.dX), (q, q0)):
        assert np.array_equal(a.view(np.int64), b.view(np.int64))
    assert np.any(S.r != 0.0)


def test_step_levels_refuse_an_index_outside_its_range():
    """A negative (or too large) loop or rack index is an error, not a wrapped unsigned index."""
    _, model = _model(8)
    T = server_table(model)
    step_levels(model, T, 1.0, [1])
    for field, bad, what in (("rack", -1, "rack"), ("air", -2, "air loop"), ("liq", model.m, "liquid loop"),
                             ("rack", model.recirc.shape[0], "rack")):
        col = getattr(T, field).copy()
        col[3] = bad
        with pytest.raises(ValueError, match=f"server 3: {what} index {bad} outside"):
            step_levels(model, T._replace(**{field: col}), 1.0, [1])


@pytest.mark.parametrize("hour, kw", [(15, dict(step_s=1.0)), (15, dict(step_s=1.0, rtol=1e-3)), (3, dict(step_s=1.0))],
                         ids=["hot-fixed", "hot-adaptive", "cool-fixed"])
def test_predict_memo_gives_the_same_bits(monkeypatch, hour, kw):
    """A 312-server hall with recirculation, the predict pass taking back its stored utilisation and
    recirculation or recomputing them every step: every result array is the same bit for bit. In the
    hottest hour servers throttle (the hot path and the rack powers' changes are in: the rack powers
    move every step, so only ``u`` is taken back); at 03:00 nothing throttles and both are taken back
    at every step after the first (fixed 1 s steps: the minute ends' rack powers ``e/h`` are the step
    pass's ``e·(1/h)``)."""
    monkeypatch.setattr(lumping, "LUMP", False)
    plan = build_demo_plan(96)
    sc0 = plan.scenarios[1]
    sc = replace(sc0, start=sc0.start + timedelta(hours=hour), horizon_s=1200.0, step_s=1.0)
    made = []
    chunks = integrate.server_chunks
    monkeypatch.setattr(integrate, "server_chunks", lambda *a, **k: made.append(chunks(*a, **k)) or made[-1])
    on = simulate(plan, sc, **kw)
    monkeypatch.setattr(integrate, "PREDICT_MEMO", False)
    off = simulate(plan, sc, **kw)
    assert len(made) == 2 and made[1].memo.tolist() == [-1, 0, 0]  # off: nothing compared, stored or counted
    stored, u_hits, r_hits = made[0].memo.tolist()
    assert stored == 1
    if hour == 15:
        assert on.throttled_gpu_hours > 0.0 and u_hits > 0
        if "rtol" not in kw:
            assert u_hits == 1199 and r_hits == 0
    else:
        assert on.throttled_gpu_hours == 0.0 and u_hits == r_hits == 1199
    arrays = [k for k, v in vars(on).items() if isinstance(v, np.ndarray) and v.dtype.kind in "fiub"]
    assert len(arrays) > 10
    for k in arrays:
        assert np.array_equal(getattr(on, k), getattr(off, k), equal_nan=True), k
    assert on.facility_energy_kwh == off.facility_energy_kwh and on.cost_usd == off.cost_usd


@pytest.mark.parametrize("delay", [90.0, 7.3, 33.0])
def test_ring_window_bisection_matches_the_scan(delay):
    """The control ring's window (its first piece found by bisection) equals :class:`FopdtHistory`'s
    (a backward scan) bit for bit over steps of mixed lengths, as adaptive stepping takes them."""
    rng = np.random.default_rng(7)
    tau = 20.0
    ring = fopdt_ring(np.array([delay]), np.array([tau]), np.array([0.3]), 1.0)
    hist = FopdtHistory(delay, tau, 0.3)
    t0 = 0.0
    for _ in range(600):
        h = float(rng.choice([1.0, 2.0, 3.0, 6.0, 12.0, 30.0, 90.0]))
        c = float(rng.uniform(0.0, 1.0))
        got = ring_window(ring, 0, t0, h)
        want = hist.window(t0, h)
        assert tuple(got) == tuple(want)
        y1 = want[2] + want[3] * c
        ring_commit(ring, 0, t0, h, c, y1)
        hist.commit(t0, h, c, y1)
        t0 += h
