"""power_panels.csv and power_feeds.csv (NetBox import columns) read into the plan's power feeds.

The files :mod:`planner.netbox.prerequisites` writes, or NetBox-format files of the user's own.

Rules
-----
* power_feeds.csv needs ``site, power_panel, name, status, type, supply, phase`` (NetBox's
  required fields) and ``voltage, amperage, max_utilization``: NetBox fills those three with its
  own defaults (120 V, 20 A, 80 %), a silent default dcplan refuses for a feed's rating.
* ``type`` primary -> side A, redundant -> side B. ``supply`` must be ``ac`` (dcplan's feed
  capacity is V·I·(√3)·utilisation·power factor). ``voltage`` > 0 [V], ``amperage`` >= 1 [A],
  ``max_utilization`` 1..100 [%] -> a fraction.
* A feed's ``rack`` (when given) must be a rack of the plan; that rack's ``feed_a`` (primary)
  or ``feed_b`` (redundant) becomes the feed. Two primary (or two redundant) feeds on one
  rack are an error: dcplan models one A and one B feed per rack.
* What NetBox has no field for comes from the description dcplan writes (``dcplan side A;
  redundancy group A01; power factor 0.95``). Without it, an existing feed keeps its power factor
  and redundancy group; a new one gets the :class:`~planner.plan.PowerFeed` default power
  factor (listed once as a warning with the count) and the rack's name as redundancy group
  (its A and B feeds back each other up).
* Feeds are matched by name, which must be unique in the file: dcplan names feeds plant-wide,
  NetBox only per panel. The panel :data:`~planner.netbox.prerequisites.NO_PANEL` means none.
* power_panels.csv (``site, name``) lists panels; with it, every feed's panel must be listed
  there. dcplan keeps panels only as the panel names of feeds: a panel without feeds is
  reported, not kept.

Every problem in both files is collected; :class:`~planner.csv_exchange.CsvImportError` lists
them and the plan is not changed.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from planner.csv_cells import Cells as _Cells
from planner.csv_cells import CsvImportError, CsvProblem
from planner.csv_cells import read_table as _read_table
from planner.netbox import columns as nb
from planner.netbox.prerequisites import NO_PANEL
from planner.plan import Plan, PowerFeed

FEED_REQUIRED = ("site", "power_panel", "name", "status", "type", "supply", "phase", "voltage", "amperage",
                 "max_utilization")
PANEL_REQUIRED = ("site", "name")
_DEFAULT_PF = PowerFeed("").power_factor
_DESCRIPTION_RE = {
    "redundancy_group": re.compile(r"(?:^|;)\s*redundancy group (.+?)\s*(?:;|$)"),
    "power_factor": re.compile(r"(?:^|;)\s*power factor ([0-9.]+)\s*(?:;|$)"),
}


def parse_feed_description(text: str) -> dict:
    """``{redundancy_group, power_factor}`` found in a feed description dcplan wrote (else ``{}``)."""
    if not text.startswith("dcplan "):
        return {}
    out: dict = {}
    m = _DESCRIPTION_RE["redundancy_group"].search(text)
    if m:
        out["redundancy_group"] = m.group(1)
    m = _DESCRIPTION_RE["power_factor"].search(text)
    if m:
        try:
            pf = float(m.group(1))
        except ValueError:
            pf = None
        if pf is not None and 0.0 < pf <= 1.0:
            out["power_factor"] = pf
    return out


@dataclass
class PowerImport:
    """Result of :func:`import_power` (the input plan is untouched).

    warnings : defaults the files forced, with counts; panels dcplan cannot keep
    """

    plan: Plan
    created_feeds: int = 0
    updated_feeds: int = 0
    warnings: list[str] = field(default_factory=list)


def import_power(plan: Plan, panels_path: str | PathLike | None = None,
                 feeds_path: str | PathLike | None = None) -> PowerImport:
    """Read power_panels.csv and/or power_feeds.csv into a copy of ``plan``.

    Raises :class:`~planner.csv_exchange.CsvImportError` listing every problem; nothing is
    imported then.
    """
    if panels_path is None and feeds_path is None:
        raise ValueError("import_power needs panels_path or feeds_path")
    new = copy.deepcopy(plan)
    problems: list[CsvProblem] = []
    result = PowerImport(new)
    panels: dict[str, int] | None = None
    panel_file = ""
    if panels_path is not None:
        t = _read_table(panels_path, PANEL_REQUIRED, problems)
        panel_file = Path(panels_path).name
        panels = {} if t is None else _panel_rows(t, problems)
    if feeds_path is not None:
        before = len(problems)
        t = _read_table(feeds_path, FEED_REQUIRED, problems)
        if t is not None and len(problems) == before:  # rows of a file with header problems are not read
            _feed_rows(new, t, panels, panel_file, problems, result)
    if problems:
        raise CsvImportError(problems)
    if panels is not None:
        used = {f.panel or NO_PANEL for f in new.power_feeds}
        empty = [p for p in panels if p not in used]
        if empty:
            result.warnings.append(f"{len(empty)} panel(s) without feeds not kept (dcplan keeps panels as the "
                                   f"panels of feeds): {', '.join(empty)}")
    return result


def _panel_rows(t, problems: list[CsvProblem]) -> dict[str, int]:
    out: dict[str, int] = {}
    for number, cells in t.rows:
        c = _Cells(t, number, cells, problems)
        c.text("site", required=True)
        name = c.text("name", required=True)
        if name:
            if name in out:
                c.problem("name", f"duplicate power panel {name!r} (first on row {out[name]})")
            else:
                out[name] = number
    return out


def _feed_rows(new: Plan, t, panels: dict[str, int] | None, panel_file: str, problems: list[CsvProblem],
               result: PowerImport) -> None:
    racks = new.rack_map()
    feeds = {f.name: f for f in new.power_feeds}
    seen: dict[str, int] = {}
    slots: dict[tuple[str, str], tuple[str, int]] = {}  # (rack, side) -> (feed, row)
    assign: list[tuple[str, str, str]] = []  # (rack, side, feed)
    default_pf = 0
    for number, cells in t.rows:
        c = _Cells(t, number, cells, problems)
        c.text("site", required=True)
        panel = c.text("power_panel", required=True)
        name = c.text("name", required=True)
        c.choice("status", nb.POWER_FEED_STATUSES, required=True)
        kind = c.choice("type", nb.POWER_FEED_TYPES, required=True)
        supply = c.choice("supply", nb.POWER_FEED_SUPPLIES, required=True)
        phase = c.choice("phase", nb.POWER_FEED_PHASES, required=True)
        voltage = c.number("voltage", required=True, integer=True, minimum=1, maximum=nb.VOLTAGE_RANGE[1])
        amperage = c.number("amperage", required=True, integer=True, minimum=nb.AMPERAGE_RANGE[0],
                            maximum=nb.AMPERAGE_RANGE[1])
        util = c.number("max_utilization", required=True, integer=True, minimum=nb.MAX_UTILIZATION_RANGE[0],
                        maximum=nb.MAX_UTILIZATION_RANGE[1])
        rack = c.text("rack") or ""
        extra = parse_feed_description(c.text("description") or "")
        if supply == "dc":
            c.problem("supply", "DC feeds are not modelled by dcplan (feed capacity uses AC power factor)")
        if panel and panels is not None and panel not in panels:
            c.problem("power_panel", f"unknown power panel {panel!r} (not in {panel_file})")
        if rack and rack not in racks:
            c.problem("rack", f"unknown rack {rack!r}")
        if name:
            if name in seen:
                c.problem("name", f"duplicate feed name {name!r} (first on row {seen[name]}); dcplan names "
                                  "feeds plant-wide, so they must differ across panels too")
                continue
            seen[name] = number
        side = "A" if kind == "primary" else "B"
        if rack and kind and rack in racks:
            other = slots.get((rack, side))
            if other is not None:
                c.problem("type", f"rack {rack!r} already has {kind} feed {other[0]!r} (row {other[1]}); dcplan "
                                  "models one A and one B feed per rack")
            else:
                slots[(rack, side)] = (name or "", number)
        if not c.ok:
            continue
        old = feeds.get(name)
        feed = PowerFeed(name=name, panel="" if panel == NO_PANEL else panel, voltage=float(voltage),
                         amperage=float(amperage), phase=3 if phase == "three-phase" else 1,
                         max_utilization=util / 100.0, side=side,
                         power_factor=extra.get("power_factor", old.power_factor if old else _DEFAULT_PF),
                         redundancy_group=extra.get("redundancy_group", old.redundancy_group if old else rack))
        if old is None and "power_factor" not in extra:
            default_pf += 1
        if old is None:
            new.power_feeds.append(feed)
            result.created_feeds += 1
        else:
            new.power_feeds[new.power_feeds.index(old)] = feed
            result.updated_feeds += feed != old
        feeds[name] = feed
        if rack:
            assign.append((rack, side, name))
    for rack, side, name in assign:
        r = racks[rack]
        if side == "A":
            r.feed_a = name
        else:
            r.feed_b = name
    if default_pf:
        result.warnings.append(f"{default_pf} new feed(s) without a dcplan description: power factor "
                               f"{_DEFAULT_PF:g} assumed (NetBox has no power factor field)")
