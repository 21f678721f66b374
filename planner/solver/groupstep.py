"""Compiled server step with issue 11's GPU thermal control (per GPU group), for the kernel.

The same arithmetic as :meth:`.serverstep.ServerBank.step` (numpy, issue 11) one server at a time:
servers below their first kink take the full-clock propagator; the others the exact piecewise path
through their groups' kinks (:mod:`.pieces`), with shut-down groups, the minute record of
throttled groups (episodes: :func:`close_minute`) and the hottest GPU of each server. Piece tables
are kept per server and rebuilt only when its running utilisation changes.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import defaults as d
import numba

from .jit import PRANGE_ONLY, atomic_add, atomic_load, mono_ns, njit, os_sleep_us, os_yield, spin_pause
from .pieces import PC_LEN, group_state_1, hw_root, pair_step_pieces_1, piece_of, piece_table_1
from .serverstep import (IX_AIR, IX_KIND, IX_LIQ, IX_RACK, ROW_A12, ROW_A21, ROW_A22, ROW_C_DIE, ROW_C_PLATE,
                         ROW_FIRST_KINK, ROW_G, ROW_G1_D, ROW_G1_P, ROW_INV_RD, ROW_OFF_MAX, ROW_P_DYN, ROW_P_IDLE,
                         ROW_R_PLATE, ROW_WA, ROW_WB, POOL_ARG, POOL_DONE, POOL_KIND, POOL_LV, POOL_PREDICT, POOL_QUIT,
                         POOL_STEP, _predict_chunks, add_runs, end_run, pool_claim, pool_publish, pool_wait)


class GroupTable(NamedTuple):
    """Per server: ``first_kink``, ``off_max`` [°C / K], ``t_op``, ``t_slow``, ``t_shut``, ``t_restart``
    [°C], GPU groups ``off``, ``w`` [n × G]; ``opt`` = ``[p_hw, alpha, p_hw^(1/alpha)]``; ``g`` [n] the
    software band's slope ``(1 − p_hw) / (t_slow − t_op)`` [1/K]; ``row`` [n × :data:`HOT_LEN`] what a
    server off the full-clock path reads, packed (``HOT_*`` columns, the same numbers): a server
    that turns hot among cool ones misses the cache once, not once per array."""

    first_kink: np.ndarray
    off_max: np.ndarray
    t_op: np.ndarray
    t_slow: np.ndarray
    t_shut: np.ndarray
    t_restart: np.ndarray
    off: np.ndarray
    w: np.ndarray
    opt: np.ndarray
    g: np.ndarray
    row: np.ndarray


#: Columns of :attr:`GroupTable.row`
HOT_R_DIE, HOT_GPUS, HOT_T_OP, HOT_T_SLOW, HOT_T_SHUT, HOT_T_RESTART, HOT_G = range(7)
HOT_LEN = 8  # (one 64-byte line)


class GroupState(NamedTuple):
    """``t_gpu`` [n] hottest GPU [°C]; ``down``, ``minute_thr``, ``in_episode``, ``ever`` [n × G] flags;
    ``quiet`` [n × G] quiet minutes; ``stats`` = ``[events, thr_gpu_s, lost_gpu_s, shutdown_gpu_s,
    cap_lost_gpu_s, shutdowns, groups down, minute_hot]``; piece tables per server ``kinks`` [n × M],
    ``A``, ``B``, ``thr`` [n × (M + 1)] for running utilisation ``u_key`` [n]; scratch ``xk`` [chunks × M],
    ``xs``, ``p_g``, ``t_g``, ``p_g0`` [chunks × G] (a row per chunk of servers stepped at once); ``pc`` [n ×
    :data:`.pieces.PC_LEN`] each server's last piece propagator (:func:`.pieces.pair_step_pieces_1`);
    ``inv_den`` [n] ``1 / (1 + g·k_die)`` with the piece tables; ``mask`` [n] the groups below full clock
    at the die ``mask_td`` [n] (bit q: group q), the last hot step's end, reused as the next step's start
    state when the die and tables are the same."""

    t_gpu: np.ndarray
    down: np.ndarray
    minute_thr: np.ndarray
    in_episode: np.ndarray
    ever: np.ndarray
    quiet: np.ndarray
    stats: np.ndarray
    kinks: np.ndarray
    A: np.ndarray
    B: np.ndarray
    thr: np.ndarray
    u_key: np.ndarray
    xk: np.ndarray
    xs: np.ndarray
    p_g: np.ndarray
    t_g: np.ndarray
    p_g0: np.ndarray
    pc: np.ndarray
    inv_den: np.ndarray
    mask: np.ndarray
    mask_td: np.ndarray


def group_table(model) -> GroupTable:
    f = lambda x: np.ascontiguousarray(x, dtype=float)  # noqa: E731
    p_hw, alpha = float(model.p_hw), float(model.alpha)
    t_restart = f(model.t_slow - d.GPU_RESTART_BELOW_SLOWDOWN_K)
    g = f((1.0 - p_hw) / (f(model.t_slow) - f(model.t_op)))
    row = np.zeros((model.n, HOT_LEN))
    for j, col in ((HOT_R_DIE, model.r_die), (HOT_GPUS, model.gpus), (HOT_T_OP, model.t_op),
                   (HOT_T_SLOW, model.t_slow), (HOT_T_SHUT, model.t_shut), (HOT_T_RESTART, t_restart), (HOT_G, g)):
        row[:, j] = f(col)
    return GroupTable(f(model.first_kink), f(model.off_max), f(model.t_op), f(model.t_slow), f(model.t_shut),
                      t_restart, f(model.gpu_off), f(model.gpu_w), np.array([p_hw, alpha, hw_root(p_hw, alpha)]), g, row)


def group_state(model, t_die, chunks: int = 1) -> GroupState:
    """:class:`GroupState` at dies ``t_die`` [°C], with scratch rows for ``chunks`` chunks of servers
    stepped at once (:class:`.serverstep.Chunks`)."""
    n, G = model.gpu_w.shape
    M = 2 * G
    nc = max(int(chunks), 1)
    b = lambda: np.zeros((n, G), np.bool_)  # noqa: E731
    return GroupState(np.asarray(t_die, float) + model.off_max, b(), b(), b(), b(), np.zeros((n, G), np.int64),
                      np.zeros(8), np.full((n, M), np.inf), np.zeros((n, M + 1)), np.zeros((n, M + 1)),
                      np.zeros((n, M + 1)), np.full(n, np.nan), np.zeros((nc, M)), np.zeros((nc, G)), np.zeros((nc, G)),
                      np.zeros((nc, G)), np.zeros((nc, G)), np.full((n, PC_LEN), np.nan), np.zeros(n), np.zeros(n, np.int64),
                      np.full(n, np.nan))


class StepFinish(NamedTuple):
    """What :func:`servers_step_groups` does after each server's step when handed one (the old
    ``servers_finish`` pass fused in: one pass over the servers instead of two or three), with the
    recirculation table ``D`` handed beside it (a tuple inside a tuple cannot cross numba's parallel
    loop): ``tl_start`` [m] the loops at the step's start [°C]; out: the air-side rack powers
    ``D.rack_p`` (next step's recirculation), ``dq`` [m] the servers' true heat per loop [J] and ``doff`` [m] the sibling coupling's change ``Σ g·w·(w·ΔT)`` [J] (both as
    per-loop sums over runs of servers on the same loops), ``iv_e`` [n] += energy, and (``flags[1]``)
    ``iv_max_t`` [n] the interval maximum of the hottest GPU. ``flags[0]``: sibling coupling;
    ``flags[1]``: record the interval maximum here (fixed steps; adaptive ones record the ripple's);
    ``flags[2]``: something reads ``s.tcl`` and every server's final ``s.dX`` after the pass (the
    adaptive steps' ripple, :func:`.ripple.servers_ripple`); 0: servers at full clock skip those stores."""

    tl_start: np.ndarray
    dq: np.ndarray
    doff: np.ndarray
    iv_max_t: np.ndarray
    iv_e: np.ndarray
    flags: np.ndarray


@njit(refcount=False, inline="always")  # inlined at numba's level: a call hands ~40 arrays by value
def _server_hot(i, k, R, GT, GS, s, X, dX, tcl, td0, u, u_cap, capped_any, down_w, h, p_hw, alpha, st, xk, xs, p_g0,
                p_g, t_g):
    """One server off the full-clock path (in or near its GPU groups' control band, shut-down
    groups, or power-capped): the exact piecewise step, its statistics and its groups at the step's
    ends (statistics into ``st``, scratch ``xk``, ``xs``, ``p_g0``, ``p_g``, ``t_g``: the chunk's rows;
    constants from the server's packed rows: ``R[k]`` its kind's full-clock row, ``GT.row[i]``). Returns ``(hottest GPU [°C], GPU time below full clock [GPU-s])``."""
    u_base = u_cap[i] if capped_any else u
    u_run = u_base * (1.0 - down_w)
    hr = GT.row[i]
    t_op, t_slow = hr[HOT_T_OP], hr[HOT_T_SLOW]
    k_die = hr[HOT_R_DIE] * R[k, ROW_P_DYN] * u_run
    # this server's rows, taken once: each view, and each array of a tuple handed to a helper per
    # server, costs an atomic reference count (perf: 40 % of the hot day's kernel time was that)
    kn, A, B, thr_tab = GS.kinks[i], GS.A[i], GS.B[i], GS.thr[i]
    off, w = GT.off[i], GT.w[i]
    g_law = hr[HOT_G]
    if GS.u_key[i] != u_run:  # piece tables at this running utilisation (kept while it stays)
        piece_table_1(off, w, t_op, t_slow, p_hw, k_die, kn, A, B, thr_tab, xk, xs)
        GS.u_key[i] = u_run
        GS.inv_den[i] = 1.0 / (1.0 + g_law * k_die)
        GS.mask_td[i] = math.nan  # the kept start state was for the old tables
    tp0 = X[1, i]
    th, tph, eh, thr_t, lost, j1 = pair_step_pieces_1(
        td0, tp0, tcl + s.r[i], u_run, R[k, ROW_P_IDLE], R[k, ROW_P_DYN], hr[HOT_R_DIE], R[k, ROW_R_PLATE],
        R[k, ROW_C_DIE], R[k, ROW_C_PLATE], kn, A, B, thr_tab, h, off, w, t_op, t_slow, p_hw, k_die, alpha,
        48, GS.pc[i], g_law, GS.inv_den[i], GT.opt[2], xs, R[k, ROW_INV_RD], R[k, ROW_A12], R[k, ROW_A21], R[k, ROW_A22])
    g_i = hr[HOT_GPUS]
    if down_w > 0.0:  # a shut-down group delivers nothing and counts as below full clock
        lost = lost * (1.0 - down_w) + down_w * h
        thr_t = thr_t * (1.0 - down_w) + down_w * h
        st[3] += g_i * down_w * h
    thr_gpu = g_i * thr_t
    st[2] += g_i * u_base * lost
    if capped_any:
        cl = g_i * (u - u_base) * h
        st[2] += cl
        st[4] += cl
    s.srv_thr_s[i] += thr_t
    dX[0, i] = th - td0
    dX[1, i] = tph - tp0
    X[0, i] = th
    X[1, i] = tph
    s.energy[i] = eh
    # the GPU groups at the step's ends: minute record, hottest GPU, shutdowns. The start state is
    # the last hot step's end state when the die and the tables are the same (then the same numbers)
    G = GT.w.shape[1]
    use_mask = G <= 62
    if use_mask and GS.mask_td[i] == td0:
        m0 = GS.mask[i]
        for q in range(G):
            if (m0 >> q) & 1:
                GS.minute_thr[i, q] = True
    else:
        j0 = piece_of(td0, kn, False)
        group_state_1(td0, A[j0] - B[j0] * td0, off, t_op, g_law, GS.inv_den[i], p_hw, k_die, p_g0, xs)
        for q in range(G):
            if GT.w[i, q] > 0.0 and p_g0[q] < 1.0 - 1e-12:
                GS.minute_thr[i, q] = True
    # the end die's piece: the step's last piece unless the die sits on that piece's lower kink
    if not ((j1 == 0 or kn[j1 - 1] < th) and (j1 == kn.size or th <= kn[j1])):
        j1 = piece_of(th, kn, False)
    group_state_1(th, A[j1] - B[j1] * th, off, t_op, g_law, GS.inv_den[i], p_hw, k_die, p_g, t_g)
    tg = -math.inf
    m1 = 0
    for q in range(G):
        if GT.w[i, q] > 0.0:
            if t_g[q] > tg:
                tg = t_g[q]
            if p_g[q] < 1.0 - 1e-12:
                GS.minute_thr[i, q] = True
                m1 |= 1 << q
            if t_g[q] > hr[HOT_T_SHUT] and not GS.down[i, q]:
                st[5] += GT.w[i, q] * g_i
                GS.down[i, q] = True
                st[6] += 1.0
            elif GS.down[i, q] and t_g[q] < hr[HOT_T_RESTART]:
                GS.down[i, q] = False
                st[6] -= 1.0
    if use_mask:
        GS.mask[i] = m1
        GS.mask_td[i] = th
    st[7] = 1.0
    return tg, thr_gpu


@njit(refcount=False, inline="always")  # (one copy, in _chunks_into: a call hands ~90 arrays by value)
def _step_chunk(c, S, GT, GS, L, lv, s, tl, h, u_cap, F, D, K, any_down, st):
    """:func:`servers_step_groups` for the servers of chunk ``c`` (statistics into ``st``, run sums
    into ``K.rs`` / ``K.ro``). Returns ``(hottest GPU, any hot, GPU time below full clock, IT energy)``."""
    R, IX = L.rows[lv], L.ix
    X, dX = s.X, s.dX
    p_hw, alpha = GT.opt[0], GT.opt[1]
    capped_any = u_cap.size > 0
    xk, xs, p_g0, p_g, t_g = GS.xk[c], GS.xs[c], GS.p_g0[c], GS.p_g[c], GS.t_g[c]
    tmax = -math.inf
    hot_any = False
    step_thr = 0.0
    e_step = 0.0
    inv_h = 1.0 / h
    ka = K.slot_a[c] - 1
    kb = K.slot_b[c] - 1
    run_a = run_b = -1
    sum_a = sum_b = off_a = off_b = 0.0
    dla = dlb = 0.0  # the run's loops' change over the step (sibling coupling)
    keep = True  # s.tcl and the final s.dX of servers at full clock (F.flags[2]: the ripple reads them)
    if F is not None:
        recirc = D.has[0]
        off_on = F.flags[0] != 0.0
        rec_iv = F.flags[1] != 0.0
        keep = F.flags[2] != 0.0
    for i in range(np.uint64(K.bounds[c]), np.uint64(K.bounds[c + 1])):  # (unsigned indices: no code for negative ones)
        k = IX[i, IX_KIND]
        la, lb = IX[i, IX_AIR], IX[i, IX_LIQ]
        wa, wb = R[k, ROW_WA], R[k, ROW_WB]
        tcl = wa * tl[la] + wb * tl[lb]
        if keep:
            s.tcl[i] = tcl
        d0 = dX[0, i] - R[k, ROW_G1_D] * tcl
        d1 = dX[1, i] - R[k, ROW_G1_P] * tcl
        td0 = X[0, i]
        t_new = td0 + d0
        u = s.u[i]
        capped = capped_any and u_cap[i] < u - 1e-12
        down_w = 0.0
        if any_down:
            for q in range(GT.w.shape[1]):
                if GS.down[i, q]:
                    down_w += GT.w[i, q]
        kink = R[k, ROW_FIRST_KINK]
        hot = t_new > kink or td0 > kink or down_w > 0.0 or capped
        if not hot:
            if keep:
                dX[0, i] = d0
                dX[1, i] = d1
            X[0, i] = t_new
            X[1, i] += d1
            e = (R[k, ROW_P_IDLE] + R[k, ROW_P_DYN] * u) * h  # full clock: as predicted
            s.energy[i] = e
            tg = t_new + R[k, ROW_OFF_MAX]
        else:
            hot_any = True
            tg, thr_gpu = _server_hot(i, k, R, GT, GS, s, X, dX, tcl, td0, u, u_cap, capped_any, down_w, h, p_hw,
                                      alpha, st, xk, xs, p_g0, p_g, t_g)
            step_thr += thr_gpu
            d0, d1, e = dX[0, i], dX[1, i], s.energy[i]
        GS.t_gpu[i] = tg
        if tg > tmax:
            tmax = tg
        if F is not None:  # the step's end for this server (was servers_finish)
            e_step += e
            pm = e * inv_h
            if recirc:  # (a rack's servers are all in one chunk)
                D.rack_p[IX[i, IX_RACK]] += wa * pm
            x = e - R[k, ROW_C_DIE] * d0 - R[k, ROW_C_PLATE] * d1
            # per-loop sums over runs of servers on the same loops (plan order keeps a rack's
            # servers, and racks of a row, together): adds in registers, not a store-to-load chain
            if la != run_a:
                ka = end_run(K, ka, run_a, sum_a, off_a)
                run_a, sum_a, off_a = la, 0.0, 0.0
                if off_on:
                    dla = tl[la] - F.tl_start[la]
            if lb != run_b:
                kb = end_run(K, kb, run_b, sum_b, off_b)
                run_b, sum_b, off_b = lb, 0.0, 0.0
                if off_on:
                    dlb = tl[lb] - F.tl_start[lb]
            sum_a += wa * x
            sum_b += wb * x
            if off_on:  # (the run's loops' change, taken once a run: the same numbers)
                y = R[k, ROW_G] * (wa * dla + wb * dlb)
                off_a += wa * y
                off_b += wb * y
            if rec_iv and tg > F.iv_max_t[i]:
                F.iv_max_t[i] = tg
            F.iv_e[i] += e
    if F is not None:
        end_run(K, ka, run_a, sum_a, off_a)
        end_run(K, kb, run_b, sum_b, off_b)
    return tmax, hot_any, step_thr, e_step


@njit(refcount=False)
def _chunks_into(c0, c1, S, GT, GS, L, lv, s, tl, h, u_cap, F, D, K, any_down):
    """:func:`_step_chunk` for chunks ``c0 … c1 − 1``, each one's results into ``K.part[c]`` and its
    statistics into ``K.pst[c]`` (a one-chunk plan: straight into ``GS.stats``, as one pass did). One
    call for all chunks when they run serially."""
    nc = K.bounds.size - 1
    for c in range(c0, c1):
        r = _step_chunk(c, S, GT, GS, L, lv, s, tl, h, u_cap, F, D, K, any_down, GS.stats if nc == 1 else K.pst[c])
        K.part[c, 0] = r[0]
        K.part[c, 1] = 1.0 if r[1] else 0.0
        K.part[c, 2] = r[2]
        K.part[c, 3] = r[3]


@njit(refcount=False, parallel=PRANGE_ONLY)
def _step_par(S, GT, GS, L, lv, s, tl, h, u_cap, F, D, K, any_down):
    for c in numba.prange(K.bounds.size - 1):
        # (the chunk's results are stored by a call: stores into a tuple's array made in the
        # parallel loop's own body were lost)
        _chunks_into(c, c + 1, S, GT, GS, L, lv, s, tl, h, u_cap, F, D, K, any_down)


@njit(refcount=False)
def servers_step_groups(S, GT, GS, L, lv, s, tl, h, u_cap, F, K, D):
    """:meth:`.serverstep.ServerBank.step` at the loops' end temperatures ``tl`` [°C] (after
    :func:`.serverstep.servers_predict_all` of the same step): ``s.X`` advanced, ``s.energy`` [J],
    ``s.dX`` its change and ``s.tcl`` the coolant the server held (for every server without ``F`` or
    with ``F.flags[2]``; else only for those off the full-clock path: at full clock ``s.dX`` keeps the
    prediction's response and ``s.tcl`` an earlier step's value); ``u_cap`` [n] (predictive throttling)
    or an empty array; with ``F`` (:class:`StepFinish`, recirculation ``D``) each server's part of the
    step's end in the same pass.
    Over the chunks ``K`` (:class:`.serverstep.Chunks`): ``K.par`` 1 on numba's threads, 2 on the run's
    helper pool (:func:`pool_helper`: a helper runs its chunks on the arrays it was handed when it
    started, not on the ones passed here — the caller passes the same ones; ``u_cap`` is handed to the
    helpers as used when it is not empty, the same test :func:`_step_chunk` makes); the chunks' partial
    results are combined in chunk order (the same bits on any number of threads). Returns ``(hottest
    GPU [°C], any server off the full-clock path, GPU time below full clock [s], IT energy [J])``."""
    st = GS.stats
    any_down = st[6] > 0.0
    nc = K.bounds.size - 1
    if F is not None:
        if D.has[0]:
            for r in range(D.rack_p.size):
                D.rack_p[r] = 0.0
    if nc > 1:
        for c in range(nc):
            for j in range(8):
                K.pst[c, j] = 0.0
    ran = False
    if F is not None and nc > 1:  # (the parallel loop takes no None)
        if K.par[0] == 2:
            pool_publish(K, POOL_STEP, lv, (1 if any_down else 0) | (2 if u_cap.size > 0 else 0), h)
            while True:
                c = pool_claim(K)
                if c < 0:
                    break
                _chunks_into(c, c + 1, S, GT, GS, L, lv, s, tl, h, u_cap, F, D, K, any_down)
                atomic_add(K.pool, POOL_DONE, 1)
            pool_wait(K)
            ran = True
        elif K.par[0] == 1:
            _step_par(S, GT, GS, L, lv, s, tl, h, u_cap, F, D, K, any_down)
            ran = True
    if not ran:  # every chunk in one call (one chunk: the statistics straight into the state)
        _chunks_into(0, nc, S, GT, GS, L, lv, s, tl, h, u_cap, F, D, K, any_down)
    tmax = -math.inf
    hot_any = False
    step_thr = 0.0
    e_step = 0.0
    for c in range(nc):  # chunk order, whatever ran them
        if K.part[c, 0] > tmax:
            tmax = K.part[c, 0]
        if K.part[c, 1] != 0.0:
            hot_any = True
        step_thr += K.part[c, 2]
        e_step += K.part[c, 3]
        if nc > 1:
            for j in range(2, 7):
                st[j] += K.pst[c, j]
            if K.pst[c, 7] != 0.0:
                st[7] = 1.0
    if F is not None:
        for l in range(F.dq.size):
            F.dq[l] = 0.0
            F.doff[l] = 0.0
        add_runs(K, F.dq, F.doff)
    st[1] += step_thr
    return tmax, hot_any, step_thr, e_step


#: A helper with nothing to claim spins (``pause``) this long after its last chunk [ns] (a step's
#: serial work between two passes is ~60–80 µs on 10,000 servers), then yields its core to any
#: other runnable thread until :data:`POOL_YIELD_NS`, then sleeps :data:`POOL_SLEEP_US` [µs] between
#: looks until a pass comes (the run is between its stepping calls)
POOL_SPIN_NS = 75_000
POOL_YIELD_NS = 1_000_000
POOL_SLEEP_US = 50


@njit(refcount=False)
def pool_helper(J, S, L, s, D, uj, tl, GT, GS, F, K, u_cap, no_cap, ran):
    """A helper thread of the run's pool (:attr:`.serverstep.Chunks.pool`, ``K.par`` = 2): until the
    pool's quit word is set, claim chunks of whatever pass the stepping thread publishes
    (:func:`.serverstep.servers_predict_all`, :func:`servers_step_groups`) and run them, on the
    run's own arrays, the ones handed here at the start (the very ones the stepping kernel hands
    those passes: jobs ``J``, servers ``S``, ``L``, ``s``, recirculation ``D``, the jobs' means ``uj``,
    loops ``tl``, GPU groups ``GT``, ``GS``, step ends ``F``, power cap ``u_cap`` (used when the pass's
    flags say so) or ``no_cap``). Spins up to :data:`POOL_SPIN_NS` after its last chunk, yields up to
    :data:`POOL_YIELD_NS`, then sleeps between looks. Counts the chunks it ran in ``ran`` [2] (predict passes, step passes)."""
    P = K.pool
    idle = 0
    t_idle = 0
    while atomic_load(P, POOL_QUIT) == 0:
        c = pool_claim(K)
        if c < 0:
            if idle == 0:
                t_idle = mono_ns()
            idle += 1
            if (idle & 15) != 0:
                spin_pause()
            else:
                waited = mono_ns() - t_idle
                if waited < POOL_SPIN_NS:
                    spin_pause()
                elif waited < POOL_YIELD_NS:
                    os_yield()
                else:
                    os_sleep_us(POOL_SLEEP_US)
            continue
        idle = 0
        # the pass's words were written before its claim word (read after a claim: this pass's)
        lv = P[POOL_LV]
        arg = P[POOL_ARG]
        h = K.fpool[0]
        if P[POOL_KIND] == POOL_PREDICT:
            _predict_chunks(c, c + 1, J, L.rows[lv], L.ix, s.X, D.has[0], s, D, uj, h, tl, (arg & 4) != 0, K,
                            arg & 3)
            ran[0] += 1
        else:
            _chunks_into(c, c + 1, S, GT, GS, L, lv, s, tl, h, u_cap if (arg & 2) != 0 else no_cap, F, D, K,
                         (arg & 1) != 0)
            ran[1] += 1
        atomic_add(P, POOL_DONE, 1)


@njit(refcount=False)
def close_minute(GT, GS, S, minutes):
    """:meth:`.serverstep.ServerBank.close_minute`: episodes from the minute just ended (a group below
    full clock at any time of it, or shut down, starts one; ``THROTTLE_EPISODE_GAP_MIN`` quiet minutes
    end it)."""
    st = GS.stats
    if st[7] == 0.0:
        busy = False
        for i in range(GS.in_episode.shape[0]):
            for q in range(GS.in_episode.shape[1]):
                if GS.in_episode[i, q]:
                    busy = True
                    break
            if busy:
                break
        if not busy:
            return
    gap = d.THROTTLE_EPISODE_GAP_MIN
    for i in range(GS.in_episode.shape[0]):
        for q in range(GS.in_episode.shape[1]):
            live = GT.w[i, q] > 0.0
            thr = (GS.minute_thr[i, q] and live) or GS.down[i, q]
            if thr and not GS.in_episode[i, q]:
                st[0] += GT.w[i, q] * S.gpus[i]
            if thr:
                GS.ever[i, q] = True
                GS.in_episode[i, q] = True
                GS.quiet[i, q] = 0
            else:
                GS.quiet[i, q] += minutes
            if GS.quiet[i, q] >= gap:
                GS.in_episode[i, q] = False
            GS.minute_thr[i, q] = False
    st[7] = 0.0
