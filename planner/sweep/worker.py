"""What runs on a Dask worker (or in the serial loop): one variant -> one small summary row.

Inputs and output are plain data: the base plan and scenario (dataclasses), the variant's
resolved changes, the parsed weather. The row holds the variant's parameter values (as written),
the ``simulate --json`` summary fields, the scenario and start, the installed cooling capacity, an
``error`` (empty when the run worked) and the variant's content hash. A variant the solver refuses
(a step above the stability limit of a smaller plant, say) is a row with its error, not a failed
sweep; anything else is a bug and propagates.
"""
from __future__ import annotations

from ..solver import SolverInputError, simulate
from ..solver.results import SUMMARY_FIELDS, SimulationResult
from ..weather import WeatherError
from .transform import apply_variant, installed_cooling_kw

#: Columns after the varied parameters, in the results file's order.
RESULT_FIELDS = SUMMARY_FIELDS + ("scenario", "start", "installed_cooling_kw", "error", "variant_hash")
#: Fields that change from run to run of the same variant (excluded when comparing rows).
TIMING_FIELDS = ("wall_time_s",)
_TYPES = {k: SimulationResult.__dataclass_fields__[k].type for k in SUMMARY_FIELDS}
#: Result columns holding numbers (what ``--require`` and the ranking may use).
NUMERIC_FIELDS = tuple(k for k in SUMMARY_FIELDS if _TYPES[k] in ("float", "int")) + ("installed_cooling_kw",)


def field_type(name: str) -> str:
    """``float``, ``int``, ``bool`` or ``str`` for a result column (parameters are ``str``)."""
    if name == "installed_cooling_kw":
        return "float"
    return _TYPES.get(name, "str")


def run_variant(plan, scenario, settings, changes, weather, variant_hash: str, labels: dict) -> dict:
    """Simulate one variant and return its results row (a flat dict of plain values).

    plan, scenario : base plan and scenario; settings : RunSettings; changes : the variant's
    ``Change`` tuple; weather : parsed ``EpwData`` (or ``None``: the scenario's file, read here);
    variant_hash : content hash; labels : parameter column -> value as written
    """
    row: dict = {}
    p, sc = apply_variant(plan, scenario, changes, settings)
    error = ""
    try:
        summary = simulate(p, sc, weather=weather, record=("summary",)).summary()
    except (SolverInputError, WeatherError) as exc:
        summary, error = {k: None for k in SUMMARY_FIELDS}, str(exc)
    row.update(summary)
    row.update(scenario=sc.name, start=sc.start.isoformat(), installed_cooling_kw=installed_cooling_kw(p),
               error=error, variant_hash=variant_hash)
    row.update(labels)  # a parameter named like a result field (control, scenario, start) keeps its value as written
    return {k: row[k] for k in (*labels, *(f for f in RESULT_FIELDS if f not in labels))}
