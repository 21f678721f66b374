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
from .control import FopdtActuator, FopdtBank, FopdtHistory, FopdtHistoryBank
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
    * dry-cooler / tower fans (heat outdoors): in a plant loop they are its actuator, speed ``y``
      (its mean output over the step); as a chilled-water economiser they run when it carries heat, at the speed that gives the part of
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
    their heat outdoors. :func:`.model.compile_model` sums them per loop (``loop_mover_in_w`` /
    ``loop_mover_out_w``), so a lumped model's loops (:mod:`.lumping`) have theirs.
    """
    return [float(x) for x in model.loop_mover_in_w], [float(x) for x in model.loop_mover_out_w]


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
                      float(model.loop_chiller_rated_c[l]), b_caps[l], coil[l], ret_k[l],
                      ch_w[l] > 0.0, kern[l][0], kern[l][1], float(model.loop_gain[l]),
                      float(model.loop_setpoint[l]), float(model.loop_c[l]), self.acts[l],
                      ch_w[l] > 0.0 and (dc_ec[l] > 0.0 or ct_ec[l] > 0.0), mover_args(model, l))
                     for l in model.loop_order]
        self.c = model.loop_c.tolist()
        self.top_down = [int(l) for l in reversed(model.loop_order)]
        self.parent = [int(x) for x in model.loop_parent]
        # water-side economiser modes, loop-seconds: full (chillers off) and partial free cooling
        self.free_full_s = self.free_partial_s = 0.0
        self.deliv = [0.0] * m  # heat each loop delivered over the last step [W] (plan order)
        self.lines = [(1.0, 0.0, 0.0)] * m  # (y, a, b): each loop's removal y·(a + b·T) last step

    @property
    def y(self) -> list:
        """Actuator fractions [-] (plan order)."""
        return [a.y for a in self.acts]

    def step(self, q_hat, g_self, t0: float, h: float, db: float, wb: float, fc=None):
        """Advance one step ``[t0, t0 + h)`` [s], implicitly coupled to the servers, the parent loop
        and the controller (see :mod:`.stepping`).

        q_hat : [J] per loop, the servers' heat over the step is ``q_hat − g_self·T_end``
        g_self : [J/K] per loop; fc : [W] the rise of each loop's heat the predictive controller
        foresees one lag ahead (added to the measured heat), or None
        Returns ``(rejected_w, mover_elec_w, chiller_elec_w, mover_heat_in_w)`` (step means): heat the
        plant loops deliver outdoors (before the chillers' own electricity), fan/pump and chiller
        electricity, fan/pump heat into the loops."""
        m = self.m
        t_start = self.tl
        mover_heat = self.mover_heat
        inv_h = 1.0 / h
        child_d = [0.0] * m
        child_e = [0.0] * m
        coef = [None] * m
        mh_sum = 0.0
        for (l, p, fixed, dc, ct, ch_rc, b_cap, coil, ret_k, chiller, ch_cap, ch_pow, kc, tset, c, act, econ,
             mv) in self.rows:
            mh = mover_heat[l]
            mh_sum += mh
            t0l = t_start[l]
            g = g_self[l] * inv_h  # W/K
            e_child = child_e[l]
            q_const = q_hat[l] * inv_h + mh + child_d[l]  # heat in at T_end = 0 [W]
            s_in = g + e_child  # heat in falls by s_in per K of this loop's end temperature
            q_in0 = q_const - s_in * t0l  # heat in predicted at the start temperature
            if econ:  # an economiser stage is bypassed while it cannot cool (no heat pushed back in)
                t_ret0 = t0l + ret_k * q_in0
                dc_on = dc if t_ret0 > db else 0.0
                ct_on = ct if t_ret0 > wb else 0.0
                b_cap = coil + dc_on + ct_on
            else:
                dc_on, ct_on = dc, ct
            a_cap = fixed - dc_on * db - ct_on * wb + b_cap * ret_k * q_in0  # exchangers see the return
            if chiller:  # chiller curve linearised at the step's start temperature
                cap_ch, slope = ch_cap((db - ch_rc) / d.CHILLER_TEMP_RISE_COEF, t0l)
                a_cap += cap_ch - slope * t0l
                b_cap += slope
            tp0 = t_start[p] if p >= 0 else 0.0
            cap0 = a_cap - coil * tp0 + b_cap * t0l
            ff = q_in0 if fc is None else q_in0 + fc[l]
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
            if abs(x) > 1e-12:  # beta < 0 where a chiller's capacity falls as the water warms
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
            coef[l] = (u, v, d0, d1, q_const, s_in, a_cap, b_cap, ff, y1h, om1, ybar, om)
        tl = [0.0] * m
        for l in self.top_down:  # parents first: end temperatures
            p = self.parent[l]
            cf = coef[l]
            tl[l] = cf[0] + cf[1] * tl[p] if p >= 0 else cf[0]
        rejected = mover_elec = chiller_elec = 0.0
        for (l, p, fixed, dc, ct, ch_rc, b_cap0, coil, ret_k, chiller, ch_cap, ch_pow, kc, tset, c, act, econ,
             mv) in self.rows:
            u, v, d0, d1, q_const, s_in, a_cap, b_cap, ff, y1h, om1, ybar, om = coef[l]
            t1 = tl[l]
            tp1 = tl[p] if p >= 0 else 0.0
            deliv = d0 - d1 * tp1
            q_in1 = q_const - s_in * t1
            target = (q_in1 if fc is None else q_in1 + fc[l]) + kc * (t1 - tset)
            cap1 = a_cap - coil * tp1 + b_cap * t1
            if target <= 0.0:
                cmd = 0.0
            elif target >= cap1:
                cmd = 1.0
            else:
                cmd = target / cap1
            act.commit(t0, h, cmd, y1h + om1 * cmd)
            self.deliv[l] = deliv
            # removal y·(a + b·T) with the actuator where it stands or is being sent (predictive throttling)
            self.lines[l] = (ybar if ybar > cmd else cmd, a_cap - coil * tp1, b_cap)
            free = 0.0
            if chiller:
                if econ:
                    free = economiser_free_w(dc, ct, t1 + ret_k * q_in1, db, wb)
                    if deliv > 0.0 and free > 0.0:
                        if free >= deliv:
                            self.free_full_s += h
                        else:
                            self.free_partial_s += h
                load = deliv - free
                if load > 0.0:
                    chiller_elec += ch_pow(load, db, t1)
            # fans that are the actuator run at its mean output over the step: the earlier commands'
            # share ȳ_hist plus this step's command's ω·cmd (it acts within a step longer than the dead time)
            heat, elec = loop_movers(deliv, (q_hat[l] - g_self[l] * t1) * inv_h, ybar + om * cmd, free, *mv)
            # billed as what heated the loop this step (so electricity = heat, exactly) + outdoor fans
            mover_elec += mover_heat[l] + (elec - heat)
            mover_heat[l] = heat  # heats the loop over the next step
            if p < 0:
                rejected += deliv
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
        self.rated = P(model.loop_duty_rated_w)
        if variable:
            self.act = FopdtHistoryBank(P(model.loop_dead), P(model.loop_tau), P(y))
        else:
            self.act = FopdtBank(P(model.loop_dead), P(model.loop_tau), dt, P(y))
        self.pump_in, self.fan_in, self.fan_out = P(model.loop_pump_in_w), P(model.loop_fan_in_w), P(model.loop_fan_out_w)
        self.it_air_max, self.air_ratio = P(model.loop_it_air_max_w), P(model.loop_air_ratio)
        self.chiller_idx = np.flatnonzero(self.ch_w > 0)
        self.is_chiller = self.ch_w > 0
        self.econ = self.is_chiller & ((self.dc_ec > 0) | (self.ct_ec > 0))
        self.any_econ = self.any_free = bool(self.econ.any())
        self.free_full_s = self.free_partial_s = 0.0
        self.delivered = np.zeros(m)
        self.line_y, self.line_a, self.line_b = np.ones(m), np.zeros(m), np.zeros(m)
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
            cap, slope = chiller_capacity_linear(float(self.ch_w[i]), xc, float(t[i]), float(self.ch_chw[i]),
                                                 float(self.ch_rated_c[i]))
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
            b = b_all[sl]
            if self.any_econ and self.econ[sl].any():  # economiser stages bypassed while they cannot cool
                e_ = self.econ[sl]
                t_ret0 = t0l + self.ret_k[sl] * qi0
                dc_off = np.where(e_ & (t_ret0 <= db), self.dc_ec[sl], 0.0)
                ct_off = np.where(e_ & (t_ret0 <= wb), self.ct_ec[sl], 0.0)
                a = a + dc_off * db + ct_off * wb - (dc_off + ct_off) * self.ret_k[sl] * qi0
                b = b - dc_off - ct_off
                b_all[sl] = b
            a_cap[sl] = a
            coil = self.coil[sl]
            cap0 = a - coil * tp0[sl] + b * t0l
            ff = qi0 if fc is None else qi0 + fc[sl]
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
            small = np.abs(x) <= 1e-12  # beta < 0 where a chiller's capacity falls as the water warms
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
        ff1 = q_in1 if fc is None else q_in1 + fc
        target = ff1 + self.kc * (t1 - self.tset)
        cap1 = a_cap - self.coil * tp1 + b_all * t1
        with np.errstate(divide="ignore", invalid="ignore"):
            cmd = np.where(target <= 0.0, 0.0, np.where(target >= cap1, 1.0, target / np.where(cap1 > 0, cap1, 1.0)))
        self.act.commit(t0, h, cmd, y1h + om1 * cmd)
        self.delivered = deliv
        self.line_y, self.line_a, self.line_b = np.maximum(ybar, cmd), a_cap - self.coil * tp1, b_all
        mh_sum = float(mh.sum())
        chiller_elec = 0.0
        free = np.zeros(m)
        if self.chiller_idx.size:
            i = self.chiller_idx
            load = deliv[i]
            if self.any_free:
                t_ret = t1[i] + self.ret_k[i] * q_in1[i]
                fi = (np.maximum(self.dc_ec[i] * (t_ret - db), 0.0) + np.maximum(self.ct_ec[i] * (t_ret - wb), 0.0))
                free[i] = fi
                used = (load > 0.0) & (fi > 0.0)
                self.free_full_s += float(np.count_nonzero(used & (fi >= load))) * h
                self.free_partial_s += float(np.count_nonzero(used & (fi < load))) * h
                load = load - fi
            if i.size <= 4:
                chiller_elec = sum(_chiller_power(x, w, db, cop, rc, tc, rw) for x, w, cop, rc, tc, rw in
                                   zip(load.tolist(), self.ch_w[i].tolist(), self.ch_cop[i].tolist(),
                                       self.ch_rated_c[i].tolist(), t1[i].tolist(), self.ch_chw[i].tolist()) if x > 0.0)
            else:
                chiller_elec = float(np.sum(chiller_electric_power(np.maximum(load, 0.0), self.ch_w[i], db,
                                                                   self.ch_cop[i], self.ch_rated_c[i], t1[i],
                                                                   self.ch_chw[i])))
        q_it = (np.asarray(q_hat, float)[self.perm] - np.asarray(g_self, float)[self.perm] * t1) * inv_h
        # the actuator's mean output over the step (earlier commands + this step's, see ScalarLoopBank)
        heat, elec = loop_movers_vec(deliv, q_it, ybar + om * cmd, free, self.rated, self.pump_in, self.fan_in,
                                     self.fan_out, self.it_air_max, self.air_ratio, self.is_chiller)
        # fans/pumps billed as what heated the loops this step, plus the outdoor fans
        mover_elec = mh_sum + float((elec - heat).sum())
        self.mover_heat = heat  # heats the loops over the next step
        self.t = t1
        self.tl = t1[self.inv]
        return float(deliv[self.root].sum()), mover_elec, chiller_elec, mh_sum

    @property
    def deliv(self):
        """Heat each loop delivered over the last step [W] (plan order)."""
        return self.delivered[self.inv]

    @property
    def lines(self):
        """(y, a, b) per loop: removal y·(a + b·T) of the last step (plan order)."""
        inv = self.inv
        return list(zip(self.line_y[inv].tolist(), self.line_a[inv].tolist(), self.line_b[inv].tolist()))

    def correct(self, dq) -> None:
        """As :meth:`ScalarLoopBank.correct`."""
        self.t = self.t + np.asarray(dq, float)[self.perm] / self.c
        self.tl = self.t[self.inv]


# ----------------------------------------------------------------------------- compiled form
#
# The loop step for the stepping kernel: :meth:`ScalarLoopBank.step`'s arithmetic (issue 11's
# physics: economiser, fan/pump curves, chillers rated at their own air temperature) over arrays of
# loops (any number: the compiled loop over loops is as fast for 196 loops as numpy per level),
# actuators in a :class:`.control.FopdtRing`. Equal to :class:`ScalarLoopBank` to rounding
# (tests/test_solver_loopstep.py).

from typing import NamedTuple  # noqa: E402

from . import heat_rejection as _hr  # noqa: E402
from .control import ring_commit, ring_window  # noqa: E402
from .jit import njit  # noqa: E402

# compiled copies of the plain functions the numpy banks call (same source, so the same numbers);
# the chillers' scalar kernels are numba-callable as they are (heat_rejection, register_jitable)
_loop_movers_nb = njit(loop_movers)
_economiser_free_nb = njit(economiser_free_w)
_RISE = float(d.CHILLER_TEMP_RISE_COEF)


class LoopTable(NamedTuple):
    """Per-loop constants of the step (plan order; ``order``: children first).

    Exchangers ``dc``, ``ct``, ``coil`` (ε·C_min [W/K]), ``b_cap`` their sum, ``ret_k`` the return's
    rise per W [K/W]; ``econ``: 1 where a dry cooler / tower is a chilled-water economiser; chillers
    ``ch_w`` rated [W], ``ch_rc`` rated entering air, ``ch_chw`` rated leaving water [°C], ``ch_cop``,
    and their curve constants (:func:`.heat_rejection.chiller_scalar_kernels`): ``ch_k`` [W],
    ``ch_scale``, ``ch_eir_den``, ``ch_plf_min``; controller gain ``kc`` [W/K], setpoint ``tset``
    [°C], heat capacity ``c`` [J/K]; movers (:func:`loop_movers`, :func:`mover_args`): duty basis
    ``rated`` [W], ``pump_in``, ``fan_in``, ``fan_out`` at design flow [W], ``it_air_max`` [W],
    ``air_ratio`` [-]."""

    order: np.ndarray
    parent: np.ndarray
    fixed: np.ndarray
    dc: np.ndarray
    ct: np.ndarray
    coil: np.ndarray
    b_cap: np.ndarray
    ret_k: np.ndarray
    econ: np.ndarray
    ch_w: np.ndarray
    ch_rc: np.ndarray
    ch_chw: np.ndarray
    ch_cop: np.ndarray
    ch_k: np.ndarray
    ch_scale: np.ndarray
    ch_eir_den: np.ndarray
    ch_plf_min: np.ndarray
    kc: np.ndarray
    tset: np.ndarray
    c: np.ndarray
    rated: np.ndarray
    pump_in: np.ndarray
    fan_in: np.ndarray
    fan_out: np.ndarray
    it_air_max: np.ndarray
    air_ratio: np.ndarray


class LoopState(NamedTuple):
    """Loop supply temperatures ``tl`` [°C], fan/pump heat into each loop ``mover_heat`` [W] (acts
    over the coming step), what the last step did — ``deliv`` [W] heat each loop delivered, ``lines``
    [m × 3] each loop's removal ``y·(a + b·T)`` as ``(y, a, b)`` (the actuator where it stands or is
    being sent, ``a`` with the parent's end temperature in it; what the power cap reads),
    ``free_s`` [2] loop-seconds of full and partial free cooling so far — and scratch for the step."""

    tl: np.ndarray
    mover_heat: np.ndarray
    child_d: np.ndarray
    child_e: np.ndarray
    coef: np.ndarray
    deliv: np.ndarray
    lines: np.ndarray
    free_s: np.ndarray


def loop_table(model) -> LoopTable:
    """:class:`LoopTable` of a compiled model."""
    m = model.m
    coil = model.loop_coil_ec.astype(float)
    dc, ct = model.loop_drycooler_ec.astype(float), model.loop_tower_ec.astype(float)
    ch_w = model.loop_chiller_w.astype(float)
    ch = np.zeros((4, m))  # k, scale, eir_den, plf_min: the chillers' rating constants
    for l in range(m):
        if ch_w[l] > 0.0:
            ch[:, l] = _hr.chiller_rating_constants(float(ch_w[l]), float(model.loop_chiller_cop[l]),
                                                    float(model.loop_chiller_rated_c[l]),
                                                    float(model.loop_chiller_rated_chw_c[l]))
    f = lambda x: np.ascontiguousarray(x, dtype=float)  # noqa: E731
    econ = (ch_w > 0) & ((dc > 0) | (ct > 0))
    return LoopTable(np.asarray(model.loop_order, np.int64), model.loop_parent.astype(np.int64),
                     f(model.loop_fixed_w), f(dc), f(ct), f(coil), f(coil + dc + ct), f(model.loop_return_k_per_w),
                     f(econ), f(ch_w), f(model.loop_chiller_rated_c), f(model.loop_chiller_rated_chw_c),
                     f(model.loop_chiller_cop), f(ch[0]), f(ch[1]), f(ch[2]), f(ch[3]),
                     f(model.loop_gain), f(model.loop_setpoint), f(model.loop_c), f(model.loop_duty_rated_w),
                     f(model.loop_pump_in_w), f(model.loop_fan_in_w), f(model.loop_fan_out_w),
                     f(model.loop_it_air_max_w), f(model.loop_air_ratio))


def loop_state(model, tl, q_server) -> LoopState:
    """Loops at temperatures ``tl`` [°C] carrying server heat ``q_server`` [W] per loop (the fan/pump
    heat of the first step from :func:`initial_mover_heat`, as the numpy banks start)."""
    m = model.m
    movers_in, _ = mover_split(model)
    lines = np.zeros((m, 3))
    lines[:, 0] = 1.0
    return LoopState(np.asarray(tl, float).copy(), np.asarray(initial_mover_heat(model, q_server, movers_in), float),
                     np.zeros(m), np.zeros(m), np.zeros((m, 13)), np.zeros(m), lines, np.zeros(2))


@njit(refcount=False)
def loop_step(T, S, R, q_hat, g_self, t0, h, db, wb, fc, use_fc):
    """:meth:`ScalarLoopBank.step` on :class:`LoopTable` ``T`` / :class:`LoopState` ``S`` with the
    actuators ``R`` (:class:`.control.FopdtRing`); ``S.tl`` becomes the end temperatures, ``S.deliv``,
    ``S.lines`` this step's, ``S.free_s`` counts free cooling.

    q_hat [J], g_self [J/K] per loop: the servers' heat over the step is ``q_hat − g_self·T_end``;
    fc [W] (read when ``use_fc``): the rise of each loop's heat the predictive controller foresees
    one lag ahead, ``max(forecast(t + θ) − forecast(t), 0)``, added to the measured heat.
    Returns ``(rejected_w, mover_elec_w, chiller_elec_w, mover_heat_in_w)`` (step means)."""
    m = S.tl.size
    tl = S.tl
    mover_heat = S.mover_heat
    child_d, child_e, coef = S.child_d, S.child_e, S.coef
    inv_h = 1.0 / h
    for l in range(m):
        child_d[l] = 0.0
        child_e[l] = 0.0
    mh_sum = 0.0
    for l in T.order:
        p = T.parent[l]
        mh = mover_heat[l]
        mh_sum += mh
        t0l = tl[l]
        g = g_self[l] * inv_h
        q_const = q_hat[l] * inv_h + mh + child_d[l]  # heat in at T_end = 0 [W]
        s_in = g + child_e[l]
        q_in0 = q_const - s_in * t0l  # heat in predicted at the start temperature
        coil = T.coil[l]
        dc_on, ct_on = T.dc[l], T.ct[l]
        b_cap = T.b_cap[l]
        if T.econ[l] > 0.0:  # an economiser stage is bypassed while it cannot cool
            t_ret0 = t0l + T.ret_k[l] * q_in0
            if not t_ret0 > db:
                dc_on = 0.0
            if not t_ret0 > wb:
                ct_on = 0.0
            b_cap = coil + dc_on + ct_on
        a_cap = T.fixed[l] - dc_on * db - ct_on * wb + b_cap * T.ret_k[l] * q_in0  # exchangers see the return
        if T.ch_w[l] > 0.0:  # chiller curve linearised at the step's start temperature
            cap_ch, slope = _hr.chiller_capacity_point(T.ch_k[l], T.ch_rc[l], (db - T.ch_rc[l]) / _RISE, t0l)
            a_cap += cap_ch - slope * t0l
            b_cap += slope
        kc = T.kc[l]
        tset = T.tset[l]
        c = T.c[l]
        tp0 = tl[p] if p >= 0 else 0.0
        cap0 = a_cap - coil * tp0 + b_cap * t0l
        ff = q_in0 + fc[l] if use_fc else q_in0
        target0 = ff + kc * (t0l - tset)
        ybar, om, y1h, om1 = ring_window(R, l, t0, h)
        alpha = q_const - ybar * a_cap
        pi = ybar * coil
        beta = ybar * b_cap
        if cap0 <= 0.0:  # the equipment cannot reject at all
            alpha, pi, beta = q_const, 0.0, 0.0
        elif om > 0.0:
            if target0 >= cap0:
                alpha -= om * a_cap
                pi += om * coil
                beta += om * b_cap
            elif target0 > 0.0:
                alpha -= om * (ff - kc * tset)
                beta += om * kc
        x = beta * h / c
        if abs(x) > 1e-12:  # beta < 0 where a chiller's capacity falls as the water warms
            e = math.exp(-x)
            phi = -math.expm1(-x) / beta
        else:
            e, phi = 1.0, h / c
        den = 1.0 + phi * s_in
        u = (t0l * e + phi * alpha) / den
        v = phi * pi / den
        kk = s_in + c * inv_h
        d0 = q_const + c * t0l * inv_h - kk * u
        d1 = kk * v
        if p >= 0:
            child_d[p] += d0
            child_e[p] += d1
        cf = coef[l]
        cf[0], cf[1], cf[2], cf[3], cf[4], cf[5] = u, v, d0, d1, q_const, s_in
        cf[6], cf[7], cf[8], cf[9], cf[10], cf[11], cf[12] = a_cap, b_cap, ff, y1h, om1, ybar, om
    for i in range(m - 1, -1, -1):  # parents first: end temperatures
        l = T.order[i]
        p = T.parent[l]
        tl[l] = coef[l, 0] + coef[l, 1] * tl[p] if p >= 0 else coef[l, 0]
    rejected = mover_elec = chiller_elec = 0.0
    for l in T.order:
        p = T.parent[l]
        cf = coef[l]
        t1 = tl[l]
        tp1 = tl[p] if p >= 0 else 0.0
        deliv = cf[2] - cf[3] * tp1
        q_in1 = cf[4] - cf[5] * t1
        ybar = cf[11]
        target = (q_in1 + fc[l] if use_fc else q_in1) + T.kc[l] * (t1 - T.tset[l])
        cap1 = cf[6] - T.coil[l] * tp1 + cf[7] * t1
        if target <= 0.0:
            cmd = 0.0
        elif target >= cap1:
            cmd = 1.0
        else:
            cmd = target / cap1
        ring_commit(R, l, t0, h, cmd, cf[9] + cf[10] * cmd)
        S.deliv[l] = deliv
        # removal y·(a + b·T) with the actuator where it stands or is being sent (predictive throttling)
        S.lines[l, 0] = ybar if ybar > cmd else cmd
        S.lines[l, 1] = cf[6] - T.coil[l] * tp1
        S.lines[l, 2] = cf[7]
        free = 0.0
        if T.ch_w[l] > 0.0:
            if T.econ[l] > 0.0:
                free = _economiser_free_nb(T.dc[l], T.ct[l], t1 + T.ret_k[l] * q_in1, db, wb)
                if deliv > 0.0 and free > 0.0:
                    if free >= deliv:
                        S.free_s[0] += h
                    else:
                        S.free_s[1] += h
            load = deliv - free
            if load > 0.0:
                chiller_elec += _hr.chiller_power_point(load, db, t1, T.ch_k[l], T.ch_scale[l], T.ch_cop[l],
                                                        T.ch_eir_den[l], T.ch_plf_min[l])
        # fans that are the actuator run at its mean output over the step (ȳ_hist + ω·cmd)
        heat, elec = _loop_movers_nb(deliv, (q_hat[l] - g_self[l] * t1) * inv_h, ybar + cf[12] * cmd, free,
                                     T.rated[l], T.pump_in[l], T.fan_in[l], T.fan_out[l], T.it_air_max[l], T.air_ratio[l],
                                     T.ch_w[l] > 0.0)
        # billed as what heated the loop this step (so electricity = heat, exactly) + outdoor fans
        mover_elec += mover_heat[l] + (elec - heat)
        mover_heat[l] = heat  # heats the loop over the next step
        if p < 0:
            rejected += deliv
    return rejected, mover_elec, chiller_elec, mh_sum


@njit(refcount=False)
def loop_correct(S, c, dq):
    """:meth:`ScalarLoopBank.correct`: add heat ``dq`` [J] per loop."""
    for l in range(S.tl.size):
        S.tl[l] += dq[l] / c[l]
