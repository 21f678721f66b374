"""The seed stories, as bundled studies (figures in planner/solver/STATUS.md)."""
from __future__ import annotations

import pytest

from planner.solver.studies import pump_lag_study

import solver_accuracy as acc


def test_phoenix_hottest_day_throttles_in_the_afternoon_not_at_night():
    """Full load through each city's own hottest July day: ≥ 1/3 of GPUs throttled at some time
    14:00–18:00 in Phoenix, none 02:00–06:00. Phoenix throttles 10,525.3 GPU-hours that day (±0.1 %),
    Minneapolis none: its hottest GPU peaks at 86.498 °C (±0.03 K), 0.5 K below max operating, so
    its zero is not an accident of a threshold (margins: tests/solver_accuracy.py, ``phoenix.*``).
    The design-day check tells the same story before any simulation: Phoenix's plant is short at
    43.4 °C, Minneapolis's holds at 32.8 °C."""
    from planner.weather import hottest_day, load_weather
    runs = []
    out = acc.phoenix_story(on_run=lambda label, i, n: runs.append((i, n, label.split(":")[0])))
    # each run named as it starts (dcplan study)
    assert runs == [(0, 4, "phoenix"), (1, 4, "minneapolis"), (2, 4, "dallas"), (3, 4, "las_vegas")]
    ph, mn = out["phoenix"], out["minneapolis"]
    for city in ("phoenix", "minneapolis", "dallas", "las_vegas"):
        month, day = hottest_day(load_weather(out[city]["weather_file"]), month=7)
        assert out[city]["day"] == f"2025-{month:02d}-{day:02d}"
    assert ph["day"] == "2025-07-16" and mn["day"] == "2025-07-19"
    assert ph["design_day"]["design_dry_bulb_c"] == 43.4 and len(ph["design_day"]["errors"]) == 2
    assert ph["design_day"]["loops"]["FWS"]["shortfall_kw"] > 400
    assert mn["design_day"]["design_dry_bulb_c"] == 32.8 and mn["design_day"]["errors"] == []
    assert ph["afternoon_14_18"]["max_throttled_fraction"] >= 1 / 3
    assert ph["night_02_06"]["max_throttled_fraction"] == 0.0
    # per GPU group, not 72-GPU steps: the minute throttled fraction (rounded to 0.005, held ≥ 5 min)
    # climbs through more than three levels on its way up over 11:00–21:00 (measured: 27 levels, 0.105
    # first, 0.835 highest; 8 at least below 0.5)
    levels = ph["day_11_21"]["levels"]
    rising = levels[:levels.index(max(levels)) + 1]
    assert len([x for x in rising if 0.0 < x < 0.5]) > 3 and len(levels) > 3
    assert ph["lost_gpu_hours_run"] > 0 and mn["lost_gpu_hours_run"] == 0.0
    err = acc.phoenix_story_errors(out)
    for key in ("phoenix_throttled", "minneapolis_throttled", "minneapolis_max_gpu"):
        assert err[key] < acc.bound(f"phoenix.{key}"), (key, err[key], ph["throttled_gpu_hours_day"], mn["max_gpu_temp_c"])
    assert mn["max_gpu_temp_c"] < 87.0 - 0.4  # the headroom behind Minneapolis's zero
    assert ph["max_ambient_c"] == pytest.approx(44.4, abs=0.1)  # the EPW's hottest July hour


def test_predictive_control_removes_most_lost_throughput_over_the_band_at_90s_lag():
    """Acceptance (#11): with the setpoint chosen by the rule stated before any run (s*: the lowest CDU
    supply at which reactive control loses ≥ 0.1 GPU-h at 90 s lag, bisection) and the band s* − 0.5 …
    s* + 1.5 K, at every band point where reactive loses ≥ 0.1 GPU-h (at least 3 of the 5) the better
    predictive mode — forecasting with error (burst start ±60 s, power ±10 %) — removes ≥ 70 % of it.
    Measured: s* = 44.25 °C, 4 points counted, reactive 0.10–0.34 GPU-h, both predictive modes 0
    (reduction 100 %); the loss grows with the lag (0 / 0.25 / 1.28 GPU-h at 0 / 90 / 180 s)."""
    out = pump_lag_study(lags_s=(0.0, 90.0, 180.0))
    assert 40.0 < out["setpoint_c"] < 50.0
    band = out["band"]
    assert [r["setpoint_c"] for r in band] == pytest.approx([out["setpoint_c"] + d for d in (-0.5, 0, 0.5, 1, 1.5)])
    counted = [r for r in band if r["reactive_lost_gpu_hours"] >= 0.1]
    assert len(counted) >= 3 and out["band_points_counted"] == len(counted)
    assert band[0]["reactive_lost_gpu_hours"] < 0.1 <= band[1]["reactive_lost_gpu_hours"]  # s* is the onset
    for r in counted:
        best = min(r["predictive_lost_gpu_hours"], r["predictive_throttle_lost_gpu_hours"])
        assert best <= 0.3 * r["reactive_lost_gpu_hours"]
    assert out["reduction"] >= 0.7
    # the story's figures, pinned (main 08166e2, 2 s steps): s* on the rule's 0.05 K grid (solve_ivp
    # agrees: 0.1015 GPU-h at 44.25 °C, still ≥ 0.1); reactive losses over the band ±10 %, 3× the fast
    # path's distance from solve_ivp at s* (0.1047 vs 0.1015 GPU-h, +3.1 %); the predictive modes lose
    # nothing with their hottest GPU 1.9–3.5 K below max operating (87 °C), pinned ±0.1 K (the delayed
    # burst's 2 s bound: measured 0.043 K from solve_ivp)
    assert out["setpoint_c"] == 44.25
    assert [r["reactive_lost_gpu_hours"] for r in band] == pytest.approx([0.0523, 0.1047, 0.1719, 0.2519, 0.3437],
                                                                         rel=0.10)
    for row, hottest in zip(out["band_details"], (83.493, 83.889, 84.288, 84.691, 85.098)):
        for mode in ("predictive", "predictive-throttle"):
            assert row[mode]["lost_gpu_hours"] == 0.0, (row["setpoint_c"], mode)
            assert row[mode]["max_gpu_temp_c"] == pytest.approx(hottest, abs=0.1), (row["setpoint_c"], mode)
    # reactive losses grow along the band and with the lag; none without an added lag (transit only)
    losses = [r["reactive_lost_gpu_hours"] for r in band]
    assert all(a < b for a, b in zip(losses, losses[1:]))
    sweep = [r["reactive"]["lost_gpu_hours"] for r in out["sweep"]]
    assert sweep[0] == 0.0 < sweep[1] < sweep[2]
    assert sweep[1:] == pytest.approx([0.2519, 1.2837], rel=0.10)  # 90 s (= the band's s* + 1 K) and 180 s
    assert out["forecast_error"]["start_jitter_s"] == 60.0 and out["forecast_error"]["power_error"] == 0.10


@pytest.mark.slow
def test_cost_of_100_nodes_for_a_year():
    """100 nodes averaging 570.78 W (70 % utilisation, idle at the catalog's 25 % of max) for 8,760 h
    = 500,000 kWh at $0.12/kWh = $60,000 of IT electricity. Exact up to rounding (constant utilisation
    below slowdown: the power does not depend on temperature or step; flat tariff): within 5e-9
    (measured 3e-14; tests/solver_accuracy.py, ``cost.*``). The facility's bill is reported beside it."""
    out = acc.cost_story()
    assert out["node_idle_w"] == pytest.approx(0.25 * out["node_max_w"]) and out["node_idle_w"] > 150.0
    err = acc.cost_story_errors(out)
    assert err["it_cost"] < acc.bound("cost.it_cost") and err["it_energy"] < acc.bound("cost.it_energy"), err
    assert out["pue"] > 1.0
    assert out["facility_cost_usd"] == pytest.approx(out["it_cost_usd"] * out["pue"], rel=1e-9)
    # the monthly table adds up to the year (it was read off the minute series once: 1/12 of it)
    months = out["monthly"]
    assert [m["month"] for m in months] == list(range(1, 13))
    for key, total in (("it_kwh", "it_energy_kwh"), ("facility_kwh", "facility_energy_kwh"),
                       ("facility_cost_usd", "facility_cost_usd")):
        assert sum(m[key] for m in months) == pytest.approx(out[total], rel=1e-9)
    # Phoenix: July's PUE above January's (measured 1.414 vs 1.333), the year between them
    assert months[6]["pue"] > months[0]["pue"] + 0.05 and months[0]["pue"] < out["pue"] < months[6]["pue"]
