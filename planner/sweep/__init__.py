"""Design studies at scale: scenario sweeps on Dask. Qt-free and ORM-free.

A sweep is a base plan plus named parameters, each with a list of values
(:mod:`.definition`); every combination is a variant, a plain-data change of the plan
(:mod:`.transform`) that a Dask worker applies and simulates (:mod:`.worker`), returning one small
summary row. :func:`run` runs a sweep on an embedded ``LocalCluster`` or on the user's own
``distributed.Client``; :mod:`.results` writes rows as they arrive and resumes; :mod:`.ranking`
gives the Pareto set and the best variant under constraints.

>>> from planner.sweep import run
>>> rows = run(plan, {"control": ["reactive", "predictive"], "containment": ["none", "hot"]}, days=1)
"""
import importlib

#: Where each public name lives. The package imports nothing until a name is asked for (PEP 562): the
#: embedded cluster's forkserver imports :mod:`.forkserver_start` before Dask, numpy and the solver
#: (it pauses the garbage collector and sets the workers' thread settings for those imports), and a
#: module of this package can only be imported after the package's ``__init__``.
_EXPORTS = {
    ".definition": ("KINDS", "MAX_VARIANTS", "Sweep", "SweepError", "Variant", "define", "load_sweep_file", "parse_vary"),
    ".runner": ("check_address", "connect", "default_workers", "execute", "run", "run_serial"),
    ".ranking": ("Constraint", "best", "objectives_for", "parse_constraint", "pareto"),
    ".results": ("ResultsFile", "columns"),
    ".worker": ("NUMERIC_FIELDS", "RESULT_FIELDS", "TIMING_FIELDS", "run_variant"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = list(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # asked once
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
