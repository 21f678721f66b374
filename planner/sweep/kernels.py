"""A Dask worker plugin that loads the solver's compiled kernels when a worker joins.

The solver's stepping kernels are compiled by numba and kept in its on-disk cache
(:mod:`planner.solver.jit`, ``make venv`` fills it), so a worker process never compiles them
again, but each new process still *loads* them on its first simulation: ~0.8 CPU-s for the one
specialisation a short run uses (1.3 CPU-s for all that :func:`planner.solver.warmup.warm` touches),
about five times what a one-day demo variant itself costs, and several seconds of wall time on a loaded
machine (measured: benchmarks/bench_sweep.py ``worker_first_task``; planner/sweep/STATUS.md). Without
this plugin that load lands in whichever variant a worker runs first, so that row's ``wall_time_s``
and the sweep's tail carry it. With it the load happens once per worker, when the worker joins
(also a replacement worker after a crash: the scheduler hands registered plugins to every worker
that joins later), before or beside its first task; a worker whose cache is missing or stale (a
fresh install on a cluster node) compiles there once instead of inside a variant.
"""
from __future__ import annotations

import asyncio
import logging

from distributed.diagnostics.plugin import WorkerPlugin

logger = logging.getLogger(__name__)

#: Seconds this process spent loading the kernels (None until loaded here)
_loaded_s: float | None = None


def load_kernels() -> float:
    """Load (or compile, if the cache lacks them) every specialisation of the solver kernels in this
    process, once; the seconds it took the first time [s] (later calls return at once)."""
    global _loaded_s
    if _loaded_s is None:  # (planner.sweep's __init__ has already imported the worker's modules)
        from planner.solver.warmup import warm
        _loaded_s = warm()
    return _loaded_s


def loaded_s() -> float | None:
    """Seconds the kernel load took in this process, or None if :func:`load_kernels` has not run."""
    return _loaded_s


class SolverKernels(WorkerPlugin):
    """Loads the solver kernels on each worker at setup (see the module docstring).

    The load runs in a thread so the worker's event loop keeps answering the scheduler (heartbeats)
    even when the cache is cold and numba compiles for a minute or two; a task that starts
    meanwhile waits on numba's compiler lock and then uses the loaded kernels. A failure is logged,
    not raised: the variant tasks then fail with the solver's own error, naming the variant.
    """

    name = "dcplan-solver-kernels"
    idempotent = True  # registering again (another sweep on the same cluster) does not re-run setup

    async def setup(self, worker) -> None:
        try:
            seconds = await asyncio.to_thread(load_kernels)
        except Exception:  # the tasks report it; a plugin error would only be logged on the worker
            logger.exception("dcplan: loading the solver kernels failed on %s", getattr(worker, "address", "?"))
            return
        logger.info("dcplan: solver kernels ready on %s in %.1f s", getattr(worker, "address", "?"), seconds)
