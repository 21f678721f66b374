"""Scheduling methods on small slot problems: exhaustive optimality of the MILP, properties of every method.

The problems are built directly (no plan, no solver), so hundreds of instances run in seconds. The
cost model is :meth:`planner.schedule.problem.Problem.evaluate`, the one all methods share.
"""
from __future__ import annotations

import itertools
from datetime import datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.schedule import methods, milp
from planner.schedule.problem import Problem, SlotJob


def make_problem(seed: int, n_jobs: int = 5, n_slots: int = 12, n_pools: int = 2, tight: bool = True,
                 windowed: bool = False) -> Problem:
    """A random small slot problem: prices with a peak, cooling slopes, headroom that sometimes binds.
    ``windowed``: a time-of-use demand charge — an on-peak charge on the peak of two separate blocks of
    slots (an afternoon on each of two days), a smaller off-peak charge on the peak of the others."""
    rng = np.random.default_rng(seed)
    n = n_slots
    pool_gpus = rng.choice([8, 16, 24], size=n_pools).astype(float)
    dyn = rng.uniform(500.0, 1500.0, size=n_pools)
    # pool 0 on loop 0; pool 1 (if any) mostly on loop 1 with a share on loop 0 (hybrid)
    share = np.zeros((n_pools, 2))
    share[0, 0] = 1.0
    if n_pools > 1:
        share[1] = [0.15, 0.85]
    price = rng.uniform(0.05, 0.1, size=n) * 900 / 3.6e6
    price[n // 2: n // 2 + 3] *= 3.0  # an on-peak block
    fac = 1.0 + rng.uniform(0.05, 0.3, size=(n_pools, n))
    base = rng.uniform(5e3, 1e4, size=n)
    most = (pool_gpus * dyn)[:, None] * share  # [pools × loops]
    head = np.vstack([np.full(n, most[:, l].sum()) for l in range(2)])
    if tight:  # hot slots: less headroom
        hot = rng.random(n) < 0.4
        head[:, hot] *= rng.uniform(0.3, 0.8)
    jobs = []
    for k in range(n_jobs):
        L = int(rng.integers(1, 5))
        gpus = int(rng.integers(1, int(pool_gpus.max()) + 1))
        earliest = int(rng.integers(0, n - L + 1))
        latest = int(rng.integers(earliest, n - L + 1))
        prof = rng.uniform(0.4, 1.0) * np.ones(L)
        prof[-1] *= rng.uniform(0.3, 1.0)
        pools = [p for p in range(n_pools) if pool_gpus[p] >= gpus]
        jobs.append(SlotJob(index=k, name=f"j{k}", gpus=gpus, duration_s=(L - 0.5) * 900.0, release_s=earliest * 900.0,
                            deadline_s=(latest + L) * 900.0, offset_s=0.0, profile=prof, earliest=earliest,
                            latest=latest, pinned=None, preemptible=False, priority=int(rng.integers(0, 3)),
                            pools=pools, reason="" if pools else "too big"))
    period, period_charge = np.zeros(n, dtype=int), {0: float(rng.uniform(0.0, 0.02))}
    if windowed:
        period = np.ones(n, dtype=int)
        period[2:4] = 0
        period[n - 4:n - 2] = 0
        period_charge = {0: float(rng.uniform(0.01, 0.03)), 1: float(rng.uniform(0.0, 0.004))}
    return Problem(slot_s=900.0, n=n, start=datetime(2025, 7, 1), timezone="UTC", price_w=price, base_w=base,
                   fac=fac, dyn_w_per_gpu=dyn, pool_gpus=pool_gpus, pool_names=[f"P{p}" for p in range(n_pools)],
                   share=share, loop_names=["L0", "L1"], headroom_w=head, period=period,
                   period_charge=period_charge, jobs=jobs,
                   ambient_c=rng.uniform(20, 40, size=n), tie_w=np.zeros(n))


def brute_force(pr: Problem):
    """Cheapest feasible schedule by enumerating every (start, pool) of every job (None: all must run)."""
    options = [[(s, p) for s in range(j.earliest, j.latest + 1) for p in j.pools] for j in pr.jobs]
    best, best_cost = None, np.inf
    for combo in itertools.product(*options):
        assign = list(combo)
        if pr.feasible(assign):
            c = pr.evaluate(assign).cost
            if c < best_cost:
                best, best_cost = assign, c
    return best, best_cost


@pytest.mark.parametrize("windowed", [False, True], ids=["any-hour demand", "on/off-peak demand"])
@pytest.mark.parametrize("seed", range(12))
def test_optimal_equals_exhaustive_enumeration(seed, windowed):
    pr = make_problem(seed, n_jobs=4 + seed % 3, n_slots=8 + seed % 5, windowed=windowed)
    best, best_cost = brute_force(pr)
    g = methods.greedy(pr)
    sol = milp.solve(pr, g, 30.0, mip_rel_gap=0.0)
    if best is None:  # no schedule runs every job: the MILP must leave one out too
        assert any(a is None for a in sol.assign)
        return
    assert all(a is not None for a in sol.assign)
    assert pr.feasible(sol.assign)
    cost = pr.evaluate(sol.assign).cost
    assert cost == pytest.approx(best_cost, rel=1e-9, abs=1e-12)  # exactly, up to float summation
    assert sol.lower_bound <= cost * (1 + 1e-9)
    assert sol.lower_bound == pytest.approx(best_cost, rel=1e-6)  # proven optimal: the bound meets it


def _check_common(pr: Problem, out, *, in_window: bool):
    ev = pr.evaluate(out.assign)
    assert ev.over_gpus <= 0  # never more GPUs than a pool has, at any slot
    for j, a in zip(pr.jobs, out.assign):
        if a is None:
            assert j.name in out.reasons
            continue
        s, p = a  # one start, one pool: one piece on one loop
        assert p in j.pools and s >= j.earliest  # never before release
        if in_window:
            assert s <= j.latest  # ends by its deadline
    return ev


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_jobs=st.integers(1, 6), n_slots=st.integers(4, 12),
       n_pools=st.integers(1, 2))
def test_properties_of_every_method(seed, n_jobs, n_slots, n_pools):
    pr = make_problem(seed, n_jobs, n_slots, n_pools)
    for name in ("fcfs", "backfill"):
        _check_common(pr, getattr(methods, name)(pr), in_window=False)
    g = methods.greedy(pr)
    ev_g = _check_common(pr, g, in_window=True)
    assert ev_g.over_heat_w <= 1e-6  # greedy keeps headroom
    sol = milp.solve(pr, g, 5.0)
    ev_o = _check_common(pr, sol, in_window=True)
    assert pr.feasible(sol.assign)
    assert sum(a is None for a in sol.assign) <= sum(a is None for a in g.assign)
    if sum(a is None for a in sol.assign) == sum(a is None for a in g.assign):
        assert ev_o.cost <= ev_g.cost + 1e-9  # never worse than greedy
    if sol.lower_bound is not None:
        assert sol.lower_bound <= ev_o.cost * (1 + 1e-9)


def test_greedy_finds_a_start_whenever_one_exists():
    # one job alone on an otherwise empty problem: greedy schedules it iff some start fits its window
    for seed in range(40):
        pr = make_problem(seed, n_jobs=1, n_slots=10)
        g = methods.greedy(pr)
        exists = brute_force(pr)[0] is not None
        assert (g.assign[0] is not None) == exists


def test_fcfs_is_first_come_first_served_and_backfill_never_delays_the_head():
    pr = make_problem(3, n_jobs=6, n_slots=12, n_pools=1, tight=False)
    f = methods.fcfs(pr)
    order = sorted((j for j in pr.jobs if f.assign[j.index] is not None), key=lambda j: (j.release_s, j.index))
    starts = [f.assign[j.index][0] for j in order]
    assert starts == sorted(starts)  # nobody overtakes
    b = methods.backfill(pr)
    # EASY: every job starts no later under backfill than under fcfs for the queue's head order
    assert sum(a[0] for a in b.assign if a) <= sum(a[0] for a in f.assign if a)


def test_thinned_model_keeps_greedy_and_its_bound_is_valid():
    pr = make_problem(7, n_jobs=6, n_slots=12, tight=False)
    g = methods.greedy(pr)
    sol = milp.solve(pr, g, 10.0, max_columns=10)  # forces thinned start columns
    assert sol.thinned_every > 1
    best, best_cost = brute_force(pr)
    cost = pr.evaluate(sol.assign).cost
    assert cost <= pr.evaluate(g.assign).cost + 1e-9
    assert sol.lower_bound <= best_cost * (1 + 1e-9)  # relaxation bound below the true optimum
    fixed = milp.repair(pr, sol.assign, deadline=float("inf"))
    assert pr.feasible(fixed) and pr.evaluate(fixed).cost <= cost + 1e-9


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6) | st.just(np.inf), min_size=1, max_size=60), st.integers(1, 60))
def test_window_min_max_equal_the_direct_ones(values, w):
    from numpy.lib.stride_tricks import sliding_window_view

    from planner.schedule.windows import window_max, window_min
    a = np.array(values)
    w = min(w, a.size)
    assert np.array_equal(window_min(a, w), sliding_window_view(a, w).min(axis=1))
    assert np.array_equal(window_max(a, w), sliding_window_view(a, w).max(axis=1))
    assert np.array_equal(window_min(np.vstack([a, -a]), w)[1], sliding_window_view(-a, w).min(axis=1))


def test_decomposition_by_pool_group_never_worse_and_feasible():
    for seed in range(6):
        pr = make_problem(seed, n_jobs=4, n_slots=8, tight=False)  # brute force stays small
        assert milp.pool_groups(pr) == [[0, 1]]  # the hybrid pool shares loop 0
        pr.share[1] = [0.0, 1.0]  # now two independent pods
        assert milp.pool_groups(pr) == [[0], [1]]
        g = methods.greedy(pr)
        assign, complete = milp.window_search(pr, g.assign, deadline=float("inf"))
        assert complete
        assert pr.feasible(assign) and [a is None for a in assign] == [a is None for a in g.assign]
        assert pr.evaluate(assign).cost <= pr.evaluate(g.assign).cost + 1e-9
        best, best_cost = brute_force(pr)
        if best is not None and all(a is not None for a in assign):
            assert pr.evaluate(assign).cost >= best_cost - 1e-9


def week_problem(seed: int, n_jobs: int = 12) -> Problem:
    """A week of hourly slots (168): the search's 4-day windows are 96 slots, one every 24."""
    from dataclasses import replace
    pr = make_problem(seed, n_jobs=n_jobs, n_slots=168, tight=False)
    pr = replace(pr, slot_s=3600.0, tie_w=1e-9 * pr.price_w.mean() * (pr.ambient_c - pr.ambient_c.min()))
    pr.__dict__.pop("_max_len", None)
    return pr


def test_optimal_on_a_large_grid_does_not_depend_on_the_time_it_is_given(monkeypatch):
    """The neighbourhood search is a fixed sequence of MILPs with a node limit (work, not time): given
    any budget it can finish in, it returns the same schedule — what made the study's night share
    vary between runs (47.7–52.3 %) was the time limit deciding where HiGHS stopped. (A small week,
    with the full-grid MILP's size limit lowered so the search runs; measured 0.7 s.)"""
    monkeypatch.setattr(milp, "MAX_COLUMNS", 300)
    pr = week_problem(3)
    assert sum(b[2].size for b in milp._columns(pr, 1, {})) > milp.MAX_COLUMNS
    assert len(milp._windows(pr.n, pr.slot_s)) == 4
    g = methods.greedy(pr)
    a = milp.optimise(pr, g, 60.0)
    b = milp.optimise(pr, g, 600.0)
    assert a.complete and b.complete and "converged" in a.status
    assert a.assign == b.assign
    assert pr.feasible(a.assign) and pr.evaluate(a.assign).cost <= pr.evaluate(g.assign).cost + 1e-9
    assert a.lower_bound <= pr.evaluate(a.assign).cost


def test_equal_cost_moves_heat_to_cooler_hours():
    """The issue's tie-break: two starts of the same cost, the job goes to the cooler one (lower GPU
    temperatures); a cheaper start still wins over a cooler one."""
    pr = make_problem(0, n_jobs=1, n_slots=12, n_pools=1, tight=False)
    j = pr.jobs[0]
    j.earliest, j.latest, j.pools, j.reason = 0, 12 - j.length, [0], ""
    pr.price_w[:] = pr.price_w.mean()
    pr.fac[:] = 1.2
    pr.base_w[:] = pr.base_w.mean()
    pr.ambient_c = np.array([30.0, 29, 28, 27, 26, 25, 24, 25, 26, 27, 28, 29])
    pr.tie_w = 1e-9 * pr.price_w.mean() * (pr.ambient_c - pr.ambient_c.min())
    coolest = int(np.argmin(pr.tie_costs(j, 0)[: j.latest + 1]))
    assert milp.repair(pr, [(0, 0)], deadline=float("inf")) == [(coolest, 0)]
    pr.price_w[0] *= 0.5  # now the warm first slot is cheaper: cost before temperature
    cheapest = int(np.argmin(pr.energy_costs(j, 0)[: j.latest + 1]))
    assert cheapest == 0 and milp.repair(pr, [(coolest, 0)], deadline=float("inf")) == [(0, 0)]


def test_lagrangian_bound_is_below_the_exhaustive_optimum():
    """The peak rows dualised (every job at its own best start, λ summing to the demand charge): below the
    true optimum on every instance, and above the relaxation bound where the demand charge matters."""
    better = 0
    for seed in range(12):
        pr = make_problem(seed, n_jobs=4 + seed % 3, n_slots=8 + seed % 5)
        best, best_cost = brute_force(pr)
        if best is None:
            continue
        lb = milp.lagrangian_bound(pr)
        assert lb <= best_cost * (1 + 1e-9)
        better += lb > milp.relaxation_bound(pr) + 1e-9
    assert better >= 3  # measured: 3 of the 8 instances a schedule exists for


def test_bounds_with_an_on_peak_window_are_below_the_exhaustive_optimum():
    """Demand periods that are not consecutive slots (an on-peak block on each of two days): the
    relaxation bound's interval means stay inside each block, the Lagrangian's λ on each period's slots;
    both below the true optimum, and the on-peak window changes what the optimum is."""
    checked = 0
    for seed in range(12):
        pr = make_problem(seed, n_jobs=4 + seed % 3, n_slots=8 + seed % 5, windowed=True)
        best, best_cost = brute_force(pr)
        if best is None:
            continue
        checked += 1
        assert milp.relaxation_bound(pr) <= best_cost * (1 + 1e-9)
        assert milp.lagrangian_bound(pr) <= best_cost * (1 + 1e-9)
        ev = pr.evaluate(best)
        on = pr.period == 0
        expect = (pr.period_charge[0] * ev.facility_w[on].max() + pr.period_charge[1] * ev.facility_w[~on].max())
        assert ev.demand_cost == pytest.approx(expect, rel=1e-12)
    assert checked >= 6


def test_promoting_the_left_out_jobs_never_leaves_more_out():
    """Greedy re-run with the jobs it left out in front (methods.greedy_promoting): a feasible schedule
    inside every window that never leaves more jobs out, and fewer on some instances (measured: 10 of
    the 55 tight one-pool instances among seeds 0-59 where greedy leaves a job out)."""
    fewer = cases = 0
    for seed in range(60):
        pr = make_problem(seed, n_jobs=6, n_slots=8, n_pools=1)
        g = methods.greedy(pr)
        if not methods.left_out(pr, g.assign):
            continue
        cases += 1
        p = methods.greedy_promoting(pr, g)
        ev = _check_common(pr, p, in_window=True)
        assert pr.feasible(p.assign) and ev.over_heat_w <= 1e-6
        a, b = len(methods.left_out(pr, g.assign)), len(methods.left_out(pr, p.assign))
        assert b <= a
        if b == a:
            assert pr.evaluate(p.assign).cost <= pr.evaluate(g.assign).cost + 1e-9
        fewer += b < a
    assert cases == 55 and fewer == 10  # deterministic: the instances and the rounds are fixed


def test_window_search_fits_in_jobs_greedy_left_out():
    """The neighbourhood search also offers each left-out job a start inside the window (the MILP's
    penalty asks it in; fewer left out is accepted before a lower cost). Before, a left-out job was never
    in a neighbourhood, so optimal ran exactly the jobs greedy's re-orderings had placed (the benchmark's
    4 of 500 left out: 3 with 8 re-orderings instead of 4, a different set — a search limit, not
    infeasibility). Tight one-pool instances where the re-ordered greedy still leaves jobs out: never
    more out, fewer in 3 of 54 (126 → 123 jobs left out; measured, deterministic)."""
    fewer = cases = before = after = 0
    for seed in range(60):
        pr = make_problem(seed, n_jobs=6, n_slots=8, n_pools=1)
        g = methods.greedy(pr)
        p = methods.greedy_promoting(pr, g) if methods.left_out(pr, g.assign) else g
        if not methods.left_out(pr, p.assign):
            continue
        cases += 1
        assign, complete = milp.window_search(pr, p.assign, float("inf"))
        assert complete and pr.feasible(assign)
        a, b = len(methods.left_out(pr, p.assign)), len(methods.left_out(pr, assign))
        assert b <= a
        if b == a:
            assert pr.evaluate(assign).cost <= pr.evaluate(p.assign).cost + 1e-9
        fewer += b < a
        before, after = before + a, after + b
    assert (cases, fewer, before, after) == (54, 3, 126, 123)
