"""Loop control: what cooling each loop asks for, and how the equipment delivers it.

* The equipment of a loop can remove at most ``cap(T) = max(a + b·T, 0)`` [W] at loop supply
  temperature T (coil / dry-cooler / tower UA on a driving temperature difference, chiller capacity
  curve linearised over a step; see :mod:`.heat_rejection`). Its actuators (pump and fan speed,
  valve position, compressor loading) set the *fraction* ``y`` ∈ [0, 1] of that capacity in use,
  so the heat removed is ``y · cap(T)``: at a fixed pump speed a plate exchanger removes more as the
  loop warms (self-regulation), and the controller has to move ``y`` only for what is left.
* Actuators follow the command as a first-order lag plus dead time, ``e^{−Ls}/(τs + 1)``,
  discretised exactly for a command held over each step (docs/physics.md). For ``L = (n + f)·dt``
  the input over step k is the command of step k−n−1 for the first ``f·dt`` and of step k−n for
  the rest, so ``y[k+1] = a·y[k] + (a^{1−f} − a)·c[k−n−1] + (1 − a^{1−f})·c[k−n]``,
  ``a = e^{−dt/τ}`` (:func:`fopdt_weights`). L includes the loop transit time (volume / flow).
* ``reactive`` control: heat target ``Q_measured + K_c (T − T_set)`` — feed forward the heat
  entering the loop now (flow × ΔT metering) plus proportional feedback on the supply temperature.
* ``predictive`` control: ``Q_forecast(t + L + τ) + K_c (T − T_set)`` — the heat the known job
  schedule will put into the loop one loop-lag ahead (Smith-predictor idea, docs/physics.md).
* ``K_c = C / (2 θ)`` with θ = L + τ: SIMC tuning of an integrating process (Skogestad 2003).
* The command is the target as a fraction of the present capacity, clipped to [0, 1]
  (anti-windup: no asking for cooling that cannot come).
"""
from __future__ import annotations

import math

import numpy as np

from .model import CONTROL_MODES  # noqa: F401  (the one list; re-exported for old imports)


def fopdt_weights(delay: float, dt: float, tau: float) -> tuple[int, float, float, float]:
    """Exact discretisation of a first-order lag with dead time for step-held commands.

    Returns ``(n, a, w_old, w_new)`` with ``y[k+1] = a·y[k] + w_old·c[k−n−1] + w_new·c[k−n]``:
    ``n = ⌊L/dt⌋``, f = L/dt − n, ``a = e^{−dt/τ}``, ``w_old = a^{1−f} − a``, ``w_new = 1 − a^{1−f}``
    (the older command acts for the first f·dt of the step, the newer one for the rest).

    delay : float  Dead time L [s], ≥ 0
    dt : float  Step [s]
    tau : float  Lag time constant [s], > 0
    """
    lag = delay / dt
    n = int(math.floor(lag + 1e-9))
    f = lag - n
    if f < 1e-9:
        f = 0.0
    a = math.exp(-dt / tau)
    a1f = math.exp(-(1.0 - f) * dt / tau)
    return n, a, a1f - a, 1.0 - a1f


class DeadTimeBuffer:
    """History of one command signal sampled every ``dt``, read back ``delay`` seconds late.

    delay : float  Dead time [s], ≥ 0
    dt : float  Sample interval [s]
    initial : float  Value assumed before the first sample
    """

    def __init__(self, delay: float, dt: float, initial: float):
        self.n = int(math.floor(delay / dt + 1e-9))
        self.size = self.n + 2
        self.buf = [initial] * self.size
        self.k = 0  # samples pushed

    def push(self, value: float) -> tuple[float, float]:
        """Store the command of the current step; return the commands ``(c[k−n−1], c[k−n])``."""
        buf, size, k = self.buf, self.size, self.k
        buf[k % size] = value
        self.k = k + 1
        return buf[(k - self.n - 1) % size], buf[(k - self.n) % size]


class FopdtActuator:
    """One actuator: a :class:`DeadTimeBuffer`-style ring plus the exact lag of :func:`fopdt_weights`.

    y : float  Output at the start of the current step
    """

    def __init__(self, delay: float, tau: float, dt: float, initial: float):
        self.n, self.a, self.w_old, self.w_new = fopdt_weights(delay, dt, tau)
        self.size = self.n + 2
        self.buf = [initial] * self.size
        self.k = 0
        self.y = initial

    def step(self, command: float) -> float:
        """Take the command of this step; return (and keep) the output at the end of the step.

        Same ring as :meth:`DeadTimeBuffer.push`, inlined: this runs once per loop and step."""
        buf, size, k = self.buf, self.size, self.k
        buf[k % size] = command
        self.k = k + 1
        self.y = y = (self.a * self.y + self.w_old * buf[(k - self.n - 1) % size]
                      + self.w_new * buf[(k - self.n) % size])
        return y


class FopdtBank:
    """:class:`FopdtActuator` for an array of loops (numpy; one delay and lag per loop).

    delays, taus : array  Dead times and lags [s]; dt : float  Step [s]; initial : array  Outputs
    """

    def __init__(self, delays, taus, dt: float, initial):
        w = [fopdt_weights(float(L), dt, float(t)) for L, t in zip(delays, taus)]
        self.n = np.array([x[0] for x in w], dtype=int)
        self.a, self.w_old, self.w_new = (np.array([x[i] for x in w]) for i in (1, 2, 3))
        self.size = int(self.n.max(initial=0)) + 2
        self.y = np.array(initial, dtype=float)
        self.buf = np.repeat(self.y[None, :], self.size, axis=0)
        self.cols = np.arange(self.y.size)
        self.k = 0

    def store(self, row_slice, values) -> None:
        """Store this step's commands for the loops in ``row_slice``."""
        self.buf[self.k % self.size, row_slice] = values

    def advance(self):
        """Update every output with this step's stored commands; returns the outputs."""
        k, size = self.k, self.size
        new = self.buf[(k - self.n) % size, self.cols]
        old = self.buf[(k - self.n - 1) % size, self.cols]
        self.y = self.a * self.y + self.w_old * old + self.w_new * new
        self.k = k + 1
        return self.y


def fopdt_response(t, step_time, gain, tau, dead_time):
    """Analytic unit-step response of ``K e^{−Ls}/(τs + 1)`` to a step at ``step_time`` [s]."""
    t = np.asarray(t, float)
    x = t - step_time - dead_time
    return np.where(x > 0, gain * (1.0 - np.exp(-np.maximum(x, 0.0) / tau)), 0.0)


def command_fraction(target_w: float, capacity_w: float) -> float:
    """Actuator command [0..1] for a heat target [W] at the present capacity [W] (module docstring)."""
    if target_w <= 0.0:
        return 0.0
    if capacity_w <= target_w:
        return 1.0
    return target_w / capacity_w


def loop_temperature_step(t0: float, q_in: float, y: float, a: float, b: float, c: float, dt: float) -> float:
    """Exact step of ``C dT/dt = Q_in − y·max(a + b·T, 0)`` with inputs frozen over ``dt``.

    ``y`` [-] is the actuator fraction, ``a + b·T`` [W] the equipment capacity (b [W/K] ≥ 0: coils,
    dry coolers and chillers gain capacity as the loop warms). Linear in T wherever the capacity is
    positive, so one exponential — plus a linear piece if the loop starts (or ends) where the
    equipment cannot reject at all (e.g. a dry cooler with the outdoor air warmer than the water).
    Returns the end temperature [°C]; removed energy is ``Q_in·dt − C·ΔT``.
    """
    rem_b = y * b
    if rem_b <= 0.0:  # removal does not depend on T
        cap = a + b * t0
        return t0 + (q_in - (y * cap if cap > 0.0 else 0.0)) * dt / c
    tz = -a / b  # capacity is zero at and below tz
    teq = (q_in - y * a) / rem_b
    tau = c / rem_b
    if t0 >= tz:
        if teq >= tz:
            return teq + (t0 - teq) * math.exp(-dt / tau)
        tt = tau * math.log((t0 - teq) / (tz - teq))  # cools to zero capacity, then q_in alone
        if tt >= dt:
            return teq + (t0 - teq) * math.exp(-dt / tau)
        return tz + q_in * (dt - tt) / c
    if q_in <= 0.0:
        return t0 + q_in * dt / c
    tt = (tz - t0) * c / q_in  # warms at q_in / C until the equipment starts to reject
    if tt >= dt:
        return t0 + q_in * dt / c
    return teq + (tz - teq) * math.exp(-(dt - tt) / tau)


def loop_temperature_step_vec(t0, q_in, y, a, b, c, dt: float):
    """:func:`loop_temperature_step` for arrays of loops (same pieces, same exactness)."""
    t0 = np.asarray(t0, float)
    rem_b = y * b
    pos = rem_b > 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        safe_rb = np.where(pos, rem_b, 1.0)
        safe_b = np.where(b > 0.0, b, 1.0)
        tz = np.where(pos, -a / safe_b, -np.inf)
        teq = (q_in - y * a) / safe_rb
        tau = c / safe_rb
        e = np.exp(-dt / tau)
        expo = teq + (t0 - teq) * e
        above = t0 >= tz
        if np.all(pos & above & (teq >= tz)):  # common case: one exponential for every loop
            return expo
        cap0 = a + b * t0
        flat = t0 + (q_in - y * np.maximum(cap0, 0.0)) * dt / c
        lin = t0 + q_in * dt / c
        # above tz, heading below it
        tt_dn = tau * np.log((t0 - teq) / (tz - teq))
        down = np.where(tt_dn >= dt, expo, tz + q_in * (dt - tt_dn) / c)
        # below tz, warming into it
        tt_up = (tz - t0) * c / np.where(q_in > 0, q_in, 1.0)
        up = np.where((q_in <= 0) | (tt_up >= dt), lin, teq + (tz - teq) * np.exp(-(dt - tt_up) / tau))
        out = np.where(above, np.where(teq >= tz, expo, down), up)
        return np.where(pos, out, flat)
