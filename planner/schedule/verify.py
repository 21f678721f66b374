"""The solver as judge: simulate a schedule exactly as placed, find where it still throttles, tighten.

:func:`simulate_schedule` runs the full transient solver (the scenario's own stepping) on the plan
with the scheduled jobs only, each at its start on its servers (``Job.start_s`` + ``placement``,
which :func:`planner.solver.loads.place_jobs` runs exactly). :func:`throttled_cells` reads the
per-server die temperatures at each minute's end and marks (loop, slot) cells whose servers were at
or above slowdown; :func:`tighten` lowers the headroom there below the heat the schedule put in
(and in the slot before, since loop temperatures lag their load), so the next solve moves work away.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from planner.solver import simulate

from .problem import Problem

#: Each verification round cuts an offending cell's headroom to this fraction of the heat that
#: throttled there [-].
TIGHTEN_FRACTION = 0.85


def simulate_schedule(ctx, jobs, *, servers: bool = False, progress=None, cancel=None):
    """Full solver run of ``ctx.plan`` with exactly ``jobs`` (scheduled, placed) under the scenario."""
    plan = replace(ctx.plan, jobs=list(jobs))
    sc = replace(ctx.scenario, load="jobs")
    record = ("summary", "minute", "server") if servers else ("summary", "minute")
    return simulate(plan, sc, weather=ctx.weather, record=record, progress=progress, cancel=cancel)


def throttled_cells(pr: Problem, ctx, res) -> set[tuple[int, int]]:
    """(IT-loop row, slot) cells where a server of a pool on that loop was at or above slowdown."""
    cells: set[tuple[int, int]] = set()
    md = ctx.model
    if res.server_temp_c is None or res.server_temp_c.size == 0:
        return cells
    minute_end = res.time_s + np.diff(np.r_[res.time_s, res.horizon_s])
    slot = np.minimum((minute_end - 1e-6) // pr.slot_s, pr.n - 1).astype(int)
    hot = res.server_temp_c >= md.t_slow[None, :]  # [minutes × servers]
    for p, pool in enumerate(ctx.pools):
        rows = np.flatnonzero(pr.share[p] > 0)
        mins = np.flatnonzero(hot[:, pool.servers].any(axis=1))
        for t in np.unique(slot[mins]):
            for r in rows:
                cells.add((int(r), int(t)))
    if not cells and res.throttled_gpu_hours > 0:  # within-minute episodes: every loop in those slots
        mins = np.flatnonzero(res.throttled_fraction > 0)
        for t in np.unique(slot[mins]):
            for r in range(pr.share.shape[1]):
                cells.add((r, int(t)))
    return cells


def tighten(pr: Problem, assign, cells) -> None:
    """Lower the headroom of ``cells`` (and the slot before each) below the heat ``assign`` put there."""
    heat = pr.evaluate(assign).heat_w
    for r, t in cells:
        for tt in (t - 1, t):
            if 0 <= tt < pr.n:
                pr.headroom_w[r, tt] = min(pr.headroom_w[r, tt], TIGHTEN_FRACTION * heat[r, tt])
