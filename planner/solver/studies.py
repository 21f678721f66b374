"""The seed stories as bundled studies: ``phoenix``, ``pump-lag`` and ``cost``.

Each returns a JSON-ready dict of its figures; ``dcplan study NAME [--json]`` prints them.
Nothing here is special-cased in the physics: studies only choose inputs (plan, weather, dates,
control mode) and read results.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from ..assets import MINNEAPOLIS_EPW, PHOENIX_EPW
from ..plan import (CoolingLoop, CoolingUnit, Hall, Job, Plan, Rack, Scenario, Server, ServerType, Site,
                    Tariff)
from .errors import SolverInputError
from .examples import liquid_burst_plan
from .run import simulate

STUDIES = ("phoenix", "pump-lag", "cost")


def run_study(name: str, progress=None) -> dict:
    """Run the bundled study ``name`` (one of :data:`STUDIES`) and return its figures."""
    if name == "phoenix":
        return phoenix_study(progress=progress)
    if name == "pump-lag":
        return pump_lag_study(progress=progress)
    if name == "cost":
        return cost_study(progress=progress)
    raise SolverInputError(f"unknown study {name!r}; choose one of {', '.join(STUDIES)}")


# ----------------------------------------------------------------------------- seed story 1

def _window_stats(res, day_start_s: float, h0: float, h1: float) -> dict:
    """Throttled-fraction figures for local hours [h0, h1) of the day starting ``day_start_s``."""
    t = res.time_s - day_start_s
    sel = (t >= h0 * 3600) & (t < h1 * 3600)
    frac = res.throttled_fraction[sel]
    return {"max_throttled_fraction": float(frac.max()) if frac.size else 0.0,
            "throttled_gpu_hours": float(frac.sum() * res.gpus * 60.0 / 3600.0)}


#: The cities of the Phoenix story: bundled EPW file and the IANA zone of the site's wall clock (the
#: EPW's LOCATION line gives coordinates and standard time only; "14:00–18:00" is local time with DST).
PHOENIX_CITIES = {
    "phoenix": (PHOENIX_EPW, "America/Phoenix"),
    "minneapolis": (MINNEAPOLIS_EPW, "America/Chicago"),
    "dallas": ("USA_TX_Dallas-Fort.Worth.Intl.AP.722590_TMY3.epw", "America/Chicago"),
    "las_vegas": ("USA_NV_Las.Vegas-McCarran.Intl.AP.723860_TMY3.epw", "America/Los_Angeles"),
}


def design_day_summary(plan: Plan, weather) -> dict:
    """The plan's design-day check (:func:`planner.checks.check_plan`) at ``weather`` as plain data:
    design dry bulb, every plant loop's load / capacity / shortfall there [kW], and the messages."""
    from ..checks import ERROR, _design_for, check_plan, plant_at_condition
    design, _ = _design_for(plan, weather)
    if design is None:
        return {"design_dry_bulb_c": None, "loops": {}, "errors": []}
    loops = {x.loop: {"load_kw": x.load_kw, "capacity_kw": x.capacity_kw, "shortfall_kw": x.shortfall_kw,
                      "capacity_n1_kw": x.capacity_n1_kw, "redundant": x.capacity_n1_kw >= x.load_kw}
             for x in plant_at_condition(plan, design.dry_bulb_c, design.wet_bulb_c)}
    problems = check_plan(plan, design)
    return {"design_dry_bulb_c": design.dry_bulb_c, "design_wet_bulb_c": design.wet_bulb_c, "loops": loops,
            "errors": [p.message for p in problems if p.severity == ERROR and p.code == "loop-design-day"]}


def phoenix_study(step_s: float = 10.0, progress=None, cities=tuple(PHOENIX_CITIES)) -> dict:
    """Demo hall at continuous full load through each city's *own* hottest July day.

    Phoenix, Minneapolis, Dallas and Las Vegas: for each, the hall is built on that site (EPW
    coordinates and elevation, the city's IANA clock) and run from the day before its EPW's hottest
    July day (:func:`planner.weather.hottest_day`; the extra day spins the plant up from its
    setpoints so the night inherits the previous afternoon), reporting that day: throttled fraction
    by hour, the 14:00–18:00 and 02:00–06:00 windows, throttled and lost GPU-hours, and the
    city's design-day check (:func:`design_day_summary`).
    """
    from ..demo import DEMO_HOT_DAY, build_demo_plan
    from ..weather import hottest_day, load_weather
    plan = build_demo_plan()
    out: dict = {"day": DEMO_HOT_DAY.date().isoformat(), "step_s": step_s, "cities": list(cities)}
    n = len(cities)
    for i, city in enumerate(cities):
        epw_name, zone = PHOENIX_CITIES[city]
        epw = load_weather(epw_name)
        month, day = hottest_day(epw, month=7)
        hot = datetime(DEMO_HOT_DAY.year, month, day)
        h = epw.header
        site = Site(name=f"{h.city} AI Campus", latitude=h.latitude, longitude=h.longitude, timezone=zone,
                    elevation_m=h.elevation_m)
        sc = Scenario(name=f"full load, {city}", start=hot - timedelta(days=1), horizon_s=2 * 86400.0, step_s=step_s,
                      weather_file=epw_name, load="full", control="reactive")
        sub = None if progress is None else (lambda f, i=i: progress((i + f) / n))
        city_plan = replace(plan, site=site, scenarios=[sc])
        res = simulate(city_plan, sc, step_s=step_s, progress=sub)
        day0 = 86400.0
        t = res.time_s - day0
        on_day = t >= 0
        hourly = [float(res.throttled_fraction[on_day & (t >= h_ * 3600) & (t < (h_ + 1) * 3600)].max())
                  for h_ in range(24)]
        amb = [float(res.ambient_c[on_day & (t >= h_ * 3600) & (t < (h_ + 1) * 3600)].max()) for h_ in range(24)]
        whole = _window_stats(res, day0, 0, 24)
        out[city] = {
            "day": hot.date().isoformat(),
            "weather_file": epw_name,
            "afternoon_14_18": _window_stats(res, day0, 14, 18),
            "night_02_06": _window_stats(res, day0, 2, 6),
            "throttled_gpu_hours_day": whole["throttled_gpu_hours"],
            "max_ambient_c": max(amb),
            "max_gpu_temp_c": float(res.max_gpu_temp_c_series[on_day].max()),
            "max_supply_temp_c": float(res.supply_temp_c[on_day].max()),
            "hourly_max_throttled_fraction": hourly,
            "hourly_max_ambient_c": amb,
            "gpus": res.gpus,
            "design_day": design_day_summary(city_plan, epw_name),
            "wall_time_s": res.wall_time_s,
        }
    if "phoenix" in out and "minneapolis" in out:
        ph, mn = out["phoenix"]["throttled_gpu_hours_day"], out["minneapolis"]["throttled_gpu_hours_day"]
        # None when Minneapolis has no throttling at all (the ratio is unbounded)
        out["ratio_phoenix_to_minneapolis"] = (ph / mn) if mn > 0 else None
    return out


# ----------------------------------------------------------------------------- seed story 2

#: Technology-cooling (CDU) supply of the pump-lag study's headline [°C]: NVIDIA's 45 °C warm-water
#: rack-inlet limit (the catalog's GB200 calibration anchor), the setpoint a chiller-free hall runs at.
PUMP_LAG_SUPPLY_C = 45.0
#: The same sweep at the catalog's design supply (W40 facility water + 3 K CDU approach) [°C].
PUMP_LAG_COMPARE_SUPPLY_C = 43.0
PUMP_LAG_LAGS_S = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0)


def _lag_sweep(lags_s, tcs_supply_c: float, step_s: float, outdoor_c: float, on_lag_done=None) -> list[dict]:
    """Reactive and predictive runs of :func:`.examples.liquid_burst_plan` for every lag in ``lags_s``;
    ``on_lag_done()`` is called after each lag."""
    from .model import compile_model
    sweep = []
    for lag in lags_s:
        plan = liquid_burst_plan(lag_s=lag, tcs_supply_c=tcs_supply_c)
        sc = plan.scenarios[0]
        model = compile_model(plan, sc, sc.horizon_s)
        cdu = plan.cooling_loops[0].name
        k = model.loop_names.index(cdu)
        row = {"lag_s": lag, "total_lag_s": float(model.loop_tau[k] + model.loop_dead[k])}
        for mode in ("reactive", "predictive"):
            res = simulate(plan, weather=outdoor_c, control=mode, step_s=step_s)
            row[f"{mode}_events"] = res.throttle_events
            row[f"{mode}_throttled_gpus"] = res.throttled_gpus
            row[f"{mode}_throttled_gpu_hours"] = res.throttled_gpu_hours
            row[f"{mode}_max_gpu_temp_c"] = res.max_gpu_temp_c
            row[f"{mode}_max_supply_temp_c"] = float(res.loop_supply_c[:, res.loop_names.index(cdu)].max())
            row[f"{mode}_max_throttled_fraction"] = res.max_throttled_fraction
        r, p = row["reactive_events"], row["predictive_events"]
        row["reduction"] = (1.0 - p / r) if r > 0 else None
        row["gap_max_gpu_temp_k"] = row["reactive_max_gpu_temp_c"] - row["predictive_max_gpu_temp_c"]
        sweep.append(row)
        if on_lag_done is not None:
            on_lag_done()
    return sweep


def pump_lag_study(lags_s=PUMP_LAG_LAGS_S, step_s: float = 2.0, outdoor_c: float = 35.0,
                   tcs_supply_c: float = PUMP_LAG_SUPPLY_C,
                   compare_supply_c: float | None = PUMP_LAG_COMPARE_SUPPLY_C, progress=None) -> dict:
    """A GB200 rack pair's training job on a CDU loop with a total actuator lag: reactive vs predictive.

    Each lag runs the same plan (:func:`.examples.liquid_burst_plan`: idle, then a training job with
    its start-up, 6 s iterations and checkpoint stalls) both ways at ``outdoor_c`` (the plant's rating
    point, so the facility water can hold its setpoint and the CDU's lag is what is studied) and counts
    throttle events (per GPU, above the 89 °C slowdown).

    The headline runs the technology loop at ``tcs_supply_c`` = NVIDIA's 45 °C warm-water limit, where
    the GPUs' steady full-load temperature is max operating 87 °C (the catalog calibration): 2 K of
    margin that the loop's lag may or may not eat. ``compare_supply_c`` (None: skip) repeats the sweep
    at the catalog's 43 °C design supply to show what 2 K of extra margin buys.
    ``total_lag_s`` is τ + dead time + transit as compiled (the transit V/V̇ ≈ 16 s is the floor of the
    0 s point). The headline is the ~90 s lag of the seed story; ``reduction`` is
    1 − predictive / reactive events (None without reactive events).

    lags_s : sequence  Total CDU lags to sweep [s]
    step_s : float  Integrator step [s] (2 s resolves the 6 s iterations)
    outdoor_c : float  Constant outdoor dry bulb [°C]
    tcs_supply_c, compare_supply_c : float  CDU supply setpoints of the headline / comparison [°C]
    progress : callable(fraction) or None
    """
    runs = [tcs_supply_c] + ([compare_supply_c] if compare_supply_c is not None else [])
    total = len(lags_s) * len(runs)
    done = [0]

    def tick():
        done[0] += 1
        if progress is not None:
            progress(done[0] / total)

    sweeps = [_lag_sweep(lags_s, sup, step_s, outdoor_c, tick) for sup in runs]
    sweep = sweeps[0]
    head = min(sweep, key=lambda r: abs(r["lag_s"] - 90.0))
    plan = liquid_burst_plan()
    types = {t.key: t for t in plan.server_types}
    out = {"lag_s": head["lag_s"], "total_lag_s": head["total_lag_s"], "outdoor_c": outdoor_c,
           "tcs_supply_c": tcs_supply_c, "step_s": step_s,
           "reactive_events": head["reactive_events"], "predictive_events": head["predictive_events"],
           "reduction": head["reduction"],
           "reactive_throttled_gpus": head["reactive_throttled_gpus"],
           "predictive_throttled_gpus": head["predictive_throttled_gpus"],
           "reactive_throttled_gpu_hours": head["reactive_throttled_gpu_hours"],
           "predictive_throttled_gpu_hours": head["predictive_throttled_gpu_hours"],
           "gpu_slowdown_c": float(plan.server_types[0].gpu_slowdown_c),
           "gpus": sum(types[s.server_type].gpu_count for s in plan.servers),
           "sweep": sweep}
    if compare_supply_c is not None:
        out["comparison"] = {"tcs_supply_c": compare_supply_c, "sweep": sweeps[1]}
    return out


# ----------------------------------------------------------------------------- seed story 3

#: The seed story's check figure: $60,000 a year at $0.12/kWh is 500 MWh, 57.1 kW on average: 571 W
#: per node for 100 nodes at 70 % utilisation (docs/physics.md, "Energy and cost").
COST_NODE_MEAN_W = 60000.0 / 0.12 / 8760.0 * 1000.0 / 100.0
COST_UTILIZATION = 0.7


def catalog_idle_fraction() -> float:
    """Idle / max power of the catalog's server types [-] (the median; every type is 25 %, the catalog's
    *estimate*), so a generic node idles as the catalog's nodes do, not at 0 W."""
    from ..catalog import load_catalog
    fr = sorted(t.idle_power_w / t.max_power_w for t in load_catalog().server_types if t.max_power_w > 0)
    return fr[len(fr) // 2]


def cost_plan(idle_fraction: float | None = None) -> Plan:
    """100 nodes running a flat 70 % utilisation batch load all year, on CRAHs and an air-cooled chiller.

    The node idles at ``idle_fraction`` of its max power — by default the catalog's
    (:func:`catalog_idle_fraction`, 25 %) — and peaks where 70 % utilisation averages the story's
    571 W: ``max = 571 W / (f + (1 − f)·0.7)`` = 737 W, idle 184 W (f = 0 gives the physics
    reference's 815 W peak, linear from 0 W)."""
    f = catalog_idle_fraction() if idle_fraction is None else idle_fraction
    p_max = COST_NODE_MEAN_W / (f + (1.0 - f) * COST_UTILIZATION)
    st = ServerType(key="node-571w", manufacturer="generic", model="571 W mean node", u_height=2, gpu_count=1,
                    gpu_model="accelerator", gpu_tdp_w=500.0, idle_power_w=f * p_max, max_power_w=p_max,
                    airflow_m3s=0.07, gpu_design_temp_c=75.0, thermal_time_constant_s=90.0,
                    sources={"max_power_w": "docs/physics.md cost check figure: 571 W mean at 70 % utilisation",
                             "idle_power_w": "catalog idle fraction (25 % of max, estimate)"})
    racks, servers = [], []
    for r in range(5):
        racks.append(Rack(name=f"C{r + 1:02d}", row="C", x_m=1.0 + 0.6 * r, y_m=3.0, orientation="S",
                          air_loop="AIR", power_budget_kw=17.0))
        for s in range(20):
            servers.append(Server(name=f"C{r + 1:02d}-N{s + 1:02d}", rack=racks[-1].name, server_type=st.key,
                                  u_position=1 + 2 * s))
    units = [CoolingUnit(name="CRAH", kind="crah", loop="AIR", rated_capacity_kw=120.0, supply_setpoint_c=22.0,
                         rated_power_kw=3.0, time_constant_s=30.0),
             CoolingUnit(name="CH", kind="chiller", loop="CHW", rated_capacity_kw=130.0, supply_setpoint_c=15.0,
                         loop_volume_m3=0.85, time_constant_s=120.0, dead_time_s=30.0, rated_power_kw=2.0,
                         design_cop=3.176)]  # catalog chiller: rated at 35 °C air / 15 °C water (COP 3.176 there),
    # 6.5 L/kW of loop volume
    year = 365 * 86400.0
    return Plan(site=Site(name="Cost", timezone="America/Phoenix"), halls=[Hall(name="Hall 1", width_m=6, depth_m=6)],
                server_types=[st], racks=racks, servers=servers,
                cooling_loops=[CoolingLoop("AIR", "air", "CHW"), CoolingLoop("CHW", "facility")],
                cooling_units=units,
                jobs=[Job(name="flat 70 %", gpus=100, utilization=0.7, duration_s=year + 86400, kind="batch",
                          start_s=0.0)],
                # 25 s: with two-node servers the hall air loop couples to the servers' plates through R_p
                # (τ_c = C_air/ΣG = 61 s); at 60 s that coupling and the sampled controller (2θ = 60 s) are
                # both at their limits and the air loop diverges into a ~240 K limit cycle; the step guard
                # adds the two (limit 30.2 s, onset measured at 36–40 s) and refuses 60 s. 25 s keeps
                # ~20 % below the guard; 30 s already matches 10 s to 1e-7 of facility energy.
                scenarios=[Scenario(name="year", start=datetime(2025, 1, 1), horizon_s=year, step_s=25.0,
                                    weather_file=PHOENIX_EPW, tariff=Tariff([0.12] * 24), load="jobs")])


def cost_study(progress=None) -> dict:
    """Seed story 3: a year of 100 nodes at 70 % (571 W mean) at $0.12/kWh ≈ $60,000 of IT electricity,
    and what the facility around them costs (cooling and the rest of the facility at the meter)."""
    plan = cost_plan()
    res = simulate(plan, progress=progress)
    st = plan.server_types[0]
    return {"node_idle_w": st.idle_power_w, "node_max_w": st.max_power_w,
            "it_energy_kwh": res.it_energy_kwh, "it_cost_usd": res.it_cost_usd,
            "expected_it_cost_usd": 60000.0, "error_fraction": res.it_cost_usd / 60000.0 - 1.0,
            "facility_energy_kwh": res.facility_energy_kwh, "facility_cost_usd": res.cost_usd,
            "energy_cost_usd": res.energy_cost_usd, "demand_charge_usd": res.demand_charge_usd,
            "pue": res.pue, "cost_usd": res.cost_usd,
            "steps": res.steps, "step_s": res.step_s, "wall_time_s": res.wall_time_s}
