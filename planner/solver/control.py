"""Loop control: what cooling each loop asks for, and how the equipment delivers it.

* Actuators (pumps, fans, valves, compressors) follow the command as a first-order lag plus dead
  time, ``K e^{−Ls}/(τs + 1)``, discretised exactly for a command held over each step:
  ``y[k+1] = a·y[k] + (1 − a)·c(t_k − L)``, ``a = e^{−dt/τ}`` (physics.md). L includes the loop
  transit time (volume / flow). Fractional delays interpolate the command history linearly.
* ``reactive`` control: ``c = Q_measured + K_c (T − T_set)`` — feed forward the heat entering the
  loop now (flow × ΔT metering) plus proportional feedback on the supply temperature.
* ``predictive`` control: ``c = Q_forecast(t + L + τ) + K_c (T − T_set)`` — the heat the known job
  schedule will put into the loop one loop-lag ahead (Smith-predictor idea, physics.md).
* ``K_c = C / (2 θ)`` with θ = L + τ: SIMC tuning of an integrating process (Skogestad 2003).
* Commands are clipped to ``[0, capacity]`` (anti-windup: no asking for cooling that cannot come).
"""
from __future__ import annotations

import math

import numpy as np

CONTROL_MODES = ("reactive", "predictive")


class DeadTimeBuffer:
    """History of one command signal sampled every ``dt``, read back ``delay`` seconds late.

    delay : float  Dead time [s], ≥ 0
    dt : float  Sample interval [s]
    initial : float  Value assumed before the first sample
    """

    def __init__(self, delay: float, dt: float, initial: float):
        self.lag = delay / dt
        self.lo = int(math.floor(self.lag + 1e-9))
        self.frac = self.lag - self.lo
        self.size = self.lo + 2
        self.buf = [initial] * self.size
        self.k = 0  # samples pushed

    def push(self, value: float) -> float:
        """Store the command at the current step; return the command ``delay`` ago."""
        buf, size = self.buf, self.size
        buf[self.k % size] = value
        a = buf[(self.k - self.lo) % size]
        if self.frac > 1e-9:
            b = buf[(self.k - self.lo - 1) % size]
            a = (1.0 - self.frac) * a + self.frac * b
        self.k += 1
        return a


def fopdt_response(t, step_time, gain, tau, dead_time):
    """Analytic unit-step response of ``K e^{−Ls}/(τs + 1)`` to a step at ``step_time`` [s]."""
    t = np.asarray(t, float)
    x = t - step_time - dead_time
    return np.where(x > 0, gain * (1.0 - np.exp(-np.maximum(x, 0.0) / tau)), 0.0)


def controller_command(mode: str, measured_w: float, forecast_w: float, t_supply: float, t_set: float,
                       gain_w_per_k: float, capacity_w: float) -> float:
    """Cooling command [W] of one loop (see module docstring)."""
    ff = measured_w if mode == "reactive" else forecast_w
    c = ff + gain_w_per_k * (t_supply - t_set)
    return min(max(c, 0.0), max(capacity_w, 0.0))


def loop_temperature_step(t0: float, q_in: float, y: float, a: float, b: float, c: float, dt: float) -> float:
    """Exact step of ``C dT/dt = Q_in − min(y, a + b·T)`` with inputs frozen over ``dt``.

    The loop delivers what its actuators give (``y`` [W]) unless the equipment capacity
    ``a + b·T`` [W] is lower (b [W/K] ≥ 0: coils and dry coolers gain capacity as the loop warms).
    Returns the end temperature [°C]; delivered energy is ``Q_in·dt − C·ΔT``.
    """
    t = t0
    rem = dt
    for _ in range(3):
        if rem <= 0:
            break
        cap = a + b * t
        if cap < 0.0:  # equipment cannot reject at all (e.g. dry cooler warmer outside); fans stop
            a_eff, b_eff = 0.0, 0.0
            cap = 0.0
        else:
            a_eff, b_eff = a, b
        slope = (q_in - y) / c
        cooling_to_limit = slope < 0.0 and b_eff > 0.0 and y >= cap - 1e-9 * max(abs(cap), 1.0)
        if y <= cap and not cooling_to_limit:  # actuator-limited: linear ramp
            if slope < 0.0 and b_eff > 0.0:
                tx = (y - a_eff) / b_eff  # temperature where capacity drops to y
                tt = (t - tx) / -slope
                if tt < rem:
                    t, rem = tx, rem - tt
                    continue
            return t + slope * rem
        # capacity-limited
        if b_eff <= 0.0:
            return t + (q_in - cap) / c * rem
        teq = (q_in - a_eff) / b_eff
        tau = c / b_eff
        tx = (y - a_eff) / b_eff
        if teq > tx > t:  # warming until capacity exceeds the actuator output
            tt = tau * math.log((t - teq) / (tx - teq))
            if tt < rem:
                t, rem = tx, rem - tt
                continue
        return teq + (t - teq) * math.exp(-rem / tau)
    return t


def loop_temperature_step_vec(t0, q_in, y, a, b, c, dt: float):
    """:func:`loop_temperature_step` for arrays of loops (same pieces, same exactness)."""
    # common case first: every loop delivers what its actuators give for the whole step
    # (capacity along the linear path stays above y)
    t_lin = t0 + (q_in - y) / c * dt
    act_ok = y <= a + b * np.minimum(t0, t_lin)
    if np.all(act_ok):
        return t_lin
    # next most common: the rest are capacity-limited for the whole step (capacity along their
    # exponential path stays below y and above 0)
    pos = b > 0.0
    safe_b = np.where(pos, b, 1.0)
    teq = (q_in - a) / safe_b
    t_cap = np.where(pos, teq + (t0 - teq) * np.exp(-dt * b / c), t0 + (q_in - a) / c * dt)
    cap_ok = (a + b * np.maximum(t0, t_cap) < y) & (a + b * np.minimum(t0, t_cap) >= 0.0)
    if np.all(act_ok | cap_ok):
        return np.where(act_ok, t_lin, t_cap)
    t = np.array(t0, dtype=float, copy=True)
    rem = np.full(t.shape, float(dt))
    active = np.ones(t.shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(3):
            cap = a + b * t
            neg = cap < 0.0
            a_e = np.where(neg, 0.0, a)
            b_e = np.where(neg, 0.0, b)
            cap = np.where(neg, 0.0, cap)
            slope = (q_in - y) / c
            pos_b = b_e > 0.0
            down_to_limit = (slope < 0.0) & pos_b & (y >= cap - 1e-9 * np.maximum(np.abs(cap), 1.0))
            act = (y <= cap) & ~down_to_limit
            tx = (y - a_e) / b_e
            tt = (t - tx) / -slope
            cross_act = act & (slope < 0.0) & pos_b & (tt < rem)
            t_act = np.where(cross_act, tx, t + slope * rem)
            teq = (q_in - a_e) / b_e
            tau = c / b_e
            lin = ~pos_b
            tt2 = tau * np.log((t - teq) / (tx - teq))
            cross_lim = ~act & pos_b & (teq > tx) & (tx > t) & (tt2 < rem)
            t_lim = np.where(lin, t + (q_in - cap) / c * rem,
                             np.where(cross_lim, tx, teq + (t - teq) * np.exp(-rem / tau)))
            crossed = cross_act | cross_lim
            t = np.where(active, np.where(act, t_act, t_lim), t)
            rem = np.where(active & crossed, rem - np.where(cross_act, tt, tt2), rem)
            active &= crossed
            if not active.any():
                break
    return t
