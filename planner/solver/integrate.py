"""Fast integrator: numpy over servers, exact per-step pieces, implicit coupling, fixed or adaptive steps.

System, stepping and result are kept apart (as python-control does): the compiled
:class:`~.model.Model` is the system; :func:`run_fast` is the stepping; :class:`.recorder.Recorder`
builds the :class:`~.results.SimulationResult`. Per step ``[t, t + h)`` (loads as exact step means,
ambient as the step mean of its linear interpolation):

1. every server's heat to its coolant over the step, as an affine function of its loops' *end*
   temperatures (:func:`.serverstep.servers_predict_all`: exact at full clock, the die/plate pair's
   ``e^{A h}`` with the coolant held at the end value); summed into loops, ``Q = Q̂ − Γ·T_end``
   (:meth:`.coupling.Coupling.gamma`);
2. loops advance children-first, implicitly coupled to their servers (``Γ``), to their parent loop
   (coil) and to their controllers (the share of this step's command that acts within the step), each
   an exact exponential of its own equipment (:mod:`.loopbank`); parents-first resolve the end
   temperatures;
3. servers advance exactly at the loops' end temperatures (full clock, band, or the piecewise path
   through the slowdown kinks) and give their true heat; what differs from the prediction
   (throttling, coupling between sibling loops through mixed air/liquid servers) is added to the
   loops, so the energy bookkeeping stays exact;
4. the recorder updates summary, per-minute and per-rack aggregates.

The coupling is L-stable: the step is limited by accuracy, not by the explicit scheme's guard
(:mod:`.stability`, kept as the reference for tests). Adaptive stepping (``rtol``) takes steps of
``LEVEL_FACTORS`` × the base step aligned to their own length (a quarter hour at most, so tariff
hours and demand intervals stay whole), boundaries at the known load events (job starts and ends),
graded after them, the base step near slowdown while a training job runs on the hot servers, and
the next step from a local error estimate (the IT-facing loops' change and the change of the
loops' slope, against ``rtol × 100 K``).
"""
from __future__ import annotations

import math
import threading
import time
import warnings
from typing import NamedTuple

import numpy as np

from .control import fopdt_ring
from .coupling import Coupling, has_sibling_coupling, rack_rise, recirc_table
from ..gc_pause import gc_paused
from .jit import _POSIX, njit, parallel_threads
from .loopbank import loop_correct, loop_state, loop_step, loop_table
from .model import Model
from .forecast import forecast_rise, forecast_table
from .groupstep import StepFinish, close_minute, group_state, group_table, pool_helper, servers_step_groups
from .power_cap import cap_table, caps_into
from .recorder import CNT_MIN, Recorder, heat_stored, record_step
from .ripple import TRACK_MARGIN_K, servers_ripple
from .results import SimulationResult
from .serverstep import POOL_QUIT, server_chunks, server_state, server_table, servers_predict_all, step_levels
from .workload import cumulative_all, job_table, training_running

#: The compiled kernel below carries issue 11's physics (GPU groups, economiser, fan/pump curves,
#: forecast with error, power cap, electrical chain, ASHRAE records), equal to issue 11's numpy stepping
#: (integrate_numpy.py, recorder_numpy.py) to 1e-9 in fixed steps (tests/test_solver_kernel_parity.py).
#: False sends runs to that numpy stepping (the reference the parity tests compare with).
KERNEL_CARRIES_PHYSICS_11 = True
CHUNK_CELLS = 2_000_000  # server-steps of utilisation precomputed at once (~16 MB per array)
CANCEL_EVERY_MASK = 15  # poll ``cancel`` every 16 steps (a few ms even on 10,000 servers)
#: Runs of at least this many servers step their chunks of servers on numba's threads
#: (:func:`.jit.parallel_threads`); smaller ones serially (a parallel launch costs microseconds a
#: step, more than a small hall's server passes gain)
PARALLEL_MIN_SERVERS = 2000
#: The chunked server passes run on a pool of helper threads that stay awake through the run and
#: claim chunks as each pass is published (:func:`.groupstep.pool_helper`): no thread is woken per
#: pass and the stepping thread never waits for a helper that has no core. False: numba's
#: threads (``prange``, one parallel region a pass). On by default where the C library's
#: ``sched_yield`` / ``usleep`` / ``clock_gettime`` are there (:data:`.jit._POSIX`): elsewhere an idle
#: helper could only spin
THREAD_POOL = _POSIX
#: The predict pass takes back each server's stored utilisation and recirculation when the jobs' means
#: and the rack powers are the same bits as at its last pass (:func:`.serverstep.servers_predict_all`;
#: False: recomputed every step, the same numbers — for tests)
PREDICT_MEMO = True


# The model's helpers shared with the reference path (initial state, loop capacity, predictive
# forecast weights) are issue 11's (integrate_numpy.py); ``loop_capacity`` is re-exported
# (:mod:`.series`, :mod:`.reference`, tests import it from here).
from .integrate_numpy import _initial_state, forecast_weights, loop_capacity  # noqa: E402,F401


#: Adaptive steps are these multiples of the base step, aligned to their own length (so a step never
#: crosses a quarter hour: tariff hours and demand intervals stay whole) [-]
LEVEL_FACTORS = (1, 2, 3, 6, 12, 18, 30, 60, 90)
MAX_ADAPTIVE_STEP_S = 900.0
#: Temperature scale of the relative tolerance: the local error bound is ``rtol × TEMP_SCALE_K`` [K]
TEMP_SCALE_K = 100.0
#: Near slowdown (within the event hysteresis of any GPU) steps stay at the base step while the hot
#: servers' load moves (training iterations, starts) and at or below this when it is steady [s]
HOT_MAX_STEP_S = 60.0
#: "Near slowdown" starts this far below the die temperature at which the server's hottest GPU group
#: enters its thermal control band [K], and a server stays near for HOT_MAX_STEP_S after it was last
#: seen there (a training iteration swings the die ~1.5 K: its troughs must not allow a long step)
HOT_EXTRA_K = 1.0
#: Weight of the held-coupling term of the local error (the IT-facing loops' change over the step) [-]
HOLD_ERROR_WEIGHT = 0.5
EVENT_RESET = True  # a load event restarts at the base step
EVENT_GRADING = True  # and steps grow no faster than half the time since it


class Stepping(NamedTuple):
    """The stepping plan and its state for the kernel.

    cfg (float): ``[dt, tol, hot_margin, adaptive, sibling coupling, hold-error weight, ripple margin [K],
    near-slowdown hold [s]]``; ints: ``[n_steps, n_events]``; levels, hot_levels_steady: allowed factors
    (ascending); ev_k: base-step indices of load events; t_hot [n]: "near slowdown" per server (first
    kink − HOT_EXTRA_K) [°C]; it_facing: loop indices; st (int): ``[k, steps, ev_i, want, k_event,
    have_prev, shortfall carried, power cap on]``; sf (float): ``[h_prev, tmax, t of cum0, hottest GPU
    recorded so far]``; rip [2 × n]: the base-grid ripple of the hottest servers (:mod:`.ripple`), rcum
    its scratch [server-job pairs], peak / t_end [n] each server's recorded GPU of the step: hottest and
    at its end [°C]; dtl_prev, tl_start, dtl, q_loops, q_hat, dq, fc [m]; cum0, cum1, uj [jobs]; f_hist:
    steps taken per factor (and [0]: base steps forced near slowdown); cum_db, cum_wb: ambient trapezoid sums on the base grid; near_until [n]: a
    server counts as near slowdown until then [s]; dev [m]: throttled servers' heat below their
    full-clock prediction, last step [W]; doff, carried [m], u_cap [n], no_cap [0]: scratch."""

    cfg: np.ndarray
    ints: np.ndarray
    levels: np.ndarray
    hot_levels_steady: np.ndarray
    ev_k: np.ndarray
    t_hot: np.ndarray
    it_facing: np.ndarray
    st: np.ndarray
    sf: np.ndarray
    dtl_prev: np.ndarray
    tl_start: np.ndarray
    dtl: np.ndarray
    q_loops: np.ndarray
    q_hat: np.ndarray
    dq: np.ndarray
    cum0: np.ndarray
    cum1: np.ndarray
    uj: np.ndarray
    fc: np.ndarray
    f_hist: np.ndarray
    cum_db: np.ndarray
    cum_wb: np.ndarray
    rip: np.ndarray
    rcum: np.ndarray
    peak: np.ndarray
    t_end: np.ndarray
    near_until: np.ndarray
    dev: np.ndarray
    doff: np.ndarray
    carried: np.ndarray
    u_cap: np.ndarray
    no_cap: np.ndarray


class Forecast(NamedTuple):
    """Predictive control (``on``): each loop's foreseen rise of IT heat one loop lag ``lookahead``
    [s] ahead, ``max(w · (u_f(t + θ) − u_f(t)), 0)`` [W] with ``w`` [m × jobs] [W per unit
    utilisation] (:func:`forecast_weights`) and the forecast with error ``u_f``
    (:func:`.forecast.forecast_rise`); ``now`` [jobs] scratch."""

    on: np.ndarray
    w: np.ndarray
    lookahead: np.ndarray
    now: np.ndarray


@njit(refcount=False)
def _advance(P, J, T, L, D, LT, LS, R, S, A, F, FT, GT, GS, C, lines, FIN, K, max_steps):
    """Take up to ``max_steps`` steps (fixed or adaptive, :class:`Stepping` ``P``) of the whole
    hall: utilisation, server prediction, implicit loop step, exact server step, correction,
    recording (module docstring, steps 1–4). State lives in the arrays; returns the steps taken.

    J jobs, T/L/S servers (table, step levels, state), GT/GS their GPU groups (:mod:`.groupstep`),
    D recirculation, LT/LS/R loops (table, state, actuators), A recorder, F/FT forecast
    (:mod:`.forecast`), C power cap (:mod:`.power_cap`) with the loops' removal ``lines`` [m × 3],
    FIN the servers' step-end outputs (:class:`.groupstep.StepFinish`, over ``P``'s and ``A``'s arrays),
    K the chunks of servers the server passes run over (:class:`.serverstep.Chunks`: on numba's
    threads when ``K.par``)."""
    dt, tol, hot_margin = P.cfg[0], P.cfg[1], P.cfg[2]
    adaptive = P.cfg[3] > 0.0
    has_off = P.cfg[4] > 0.0
    hot_hold = P.cfg[7]
    n_steps, n_ev = P.ints[0], P.ints[1]
    st, sf = P.st, P.sf
    s = S
    tl = LS.tl
    m = tl.size
    n = s.u.size
    predictive = F.on[0]
    capping = st[7] != 0
    taken = 0
    while st[0] < n_steps and taken < max_steps:
        k = st[0]
        f = 1
        if adaptive:
            ev_i = st[2]
            while ev_i < n_ev and P.ev_k[ev_i] <= k:
                if P.ev_k[ev_i] == k:
                    st[3] = 1  # an event: start fine again
                    st[4] = k
                ev_i += 1
            st[2] = ev_i
            # graded after an event: no step longer than half the time since it (the loops answer
            # a load step after their dead time and lag, when the steps must still be short)
            limit = min(st[3], max(1, (k - st[4]) // 2), n_steps - k)
            if ev_i < n_ev:
                limit = min(limit, P.ev_k[ev_i] - k)
            lv_arr = L.factors
            if sf[1] > hot_margin:  # near slowdown: short steps; the base step while the load moves
                t0 = k * dt
                t1 = t0 + P.hot_levels_steady[-1] * dt
                # a server whose hottest GPU group may be near its control band counts as near for
                # the hold after it was last seen there (an iteration's trough must not allow a long step)
                for i in range(n):
                    if s.X[0, i] > P.t_hot[i]:
                        P.near_until[i] = t0 + hot_hold
                moving = False
                for i in range(n):  # a training job on a server near slowdown
                    if P.near_until[i] > t0:
                        for q in range(J.indptr[i], J.indptr[i + 1]):
                            if training_running(J, J.indices[q], t0, t1):
                                moving = True
                                break
                        if moving:
                            break
                lv_arr = P.hot_levels_steady[:1] if moving else P.hot_levels_steady
                if moving:
                    P.f_hist[0] += 1
            for x in lv_arr:
                if x <= limit and k % x == 0:
                    f = x
        h = f * dt
        lv = L.of_factor[f]
        t0 = k * dt
        db = (P.cum_db[k + f] - P.cum_db[k]) / f
        wb = (P.cum_wb[k + f] - P.cum_wb[k]) / f
        # utilisation: step means from the jobs' cumulative utilisation
        if sf[2] != t0:
            cumulative_all(J, t0, P.cum0)
        cumulative_all(J, t0 + h, P.cum1)
        for j in range(P.uj.size):
            P.uj[j] = (P.cum1[j] - P.cum0[j]) / h
        for j in range(P.cum0.size):  # (element loops: an array copy would need numba's allocator)
            P.cum0[j] = P.cum1[j]
        sf[2] = t0 + h
        if predictive:
            forecast_rise(FT, F.w, F.lookahead, t0, (k + f) * dt, F.now, P.fc)
        # 1. servers' heat as a function of their loops' end temperatures (exact at full clock), with
        # their step-mean load and recirculation (from the last step's rack powers, rack by rack in the same pass)
        g_self = L.g_self[lv]
        servers_predict_all(T, J, L, lv, s, D, P.uj, h, tl, has_off, P.q_loops, P.q_hat, K)
        if has_off:  # coupling between sibling loops: start values
            for l in range(m):
                P.q_hat[l] = P.q_loops[l] - (P.q_hat[l] - g_self[l] * tl[l])
        else:
            for l in range(m):
                P.q_hat[l] = P.q_loops[l]
        carry = st[6] != 0
        if carry:  # throttled servers give less than at full clock: last step's shortfall carries
            for l in range(m):  # over (loops and controllers see it; step 4 keeps the energy exact)
                P.carried[l] = P.dev[l] * h
                P.q_hat[l] += P.carried[l]
        for l in range(m):
            P.tl_start[l] = tl[l]
        # 2. loops, implicitly coupled to servers, parents and controllers
        rejected_w, mover_elec, chiller_elec, mh_sum = loop_step(LT, LS, R, P.q_hat, g_self, t0, h, db, wb, P.fc,
                                                                 predictive)
        # 3. servers at the loops' end temperatures: exact, GPU groups' throttling included, with
        # the power cap of predictive throttling where the loop could not follow the burst
        u_cap = P.no_cap
        if capping and caps_into(C, T, k, s.u, tl, lines, P.u_cap):
            u_cap = P.u_cap
        # 4 (fused into the same pass over the servers): what the servers really gave beyond the
        # prediction: their true heat ``dq`` and the sibling loops' change ``doff`` (Γ_off·ΔT) per
        # loop, the step's mean powers, rack powers and the servers' part of the record
        tmax, throttled, step_thr, e_step = servers_step_groups(T, GT, GS, L, lv, s, tl, h, u_cap, FIN, K, D)
        if adaptive:  # the hottest GPU as the base grid sees it near the run's maximum (training ripple)
            t_rec_max = servers_ripple(J, T, L, lv, f, s, P.rip, P.rcum, t0, dt, sf[3] - P.cfg[6], GS.t_gpu,
                                       P.peak, P.t_end)
            t_rec, t_end = P.peak, P.t_end
            for i in range(n):  # the interval maxima of what the record sees (fixed steps: in the pass)
                if t_rec[i] > A.iv_max_t[i]:
                    A.iv_max_t[i] = t_rec[i]
        else:
            t_rec_max = tmax
            t_rec, t_end = GS.t_gpu, GS.t_gpu
        if t_rec_max > sf[3]:
            sf[3] = t_rec_max
        # with every server at full clock only the sibling loops' change (exact, Γ_off·ΔT); else
        # (throttling) their true heat
        if throttled:
            for l in range(m):
                P.dq[l] -= P.q_hat[l] - g_self[l] * tl[l]
                # true heat − full-clock prediction at the end temperatures, for the next step
                x = P.dq[l]
                if has_off:
                    x += P.doff[l] - g_self[l] * (tl[l] - P.tl_start[l])
                if carry:
                    x += P.carried[l]
                P.dev[l] = x / h
            st[6] = 1
            loop_correct(LS, LT.c, P.dq)
        elif has_off or carry:
            for l in range(m):
                x = -(P.doff[l] - g_self[l] * (tl[l] - P.tl_start[l])) if has_off else 0.0
                if carry:  # back at full clock: the prediction was exact without it
                    x -= P.carried[l]
                P.dq[l] = x
            st[6] = 0
            loop_correct(LS, LT.c, P.dq)
        # 5. aggregates; throttle episodes at the recorder's minute ends
        rows0 = A.cnt[CNT_MIN]
        record_step(A, T, D, s.srv_thr_s, t0, h, db, e_step, mover_elec, chiller_elec, rejected_w, mh_sum,
                    t_rec_max, step_thr, t_end, t_rec, tl, s.energy, True)
        if A.cnt[CNT_MIN] > rows0:
            close_minute(GT, GS, T, A.cnt[CNT_MIN] - rows0)
        if adaptive:
            # local error of the held couplings: servers see the loops' end temperature all step
            # (≈ half the IT-facing loops' change) and the loops' path is first order in the step
            # (≈ half the change of their slope); the servers' own response to the step-mean load is exact
            ratio = h / sf[0]
            err = 0.0
            for l in P.it_facing:
                x = abs(tl[l] - P.tl_start[l])
                if x > err:
                    err = x
            err *= P.cfg[5]
            for l in range(m):
                dtl = tl[l] - P.tl_start[l]
                if st[5]:
                    x = 0.5 * abs(dtl - P.dtl_prev[l] * ratio)
                    if x > err:
                        err = x
                P.dtl_prev[l] = dtl
            st[5] = 1
            sf[0] = h
            grow = 2.0 if err <= 0.0 else min(2.0, max(0.25, 0.9 * math.sqrt(tol / err)))
            st[3] = max(1, int(f * grow))
        sf[1] = tmax
        P.f_hist[f] += 1
        taken += 1
        st[1] += 1
        st[0] = k + f
    return taken


#: Cancel is polled every this many steps for the first few polls, then about every
#: :data:`POLL_S` of stepping (a compiled step takes microseconds; a poll is a Python call)
CANCEL_FIRST_STEPS = CANCEL_EVERY_MASK + 1
POLL_S = 0.05


def _run_pool_helper(args: tuple, ran: np.ndarray) -> None:
    """:func:`.groupstep.pool_helper` on the stepping kernel's own arrays ``args`` (:func:`_advance`'s),
    its (predict, step) chunk counts into ``ran``; returns when the pool's quit word is set."""
    (plan, jobs, srv_t, lvls, rc, _lt, ls, _ring, srv, _rec, _fc, _ft, gt, gs, _cap, _lines, fin, chunks) = args
    pool_helper(jobs, srv_t, lvls, srv, rc, plan.uj, ls.tl, gt, gs, fin, chunks, plan.u_cap, plan.no_cap, ran)


def _load_pool_helper(args: tuple, loading: bool) -> None:
    """Load (or compile) :func:`.groupstep.pool_helper` in the stepping thread, before any helper
    starts: a call with the pool's quit word set returns at once (a helper thread never compiles,
    and the collector's pause of a load stays with the thread that loads)."""
    chunks = args[-1]
    chunks.pool[POOL_QUIT] = 1
    with gc_paused(loading or not getattr(pool_helper, "signatures", True)):
        _run_pool_helper(args, np.zeros(2, np.int64))
    chunks.pool[POOL_QUIT] = 0


def _start_helpers(count: int, args: tuple, helpers: list, failed: list) -> None:
    """Start ``count`` helper threads of the run's pool (:func:`.groupstep.pool_helper`, loaded
    already: :func:`_load_pool_helper`) on the stepping kernel's own arrays ``args``
    (:func:`_advance`'s), each appended to ``helpers`` as ``(thread, chunk counts [2])`` once it has
    started (so the caller's ``finally`` ends every one that did); they run until the pool's quit
    word is set. A helper that raises puts its exception in ``failed`` (the run goes on: the stepping
    thread claims whatever the helpers do not)."""
    def work(ran):
        try:
            _run_pool_helper(args, ran)
        except BaseException as exc:  # noqa: BLE001 (reported by the stepping thread after the join)
            failed.append(exc)

    for i in range(count):
        ran = np.zeros(2, np.int64)
        h = threading.Thread(target=work, args=(ran,), name=f"dcplan-pool-{i}", daemon=True)
        h.start()
        helpers.append((h, ran))


def run_fast(model: Model, amb_db, amb_wb, dt: float, n_steps: int, *, control: str, record, start,
             prices, demand_charge, progress=None, cancel=None, rtol: float | None = None, workload=None,
             events=(), ripple_margin: float | None = None, threads: int | None = None) -> SimulationResult:
    """Integrate ``n_steps`` of ``dt`` [s] (fixed), or the same horizon in adaptive steps of
    ``dt × LEVEL_FACTORS`` when ``rtol`` is given (local error ≤ ``rtol × 100 K`` per step; step
    boundaries at the known ``events`` [s]: job starts and ends). Ambient ``amb_db``/``amb_wb`` [°C]
    at the ``n_steps + 1`` base-grid points. ``ripple_margin`` [K]: servers this close to the hottest
    die so far carry the base grid's training ripple (:mod:`.ripple`; default :data:`TRACK_MARGIN_K`,
    −inf: none). ``threads``: the server passes' threads for halls of at least
    :data:`PARALLEL_MIN_SERVERS` servers (default :func:`.jit.threads_setting`). Returns a
    :class:`SimulationResult`."""
    if not KERNEL_CARRIES_PHYSICS_11:
        from .integrate_numpy import run_fast as run_numpy
        return run_numpy(model, amb_db, amb_wb, dt, n_steps, control=control, record=record, start=start,
                         prices=prices, demand_charge=demand_charge, progress=progress, cancel=cancel, rtol=rtol,
                         workload=workload, events=events)
    wall0 = time.perf_counter()
    ripple_margin = TRACK_MARGIN_K if ripple_margin is None else float(ripple_margin)
    from .workload import Workload
    workload = workload or Workload(model.placement)
    predictive = control in ("predictive", "predictive-throttle")
    adaptive = rtol is not None
    cpl = Coupling(model)
    # ambient means over any run of base steps (linear between grid points): trapezoid sums
    cum_db = np.concatenate(([0.0], np.cumsum(0.5 * (amb_db[:-1] + amb_db[1:]))))
    cum_wb = np.concatenate(([0.0], np.cumsum(0.5 * (amb_wb[:-1] + amb_wb[1:]))))
    forecast_w, _ = forecast_weights(model)
    lookahead = (model.loop_dead + model.loop_tau).astype(float)

    # ---- initial state
    u0 = workload.server_means(np.array([0.0, min(dt, n_steps * dt)]))[0]
    t_srv, tl0, p_prev, _, y0, t_plt = _initial_state(model, u0, amb_db[0], amb_wb[0])
    levels = [f for f in LEVEL_FACTORS if f * dt <= max(MAX_ADAPTIVE_STEP_S, dt) + 1e-9] if adaptive else [1]
    hot_steady = [f for f in levels if f * dt <= HOT_MAX_STEP_S + 1e-9] or [1]
    srv_t = server_table(model)
    lvls = step_levels(model, srv_t, dt, levels)
    srv = server_state(model, t_srv, t_plt)
    jobs = job_table(workload)
    nj = jobs.start.size
    rc = recirc_table(model)
    chunks = server_chunks(srv_t, memo=(nj, rc.rack_p.size) if PREDICT_MEMO else None)
    gt, gs = group_table(model), group_state(model, t_srv, chunks.bounds.size - 1)
    lt = loop_table(model)
    ls = loop_state(model, tl0, cpl.to_loops(p_prev))
    ring = fopdt_ring(model.loop_dead, model.loop_tau, y0, dt)
    rec = Recorder(model, dt, n_steps, start, record, cpl, tl0, p_prev, gs.t_gpu,
                   minute_len=60.0 if adaptive else None, loops=ls)
    energy0 = (heat_stored(srv_t.c_die, t_srv) + heat_stored(srv_t.c_plate, t_plt)
               + heat_stored(lt.c, tl0))  # heat stored, by the kernel's own constants [J]
    t_hot = model.first_kink - HOT_EXTRA_K  # a die this warm may have a GPU group near its control band
    ev = (np.unique(np.concatenate([np.floor(np.asarray(events, float) / dt),
                                    np.floor(np.asarray(events, float) / dt) + 1])) if len(events) else np.zeros(0))
    ev_k = np.array([int(x) for x in ev if 0 < x < n_steps], np.int64)
    it_facing = np.array([l for l in range(model.m) if model.loop_medium[l] in ("air", "liquid")]
                         or list(range(model.m)), np.int64)
    m, n = model.m, model.n
    zm = lambda: np.zeros(m)  # noqa: E731
    zj = lambda: np.zeros(nj)  # noqa: E731
    capping = control == "predictive-throttle"
    plan = Stepping(np.array([dt, (rtol or 1.0) * TEMP_SCALE_K, float(t_hot.min()), float(adaptive),
                              float(has_sibling_coupling(srv_t)), HOLD_ERROR_WEIGHT, ripple_margin,
                              HOT_MAX_STEP_S]),
                    np.array([n_steps, ev_k.size], np.int64), np.asarray(levels, np.int64),
                    np.asarray(hot_steady, np.int64), ev_k, np.asarray(t_hot, float), it_facing,
                    np.array([0, 0, 0, 1, -10**12, 0, 0, int(capping)], np.int64),
                    np.array([dt, float(t_srv.max()), np.nan, float(gs.t_gpu.max())]),
                    zm(), zm(), zm(), zm(), zm(), zm(), zj(), zj(), zj(), zm(),
                    np.zeros(max(levels) + 1, np.int64), cum_db, cum_wb,
                    np.zeros((2, n)), np.zeros(jobs.data.size), gs.t_gpu.copy(), gs.t_gpu.copy(),
                    np.full(n, -np.inf), zm(), zm(), zm(), np.zeros(n), np.zeros(0))
    fc = Forecast(np.array([predictive]), np.ascontiguousarray(forecast_w, float), lookahead, zj())
    ft = forecast_table(model.placement, model.options.forecast_error)
    cap = cap_table(model, dt, n_steps if capping else 0)
    lines = ls.lines  # each loop's removal line (y, a, b) of the last step, for the power cap
    loading = not getattr(_advance, "signatures", True)  # this call loads the kernels (planner.gc_pause says why)
    if rc.has[0]:  # the rack powers the first step's recirculation starts from
        with gc_paused(loading):
            rack_rise(srv_t, rc, np.asarray(p_prev, float))
    fin = StepFinish(plan.tl_start, plan.dq, plan.doff, rec.arrays.iv_max_t, rec.arrays.iv_e,
                     np.array([float(has_sibling_coupling(srv_t)), 0.0 if adaptive else 1.0,
                               1.0 if adaptive else 0.0]))
    args = (plan, jobs, srv_t, lvls, rc, lt, ls, ring, srv, rec.arrays, fc, ft, gt, gs, cap, lines, fin, chunks)
    stepping_wall = time.perf_counter()

    cancelled = False
    polls = 0
    chunk = CANCEL_FIRST_STEPS
    next_progress = 0.0
    with parallel_threads(n >= PARALLEL_MIN_SERVERS and chunks.bounds.size > 2, threads) as threads:
        pooled = threads > 1 and THREAD_POOL
        chunks.par[0] = (2 if pooled else 1) if threads > 1 else 0
        helpers, failed = [], []
        try:
            if pooled:  # no more helpers than chunks beyond the stepping thread's own
                _load_pool_helper(args, loading)
                _start_helpers(min(threads - 1, chunks.bounds.size - 2), args, helpers, failed)
            while plan.st[0] < n_steps:
                if cancel is not None and cancel():
                    cancelled = True
                    break
                polls += 1
                t = time.perf_counter()
                with gc_paused(loading):
                    _advance(*args, chunk)
                loading = False
                spent = time.perf_counter() - t
                if polls >= 4:  # after the first polls, about every POLL_S of stepping
                    chunk = int(min(max(chunk * min(POLL_S / max(spent, 1e-6), 4.0), CANCEL_FIRST_STEPS), 1 << 22))
                k = int(plan.st[0])
                if progress is not None and k >= next_progress:
                    progress(k / n_steps)
                    next_progress = k + max(n_steps // 100, 1)
        finally:
            chunks.pool[POOL_QUIT] = 1
            for h, _ in helpers:
                h.join()
            chunks.par[0] = 0
    if failed:  # the stepping thread ran every chunk the failed helper did not: the results stand
        warnings.warn(f"dcplan: {len(failed)} of {len(helpers)} pool helper thread(s) failed "
                      f"({failed[0]!r}); the run went on with fewer threads", RuntimeWarning, stacklevel=2)
    if pooled:  # the threads that really ran the passes
        threads = 1 + len(helpers) - len(failed)
    k = int(plan.st[0])
    res = rec.finish(srv, ls.tl, int(plan.st[1]), k * dt, control=control, cancelled=cancelled, energy0=energy0,
                     prices=prices, demand_charge=demand_charge, server_table=srv_t, groups=(gt, gs))
    res.stepping = "adaptive" if adaptive else "fixed"
    res.step_factor_counts = {int(f): int(plan.f_hist[f]) for f in levels if plan.f_hist[f]}
    res.base_steps_near_slowdown = int(plan.f_hist[0])
    res.stepping_wall_s = time.perf_counter() - stepping_wall
    res.threads = threads
    res.pool_chunks = tuple((int(r[0]), int(r[1])) for _, r in helpers)  # each helper's (predict, step) chunks
    if progress is not None and not cancelled:  # a cut run never reports 100 %
        progress(1.0)
    res.wall_time_s = time.perf_counter() - wall0
    return res
