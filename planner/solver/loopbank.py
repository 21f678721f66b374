"""Vectorised loop update for plans with many loops (one numpy pass per tree level).

Same model and exact piecewise step as the scalar loop code in :mod:`.integrate` (which is faster
for a handful of loops); loops at one depth of the ``rejects_to`` tree are independent within a
step, given their parents' temperatures at the step start.
"""
from __future__ import annotations

import math

import numpy as np

from . import defaults as d
from .control import loop_temperature_step_vec
from .heat_rejection import chiller_capacity_ratio, chiller_electric_power


class VectorLoopBank:
    """Loop states and their per-step update.

    tl : array  Supply temperatures [°C]; y : actuator outputs [W]; mover_heat : fan/pump heat [W]
    """

    def __init__(self, model, dt: float, tl, y, mover_heat, movers_in, movers_out):
        m = model.m
        self.m, self.dt = m, dt
        self.tl = np.asarray(tl, float).copy()
        self.y = np.asarray(y, float).copy()
        self.mover_heat = np.asarray(mover_heat, float).copy()
        self.parent = model.loop_parent.astype(int)
        self.par_safe = np.maximum(self.parent, 0)
        self.is_root = self.parent < 0
        depth = np.zeros(m, dtype=int)
        for k in range(m):
            j = self.parent[k]
            while j >= 0:
                depth[k] += 1
                j = self.parent[j]
        self.levels = [np.flatnonzero(depth == lv) for lv in range(depth.max(), -1, -1)]
        self.c = model.loop_c
        self.tset = model.loop_setpoint
        self.kc = model.loop_gain
        self.coil = model.loop_coil_ua
        self.fixed = model.loop_fixed_w
        self.ch_w = model.loop_chiller_w
        self.ch_rated_c = model.loop_chiller_rated_c
        self.ch_cop = model.loop_chiller_cop
        self.dc_ua = model.loop_drycooler_ua
        self.ct_ua = model.loop_tower_ua
        self.b = self.coil + self.dc_ua + self.ct_ua
        self.rated = model.loop_rated_w
        self.one_minus_a = 1.0 - np.exp(-dt / model.loop_tau)
        self.movers_in = np.asarray(movers_in, float)
        self.movers_all = self.movers_in + np.asarray(movers_out, float)
        self.has_chiller = self.ch_w > 0
        self.chiller_idx = np.flatnonzero(self.has_chiller)
        lag = model.loop_dead / dt
        self.lo = np.floor(lag + 1e-9).astype(int)
        self.frac = lag - self.lo
        self.size = int(self.lo.max()) + 2
        self.buf = np.repeat(self.y[None, :], self.size, axis=0)
        self.k = 0
        self.delivered = np.zeros(m)
        self.cols = np.arange(m)

    def step(self, q_loop, db: float, wb: float, fc=None):
        """Advance one step. ``q_loop`` [W] server heat per loop; ``fc`` [W] forecasts (predictive).
        Returns ``(rejected_w, mover_elec_w, chiller_elec_w, mover_heat_in_w)``."""
        tl, y, dt = self.tl, self.y, self.dt
        mh_in = self.mover_heat.copy()
        child = np.zeros(self.m)
        a_all = self.fixed - self.dc_ua * db - self.ct_ua * wb
        if self.chiller_idx.size:
            a_all = a_all + self.ch_w * chiller_capacity_ratio(db, self.ch_rated_c)
        a_all = a_all - self.coil * tl[self.par_safe]  # coil is 0 for roots
        row = self.k % self.size
        for idx in self.levels:
            t0 = tl[idx]
            q_in = q_loop[idx] + mh_in[idx] + child[idx]
            a, b, c = a_all[idx], self.b[idx], self.c[idx]
            cap = np.maximum(a + b * t0, 0.0)
            ff = q_in if fc is None else fc[idx] + mh_in[idx]
            cmd = np.minimum(np.maximum(ff + self.kc[idx] * (t0 - self.tset[idx]), 0.0), cap)
            self.buf[row, idx] = cmd
            lo, frac = self.lo[idx], self.frac[idx]
            delayed = self.buf[(self.k - lo) % self.size, idx]
            if np.any(frac > 1e-9):
                older = self.buf[(self.k - lo - 1) % self.size, idx]
                delayed = (1.0 - frac) * delayed + frac * older
            t1 = loop_temperature_step_vec(t0, q_in, y[idx], a, b, c, dt)
            deliv = q_in - c * (t1 - t0) / dt
            self.delivered[idx] = deliv
            tl[idx] = t1
            y[idx] += self.one_minus_a[idx] * (delayed - y[idx])
            par = self.parent[idx]
            has_par = par >= 0
            if has_par.any():
                child += np.bincount(par[has_par], weights=deliv[has_par], minlength=self.m)
        self.k += 1
        speed = np.clip(self.delivered / self.rated, d.MOVER_MIN_SPEED, 1.0)
        s3 = speed * speed * speed
        self.mover_heat = self.movers_in * s3
        mover_elec = float(np.dot(self.movers_all, s3))
        chiller_elec = 0.0
        if self.chiller_idx.size:
            i = self.chiller_idx
            free = np.maximum(self.dc_ua[i] * (tl[i] - db) + self.ct_ua[i] * (tl[i] - wb), 0.0)
            load = np.maximum(self.delivered[i] - free, 0.0)
            chiller_elec = float(np.sum(chiller_electric_power(load, self.ch_w[i], db, self.ch_cop[i],
                                                               self.ch_rated_c[i])))
        rejected = float(self.delivered[self.is_root].sum())
        return rejected, mover_elec, chiller_elec, float(mh_in.sum())


del math
