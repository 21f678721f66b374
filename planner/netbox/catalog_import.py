"""Device types read from NetBox YAML into a plan's catalog (``dcplan catalog import``).

Rules (:func:`add_server_types`):

* A type whose key (the NetBox slug) is new is added.
* A type equal to the plan's type of that key is left alone; a different one replaces it
  (listed), unless the plan's servers of that type would no longer fit: a new height that puts a
  server above its rack's top or onto another server is refused, naming the servers.
* A type with the manufacturer and model of a plan type under another key is added and noted:
  devices.csv then names it ambiguously by model, and needs the key.
* A zero-U type (a PDU on the rack's side) is left out and noted: a plan's devices sit in rack
  units, so its server types are at least 1 U (``models`` refuses 0 U).

The input plan is not changed; the result holds a new plan.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Sequence

from planner.plan import Plan, ServerType


class CatalogImportError(ValueError):
    """Refused: the listed servers would not fit the imported types."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(f"{len(problems)} problem(s):\n" + "\n".join(problems))


@dataclass
class CatalogMerge:
    """Result of :func:`add_server_types`."""

    plan: Plan
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def add_server_types(plan: Plan, types: Sequence[ServerType]) -> CatalogMerge:
    """Add or replace ``types`` in a copy of ``plan`` (see the module docstring)."""
    new = copy.deepcopy(plan)
    result = CatalogMerge(new)
    index = {t.key: i for i, t in enumerate(new.server_types)}
    for t in types:
        if t.u_height < 1:
            result.notes.append(f"{t.key}: 0 U (mounted outside the rack units) not added: dcplan places devices "
                                "in rack units")
            continue
        t = copy.deepcopy(t)
        i = index.get(t.key)
        if i is None:
            same_model = [o.key for o in new.server_types
                          if o.model == t.model and o.manufacturer.casefold() == t.manufacturer.casefold()]
            if same_model:
                result.notes.append(f"{t.key}: same manufacturer and model as {', '.join(same_model)}; "
                                    "devices.csv must name it by key")
            index[t.key] = len(new.server_types)
            new.server_types.append(t)
            result.added.append(t.key)
        elif new.server_types[i] == t:
            result.unchanged.append(t.key)
        else:
            new.server_types[i] = t
            result.replaced.append(t.key)
    problems = _fit_problems(new, set(result.replaced))
    if problems:
        raise CatalogImportError(problems)
    return result


def _fit_problems(plan: Plan, changed: set[str]) -> list[str]:
    """Servers of a changed type that now reach above their rack or onto another server."""
    if not changed:
        return []
    heights = {t.key: t.u_height for t in plan.server_types}
    racks = plan.rack_map()
    out = []
    for rack, servers in plan.servers_by_rack().items():
        spans = sorted((s.u_position, s.u_position + max(heights.get(s.server_type, 1), 1) - 1, s)
                       for s in servers)
        for k, (lo, hi, s) in enumerate(spans):
            if s.server_type not in changed:
                continue
            r = racks.get(rack)
            if r is not None and hi > r.u_height:
                out.append(f"server {s.name!r}: {s.server_type} is now {heights[s.server_type]} U, U {lo}-{hi} "
                           f"reaches above rack {rack!r} ({r.u_height} U)")
            for lo2, hi2, other in spans:
                if other is not s and lo <= hi2 and lo2 <= hi:
                    out.append(f"server {s.name!r}: {s.server_type} is now {heights[s.server_type]} U, U {lo}-{hi} "
                               f"overlaps {other.name!r} (U {lo2}-{hi2})")
    return out
