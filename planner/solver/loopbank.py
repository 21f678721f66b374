"""The loop step: cooling loops, their controllers and actuators, advanced over one step.

One model, two implementations with one interface (``step(q_loop, db, wb, fc)`` and ``tl``):

* :class:`ScalarLoopBank` — plain Python floats, loop by loop children first; fastest for a
  handful of loops (the demo has 4);
* :class:`VectorLoopBank` — numpy, one pass per level of the ``rejects_to`` tree (loops at one
  depth are independent within a step, given their parents' temperatures at the step start).

:func:`loop_bank` picks one. Per loop and step: capacity ``a + b·T`` (exchangers on the return,
chillers linearised at the step start), the controller's command (:mod:`.control`), the exact
loop temperature step (:func:`.control.loop_temperature_step`), the exact FOPDT actuator update,
fans and pumps at part load (:func:`loop_movers`) and chiller electricity.

Water-side economiser: a dry cooler or tower in a loop with chillers pre-cools the return before
the chillers (integrated free cooling). It runs whenever the return is warmer than the outdoor
dry / wet bulb (below that it is bypassed and adds nothing, nor any heat), at full fan while the
chillers trim (partial free cooling) and with the chillers off and its fans slowed once it carries
the whole load alone (full free cooling). The loop's capacity is the sum of the two stages, the
chillers' electricity is for what the economiser leaves them.
"""
from __future__ import annotations

import math

import numpy as np

from . import defaults as d
from .control import FopdtActuator, FopdtBank, loop_temperature_step, loop_temperature_step_vec
from .heat_rejection import chiller_capacity_linear, chiller_electric_power, chiller_scalar_kernels
from .heat_rejection import chiller_electric_power_scalar as _chiller_power

SCALAR_LOOP_LIMIT = 8  # up to this many loops, plain Python floats beat numpy


_F0, _F1, _F2, _F3 = d.VSD_FAN_CURVE
_Q0, _Q1, _Q2, _Q3 = d.CONSTANT_DP_PUMP_CURVE


def loop_movers(deliv: float, q_it: float, y: float, free: float, rated: float, pump_in: float, fan_in: float,
                fan_out: float, it_air_max: float, air_ratio: float, chiller: bool) -> tuple[float, float]:
    """Fans and pumps of one loop over a step: ``(heat into the loop, electricity)`` [W].

    * pumps (CDU secondary, chilled water) at constant differential pressure, flow following the
      loop's duty ``deliv / rated``: power ∝ flow (``defaults.CONSTANT_DP_PUMP_CURVE``);
    * CRAH fans: their airflow follows the IT airflow they serve, ``air_ratio · g`` with g the
      servers' airflow fraction at the loop's IT heat ``q_it / it_air_max``
      (:func:`.heat_rejection.server_airflow_fraction`), on the ASHRAE 90.1 Appendix G fan curve;
      without a CRAH flow (air_ratio 0) the duty stands in for the airflow;
    * dry-cooler / tower fans (heat outdoors): in a plant loop they are its actuator, speed ``y``;
      as a chilled-water economiser they run when it carries heat, at the speed that gives the part of
      the free-cooling capacity ``free`` [W] in use (``min(free, deliv) / free``), off when bypassed.

    All flows are floored at ``defaults.MOVER_MIN_SPEED``. Pump and CRAH-fan heat stays in the loop.
    """
    lo = d.MOVER_MIN_SPEED
    heat = 0.0
    f = deliv / rated if rated > 0.0 else 0.0
    f = lo if f < lo else (1.0 if f > 1.0 else f)
    if pump_in > 0.0:
        heat += pump_in * (_Q0 + f * (_Q1 + f * (_Q2 + f * _Q3)))
    if fan_in > 0.0:
        if air_ratio > 0.0:
            g = q_it / it_air_max if it_air_max > 0.0 else 1.0
            g = d.SERVER_MIN_AIRFLOW_FRACTION if g < d.SERVER_MIN_AIRFLOW_FRACTION else (1.0 if g > 1.0 else g)
            fa = air_ratio * g
            fa = lo if fa < lo else (1.0 if fa > 1.0 else fa)
        else:
            fa = f
        heat += fan_in * (_F0 + fa * (_F1 + fa * (_F2 + fa * _F3)))
    out = 0.0
    if fan_out > 0.0:
        if chiller:
            used = deliv if deliv < free else free
            fo = used / free if (free > 0.0 and used > 0.0) else 0.0
        else:
            fo = y
        if fo > 0.0 or not chiller:
            fo = lo if fo < lo else (1.0 if fo > 1.0 else fo)
            out = fan_out * (_F0 + fo * (_F1 + fo * (_F2 + fo * _F3)))
    return heat, heat + out


def loop_movers_vec(deliv, q_it, y, free, rated, pump_in, fan_in, fan_out, it_air_max, air_ratio, chiller):
    """:func:`loop_movers` over arrays of loops: ``(heat into the loops, electricity)`` [W]."""
    lo = d.MOVER_MIN_SPEED
    f = np.clip(np.divide(deliv, rated, out=np.zeros_like(deliv), where=rated > 0), lo, 1.0)
    heat = pump_in * (_Q0 + f * (_Q1 + f * (_Q2 + f * _Q3)))
    g = np.clip(np.divide(q_it, it_air_max, out=np.ones_like(deliv), where=it_air_max > 0),
                d.SERVER_MIN_AIRFLOW_FRACTION, 1.0)
    fa = np.where(air_ratio > 0.0, np.clip(air_ratio * g, lo, 1.0), f)
    heat = heat + fan_in * (_F0 + fa * (_F1 + fa * (_F2 + fa * _F3)))
    used = np.minimum(deliv, free)
    on = (free > 0.0) & (used > 0.0)
    fo_econ = np.divide(used, free, out=np.zeros_like(deliv), where=on)
    fo = np.clip(np.where(chiller, fo_econ, y), lo, 1.0)
    run = np.where(chiller, on, True)
    out = np.where(run & (fan_out > 0.0), fan_out * (_F0 + fo * (_F1 + fo * (_F2 + fo * _F3))), 0.0)
    return heat, heat + out


def economiser_free_w(dc_ec: float, ct_ec: float, t_return: float, db: float, wb: float) -> float:
    """Free-cooling capacity of a loop's dry coolers / towers at full fan [W]: ε·C_min on the return
    minus the dry / wet bulb, each stage only when it can cool (bypassed otherwise)."""
    x = dc_ec * (t_return - db)
    y = ct_ec * (t_return - wb)
    return (x if x > 0.0 else 0.0) + (y if y > 0.0 else 0.0)


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


def mover_args(model, l: int) -> tuple:
    """The per-loop constants :func:`loop_movers` takes after ``(deliv, q_it, y, free)``."""
    return (float(model.loop_duty_rated_w[l]), float(model.loop_pump_in_w[l]), float(model.loop_fan_in_w[l]),
            float(model.loop_fan_out_w[l]), float(model.loop_it_air_max_w[l]), float(model.loop_air_ratio[l]),
            bool(model.loop_chiller_w[l] > 0))


def initial_mover_heat(model, q_server, movers_in=None) -> list:
    """Fan/pump heat into each loop [W] at the start, from the server heat per loop ``q_server``
    [W] (children first: a loop's movers run at the duty of all the heat it carries)."""
    m = model.m
    parent = [int(x) for x in model.loop_parent]
    mover_heat = [0.0] * m
    child = [0.0] * m
    for l in model.loop_order:
        q = q_server[l] + child[l]
        for _ in range(3):  # the heat they carry includes their own (a fast fixed point)
            mover_heat[l] = loop_movers(q + mover_heat[l], q_server[l], 1.0, 0.0, *mover_args(model, l))[0]
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
                      float(model.loop_chiller_rated_c[l]), b_caps[l], coil[l], ret_k[l],
                      ch_w[l] > 0.0, kern[l][0], kern[l][1], float(model.loop_gain[l]),
                      float(model.loop_setpoint[l]), float(model.loop_c[l]), self.acts[l],
                      ch_w[l] > 0.0 and (dc_ec[l] > 0.0 or ct_ec[l] > 0.0), mover_args(model, l))
                     for l in model.loop_order]
        self.inv_dt = 1.0 / dt
        # water-side economiser modes, loop-seconds: full (chillers off) and partial free cooling
        self.free_full_s = self.free_partial_s = 0.0
        self.deliv = [0.0] * m  # heat each loop delivered over the last step [W] (plan order)
        self.lines = [(1.0, 0.0, 0.0)] * m  # (y, a, b): each loop's removal y·(a + b·T) last step

    @property
    def y(self) -> list:
        """Actuator fractions [-] (plan order)."""
        return [a.y for a in self.acts]

    def step(self, q_loop, db: float, wb: float, fc=None):
        """Advance one step. ``q_loop`` [W] server heat per loop (plan order); ``fc`` [W] the foreseen
        change of each loop's heat one lag ahead (predictive control: added to the measured heat).
        Returns ``(rejected_w, mover_elec_w, chiller_elec_w, mover_heat_in_w)``: heat the plant loops
        deliver outdoors (before the chillers' own electricity), fan/pump and chiller electricity, fan/pump
        heat into the loops."""
        dt, inv_dt = self.dt, self.inv_dt
        tl = self.tl = self.tl[:]  # a new list each step: callers keep the last one
        mover_heat = self.mover_heat
        child = [0.0] * self.m
        rejected = mover_elec = chiller_elec = mh_sum = 0.0
        for (l, p, fixed, dc, ct, ch_rc, b_cap, coil, ret_k, chiller, ch_cap, ch_pow, kc, tset, c, act, econ,
             mv) in self.rows:
            mh = mover_heat[l]
            q_in = q_loop[l] + mh + child[l]
            t0 = tl[l]
            if econ:  # an economiser stage is bypassed while it cannot cool (no heat pushed back in)
                t_ret0 = t0 + ret_k * q_in
                dc_on = dc if t_ret0 > db else 0.0
                ct_on = ct if t_ret0 > wb else 0.0
                b_cap = coil + dc_on + ct_on
            else:
                dc_on, ct_on = dc, ct
            a_cap = fixed - dc_on * db - ct_on * wb
            if p >= 0:
                a_cap -= coil * tl[p]
            a_cap += b_cap * ret_k * q_in  # exchangers see the return, T + q_in/(ρ c_p V̇)
            if chiller:  # chiller curve linearised at the step's start temperature
                cap_ch, slope = ch_cap((db - ch_rc) / d.CHILLER_TEMP_RISE_COEF, t0)
                a_cap += cap_ch - slope * t0
                b_cap += slope
            cap_now = a_cap + b_cap * t0
            target = (q_in if fc is None else q_in + fc[l]) + kc * (t0 - tset)
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
            self.deliv[l] = deliv
            # removal y·(a + b·T) with the actuator where it stands or is being sent (predictive throttling)
            self.lines[l] = (yl if yl > cmd else cmd, a_cap, b_cap)
            free = 0.0
            if chiller:
                if econ:
                    free = economiser_free_w(dc, ct, t1 + ret_k * q_in, db, wb)
                    if deliv > 0.0 and free > 0.0:
                        if free >= deliv:
                            self.free_full_s += dt
                        else:
                            self.free_partial_s += dt
                load = deliv - free
                if load > 0.0:
                    chiller_elec += ch_pow(load, db, t1)
            heat, elec = loop_movers(deliv, q_loop[l], yl, free, *mv)
            mover_heat[l] = heat  # heats the loop over the next step
            # billed as what heated the loop this step (so electricity = heat, exactly) + outdoor fans
            mover_elec += mh + (elec - heat)
            mh_sum += mh
            if p >= 0:
                child[p] += deliv
            else:
                rejected += deliv
        return rejected, mover_elec, chiller_elec, mh_sum


class VectorLoopBank:
    """Loop states and their per-step update.

    Internally loops are reordered so that every tree level is one contiguous slice (views, no
    gathers in the hot loop); :attr:`tl` is kept in the plan's loop order for the callers.

    tl : array  Supply temperatures [°C] (plan order); actuator fractions in :attr:`act`
    """

    scalar = False

    @property
    def deliv(self):
        """Heat each loop delivered over the last step [W] (plan order)."""
        return self.delivered[self.inv]

    @property
    def lines(self):
        """(y, a, b) per loop: removal y·(a + b·T) of the last step (plan order)."""
        inv = self.inv
        return list(zip(self.line_y[inv].tolist(), self.line_a[inv].tolist(), self.line_b[inv].tolist()))

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
        self.rated = P(model.loop_duty_rated_w)
        self.act = FopdtBank(P(model.loop_dead), P(model.loop_tau), dt, P(y))
        self.pump_in, self.fan_in, self.fan_out = P(model.loop_pump_in_w), P(model.loop_fan_in_w), P(model.loop_fan_out_w)
        self.it_air_max, self.air_ratio = P(model.loop_it_air_max_w), P(model.loop_air_ratio)
        self.chiller_idx = np.flatnonzero(self.ch_w > 0)
        self.is_chiller = self.ch_w > 0
        self.econ = self.is_chiller & ((self.dc_ec > 0) | (self.ct_ec > 0))
        self.any_econ = bool(self.econ.any())
        self.any_free = self.any_econ
        self.free_full_s = self.free_partial_s = 0.0
        self.delivered = np.zeros(m)
        self.line_y, self.line_a, self.line_b = np.ones(m), np.zeros(m), np.zeros(m)
        self.tl = np.asarray(tl, float).copy()
        # per level: which loops have parents, and the parents' indices
        self.level_par = [(np.flatnonzero(self.has_par[sl]), self.par_p[sl][self.has_par[sl]]) for sl in self.slices]

    def step(self, q_loop, db: float, wb: float, fc=None):
        """Advance one step. ``q_loop`` [W] server heat per loop (plan order); ``fc`` [W] the foreseen
        change of each loop's heat one lag ahead (predictive control: added to the measured heat).
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
            rg = self.ret_gain[sl]
            if self.any_econ and self.econ[sl].any():  # economiser stages bypassed while they cannot cool
                e = self.econ[sl]
                t_ret0 = t0 + self.ret_k[sl] * q_in
                dc_off = np.where(e & (t_ret0 <= db), self.dc_ec[sl], 0.0)
                ct_off = np.where(e & (t_ret0 <= wb), self.ct_ec[sl], 0.0)
                a = a + dc_off * db + ct_off * wb
                b = b - dc_off - ct_off
                rg = rg - (dc_off + ct_off) * self.ret_k[sl]
            if self.any_ret:  # q_in of this level is complete (children were stepped before)
                a = a + rg * q_in
            cap = a + b * t0
            ff = q_in if fc is None else q_in + fc[sl]
            target = ff + self.kc[sl] * (t0 - self.tset[sl])
            with np.errstate(divide="ignore", invalid="ignore"):
                cmd = np.where(target <= 0.0, 0.0, np.where(target >= cap, 1.0, target / np.where(cap > 0, cap, 1.0)))
            self.line_y[sl], self.line_a[sl], self.line_b[sl] = np.maximum(y[sl], cmd), a, b
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
        y_start = y.copy() if self.fan_out.any() else y
        self.act.advance()  # actuators: this step's commands, delayed and lagged (FopdtBank)
        chiller_elec = 0.0
        free = np.zeros(self.m)
        if self.chiller_idx.size:
            i = self.chiller_idx
            load = self.delivered[i]
            if self.any_free:
                t_ret = t[i] + self.ret_k[i] * q[i]
                fi = (np.maximum(self.dc_ec[i] * (t_ret - db), 0.0) + np.maximum(self.ct_ec[i] * (t_ret - wb), 0.0))
                free[i] = fi
                used = (load > 0.0) & (fi > 0.0)
                self.free_full_s += float(np.count_nonzero(used & (fi >= load))) * dt
                self.free_partial_s += float(np.count_nonzero(used & (fi < load))) * dt
                load = load - fi
            if i.size <= 4:
                chiller_elec = sum(_chiller_power(x, w, db, cop, rc, tc, rw) for x, w, cop, rc, tc, rw in
                                   zip(load.tolist(), self.ch_w[i].tolist(), self.ch_cop[i].tolist(),
                                       self.ch_rated_c[i].tolist(), t[i].tolist(), self.ch_chw[i].tolist()) if x > 0.0)
            else:
                chiller_elec = float(np.sum(chiller_electric_power(np.maximum(load, 0.0), self.ch_w[i], db,
                                                                   self.ch_cop[i], self.ch_rated_c[i], t[i],
                                                                   self.ch_chw[i])))
        heat, elec = loop_movers_vec(self.delivered, np.asarray(q_loop)[self.perm], y_start, free, self.rated,
                                     self.pump_in, self.fan_in, self.fan_out, self.it_air_max, self.air_ratio,
                                     self.is_chiller)
        self.mover_heat = heat  # heats the loops over the next step
        self.tl = t[self.inv]
        mh_sum = float(mh_in.sum())
        # fans/pumps billed as what heated the loops this step, plus the outdoor fans
        return float(self.delivered[self.root].sum()), mh_sum + float((elec - heat).sum()), chiller_elec, mh_sum
