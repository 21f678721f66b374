"""``planner.solver.answers``: what, when and where, checked on hand-made results and on a real run."""
from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest

from planner.plan import Plan, Rack, Server, ServerType
from planner.solver.answers import answer_lines, answers, hour_ranges
from planner.solver.results import SimulationResult

GPU8 = ServerType(key="g8", manufacturer="T", model="G8", u_height=8, gpu_count=8, gpu_model="H100",
                  gpu_tdp_w=700, idle_power_w=2000, max_power_w=10000, gpu_slowdown_c=89.0)


def hand_result(start=datetime(2025, 7, 16, 12, 0), tz="America/Phoenix", minutes=1440) -> SimulationResult:
    """A day of minute series from noon, built by hand: GPUs throttle 13:00–15:59 and 23:30–00:29 local."""
    t = np.arange(minutes) * 60.0
    r = SimulationResult(start=start, timezone=tz)
    r.time_s = t
    wall_min = (12 * 60 + np.arange(minutes)) % 1440  # minute of the local day (Phoenix: no DST)
    frac = np.zeros(minutes)
    frac[(wall_min >= 13 * 60) & (wall_min < 16 * 60)] = 0.25
    frac[(wall_min >= 23 * 60 + 30) | (wall_min < 30)] = 0.125
    frac[np.flatnonzero(wall_min == 15 * 60 + 10)] = 0.375  # the worst minute, 15:10
    r.throttled_fraction = frac
    temps = np.full(minutes, 80.0)
    temps[np.flatnonzero(wall_min == 16 * 60 + 7)] = 91.5  # hottest minute 16:07
    r.max_gpu_temp_c_series = temps
    r.max_gpu_temp_c = 91.5
    fac = np.full(minutes, 100.0)
    fac[np.flatnonzero(wall_min == 17 * 60 + 45)] = 140.0
    r.facility_kw = fac
    r.rack_names = ["R1", "R2", "R3"]
    r.rack_max_gpu_c = np.array([85.0, 91.5, 88.0])
    r.rack_max_inlet_c = np.array([27.0, np.nan, 29.5])
    r.rack_throttled_gpu_hours = np.array([1.0, 7.5, 0.0])
    r.gpus, r.throttled_gpus, r.max_throttled_fraction = 16, 12, 0.375
    r.throttled_gpu_hours, r.lost_gpu_hours, r.throttle_events = 8.5, 2.25, 14
    r.it_energy_kwh, r.cooling_energy_kwh, r.facility_energy_kwh, r.pue = 2000.0, 400.0, 2400.0, 1.2
    r.cost_usd, r.energy_cost_usd, r.demand_charge_usd = 300.0, 250.0, 50.0
    r.peak_facility_kw, r.peak_15min_facility_kw, r.peak_it_kw = 140.0, 110.0, 120.0
    r.max_inlet_temp_c = 29.5
    r.step_s, r.horizon_s = 10.0, minutes * 60.0
    return r


def small_plan() -> Plan:
    racks = [Rack(name=n) for n in ("R1", "R2", "R3")]
    servers = [Server("R1-a", "R1", "g8", 1), Server("R2-a", "R2", "g8", 1), Server("R3-a", "R3", "g8", 1)]
    return Plan(server_types=[GPU8], racks=racks, servers=servers)


def test_hour_ranges_by_hand():
    assert hour_ranges([13, 14, 15, 22]) == ["13:00–16:00", "22:00–23:00"]
    assert hour_ranges([23, 0, 1]) == ["23:00–02:00"]
    assert hour_ranges([]) == []
    assert hour_ranges(range(24)) == ["00:00–24:00"]
    assert hour_ranges([5]) == ["05:00–06:00"]


def test_answers_what_when_where_by_hand():
    a = answers(hand_result(), small_plan())
    h = a["hottest_gpu"]
    assert h["temp_c"] == 91.5 and h["rack"] == "R2"
    # noon start: minute index of 16:07 is 247 -> 2025-07-16T16:07:00
    assert h["time"] == "2025-07-16T16:07:00" and h["time_s"] == 247 * 60.0
    assert h["server"] == "R2-a"  # the only server of R2 (no per-server history)
    assert h["slowdown_margin_k"] == pytest.approx(89.0 - 91.5)
    assert a["hottest_inlet"] == {"temp_c": 29.5, "rack": "R3"}  # NaN rack (no air) is skipped
    thr = a["throttling"]
    assert thr["gpus"] == 12 and thr["of_gpus"] == 16
    assert thr["peak_gpus"] == 6 and thr["peak_fraction"] == 0.375  # 0.375 · 16
    assert thr["peak_time"] == "2025-07-16T15:10:00"
    assert thr["hours"] == ["13:00–16:00", "23:00–01:00"]
    assert thr["worst_racks"] == [{"rack": "R2", "throttled_gpu_hours": 7.5}, {"rack": "R1", "throttled_gpu_hours": 1.0}]
    assert thr["lost_gpu_hours"] == 2.25 and thr["throttled_gpu_hours"] == 8.5 and thr["events"] == 14
    assert a["energy"] == {"it_kwh": 2000.0, "cooling_kwh": 400.0, "facility_kwh": 2400.0, "pue": 1.2}
    assert a["cost"] == {"total_usd": 300.0, "energy_usd": 250.0, "demand_usd": 50.0, "per_year_usd": None}
    assert a["peak"]["facility_kw"] == 140.0 and a["peak"]["facility_time"] == "2025-07-16T17:45:00"
    assert a["run"]["days"] == 1.0 and a["run"]["resolution_s"] == 60.0 and a["run"]["end"] == "2025-07-17T12:00:00"
    json.dumps(a)  # plain data


def test_hottest_server_from_per_server_history():
    r = hand_result()
    r.server_names = ["R1-a", "R2-a", "R2-b"]
    hist = np.full((len(r.time_s), 3), 70.0)
    hist[247] = [80.0, 90.0, 91.5]
    r.server_temp_c = hist
    a = answers(r, None)
    assert a["hottest_gpu"]["server"] == "R2-b" and a["hottest_gpu"]["slowdown_margin_k"] is None


def test_no_throttling_and_annual_cost():
    r = hand_result(minutes=60)
    r.throttled_fraction[:] = 0.0
    r.throttled_gpus, r.max_throttled_fraction, r.rack_throttled_gpu_hours = 0, 0.0, np.zeros(3)
    r.horizon_s, r.cost_usd = 730 * 86400.0, 2_000_000.0  # two years: per year is half
    a = answers(r)
    assert a["throttling"]["hours"] == [] and a["throttling"]["peak_time"] is None and a["throttling"]["worst_racks"] == []
    assert a["cost"]["per_year_usd"] == pytest.approx(1_000_000.0)
    assert "none of 16 GPUs throttled" in "\n".join(answer_lines(a))


def test_local_hours_follow_daylight_saving():
    """Denver springs forward at 02:00 on 2025-03-09: 3 h after midnight is 04:00 on the wall clock."""
    r = hand_result(start=datetime(2025, 3, 9, 0, 0), tz="America/Denver", minutes=300)
    r.throttled_fraction[:] = 0.0
    r.throttled_fraction[180:240] = 0.5  # elapsed 03:00-04:00
    r.max_throttled_fraction = 0.5
    a = answers(r)
    assert a["throttling"]["hours"] == ["04:00–05:00"]
    assert a["throttling"]["peak_time"] == "2025-03-09T04:00:00"


@pytest.fixture(scope="module")
def demo_run():
    from planner.demo import build_demo_plan
    from planner.solver import simulate
    plan = build_demo_plan()
    sc = plan.scenarios[1]  # hottest July day, full load
    return plan, simulate(plan, sc, horizon_s=6 * 3600.0, record=("summary", "minute", "server"))


def test_answers_agree_with_the_run(demo_run):
    plan, res = demo_run
    a = answers(res, plan)
    h = a["hottest_gpu"]
    assert h["rack"] == res.rack_names[int(np.argmax(res.rack_max_gpu_c))]
    k = int(np.argmax(res.max_gpu_temp_c_series))
    assert res.server_names.index(h["server"]) == int(np.argmax(res.server_temp_c[k]))
    assert next(s.rack for s in plan.servers if s.name == h["server"]) == h["rack"]
    assert h["temp_c"] == pytest.approx(res.max_gpu_temp_c)
    thr = a["throttling"]
    assert thr["peak_gpus"] == round(res.max_throttled_fraction * res.gpus)
    assert a["energy"]["facility_kwh"] == pytest.approx(res.facility_energy_kwh)


def test_cli_prints_the_same_answers(tmp_path, capsys):
    from models.store import save_plan
    from planner.demo import build_demo_plan
    from ui.cli import main
    path = tmp_path / "demo.dcplan"
    save_plan(build_demo_plan(), str(path))
    args = ["simulate", str(path), "--scenario", "1", "--days", "0.25"]
    assert main(args + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    a = out["answers"]
    assert set(a) == {"hottest_gpu", "hottest_inlet", "throttling", "energy", "cost", "peak", "run"}
    assert a["hottest_gpu"]["temp_c"] == pytest.approx(out["max_gpu_temp_c"], abs=1e-6)
    assert main(args) == 0
    text = capsys.readouterr().out
    clock = lambda iso: iso.replace("T", " ")[:16]  # noqa: E731  (local time as a clock shows it)
    assert f"hottest GPU: {a['hottest_gpu']['temp_c']:.1f} °C at {clock(a['hottest_gpu']['time'])} in rack " \
           f"{a['hottest_gpu']['rack']}" in text
    assert f"peak facility power: {a['peak']['facility_kw']:,.0f} kW at {clock(a['peak']['facility_time'])}" in text
