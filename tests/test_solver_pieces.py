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
    and a nextafter either side; a floor below the cubic start's range or α ≠ 3 takes the branching
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
        for td in tds:
            j = piece_of(td, kinks, False)
            pbar = A[j] - B[j] * td
            want = group_lost_1(td, pbar, OFF, W, T_OP, g, inv_den, p_hw, k, alpha, root_hw)
            got = group_lost_vec(td, pbar, OFF, W, T_OP, g, inv_den, p_hw, k, alpha, root_hw, sc)
            assert np.float64(got).view(np.int64) == np.float64(want).view(np.int64), (k, td, got, want)
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
