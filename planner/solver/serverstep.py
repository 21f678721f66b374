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
