"""The server step: every server's die/plate pair over one step, with thermal slowdown.

Servers that stay below slowdown take the precomputed full-clock propagator ``e^{A dt}`` (die and
plate stacked as two rows, a few numpy operations); servers settled inside the slowdown band take
:class:`BandKernel`; only the rest take the exact piecewise path
(:func:`.thermal.server_pair_step`). Throttling statistics (events with hysteresis, throttled and
lost GPU time) are counted here: throttling belongs to the server step.
"""
from __future__ import annotations

import numpy as np

from .model import Model
from .thermal import pair_modes, pair_propagator, server_pair_step

vmax_ = np.maximum.reduce


class BandKernel:
    """Exact step for servers whose die stays inside the slowdown band all step (the steady
    throttled state).

    Same solution as :func:`.thermal.server_pair_step`'s band piece, ``x(dt) = x_eq + e^{A dt}(x0 − x_eq)``
    with the propagator and its integral row computed once per server and utilisation (per chunk when
    utilisation is constant). The die stays in the band if ``|T_d(t) − e_d| ≤ |α| + |β| ≤ 2|α| + |y_d|``
    keeps it inside (T_d = e_d + α e^{λ1 t} + β e^{λ2 t}, α + β = y_d).
    """

    def __init__(self, model: Model, dt: float, gain: float, min_clock: float):
        self.dt, self.gain = dt, gain
        self.g_th = 1.0 / model.r_th
        self.t_slow = model.t_slow
        self.mid = model.t_slow + 0.5 * (1.0 - min_clock) / gain  # band centre and half-width [°C]
        self.half = 0.5 * (1.0 - min_clock) / gain
        self.p_idle, self.p_dyn = model.p_idle, model.p_dyn
        self.r_d, self.r_p, self.c_d, self.c_p = model.r_die, model.r_plate, model.c_die, model.c_plate

    def subset(self, idx):
        """The same kernel for the servers ``idx`` only (the hot few in an otherwise cool hall)."""
        sub = object.__new__(BandKernel)
        sub.dt, sub.gain, sub.half = self.dt, self.gain, self.half
        for name in ("g_th", "t_slow", "mid", "p_idle", "p_dyn", "r_d", "r_p", "c_d", "c_p"):
            setattr(sub, name, getattr(self, name)[idx])
        return sub

    def constants(self, u):
        """Per-server constants at utilisation ``u``."""
        pu = self.p_dyn * u
        k = pu * self.gain
        b = self.g_th + k
        p_b0 = self.p_idle + pu * (1.0 + self.gain * self.t_slow)
        a11, a12, a21, a22, l1, l2 = pair_modes(k, self.r_d, self.r_p, self.c_d, self.c_p)
        (f11, f12, f21, f22), (g1, g2) = pair_propagator(k, self.r_d, self.r_p, self.c_d, self.c_p, self.dt)
        inv = 1.0 / (l1 - l2)
        ed0 = p_b0 / b
        ed1 = self.g_th / b
        # die: e_d = ed0 + ed1·T_c; plate: e_p = T_c + R_p(p_b0 − k·e_d) = ep0 + ep1·T_c
        ep0 = self.r_p * (p_b0 - k * ed0)
        ep1 = 1.0 - self.r_p * k * ed1
        mid_dt = self.mid * self.dt
        return (ed0 - self.mid, ed1, ep0, ep1, 2.0 * (a11 - l2) * inv, 2.0 * a12 * inv, f11 - 1.0, f12, f21,
                f22 - 1.0, g1, g2, p_b0 * self.dt - k * mid_dt, k, self.half - 1e-9,
                self.gain * (mid_dt - self.t_slow * self.dt), self.mid)

    def step(self, td, tp, tc, c):
        """Returns ``(td_new, tp_new, energy_j, lost_clock_s)``, or None if some die may leave the band."""
        ed0m, ed1, ep0, ep1, c1, c2, f11m1, f12, f21, f22m1, g1, g2, e0, k, lim, l0, mid = c
        e_dm = ed0m + tc * ed1  # e_d − band centre
        yd = td - mid - e_dm
        yp = tp - ep0 - ep1 * tc
        # |T_d(t) − e_d| ≤ |α| + |β| ≤ 2|α| + |y_d| (α + β = y_d), 2α = c1·y_d + c2·y_p
        if not vmax_(np.abs(e_dm) + np.abs(c1 * yd + c2 * yp) + np.abs(yd)) < lim:
            return None
        td_new = td + (f11m1 * yd + f12 * yp)
        tp_new = tp + (f21 * yd + f22m1 * yp)
        j = e_dm * self.dt + g1 * yd + g2 * yp  # ∫T_d dt − mid·dt
        return td_new, tp_new, e0 - k * j, self.gain * j + l0



class ServerBank:
    """Die and plate temperatures of every server and their exact per-step update.

    X : array [2 × n]  Die (row 0) and plate (row 1) temperatures [°C]
    Throttling statistics since the start: ``events`` (GPU slowdown episodes, 2 K hysteresis),
    ``thr_gpu_s`` (GPU time above slowdown [s]), ``lost_gpu_s`` (``Σ gpus·u·(1 − s) dt`` [s]),
    ``srv_thr_s`` (per server, time above slowdown [s]), ``ever_throttled`` (per server).
    """

    def __init__(self, model: Model, dt: float, t_die, t_plate):
        opt = model.options
        self.model = model
        self.n = n = model.n
        self.gain, self.smin = opt.throttle_gain_per_k, opt.throttle_min_clock
        self.p_idle, self.p_dyn, self.t_slow = model.p_idle, model.p_dyn, model.t_slow
        self.r_die, self.r_plate, self.c_die, self.c_plate = model.r_die, model.r_plate, model.c_die, model.c_plate
        self.C2 = np.vstack((self.c_die, self.c_plate))
        self._levels: dict = {}
        self.sub_band = self.sub_band_consts = self.sub_band_key = self.sub_band_chunk = self.sub_last = None
        self.use_step(dt)
        self.gpus = model.gpus
        self.total_gpus = float(self.gpus.sum()) or 1.0
        self.X_a = np.vstack((t_die, t_plate))
        self.X_b = np.empty_like(self.X_a)
        self.y2, self.dX_buf, self.tmp2 = (np.empty_like(self.X_a) for _ in range(3))
        self.X = self.X_a
        self.t_slow_min = float(self.t_slow.min())
        self.consts = np.vstack([self.p_idle, self.p_dyn, self.r_die, self.r_plate, self.c_die, self.c_plate,
                                 self.t_slow])  # one gather for the hot subset
        self.sub_band = self.sub_band_consts = self.sub_band_key = self.sub_band_chunk = self.sub_last = None
        self.sub_gsum = 0.0
        self.sub_gu = None
        self.t_event_end = self.t_slow - opt.throttle_hysteresis_k  # a throttle event ends below this [°C]
        self.t_event_end_max = float(self.t_event_end.max())
        # throttling statistics
        self.events = 0.0
        self.thr_gpu_s = 0.0
        self.lost_gpu_s = 0.0
        self.in_event = np.zeros(n, dtype=bool)
        self.ever_throttled = np.zeros(n, dtype=bool)  # servers with at least one event (GPUs throttled at all)
        self.n_in_event = 0
        self.srv_thr_s = np.zeros(n)

    def use_step(self, dt: float) -> None:
        """Propagators for steps of ``dt`` [s] (cached per step length: adaptive steps come from a
        small set of lengths)."""
        lv = self._levels.get(dt)
        if lv is None:
            # full-clock propagator e^{A dt} of the die/plate pair, minus the identity on the diagonal
            (f11, f12, f21, f22), _ = pair_propagator(0.0, self.r_die, self.r_plate, self.c_die, self.c_plate, dt)
            F1 = np.vstack((f11 - 1.0, f22 - 1.0))  # diagonal of e^{A dt} − I, rows die / plate
            F2 = np.vstack((f12, f21))  # off-diagonal, applied to the swapped rows
            G1 = F1 + F2  # −∂ΔX/∂T_coolant [2 × n]
            g = -(self.C2 * G1).sum(axis=0)  # heat to coolant falls by g per K of coolant [J/K]
            lv = (F1, F2, G1, g, BandKernel(self.model, dt, self.gain, self.smin))
            self._levels[dt] = lv
        self.dt = dt
        self.F1, self.F2, self.G1, self.g, self.band = lv
        self.sub_band_key = None  # the hot few's band constants belong to a step length

    def predict(self, r, chunk, kk: int):
        """Heat each server would give its coolant over the step if the loops' part of its coolant
        were 0 °C, ``Q0`` [J]; with that part at ``T`` the heat is ``Q0 − g·T`` (full clock, exact).
        ``r`` [°C]: the rest of the coolant (recirculation). Returns ``(Q0, g)``."""
        y2 = np.subtract(self.X, r, out=self.y2)
        y2 -= chunk.rp2[kk]
        dX = np.multiply(self.F1, y2, out=self.dX_buf)
        dX += np.multiply(self.F2, y2[::-1], out=self.tmp2)
        q0 = chunk.e[kk] - (self.c_die * dX[0] + self.c_plate * dX[1])
        return q0, self.g

    @property
    def t_die(self):
        return self.X[0]

    @property
    def t_plate(self):
        return self.X[1]

    def step(self, tcl, r, chunk, kk: int):
        """Advance every server one step at coolant ``tcl + r`` [°C] (loops' part, recirculation)
        with the utilisation of row ``kk`` of ``chunk``, after :meth:`predict` of the same step. Returns ``(energy_j, dX, tmax, throttled_step, step_thr_gpu_s)``: electric
        energy per server over the step [J], the change of die and plate temperatures [K]
        ([2 × n], ΔT_d and ΔT_p), the hottest die at the step end [°C], whether any server was hot,
        and the GPU time spent above slowdown in the step [s]."""
        dt = self.dt
        X = self.X
        t_srv, t_plt = X[0], X[1]
        sub_prev, self.sub_last = self.sub_last, None  # the hot few's band-step state, valid for one step only
        # full-clock pair, exact: x(dt) = x_eq + e^{A dt}(x0 − x_eq), e^{A dt} per server precomputed
        # (die and plate stacked as rows of X: one numpy op per update for both nodes); predict()
        # left the response at a 0 °C loop part in dX_buf, linear in the coolant
        # (preallocated buffers: no allocation per step; X and X_new alternate)
        dX = self.dX_buf
        dX -= np.multiply(self.G1, tcl, out=self.tmp2)
        X_new = self.X_b if X is self.X_a else self.X_a
        np.add(X, dX, out=X_new)
        t_new = X_new[0]
        tp_new = X_new[1]
        energy = chunk.e[kk]
        throttled_step = False
        step_thr_gpu_s = 0.0
        tmax = vmax_(t_new)
        n_in_event = self.n_in_event
        if tmax > self.t_slow_min or n_in_event:
            tc = tcl + r
            n = self.n
            t_slow, gpus, gain, smin = self.t_slow, self.gpus, self.gain, self.smin
            in_event = self.in_event
            all_events_banded = False  # True when every GPU in an event is known to sit in the band
            hot_mask = (t_new > t_slow) | (t_srv > t_slow)
            n_hot = int(np.count_nonzero(hot_mask))
            hot = np.flatnonzero(hot_mask) if 0 < n_hot < n else None
            throttled_step = n_hot > 0
            if n_hot == n:  # everything is hot: skip the gathers and scatters
                u = chunk.u[kk]
                if chunk.u_const:
                    if chunk.band_cache is None:
                        chunk.band_cache = self.band.constants(chunk.u[0])
                    in_band = self.band.step(t_srv, t_plt, tc, chunk.band_cache)
                else:
                    in_band = self.band.step(t_srv, t_plt, tc, self.band.constants(u))
                if in_band is not None:  # the steady throttled state: all in the band all step
                    all_events_banded = True
                    t_new, tp_new, energy, lost_h = in_band
                    dX = None
                    thr_h = np.full(n, dt)
                    step_thr_gpu_s = self.total_gpus * dt
                else:
                    t_new, tp_new, energy, thr_h, lost_h = server_pair_step(
                        t_srv, t_plt, tc, u, self.p_idle, self.p_dyn, self.r_die, self.r_plate, self.c_die,
                        self.c_plate, t_slow, gain, smin, dt)
                    dX = None
                    step_thr_gpu_s = float(np.dot(gpus, thr_h))
                self.thr_gpu_s += step_thr_gpu_s
                self.lost_gpu_s += float(np.dot(gpus * u, lost_h))
                self.srv_thr_s += thr_h
                if n_in_event < n:
                    starts = np.flatnonzero(((t_new > t_slow) | (thr_h > 0.0)) & ~in_event)
                    if starts.size:
                        self.events += float(gpus[starts].sum())
                        in_event[starts] = True
                        self.ever_throttled[starts] = True
                        n_in_event += starts.size
                tmax = vmax_(t_new)
            elif hot is not None:
                energy = energy.copy()
                u = chunk.u[kk]
                in_band = None
                band_few = False
                if chunk.u_const:  # steady throttled few (e.g. liquid racks on a hot afternoon): band kernel
                    key = hot.tobytes()
                    if self.sub_band_key != key or self.sub_band_chunk is not chunk:
                        sub_uh = u[hot]
                        self.sub_band = self.band.subset(hot)
                        self.sub_band_consts = self.sub_band.constants(sub_uh)
                        self.sub_band_key, self.sub_band_chunk = key, chunk
                        sub_gh = gpus[hot]
                        self.sub_gsum = float(sub_gh.sum())
                        self.sub_gu = sub_gh * sub_uh
                    if sub_prev is not None and sub_prev[0] == key:  # same few as last step's band step
                        in_band = self.sub_band.step(sub_prev[1], sub_prev[2], tc[hot], self.sub_band_consts)
                    else:
                        in_band = self.sub_band.step(t_srv[hot], t_plt[hot], tc[hot], self.sub_band_consts)
                if in_band is not None:  # all of them above slowdown all step
                    th, tph, eh, lost_h = in_band
                    self.sub_last = (key, th, tph)
                    band_few = True
                    step_thr_gpu_s = dt * self.sub_gsum
                    self.lost_gpu_s += float(np.dot(self.sub_gu, lost_h))
                    self.srv_thr_s[hot] += dt
                    new_ev = ~in_event[hot]
                else:
                    uh = u[hot]
                    g_h = gpus[hot]
                    pi_h, pd_h, rd_h, rp_h, cd_h, cp_h, ts_h = self.consts[:, hot]
                    th, tph, eh, thr_h, lost_h = server_pair_step(t_srv[hot], t_plt[hot], tc[hot], uh, pi_h, pd_h,
                                                                  rd_h, rp_h, cd_h, cp_h, ts_h, gain, smin, dt)
                    step_thr_gpu_s = float(np.dot(g_h, thr_h))
                    self.lost_gpu_s += float(np.dot(g_h * uh, lost_h))
                    self.srv_thr_s[hot] += thr_h
                    new_ev = ((th > ts_h) | (thr_h > 0.0)) & ~in_event[hot]
                t_new[hot] = th  # (rows of X_new)
                tp_new[hot] = tph
                dX = X_new - X
                energy[hot] = eh
                self.thr_gpu_s += step_thr_gpu_s
                if new_ev.any():
                    starts = hot[new_ev]
                    self.events += float(gpus[starts].sum())
                    in_event[starts] = True
                    self.ever_throttled[starts] = True
                    n_in_event += starts.size
                # the band few are all in an event; if they are all the events, none can end
                all_events_banded = band_few and n_in_event == hot.size
                tmax = vmax_(t_new)
            if n_in_event and not all_events_banded and np.minimum.reduce(t_new) < self.t_event_end_max:
                ends = in_event & (t_new < self.t_event_end)  # any server cool enough to end an event
                ne = int(np.count_nonzero(ends))
                if ne:
                    in_event[ends] = False
                    n_in_event -= ne
            self.n_in_event = n_in_event
        if dX is None:  # all servers took the piecewise / band path: new arrays
            X_new[0] = t_new
            X_new[1] = tp_new
            dX = X_new - X
        self.X = X_new
        return energy, dX, tmax, throttled_step, step_thr_gpu_s


# ----------------------------------------------------------------------------- compiled form
#
# The server step for the stepping kernel (:mod:`.integrate`): the same arithmetic as
# :class:`ServerBank` and :func:`.thermal.server_pair_step`, one server at a time. Servers below
# slowdown take the full-clock propagator; the hot ones the exact piecewise path through the kinks
# (the band is one of its pieces: in compiled code the general path costs no more than the band
# kernel did in numpy).

import math  # noqa: E402
from typing import NamedTuple  # noqa: E402

from .jit import njit  # noqa: E402


class ServerTable(NamedTuple):
    """Per-server constants (model order): powers [W], resistances [K/W], capacities [J/K],
    slowdown and event-end temperatures [°C], GPUs, air / liquid loop index and weight (1 − lf, lf),
    rack, recirculation height factor; ``opt``: ``[gain 1/K, min clock, total GPUs]``."""

    p_idle: np.ndarray
    p_dyn: np.ndarray
    r_th: np.ndarray
    r_die: np.ndarray
    r_plate: np.ndarray
    c_die: np.ndarray
    c_plate: np.ndarray
    t_slow: np.ndarray
    t_event_end: np.ndarray
    gpus: np.ndarray
    air: np.ndarray
    liq: np.ndarray
    wa: np.ndarray
    wb: np.ndarray
    rack: np.ndarray
    hf: np.ndarray
    opt: np.ndarray


class StepLevels(NamedTuple):
    """Full-clock propagators per step length (level ``i`` = ``factors[i]`` base steps): ``F1``
    diagonal of ``e^{A h} − I`` (rows die / plate), ``F2`` its off-diagonal, ``G1 = F1 + F2``
    [levels × 2 × n]; ``g`` the servers' heat sensitivity to their coolant [J/K] [levels × n];
    ``g_self`` Γ's diagonal per loop [J/K] [levels × m]; ``of_factor`` level index of a factor."""

    factors: np.ndarray
    F1: np.ndarray
    F2: np.ndarray
    G1: np.ndarray
    g: np.ndarray
    g_self: np.ndarray
    of_factor: np.ndarray


class ServerState(NamedTuple):
    """Die / plate temperatures ``X`` [2 × n] [°C], scratch per step, and throttling statistics:
    ``in_event``, ``ever`` (per server), ``srv_thr_s`` [s] per server, ``stats`` = [events (GPUs),
    GPU time above slowdown [s], lost GPU work [s], servers in an event]."""

    X: np.ndarray
    dX: np.ndarray
    rp: np.ndarray
    e_full: np.ndarray
    u: np.ndarray
    r: np.ndarray
    tcl: np.ndarray
    energy: np.ndarray
    q0: np.ndarray
    in_event: np.ndarray
    ever: np.ndarray
    srv_thr_s: np.ndarray
    stats: np.ndarray


def server_table(model) -> ServerTable:
    opt = model.options
    f = lambda x: np.ascontiguousarray(x, dtype=float)  # noqa: E731
    lf = f(model.liquid_frac)
    return ServerTable(f(model.p_idle), f(model.p_dyn), f(model.r_th), f(model.r_die), f(model.r_plate),
                       f(model.c_die), f(model.c_plate), f(model.t_slow),
                       f(model.t_slow - opt.throttle_hysteresis_k), f(model.gpus),
                       np.maximum(model.air_loop, 0).astype(np.int64), np.maximum(model.liq_loop, 0).astype(np.int64),
                       f(1.0 - lf), lf, model.rack.astype(np.int64), f(model.height_factor),
                       np.array([opt.throttle_gain_per_k, opt.throttle_min_clock, float(model.gpus.sum()) or 1.0]))


def step_levels(model, table: ServerTable, dt: float, factors) -> StepLevels:
    """:class:`StepLevels` for steps of ``factors`` × ``dt`` [s]."""
    factors = np.asarray(factors, np.int64)
    nl, n, m = factors.size, model.n, model.m
    F1, F2, G1 = (np.empty((nl, 2, n)) for _ in range(3))
    g = np.empty((nl, n))
    g_self = np.zeros((nl, m))
    C2 = np.vstack((model.c_die, model.c_plate))
    for i, f in enumerate(factors):
        (f11, f12, f21, f22), _ = pair_propagator(0.0, model.r_die, model.r_plate, model.c_die, model.c_plate,
                                                  f * dt)
        F1[i] = np.vstack((f11 - 1.0, f22 - 1.0))
        F2[i] = np.vstack((f12, f21))
        G1[i] = F1[i] + F2[i]
        g[i] = -(C2 * G1[i]).sum(axis=0)
        # Γ's diagonal: Σ over servers of g·w² per loop (air and liquid weights)
        np.add.at(g_self[i], table.air, g[i] * table.wa * table.wa)
        np.add.at(g_self[i], table.liq, g[i] * table.wb * table.wb)
        same = table.air == table.liq
        np.add.at(g_self[i], table.air[same], 2.0 * g[i][same] * table.wa[same] * table.wb[same])
    of_factor = np.full(int(factors.max()) + 1, -1, np.int64)
    of_factor[factors] = np.arange(nl)
    return StepLevels(factors, F1, F2, G1, g, g_self, of_factor)


def server_state(model, t_die, t_plate) -> ServerState:
    n = model.n
    z = lambda: np.zeros(n)  # noqa: E731
    return ServerState(np.vstack((t_die, t_plate)).astype(float), np.zeros((2, n)), np.zeros((2, n)), z(), z(), z(),
                       z(), z(), z(), np.zeros(n, np.bool_), np.zeros(n, np.bool_), z(), np.zeros(4))


@njit
def _pair_modes_1(k, r_d, r_p, c_d, c_p):
    a11 = -(1.0 / r_d + k) / c_d
    a12 = 1.0 / (r_d * c_d)
    a21 = 1.0 / (r_d * c_p)
    a22 = -(1.0 / r_d + 1.0 / r_p) / c_p
    tr = a11 + a22
    det = a11 * a22 - a12 * a21
    disc = 0.25 * tr * tr - det
    l2 = 0.5 * tr - math.sqrt(disc if disc > 0.0 else 0.0)
    return a11, a12, a21, a22, det / l2, l2


@njit
def _tdie(t, ad, bd, e_d, l1, l2):
    return e_d + ad * math.exp(l1 * t) + bd * math.exp(l2 * t)


@njit
def _illinois_1(ad, bd, e_d, l1, l2, bound, a, b, fa, fb):
    """:func:`.thermal._illinois` for one server: the time [s] in ``[a, b]`` where the die reaches
    ``bound``."""
    side = 0
    c = a
    for _ in range(60):
        c = (a * fb - b * fa) / (fb - fa)
        fc = _tdie(c, ad, bd, e_d, l1, l2) - bound
        if fc * fa > 0:  # root in [c, b]
            a, fa = c, fc
            if side == 1:
                fb *= 0.5
            side = 1
        else:
            b, fb = c, fc
            if side == -1:
                fa *= 0.5
            side = -1
        if abs(fc) < 1e-12 or b - a < 1e-11:
            break
    return c


@njit
def pair_step_1(td, tp, t_cool, u, p_idle, p_dyn, r_d, r_p, c_d, c_p, t_slow, gain, min_clock, dt):
    """:func:`.thermal.server_pair_step` for one server: ``(td1, tp1, energy_j, throttled_s,
    lost_clock_s)``."""
    r_th = r_d + r_p
    t_floor = t_slow + (1.0 - min_clock) / gain
    pu = p_dyn * u
    kb = pu * gain
    p_a = p_idle + pu
    p_b0 = p_idle + pu * (1.0 + gain * t_slow)
    p_c = p_idle + pu * min_clock
    rem = dt
    energy = thr = lost = 0.0
    max_pieces = 8
    for it in range(max_pieces):
        s = 1.0 - gain * (td - t_slow)
        s = min_clock if s < min_clock else (1.0 if s > 1.0 else s)
        if (p_idle + pu * s - (td - tp) / r_d) > 0.0:
            piece = (1 if td >= t_slow else 0) + (1 if td >= t_floor else 0)
        else:
            piece = (1 if td > t_slow else 0) + (1 if td > t_floor else 0)
        if piece == 1:
            k, p0, lo, hi = kb, p_b0, t_slow, t_floor
        elif piece == 2:
            k, p0, lo, hi = 0.0, p_c, t_floor, math.inf
        else:
            k, p0, lo, hi = 0.0, p_a, -math.inf, t_slow
        a11, a12, a21, a22, l1, l2 = _pair_modes_1(k, r_d, r_p, c_d, c_p)
        e_d = (t_cool + r_th * p0) / (1.0 + r_th * k)
        e_p = t_cool + r_p * (p0 - k * e_d)
        yd, yp = td - e_d, tp - e_p
        inv = 1.0 / (l1 - l2)
        ad = (a11 * yd + a12 * yp - l2 * yd) * inv
        bd = yd - ad
        ap = (a21 * yd + a22 * yp - l2 * yp) * inv
        bp = yp - ap
        h = rem
        hit = False
        bound = 0.0
        if it < max_pieces - 1:
            ratio = -bd * l2 / (ad * l1)
            t_ext = math.log(ratio) / (l1 - l2) if ratio > 0 else -1.0
            has_ext = (t_ext > 0) and (t_ext < rem)
            t1 = t_ext if has_ext else rem
            v1 = _tdie(t1, ad, bd, e_d, l1, l2)
            v2 = _tdie(rem, ad, bd, e_d, l1, l2)
            out1 = (v1 > hi) or (v1 < lo)
            out2 = has_ext and (not out1) and ((v2 > hi) or (v2 < lo))
            hit = out1 or out2
            if hit:
                va = td if out1 else v1
                vb = v1 if out1 else v2
                bound = hi if vb > hi else lo
                ta = 0.0 if out1 else t1
                tb = t1 if out1 else rem
                root = _illinois_1(ad, bd, e_d, l1, l2, bound, ta, tb, va - bound, vb - bound)
                h = 0.0 if root < 0.0 else (rem if root > rem else root)
        e1, e2 = math.exp(l1 * h), math.exp(l2 * h)
        td_new = bound if hit else e_d + ad * e1 + bd * e2
        tp_new = e_p + ap * e1 + bp * e2
        int_t = e_d * h + ad * math.expm1(l1 * h) / l1 + bd * math.expm1(l2 * h) / l2
        if piece == 1:
            energy += p_b0 * h - kb * int_t
            lost += gain * (int_t - t_slow * h)
        else:
            energy += p0 * h
            if piece == 2:
                lost += (1.0 - min_clock) * h
        if piece > 0:
            thr += h
        td, tp = td_new, tp_new
        rem = rem - h
        if not hit:
            break
    return td, tp, energy, thr, lost


@njit
def servers_predict_all(S, J, L, lv, s, D, uj, h, tl, off_on, q_loops, q_off):
    """Step 1 in one pass over the servers (:meth:`ServerBank.predict` with the workload's and the
    couplings' per-server work fused in): step-mean utilisation ``s.u`` from the jobs' means ``uj``
    (clipped to [0, 1]), full-clock energy ``s.e_full`` [J], recirculation ``s.r`` [K] from
    ``D.delta`` (the last step's rack powers, :func:`rack_delta`), the heat at a 0 °C loop part
    ``s.q0`` [J] (response in ``s.dX``) summed into ``q_loops``; with sibling coupling (``off_on``)
    ``Σ g·w·(w·T)`` over the servers at the loops' start ``tl`` into ``q_off`` (Γ_off's start term
    before its diagonal is taken off)."""
    F1, F2 = L.F1[lv], L.F2[lv]
    g = L.g[lv]
    X = s.X
    recirc = D.has[0]
    q_loops[:] = 0.0
    q_off[:] = 0.0
    run_a = run_b = -1
    sum_a = sum_b = off_a = off_b = 0.0
    for i in range(S.p_idle.size):
        acc = 0.0
        for q in range(J.indptr[i], J.indptr[i + 1]):
            acc += J.data[q] * uj[J.indices[q]]
        u = 0.0 if acc < 0.0 else (1.0 if acc > 1.0 else acc)
        s.u[i] = u
        p_a = S.p_idle[i] + S.p_dyn[i] * u
        e = p_a * h
        s.e_full[i] = e
        r = S.wa[i] * S.hf[i] * D.delta[S.rack[i]] if recirc else 0.0
        s.r[i] = r
        yd = X[0, i] - r - p_a * S.r_th[i]
        yp = X[1, i] - r - p_a * S.r_plate[i]
        d0 = F1[0, i] * yd + F2[0, i] * yp
        d1 = F1[1, i] * yp + F2[1, i] * yd
        s.dX[0, i] = d0
        s.dX[1, i] = d1
        q0 = e - (S.c_die[i] * d0 + S.c_plate[i] * d1)
        s.q0[i] = q0
        la, lb = S.air[i], S.liq[i]
        wa, wb = S.wa[i], S.wb[i]
        # sums per loop over runs of servers on the same loops (plan order keeps a rack's servers,
        # and racks of a row, together): adds in registers instead of a store-to-load chain
        if la != run_a:
            if run_a >= 0:
                q_loops[run_a] += sum_a
                q_off[run_a] += off_a
            run_a, sum_a, off_a = la, 0.0, 0.0
        if lb != run_b:
            if run_b >= 0:
                q_loops[run_b] += sum_b
                q_off[run_b] += off_b
            run_b, sum_b, off_b = lb, 0.0, 0.0
        sum_a += wa * q0
        sum_b += wb * q0
        if off_on:
            x = g[i] * (wa * tl[la] + wb * tl[lb])
            off_a += wa * x
            off_b += wb * x
    if run_a >= 0:
        q_loops[run_a] += sum_a
        q_off[run_a] += off_a
    if run_b >= 0:
        q_loops[run_b] += sum_b
        q_off[run_b] += off_b
    if not off_on:
        q_off[:] = 0.0


@njit
def rack_delta(D):
    """Recirculation rise of every rack ``D.delta = D @ D.rack_p`` [K] (air-side rack powers [W]
    accumulated by :func:`servers_finish`)."""
    for r in range(D.delta.size):
        acc = 0.0
        for q in range(D.indptr[r], D.indptr[r + 1]):
            acc += D.data[q] * D.rack_p[D.indices[q]]
        D.delta[r] = acc


@njit
def servers_step(S, L, lv, s, tl, h):
    """:meth:`ServerBank.step` at the loops' end temperatures ``tl`` [°C], one pass: ``s.X``
    advanced, ``s.dX`` its change, ``s.energy`` [J] per server; servers at or past slowdown take the
    exact piecewise path. Returns ``(tmax, throttled_step, step_thr_gpu_s)``."""
    G1 = L.G1[lv]
    X, dX = s.X, s.dX
    gain, smin = S.opt[0], S.opt[1]
    stats = s.stats
    tmax = -math.inf
    hot_any = False
    step_thr = 0.0
    lost = 0.0
    for i in range(S.p_idle.size):
        tcl = S.wa[i] * tl[S.air[i]] + S.wb[i] * tl[S.liq[i]]
        s.tcl[i] = tcl
        d0 = dX[0, i] - G1[0, i] * tcl
        d1 = dX[1, i] - G1[1, i] * tcl
        td0 = X[0, i]
        t_new = td0 + d0
        if t_new > S.t_slow[i] or td0 > S.t_slow[i]:  # hot: the exact piecewise path
            hot_any = True
            tp0 = X[1, i]
            td1, tp1, e, thr_h, lost_h = pair_step_1(td0, tp0, tcl + s.r[i], s.u[i], S.p_idle[i], S.p_dyn[i],
                                                     S.r_die[i], S.r_plate[i], S.c_die[i], S.c_plate[i],
                                                     S.t_slow[i], gain, smin, h)
            dX[0, i] = td1 - td0
            dX[1, i] = tp1 - tp0
            X[0, i] = td1
            X[1, i] = tp1
            s.energy[i] = e
            step_thr += S.gpus[i] * thr_h
            lost += S.gpus[i] * s.u[i] * lost_h
            s.srv_thr_s[i] += thr_h
            if (td1 > S.t_slow[i] or thr_h > 0.0) and not s.in_event[i]:
                stats[0] += S.gpus[i]
                s.in_event[i] = True
                s.ever[i] = True
                stats[3] += 1.0
            t_new = td1
        else:
            dX[0, i] = d0
            dX[1, i] = d1
            X[0, i] = t_new
            X[1, i] += d1
            s.energy[i] = s.e_full[i]
        if s.in_event[i] and t_new < S.t_event_end[i]:  # cool enough to end its event
            s.in_event[i] = False
            stats[3] -= 1.0
        if t_new > tmax:
            tmax = t_new
    stats[1] += step_thr
    stats[2] += lost
    return tmax, hot_any, step_thr


@njit
def servers_finish(S, L, lv, s, D, throttled, off_on, tl, tl_start, h, dq, p_mean, t_rec, iv_max_t, iv_e):
    """Step 4 and the servers' part of step 5 in one pass: into ``dq`` [J] per loop the servers'
    true heat (``throttled``) or, with sibling coupling, ``Σ g·w·(w·ΔT)`` over the loops' change
    (the caller completes both); the step's mean power ``p_mean`` [W] and the air-side rack powers
    ``D.rack_p`` (next step's recirculation); each server's interval maximum ``iv_max_t`` of
    ``t_rec`` [°C] and energy ``iv_e`` [J] (:func:`.recorder.record_step`). Returns the IT energy [J]."""
    g = L.g[lv]
    recirc = D.has[0]
    if recirc:
        D.rack_p[:] = 0.0
    if throttled or off_on:
        dq[:] = 0.0
    e_step = 0.0
    inv_h = 1.0 / h
    scatter = throttled or off_on
    run_a = run_b = -1
    sum_a = sum_b = 0.0
    for i in range(S.p_idle.size):
        e = s.energy[i]
        e_step += e
        pm = e * inv_h
        p_mean[i] = pm
        wa = S.wa[i]
        if recirc:
            D.rack_p[S.rack[i]] += wa * pm
        if scatter:
            la, lb = S.air[i], S.liq[i]
            wb = S.wb[i]
            if throttled:
                x = e - S.c_die[i] * s.dX[0, i] - S.c_plate[i] * s.dX[1, i]
            else:
                x = g[i] * (wa * (tl[la] - tl_start[la]) + wb * (tl[lb] - tl_start[lb]))
            if la != run_a:  # per-loop sums over runs of servers on the same loops (as in the predict)
                if run_a >= 0:
                    dq[run_a] += sum_a
                run_a, sum_a = la, 0.0
            if lb != run_b:
                if run_b >= 0:
                    dq[run_b] += sum_b
                run_b, sum_b = lb, 0.0
            sum_a += wa * x
            sum_b += wb * x
        if t_rec[i] > iv_max_t[i]:
            iv_max_t[i] = t_rec[i]
        iv_e[i] += e
    if run_a >= 0:
        dq[run_a] += sum_a
    if run_b >= 0:
        dq[run_b] += sum_b
    return e_step
