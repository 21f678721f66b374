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
        out.append(_probe_job(f"probe-{k}", job, model, pool.servers, pool.gpus_per_server))
    return out


def _probe_job(name: str, job: Job, model: Model, servers, gpus_per_server: int) -> Job:
    """``job`` as a probe: fixed on ``servers`` in that order (each filled before the next), started at
    ``PROBE_START_S`` and running past the end of the probe."""
    need, placement = job.gpus, []
    for i in servers:
        g = min(need, gpus_per_server)
        placement.append((model.server_names[i], int(g)))
        need -= g
        if need == 0:
            break
    return Job(name=name, gpus=job.gpus, utilization=job.utilization, duration_s=PROBE_AFTER_S * 2,
               kind=job.kind, start_s=PROBE_START_S, placement=tuple(placement))


def _run_probe(plan: Plan, scenario: Scenario, probe: list[Job], cancel=None):
    """The solver on ``probe`` alone, at the probe ambient, to ``PROBE_AFTER_S`` after the step (rounded up to
    whole solver steps). Returns (result, horizon [s])."""
    step = scenario.step_s
    horizon = math.ceil((PROBE_START_S + PROBE_AFTER_S) / step) * step
    sc = replace(scenario, horizon_s=horizon, load="jobs")
    return simulate(replace(plan, jobs=probe), sc, weather=PROBE_AMBIENT_C, cancel=cancel), horizon


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
    res, _ = _run_probe(plan, scenario, probe, cancel)
    rise = res.loop_supply_c - model.loop_setpoint[None, :]
    return np.maximum(rise.max(axis=0), 0.0)


#: The settled hottest GPU of a start probe is the highest over its last this many seconds (a training
#: job's bursts repeat within seconds, so the peak of the late window is its settled peak) [s].
SETTLED_WINDOW_S = 1800.0
#: Start probes per schedule at most (distinct pool × servers × utilisation × kind); past it the
#: largest overshoot measured so far on that pool stands for the rest (errs toward refusing a pool).
MAX_START_PROBES = 24


def start_probe(plan: Plan, scenario: Scenario, model: Model, pool, job: Job, cancel=None) -> tuple[float, float]:
    """(peak, settled) hottest GPU [°C] when ``job`` starts alone on the *hottest* servers of ``pool``
    at the probe ambient (the plant at its setpoint): the solver's own start transient of that job.

    The difference is the job's start overshoot on the die: the loop's supply overshooting while pumps,
    fans and valves catch up, plus the servers' own lag. It does not grow in proportion to the job
    (demo GB200 pool, batch at utilisation 1: 1.2 K for 2 servers, 1.5 K for 4, 1.6 K for 8), so it is
    measured per job size, not scaled from the largest job.
    """
    probe = _probe_job("start-probe", job, model, pool.servers[::-1], pool.gpus_per_server)
    res, horizon = _run_probe(plan, scenario, [probe], cancel)
    series = np.asarray(res.max_gpu_temp_c_series, float)
    t = np.asarray(res.time_s, float)
    late = series[t >= horizon - SETTLED_WINDOW_S]
    return float(res.max_gpu_temp_c), float(late.max() if late.size else series[-1])
