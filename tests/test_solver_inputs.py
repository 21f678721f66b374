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
    ({"control": "psychic"}, "control"), ({"step_s": 1e5, "horizon_s": 1e6}, "stability limit"),
    ({"rtol": 1e-3, "integrator": "fast"}, "reference"), ({"record": ("everything",)}, "record"),
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
