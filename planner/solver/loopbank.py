"""The loop step: cooling loops, their controllers and actuators, advanced over one step.

One model, two implementations with one interface (``step(q_loop, db, wb, fc)`` and ``tl``):

* :class:`ScalarLoopBank` — plain Python floats, loop by loop children first; fastest for a
  handful of loops (the demo has 4);
* :class:`VectorLoopBank` — numpy, one pass per level of the ``rejects_to`` tree (loops at one
  depth are independent within a step, given their parents' temperatures at the step start).

:func:`loop_bank` picks one. Per loop and step: capacity ``a + b·T`` (exchangers on the return,
chillers linearised at the step start), the controller's command (:mod:`.control`), the exact
loop temperature step (:func:`.control.loop_temperature_step`), the exact FOPDT actuator update,
fan/pump heat by the affinity law, and chiller electricity. Plant-side logic (economisers, new
control modes) belongs here, not in the integrator.
"""
from __future__ import annotations

import math

import numpy as np

from . import defaults as d
from .control import FopdtActuator, FopdtBank, FopdtHistory, FopdtHistoryBank
from .heat_rejection import chiller_capacity_linear, chiller_electric_power, chiller_scalar_kernels
from .heat_rejection import chiller_electric_power_scalar as _chiller_power

SCALAR_LOOP_LIMIT = 8  # up to this many loops, plain Python floats beat numpy


def mover_split(model):
    """Fan/pump power at design flow per loop [W]: heat into the loop vs heat outdoors.

    CRAH fans and CDU pumps heat the air / technology loop they move; chilled-water pumps (the
    ``rated_power_kw`` of a chiller unit) heat the chilled water. Dry-cooler and tower fans blow
    their heat outdoors.
    """
    idx = {n: k for k, n in enumerate(model.loop_names)}
    m_in = [0.0] * model.m
    m_out = [0.0] * model.m
    for u in model.plan.cooling_units:
        l = idx[u.loop]
        if u.kind in ("crah", "cdu", "chiller"):
            m_in[l] += u.rated_power_kw * 1e3
        else:
            m_out[l] += u.rated_power_kw * 1e3
    return m_in, m_out


def initial_mover_heat(model, q_server, movers_in) -> list:
    """Fan/pump heat into each loop [W] at the start, from the server heat per loop ``q_server``
    [W] (children first: a loop's movers run at the speed of all the heat it carries)."""
    m = model.m
    rated = model.loop_rated_w.tolist()
    parent = [int(x) for x in model.loop_parent]
    mover_heat = [0.0] * m
    child = [0.0] * m
    for l in model.loop_order:
        q = q_server[l] + child[l]
        speed = min(max(q / rated[l], d.MOVER_MIN_SPEED), 1.0)
        mover_heat[l] = movers_in[l] * speed ** 3
        q += mover_heat[l]
        if parent[l] >= 0:
            child[parent[l]] += q
    return mover_heat


def loop_bank(model, dt: float, tl, y, q_server, variable: bool = False):
    """The loop step for ``model`` at step ``dt`` [s] from loop temperatures ``tl`` [°C], actuator
    fractions ``y`` [-] and server heat per loop ``q_server`` [W]: a :class:`ScalarLoopBank` for up
    to :data:`SCALAR_LOOP_LIMIT` loops, else a :class:`VectorLoopBank`. ``variable``: steps of any
    length (adaptive stepping; actuators keep a timed command history)."""
    movers_in, movers_out = mover_split(model)
    mover_heat = initial_mover_heat(model, q_server, movers_in)
    cls = ScalarLoopBank if model.m <= SCALAR_LOOP_LIMIT else VectorLoopBank
    return cls(model, dt, tl, y, mover_heat, movers_in, movers_out, variable)


class ScalarLoopBank:
    """Loop states and their per-step update in plain Python floats (few loops).

    Same interface and same arithmetic as :class:`VectorLoopBank`.

    tl : list  Supply temperatures [°C] (plan order)
    """

    scalar = True

    def __init__(self, model, dt: float, tl, y, mover_heat, movers_in, movers_out, variable: bool = False):
        m = model.m
        self.m, self.dt = m, dt
        self.tl = [float(x) for x in tl]
        self.mover_heat = list(mover_heat)
        if variable:
            self.acts = [FopdtHistory(float(model.loop_dead[l]), float(model.loop_tau[l]), float(y[l]))
                         for l in range(m)]
        else:
            self.acts = [FopdtActuator(float(model.loop_dead[l]), float(model.loop_tau[l]), dt, float(y[l]))
                         for l in range(m)]
        coil = model.loop_coil_ec.tolist()
        dc_ec = model.loop_drycooler_ec.tolist()
        ct_ec = model.loop_tower_ec.tolist()
        ret_k = model.loop_return_k_per_w.tolist()
        ch_w = model.loop_chiller_w.tolist()
        b_caps = [coil[l] + dc_ec[l] + ct_ec[l] for l in range(m)]
        kern = [chiller_scalar_kernels(ch_w[l], float(model.loop_chiller_cop[l]),
                                       float(model.loop_chiller_rated_c[l]), float(model.loop_chiller_rated_chw_c[l]))
                if ch_w[l] > 0 else (None, None) for l in range(m)]
        # per loop, in stepping order (children first), everything the step reads
        self.rows = [(l, int(model.loop_parent[l]), float(model.loop_fixed_w[l]), dc_ec[l], ct_ec[l],
                      float(model.loop_chiller_rated_c[l]), b_caps[l], coil[l],
                      b_caps[l] * ret_k[l],  # exchangers see the return, T + q_in/(ρ c_p V̇)
                      ch_w[l] > 0.0, kern[l][0], kern[l][1], float(model.loop_gain[l]),
                      float(model.loop_setpoint[l]), float(model.loop_c[l]), self.acts[l],
                      float(model.loop_rated_w[l]), float(movers_in[l]), float(movers_in[l] + movers_out[l]),
                      ret_k[l]) for l in model.loop_order]
        self.c = model.loop_c.tolist()
        self.top_down = [int(l) for l in reversed(model.loop_order)]
        self.parent = [int(x) for x in model.loop_parent]

    @property
    def y(self) -> list:
        """Actuator fractions [-] (plan order)."""
        return [a.y for a in self.acts]

    def step(self, q_hat, g_self, t0: float, h: float, db: float, wb: float, fc=None):
        """Advance one step ``[t0, t0 + h)`` [s], implicitly coupled to the servers, the parent loop
        and the controller (see :mod:`.stepping`).

        q_hat : [J] per loop, the servers' heat over the step is ``q_hat − g_self·T_end``
        g_self : [J/K] per loop; fc : [W] forecasts (predictive control) or None
        Returns ``(rejected_w, mover_elec_w, chiller_elec_w, mover_heat_in_w)`` (step means)."""
        m = self.m
        t_start = self.tl
        mover_heat = self.mover_heat
        inv_h = 1.0 / h
        child_d = [0.0] * m
        child_e = [0.0] * m
        coef = [None] * m
        mh_sum = 0.0
        for (l, p, fixed, dc, ct, ch_rc, b_cap, coil, ret_gain, chiller, ch_cap, ch_pow, kc, tset, c, act,
             rated, mv_in, mv_all, ret_k) in self.rows:
            mh = mover_heat[l]
            mh_sum += mh
            t0l = t_start[l]
            g = g_self[l] * inv_h  # W/K
            e_child = child_e[l]
            q_const = q_hat[l] * inv_h + mh + child_d[l]  # heat in at T_end = 0 [W]
            s_in = g + e_child  # heat in falls by s_in per K of this loop's end temperature
            q_in0 = q_const - s_in * t0l  # heat in predicted at the start temperature
            a_cap = fixed - dc * db - ct * wb + ret_gain * q_in0
            if chiller:  # chiller curve linearised at the step's start temperature
                cap_ch, slope = ch_cap((db - ch_rc) / d.CHILLER_TEMP_RISE_COEF, t0l)
                a_cap += cap_ch - slope * t0l
                b_cap += slope
            tp0 = t_start[p] if p >= 0 else 0.0
            cap0 = a_cap - coil * tp0 + b_cap * t0l
            ff = q_in0 if fc is None else fc[l] + mh
            target0 = ff + kc * (t0l - tset)
            ybar, om, y1h, om1 = act.window(t0, h)
            # removal over the step: ȳ_hist·cap(T) + ω·(this step's command)·cap(T); the command is
            # taken at the new state (implicit controller): ω·target(T) unclipped, ω·cap(T) at 1, 0 at 0
            alpha = q_const - ybar * a_cap
            pi = ybar * coil
            beta = ybar * b_cap
            if cap0 <= 0.0:  # the equipment cannot reject at all (e.g. outdoor warmer than the water)
                alpha, pi, beta = q_const, 0.0, 0.0
            elif om > 0.0:
                if target0 >= cap0:
                    alpha -= om * a_cap
                    pi += om * coil
                    beta += om * b_cap
                elif target0 > 0.0:
                    alpha -= om * (ff - kc * tset)
                    beta += om * kc
            # C dT/dt = alpha − s_in·T_end + pi·T_parent,end − beta·T: exact exponential in T
            x = beta * h / c
            if x > 1e-12:
                e = math.exp(-x)
                phi = -math.expm1(-x) / beta
            else:
                e, phi = 1.0, h / c
            den = 1.0 + phi * s_in
            u = (t0l * e + phi * alpha) / den
            v = phi * pi / den  # T_end = u + v·T_parent,end
            kk = s_in + c * inv_h
            d0 = q_const + c * t0l * inv_h - kk * u
            d1 = kk * v  # delivered = d0 − d1·T_parent,end [W]
            if p >= 0:
                child_d[p] += d0
                child_e[p] += d1
            coef[l] = (u, v, d0, d1, q_const, s_in, a_cap, b_cap, ff, y1h, om1)
        tl = [0.0] * m
        for l in self.top_down:  # parents first: end temperatures
            p = self.parent[l]
            cf = coef[l]
            tl[l] = cf[0] + cf[1] * tl[p] if p >= 0 else cf[0]
        rejected = mover_elec = chiller_elec = 0.0
        min_speed = d.MOVER_MIN_SPEED
        for (l, p, fixed, dc, ct, ch_rc, b_cap0, coil, ret_gain, chiller, ch_cap, ch_pow, kc, tset, c, act,
             rated, mv_in, mv_all, ret_k) in self.rows:
            u, v, d0, d1, q_const, s_in, a_cap, b_cap, ff, y1h, om1 = coef[l]
            t1 = tl[l]
            tp1 = tl[p] if p >= 0 else 0.0
            deliv = d0 - d1 * tp1
            q_in1 = q_const - s_in * t1
            target = (q_in1 if fc is None else ff) + kc * (t1 - tset)
            cap1 = a_cap - coil * tp1 + b_cap * t1
            if target <= 0.0:
                cmd = 0.0
            elif target >= cap1:
                cmd = 1.0
            else:
                cmd = target / cap1
            act.commit(t0, h, cmd, y1h + om1 * cmd)
            speed = deliv / rated
            speed = min_speed if speed < min_speed else (1.0 if speed > 1.0 else speed)
            s3 = speed * speed * speed
            mover_heat[l] = mv_in * s3
            mover_elec += mv_all * s3
            if p < 0:
                rejected += deliv
            if chiller:
                t_ret = t1 + ret_k * q_in1
                free = dc * (t_ret - db) + ct * (t_ret - wb)
                load = deliv - (free if free > 0.0 else 0.0)
                if load > 0.0:
                    chiller_elec += ch_pow(load, db, t1)
        self.tl = tl
        return rejected, mover_elec, chiller_elec, mh_sum

    def correct(self, dq) -> None:
        """Add heat ``dq`` [J] per loop that the servers gave beyond the step's prediction (energy
        bookkeeping stays exact)."""
        c = self.c
        self.tl = [t + q / ci for t, q, ci in zip(self.tl, dq, c)]


class VectorLoopBank:
    """Loop states and their per-step update.

    Internally loops are reordered so that every tree level is one contiguous slice (views, no
    gathers in the hot loop); :attr:`tl` is kept in the plan's loop order for the callers.

    tl : array  Supply temperatures [°C] (plan order); actuator fractions in :attr:`act`
    """

    scalar = False

    def __init__(self, model, dt: float, tl, y, mover_heat, movers_in, movers_out, variable: bool = False):
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
        self.rated = P(model.loop_rated_w)
        if variable:
            self.act = FopdtHistoryBank(P(model.loop_dead), P(model.loop_tau), P(y))
        else:
            self.act = FopdtBank(P(model.loop_dead), P(model.loop_tau), dt, P(y))
        self.movers_in = P(movers_in)
        self.movers_all = self.movers_in + P(movers_out)
        self.chiller_idx = np.flatnonzero(self.ch_w > 0)
        self.any_free = bool(np.any(self.dc_ec[self.chiller_idx] > 0) or np.any(self.ct_ec[self.chiller_idx] > 0))
        self.tl = np.asarray(tl, float).copy()
        # per level: which loops have parents, and the parents' indices
        self.level_par = [(np.flatnonzero(self.has_par[sl]), self.par_p[sl][self.has_par[sl]]) for sl in self.slices]

    def step(self, q_hat, g_self, t0: float, h: float, db: float, wb: float, fc=None):
        """Vector form of :meth:`ScalarLoopBank.step` (one numpy pass per tree level)."""
        m = self.m
        t = self.t
        c = self.c
        inv_h = 1.0 / h
        mh = self.mover_heat
        q_const = np.asarray(q_hat, float)[self.perm] * inv_h + mh
        s_in = np.asarray(g_self, float)[self.perm] * inv_h
        if fc is not None:
            fc = np.asarray(fc)[self.perm]
        ybar, om, y1h, om1 = self.act.window(t0, h)
        a_out = self.fixed - self.dc_ec * db - self.ct_ec * wb
        b_all = self.b.copy()
        for i in self.chiller_idx:  # chiller curve linearised at the step's start temperature
            xc = (db - self.ch_rated_c[i]) / d.CHILLER_TEMP_RISE_COEF
            cap, slope = chiller_capacity_linear(float(self.ch_w[i]), xc, float(t[i]), float(self.ch_chw[i]))
            a_out[i] += cap - slope * t[i]
            b_all[i] += slope
        tp0 = np.where(self.has_par, t[self.par_p], 0.0)
        u = np.empty(m)
        v = np.empty(m)
        d0 = np.empty(m)
        d1 = np.empty(m)
        a_cap = np.empty(m)
        q_in0 = np.empty(m)
        for sl, (has, par) in zip(self.slices, self.level_par):
            t0l = t[sl]
            qc = q_const[sl]  # complete: the children of this level were stepped before
            si = s_in[sl]
            qi0 = qc - si * t0l
            q_in0[sl] = qi0
            a = a_out[sl] + self.ret_gain[sl] * qi0
            a_cap[sl] = a
            b = b_all[sl]
            coil = self.coil[sl]
            cap0 = a - coil * tp0[sl] + b * t0l
            ff = qi0 if fc is None else fc[sl] + mh[sl]
            target0 = ff + self.kc[sl] * (t0l - self.tset[sl])
            yb, o = ybar[sl], om[sl]
            sat = (o > 0.0) & (target0 >= cap0)
            lin = (o > 0.0) & ~sat & (target0 > 0.0)
            alpha = qc - yb * a - np.where(sat, o * a, np.where(lin, o * (ff - self.kc[sl] * self.tset[sl]), 0.0))
            pi = (yb + np.where(sat, o, 0.0)) * coil
            beta = yb * b + np.where(sat, o * b, np.where(lin, o * self.kc[sl], 0.0))
            none = cap0 <= 0.0  # the equipment cannot reject at all
            alpha = np.where(none, qc, alpha)
            pi = np.where(none, 0.0, pi)
            beta = np.where(none, 0.0, beta)
            cl = c[sl]
            x = beta * h / cl
            small = x <= 1e-12
            with np.errstate(divide="ignore", invalid="ignore"):
                phi = np.where(small, h / cl, -np.expm1(-x) / np.where(small, 1.0, beta))
            e = np.where(small, 1.0, np.exp(-x))
            den = 1.0 + phi * si
            ul = (t0l * e + phi * alpha) / den
            vl = phi * pi / den
            kk = si + cl * inv_h
            d0l = qc + cl * t0l * inv_h - kk * ul
            d1l = kk * vl
            u[sl], v[sl], d0[sl], d1[sl] = ul, vl, d0l, d1l
            if has.size:
                np.add.at(q_const, par, d0l[has])
                np.add.at(s_in, par, d1l[has])
        t1 = np.empty(m)
        for sl in reversed(self.slices):  # parents first: end temperatures
            t1[sl] = u[sl] + v[sl] * np.where(self.has_par[sl], t1[self.par_p[sl]], 0.0)
        tp1 = np.where(self.has_par, t1[self.par_p], 0.0)
        deliv = d0 - d1 * tp1
        q_in1 = q_const - s_in * t1
        ff1 = q_in1 if fc is None else fc + mh
        target = ff1 + self.kc * (t1 - self.tset)
        cap1 = a_cap - self.coil * tp1 + b_all * t1
        with np.errstate(divide="ignore", invalid="ignore"):
            cmd = np.where(target <= 0.0, 0.0, np.where(target >= cap1, 1.0, target / np.where(cap1 > 0, cap1, 1.0)))
        self.act.commit(t0, h, cmd, y1h + om1 * cmd)
        speed = np.clip(deliv / self.rated, d.MOVER_MIN_SPEED, 1.0)
        s3 = speed * speed * speed
        mh_sum = float(mh.sum())
        self.mover_heat = self.movers_in * s3
        mover_elec = float(np.dot(self.movers_all, s3))
        chiller_elec = 0.0
        if self.chiller_idx.size:
            i = self.chiller_idx
            load = deliv[i]
            if self.any_free:
                t_ret = t1[i] + self.ret_k[i] * q_in1[i]
                load = load - np.maximum(self.dc_ec[i] * (t_ret - db) + self.ct_ec[i] * (t_ret - wb), 0.0)
            if i.size <= 4:
                chiller_elec = sum(_chiller_power(x, w, db, cop, rc, tc, rw) for x, w, cop, rc, tc, rw in
                                   zip(load.tolist(), self.ch_w[i].tolist(), self.ch_cop[i].tolist(),
                                       self.ch_rated_c[i].tolist(), t1[i].tolist(), self.ch_chw[i].tolist()) if x > 0.0)
            else:
                chiller_elec = float(np.sum(chiller_electric_power(np.maximum(load, 0.0), self.ch_w[i], db,
                                                                   self.ch_cop[i], self.ch_rated_c[i], t1[i],
                                                                   self.ch_chw[i])))
        self.t = t1
        self.tl = t1[self.inv]
        return float(deliv[self.root].sum()), mover_elec, chiller_elec, mh_sum

    def correct(self, dq) -> None:
        """As :meth:`ScalarLoopBank.correct`."""
        self.t = self.t + np.asarray(dq, float)[self.perm] / self.c
        self.tl = self.t[self.inv]
