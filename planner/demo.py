"""The bundled demo: an AI data hall in Phoenix, AZ, and the same design scaled to N racks.

One *pod* is the unit of the design (and the whole default demo):

* four rows of six air-cooled racks, each with 4 x NVIDIA DGX H100 (40.8 kW per rack),
  arranged front-to-front across cold aisles and back-to-back across hot aisles;
* two rows of four liquid-cooled NVIDIA GB200 NVL72 racks (132 kW, ~85 % of heat to liquid),
  facing each other across a cold aisle: 576 of the pod's 1,344 GPUs are liquid cooled, as in
  halls built for Blackwell-generation systems;
* ten perimeter chilled-water CRAHs (air loop) and two CDUs (technology cooling loop).

Heat leaves the building through two plant loops shared by all pods: air-cooled chillers
for the CRAH chilled water and dry coolers for the CDU facility water. Plant is sized the way
a real project sized it for a *typical* Phoenix summer, not for the ASHRAE 0.4 % design day
(43.4 °C): see ``PLANT_SIZING`` and the comments there.

Floor coordinates follow ``planner.plan``: x to the right (east), y down (south), metres,
rack positions at footprint centres aligned to 0.6 m tiles.
"""
from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import datetime

from planner.assets import PHOENIX_EPW
from planner.catalog import load_catalog
from planner.plan import (
    CoolingLoop,
    CoolingUnit,
    Hall,
    Job,
    Plan,
    PowerFeed,
    Rack,
    Scenario,
    Server,
    ServerType,
    Site,
    Tariff,
)

__all__ = ["build_demo_plan", "pod_design_loads", "PLANT_SIZING", "POD_RACKS", "DEMO_WEEK_START", "DEMO_HOT_DAY"]

AIR_ROWS = ("A", "B", "C", "D")
LIQUID_ROWS = ("E", "F")
RACKS_PER_AIR_ROW = 6
RACKS_PER_LIQUID_ROW = 4
POD_RACKS = len(AIR_ROWS) * RACKS_PER_AIR_ROW + len(LIQUID_ROWS) * RACKS_PER_LIQUID_ROW  # 32

AIR_SERVER = "nvidia-dgx-h100"
LIQUID_SERVER = "nvidia-gb200-nvl72"
DGX_U_POSITIONS = (5, 14, 23, 32)  # 4 x 8U with a 1U gap between systems for cabling/airflow

# Pod geometry [m]. Tile = 0.6 m; all offsets are whole tiles.
TILE = 0.6
POD_WIDTH = 8.4           # 14 tiles: west CRAH zone, 6 racks, east CRAH zone
POD_DEPTH = 18.0          # 30 tiles
RACK_X0 = 2.4             # west edge of the first rack in a row
# (row label, centre y, front faces) - cold aisles are 1.8 m (3 tiles), hot aisles 1.2 m (2 tiles)
ROW_LAYOUT = (("A", 1.8, "S"), ("B", 4.8, "N"), ("C", 7.2, "S"), ("D", 10.2, "N"), ("E", 12.6, "S"),
              ("F", 15.6, "N"))

# Hottest July week (highest mean dry bulb, starting 2 July) and hottest July day (16 July,
# 44.4 °C max, 30.0 °C min) of the bundled Phoenix TMY3 file; tests check these against
# planner.weather. TMY3 mixes years, so the calendar year is nominal.
DEMO_WEEK_START = datetime(2025, 7, 2)
DEMO_HOT_DAY = datetime(2025, 7, 16)

#: Plant choices of one pod. Unit *capacities* are not listed: ``pod_design_loads`` derives them
#: from the pod's design heat with the selection rule below, so changing the rack mix resizes the
#: plant the way a designer would.
PLANT_SIZING = {
    # Air-cooled chillers selected for a *typical* summer, not the ASHRAE 0.4 % design day (43.4 °C
    # for Phoenix): N units, no spare, together delivering the pod's design air-side heat at the
    # AHRI 550/590 rating air temperature, 35 °C, with the plant's 15 °C leaving water. With the
    # reference air-cooled chiller's capacity curve (ASHRAE 90.1 Appendix J, docs/physics.md), a
    # 44.4 °C afternoon leaves 0.87 of that; the curve gains ~1 %/K of warmer water only up to its
    # 16 °C limit, so the chilled water floats up and the CRAHs' supply air with it.
    "chillers_per_pod": 3,
    "chilled_water_setpoint_c": 15.0,
    # Facility water is ASHRAE class W40 (supply <= 40 °C; 2021 Thermal Guidelines), which dry
    # coolers make without evaporation through a typical summer. Selected like the chillers: N units
    # for the design liquid-side heat at 35 °C entering air with a 5 K approach (leaving water − dry
    # bulb at rated load, within the 5–8 K of dry-cooler selections): they hold 40 °C up to 35 °C
    # outdoors at full load; above that the water runs at dry bulb + 5 K x load/rated.
    "dry_coolers_per_pod": 4,
    "dry_cooler_approach_k": 5.0,
    "facility_water_setpoint_c": 40.0,
    # Water-side economiser on the chilled water: dry coolers in series on the chilled-water return,
    # ahead of the chillers (integrated free cooling). Sized like the ASHRAE 90.1 §6.5.1.2 water
    # economiser requirement (100 % of the expected cooling load at 50 °F / 10 °C dry bulb or below):
    # the pod's design air-side heat at 10 °C entering air and a 5 K approach to the 15 °C chilled
    # water, with the chilled water's own flow (no flow of their own: they sit in the chillers'
    # return). Below ~10 °C they carry the hall alone and the chillers stop; up to the return (~21 °C)
    # they carry part of it.
    "economiser_dry_coolers_per_pod": 2,
    "economiser_outdoor_c": 10.0,
    "economiser_approach_k": 5.0,
    # Ten 150 kW perimeter CRAHs (five a side) = 1,500 kW of coil for ~1,200 kW of air-side heat:
    # in-room units are usually N+1 or better, unlike the plant sized above.
    "crahs_per_pod": 10,
    "crah_rated_kw": 150.0,
    "crah_supply_setpoint_c": 22.0,
    # One 800 kW CDU per liquid row (~449 kW each): a liquid-to-liquid CDU cannot supply the racks
    # at the facility-water temperature: its plate exchanger needs an approach (secondary supply −
    # facility supply), typically 2–5 K at rated flow in vendor CDU datasheets (estimate). 3 K on
    # W40 water gives a 43 °C technology loop, inside NVIDIA's 45 °C warm-water rack inlet.
    "cdus_per_pod": 2,
    "cdu_rated_kw": 800.0,
    "cdu_supply_setpoint_c": 43.0,
    "cdu_approach_k": 3.0,
}


def pod_design_loads(air_t: ServerType, liq_t: ServerType, crah_t: CoolingUnit, cdu_t: CoolingUnit,
                     chiller_t: CoolingUnit) -> dict[str, float]:
    """Design heat of one full pod at max IT power [kW] and the plant capacities it selects.

    air_kw = DGX heat + GB200 air-side heat + CRAH fan heat, grossed up for the chilled-water pumps
    (their heat goes into the water; pump power ∝ duty, catalog ratio); liquid_kw = GB200 liquid-side
    heat + CDU pump heat. Chiller and dry-cooler rated capacities = design heat / N units.
    """
    s = PLANT_SIZING
    n_air = len(AIR_ROWS) * RACKS_PER_AIR_ROW
    n_liq = len(LIQUID_ROWS) * RACKS_PER_LIQUID_ROW
    it_air = n_air * len(DGX_U_POSITIONS) * air_t.max_power_w / 1000 * (1 - air_t.liquid_fraction)
    it_air += n_liq * liq_t.max_power_w / 1000 * (1 - liq_t.liquid_fraction)
    pump_fraction = chiller_t.rated_power_kw / chiller_t.rated_capacity_kw
    air_kw = (it_air + s["crahs_per_pod"] * crah_t.rated_power_kw) / (1 - pump_fraction)
    liquid_kw = n_liq * liq_t.max_power_w / 1000 * liq_t.liquid_fraction + s["cdus_per_pod"] * cdu_t.rated_power_kw
    return {"air_kw": air_kw, "liquid_kw": liquid_kw,
            "chiller_rated_kw": math.ceil(air_kw / s["chillers_per_pod"]),
            "dry_cooler_rated_kw": math.ceil(liquid_kw / s["dry_coolers_per_pod"])}


AIR_RACK_BUDGET_KW = 48.0
LIQUID_RACK_BUDGET_KW = 150.0


def _pod_grid(n_pods: int) -> int:
    """Pods per grid row: roughly square hall."""
    return max(1, math.ceil(math.sqrt(n_pods * POD_DEPTH / POD_WIDTH)))


def _pod_rack_slots() -> list[tuple[str, int, float, float, str, bool]]:
    """(row, index, x, y, orientation, liquid) for every rack slot of one pod, in fill order."""
    slots = []
    for row, y, facing in ROW_LAYOUT:
        liquid = row in LIQUID_ROWS
        n = RACKS_PER_LIQUID_ROW if liquid else RACKS_PER_AIR_ROW
        for i in range(n):
            slots.append((row, i + 1, RACK_X0 + TILE / 2 + i * TILE, y, facing, liquid))
    return slots


def _unit(template: CoolingUnit, **changes) -> CoolingUnit:
    return replace(template, **changes)


def _plant_units(template: CoolingUnit, prefix: str, loop: str, count: int, rated_kw: float,
                 **changes) -> list[CoolingUnit]:
    """``count`` copies of a plant unit rated ``rated_kw`` [kW], named ``PREFIX-01``…

    Flow, pump/fan power and loop volume scale with the unit's duty (catalog figures are per kW
    of duty at the catalog's water rise), so transit time = volume / flow stays the catalog's.
    """
    f = rated_kw / template.rated_capacity_kw
    return [_unit(template, name=f"{prefix}-{k + 1:02d}", loop=loop, rated_capacity_kw=rated_kw,
                  model=template.name, flow_m3s=template.flow_m3s * f,
                  loop_volume_m3=template.loop_volume_m3 * f, rated_power_kw=template.rated_power_kw * f,
                  **changes)
            for k in range(count)]


def build_demo_plan(n_racks: int | None = None) -> Plan:
    """Build the Phoenix AI hall demo.

    n_racks : int | None  Total racks; ``None`` gives the default single pod (32 racks).
        Larger numbers add whole pods (the last one partly filled) with plant in proportion.
    """
    if n_racks is None:
        n_racks = POD_RACKS
    if n_racks < 1:
        raise ValueError("n_racks must be at least 1")
    cat = load_catalog()
    air_t = cat.server_type(AIR_SERVER)
    liq_t = cat.server_type(LIQUID_SERVER)
    crah_t = cat.cooling_unit("Chilled-water CRAH 150 kW")
    cdu_t = cat.cooling_unit("In-row CDU 800 kW")
    chiller_t = cat.cooling_unit("Air-cooled screw chiller 1000 kW")
    dry_t = cat.cooling_unit("Dry cooler 600 kW")

    n_pods = math.ceil(n_racks / POD_RACKS)
    per_line = _pod_grid(n_pods)
    n_lines = math.ceil(n_pods / per_line)
    hall = Hall(
        name="Hall 1",
        width_m=round(POD_WIDTH * min(per_line, n_pods), 6),
        depth_m=round(POD_DEPTH * n_lines, 6),
        tile_m=TILE,
        containment="none",
    )
    plan = Plan(
        site=Site(name="Phoenix AI Campus", latitude=33.45, longitude=-111.98,
                  timezone="America/Phoenix", elevation_m=337.0),
        halls=[hall],
        server_types=[air_t, liq_t],
        cooling_loops=[
            CoolingLoop("CHW", "facility", None),
            CoolingLoop("FWS", "facility", None),
        ],
    )
    s = dict(PLANT_SIZING, **pod_design_loads(air_t, liq_t, crah_t, cdu_t, chiller_t))
    slots = _pod_rack_slots()
    placed = 0
    multi = n_pods > 1
    for p in range(n_pods):
        ox = (p % per_line) * POD_WIDTH
        oy = (p // per_line) * POD_DEPTH
        tag = f"P{p + 1:03d}-" if multi else ""
        air_loop, liq_loop = f"{tag}AIR", f"{tag}TCS"
        plan.cooling_loops += [CoolingLoop(air_loop, "air", "CHW"), CoolingLoop(liq_loop, "liquid", "FWS")]
        for k in range(s["crahs_per_pod"]):
            west = k < s["crahs_per_pod"] // 2
            j = k % (s["crahs_per_pod"] // 2)
            plan.cooling_units.append(_unit(
                crah_t, name=f"{tag}CRAH-{k + 1:02d}", loop=air_loop, hall=hall.name,
                rated_capacity_kw=s["crah_rated_kw"], supply_setpoint_c=s["crah_supply_setpoint_c"],
                x_m=ox + (0.9 if west else POD_WIDTH - 0.9), y_m=oy + 2.4 + 3.0 * j,
                model=crah_t.name))
        for k in range(s["cdus_per_pod"]):
            plan.cooling_units.append(_unit(
                cdu_t, name=f"{tag}CDU-{k + 1:02d}", loop=liq_loop, hall=hall.name,
                rated_capacity_kw=s["cdu_rated_kw"], supply_setpoint_c=s["cdu_supply_setpoint_c"],
                approach_k=s["cdu_approach_k"], x_m=ox + RACK_X0 + RACKS_PER_LIQUID_ROW * TILE + 0.9,
                y_m=oy + ROW_LAYOUT[len(AIR_ROWS) + k % len(LIQUID_ROWS)][1], model=cdu_t.name))
        for row, i, x, y, facing, liquid in slots:
            if placed >= n_racks:
                break
            placed += 1
            name = f"{tag}{row}{i:02d}"
            feed_kw_a = PowerFeed(name=f"{name}-A", panel=f"{tag}PDU-{row}-A", amperage=250 if liquid else 80,
                                  redundancy_group=name, side="A")
            feed_kw_b = replace(feed_kw_a, name=f"{name}-B", panel=f"{tag}PDU-{row}-B", side="B")
            plan.power_feeds += [feed_kw_a, feed_kw_b]
            plan.racks.append(Rack(
                name=name, hall=hall.name, row=f"{tag}{row}", x_m=round(ox + x, 6), y_m=round(oy + y, 6),
                orientation=facing, u_height=48 if liquid else 42,
                power_budget_kw=LIQUID_RACK_BUDGET_KW if liquid else AIR_RACK_BUDGET_KW,
                max_weight_kg=1800.0 if liquid else 1360.0,
                cooling_type="hybrid" if liquid else "air",
                air_loop=air_loop, liquid_loop=liq_loop if liquid else None,
                feed_a=feed_kw_a.name, feed_b=feed_kw_b.name))
            if liquid:
                plan.servers.append(Server(f"{name}-NVL72", name, liq_t.key, 1))
            else:
                for n, u in enumerate(DGX_U_POSITIONS):
                    plan.servers.append(Server(f"{name}-DGX{n + 1}", name, air_t.key, u))
    plan.cooling_units += _plant_units(chiller_t, "CH", "CHW", s["chillers_per_pod"] * n_pods,
                                       s["chiller_rated_kw"], supply_setpoint_c=s["chilled_water_setpoint_c"])
    plan.cooling_units += _plant_units(dry_t, "DC", "FWS", s["dry_coolers_per_pod"] * n_pods,
                                       s["dry_cooler_rated_kw"], supply_setpoint_c=s["facility_water_setpoint_c"],
                                       approach_k=s["dry_cooler_approach_k"])
    econ_kw = math.ceil(s["air_kw"] / s["economiser_dry_coolers_per_pod"])
    plan.cooling_units += [replace(u, flow_m3s=0.0, rated_outdoor_c=s["economiser_outdoor_c"])
                           for u in _plant_units(dry_t, "ECO", "CHW", s["economiser_dry_coolers_per_pod"] * n_pods,
                                                 econ_kw, supply_setpoint_c=s["chilled_water_setpoint_c"],
                                                 approach_k=s["economiser_approach_k"])]
    n_gpus = sum(air_t.gpu_count if r.cooling_type == "air" else liq_t.gpu_count for r in plan.racks)
    plan.jobs = demo_week_jobs(n_gpus)
    plan.scenarios = demo_scenarios()
    return plan


#: A real rate for the demo's site, a choice beside the demo's default (:func:`demo_tariff`): APS
#: (Arizona Public Service, Phoenix) rate schedule E-32 TOU L, large general service time-of-use
#: (customers of 400 kW and more), summer. Structure from APS's own page
#: (aps.com, Business > Service plans > Compare service plans): time-of-use business plans bill energy
#: by time of day plus "two monthly demand charges — one for the highest 15-minute period of usage
#: during on-peak hours and one for the highest 15-minute period of usage during off-peak hours";
#: summer rates on the May–October billing cycles. Figures: energymanager.ai's APS rate guide
#: (https://energymanager.ai/rates/arizona-public-service-aps; rates of ACC Decision No. 79293,
#: effective 8 March 2024): on-peak energy $0.07741/kWh, off-peak $0.06334/kWh, on-peak demand
#: $18.941/kW — a secondary source: APS's rate sheet itself (e-32TOUL.pdf) and its OpenEI URDB entry
#: were not reachable with this project's search tools, so the dollar figures are unverified against
#: it. The on-peak period, 3–8 p.m. Monday–Friday, and the 15-minute demand interval of commercial
#: customers: APS's Director of Rates & Rate Strategy, Leland Snook (Public Utilities Fortnightly,
#: May 2019, https://fortnightly.com/fortnightly/2019/05/leland-snook-aps-director-rates-rate-strategy).
#: The off-peak demand charge is an ESTIMATE (APS's figure not found): $18.941 × SRP's published ratio
#: of its business TOU off-peak to summer-peak on-peak demand charge, $1.05 / $6.99 (srpnet.com,
#: Business Time-of-Use Price Plan E-32) = $2.85/kW. Not modelled: the six utility holidays billed
#: off-peak, APS's basic service charge ($/day), the weekday-only energy band (dcplan's 24 hourly
#: prices apply every day, so weekend afternoons are billed at the on-peak energy price), the winter
#: season (the summer rate applies all year).
DEMO_ON_PEAK_HOURS = (15, 20)


def demo_tariff() -> Tariff:
    """The demo scenarios' tariff: an illustrative summer time-of-use rate modelled on Arizona utilities'
    large-customer TOU plans (on-peak 16:00–19:00, shoulders 14:00–16:00 and 19:00–21:00; one demand
    charge on the month's peak at any hour) — an ESTIMATE, not a published rate. The published APS rate
    is :func:`aps_e32_tou_l_tariff` (``dcplan study night-shift --tariff aps-e32-tou-l``)."""
    prices = [0.065] * 24
    for h in range(16, 19):
        prices[h] = 0.21
    for h in (14, 15, 19, 20):
        prices[h] = 0.11
    return Tariff(hourly_price_usd_per_kwh=prices, demand_charge_usd_per_kw=18.0)


def aps_e32_tou_l_tariff() -> Tariff:
    """APS E-32 TOU L, summer (:data:`DEMO_ON_PEAK_HOURS`; sources and estimates above)."""
    start, end = DEMO_ON_PEAK_HOURS
    prices = [0.06334] * 24
    for h in range(start, end):
        prices[h] = 0.07741
    return Tariff(hourly_price_usd_per_kwh=prices, demand_charge_usd_per_kw=18.941,
                  demand_window_start_h=start, demand_window_end_h=end, demand_window_weekdays_only=True,
                  off_peak_demand_charge_usd_per_kw=2.85)


#: Tariffs a study can run the demo under, by name (``--tariff``).
DEMO_TARIFFS = {"demo": demo_tariff, "aps-e32-tou-l": aps_e32_tou_l_tariff}


def demo_scenarios() -> list[Scenario]:
    """The demo's scenarios: a week of jobs, and the full-load hottest-day stress case.

    (The same hall under Minneapolis weather is ``dcplan study phoenix``'s comparison: it needs the
    site moved to Minneapolis's time zone too, which a scenario cannot express.)
    """
    tariff = demo_tariff()
    return [
        Scenario(name="Hottest July week (jobs)", start=DEMO_WEEK_START, horizon_s=7 * 86400.0,
                 step_s=10.0, weather_file=PHOENIX_EPW, tariff=tariff, load="jobs", control="reactive"),
        Scenario(name="Hottest July day, full load", start=DEMO_HOT_DAY, horizon_s=86400.0,
                 step_s=10.0, weather_file=PHOENIX_EPW, tariff=tariff, load="full", control="reactive"),
    ]


def demo_week_jobs(n_gpus: int, seed: int = 2025) -> list[Job]:
    """A deterministic week of AI jobs filling roughly 85 % of ``n_gpus`` on average.

    Mix (shape, not trace-derived): large pre-training runs (128-512 GPUs, 12-48 h),
    fine-tuning (16-64 GPUs, 1-8 h), always-on inference services (about 15 % of GPUs at
    45 % utilisation) and short evaluation jobs. Release/deadline windows give the
    scheduler room to move flexible work.
    """
    rng = random.Random(seed)
    week = 7 * 86400.0
    jobs: list[Job] = []
    infer_gpus = max(8, int(0.15 * n_gpus) // 8 * 8)
    jobs.append(Job("inference-serving", infer_gpus, utilization=0.45, duration_s=week, release_s=0.0,
                    deadline_s=week, preemptible=False, priority=10, kind="inference", start_s=0.0))
    budget = 0.85 * n_gpus * week - infer_gpus * week
    used = 0.0
    k = 0
    while used < budget:
        k += 1
        r = rng.random()
        if r < 0.25:
            gpus = rng.choice((128, 256, 384, 512))
            dur = rng.uniform(12, 48) * 3600
            kind, util, prio, pre = "training", rng.uniform(0.85, 0.97), 5, False
            name = f"pretrain-{k:03d}"
        elif r < 0.7:
            gpus = rng.choice((16, 32, 64))
            dur = rng.uniform(1, 8) * 3600
            kind, util, prio, pre = "training", rng.uniform(0.75, 0.95), 3, True
            name = f"finetune-{k:03d}"
        else:
            gpus = rng.choice((8, 16))
            dur = rng.uniform(0.5, 3) * 3600
            kind, util, prio, pre = "batch", rng.uniform(0.5, 0.9), 1, True
            name = f"eval-{k:03d}"
        gpus = min(gpus, max(8, (n_gpus - infer_gpus) // 8 * 8))
        release = rng.uniform(0, week - dur) if dur < week else 0.0
        slack = rng.uniform(1.5, 3.0)
        deadline = min(week, release + dur * slack)
        if deadline - release < dur:
            deadline = release + dur
        jobs.append(Job(name, gpus, utilization=round(util, 3), duration_s=round(dur), release_s=round(release),
                        deadline_s=round(deadline), preemptible=pre, priority=prio, kind=kind))
        used += gpus * dur
    return jobs
