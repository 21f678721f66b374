"""The server step: every server's die/plate pair over one step, with NVIDIA's thermal control.

Servers below their first throttle kink take the precomputed full-clock propagator ``e^{A dt}``
(die and plate stacked as two rows, a few numpy operations); servers settled inside one piece of
their power law take :class:`PieceKernel`; only the rest take the exact piecewise path
(:func:`.thermal.server_pair_step_pieces`). Each server keeps one die temperature (its mean GPU);
its GPU groups sit at offsets around it (:mod:`.gpu_control`), so throttling grows group by group.

Throttling statistics are counted here (throttling belongs to the server step): GPU time below
full clock, lost work (``u · (1 − clock)``), episodes (:meth:`ServerBank.close_minute`: per GPU
group on the minute record, ended by ``defaults.THROTTLE_EPISODE_GAP_MIN`` quiet minutes, so they
do not depend on any temperature hysteresis) and GPU shutdowns (a group past its shutdown
temperature stops, its work is lost, until it has cooled ``GPU_RESTART_BELOW_SLOWDOWN_K`` below
slowdown).
"""
from __future__ import annotations

import numpy as np

from . import defaults as d
from .gpu_control import lost_work_fraction
from .model import Model
from .thermal import pair_modes, pair_propagator, piece_index, server_pair_step_pieces

vmax_ = np.maximum.reduce


class PieceKernel:
    """Exact step for servers whose die stays inside one piece of its power law all step (the
    steady throttled state).

    Same solution as :func:`.thermal.server_pair_step_pieces` within a piece,
    ``x(dt) = x_eq + e^{A dt}(x0 − x_eq)`` with the propagator and its integral row computed once per
    server, piece and utilisation. The die stays inside ``(lo, hi)`` if ``|T_d(t) − e_d| ≤ |α| + |β|
    ≤ 2|α| + |y_d|`` keeps it inside (T_d = e_d + α e^{λ1 t} + β e^{λ2 t}, α + β = y_d).
    """

    def __init__(self, model: Model, idx, u, pieces, tables, dt: float):
        rows = np.arange(idx.size)
        self.dt = dt
        self.idx = idx
        kinks, pa, pb, pthr = tables[:4]
        r_d, r_p, c_d, c_p = model.r_die[idx], model.r_plate[idx], model.c_die[idx], model.c_plate[idx]
        pu = model.p_dyn[idx] * u
        m = kinks.shape[1]
        self.k = pu * pb[rows, pieces]
        self.p0 = model.p_idle[idx] + pu * pa[rows, pieces]
        self.thr = pthr[rows, pieces]
        self.lo = np.where(pieces > 0, kinks[rows, np.maximum(pieces - 1, 0)], -np.inf)
        self.hi = np.where(pieces < m, kinks[rows, np.minimum(pieces, m - 1)], np.inf)
        r_th = r_d + r_p
        a11, a12, a21, a22, l1, l2 = pair_modes(self.k, r_d, r_p, c_d, c_p)
        (f11, f12, f21, f22), (g1, g2) = pair_propagator(self.k, r_d, r_p, c_d, c_p, dt)
        inv = 1.0 / (l1 - l2)
        self.ed0 = r_th * self.p0 / (1.0 + r_th * self.k)  # e_d = ed0 + ed1·T_c
        self.ed1 = 1.0 / (1.0 + r_th * self.k)
        self.ep0 = r_p * (self.p0 - self.k * self.ed0)  # e_p = ep0 + ep1·T_c
        self.ep1 = 1.0 - r_p * self.k * self.ed1
        self.c1, self.c2 = 2.0 * (a11 - l2) * inv, 2.0 * a12 * inv
        self.f11m1, self.f12, self.f21, self.f22m1 = f11 - 1.0, f12, f21, f22 - 1.0
        self.g1, self.g2 = g1, g2

    def step(self, td, tp, tc):
        """``(td_new, tp_new, energy_j, ∫T_d dt)``, or None if some die may leave its piece."""
        e_d = self.ed0 + tc * self.ed1
        yd = td - e_d
        yp = tp - self.ep0 - self.ep1 * tc
        reach = np.abs(self.c1 * yd + self.c2 * yp) + np.abs(yd)
        if not (vmax_(self.lo - (e_d - reach)) < -1e-9 and vmax_(e_d + reach - self.hi) < -1e-9):
            return None
        td_new = td + (self.f11m1 * yd + self.f12 * yp)
        tp_new = tp + (self.f21 * yd + self.f22m1 * yp)
        int_t = e_d * self.dt + self.g1 * yd + self.g2 * yp
        return td_new, tp_new, self.p0 * self.dt - self.k * int_t, int_t


class ServerBank:
    """Die and plate temperatures of every server and their exact per-step update.

    X : array [2 × n]  Die (row 0) and plate (row 1) temperatures [°C]
    Statistics since the start: ``thr_gpu_s`` (GPU time below full clock [s]), ``lost_gpu_s``
    (``Σ gpus·u·(1 − clock) dt`` [s]), ``srv_thr_s`` (per server, GPU-share-weighted throttled time
    [s]), ``events`` (throttle episodes, counted in GPUs), ``ever`` ([n × G] groups that ever
    throttled), ``shutdown_gpu_s`` (GPU time shut down [s]), ``shutdowns`` (GPU shutdowns).
    """

    def __init__(self, model: Model, dt: float, t_die, t_plate):
        self.model = model
        self.dt = dt
        self.n = n = model.n
        self.p_idle, self.p_dyn = model.p_idle, model.p_dyn
        self.r_die, self.r_plate, self.c_die, self.c_plate = model.r_die, model.r_plate, model.c_die, model.c_plate
        self.C2 = np.vstack((self.c_die, self.c_plate))
        self._levels: dict = {}
        self.kernel = None
        self.kernel_key = None
        self.use_step(dt)
        self.gpus = model.gpus
        self.total_gpus = float(self.gpus.sum()) or 1.0
        self.X_a = np.vstack((t_die, t_plate))
        self.X_b = np.empty_like(self.X_a)
        self.y2, self.dX_buf, self.tmp2 = (np.empty_like(self.X_a) for _ in range(3))
        self.X = self.X_a
        self.first_kink = model.first_kink
        self.first_kink_min = float(model.first_kink.min())
        self.off_max = model.off_max
        # statistics
        self.thr_gpu_s = 0.0
        self.lost_gpu_s = 0.0
        self.srv_thr_s = np.zeros(n)
        self.events = 0.0
        g = model.gpu_w.shape[1]
        self.ever = np.zeros((n, g), bool)
        self.in_episode = np.zeros((n, g), bool)
        self.quiet_min = np.zeros((n, g), int)
        self.minute_thr = np.zeros((n, g), bool)  # groups below full clock in the current minute
        self.t_gpu = np.asarray(t_die, float) + model.off_max  # hottest GPU of each server [°C]
        self.tables = self.tables_key = None
        self.minute_hot = False
        self.down = np.zeros((n, g), bool)  # GPU groups shut down
        self.any_down = False
        self.shutdown_gpu_s = 0.0
        self.cap_lost_gpu_s = 0.0  # work given up to predictive throttling (GPU-seconds)
        self.shutdowns = 0.0
        self.t_restart = model.t_slow - d.GPU_RESTART_BELOW_SLOWDOWN_K

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
            lv = (F1, F2, G1, g)
            self._levels[dt] = lv
        self.dt = dt
        self.F1, self.F2, self.G1, self.g = lv
        self.kernel_key = None  # the piece kernel belongs to a step length

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

    @property
    def t_hottest_gpu(self):
        """Hottest GPU of each server [°C] (:mod:`.gpu_control` groups) at the end of the last step."""
        return self.t_gpu

    def _groups(self, t_die, hot_sub, tables):
        """Group temperatures and power fractions of hot servers ``hot_sub`` (indices into the current
        hot set) at their mean die ``t_die`` [°C]."""
        kinks, pa, pb, _, k_die = tables
        rows = np.arange(hot_sub.size)
        j = piece_index(t_die, kinks[hot_sub])
        pbar = pa[hot_sub][rows, j] - pb[hot_sub][rows, j] * t_die
        return self.model.gpu_groups(t_die, pbar, self.hot_idx[hot_sub], k_die[hot_sub])

    def _lost_rate(self, t_mean, sub):
        _, p = self._groups(t_mean, sub, self.tables)
        return lost_work_fraction(p, self.model.gpu_w[self.hot_idx[sub]], self.model.alpha)

    def step(self, tcl, r, chunk, kk: int, u_cap=None):
        """Advance every server one step at coolant ``tcl + r`` [°C] (loops' part, recirculation)
        with the utilisation of row ``kk`` of ``chunk`` (capped at ``u_cap`` if given: predictive
        throttling), after :meth:`predict` of the same step. Returns
        ``(energy_j, dX, tmax, throttled_step, step_thr_gpu_s)``: electric
        energy per server over the step [J], the change of die and plate temperatures [K]
        ([2 × n]), the hottest GPU at the step end [°C], whether any server was hot, and the GPU time
        spent below full clock in the step [s]."""
        dt = self.dt
        X = self.X
        t_srv, t_plt = X[0], X[1]
        # full-clock pair, exact: x(dt) = x_eq + e^{A dt}(x0 − x_eq), e^{A dt} per server precomputed;
        # predict() left the response at a 0 °C loop part in dX_buf, linear in the coolant
        dX = self.dX_buf
        dX -= np.multiply(self.G1, tcl, out=self.tmp2)
        X_new = self.X_b if X is self.X_a else self.X_a
        np.add(X, dX, out=X_new)
        energy = chunk.e[kk]
        np.add(X_new[0], self.off_max, out=self.t_gpu)  # hottest GPU of a server at full clock
        capped = None
        if u_cap is not None:
            capped = u_cap < chunk.u[kk] - 1e-12
            if not capped.any():
                capped = u_cap = None
        hot_any = (vmax_(X_new[0]) > self.first_kink_min or vmax_(t_srv) > self.first_kink_min or self.any_down
                   or capped is not None)
        if not hot_any:
            self.X = X_new
            return energy, dX, float(vmax_(self.t_gpu)), False, 0.0
        m = self.model
        tc = tcl + r
        hot_mask = (X_new[0] > self.first_kink) | (t_srv > self.first_kink)
        if self.any_down:
            hot_mask |= self.down.any(axis=1)
        if capped is not None:  # capped servers leave the precomputed full-clock path
            hot_mask |= capped
        hot = np.flatnonzero(hot_mask)
        self.hot_idx = hot
        step_thr_gpu_s = 0.0
        if hot.size:
            u = chunk.u[kk][hot]
            u_base = u if u_cap is None else u_cap[hot]
            down_w = (m.gpu_w[hot] * self.down[hot]).sum(axis=1) if self.any_down else None
            u_run = u_base if down_w is None else u_base * (1.0 - down_w)
            td0, tp0, tch = t_srv[hot], t_plt[hot], tc[hot]
            plain = down_w is None and u_cap is None
            tkey = (hot.tobytes(), id(chunk), None if chunk.u_const else kk, dt)
            if not plain or tkey != self.tables_key:
                self.tables = m.gpu_tables(u_run, hot)
                self.tables_key = tkey if plain else None
            tables = self.tables
            res = None
            if chunk.u_const and plain:  # settled throttled servers: one piece all step
                pieces = piece_index(td0, tables[0])
                key = (tkey, pieces.tobytes())
                if key != self.kernel_key:
                    self.kernel = PieceKernel(m, hot, u_run, pieces, tables, dt)
                    self.kernel_key = key
                out = self.kernel.step(td0, tp0, tch)
                if out is not None:
                    th, tph, eh, int_t = out
                    thr_t = self.kernel.thr * dt
                    lost = dt * self._lost_rate(int_t / dt, np.arange(hot.size))
                    res = th, tph, eh, thr_t, lost
            if res is None:
                res = server_pair_step_pieces(td0, tp0, tch, u_run, m.p_idle[hot], m.p_dyn[hot], m.r_die[hot],
                                              m.r_plate[hot], m.c_die[hot], m.c_plate[hot], *tables[:4], dt,
                                              lost_rate=self._lost_rate)
            th, tph, eh, thr_t, lost = res
            g_h = self.gpus[hot]
            if down_w is not None:
                # a shut-down group delivers nothing: all its demanded work is lost, and it counts as
                # below full clock; the running groups' work as the law says
                lost = lost * (1.0 - down_w) + down_w * dt
                thr_t = thr_t * (1.0 - down_w) + down_w * dt
                self.shutdown_gpu_s += float(np.dot(g_h, down_w)) * dt
            step_thr_gpu_s = float(np.dot(g_h, thr_t))
            self.thr_gpu_s += step_thr_gpu_s
            self.lost_gpu_s += float(np.dot(g_h * u_base, lost))
            if u_cap is not None:  # the planned loss of predictive throttling
                cap_lost = float(np.dot(g_h, u - u_base)) * dt
                self.lost_gpu_s += cap_lost
                self.cap_lost_gpu_s += cap_lost
            self.srv_thr_s[hot] += thr_t
            X_new[0, hot] = th
            X_new[1, hot] = tph
            energy = energy.copy()
            energy[hot] = eh
            dX = X_new - X
            # the GPU groups at the step's ends: the minute record (episodes), the hottest GPU, shutdowns
            sub = np.arange(hot.size)
            t_g, p_g = self._groups(th, sub, tables)
            _, p_g0 = self._groups(td0, sub, tables)
            self.t_gpu[hot] = np.max(np.where(m.gpu_w[hot] > 0, t_g, -np.inf), axis=1)
            self.minute_thr[hot] |= ((p_g < 1.0 - 1e-12) | (p_g0 < 1.0 - 1e-12)) & (m.gpu_w[hot] > 0)
            self.minute_hot = True
            new_down = (t_g > m.t_shut[hot][:, None]) & (m.gpu_w[hot] > 0) & ~self.down[hot]
            back_up = self.down[hot] & (t_g < self.t_restart[hot][:, None])
            if new_down.any() or back_up.any():
                self.shutdowns += float((new_down * m.gpu_w[hot] * g_h[:, None]).sum())
                self.down[hot] = (self.down[hot] | new_down) & ~back_up
                self.any_down = bool(self.down.any())
        self.X = X_new
        return energy, dX, float(vmax_(self.t_gpu)), bool(hot.size), step_thr_gpu_s

    def close_minute(self, minutes: int = 1) -> None:
        """Update throttle episodes from the minute just ended: a group that was below full clock at
        any time of the minute (its hottest die + offset above its max operating temperature)
        starts an episode if it had none; an episode ends after ``THROTTLE_EPISODE_GAP_MIN`` whole
        minutes without throttling."""
        if not self.minute_hot and not self.in_episode.any():
            return
        m = self.model
        thr = (self.minute_thr & (m.gpu_w > 0)) | self.down
        starts = thr & ~self.in_episode
        if starts.any():
            self.events += float((starts * m.gpu_w * self.gpus[:, None]).sum())
        self.ever |= thr
        self.in_episode |= thr
        self.quiet_min = np.where(thr, 0, self.quiet_min + minutes)
        self.in_episode &= self.quiet_min < d.THROTTLE_EPISODE_GAP_MIN
        self.minute_thr.fill(False)
        self.minute_hot = False

    @property
    def throttled_gpus(self) -> float:
        """GPUs that were below full clock at some time [-]."""
        return float((self.ever * self.model.gpu_w * self.gpus[:, None]).sum())


# ----------------------------------------------------------------------------- compiled form
#
# The server step for the stepping kernel (:mod:`.integrate`): the same arithmetic as
# :class:`ServerBank` and :func:`.thermal.server_pair_step`, one server at a time. Servers below
# slowdown take the full-clock propagator; the hot ones the exact piecewise path through the kinks
# (the band is one of its pieces: in compiled code the general path costs no more than the band
# kernel did in numpy).

import math  # noqa: E402
from typing import NamedTuple  # noqa: E402

import numba  # noqa: E402

from .jit import PRANGE_ONLY, atomic_add, atomic_cas, atomic_load, atomic_store, njit, os_yield, spin_pause  # noqa: E402


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


#: Columns of :attr:`StepLevels.rows` (``ROW_INV_RD`` … ``ROW_A22``: :func:`pair_matrix_constants`, for the
#: hot servers' step)
(ROW_P_IDLE, ROW_P_DYN, ROW_R_TH, ROW_R_PLATE, ROW_C_DIE, ROW_C_PLATE, ROW_WA, ROW_WB, ROW_HF, ROW_F1_D, ROW_F1_P,
 ROW_F2_D, ROW_F2_P, ROW_G1_D, ROW_G1_P, ROW_FIRST_KINK, ROW_OFF_MAX, ROW_G, ROW_INV_RD, ROW_A12, ROW_A21,
 ROW_A22) = range(22)
ROW_LEN = 22
#: Columns of :attr:`StepLevels.ix`: the server's row of constants (its kind), air and liquid loop, rack
IX_KIND, IX_AIR, IX_LIQ, IX_RACK = range(4)


class StepLevels(NamedTuple):
    """Full-clock propagators per step length (level ``i`` = ``factors[i]`` base steps): ``F1``
    diagonal of ``e^{A h} − I`` (rows die / plate), ``F2`` its off-diagonal [levels × 2 × n] (the
    ripple's per-server form); ``g_self`` Γ's diagonal per loop [J/K] [levels × m]; ``of_factor``
    level index of a factor; ``rows`` [levels × kinds × :data:`ROW_LEN`] the constants of the
    full-clock passes (``ROW_*`` columns: the same numbers as the tables', among them ``G1 = F1 + F2``
    (``ROW_G1_D``, ``ROW_G1_P``) and the servers' heat sensitivity to their coolant ``g`` [J/K]
    (``ROW_G``): the kernels read these there) and of the hot servers' exact step
    (:func:`.pieces.pair_step_pieces_1`): ``ROW_INV_RD`` ``1/r_die`` [W/K], ``ROW_A12``,
    ``ROW_A21``, ``ROW_A22`` the die/plate matrix's k-free terms [1/s] (:func:`pair_matrix_constants`;
    the same at every level), one row per *kind* of server (servers whose constants
    are the same bits at every level share a row: a hall has a few server models and rack heights);
    ``ix`` [n × 4] uint32 each server's kind, air and liquid loop and rack (``IX_*``). The passes read
    16 bytes a server instead of its constants (168 bytes: with the state, more than the cores'
    caches hold at 10,000 servers), and the kinds' rows stay in L1. Each server keeps its own
    state and is stepped on its own (this is no lumping: the same arithmetic on the same numbers)."""

    factors: np.ndarray
    F1: np.ndarray
    F2: np.ndarray
    g_self: np.ndarray
    of_factor: np.ndarray
    rows: np.ndarray
    ix: np.ndarray


class ServerState(NamedTuple):
    """Die / plate temperatures ``X`` [2 × n] [°C], scratch per step, and throttling statistics:
    ``in_event``, ``ever`` (per server), ``srv_thr_s`` [s] per server, ``stats`` = [events (GPUs),
    GPU time above slowdown [s], lost GPU work [s], servers in an event]."""

    X: np.ndarray
    dX: np.ndarray
    rp: np.ndarray
    u: np.ndarray
    r: np.ndarray
    tcl: np.ndarray
    energy: np.ndarray
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
                       f(model.t_slow - getattr(opt, 'throttle_hysteresis_k', 2.0)), f(model.gpus),
                       np.maximum(model.air_loop, 0).astype(np.int64), np.maximum(model.liq_loop, 0).astype(np.int64),
                       f(1.0 - lf), lf, model.rack.astype(np.int64), f(model.height_factor),
                       np.array([getattr(opt, 'throttle_gain_per_k', 0.0), getattr(opt, 'throttle_min_clock', 1.0),
                                 float(model.gpus.sum()) or 1.0]))


def step_levels(model, table: ServerTable, dt: float, factors) -> StepLevels:
    """:class:`StepLevels` for steps of ``factors`` × ``dt`` [s]."""
    factors = np.asarray(factors, np.int64)
    nl, n, m = factors.size, model.n, model.m
    # the passes index loops and racks unsigned (StepLevels.ix: a negative index would wrap to a huge
    # one) and np.add.at below would take a negative one from the end: every index in range first
    for what, col, count in (("air loop", table.air, m), ("liquid loop", table.liq, m),
                             ("rack", table.rack, model.recirc.shape[0])):
        col = np.asarray(col, np.int64)
        bad = np.flatnonzero((col < 0) | (col >= count))
        if bad.size:
            raise ValueError(f"server {int(bad[0])}: {what} index {int(col[bad[0]])} outside 0 … {count - 1}")
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
    full = np.empty((n, nl, ROW_LEN))
    for i in range(nl):
        cols = (table.p_idle, table.p_dyn, table.r_th, table.r_plate, table.c_die, table.c_plate, table.wa, table.wb,
                table.hf, F1[i, 0], F1[i, 1], F2[i, 0], F2[i, 1], G1[i, 0], G1[i, 1], model.first_kink,
                model.off_max, g[i], *pair_matrix_constants(table.r_die, table.r_plate, table.c_die, table.c_plate))
        for j, col in enumerate(cols):
            full[:, i, j] = np.asarray(col, float)
    # kinds: servers whose constants are the same bits (compared as integers: -0.0 and 0.0 stay
    # apart), numbered by first occurrence (the lumping's classes are found the same way)
    from .lumping import _first_ids
    kind = _first_ids(full.reshape(n, nl * ROW_LEN).view(np.int64)) if n else np.zeros(0, np.int64)
    first = np.unique(kind, return_index=True)[1].astype(np.int64)  # each kind's first server (kinds 0..k-1)
    rows = np.ascontiguousarray(full[first].transpose(1, 0, 2))
    ix = np.stack([np.asarray(x, np.int64) for x in (kind, table.air, table.liq, table.rack)], axis=1)
    assert ix.size == 0 or 0 <= ix[:, 0].min() and ix[:, 0].max() < first.size
    ix = np.ascontiguousarray(ix.astype(np.uint32))  # (indices checked above: none wraps)
    return StepLevels(factors, F1, F2, g_self, of_factor, rows, ix)


def server_state(model, t_die, t_plate) -> ServerState:
    n = model.n
    z = lambda: np.zeros(n)  # noqa: E731
    return ServerState(np.vstack((t_die, t_plate)).astype(float), np.zeros((2, n)), np.zeros((2, n)), z(), z(),
                       z(), z(), np.zeros(n, np.bool_), np.zeros(n, np.bool_), z(), np.zeros(4))


def pair_matrix_constants(r_d, r_p, c_d, c_p):
    """The die/plate pair's matrix terms that do not depend on the die share ``k``: ``(1/r_d [W/K],
    a12, a21, a22 [1/s])`` from the die-to-plate and plate-to-coolant resistances ``r_d``, ``r_p``
    [K/W] and the die and plate heat capacities ``c_d``, ``c_p`` [J/K] — scalars or arrays (plain
    Python: :func:`step_levels` takes them by kind with numpy; the kernels use its compiled form
    :func:`pair_matrix_constants_1`, the same expressions, hence the same bits). The pair's matrix
    is ``[[a11, a12], [a21, a22]]`` with ``a11 = −(1/r_d + k)/c_d`` (:func:`pair_modes_pre`)."""
    return 1.0 / r_d, 1.0 / (r_d * c_d), 1.0 / (r_d * c_p), -(1.0 / r_d + 1.0 / r_p) / c_p


#: :func:`pair_matrix_constants` compiled (inlined where it is called)
pair_matrix_constants_1 = njit(refcount=False, inline="always")(pair_matrix_constants)


@njit(refcount=False, inline="always")
def pair_modes_pre(k, c_d, inv_rd, a12, a21, a22):
    """The k-dependent part of :func:`_pair_modes_1` from :func:`pair_matrix_constants`'s ``inv_rd``
    [W/K], ``a12``, ``a21``, ``a22`` [1/s] and the die share ``k`` [W/K] (``dP/dT_d`` of the piece,
    ``p_dyn·u·B``), ``c_d`` [J/K]: ``(a11, λ1, λ2)`` [1/s] (``a11 = −(1/r_d + k)/c_d``; λ1 ≥ λ2 the
    modes: ``λ2 = tr/2 − √(tr²/4 − det)``, ``λ1 = det/λ2``). No divide but ``a11``'s and ``λ1``'s.
    ``a12``, ``a21``, ``a22`` are the matrix's other terms as handed in."""
    a11 = -(inv_rd + k) / c_d
    tr = a11 + a22
    det = a11 * a22 - a12 * a21
    disc = 0.25 * tr * tr - det
    l2 = 0.5 * tr - math.sqrt(disc if disc > 0.0 else 0.0)
    return a11, det / l2, l2


@njit(refcount=False)
def _pair_modes_1(k, r_d, r_p, c_d, c_p):
    """The die/plate pair's matrix at die share ``k`` [W/K] and its modes: ``(a11, a12, a21, a22, λ1,
    λ2)`` [1/s] (:func:`pair_matrix_constants` then :func:`pair_modes_pre`: one source for the
    expressions)."""
    inv_rd, a12, a21, a22 = pair_matrix_constants_1(r_d, r_p, c_d, c_p)
    a11, l1, l2 = pair_modes_pre(k, c_d, inv_rd, a12, a21, a22)
    return a11, a12, a21, a22, l1, l2


@njit(refcount=False)
def _tdie(t, ad, bd, e_d, l1, l2):
    return e_d + ad * math.exp(l1 * t) + bd * math.exp(l2 * t)


@njit(refcount=False)
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


@njit(refcount=False)
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


#: The server passes of a step run over fixed chunks of consecutive servers (:class:`Chunks`):
#: a chunk ends only where a rack ends and both its servers' air and liquid loops change (a pod's
#: end in the halls built from pods), and holds at least this many servers [-] (each chunk costs a
#: loop's set-up per pass; ten chunks of the 10,004-server hall still balance two threads)
CHUNK_MIN_SERVERS = 1024
#: A chunk longer than this is split at the next rack end even inside a run of one loop [-]
CHUNK_MAX_SERVERS = 4096
#: Per-chunk partial results of :func:`.groupstep.servers_step_groups`: hottest GPU, any server
#: off the full-clock path, GPU time below full clock, IT energy
PART_LEN = 4
#: :attr:`Chunks.pool` words: the claim word (the pass's sequence number above
#: :data:`POOL_SHIFT` bits, the next chunk to hand out below), chunks done, quit, the pass
#: (:data:`POOL_PREDICT` / :data:`POOL_STEP`), its step level, its flags, the last sequence number
POOL_CLAIM, POOL_DONE, POOL_QUIT, POOL_KIND, POOL_LV, POOL_ARG, POOL_SEQ = range(7)
POOL_LEN = 8
POOL_SHIFT = 24
POOL_MASK = (1 << POOL_SHIFT) - 1
POOL_PREDICT, POOL_STEP = 1, 2
#: Spin-wait rounds (``pause``, ~0.05 µs each) before a waiting thread yields its core [-]
POOL_SPINS = 2000


class Chunks(NamedTuple):
    """The fixed partition of the servers for the per-step server passes (:func:`chunk_plan`).

    ``bounds`` [nc + 1] first server of each chunk (and n). Per-loop sums are taken over *runs* of
    consecutive servers on the same loop (air runs, then liquid runs), each run inside one chunk:
    ``slot_a`` / ``slot_b`` [nc] the first run slot of each chunk; ``ev_loop`` / ``ev_slot`` [runs]
    every run's loop and slot in the order a single pass over the servers adds them into the loop
    sums. Scratch: ``rs`` / ``ro`` [runs] run sums, ``part`` [nc × :data:`PART_LEN`] and ``pst``
    [nc × 8] per-chunk partials (GPU-group statistics). ``par`` [1]: 0 the chunks run in one call, 1 on
    numba's threads (``prange``), 2 on the run's helper pool (:func:`.groupstep.pool_helper`: threads
    that stay awake through the run and claim chunks, biggest first (``order`` [nc]), from the pass
    the caller publishes in ``pool`` [:data:`POOL_LEN`] and ``fpool`` [1] (its step length [s]); the
    caller claims too and waits only for chunks a helper has claimed). ``memo`` [3] the predict pass's memo (:func:`server_chunks` sets it up): ``memo[0]`` −1 off
    (nothing compared or stored), 0 on with nothing stored yet, 1 once a predict pass has stored
    every server's ``u`` and ``r``; ``memo[1]`` / ``memo[2]`` the passes that took back ``u`` / ``r``
    (counts, for tests); ``uj_prev`` [jobs] and ``rack_prev`` [racks] the jobs' means and air-side
    rack powers the stored ones were taken from: a pass whose inputs are the same bits takes them
    back instead of recomputing them (the same numbers).

    The partition depends on the plan only, never on the thread count, and the partial results are
    combined serially in chunk order, so every result is the same bit for bit whether the chunks
    run on one thread or several; the run sums are added in a single pass's order, so a one-chunk
    plan (e.g. the demo pod) gives exactly what one pass over the servers gives."""

    bounds: np.ndarray
    order: np.ndarray
    pool: np.ndarray
    fpool: np.ndarray
    slot_a: np.ndarray
    slot_b: np.ndarray
    ev_loop: np.ndarray
    ev_slot: np.ndarray
    rs: np.ndarray
    ro: np.ndarray
    part: np.ndarray
    pst: np.ndarray
    par: np.ndarray
    memo: np.ndarray
    uj_prev: np.ndarray
    rack_prev: np.ndarray


def chunk_plan(air, liq, rack, min_servers: int | None = None, max_servers: int | None = None) -> Chunks:
    """:class:`Chunks` for servers on ``air`` / ``liq`` loops [n] (indices ≥ 0) in ``rack`` [n]."""
    air, liq, rack = (np.asarray(x, np.int64) for x in (air, liq, rack))
    n = air.size
    lo = CHUNK_MIN_SERVERS if min_servers is None else int(min_servers)
    hi = CHUNK_MAX_SERVERS if max_servers is None else int(max_servers)
    # a chunk may end before server b only if no rack has servers on both sides
    last = {}
    for i, r in enumerate(rack.tolist()):
        last[r] = i
    reach = np.maximum.accumulate(np.array([last[r] for r in rack.tolist()], np.int64)) if n else np.zeros(0, np.int64)
    bounds = [0]
    for b in range(1, n):
        if reach[b - 1] >= b:
            continue
        size = b - bounds[-1]
        clean = air[b] != air[b - 1] and liq[b] != liq[b - 1]
        if (clean and size >= lo) or size >= hi:
            bounds.append(b)
    if n and n - bounds[-1] < lo and len(bounds) > 1 and n - bounds[-2] <= hi:
        bounds.pop()  # a short tail joins the chunk before it
    bounds.append(n)
    nc = len(bounds) - 1
    starts = set(bounds[:-1])
    # runs: a new run where the loop changes or a chunk starts; slots numbered air runs first
    ka = [i for i in range(n) if i in starts or air[i] != air[i - 1]]
    kb = [i for i in range(n) if i in starts or liq[i] != liq[i - 1]]
    na = len(ka)
    slot_a = np.searchsorted(np.array(ka, np.int64), np.array(bounds[:-1], np.int64)).astype(np.int64)
    slot_b = (na + np.searchsorted(np.array(kb, np.int64), np.array(bounds[:-1], np.int64))).astype(np.int64)
    # a single pass adds a run when the next one starts (air before liquid at the same server), and
    # the last ones at the end
    ev = []
    for j, st in enumerate(ka):
        end = ka[j + 1] if j + 1 < na else n
        ev.append((end, 0, int(air[st]), j))
    for j, st in enumerate(kb):
        end = kb[j + 1] if j + 1 < len(kb) else n
        ev.append((end, 1, int(liq[st]), na + j))
    ev.sort()
    ns = na + len(kb)
    sizes = np.diff(np.array(bounds, np.int64))
    pool = np.zeros(POOL_LEN, np.int64)
    pool[POOL_CLAIM] = nc  # nothing to hand out
    return Chunks(np.array(bounds, np.int64), np.argsort(-sizes, kind="stable").astype(np.int64), pool, np.zeros(1),
                  slot_a, slot_b, np.array([e[2] for e in ev], np.int64),
                  np.array([e[3] for e in ev], np.int64), np.zeros(ns), np.zeros(ns), np.zeros((nc, PART_LEN)),
                  np.zeros((nc, 8)), np.zeros(1, np.int64), np.array([-1, 0, 0], np.int64), np.zeros(0),
                  np.zeros(0))


def server_chunks(table: ServerTable, memo: tuple[int, int] | None = None, **kw) -> Chunks:
    """:func:`chunk_plan` of a :class:`ServerTable`'s servers; ``memo = (jobs, racks)``: the predict
    pass's memo on (:attr:`Chunks.memo`, compared over that many jobs' means and rack powers), None: off."""
    K = chunk_plan(table.air, table.liq, table.rack, **kw)
    if memo is None:
        return K
    jobs, racks = (int(x) for x in memo)
    return K._replace(memo=np.zeros(3, np.int64), uj_prev=np.zeros(jobs), rack_prev=np.zeros(racks))


@njit(refcount=False, inline="always")
def end_run(K, k, run, total, off):
    """Store the sums of a finished run of servers on one loop (``total``, ``off``) in slot ``k`` of
    ``K.rs`` / ``K.ro`` (nothing before the chunk's first run, ``run`` < 0); the next run's slot."""
    if run >= 0:
        K.rs[k] = total
        K.ro[k] = off
    return k + 1


@njit(refcount=False, inline="always")  # (one copy, in _predict_chunks)
def _predict_chunk(c, J, R, IX, X, recirc, s, D, uj, h, tl, off_on, K, memo):
    """:func:`servers_predict_all` for the servers of chunk ``c`` (constants from the level's rows ``R``
    of the servers' kinds ``IX``): their run sums into ``K.rs`` / ``K.ro``. ``memo`` bit 0: each
    server's ``s.u`` is still this step's, bit 1: its ``s.r`` (the inputs are the same bits)."""
    ka = K.slot_a[c] - 1
    kb = K.slot_b[c] - 1
    run_a = run_b = -1
    sum_a = sum_b = off_a = off_b = 0.0
    rack = -1
    delta = 0.0
    same_u = (memo & 1) != 0
    same_r = (memo & 2) != 0
    rise = recirc and not same_r
    for i in range(np.uint64(K.bounds[c]), np.uint64(K.bounds[c + 1])):  # (unsigned indices: no code for negative ones)
        k = IX[i, IX_KIND]
        if rise:  # this rack's recirculation rise (its servers are in this chunk)
            rk = IX[i, IX_RACK]
            if rk != rack:
                rack = rk
                delta = 0.0
                for q in range(D.indptr[rack], D.indptr[rack + 1]):
                    delta += D.data[q] * D.rack_p[D.indices[q]]
                D.delta[rack] = delta
        if same_u:
            u = s.u[i]
        else:
            acc = 0.0
            for q in range(J.indptr[i], J.indptr[i + np.uint64(1)]):
                acc += J.data[q] * uj[J.indices[q]]
            u = 0.0 if acc < 0.0 else (1.0 if acc > 1.0 else acc)
            s.u[i] = u
        p_a = R[k, ROW_P_IDLE] + R[k, ROW_P_DYN] * u
        e = p_a * h  # (the step recomputes it: one stream less than storing it)
        wa, wb = R[k, ROW_WA], R[k, ROW_WB]
        if same_r:
            r = s.r[i]
        else:
            r = wa * R[k, ROW_HF] * delta if recirc else 0.0
            s.r[i] = r
        yd = X[0, i] - r - p_a * R[k, ROW_R_TH]
        yp = X[1, i] - r - p_a * R[k, ROW_R_PLATE]
        d0 = R[k, ROW_F1_D] * yd + R[k, ROW_F2_D] * yp
        d1 = R[k, ROW_F1_P] * yp + R[k, ROW_F2_P] * yd
        s.dX[0, i] = d0
        s.dX[1, i] = d1
        q0 = e - (R[k, ROW_C_DIE] * d0 + R[k, ROW_C_PLATE] * d1)
        la, lb = IX[i, IX_AIR], IX[i, IX_LIQ]
        # sums per loop over runs of servers on the same loops (plan order keeps a rack's servers,
        # and racks of a row, together): adds in registers instead of a store-to-load chain
        if la != run_a:
            ka = end_run(K, ka, run_a, sum_a, off_a)
            run_a, sum_a, off_a = la, 0.0, 0.0
        if lb != run_b:
            kb = end_run(K, kb, run_b, sum_b, off_b)
            run_b, sum_b, off_b = lb, 0.0, 0.0
        sum_a += wa * q0
        sum_b += wb * q0
        if off_on:
            x = R[k, ROW_G] * (wa * tl[la] + wb * tl[lb])
            off_a += wa * x
            off_b += wb * x
    end_run(K, ka, run_a, sum_a, off_a)
    end_run(K, kb, run_b, sum_b, off_b)


@njit(refcount=False)
def _predict_chunks(c0, c1, J, R, IX, X, recirc, s, D, uj, h, tl, off_on, K, memo):
    """:func:`_predict_chunk` for chunks ``c0 … c1 − 1`` (one call for all when they run serially)."""
    for c in range(c0, c1):
        _predict_chunk(c, J, R, IX, X, recirc, s, D, uj, h, tl, off_on, K, memo)


@njit(refcount=False, parallel=PRANGE_ONLY)
def _predict_par(J, R, IX, X, recirc, s, D, uj, h, tl, off_on, K, memo):
    for c in numba.prange(K.bounds.size - 1):
        _predict_chunks(c, c + 1, J, R, IX, X, recirc, s, D, uj, h, tl, off_on, K, memo)


@njit(refcount=False)
def pool_publish(K, kind, lv, arg, h):
    """Hand a pass to the helper pool (:attr:`Chunks.pool`): the pass ``kind`` (:data:`POOL_PREDICT` /
    :data:`POOL_STEP`), its step level ``lv``, flags ``arg`` and step length ``h`` [s] first, then the
    claim word with the pass's new sequence number and chunk 0 (a release: a helper that claims a
    chunk sees all of it)."""
    P = K.pool
    seq = P[POOL_SEQ] + 1
    P[POOL_SEQ] = seq
    P[POOL_KIND] = kind
    P[POOL_LV] = lv
    P[POOL_ARG] = arg
    K.fpool[0] = h
    atomic_store(P, POOL_DONE, 0)
    atomic_store(P, POOL_CLAIM, seq << POOL_SHIFT)


@njit(refcount=False, inline="always")
def pool_claim(K):
    """The next chunk of the published pass this thread takes (biggest first, :attr:`Chunks.order`),
    or −1 when every chunk has been handed out. The claim word carries the pass's sequence number,
    so a claim can only succeed on the pass it was read from."""
    P = K.pool
    nc = K.bounds.size - 1
    while True:
        w = atomic_load(P, POOL_CLAIM)
        c = w & POOL_MASK
        if c >= nc:
            return -1
        if atomic_cas(P, POOL_CLAIM, w, w + 1):
            return K.order[c]


@njit(refcount=False)
def pool_wait(K):
    """Wait until every chunk of the pass is done (the caller has run its own claims: only chunks a
    helper took are waited for)."""
    nc = K.bounds.size - 1
    spins = 0
    while atomic_load(K.pool, POOL_DONE) < nc:
        spins += 1
        if spins < POOL_SPINS:
            spin_pause()
        else:  # the helper holding the last chunk lost its core: let it have this one
            os_yield()


@njit(refcount=False)
def add_runs(K, a, b):
    """The run sums ``K.rs`` / ``K.ro`` into the per-loop sums ``a`` / ``b`` [m], in a single
    pass's order (:class:`Chunks`)."""
    for e in range(K.ev_loop.size):
        a[K.ev_loop[e]] += K.rs[K.ev_slot[e]]
        b[K.ev_loop[e]] += K.ro[K.ev_slot[e]]


@njit(refcount=False)
def _same_bits(a, b):
    """Whether float arrays ``a`` and ``b`` hold the same bits (as integers: −0.0 and 0.0 differ, a NaN
    equals the same NaN), so anything computed from them is the same bits too; arrays of different
    sizes never are."""
    x, y = a.view(np.int64), b.view(np.int64)
    if x.size != y.size:
        return False
    for j in range(x.size):
        if x[j] != y[j]:
            return False
    return True


@njit(refcount=False)
def _memo(K, uj, rack_p):
    """What the last predict pass stored that this one may take back (:attr:`Chunks.memo`): −1 the
    memo is off (nothing to compare or store); else bit 0 the servers' utilisation (the jobs' means
    ``uj`` are the same bits as then), bit 1 their recirculation (the rack powers ``rack_p`` are);
    0 before the first pass has stored anything. The sizes are checked once, at that first pass
    (:func:`server_chunks` is handed the counts, the arrays come with the passes)."""
    state = K.memo[0]
    if state < 0:
        return -1
    if state == 0:
        if K.uj_prev.size != uj.size or K.rack_prev.size != rack_p.size:
            raise ValueError("predict memo set up for other numbers of jobs or racks (server_chunks memo=)")
        return 0
    memo = 0
    if _same_bits(uj, K.uj_prev):
        memo |= 1
    if _same_bits(rack_p, K.rack_prev):
        memo |= 2
    return memo


@njit(refcount=False)
def servers_predict_all(S, J, L, lv, s, D, uj, h, tl, off_on, q_loops, q_off, K):
    """Step 1 in one pass over the servers (:meth:`ServerBank.predict` with the workload's and the
    couplings' per-server work fused in): step-mean utilisation ``s.u`` from the jobs' means ``uj``
    (clipped to [0, 1]), recirculation ``s.r`` [K] from
    ``D.delta`` (:func:`rack_delta` of the last step's rack powers, taken here for the servers' racks), the heat at a 0 °C loop part
    [J] (response in ``s.dX``) summed into ``q_loops`` (not kept per server); with sibling coupling (``off_on``)
    ``Σ g·w·(w·T)`` over the servers at the loops' start ``tl`` into ``q_off`` (Γ_off's start term
    before its diagonal is taken off). Over the chunks ``K`` (:class:`Chunks`): ``K.par`` 1 on numba's
    threads, 2 on the run's helper pool (:func:`.groupstep.pool_helper`: a helper runs its chunks on the
    arrays it was handed when it started, not on the ones passed here — the caller passes the same ones;
    only ``lv``, ``h``, ``off_on`` and the memo's flags go with each pass). With ``K``'s memo on (:func:`server_chunks` ``memo=``) ``s.u`` is not recomputed
    when ``uj`` is the same bits as at the last pass, nor ``s.r`` and ``D.delta`` when ``D.rack_p`` is
    (they hold what that pass stored: the same numbers); off, both are recomputed every pass."""
    R = L.rows[lv]
    X = s.X
    recirc = D.has[0]
    nc = K.bounds.size - 1
    memo = _memo(K, uj, D.rack_p)
    take = memo if memo > 0 else 0
    par = K.par[0] if nc > 1 else 0
    if par == 2:
        pool_publish(K, POOL_PREDICT, lv, take | (4 if off_on else 0), h)
        while True:
            c = pool_claim(K)
            if c < 0:
                break
            _predict_chunks(c, c + 1, J, R, L.ix, X, recirc, s, D, uj, h, tl, off_on, K, take)
            atomic_add(K.pool, POOL_DONE, 1)
        pool_wait(K)
    elif par == 1:
        _predict_par(J, R, L.ix, X, recirc, s, D, uj, h, tl, off_on, K, take)
    else:
        _predict_chunks(0, nc, J, R, L.ix, X, recirc, s, D, uj, h, tl, off_on, K, take)
    if memo >= 0:  # the memo is on: keep this pass's inputs (where they changed), count what it took back
        if not take & 1:
            for j in range(uj.size):
                K.uj_prev[j] = uj[j]
        if not take & 2:
            for j in range(D.rack_p.size):
                K.rack_prev[j] = D.rack_p[j]
        K.memo[0] = 1
        K.memo[1] += take & 1
        K.memo[2] += (take >> 1) & 1
    for l in range(q_loops.size):
        q_loops[l] = 0.0
        q_off[l] = 0.0
    add_runs(K, q_loops, q_off)
    if not off_on:
        for l in range(q_off.size):
            q_off[l] = 0.0


@njit(refcount=False)
def rack_delta(D):
    """Recirculation rise of every rack ``D.delta = D @ D.rack_p`` [K] (air-side rack powers [W]
    accumulated by :func:`.groupstep.servers_step_groups`)."""
    for r in range(D.delta.size):
        acc = 0.0
        for q in range(D.indptr[r], D.indptr[r + 1]):
            acc += D.data[q] * D.rack_p[D.indices[q]]
        D.delta[r] = acc


