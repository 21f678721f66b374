"""Reading a sweep's rows: constraints (``lost_gpu_hours<=0``), the Pareto set, the best variant.

Constraints are parsed by a regular expression into (field, operator, number), never evaluated
as code; the field must be a numeric result column.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .definition import SweepError
from .worker import NUMERIC_FIELDS

_OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt,
        ">": operator.gt}
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*"
                         r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
#: What the Pareto set and the best variant minimise: total cost [$] against lost GPU-hours [GPU·h];
#: installed cooling capacity [kW] joins when unit counts or ratings vary.
OBJECTIVES = ("cost_usd", "lost_gpu_hours")
CAPACITY_OBJECTIVE = "installed_cooling_kw"


@dataclass(frozen=True)
class Constraint:
    """``field op value``, e.g. ``lost_gpu_hours <= 0``."""

    field: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.field}{self.op}{self.value:g}"

    def holds(self, row: dict) -> bool:
        v = row.get(self.field)
        if v is None or isinstance(v, bool) or not math.isfinite(float(v)):
            return False
        return _OPS[self.op](float(v), self.value)


def parse_constraint(text: str) -> Constraint:
    """``"lost_gpu_hours<=0"`` -> :class:`Constraint`; :class:`SweepError` naming what is wrong."""
    m = _CONSTRAINT.match(text or "")
    if not m:
        raise SweepError(f"--require {text!r}: expected FIELD OP NUMBER with OP one of <=, <, >=, >, ==, != "
                         f"(e.g. lost_gpu_hours<=0)")
    name, op, number = m.groups()
    if name not in NUMERIC_FIELDS:
        raise SweepError(f"--require {text!r}: {name!r} is not a numeric result field; use one of "
                         f"{', '.join(NUMERIC_FIELDS)}")
    return Constraint(name, op, float(number))


def usable(rows: Iterable[dict], objectives: Sequence[str]) -> list[dict]:
    """Rows without an error whose objectives are all finite numbers."""
    out = []
    for r in rows:
        if r.get("error"):
            continue
        vals = [r.get(k) for k in objectives]
        if all(v is not None and not isinstance(v, bool) and math.isfinite(float(v)) for v in vals):
            out.append(r)
    return out


def pareto(rows: Sequence[dict], objectives: Sequence[str] = OBJECTIVES) -> list[dict]:
    """Rows not dominated on ``objectives`` (all minimised), sorted by the first objective.

    A row is dominated when another is no worse in every objective and better in one; rows with
    equal objectives are all kept. Rows with an error or a missing objective are left out.
    """
    ok = usable(rows, objectives)
    if not ok:
        return []
    a = np.array([[float(r[k]) for k in objectives] for r in ok])
    keep = []
    for i in range(len(ok)):
        no_worse = np.all(a <= a[i], axis=1)
        better = np.any(a < a[i], axis=1)
        if not np.any(no_worse & better):
            keep.append(i)
    keep.sort(key=lambda i: tuple(a[i]))
    return [ok[i] for i in keep]


def best(rows: Sequence[dict], constraints: Sequence[Constraint] = (), by: str = "cost_usd") -> dict | None:
    """The row with the lowest ``by`` among those meeting every constraint (``None`` if none do);
    ties go to the lower lost GPU-hours, then to the earlier variant."""
    ok = [r for r in usable(rows, (by, "lost_gpu_hours")) if all(c.holds(r) for c in constraints)]
    if not ok:
        return None
    return min(ok, key=lambda r: (float(r[by]), float(r["lost_gpu_hours"])))


def objectives_for(varies_capacity: bool) -> tuple[str, ...]:
    """Pareto objectives of a sweep: capacity joins when unit counts or ratings vary."""
    return OBJECTIVES + ((CAPACITY_OBJECTIVE,) if varies_capacity else ())
