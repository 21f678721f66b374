"""A variant applied to the plan: plain-data functions, run on the worker.

``apply_variant(plan, scenario, changes)`` returns a new plan and scenario; it never changes its
inputs (workers and the serial loop share one base plan). The order is fixed so that changes
compose the same way whatever order the parameters were given in: scenario first (it is the base
of the others), then weather (moves the site), the scenario's fields, the halls, and the loops:
unit counts before ratings and setpoints, so units a count adds take the variant's rating and
setpoint too.
"""
from __future__ import annotations

import copy
import re
from dataclasses import replace
from datetime import datetime
from typing import Iterable

from ..plan import CoolingUnit, Plan, Scenario, Site
from .definition import Change, RunSettings, apply_settings, tariff_from

_ORDER = ("scenario", "weather", "start", "days", "control", "load", "jobs", "tariff", "containment", "units",
          "rating", "setpoint", "scheduler")
_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


def _next_name(name: str, taken: set[str]) -> str:
    """``DC-04`` -> ``DC-05`` (same width), ``Unit`` -> ``Unit-2``; never a name in ``taken``."""
    m = _TRAILING_NUMBER.match(name)
    stem, k, width = (m.group(1), int(m.group(2)), len(m.group(2))) if m else (f"{name}-", 1, 1)
    while True:
        k += 1
        candidate = f"{stem}{k:0{width}d}"
        if candidate not in taken:
            return candidate


def set_unit_count(units: list[CoolingUnit], loop: str, n: int) -> list[CoolingUnit]:
    """``units`` with loop ``loop`` holding ``n`` units: the last ones removed, or copies of the
    loop's last unit added (same model, rating, setpoint and, for floor units, position)."""
    mine = [u for u in units if u.loop == loop]
    if n <= len(mine):
        drop = {id(u) for u in mine[n:]}
        return [u for u in units if id(u) not in drop]
    taken = {u.name for u in units}
    out = list(units)
    last = mine[-1]
    at = out.index(last) + 1
    for _ in range(n - len(mine)):
        name = _next_name(last.name, taken)
        taken.add(name)
        last = replace(last, name=name)
        out.insert(at, last)
        at += 1
    return out


def set_unit_rating(unit: CoolingUnit, rated_kw: float) -> CoolingUnit:
    """``unit`` re-rated to ``rated_kw`` [kW]: flow, fan/pump power and loop volume scale with the
    duty, as catalog figures are per kW of duty (the demo's plant rule, ``planner.demo``), so the
    transit time volume/flow and the specific power stay the model's."""
    f = rated_kw / unit.rated_capacity_kw if unit.rated_capacity_kw > 0 else 1.0
    return replace(unit, rated_capacity_kw=rated_kw, flow_m3s=unit.flow_m3s * f,
                   loop_volume_m3=unit.loop_volume_m3 * f, rated_power_kw=unit.rated_power_kw * f)


def apply_variant(plan: Plan, scenario: Scenario, changes: Iterable[Change],
                  settings: RunSettings | None = None) -> tuple[Plan, Scenario]:
    """The plan and scenario of one variant (new objects; the inputs are left as they are).

    plan : Plan  Base plan
    scenario : Scenario  Base scenario (sweep-wide days/year already applied)
    changes : Change…  The variant's resolved values (:mod:`.definition`)
    settings : RunSettings  Sweep-wide days/year, applied to a scenario a ``scenario`` change picks
    """
    plan = copy.deepcopy(plan)
    sc = copy.deepcopy(scenario)
    for c in sorted(changes, key=lambda c: _ORDER.index(c.kind)):
        v = c.value
        if c.kind == "scenario":
            sc = apply_settings(next(s for s in plan.scenarios if s.name == v), settings or RunSettings())
        elif c.kind == "weather":
            plan.site = Site(**v["site"])
            sc.weather_file = v["file"]
        elif c.kind == "start":
            sc.start = datetime.fromisoformat(v)
        elif c.kind == "days":
            sc.horizon_s = float(v) * 86400.0
        elif c.kind == "control":
            sc.control = v
        elif c.kind == "load":
            sc.load = v
        elif c.kind == "jobs":  # after weather and start: times are the variant's local wall clock
            from ..schedule.jobs_csv import parse_jobs_csv
            plan.jobs = parse_jobs_csv(v["text"], v["name"], sc.start, plan.site.timezone)
            sc.load = "jobs"
        elif c.kind == "scheduler":
            pass  # not a change of the plan: the worker schedules the variant's jobs with this method
        elif c.kind == "tariff":
            sc.tariff = tariff_from(v)
        elif c.kind == "containment":
            plan.halls = [replace(h, containment=v) for h in plan.halls]
        elif c.kind == "units":
            plan.cooling_units = set_unit_count(plan.cooling_units, c.target, int(v))
        elif c.kind == "rating":
            plan.cooling_units = [set_unit_rating(u, float(v)) if u.loop == c.target else u
                                  for u in plan.cooling_units]
        elif c.kind == "setpoint":
            plan.cooling_units = [replace(u, supply_setpoint_c=float(v)) if u.loop == c.target else u
                                  for u in plan.cooling_units]
        else:  # pragma: no cover - definition.KINDS and _ORDER are kept in step by a test
            raise ValueError(f"{c.param}: no transform for parameter kind {c.kind!r}")
    return plan, sc


def installed_cooling_kw(plan: Plan) -> float:
    """Nameplate capacity of every cooling unit, terminal and plant [kW]: a proxy for the cooling
    capital a variant installs (differences between variants are the capacity added or removed)."""
    return float(sum(u.rated_capacity_kw for u in plan.cooling_units))
