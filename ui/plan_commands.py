"""Undoable edits of the plan data behind the floor: site, scenarios, jobs, loops and plant units.

Same pattern as :mod:`ui.commands`: the constructor computes the element swaps
``(kind, old, new)`` and refuses impossible edits with :class:`~ui.commands.EditRefused` (the
message names the field); redo/undo hand the swaps to :meth:`PlanDocument.apply`.
"""
from __future__ import annotations

import math
from dataclasses import fields, replace

from planner.plan import CoolingLoop, Job, Scenario, Site, Tariff
from ui.commands import EditRefused, NoChange, PlanCommand, field_text, removal, short
from ui.document import MAX_NAME_CHARS, PlanDocument

SITE_FIELDS = tuple(f.name for f in fields(Site))
SCENARIO_FIELDS = ("name", "start", "horizon_s", "step_s", "weather_file", "tariff", "load", "control")
JOB_FIELDS = tuple(f.name for f in fields(Job))
LOAD_MODES = ("jobs", "full")


def _finite(name: str, v, lo: float | None = None, hi: float | None = None, strict: bool = False) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise EditRefused(f"{name} must be a number, got {v!r}.")
    if lo is not None and (v <= lo if strict else v < lo):
        raise EditRefused(f"{name} must be {'>' if strict else '≥'} {lo:g}, got {v:g}.")
    if hi is not None and v > hi:
        raise EditRefused(f"{name} must be ≤ {hi:g}, got {v:g}.")


def _name(new: str, taken, what: str) -> str:
    new = (new or "").strip()
    if not new:
        raise EditRefused(f"A {what} name cannot be empty.")
    if len(new) > MAX_NAME_CHARS:
        raise EditRefused(f"A {what} name can have at most {MAX_NAME_CHARS} characters (this one has {len(new)}).")
    if new in taken:
        raise EditRefused(f"There is already a {what} named {short(new)}.")
    return new


class EditSiteCommand(PlanCommand):
    """Site ▸ name, latitude, longitude, time zone, elevation."""

    def __init__(self, doc: PlanDocument, values: dict) -> None:
        bad = set(values) - set(SITE_FIELDS)
        if bad:
            raise EditRefused(f"Not a site field: {', '.join(sorted(bad))}.")
        if "latitude" in values:
            _finite("Latitude", values["latitude"], -90, 90)
        if "longitude" in values:
            _finite("Longitude", values["longitude"], -180, 180)
        if "elevation_m" in values:
            _finite("Elevation", values["elevation_m"], -500, 9000)
        if "timezone" in values:
            from planner.weather import parse_timezone
            try:
                parse_timezone(values["timezone"])
            except Exception as e:  # noqa: BLE001 - the parser's message says what is wrong
                raise EditRefused(f"Time zone: {e}") from None
        old = doc.plan.site
        new = replace(old, **values)
        if new == old:
            raise NoChange("Set site")
        super().__init__(doc, f"Set site {field_text(values)}", [("site", old, new)])


def check_scenario(sc: Scenario) -> None:
    """Refuse values the solver would refuse, naming the field."""
    _finite("Days", sc.horizon_s / 86400.0, 0, 3660, strict=True)
    _finite("Step", sc.step_s, 0, strict=True)
    if sc.step_s > sc.horizon_s:
        raise EditRefused(f"Step {sc.step_s:g} s is longer than the scenario ({sc.horizon_s:g} s).")
    if sc.load not in LOAD_MODES:
        raise EditRefused(f"Load must be one of {', '.join(LOAD_MODES)}.")
    from planner.solver.model import CONTROL_MODES
    if sc.control not in CONTROL_MODES:
        raise EditRefused(f"Control must be one of {', '.join(CONTROL_MODES)}.")
    prices = sc.tariff.hourly_price_usd_per_kwh
    if len(prices) != 24:
        raise EditRefused(f"Tariff needs 24 hourly prices, got {len(prices)}.")
    for h, p in enumerate(prices):
        _finite(f"Tariff price at {h:02d}:00", p, 0)
    _finite("Demand charge", sc.tariff.demand_charge_usd_per_kw, 0)


def scenario_named(doc: PlanDocument, name: str) -> Scenario:
    for s in doc.plan.scenarios:
        if s.name == name:
            return s
    raise EditRefused(f"No scenario named {short(name)}.")


class EditScenarioCommand(PlanCommand):
    def __init__(self, doc: PlanDocument, name: str, values: dict) -> None:
        bad = set(values) - set(SCENARIO_FIELDS)
        if bad:
            raise EditRefused(f"Not a scenario field: {', '.join(sorted(bad))}.")
        old = scenario_named(doc, name)
        if "name" in values:
            values = {**values, "name": _name(values["name"], {s.name for s in doc.plan.scenarios} - {name},
                                              "scenario")}
        new = replace(old, **values)
        if new == old:
            raise NoChange("Set scenario")
        check_scenario(new)
        text = (f"Rename scenario {short(name)} to {short(new.name)}" if "name" in values and new.name != name
                else f"Set {field_text(values)} of scenario {short(name)}")
        super().__init__(doc, text, [("scenario", old, new)])


class AddScenarioCommand(PlanCommand):
    """Add ``scenario`` (a copy of ``like`` renamed, for Duplicate) at the end of the list."""

    def __init__(self, doc: PlanDocument, scenario: Scenario, text: str | None = None) -> None:
        taken = {s.name for s in doc.plan.scenarios}
        name = doc.unique_name(scenario.name, taken)
        sc = replace(scenario, name=name, tariff=replace(scenario.tariff,
                                                         hourly_price_usd_per_kwh=list(scenario.tariff.hourly_price_usd_per_kwh)))
        check_scenario(sc)
        self.name = name
        super().__init__(doc, text or f"Add scenario {short(name)}", [("scenario", None, sc)])


class DeleteScenarioCommand(PlanCommand):
    def __init__(self, doc: PlanDocument, name: str) -> None:
        old = scenario_named(doc, name)
        super().__init__(doc, f"Delete scenario {short(name)}", [("scenario", old, None)])


def default_scenario(doc: PlanDocument) -> Scenario:
    """A day in July at the bundled Phoenix weather with a flat tariff (the demo's city)."""
    from datetime import datetime

    from planner.demo import PHOENIX_EPW
    return Scenario(name="Scenario 1", start=datetime(2025, 7, 15), horizon_s=86400.0, weather_file=PHOENIX_EPW,
                    tariff=Tariff(), load="full" if not doc.plan.jobs else "jobs")


def check_job(j: Job) -> None:
    if isinstance(j.gpus, bool) or not isinstance(j.gpus, int) or j.gpus < 1:
        raise EditRefused(f"Job {short(j.name)}: GPUs must be a whole number ≥ 1.")
    _finite(f"Job {short(j.name)}: utilisation", j.utilization, 0, 1, strict=True)
    _finite(f"Job {short(j.name)}: duration", j.duration_s, 0, strict=True)
    _finite(f"Job {short(j.name)}: release", j.release_s, 0)
    if j.deadline_s is not None:
        _finite(f"Job {short(j.name)}: deadline", j.deadline_s)
        if j.deadline_s < j.release_s + j.duration_s:
            raise EditRefused(f"Job {short(j.name)}: deadline is before release + duration "
                              f"({(j.release_s + j.duration_s) / 3600:g} h).")
    if j.start_s is not None:
        _finite(f"Job {short(j.name)}: start", j.start_s, 0)


class EditJobCommand(PlanCommand):
    def __init__(self, doc: PlanDocument, name: str, values: dict) -> None:
        bad = set(values) - set(JOB_FIELDS)
        if bad:
            raise EditRefused(f"Not a job field: {', '.join(sorted(bad))}.")
        old = next((j for j in doc.plan.jobs if j.name == name), None)
        if old is None:
            raise EditRefused(f"No job named {short(name)}.")
        if "name" in values:
            values = {**values, "name": _name(values["name"], {j.name for j in doc.plan.jobs} - {name}, "job")}
        new = replace(old, **values)
        if new == old:
            raise NoChange("Set job")
        check_job(new)
        super().__init__(doc, f"Set {field_text(values)} of job {short(name)}", [("job", old, new)])


class AddJobCommand(PlanCommand):
    def __init__(self, doc: PlanDocument, job: Job | None = None) -> None:
        job = job or Job(name="job-1", gpus=8)
        name = doc.unique_name(job.name, {j.name for j in doc.plan.jobs})
        job = replace(job, name=name)
        check_job(job)
        self.name = name
        super().__init__(doc, f"Add job {short(name)}", [("job", None, job)])


class DeleteJobsCommand(PlanCommand):
    def __init__(self, doc: PlanDocument, names) -> None:
        diff, text = removal(doc, "job", names, "Delete", "jobs", "Select jobs to delete.")
        super().__init__(doc, text, diff)


class ReplaceJobsCommand(PlanCommand):
    """The whole job list at once (CSV import, "apply this schedule"): one undo step."""

    def __init__(self, doc: PlanDocument, jobs: list[Job], text: str) -> None:
        names = [j.name for j in jobs]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise EditRefused(f"Job names must differ: {short(dup)} appears twice.")
        for j in jobs:
            check_job(j)
        old = {j.name: j for j in doc.plan.jobs}
        new = {j.name: j for j in jobs}
        diff = [("job", old[n], None) for n in old if n not in new]
        diff += [("job", old[n], new[n]) for n in new if n in old and old[n] != new[n]]
        diff += [("job", None, new[n]) for n in new if n not in old]
        super().__init__(doc, text, diff)


class EditLoopCommand(PlanCommand):
    """Set the loop a loop rejects its heat to (the plant tree's parent)."""

    def __init__(self, doc: PlanDocument, name: str, rejects_to: str | None) -> None:
        loops = {l.name: l for l in doc.plan.cooling_loops}
        old = loops.get(name)
        if old is None:
            raise EditRefused(f"No cooling loop named {short(name)}.")
        if rejects_to is not None:
            if rejects_to not in loops:
                raise EditRefused(f"No cooling loop named {short(rejects_to)}.")
            p, seen = rejects_to, {name}
            while p is not None:  # no cycles: heat must reach the outdoors
                if p in seen:
                    raise EditRefused(f"{short(name)} cannot reject to {short(rejects_to)}: the loops would form "
                                      f"a cycle and the heat would never leave the building.")
                seen.add(p)
                p = loops[p].rejects_to
        new = replace(old, rejects_to=rejects_to)
        if new == old:
            raise NoChange("Set loop")
        super().__init__(doc, f"Loop {short(name)} rejects to {short(rejects_to) if rejects_to else 'outdoors'}",
                         [("loop", old, new)])


__all__ = ["EditSiteCommand", "EditScenarioCommand", "AddScenarioCommand", "DeleteScenarioCommand",
           "EditJobCommand", "AddJobCommand", "DeleteJobsCommand", "ReplaceJobsCommand", "EditLoopCommand",
           "CoolingLoop", "default_scenario", "check_scenario", "check_job"]
