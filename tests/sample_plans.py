"""Small hand-built plans the tests share (no Qt): figures are stated in each docstring."""
from __future__ import annotations

import copy
from dataclasses import replace

from planner.plan import CoolingLoop, CoolingUnit, Hall, Plan, PowerFeed, Rack, Server, ServerType, Site

H100 = ServerType(key="test-8u", manufacturer="Test", model="Eight-U GPU box", u_height=8, gpu_count=8,
                  gpu_model="H100", gpu_tdp_w=700, idle_power_w=2000, max_power_w=10200, airflow_m3s=0.5)


def small_plan() -> Plan:
    """A 12 m x 8 m hall, one row of three racks facing N at y=2.4 m, plus a lone rack L01.

    Loops: AIR (CRAH-1, 150 kW, on the floor at x=0.45, y=6.0 m) and an empty liquid loop TCS.

    R01 holds two 8U servers (U1, U9) = 20.4 kW; the others are empty. Racks are
    0.6 m x 1.2 m on the 0.6 m tile grid.
    """
    racks = [Rack(name=f"R0{i + 1}", row="R", x_m=1.5 + 0.6 * i, y_m=2.4, orientation="N", air_loop="AIR",
                  feed_a="FA", feed_b="FB", power_budget_kw=40.0) for i in range(3)]
    racks.append(Rack(name="L01", row="L", x_m=6.3, y_m=5.4, orientation="S", air_loop="AIR", feed_a="FA",
                      feed_b="FB", power_budget_kw=30.0))
    return Plan(
        halls=[Hall("Hall 1", 12.0, 8.0, 0.6)],
        server_types=[H100],
        racks=racks,
        servers=[Server("R01-a", "R01", H100.key, 1), Server("R01-b", "R01", H100.key, 9)],
        cooling_loops=[CoolingLoop("AIR", "air"), CoolingLoop("TCS", "liquid")],
        cooling_units=[CoolingUnit("CRAH-1", "crah", "AIR", 150.0, x_m=0.45, y_m=6.0)],
        power_feeds=[PowerFeed("FA", side="A", amperage=125), PowerFeed("FB", side="B", amperage=125)],
    )


#: The demo's hot-day scenario (full load) the GUI simulation tests run.
DAY = "Hottest July day, full load"


def demo_plan(hours: float = 3.0):
    """The bundled Phoenix demo (104 servers: small enough for automatic re-runs), its hot day cut to
    ``hours`` from 13:00 (the GPUs throttle then) so tests stay quick."""
    from planner.demo import build_demo_plan

    plan = build_demo_plan()
    plan.scenarios = [replace(s, horizon_s=hours * 3600.0, start=s.start.replace(hour=13)) if s.name == DAY else s
                      for s in plan.scenarios]
    return plan


CSV_SITE = "Phoenix AI Campus"

# Server types of the CSV exchange tests (power figures from the vendors' data sheets; the import only uses
# key, manufacturer, model and u_height).
DGX_H100 = ServerType(key="nvidia-dgx-h100", manufacturer="NVIDIA", model="DGX H100", u_height=8, gpu_count=8,
                      gpu_model="H100 SXM", gpu_tdp_w=700.0, idle_power_w=3000.0, max_power_w=10200.0)
GB200_NVL72 = ServerType(key="nvidia-gb200-nvl72", manufacturer="NVIDIA", model="GB200 NVL72", u_height=48,
                         gpu_count=72, gpu_model="B200", gpu_tdp_w=1200.0, idle_power_w=30000.0,
                         max_power_w=132000.0, liquid_fraction=0.85)


def three_rack_plan() -> Plan:
    """Three racks in one hall: two air-cooled DGX racks and one GB200 NVL72 rack."""
    return Plan(
        site=Site(CSV_SITE, 33.43, -112.01, "America/Phoenix", 337.0),
        halls=[Hall("Hall A", 12.0, 9.0)],
        server_types=[copy.deepcopy(DGX_H100), copy.deepcopy(GB200_NVL72)],
        racks=[
            Rack("A01", hall="Hall A", row="A", x_m=2.7, y_m=1.8, orientation="S", power_budget_kw=48.0,
                 air_loop="AIR", feed_a="A01-A", feed_b="A01-B"),
            Rack("A02", hall="Hall A", row="A", x_m=3.3, y_m=1.8, orientation="S", power_budget_kw=48.0,
                 air_loop="AIR", feed_a="A02-A", feed_b="A02-B"),
            Rack("E01", hall="Hall A", row="E", x_m=2.7, y_m=5.4, orientation="S", u_height=48,
                 power_budget_kw=140.0, max_weight_kg=1800.0, cooling_type="hybrid", air_loop="AIR",
                 liquid_loop="TCS"),
        ],
        servers=[
            Server("A01-DGX1", "A01", DGX_H100.key, 5),
            Server("A01-DGX2", "A01", DGX_H100.key, 14),
            Server("A02-DGX1", "A02", DGX_H100.key, 5, face="rear"),
            Server("E01-NVL72", "E01", GB200_NVL72.key, 1),
        ],
        cooling_loops=[CoolingLoop("AIR", "air"), CoolingLoop("TCS", "liquid")],
        power_feeds=[PowerFeed("A01-A", side="A"), PowerFeed("A01-B", side="B"),
                     PowerFeed("A02-A", side="A"), PowerFeed("A02-B", side="B")],
    )
