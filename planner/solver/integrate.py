"""Fast fixed-step integrator: numpy over servers, exact per-step updates, streaming aggregates.

System, stepping and result are kept apart (as python-control does): the compiled
:class:`~.model.Model` is the system; :func:`run_fast` is the stepping; :class:`.recorder.Recorder`
builds the :class:`~.results.SimulationResult`. Per step ``[t_k, t_k + dt)`` (inputs held over the
step, zero-order hold):

1. coolant temperature of every server from its loops' supply temperatures and the recirculation
   ``D·P`` of the previous step's rack powers (:class:`.coupling.Coupling`);
2. every server's die/plate pair advances exactly (:class:`.serverstep.ServerBank`: the
   precomputed full-clock propagator for cool servers, the exact piecewise path for hot ones;
   throttling statistics);
3. the heat each server gave its coolant, ``E − C_d ΔT_d − C_p ΔT_p``, is summed into its loops (exact energy
   bookkeeping: nothing is created or lost between servers and loops);
4. loops advance children-first (:mod:`.loopbank`: controllers, exact loop temperature step, FOPDT
   actuators, fans/pumps, chillers), and what a loop delivers enters its parent loop;
5. the recorder updates summary, per-minute and per-rack aggregates in place, so memory does not
   grow with the horizon except for the per-minute series.

Coupling between servers and loops is explicit over one step (loop temperatures are held while
servers step); :func:`.stability.max_stable_step` gives the limit this imposes and
:func:`~.run.simulate` refuses larger steps.
"""
from __future__ import annotations

import time

import numpy as np
from scipy import sparse

from . import defaults as d
from .coupling import Coupling
from .heat_rejection import chiller_capacity_linear
from .forecast import forecast_job_utilization_step_means
from .loads import job_utilization_step_means
from .loopbank import initial_mover_heat, loop_bank
from .model import Model
from .power_cap import PowerCap
from .recorder import Recorder
from .results import SimulationResult
from .serverstep import ServerBank
from .thermal import piece_power_fraction, server_equilibrium_pieces, server_power

CHUNK_CELLS = 2_000_000  # server-steps of utilisation precomputed at once (~16 MB per array)
CANCEL_EVERY_MASK = 15  # poll ``cancel`` every 16 steps (a few ms even on 10,000 servers)


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
            # the rise of each loop's IT heat the controller foresees one loop-lag ahead, from a
            # forecast with error (.forecast): max(forecast(t + θ) − forecast(t), 0), fed forward on top
            # of the heat measured now (a steady error of the forecast then leaves no offset). Rises
            # only: cooling is added ahead of a burst, never taken away ahead of a stall (the load is
            # still there until it drops; the measured heat follows the drop)
            err = model.options.forecast_error
            now = forecast_job_utilization_step_means(model.placement, t0, dt, err)
            fc = np.empty((k1 - k0, model.m))
            for l in range(model.m):
                ujl = forecast_job_utilization_step_means(model.placement, t0 + lookahead[l], dt, err)
                fc[:, l] = np.maximum(forecast_w[l] @ (ujl - now), 0.0)
            self.forecast = fc


def loop_capacity(model: Model, l: int, t: float, db: float, wb: float, t_parent: float,
                  q_in: float = 0.0) -> tuple[float, float]:
    """Capacity [W] of loop ``l``'s equipment at supply temperature ``t`` [°C] and its slope [W/K].

    ``fixed + εC_coil (T_ret − T_parent) + εC_dc (T_ret − T_db) + εC_ct (T_ret − T_wb) + chillers(T_db, T)``
    with the return ``T_ret = T + q_in / (ρ c_p V̇)`` for the heat ``q_in`` [W] the loop takes in
    (:mod:`.heat_rejection`, ε-NTU at fixed flows); the chiller part is the exact curve on the
    leaving (supply) water, linearised at ``t``. In a loop with chillers a dry cooler / tower is a
    water-side economiser, bypassed while the return is not warmer than the dry / wet bulb
    (:mod:`.loopbank`).
    """
    t_ret = t + model.loop_return_k_per_w[l] * q_in
    dc, ct = model.loop_drycooler_ec[l], model.loop_tower_ec[l]
    if model.loop_chiller_w[l] > 0:
        dc = dc if t_ret > db else 0.0
        ct = ct if t_ret > wb else 0.0
    b = model.loop_coil_ec[l] + dc + ct
    cap = (model.loop_fixed_w[l] + model.loop_coil_ec[l] * (t_ret - t_parent) + dc * (t_ret - db)
           + ct * (t_ret - wb))
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
    share = model.loop_server_share
    for _ in range(4):
        rack_p = model.rack_air_share @ p
        delta = model.recirc @ rack_p
        tc = _coolant(model, tl, delta)
        kinks, pa, pb, _, _ = model.gpu_tables(u0)
        t = server_equilibrium_pieces(tc, u0, model.p_idle, model.p_dyn, model.r_th, kinks, pa, pb)
        p = server_power(model.p_idle, model.p_dyn, u0, piece_power_fraction(t, kinks, pa, pb))
        q = np.asarray(share @ p).ravel()
        q_in = np.zeros(model.m)
        child = np.zeros(model.m)
        mh = initial_mover_heat(model, q)
        for l in model.loop_order:  # children first: loads
            q_in[l] = q[l] + child[l] + mh[l]
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

def forecast_weights(model: Model):
    """Predictive control's forecast of each loop's IT heat at full clock: ``base + W @ u_jobs``
    [W] (servers downstream of the loop)."""
    share = model.loop_server_share.tocsr()
    down_share = sparse.csr_matrix(model.loop_downstream) @ share  # [m × n]
    forecast_base = np.asarray(down_share @ model.p_idle).ravel()
    forecast_w = np.asarray((down_share @ sparse.diags(model.p_dyn) @ model.placement.matrix).todense())
    return forecast_w, forecast_base


def run_fast(model: Model, amb_db, amb_wb, dt: float, n_steps: int, *, control: str, record, start,
             prices, demand_charge, progress=None, cancel=None) -> SimulationResult:
    """Integrate ``n_steps`` of ``dt`` [s]; see the module docstring. Returns a :class:`SimulationResult`."""
    wall0 = time.perf_counter()
    predictive = control in ("predictive", "predictive-throttle")
    cpl = Coupling(model)
    cpl.use_step(dt, model.c_die, model.c_plate)
    dense = cpl.dense
    # ambient at step midpoints (linear between step boundaries)
    db_list = (0.5 * (amb_db[:-1] + amb_db[1:])).tolist()
    wb_list = (0.5 * (amb_wb[:-1] + amb_wb[1:])).tolist()
    forecast_w, forecast_base = forecast_weights(model)
    lookahead = (model.loop_dead + model.loop_tau).tolist()

    # ---- initial state
    chunk_steps = int(min(512, max(16, CHUNK_CELLS // max(model.n, 1))))
    rack_sums = (not dense) and cpl.has_recirc
    chunk = _Chunk(model, 0, min(chunk_steps, n_steps), dt, lookahead, predictive, forecast_w, forecast_base,
                   rack_sums)
    t_srv, tl0, p_prev, _, y0, t_plt = _initial_state(model, chunk.u[0], amb_db[0], amb_wb[0])
    servers = ServerBank(model, dt, t_srv, t_plt)
    bank = loop_bank(model, dt, tl0.tolist(), y0, cpl.to_loops(p_prev))
    rec = Recorder(model, dt, n_steps, start, record, cpl, bank.scalar, bank.tl, p_prev, servers.t_hottest_gpu)
    rec.on_minute = servers.close_minute  # throttle episodes are kept on the minute record
    cap = PowerCap(model, dt, n_steps) if control == "predictive-throttle" else None
    energy0 = (float(np.dot(model.c_die, t_srv)) + float(np.dot(model.c_plate, t_plt))
               + sum(c * t for c, t in zip(model.loop_c.tolist(), bank.tl)))
    tl = tl_prev = bank.tl
    p_mean = p_prev
    e_prev = p_prev * dt
    prev_rack_p = None
    inv_dt = 1.0 / dt
    vsum = np.add.reduce
    next_progress = 0
    cancelled = False
    steps_done = 0
    chunk_k0 = 0

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
        db = db_list[k]
        # 1-2. servers at the coolant of the step (loop supplies extrapolated to the midpoint)
        tc = cpl.coolant_mid(tl, tl_prev, e_prev, p_mean, prev_rack_p)
        u_cap = cap.caps(k, chunk.u[kk], tl, bank.lines) if cap is not None else None
        energy, dX, tmax, throttled_step, step_thr_gpu_s = servers.step(tc, chunk, kk, u_cap)
        # 3. heat to the loops
        q_loop = cpl.heat_to_loops(energy, dX)
        prev_rack_p = chunk.rack_p[kk] if (rack_sums and not throttled_step) else None
        if u_cap is not None:
            prev_rack_p = None
        e_step = vsum(energy)
        e_prev = energy
        if not dense:
            p_mean = energy * inv_dt
        # 4. loops, children first
        tl_prev = tl
        rejected_w, mover_elec, chiller_elec, mh_sum = bank.step(q_loop, db, wb_list[k],
                                                                 chunk.forecast[kk] if predictive else None)
        tl = bank.tl
        # 5. aggregates
        rec.step(k, db, e_step, mover_elec, chiller_elec, rejected_w, mh_sum, tmax, step_thr_gpu_s,
                 servers.t_hottest_gpu, tl, energy)
        steps_done = k + 1
        if progress is not None and k >= next_progress:
            progress(k / n_steps)
            next_progress = k + max(n_steps // 100, 1)

    res = rec.finish(servers, tl, steps_done, control=control, cancelled=cancelled, energy0=energy0,
                     prices=prices, demand_charge=demand_charge)
    res.free_cooling_full_hours = bank.free_full_s / 3600.0
    res.free_cooling_partial_hours = bank.free_partial_s / 3600.0
    if progress is not None:
        progress(1.0)
    res.wall_time_s = time.perf_counter() - wall0
    return res
