"""Fast integrator: numpy over servers, exact per-step pieces, implicit coupling, fixed or adaptive steps.

System, stepping and result are kept apart (as python-control does): the compiled
:class:`~.model.Model` is the system; :func:`run_fast` is the stepping; :class:`.recorder.Recorder`
builds the :class:`~.results.SimulationResult`. Per step ``[t, t + h)`` (loads as exact step means,
ambient as the step mean of its linear interpolation):

1. every server's heat to its coolant over the step, as an affine function of its loops' *end*
   temperatures (:meth:`.serverstep.ServerBank.predict`: exact at full clock, the die/plate pair's
   ``e^{A h}`` with the coolant held at the end value); summed into loops, ``Q = Q̂ − Γ·T_end``
   (:meth:`.coupling.Coupling.gamma`);
2. loops advance children-first, implicitly coupled to their servers (``Γ``), to their parent loop
   (coil) and to their controllers (the share of this step's command that acts within the step), each
   an exact exponential of its own equipment (:mod:`.loopbank`); parents-first resolve the end
   temperatures;
3. servers advance exactly at the loops' end temperatures (full clock, band, or the piecewise path
   through the slowdown kinks) and give their true heat; what differs from the prediction
   (throttling, coupling between sibling loops through mixed air/liquid servers) is added to the
   loops, so the energy bookkeeping stays exact;
4. the recorder updates summary, per-minute and per-rack aggregates.

The coupling is L-stable: the step is limited by accuracy, not by the explicit scheme's guard
(:mod:`.stability`, kept as the reference for tests). Adaptive stepping (``rtol``) takes steps of
``LEVEL_FACTORS`` × the base step aligned to their own length (a quarter hour at most, so tariff
hours and demand intervals stay whole), boundaries at the known load events (job starts and ends),
graded after them, the base step near slowdown while a training job runs on the hot servers, and
the next step from a local error estimate (the IT-facing loops' change and the change of the
loops' slope, against ``rtol × 100 K``).
"""
from __future__ import annotations

import math
import time

import numpy as np
from scipy import sparse

from . import defaults as d
from .coupling import Coupling
from .forecast import forecast_job_utilization_means
from .heat_rejection import chiller_capacity_linear
from .loopbank import initial_mover_heat, loop_bank
from .model import Model
from .power_cap import PowerCap
from .recorder_numpy import Recorder
from .results import SimulationResult
from .serverstep import ServerBank
from .thermal import piece_power_fraction, server_equilibrium_pieces, server_power

CHUNK_CELLS = 2_000_000  # server-steps of utilisation precomputed at once (~16 MB per array)
CANCEL_EVERY_MASK = 15  # poll ``cancel`` every 16 steps (a few ms even on 10,000 servers)


class _Chunk:
    """Utilisation (and forecasts) for a block of steps with edges ``t_edges`` [s]."""

    def __init__(self, model: Model, workload, t_edges, lookahead, predictive: bool, forecast_w, forecast_base,
                 rack_sums: bool = False):
        t_edges = np.asarray(t_edges, float)
        h = np.diff(t_edges)
        self.u = (workload.server_means_step(float(t_edges[0]), float(t_edges[1])) if len(t_edges) == 2
                  else workload.server_means(t_edges))
        self.n = self.u.shape[0]
        self.u_const = bool(np.all(self.u == self.u[0]))  # e.g. continuous full load
        self.band_cache = None
        p_a = model.p_idle + model.p_dyn * self.u  # power at full clock [W]
        # [steps × 2 × servers]: die and plate rise over the coolant at steady state, R·P and R_p·P [K]
        self.rp2 = np.empty((p_a.shape[0], 2, p_a.shape[1]))
        np.multiply(p_a, model.r_th, out=self.rp2[:, 0, :])
        np.multiply(p_a, model.r_plate, out=self.rp2[:, 1, :])
        self.e = p_a * h[:, None]  # energy at full clock [J]
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
            now = forecast_job_utilization_means(model.placement, t_edges, err)
            fc = np.empty((self.n, model.m))
            for l in range(model.m):
                ujl = forecast_job_utilization_means(model.placement, t_edges + lookahead[l], err)
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
    tl = model.loop_setpoint.copy()
    y0 = np.ones(model.m)
    p = server_power(model.p_idle, model.p_dyn, u0, 1.0)
    share = model.loop_server_share
    kinks, pa, pb, _, _ = model.gpu_tables(u0)
    for _ in range(4):
        rack_p = model.rack_air_share @ p
        delta = model.recirc @ rack_p
        tc = _coolant(model, tl, delta)
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


#: Adaptive steps are these multiples of the base step, aligned to their own length (so a step never
#: crosses a quarter hour: tariff hours and demand intervals stay whole) [-]
LEVEL_FACTORS = (1, 2, 3, 6, 12, 18, 30, 60, 90)
MAX_ADAPTIVE_STEP_S = 900.0
#: Temperature scale of the relative tolerance: the local error bound is ``rtol × TEMP_SCALE_K`` [K]
TEMP_SCALE_K = 100.0
#: Near slowdown (within the event hysteresis of any GPU) steps stay at the base step while the hot
#: servers' load moves (training iterations, starts) and at or below this when it is steady [s]
HOT_MAX_STEP_S = 60.0
#: "Near slowdown" starts this far below the die temperature at which the server's hottest GPU group
#: enters its thermal control band [K], and a server stays near for HOT_MAX_STEP_S after it was last
#: seen there (a training iteration swings the die ~1.5 K: its troughs must not allow a long step)
HOT_EXTRA_K = 1.0
EVENT_RESET = True  # a load event restarts at the base step
EVENT_GRADING = True  # and steps grow no faster than half the time since it


def run_fast(model: Model, amb_db, amb_wb, dt: float, n_steps: int, *, control: str, record, start,
             prices, demand_charge, progress=None, cancel=None, rtol: float | None = None, workload=None,
             events=()) -> SimulationResult:
    """Integrate ``n_steps`` of ``dt`` [s] (fixed), or the same horizon in adaptive steps of
    ``dt × LEVEL_FACTORS`` when ``rtol`` is given (local error ≤ ``rtol × 100 K`` per step; step
    boundaries at the known ``events`` [s]: job starts and ends). Ambient ``amb_db``/``amb_wb`` [°C]
    at the ``n_steps + 1`` base-grid points. Returns a :class:`SimulationResult`."""
    wall0 = time.perf_counter()
    from .workload import Workload
    workload = workload or Workload(model.placement)
    predictive = control in ("predictive", "predictive-throttle")
    adaptive = rtol is not None
    if adaptive:
        workload.use_grid(dt)
    cpl = Coupling(model)
    cpl.setup(model)
    dense = cpl.dense
    # ambient means over any run of base steps (linear between grid points): trapezoid sums
    cum_db = np.concatenate(([0.0], np.cumsum(0.5 * (amb_db[:-1] + amb_db[1:])))).tolist()
    cum_wb = np.concatenate(([0.0], np.cumsum(0.5 * (amb_wb[:-1] + amb_wb[1:])))).tolist()
    forecast_w, forecast_base = forecast_weights(model)
    lookahead = (model.loop_dead + model.loop_tau)

    # ---- initial state
    chunk_steps = int(min(512, max(16, CHUNK_CELLS // max(model.n, 1))))
    rack_sums = (not dense) and cpl.has_recirc

    def make_chunk(k0, k1, scale=1):
        return _Chunk(model, workload, np.arange(k0, k1 + 1, scale) * dt if scale == 1 else
                      np.array([k0, k1]) * dt, lookahead, predictive, forecast_w, forecast_base, rack_sums)
    chunk = make_chunk(0, 1 if adaptive else min(chunk_steps, n_steps))
    t_srv, tl0, p_prev, _, y0, t_plt = _initial_state(model, chunk.u[0], amb_db[0], amb_wb[0])
    servers = ServerBank(model, dt, t_srv, t_plt)
    bank = loop_bank(model, dt, tl0.tolist(), y0, cpl.to_loops(p_prev), variable=adaptive)
    rec = Recorder(model, dt, n_steps, start, record, cpl, bank.scalar, bank.tl, p_prev, servers,
                   minute_len=60.0 if adaptive else None)
    rec.on_minute = servers.close_minute  # throttle episodes are kept on the minute record
    cap = PowerCap(model, dt, n_steps) if control == "predictive-throttle" else None
    energy0 = (float(np.dot(model.c_die, t_srv)) + float(np.dot(model.c_plate, t_plt))
               + sum(c * t for c, t in zip(model.loop_c.tolist(), bank.tl)))
    tl = bank.tl
    p_mean = p_prev
    prev_rack_p = None
    vsum = np.add.reduce
    gammas: dict = {}
    next_progress = 0.0
    cancelled = False
    steps_done = 0
    chunk_k0 = 0
    k = 0  # base steps done
    # adaptive stepping state
    levels = [f for f in LEVEL_FACTORS if f * dt <= max(MAX_ADAPTIVE_STEP_S, dt) + 1e-9]
    hot_levels = [1]
    hot_levels_steady = [f for f in levels if f * dt <= HOT_MAX_STEP_S + 1e-9] or [1]
    t_hot = model.first_kink - HOT_EXTRA_K  # a die this warm may have a GPU group near its control band
    ev = np.unique(np.concatenate([np.floor(np.asarray(events, float) / dt), np.floor(np.asarray(events, float) / dt) + 1])
                   ) if len(events) else np.zeros(0)
    ev_k = [int(x) for x in ev if 0 < x < n_steps]
    ev_i = 0
    want = 1
    k_event = -10**12
    tol = (rtol or 1.0) * TEMP_SCALE_K
    dtl_prev = None
    h_prev = dt
    it_facing = np.array([l for l in range(model.m) if model.loop_medium[l] in ("air", "liquid")] or list(range(model.m)))
    hot_margin = float(t_hot.min())
    near_until = np.full(t_hot.shape, -np.inf)  # per server: counted near slowdown until then [s]
    tmax = float(t_srv.max())
    dev = None  # [W] per loop: throttled servers' heat below their full-clock prediction, last step
    stepping_wall = time.perf_counter()

    while k < n_steps:
        if cancel is not None and not (steps_done & CANCEL_EVERY_MASK) and cancel():
            cancelled = True
            break
        if adaptive:
            while ev_i < len(ev_k) and ev_k[ev_i] <= k:
                if ev_k[ev_i] == k and EVENT_RESET:
                    want = 1  # an event: start fine again
                    k_event = k
                ev_i += 1
            # graded after an event: no step longer than half the time since it (the loops answer a
            # load step after their dead time and lag, when the steps must still be short)
            limit = min(want, max(1, (k - k_event) // 2) if EVENT_GRADING else want, n_steps - k,
                        (ev_k[ev_i] - k) if ev_i < len(ev_k) else n_steps)
            lv = levels
            if tmax > hot_margin:  # near slowdown: short steps; the base step while the load moves
                t0 = k * dt
                near_until[servers.t_die > t_hot] = t0 + HOT_MAX_STEP_S
                near = near_until > t0
                bursty = workload.bursty_servers(t0, t0 + hot_levels_steady[-1] * dt)
                lv = hot_levels if np.any(near & bursty) else hot_levels_steady
            f = 1
            for x in lv:
                if x <= limit and k % x == 0:
                    f = x
            h = f * dt
            chunk = make_chunk(k, k + f, scale=f)
            kk = 0
            if h != servers.dt:
                servers.use_step(h)
        else:
            f, h = 1, dt
            kk = k - chunk_k0
            if kk >= chunk.n:
                chunk_k0 = k
                kk = 0
                chunk = make_chunk(k, min(k + chunk_steps, n_steps))
        t0 = k * dt
        db = (cum_db[k + f] - cum_db[k]) / f
        wb = (cum_wb[k + f] - cum_wb[k]) / f
        # 1. servers' heat as a function of their loops' end temperatures (exact at full clock)
        r = cpl.recirculation(p_mean, prev_rack_p)
        q0, g = servers.predict(r, chunk, kk)
        gam = gammas.get(h)
        if gam is None:
            full = cpl.gamma(g)
            g_off = full - np.diag(np.diag(full))
            gam = gammas[h] = (np.diag(full).copy(), g_off, bool(np.any(g_off)))
        g_self, g_off, has_off = gam
        tl_arr = np.asarray(tl, float)
        q_hat = cpl.to_loops(q0) - g_off @ tl_arr  # coupling between sibling loops: start values
        carried = None
        if dev is not None:  # throttled servers give less than at full clock: last step's shortfall
            carried = dev * h  # carries over (the loops and controllers see it; step 4 keeps energy exact)
            q_hat = q_hat + carried
        # 2. loops, implicitly coupled to servers, parents and controllers
        rejected_w, mover_elec, chiller_elec, mh_sum = bank.step(q_hat, g_self, t0, h, db, wb,
                                                                 chunk.forecast[kk] if predictive else None)
        tl_new = np.asarray(bank.tl, float)
        # 3. servers at the loops' end temperatures: exact, throttling included
        u_cap = cap.caps(k, chunk.u[kk], tl_new, bank.lines) if cap is not None else None
        energy, dX, tmax, throttled_step, step_thr_gpu_s = servers.step(cpl.loop_part(tl_new), r, chunk, kk, u_cap)
        # 4. what the servers really gave beyond the prediction: with every server at full clock only
        # the sibling loops' change (exact, Γ_off·ΔT); else (throttling) their true heat
        if throttled_step:
            dq = cpl.heat_to_loops(energy, dX) - (q_hat - g_self * tl_new)
            # true heat − full-clock prediction at the end temperatures, for the next step
            dev = dq + g_off @ (tl_new - tl_arr) if has_off else dq.copy()
            if carried is not None:
                dev += carried
            dev /= h
        else:
            dq = -(g_off @ (tl_new - tl_arr))
            if carried is not None:  # back at full clock: the prediction was exact without it
                dq -= carried
                dev = None
        if has_off or throttled_step or carried is not None:
            bank.correct(dq)
        tl = bank.tl
        prev_rack_p = chunk.rack_p[kk] if (rack_sums and not throttled_step) else None
        e_step = vsum(energy)
        p_mean = energy / h
        # 5. aggregates
        rec.step(t0, h, db, e_step, mover_elec, chiller_elec, rejected_w, mh_sum, tmax, step_thr_gpu_s,
                 servers.t_hottest_gpu, tl, energy)
        if adaptive:
            # local error of the held couplings: servers see the loops' end temperature all step
            # (≈ half the IT-facing loops' change) and the loops' path is first order in the step
            # (≈ half the change of their slope); the servers' own response to the step-mean load is exact
            ratio = h / h_prev
            dtl = np.asarray(tl, float) - tl_arr
            err = 0.5 * float(np.abs(dtl[it_facing]).max())
            if dtl_prev is not None:
                err = max(err, 0.5 * float(np.abs(dtl - dtl_prev * ratio).max()))
            dtl_prev = dtl
            h_prev = h
            grow = 2.0 if err <= 0.0 else min(2.0, max(0.25, 0.9 * math.sqrt(tol / err)))
            want = max(1, int(f * grow))
        k += f
        steps_done += 1
        if progress is not None and k >= next_progress:
            progress(k / n_steps)
            next_progress = k + max(n_steps // 100, 1)

    res = rec.finish(servers, tl, steps_done, k * dt, control=control, cancelled=cancelled, energy0=energy0,
                     prices=prices, demand_charge=demand_charge)
    res.stepping = "adaptive" if adaptive else "fixed"
    res.free_cooling_full_hours = bank.free_full_s / 3600.0
    res.free_cooling_partial_hours = bank.free_partial_s / 3600.0
    res.stepping_wall_s = time.perf_counter() - stepping_wall
    if progress is not None and not cancelled:  # a cut run never reports 100 %
        progress(1.0)
    res.wall_time_s = time.perf_counter() - wall0
    return res
