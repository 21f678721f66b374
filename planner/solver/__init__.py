"""Transient power and thermal solver for a plan: loads, loops, heat rejection, throttling, cost.

Entry point :func:`simulate`; bundled seed-story studies in :mod:`planner.solver.studies`.
Pure numpy/scipy; imports neither Qt nor the ORM.
"""
from .errors import SolverInputError
from .model import SolverOptions
from .results import SimulationResult
from .run import DEFAULT_STEP_S, simulate

__all__ = ["simulate", "SimulationResult", "SolverInputError", "SolverOptions", "DEFAULT_STEP_S", "run_study"]


def run_study(name: str) -> dict:
    """Run a bundled study (``phoenix``, ``pump-lag``, ``cost``); see :mod:`.studies`."""
    from .studies import run_study as _run
    return _run(name)
