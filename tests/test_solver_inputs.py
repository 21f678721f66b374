"""Bad input gives a SolverInputError with a clear message, never a traceback."""
from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from planner.plan import Job
from planner.solver import SolverInputError, simulate
from planner.solver.examples import small_air_plan


@pytest.fixture
def plan():
    return small_air_plan()


def test_nan_power_names_the_field(plan):
    plan.server_types[0].max_power_w = math.nan
    with pytest.raises(SolverInputError, match="dgx-h100.*max_power_w"):
        simulate(plan, weather=30.0)


def test_negative_power(plan):
    plan.server_types[0].idle_power_w = -5.0
    with pytest.raises(SolverInputError, match="idle_power_w must be ≥ 0"):
        simulate(plan, weather=30.0)


def test_nan_in_weather_is_a_gap(plan):
    amb = lambda t: np.where(t > 1800, np.nan, 30.0)  # noqa: E731
    with pytest.raises(SolverInputError, match="missing"):
        simulate(plan, weather=amb)


def test_weather_that_does_not_cover_the_run(plan):
    short = SimpleNamespace(times_s=np.arange(0, 1800.0, 60.0), dry_bulb_c=np.full(30, 30.0),
                            wet_bulb_c=np.full(30, 20.0))
    with pytest.raises(SolverInputError, match="weather covers"):
        simulate(plan, weather=short)


def test_epw_with_missing_rows(plan, tmp_path):
    from planner.assets import PHOENIX_EPW, WEATHER_DIR
    lines = (WEATHER_DIR / PHOENIX_EPW).read_text().splitlines(keepends=True)
    bad = tmp_path / "gappy.epw"
    bad.write_text("".join(lines[:4000] + lines[4100:]))
    with pytest.raises(SolverInputError, match="gappy.epw"):
        simulate(plan, weather=str(bad))


def test_unknown_timezone(plan):
    plan.site.timezone = "Mars/Olympus_Mons"
    with pytest.raises(SolverInputError, match="Mars/Olympus_Mons"):
        simulate(plan, weather=30.0)


@pytest.mark.parametrize("kwargs,match", [
    ({"step_s": math.nan}, "step_s"), ({"step_s": -1.0}, "step_s"), ({"horizon_s": 0.0}, "horizon_s"),
    ({"control": "psychic"}, "control"), ({"step_s": 1e5, "horizon_s": 1e6}, "900 s"),
    ({"atol": 1e-3, "integrator": "fast"}, "reference"), ({"record": ("everything",)}, "record"),
    ({"rtol": -1.0}, "rtol"), ({"rtol": math.inf}, "rtol"),
])
def test_bad_arguments(plan, kwargs, match):
    with pytest.raises(SolverInputError, match=match):
        simulate(plan, weather=30.0, **kwargs)


def test_bad_jobs_and_loops(plan):
    plan.jobs = [Job(name="j", gpus=8, utilization=math.nan)]
    plan.scenarios[0] = replace(plan.scenarios[0], load="jobs")
    with pytest.raises(SolverInputError, match="job 'j': utilization"):
        simulate(plan, weather=30.0)
    plan.jobs = []
    plan.racks[0].air_loop = "nowhere"
    with pytest.raises(SolverInputError, match="R01.*air_loop"):
        simulate(plan, weather=30.0)


def test_no_weather_at_all(plan):
    with pytest.raises(SolverInputError, match="no weather"):
        simulate(plan)


def test_horizon_that_is_not_whole_steps_is_refused(plan):
    """25 s at 10 s steps would silently run (and bill) 30 s; refuse and name the valid horizons."""
    with pytest.raises(SolverInputError, match="not a whole number of 10 s steps.*20 s or 30 s"):
        simulate(plan, weather=30.0, horizon_s=25.0, step_s=10.0)
    assert simulate(plan, weather=30.0, horizon_s=30.0, step_s=10.0).horizon_s == 30.0


def test_wet_bulb_above_dry_bulb_is_refused(plan):
    with pytest.raises(SolverInputError, match="wet bulb 31.00 °C above dry bulb 30.00 °C"):
        simulate(plan, weather=(30.0, 31.0))


def test_fixed_offset_time_zones_as_planner_weather(plan):
    """planner.weather accepts 'UTC+05:00'; so does the solver (same pattern)."""
    plan.site.timezone = "UTC+05:00"
    assert simulate(plan, weather=30.0, horizon_s=600.0).steps == 60
    plan.site.timezone = "UTC-7"
    assert simulate(plan, weather=30.0, horizon_s=600.0).steps == 60


def test_cancel_is_checked_promptly(plan):
    """Cancel before the first step stops at once; cancel after a few calls stops within 16 steps."""
    res = simulate(plan, weather=30.0, horizon_s=3600.0, step_s=1.0, cancel=lambda: True)
    assert res.cancelled and res.steps == 0
    calls = []
    res = simulate(plan, weather=30.0, horizon_s=3600.0, step_s=1.0,
                   cancel=lambda: calls.append(1) or len(calls) > 3)
    assert res.cancelled and res.steps <= 4 * 16


@pytest.mark.parametrize("integrator", ["fixed", "numpy"])
def test_a_cancelled_run_never_reports_it_is_done(plan, integrator, monkeypatch):
    """The progress a cancelled run reported last is the fraction it reached, never 1 (a terminal bar at
    100 % or a GUI bar full for a cut run)."""
    if integrator == "numpy":
        from planner.solver import integrate
        monkeypatch.setattr(integrate, "KERNEL_CARRIES_PHYSICS_11", False)
    seen = []
    res = simulate(plan, weather=30.0, horizon_s=3600.0, step_s=1.0, progress=seen.append,
                   cancel=lambda: len(seen) >= 2)
    assert res.cancelled and seen and max(seen) < 1.0
    seen.clear()
    res = simulate(plan, weather=30.0, horizon_s=600.0, step_s=1.0, progress=seen.append)
    assert not res.cancelled and seen[-1] == 1.0
