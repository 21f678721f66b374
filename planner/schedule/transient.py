"""Transient-overshoot margin of each loop, measured with the solver on the worst load step.

A job start raises a loop's heat within the job's start-up ramp; the loop's supply overshoots until
its actuators catch up (the solver models dead time, transit and first-order lag, with load
feed-forward in the controller). The scheduler's headroom (:mod:`.headroom`) is a steady-state
figure, so it keeps the steady supply below the slowdown limit by this overshoot. It is measured,
not estimated: the solver runs the plan with, on every pool at once, the largest job of the list
that fits that pool (its utilisation and kind) starting together at ``PROBE_START_S``, at a mild
constant outdoor condition (``PROBE_AMBIENT_C``) where no plant saturates; the margin of a loop is
the peak of its supply above setpoint.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from planner.plan import Job, Plan, Scenario
from planner.solver import simulate
from planner.solver.model import Model

#: Outdoor dry / wet bulb of the probe [°C]: cool enough that every plant holds its setpoint at
#: full load, so any rise of a supply above setpoint is overshoot.
PROBE_AMBIENT_C = (20.0, 14.0)
PROBE_START_S = 600.0  #: the step, after the initial steady state [s]
PROBE_AFTER_S = 5400.0  #: simulated after the step, several loop time constants [s]


def probe_jobs(pools, model: Model, jobs: list[Job]) -> list[Job]:
    """For every pool, the largest job of ``jobs`` (by heat) that fits it, fixed on the pool's first servers."""
    out = []
    for k, pool in enumerate(pools):
        fits = [j for j in jobs if j.gpus <= pool.gpus]
        if not fits:
            continue
        job = max(fits, key=lambda j: (j.gpus * j.utilization, j.gpus))
        need, placement = job.gpus, []
        for i in pool.servers:
            g = min(need, pool.gpus_per_server)
            placement.append((model.server_names[i], int(g)))
            need -= g
            if need == 0:
                break
        out.append(Job(name=f"probe-{k}", gpus=job.gpus, utilization=job.utilization, duration_s=PROBE_AFTER_S * 2,
                       kind=job.kind, start_s=PROBE_START_S, placement=tuple(placement)))
    return out


def transient_margin(plan: Plan, scenario: Scenario, pools, model: Model, jobs: list[Job], cancel=None) -> np.ndarray:
    """Peak supply rise above setpoint of every loop after the worst simultaneous job starts [K].

    plan, scenario : the plan and scenario being scheduled (the scenario's step is used)
    pools : list[:class:`.headroom.Pool`]
    model : the compiled plan
    jobs : the jobs to schedule (the largest per pool makes the step)
    """
    probe = probe_jobs(pools, model, jobs)
    if not probe:
        return np.zeros(model.m)
    step = scenario.step_s
    horizon = math.ceil((PROBE_START_S + PROBE_AFTER_S) / step) * step
    sc = replace(scenario, horizon_s=horizon, load="jobs")
    res = simulate(replace(plan, jobs=probe), sc, weather=PROBE_AMBIENT_C, cancel=cancel)
    rise = res.loop_supply_c - model.loop_setpoint[None, :]
    return np.maximum(rise.max(axis=0), 0.0)
