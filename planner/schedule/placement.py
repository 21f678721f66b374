"""From (start slot, pool) to jobs with a start and a server placement the solver runs exactly.

Jobs are placed in start order; at a job's start every job that has ended frees its GPUs, and the
job takes free GPUs from its pool's servers in the pool's order: coolest positions first (least
recirculation) for the heat-aware methods, plan order for ``fcfs`` / ``backfill`` ("the first free
GPUs"). The slot model counts a job in every slot its run touches, so the pool always has the GPUs.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from planner.plan import Job

from .problem import Problem


def place(pr: Problem, jobs: list[Job], pools, server_names: list[str], assign, *, plan_order: bool) -> list[Job]:
    """Jobs with ``start_s`` and ``placement`` for every assigned job, in input order (others left out).

    pools : list[:class:`.headroom.Pool`]; server_names : the compiled model's server names
    """
    order = sorted((k for k, a in enumerate(assign) if a is not None),
                   key=lambda k: (assign[k][0] * pr.slot_s + pr.jobs[k].offset_s, k))
    used: dict[int, int] = {}
    running: list[tuple[float, int, int]] = []  # (end, server, gpus)
    placed: dict[int, Job] = {}
    for k in order:
        s, p = assign[k]
        job = jobs[k]
        t = s * pr.slot_s + pr.jobs[k].offset_s
        still = []
        for end, i, g in running:
            if end <= t + 1e-9:
                used[i] -= g
            else:
                still.append((end, i, g))
        running = still
        pool = pools[p]
        servers = np.sort(pool.servers) if plan_order else pool.servers
        need = job.gpus
        pairs = []
        for i in servers:
            free = pool.gpus_per_server - used.get(int(i), 0)
            if free <= 0:
                continue
            g = min(free, need)
            pairs.append((server_names[int(i)], int(g)))
            used[int(i)] = used.get(int(i), 0) + g
            running.append((t + job.duration_s, int(i), g))
            need -= g
            if need == 0:
                break
        if need:
            raise RuntimeError(f"pool {pool.name} has no room for job {job.name!r} at {t:g} s (slot model broken)")
        placed[k] = replace(job, start_s=float(t), placement=tuple(pairs))
    return [placed[k] for k in sorted(placed)]
