"""Compile (or load) the solver's kernels once: ``python -m planner.solver.warmup``.

numba compiles the stepping kernel on its first use and keeps the machine code in its cache
(``__pycache__`` beside the sources, :mod:`.jit`); a fresh install or a changed kernel source pays
that once — a minute or more on a loaded 2-core machine. ``make venv`` runs this right after
installing, and ``make test`` before the tests, so the first simulation in the GUI (in a worker
thread, with a progress bar) or in a test with a time limit does not pay it.
"""
from __future__ import annotations

import time


def warm_short():
    """Load (or compile) the kernel specialisation of fixed-step runs shorter than a few weeks: a
    twenty-minute run of a small plan; returns that plan."""
    from .examples import liquid_burst_plan
    from .run import simulate
    plan = liquid_burst_plan(lag_s=60.0, horizon_s=1200.0)
    simulate(plan, weather=30.0, step_s=10.0)
    return plan


def warm() -> float:
    """Run a twenty-minute simulation of a small plan, fixed and adaptive, and once with the float32
    loop series of long runs (:func:`.recorder.loop_series_in_float32`: another specialisation of
    the kernel); returns the wall time [s]."""
    from . import recorder
    from .run import simulate
    t = time.perf_counter()
    plan = warm_short()
    simulate(plan, weather=30.0, step_s=10.0, rtol=1e-3, control="predictive")
    with recorder.loop_series_in_float32():
        simulate(plan, weather=30.0, step_s=10.0, rtol=1e-3)
    warm_pool()
    return time.perf_counter() - t


def warm_pool():
    """Load (or compile) the helper pool's kernel of large halls' runs
    (:func:`.groupstep.pool_helper`) for the stepping kernel's argument types (a small plan never
    starts the pool)."""
    from numba import types
    from .groupstep import pool_helper
    from .integrate import _advance
    a = _advance.signatures[0]
    vec = types.Array(types.float64, 1, "C")
    # (jobs, servers' table, levels, state, recirculation, uj, tl, GPU groups, step ends, chunks, caps,
    # the helper's chunk counts)
    pool_helper.compile((a[1], a[2], a[3], a[8], a[4], vec, vec, a[12], a[13], a[16], a[17], vec, vec,
                         types.Array(types.int64, 1, "C")))


if __name__ == "__main__":
    print(f"dcplan solver kernels ready ({warm():.1f} s)")
