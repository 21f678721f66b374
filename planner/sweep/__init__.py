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
from .definition import KINDS, MAX_VARIANTS, Sweep, SweepError, Variant, define, load_sweep_file, parse_vary
from .runner import check_address, connect, default_workers, execute, run, run_serial
from .ranking import Constraint, best, objectives_for, parse_constraint, pareto
from .results import ResultsFile, columns
from .worker import NUMERIC_FIELDS, RESULT_FIELDS, TIMING_FIELDS, run_variant

__all__ = ["run", "run_serial", "execute", "define", "connect", "check_address", "default_workers", "Sweep", "Variant",
           "SweepError", "KINDS", "MAX_VARIANTS", "parse_vary", "load_sweep_file", "ResultsFile", "columns",
           "Constraint", "parse_constraint", "pareto", "best", "objectives_for", "RESULT_FIELDS",
           "NUMERIC_FIELDS", "TIMING_FIELDS", "run_variant"]
