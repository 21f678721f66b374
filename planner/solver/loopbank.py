"""Vectorised loop update for plans with many loops (one numpy pass per tree level).

Same model and exact piecewise step as the scalar loop code in :mod:`.integrate` (which is faster
for a handful of loops); loops at one depth of the ``rejects_to`` tree are independent within a
step, given their parents' temperatures at the step start.
"""
from __future__ import annotations

import numpy as np

from . import defaults as d
from .control import FopdtBank, loop_temperature_step, loop_temperature_step_vec
from .heat_rejection import chiller_capacity_linear, chiller_electric_power
from .heat_rejection import chiller_electric_power_scalar as _chiller_power


class VectorLoopBank:
    """Loop states and their per-step update.

    Internally loops are reordered so that every tree level is one contiguous slice (views, no
    gathers in the hot loop); :attr:`tl` is kept in the plan's loop order for the callers.

    tl : array  Supply temperatures [°C] (plan order); actuator fractions in :attr:`act`
    """

    def __init__(self, model, dt: float, tl, y, mover_heat, movers_in, movers_out):
        m = model.m
        self.m, self.dt = m, dt
        parent = model.loop_parent.astype(int)
        depth = np.zeros(m, dtype=int)
        for k in range(m):
            j = parent[k]
            while j >= 0:
                depth[k] += 1
                j = parent[j]
        perm = np.concatenate([np.flatnonzero(depth == lv) for lv in range(depth.max(), -1, -1)])
        inv = np.empty(m, dtype=int)
        inv[perm] = np.arange(m)
        self.perm, self.inv = perm, inv
        bounds = np.cumsum([0] + [int(np.sum(depth == lv)) for lv in range(depth.max(), -1, -1)])
        self.slices = [slice(int(bounds[k]), int(bounds[k + 1])) for k in range(len(bounds) - 1)]
        P = lambda x: np.asarray(x, float)[perm].copy()  # noqa: E731
        self.t = P(tl)
        self.mover_heat = P(mover_heat)
        par = parent[perm]
        self.par_p = np.where(par >= 0, inv[np.maximum(par, 0)], 0)  # parent index in permuted order
        self.has_par = par >= 0
        self.root = ~self.has_par
        self.c = P(model.loop_c)
        self.tset = P(model.loop_setpoint)
        self.kc = P(model.loop_gain)
        self.coil = P(model.loop_coil_ec)
        self.fixed = P(model.loop_fixed_w)
        self.ch_w = P(model.loop_chiller_w)
        self.ch_rated_c = P(model.loop_chiller_rated_c)
        self.ch_cop = P(model.loop_chiller_cop)
        self.ch_chw = P(model.loop_chiller_rated_chw_c)
        self.dc_ec = P(model.loop_drycooler_ec)
        self.ct_ec = P(model.loop_tower_ec)
        self.b = self.coil + self.dc_ec + self.ct_ec
        self.ret_k = P(model.loop_return_k_per_w)
        self.ret_gain = self.b * self.ret_k  # exchangers see the return T + q_in/(ρ c_p V̇)
        self.any_ret = bool(np.any(self.ret_gain > 0))
        self.rated = P(model.loop_rated_w)
        self.act = FopdtBank(P(model.loop_dead), P(model.loop_tau), dt, P(y))
        self.movers_in = P(movers_in)
        self.movers_all = self.movers_in + P(movers_out)
        self.chiller_idx = np.flatnonzero(self.ch_w > 0)
        self.any_free = bool(np.any(self.dc_ec[self.chiller_idx] > 0) or np.any(self.ct_ec[self.chiller_idx] > 0))
        self.delivered = np.zeros(m)
        self.tl = np.asarray(tl, float).copy()
        # per level: which loops have parents, and the parents' indices
        self.level_par = [(np.flatnonzero(self.has_par[sl]), self.par_p[sl][self.has_par[sl]]) for sl in self.slices]

    def step(self, q_loop, db: float, wb: float, fc=None):
        """Advance one step. ``q_loop`` [W] server heat per loop (plan order); ``fc`` [W] forecasts.
        Returns ``(rejected_w, mover_elec_w, chiller_elec_w, mover_heat_in_w)``."""
        t, dt = self.t, self.dt
        y = self.act.y
        q = np.asarray(q_loop)[self.perm]
        if fc is not None:
            fc = np.asarray(fc)[self.perm]
        mh_in = self.mover_heat
        q += mh_in
        a_all = self.fixed - self.dc_ec * db - self.ct_ec * wb - self.coil * t[self.par_p]
        b_all = self.b.copy()
        for i in self.chiller_idx:  # chiller curve linearised at the step's start temperature
            xc = (db - self.ch_rated_c[i]) / d.CHILLER_TEMP_RISE_COEF
            cap, slope = chiller_capacity_linear(float(self.ch_w[i]), xc, float(t[i]), float(self.ch_chw[i]),
                                                 float(self.ch_rated_c[i]))
            a_all[i] += cap - slope * t[i]
            b_all[i] += slope
        for sl, (has, par) in zip(self.slices, self.level_par):
            t0 = t[sl].copy()
            q_in = q[sl]
            a, b, c = a_all[sl], b_all[sl], self.c[sl]
            if self.any_ret:  # q_in of this level is complete (children were stepped before)
                a = a + self.ret_gain[sl] * q_in
            cap = a + b * t0
            ff = q_in if fc is None else fc[sl] + mh_in[sl]
            target = ff + self.kc[sl] * (t0 - self.tset[sl])
            with np.errstate(divide="ignore", invalid="ignore"):
                cmd = np.where(target <= 0.0, 0.0, np.where(target >= cap, 1.0, target / np.where(cap > 0, cap, 1.0)))
            self.act.store(sl, cmd)
            if sl.stop - sl.start <= 4:  # a few loops (the plant level): scalar code is faster
                t1 = np.array([loop_temperature_step(*args, dt) for args in
                               zip(t0.tolist(), q_in.tolist(), y[sl].tolist(), a.tolist(), b.tolist(), c.tolist())])
            else:
                t1 = loop_temperature_step_vec(t0, q_in, y[sl], a, b, c, dt)
            deliv = q_in - c * (t1 - t0) / dt
            self.delivered[sl] = deliv
            t[sl] = t1
            if has.size:
                np.add.at(q, par, deliv[has])
        self.act.advance()  # actuators: this step's commands, delayed and lagged (FopdtBank)
        speed = np.clip(self.delivered / self.rated, d.MOVER_MIN_SPEED, 1.0)
        s3 = speed * speed * speed
        self.mover_heat = self.movers_in * s3
        mover_elec = float(np.dot(self.movers_all, s3))
        chiller_elec = 0.0
        if self.chiller_idx.size:
            i = self.chiller_idx
            load = self.delivered[i]
            if self.any_free:
                t_ret = t[i] + self.ret_k[i] * q[i]
                load = load - np.maximum(self.dc_ec[i] * (t_ret - db) + self.ct_ec[i] * (t_ret - wb), 0.0)
            if i.size <= 4:
                chiller_elec = sum(_chiller_power(x, w, db, cop, rc, tc, rw) for x, w, cop, rc, tc, rw in
                                   zip(load.tolist(), self.ch_w[i].tolist(), self.ch_cop[i].tolist(),
                                       self.ch_rated_c[i].tolist(), t[i].tolist(), self.ch_chw[i].tolist()) if x > 0.0)
            else:
                chiller_elec = float(np.sum(chiller_electric_power(np.maximum(load, 0.0), self.ch_w[i], db,
                                                                   self.ch_cop[i], self.ch_rated_c[i], t[i],
                                                                   self.ch_chw[i])))
        self.tl = t[self.inv]
        return float(self.delivered[self.root].sum()), mover_elec, chiller_elec, float(mh_in.sum())
