"""The compiled stepping kernel's plant half (loop step + recorder, issue 11's physics) end to end
through ``integrate._advance``, against the numpy path that runs simulations today
(integrate_numpy.run_fast), on runs where no GPU reaches its thermal control band — there the
server halves of the two paths coincide, so whatever differs is the plant: economiser (full free
cooling in a Minneapolis January, partial in May), chillers on a Phoenix July day, fans and pumps,
electrical chain, lighting, ASHRAE counts, cost.

The kernel is forced on here (``KERNEL_CARRIES_PHYSICS_11``) while its server half is still being
ported (STATUS.md, "Port of #11"); the options the pre-#11 server step reads are supplied if the
model lacks them. The first run compiles the kernel (a minute or more on a loaded machine, then
cached)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest

from planner.plan import Site
from planner.solver import integrate
from planner.solver.model import SolverOptions
from planner.solver.run import simulate
from planner.solver.studies import PHOENIX_CITIES
from planner.weather import load_weather_header

pytestmark = pytest.mark.slow

PLANT_KEYS = ("it_energy_kwh", "cooling_energy_kwh", "chiller_energy_kwh", "electrical_loss_kwh", "lighting_misc_kwh",
              "facility_energy_kwh", "pue", "pue_cooling", "heat_rejected_kwh", "mover_heat_kwh", "energy_cost_usd",
              "demand_charge_usd", "cost_usd", "peak_facility_kw", "free_cooling_full_hours",
              "free_cooling_partial_hours", "inlet_rack_hours_outside_recommended", "inlet_rack_hours_outside_a1",
              "dew_point_hours_over_recommended", "dew_point_hours_over_a1", "stored_energy_change_kwh")


def _in_city(plan, city, start, hours, scenario):
    epw, zone = PHOENIX_CITIES[city]
    h = load_weather_header(epw)
    site = Site(name=h.city, latitude=h.latitude, longitude=h.longitude, timezone=zone, elevation_m=h.elevation_m)
    sc = replace(plan.scenarios[scenario], start=start, horizon_s=hours * 3600.0, weather_file=epw,
                 control="reactive")
    return replace(plan, site=site, scenarios=[sc]), sc


@pytest.mark.parametrize("city, start, hours, scenario, regime", [
    ("minneapolis", datetime(2025, 1, 8), 6, 1, "full"),  # full load: the economiser carries it all
    ("minneapolis", datetime(2025, 5, 20, 9), 6, 1, "partial"),  # economiser and chillers together
    ("phoenix", datetime(2025, 7, 2, 9), 6, 0, "chillers"),  # the jobs week's first day: chillers only
])
def test_kernel_plant_equals_the_numpy_path_while_no_gpu_throttles(demo, monkeypatch, city, start, hours, scenario,
                                                                    regime):
    for name, value in (("throttle_hysteresis_k", 2.0), ("throttle_gain_per_k", 0.1), ("throttle_min_clock", 0.5)):
        if not hasattr(SolverOptions, name):
            monkeypatch.setattr(SolverOptions, name, value, raising=False)
    plan, sc = _in_city(demo, city, start, hours, scenario)
    monkeypatch.setattr(integrate, "KERNEL_CARRIES_PHYSICS_11", False)
    a = simulate(plan, sc, step_s=10.0)
    monkeypatch.setattr(integrate, "KERNEL_CARRIES_PHYSICS_11", True)
    b = simulate(plan, sc, step_s=10.0)
    assert a.throttled_gpu_hours == 0.0 and b.throttled_gpu_hours == 0.0
    rel = {k: abs(getattr(a, k) - getattr(b, k)) / max(abs(getattr(a, k)), 1e-9) for k in PLANT_KEYS}
    loops = float(np.abs(a.loop_supply_c - b.loop_supply_c).max())
    minutes = {k: float(np.max(np.abs(getattr(a, k) - getattr(b, k)) / np.maximum(np.abs(getattr(a, k)), 1e-9)))
               for k in ("ambient_c", "it_kw", "cooling_kw", "facility_kw", "supply_temp_c", "electrical_loss_kw")}
    worst = max(rel, key=rel.get)
    print(regime, worst, rel[worst], loops, minutes)
    assert all(v < 1e-9 for v in rel.values()), (worst, rel[worst])
    assert loops < 1e-9 and all(v < 1e-9 for v in minutes.values()), (loops, minutes)
    assert np.abs(a.final_loop_temp_c - b.final_loop_temp_c).max() < 1e-9
    # each case is in the regime it is meant to check
    if regime == "full":
        assert a.free_cooling_full_hours == hours and a.chiller_energy_kwh == 0.0
    elif regime == "partial":
        assert a.free_cooling_partial_hours > 0.5 * hours and a.chiller_energy_kwh > 0.0
    else:
        assert a.free_cooling_full_hours + a.free_cooling_partial_hours == 0.0 and a.chiller_energy_kwh > 0.0
