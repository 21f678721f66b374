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


def fopdt_mean_weights(delay: float, dt: float, tau: float) -> tuple[float, float, float]:
    """Weights of the mean output over a step, ``ȳ = m_y·y[k] + m_old·c[k−n−1] + m_new·c[k−n]``
    (same pieces as :func:`fopdt_weights`: the older command for the first f·dt, then the newer)."""
    n, a, _, _ = fopdt_weights(delay, dt, tau)
    lag = delay / dt
    f = lag - n if lag - n >= 1e-9 else 0.0
    e1 = math.exp(-f * dt / tau)
    e2 = math.exp(-(1.0 - f) * dt / tau)
    k1, k2 = tau * (1.0 - e1), tau * (1.0 - e2)
    # ∫y = c_old·f·dt + (y0 − c_old)·k1 + c_new·(1 − f)·dt + (y_mid − c_new)·k2, y_mid = c_old + (y0 − c_old)·e1
    m_y = (k1 + e1 * k2) / dt
    m_old = (f * dt - k1 + (1.0 - e1) * k2) / dt
    m_new = ((1.0 - f) * dt - k2) / dt
    return m_y, m_old, m_new


class FopdtActuator:
    """One actuator: a :class:`DeadTimeBuffer`-style ring plus the exact lag of :func:`fopdt_weights`.

    y : float  Output at the start of the current step
    For the implicit loop step: :meth:`window` gives the mean and end output over the coming step
    as ``history + weight · (this step's command)``; the command enters within the step only when
    the dead time is shorter than the step (n = 0).
    """

    def __init__(self, delay: float, tau: float, dt: float, initial: float):
        self.n, self.a, self.w_old, self.w_new = fopdt_weights(delay, dt, tau)
        self.m_y, self.m_old, self.m_new = fopdt_mean_weights(delay, dt, tau)
        self.size = self.n + 2
        self.buf = [initial] * self.size
        self.k = 0
        self.y = initial

    def window(self, t0: float, h: float):
        """``(ȳ_hist, ω, y1_hist, ω1)``: mean and end output over the step are ``ȳ_hist + ω·c`` and
        ``y1_hist + ω1·c`` for this step's command ``c`` (``t0``, ``h`` [s] unused: fixed step)."""
        buf, size, k, n = self.buf, self.size, self.k, self.n
        old = buf[(k - n - 1) % size]
        if n == 0:  # the new command acts in this step, after the dead time
            return self.m_y * self.y + self.m_old * old, self.m_new, self.a * self.y + self.w_old * old, self.w_new
        new = buf[(k - n) % size]
        return (self.m_y * self.y + self.m_old * old + self.m_new * new, 0.0,
                self.a * self.y + self.w_old * old + self.w_new * new, 0.0)

    def commit(self, t0: float, h: float, command: float, y1: float) -> None:
        """Store this step's command and the output at the step end."""
        self.buf[self.k % self.size] = command
        self.k += 1
        self.y = y1

    def step(self, command: float) -> float:
        """Take the command of this step; return (and keep) the output at the end of the step.

        Same ring as :meth:`DeadTimeBuffer.push`, inlined: this runs once per loop and step."""
        buf, size, k = self.buf, self.size, self.k
        buf[k % size] = command
        self.k = k + 1
        self.y = y = (self.a * self.y + self.w_old * buf[(k - self.n - 1) % size]
                      + self.w_new * buf[(k - self.n) % size])
        return y


class FopdtHistory:
    """First-order lag with dead time for commands held over steps of any length (adaptive stepping).

    Keeps the commands since ``t − L`` as pieces ``(start time, command)``; over a step
    ``[t0, t0 + h)`` the actuator input is ``c(t − L)``: the pieces that overlap
    ``[t0 − L, t0 + h − L)``, then — if the step is longer than the dead time — this step's own
    command for the last ``h − L``. Each piece is an exact exponential (no discretisation error).

    y : float  Output at the start of the coming step
    """

    def __init__(self, delay: float, tau: float, initial: float):
        self.delay, self.tau = float(delay), float(tau)
        self.y = float(initial)
        self.t = [-math.inf]
        self.c = [float(initial)]

    def window(self, t0: float, h: float):
        """``(ȳ_hist, ω, y1_hist, ω1)`` as :meth:`FopdtActuator.window`, for a step of ``h`` [s] from ``t0``."""
        tau = self.tau
        a, b = t0 - self.delay, t0 + h - self.delay
        ts, cs = self.t, self.c
        i = len(ts) - 1
        while ts[i] > a:
            i -= 1
        y = self.y
        integ = 0.0
        pos = a
        end_hist = b if b < t0 else t0
        last = len(ts) - 1
        while pos < end_hist:
            seg_end = ts[i + 1] if i < last else math.inf
            if seg_end > end_hist:
                seg_end = end_hist
            d = seg_end - pos
            if d > 0.0:
                e = math.exp(-d / tau)
                u = cs[i]
                integ += u * d + (y - u) * tau * (1.0 - e)
                y = u + (y - u) * e
            pos = seg_end
            i += 1
        if b > t0:  # this step's command acts for its last h − L
            d = b - t0 if a < t0 else h
            e = math.exp(-d / tau)
            k1 = tau * (1.0 - e)
            return (integ + y * k1) / h, (d - k1) / h, y * e, 1.0 - e
        return integ / h, 0.0, y, 0.0

    def commit(self, t0: float, h: float, command: float, y1: float) -> None:
        """Store this step's command (from ``t0``) and the output at the step end."""
        self.t.append(t0)
        self.c.append(float(command))
        self.y = y1
        keep_from = t0 + h - self.delay  # the next window starts here
        ts = self.t
        j = 0
        while j + 1 < len(ts) and ts[j + 1] <= keep_from:
            j += 1
        if j:
            del self.t[:j]
            del self.c[:j]


class FopdtHistoryBank:
    """:class:`FopdtHistory` for an array of loops (adaptive steps), with :class:`FopdtBank`'s
    ``window`` / ``commit`` interface."""

    def __init__(self, delays, taus, initial):
        self.items = [FopdtHistory(float(L), float(t), float(y)) for L, t, y in zip(delays, taus, initial)]
        self.y = np.array(initial, dtype=float)

    def window(self, t0: float, h: float):
        w = np.array([a.window(t0, h) for a in self.items]).T
        return w[0], w[1], w[2], w[3]

    def commit(self, t0: float, h: float, commands, y1) -> None:
        for a, c, y in zip(self.items, np.asarray(commands, float).tolist(), np.asarray(y1, float).tolist()):
            a.commit(t0, h, c, y)
        self.y = np.asarray(y1, float)


class FopdtBank:
    """:class:`FopdtActuator` for an array of loops (numpy; one delay and lag per loop).

    delays, taus : array  Dead times and lags [s]; dt : float  Step [s]; initial : array  Outputs
    """

    def __init__(self, delays, taus, dt: float, initial):
        w = [fopdt_weights(float(L), dt, float(t)) for L, t in zip(delays, taus)]
        self.delays, self.taus, self.dt = np.asarray(delays, float), np.asarray(taus, float), dt
        self.n = np.array([x[0] for x in w], dtype=int)
        self.a, self.w_old, self.w_new = (np.array([x[i] for x in w]) for i in (1, 2, 3))
        self.size = int(self.n.max(initial=0)) + 2
        self.y = np.array(initial, dtype=float)
        self.buf = np.repeat(self.y[None, :], self.size, axis=0)
        self.cols = np.arange(self.y.size)
        self.k = 0

    def window(self, t0: float, h: float):
        """Vector form of :meth:`FopdtActuator.window` (fixed step)."""
        if not hasattr(self, "m_y"):
            w = [fopdt_mean_weights(float(L), self.dt, float(t)) for L, t in zip(self.delays, self.taus)]
            self.m_y, self.m_old, self.m_new = (np.array([x[i] for x in w]) for i in (0, 1, 2))
            self.now = self.n == 0
        k, size = self.k, self.size
        old = self.buf[(k - self.n - 1) % size, self.cols]
        new = np.where(self.now, 0.0, self.buf[(k - self.n) % size, self.cols])
        ybar = self.m_y * self.y + self.m_old * old + self.m_new * new
        y1 = self.a * self.y + self.w_old * old + self.w_new * new
        zero = np.zeros_like(ybar)
        return ybar, np.where(self.now, self.m_new, zero), y1, np.where(self.now, self.w_new, zero)

    def commit(self, t0: float, h: float, commands, y1) -> None:
        """Store this step's commands and the outputs at the step end."""
        self.buf[self.k % self.size] = commands
        self.k += 1
        self.y = np.asarray(y1, float)

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


# ----------------------------------------------------------------------------- compiled form
#
# :class:`FopdtHistory` for the stepping kernel: per loop a ring of timed command pieces in arrays
# (same pieces, same exact exponentials), one implementation for fixed and adaptive steps.

from typing import NamedTuple  # noqa: E402

from .jit import njit  # noqa: E402


class FopdtRing(NamedTuple):
    """Actuators of all loops: dead time ``delay`` and lag ``tau`` [s], output ``y`` at the start of
    the coming step [-], and each loop's command pieces since ``t − L``: start times ``ts`` [s] and
    commands ``cs`` [-] in a ring (``first``, ``count``)."""

    delay: np.ndarray
    tau: np.ndarray
    y: np.ndarray
    ts: np.ndarray
    cs: np.ndarray
    first: np.ndarray
    count: np.ndarray


def fopdt_ring(delays, taus, initial, min_step: float) -> FopdtRing:
    """Rings for loops with dead times ``delays`` and lags ``taus`` [s] at outputs ``initial`` [-],
    long enough for steps of at least ``min_step`` [s]."""
    delays = np.asarray(delays, float)
    m = delays.size
    cap = int(math.ceil(float(delays.max(initial=0.0)) / min_step)) + 4
    ts = np.full((m, cap), -np.inf)
    cs = np.zeros((m, cap))
    cs[:, 0] = np.asarray(initial, float)
    return FopdtRing(delays.copy(), np.asarray(taus, float).copy(), np.asarray(initial, float).copy(), ts, cs,
                     np.zeros(m, np.int64), np.ones(m, np.int64))


@njit(refcount=False, inline="always")
def _wrap(j, cap):
    """``j % cap`` for ``0 ≤ j < 2·cap`` (a ring slot: the first piece's slot plus an offset below the
    ring's length), without a divide."""
    return j - cap if j >= cap else j


@njit(refcount=False)
def ring_window(R, l, t0, h):
    """:meth:`FopdtHistory.window` of loop ``l``: ``(ȳ_hist, ω, y1_hist, ω1)``."""
    tau = R.tau[l]
    a = t0 - R.delay[l]
    b = t0 + h - R.delay[l]
    cap = R.ts.shape[1]
    f0 = R.first[l]
    last = R.count[l] - 1
    # the last piece starting by a (the oldest always does): a bisection over the pieces' starts
    # (ascending), the piece the backward scan from the newest stopped at
    lo, hi = 0, last
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if R.ts[l, _wrap(f0 + mid, cap)] > a:
            hi = mid - 1
        else:
            lo = mid
    i = lo
    y = R.y[l]
    integ = 0.0
    pos = a
    end_hist = b if b < t0 else t0
    while pos < end_hist:
        seg_end = R.ts[l, _wrap(f0 + i + 1, cap)] if i < last else math.inf
        if seg_end > end_hist:
            seg_end = end_hist
        d = seg_end - pos
        if d > 0.0:
            e = math.exp(-d / tau)
            u = R.cs[l, _wrap(f0 + i, cap)]
            integ += u * d + (y - u) * tau * (1.0 - e)
            y = u + (y - u) * e
        pos = seg_end
        i += 1
    if b > t0:  # this step's command acts for its last h − L
        d = b - t0 if a < t0 else h
        e = math.exp(-d / tau)
        k1 = tau * (1.0 - e)
        return (integ + y * k1) / h, (d - k1) / h, y * e, 1.0 - e
    return integ / h, 0.0, y, 0.0


@njit(refcount=False)
def ring_commit(R, l, t0, h, command, y1):
    """:meth:`FopdtHistory.commit` of loop ``l``."""
    cap = R.ts.shape[1]
    f0 = R.first[l]
    n = R.count[l]
    R.ts[l, _wrap(f0 + n, cap)] = t0
    R.cs[l, _wrap(f0 + n, cap)] = command
    n += 1
    R.y[l] = y1
    keep_from = t0 + h - R.delay[l]
    j = 0
    while j + 1 < n and R.ts[l, _wrap(f0 + j + 1, cap)] <= keep_from:
        j += 1
    R.first[l] = _wrap(f0 + j, cap)
    R.count[l] = n - j
