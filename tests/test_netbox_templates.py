"""assets/netbox export templates: rendered as NetBox renders them, they import losslessly."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace as NS

import pytest
from jinja2 import BaseLoader
from jinja2.sandbox import SandboxedEnvironment

from planner.assets import ASSETS_DIR
from planner.catalog import load_catalog
from planner.csv_exchange import import_csv
from planner.demo import build_demo_plan
from planner.netbox.columns import rack_group_name
from planner.netbox.power import import_power
from planner.netbox.prerequisites import feed_description
from planner.plan import Plan

TEMPLATES = ASSETS_DIR / "netbox"


def render(name: str, queryset) -> str:
    """As NetBox 4.6 does (utilities/jinja2.py render_jinja2 and ExportTemplate.render): a sandboxed
    environment with a base loader, context ``queryset``, CRLF replaced by LF."""
    env = SandboxedEnvironment(loader=BaseLoader())
    return env.from_string((TEMPLATES / name).read_text(encoding="utf-8")).render(queryset=queryset).replace("\r\n", "\n")


def netbox_objects(plan: Plan, starting_unit: int = 1):
    """Stand-ins for NetBox's Rack, Device and PowerFeed after it imported dcplan's --netbox files."""
    site = NS(name=plan.site.name)
    locations = {h.name: NS(name=h.name) for h in plan.halls}
    racks = {}
    for r in plan.racks:
        racks[r.name] = NS(site=site, location=locations[r.hall], group=NS(name=rack_group_name(r.hall, r.row)),
                           name=r.name, status=r.status, u_height=r.u_height, desc_units=False,
                           starting_unit=starting_unit, outer_width=round(r.width_m * 1000),
                           outer_depth=round(r.depth_m * 1000), outer_unit="mm", max_weight=round(r.max_weight_kg),
                           weight_unit="kg")
    types = plan.server_type_map()
    devices = [NS(name=s.name, device_type=NS(manufacturer=NS(name=types[s.server_type].manufacturer),
                                              model=types[s.server_type].model),
                  status="active", site=site, location=racks[s.rack].location, rack=racks[s.rack],
                  position=Decimal(s.u_position + starting_unit - 1) + Decimal("0.0"), face=s.face)
               for s in plan.servers]
    users = {}
    for r in plan.racks:
        users[r.feed_a] = r
        users[r.feed_b] = r
    feeds = [NS(power_panel=NS(site=site, name=f.panel), rack=racks[users[f.name].name] if f.name in users else None,
                name=f.name, status="active", type="primary" if f.side == "A" else "redundant", supply="ac",
                phase="three-phase" if f.phase == 3 else "single-phase", voltage=round(f.voltage),
                amperage=round(f.amperage), max_utilization=round(f.max_utilization * 100),
                description=feed_description(f))
             for f in plan.power_feeds]
    return list(racks.values()), devices, feeds


@pytest.mark.parametrize("starting_unit", [1, 5])
def test_templates_import_the_demo_losslessly(tmp_path, starting_unit):
    demo = build_demo_plan()
    demo.servers[0].name = 'A01 "lab", bay 1'  # a name that needs CSV quoting
    racks, devices, feeds = netbox_objects(demo, starting_unit)
    (tmp_path / "racks.csv").write_text(render("dcplan_racks.csv.j2", racks), encoding="utf-8")
    (tmp_path / "devices.csv").write_text(render("dcplan_devices.csv.j2", devices), encoding="utf-8")
    (tmp_path / "feeds.csv").write_text(render("dcplan_power_feeds.csv.j2", feeds), encoding="utf-8")
    assert (tmp_path / "racks.csv").read_text().count("\n") == 33
    outcome = import_csv(Plan(), racks_path=tmp_path / "racks.csv", devices_path=tmp_path / "devices.csv",
                         catalog_types=load_catalog().server_types)
    plan = import_power(outcome.plan, feeds_path=tmp_path / "feeds.csv").plan
    got = plan.rack_map()
    for r in demo.racks:
        g = got[r.name]
        assert (g.u_height, g.hall, g.status, g.width_m, g.depth_m, g.max_weight_kg, g.feed_a, g.feed_b) == \
            (r.u_height, r.hall, r.status, r.width_m, r.depth_m, r.max_weight_kg, r.feed_a, r.feed_b)
    servers = {s.name: s for s in plan.servers}
    for s in demo.servers:
        g = servers[s.name]
        assert (g.rack, g.u_position, g.face, g.server_type) == (s.rack, s.u_position, s.face, s.server_type)
    assert sorted(plan.power_feeds, key=lambda f: f.name) == sorted(demo.power_feeds, key=lambda f: f.name)
