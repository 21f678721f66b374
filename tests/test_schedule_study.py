"""The night-shift study (seed story 4): acceptance figures, verified by the solver.

Measured on this machine (2 shared cores, load average ~6, main's compiled kernel), solver-verified, all four methods, on issue
11's physics, with the scheduler's cost model billing the electrical chain and lighting like the solver
and ``optimal``'s deterministic neighbourhood search (it converges to the same schedule on any machine
given the time; before, a time-limited MILP returned 47.7–63 % night shares between runs):

=============================  ========  ========  ========  ========
                               fcfs      backfill  greedy    optimal
cost $                         32,771    32,968    31,729    30,636 (−6.5 %)
  energy $ (0.065/0.11/0.21)   12,298    12,191    12,714    12,425
                               4,736     4,723     4,333     4,549
                               6,483     6,570     5,697     5,944
  demand charge $ (7/31 month) 9,255     9,484     8,985     7,718
facility energy kWh            263,121   261,770   262,125   260,817
peak 15-min facility kW        2,277     2,333     2,211     1,899
throttled GPU-hours            28.9      29.6      0.0       0.0
lost GPU-hours                 0.11      0.11      0.0       0.0
max GPU °C                     87.1      87.1      85.9      85.9
missed deadlines               6         0         0         0
model cost $                   32,689    32,764    31,607    30,521 (bound 29,108, gap 4.6 %)
large jobs GPU-h 22:00-06:00   37.5 %    37.5 %    60.2 %    59.4 %
large jobs GPU-h 02:00-06:00   25.0 %    25.0 %    37.5 %    28.1 %
large jobs GPU-h 12:00-20:00   25.0 %    25.0 %    0.8 %     9.4 %
=============================  ========  ========  ========  ========

fcfs throttles on the hot afternoons (the hottest GPU groups reach NVIDIA's max operating temperature,
87 °C) and the scheduled methods remove all of it. One acceptance point is not met and is kept as a
strict expected failure with the reason: the cost falls 6.5 %, not ≥ 10 % (planner/schedule/STATUS.md,
"Why not 10 %"): 42 % of the bill is idle power, base cooling, the electrical chain's no-load losses and
lighting, which no schedule moves; fcfs already runs 74 % of the jobs' energy in the cheapest price band
(it covers 71 % of the hours: 21:00–14:00); the demand charge is a week's share (7/31) of a month's.
And −10 % is excluded by proof: the full MILP on the study's 15-min grid, warm-started from optimal's
schedule, proves after 900 s that no schedule of all 40 jobs costs less than $29,916.53 in the model
(``benchmarks/night_shift_bound.py``; it finds nothing cheaper than optimal's $30,520.96, which sits
1.98 % above the bound): at most −8.48 % of fcfs' model cost, −8.71 % of its bill — −10 % would need a
bill 1.4 % below its own model cost, where every measured bill is 0.25–0.62 % above it. (Session 4's
"at most −10.15 %" was a 600-s run's root bound, $29,371; the study reports the LP bound, $29,108.)
Like for like: every method runs the same 131,207.9 GPU-h inside the billed week, none after it.
(Re-measured in sessions 5 and 7: the same figures to the dollar.)

The same week under APS's published rate E-32 TOU L (``--tariff aps-e32-tou-l``, planner/demo.py: energy
$0.06334/kWh, $0.07741 at 15:00–20:00; $18.941/kW on the peak quarter hour 15:00–20:00 Monday–Friday,
$2.85/kW (estimate) on the peak outside), pinned by :func:`test_night_shift_under_aps_e32_tou_l`:

=============================  ===========  ===========  ===========  ===========
APS E-32 TOU L                 fcfs         backfill     greedy       optimal
cost $                         28,592       28,794       26,149       26,056 (−8.9 %)
  energy $ at 0.06334 / 0.07741 13,358/4,043 13,249/4,071 13,684/3,567 13,522/3,662
  on-peak demand $ (7/31)      9,739        9,972        7,476        7,470
  off-peak demand $ (7/31)     1,453        1,502        1,423        1,401
peak 15-min kW on-/off-peak    2,277/2,258  2,331/2,333  1,748/2,211  1,746/2,177
throttled GPU-hours            28.9         29.6         0.0          0.0
max GPU °C                     87.1         87.1         85.9         86.0
missed deadlines               6            0            0            0
model cost $                   28,475       28,549       26,084       25,951 (LP bound 24,243, gap 6.6 %)
large jobs GPU-h 22:00-06:00   37.5 %       37.5 %       60.2 %       43.8 %
large jobs GPU-h 12:00-20:00   25.0 %       25.0 %       0.8 %        7.0 %
=============================  ===========  ===========  ===========  ===========

Under it neither the 10 % cost cut nor the ≥ 50 % night share holds: the on-peak peak falls 23 % but the
week's long pre-training jobs cannot all miss every weekday afternoon, every hour 20:00–15:00 costs the
same, and the nights are full (moving a large job to a night start is mostly infeasible, else it raises
the off-peak peak: $36–470 against a cooling saving of $0–10). planner/schedule/STATUS.md has the analysis.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from planner.schedule.study import night_shift_results, study_json
from planner.solver import simulate

pytestmark = pytest.mark.slow


#: The optimal's search ends by itself after ~75 s of CPU (its schedule then depends on no clock); the
#: study's own 600 s wall-clock limit stops it early on a machine loaded ~8 deep (seen: a shared CI
#: box). The test gives it room so that the figures below never depend on the machine's load.
TEST_TIME_LIMIT_S = 3600.0


@pytest.fixture(scope="module")
def study():
    plan, sc, results, large = night_shift_results(time_limit_s=TEST_TIME_LIMIT_S)
    return plan, sc, results, large, study_json(sc, results, large)


@pytest.fixture(scope="module")
def aps_study():
    plan, sc, results, large = night_shift_results(time_limit_s=TEST_TIME_LIMIT_S, tariff="aps-e32-tou-l")
    return study_json(sc, results, large, "aps-e32-tou-l")


def test_night_shift_acceptance(study):
    _, _, results, large, out = study
    opt, fcfs = out["optimal"], out["fcfs"]
    # the figures below are those of the converged search (TEST_TIME_LIMIT_S leaves it the time)
    assert opt["search_complete"], "optimal's search did not converge in the test's time limit"
    assert opt["missed_deadlines"] == 0 and opt["unscheduled"] == []
    assert opt["throttled_gpu_hours"] <= 0.1 * fcfs["throttled_gpu_hours"]  # down ≥ 90 % (28.9 → 0.0)
    assert out["largest_jobs_night_share"] >= 0.50  # met: 0.594 (the issue's ≥ 50 %)
    assert opt["large_jobs_share"]["afternoon_12_20"] <= 0.20  # met: 0.094
    # gap measured 4.6 % on the LP bound (8.1 % on the relaxation bound when no time is left for the LP)
    assert opt["lower_bound_usd"] <= opt["model_cost_usd"] and 0.0 <= opt["gap"] < 0.10
    assert opt["model_cost_usd"] <= out["greedy"]["model_cost_usd"] + 1e-6
    # the model bills what the solver bills: measured −0.2 % (fcfs, which throttles: −0.2 %), −0.4 % (optimal)
    for m in ("greedy", "optimal"):
        assert abs(out[m]["model_cost_usd"] / out[m]["cost_usd"] - 1.0) < 0.01
    # the story's figures, pinned with margins: cost −6.5 % (optimal), −3.2 % (greedy) vs fcfs
    assert opt["cost_usd"] <= 0.95 * fcfs["cost_usd"]
    assert out["greedy"]["cost_usd"] <= 0.98 * fcfs["cost_usd"]
    assert opt["peak_15min_facility_kw"] <= 0.87 * fcfs["peak_15min_facility_kw"]  # measured −16.5 %
    assert fcfs["missed_deadlines"] >= 4  # fcfs is blind to deadlines (measured 6)
    for m in ("fcfs", "backfill", "greedy", "optimal"):
        assert out[m]["method"] == m and out[m]["jobs"] == 40


def test_the_printed_schedule_is_the_one_the_solver_ran(study):
    plan, sc, results, _, out = study
    for m in ("greedy", "optimal"):
        res = results[m]
        assert out[m]["starts"] == {j.name: j.start_s for j in res.jobs}  # printed starts = simulated ones
        assert all(j.placement and j.start_s % 900.0 == 0.0 for j in res.jobs)
        again = simulate(replace(plan, jobs=res.jobs), sc).summary()
        for key in ("throttled_gpu_hours", "cost_usd", "max_gpu_temp_c"):
            assert again[key] == out[m][key], (m, key)


def test_night_shift_fcfs_throttles_and_the_schedules_do_not(study):
    """fcfs runs the large jobs into the hot afternoons and the hottest GB200 groups reach their max
    operating temperature (measured 28.8 GPU-h throttled, 0.11 GPU-h of work lost); greedy and optimal
    keep every GPU at full clock."""
    out = study[4]
    assert out["fcfs"]["throttled_gpu_hours"] > 10.0 and out["fcfs"]["lost_gpu_hours"] > 0.0
    for m in ("greedy", "optimal"):
        assert out[m]["throttled_gpu_hours"] == 0.0 and out[m]["lost_gpu_hours"] == 0.0


@pytest.mark.xfail(strict=True, reason="measured: optimal costs 6.5 % less than fcfs (30,636 vs 32,771 $), not "
                   "10 %, and no schedule can: the full MILP's dual bound after 900 s, $29,916.53 in the model, allows "
                   "at most -8.48 % of fcfs' model cost (-8.71 % of its bill); 42 % of the bill (idle, base cooling, "
                   "chain no-load losses, lighting) no schedule moves, fcfs already runs 74 % of the jobs' energy in the "
                   "cheapest band (benchmarks/night_shift_bound.py; planner/schedule/STATUS.md, session 7)")
def test_night_shift_cost_down_10_percent(study):
    out = study[4]
    assert out["optimal"]["cost_usd"] <= 0.90 * out["fcfs"]["cost_usd"]


def test_the_bill_breakdown_adds_up(study):
    """Per method, the bill's parts are the solver's: energy by tariff price sums to its energy cost and
    the week's hours, facility energy = IT + cooling + electrical losses + lighting, and the demand
    charge is the peak's month charge prorated to the 7 days of July the run covers."""
    out = study[4]
    for m in ("fcfs", "backfill", "greedy", "optimal"):
        b, s = out[m]["bill"], out[m]
        assert sum(v["energy_usd"] for v in b["energy_by_price"].values()) == pytest.approx(b["energy_cost_usd"], rel=1e-6)
        assert sum(v["hours"] for v in b["energy_by_price"].values()) == pytest.approx(168.0, abs=1e-3)
        parts = b["it_kwh"] + b["cooling_kwh"] + b["electrical_loss_kwh"] + b["lighting_misc_kwh"]
        assert parts == pytest.approx(s["facility_energy_kwh"], rel=1e-9)
        assert b["demand_share_of_month"] == pytest.approx(7.0 / 31.0, rel=1e-12)
        # one demand charge at any hour: all of it "on-peak", the peak the week's
        assert b["on_peak_demand_usd"] == pytest.approx(b["demand_charge_usd"], rel=1e-12)
        assert b["on_peak_15min_facility_kw"] == pytest.approx(s["peak_15min_facility_kw"], rel=1e-6)
        assert b["energy_cost_usd"] + b["demand_charge_usd"] == pytest.approx(s["cost_usd"], rel=1e-9)  # summary: 6 decimals
    # like for like: every method's bill covers the same work — all 40 jobs' 131,207.9 GPU-h run inside the
    # week (fcfs's 6 late jobs end late but before the week's end: measured), none after it
    work = {m: (out[m]["gpu_hours"], out[m]["gpu_hours_past_horizon"]) for m in ("fcfs", "backfill", "greedy", "optimal")}
    assert all(after == 0.0 for _, after in work.values()), work
    assert all(inside == pytest.approx(131207.9, abs=0.05) for inside, _ in work.values()), work


def test_night_shift_under_aps_e32_tou_l(aps_study):
    """The same week under APS's E-32 TOU L (figures in the module docstring), pinned with margins: the
    schedules still remove all throttling and cut the on-peak demand by a quarter; the cost falls 8.9 %
    (greedy 8.5 %), the large jobs' night share is 43.8 % — measured, not acceptance (the issue's points
    are met under the demo's tariff, above)."""
    out = aps_study
    opt, fcfs, greedy = out["optimal"], out["fcfs"], out["greedy"]
    assert out["tariff"] == "aps-e32-tou-l" and opt["search_complete"]
    assert opt["missed_deadlines"] == 0 and opt["unscheduled"] == []
    assert opt["throttled_gpu_hours"] == 0.0 and fcfs["throttled_gpu_hours"] > 10.0
    assert 0.90 < opt["cost_usd"] / fcfs["cost_usd"] < 0.92  # measured 0.9113
    assert greedy["cost_usd"] <= 0.93 * fcfs["cost_usd"]  # measured 0.9145
    assert opt["model_cost_usd"] <= greedy["model_cost_usd"] + 1e-6
    assert opt["lower_bound_usd"] <= opt["model_cost_usd"] and 0.0 <= opt["gap"] < 0.08  # measured 6.6 %
    ob, fb = opt["bill"], fcfs["bill"]
    assert ob["on_peak_15min_facility_kw"] <= 0.80 * fb["on_peak_15min_facility_kw"]  # measured 2,277 -> 1,746 kW
    assert ob["on_peak_demand_usd"] + ob["off_peak_demand_usd"] == pytest.approx(ob["demand_charge_usd"], rel=1e-12)
    assert max(ob["on_peak_15min_facility_kw"], ob["off_peak_15min_facility_kw"]) == pytest.approx(
        opt["peak_15min_facility_kw"], rel=1e-6)
    assert set(ob["energy_by_price"]) == {"0.06334", "0.07741"}
    assert 0.40 < out["largest_jobs_night_share"] < 0.48  # measured 0.4375: below the 50 %
    assert opt["large_jobs_share"]["afternoon_12_20"] <= 0.10  # measured 0.070
    for m in ("greedy", "optimal"):
        assert abs(out[m]["model_cost_usd"] / out[m]["cost_usd"] - 1.0) < 0.01  # measured −0.25 %, −0.40 %
