"""Server power and lumped thermal state, with thermal slowdown, solved exactly per step.

Each server (its GPUs lumped into one node) obeys ``C dT/dt = P(T) − (T − T_c)/R`` with

* ``P = P_idle + (P_max − P_idle) · u · s`` (RAPS power model, physics.md),
* ``s(T) = clip(1 − g (T − T_slow), s_min, 1)``: proportional clock reduction above slowdown
  (NVIDIA's thermal slowdown lowers clocks in steps as the GPU passes 89 °C; *estimate* of the
  gain in :mod:`.defaults`),
* ``R = (T_design − T_c,design) / P_max`` so the server sits at its design temperature at full
  power with design coolant, and ``C = τ / R`` from the type's time constant.

With the coolant temperature and utilisation held over a step, the right-hand side is piecewise
linear and strictly decreasing in T, so T moves monotonically to a unique equilibrium, crossing at
most two kinks (slowdown start, clock floor). :func:`server_step` follows it exactly — an
exponential per piece and the exact crossing times — hence no stability limit from the stiffest
server time constant, and exact energy, throttled time and lost work for the step.
"""
from __future__ import annotations

import numpy as np


def clock_fraction(t_gpu_c, t_slow_c, gain_per_k, min_clock):
    """Clock fraction left after thermal slowdown, ``s`` [-].

    t_gpu_c : array  GPU temperature [°C]
    t_slow_c : array  Slowdown temperature [°C]
    gain_per_k : float  Clock reduction per kelvin above slowdown [1/K]
    min_clock : float  Clock floor [-]
    """
    return np.clip(1.0 - gain_per_k * (np.asarray(t_gpu_c) - t_slow_c), min_clock, 1.0)


def server_power(p_idle_w, p_dyn_w, utilization, clock):
    """Server electric power ``P_idle + (P_max − P_idle)·u·s`` [W] (RAPS, physics.md)."""
    return p_idle_w + p_dyn_w * utilization * clock


def server_equilibrium(t_cool, u, p_idle, p_dyn, r_th, t_slow, gain, min_clock):
    """Steady GPU temperature [°C] at coolant ``t_cool`` [°C] and utilisation ``u``, with slowdown."""
    t_floor = t_slow + (1.0 - min_clock) / gain
    t_a = t_cool + r_th * (p_idle + p_dyn * u)
    t_c = t_cool + r_th * (p_idle + p_dyn * u * min_clock)
    b = 1.0 / r_th + p_dyn * u * gain
    t_b = (p_idle + p_dyn * u * (1.0 + gain * t_slow) + t_cool / r_th) / b
    return np.where(t_a <= t_slow, t_a, np.where(t_c >= t_floor, t_c, t_b))


def server_step(t0, t_cool, u, p_idle, p_dyn, r_th, c_th, t_slow, gain, min_clock, dt):
    """Exact step of the piecewise-linear server ODE with inputs frozen over ``dt``.

    Arrays are per server (broadcastable); ``gain`` [1/K], ``min_clock`` [-], ``dt`` [s] scalars.
    Returns ``(t1, energy_j, throttled_s, lost_clock_s)``: end temperature [°C], electric energy
    over the step [J], time spent above slowdown [s], and ``∫(1 − s) dt`` [s].
    """
    t = np.array(t0, dtype=float, copy=True)
    shape = t.shape
    args = [np.asarray(x, float) for x in (t_cool, u, p_idle, p_dyn, r_th, c_th, t_slow)]
    t_cool, u, p_idle, p_dyn, r_th, c_th, t_slow = (x if x.shape == shape else np.broadcast_to(x, shape)
                                                    for x in args)
    t_floor = t_slow + (1.0 - min_clock) / gain
    pu = p_dyn * u
    b = 1.0 / r_th + pu * gain
    p_b0 = p_idle + pu * (1.0 + gain * t_slow)  # P in piece B is p_b0 − pu·g·T
    teq_b = (p_b0 + t_cool / r_th) / b
    tau_b = c_th / b
    # common case while throttled: already in the slowdown band and settling inside it (then the
    # band's own equilibrium is the global one and no kink is crossed)
    if np.all((t > t_slow) & (t < t_floor) & (teq_b > t_slow) & (teq_b < t_floor)):
        e = np.exp(-dt / tau_b)
        t_new = teq_b + (t - teq_b) * e
        int_t = teq_b * dt + (t - teq_b) * tau_b * (1.0 - e)
        return (t_new, p_b0 * dt - pu * gain * int_t, np.full(shape, float(dt)),
                gain * (int_t - t_slow * dt))
    tau = r_th * c_th
    p_a = p_idle + pu
    p_c = p_idle + pu * min_clock
    teq_a = t_cool + r_th * p_a
    teq_c = t_cool + r_th * p_c
    t_star = np.where(teq_a <= t_slow, teq_a, np.where(teq_c >= t_floor, teq_c, teq_b))
    rem = float(dt)
    energy = thr = lost = 0.0
    for it in range(3):
        up = t_star > t
        # piece 0 (full clock), 1 (proportional slowdown), 2 (clock floor); on a kink, the piece
        # the trajectory is heading into
        piece = np.where(up, (t >= t_slow).view(np.int8) + (t >= t_floor).view(np.int8),
                         (t > t_slow).view(np.int8) + (t > t_floor).view(np.int8))
        in_b = piece == 1
        in_c = piece == 2
        teq = np.where(in_b, teq_b, np.where(in_c, teq_c, teq_a))
        tp = np.where(in_b, tau_b, tau)
        bound = np.where(up, np.where(in_b, t_floor, np.where(in_c, np.inf, t_slow)),
                         np.where(in_b, t_slow, np.where(in_c, t_floor, -np.inf)))
        hits = np.where(up, t_star > bound, t_star < bound)
        any_hit = bool(hits.any())
        if any_hit:
            with np.errstate(divide="ignore", invalid="ignore"):
                t_hit = np.where(hits, tp * np.log((t - teq) / (bound - teq)), np.inf)
            h = np.minimum(rem, np.maximum(t_hit, 0.0))
            e = np.exp(-h / tp)
            t_new = np.where(h >= t_hit, bound, teq + (t - teq) * e)
        else:
            h = rem
            e = np.exp(-h / tp)
            t_new = teq + (t - teq) * e
        int_t = teq * h + (t - teq) * tp * (1.0 - e)
        energy = energy + np.where(in_b, p_b0 * h - pu * gain * int_t, np.where(in_c, p_c * h, p_a * h))
        thr = thr + (piece > 0) * h
        lost = lost + np.where(in_b, gain * (int_t - t_slow * h), in_c * ((1.0 - min_clock) * h))
        t = t_new
        if not any_hit or it == 2:
            break
        rem = rem - h
    shape_out = np.shape(t)
    energy, thr, lost = (np.broadcast_to(x, shape_out).astype(float) for x in (energy, thr, lost))
    return t, energy, thr, lost
