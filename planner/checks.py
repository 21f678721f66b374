"""Validation rules for a plan: what a facility engineer must fix before the hall works.

``check_plan`` returns every problem, each with a severity (``error`` or ``warning``), a
stable code, a message with units, and the rack it concerns (so a GUI can select it).
The same rules feed ``dcplan check`` and the GUI's live problem list, so they must stay
fast for 5,000-rack plans: overlap tests use a tile hash, everything else is linear.

Capacity rules use max power (every server at ``max_power_w``): the worst case a planner
signs off, as in NetBox's allocated-power view and every power-budget spreadsheet. Plant that
rejects heat outdoors is also checked at the site's ASHRAE cooling design condition (0.4 % dry
bulb, and the 0.4 % evaporation wet bulb for towers) read from the EPW header of the plan's first
scenario's weather file, or of the file the caller names: a loop that cannot hold its supply
setpoint there is an error, a loop without a redundant unit (N, not N+1) a warning. The plant
models are the solver's (:mod:`planner.solver.heat_rejection`), so the check and a simulation of
the design day agree.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from planner.assets import resolve_asset
from planner.floor import (  # noqa: F401
    EXHAUST_REACH_M,
    MIN_COLD_AISLE_M,
    MIN_HOT_AISLE_M,
    FootprintIndex,
    aisle_partners,
    boxes_overlap,
    clear_gap_m,
    exhaust_facing,
    leaves_hall,
    unit_footprint,
    unit_hall,
)
from planner.plan import (
    CONTAINMENTS,
    COOLING_TYPES,
    LOOP_MEDIA,
    ORIENTATIONS,
    RACK_HEIGHTS_U,
    UNIT_KINDS,
    Plan,
)

ERROR, WARNING = "error", "warning"
# volumetric heat capacity of the loop media [J/(m³·K)] (planner.solver.defaults: air 1.2 × 1005,
# water 997 × 4180)
_RHO_CP = {"air": 1.2 * 1005.0, "liquid": 997.0 * 4180.0, "facility": 997.0 * 4180.0}
TERMINAL_KINDS = ("crah", "cdu")          # units that take heat from racks
PLANT_KINDS = ("chiller", "dry_cooler", "cooling_tower")  # units that reject heat outdoors
_EPS = 1e-6


@dataclass(frozen=True)
class Problem:
    """One finding. ``rack`` names the rack to select, ``subject`` any other object."""

    severity: str
    code: str
    message: str
    rack: str | None = None
    subject: str | None = None

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


@dataclass(frozen=True)
class Totals:
    """Plan totals for a status bar [counts, kW].

    ``cooling_capacity_kw`` is the smaller of terminal and plant capacity; with design conditions
    known (``design_dry_bulb_c`` not None) the plant counts at the design day, not at its rating.
    """

    racks: int
    servers: int
    gpus: int
    it_kw_max: float
    cooling_capacity_kw: float
    headroom_kw: float
    design_dry_bulb_c: float | None = None


@dataclass(frozen=True)
class DesignConditions:
    """ASHRAE cooling design condition of a site, from an EPW header.

    dry_bulb_c : float  0.4 % cooling design dry bulb [°C]
    wet_bulb_c : float  0.4 % evaporation design wet bulb [°C] (towers, adiabatic coolers)
    source : str  Where it came from, e.g. the EPW file name
    """

    dry_bulb_c: float
    wet_bulb_c: float
    source: str

    def describe(self, towers: bool = False) -> str:
        """e.g. ``"43.4 °C design dry bulb (ASHRAE 0.4 %, USA_AZ_Phoenix…epw)"`` — the header's one decimal."""
        wb = f" / {self.wet_bulb_c:.1f} °C wet bulb" if towers else ""
        return f"{self.dry_bulb_c:.1f} °C design dry bulb{wb} (ASHRAE 0.4 %, {self.source})"


@dataclass(frozen=True)
class PlantAtCondition:
    """One plant loop's heat balance at an outdoor condition, supply at its setpoint [kW, °C].

    load_kw : Heat to remove at max IT power (racks, fans/pumps in the loop, child loops)
    capacity_kw : What its units can reject holding the supply setpoint
    capacity_n1_kw : The same without its largest unit (redundancy)
    largest_unit : Name of that unit
    supply_c : Supply setpoint [°C]
    has_towers : Whether a unit depends on the wet bulb
    """

    loop: str
    load_kw: float
    capacity_kw: float
    capacity_n1_kw: float
    largest_unit: str
    supply_c: float
    has_towers: bool

    @property
    def shortfall_kw(self) -> float:
        return max(self.load_kw - self.capacity_kw, 0.0)


def server_heat_split_kw(plan: Plan) -> dict[str, tuple[float, float]]:
    """Per rack: (air heat, liquid heat) at max power [kW]."""
    types = plan.server_type_map()
    out: dict[str, list[float]] = {r.name: [0.0, 0.0] for r in plan.racks}
    for s in plan.servers:
        t = types.get(s.server_type)
        if t is None or s.rack not in out:
            continue
        p = t.max_power_w / 1000.0
        out[s.rack][0] += p * (1.0 - t.liquid_fraction)
        out[s.rack][1] += p * t.liquid_fraction
    return {k: (v[0], v[1]) for k, v in out.items()}


def loop_loads_kw(plan: Plan) -> dict[str, float]:
    """Heat arriving at each loop at max IT power [kW], plant loops including their children."""
    loads = {lp.name: 0.0 for lp in plan.cooling_loops}
    split = server_heat_split_kw(plan)
    for r in plan.racks:
        air, liq = split.get(r.name, (0.0, 0.0))
        if r.air_loop in loads:
            loads[r.air_loop] += air
        elif r.liquid_loop in loads:  # no air loop: liquid side takes all (checked elsewhere)
            liq += air
        if r.liquid_loop in loads:
            loads[r.liquid_loop] += liq
    # fan/pump power of terminal units ends up as heat in their loop, and so does a chiller's
    # chilled-water pump (its rated_power_kw; the solver puts it there too). Dry-cooler and tower
    # fans blow theirs outdoors.
    for u in plan.cooling_units:
        if u.kind in TERMINAL_KINDS + ("chiller",) and u.loop in loads:
            loads[u.loop] += u.rated_power_kw
    # propagate child loop heat to the plant loop it rejects to (tree, guarded against cycles)
    parent = {lp.name: lp.rejects_to for lp in plan.cooling_loops}
    own = dict(loads)
    for name, q in own.items():
        seen = {name}
        p = parent.get(name)
        while p is not None and p in loads and p not in seen:
            loads[p] += q
            seen.add(p)
            p = parent.get(p)
    return loads


def economisers(plan: Plan) -> set[str]:
    """Names of the dry coolers / towers that are water-side economisers: in a loop with chillers they
    pre-cool the return in cold weather and add nothing on a summer design day."""
    chiller_loops = {u.loop for u in plan.cooling_units if u.kind == "chiller"}
    return {u.name for u in plan.cooling_units if u.kind in ("dry_cooler", "cooling_tower") and u.loop in chiller_loops}


def loop_capacities_kw(plan: Plan) -> dict[str, float]:
    """Sum of rated capacities of the units in each loop [kW] (at their rating point); economisers
    (:func:`economisers`, rated for cold weather) do not count."""
    cap = {lp.name: 0.0 for lp in plan.cooling_loops}
    econ = economisers(plan)
    for u in plan.cooling_units:
        if u.loop in cap and u.name not in econ:
            cap[u.loop] += u.rated_capacity_kw
    return cap


def feed_loads_kw(plan: Plan) -> dict[str, float]:
    """Load each feed must carry alone when its partner side fails [kW] (racks at max power)."""
    rack_kw = plan.rack_max_power_kw()
    loads = {f.name: 0.0 for f in plan.power_feeds}
    for r in plan.racks:
        for f in {r.feed_a, r.feed_b} - {None}:
            if f in loads:
                loads[f] += rack_kw.get(r.name, 0.0)
    return loads


def plan_totals(plan: Plan, weather=None) -> Totals:
    """Counts and kW for a status bar; ``weather`` as :func:`check_plan` takes it."""
    types = plan.server_type_map()
    gpus = sum(types[s.server_type].gpu_count for s in plan.servers if s.server_type in types)
    it = sum(plan.rack_max_power_kw().values())
    terminal = sum(u.rated_capacity_kw for u in plan.cooling_units if u.kind in TERMINAL_KINDS)
    econ = economisers(plan)
    plant = sum(u.rated_capacity_kw for u in plan.cooling_units if u.kind in PLANT_KINDS and u.name not in econ)
    design, _ = _design_for(plan, weather)
    db = None
    if design is not None and plant > 0:
        at = plant_at_condition(plan, design.dry_bulb_c, design.wet_bulb_c)
        if at:
            # the plant at the design day, minus what it carries besides IT (fans, pumps)
            plant = sum(x.capacity_kw - (x.load_kw - _it_share(plan, x.loop)) for x in at)
            db = design.dry_bulb_c
    capacity = min(terminal, plant) if plant > 0 else terminal
    return Totals(len(plan.racks), len(plan.servers), gpus, it, capacity, capacity - it, db)


def _it_share(plan: Plan, loop: str) -> float:
    """IT heat at max power that ends in plant loop ``loop`` [kW] (through its child loops)."""
    parent = {lp.name: lp.rejects_to for lp in plan.cooling_loops}

    def root(name):
        seen = set()
        while name in parent and parent[name] is not None and name not in seen:
            seen.add(name)
            name = parent[name]
        return name

    split = server_heat_split_kw(plan)
    total = 0.0
    for r in plan.racks:
        air, liq = split.get(r.name, (0.0, 0.0))
        if r.air_loop is not None and root(r.air_loop) == loop:
            total += air
        elif r.air_loop is None and r.liquid_loop is not None and root(r.liquid_loop) == loop:
            total += air
        if r.liquid_loop is not None and root(r.liquid_loop) == loop:
            total += liq
    return total


# ------------------------------------------------------------------------------ design day


def design_conditions(header) -> DesignConditions | None:
    """:class:`DesignConditions` from an :class:`planner.weather.EpwHeader`; None if it has none."""
    d = header.design
    if "cooling_db_004" not in d:
        return None
    wb = d.get("evaporation_wb_004", d.get("cooling_mcwb_004", d["cooling_db_004"]))
    name = header.path.name if header.path is not None else f"{header.city} EPW header"
    return DesignConditions(d["cooling_db_004"], wb, name)


def _design_for(plan: Plan, weather) -> tuple[DesignConditions | None, list[Problem]]:
    """Design conditions for ``weather`` (see :func:`check_plan`) and problems reading them.

    An explicitly named file that cannot be read raises :class:`planner.weather.WeatherError`
    (the caller asked for it); the plan's own scenario file only warns (the plan may be moved to
    another machine; the simulation reports the file properly).
    """
    from planner.weather import EpwHeader, WeatherError, load_weather_header

    if weather is False:
        return None, []
    if isinstance(weather, DesignConditions):
        return weather, []
    if isinstance(weather, EpwHeader):
        header = weather
    elif weather is not None:
        header = load_weather_header(weather)
    else:
        if not plan.scenarios or not plan.scenarios[0].weather_file:
            return None, []
        name = plan.scenarios[0].weather_file
        try:
            header = load_weather_header(resolve_asset(name))
        except WeatherError as exc:
            return None, [Problem(WARNING, "design-day-skipped", f"Design-day check skipped: {exc}",
                                  subject=plan.scenarios[0].name)]
    design = design_conditions(header)
    if design is None:
        return None, [Problem(WARNING, "design-day-skipped",
                              f"Design-day check skipped: {header.path.name if header.path else header.city} "
                              "has no ASHRAE design conditions in its header")]
    return design, []


def plant_at_condition(plan: Plan, dry_bulb_c: float, wet_bulb_c: float) -> list[PlantAtCondition]:
    """Every plant loop (one with chillers, dry coolers or towers) at an outdoor condition.

    Each unit as the solver models it (:mod:`planner.solver.heat_rejection`): a chiller gives
    ``rated · capacity_ratio(T_db, T_supply)`` (the reference curve at its rating); a dry cooler or
    tower ``ε·C_min · (T_return − T_db or T_wb)`` with the return at setpoint + load / (ρ c_p V̇)
    of the loop's flow (ε-NTU at fixed flows); a coil unit in the loop its rating. Units with
    unusable fields are skipped (other rules report them).

    dry_bulb_c, wet_bulb_c : float  Outdoor condition [°C]
    """
    from planner.solver.heat_rejection import chiller_capacity_ratio, design_rise_k, exchanger_conductance

    loops = {lp.name: lp for lp in plan.cooling_loops}
    units: dict[str, list] = defaultdict(list)
    for u in plan.cooling_units:
        if u.loop in loops:
            units[u.loop].append(u)
    loads = loop_loads_kw(plan)
    out = []
    for name, us in units.items():
        if not any(u.kind in PLANT_KINDS for u in us):
            continue
        rated = sum(max(u.rated_capacity_kw, 0.0) for u in us)
        if rated <= 0:
            continue
        has_chiller = any(u.kind == "chiller" for u in us)
        # the loop's design duty (an economiser beside chillers carries their flow, not extra duty)
        main = sum(max(u.rated_capacity_kw, 0.0) for u in us
                   if not (has_chiller and u.kind in ("dry_cooler", "cooling_tower")))
        supply = sum(max(u.rated_capacity_kw, 0.0) * u.supply_setpoint_c for u in us) / rated
        rho_cp = _RHO_CP.get(loops[name].medium, _RHO_CP["facility"])
        flow = sum(max(u.flow_m3s, 0.0) for u in us)
        q = loads.get(name, 0.0)
        t_return = supply + (q * 1e3 / (rho_cp * flow) if flow > 0 else 0.0)
        caps = []
        for u in us:
            q_r = u.rated_capacity_kw * 1e3
            if u.kind == "chiller":
                c = q_r * float(chiller_capacity_ratio(dry_bulb_c, supply, u.rated_outdoor_c, u.supply_setpoint_c))
            elif u.kind in ("dry_cooler", "cooling_tower"):
                if u.approach_k <= 0 or q_r <= 0:
                    continue
                # the unit's own rated rise; a unit without a flow takes its loop's (as the solver does)
                rise = float(design_rise_k(q_r, u.flow_m3s, rho_cp) if u.flow_m3s > 0
                             else design_rise_k(main * 1e3, flow, rho_cp))
                cold = dry_bulb_c if u.kind == "dry_cooler" else wet_bulb_c
                c = float(exchanger_conductance(q_r, u.approach_k, rise)) * max(t_return - cold, 0.0)
            else:
                c = max(q_r, 0.0)
            caps.append((c / 1e3, u.name))
        if not caps:
            continue
        total = sum(c for c, _ in caps)
        big, big_name = max(caps)
        out.append(PlantAtCondition(name, q, total, total - big, big_name, supply,
                                    any(u.kind == "cooling_tower" for u in us)))
    return out


def _design_day(plan: Plan, design: DesignConditions | None) -> list[Problem]:
    out = []
    plant_loops = set()
    if design is not None:
        for x in plant_at_condition(plan, design.dry_bulb_c, design.wet_bulb_c):
            plant_loops.add(x.loop)
            where = design.describe(x.has_towers)
            if x.shortfall_kw > _EPS:
                out.append(Problem(ERROR, "loop-design-day",
                                   f"Loop {x.loop} cannot hold its {x.supply_c:.1f} °C supply at the {where}: "
                                   f"{x.load_kw:.0f} kW to remove at max load, {x.capacity_kw:.0f} kW of plant, "
                                   f"{x.shortfall_kw:.0f} kW short", subject=x.loop))
            if x.load_kw > _EPS and x.capacity_n1_kw < x.load_kw - _EPS:
                out.append(Problem(WARNING, "loop-no-redundancy",
                                   f"Loop {x.loop} has no redundant unit (N, not N+1): without {x.largest_unit} "
                                   f"its plant rejects {x.capacity_n1_kw:.0f} kW at the {where}, less than "
                                   f"the {x.load_kw:.0f} kW load", subject=x.loop))
    # loops not checked at a design condition: redundancy at the rating
    loads = loop_loads_kw(plan)
    by_loop: dict[str, list] = defaultdict(list)
    econ = economisers(plan)
    for u in plan.cooling_units:
        if u.name not in econ:
            by_loop[u.loop].append(u)
    for lp in plan.cooling_loops:
        us = by_loop.get(lp.name, [])
        if lp.name in plant_loops or not us:
            continue
        q = loads.get(lp.name, 0.0)
        total = sum(u.rated_capacity_kw for u in us)
        big = max(us, key=lambda u: u.rated_capacity_kw)
        if q > _EPS and total >= q - _EPS and total - big.rated_capacity_kw < q - _EPS:
            out.append(Problem(WARNING, "loop-no-redundancy",
                               f"Loop {lp.name} has no redundant unit (N, not N+1): without {big.name} its units "
                               f"deliver {total - big.rated_capacity_kw:.0f} kW at their rating, less than the "
                               f"{q:.0f} kW load", subject=lp.name))
    return out


# ------------------------------------------------------------------------------- rules


def _overlaps(plan: Plan) -> list[Problem]:
    """Racks and floor cooling units of one hall whose footprints share area (touching edges are
    fine): the placement rule of ``planner.floor``, reported for the whole plan."""
    problems = []
    by_hall: dict[str, FootprintIndex] = defaultdict(FootprintIndex)
    for i, r in enumerate(plan.racks):
        by_hall[r.hall].add(i, r.footprint())
    pairs = sorted(p for index in by_hall.values() for p in index.pairs())
    for a, b in pairs:
        ra, rb = plan.racks[a], plan.racks[b]
        (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = ra.footprint(), rb.footprint()
        ox = min(ax1, bx1) - max(ax0, bx0)
        oy = min(ay1, by1) - max(ay0, by0)
        problems.append(Problem(ERROR, "rack-overlap",
                                f"Racks {ra.name} and {rb.name} overlap on the floor "
                                f"({ox:.2f} m x {oy:.2f} m)", ra.name, rb.name))
    halls = {h.name: h for h in plan.halls}
    for u in plan.cooling_units:
        box = unit_footprint(u)
        if box is None:
            continue
        hall = unit_hall(plan, u)
        for i in by_hall[hall].query(box) if hall in by_hall else ():
            problems.append(Problem(ERROR, "rack-unit-overlap", f"Rack {plan.racks[i].name} and cooling unit "
                                    f"{u.name} overlap on the floor", plan.racks[i].name, u.name))
        if hall in halls and leaves_hall(box, halls[hall]):
            problems.append(Problem(ERROR, "unit-outside-hall", f"Cooling unit {u.name} stands outside hall "
                                    f"{hall} ({halls[hall].width_m:g} m x {halls[hall].depth_m:g} m)",
                                    subject=u.name))
    return problems


def _rack_fields(plan: Plan) -> list[Problem]:
    out = []
    halls = {h.name: h for h in plan.halls}
    names: set[str] = set()
    for r in plan.racks:
        if not r.name or r.name != r.name.strip():
            # CSV import strips cells, so such a name would not survive an export/import round trip
            out.append(Problem(ERROR, "rack-name", f"Rack name {r.name!r} is empty or starts/ends with a space",
                               r.name))
        if r.name in names:
            out.append(Problem(ERROR, "rack-duplicate", f"Two racks are named {r.name}", r.name))
        names.add(r.name)
        if r.orientation not in ORIENTATIONS:
            out.append(Problem(ERROR, "rack-orientation", f"Rack {r.name}: orientation '{r.orientation}' "
                               f"is not one of {', '.join(ORIENTATIONS)}", r.name))
        if r.cooling_type not in COOLING_TYPES:
            out.append(Problem(ERROR, "rack-cooling-type", f"Rack {r.name}: cooling type '{r.cooling_type}' "
                               f"is not one of {', '.join(COOLING_TYPES)}", r.name))
        if r.u_height < 1:
            out.append(Problem(ERROR, "rack-height", f"Rack {r.name}: height {r.u_height}U must be at least 1U",
                               r.name))
        elif r.u_height not in RACK_HEIGHTS_U:
            out.append(Problem(WARNING, "rack-height", f"Rack {r.name}: {r.u_height}U is not a standard AI rack "
                               f"height ({'/'.join(map(str, RACK_HEIGHTS_U))}U)", r.name))
        hall = halls.get(r.hall)
        if hall is None:
            out.append(Problem(ERROR, "rack-hall", f"Rack {r.name} is in hall '{r.hall}', which does not exist",
                               r.name))
        else:
            if leaves_hall(r.footprint(), hall):
                out.append(Problem(ERROR, "rack-outside-hall",
                                   f"Rack {r.name} stands outside hall {hall.name} "
                                   f"({hall.width_m:g} m x {hall.depth_m:g} m)", r.name))
    for h in plan.halls:
        if h.containment not in CONTAINMENTS:
            out.append(Problem(ERROR, "hall-containment", f"Hall {h.name}: containment '{h.containment}' "
                               f"is not one of {', '.join(CONTAINMENTS)}", subject=h.name))
    return out


def _servers(plan: Plan) -> list[Problem]:
    out = []
    types = plan.server_type_map()
    racks = plan.rack_map()
    for rack_name, servers in plan.servers_by_rack().items():
        rack = racks.get(rack_name)
        if rack is None:
            for s in servers:
                out.append(Problem(ERROR, "server-rack", f"Server {s.name} is in rack '{rack_name}', "
                                   "which does not exist", subject=s.name))
            continue
        spans = []
        weight = 0.0
        for s in servers:
            t = types.get(s.server_type)
            if t is None:
                out.append(Problem(ERROR, "server-type", f"Server {s.name} in rack {rack_name}: server type "
                                   f"'{s.server_type}' is not in the plan's catalog", rack_name, s.name))
                continue
            weight += t.weight_kg
            lo, hi = s.u_position, s.u_position + t.u_height - 1
            if lo < 1:
                out.append(Problem(ERROR, "server-below-u1", f"Server {s.name} in rack {rack_name} starts at "
                                   f"U{lo}; the lowest unit is U1", rack_name, s.name))
            if hi > rack.u_height:
                out.append(Problem(ERROR, "server-above-top", f"Server {s.name} ({t.u_height}U at U{lo}) reaches "
                                   f"U{hi}, above the top of rack {rack_name} ({rack.u_height}U)", rack_name, s.name))
            spans.append((lo, hi, s.name))
            if t.liquid_fraction > 0 and rack.liquid_loop is None:
                out.append(Problem(ERROR, "server-needs-liquid", f"Server {s.name} ({t.model}) needs liquid "
                                   f"cooling but rack {rack_name} has no liquid loop", rack_name, s.name))
        spans.sort()
        for (alo, ahi, an), (blo, bhi, bn) in zip(spans, spans[1:]):
            if blo <= ahi:
                out.append(Problem(ERROR, "server-u-overlap", f"Servers {an} and {bn} overlap in rack {rack_name} "
                                   f"at U{blo}-U{min(ahi, bhi)}", rack_name, bn))
        # overlaps with non-adjacent spans (a tall server covering several others)
        for i in range(len(spans)):
            for j in range(i + 2, len(spans)):
                if spans[j][0] > spans[i][1]:
                    break
                out.append(Problem(ERROR, "server-u-overlap", f"Servers {spans[i][2]} and {spans[j][2]} overlap "
                                   f"in rack {rack_name} at U{spans[j][0]}", rack_name, spans[j][2]))
        if rack.max_weight_kg > 0 and weight > rack.max_weight_kg + _EPS:
            out.append(Problem(ERROR, "rack-overweight", f"Rack {rack_name}: equipment weighs {weight:.0f} kg, "
                               f"more than its {rack.max_weight_kg:.0f} kg rating", rack_name))
    return out


def _power(plan: Plan) -> list[Problem]:
    out = []
    rack_kw = plan.rack_max_power_kw()
    feeds = {f.name: f for f in plan.power_feeds}
    for r in plan.racks:
        kw = rack_kw.get(r.name, 0.0)
        if kw > r.power_budget_kw + _EPS:
            out.append(Problem(ERROR, "rack-over-budget", f"Rack {r.name}: {kw:.1f} kW at max load exceeds its "
                               f"{r.power_budget_kw:.1f} kW budget", r.name))
        elif r.power_budget_kw > 0 and kw > 0.9 * r.power_budget_kw:
            out.append(Problem(WARNING, "rack-near-budget", f"Rack {r.name}: {kw:.1f} kW is over 90 % of its "
                               f"{r.power_budget_kw:.1f} kW budget", r.name))
        sides = [f for f in (r.feed_a, r.feed_b) if f]
        for f in sides:
            if f not in feeds:
                out.append(Problem(ERROR, "feed-unknown", f"Rack {r.name} is on power feed '{f}', which does not "
                                   "exist", r.name))
        if not sides:
            if kw > 0:
                out.append(Problem(ERROR, "rack-no-feed", f"Rack {r.name} draws {kw:.1f} kW but has no power feed",
                                   r.name))
            else:  # a new rack: say so before servers go in (editors never guess its feeds)
                out.append(Problem(WARNING, "rack-no-feed", f"Rack {r.name} has no power feed yet: pick its feeds "
                                   "A and B", r.name))
        elif len(sides) == 1 and kw > 0:
            out.append(Problem(WARNING, "rack-single-feed", f"Rack {r.name} has only one power feed: no A/B "
                               "redundancy", r.name))
        elif r.feed_a == r.feed_b:
            out.append(Problem(ERROR, "rack-same-feed", f"Rack {r.name}: feeds A and B are the same feed "
                               f"'{r.feed_a}'", r.name))
        for f in sides:
            feed = feeds.get(f)
            if feed is not None and kw > feed.capacity_kw + _EPS:
                out.append(Problem(ERROR, "feed-cannot-carry-rack",
                                   f"Rack {r.name}: feed {f} alone carries {feed.capacity_kw:.1f} kW, less than "
                                   f"the rack's {kw:.1f} kW if the other side fails", r.name, f))
    loads = feed_loads_kw(plan)
    racks_on: dict[str, list[str]] = defaultdict(list)
    for r in plan.racks:
        for f in {r.feed_a, r.feed_b} - {None}:
            racks_on[f].append(r.name)
    for f in plan.power_feeds:
        if len(racks_on.get(f.name, ())) > 1 and loads[f.name] > f.capacity_kw + _EPS:
            out.append(Problem(ERROR, "feed-overloaded",
                               f"Feed {f.name} must carry {loads[f.name]:.1f} kW for {len(racks_on[f.name])} racks "
                               f"when the other side fails, more than its {f.capacity_kw:.1f} kW",
                               subject=f.name))
        if f.phase not in (1, 3):
            out.append(Problem(ERROR, "feed-phase", f"Feed {f.name}: phase must be 1 or 3, not {f.phase}",
                               subject=f.name))
        if not 0 < f.max_utilization <= 1:
            out.append(Problem(ERROR, "feed-utilization", f"Feed {f.name}: max utilisation {f.max_utilization:g} "
                               "must be in (0, 1]", subject=f.name))
    return out


def _cooling(plan: Plan) -> list[Problem]:
    out = []
    loops = {lp.name: lp for lp in plan.cooling_loops}
    split = server_heat_split_kw(plan)
    for lp in plan.cooling_loops:
        if lp.medium not in LOOP_MEDIA:
            out.append(Problem(ERROR, "loop-medium", f"Loop {lp.name}: medium '{lp.medium}' is not one of "
                               f"{', '.join(LOOP_MEDIA)}", subject=lp.name))
        if lp.rejects_to is not None and lp.rejects_to not in loops:
            out.append(Problem(ERROR, "loop-unknown", f"Loop {lp.name} rejects heat to loop '{lp.rejects_to}', "
                               "which does not exist", subject=lp.name))
    for u in plan.cooling_units:
        if u.kind not in UNIT_KINDS:
            out.append(Problem(ERROR, "unit-kind", f"Cooling unit {u.name}: kind '{u.kind}' is not one of "
                               f"{', '.join(UNIT_KINDS)}", subject=u.name))
        if u.loop not in loops:
            out.append(Problem(ERROR, "unit-loop", f"Cooling unit {u.name} is in loop '{u.loop}', which does "
                               "not exist", subject=u.name))
    for r in plan.racks:
        air, liq = split.get(r.name, (0.0, 0.0))
        for attr, medium in (("air_loop", "air"), ("liquid_loop", "liquid")):
            name = getattr(r, attr)
            if name is None:
                continue
            lp = loops.get(name)
            if lp is None:
                out.append(Problem(ERROR, "rack-loop-unknown", f"Rack {r.name} is on {medium} loop '{name}', which "
                                   "does not exist", r.name))
            elif lp.medium != medium:
                out.append(Problem(ERROR, "rack-loop-medium", f"Rack {r.name}: its {medium} loop {name} is a "
                                   f"{lp.medium} loop", r.name))
        if air + liq > 0 and r.air_loop is None and r.liquid_loop is None:
            out.append(Problem(ERROR, "rack-no-cooling", f"Rack {r.name} produces {air + liq:.1f} kW of heat but "
                               "is on no cooling loop", r.name))
        elif air > _EPS and r.air_loop is None:
            out.append(Problem(ERROR, "rack-no-air", f"Rack {r.name} rejects {air:.1f} kW to air but has no air "
                               "loop", r.name))
        if r.cooling_type in ("liquid", "hybrid") and r.liquid_loop is None:
            out.append(Problem(ERROR, "rack-no-liquid", f"Rack {r.name} is {r.cooling_type}-cooled but has no "
                               "liquid loop", r.name))
    loads = loop_loads_kw(plan)
    caps = loop_capacities_kw(plan)
    for name, q in loads.items():
        c = caps.get(name, 0.0)
        if q > c + _EPS:
            what = "no cooling units" if c == 0 else f"{c:.0f} kW of rated capacity"
            out.append(Problem(ERROR, "loop-over-capacity", f"Loop {name} must remove {q:.0f} kW at max load but "
                               f"has {what}", subject=name))
        elif c > 0 and q > 0.9 * c:
            out.append(Problem(WARNING, "loop-near-capacity", f"Loop {name}: {q:.0f} kW at max load is over 90 % "
                               f"of its {c:.0f} kW rated capacity", subject=name))
    return out


#: First characters that make a spreadsheet run a cell as a formula (OWASP "CSV Injection"):
#: plain ``dcplan export`` prefixes such names with ``'``; ``export --netbox`` writes them as they are.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _formula_names(plan: Plan) -> list[Problem]:
    """Names exported to CSV that a spreadsheet would run as a formula (one warning per object)."""
    named = [("Site", plan.site.name, None), *(("Hall", h.name, None) for h in plan.halls)]
    named += [("Rack", r.name, r.name) for r in plan.racks]
    named += [("Row", r.row, r.name) for r in plan.racks]
    named += [("Server", s.name, s.rack) for s in plan.servers]
    named += [(f"Server type {t.key} {what}", v, None) for t in plan.server_types
              for what, v in (("manufacturer", t.manufacturer), ("model", t.model))]
    named += [("Cooling loop", lp.name, None) for lp in plan.cooling_loops]
    named += [("Power feed", f.name, None) for f in plan.power_feeds]
    named += [("Power panel", f.panel, None) for f in plan.power_feeds]
    out, seen = [], set()
    for kind, name, rack in named:
        if name and name.startswith(FORMULA_START) and (kind, name) not in seen:
            seen.add((kind, name))
            out.append(Problem(WARNING, "name-formula", f"{kind} {name!r} begins with {name[0]!r}: a spreadsheet may "
                               "run it as a formula; plain export writes it with a leading ', export --netbox as it is",
                               rack, None if rack else name))
    return out


def _row_label(racks: list) -> str:
    """``row A`` for racks of one named row, else ``rack A01``."""
    return f"row {racks[0].row}" if racks[0].row else f"rack {racks[0].name}"


def _aisles(plan: Plan) -> list[Problem]:
    """Aisles narrower than ANSI/TIA-942's minimums (1 m in front, 0.6 m behind: ``planner.floor``) and
    rack inlets facing another rack's exhaust within :data:`planner.floor.EXHAUST_REACH_M`.

    One warning per pair of rows (or unnamed racks), naming its narrowest gap and its first rack.
    """
    racks = [r for r in plan.racks if r.orientation in ORIENTATIONS]
    partners = aisle_partners(racks)
    facing = exhaust_facing(racks)
    key = [r.row or r.name for r in racks]
    found: dict[tuple[str, str, str], list] = {}  # (rule, row, other row) -> [narrowest gap, rack, other, racks]
    for i, r in enumerate(racks):
        pairs = [("aisle-narrow-cold", partners.cold[i], MIN_COLD_AISLE_M),
                 ("aisle-narrow-hot", partners.hot[i], MIN_HOT_AISLE_M),
                 ("inlet-faces-exhaust", facing[i], EXHAUST_REACH_M)]
        for rule, j, limit in pairs:
            if j < 0 or (rule != "inlet-faces-exhaust" and j < i):  # aisle pairs once, from the first rack
                continue
            gap = clear_gap_m(r, racks[j])
            if gap >= limit - _EPS or gap < -_EPS:  # overlapping racks are the overlap rule's
                continue
            entry = found.setdefault((rule, key[i], key[j]), [gap, r, racks[j], 0])
            entry[3] += 1
            if gap < entry[0] - _EPS:
                entry[:3] = [gap, r, racks[j]]
    out = []
    for (rule, _a, _b), (gap, r, o, n) in found.items():
        what = f"{_row_label([r])} and {_row_label([o])}" if (r.row or o.row) else f"racks {r.name} and {o.name}"
        racks_n = f" ({n} racks)" if n > 1 else ""
        if rule == "inlet-faces-exhaust":
            out.append(Problem(WARNING, "inlet-faces-exhaust",
                               f"The fronts of {_row_label([r])} face the backs of {_row_label([o])} {gap:.2f} m away"
                               f"{racks_n}: rack {r.name} draws rack {o.name}'s hot exhaust. Turn one row so fronts "
                               "face fronts (cold aisle) and backs face backs (hot aisle)", r.name, o.name))
        elif rule == "aisle-narrow-cold":
            out.append(Problem(WARNING, "aisle-narrow-cold",
                               f"Cold aisle between {what} is {gap:.2f} m wide{racks_n}, narrower than the "
                               f"{MIN_COLD_AISLE_M:.1f} m ANSI/TIA-942 minimum clearance in front of racks",
                               r.name, o.name))
        else:
            out.append(Problem(WARNING, "aisle-narrow-hot",
                               f"Hot aisle between {what} is {gap:.2f} m wide{racks_n}, narrower than the "
                               f"{MIN_HOT_AISLE_M:.1f} m ANSI/TIA-942 minimum clearance behind racks", r.name, o.name))
    return out


def _cooling_match(plan: Plan) -> list[Problem]:
    """Racks whose loops or cooling type do not match the heat their servers send to air and liquid.

    A liquid loop on a rack whose servers are all air-cooled carries no heat (a plan error: the loop's
    CDU capacity is counted for nothing, the rack's fans still need the air loop); an air-cooled rack
    whose servers need liquid, or a liquid-cooled one with air-only servers, is mislabelled. Missing
    loops are ``_servers`` / ``_cooling``'s errors.
    """
    out = []
    split = server_heat_split_kw(plan)
    filled = {s.rack for s in plan.servers}
    for r in plan.racks:
        air, liq = split.get(r.name, (0.0, 0.0))
        has_servers = r.name in filled
        if r.liquid_loop is not None and liq <= _EPS and (has_servers or r.cooling_type == "air"):
            why = "its servers reject no heat to liquid" if has_servers else "it is an air-cooled rack"
            out.append(Problem(WARNING, "rack-loop-mismatch", f"Rack {r.name} is on liquid loop {r.liquid_loop} but "
                               f"{why}: remove the loop or place liquid-cooled servers", r.name, r.liquid_loop))
        if r.air_loop is not None and has_servers and air <= _EPS and liq > _EPS:
            out.append(Problem(WARNING, "rack-loop-mismatch", f"Rack {r.name} is on air loop {r.air_loop} but its "
                               "servers reject all their heat to liquid", r.name, r.air_loop))
        if has_servers and r.cooling_type == "air" and liq > _EPS:
            out.append(Problem(WARNING, "rack-loop-mismatch", f"Rack {r.name} is marked air-cooled but its servers "
                               f"send {liq:.1f} kW to liquid: set its cooling to hybrid or liquid", r.name))
        elif has_servers and r.cooling_type in ("liquid", "hybrid") and liq <= _EPS and air > _EPS:
            out.append(Problem(WARNING, "rack-loop-mismatch", f"Rack {r.name} is marked {r.cooling_type}-cooled but "
                               "its servers are air-cooled: set its cooling to air", r.name))
    return out


def check_plan(plan: Plan, weather=None) -> list[Problem]:
    """Every problem of the plan, errors first, then in rule order.

    weather : None | str | Path | EpwHeader | DesignConditions | False
        Site design conditions for the plant checks: None reads the EPW header of the plan's first
        scenario's weather file (if it has one); a path or bundled city name (``"Minneapolis"``)
        reads that file's header (:class:`planner.weather.WeatherError` if it cannot); False skips
        the design-day check (redundancy is then checked at the units' ratings).
    """
    design, problems = _design_for(plan, weather)
    problems = (_rack_fields(plan) + _overlaps(plan) + _servers(plan) + _power(plan) + _cooling(plan)
                + _formula_names(plan) + _aisles(plan) + _cooling_match(plan) + _design_day(plan, design)
                + problems)
    problems.sort(key=lambda p: p.severity != ERROR)
    return problems


def rack_problem_severity(problems: list[Problem]) -> dict[str, str]:
    """Worst severity per rack, for colouring racks in the GUI."""
    worst: dict[str, str] = {}
    for p in problems:
        if p.rack and worst.get(p.rack) != ERROR:
            worst[p.rack] = p.severity
    return worst

