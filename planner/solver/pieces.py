"""Compiled form of the GPU-group power law and the exact server step through its kinks.

Issue 11's GPU thermal control (NVIDIA's software slowdown from the max operating temperature to
the hardware floor at the slowdown threshold, per GPU group at offsets around the server's mean die;
``physics`` branch: ``gpu_control.py`` / ``thermal.server_pair_step_pieces``) for the stepping
kernel. The kernel's scalar counterparts of :func:`.gpu_control.piece_tables`,
:func:`.gpu_control.group_state`, :func:`.gpu_control.lost_work_fraction` and
:func:`.thermal.server_pair_step_pieces`: one server at a time, the same arithmetic, plain arrays in
and out (a server's GPU groups as ``offsets`` / ``weights`` [G], its law as ``kinks`` [M = 2G] and
``A``, ``B``, ``thr`` [M + 1]).
"""
from __future__ import annotations

import math

from .jit import njit
from .serverstep import _illinois_1 as _illinois
from .serverstep import pair_modes_pre
from .serverstep import _tdie


@njit(refcount=False)
def piece_table_1(off, w, t_op, t_slow, p_hw, k, kinks, A, B, thr, xk, xs):
    """:func:`.gpu_control.piece_tables` for one server with die share ``k = R_die·P_dyn·u`` [K]:
    fills ``kinks`` [M] (sorted, +inf where padded), ``A``, ``B``, ``thr`` [M + 1]; ``xk`` [M],
    ``xs`` [G] are scratch. Returns the number of real kinks."""
    G = off.size
    M = 2 * G
    g = (1.0 - p_hw) / (t_slow - t_op)
    n_fin = 0
    for q in range(G):
        if w[q] > 0.0:
            xs[q] = t_op - off[q] - k
            xk[n_fin] = xs[q]
            xk[n_fin + 1] = t_op - off[q] + (1.0 - p_hw * (1.0 + g * k)) / g
            n_fin += 2
        else:
            xs[q] = math.inf
    for j in range(n_fin, M):
        xk[j] = math.inf
    # insertion sort (M ≤ 2·GPU_OFFSET_GROUPS)
    for a in range(1, n_fin):
        v = xk[a]
        b = a - 1
        while b >= 0 and xk[b] > v:
            xk[b + 1] = xk[b]
            b -= 1
        xk[b + 1] = v
    den = 1.0 + g * k
    prev_p = 0.0
    prev_td = 0.0
    A[0] = 1.0
    B[0] = 0.0
    for j in range(M):
        if j < n_fin:
            x = xk[j]
            pb = 0.0
            for q in range(G):
                if w[q] > 0.0:
                    pg = (1.0 - g * (x + off[q] - t_op)) / den
                    pg = p_hw if pg < p_hw else (1.0 if pg > 1.0 else pg)
                    pb += w[q] * pg
            td = x + k * pb
            kinks[j] = td
            if j >= 1:
                d_td = td - prev_td
                slope = -(pb - prev_p) / d_td if d_td > 1e-12 else 0.0
                B[j] = slope
                A[j] = prev_p + slope * prev_td
            prev_p, prev_td = pb, td
        else:
            kinks[j] = math.inf
    # beyond the last real kink: every group at the hardware-slowdown floor; padding repeats it
    for j in range(n_fin, M + 1):
        A[j] = p_hw if n_fin > 0 else 1.0
        B[j] = 0.0
    thr[0] = 0.0
    for j in range(1, M + 1):
        if j >= n_fin:
            thr[j] = 1.0 if n_fin > 0 else 0.0
        else:
            s = 0.0
            for q in range(G):
                if w[q] > 0.0 and xs[q] <= xk[j - 1]:
                    s += w[q]
            thr[j] = s
    return n_fin


@njit(refcount=False)
def piece_of(td, kinks, heading_up):
    """:func:`.thermal.piece_index` of one server: kinks below ``td`` (on a kink, the piece the
    trajectory heads into)."""
    j = 0
    for x in kinks:
        if x < td or (heading_up and x == td):
            j += 1
    return j


#: Cubic start for the cube root on [0.1, 1] (least squares in relative error, ≤ 2 %) [-]
_CBRT_C = (0.34280505, 1.43581937, -1.34049303, 0.56928319)
#: Below this the cube root takes libm's pow (the polynomial start is fitted on [0.1, 1])
_CBRT_LO = 0.1


@njit(refcount=False)
def clock_of_power(p, alpha):
    """``p^(1/α)`` [-] (clock fraction of a GPU group at dynamic-power fraction ``p`` ∈ (0, 1]).

    For α = 3 (the default law) and ``p`` ≥ 0.1 (the hardware floor is 0.125) the cube root is a
    cubic start and two Halley steps, ``y ← y (y³ + 2p) / (2y³ + p)`` (cubic convergence: 2 % →
    ~1e-5 → ~1e-16; measured ≤ 4.5e-16 relative to ``p ** (1/3)`` over [0.1, 1], exact at 1 and
    0.125): plain arithmetic the compiler keeps in registers, ~2.5× faster than libm's pow, which
    was 11 % of the 10,000-server hot step. Otherwise libm's pow."""
    if alpha == 3.0 and p >= _CBRT_LO:
        y = _CBRT_C[0] + p * (_CBRT_C[1] + p * (_CBRT_C[2] + p * _CBRT_C[3]))
        y3 = y * y * y
        y = y * (y3 + 2.0 * p) / (2.0 * y3 + p)
        y3 = y * y * y
        return y * (y3 + 2.0 * p) / (2.0 * y3 + p)
    return p ** (1.0 / alpha)


@njit(refcount=False)
def hw_root(p_hw, alpha):
    """``p_hw^(1/α)``: the clock of a group at the hardware-slowdown floor [-] (0 without a floor)."""
    return clock_of_power(p_hw, alpha) if p_hw > 0.0 else 0.0


@njit(refcount=False)
def group_lost_and_hottest(td, pbar, off, w, t_op, t_slow, p_hw, k, alpha, p_out, t_out):
    """:func:`.gpu_control.group_state` and :func:`.gpu_control.lost_work_fraction` of one server at
    mean die ``td`` [°C] with mean power fraction ``pbar``: each group's power fraction ``p_out``
    and temperature ``t_out`` [G]; returns the share of demanded work not delivered [-]."""
    g = (1.0 - p_hw) / (t_slow - t_op)
    den = 1.0 + g * k
    x = td - k * pbar
    lost = 0.0
    root_hw = -1.0  # p_hw^(1/α), taken once when a group sits at the floor
    for q in range(off.size):
        pg = (1.0 - g * (x + off[q] - t_op)) / den
        pg = p_hw if pg < p_hw else (1.0 if pg > 1.0 else pg)
        p_out[q] = pg
        t_out[q] = x + off[q] + k * pg
        # the same terms without a pow per group and piece (pow was 16 % of the hot day's kernel):
        # a group at full clock loses nothing (1^(1/α) = 1 exactly), one at the floor takes the
        # floor's root (the same pow, once)
        if w[q] == 0.0 or pg == 1.0:
            continue
        if pg == p_hw and pg > 0.0:
            if root_hw < 0.0:
                root_hw = clock_of_power(p_hw, alpha)
            lost += w[q] * (1.0 - root_hw)
        else:
            lost += w[q] * (1.0 - (clock_of_power(pg, alpha) if pg > 0.0 else 0.0))
    return lost


@njit(refcount=False, inline="always")
def group_lost_1(td, pbar, off, w, t_op, g, inv_den, p_hw, k, alpha, root_hw):
    """The lost work of :func:`group_lost_and_hottest` alone (no group states stored), with the
    server's ``g`` and ``1 / (1 + g·k)`` and ``root_hw = p_hw^(1/α)`` taken once per step by the
    caller (a multiply for each group's divide: the same value to an ulp)."""
    x = td - k * pbar
    lost = 0.0
    for q in range(off.size):
        if w[q] == 0.0:
            continue
        pg = (1.0 - g * (x + off[q] - t_op)) * inv_den
        if pg >= 1.0:
            continue
        if pg <= p_hw:
            lost += w[q] * (1.0 - root_hw)
        else:
            lost += w[q] * (1.0 - clock_of_power(pg, alpha))
    return lost


@njit(refcount=False, inline="always")
def group_lost_vec(td, pbar, off, w, t_op, g, inv_den, p_hw, k, alpha, root_hw, sc):
    """:func:`group_lost_1` with scratch ``sc`` [G], the same bits. For α = 3 with the floor at or
    above :data:`_CBRT_LO` (every group's root in the band is :func:`clock_of_power`'s cubic start
    and two Halley steps) each group's term ``w·(1 − clock)`` is taken without a branch — full clock
    gives the clock 1, the floor ``root_hw``, both selected after the root is taken — in a loop the
    compiler vectorises (the groups' divides side by side), then summed in group order: a group at
    full clock or of weight 0 adds +0.0 to a sum that is +0.0 or more, as the skip did. Else
    :func:`group_lost_1`."""
    if not (alpha == 3.0 and p_hw >= _CBRT_LO):
        return group_lost_1(td, pbar, off, w, t_op, g, inv_den, p_hw, k, alpha, root_hw)
    x = td - k * pbar
    c0, c1, c2, c3 = _CBRT_C
    for q in range(off.size):
        pg = (1.0 - g * (x + off[q] - t_op)) * inv_den
        p = pg if pg > p_hw else p_hw
        p = p if p < 1.0 else 1.0
        y = c0 + p * (c1 + p * (c2 + p * c3))
        y3 = y * y * y
        y = y * (y3 + 2.0 * p) / (2.0 * y3 + p)
        y3 = y * y * y
        y = y * (y3 + 2.0 * p) / (2.0 * y3 + p)
        c = 1.0 if pg >= 1.0 else (root_hw if pg <= p_hw else y)
        sc[q] = w[q] * (1.0 - c)
    lost = 0.0
    for q in range(off.size):
        lost += sc[q]
    return lost


@njit(refcount=False, inline="always")
def group_state_1(td, pbar, off, t_op, g, inv_den, p_hw, k, p_out, t_out):
    """:func:`group_lost_and_hottest` without the lost work (its ``p_out``, ``t_out`` only: the
    step's end states need no ``p^(1/α)``), with the server's band slope ``g = (1 − p_hw) / (t_slow −
    t_op)`` and ``inv_den = 1 / (1 + g·k)`` from the caller (kept with its piece tables): no divide
    per call (a multiply for each group's divide: the same values to an ulp)."""
    x = td - k * pbar
    for q in range(off.size):
        pg = (1.0 - g * (x + off[q] - t_op)) * inv_den
        pg = p_hw if pg < p_hw else (1.0 if pg > 1.0 else pg)
        p_out[q] = pg
        t_out[q] = x + off[q] + k * pg


#: A server's cached piece propagator (:func:`pair_step_pieces_1`): key ``[u, piece, h]``, then
#: ``a11, a12, a21, a22, λ1, λ2, e^{λ1 h}, e^{λ2 h}, expm1(λ1 h), expm1(λ2 h), 1 / (λ1 − λ2)``
PC_LEN = 14


@njit(refcount=False, inline="always")
def piece_of_both(td, kinks):
    """:func:`piece_of` both ways in one pass: ``(kinks below td, kinks at or below td)`` (counts
    without a branch: the compiler vectorises the compares)."""
    lo = 0
    le = 0
    for q in range(kinks.size):
        x = kinks[q]
        lo += 1 if x < td else 0
        le += 1 if x <= td else 0
    return lo, le


@njit(refcount=False)
def pair_step_pieces_1(td, tp, t_cool, u, p_idle, p_dyn, r_d, r_p, c_d, c_p, kinks, A, B, thr, dt,
                       off, w, t_op, t_slow, p_hw, k_die, alpha, max_pieces=48, pc=None,
                       g_law=math.nan, inv_den=math.nan, root_hw=math.nan, sc=None, inv_rd=math.nan,
                       a12=math.nan, a21=math.nan, a22=math.nan):
    """:func:`.thermal.server_pair_step_pieces` for one server, with the lost work from the
    server's GPU groups (:func:`group_lost_1` at each piece's mean die):
    ``(td1, tp1, energy_j, throttled_s, lost_s, last piece)``.

    ``pc`` [:data:`PC_LEN`] (optional): the server's piece propagator kept between steps. A step
    that starts in the piece of the last one at the same utilisation and step length reuses its
    modes and exponentials (the same numbers, not recomputed: no sqrt, exp or expm1); a step that
    stays in its first piece stores them. The extremum test takes its log only when the extremum
    lies ahead (``ratio > 1``; at or below 1 its time is ≤ 0, as before). ``g_law``, ``inv_den``
    (``1 / (1 + g·k_die)``) and ``root_hw`` (``p_hw^(1/α)``) may be handed in (the same values,
    computed once per server and utilisation by the caller), else they are computed here. ``sc``
    [G] (optional): scratch for :func:`group_lost_vec` (without it, :func:`group_lost_1`).
    ``inv_rd``, ``a12``, ``a21``, ``a22``: :func:`.serverstep.pair_matrix_constants` of the server
    (the caller's, by kind; else computed here, once a call: taken in the piece loop, the compiler
    hoisted their six divides ahead of the cache test, paid at every step). The sixth value is the piece the step ended in
    (the end die lies in it unless it sits on its lower kink)."""
    m = kinks.size
    r_th = r_d + r_p
    pu = p_dyn * u
    rem = dt
    energy = thr_t = lost = 0.0
    if g_law != g_law:
        g_law = (1.0 - p_hw) / (t_slow - t_op)
    if inv_den != inv_den:
        inv_den = 1.0 / (1.0 + g_law * k_die)
    if root_hw != root_hw:
        root_hw = hw_root(p_hw, alpha)
    if inv_rd != inv_rd:
        # (serverstep.pair_matrix_constants' expressions)
        inv_rd, a12, a21, a22 = 1.0 / r_d, 1.0 / (r_d * c_d), 1.0 / (r_d * c_p), -(1.0 / r_d + 1.0 / r_p) / c_p
    for it in range(max_pieces):
        j, j_up = piece_of_both(td, kinks)
        p_now = p_idle + pu * (A[j] - B[j] * td)
        up = (p_now - (td - tp) / r_d) > 0.0
        if up:
            j = j_up
        k = pu * B[j]
        p0 = p_idle + pu * A[j]
        cached = False
        if pc is not None:
            cached = it == 0 and pc[0] == u and pc[1] == j and pc[2] == rem
        if cached:
            a11, m12, m21, m22, l1, l2, inv = pc[3], pc[4], pc[5], pc[6], pc[7], pc[8], pc[13]
        else:
            a11, m12, m21, m22, l1, l2 = pair_modes_pre(k, c_d, inv_rd, a12, a21, a22)
            inv = 1.0 / (l1 - l2)
        e_d = (t_cool + r_th * p0) / (1.0 + r_th * k)
        e_p = t_cool + r_p * (p0 - k * e_d)
        yd, yp = td - e_d, tp - e_p
        ad = (a11 * yd + m12 * yp - l2 * yd) * inv
        bd = yd - ad
        ap = (m21 * yd + m22 * yp - l2 * yp) * inv
        bp = yp - ap
        lo = kinks[j - 1] if j > 0 else -math.inf
        hi = kinks[j] if j < m else math.inf
        h = rem
        hit = False
        bound = 0.0
        if cached:
            e1r, e2r = pc[9], pc[10]
        else:
            e1r, e2r = math.exp(l1 * rem), math.exp(l2 * rem)
        if it < max_pieces - 1:
            # the extremum's ratio exceeds 1 only when num > den > 0 or num < den < 0 (else its exact
            # value, hence its rounding, is ≤ 1, or it is ±inf / NaN, whose time was never in (0, rem)):
            # the divide only then (the ratio is ≤ 1 at almost every hot step: no divide)
            num = -bd * l2
            den = ad * l1
            t_ext = -1.0
            if (den > 0.0 and num > den) or (den < 0.0 and num < den):
                ratio = num / den
                if ratio > 1.0:
                    t_ext = math.log(ratio) / (l1 - l2)
            has_ext = (t_ext > 0) and (t_ext < rem)
            v2 = e_d + ad * e1r + bd * e2r
            v1 = _tdie(t_ext, ad, bd, e_d, l1, l2) if has_ext else v2
            t1 = t_ext if has_ext else rem
            out1 = (v1 > hi) or (v1 < lo)
            out2 = has_ext and (not out1) and ((v2 > hi) or (v2 < lo))
            hit = (out1 or out2) and rem > 0.0
            if hit:
                va = td if out1 else v1
                vb = v1 if out1 else v2
                bound = hi if vb > hi else lo
                ta = 0.0 if out1 else t1
                tb = t1 if out1 else rem
                root = _illinois(ad, bd, e_d, l1, l2, bound, ta, tb, va - bound, vb - bound)
                h = 0.0 if root < 0.0 else (rem if root > rem else root)
        if hit:
            e1, e2 = math.exp(l1 * h), math.exp(l2 * h)
            x1, x2 = math.expm1(l1 * h), math.expm1(l2 * h)
        elif cached:
            e1, e2, x1, x2 = e1r, e2r, pc[11], pc[12]
        else:
            e1, e2 = e1r, e2r
            x1, x2 = math.expm1(l1 * h), math.expm1(l2 * h)
            if pc is not None and it == 0:
                pc[0], pc[1], pc[2] = u, j, rem
                pc[3], pc[4], pc[5], pc[6], pc[7], pc[8] = a11, m12, m21, m22, l1, l2
                pc[9], pc[10], pc[11], pc[12], pc[13] = e1, e2, x1, x2, inv
        td_new = bound if hit else e_d + ad * e1 + bd * e2
        tp_new = e_p + ap * e1 + bp * e2
        int_t = e_d * h + ad * x1 / l1 + bd * x2 / l2
        energy += p0 * h - k * int_t
        thr_t += thr[j] * h
        if h > 0.0:
            tm = int_t / h
            # the mean die lies in the step's piece unless the piece was left (then a scan)
            jm = j if ((j == 0 or kinks[j - 1] < tm) and (j == m or tm <= kinks[j])) else piece_of(tm, kinks, False)
            if sc is not None:
                lost += h * group_lost_vec(tm, A[jm] - B[jm] * tm, off, w, t_op, g_law, inv_den, p_hw, k_die,
                                           alpha, root_hw, sc)
            else:
                lost += h * group_lost_1(tm, A[jm] - B[jm] * tm, off, w, t_op, g_law, inv_den, p_hw, k_die,
                                         alpha, root_hw)
        td, tp = td_new, tp_new
        rem = rem - h
        if not hit:
            break
    return td, tp, energy, thr_t, lost, j
