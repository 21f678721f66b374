"""The solver as judge: simulate a schedule exactly as placed, find where it still throttles, tighten.

:func:`simulate_schedule` runs the full transient solver (the scenario's own stepping) on the plan
with the scheduled jobs only, each at its start on its servers (``Job.start_s`` + ``placement``,
which :func:`planner.solver.loads.place_jobs` runs exactly). :func:`throttled_cells` reads the
solver's per-rack throttled share over time and marks (loop, slot) cells whose racks throttled; :func:`tighten` lowers the headroom there below the heat the schedule put in
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
    """(IT-loop row, slot) cells where a rack holding servers of a pool on that loop throttled.

    From the solver's per-rack series (share of each rack's GPU time above slowdown per sample),
    else from per-server minute temperatures (``record`` with ``server``), else — throttling seen only
    hall-wide — every loop in the slots where the hall throttled.
    """
    cells: set[tuple[int, int]] = set()
    md = ctx.model
    series = getattr(res, "rack_throttled_fraction", None)
    if series is not None and np.size(series):
        t = np.asarray(res.rack_series_time_s, float)
        step = float(getattr(res, "rack_series_step_s", 60.0))
        slot = np.minimum((t + step - 1e-6) // pr.slot_s, pr.n - 1).astype(int)  # the slot a sample ends in
        hot = np.asarray(series) > 0  # [samples × racks]
        for p, pool in enumerate(ctx.pools):
            racks = np.unique(md.rack[pool.servers])
            rows = np.flatnonzero(pr.share[p] > 0)
            for tt in np.unique(slot[hot[:, racks].any(axis=1)]):
                cells.update((int(r), int(tt)) for r in rows)
    elif res.server_temp_c is not None and res.server_temp_c.size:
        minute_end = res.time_s + np.diff(np.r_[res.time_s, res.horizon_s])
        slot = np.minimum((minute_end - 1e-6) // pr.slot_s, pr.n - 1).astype(int)
        hot = res.server_temp_c >= md.t_op[None, :]  # hottest GPU at its max operating temperature [minutes × servers]
        for p, pool in enumerate(ctx.pools):
            rows = np.flatnonzero(pr.share[p] > 0)
            for tt in np.unique(slot[hot[:, pool.servers].any(axis=1)]):
                cells.update((int(r), int(tt)) for r in rows)
    if not cells and res.throttled_gpu_hours > 0:
        minute_end = res.time_s + np.diff(np.r_[res.time_s, res.horizon_s])
        slot = np.minimum((minute_end - 1e-6) // pr.slot_s, pr.n - 1).astype(int)
        for tt in np.unique(slot[np.asarray(res.throttled_fraction) > 0]):
            cells.update((r, int(tt)) for r in range(pr.share.shape[1]))
    return cells


def tighten(pr: Problem, assign, cells) -> None:
    """Lower the headroom of ``cells`` (and the slot before each) below the heat ``assign`` put there."""
    heat = pr.evaluate(assign).heat_w
    for r, t in cells:
        for tt in (t - 1, t):
            if 0 <= tt < pr.n:
                pr.headroom_w[r, tt] = min(pr.headroom_w[r, tt], TIGHTEN_FRACTION * heat[r, tt])
