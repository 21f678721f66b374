"""Reference path: the same model as one ODE system integrated by ``scipy.integrate.solve_ivp``.

For verification, not speed. Differences from the fast path are only numerical:

* everything is evaluated at the instant (recirculation uses the current power, controllers the
  current heat), where the fast path holds inputs over a step;
* the actuator dead time is handled by the method of steps: integrate in chunks no longer than the
  shortest dead time and read delayed commands from a finely sampled history of the chunks before.

Loads use the same step-averaged utilisation as the fast path (the input signal is part of the
model, not of the integrator); ambient is linear between step boundaries as in the fast path.
``ivp_options`` (``method``, ``rtol``, ``atol``, ``max_step``, ...) go to ``solve_ivp`` unchanged;
the default is LSODA with rtol 1e-6 and atol 1e-6.
"""
from __future__ import annotations

import time

import numpy as np
from scipy import sparse
from scipy.integrate import solve_ivp

from .control import command_fraction
from .errors import SolverInputError
from .energy import pue
from .integrate import _initial_state, loop_capacity
from .integrate_numpy import _Chunk, _coolant
from .defaults import GPU_RESTART_BELOW_SLOWDOWN_K
from .gpu_control import lost_work_fraction
from .heat_rejection import chiller_scalar_kernels
from .thermal import piece_index
from .loopbank import economiser_free_w, loop_movers, mover_args
from .forecast import forecast_job_utilization_step_means
from .model import Model
from .results import SimulationResult


def run_reference(model: Model, amb_db, amb_wb, dt, n_steps, *, control, start, prices, demand_charge,
                  progress=None, cancel=None, **ivp_options) -> SimulationResult:
    """Integrate with ``solve_ivp``; returns a :class:`SimulationResult` with the summary temperatures,
    energies and throttling, and minute samples (minute-end values, not means)."""
    wall0 = time.perf_counter()
    n, m = model.n, model.m
    rows = np.arange(n)
    horizon = n_steps * dt
    if control == "predictive-throttle":
        raise SolverInputError("the solve_ivp reference path runs reactive and predictive control; "
                               "predictive-throttle runs on the fast integrator only")
    predictive = control == "predictive"
    share = model.loop_server_share.tocsr()
    down_share = sparse.csr_matrix(model.loop_downstream) @ share
    forecast_w = np.asarray((down_share @ sparse.diags(model.p_dyn) @ model.placement.matrix).todense())
    look = model.loop_dead + model.loop_tau
    from .workload import Workload
    chunk = _Chunk(model, Workload(model.placement), np.arange(n_steps + 1) * dt, look, False, None, None)
    U = chunk.u  # [steps × servers]
    grid_t = np.arange(n_steps + 1) * dt
    mv_args = [mover_args(model, l) for l in range(m)]
    econ = [bool(model.loop_chiller_w[l] > 0 and (model.loop_drycooler_ec[l] > 0 or model.loop_tower_ec[l] > 0))
            for l in range(m)]
    ch_pow = [chiller_scalar_kernels(float(model.loop_chiller_w[l]), float(model.loop_chiller_cop[l]),
                                     float(model.loop_chiller_rated_c[l]),
                                     float(model.loop_chiller_rated_chw_c[l]))[1]
              if model.loop_chiller_w[l] > 0 else None for l in range(m)]
    order = list(model.loop_order)
    parent = model.loop_parent
    gpus = model.gpus

    # GPU groups shut down (past their shutdown temperature), updated on the step grid as the fast
    # path does: a shut-down group draws idle power only and delivers no work until it has cooled
    down = np.zeros(model.gpu_w.shape, bool)
    state = {"down_w": np.zeros(n)}
    t_restart = model.t_slow - GPU_RESTART_BELOW_SLOWDOWN_K

    def u_at(t):
        return U[min(int(t // dt), n_steps - 1)]

    table_cache = {}

    def tables_at(u):
        """The servers' GPU power-law tables at utilisation u (with shut-down groups' share off)."""
        key = (u.tobytes(), state["down_w"].tobytes())
        if key not in table_cache:
            if len(table_cache) > 64:
                table_cache.clear()
            table_cache[key] = model.gpu_tables(u * (1.0 - state["down_w"]))
        return table_cache[key]

    def forecast_at(t):
        """The foreseen rise of each loop's heat one lag ahead (as the fast path's _Chunk)."""
        err = model.options.forecast_error
        k = np.minimum(((t + look) // dt).astype(int), 10**9)
        k_now = min(int(t // dt), 10**9)
        now = forecast_job_utilization_step_means(model.placement, np.array([k_now * dt]), dt, err)[:, 0]
        out = np.empty(m)
        for l in range(m):
            uj = forecast_job_utilization_step_means(model.placement, np.array([k[l] * dt]), dt, err)[:, 0]
            out[l] = max(float(forecast_w[l] @ (uj - now)), 0.0)
        return out

    def evaluate(t, x):
        """Derivatives, commands and the instantaneous flows at (t, x); x = die, plate, loops, actuators."""
        T, TP = x[:n], x[n:2 * n]
        TL, Y = x[2 * n:2 * n + m], x[2 * n + m:2 * n + 2 * m]
        u = u_at(t)
        db = np.interp(t, grid_t, amb_db)
        wb = np.interp(t, grid_t, amb_wb)
        kinks, pa, pb, pthr, k_die = tables_at(u)  # GPU groups' thermal control (.gpu_control)
        j = piece_index(T, kinks)
        pbar = pa[rows, j] - pb[rows, j] * T
        P = model.p_idle + model.p_dyn * u * (1.0 - state["down_w"]) * pbar
        delta = model.recirc @ (model.rack_air_share @ P)
        tc = _coolant(model, TL, delta)
        q_dp = (T - TP) / model.r_die
        q = (TP - tc) / model.r_plate
        dT = np.concatenate([(P - q_dp) / model.c_die, (q_dp - q) / model.c_plate])
        q_srv = share @ q
        deliv = np.zeros(m)
        cmd = np.zeros(m)
        child = np.zeros(m)
        mover_heat = np.zeros(m)
        dTL = np.zeros(m)
        fc = forecast_at(t) if predictive else None
        ch_elec = 0.0
        for l in order:
            tp = TL[parent[l]] if parent[l] >= 0 else 0.0
            # the exchangers see the return T + q_in/(ρ c_p V̇), and q_in includes the fan/pump heat,
            # which depends on what is delivered: a fixed point, contracting by ~ε·P_mover/Q_rated
            # (a few %) per pass; 8 passes leave < 1e-10 of it
            mh = 0.0
            free = 0.0
            for _ in range(8 if model.loop_return_k_per_w[l] > 0 else 1):
                q_in = q_srv[l] + mh + child[l]
                cap = max(loop_capacity(model, l, TL[l], db, wb, tp, q_in)[0], 0.0)  # exact chiller curve
                deliv[l] = Y[l] * cap
                if econ[l]:
                    free = economiser_free_w(float(model.loop_drycooler_ec[l]), float(model.loop_tower_ec[l]),
                                             TL[l] + model.loop_return_k_per_w[l] * q_in, db, wb)
                mh = loop_movers(deliv[l], q_srv[l], Y[l], free, *mv_args[l])[0]
            mover_heat[l] = mh
            if ch_pow[l] is not None and deliv[l] - free > 0.0:  # compressor + condenser fans, rejected too
                ch_elec += ch_pow[l](deliv[l] - free, db, TL[l])
            q_in = q_srv[l] + mover_heat[l] + child[l]
            ff = q_in if fc is None else q_in + fc[l]
            cmd[l] = command_fraction(ff + model.loop_gain[l] * (TL[l] - model.loop_setpoint[l]), cap)
            dTL[l] = (q_in - deliv[l]) / model.loop_c[l]
            if parent[l] >= 0:
                child[parent[l]] += deliv[l]
        rejected = float(deliv[parent < 0].sum()) + ch_elec  # heat to outdoors incl. the chillers' work
        return dT, dTL, cmd, P, deliv, mover_heat, rejected, (pthr[rows, j], pbar, k_die), u, ch_elec

    # initial state identical to the fast path: servers and loops steady, actuators delivering the
    # heat each loop takes in (children first)
    T0, TL0, P0, _, Y0, TP0 = _initial_state(model, U[0], amb_db[0], amb_wb[0])
    x0 = np.concatenate([T0, TP0, TL0, Y0, np.zeros(6)])  # + ∫IT, ∫rejected, ∫mover heat, ∫thr gpu, ∫lost gpu,
    # ∫chiller electricity
    nx = 2 * n + 2 * m
    cmd0 = evaluate(0.0, x0[:nx])[2]

    dead = model.loop_dead
    positive = dead[dead > 0]
    chunk_len = float(min(positive.min(), 600.0)) if positive.size else 600.0
    hist_dt = min(1.0, dt / 4.0)
    hist_t = [0.0]
    hist_cmd = [cmd0]

    cache = {}

    def rhs(t, x):
        dT, dTL, cmd, P, deliv, mover_heat, rejected, j, u, ch_elec = evaluate(t, x[:nx])
        if "ht" not in cache:
            cache["ht"] = np.asarray(hist_t)
            cache["hc"] = np.asarray(hist_cmd)
        ht, hc = cache["ht"], cache["hc"]
        cd = np.empty(m)
        for l in range(m):
            tt = t - dead[l]
            if dead[l] <= 0.0:  # no dead time: the present command (the history ends at the chunk start)
                cd[l] = cmd[l]
            else:
                cd[l] = cmd0[l] if tt <= 0 else np.interp(tt, ht, hc[:, l])
        dY = (cd - x[2 * n + m:nx]) / model.loop_tau
        dw = state["down_w"]
        thr_share, pbar, k_die = j
        _, p_g = model.gpu_groups(x[:n], pbar, rows, k_die)
        thr = float(np.dot(gpus, thr_share * (1.0 - dw) + dw))
        lost = float(np.dot(gpus * u, lost_work_fraction(p_g, model.gpu_w, model.alpha) * (1.0 - dw) + dw))
        return np.concatenate([dT, dTL, dY, [P.sum(), rejected, mover_heat.sum(), thr, lost, ch_elec]])

    options = {"method": "LSODA", "rtol": 1e-6, "atol": 1e-6, "max_step": dt}
    options.update(ivp_options)
    if "jac" not in options and options["method"] in ("LSODA", "BDF", "Radau"):
        # The die nodes (~0.5 s) make the system stiff; a finite-difference Jacobian would cost one
        # right-hand side per state. Give the implicit methods the exact die/plate 2×2 blocks (incl. the
        # slowdown slope), the plate ↔ loop conductances and the actuator lags; left out: recirculation,
        # capacity slopes, controller terms. The Jacobian only drives the Newton iterations; accuracy is
        # set by the error control (rtol/atol), as before.
        nxa = nx + 6
        ii = np.arange(n)
        j_dp = 1.0 / (model.r_die * model.c_die)
        j_pd = 1.0 / (model.r_die * model.c_plate)
        j_pp = -(1.0 / model.r_die + 1.0 / model.r_plate) / model.c_plate
        w = share.toarray()  # [loops × servers] share of each server's coolant / heat
        j_pl = (w / (model.r_plate * model.c_plate)).T  # plate ← its loops' temperatures
        j_lp = w / model.r_plate / model.loop_c[:, None]  # loop ← plate
        j_ll = -(w / model.r_plate) @ w.T / model.loop_c[:, None]  # loop ← loops, via the coolant term
        mm = np.arange(m)

        def jac(t, x):
            J = np.zeros((nxa, nxa))
            u = u_at(t)
            kinks, _, pb, _, _ = tables_at(u)
            slope = model.p_dyn * u * pb[rows, piece_index(x[:n], kinks)]
            J[ii, ii] = -(1.0 / model.r_die + slope) / model.c_die
            J[ii, n + ii] = j_dp
            J[n + ii, ii] = j_pd
            J[n + ii, n + ii] = j_pp
            J[n:2 * n, 2 * n:2 * n + m] = j_pl
            J[2 * n:2 * n + m, n:2 * n] = j_lp
            J[2 * n:2 * n + m, 2 * n:2 * n + m] = j_ll
            J[2 * n + m + mm, 2 * n + m + mm] = -1.0 / model.loop_tau
            return J
        options["jac"] = jac
    for bad in ("fun", "t_span", "y0", "dense_output", "t_eval"):
        if bad in options:
            raise SolverInputError(f"solve_ivp option {bad!r} is set by the solver")
    t = 0.0
    x = x0
    sample_t = np.arange(1, n_steps + 1) * dt
    samples = []
    cancelled = False
    while t < horizon - 1e-9:
        t_gpu = x[:n, None] + model.gpu_off
        if down.any() or np.any(t_gpu > model.t_shut[:, None] - 1.0):  # near shutdown: the step grid
            t1 = min((np.floor(t / dt + 1e-9) + 1.0) * dt, horizon)
        else:
            t1 = min(t + chunk_len, horizon)
        cache.clear()
        sol = solve_ivp(rhs, (t, t1), x, dense_output=True, **options)
        if not sol.success:
            raise SolverInputError(f"solve_ivp failed at t = {t:.0f} s: {sol.message}")
        # history of commands over the chunk for later delays
        th = np.arange(t + hist_dt, t1 + 1e-9, hist_dt)
        if th.size == 0 or th[-1] < t1 - 1e-9:
            th = np.append(th, t1)
        for tk in th:
            hist_t.append(float(tk))
            hist_cmd.append(evaluate(tk, sol.sol(tk)[:nx])[2])
        sel = sample_t[(sample_t > t + 1e-9) & (sample_t <= t1 + 1e-9)]
        for tk in sel:
            samples.append(sol.sol(tk))
        x = sol.y[:, -1]
        t = t1
        t_gpu = x[:n, None] + model.gpu_off
        if abs(t / dt - round(t / dt)) < 1e-9:  # shutdowns and restarts at step ends, as the fast path
            new_down = (t_gpu > model.t_shut[:, None]) & (model.gpu_w > 0)
            down = (down | new_down) & ~(t_gpu < t_restart[:, None])
            state["down_w"] = (model.gpu_w * down).sum(axis=1)
        if progress is not None:
            progress(t / horizon)
        if cancel is not None and cancel():
            cancelled = True
            break
    S = np.asarray(samples).reshape(len(samples), x0.size)  # (0, ...) if cancelled before the first sample
    res = SimulationResult(start=start, timezone=model.plan.site.timezone)
    res.integrator, res.control, res.cancelled = "reference", control, cancelled
    res.servers, res.gpus, res.steps, res.step_s, res.horizon_s = n, int(gpus.sum()), len(S), dt, t
    res.final_loop_temp_c = x[2 * n:2 * n + m].copy()
    res.it_energy_kwh = x[nx] / 3.6e6
    res.heat_rejected_kwh = x[nx + 1] / 3.6e6
    res.mover_heat_kwh = x[nx + 2] / 3.6e6
    res.throttled_gpu_hours = x[nx + 3] / 3600.0
    res.lost_gpu_hours = x[nx + 4] / 3600.0
    res.chiller_energy_kwh = x[nx + 5] / 3.6e6
    e0 = float(np.dot(model.c_die, T0) + np.dot(model.c_plate, TP0) + np.dot(model.loop_c, TL0))
    e1 = float(np.dot(model.c_die, x[:n]) + np.dot(model.c_plate, x[n:2 * n]) + np.dot(model.loop_c, x[2 * n:2 * n + m]))
    res.stored_energy_change_kwh = (e1 - e0) / 3.6e6
    res.facility_energy_kwh = float("nan")
    res.pue = pue(float("nan"), res.it_energy_kwh)
    res.time_s = sample_t[:len(S)] - dt
    res.loop_supply_c = S[:, 2 * n:2 * n + m]
    res.loop_names = list(model.loop_names)
    res.server_names = list(model.server_names)
    hottest, thr_frac = [], []
    for kk, r in enumerate(S[:, :n]):  # the GPU groups at each sample (utilisation of the step ending there)
        uk = U[min(kk, n_steps - 1)]
        kinks, pa, pb, pthr, k_die = model.gpu_tables(uk)
        jj = piece_index(r, kinks)
        t_g, _ = model.gpu_groups(r, pa[rows, jj] - pb[rows, jj] * r, rows, k_die)
        hottest.append(np.max(np.where(model.gpu_w > 0, t_g, -np.inf), axis=1))
        thr_frac.append(np.dot(gpus, pthr[rows, jj]) / max(gpus.sum(), 1))
    res.server_temp_c = np.asarray(hottest).reshape(len(S), n)
    res.max_gpu_temp_c_series = res.server_temp_c.max(axis=1) if len(S) else np.zeros(0)
    res.throttled_fraction = np.asarray(thr_frac, float)
    res.final_server_temp_c = res.server_temp_c[-1].copy() if len(S) else T0 + model.off_max
    # the hottest GPU, as the fast path reports (the initial state counts when nothing was sampled)
    res.max_gpu_temp_c = float(max((T0 + model.off_max).max(), res.max_gpu_temp_c_series.max(initial=-np.inf)))
    res.max_throttled_fraction = float(res.throttled_fraction.max()) if len(S) else 0.0
    res.wall_time_s = time.perf_counter() - wall0
    return res
