"""Server power and thermal state, with thermal slowdown, solved exactly per step.

The solver uses the two-node server (die + cold plate, :func:`server_pair_step`, below); the
one-node functions that follow are kept as the building block it generalises (and for the
steady state, which the split leaves unchanged: :func:`server_equilibrium` gives the die).

One-node form:

Each server (its GPUs lumped into one node) obeys ``C dT/dt = P(T) − (T − T_c)/R`` with

* ``P = P_idle + (P_max − P_idle) · u · s`` (RAPS power model, docs/physics.md),
* ``s(T) = clip(1 − g (T − T_slow), s_min, 1)``: proportional clock reduction above slowdown
  (NVIDIA's thermal slowdown lowers clocks in steps as the GPU passes 89 °C; *estimate* of the
  gain in :mod:`.defaults`),
* ``R = (T_design − T_c,rating) / P_max`` so the server sits at its design temperature at full
  power with the rating coolant (``planner.plan.RATING_AIR_INLET_C`` / ``RATING_LIQUID_SUPPLY_C``,
  weighted by the liquid fraction), and ``C = τ / R`` from the type's time constant.

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
    """Server electric power ``P_idle + (P_max − P_idle)·u·s`` [W] (RAPS, docs/physics.md)."""
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


# ----------------------------------------------------------------------------- two-node server
#
# die (GPU junction + package, C_d) —R_d— cold plate / heat-sink base (+ coolant-side mass, C_p) —R_p— coolant
#
#     C_d dT_d/dt = P(T_d) − (T_d − T_p)/R_d
#     C_p dT_p/dt = (T_d − T_p)/R_d − (T_p − T_c)/R_p
#
# with P(T_d) the same piecewise-linear slowdown power as above, acting on the DIE temperature.
# Per piece P = p0 − k·T_d (k = P_dyn·u·g in the band, 0 elsewhere), the system is linear with
# constant input: x(t) = x_eq + e^{At}(x0 − x_eq) with real distinct eigenvalues (A is similar to a
# symmetric negative-definite matrix: an RC ladder), so T_d(t) = e_d + α e^{λ1 t} + β e^{λ2 t}.
# Such a sum has at most one extremum, so the first crossing of a kink is found on at most two
# monotone sub-intervals (exact to root-finding precision, ~1e-12 s).


def split_server(r_th, tau, share=None, tau_die=None):
    """Die / plate split of a server's lumped ``R`` [K/W] and time constant ``τ`` [s].

    ``R_d = share·R``, ``R_p = R − R_d`` (the steady state at any power is unchanged);
    ``C_d = τ_d / R_d`` with the die time constant ``τ_d`` (capped at ``0.1·share·τ``); ``C_p`` such
    that the slow eigenvalue of the pair is exactly ``−1/τ`` (the catalog time constant stays the
    dominant one). Returns ``(r_d, r_p, c_d, c_p)``.
    """
    from . import defaults as d
    share = d.DIE_RESISTANCE_SHARE if share is None else share
    tau_die = d.DIE_TIME_CONSTANT_S if tau_die is None else tau_die
    r_th, tau = np.asarray(r_th, float), np.asarray(tau, float)
    r_d = share * r_th
    r_p = r_th - r_d
    tau_d = np.minimum(tau_die, 0.1 * share * tau)
    c_d = tau_d / r_d
    a = 1.0 / tau_d
    g_d, g_p = 1.0 / r_d, 1.0 / r_p
    # det(A + I/τ) = 0 solved for 1/C_p
    inv_cp = (1.0 / tau - a) / tau / ((g_d + g_p) / tau - a * g_p)
    return r_d, r_p, c_d, 1.0 / inv_cp


def pair_modes(k, r_d, r_p, c_d, c_p):
    """Matrix entries and eigenvalues of the pair at die-power slope ``k`` [W/K]:
    ``(a11, a12, a21, a22, λ1, λ2)`` with λ1 the slow one (λ2 < λ1 < 0)."""
    a11 = -(1.0 / r_d + k) / c_d
    a12 = 1.0 / (r_d * c_d)
    a21 = 1.0 / (r_d * c_p)
    a22 = -(1.0 / r_d + 1.0 / r_p) / c_p
    tr = a11 + a22
    det = a11 * a22 - a12 * a21
    l2 = 0.5 * tr - np.sqrt(np.maximum(0.25 * tr * tr - det, 0.0))
    l1 = det / l2
    return a11, a12, a21, a22, l1, l2


def pair_step_response(td0, tp0, tc, p, r_d, r_p, c_d, c_p, t):
    """Analytic die and plate temperatures [°C] at times ``t`` [s] for constant power ``p`` [W] and
    coolant ``tc`` [°C] from ``(td0, tp0)`` (no slowdown): the two-exponential solution."""
    a11, a12, a21, a22, l1, l2 = pair_modes(0.0, r_d, r_p, c_d, c_p)
    e_d = tc + (r_d + r_p) * p
    e_p = tc + r_p * p
    yd, yp = td0 - e_d, tp0 - e_p
    inv = 1.0 / (l1 - l2)
    ad = (a11 * yd + a12 * yp - l2 * yd) * inv
    ap = (a21 * yd + a22 * yp - l2 * yp) * inv
    t = np.asarray(t, float)
    e1, e2 = np.exp(l1 * t), np.exp(l2 * t)
    return e_d + ad * e1 + (yd - ad) * e2, e_p + ap * e1 + (yp - ap) * e2


def pair_propagator(k, r_d, r_p, c_d, c_p, dt):
    """``e^{A·dt}`` entries ``(f11, f12, f21, f22)`` and the die's integral row
    ``∫_0^dt (e^{As})_{1·} ds = (g1, g2)`` for die-power slope ``k``."""
    a11, a12, a21, a22, l1, l2 = pair_modes(k, r_d, r_p, c_d, c_p)
    inv = 1.0 / (l1 - l2)
    e1, e2 = np.exp(l1 * dt), np.exp(l2 * dt)
    m1 = (e1 - e2) * inv  # e^{At} = m1·A + m0·I (Putzer / Sylvester, 2×2)
    m0 = (l1 * e2 - l2 * e1) * inv
    i1, i2 = np.expm1(l1 * dt) / l1, np.expm1(l2 * dt) / l2
    n1 = (i1 - i2) * inv  # ∫e^{As} ds = n1·A + n0·I
    n0 = (l1 * i2 - l2 * i1) * inv
    return (m1 * a11 + m0, m1 * a12, m1 * a21, m1 * a22 + m0), (n1 * a11 + n0, n1 * a12)


def _illinois(f, a, b, fa, fb, iters=60, tol=1e-11):
    """Vectorised Illinois (modified regula falsi) root of monotone ``f`` on ``[a, b]`` with
    ``fa·fb < 0``; returns the root [s]."""
    a, b, fa, fb = (np.array(x, float) for x in (a, b, fa, fb))
    side = np.zeros(a.shape, np.int8)
    c = a
    for _ in range(iters):
        c = (a * fb - b * fa) / (fb - fa)
        fc = f(c)
        left = fc * fa > 0  # root in [c, b]
        b_new = np.where(left, b, c)
        a_new = np.where(left, c, a)
        fb_new = np.where(left, fb, fc)
        fa_new = np.where(left, fc, fa)
        # Illinois: halve the retained end's value when the same end is kept twice
        fb_new = np.where(left & (side == 1), 0.5 * fb_new, fb_new)
        fa_new = np.where(~left & (side == -1), 0.5 * fa_new, fa_new)
        side = np.where(left, 1, -1).astype(np.int8)
        a, b, fa, fb = a_new, b_new, fa_new, fb_new
        if np.all((np.abs(fc) < 1e-12) | (b - a < tol)):
            break
    return c


def _pair_piece(td, tp, e_d, e_p, modes, lo, hi, rem, search):
    """One linear piece of the die/plate pair from ``(td, tp)`` towards its equilibrium
    ``(e_d, e_p)`` [°C] with ``modes`` (:func:`pair_modes`), for ``rem`` [s] or until the die first
    leaves ``[lo, hi]`` [°C] (only where ``search``: the last allowed piece runs to its end).

    The die path ``T_d(t) = e_d + a·e^{λ1 t} + b·e^{λ2 t}`` has at most one extremum, so it is
    monotone on ``[0, t_ext]`` and ``[t_ext, rem]``; the first sub-interval whose end lies outside
    the band holds the crossing, found by Illinois. Returns ``(td1, tp1, h, int_t, hit)``: end state,
    time spent [s], ``∫T_d dt`` over it [K·s] and where the piece ended on a band edge.
    """
    a11, a12, a21, a22, l1, l2 = modes
    yd, yp = td - e_d, tp - e_p
    inv = 1.0 / (l1 - l2)
    ad = (a11 * yd + a12 * yp - l2 * yd) * inv
    bd = yd - ad
    ap = (a21 * yd + a22 * yp - l2 * yp) * inv
    bp = yp - ap

    def tdie(t, ad=ad, bd=bd, e_d=e_d, l1=l1, l2=l2):
        return e_d + ad * np.exp(l1 * t) + bd * np.exp(l2 * t)
    h = rem
    hit = np.zeros(td.shape, bool)
    if search:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = -bd * l2 / (ad * l1)
            t_ext = np.where(ratio > 0, np.log(np.where(ratio > 0, ratio, 1.0)) / (l1 - l2), -1.0)
        has_ext = (t_ext > 0) & (t_ext < rem)
        t1 = np.where(has_ext, t_ext, rem)
        v1 = tdie(t1)
        v2 = tdie(rem)
        out1 = (v1 > hi) | (v1 < lo)
        out2 = has_ext & ~out1 & ((v2 > hi) | (v2 < lo))
        hit = (out1 | out2) & (rem > 0.0)
        if hit.any():
            idx = np.flatnonzero(hit)
            o1 = out1[idx]
            va = np.where(o1, td[idx], v1[idx])
            vb = np.where(o1, v1[idx], v2[idx])
            bound = np.where(vb > hi[idx], hi[idx], lo[idx])
            ta = np.where(o1, 0.0, t1[idx])
            tb = np.where(o1, t1[idx], rem[idx])
            sub = (ad[idx], bd[idx], e_d[idx], l1[idx], l2[idx])

            def g(t, sub=sub, bound=bound):
                return tdie(t, *sub) - bound
            root = _illinois(g, ta, tb, va - bound, vb - bound)
            h = rem.copy()
            h[idx] = np.clip(root, 0.0, rem[idx])
    e1, e2 = np.exp(l1 * h), np.exp(l2 * h)
    td_new = e_d + ad * e1 + bd * e2
    tp_new = e_p + ap * e1 + bp * e2
    if hit.any():
        td_new[idx] = bound  # exactly on the kink: the next piece starts from it
    int_t = e_d * h + ad * np.expm1(l1 * h) / l1 + bd * np.expm1(l2 * h) / l2
    return td_new, tp_new, h, int_t, hit


def server_pair_step(td0, tp0, t_cool, u, p_idle, p_dyn, r_d, r_p, c_d, c_p, t_slow, gain, min_clock, dt,
                     max_pieces=8):
    """Exact step of the two-node server with slowdown on the die, inputs frozen over ``dt``.

    Returns ``(td1, tp1, energy_j, throttled_s, lost_clock_s)`` like :func:`server_step`.
    """
    td = np.array(td0, dtype=float, copy=True)
    shape = td.shape
    tp = np.array(np.broadcast_to(np.asarray(tp0, float), shape), copy=True)
    args = [np.asarray(x, float) for x in (t_cool, u, p_idle, p_dyn, r_d, r_p, c_d, c_p, t_slow)]
    t_cool, u, p_idle, p_dyn, r_d, r_p, c_d, c_p, t_slow = (np.broadcast_to(x, shape) for x in args)
    r_th = r_d + r_p
    t_floor = t_slow + (1.0 - min_clock) / gain
    pu = p_dyn * u
    kb = pu * gain
    p_a = p_idle + pu
    p_b0 = p_idle + pu * (1.0 + gain * t_slow)
    p_c = p_idle + pu * min_clock
    modes0 = pair_modes(0.0, r_d, r_p, c_d, c_p)
    modes_b = pair_modes(kb, r_d, r_p, c_d, c_p)
    rem = np.full(shape, float(dt))
    energy = np.zeros(shape)
    thr = np.zeros(shape)
    lost = np.zeros(shape)
    for it in range(max_pieces):
        # piece from the die temperature; on a kink, the one the trajectory heads into
        s = np.clip(1.0 - gain * (td - t_slow), min_clock, 1.0)
        up = (p_idle + pu * s - (td - tp) / r_d) > 0.0
        piece = np.where(up, (td >= t_slow).view(np.int8) + (td >= t_floor).view(np.int8),
                         (td > t_slow).view(np.int8) + (td > t_floor).view(np.int8))
        in_b = piece == 1
        in_c = piece == 2
        k = np.where(in_b, kb, 0.0)
        p0 = np.where(in_b, p_b0, np.where(in_c, p_c, p_a))
        a11, a12, a21, a22, l1, l2 = (np.where(in_b, xb, x0) for xb, x0 in zip(modes_b, modes0))
        e_d = (t_cool + r_th * p0) / (1.0 + r_th * k)
        e_p = t_cool + r_p * (p0 - k * e_d)
        lo = np.where(in_b, t_slow, np.where(in_c, t_floor, -np.inf))
        hi = np.where(in_b, t_floor, np.where(in_c, np.inf, t_slow))
        td_new, tp_new, h, int_t, hit = _pair_piece(td, tp, e_d, e_p, (a11, a12, a21, a22, l1, l2), lo, hi, rem,
                                                    it < max_pieces - 1)
        energy += np.where(in_b, p_b0 * h - kb * int_t, p0 * h)
        thr += (piece > 0) * h
        lost += np.where(in_b, gain * (int_t - t_slow * h), in_c * ((1.0 - min_clock) * h))
        td, tp = td_new, tp_new
        rem = rem - h
        if not hit.any():
            break
    return td, tp, energy, thr, lost


# ----------------------------------------------------------------------------- GPU groups
#
# With the GPUs of a server resolved into groups at offsets δ_g around the server's mean die
# temperature (:mod:`.gpu_control`), the die power is P = P_idle + P_dyn·u·(A_j − B_j·T_d) in piece j
# of a sorted kink list: still piecewise linear, so the same exact step applies with more pieces.


def piece_index(td, kinks, heading_up=None):
    """Piece of each server's law at die temperature ``td``: the number of its kinks below ``td``
    (on a kink: the piece the trajectory heads into, ``heading_up`` bool array; None: below)."""
    below = (kinks < td[:, None]).sum(axis=1)
    if heading_up is None:
        return below
    return np.where(heading_up, (kinks <= td[:, None]).sum(axis=1), below)


def piece_power_fraction(td, kinks, A, B):
    """Mean dynamic-power fraction of each server's GPUs at die temperature ``td`` [°C] [-]
    (continuous across kinks)."""
    rows = np.arange(td.size)
    j = piece_index(td, kinks)
    return A[rows, j] - B[rows, j] * td


def server_pair_step_pieces(td0, tp0, t_cool, u, p_idle, p_dyn, r_d, r_p, c_d, c_p, kinks, A, B, thr, dt,
                            lost_rate=None, max_pieces=48):
    """Exact step of two-node servers whose die power is piecewise linear in the die temperature.

    Per server: ``kinks`` [n × M] sorted (padded with +inf), and per piece ``A``, ``B``, ``thr``
    [n × (M+1)]: dynamic-power fraction ``A − B·T_d`` and share of GPUs below full clock
    (:func:`.gpu_control.piece_table`). Within a piece the pair is linear with constant input and
    solved as :func:`server_pair_step` does; kink crossings are found exactly (Illinois on
    monotone sub-intervals). ``lost_rate(T_mean, idx)`` [-] gives the share of demanded work not
    delivered at a piece's mean die temperature (nonlinear in T: clock = power^{1/α}; the mean over
    each piece's sub-interval is used).

    Returns ``(td1, tp1, energy_j, throttled_s, lost_s)``: throttled time weighted by the share of
    GPUs throttled [s], lost work as ``u ·`` time [s].
    """
    td = np.array(td0, dtype=float, copy=True)
    n = td.size
    tp = np.array(np.broadcast_to(np.asarray(tp0, float), td.shape), copy=True)
    t_cool, u, p_idle, p_dyn, r_d, r_p, c_d, c_p = (np.broadcast_to(np.asarray(x, float), td.shape)
                                                    for x in (t_cool, u, p_idle, p_dyn, r_d, r_p, c_d, c_p))
    rows = np.arange(n)
    m = kinks.shape[1]
    r_th = r_d + r_p
    pu = p_dyn * u
    rem = np.full(n, float(dt))
    energy = np.zeros(n)
    thr_t = np.zeros(n)
    lost = np.zeros(n)
    for it in range(max_pieces):
        p_now = p_idle + pu * piece_power_fraction(td, kinks, A, B)
        up = (p_now - (td - tp) / r_d) > 0.0
        j = piece_index(td, kinks, up)
        k = pu * B[rows, j]
        p0 = p_idle + pu * A[rows, j]
        a11, a12, a21, a22, l1, l2 = pair_modes(k, r_d, r_p, c_d, c_p)
        e_d = (t_cool + r_th * p0) / (1.0 + r_th * k)
        e_p = t_cool + r_p * (p0 - k * e_d)
        lo = np.where(j > 0, kinks[rows, np.maximum(j - 1, 0)], -np.inf)
        hi = np.where(j < m, kinks[rows, np.minimum(j, m - 1)], np.inf)
        td_new, tp_new, h, int_t, hit = _pair_piece(td, tp, e_d, e_p, (a11, a12, a21, a22, l1, l2), lo, hi, rem,
                                                    it < max_pieces - 1)
        energy += p0 * h - k * int_t
        thr_t += thr[rows, j] * h
        if lost_rate is not None:
            live = h > 0.0
            if live.any():
                lost[live] += h[live] * lost_rate(int_t[live] / h[live], rows[live])
        td, tp = td_new, tp_new
        rem = rem - h
        if not hit.any():
            break
    return td, tp, energy, thr_t, lost


def server_equilibrium_pieces(t_cool, u, p_idle, p_dyn, r_th, kinks, A, B):
    """Steady die temperature [°C] of servers with a piecewise-linear power law (:mod:`.gpu_control`).

    In piece j the steady state is ``T* = (T_c + R(P_idle + P_dyn·u·A_j)) / (1 + R·P_dyn·u·B_j)``;
    the right-hand side is strictly decreasing in T, so exactly one piece holds its own T*.
    """
    t_cool, u, p_idle, p_dyn, r_th = (np.broadcast_to(np.asarray(x, float), (kinks.shape[0],))
                                      for x in (t_cool, u, p_idle, p_dyn, r_th))
    pu = (p_dyn * u)[:, None]
    cand = (t_cool[:, None] + r_th[:, None] * (p_idle[:, None] + pu * A)) / (1.0 + r_th[:, None] * pu * B)
    lo = np.concatenate([np.full((kinks.shape[0], 1), -np.inf), kinks], axis=1)
    hi = np.concatenate([kinks, np.full((kinks.shape[0], 1), np.inf)], axis=1)
    ok = (cand >= lo - 1e-9) & (cand <= hi + 1e-9)
    j = np.argmax(ok, axis=1)
    return cand[np.arange(kinks.shape[0]), j]
