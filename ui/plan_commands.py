"""Undoable edits of the plan data behind the floor: site, scenarios, jobs, loops and plant units.

Same pattern as :mod:`ui.commands`: the constructor computes the element swaps
``(kind, old, new)`` and refuses impossible edits with :class:`~ui.commands.EditRefused` (the
message names the field); redo/undo hand the swaps to :meth:`PlanDocument.apply`.
"""
from __future__ import annotations

import math
from dataclasses import fields, replace

from planner import floor
from planner.plan import CONTAINMENTS, LOOP_MEDIA, CoolingLoop, Job, PowerFeed, Scenario, Site, Tariff
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


# ------------------------------------------------------------------ power feeds and cooling loops
FEED_FIELDS = tuple(f.name for f in fields(PowerFeed))
FEED_SIDES = ("A", "B")


def feed_named(doc: PlanDocument, name: str) -> PowerFeed:
    feed = next((f for f in doc.plan.power_feeds if f.name == name), None)
    if feed is None:
        raise EditRefused(f"No power feed named {short(name)}.")
    return feed


def check_feed(f: PowerFeed) -> None:
    """Refuse feed values NetBox and the capacity formula cannot take, naming the field."""
    _finite(f"Feed {short(f.name)}: voltage", f.voltage, 0, 100_000, strict=True)
    _finite(f"Feed {short(f.name)}: breaker rating", f.amperage, 0, 100_000, strict=True)
    _finite(f"Feed {short(f.name)}: max utilisation", f.max_utilization, 0, 1, strict=True)
    _finite(f"Feed {short(f.name)}: power factor", f.power_factor, 0, 1, strict=True)
    if f.phase not in (1, 3):
        raise EditRefused(f"Feed {short(f.name)}: phases must be 1 or 3, not {f.phase}.")
    if f.side not in FEED_SIDES:
        raise EditRefused(f"Feed {short(f.name)}: side must be A or B, not {f.side!r}.")


def _rack_refs(doc: PlanDocument, fields_: tuple[str, ...], old: str, new: str | None) -> list:
    """Swaps pointing every rack field in ``fields_`` that names ``old`` at ``new`` (None: nothing)."""
    out = []
    for r in doc.plan.racks:
        values = {f: new for f in fields_ if getattr(r, f) == old}
        if values:
            out.append(("rack", r, replace(r, **values)))
    return out


class AddFeedCommand(PlanCommand):
    """A new power feed: ``feed`` as given (name made unique), or the next of an A/B pair with the
    ``PowerFeed`` defaults (415 V, 63 A, 3-phase, 80 %)."""

    def __init__(self, doc: PlanDocument, feed: PowerFeed | None = None) -> None:
        feeds = doc.plan.power_feeds
        if feed is None:
            side = "B" if sum(f.side == "A" for f in feeds) > sum(f.side == "B" for f in feeds) else "A"
            group = str(sum(f.side == side for f in feeds) + 1)
            feed = PowerFeed(f"Feed {side}{group}", side=side, redundancy_group=group)
        name = doc.unique_name(_name(feed.name, (), "power feed"), {f.name for f in feeds})
        feed = replace(feed, name=name)
        check_feed(feed)
        self.name = name
        super().__init__(doc, f"Add power feed {short(name)}", [("feed", None, feed)])


class EditFeedCommand(PlanCommand):
    """Set fields of a feed; a new name is carried to every rack on the feed (one undo step)."""

    def __init__(self, doc: PlanDocument, name: str, values: dict) -> None:
        bad = set(values) - set(FEED_FIELDS)
        if bad:
            raise EditRefused(f"Not a power feed field: {', '.join(sorted(bad))}.")
        old = feed_named(doc, name)
        if "name" in values:
            values = {**values, "name": _name(values["name"], {f.name for f in doc.plan.power_feeds} - {name},
                                              "power feed")}
        new = replace(old, **values)
        if new == old:
            raise NoChange("Set feed")
        check_feed(new)
        diff = [("feed", old, new)]
        renamed = new.name != name
        if renamed:
            diff += _rack_refs(doc, ("feed_a", "feed_b"), name, new.name)
            text = f"Rename power feed {short(name)} to {short(new.name)}"
        else:
            text = f"Set {field_text(values)} of power feed {short(name)}"
        super().__init__(doc, text, diff)


class DeleteFeedsCommand(PlanCommand):
    """Delete power feeds; the racks on them are left without that side (the problem list says so)."""

    def __init__(self, doc: PlanDocument, names) -> None:
        diff, text = removal(doc, "feed", names, "Delete power feed", "power feeds", "Select power feeds to delete.")
        gone = {old.name for _k, old, _n in diff}
        racks = []
        for r in doc.plan.racks:
            values = {f: None for f in ("feed_a", "feed_b") if getattr(r, f) in gone}
            if values:
                racks.append(("rack", r, replace(r, **values)))
        super().__init__(doc, text, diff + racks)


def racks_on_feeds(doc: PlanDocument, names) -> list[str]:
    """Racks fed by any of the feeds ``names`` (what deleting them leaves unfed)."""
    names = set(names)
    return [r.name for r in doc.plan.racks if r.feed_a in names or r.feed_b in names]


def loop_named(doc: PlanDocument, name: str) -> CoolingLoop:
    loop = next((l for l in doc.plan.cooling_loops if l.name == name), None)
    if loop is None:
        raise EditRefused(f"No cooling loop named {short(name)}.")
    return loop


#: Name stem of a new loop of each medium.
LOOP_STEMS = {"air": "Air loop", "liquid": "Liquid loop", "facility": "Facility water"}


class AddLoopCommand(PlanCommand):
    """A new, empty cooling loop of ``medium`` (air, liquid or facility water), rejecting to ``rejects_to``."""

    def __init__(self, doc: PlanDocument, medium: str, name: str | None = None, rejects_to: str | None = None) -> None:
        if medium not in LOOP_MEDIA:
            raise EditRefused(f"A loop's medium must be one of {', '.join(LOOP_MEDIA)}, not {medium!r}.")
        taken = {l.name for l in doc.plan.cooling_loops}
        if name is None:
            name = doc.unique_name(f"{LOOP_STEMS[medium]} 1", taken)
        name = _name(name, taken, "cooling loop")
        if rejects_to is not None:
            loop_named(doc, rejects_to)
        self.name = name
        super().__init__(doc, f"Add cooling loop {short(name)}", [("loop", None, CoolingLoop(name, medium, rejects_to))])


class RenameLoopCommand(PlanCommand):
    """Rename a loop and every reference to it: racks, cooling units and loops rejecting into it."""

    def __init__(self, doc: PlanDocument, name: str, new: str) -> None:
        old = loop_named(doc, name)
        new = _name(new, {l.name for l in doc.plan.cooling_loops} - {name}, "cooling loop")
        if new == name:
            raise NoChange("Rename loop")
        diff = [("loop", old, replace(old, name=new))]
        diff += [("loop", l, replace(l, rejects_to=new)) for l in doc.plan.cooling_loops
                 if l.rejects_to == name and l is not old]
        if old.rejects_to == name:  # a loop rejecting to itself (refused elsewhere) keeps pointing at itself
            diff[0] = ("loop", old, replace(old, name=new, rejects_to=new))
        diff += _rack_refs(doc, ("air_loop", "liquid_loop"), name, new)
        diff += [("unit", u, replace(u, loop=new)) for u in doc.plan.cooling_units if u.loop == name]
        super().__init__(doc, f"Rename cooling loop {short(name)} to {short(new)}", diff)


class DeleteLoopCommand(PlanCommand):
    """Delete an empty loop (no cooling units); racks on it lose that loop, loops rejecting into it
    then reject outdoors. A loop with units is refused: they would be left in no loop."""

    def __init__(self, doc: PlanDocument, name: str) -> None:
        old = loop_named(doc, name)
        units_in = [u.name for u in doc.plan.cooling_units if u.loop == name]
        if units_in:
            more = f" and {len(units_in) - 3} more" if len(units_in) > 3 else ""
            raise EditRefused(f"Loop {short(name)} still has {len(units_in)} cooling unit(s) "
                              f"({', '.join(short(n) for n in units_in[:3])}{more}): move them to another loop or "
                              "delete them first.")
        diff = [("loop", old, None)]
        diff += [("loop", l, replace(l, rejects_to=None)) for l in doc.plan.cooling_loops
                 if l.rejects_to == name and l is not old]
        diff += _rack_refs(doc, ("air_loop", "liquid_loop"), name, None)
        super().__init__(doc, f"Delete cooling loop {short(name)}", diff)


def racks_on_loop(doc: PlanDocument, name: str) -> list[str]:
    return [r.name for r in doc.plan.racks if name in (r.air_loop, r.liquid_loop)]


HALL_FIELDS = ("width_m", "depth_m", "tile_m", "containment")


class EditHallCommand(PlanCommand):
    """Set the size, floor tile pitch or containment of a hall. A smaller floor that would leave a
    rack or floor unit outside is refused, naming it."""

    def __init__(self, doc: PlanDocument, name: str, values: dict) -> None:
        bad = set(values) - set(HALL_FIELDS)
        if bad:
            raise EditRefused(f"Not an editable hall field: {', '.join(sorted(bad))}.")
        old = next((h for h in doc.plan.halls if h.name == name), None)
        if old is None:
            raise EditRefused(f"No hall named {short(name)}.")
        new = replace(old, **values)
        if new == old:
            raise NoChange("Set hall")
        _finite("Hall width", new.width_m, 0, floor.FLOOR_COORD_MAX_M, strict=True)
        _finite("Hall depth", new.depth_m, 0, floor.FLOOR_COORD_MAX_M, strict=True)
        _finite("Tile pitch", new.tile_m, 0, floor.RACK_SIDE_MAX_M, strict=True)
        if new.containment not in CONTAINMENTS:
            raise EditRefused(f"Containment must be one of {', '.join(CONTAINMENTS)}.")
        outside = [r.name for r in doc.plan.racks if r.hall == name and floor.leaves_hall(r.footprint(), new)]
        outside += [u.name for u in doc.plan.cooling_units if floor.on_floor(u) and floor.unit_hall(doc.plan, u) == name
                    and floor.leaves_hall(floor.unit_footprint(u), new)]
        if outside:
            more = f" and {len(outside) - 3} more" if len(outside) > 3 else ""
            raise EditRefused(f"A {new.width_m:g} m x {new.depth_m:g} m floor would leave "
                              f"{', '.join(short(n) for n in outside[:3])}{more} outside hall {short(name)}: "
                              "move them first.")
        super().__init__(doc, f"Set {field_text(values)} of hall {short(name)}", [("hall", old, new)])


__all__ = ["EditSiteCommand", "EditScenarioCommand", "AddScenarioCommand", "DeleteScenarioCommand",
           "EditJobCommand", "AddJobCommand", "DeleteJobsCommand", "ReplaceJobsCommand", "EditLoopCommand",
           "AddFeedCommand", "EditFeedCommand", "DeleteFeedsCommand", "AddLoopCommand", "RenameLoopCommand",
           "DeleteLoopCommand", "racks_on_feeds", "racks_on_loop", "EditHallCommand",
           "CoolingLoop", "default_scenario", "check_scenario", "check_job"]
