"""Edits of what stands in the racks: place, move and remove servers, U by U.

A server of height h at U position u takes U u … u+h-1 of its rack; two servers never share a U
and none reaches above the rack's height.
"""
from __future__ import annotations

from dataclasses import replace

from planner.edits.core import Edit, EditRefused, NoChange, PlanState, make_edit, removal, short
from planner.plan import Plan, Server, ServerType


def server_heights(plan: Plan) -> dict[str, int]:
    """Height [U] of each server type of ``plan`` by key."""
    return {t.key: t.u_height for t in plan.server_types}


def occupied_u(plan: Plan, rack: str, exclude: str | None = None) -> list[tuple[int, int, str]]:
    """``(lowest U, top U, server name)`` of the servers in ``rack`` (but ``exclude``)."""
    heights = server_heights(plan)
    return [(s.u_position, s.u_position + heights.get(s.server_type, 1) - 1, s.name)
            for s in plan.servers if s.rack == rack and s.name != exclude]


def top_u(plan: Plan, rack: str) -> int:
    """Highest U taken by a server in ``rack`` (0 if empty)."""
    return max((hi for _lo, hi, _n in occupied_u(plan, rack)), default=0)


def fits(state: PlanState, rack: str, u: int, height: int, exclude: str | None = None) -> str | None:
    """None if a ``height``-U server fits at ``u`` in ``rack``, else why not."""
    r = state.rack(rack)
    if r is None:
        return f"No rack named {short(rack)}."
    if u < 1 or u + height - 1 > r.u_height:
        return f"{height} U at U{u} does not fit in {short(rack)} ({r.u_height} U)."
    for lo, hi, name in occupied_u(state.plan, rack, exclude):
        if u <= hi and lo <= u + height - 1:
            return f"U{u}–U{u + height - 1} of {short(rack)} is taken by {short(name)} (U{lo}–U{hi})."
    return None


def first_free_u(state: PlanState, rack: str, height: int) -> int | None:
    """Lowest U of ``rack`` where a ``height``-U server fits; None if none."""
    r = state.rack(rack)
    for u in range(1, r.u_height - height + 2):
        if fits(state, rack, u, height) is None:
            return u
    return None


def add_server(state: PlanState, rack: str, stype: ServerType, u: int | None = None) -> Edit:
    """Place a server of ``stype`` in ``rack`` at ``u`` (None: the lowest free U that fits).

    A type that is not yet in the plan (dragged from the catalog) is added with it.
    """
    if state.rack(rack) is None:
        raise EditRefused(f"No rack named {short(rack)} (it was deleted or renamed).")
    if u is None:
        u = first_free_u(state, rack, stype.u_height)
        if u is None:
            raise EditRefused(f"No {stype.u_height} U free in {short(rack)} for the {stype.model}.")
    else:
        why = fits(state, rack, u, stype.u_height)
        if why:
            raise EditRefused(why)
    taken = {s.name for s in state.plan.servers}
    name = state.unique_name(f"{rack}-U{u:02d}", taken)
    diff = []
    if stype.key not in state.plan.server_type_map():
        diff.append(("server_type", None, stype))
    diff.append(("server", None, Server(name=name, rack=rack, server_type=stype.key, u_position=u)))
    return make_edit(state, f"Add {stype.model} to {short(rack)} U{u}", diff, select=((rack,), ()),
                     name=name, server=name)


def move_server(state: PlanState, name: str, u: int, rack: str | None = None) -> Edit:
    """Move server ``name`` to U ``u`` of ``rack`` (default: its own rack)."""
    s = next((s for s in state.plan.servers if s.name == name), None)
    if s is None:
        raise EditRefused(f"No server named {short(name)}.")
    rack = rack or s.rack
    if (rack, u) == (s.rack, s.u_position):
        raise NoChange("Move server")
    height = server_heights(state.plan).get(s.server_type, 1)
    why = fits(state, rack, u, height, exclude=name)
    if why:
        raise EditRefused(why)
    return make_edit(state, f"Move {short(name)} to {short(rack)} U{u}",
                     [("server", s, replace(s, rack=rack, u_position=u))], name=name, server=name)


def remove_servers(state: PlanState, names) -> Edit:
    """Take servers ``names`` out of their racks."""
    diff, text = removal(state, "server", names, "Remove", "servers", "No server selected.")
    return make_edit(state, text, diff)
