"""Solver building blocks against analytic solutions and hand-computed cases."""
from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from planner.solver import defaults as d
from planner.solver.control import fopdt_response, fopdt_ring, loop_temperature_step, ring_commit, ring_window
from planner.solver.energy import demand_charge_usd, energy_cost_usd, peak_15min_kw
from planner.solver.heat_rejection import dry_cooler_capacity_ratio
from planner.solver.loads import job_utilization_step_means, place_jobs, training_utilization_integral
from planner.solver.recirculation import intake_fractions, recirculation_matrix
from planner.solver.thermal import (clock_fraction, pair_modes, pair_step_response, server_equilibrium,
                                    server_pair_step, server_step, split_server)
from planner.plan import Job, Rack

# one DGX-H100-like node: 2.55 / 10.2 kW, 80 °C at full power with 22 °C inlet, τ = 90 s
P_IDLE, P_DYN = 2550.0, 7650.0
R_TH = (80.0 - 22.0) / 10200.0
TAU = 90.0
C_TH = TAU / R_TH
G, SMIN = d.THROTTLE_GAIN_PER_K, d.THROTTLE_MIN_CLOCK


def test_server_step_matches_analytic_exponential():
    """Idle → full load at constant coolant: T(t) = T∞ + (T0 − T∞) e^(−t/τ), within 0.05 K."""
    tc, dt = 22.0, 10.0
    t0 = tc + R_TH * P_IDLE
    t_inf = tc + R_TH * (P_IDLE + P_DYN)
    t = np.array([t0])
    worst = 0.0
    for k in range(1, 61):
        t, e, thr, lost = server_step(t, tc, 1.0, P_IDLE, P_DYN, R_TH, C_TH, 89.0, G, SMIN, dt)
        exact = t_inf + (t0 - t_inf) * math.exp(-k * dt / TAU)
        worst = max(worst, abs(t[0] - exact))
        assert e[0] == pytest.approx((P_IDLE + P_DYN) * dt)
        assert thr[0] == 0.0 and lost[0] == 0.0
    assert worst < 0.05
    assert worst < 1e-9  # exact, in fact


R_D, R_P, C_D, C_P = split_server(R_TH, TAU)


def test_server_split_keeps_steady_state_and_catalog_time_constant():
    """R_d + R_p = R (same steady state at any power); the slow mode is the catalog τ; the die's own
    R_d·C_d is the die time constant (1.5 s estimate, defaults)."""
    assert R_D + R_P == pytest.approx(R_TH, rel=1e-12)
    assert R_D == pytest.approx(d.DIE_RESISTANCE_SHARE * R_TH)
    assert R_D * C_D == pytest.approx(d.DIE_TIME_CONSTANT_S)
    *_, l1, l2 = pair_modes(0.0, R_D, R_P, C_D, C_P)
    assert -1.0 / l1 == pytest.approx(TAU, rel=1e-12)
    assert -1.0 / l2 < 0.5 * d.DIE_TIME_CONSTANT_S + 1.0  # the fast (die) mode, ~1 s


def test_server_pair_step_matches_analytic_two_exponential_solution():
    """Idle → full load at constant coolant, die and plate from their idle steady state. The analytic
    solution of the linear pair (derived by hand, not via the solver's matrix code):

        λ1,2 roots of λ² − tr(A)λ + det(A),   T_d(t) = T_d∞ + a e^{λ1 t} + b e^{λ2 t}
        a + b = T_d0 − T_d∞,   a λ1 + b λ2 = dT_d/dt(0) = (P − (T_d0 − T_p0)/R_d)/C_d

    within 0.05 K (in fact to rounding) at every step end."""
    tc, dt = 22.0, 10.0
    p0, p1 = P_IDLE, P_IDLE + P_DYN
    td0, tp0 = tc + R_TH * p0, tc + R_P * p0
    td_inf = tc + R_TH * p1
    a11, a22 = -1.0 / (R_D * C_D), -(1.0 / R_D + 1.0 / R_P) / C_P
    tr, det = a11 + a22, a11 * a22 - 1.0 / (R_D * C_D) / (R_D * C_P)
    l1 = 0.5 * tr + math.sqrt(0.25 * tr * tr - det)
    l2 = 0.5 * tr - math.sqrt(0.25 * tr * tr - det)
    slope0 = (p1 - (td0 - tp0) / R_D) / C_D
    a = (slope0 - l2 * (td0 - td_inf)) / (l1 - l2)
    b = (td0 - td_inf) - a
    td, tp = np.array([td0]), np.array([tp0])
    worst = 0.0
    for k in range(1, 61):
        td, tp, e, thr, lost = server_pair_step(td, tp, tc, 1.0, P_IDLE, P_DYN, R_D, R_P, C_D, C_P, 89.0, G, SMIN, dt)
        t = k * dt
        exact = td_inf + a * math.exp(l1 * t) + b * math.exp(l2 * t)
        worst = max(worst, abs(td[0] - exact))
        assert e[0] == pytest.approx(p1 * dt)
        assert thr[0] == 0.0 and lost[0] == 0.0
        assert pair_step_response(td0, tp0, tc, p1, R_D, R_P, C_D, C_P, t)[0] == pytest.approx(exact, abs=1e-9)
    assert worst < 0.05
    assert worst < 1e-9  # exact, in fact
    # the die leads: after 3 s it has covered far more of its rise than the slow mode alone would
    td3 = td_inf + a * math.exp(l1 * 3.0) + b * math.exp(l2 * 3.0)
    assert (td3 - td0) / (td_inf - td0) > 1.0 - math.exp(-3.0 / TAU) + 0.3


def _pair_rhs(tc, u):
    def f(_, y):
        s = clock_fraction(y[0], 89.0, G, SMIN)
        p = P_IDLE + P_DYN * u * s
        q_dp = (y[0] - y[1]) / R_D
        return [(p - q_dp) / C_D, (q_dp - (y[1] - tc) / R_P) / C_P, p, 1.0 - s]
    return f


def _time_above(rhs, y0, t_end, threshold, **options):
    """(time the first state spends above ``threshold`` over ``[0, t_end]`` [s], solution): the
    crossings located by a ``solve_ivp`` event (exact to the root finder, not sampled: integrating the
    indicator 1[T > threshold] as a state leaves the solver stepping over a discontinuity)."""
    def crosses(_, y):
        return y[0] - threshold
    sol = solve_ivp(rhs, (0.0, t_end), y0, events=crosses, **options)
    above, t_prev, total = y0[0] > threshold, 0.0, 0.0
    for t in [*sol.t_events[0], t_end]:
        total += (t - t_prev) if above else 0.0
        above, t_prev = not above, t
    return total, sol


def _compiled_pair_step(td, tp, tc, u, p_idle, p_dyn, r_d, r_p, c_d, c_p, t_slow, gain, smin, dt):
    """The stepping kernel's compiled one-server form of :func:`server_pair_step`, on 1-element arrays."""
    from planner.solver.serverstep import pair_step_1
    out = pair_step_1(float(td[0]), float(tp[0]), tc, u, p_idle, p_dyn, r_d, r_p, c_d, c_p, t_slow, gain, smin, dt)
    return tuple(np.array([x]) for x in out)


@pytest.mark.parametrize("step", [server_pair_step, _compiled_pair_step], ids=["numpy", "compiled"])
@pytest.mark.parametrize("td0,tp0,tc,u", [(60.0, 50.0, 40.0, 1.0),   # heats through slowdown into the floor
                                          (98.0, 70.0, 20.0, 1.0),   # cools from the floor back to full clock
                                          (85.0, 65.0, 33.0, 0.8),   # settles inside the proportional band
                                          (95.0, 75.0, 35.0, 1.0),   # settles in the band from above
                                          (92.0, 50.0, 40.0, 0.5)])  # die over slowdown, cold plate: down and back
def test_server_pair_step_crosses_kinks_exactly(td0, tp0, tc, u, step):
    """The two-node exact piecewise step (slowdown on the die) agrees with a tight solve_ivp of the
    same ODE (Radau, rtol = atol = 1e-12), including energy, time above slowdown and lost clock, over
    steps that cross the kinks (numpy form and the stepping kernel's compiled form); the reference's
    time above slowdown comes from its located crossings (event). Bounds ~3× the largest error over the cases (measured: time above 1.1e-10 s — the step's
    own root finding: DOP853 at 1e-12 gives the same —, temperatures 1.1e-13 K, energy 5.7e-15, lost
    clock 2.2e-13 s; were 0.1 s, 1e-4 K, 1e-6, 1e-4 / 1e-3 s against LSODA at 1e-10, whose own error
    is 3e-7 s / 4e-9 K)."""
    dt = 10.0
    td, tp = np.array([td0]), np.array([tp0])
    tot = np.zeros(3)
    for _ in range(12):
        td, tp, e, thr, lost = step(td, tp, tc, u, P_IDLE, P_DYN, R_D, R_P, C_D, C_P, 89.0, G, SMIN, dt)
        tot += [e[0], thr[0], lost[0]]
    above, ref = _time_above(_pair_rhs(tc, u), [td0, tp0, 0.0, 0.0], 12 * dt, 89.0, method="Radau",
                             rtol=1e-12, atol=1e-12)
    assert td[0] == pytest.approx(ref.y[0, -1], abs=5e-13)
    assert tp[0] == pytest.approx(ref.y[1, -1], abs=5e-13)
    assert tot[0] == pytest.approx(ref.y[2, -1], rel=2e-14)
    assert tot[1] == pytest.approx(above, abs=3.5e-10)
    assert tot[2] == pytest.approx(ref.y[3, -1], abs=7e-13)


def _piecewise_rhs(tc, u):
    def f(_, y):
        s = clock_fraction(y[0], 89.0, G, SMIN)
        p = P_IDLE + P_DYN * u * s
        return [(p - (y[0] - tc) / R_TH) / C_TH, p, u * (1.0 - s)]
    return f


@pytest.mark.parametrize("t0,tc,u", [(60.0, 40.0, 1.0),   # heats through slowdown into the floor
                                     (98.0, 20.0, 1.0),   # cools from the floor back to full clock
                                     (85.0, 33.0, 0.8),   # settles inside the proportional band
                                     (95.0, 35.0, 1.0)])  # settles in the band from above
def test_server_step_crosses_kinks_exactly(t0, tc, u):
    """The exact piecewise step agrees with a tight solve_ivp of the same ODE (Radau, rtol = atol =
    1e-12), including energy, time above slowdown (the reference's from its event-located crossings)
    and lost clock, over steps that cross the kinks. Bounds ~3× the largest error over the cases
    (measured: time above 7.5e-12 s, temperature 9.9e-14 K, energy 2.0e-14, lost clock 8.1e-12 s;
    were 0.6 s, 1e-4 K, 1e-6, 1e-4 / 1e-3 s)."""
    dt = 45.0
    t = np.array([t0])
    tot = np.zeros(3)
    for _ in range(8):
        t, e, thr, lost = server_step(t, tc, u, P_IDLE, P_DYN, R_TH, C_TH, 89.0, G, SMIN, dt)
        tot += [e[0], thr[0], lost[0]]
    above, ref = _time_above(_piecewise_rhs(tc, u), [t0, 0.0, 0.0], 8 * dt, 89.0, method="Radau",
                             rtol=1e-12, atol=1e-12)
    assert t[0] == pytest.approx(ref.y[0, -1], abs=5e-13)
    assert tot[0] == pytest.approx(ref.y[1, -1], rel=6e-14)
    assert tot[1] == pytest.approx(above, abs=2.5e-11)
    assert tot[2] == pytest.approx(ref.y[2, -1], abs=2.5e-11)


def test_throttled_equilibrium_hand_computed():
    """Coolant 35 °C at full load: unthrottled the GPU would sit at 35 + 58 = 93 °C. In the band,
    T = (P_idle + P_dyn(1 + g·89) + 35/R) / (1/R + P_dyn·g); s = 1 − g(T − 89)."""
    tc = 35.0
    expected = (P_IDLE + P_DYN * (1 + G * 89.0) + tc / R_TH) / (1 / R_TH + P_DYN * G)
    assert 89.0 < expected < 89.0 + (1 - SMIN) / G
    assert server_equilibrium(tc, 1.0, P_IDLE, P_DYN, R_TH, 89.0, G, SMIN) == pytest.approx(expected)
    t = np.array([60.0])
    for _ in range(100):
        t, *_ = server_step(t, tc, 1.0, P_IDLE, P_DYN, R_TH, C_TH, 89.0, G, SMIN, 30.0)
    assert t[0] == pytest.approx(expected, abs=1e-9)
    s = 1 - G * (expected - 89.0)
    # heat balance at equilibrium: P(s) = (T − Tc)/R
    assert P_IDLE + P_DYN * s == pytest.approx((expected - tc) / R_TH)


def _step_response(actuator_step, delay, dt, tau, t_step=100.0, t_end=400.0):
    times, out = [], []
    for k in range(int(t_end / dt)):
        t = k * dt
        times.append(t + dt)  # output at the end of the step
        out.append(actuator_step(1.0 if t >= t_step else 0.0))
    return np.array(times), np.array(out)


@pytest.mark.parametrize("delay,dt", [(90.0, 1.0), (90.0, 10.0), (25.0, 10.0), (7.3, 10.0), (33.0, 4.0)])
def test_fopdt_dead_time_is_exact(delay, dt):
    """A unit step in the (step-held) command at t = 100 s: nothing moves before t = 100 + L, then the
    sampled response equals 1 − e^(−(t − t0 − L)/τ) at every sample, for whole and fractional L/dt,
    in the stepping kernel's actuator ring (timed command pieces, each an exact exponential)."""
    tau = 20.0
    ring = fopdt_ring(np.array([delay, 0.0]), np.array([tau, 5.0]), np.zeros(2), dt)
    clock = [0.0]

    def ring_step(c):  # the integrator's use: window over the step, then commit this step's command
        t0 = clock[0]
        for l in range(2):
            _, _, y1h, om1 = ring_window(ring, l, t0, dt)
            ring_commit(ring, l, t0, dt, c, y1h + om1 * c)
        clock[0] = t0 + dt
        return ring.y[0]
    times, out = _step_response(ring_step, delay, dt, tau)
    exact = fopdt_response(times, 100.0, 1.0, tau, delay)
    assert np.max(np.abs(out - exact)) < 1e-12
    assert np.all(out[times <= 100.0 + delay] == 0.0)


def test_loop_step_linear_and_capacity_limited():
    """Removal y·max(a + bT, 0): exponential to T∞ = (Q/y − a)/b; with the actuator fraction fixed a
    warmer loop removes more (self-regulation); below zero capacity the loop warms at Q/C."""
    c, dt = 1e6, 60.0
    # no capacity dependence on T (b = 0): linear ramp
    assert loop_temperature_step(20.0, 1e5, 0.5, 1e5, 0.0, c, dt) == pytest.approx(20.0 + 5e4 * dt / c)
    ua, tp, q = 2e4, 15.0, 1e5
    for y in (1.0, 0.4):
        t_eq, tau = tp + q / (y * ua), c / (y * ua)
        got = loop_temperature_step(18.0, q, y, -ua * tp, ua, c, dt)
        assert got == pytest.approx(t_eq + (18.0 - t_eq) * math.exp(-dt / tau), rel=1e-12)
    # a dry cooler with the water below the dry bulb rejects nothing until the loop passes it: a ramp
    # from 10 °C reaches 15 °C at t = 5 K · C / Q = 50 s, then the exponential to T∞ = 25 °C (τ = 100 s).
    # Hand-computed, the step lands on it to rounding (measured 0; solve_ivp through the kink at rtol
    # 1e-11 is 1e-12 K off; the bound was 1e-6 K against that solve_ivp run)
    exact = 25.0 + (15.0 - 25.0) * math.exp(-(900.0 - 50.0) / 100.0)
    assert loop_temperature_step(10.0, q, 0.5, -ua * tp, ua, c, 900.0) == pytest.approx(exact, abs=1e-12)
    # cooling down to the zero-capacity temperature with no load: stops there
    assert loop_temperature_step(20.0, 0.0, 1.0, -ua * tp, ua, c, 1e6) == pytest.approx(tp, abs=1e-9)


def test_dry_cooler_capacity_follows_the_approach():
    assert dry_cooler_capacity_ratio(38.0, 32.0, 6.0) == pytest.approx(1.0)
    assert dry_cooler_capacity_ratio(38.0, 35.0, 6.0) == pytest.approx(0.5)
    assert dry_cooler_capacity_ratio(38.0, 40.0, 6.0) == 0.0


def test_training_load_has_structure_and_right_mean():
    """Ramp, iteration bursts (averaged per step), checkpoint dips; mean over a checkpoint period
    hand-computed for utilisation 0.8: bursts at u_hi = 0.8 / 0.88 for 80 % of each 6 s iteration and
    0.4·u_hi for the rest (mean 0.8) for 1710 s, then 90 s at 0.1."""
    d_c = 0.8 + 0.2 * 0.4
    period_mean = ((1800 - 90) * 0.8 + 90 * 0.1) / 1800
    total = float(training_utilization_integral(np.array([36000.0]), 0.8)[0])
    ramp_loss = 0.8 * 120 / 2  # the 120 s linear ramp loses half its area
    assert total == pytest.approx(20 * 1800 * period_mean - ramp_loss, rel=1e-9)
    job = Job(name="t", gpus=8, utilization=0.8, duration_s=7200.0, start_s=0.0)
    pl = place_jobs([job], np.array([8]), 7200.0)
    u = job_utilization_step_means(pl, np.arange(0, 7200, 10.0), 10.0)[0]
    assert u.min() >= 0 and u.max() <= 1.0
    assert u[0] < 0.1  # ramp
    assert u[(1800 - 60) // 10] == pytest.approx(0.1)  # inside the first checkpoint stall
    assert u[600 // 10] == pytest.approx(0.8, rel=0.15)  # running: 10 s step mean of 6 s bursts
    assert np.mean(u[60:170]) == pytest.approx(0.8, rel=0.01)  # whole minutes of bursts average to 0.8
    del d_c


def test_placement_first_fit_and_waiting():
    jobs = [Job(name="a", gpus=12, duration_s=100.0, start_s=0.0), Job(name="b", gpus=8, duration_s=50.0, start_s=10.0)]
    pl = place_jobs(jobs, np.array([8, 8]), 1000.0)
    assert pl.start_s[0] == 0.0 and pl.start_s[1] == 100.0  # b waits for a's GPUs
    m = pl.matrix.toarray()
    assert m[:, 0] == pytest.approx([1.0, 0.5]) and m.sum(axis=0)[1] == pytest.approx(1.0)


def test_recirculation_row_ends_and_containment():
    racks = [Rack(name=f"R{k}", x_m=0.3 + 0.6 * k, y_m=2.0, orientation="S") for k in range(5)]
    F = intake_fractions(racks, "none")
    assert F[0, 0] > F[2, 2] and F[4, 4] > F[2, 2]  # open row ends recirculate more
    assert F[2, 1] == F[2, 3] > 0
    D_open = recirculation_matrix(racks, np.full(5, 30000.0), "none").toarray()
    # the sparse Neumann series equals the closed form (I − F)⁻¹ F diag(1/ṁc_p) up to the entries
    # recirculation_matrix drops on purpose (< 1e-9 K/W: < 0.1 mK for a 40.8 kW rack)
    closed = np.linalg.solve(np.eye(5) - F, F) / 30000.0
    assert np.abs(D_open - closed).max() * 40800.0 < 1e-4
    D_hot = recirculation_matrix(racks, np.full(5, 30000.0), "hot").toarray()
    assert (D_open @ np.full(5, 40800.0)).max() > 3 * (D_hot @ np.full(5, 40800.0)).max()


def test_energy_cost_tou_and_demand_charge_hand_computed():
    prices = np.full(24, 0.10)
    prices[17] = 0.30
    e = np.zeros(24)
    e[3], e[17] = 3.6e6 * 10, 3.6e6 * 5  # 10 kWh at night, 5 kWh at 17:00
    assert energy_cost_usd(e, prices) == pytest.approx(1.0 + 1.5)
    minutes = np.arange(60) * 60.0
    kw = np.full(60, 100.0)
    kw[20:25] = 400.0  # a 5-minute spike in the 15:00–15:30 quarter → (10·100 + 5·400)/15 = 200 kW
    peaks = peak_15min_kw(minutes, kw, 0.0)
    assert peaks.max() == pytest.approx(200.0)
    assert demand_charge_usd(minutes, kw, np.zeros(60, int), 0.0, 18.0) == pytest.approx(3600.0)
    # one hour of a 30-day month is billed 1/720 of the monthly demand charge
    assert demand_charge_usd(minutes, kw, np.zeros(60, int), 0.0, 18.0, {0: 1 / 720}) == pytest.approx(5.0)


def test_month_fractions_and_local_hour_follow_daylight_saving():
    """America/Chicago springs forward at 02:00 on 9 March 2025: 6 h of elapsed time from midnight
    end at 07:00 local; the tariff hour and the CSV clock follow, as planner.weather does."""
    from datetime import datetime
    from planner.solver.ambient import local_hour, local_times, month_fractions
    start = datetime(2025, 3, 9, 0, 0)
    t = np.arange(0, 6 * 3600, 3600.0)
    assert local_hour(start, t, "America/Chicago").tolist() == [0, 1, 3, 4, 5, 6]
    assert local_hour(start, t, "America/Phoenix").tolist() == [0, 1, 2, 3, 4, 5]
    assert local_hour(start, t, "UTC-06:00").tolist() == [0, 1, 2, 3, 4, 5]
    assert local_times(start, [3 * 3600.0], "America/Chicago") == ["2025-03-09T04:00:00"]
    # fall back on 2 November: the 01:00 hour happens twice
    fall = local_hour(datetime(2025, 11, 2, 0, 0), np.arange(0, 4 * 3600, 3600.0), "America/Chicago")
    assert fall.tolist() == [0, 1, 1, 2]
    week = month_fractions(datetime(2025, 7, 2), np.arange(0, 7 * 86400, 60.0), 60.0, "America/Phoenix")
    assert week == {0: pytest.approx(7 / 31)}


def test_vectorised_loop_step_equals_scalar():
    """The many-loop path (numpy over loops) computes the same exact step as the scalar path."""
    from planner.solver.control import loop_temperature_step_vec
    rng = np.random.default_rng(7)
    n = 4000
    t0 = rng.uniform(10, 40, n)
    b = rng.choice([0.0, 1e4, 3e4], n)
    a = -b * 15.0 + rng.uniform(-2e5, 2e5, n)
    c = rng.uniform(3e5, 3e6, n)
    y = rng.choice([0.0, 0.3, 1.0], n) * rng.uniform(0.5, 1.0, n)
    q = rng.uniform(-1e4, 2e5, n)
    for dt in (1.0, 60.0, 600.0):
        vec = loop_temperature_step_vec(t0, q, y, a, b, c, dt)
        ref = np.array([loop_temperature_step(*x, dt) for x in zip(t0, q, y, a, b, c)])
        assert np.abs(vec - ref).max() < 1e-9


def test_integrator_actuator_path_is_exact_with_fractional_dead_time():
    """The fast integrator's own loop/actuator path: a CDU loop with fixed capacity, a load step the
    predictive controller sees L + τ = 40 s ahead, controller gain 0, dead time 25 s at 10 s steps
    (f = 0.5), exact forecast. The commands are the measured heat plus the foreseen rise; the actuator
    must follow the exact FOPDT response to them and the loop temperature the exact heat balance
    T[k+1] = T[k] + (Q[k] − ȳ[k]·cap·dt)/C with ȳ the actuator's mean over the step, to rounding."""
    from datetime import datetime
    from planner.plan import CoolingLoop, CoolingUnit, Hall, Plan, Rack, Scenario, Server, ServerType, Site
    from planner.solver.integrate import run_fast
    from planner.solver.model import compile_model
    st = ServerType(key="cp", manufacturer="test", model="cold plate node", u_height=1, gpu_count=4, gpu_model="g",
                    gpu_tdp_w=1000.0, idle_power_w=1000.0, max_power_w=5000.0, liquid_fraction=1.0,
                    gpu_design_temp_c=70.0, thermal_time_constant_s=1e-3)
    plan = Plan(site=Site(timezone="UTC"), halls=[Hall()], server_types=[st],
                racks=[Rack(name="R1", cooling_type="liquid", liquid_loop="TCS")],
                servers=[Server(f"S{i}", "R1", "cp", 1 + i) for i in range(10)],
                cooling_loops=[CoolingLoop("TCS", "liquid")],
                cooling_units=[CoolingUnit(name="CDU", kind="cdu", loop="TCS", rated_capacity_kw=100.0,
                                           supply_setpoint_c=40.0, loop_volume_m3=0.5, time_constant_s=15.0,
                                           dead_time_s=25.0)],
                jobs=[Job(name="step", gpus=40, utilization=1.0, duration_s=1e5, kind="batch", start_s=200.0)])
    sc = Scenario(name="t", start=datetime(2025, 1, 1), horizon_s=600.0, step_s=10.0, load="jobs")
    model = compile_model(plan, sc, 600.0)
    model.loop_gain[:] = 0.0
    from dataclasses import replace as _replace
    from planner.solver.forecast import EXACT
    model.options = _replace(model.options, forecast_error=EXACT)  # the path under test, not the forecast's error
    dt, n = 10.0, 60
    res = run_fast(model, np.full(n + 1, 20.0), np.full(n + 1, 12.0), dt, n, control="predictive",
                   record=("summary", "minute"), start=sc.start, prices=np.full(24, 0.1), demand_charge=0.0)
    cap, c = 1e5, float(model.loop_c[0])
    q = np.where(np.arange(n) * dt >= 200.0, 5e4, 1e4) * dt
    # the servers' own heat storage at the load step (die + plate, settled within the step):
    # C_d·R·ΔP + C_p·R_p·ΔP (≈ τ·ΔP, the lumped node's)
    q[20] -= float(np.sum((model.c_die * model.r_th + model.c_plate * model.r_plate) * model.p_dyn))
    # ... and as they follow their coolant (τ = 1 ms: settled within a step), which the integrator
    # holds at the loop's end temperature (implicit coupling): their mass moves with the loop's
    c_srv = float(model.c_th.sum())
    # the command of step j (taken at its end state, implicit controller) is the heat the loop measured
    # over it plus the rise foreseen 40 s ahead (steps 16–19: 4·10⁴ W); it reaches the actuator over
    # [t_j + 25 s, t_j + 35 s): step k sees command k−3 over its first 5 s and k−2 over its last 5 s
    tau = 15.0
    rise = np.where((np.arange(n) >= 16) & (np.arange(n) < 20), 4e4, 0.0)
    cmd = np.empty(n)
    y_now, prev = 0.1, 40.0
    temps = np.empty(n)

    def piece(y0, u, s):  # ∫ y over s [s] of the first-order lag toward u, and y at its end
        e = np.exp(-s / tau)
        return u * s + (y0 - u) * tau * (1.0 - e), u + (y0 - u) * e
    for k in range(n):
        a, y_now = piece(y_now, cmd[k - 3] if k >= 3 else 0.1, 5.0)
        b, y_now = piece(y_now, cmd[k - 2] if k >= 2 else 0.1, 5.0)
        new = prev + (q[k] - (a + b) * cap) / (c + c_srv)
        cmd[k] = min(max((q[k] - c_srv * (new - prev)) / dt + rise[k], 0.0) / cap, 1.0)
        prev = new
        temps[k] = new
    assert np.abs(res.loop_supply_c[:, 0] - temps.reshape(-1, 6).mean(axis=1)).max() < 1e-9
    assert res.final_loop_temp_c[0] == pytest.approx(temps[-1], abs=1e-9)


def _cdu_plan(flow_m3s):
    from planner.plan import CoolingLoop, CoolingUnit, Hall, Plan, Rack, Server, ServerType, Site
    st = ServerType(key="cp", manufacturer="test", model="cold plate node", u_height=1, gpu_count=4, gpu_model="g",
                    gpu_tdp_w=1000.0, idle_power_w=1000.0, max_power_w=5000.0, liquid_fraction=1.0,
                    gpu_design_temp_c=70.0, thermal_time_constant_s=15.0)
    return Plan(site=Site(timezone="UTC"), halls=[Hall()], server_types=[st],
                racks=[Rack(name="R1", cooling_type="liquid", liquid_loop="TCS")],
                servers=[Server("S0", "R1", "cp", 1)],
                cooling_loops=[CoolingLoop("TCS", "liquid", "FWS"), CoolingLoop("FWS", "facility")],
                cooling_units=[CoolingUnit(name="CDU", kind="cdu", loop="TCS", rated_capacity_kw=800.0,
                                           supply_setpoint_c=43.0, approach_k=3.0, flow_m3s=flow_m3s,
                                           loop_volume_m3=0.2),
                               CoolingUnit(name="DC", kind="dry_cooler", loop="FWS", rated_capacity_kw=800.0,
                                           supply_setpoint_c=40.0, approach_k=5.0, flow_m3s=0.0191,
                                           loop_volume_m3=5.0)])


def test_exchangers_follow_epsilon_ntu_at_fixed_flows():
    """CDU plate exchanger (catalog: 800 kW, 12.7 L/s of water, 3 K approach on 40 °C facility water).
    Rated rise 800 kW / (997·4180·0.0127) = 15.11 K, so ε·C_min = 800 kW / 18.11 K = 44.2 kW/K on
    (return − facility supply), ~1/6 of the supply-to-supply 267 kW/K. Checked against the
    counter-flow ε-NTU relation (Incropera & DeWitt 6th ed., Table 11.3 / eq. 11.29a, 11.30a): the NTU
    that gives the rated point, at other inlet temperatures with the same flows, moves exactly
    ε·C_min·(T_hot,in − T_cold,in). The rating is kept (rated heat at the rated return), and so is every
    steady state at full actuator: with q = removal, ε·C_min·(T + q/C_hot − T_p) = q solves to the old
    q = Q_rated/approach·(T − T_p)."""
    from planner.plan import Scenario
    from planner.solver.heat_rejection import coil_capacity_ratio, design_rise_k, exchanger_conductance
    from planner.solver.integrate import loop_capacity
    from planner.solver.model import compile_model
    rho_cp = 997.0 * 4180.0
    rise = 800e3 / (rho_cp * 0.0127)
    assert float(design_rise_k(800e3, 0.0127, rho_cp)) == pytest.approx(rise) and rise == pytest.approx(15.11, abs=0.01)
    ec = 800e3 / (3.0 + rise)
    assert float(exchanger_conductance(800e3, 3.0, rise)) == pytest.approx(ec)
    model = compile_model(_cdu_plan(0.0127), Scenario(name="t", start=datetime(2025, 1, 1), load="full"), 3600.0)
    assert model.loop_coil_ec[0] == pytest.approx(ec, rel=1e-12)
    assert model.loop_return_k_per_w[0] == pytest.approx(1.0 / (rho_cp * 0.0127))
    # dry cooler: 800 kW at 19.1 L/s → 10.05 K rise, 5 K approach on dry bulb
    assert model.loop_drycooler_ec[1] == pytest.approx(800e3 / (5.0 + 800e3 / (rho_cp * 0.0191)))
    # rating: 43 °C supply with 800 kW coming in (return 58.1 °C), 40 °C facility water → 800 kW
    cap, slope = loop_capacity(model, 0, 43.0, 35.0, 20.0, 40.0, 800e3)
    assert cap == pytest.approx(800e3, rel=1e-12) and slope == pytest.approx(ec)
    assert 800e3 / 3.0 / slope == pytest.approx(6.04, abs=0.01)  # the old slope was ~6× this
    # independent ε-NTU: hot side (secondary) is C_min, facility side at a 10 K rated rise
    c_hot, c_cold = rho_cp * 0.0127, 800e3 / 10.0
    cr = c_hot / c_cold
    eps = rise / (3.0 + rise)  # q / (C_min ΔT_in,max)
    ntu = math.log((eps - 1.0) / (eps * cr - 1.0)) / (cr - 1.0)  # counter-flow, eq. 11.30a
    eps_ntu = (1 - math.exp(-ntu * (1 - cr))) / (1 - cr * math.exp(-ntu * (1 - cr)))  # eq. 11.29a
    assert eps_ntu == pytest.approx(eps, rel=1e-12)
    for t_sup, q_in, t_p in ((45.0, 5e5, 38.0), (41.0, 2e5, 40.0), (50.0, 9e5, 44.0)):
        t_ret = t_sup + q_in / c_hot
        expected = eps_ntu * c_hot * (t_ret - t_p)
        assert loop_capacity(model, 0, t_sup, 35.0, 20.0, t_p, q_in)[0] == pytest.approx(expected, rel=1e-12)
        assert float(coil_capacity_ratio(t_ret, t_p, 3.0, rise)) * 800e3 == pytest.approx(expected, rel=1e-12)
    # full actuator, steady state (removal = q_in): the supply-to-supply law, unchanged
    for t_sup, t_p in ((43.0, 40.0), (44.5, 40.0), (46.0, 41.0)):
        q = ec * (t_sup - t_p) / (1.0 - ec / c_hot)
        assert q == pytest.approx(800e3 / 3.0 * (t_sup - t_p), rel=1e-12)
        assert loop_capacity(model, 0, t_sup, 35.0, 20.0, t_p, q)[0] == pytest.approx(q, rel=1e-12)
    # no flow given: the infinite-flow limit, the supply-to-supply conductance Q_rated / approach
    model0 = compile_model(_cdu_plan(0.0), Scenario(name="t", start=datetime(2025, 1, 1), load="full"), 3600.0)
    assert model0.loop_coil_ec[0] == pytest.approx(800e3 / 3.0) and model0.loop_return_k_per_w[0] == 0.0


def test_loop_at_fixed_actuator_is_less_self_regulating_with_epsilon_ntu():
    """A 100 kW load step at a held actuator (y = 0.5) on the catalog CDU: the supply settles where
    y·ε·C_min·(T + q/C_hot − T_p) = q, i.e. ΔT = Δq·(1/(y·εC_min) − 1/C_hot) = 2.64 K (hand-computed),
    3.5× the 0.75 K of the supply-to-supply form ΔT = Δq/(y·Q_rated/approach)."""
    from planner.solver.integrate import loop_capacity
    from planner.solver.model import compile_model
    from planner.plan import Scenario
    model = compile_model(_cdu_plan(0.0127), Scenario(name="t", start=datetime(2025, 1, 1), load="full"), 3600.0)
    c_hot = 997.0 * 4180.0 * 0.0127
    ec, y, tp = model.loop_coil_ec[0], 0.5, 40.0
    dq = 1e5
    expected = dq * (1 / (y * ec) - 1 / c_hot)
    assert expected == pytest.approx(2.64, abs=0.01)
    assert dq / (y * 800e3 / 3.0) == pytest.approx(0.75, abs=0.01)
    # settle the loop at y held, starting from the steady state for q0, with the exact loop step
    q0 = 3e5
    t0 = tp + q0 * (1 / (y * ec) - 1 / c_hot)
    assert y * loop_capacity(model, 0, t0, 0.0, 0.0, tp, q0)[0] == pytest.approx(q0)
    t = t0
    q1 = q0 + dq
    a = -ec * tp + ec * q1 / c_hot
    for _ in range(200):
        t = loop_temperature_step(t, q1, y, a, ec, float(model.loop_c[0]), 10.0)
    assert t - t0 == pytest.approx(expected, rel=1e-9)


def test_server_resistance_belongs_to_the_hardware_not_to_the_loop_setpoint():
    """R is calibrated at the type's rating coolant (22 °C air, 43 °C liquid) with the hottest GPU at the
    design temperature, so a CDU run 2 K warmer makes the GB200 GPUs warmer (0.85 × 2 K without control:
    85 % of their heat goes to liquid), and at NVIDIA's 45 °C limit the hottest reach the catalog
    anchor, max operating 87 °C, where the software slowdown holds them."""
    from dataclasses import replace as dc_replace

    from planner.solver.examples import liquid_burst_plan
    from planner.solver.model import compile_model
    from planner.solver.run import simulate
    temps, inlets, models = {}, {}, {}
    for sup in (43.0, 45.0):
        plan = liquid_burst_plan(tcs_supply_c=sup, horizon_s=1800.0)
        sc = dc_replace(plan.scenarios[0], load="full")
        models[sup] = compile_model(plan, sc, sc.horizon_s)
        res = simulate(dc_replace(plan, scenarios=[sc]), weather=35.0, control="reactive", step_s=2.0)
        temps[sup], inlets[sup] = res.max_gpu_temp_c, res.max_inlet_temp_c
    np.testing.assert_allclose(models[45.0].r_th, models[43.0].r_th, rtol=1e-12)
    st = liquid_burst_plan().server_types[0]
    # hand computation at 43 °C: the rating itself, plus the air share of the inlet's rise above 22 °C
    # (hot-aisle recirculation, hot containment: ~0.45 K)
    assert 0.0 < inlets[43.0] - 22.0 < 1.0
    assert temps[43.0] == pytest.approx(st.gpu_design_temp_c + (1 - st.liquid_fraction) * (inlets[43.0] - 22.0),
                                        abs=0.01)
    # at 45 °C the catalog's anchor: the hottest GPU would sit at max operating 87 °C plus the same
    # air-side share (~0.07 K) — and there NVIDIA's software slowdown holds it: just above 87 °C, a
    # little below the unthrottled 0.85 × 2 K rise
    anchor = 87.0 + (1 - st.liquid_fraction) * (inlets[45.0] - 22.0)
    assert 87.0 < temps[45.0] < anchor - 0.005
    assert temps[45.0] - temps[43.0] < st.liquid_fraction * 2.0
