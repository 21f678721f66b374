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


def run_study(name: str, progress=None, on_run=None) -> dict:
    """Run the bundled study ``name`` (one of :data:`STUDIES`) and return its figures.

    progress : callable(fraction) or None  Fraction of the whole study done (0..1)
    on_run : callable(label, index, count) or None  Called as each simulation of a study of several
        runs starts (``dcplan study`` labels its progress with it)
    """
    if name == "phoenix":
        return phoenix_study(progress=progress, on_run=on_run)
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


def phoenix_study(step_s: float = 10.0, progress=None, on_run=None) -> dict:
    """Demo hall at continuous full load through Phoenix's hottest July day, and Minneapolis.

    Runs 15–16 July (the 15th spins the plant up from its setpoints so the night of the 16th
    inherits the previous afternoon) and reports the 16th: throttled fraction by hour, the
    14:00–18:00 and 02:00–06:00 windows, and throttled GPU-hours in both cities.
    """
    from ..demo import DEMO_HOT_DAY, build_demo_plan
    plan = build_demo_plan()
    start = DEMO_HOT_DAY - timedelta(days=1)
    out: dict = {"day": DEMO_HOT_DAY.date().isoformat(), "step_s": step_s}
    # the same hall built in Minneapolis: its own coordinates and clock (EPW LOCATION line, IANA zone),
    # so "14:00–18:00" is Minneapolis local time there
    sites = {"phoenix": plan.site,
             "minneapolis": Site(name="Minneapolis AI Campus", latitude=44.88, longitude=-93.23,
                                 timezone="America/Chicago", elevation_m=254.0)}
    runs = (("phoenix", PHOENIX_EPW), ("minneapolis", MINNEAPOLIS_EPW))
    n = len(runs)
    for i, (city, epw) in enumerate(runs):
        sc = Scenario(name=f"full load, {city}", start=start, horizon_s=2 * 86400.0, step_s=step_s,
                      weather_file=epw, load="full", control="reactive")
        if on_run is not None:
            on_run(f"{city}: demo hall at full load, {start:%d}-{DEMO_HOT_DAY:%d %b %Y} ({epw})", i, n)
        sub = None if progress is None else (lambda f, i=i: progress((i + f) / n))
        res = simulate(replace(plan, site=sites[city]), sc, step_s=step_s, progress=sub)
        day0 = 86400.0
        t = res.time_s - day0
        on_day = t >= 0
        hourly = [float(res.throttled_fraction[on_day & (t >= h * 3600) & (t < (h + 1) * 3600)].max())
                  for h in range(24)]
        amb = [float(res.ambient_c[on_day & (t >= h * 3600) & (t < (h + 1) * 3600)].max()) for h in range(24)]
        day = _window_stats(res, day0, 0, 24)
        out[city] = {
            "afternoon_14_18": _window_stats(res, day0, 14, 18),
            "night_02_06": _window_stats(res, day0, 2, 6),
            "throttled_gpu_hours_day": day["throttled_gpu_hours"],
            "max_ambient_c": max(amb),
            "max_gpu_temp_c": float(res.max_gpu_temp_c_series[on_day].max()),
            "max_supply_temp_c": float(res.supply_temp_c[on_day].max()),
            "hourly_max_throttled_fraction": hourly,
            "hourly_max_ambient_c": amb,
            "gpus": res.gpus,
            "wall_time_s": res.wall_time_s,
        }
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

def cost_plan() -> Plan:
    """100 nodes of 815 W peak (linear in utilisation from 0 W, physics.md check figure) running a
    flat 70 % utilisation batch load all year, on CRAHs and an air-cooled chiller."""
    st = ServerType(key="node-815w", manufacturer="generic", model="815 W node", u_height=2, gpu_count=1,
                    gpu_model="accelerator", gpu_tdp_w=500.0, idle_power_w=0.0, max_power_w=815.0,
                    airflow_m3s=0.07, gpu_design_temp_c=75.0, thermal_time_constant_s=90.0,
                    sources={"max_power_w": "physics.md cost check figure", "idle_power_w": "physics.md: linear from 0"})
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
                         design_cop=4.1)]  # catalog chiller: rated at 35 °C air / 15 °C water (COP 4.1 there),
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
    """Seed story 3: a year of 100 × 815 W nodes at 70 % at $0.12/kWh ≈ $60,000 of IT electricity."""
    plan = cost_plan()
    res = simulate(plan, progress=progress)
    return {"it_energy_kwh": res.it_energy_kwh, "it_cost_usd": res.it_cost_usd,
            "expected_it_cost_usd": 60000.0, "error_fraction": res.it_cost_usd / 60000.0 - 1.0,
            "facility_energy_kwh": res.facility_energy_kwh, "pue": res.pue, "cost_usd": res.cost_usd,
            "steps": res.steps, "step_s": res.step_s, "wall_time_s": res.wall_time_s}
