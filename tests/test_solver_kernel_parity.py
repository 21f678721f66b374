"""The compiled stepping kernel (integrate._advance) against issue 11's numpy stepping
(integrate_numpy.run_fast, recorder_numpy) it replaces: same summary, minute series, per-rack series,
monthly table and final state to ~1e-9 in fixed steps, on the runs that exercise #11's physics —
GPU groups through the software band and the hardware floor (hot day), job starts / ends and
training bursts (jobs day) under reactive, predictive (forecast with error) and predictive-throttle
control, the pump-lag burst, the power cap acting, and a small air-cooled plan with chillers and
an economiser."""
from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

import planner.solver.integrate as integrate
from planner.demo import build_demo_plan
from planner.solver import simulate
from planner.solver.examples import liquid_burst_plan, small_air_plan

#: Fields that describe the run rather than its physics, or that only one path records
_SKIP = {"wall_time_s", "stepping_wall_s", "step_factor_counts", "base_steps_near_slowdown", "gpu_p95_c",
         "loop_heat_kw"}
REL = 1e-9  # of each quantity's own scale (largest magnitude over the run)


def _both(monkeypatch, run, module=integrate, flag="KERNEL_CARRIES_PHYSICS_11"):
    """``run()`` with ``module.flag`` False (the reference), then True."""
    monkeypatch.setattr(module, flag, False)
    ref = run()
    monkeypatch.setattr(module, flag, True)
    got = run()
    return ref, got


def _close(name, a, b, rel):
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    assert a.shape == b.shape, (name, a.shape, b.shape)
    if not a.size:
        return 0.0
    fin = np.isfinite(a)
    assert np.array_equal(fin, np.isfinite(b)), name
    if not fin.any():
        return 0.0
    scale = max(float(np.abs(a[fin]).max()), 1.0)
    err = float(np.abs(a[fin] - b[fin]).max()) / scale
    assert err <= rel, (name, err)
    return err


def _agree(ref, got):
    worst = {}
    for f in fields(ref):
        name = f.name
        if name in _SKIP:
            continue
        a, b = getattr(ref, name), getattr(got, name)
        if a is None or isinstance(a, (str, bool)) or name in ("start",):
            assert a == b or (a is None and b is None), name
            continue
        if isinstance(a, list):
            if a and isinstance(a[0], dict):  # monthly table
                assert len(a) == len(b), name
                for ra, rb in zip(a, b):
                    assert ra.keys() == rb.keys(), name
                    for key, va in ra.items():
                        if isinstance(va, str):
                            assert va == rb[key], (name, key)
                        else:
                            worst[f"{name}.{key}"] = _close(f"{name}.{key}", va, rb[key], REL)
            else:
                assert a == b, name
            continue
        if isinstance(a, np.ndarray) and a.dtype == np.float32:  # per-rack series are float32
            worst[name] = _close(name, a, b, 1e-6)
            continue
        worst[name] = _close(name, a, b, REL)
    return worst


def _demo_day(scenario: int, control: str | None = None, start=None):
    demo = build_demo_plan()
    sc = replace(demo.scenarios[scenario], horizon_s=86400.0)
    if start is not None:
        sc = replace(sc, start=start)
    if control:
        sc = replace(sc, control=control)
    return lambda: simulate(demo, sc, step_s=10.0)


def test_kernel_equals_numpy_on_the_phoenix_hot_day(monkeypatch):
    """Full load through Phoenix's hottest day: thousands of throttled GPU-hours, episodes per GPU
    group, the hardware floor, chillers at their limit."""
    ref, got = _both(monkeypatch, _demo_day(1))
    assert ref.throttled_gpu_hours > 4000 and ref.throttle_events > 0
    _agree(ref, got)


@pytest.mark.parametrize("control", ["reactive", "predictive", "predictive-throttle"])
def test_kernel_equals_numpy_on_a_day_of_the_demo_jobs(monkeypatch, control):
    """A day of the demo's job week (starts, ends, training iterations and checkpoints) under each
    control mode; predictive ones with the forecast's errors."""
    ref, got = _both(monkeypatch, _demo_day(0, control))
    assert ref.it_energy_kwh > 1e4
    _agree(ref, got)


def test_kernel_equals_numpy_on_a_january_day_with_the_economiser(monkeypatch):
    """A January Monday of the demo's jobs in Phoenix: the dry coolers take the chillers' load
    (water-side economiser, full and partial free cooling, its fans)."""
    from datetime import datetime
    ref, got = _both(monkeypatch, _demo_day(0, start=datetime(2025, 1, 6)))
    assert ref.free_cooling_full_hours + ref.free_cooling_partial_hours > 1.0
    _agree(ref, got)


def _burst(setpoint_c: float, weather_c: float, control: str, lag_s: float = 90.0, record=("summary", "minute")):
    plan = liquid_burst_plan(lag_s=lag_s, horizon_s=3 * 3600.0)
    for u in plan.cooling_units:
        if u.kind == "cdu":
            u.supply_setpoint_c = setpoint_c
    sc = replace(plan.scenarios[0], control=control)
    return lambda: simulate(plan, sc, weather=weather_c, step_s=10.0, record=record)


def test_kernel_equals_numpy_on_the_pump_lag_burst(monkeypatch):
    """The pump-lag headline (CDU at 45.25 °C, 90 s lag, reactive): throttling in the minutes after
    the job starts; per-server minute histories (hottest GPU) too."""
    ref, got = _both(monkeypatch, _burst(45.25, 35.0, "reactive", record=("summary", "minute", "server")))
    assert ref.throttled_gpu_hours > 3.0 and ref.server_temp_c is not None
    _agree(ref, got)


def test_kernel_equals_numpy_when_the_power_cap_acts(monkeypatch):
    """Predictive throttling on a 44 °C afternoon: the dry cooler cannot hold the facility water, the
    power cap gives work up in the burst windows and the GPUs still throttle."""
    ref, got = _both(monkeypatch, _burst(43.0, 44.0, "predictive-throttle"))
    assert ref.power_cap_lost_gpu_hours > 1.0 and ref.throttled_gpu_hours > 1.0
    _agree(ref, got)


def test_kernel_equals_numpy_on_the_small_air_plan(monkeypatch):
    """The small air-cooled plan (a CRAH on an air-cooled chiller, recirculation between racks), six
    hours at full load and 35 °C."""
    plan = small_air_plan()
    sc = replace(plan.scenarios[0], horizon_s=6 * 3600.0)
    ref, got = _both(monkeypatch, lambda: simulate(plan, sc, weather=35.0, step_s=10.0))
    assert ref.max_inlet_temp_c > 0
    _agree(ref, got)
