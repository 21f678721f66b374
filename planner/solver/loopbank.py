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
from .control import FopdtActuator, FopdtBank, loop_temperature_step, loop_temperature_step_vec
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


def loop_bank(model, dt: float, tl, y, q_server):
    """The loop step for ``model`` at step ``dt`` [s] from loop temperatures ``tl`` [°C], actuator
    fractions ``y`` [-] and server heat per loop ``q_server`` [W]: a :class:`ScalarLoopBank` for up
    to :data:`SCALAR_LOOP_LIMIT` loops, else a :class:`VectorLoopBank`."""
    movers_in, movers_out = mover_split(model)
    mover_heat = initial_mover_heat(model, q_server, movers_in)
    cls = ScalarLoopBank if model.m <= SCALAR_LOOP_LIMIT else VectorLoopBank
    return cls(model, dt, tl, y, mover_heat, movers_in, movers_out)


class ScalarLoopBank:
    """Loop states and their per-step update in plain Python floats (few loops).

    Same interface and same arithmetic as :class:`VectorLoopBank`.

    tl : list  Supply temperatures [°C] (plan order)
    """

    scalar = True

    def __init__(self, model, dt: float, tl, y, mover_heat, movers_in, movers_out):
        m = model.m
        self.m, self.dt = m, dt
        self.tl = [float(x) for x in tl]
        self.mover_heat = list(mover_heat)
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
        self.inv_dt = 1.0 / dt

    @property
    def y(self) -> list:
        """Actuator fractions [-] (plan order)."""
        return [a.y for a in self.acts]

    def step(self, q_loop, db: float, wb: float, fc=None):
        """Advance one step. ``q_loop`` [W] server heat per loop (plan order); ``fc`` [W] forecasts.
        Returns ``(rejected_w, mover_elec_w, chiller_elec_w, mover_heat_in_w)``."""
        dt, inv_dt = self.dt, self.inv_dt
        tl = self.tl = self.tl[:]  # a new list each step: callers keep the last one
        mover_heat = self.mover_heat
        min_speed = d.MOVER_MIN_SPEED
        child = [0.0] * self.m
        rejected = mover_elec = chiller_elec = mh_sum = 0.0
        for (l, p, fixed, dc, ct, ch_rc, b_cap, coil, ret_gain, chiller, ch_cap, ch_pow, kc, tset, c, act,
             rated, mv_in, mv_all, ret_k) in self.rows:
            mh = mover_heat[l]
            q_in = q_loop[l] + mh + child[l]
            t0 = tl[l]
            a_cap = fixed - dc * db - ct * wb
            if p >= 0:
                a_cap -= coil * tl[p]
            a_cap += ret_gain * q_in
            if chiller:  # chiller curve linearised at the step's start temperature
                cap_ch, slope = ch_cap((db - ch_rc) / d.CHILLER_TEMP_RISE_COEF, t0)
                a_cap += cap_ch - slope * t0
                b_cap += slope
            cap_now = a_cap + b_cap * t0
            target = (q_in if fc is None else fc[l] + mh) + kc * (t0 - tset)
            if target <= 0.0:
                cmd = 0.0
            elif target >= cap_now:
                cmd = 1.0
            else:
                cmd = target / cap_now
            yl = act.y
            rb = yl * b_cap
            if rb > 0.0 and cap_now >= 0.0:  # common case: positive capacity, one exponential
                teq = (q_in - yl * a_cap) / rb
                if teq * b_cap + a_cap >= 0.0:
                    t1 = teq + (t0 - teq) * math.exp(-dt * rb / c)
                else:
                    t1 = loop_temperature_step(t0, q_in, yl, a_cap, b_cap, c, dt)
            else:
                t1 = loop_temperature_step(t0, q_in, yl, a_cap, b_cap, c, dt)
            # act.step(cmd), inlined (FopdtActuator: ring of commands + exact FOPDT weights)
            buf, size, ka = act.buf, act.size, act.k
            buf[ka % size] = cmd
            act.k = ka + 1
            act.y = act.a * yl + act.w_old * buf[(ka - act.n - 1) % size] + act.w_new * buf[(ka - act.n) % size]
            deliv = q_in - c * (t1 - t0) * inv_dt
            tl[l] = t1
            speed = deliv / rated
            speed = min_speed if speed < min_speed else (1.0 if speed > 1.0 else speed)
            s3 = speed * speed * speed
            mover_heat[l] = mv_in * s3
            mover_elec += mv_all * s3
            mh_sum += mh
            if p >= 0:
                child[p] += deliv
            else:
                rejected += deliv
            if chiller:
                t_ret = t1 + ret_k * q_in
                free = dc * (t_ret - db) + ct * (t_ret - wb)
                load = deliv - (free if free > 0.0 else 0.0)
                if load > 0.0:
                    chiller_elec += ch_pow(load, db, t1)
        return rejected, mover_elec, chiller_elec, mh_sum


class VectorLoopBank:
    """Loop states and their per-step update.

    Internally loops are reordered so that every tree level is one contiguous slice (views, no
    gathers in the hot loop); :attr:`tl` is kept in the plan's loop order for the callers.

    tl : array  Supply temperatures [°C] (plan order); actuator fractions in :attr:`act`
    """

    scalar = False

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
