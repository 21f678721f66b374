"""Plain-data description of a datacenter plan.

These dataclasses are the one exchange format between the layers: ``models``
converts its database rows to and from them, and everything in ``planner``
(validation, CSV exchange, solver, scheduler) reads only these. No Qt, no ORM.

Conventions
-----------
* SI units inside, except where a field name says otherwise (``_kw``, ``_u``):
  the catalog and the GUI speak kW and rack units because engineers do.
* Floor coordinates: ``x`` grows to the right (east), ``y`` grows downwards
  (south) on the plan, as in the GUI. A rack's ``x_m``/``y_m`` is the centre of
  its footprint. ``orientation`` is the direction its front (cold-aisle side)
  faces: ``"N"`` is towards smaller ``y``.
* Cross references are by name (racks, loops, feeds) or key (server types),
  never by database id, so a plan can round-trip through CSV.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

ORIENTATIONS = ("N", "E", "S", "W")
COOLING_TYPES = ("air", "liquid", "hybrid")
LOOP_MEDIA = ("air", "liquid", "facility")
UNIT_KINDS = ("crah", "cdu", "chiller", "dry_cooler", "cooling_tower")
CONTAINMENTS = ("none", "cold", "hot")
RACK_STATUSES = ("active", "planned", "reserved", "available", "deprecated")
RACK_HEIGHTS_U = (42, 48, 52)

#: Coolant temperatures at which a server type's ``gpu_design_temp_c`` is stated (the catalog's
#: rating conditions) [°C]: 22 °C air inlet, mid-range of ASHRAE's recommended 18–27 °C envelope
#: (Thermal Guidelines 5th ed., docs/physics.md); 43 °C liquid supply, ASHRAE class W40 facility water
#: plus a 3 K CDU approach. A server's thermal resistance follows from these, so it is a property
#: of the hardware: warmer loop setpoints make the GPUs warmer, as they would.
RATING_AIR_INLET_C = 22.0
RATING_LIQUID_SUPPLY_C = 43.0
RACK_UNIT_M = 0.04445  # EIA-310 rack unit [m]
#: Default integrator step [s]. The solver's exponential update is exact for the linear parts, and
#: halving 10 s changes temperatures by < 0.02 K on the demo hall (tests/test_solver_verification.py).
DEFAULT_STEP_S = 10.0


@dataclass
class Site:
    """Where the plan is.

    name : str  Site name (NetBox ``site``)
    latitude, longitude : float  [deg], north and east positive
    timezone : str  IANA time zone name, e.g. ``"America/Phoenix"``
    elevation_m : float  [m] above sea level
    """

    name: str = "Site"
    latitude: float = 0.0
    longitude: float = 0.0
    timezone: str = "UTC"
    elevation_m: float = 0.0


@dataclass
class Hall:
    """A data hall (NetBox ``location``).

    width_m, depth_m : float  Floor size along x and y [m]
    tile_m : float  Raised-floor tile pitch [m]; 0.6 m (24 in) is the industry standard tile.
    containment : str  Aisle containment: ``none``, ``cold`` or ``hot`` (reduces recirculation)
    """

    name: str = "Hall 1"
    width_m: float = 30.0
    depth_m: float = 20.0
    tile_m: float = 0.6
    containment: str = "none"


@dataclass
class ServerType:
    """A catalog entry: a GPU server or a rack-scale system.

    key : str  Stable identifier (slug), used as NetBox ``device_type``
    u_height : int  Height [U]
    gpu_tdp_w : float  Per-GPU thermal design power [W]
    idle_power_w, max_power_w : float  Whole-system electrical power [W]
    liquid_fraction : float  Fraction of heat removed by liquid cooling [0..1]
    airflow_m3s : float  Air volume flow at max power [m³/s]
    gpu_slowdown_c, gpu_shutdown_c : float  GPU temperature thresholds [°C]
    gpu_design_temp_c : float  GPU temperature at max power with coolant at the rating conditions,
        ``RATING_AIR_INLET_C`` air inlet and ``RATING_LIQUID_SUPPLY_C`` liquid supply [°C]
    thermal_time_constant_s : float  GPU + heat sink/cold plate time constant [s]
    sources : dict  field name -> source text; "estimate" marks an estimate
    """

    key: str
    manufacturer: str
    model: str
    u_height: int
    gpu_count: int
    gpu_model: str
    gpu_tdp_w: float
    idle_power_w: float
    max_power_w: float
    liquid_fraction: float = 0.0
    airflow_m3s: float = 0.0
    gpu_slowdown_c: float = 89.0
    gpu_shutdown_c: float = 92.0
    gpu_design_temp_c: float = 80.0
    thermal_time_constant_s: float = 90.0
    weight_kg: float = 0.0
    gpu_memory_gb: float = 0.0
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def cooling_type(self) -> str:
        """``air``, ``liquid`` or ``hybrid`` from the liquid heat fraction."""
        if self.liquid_fraction <= 0.0:
            return "air"
        if self.liquid_fraction >= 1.0:
            return "liquid"
        return "hybrid"


@dataclass
class Rack:
    """A rack on the floor.

    x_m, y_m : float  Footprint centre [m]
    orientation : str  Direction the front faces, one of N/E/S/W
    width_m, depth_m : float  Footprint [m]; 600 x 1200 mm is the common AI rack
    u_height : int  Usable height [U]
    power_budget_kw : float  Allowed IT power at max load [kW]
    max_weight_kg : float  Static load rating [kg]
    cooling_type : str  air / liquid / hybrid
    air_loop, liquid_loop : str | None  Names of the cooling loops serving it
    feed_a, feed_b : str | None  Names of the power feeds (A and B sides)
    """

    name: str
    hall: str = "Hall 1"
    row: str = ""
    x_m: float = 0.0
    y_m: float = 0.0
    orientation: str = "N"
    width_m: float = 0.6
    depth_m: float = 1.2
    u_height: int = 42
    power_budget_kw: float = 40.0
    max_weight_kg: float = 1360.0
    cooling_type: str = "air"
    air_loop: str | None = None
    liquid_loop: str | None = None
    feed_a: str | None = None
    feed_b: str | None = None
    status: str = "active"

    def footprint(self) -> tuple[float, float, float, float]:
        """Axis-aligned footprint ``(x0, y0, x1, y1)`` [m] after rotation."""
        if self.orientation in ("N", "S"):
            w, d = self.width_m, self.depth_m
        else:
            w, d = self.depth_m, self.width_m
        return (self.x_m - w / 2, self.y_m - d / 2, self.x_m + w / 2, self.y_m + d / 2)

    def front_vector(self) -> tuple[float, float]:
        """Unit vector in floor coordinates pointing out of the rack front."""
        return {"N": (0.0, -1.0), "S": (0.0, 1.0), "E": (1.0, 0.0), "W": (-1.0, 0.0)}[self.orientation]


@dataclass
class Server:
    """A server type placed in a rack.

    u_position : int  Lowest occupied unit, 1-based from the bottom
    """

    name: str
    rack: str
    server_type: str
    u_position: int
    face: str = "front"


@dataclass
class CoolingLoop:
    """A cooling loop: air (CRAHs), liquid (CDUs) or facility water (plant).

    medium : str  ``air`` / ``liquid`` / ``facility``
    rejects_to : str | None  Loop that takes this loop's heat (e.g. CRAH loop ->
        chilled-water plant loop). ``None`` for a plant loop whose units reject
        heat outdoors.
    """

    name: str
    medium: str
    rejects_to: str | None = None


@dataclass
class CoolingUnit:
    """One cooling unit in a loop.

    kind : str  crah / cdu / chiller / dry_cooler / cooling_tower
    rated_capacity_kw : float  Heat removal at the rated condition [kW]
    rated_outdoor_c : float  Outdoor dry bulb (wet bulb for towers) of the rating [°C]
    supply_setpoint_c : float  Supply air / coolant temperature setpoint [°C]
    flow_m3s : float  Design volume flow of air or coolant [m³/s]
    loop_volume_m3 : float  Fluid volume this unit contributes to its loop [m³]
    time_constant_s : float  First-order response of pumps/fans/valves [s]
    dead_time_s : float  Pure delay before the response starts [s]
    rated_power_kw : float  Electrical power of fans/pumps at design flow [kW]
    design_cop : float  Coefficient of performance at the rating (chillers) [-]
    approach_k : float  Approach of supply to outdoor temperature (dry coolers, towers) [K]
    x_m, y_m : float | None  Floor position for CRAHs and CDUs [m]
    """

    name: str
    kind: str
    loop: str
    rated_capacity_kw: float
    rated_outdoor_c: float = 35.0
    supply_setpoint_c: float = 18.0
    flow_m3s: float = 0.0
    loop_volume_m3: float = 0.0
    time_constant_s: float = 30.0
    dead_time_s: float = 0.0
    rated_power_kw: float = 0.0
    design_cop: float = 0.0
    approach_k: float = 0.0
    x_m: float | None = None
    y_m: float | None = None
    hall: str | None = None
    model: str = ""


@dataclass
class PowerFeed:
    """A power feed / PDU circuit, capacity computed as NetBox does.

    voltage : float  Line voltage [V]
    amperage : float  Breaker rating [A]
    phase : int  1 or 3
    max_utilization : float  Allowed fraction of the rating [0..1] (NEC 80 % continuous rule)
    redundancy_group : str  Feeds in one group back each other up (A/B)
    """

    name: str
    panel: str = ""
    voltage: float = 415.0
    amperage: float = 63.0
    phase: int = 3
    max_utilization: float = 0.8
    power_factor: float = 0.95
    redundancy_group: str = ""
    side: str = "A"

    @property
    def capacity_kw(self) -> float:
        """Usable real power [kW] = V·I·(√3 if three-phase)·max_util·pf."""
        phase_factor = math.sqrt(3.0) if self.phase == 3 else 1.0
        return self.voltage * self.amperage * phase_factor * self.max_utilization * self.power_factor / 1000.0


@dataclass
class Job:
    """A batch job on GPUs.

    gpus : int  GPUs requested
    utilization : float  Mean demanded utilisation while running [0..1]
    duration_s : float  Run time at full clock [s]
    release_s, deadline_s : float  Earliest start / latest end, from scenario start [s]
    start_s : float | None  Fixed start [s] from scenario start (None: scheduler decides)
    kind : str  ``training`` (bursty structure) or ``inference`` / ``batch``
    placement : tuple[tuple[str, int], ...]  Where the job runs: ``(server name, GPUs)`` pairs, e.g.
        ``(("E01-NVL72", 64), ("E02-NVL72", 8))``, as a schedule fixes it together with ``start_s``;
        empty: placed first-fit when it starts
    """

    name: str
    gpus: int
    utilization: float = 0.9
    duration_s: float = 3600.0
    release_s: float = 0.0
    deadline_s: float | None = None
    preemptible: bool = False
    priority: int = 0
    kind: str = "training"
    start_s: float | None = None
    placement: tuple[tuple[str, int], ...] = ()


#: Largest size or amount a plan holds [any unit: kW, kg, m³/s, a count]: a billion, beyond any hall.
#: The plan reader (models.plan_reader) refuses more in a file; imports refuse it in a cell, so an
#: import never saves a plan that cannot be opened again.
QUANTITY_MAX = 1e9

#: Highest energy price and demand charge a plan may hold [$/kWh, $/kW per month]: two hundred times
#: the highest wholesale price cap in the US (ERCOT, $5/kWh) and far above any demand charge; with them
#: the cost of ten years of a gigawatt hall stays a finite number (never "inf", never JSON null).
#: Checked when a plan is read (models.plan_reader) and before a run (planner.solver.limits).
MAX_PRICE_USD_PER_KWH = 1000.0
MAX_DEMAND_CHARGE_USD_PER_KW = 100_000.0


@dataclass
class Tariff:
    """Electricity price: energy by local hour, and demand charges on the month's peak 15-minute
    average facility power inside and outside an on-peak demand window.

    Large-customer time-of-use rates bill demand by period: APS's business TOU plans carry "two
    monthly demand charges — one for the highest 15-minute period of usage during on-peak hours and
    one for the highest 15-minute period of usage during off-peak hours" (aps.com, Business service
    plans); SRP's business TOU (E-32) an on-peak and a shoulder/off-peak demand charge, weekends all
    off-peak (srpnet.com). The window is the set of local instants whose hour lies in
    ``[demand_window_start_h, demand_window_end_h)`` on the days it covers (Monday–Friday when
    ``demand_window_weekdays_only``) in the months it covers (``demand_window_months``; empty = every
    month). Utility holidays (billed off-peak by APS and SRP) are not modelled: they count as weekdays.
    The defaults (every hour of every day, no off-peak charge) are one demand charge on the month's
    peak at any hour, what plans saved before schema 3 mean.

    hourly_price_usd_per_kwh : list[float]  24 prices by local hour [$/kWh], 0 to MAX_PRICE_USD_PER_KWH
    demand_charge_usd_per_kw : float  On the month's peak 15-minute average inside the demand window
        [$/kW per month], 0 to MAX_DEMAND_CHARGE_USD_PER_KW
    demand_window_start_h, demand_window_end_h : int  Local clock hours the window starts (included)
        and ends (excluded) each day it covers, 0 ≤ start < end ≤ 24
    demand_window_weekdays_only : bool  The window covers Monday to Friday only
    demand_window_months : tuple[int, ...]  Calendar months (1–12) the window covers; empty = all
    off_peak_demand_charge_usd_per_kw : float  On the month's peak 15-minute average outside the
        window [$/kW per month], 0 to MAX_DEMAND_CHARGE_USD_PER_KW
    """

    hourly_price_usd_per_kwh: list[float] = field(default_factory=lambda: [0.12] * 24)
    demand_charge_usd_per_kw: float = 0.0
    demand_window_start_h: int = 0
    demand_window_end_h: int = 24
    demand_window_weekdays_only: bool = False
    demand_window_months: tuple[int, ...] = ()
    off_peak_demand_charge_usd_per_kw: float = 0.0

    def window_problem(self) -> str:
        """What is wrong with the demand window and the off-peak charge, naming the field ("" if nothing).

        The one rule the plan reader, the editors and the solver apply."""
        a, b = self.demand_window_start_h, self.demand_window_end_h
        for name, v in (("demand_window_start_h", a), ("demand_window_end_h", b)):
            if isinstance(v, bool) or not isinstance(v, int) and not (isinstance(v, float) and v.is_integer()):
                return f"{name} must be a whole hour, got {v!r}"
        if not 0 <= a < b <= 24:
            return (f"the demand window {a:g}:00–{b:g}:00 must start before it ends, within the day "
                    "(0 ≤ start < end ≤ 24)")
        if not isinstance(self.demand_window_weekdays_only, bool):
            return f"demand_window_weekdays_only must be true or false, got {self.demand_window_weekdays_only!r}"
        months = self.demand_window_months
        try:
            bad = [m for m in months if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12]
        except TypeError:
            return f"demand_window_months must be a list of months 1–12, got {months!r}"
        if bad:
            return f"demand_window_months must be months 1–12, got {bad[0]!r}"
        if len(set(months)) != len(months):
            return "demand_window_months lists a month twice"
        off = self.off_peak_demand_charge_usd_per_kw
        if isinstance(off, bool) or not isinstance(off, (int, float)) or not 0 <= off <= MAX_DEMAND_CHARGE_USD_PER_KW:
            return (f"off_peak_demand_charge_usd_per_kw must be 0 to {MAX_DEMAND_CHARGE_USD_PER_KW:g} $/kW, "
                    f"got {off!r}")
        return ""

    @property
    def window_is_whole_time(self) -> bool:
        """The window covers every instant (one demand charge at any hour: the pre-schema-3 rule)."""
        return window_covers_all_time(self.demand_window_start_h, self.demand_window_end_h,
                                      self.demand_window_weekdays_only, self.demand_window_months)


def window_covers_all_time(start_h: int, end_h: int, weekdays_only: bool, months) -> bool:
    """A demand window of hours ``[start_h, end_h)``, on weekdays only or every day, in ``months``
    (empty: all) covers every instant (one demand charge at any hour)."""
    return start_h == 0 and end_h == 24 and not weekdays_only and (not months or set(months) == set(range(1, 13)))


def parse_months(text: str) -> tuple[int, ...]:
    """Months typed as a list (``"5-10"``, ``"6, 7, 8"``, ``"all"`` or empty = every month) as a
    :attr:`Tariff.demand_window_months` tuple; :class:`ValueError` naming the bad part."""
    text = text.strip().lower()
    if text in ("", "all"):
        return ()
    out: list[int] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise ValueError(f"months: {part!r} is not a month 1-12 or a range like 5-10") from None
        if not (1 <= a <= 12 and 1 <= b <= 12 and a <= b):
            raise ValueError(f"months: {part!r} is not a month 1-12 or a range like 5-10")
        out.extend(m for m in range(a, b + 1) if m not in out)
    return () if sorted(out) == list(range(1, 13)) else tuple(sorted(out))


def months_text(months) -> str:
    """``(5, 6, 7, 8, 9, 10)`` -> ``"5-10"``; empty -> ``"all"`` (what :func:`parse_months` reads)."""
    ms = sorted(set(months))
    if not ms:
        return "all"
    runs, start = [], ms[0]
    for a, b in zip(ms, ms[1:] + [None]):
        if b != a + 1:
            runs.append(f"{start}" if start == a else f"{start}-{a}")
            start = b
    return ", ".join(runs)


@dataclass
class Scenario:
    """What to simulate.

    start : datetime  Local (site time zone) start, naive
    horizon_s : float  Simulated time [s]
    step_s : float  Integrator time step [s]
    weather_file : str  EPW file (relative to the assets folder or absolute)
    load : str  ``jobs`` (from the job list) or ``full`` (continuous full load)
    control : str  ``reactive`` or ``predictive``
    """

    name: str
    start: datetime
    horizon_s: float = 86400.0
    step_s: float = DEFAULT_STEP_S
    weather_file: str = ""
    tariff: Tariff = field(default_factory=Tariff)
    load: str = "jobs"
    control: str = "reactive"


@dataclass
class Plan:
    """A whole plan: everything one ``.dcplan`` file holds."""

    site: Site = field(default_factory=Site)
    halls: list[Hall] = field(default_factory=list)
    server_types: list[ServerType] = field(default_factory=list)
    racks: list[Rack] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)
    cooling_loops: list[CoolingLoop] = field(default_factory=list)
    cooling_units: list[CoolingUnit] = field(default_factory=list)
    power_feeds: list[PowerFeed] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)

    def server_type_map(self) -> dict[str, ServerType]:
        return {t.key: t for t in self.server_types}

    def rack_map(self) -> dict[str, Rack]:
        return {r.name: r for r in self.racks}

    def servers_by_rack(self) -> dict[str, list[Server]]:
        out: dict[str, list[Server]] = {r.name: [] for r in self.racks}
        for s in self.servers:
            out.setdefault(s.rack, []).append(s)
        return out

    def rack_max_power_kw(self) -> dict[str, float]:
        """IT power of each rack with every server at max power [kW]."""
        types = self.server_type_map()
        out = {r.name: 0.0 for r in self.racks}
        for s in self.servers:
            t = types.get(s.server_type)
            if t is not None and s.rack in out:
                out[s.rack] += t.max_power_w / 1000.0
        return out
