"""The compiled GPU-group power law and the exact server step through its kinks
(planner/solver/pieces.py), against an independent evaluation of the group law and solve_ivp."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from planner.solver.pieces import group_lost_and_hottest, pair_step_pieces_1, piece_of, piece_table_1

T_SLOW, T_OP, P_HW, ALPHA = 89.0, 87.0, 0.125, 3.0
#: a rack-scale server's eight GPU groups (offsets around the mean die [K], equal weights) and one
#: padded slot
OFF = np.array([-1.6, -1.1, -0.6, -0.1, 0.1, 0.6, 1.1, 1.6, 0.0])
W = np.array([0.125] * 8 + [0.0])
SERVER = dict(p_idle=33000.0, p_dyn=99000.0, r_d=1.377e-4, r_p=2.066e-4, c_d=4356.0, c_p=68069.0)


def _group_law(x, k):
    """Each group's power fraction at the server's common variable x (NVIDIA software slowdown from
    T_op to the hardware floor at T_slow, each group at its own temperature x + δ + K·p)."""
    g = (1.0 - P_HW) / (T_SLOW - T_OP)
    return np.clip((1.0 - g * (x + OFF - T_OP)) / (1.0 + g * k), P_HW, 1.0)


def _pbar(td, k):
    """Mean power fraction at mean die td, by bisection on td = x + K·p̄(x) (increasing in x)."""
    lo, hi = td - k - 1.0, td + 1.0
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        if mid + k * float(W @ _group_law(mid, k)) < td:
            lo = mid
        else:
            hi = mid
    x = 0.5 * (lo + hi)
    return float(W @ _group_law(x, k)), x


def _same_bits(a, b):
    """The same float64 bits, or both NaN (a NaN's sign and payload are not part of the result)."""
    a, b = np.float64(a), np.float64(b)
    return bool(np.isnan(a) and np.isnan(b)) or a.view(np.int64) == b.view(np.int64)


def _table(k):
    M = 2 * OFF.size
    out = np.zeros(M), np.zeros(M + 1), np.zeros(M + 1), np.zeros(M + 1)
    n = piece_table_1(OFF, W, T_OP, T_SLOW, P_HW, k, *out, np.zeros(M), np.zeros(OFF.size))
    return n, out


@pytest.mark.parametrize("k", [0.0, 3.0, 13.6])
def test_piece_table_is_the_group_law(k):
    """Piecewise-linear p̄(T_d) from the table equals the group law at every die temperature from
    full clock to the hardware floor; 16 real kinks for 8 groups, sorted, padding at +inf; the
    share of GPUs below full clock rises to 1."""
    n, (kinks, A, B, thr) = _table(k)
    assert n == 16 and np.all(np.diff(kinks[:n]) > 0) and np.all(np.isinf(kinks[n:]))
    for td in np.linspace(kinks[0] - 3.0, kinks[n - 1] + 3.0, 301):
        j = piece_of(td, kinks, False)
        want, x = _pbar(td, k)
        assert A[j] - B[j] * td == pytest.approx(want, abs=1e-9)
        below = float(W @ (_group_law(x, k) < 1.0 - 1e-12))
        if all(abs(td - kk) > 1e-6 for kk in kinks[:n]):
            assert thr[j] == pytest.approx(below, abs=1e-12)
    assert thr[0] == 0.0 and thr[n] == 1.0 and A[n] == P_HW


@pytest.mark.parametrize("t_cool, td0, dt", [(45.0, 80.0, 300.0), (48.0, 90.0, 60.0), (52.0, 86.0, 120.0),
                                             (40.0, 95.0, 30.0)])
def test_pair_step_through_the_kinks_matches_solve_ivp(t_cool, td0, dt):
    """One step of the die/plate pair with the group law (throttling in, through and out of the
    software band) against solve_ivp on the same ODE: end temperatures, energy, GPU-time below full
    clock and lost work (clock = power^(1/α) per group)."""
    u = 0.95
    s = SERVER
    k = s["r_d"] * s["p_dyn"] * u
    n, (kinks, A, B, thr) = _table(k)
    tp0 = td0 - 12.0

    def pbar(td):
        j = piece_of(td, kinks, False)
        return A[j] - B[j] * td

    def rhs(t, y):
        td, tp, _, _, _ = y
        p = s["p_idle"] + s["p_dyn"] * u * pbar(td)
        q_dp = (td - tp) / s["r_d"]
        pb, x = _pbar(td, k)
        groups = _group_law(x, k)
        return [(p - q_dp) / s["c_d"], (q_dp - (tp - t_cool) / s["r_p"]) / s["c_p"], p,
                float(W @ (groups < 1.0 - 1e-12)), float(W @ (1.0 - groups ** (1.0 / ALPHA)))]

    ref = solve_ivp(rhs, (0.0, dt), [td0, tp0, 0.0, 0.0, 0.0], method="LSODA", rtol=1e-9, atol=1e-8, max_step=0.25)
    got = pair_step_pieces_1(td0, tp0, t_cool, u, s["p_idle"], s["p_dyn"], s["r_d"], s["r_p"], s["c_d"], s["c_p"],
                             kinks, A, B, thr, dt, OFF, W, T_OP, T_SLOW, P_HW, k, ALPHA)
    td1, tp1, e, thr_s, lost_s, _ = got
    assert td1 == pytest.approx(ref.y[0, -1], abs=2e-5)
    assert tp1 == pytest.approx(ref.y[1, -1], abs=2e-5)
    assert e == pytest.approx(ref.y[2, -1], rel=1e-7)
    assert thr_s == pytest.approx(ref.y[3, -1], abs=0.3)  # the ODE's step function sampled at ≤ 0.25 s
    # lost work: the step evaluates the group law at each piece's mean die (as the numpy path does);
    # clock = power^(1/3) is concave, so that is an approximation — measured 0.002–3.9 % on these four
    assert lost_s == pytest.approx(ref.y[4, -1], rel=0.05, abs=1e-3)
    print(f"lost work {lost_s:.4f} vs {ref.y[4, -1]:.4f} GPU-s per GPU")


def test_groups_state_and_lost_work():
    """At a die in the software band the hottest group throttles most; lost work is Σ w (1 − p^{1/3})."""
    k = 10.0
    pb, x = _pbar(88.0, k)
    p, t = np.zeros(OFF.size), np.zeros(OFF.size)
    lost = group_lost_and_hottest(88.0, pb, OFF, W, T_OP, T_SLOW, P_HW, k, ALPHA, p, t)
    assert np.allclose(p, _group_law(x, k)) and np.allclose(t, x + OFF + k * p)
    assert lost == pytest.approx(float(W @ (1.0 - p ** (1.0 / 3.0))), rel=1e-12)
    assert math.isclose(float(W @ p), pb, rel_tol=1e-12)


@pytest.mark.parametrize("p_hw, alpha", [(P_HW, 3.0), (0.05, 3.0), (P_HW, 2.5)])
def test_lost_work_side_by_side_is_the_branching_loops_bits(p_hw, alpha):
    """group_lost_vec (the groups' roots side by side, no branch per group; the kernel's hot step)
    gives group_lost_1's bits (a branch per group) at every mean die of a dense grid through full
    clock, the software band and the hardware floor, at three die shares, on the kinks themselves
    and a nextafter either side, at a mean die or mean power of ±inf or NaN (NaN as NaN); a floor below the cubic start's range or α ≠ 3 takes the branching
    loop itself. And the whole server step: pair_step_pieces_1 with scratch equals it without, bit
    for bit."""
    from planner.solver.pieces import group_lost_1, group_lost_vec, hw_root

    g = (1.0 - p_hw) / (T_SLOW - T_OP)
    root_hw = hw_root(p_hw, alpha)
    sc = np.full(OFF.size, np.nan)
    for k in (0.0, 3.0, 13.6):
        inv_den = 1.0 / (1.0 + g * k)
        M = 2 * OFF.size
        kinks, A, B, thr = np.zeros(M), np.zeros(M + 1), np.zeros(M + 1), np.zeros(M + 1)
        n = piece_table_1(OFF, W, T_OP, T_SLOW, p_hw, k, kinks, A, B, thr, np.zeros(M), np.zeros(OFF.size))
        tds = np.concatenate([np.linspace(T_OP - 8.0, T_SLOW + k + 8.0, 20001), kinks[:n],
                              np.nextafter(kinks[:n], -np.inf), np.nextafter(kinks[:n], np.inf)])
        cases = [(td, A[piece_of(td, kinks, False)] - B[piece_of(td, kinks, False)] * td) for td in tds]
        # special values: a mean die of ±inf or NaN (its piece's A − B·td is NaN where B = 0) and a NaN or
        # infinite mean power: the loop's NaN stays NaN (no floor, no full clock), ±inf selects as it
        # branches; the weight-0 slot adds nothing either way
        cases += [(td, pb) for td in (math.nan, math.inf, -math.inf, 88.0)
                  for pb in (math.nan, math.inf, -math.inf, 0.5, 0.0)]
        for td, pbar in cases:
            want = group_lost_1(td, pbar, OFF, W, T_OP, g, inv_den, p_hw, k, alpha, root_hw)
            got = group_lost_vec(td, pbar, OFF, W, T_OP, g, inv_den, p_hw, k, alpha, root_hw, sc)
            assert _same_bits(got, want), (k, td, pbar, got, want)
    s = SERVER
    k = s["r_d"] * s["p_dyn"] * 0.95
    M = 2 * OFF.size
    kinks, A, B, thr = np.zeros(M), np.zeros(M + 1), np.zeros(M + 1), np.zeros(M + 1)
    piece_table_1(OFF, W, T_OP, T_SLOW, p_hw, k, kinks, A, B, thr, np.zeros(M), np.zeros(OFF.size))
    for t_cool, td0, dt in ((45.0, 80.0, 300.0), (48.0, 90.0, 60.0), (52.0, 86.0, 120.0), (40.0, 95.0, 30.0),
                            (47.0, 87.2, 1.0)):
        args = (td0, td0 - 12.0, t_cool, 0.95, s["p_idle"], s["p_dyn"], s["r_d"], s["r_p"], s["c_d"], s["c_p"],
                kinks, A, B, thr, dt, OFF, W, T_OP, T_SLOW, p_hw, k, alpha, 48, None, math.nan, math.nan, math.nan)
        a = np.array(pair_step_pieces_1(*args), float)
        b = np.array(pair_step_pieces_1(*args, sc), float)
        assert np.array_equal(a.view(np.int64), b.view(np.int64)), (a, b)


def test_piece_search_without_branches_counts_as_piece_of():
    """piece_of_both (compare counts, no branch) = piece_of both ways, on and either side of every kink."""
    from planner.solver.pieces import piece_of_both

    n, (kinks, _, _, _) = _table(3.0)
    for td in np.concatenate([np.linspace(kinks[0] - 2.0, kinks[n - 1] + 2.0, 2001), kinks[:n],
                              np.nextafter(kinks[:n], -np.inf), np.nextafter(kinks[:n], np.inf), [np.inf]]):
        assert piece_of_both(td, kinks) == (piece_of(td, kinks, False), piece_of(td, kinks, True))


def _bits(xs):
    return np.asarray(xs, np.float64).view(np.int64).tolist()


def test_pair_modes_from_the_kinds_constants_are_the_direct_bits():
    """The kernel's own functions: pair_modes_pre from pair_matrix_constants (as numpy arrays, the way
    step_levels takes them by kind, and compiled, pair_matrix_constants_1) gives _pair_modes_1's
    bits, and both the pre-refactor expressions' (thermal.pair_modes, the numpy model the kernel was
    written from), for the demo's server models and random pairs, at die shares from 0 through the
    software band's."""
    from planner.solver.serverstep import _pair_modes_1, pair_matrix_constants, pair_matrix_constants_1, pair_modes_pre
    from planner.solver.thermal import pair_modes

    rng = np.random.default_rng(12)
    n = 400
    r_d = np.concatenate([[SERVER["r_d"]], 10.0 ** rng.uniform(-5.0, -2.0, n)])
    r_p = np.concatenate([[SERVER["r_p"]], 10.0 ** rng.uniform(-5.0, -2.0, n)])
    c_d = np.concatenate([[SERVER["c_d"]], 10.0 ** rng.uniform(2.0, 5.0, n)])
    c_p = np.concatenate([[SERVER["c_p"]], 10.0 ** rng.uniform(3.0, 6.0, n)])
    by_kind = np.stack(pair_matrix_constants(r_d, r_p, c_d, c_p), axis=1)  # numpy, as step_levels
    for i in range(r_d.size):
        args = (float(r_d[i]), float(r_p[i]), float(c_d[i]), float(c_p[i]))
        assert _bits(pair_matrix_constants_1(*args)) == _bits(by_kind[i])
        for k in (0.0, 1.0, 13.6, float(rng.uniform(0.0, 20.0)), 1e-300):
            a11, l1, l2 = pair_modes_pre(k, args[2], *by_kind[i])
            got = (a11, *by_kind[i, 1:], l1, l2)
            assert _bits(got) == _bits(_pair_modes_1(k, *args)) == _bits(pair_modes(k, *args)), (i, k)


def test_server_step_with_the_kinds_matrix_constants_is_the_same_bits():
    """pair_step_pieces_1 handed its kind's StepLevels.rows ROW_INV_RD / ROW_A12 / ROW_A21 / ROW_A22 (as
    groupstep does) gives the bits it computes from the server's own r_d, r_p, c_d, c_p (all four NaN),
    over ten chained hot steps with the propagator cache and the scratch, for a server of every
    kind of the demo hall; one of the four NaN alone computes all four."""
    from planner.demo import build_demo_plan
    from planner.solver.model import compile_model
    from planner.solver.pieces import PC_LEN
    from planner.solver.serverstep import (IX_KIND, ROW_A12, ROW_A21, ROW_A22, ROW_C_DIE, ROW_C_PLATE, ROW_INV_RD,
                                           ROW_P_DYN, ROW_P_IDLE, ROW_R_PLATE, server_table, step_levels)

    plan = build_demo_plan(24)
    model = compile_model(plan, plan.scenarios[1], 3600.0)
    T = server_table(model)
    L = step_levels(model, T, 1.0, [1, 2])
    kind = L.ix[:, IX_KIND].astype(np.int64)
    _, first = np.unique(kind, return_index=True)
    M = 2 * OFF.size
    nan = math.nan
    checked = 0
    for lv in range(L.factors.size):
        R = L.rows[lv]
        for i in first:
            kk = kind[i]
            u = 0.95
            r_d = float(model.r_die[i])
            k_die = r_d * R[kk, ROW_P_DYN] * u
            kinks, A, B, thr = np.zeros(M), np.zeros(M + 1), np.zeros(M + 1), np.zeros(M + 1)
            piece_table_1(OFF, W, T_OP, T_SLOW, P_HW, k_die, kinks, A, B, thr, np.zeros(M), np.zeros(OFF.size))
            given = (R[kk, ROW_INV_RD], R[kk, ROW_A12], R[kk, ROW_A21], R[kk, ROW_A22])
            runs = []
            for consts in (given, (nan, nan, nan, nan), (given[0], given[1], nan, given[3])):
                pc, sc = np.full(PC_LEN, nan), np.zeros(OFF.size)
                td, tp, out = 86.0, 74.0, []
                for step in range(10):
                    r = pair_step_pieces_1(td, tp, 44.0 + 0.5 * step, u, R[kk, ROW_P_IDLE], R[kk, ROW_P_DYN], r_d,
                                           R[kk, ROW_R_PLATE], R[kk, ROW_C_DIE], R[kk, ROW_C_PLATE], kinks, A, B,
                                           thr, 1.0 * L.factors[lv] * (1 + step % 3 // 2), OFF, W, T_OP, T_SLOW,
                                           P_HW, k_die, ALPHA, 48, pc, nan, nan, nan, sc, *consts)
                    td, tp = r[0], r[1]
                    out.extend(r)
                runs.append(_bits(out))
            assert runs[0] == runs[1] == runs[2], (lv, i)
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("l1, l2", [(-1e-3, -0.5), (-2.5e-5, -3.1e-2), (-0.0, -1.0), (-0.25, -0.25), (0.5, -0.5)])
def test_extremum_prefilter_is_the_plain_divide(l1, l2):
    """extremum_time (the divide only when num > den > 0 or num < den < 0) against the plain
    ``ratio = num/den; ln(ratio)/(λ1 − λ2) if ratio > 1 else −1`` on special values — ±0, the smallest
    and largest subnormals, ±1 and a ulp either side, ratios of 1 ± an ulp, huge values, ±inf, NaN: the
    same time, bit for bit, but where den is ±0 and the divide's time is not finite, and the same answer to "is it in (0, rem)?"
    (a den of ±0 gives −1 against the divide's ±inf / NaN time)."""
    from planner.solver.pieces import extremum_time

    tiny, sub_max = 5e-324, np.nextafter(2.2250738585072014e-308, 0.0)
    base = [0.0, tiny, sub_max, 2.2250738585072014e-308, 1e-300, 0.5, 1.0, 1.5, 3.0, 1e300, 1.7976931348623157e308,
            math.inf, math.nan]
    vals = set()
    with np.errstate(over="ignore"):
        for v in base:
            for x in (v, float(np.nextafter(v, math.inf)), float(np.nextafter(v, -math.inf))):
                vals.update((x, -x))
    vals = sorted(vals, key=lambda x: (math.isnan(x), x))
    assert len(vals) > 50
    pairs = [(a, b) for a in vals for b in vals]
    for b in (1.0, 3.0, 0.7, tiny, sub_max, 1e300, -1.0, -3.0, -tiny, -1e300):  # ratio 1 and 1 ± ulp
        for a in (b, float(np.nextafter(b, math.inf)), float(np.nextafter(b, -math.inf))):
            pairs.append((a, b))
    for num, den in pairs:
        got = extremum_time(num, den, l1, l2)
        with np.errstate(all="ignore"):
            ratio = float(np.float64(num) / np.float64(den))
            want = float(np.float64(math.log(ratio)) / np.float64(l1 - l2)) if ratio > 1.0 else -1.0
        if den != 0.0 or math.isfinite(want):  # (den ±0: the divide's time is ±inf or NaN, here −1)
            assert _bits([got]) == _bits([want]), (num, den, got, want)
        for rem in (1e-9, 1.0, 300.0, 1e300):
            assert ((got > 0) and (got < rem)) == ((want > 0) and (want < rem)), (num, den, rem, got, want)
