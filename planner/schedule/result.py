"""What :func:`planner.schedule.schedule` returns, and the figures derived from a schedule."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from planner.solver.ambient import local_hour

#: Solver figures reported under the same names as ``dcplan simulate --json``.
SOLVER_FIGURES = ("cost_usd", "facility_energy_kwh", "peak_15min_facility_kw", "throttled_gpu_hours",
                  "lost_gpu_hours", "max_gpu_temp_c")
NIGHT_HOURS = (22, 6)  #: local clock hours of the night shift [h0, h1) wrapping midnight


def gpu_hours_in_horizon(jobs, horizon_s: float) -> tuple[float, float]:
    """``(inside, after)``: the scheduled jobs' GPU-hours that run inside the simulated horizon [0,
    horizon_s) — the work the solver's bill covers — and those that run after its end (scheduled work
    the bill does not cover) [GPU-h]. Methods compare like for like only when ``after`` is 0 for each."""
    inside = after = 0.0
    for j in jobs:
        if j.start_s is None:
            continue
        a, b = max(j.start_s, 0.0), j.start_s + j.duration_s
        inside += j.gpus * max(min(b, horizon_s) - a, 0.0) / 3600.0
        after += j.gpus * max(b - max(a, horizon_s), 0.0) / 3600.0
    return inside, after


def gpu_hours_share(jobs, start: datetime, timezone: str, horizon_s: float, h0: int, h1: int) -> float | None:
    """Share of the jobs' GPU-hours inside the horizon that run between local hours ``h0`` and ``h1``
    (wrapping midnight when h0 > h1), at one-minute resolution; None when nothing runs."""
    minutes = np.arange(0.0, horizon_s, 60.0)
    if minutes.size == 0:
        return None
    hour = local_hour(start, minutes + 30.0, timezone)
    inside = (hour >= h0) & (hour < h1) if h0 < h1 else (hour >= h0) | (hour < h1)
    cum_in = np.concatenate([[0.0], np.cumsum(inside)])
    total = part = 0.0
    for j in jobs:
        if j.start_s is None:
            continue
        a = max(j.start_s, 0.0) / 60.0
        b = min(j.start_s + j.duration_s, horizon_s) / 60.0
        if b <= a:
            continue

        def cum(x):  # minutes inside up to x (fractional minutes linear)
            k = int(math.floor(x))
            k = min(k, minutes.size)
            frac = x - k if k < minutes.size else 0.0
            return cum_in[k] + (inside[k] * frac if k < minutes.size else 0.0)
        total += j.gpus * (b - a)
        part += j.gpus * (cum(b) - cum(a))
    return part / total if total > 0 else None


@dataclass
class ScheduleResult:
    """A schedule and its solver-verified figures.

    method : str  ``fcfs``, ``backfill``, ``greedy`` or ``optimal``
    jobs : list[Job]  The scheduled jobs, each with ``start_s`` and ``placement`` (input order)
    unscheduled : dict[str, str]  Job name -> why it could not be scheduled
    loops : dict[str, str]  Job name -> the loop (pool) it runs on
    simulation : SimulationResult  The solver run of exactly ``jobs``
    baseline : dict | None  The fcfs summary (None when this is fcfs)
    model_cost_usd : float  Cost of the schedule under the optimisation's cost model [$]
    lower_bound_usd, gap : float | None  Proven bound and relative gap (``optimal`` only)
    solve_time_s : float  Wall time of the optimisation, verification rounds included [s]
    verify_rounds : int  Solver runs after the first that tightened headroom (0: none needed)
    """

    method: str
    jobs: list
    unscheduled: dict
    loops: dict
    simulation: object
    baseline: dict | None
    model_cost_usd: float
    lower_bound_usd: float | None
    gap: float | None
    solve_time_s: float
    verify_rounds: int
    n_jobs: int
    missed: list = field(default_factory=list)
    start: datetime | None = None
    timezone: str = "UTC"
    horizon_s: float = 0.0
    slot_s: float = 900.0
    notes: dict = field(default_factory=dict)

    def share(self, h0: int, h1: int, names=None) -> float | None:
        """Share of (the named jobs') GPU-hours between local hours h0 and h1."""
        jobs = [j for j in self.jobs if names is None or j.name in names]
        return gpu_hours_share(jobs, self.start, self.timezone, self.horizon_s, h0, h1)

    def summary(self) -> dict:
        """The ``dcplan schedule --json`` object (JSON-ready)."""
        sim = self.simulation.summary() if self.simulation is not None else {}
        out = {"method": self.method, "jobs": self.n_jobs, "scheduled": len(self.jobs),
               "unscheduled": sorted(self.unscheduled), "unscheduled_reasons": dict(sorted(self.unscheduled.items())),
               "missed_deadlines": len(self.missed), "missed_deadline_jobs": sorted(self.missed)}
        for k in SOLVER_FIGURES:
            out[k] = sim.get(k)
        out["night_gpu_hours_share"] = self.share(*NIGHT_HOURS)
        inside, after = gpu_hours_in_horizon(self.jobs, self.horizon_s)
        out["gpu_hours"] = round(inside, 4)  # the work the verified figures cover
        out["gpu_hours_past_horizon"] = round(after, 4)  # scheduled work after the horizon: in no bill
        out["solve_time_s"] = round(self.solve_time_s, 3)
        out["model_cost_usd"] = round(self.model_cost_usd, 4)
        out["lower_bound_usd"] = None if self.lower_bound_usd is None else round(self.lower_bound_usd, 4)
        out["gap"] = None if self.gap is None else round(self.gap, 6)
        out["verify_rounds"] = self.verify_rounds
        out["slot_min"] = self.slot_s / 60.0
        out.update(self.notes)
        out["baseline"] = self.baseline
        return out


SCHEDULE_CSV_COLUMNS = ("name", "start", "end", "loop", "servers", "gpus")


def schedule_rows(result: ScheduleResult) -> list[list[str]]:
    """Rows of the schedule CSV (header first): start / end ISO 8601 site local time, ``servers`` as
    ``server:gpus`` pairs joined by ``;``."""
    from planner.solver.ambient import local_times
    rows = [list(SCHEDULE_CSV_COLUMNS)]
    jobs = sorted(result.jobs, key=lambda j: (j.start_s, j.name))
    starts = local_times(result.start, [j.start_s for j in jobs], result.timezone) if jobs else []
    ends = local_times(result.start, [j.start_s + j.duration_s for j in jobs], result.timezone) if jobs else []
    for j, a, b in zip(jobs, starts, ends):
        rows.append([j.name, a, b, result.loops.get(j.name, ""), ";".join(f"{s}:{g}" for s, g in j.placement),
                     str(j.gpus)])
    return rows


def write_schedule_csv(result: ScheduleResult, path, *, protect=()) -> None:
    """Write the schedule CSV through :func:`planner.outputs.atomic_output` (never over a plan or an input)."""
    import csv

    from planner.outputs import atomic_output
    with atomic_output(path, protect=protect) as fh:
        csv.writer(fh).writerows(schedule_rows(result))
