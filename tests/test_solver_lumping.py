"""Exact lumping of identical servers, racks and loops (planner/solver/lumping.py): a lumped run is
the same run — every result field equal to the unlumped run to 1e-9 of its scale (float32 rack
series 1e-6), per-server, per-rack and per-loop results mapped back to the plan's."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import planner.solver.lumping as lumping
from planner.demo import build_demo_plan
from planner.solver import simulate
from planner.solver.model import compile_model
from test_solver_kernel_parity import _agree
from test_solver_kernel_parity import _both as _flag_both


def _both(monkeypatch, run):
    return _flag_both(monkeypatch, run, lumping, "LUMP")


def _sizes(plan, sc):
    model = compile_model(plan, sc, sc.horizon_s)
    lumped, lm = lumping.lump(model)
    return model, lumped, lm


def test_lumped_hot_day_equals_the_unlumped_run(monkeypatch):
    """The demo pod on Phoenix's hottest day at full load: 104 servers are 42 kinds (rack positions
    that see the same recirculation), 32 racks 15; thousands of throttled GPU-hours, GPU groups in
    the band and at the hardware floor, ASHRAE inlet rack-hours (a lumped rack counts its racks)."""
    plan = build_demo_plan()
    sc = replace(plan.scenarios[1], horizon_s=86400.0)
    _, lumped, lm = _sizes(plan, sc)
    assert (lumped.n, len(lumped.rack_names), lumped.m) == (42, 15, 4)
    assert lm.k_server.sum() == 104 and lm.k_rack.sum() == 32
    ref, got = _both(monkeypatch, lambda: simulate(plan, sc, step_s=10.0))
    assert ref.throttled_gpu_hours > 4000 and ref.inlet_rack_hours_outside_recommended > 100
    _agree(ref, got)
    assert got.servers == 104 and got.final_server_temp_c.shape == (104,) and got.rack_power_kw.shape[1] == 32


@pytest.mark.parametrize("control", ["reactive", "predictive-throttle"])
def test_lumped_pods_with_jobs_equal_the_unlumped_run(monkeypatch, control):
    """Six and a quarter pods with the demo's jobs (scaled with the hall, placed first-fit): servers
    with jobs stay apart, idle ones and idle pods lump (656 servers → 286; loops too: ×K heat
    capacities, capacities, movers); job starts, training bursts, the forecast and the power cap."""
    plan = build_demo_plan(200)
    sc = replace(plan.scenarios[0], horizon_s=6 * 3600.0, control=control)
    model, lumped, lm = _sizes(plan, sc)
    assert lm is not None and lumped.n < model.n and lumped.m < model.m
    ref, got = _both(monkeypatch, lambda: simulate(plan, sc, step_s=10.0, record=("summary", "minute", "server")))
    assert ref.it_energy_kwh > 0 and ref.server_temp_c.shape == got.server_temp_c.shape
    _agree(ref, got)


def test_lumped_adaptive_run_equals_the_unlumped_run(monkeypatch):
    """Adaptive stepping decides on maxima over servers and loops, which lumping keeps: the same
    steps, the same results."""
    plan = build_demo_plan(64)
    sc = replace(plan.scenarios[1], horizon_s=2 * 86400.0)
    ref, got = _both(monkeypatch, lambda: simulate(plan, sc, rtol=3e-3))
    assert ref.stepping == "adaptive" and ref.steps == got.steps
    _agree(ref, got)


def test_the_scaled_demo_hall_is_a_few_dozen_kinds_of_server():
    """The ≥ 10,000-server hall of the issue-12 benchmark (the demo scaled to 3,077 racks: 96 whole
    pods and a partial one) at full load: 10,004 servers are 54 kinds, 3,077 racks 18, 196 loops 6."""
    plan = build_demo_plan(3077)
    sc = plan.scenarios[1]
    model, lumped, lm = _sizes(plan, sc)
    assert model.n == 10_004
    assert (lumped.n, len(lumped.rack_names), lumped.m) == (54, 18, 6)
    assert lumped.rated_it_w == model.rated_it_w
    assert np.isclose(lumped.p_dyn.sum(), model.p_dyn.sum(), rtol=1e-12)
    assert np.isclose(lumped.loop_c.sum(), model.loop_c.sum(), rtol=1e-12)
    assert lumped.rack_count.sum() == 3077


def test_every_model_field_is_classified():
    """A new Model field must be declared extensive or intensive before lumping trusts it."""
    plan = build_demo_plan()
    model = compile_model(plan, plan.scenarios[1], 3600.0)
    lumping._check_fields(model)
    old = lumping.GLOBAL
    try:
        lumping.GLOBAL = tuple(f for f in old if f != "alpha")
        with pytest.raises(AssertionError, match="alpha"):
            lumping._check_fields(model)
    finally:
        lumping.GLOBAL = old
