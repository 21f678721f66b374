"""What runs on a Dask worker (or in the serial loop): one variant -> one small summary row.

Inputs and output are plain data: the base plan and scenario (dataclasses), the variant's
resolved changes, the parsed weather. The row holds the variant's parameter values (as written),
the ``simulate --json`` summary fields, the scenario and start, the installed cooling capacity, an
``error`` (empty when the run worked) and the variant's content hash. A variant the solver refuses
(a step above the stability limit of a smaller plant, say) is a row with its error, not a failed
sweep; anything else is a bug and propagates.
"""
from __future__ import annotations

import pickle
import time
import traceback
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..solver import SolverInputError, simulate
from ..solver.results import SUMMARY_FIELDS, SimulationResult
from ..weather import WeatherError
from .transform import apply_variant, installed_cooling_kw

#: Columns after the varied parameters, in the results file's order.
RESULT_FIELDS = SUMMARY_FIELDS + ("scenario", "start", "installed_cooling_kw", "error", "variant_hash")
#: Extra columns when the sweep varies ``scheduler``: the scheduler's own figures of the variant
#: (the solver figures above are those of the verified schedule).
SCHEDULE_FIELDS = ("missed_deadlines", "unscheduled_jobs", "model_cost_usd", "schedule_gap", "verify_rounds")


def result_fields(params) -> tuple[str, ...]:
    """Result columns (after the parameters) of a sweep varying ``params``."""
    extra = SCHEDULE_FIELDS if any(p.split(".", 1)[0] == "scheduler" for p in params) else ()
    return RESULT_FIELDS[:-1] + extra + RESULT_FIELDS[-1:]  # the hash stays last (resume reads it there)
#: Fields that change from run to run of the same variant (excluded when comparing rows).
TIMING_FIELDS = ("wall_time_s",)
def _scalar_type(annotation) -> str:
    """``float``, ``int``, ``bool`` or ``str`` from a dataclass annotation (``"float | None"`` …)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    parts = {p.strip() for p in text.split("|")} - {"None"}
    return next((t for t in ("bool", "int", "float") if parts == {t}), "str")


_TYPES = {k: _scalar_type(SimulationResult.__dataclass_fields__[k].type) for k in SUMMARY_FIELDS}
#: Result columns holding numbers (what ``--require`` and the ranking may use).
NUMERIC_FIELDS = tuple(k for k in SUMMARY_FIELDS if _TYPES[k] in ("float", "int")) + ("installed_cooling_kw",)


def field_type(name: str) -> str:
    """``float``, ``int``, ``bool`` or ``str`` for a result column (parameters are ``str``)."""
    if name in ("installed_cooling_kw", "model_cost_usd", "schedule_gap"):
        return "float"
    if name in ("missed_deadlines", "unscheduled_jobs", "verify_rounds"):
        return "int"
    return _TYPES.get(name, "str")


def run_variant(plan, scenario, settings, changes, weather, variant_hash: str, labels: dict) -> dict:
    """Simulate one variant and return its results row (a flat dict of plain values).

    plan, scenario : base plan and scenario; settings : RunSettings; changes : the variant's
    ``Change`` tuple; weather : parsed ``EpwData`` (or ``None``: the scenario's file, read here);
    variant_hash : content hash; labels : parameter column -> value as written
    """
    row: dict = {}
    p, sc = apply_variant(plan, scenario, changes, settings)
    method = next((c.value for c in changes if c.kind == "scheduler"), None)
    refused: tuple[type[Exception], ...] = (SolverInputError, WeatherError)
    if method is not None:  # imported only here: planner.schedule pulls in scipy.ndimage/special (~0.4 CPU-s
        # per process), which would otherwise land in every worker's first variant of any sweep
        from ..schedule import ScheduleInputError, schedule
        refused += (ScheduleInputError,)
    fields = result_fields(labels)
    error = ""
    try:
        if method is None:
            summary = simulate(p, sc, weather=weather, record=("summary",)).summary()
        else:  # schedule the variant's jobs, then the solver's figures of exactly that schedule
            res = schedule(p, sc, method=method, weather=weather, time_limit_s=settings.schedule_time_limit_s)
            summary = res.simulation.summary()
            summary.update(missed_deadlines=len(res.missed), unscheduled_jobs=len(res.unscheduled),
                           model_cost_usd=float(res.model_cost_usd), schedule_gap=res.gap,
                           verify_rounds=res.verify_rounds)
    except refused as exc:
        summary, error = {k: None for k in fields}, str(exc)
    row.update(summary)
    row.update(scenario=sc.name, start=sc.start.isoformat(), installed_cooling_kw=installed_cooling_kw(p),
               error=error, variant_hash=variant_hash)
    row.update(labels)  # a parameter named like a result field (control, scenario, start) keeps its value as written
    return {k: row[k] for k in (*labels, *(f for f in fields if f not in labels))}


@dataclass(frozen=True)
class Outcome:
    """What one variant of a batch gave: its row, or the failure that stopped it (a bug, not a
    refused input: those are rows with ``error``).

    index : int  The variant's position in the sweep's factorial order
    row : dict | None  Its results row (``None`` when it failed)
    seconds : float  Wall time of the variant on the worker, transform included [s]
    failure : str  ``"ExceptionClass: message"`` when it failed, else empty
    trace : str  The worker's traceback of that failure (for a bug report), else empty
    """

    index: int
    row: dict | None
    seconds: float
    failure: str = ""
    trace: str = ""


def run_batch(plan, scenario, settings, weather: Mapping[str, object], variants: Sequence) -> list[Outcome]:
    """Run several variants one after another in one Dask task; one :class:`Outcome` each.

    variants : :class:`planner.sweep.definition.Variant` each; weather : parsed weather by key for
    the keys the variants name. A variant that raises is reported in its outcome
    and the batch goes on, so its batch-mates' rows still reach the client; the client then names
    the failed variant (:func:`planner.sweep.runner.execute`).
    """
    out = []
    for v in variants:
        t = time.perf_counter()
        try:
            row = run_variant(plan, scenario, settings, v.changes, weather.get(v.weather_key), v.hash, v.labels)
        except Exception as exc:  # reported by name on the client; KeyboardInterrupt/SystemExit are not caught
            out.append(Outcome(v.index, None, time.perf_counter() - t, f"{exc.__class__.__name__}: {exc}",
                               traceback.format_exc()))
            continue
        out.append(Outcome(v.index, row, time.perf_counter() - t))
    return out


def pack(obj) -> bytes:
    """``obj`` pickled: how the runner sends the base plan and the weather with every task of the
    embedded cluster (pickled once by the client instead of once per task)."""
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def run_packed_batch(plan: bytes, scenario, settings, weather: Mapping[str, bytes], variants: Sequence) -> list[Outcome]:
    """:func:`run_batch` with the base plan and the weather files as :func:`pack` gives them (how the
    runner sends them with every task of the embedded cluster, so that a task depends on no other
    task). Each task unpickles them (~1 ms against ~1 s of work a task)."""
    return run_batch(pickle.loads(plan), scenario, settings, {k: pickle.loads(w) for k, w in weather.items()},
                     variants)
