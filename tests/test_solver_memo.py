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
from planner.solver.serverstep import (IX_AIR, IX_KIND, IX_LIQ, IX_RACK, ROW_LEN, _memo, server_chunks, server_table,
                                       step_levels)


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
        cols = (T.p_idle, T.p_dyn, T.r_th, T.r_plate, T.c_die, T.c_plate, T.wa, T.wb, T.hf, L.F1[lv, 0], L.F1[lv, 1],
                L.F2[lv, 0], L.F2[lv, 1], L.G1[lv, 0], L.G1[lv, 1], model.first_kink, model.off_max, L.g[lv])
        assert len(cols) == ROW_LEN
        full = np.stack([np.asarray(c, float) for c in cols], axis=1)
        assert np.array_equal(L.rows[lv][kind].view(np.int64), full.view(np.int64))  # bits, -0.0 included


def test_memo_flags_follow_the_inputs_bits():
    """Bit 0: the jobs' means are the same bits as at the last pass; bit 1: the rack powers are."""
    _, model = _model(8)
    K = server_chunks(server_table(model), jobs=3, racks=4)
    uj, rack_p = np.array([0.5, 1.0, 0.25]), np.array([1e3, 2e3, 0.0, 5.0])
    assert _memo(K, uj, rack_p) == 0  # nothing stored yet (NaN)
    K.uj_prev[:] = uj
    K.rack_prev[:] = rack_p
    assert _memo(K, uj, rack_p) == 3
    assert _memo(K, uj + np.array([0.0, 0.0, 1e-16]), rack_p) == 2
    assert _memo(K, uj, rack_p * (1.0 + 1e-16) + np.array([0.0, 0.0, 0.0, 1e-15])) == 1
    assert _memo(K, uj[:2], rack_p) == 0  # sizes that do not match never take anything back


@pytest.mark.parametrize("kw", [dict(step_s=1.0), dict(step_s=1.0, rtol=1e-3)], ids=["fixed", "adaptive"])
def test_predict_memo_gives_the_same_bits(monkeypatch, kw):
    """A 312-server hall with recirculation through its hottest hour, the predict pass taking back
    its stored utilisation and recirculation or recomputing them every step: every result array is
    the same bit for bit (and servers throttle, so the hot path and the rack powers' changes are in)."""
    monkeypatch.setattr(lumping, "LUMP", False)
    plan = build_demo_plan(96)
    sc0 = plan.scenarios[1]
    sc = replace(sc0, start=sc0.start + timedelta(hours=15), horizon_s=1200.0, step_s=1.0)
    on = simulate(plan, sc, **kw)
    monkeypatch.setattr(integrate, "PREDICT_MEMO", False)
    off = simulate(plan, sc, **kw)
    assert on.throttled_gpu_hours > 0.0
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
