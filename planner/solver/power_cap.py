"""Predictive throttling: a controlled power cap ahead of a burst the cooling loop cannot follow.

``predictive-throttle`` control runs the predictive controller (:mod:`.forecast`) and, inside a
window around each *forecast* burst (from the earliest it may start, the forecast start minus its
start error, to one loop lag θ = τ + L after the latest), caps the utilisation of the servers on a loop
whose equipment, with its actuators where the controller has put them, could not hold the supply at
``T_allow`` within one lag against the demand (filtered over a few iterations: the loop's mass rides
through each):

    Q_allow = y · (a + b · T) + C · (T_allow − T) / θ

(``y·(a + b·T)`` the loop's removal line, :mod:`.loopbank`, with ``y`` the actuator or its command,
whichever is higher; ``C`` the loop's heat capacity),

and the servers' dynamic power is scaled down (same factor on the loop) until their heat fits. ``T_allow``
is the supply at which the loop's hottest GPU would reach its slowdown threshold at full load (from the
servers' calibration, other loops at their setpoints): the GPUs may use their software slowdown band,
the cap keeps them out of the hardware slowdown. The throughput given up is a
controlled, planned loss — counted in ``lost_gpu_hours`` and reported as
``power_cap_lost_gpu_hours`` — instead of GPUs slowing themselves down (software / hardware slowdown)
after the coolant has already overshot.
"""
from __future__ import annotations

import numpy as np

from .forecast import ForecastError
from .loads import CHECKPOINT_EVERY_S, ITERATION_S, TRAINING_KINDS
from .model import Model


def allowed_supply_c(model: Model) -> np.ndarray:
    """Per loop, the supply [°C] at which its hottest GPU would reach the slowdown threshold at full
    load, deep in the software slowdown band (inf for loops without servers): up to there the GPUs'
    own control costs a few per cent of clock; beyond it the hardware slowdown halves it."""
    share = model.loop_server_share.toarray()  # [m × n] share of each server's heat (and coolant)
    lf = model.liquid_frac
    sp = model.loop_setpoint
    t_cool = np.where(model.air_loop >= 0, (1 - lf) * sp[np.maximum(model.air_loop, 0)], 0.0) \
        + np.where(model.liq_loop >= 0, lf * sp[np.maximum(model.liq_loop, 0)], 0.0)
    hottest = t_cool + model.r_th * (model.p_idle + model.p_dyn) + model.off_max
    margin = model.t_slow - hottest  # [n] kelvin of coolant-weighted rise left at full load
    out = np.full(model.m, np.inf)
    for l in range(model.m):
        on = share[l] > 0
        if on.any():
            out[l] = sp[l] + float(np.min(margin[on] / share[l, on]))
    return out


def burst_windows(model: Model, error: ForecastError, horizon_s: float) -> list[list[tuple[float, float]]]:
    """Per loop, the time windows [s] around forecast bursts of the jobs whose servers it cools."""
    pl = model.placement
    theta = model.loop_tau + model.loop_dead
    server_loops = model.loop_server_share.toarray() > 0  # [m × n]
    on_job = (pl.matrix.toarray() > 0)  # [n × jobs]
    out: list[list[tuple[float, float]]] = [[] for _ in range(model.m)]
    for j, job in enumerate(pl.jobs):
        start = pl.start_s[j]
        if not np.isfinite(start):
            continue
        if job.kind in TRAINING_KINDS:
            n_b = int(np.ceil(job.duration_s / CHECKPOINT_EVERY_S)) + 2
            tau = np.arange(n_b) * CHECKPOINT_EVERY_S
            tau = tau[tau < job.duration_s]
        else:
            n_b, tau = 1, np.array([0.0])
        shift, _ = error.draws(j, max(n_b, 1))
        t_b = start + tau + shift[:tau.size]
        loops = np.flatnonzero((server_loops @ on_job[:, j]) > 0)
        for l in loops:  # from the earliest the burst may come to a lag after the latest
            a, b = error.start_jitter_s, error.start_jitter_s + theta[l]
            out[l].extend((float(t - a), float(t + b)) for t in t_b if t - a < horizon_s)
    return [sorted(x) for x in out]


#: Time constant of the demand filter [s]: five training iterations (``loads.ITERATION_S``), *estimate*.
DEMAND_FILTER_S = 5 * ITERATION_S


class PowerCap:
    """The cap of each step (:meth:`caps`)."""

    def __init__(self, model: Model, dt: float, n_steps: int):
        self.model = model
        self.t_allow = allowed_supply_c(model)
        self.theta = model.loop_tau + model.loop_dead
        self.c = model.loop_c
        windows = burst_windows(model, model.options.forecast_error, n_steps * dt)
        # per step, the loops inside a window: a boolean grid is small beside the run itself
        self.active = np.zeros((n_steps, model.m), bool)
        for l, ws in enumerate(windows):
            for a, b in ws:
                k0, k1 = max(int(np.floor(a / dt)), 0), min(int(np.ceil(b / dt)), n_steps)
                if k1 > k0:
                    self.active[k0:k1, l] = True
        self.any_step = self.active.any(axis=1)
        self.share = model.loop_server_share.tocsr()
        self.q_idle = np.asarray(self.share @ model.p_idle).ravel()
        self.dt = dt
        # the loop's mass rides through a training iteration's compute / communication swing: the cap
        # looks at the demand filtered over a few iterations (first order, DEMAND_FILTER_S)
        self.a = float(np.exp(-dt / DEMAND_FILTER_S))
        self.q_filt = None

    def caps(self, k: int, u, tl, lines):
        """Capped utilisation of every server for step ``k`` [-], or None when nothing is capped.

        u : array  Demanded utilisation [-]; tl : loop supplies [°C]; lines : per loop ``(y, a, b)``,
        the removal ``y·(a + b·T)`` of its equipment with the actuators where they are [W]."""
        if not self.any_step[k]:
            self.q_filt = None
            return None
        m = self.model
        act = self.active[k]
        q_now = np.asarray(self.share @ (m.p_idle + m.p_dyn * u)).ravel()
        self.q_filt = q_now if self.q_filt is None else self.a * self.q_filt + (1.0 - self.a) * q_now
        q_dem = self.q_filt
        # what the loop removes now, with its actuators where the controller is sending them, plus
        # what its thermal mass can take in over one lag before its supply reaches T_allow
        y, a, b = (np.array(x, float) for x in zip(*lines))
        t = np.asarray(tl, float)
        fin = np.isfinite(self.t_allow)
        allow = np.where(fin, y * (a + b * t) + self.c * (np.where(fin, self.t_allow, 0.0) - t) / self.theta, np.inf)
        over = act & (q_dem > allow) & np.isfinite(self.t_allow)
        if not over.any():
            return None
        f = np.ones(m.m)
        dyn = q_dem - self.q_idle
        f[over] = np.clip((allow[over] - self.q_idle[over]) / np.where(dyn[over] > 0, dyn[over], 1.0), 0.0, 1.0)
        # a server takes the smallest factor of the loops it feeds
        fs = np.ones(m.n)
        for loops in (m.air_loop, m.liq_loop):
            on = loops >= 0
            fs[on] = np.minimum(fs[on], f[loops[on]])
        return u * fs


# ----------------------------------------------------------------------------- compiled form
#
# :meth:`PowerCap.caps` for the stepping kernel (:mod:`.integrate`): the same arithmetic, the burst
# windows as merged base-step intervals per loop (a pointer per loop walks them as the run advances,
# instead of the steps × loops grid).

import math  # noqa: E402
from typing import NamedTuple  # noqa: E402

from .jit import njit  # noqa: E402


class CapTable(NamedTuple):
    """Per loop: ``t_allow`` [°C] (inf: no servers), ``theta`` [s], ``c`` [J/K], ``q_idle`` [W]; windows
    ``[w_k0, w_k1)`` (base steps) of loop ``l`` at ``w_ptr[l] … w_ptr[l + 1]``; the loops × servers
    share (CSR ``sh_*``); per server its air and liquid loop (−1: none); ``opt = [filter factor a]``; state: ``w_at`` [m] window pointer, ``q_filt``
    [m], ``st = [filter valid]``; scratch ``f`` [m], ``q_now`` [m]."""

    t_allow: np.ndarray
    theta: np.ndarray
    c: np.ndarray
    q_idle: np.ndarray
    w_ptr: np.ndarray
    w_k0: np.ndarray
    w_k1: np.ndarray
    sh_indptr: np.ndarray
    sh_indices: np.ndarray
    sh_data: np.ndarray
    srv_air: np.ndarray
    srv_liq: np.ndarray
    opt: np.ndarray
    w_at: np.ndarray
    q_filt: np.ndarray
    st: np.ndarray
    f: np.ndarray
    q_now: np.ndarray


def cap_table(model: Model, dt: float, n_steps: int) -> CapTable:
    """:class:`CapTable` of :class:`PowerCap` ``(model, dt, n_steps)``."""
    m = model.m
    windows = burst_windows(model, model.options.forecast_error, n_steps * dt)
    ptr, k0s, k1s = [0], [], []
    for ws in windows:
        iv = []
        for a, b in ws:  # PowerCap's grid cells, merged into intervals
            k0, k1 = max(int(np.floor(a / dt)), 0), min(int(np.ceil(b / dt)), n_steps)
            if k1 > k0:
                iv.append((k0, k1))
        iv.sort()
        merged: list[list[int]] = []
        for k0, k1 in iv:
            if merged and k0 <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], k1)
            else:
                merged.append([k0, k1])
        k0s += [x[0] for x in merged]
        k1s += [x[1] for x in merged]
        ptr.append(len(k0s))
    share = model.loop_server_share.tocsr()  # PowerCap's matrix, in its order (same sums)
    f = lambda x: np.ascontiguousarray(x, dtype=float)  # noqa: E731
    return CapTable(f(allowed_supply_c(model)), f(model.loop_tau + model.loop_dead), f(model.loop_c),
                    f(np.asarray(share @ model.p_idle).ravel()), np.asarray(ptr, np.int64),
                    np.asarray(k0s, np.int64), np.asarray(k1s, np.int64), share.indptr.astype(np.int64),
                    share.indices.astype(np.int64), f(share.data), model.air_loop.astype(np.int64), model.liq_loop.astype(np.int64),
                    np.array([float(np.exp(-dt / DEMAND_FILTER_S))]),
                    np.zeros(m, np.int64), np.zeros(m), np.zeros(1, np.int64), np.zeros(m), np.zeros(m))


@njit(refcount=False)
def caps_into(C, P, k, u, tl, lines, u_cap):
    """:meth:`PowerCap.caps` of base step ``k`` (steps in increasing order) into ``u_cap`` [n]:
    demanded utilisation ``u`` [-], loop supplies ``tl`` [°C], removal lines ``y·(a + b·T)`` [W] as
    rows ``(y, a, b)`` [m × 3] (:class:`.loopbank.LoopState` ``lines``)
    (``P``: :class:`.serverstep.ServerTable`, the servers' powers). Returns whether any server is
    capped below its demand (``ServerBank.step``'s test; else ``u_cap`` is not to be used)."""
    m = tl.size
    any_act = False
    for l in range(m):
        i = C.w_at[l]
        end = C.w_ptr[l + 1]
        while i < end and C.w_k1[i] <= k:
            i += 1
        C.w_at[l] = i
        if i < end and C.w_k0[i] <= k:
            any_act = True
    if not any_act:
        C.st[0] = 0
        return False
    a = C.opt[0]
    valid = C.st[0] != 0
    for l in range(m):
        acc = 0.0
        for q in range(C.sh_indptr[l], C.sh_indptr[l + 1]):
            i = C.sh_indices[q]
            acc += C.sh_data[q] * (P.p_idle[i] + P.p_dyn[i] * u[i])
        C.q_filt[l] = a * C.q_filt[l] + (1.0 - a) * acc if valid else acc
    C.st[0] = 1
    over_any = False
    for l in range(m):
        C.f[l] = 1.0
        i = C.w_at[l]
        act = i < C.w_ptr[l + 1] and C.w_k0[i] <= k
        ta = C.t_allow[l]
        if not act or not math.isfinite(ta):
            continue
        t = tl[l]
        allow = lines[l, 0] * (lines[l, 1] + lines[l, 2] * t) + C.c[l] * (ta - t) / C.theta[l]
        q_dem = C.q_filt[l]
        if q_dem > allow:
            over_any = True
            dyn = q_dem - C.q_idle[l]
            x = (allow - C.q_idle[l]) / (dyn if dyn > 0.0 else 1.0)
            C.f[l] = 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)
    if not over_any:
        return False
    capped = False
    for i in range(u.size):  # a server takes the smallest factor of the loops it feeds
        fs = 1.0
        la, lq = C.srv_air[i], C.srv_liq[i]
        if la >= 0 and C.f[la] < fs:
            fs = C.f[la]
        if lq >= 0 and C.f[lq] < fs:
            fs = C.f[lq]
        x = u[i] * fs
        u_cap[i] = x
        if x < u[i] - 1e-12:
            capped = True
    return capped
