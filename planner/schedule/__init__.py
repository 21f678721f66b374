"""The thermal-headroom job scheduler: when and on which loop each job runs. No Qt, no ORM.

``schedule(plan, scenario, method=...)`` plans the jobs on a slot grid against the plant's thermal
headroom (:mod:`.headroom`, from the solver's own physics) and the time-of-use tariff with demand
charge, then runs the full solver on exactly that schedule and tightens the headroom where it still
throttles (:mod:`.verify`). Methods: ``fcfs`` and ``backfill`` (the baselines, blind to heat and
price), ``greedy`` and ``optimal`` (a time-indexed MILP on HiGHS with a proven bound).

Modules: :mod:`.jobs_csv` (the jobs CSV reader), :mod:`.plant` (steady state of the compiled plant),
:mod:`.transient` (overshoot margin measured with the solver), :mod:`.headroom` (pools, headroom,
cooling cost), :mod:`.problem` / :mod:`.build` (the slot problem and its cost model),
:mod:`.methods` (fcfs, backfill, greedy), :mod:`.milp` (optimal), :mod:`.placement` (servers),
:mod:`.verify` (the solver as judge), :mod:`.result`, :mod:`.study` (night shift).
"""
from .errors import ScheduleCancelled, ScheduleInputError
from .result import ScheduleResult
from .scheduler import METHODS, schedule

__all__ = ["schedule", "METHODS", "ScheduleResult", "ScheduleInputError", "ScheduleCancelled"]
