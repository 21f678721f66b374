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
        self.dt = dt
        self.n = n = model.n
        self.gain, self.smin = opt.throttle_gain_per_k, opt.throttle_min_clock
        self.p_idle, self.p_dyn, self.t_slow = model.p_idle, model.p_dyn, model.t_slow
        self.r_die, self.r_plate, self.c_die, self.c_plate = model.r_die, model.r_plate, model.c_die, model.c_plate
        # full-clock propagator e^{A dt} of the die/plate pair, minus the identity on the diagonal
        (f11, f12, f21, f22), _ = pair_propagator(0.0, self.r_die, self.r_plate, self.c_die, self.c_plate, dt)
        self.F1 = np.vstack((f11 - 1.0, f22 - 1.0))  # diagonal of e^{A dt} − I, rows die / plate
        self.F2 = np.vstack((f12, f21))  # off-diagonal, applied to the swapped rows
        self.gpus = model.gpus
        self.total_gpus = float(self.gpus.sum()) or 1.0
        self.X_a = np.vstack((t_die, t_plate))
        self.X_b = np.empty_like(self.X_a)
        self.y2, self.dX_buf, self.tmp2 = (np.empty_like(self.X_a) for _ in range(3))
        self.X = self.X_a
        self.t_slow_min = float(self.t_slow.min())
        self.consts = np.vstack([self.p_idle, self.p_dyn, self.r_die, self.r_plate, self.c_die, self.c_plate,
                                 self.t_slow])  # one gather for the hot subset
        self.band = BandKernel(model, dt, self.gain, self.smin)
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

    @property
    def t_die(self):
        return self.X[0]

    @property
    def t_plate(self):
        return self.X[1]

    def step(self, tc, chunk, kk: int):
        """Advance every server one step at coolant ``tc`` [°C] with the utilisation of row ``kk``
        of ``chunk``. Returns ``(energy_j, dX, tmax, throttled_step, step_thr_gpu_s)``: electric
        energy per server over the step [J], the change of die and plate temperatures [K]
        ([2 × n], ΔT_d and ΔT_p), the hottest die at the step end [°C], whether any server was hot,
        and the GPU time spent above slowdown in the step [s]."""
        dt = self.dt
        X = self.X
        t_srv, t_plt = X[0], X[1]
        sub_prev, self.sub_last = self.sub_last, None  # the hot few's band-step state, valid for one step only
        # full-clock pair, exact: x(dt) = x_eq + e^{A dt}(x0 − x_eq), e^{A dt} per server precomputed
        # (die and plate stacked as rows of X: one numpy op per update for both nodes)
        # (preallocated buffers: no allocation per step; X and X_new alternate)
        y2 = np.subtract(X, tc, out=self.y2)
        y2 -= chunk.rp2[kk]
        dX = np.multiply(self.F1, y2, out=self.dX_buf)
        dX += np.multiply(self.F2, y2[::-1], out=self.tmp2)
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
