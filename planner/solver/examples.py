"""Small self-contained plans for tests, studies and benchmarks.

Numbers are vendor figures where cited, else *estimates*; see each builder.
"""
from __future__ import annotations

from datetime import datetime

from ..plan import (CoolingLoop, CoolingUnit, Hall, Job, Plan, Rack, Scenario, Server, ServerType, Site,
                    Tariff)


def dgx_h100() -> ServerType:
    """NVIDIA DGX H100: 8 × H100 SXM, 10.2 kW max, 8U, air cooled (docs/physics.md)."""
    return ServerType(
        key="dgx-h100", manufacturer="NVIDIA", model="DGX H100", u_height=8, gpu_count=8, gpu_model="H100 SXM",
        gpu_tdp_w=700.0, idle_power_w=2500.0, max_power_w=10200.0, liquid_fraction=0.0, airflow_m3s=0.52,
        gpu_slowdown_c=89.0, gpu_shutdown_c=92.0, gpu_design_temp_c=80.0, thermal_time_constant_s=90.0,
        sources={"max_power_w": "NVIDIA DGX H100 datasheet (docs/physics.md)",
                 "idle_power_w": "estimate", "airflow_m3s": "NVIDIA DGX H100 user guide, ~1,105 CFM max (estimate)",
                 "gpu_slowdown_c": "nvidia-smi -q, Hopper (docs/physics.md)", "gpu_design_temp_c": "estimate",
                 "thermal_time_constant_s": "estimate, air heat sink 1–2 min (docs/physics.md)"})


def small_air_plan(n_racks: int = 2, servers_per_rack: int = 4, chiller_margin: float = 1.3,
                   crah_power_kw: float = 0.0, pump_power_kw: float = 0.0, start=datetime(2024, 7, 16)) -> Plan:
    """A row of DGX H100 racks on CRAHs fed by an air-cooled chiller.

    chiller_margin : float  Chiller capacity at 35 °C / IT max power [-]
    crah_power_kw, pump_power_kw : float  Fan / pump power at design flow [kW] (0: pure IT balance)
    """
    st = dgx_h100()
    racks, servers = [], []
    for r in range(n_racks):
        racks.append(Rack(name=f"R{r + 1:02d}", row="A", x_m=1.0 + 0.6 * r, y_m=3.0, orientation="S", u_height=42,
                          power_budget_kw=41.0, cooling_type="air", air_loop="CRAH"))
        for s in range(servers_per_rack):
            servers.append(Server(name=f"R{r + 1:02d}-S{s + 1}", rack=racks[-1].name, server_type=st.key,
                                  u_position=2 + 9 * s))
    it_kw = n_racks * servers_per_rack * st.max_power_w / 1e3
    units = [
        CoolingUnit(name="CRAH-1", kind="crah", loop="CRAH", rated_capacity_kw=it_kw * 1.25, supply_setpoint_c=24.0,
                    flow_m3s=it_kw * 1e3 * 5e-5 * 1.25, time_constant_s=30.0, dead_time_s=5.0,
                    rated_power_kw=crah_power_kw, approach_k=8.0),
        CoolingUnit(name="CH-1", kind="chiller", loop="CHW", rated_capacity_kw=it_kw * chiller_margin,
                    rated_outdoor_c=35.0, supply_setpoint_c=16.0, flow_m3s=it_kw / (4180 * 997 * 6e-3),
                    loop_volume_m3=0.005 * it_kw, time_constant_s=60.0, dead_time_s=10.0,
                    rated_power_kw=pump_power_kw, design_cop=3.0),
    ]
    return Plan(
        site=Site(name="Test", latitude=33.45, longitude=-111.98, timezone="America/Phoenix"),
        halls=[Hall(name="Hall 1", width_m=10.0, depth_m=8.0)],
        server_types=[st], racks=racks, servers=servers,
        cooling_loops=[CoolingLoop(name="CRAH", medium="air", rejects_to="CHW"),
                       CoolingLoop(name="CHW", medium="facility")],
        cooling_units=units,
        scenarios=[Scenario(name="test", start=start, horizon_s=3600.0, load="full")])


#: Pieces of the CDU loop's total lag θ = τ + L + V/V̇ in :func:`liquid_burst_plan` [s]: pump/valve
#: first-order lag τ as the catalog CDU (Modelica Buildings movers: 30 s rise time, docs/physics.md); the
#: transit V/V̇ follows from the loop volume and flow; the rest of θ is pump-VFD / valve dead time.
BURST_PUMP_TAU_S = 30.0


def burst_cdu_lag_split(lag_s: float, transit_s: float) -> tuple[float, float]:
    """(τ, dead time) [s] giving a total CDU lag ``lag_s`` = τ + dead + ``transit_s``.

    Above ``BURST_PUMP_TAU_S + transit`` the dead time takes the rest; below it the pump/valve lag
    shrinks first (τ = θ − transit, no dead time). The transit cannot shrink (it is volume / flow),
    so ``lag_s`` below it gives the shortest physical loop: τ → 0, θ = transit.
    """
    rest = max(lag_s - transit_s, 0.0)
    tau = min(BURST_PUMP_TAU_S, rest)
    return tau, rest - tau


def liquid_burst_plan(lag_s: float = 90.0, n_racks: int = 2, start=datetime(2024, 7, 16),
                      horizon_s: float = 4 * 3600.0, outdoor_design_c: float = 35.0,
                      tcs_supply_c: float = 43.0) -> Plan:
    """A liquid-cooled GB200 NVL72 rack pair running one synchronous training job on a CDU loop whose
    actuators respond with a total lag ``lag_s`` [s] (pump/valve lag τ + dead time + transit V/V̇).

    * Racks: the catalog's GB200 NVL72 (132 kW, 85 % of heat to liquid; GPU calibration 87 °C at
      full load with 45 °C technology water, i.e. 85.3 °C at the 43 °C rating supply).
    * Load: one data-parallel training job on all GPUs from t = 10 min, with the structure of
      :mod:`.loads` (start-up ramp, 6 s compute / communication iterations, a 90 s checkpoint
      stall every 30 min): every rack steps between ~25 % and ~90 % of max power together.
    * CDU: the catalog in-row CDU scaled to the pair at the demo's capacity per NVL72 rack
      (800 kW per 4 racks = 200 kW per rack), flow and loop volume in proportion to duty (15 K
      rated secondary rise; 0.2 m³ per 800 kW, docs/physics.md's 200 L loop), supply ``tcs_supply_c``
      (default 43 °C: W40 + 3 K; the pump-lag study's headline runs NVIDIA's 45 °C limit).
    * Facility water: W40 from one dry cooler rated at the pair's liquid heat + CDU pump heat
      at ``outdoor_design_c`` entering air with a 5 K approach (the demo's sizing rule), flow and
      volume per kW as the catalog dry cooler; run at 35 °C outdoor it holds 40 °C at full load.
    * Air side (15 % of heat): a CRAH as the catalog's at 22 °C supply; CHW is not modelled (a
      fixed-capacity coil), the liquid side is the subject.
    """
    from ..catalog import load_catalog
    from dataclasses import replace
    cat = load_catalog()
    st = cat.server_type("nvidia-gb200-nvl72")
    cdu_t = cat.cooling_unit("In-row CDU 800 kW")
    dry_t = cat.cooling_unit("Dry cooler 600 kW")
    crah_t = cat.cooling_unit("Chilled-water CRAH 150 kW")
    racks, servers = [], []
    for r in range(n_racks):
        name = f"L{r + 1:02d}"
        racks.append(Rack(name=name, row="L", x_m=1.0 + 0.6 * r, y_m=6.0, orientation="S", u_height=48,
                          power_budget_kw=150.0, cooling_type="hybrid", air_loop="AIR", liquid_loop="CDU"))
        servers.append(Server(name=f"{name}-NVL72", rack=name, server_type=st.key, u_position=1))
    gpus = n_racks * st.gpu_count
    jobs = [Job(name="training", gpus=gpus, utilization=1.0, duration_s=horizon_s, kind="training",
                start_s=600.0)]
    cdu_kw = 200.0 * n_racks  # the demo's 800 kW CDU per 4 NVL72 racks
    f_cdu = cdu_kw / cdu_t.rated_capacity_kw
    cdu_flow, cdu_vol = cdu_t.flow_m3s * f_cdu, cdu_t.loop_volume_m3 * f_cdu
    tau, dead = burst_cdu_lag_split(lag_s, cdu_vol / cdu_flow)
    liquid_kw = n_racks * st.max_power_w * st.liquid_fraction / 1e3
    cdu_pump_kw = cdu_t.rated_power_kw * f_cdu
    dc_kw = liquid_kw + cdu_pump_kw
    f_dc = dc_kw / dry_t.rated_capacity_kw
    air_kw = n_racks * st.max_power_w * (1.0 - st.liquid_fraction) / 1e3
    units = [
        replace(cdu_t, name="CDU-1", loop="CDU", rated_capacity_kw=cdu_kw, flow_m3s=cdu_flow, loop_volume_m3=cdu_vol,
                rated_power_kw=cdu_pump_kw, time_constant_s=tau, dead_time_s=dead, supply_setpoint_c=tcs_supply_c,
                approach_k=3.0),
        replace(dry_t, name="DC-1", loop="FW", rated_capacity_kw=dc_kw, rated_outdoor_c=outdoor_design_c,
                flow_m3s=dry_t.flow_m3s * f_dc, loop_volume_m3=dry_t.loop_volume_m3 * f_dc,
                rated_power_kw=dry_t.rated_power_kw * f_dc, supply_setpoint_c=40.0, approach_k=5.0),
        replace(crah_t, name="CRAH-L", loop="AIR", rated_capacity_kw=air_kw * 1.25, supply_setpoint_c=22.0,
                flow_m3s=crah_t.flow_m3s * air_kw * 1.25 / crah_t.rated_capacity_kw, rated_power_kw=0.0),
    ]
    return Plan(
        site=Site(name="Burst", timezone="America/Phoenix"),
        halls=[Hall(name="Hall 1", width_m=10.0, depth_m=8.0, containment="hot")],
        server_types=[st], racks=racks, servers=servers, jobs=jobs,
        cooling_loops=[CoolingLoop(name="CDU", medium="liquid", rejects_to="FW"),
                       CoolingLoop(name="FW", medium="facility"), CoolingLoop(name="AIR", medium="air")],
        cooling_units=units,
        scenarios=[Scenario(name="training", start=start, horizon_s=horizon_s, step_s=2.0, load="jobs",
                            tariff=Tariff())])
