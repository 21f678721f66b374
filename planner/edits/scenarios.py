"""Edits of what the plan is run against: the site, scenarios (weather, tariff, period) and jobs.

Values the solver or the scheduler would refuse are refused here, naming the field, so a plan
the editor accepts always runs.
"""
from __future__ import annotations

from dataclasses import fields, replace

from planner.edits.core import (
    Edit,
    EditRefused,
    NoChange,
    PlanState,
    check_fields,
    edited,
    element_named,
    field_text,
    finite,
    make_edit,
    removal,
    short,
)
from planner.plan import Job, Plan, Scenario, Site, Tariff

SITE_FIELDS = tuple(f.name for f in fields(Site))
SCENARIO_FIELDS = ("name", "start", "horizon_s", "step_s", "weather_file", "tariff", "load", "control")
JOB_FIELDS = tuple(f.name for f in fields(Job))
#: What drives the IT load: the plan's jobs, or every GPU at full utilisation.
LOAD_MODES = ("jobs", "full")


def edit_site(state: PlanState, values: dict) -> Edit:
    """Site ▸ name, latitude [°], longitude [°], time zone, elevation [m]."""
    check_fields(values, SITE_FIELDS, "site")
    if "latitude" in values:
        finite("Latitude", values["latitude"], -90, 90)
    if "longitude" in values:
        finite("Longitude", values["longitude"], -180, 180)
    if "elevation_m" in values:
        finite("Elevation", values["elevation_m"], -500, 9000)
    if "timezone" in values:
        from planner.weather import parse_timezone
        try:
            parse_timezone(values["timezone"])
        except Exception as e:  # noqa: BLE001 - the parser's message says what is wrong
            raise EditRefused(f"Time zone: {e}") from None
    old = state.plan.site
    new = replace(old, **values)
    if new == old:
        raise NoChange("Set site")
    return make_edit(state, f"Set site {field_text(values)}", [("site", old, new)])


def check_scenario(sc: Scenario) -> None:
    """Refuse values the solver would refuse, naming the field."""
    finite("Days", sc.horizon_s / 86400.0, 0, 3660, strict=True)
    finite("Step", sc.step_s, 0, strict=True)
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
        finite(f"Tariff price at {h:02d}:00", p, 0)
    finite("Demand charge", sc.tariff.demand_charge_usd_per_kw, 0)
    problem = sc.tariff.window_problem()
    if problem:
        raise EditRefused(f"Tariff: {problem}.")


def scenario_named(state: PlanState, name: str) -> Scenario:
    return element_named(state, "scenario", name, "scenario")


def edit_scenario(state: PlanState, name: str, values: dict) -> Edit:
    """Set fields of scenario ``name`` (a new ``name`` renames it)."""
    old, new, values = edited(state, "scenario", name, values, SCENARIO_FIELDS, "scenario", check_scenario)
    text = (f"Rename scenario {short(name)} to {short(new.name)}" if "name" in values and new.name != name
            else f"Set {field_text(values)} of scenario {short(name)}")
    return make_edit(state, text, [("scenario", old, new)], name=new.name)


def add_scenario(state: PlanState, scenario: Scenario, text: str | None = None) -> Edit:
    """Add ``scenario`` (a copy of one renamed, for Duplicate) at the end of the list."""
    name = state.unique_name(scenario.name, {s.name for s in state.plan.scenarios})
    tariff = replace(scenario.tariff, hourly_price_usd_per_kwh=list(scenario.tariff.hourly_price_usd_per_kwh))
    sc = replace(scenario, name=name, tariff=tariff)
    check_scenario(sc)
    return make_edit(state, text or f"Add scenario {short(name)}", [("scenario", None, sc)], name=name)


def delete_scenario(state: PlanState, name: str) -> Edit:
    old = scenario_named(state, name)
    return make_edit(state, f"Delete scenario {short(name)}", [("scenario", old, None)])


def default_scenario(plan: Plan) -> Scenario:
    """A day in July at the bundled Phoenix weather with a flat tariff (the demo's city); the
    plan's jobs drive the load if it has any, else every GPU runs flat out."""
    from datetime import datetime

    from planner.demo import PHOENIX_EPW
    return Scenario(name="Scenario 1", start=datetime(2025, 7, 15), horizon_s=86400.0, weather_file=PHOENIX_EPW,
                    tariff=Tariff(), load="full" if not plan.jobs else "jobs")


def check_job(j: Job) -> None:
    """Refuse job values the scheduler and solver would refuse, naming the job and field."""
    if isinstance(j.gpus, bool) or not isinstance(j.gpus, int) or j.gpus < 1:
        raise EditRefused(f"Job {short(j.name)}: GPUs must be a whole number ≥ 1.")
    finite(f"Job {short(j.name)}: utilisation", j.utilization, 0, 1, strict=True)
    finite(f"Job {short(j.name)}: duration", j.duration_s, 0, strict=True)
    finite(f"Job {short(j.name)}: release", j.release_s, 0)
    if j.deadline_s is not None:
        finite(f"Job {short(j.name)}: deadline", j.deadline_s)
        if j.deadline_s < j.release_s + j.duration_s:
            raise EditRefused(f"Job {short(j.name)}: deadline is before release + duration "
                              f"({(j.release_s + j.duration_s) / 3600:g} h).")
    if j.start_s is not None:
        finite(f"Job {short(j.name)}: start", j.start_s, 0)


def edit_job(state: PlanState, name: str, values: dict) -> Edit:
    """Set fields of job ``name`` (a new ``name`` renames it)."""
    old, new, values = edited(state, "job", name, values, JOB_FIELDS, "job", check_job)
    return make_edit(state, f"Set {field_text(values)} of job {short(name)}", [("job", old, new)], name=new.name)


def add_job(state: PlanState, job: Job | None = None) -> Edit:
    """Add ``job`` (default: an 8-GPU job) with a name no other job has."""
    job = job or Job(name="job-1", gpus=8)
    name = state.unique_name(job.name, {j.name for j in state.plan.jobs})
    job = replace(job, name=name)
    check_job(job)
    return make_edit(state, f"Add job {short(name)}", [("job", None, job)], name=name)


def delete_jobs(state: PlanState, names) -> Edit:
    diff, text = removal(state, "job", names, "Delete", "jobs", "Select jobs to delete.")
    return make_edit(state, text, diff)


def replace_jobs(state: PlanState, jobs: list[Job], text: str) -> Edit:
    """The whole job list at once (CSV import, "apply this schedule"): one edit."""
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise EditRefused(f"Job names must differ: {short(dup)} appears twice.")
    for j in jobs:
        check_job(j)
    old = {j.name: j for j in state.plan.jobs}
    new = {j.name: j for j in jobs}
    diff = [("job", old[n], None) for n in old if n not in new]
    diff += [("job", old[n], new[n]) for n in new if n in old and old[n] != new[n]]
    diff += [("job", None, new[n]) for n in new if n not in old]
    return make_edit(state, text, diff)
