"""Fast fixed-step integrator: numpy over servers, exact per-step updates, streaming aggregates.

Per step ``[t_k, t_k + dt)`` (inputs held over the step, zero-order hold):

1. coolant temperature of every server from its loops' supply temperatures and the recirculation
   ``D·P`` of the previous step's rack powers;
2. every server's die/plate pair advances exactly (:func:`.thermal.server_pair_step`); servers that
   stay below slowdown take the precomputed full-clock propagator ``e^{A dt}`` (die and plate stacked
   as two rows, a few numpy operations), only the hot ones take the piecewise path;
3. the heat each server gave its coolant, ``E − C_d ΔT_d − C_p ΔT_p``, is summed into its loops (exact energy
   bookkeeping: nothing is created or lost between servers and loops);
4. loops advance children-first (:func:`.control.loop_temperature_step`), their actuators through
   the FOPDT update, and what a loop delivers enters its parent loop;
5. summary, per-minute, per-rack (and optional per-server) aggregates are updated in place, so
   memory does not grow with the horizon except for the per-minute series.

Coupling between servers and loops is explicit over one step (loop temperatures are held while
servers step); :func:`max_stable_step` gives the limit this imposes and :func:`simulate` refuses
larger steps.
"""
from __future__ import annotations

import math
import time

import numpy as np
from scipy import sparse

from . import defaults as d
from .ambient import local_hour, month_fractions, month_index
from .control import FopdtActuator, loop_temperature_step
from .energy import demand_charge_usd, energy_cost_usd, peak_15min_kw, pue
from .heat_rejection import chiller_capacity_linear
from .heat_rejection import chiller_scalar_kernels
from .loads import job_utilization_step_means
from .loopbank import VectorLoopBank
from .model import Model
from .results import SimulationResult
from .thermal import pair_modes, pair_propagator, server_equilibrium, server_pair_step, server_power

CHUNK_CELLS = 2_000_000  # server-steps of utilisation precomputed at once (~16 MB per array)
SCALAR_LOOP_LIMIT = 8  # up to this many loops, plain Python floats beat numpy
vmax_ = np.maximum.reduce
CANCEL_EVERY_MASK = 15  # poll ``cancel`` every 16 steps (a few ms even on 10,000 servers)


def loop_conductance(model: Model) -> np.ndarray:
    """Σ 1/R_p [W/K] of the server plate nodes each loop touches (for the explicit-coupling limit;
    the loop sees a server's plate through R_p, the stiffer of the two-node resistances)."""
    share = model.loop_server_share
    return np.asarray(share @ (1.0 / model.r_plate)).ravel()


def max_stable_step(model: Model) -> float:
    """Largest step [s] for which the explicit server↔loop coupling and the sampled controllers stay
    stable and accurate.

    Per loop, two feedbacks act through values held over a step: the servers (a loop of heat
    capacity C coupled to server plates of total conductance G relaxes with ``τ_c = C / G``; holding
    the loop temperature over a step is stable for dt < 2 τ_c) and the controller (``K_c = C / (2θ)``,
    θ = τ_actuator + L: the sampled proportional loop is well damped for ``K_c·dt/C = dt/(2θ) ≤ 1``).
    They add: a loop at both limits at once diverges (cost_plan's hall air at 60 s: 60/61 + 60/60,
    a ~240 K limit cycle; onset between 36 and 40 s, i.e. a sum of ~1.2). So per loop
    ``dt·(1/τ_c + 1/(2θ)) ≤ 1`` — which also keeps dt ≤ τ_c for accuracy. A coil couples a loop to
    its parent the same way: each child's ``ε·C_min / C_parent`` joins the parent's sum. Checked in
    tests/test_solver_verification.py: past the limit the loop temperatures oscillate.
    """
    rate = loop_conductance(model) / model.loop_c  # 1/τ_c [1/s]
    rate = rate + 1.0 / (2.0 * (model.loop_tau + model.loop_dead))  # sampled controller
    # a coil couples a loop to its parent explicitly too: the parent relaxes with C_parent / (ε·C_min)
    # through each child's coil, one more held feedback on the parent
    par = model.loop_parent
    kids = (par >= 0) & (model.loop_coil_ec > 0)
    np.add.at(rate, par[kids], model.loop_coil_ec[kids] / model.loop_c[par[kids]])
    return float(1.0 / rate.max())


class _Chunk:
    """Utilisation (and forecasts) for a block of steps."""

    def __init__(self, model: Model, k0: int, k1: int, dt: float, lookahead, predictive: bool,
                 forecast_w, forecast_base, rack_sums: bool = False):
        t0 = np.arange(k0, k1) * dt
        uj = job_utilization_step_means(model.placement, t0, dt)
        self.u = np.ascontiguousarray(np.clip((model.placement.matrix @ uj).T, 0.0, 1.0))
        self.n = k1 - k0
        self.u_const = bool(np.all(self.u == self.u[0]))  # e.g. continuous full load
        self.band_cache = None
        p_a = model.p_idle + model.p_dyn * self.u  # power at full clock [W]
        # [steps × 2 × servers]: die and plate rise over the coolant at steady state, R·P and R_p·P [K]
        self.rp2 = np.empty((p_a.shape[0], 2, p_a.shape[1]))
        np.multiply(p_a, model.r_th, out=self.rp2[:, 0, :])
        np.multiply(p_a, model.r_plate, out=self.rp2[:, 1, :])
        self.e = p_a * dt  # energy at full clock [J]
        # air-side rack power at full clock [W] (recirculation), for steps where nothing throttles
        self.rack_p = np.ascontiguousarray((model.rack_air_share @ p_a.T).T) if rack_sums else None
        self.forecast = None
        if predictive:
            fc = np.empty((k1 - k0, model.m))
            for l in range(model.m):
                ujl = job_utilization_step_means(model.placement, t0 + lookahead[l], dt)
                fc[:, l] = forecast_base[l] + forecast_w[l] @ ujl
            self.forecast = fc


def loop_capacity(model: Model, l: int, t: float, db: float, wb: float, t_parent: float,
                  q_in: float = 0.0) -> tuple[float, float]:
    """Capacity [W] of loop ``l``'s equipment at supply temperature ``t`` [°C] and its slope [W/K].

    ``fixed + εC_coil (T_ret − T_parent) + εC_dc (T_ret − T_db) + εC_ct (T_ret − T_wb) + chillers(T_db, T)``
    with the return ``T_ret = T + q_in / (ρ c_p V̇)`` for the heat ``q_in`` [W] the loop takes in
    (:mod:`.heat_rejection`, ε-NTU at fixed flows); the chiller part is the exact curve on the
    leaving (supply) water, linearised at ``t``.
    """
    b = model.loop_coil_ec[l] + model.loop_drycooler_ec[l] + model.loop_tower_ec[l]
    t_ret = t + model.loop_return_k_per_w[l] * q_in
    cap = (model.loop_fixed_w[l] + model.loop_coil_ec[l] * (t_ret - t_parent)
           + model.loop_drycooler_ec[l] * (t_ret - db) + model.loop_tower_ec[l] * (t_ret - wb))
    if model.loop_chiller_w[l] > 0:
        xc = (db - model.loop_chiller_rated_c[l]) / d.CHILLER_TEMP_RISE_COEF
        ch, slope = chiller_capacity_linear(float(model.loop_chiller_w[l]), xc, t,
                                            float(model.loop_chiller_rated_chw_c[l]),
                                            float(model.loop_chiller_rated_c[l]))
        cap += ch
        b += slope
    return float(cap), float(b)


def _initial_state(model: Model, u0, db0, wb0):
    """Steady start: servers at equilibrium for the first step's load; loops at setpoint, or, where
    the equipment cannot hold setpoint at the starting weather (e.g. dry coolers on a hot night),
    at the temperature where their full capacity equals their load. Returns server (die) temperatures,
    loop temperatures, server powers, air-side rack powers, the loops' actuator fractions and the
    servers' plate temperatures."""
    opt = model.options
    tl = model.loop_setpoint.copy()
    y0 = np.ones(model.m)
    p = server_power(model.p_idle, model.p_dyn, u0, 1.0)
    movers_in, _ = _mover_split(model)
    share = model.loop_server_share
    for _ in range(4):
        rack_p = model.rack_air_share @ p
        delta = model.recirc @ rack_p
        tc = _coolant(model, tl, delta)
        t = server_equilibrium(tc, u0, model.p_idle, model.p_dyn, model.r_th, model.t_slow,
                               opt.throttle_gain_per_k, opt.throttle_min_clock)
        s = np.clip(1.0 - opt.throttle_gain_per_k * (t - model.t_slow), opt.throttle_min_clock, 1.0)
        p = server_power(model.p_idle, model.p_dyn, u0, s)
        q = np.asarray(share @ p).ravel()
        q_in = np.zeros(model.m)
        child = np.zeros(model.m)
        for l in model.loop_order:  # children first: loads
            speed = min(max((q[l] + child[l]) / model.loop_rated_w[l], d.MOVER_MIN_SPEED), 1.0)
            q_in[l] = q[l] + child[l] + movers_in[l] * speed ** 3
            if model.loop_parent[l] >= 0:
                child[model.loop_parent[l]] += q_in[l]
        for l in reversed(model.loop_order):  # parents first: temperatures
            tp = tl[model.loop_parent[l]] if model.loop_parent[l] >= 0 else 0.0
            x = model.loop_setpoint[l]
            cap, b = loop_capacity(model, l, x, db0, wb0, tp, q_in[l])
            if cap >= q_in[l]:
                tl[l], y0[l] = x, (q_in[l] / cap if cap > 0 else 0.0)
                continue
            for _ in range(30):  # Newton on the (piecewise) linearised capacity: cap(T) = load
                if b <= 0:
                    break
                x_new = x + (q_in[l] - cap) / b
                cap, b = loop_capacity(model, l, x_new, db0, wb0, tp, q_in[l])
                if abs(x_new - x) < 1e-10:
                    x = x_new
                    break
                x = x_new
            tl[l], y0[l] = x, 1.0
    return t, tl, p, model.rack_air_share @ p, y0, t - model.r_die * p


def _coolant(model: Model, tl, delta_rack):
    lf = model.liquid_frac
    air = tl[model.air_loop] + model.height_factor * delta_rack[model.rack]
    return (1.0 - lf) * air + lf * tl[model.liq_loop]


class _BandKernel:
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
        sub = object.__new__(_BandKernel)
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


def _segments(idx):
    """``(ids, starts)`` if ``idx`` is non-decreasing (servers grouped), else None."""
    idx = np.asarray(idx)
    if idx.size == 0 or np.any(np.diff(idx) < 0):
        return None
    starts = np.flatnonzero(np.r_[True, np.diff(idx) != 0])
    return idx[starts], starts


class _Coupling:
    """Server ↔ loop and rack couplings, dense for small plans and indexed for large ones.

    ``coolant(tl, p)`` gives every server's coolant temperature [°C] from loop supply temperatures
    ``tl`` [°C] and server powers ``p`` [W] (recirculation); ``to_loops(q)`` sums per-server heat
    into loops; ``inlet(tl, p)`` the air inlet of every server [°C] (for air-cooled ones).
    """

    def __init__(self, model: Model, dense_limit: int = 1500):
        n, m = model.n, model.m
        lf = model.liquid_frac
        self.lf = lf
        self.air = np.maximum(model.air_loop, 0)
        self.liq = np.maximum(model.liq_loop, 0)
        self.rack = model.rack
        self.nr = len(model.rack_names)
        self.hf = model.height_factor
        self.air_w = 1.0 - lf
        self.any_liquid = bool(np.any(lf > 0))
        self.li = np.flatnonzero(lf > 0)  # servers with a liquid share (usually few)
        self.D = model.recirc.tocsr()
        self.has_recirc = self.D.nnz > 0
        self.dense = n <= dense_limit
        self.m = m
        self.air_sorted = _segments(self.air)
        self.rack_sorted = _segments(self.rack)
        if self.dense:
            W = np.zeros((m, n))
            idx = np.arange(n)
            np.add.at(W, (model.air_loop[model.air_loop >= 0], idx[model.air_loop >= 0]), self.air_w[model.air_loop >= 0])
            np.add.at(W, (model.liq_loop[model.liq_loop >= 0], idx[model.liq_loop >= 0]), lf[model.liq_loop >= 0])
            self.W = W
            self.WT = np.ascontiguousarray(W.T)
            if self.has_recirc:
                Dd = self.D.toarray()
                share = model.rack_air_share.toarray()  # [racks × n] with (1 − lf)
                self.Rs_inlet = (self.hf[:, None] * Dd[self.rack, :]) @ share  # inlet rise per W [K/W]
                self.Rs = self.air_w[:, None] * self.Rs_inlet
            else:
                self.Rs = self.Rs_inlet = None

    def use_step(self, dt: float) -> None:
        """Pre-scale the dense matrices so the hot loop can pass step energies [J] directly."""
        if self.dense:
            self.WT_e = self.WT / dt
            self.Rs_e = self.Rs / dt if self.Rs is not None else None

    def coolant_e(self, tl, e):
        """:meth:`coolant` from step energies ``e`` [J] (dense plans)."""
        tc = tl @ self.W
        if self.Rs_e is not None:
            tc += self.Rs_e @ e
        return tc

    def coolant(self, tl, p, rack_p=None):
        """``rack_p``: air-side power per rack [W] if the caller has it (saves a pass over servers)."""
        if self.dense:
            tc = tl @ self.W
            if self.Rs is not None:
                tc = tc + self.Rs @ p
            return tc
        tc = tl[self.air]
        if self.has_recirc:
            if rack_p is None:
                w = p if self.li.size == 0 else self.air_w * p
                if self.rack_sorted is not None:
                    ids, starts = self.rack_sorted
                    rack_p = np.zeros(self.nr)
                    rack_p[ids] = np.add.reduceat(w, starts)
                else:
                    rack_p = np.bincount(self.rack, weights=w, minlength=self.nr)
            delta = self.D @ rack_p
            tc += self.hf * delta[self.rack]
        if self.li.size:
            li = self.li
            tc[li] = self.air_w[li] * tc[li] + self.lf[li] * tl[self.liq[li]]
        return tc

    def inlet(self, tl, p):
        t = tl[self.air]
        if self.has_recirc:
            if self.dense:
                t = t + self.Rs_inlet @ p
            else:
                delta = self.D @ np.bincount(self.rack, weights=self.air_w * p, minlength=self.nr)
                t = t + self.hf * delta[self.rack]
        return t

    def to_loops(self, q):
        if self.dense:
            return q @ self.WT
        if self.air_sorted is not None:  # servers grouped by loop: segment sums beat bincount
            ids, starts = self.air_sorted
            out = np.zeros(self.m)
            out[ids] = np.add.reduceat(q, starts)
        else:
            out = np.bincount(self.air, weights=q, minlength=self.m)
        if self.li.size:
            li = self.li
            ql = self.lf[li] * q[li]
            out -= np.bincount(self.air[li], weights=ql, minlength=self.m)
            out += np.bincount(self.liq[li], weights=ql, minlength=self.m)
        return out


def run_fast(model: Model, amb_db, amb_wb, dt: float, n_steps: int, *, control: str, record, start,
             prices, demand_charge, progress=None, cancel=None) -> SimulationResult:
    """Integrate ``n_steps`` of ``dt`` [s]; see the module docstring. Returns a :class:`SimulationResult`."""
    wall0 = time.perf_counter()
    opt = model.options
    gain, smin, hyst = opt.throttle_gain_per_k, opt.throttle_min_clock, opt.throttle_hysteresis_k
    eff = opt.power_conversion_efficiency
    n, m = model.n, model.m
    predictive = control == "predictive"
    record_servers = "server" in record
    cpl = _Coupling(model)
    cpl.use_step(dt)
    coolant, to_loops = cpl.coolant, cpl.to_loops
    dense = cpl.dense

    # ---- per-server constants
    p_idle, p_dyn, r_th, c_th, t_slow = model.p_idle, model.p_dyn, model.r_th, model.c_th, model.t_slow
    r_die, r_plate, c_die, c_plate = model.r_die, model.r_plate, model.c_die, model.c_plate
    # full-clock propagator e^{A dt} of the die/plate pair, minus the identity on the diagonal
    (f11, f12, f21, f22), _ = pair_propagator(0.0, r_die, r_plate, c_die, c_plate, dt)
    F1 = np.vstack((f11 - 1.0, f22 - 1.0))  # diagonal of e^{A dt} − I, rows die / plate
    F2 = np.vstack((f12, f21))  # off-diagonal, applied to the swapped rows
    C2 = np.vstack((c_die, c_plate))
    m_tc = m_q = None
    if dense:
        rs_t = cpl.Rs_e.T if cpl.Rs_e is not None else np.zeros((n, n))
        m_tc = np.ascontiguousarray(np.vstack((1.5 * cpl.W, -0.5 * cpl.W, rs_t)))
        m_q = np.ascontiguousarray(np.vstack((cpl.WT_e, -c_die[:, None] * cpl.WT_e, -c_plate[:, None] * cpl.WT_e)))
    gpus = model.gpus
    total_gpus = float(gpus.sum()) or 1.0
    is_air = model.air_loop >= 0
    any_air = bool(np.any(is_air))
    rack_of = model.rack

    # ---- per-loop constants as Python floats (the loop part is scalar code)
    order = list(model.loop_order)
    parent = [int(x) for x in model.loop_parent]
    lc = model.loop_c.tolist()
    tset = model.loop_setpoint.tolist()
    kc = model.loop_gain.tolist()
    coil = model.loop_coil_ec.tolist()
    ch_w = model.loop_chiller_w.tolist()
    dc_ec = model.loop_drycooler_ec.tolist()
    ct_ec = model.loop_tower_ec.tolist()
    ret_k = model.loop_return_k_per_w.tolist()
    rated = model.loop_rated_w.tolist()
    movers_in, movers_out = _mover_split(model)
    ch_cop = model.loop_chiller_cop.tolist()
    ch_rated_c = model.loop_chiller_rated_c.tolist()
    ch_chw = model.loop_chiller_rated_chw_c.tolist()
    chiller_loops = [l for l in range(m) if ch_w[l] > 0]
    ch_kern = [chiller_scalar_kernels(ch_w[l], ch_cop[l], ch_rated_c[l], ch_chw[l]) if ch_w[l] > 0 else (None, None)
               for l in range(m)]
    ch_cap = [x[0] for x in ch_kern]
    ch_pow = [x[1] for x in ch_kern]
    it_facing = [l for l in range(m) if model.loop_medium[l] in ("air", "liquid")] or list(range(m))
    min_speed = d.MOVER_MIN_SPEED
    # ambient at step midpoints (linear between step boundaries)
    amb_mid_db = 0.5 * (amb_db[:-1] + amb_db[1:])
    amb_mid_wb = 0.5 * (amb_wb[:-1] + amb_wb[1:])
    # outdoor part of each loop's capacity a + b·T, without the chillers (which depend on the loop
    # temperature too): a = fixed − UA_dc·T_db − UA_ct·T_wb, for every step (scalar path: few loops)
    a_out = xc_out = None
    if m <= SCALAR_LOOP_LIMIT:
        a_out = (model.loop_fixed_w[None, :] - model.loop_drycooler_ec[None, :] * amb_mid_db[:, None]
                 - model.loop_tower_ec[None, :] * amb_mid_wb[:, None])
        # chiller condenser part of the EnergyPlus delta-T per step, (T_db − T_rated)/TempRiseCoef [K]
        xc_out = (amb_mid_db[:, None] - model.loop_chiller_rated_c[None, :]) / d.CHILLER_TEMP_RISE_COEF
    b_caps = [coil[l] + dc_ec[l] + ct_ec[l] for l in range(m)]
    # the return term of the exchangers, ε·C_min · q_in/(ρ c_p V̇) per W taken in [-]
    ret_gain = [b_caps[l] * ret_k[l] for l in range(m)]
    db_list = amb_mid_db.tolist()
    wb_list = amb_mid_wb.tolist()

    # forecasts for predictive control: IT power downstream of each loop at full clock
    share = model.loop_server_share.tocsr()
    down_share = sparse.csr_matrix(model.loop_downstream) @ share  # [m × n]
    forecast_base = np.asarray(down_share @ p_idle).ravel()
    forecast_w = np.asarray((down_share @ sparse.diags(p_dyn) @ model.placement.matrix).todense())
    lookahead = (model.loop_dead + model.loop_tau).tolist()

    # ---- initial state
    chunk_steps = int(min(512, max(16, CHUNK_CELLS // max(n, 1))))
    rack_sums = (not cpl.dense) and cpl.has_recirc
    chunk = _Chunk(model, 0, min(chunk_steps, n_steps), dt, lookahead, predictive, forecast_w, forecast_base,
                   rack_sums)
    t_srv, tl_arr, p_prev, _, y0, t_plt = _initial_state(model, chunk.u[0], amb_db[0], amb_wb[0])
    X_a = np.vstack((t_srv, t_plt))
    X_b = np.empty_like(X_a)
    y2, dX_buf, tmp2 = (np.empty_like(X_a) for _ in range(3))
    q_buf = np.empty(n)
    X = X_a
    t_srv, t_plt = X[0], X[1]
    tl = tl_arr.tolist()
    q_srv0 = to_loops(p_prev)
    mover_heat = [0.0] * m
    child = [0.0] * m
    for l in order:
        q = q_srv0[l] + child[l]
        speed = min(max(q / rated[l], min_speed), 1.0)
        mover_heat[l] = movers_in[l] * speed ** 3
        q += mover_heat[l]
        if parent[l] >= 0:
            child[parent[l]] += q
    acts = [FopdtActuator(float(model.loop_dead[l]), float(model.loop_tau[l]), dt, float(y0[l])) for l in range(m)]
    tl_np = np.array(tl)
    tl_prev = tl[:]
    bank = None
    if m > SCALAR_LOOP_LIMIT:
        bank = VectorLoopBank(model, dt, tl, y0, mover_heat, movers_in, movers_out)
        tl_prev = tl_np
    energy0 = float(np.dot(c_die, t_srv)) + float(np.dot(c_plate, t_plt)) + sum(c * t for c, t in zip(lc, tl))

    # ---- accumulators
    e_it = e_cool = e_mover_heat = e_rejected = 0.0
    e_by_hour = [0.0] * 24
    e_it_by_hour = [0.0] * 24
    tz = model.plan.site.timezone
    hours = local_hour(start, np.arange(n_steps) * dt, tz).tolist()  # daylight saving included
    peak_it = peak_fac = 0.0
    max_thr_frac = 0.0
    events = 0.0
    thr_gpu_s = 0.0
    lost_gpu_s = 0.0
    in_event = np.zeros(n, dtype=bool)
    ever_throttled = np.zeros(n, dtype=bool)  # servers with at least one event (GPUs throttled at all)
    n_in_event = 0
    srv_max_t = t_srv.copy()
    srv_max_in = np.where(is_air, cpl.inlet(np.asarray(tl), p_prev), -np.inf) if any_air else np.full(n, -np.inf)
    srv_thr_s = np.zeros(n)

    # minute aggregation
    minute_len = max(60.0, dt)
    mins: dict[str, list] = {k: [] for k in ("time_s", "ambient_c", "it_kw", "cooling_kw", "facility_kw",
                                             "supply_temp_c", "max_gpu_temp_c", "throttled_fraction")}
    loop_min: list = []
    srv_hist_t: list = []
    srv_hist_p: list = []
    a_db = a_it = a_cool = a_fac = a_sup = a_thr = a_cnt = 0.0
    a_loop = np.zeros(m)
    a_loop_l = [0.0] * m
    acc_max_t = -np.inf
    next_minute_end = minute_len
    cur_min_start = 0.0
    next_progress = 0
    cancelled = False
    steps_done = 0
    chunk_k0 = 0
    p_mean = p_prev
    e_prev = p_prev * dt
    t_slow_min = float(t_slow.min())
    inv_dt = 1.0 / dt
    vmax, vsum = np.maximum.reduce, np.add.reduce
    consts = np.vstack([p_idle, p_dyn, r_die, r_plate, c_die, c_plate, t_slow])  # one gather for the hot subset
    empty_idx = np.zeros(0, dtype=int)
    band = _BandKernel(model, dt, gain, smin)
    sub_band = sub_band_consts = sub_band_key = sub_band_chunk = sub_last = None
    a_rows = a_out[:chunk.n].tolist() if a_out is not None else None
    xc_rows = xc_out[:chunk.n].tolist() if xc_out is not None else None
    it_facing_list = list(it_facing)
    it_single, it0 = len(it_facing_list) == 1, it_facing_list[0]
    it_facing = np.array(it_facing)
    t_event_end = t_slow - hyst  # a throttle event ends below this [°C]
    t_event_end_max = float(t_event_end.max())

    vmin = np.minimum.reduce

    def tmin_event_check(t):  # any server cool enough to end an event?
        return vmin(t) < t_event_end_max
    prev_rack_p = None

    for k in range(n_steps):
        kk = k - chunk_k0
        if cancel is not None and not (k & CANCEL_EVERY_MASK) and cancel():
            cancelled = True
            break
        if kk >= chunk.n:
            chunk_k0 = k
            kk = 0
            chunk = _Chunk(model, k, min(k + chunk_steps, n_steps), dt, lookahead, predictive,
                           forecast_w, forecast_base, rack_sums)
            if a_out is not None:
                a_rows = a_out[k:k + chunk.n].tolist()
                xc_rows = xc_out[k:k + chunk.n].tolist()
        db = db_list[k]
        wb = wb_list[k]
        sub_prev, sub_last = sub_last, None  # the hot few's band-step state, valid for one step only

        # 1-2. servers: exponential shortcut, exact piecewise path for the hot ones
        # loop temperatures at the step midpoint, extrapolated from the last step (second order in
        # time for the explicit server ↔ loop coupling; halves the lag of servers behind fast loops)
        if dense:  # [T_loop, T_loop,prev, E_prev] @ [1.5 W; −0.5 W; R_s/dt]: midpoint supply + recirculation
            if bank is None:
                tc = np.concatenate((tl, tl_prev, e_prev)) @ m_tc
                tl_prev = tl[:]
            else:
                tc = np.concatenate((tl_np, tl_prev, e_prev)) @ m_tc
                tl_prev = tl_np
        else:
            if bank is None:
                tl_mid = np.array([1.5 * x - 0.5 * y for x, y in zip(tl, tl_prev)])
                tl_prev = tl[:]
            else:
                tl_mid = 1.5 * tl_np - 0.5 * tl_prev
                tl_prev = tl_np
            tc = coolant(tl_mid, p_mean, prev_rack_p)
        # full-clock pair, exact: x(dt) = x_eq + e^{A dt}(x0 − x_eq), e^{A dt} per server precomputed
        # (die and plate stacked as rows of X: one numpy op per update for both nodes)
        # (preallocated buffers: no allocation per step; X and X_new alternate)
        np.subtract(X, tc, out=y2)
        y2 -= chunk.rp2[kk]
        dX = np.multiply(F1, y2, out=dX_buf)
        dX += np.multiply(F2, y2[::-1], out=tmp2)
        X_new = X_b if X is X_a else X_a
        np.add(X, dX, out=X_new)
        t_new = X_new[0]
        tp_new = X_new[1]
        energy = chunk.e[kk]
        throttled_step = False
        step_thr_gpu_s = 0.0
        tmax = vmax(t_new)
        if tmax > t_slow_min or n_in_event:
            all_events_banded = False  # True when every GPU in an event is known to sit in the band
            hot_mask = (t_new > t_slow) | (t_srv > t_slow)
            n_hot = int(np.count_nonzero(hot_mask))
            hot = np.flatnonzero(hot_mask) if 0 < n_hot < n else empty_idx
            throttled_step = n_hot > 0
            if n_hot == n:  # everything is hot: skip the gathers and scatters
                u = chunk.u[kk]
                if chunk.u_const:
                    if chunk.band_cache is None:
                        chunk.band_cache = band.constants(chunk.u[0])
                    in_band = band.step(t_srv, t_plt, tc, chunk.band_cache)
                else:
                    in_band = band.step(t_srv, t_plt, tc, band.constants(u))
                if in_band is not None:  # the steady throttled state: all in the band all step
                    all_events_banded = True
                    t_new, tp_new, energy, lost_h = in_band
                    dX = None
                    thr_h = np.full(n, dt)
                    step_thr_gpu_s = total_gpus * dt
                else:
                    t_new, tp_new, energy, thr_h, lost_h = server_pair_step(
                        t_srv, t_plt, tc, u, p_idle, p_dyn, r_die, r_plate, c_die, c_plate, t_slow, gain, smin, dt)
                    dX = None
                    step_thr_gpu_s = float(np.dot(gpus, thr_h))
                thr_gpu_s += step_thr_gpu_s
                lost_gpu_s += float(np.dot(gpus * u, lost_h))
                srv_thr_s += thr_h
                if n_in_event < n:
                    starts = np.flatnonzero(((t_new > t_slow) | (thr_h > 0.0)) & ~in_event)
                    if starts.size:
                        events += float(gpus[starts].sum())
                        in_event[starts] = True
                        ever_throttled[starts] = True
                        n_in_event += starts.size
                tmax = vmax(t_new)
            elif hot.size:
                energy = energy.copy()
                u = chunk.u[kk]
                in_band = None
                band_few = False
                if chunk.u_const:  # steady throttled few (e.g. liquid racks on a hot afternoon): band kernel
                    key = hot.tobytes()
                    if sub_band_key != key or sub_band_chunk is not chunk:
                        sub_uh = u[hot]
                        sub_band = band.subset(hot)
                        sub_band_consts = sub_band.constants(sub_uh)
                        sub_band_key, sub_band_chunk = key, chunk
                        sub_gh = gpus[hot]
                        sub_gsum = float(sub_gh.sum())
                        sub_gu = sub_gh * sub_uh
                    if sub_prev is not None and sub_prev[0] == key:  # same few as last step's band step
                        in_band = sub_band.step(sub_prev[1], sub_prev[2], tc[hot], sub_band_consts)
                    else:
                        in_band = sub_band.step(t_srv[hot], t_plt[hot], tc[hot], sub_band_consts)
                if in_band is not None:  # all of them above slowdown all step
                    th, tph, eh, lost_h = in_band
                    sub_last = (key, th, tph)
                    band_few = True
                    step_thr_gpu_s = dt * sub_gsum
                    lost_gpu_s += float(np.dot(sub_gu, lost_h))
                    srv_thr_s[hot] += dt
                    new_ev = ~in_event[hot]
                else:
                    uh = u[hot]
                    g_h = gpus[hot]
                    pi_h, pd_h, rd_h, rp_h, cd_h, cp_h, ts_h = consts[:, hot]
                    th, tph, eh, thr_h, lost_h = server_pair_step(t_srv[hot], t_plt[hot], tc[hot], uh, pi_h, pd_h,
                                                                  rd_h, rp_h, cd_h, cp_h, ts_h, gain, smin, dt)
                    step_thr_gpu_s = float(np.dot(g_h, thr_h))
                    lost_gpu_s += float(np.dot(g_h * uh, lost_h))
                    srv_thr_s[hot] += thr_h
                    new_ev = ((th > ts_h) | (thr_h > 0.0)) & ~in_event[hot]
                t_new[hot] = th  # (rows of X_new)
                tp_new[hot] = tph
                dX = X_new - X
                energy[hot] = eh
                thr_gpu_s += step_thr_gpu_s
                if new_ev.any():
                    starts = hot[new_ev]
                    events += float(gpus[starts].sum())
                    in_event[starts] = True
                    ever_throttled[starts] = True
                    n_in_event += starts.size
                # the band few are all in an event; if they are all the events, none can end
                all_events_banded = band_few and n_in_event == hot.size
                tmax = vmax(t_new)
            if n_in_event and not all_events_banded and tmin_event_check(t_new):
                ends = in_event & (t_new < t_event_end)
                ne = int(np.count_nonzero(ends))
                if ne:
                    in_event[ends] = False
                    n_in_event -= ne
        if dX is None:  # all servers took the piecewise / band path: new arrays
            X_new[0] = t_new
            X_new[1] = tp_new
            t_new, tp_new = X_new[0], X_new[1]
            dX = X_new - X
        # heat to coolant over the step, E − C_d ΔT_d − C_p ΔT_p [J], summed into loops [W]
        if dense:  # [E, ΔT_d, ΔT_p] @ [W/dt; −C_d W/dt; −C_p W/dt] in one product
            q_loop = np.concatenate((energy, dX.ravel())) @ m_q
        else:
            cdx = np.multiply(C2, dX, out=tmp2)
            q_srv = np.subtract(energy, cdx[0], out=q_buf)
            q_srv -= cdx[1]
            q_loop = to_loops(q_srv) * inv_dt
        prev_rack_p = chunk.rack_p[kk] if (rack_sums and not throttled_step) else None
        e_step = vsum(energy)
        e_prev = energy
        if not dense:
            p_mean = energy * inv_dt
        X = X_new
        t_srv = t_new
        t_plt = tp_new

        # 3. loops, children first
        fc = chunk.forecast[kk] if predictive else None
        if bank is not None:
            e_rej_step, mover_elec, chiller_elec, mh_sum = bank.step(q_loop, db, wb, fc)
            e_mover_heat += mh_sum
            tl_np = bank.tl
        else:
            a_row = a_rows[kk]
            xc_row = xc_rows[kk]
            child = [0.0] * m
            e_rej_step = 0.0
            mover_elec = 0.0
            chiller_elec = 0.0
            for l in order:
                mh = mover_heat[l]
                q_in = q_loop[l] + mh + child[l]
                t0 = tl[l]
                a_cap = a_row[l]
                b_cap = b_caps[l]
                p = parent[l]
                if p >= 0:
                    a_cap -= coil[l] * tl[p]
                a_cap += ret_gain[l] * q_in  # exchangers see the return, T + q_in/(ρ c_p V̇)
                if ch_w[l] > 0.0:  # chiller curve linearised at the step's start temperature
                    cap_ch, slope = ch_cap[l](xc_row[l], t0)
                    a_cap += cap_ch - slope * t0
                    b_cap += slope
                cap_now = a_cap + b_cap * t0
                target = (q_in if fc is None else fc[l] + mh) + kc[l] * (t0 - tset[l])
                if target <= 0.0:
                    cmd = 0.0
                elif target >= cap_now:
                    cmd = 1.0
                else:
                    cmd = target / cap_now
                act = acts[l]
                yl = act.y
                c = lc[l]
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
                speed = deliv / rated[l]
                speed = min_speed if speed < min_speed else (1.0 if speed > 1.0 else speed)
                s3 = speed * speed * speed
                mover_heat[l] = movers_in[l] * s3
                mover_elec += (movers_in[l] + movers_out[l]) * s3
                e_mover_heat += mh
                if p >= 0:
                    child[p] += deliv
                else:
                    e_rej_step += deliv
                if ch_w[l] > 0.0:
                    t_ret = t1 + ret_k[l] * q_in
                    free = dc_ec[l] * (t_ret - db) + ct_ec[l] * (t_ret - wb)
                    load = deliv - (free if free > 0.0 else 0.0)
                    if load > 0.0:
                        chiller_elec += ch_pow[l](load, db, t1)

        # 4. aggregates
        it_w = e_step / dt
        cool_w = mover_elec + chiller_elec
        fac_w = it_w / eff + cool_w
        e_it += e_step
        e_cool += cool_w
        e_rejected += e_rej_step
        h = hours[k]
        e_by_hour[h] += fac_w
        e_it_by_hour[h] += it_w
        if it_w > peak_it:
            peak_it = it_w
        if fac_w > peak_fac:
            peak_fac = fac_w
        thr_frac = step_thr_gpu_s / (total_gpus * dt)
        if thr_frac > max_thr_frac:
            max_thr_frac = thr_frac
        np.maximum(srv_max_t, t_srv, out=srv_max_t)
        if tmax > acc_max_t:
            acc_max_t = tmax
        a_db += db
        a_it += it_w
        a_cool += cool_w
        a_fac += fac_w
        if bank is None:
            a_sup += tl[it0] if it_single else max([tl[i] for i in it_facing_list])
        else:
            a_sup += vmax(tl_np[it_facing])
        a_thr += thr_frac
        a_cnt += 1.0
        if bank is None:
            for i in range(m):
                a_loop_l[i] += tl[i]
        else:
            a_loop += tl_np
        steps_done = k + 1
        t_end = steps_done * dt
        if t_end >= next_minute_end - 1e-9 or steps_done == n_steps:
            c = a_cnt
            mins["time_s"].append(cur_min_start)
            mins["ambient_c"].append(a_db / c)
            mins["it_kw"].append(a_it / c / 1e3)
            mins["cooling_kw"].append(a_cool / c / 1e3)
            mins["facility_kw"].append(a_fac / c / 1e3)
            mins["supply_temp_c"].append(a_sup / c)
            mins["max_gpu_temp_c"].append(acc_max_t)
            mins["throttled_fraction"].append(a_thr / c)
            loop_min.append((a_loop if bank is not None else np.array(a_loop_l)) / c)
            if any_air:
                p_mean = energy * inv_dt
                np.maximum(srv_max_in, cpl.inlet(tl_np if bank is not None else np.array(tl), p_mean),
                           out=srv_max_in, where=is_air)
            if record_servers:
                srv_hist_t.append(t_srv.copy())
                srv_hist_p.append(energy * (inv_dt / 1e3))
            a_db = a_it = a_cool = a_fac = a_sup = a_thr = a_cnt = 0.0
            a_loop = np.zeros(m)
            a_loop_l = [0.0] * m
            acc_max_t = -np.inf
            cur_min_start = next_minute_end
            while next_minute_end <= t_end + 1e-9:
                next_minute_end += minute_len
        if progress is not None and k >= next_progress:
            progress(k / n_steps)
            next_progress = k + max(n_steps // 100, 1)

    if bank is None:
        tl_np = np.array(tl)
    e_mover_heat *= dt
    e_rejected *= dt
    e_cool *= dt
    e_by_hour = np.asarray(e_by_hour) * dt
    e_it_by_hour = np.asarray(e_it_by_hour) * dt
    energy1 = float(np.dot(c_die, t_srv)) + float(np.dot(c_plate, t_plt)) + float(np.dot(model.loop_c, tl_np))
    res = SimulationResult(start=start, timezone=tz)
    res.servers, res.gpus = n, int(gpus.sum())
    res.steps, res.step_s, res.horizon_s = steps_done, dt, steps_done * dt
    res.control, res.integrator, res.cancelled = control, "fast", cancelled
    res.it_energy_kwh = e_it / 3.6e6
    res.cooling_energy_kwh = e_cool / 3.6e6
    res.facility_energy_kwh = (e_it / eff + e_cool) / 3.6e6
    res.pue = pue(res.facility_energy_kwh, res.it_energy_kwh)
    res.peak_it_kw, res.peak_facility_kw = peak_it / 1e3, peak_fac / 1e3
    res.throttle_events = int(round(events))
    res.throttled_gpus = int(round(float(gpus[ever_throttled].sum())))
    res.throttled_gpu_hours = thr_gpu_s / 3600.0
    res.lost_gpu_hours = lost_gpu_s / 3600.0
    res.max_throttled_fraction = max_thr_frac
    res.heat_rejected_kwh = e_rejected / 3.6e6
    res.stored_energy_change_kwh = (energy1 - energy0) / 3.6e6
    res.mover_heat_kwh = e_mover_heat / 3.6e6
    for key in ("time_s", "ambient_c", "it_kw", "cooling_kw", "facility_kw", "supply_temp_c",
                "throttled_fraction"):
        setattr(res, key, np.asarray(mins[key], float))
    res.max_gpu_temp_c_series = np.asarray(mins["max_gpu_temp_c"], float)
    res.max_gpu_temp_c = float(max(srv_max_t.max(), res.max_gpu_temp_c_series.max(initial=-np.inf)))
    res.loop_supply_c = np.asarray(loop_min, float).reshape(len(loop_min), m)
    res.loop_names = list(model.loop_names)
    res.rack_names = list(model.rack_names)
    nr = len(model.rack_names)
    rin = np.full(nr, -np.inf)
    np.maximum.at(rin, rack_of, srv_max_in)
    res.rack_max_inlet_c = np.where(np.isfinite(rin), rin, np.nan)
    res.max_inlet_temp_c = float(np.nanmax(res.rack_max_inlet_c)) if np.any(np.isfinite(rin)) else float("nan")
    rmax = np.full(nr, -np.inf)
    np.maximum.at(rmax, rack_of, srv_max_t)
    res.rack_max_gpu_c = rmax
    res.rack_throttled_gpu_hours = np.bincount(rack_of, weights=srv_thr_s * gpus, minlength=nr) / 3600.0
    res.server_names = list(model.server_names)
    res.final_server_temp_c = t_srv.copy()
    res.final_loop_temp_c = np.array(tl_np)
    if record_servers:
        res.server_temp_c = np.asarray(srv_hist_t)
        res.server_power_kw = np.asarray(srv_hist_p)
    # cost
    res.energy_cost_usd = energy_cost_usd(e_by_hour, prices)
    res.it_cost_usd = energy_cost_usd(e_it_by_hour, prices)
    # quarter hours stay clock-aligned across a daylight-saving change (it shifts by whole hours)
    offset = start.minute * 60 + start.second
    peaks = peak_15min_kw(res.time_s, res.facility_kw, offset)
    res.peak_15min_facility_kw = float(peaks.max()) if peaks.size else 0.0
    res.demand_charge_usd = demand_charge_usd(res.time_s, res.facility_kw, month_index(start, res.time_s, tz),
                                              offset, demand_charge,
                                              month_fractions(start, res.time_s, minute_len, tz))
    res.cost_usd = res.energy_cost_usd + res.demand_charge_usd
    if progress is not None:
        progress(1.0)
    res.wall_time_s = time.perf_counter() - wall0
    return res


def _mover_split(model: Model):
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
