"""Small self-contained plans for tests, studies and benchmarks.

Numbers are vendor figures where cited, else *estimates*; see each builder.
"""
from __future__ import annotations

from datetime import datetime

from ..plan import (CoolingLoop, CoolingUnit, Hall, Job, Plan, Rack, Scenario, Server, ServerType, Site,
                    Tariff)


def dgx_h100() -> ServerType:
    """NVIDIA DGX H100: 8 × H100 SXM, 10.2 kW max, 8U, air cooled (physics.md)."""
    return ServerType(
        key="dgx-h100", manufacturer="NVIDIA", model="DGX H100", u_height=8, gpu_count=8, gpu_model="H100 SXM",
        gpu_tdp_w=700.0, idle_power_w=2500.0, max_power_w=10200.0, liquid_fraction=0.0, airflow_m3s=0.52,
        gpu_slowdown_c=89.0, gpu_shutdown_c=92.0, gpu_design_temp_c=80.0, thermal_time_constant_s=90.0,
        sources={"max_power_w": "NVIDIA DGX H100 datasheet (physics.md)",
                 "idle_power_w": "estimate", "airflow_m3s": "NVIDIA DGX H100 user guide, ~1,105 CFM max (estimate)",
                 "gpu_slowdown_c": "nvidia-smi -q, Hopper (physics.md)", "gpu_design_temp_c": "estimate",
                 "thermal_time_constant_s": "estimate, air heat sink 1–2 min (physics.md)"})


def liquid_node() -> ServerType:
    """A direct-liquid-cooled 4-GPU node (GB200-class compute tray, *estimate*): 5.6 kW, 90 % to liquid.

    GPU calibration as the catalog's GB200 NVL72: at full load with the technology loop at NVIDIA's
    45 °C warm-water rack-inlet limit the GPU sits at nvidia-smi's max operating 87 °C; the design
    point below is a 43 °C technology loop (W40 facility water + 3 K CDU approach) and 25 °C air.
    """
    return ServerType(
        key="dlc-4gpu", manufacturer="generic", model="DLC 4-GPU tray", u_height=1, gpu_count=4, gpu_model="B200",
        gpu_tdp_w=1200.0, idle_power_w=1200.0, max_power_w=5600.0, liquid_fraction=0.9, airflow_m3s=0.05,
        gpu_slowdown_c=89.0, gpu_shutdown_c=92.0, gpu_design_temp_c=85.2, thermal_time_constant_s=15.0,
        sources={"thermal_time_constant_s": "estimate, GPU + cold plate 10–20 s (physics.md)",
                 "gpu_design_temp_c": "estimate anchored as the catalog GB200: 87 °C at full load with 45 °C liquid "
                                      "(NVIDIA warm-water limit) = 85.2 °C at 43 °C liquid and 25 °C air (90 % liquid)",
                 "max_power_w": "estimate (GB200 NVL72 ~132 kW / 18 trays + switches)"})


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


def liquid_burst_plan(lag_s: float = 90.0, n_racks: int = 2, trays_per_rack: int = 18, start=datetime(2024, 7, 16),
                      burst_period_s: float = 1800.0, burst_s: float = 600.0, horizon_s: float = 4 * 3600.0) -> Plan:
    """Liquid-cooled racks whose CDU loop responds with ``lag_s`` of dead time, running training bursts.

    Each rack runs one training job that starts every ``burst_period_s`` and lasts ``burst_s``
    (the gaps are idle): a fleet of short fine-tuning runs. The CDU loop is small
    so the lag shows in its supply temperature (0.2 m³ as the catalog CDU, transit 20 s at 10 L/s,
    the rest of the lag is pump/valve dead time); the facility-water loop (ASHRAE W40) rejects
    through dry coolers sized like the demo's (5 K approach at rated load).
    """
    st = liquid_node()
    racks, servers, jobs = [], [], []
    for r in range(n_racks):
        name = f"L{r + 1:02d}"
        racks.append(Rack(name=name, row="L", x_m=1.0 + 0.6 * r, y_m=6.0, orientation="S", u_height=48,
                          power_budget_kw=110.0, cooling_type="liquid", air_loop="AIR", liquid_loop="CDU"))
        for s in range(trays_per_rack):
            servers.append(Server(name=f"{name}-T{s + 1:02d}", rack=name, server_type=st.key, u_position=1 + 2 * s))
    n_gpus_rack = trays_per_rack * st.gpu_count
    k = 0
    t = 600.0
    while t < horizon_s:
        for r in range(n_racks):
            jobs.append(Job(name=f"burst-{k}-{r}", gpus=n_gpus_rack, utilization=0.95, duration_s=burst_s,
                            kind="training", start_s=t + 60.0 * r))
        k += 1
        t += burst_period_s
    it_kw = n_racks * trays_per_rack * st.max_power_w / 1e3
    units = [
        # CDU: 43 °C supply (W40 facility water + 3 K approach, as the demo); transit 0.2 m³ at
        # 10 L/s = 20 s, the rest of the lag is the pump/valve dead time
        CoolingUnit(name="CDU-1", kind="cdu", loop="CDU", rated_capacity_kw=it_kw * 1.3, supply_setpoint_c=43.0,
                    flow_m3s=0.01, loop_volume_m3=0.2, time_constant_s=20.0, dead_time_s=max(lag_s - 20.0, 0.0),
                    approach_k=3.0),
        CoolingUnit(name="DC-1", kind="dry_cooler", loop="FW", rated_capacity_kw=it_kw * 1.3, supply_setpoint_c=40.0,
                    flow_m3s=0.02, loop_volume_m3=2.0, time_constant_s=60.0, approach_k=5.0),
        CoolingUnit(name="CRAH-L", kind="crah", loop="AIR", rated_capacity_kw=it_kw * 0.3, supply_setpoint_c=25.0,
                    time_constant_s=30.0),
    ]
    return Plan(
        site=Site(name="Burst", timezone="America/Phoenix"),
        halls=[Hall(name="Hall 1", width_m=10.0, depth_m=8.0)],
        server_types=[st], racks=racks, servers=servers, jobs=jobs,
        cooling_loops=[CoolingLoop(name="CDU", medium="liquid", rejects_to="FW"),
                       CoolingLoop(name="FW", medium="facility"), CoolingLoop(name="AIR", medium="air")],
        cooling_units=units,
        scenarios=[Scenario(name="bursts", start=start, horizon_s=horizon_s, step_s=1.0, load="jobs",
                            tariff=Tariff())])
