"""Sweep definitions, variant transforms, results file and ranking (no Dask: fast).

The Dask runs (LocalCluster, separate scheduler/worker processes, cancel and resume) are in
tests/test_sweep_dask.py.
"""
from __future__ import annotations

import copy
import csv
import io
from datetime import datetime

import pytest

from planner.demo import build_demo_plan
from planner.sweep import (KINDS, ResultsFile, SweepError, best, define, load_sweep_file, parse_constraint,
                           parse_vary, pareto, run, run_serial)
from planner.sweep.sites import standard_offset_h
from planner.sweep.transform import _ORDER, apply_variant, installed_cooling_kw
from planner.sweep.worker import RESULT_FIELDS, TIMING_FIELDS
from planner.weather import load_weather


@pytest.fixture(scope="module")
def plan():
    return build_demo_plan()


class SpyClient:
    """Stands in for a ``distributed.Client`` and records every use: a refused definition must
    never reach it."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        self.calls.append(name)
        raise AssertionError(f"client.{name} used for a refused sweep")


# ------------------------------------------------------------------ refused definitions

@pytest.mark.parametrize("params, named, says", [
    ({"colour": ["red"]}, "colour", "unknown parameter"),
    ({"setpoint.TCS": ["hot"]}, "setpoint.TCS", "not a temperature"),
    ({"control": [1]}, "control", "not one of reactive, predictive"),
    ({"units.FWS": ["N+x"]}, "units.FWS", "not a unit count"),
    ({"units.FWS": [2.5]}, "units.FWS", "not a unit count"),
    ({"units.FWS": ["N-4"]}, "units.FWS", "leaves 0 units"),
    ({"rating.CHW": [-5]}, "rating.CHW", "must be > 0 kW"),
    ({"setpoint.NOPE": [40]}, "setpoint.NOPE", "unknown loop 'NOPE'"),
    ({"setpoint": [40]}, "setpoint", "name the loop"),
    ({"control.TCS": ["reactive"]}, "control.TCS", "applies to the whole plan"),
    ({"control": []}, "control", "empty list"),
    ({"control": ["reactive", "reactive"]}, "control", "same variant"),
    ({"setpoint.TCS": [40, "40.0"]}, "setpoint.TCS", "same variant"),
    ({"weather": ["atlantis"]}, "weather", "weather file not found"),
    ({"start": ["July"]}, "start", "not a local date"),
    ({"days": [0]}, "days", "must be > 0"),
    ({"days": [0.0001]}, "days", "not a whole number"),
    ({"tariff": [{"hourly_usd_per_kwh": [0.1] * 23}]}, "tariff", "24 prices"),
    ({"scenario": ["Winter"]}, "scenario", "not a scenario of the plan"),
    ({"scheduler": ["fastest"]}, "scheduler", "not one of fcfs, backfill, greedy, optimal"),
    ({"jobs": ["no-such-jobs.csv"]}, "jobs", "no-such-jobs.csv: file not found"),
    ({"jobs": [7]}, "jobs", "not a jobs CSV file"),
])
def test_bad_definitions_are_refused_naming_the_parameter_and_nothing_is_submitted(plan, params, named, says):
    spy = SpyClient()
    with pytest.raises(SweepError) as err:
        run(plan, params, client=spy, days=None if "days" in params else 1)
    msg = str(err.value)
    assert msg.startswith(f"{named}:") and says in msg, msg
    assert spy.calls == []


def test_a_bad_parameter_after_good_ones_is_still_refused_before_submission(plan):
    spy = SpyClient()
    with pytest.raises(SweepError, match=r"^setpoint\.TCS: 'warm' is not a temperature"):
        run(plan, {"control": ["reactive", "predictive"], "weather": ["phoenix"], "setpoint.TCS": [40, "warm"]},
            client=spy, days=1)
    assert spy.calls == []


def test_sweep_wide_settings_conflicting_with_parameters_are_refused(plan):
    with pytest.raises(SweepError, match="^days: varied"):
        define(plan, {"days": [1, 2]}, days=1)
    with pytest.raises(SweepError, match="^start: varied"):
        define(plan, {"start": ["2025-07-01"]}, year=True)
    with pytest.raises(SweepError, match="nothing to vary"):
        define(plan, {})


def test_parse_vary_splits_values_and_refuses_malformed_items():
    assert parse_vary(["control=reactive,predictive", "setpoint.TCS=40, 43"]) == {
        "control": ["reactive", "predictive"], "setpoint.TCS": ["40", "43"]}
    assert parse_vary(["control="]) == {"control": []}
    with pytest.raises(SweepError, match="expected NAME=VALUE"):
        parse_vary(["control"])
    with pytest.raises(SweepError, match="^control: given twice"):
        parse_vary(["control=reactive", "control=predictive"])


def test_toml_file_uses_the_same_names_and_types(tmp_path, plan):
    f = tmp_path / "s.toml"
    f.write_text('days = 1\nrequire = "lost_gpu_hours<=0"\n[vary]\ncontrol = ["reactive", "predictive"]\n'
                 'setpoint.TCS = [40, 43.5]\n"units.FWS" = ["N", "N+1"]\n'
                 'tariff = [0.08, {hourly_usd_per_kwh = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, '
                 '0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 0.3, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1], demand_charge_usd_per_kw = 0}]\n')
    spec = load_sweep_file(f)
    assert spec["days"] == 1 and spec["require"] == ["lost_gpu_hours<=0"]
    assert list(spec["vary"]) == ["control", "setpoint.TCS", "units.FWS", "tariff"]
    sw = define(plan, spec["vary"], days=spec["days"])
    assert len(sw) == 2 * 2 * 2 * 2
    labels = sw.variants[0].labels
    assert labels == {"control": "reactive", "setpoint.TCS": "40", "units.FWS": "N", "tariff": "0.08"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[vary]\ncontrol = "reactive"\n')
    with pytest.raises(SweepError, match="^control: in bad.toml, give a list"):
        load_sweep_file(bad)
    bad.write_text('colour = 1\n[vary]\n')
    with pytest.raises(SweepError, match="unknown key"):
        load_sweep_file(bad)
    bad.write_text('[vary\n')
    with pytest.raises(SweepError, match="not valid TOML"):
        load_sweep_file(bad)


# ------------------------------------------------------------------ variants and transforms

def test_variants_are_the_full_factorial_with_stable_distinct_hashes(plan):
    params = {"control": ["reactive", "predictive"], "containment": ["none", "hot", "cold"]}
    a, b = define(plan, params, days=1), define(copy.deepcopy(plan), params, days=1)
    assert [v.labels for v in a.variants] == [
        {"control": c, "containment": k} for c in ("reactive", "predictive") for k in ("none", "hot", "cold")]
    assert [v.hash for v in a.variants] == [v.hash for v in b.variants]
    assert len({v.hash for v in a.variants}) == 6
    other = copy.deepcopy(plan)
    other.cooling_units[0].rated_capacity_kw += 1.0
    assert not {v.hash for v in define(other, params, days=1).variants} & {v.hash for v in a.variants}
    assert not {v.hash for v in define(plan, params, days=2).variants} & {v.hash for v in a.variants}
    # the same values written differently are the same variant
    assert define(plan, {"setpoint.TCS": ["40"]}, days=1).variants[0].hash == \
        define(plan, {"setpoint.TCS": [40.0]}, days=1).variants[0].hash
    # `--days 1` (float) and a TOML `days = 1` (int) are one sweep: --resume finds its rows either way
    assert define(plan, params, days=1).variants[0].hash == define(plan, params, days=1.0).variants[0].hash


def _reference_canonical(obj):
    """The canonical form the variant hashes were defined with (before define() rendered the plan
    once): a results file written by an earlier dcplan must still be found by ``--resume``."""
    import dataclasses
    import math
    from collections.abc import Mapping
    from datetime import date
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _reference_canonical(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _reference_canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_reference_canonical(v) for v in obj]
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    return obj


def test_variant_hashes_are_content_hashes_of_plan_settings_and_changes(plan):
    import hashlib
    import json
    sw = define(plan, {"weather": ["phoenix", "minneapolis"], "tariff": [0.1, 0.2], "start": ["2025-08-01"],
                       "setpoint.TCS": [40, 43.5], "units.FWS": ["N", "N+1"]}, days=1)
    base = sw.scenario
    settings = {"scenario": base.name, "start": base.start, "horizon_s": base.horizon_s, "days": 1.0, "year": False}
    for v in sw.variants:
        parts = [{"kind": c.kind, "target": c.target, "value": c.value} for c in v.changes]
        text = json.dumps(_reference_canonical([plan, settings, parts, {"weather": v.weather_key}]), sort_keys=True,
                          separators=(",", ":"), allow_nan=False)
        assert v.hash == hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], v.labels
    assert len({v.hash for v in sw.variants}) == len(sw) == 16


def test_every_parameter_kind_has_a_transform_order():
    assert set(KINDS) == set(_ORDER)


def test_weather_variant_moves_the_site_to_the_station_and_its_daylight_saving_zone(plan):
    sw = define(plan, {"weather": ["minneapolis", "phoenix"]}, days=1)
    hdr = load_weather("minneapolis").header
    p, sc = apply_variant(plan, sw.scenario, sw.variants[0].changes)
    assert (p.site.latitude, p.site.longitude, p.site.elevation_m) == (hdr.latitude, hdr.longitude, hdr.elevation_m)
    assert p.site.timezone == "America/Chicago"  # DST-observing zone, standard offset = the file's -6 h
    assert standard_offset_h(p.site.timezone) == hdr.tz_offset_h == -6.0
    assert "Minneapolis" in sc.weather_file and p.site.name == plan.site.name
    assert plan.site.timezone == "America/Phoenix"  # the base plan is not touched
    p2, _ = apply_variant(plan, sw.scenario, sw.variants[1].changes)
    assert p2.site.timezone == "America/Phoenix"


def test_unit_count_rating_setpoint_containment_transforms(plan):
    base_dc = [u for u in plan.cooling_units if u.loop == "FWS"]
    sw = define(plan, {"units.FWS": ["N+2"], "rating.FWS": [700], "setpoint.TCS": [45], "containment": ["hot"],
                       "control": ["predictive"], "tariff": [0.2], "start": ["2025-08-01"]}, days=1)
    before = copy.deepcopy(plan)
    p, sc = apply_variant(plan, sw.scenario, sw.variants[0].changes)
    assert plan == before  # plain-data function: inputs unchanged
    dcs = [u for u in p.cooling_units if u.loop == "FWS"]
    assert [u.name for u in dcs] == [u.name for u in base_dc] + ["DC-05", "DC-06"]
    assert all(u.rated_capacity_kw == 700 for u in dcs)
    # flow, volume and fan power scale with the duty: transit time and specific power unchanged
    f = 700 / base_dc[0].rated_capacity_kw
    assert dcs[-1].flow_m3s == pytest.approx(base_dc[0].flow_m3s * f, rel=1e-12)
    assert dcs[-1].loop_volume_m3 / dcs[-1].flow_m3s == pytest.approx(base_dc[0].loop_volume_m3 / base_dc[0].flow_m3s,
                                                                      rel=1e-12)
    assert dcs[-1].rated_power_kw / 700 == pytest.approx(base_dc[0].rated_power_kw / base_dc[0].rated_capacity_kw,
                                                         rel=1e-12)
    assert installed_cooling_kw(p) == pytest.approx(installed_cooling_kw(plan) - sum(u.rated_capacity_kw for u in base_dc)
                                                    + 6 * 700, abs=1e-9)
    assert {u.supply_setpoint_c for u in p.cooling_units if u.loop == "TCS"} == {45.0}
    assert [(u.name, u.supply_setpoint_c) for u in p.cooling_units
            if u.loop != "TCS" and u.name not in ("DC-05", "DC-06")] == \
        [(u.name, u.supply_setpoint_c) for u in plan.cooling_units if u.loop != "TCS"]
    assert {h.containment for h in p.halls} == {"hot"}
    assert sc.control == "predictive" and sc.tariff.hourly_price_usd_per_kwh == [0.2] * 24
    assert sc.tariff.demand_charge_usd_per_kw == plan.scenarios[0].tariff.demand_charge_usd_per_kw
    assert sc.start == datetime(2025, 8, 1) and sc.horizon_s == 86400.0
    p3, _ = apply_variant(plan, sw.scenario, define(plan, {"units.FWS": ["N-1"]}, days=1).variants[0].changes)
    assert [u.name for u in p3.cooling_units if u.loop == "FWS"] == [u.name for u in base_dc[:-1]]


def test_year_setting_runs_from_first_of_january_for_365_days(plan):
    sw = define(plan, {"control": ["reactive"]}, year=True)
    assert sw.scenario.start == datetime(plan.scenarios[0].start.year, 1, 1)
    assert sw.scenario.horizon_s == 365 * 86400.0


def test_a_row_holds_parameters_then_the_simulate_summary_fields(plan):
    sw = define(plan, {"control": ["reactive", "predictive"], "setpoint.TCS": [43]}, days=1 / 24)
    rows = run_serial(sw)
    assert list(rows[0]) == ["control", "setpoint.TCS"] + [f for f in RESULT_FIELDS if f != "control"]
    from planner.solver import simulate
    p, sc = apply_variant(plan, sw.scenario, sw.variants[1].changes)
    ref = simulate(p, sc).summary()
    got = rows[1]
    assert {k: got[k] for k in ref if k not in TIMING_FIELDS and k != "control"} == \
        {k: v for k, v in ref.items() if k not in TIMING_FIELDS and k != "control"}
    assert got["control"] == "predictive" and got["error"] == "" and got["variant_hash"] == sw.variants[1].hash


def test_a_variant_the_solver_refuses_is_a_row_with_its_error(plan):
    # CRAHs set below the chilled water they cool with: the solver refuses the plan
    # (a 1 kW CDU used to be refused by the step guard; the implicit coupling of issue 12 runs it)
    sw = define(plan, {"setpoint.AIR": [5.0]}, days=1 / 24)
    row = run_serial(sw)[0]
    assert "must be above the 'CHW' setpoint" in row["error"] and row["cost_usd"] is None


# ------------------------------------------------------------------ results file

def _rows(plan):
    sw = define(plan, {"control": ["reactive", "predictive"], "containment": ["none", "hot"]}, days=1 / 24)
    return sw, run_serial(sw)


def test_results_file_resume_keeps_complete_rows_and_drops_an_unfinished_tail(tmp_path, plan):
    sw, rows = _rows(plan)
    out = tmp_path / "r.csv"
    with ResultsFile(out, sw) as rf:
        assert rf.open() == set()
        for r in rows[:3]:
            rf.append(r)
    text = out.read_bytes().decode()
    assert text.count("\r\n") == 4
    out.write_bytes((text + text.splitlines(keepends=True)[1][:40]).encode())  # a crash in mid-record
    with pytest.raises(SweepError, match="holds 3 result"):
        ResultsFile(out, sw).open()  # no --resume: never written over
    rf = ResultsFile(out, sw, resume=True)
    assert rf.open() == {r["variant_hash"] for r in rows[:3]}
    assert rf.dropped_tail
    rf.append(rows[3])
    rf.finish()
    back = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["variant_hash"] for r in back] == [v.hash for v in sw.variants]
    again = ResultsFile(out, sw, resume=True)
    assert again.open() == {v.hash for v in sw.variants}
    again.close()
    assert again.ordered() == [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                               for r in rows]


def test_results_file_refuses_other_sweeps_plans_and_inputs(tmp_path, plan):
    sw, rows = _rows(plan)
    out = tmp_path / "r.csv"
    with ResultsFile(out, sw) as rf:
        rf.open()
        rf.append(rows[0])
    other = define(plan, {"control": ["reactive"], "containment": ["none"]}, days=2 / 24)
    with pytest.raises(SweepError, match="come from another plan or sweep"):
        ResultsFile(out, other, resume=True).open()
    narrower = define(plan, {"control": ["reactive"]}, days=1 / 24)
    with pytest.raises(SweepError, match="columns are not this sweep's"):
        ResultsFile(out, narrower, resume=True).open()
    from models.store import save_plan
    plan_file = tmp_path / "p.dcplan"
    save_plan(plan, str(plan_file))
    with pytest.raises(SweepError, match="is a dcplan plan"):
        ResultsFile(plan_file, sw).open()
    inp = tmp_path / "sweep.toml"
    inp.write_text("[vary]\n")
    with pytest.raises(SweepError, match="is an input"):
        ResultsFile(inp, sw, protect=[inp]).open()


# ------------------------------------------------------------------ ranking

def test_constraints_are_parsed_not_evaluated():
    c = parse_constraint(" lost_gpu_hours <= 0 ")
    assert (c.field, c.op, c.value) == ("lost_gpu_hours", "<=", 0.0)
    assert c.holds({"lost_gpu_hours": 0.0}) and not c.holds({"lost_gpu_hours": 0.1})
    assert not c.holds({"lost_gpu_hours": None})
    assert parse_constraint("max_gpu_temp_c<8.5e1").value == 85.0
    for bad in ("__import__('os').system('true')<=0", "lost_gpu_hours<=x", "lost_gpu_hours=<0", "pue", ""):
        with pytest.raises(SweepError, match="expected FIELD OP NUMBER"):
            parse_constraint(bad)
    with pytest.raises(SweepError, match="'control' is not a numeric result field"):
        parse_constraint("control<=1")


def test_pareto_set_and_best_variant_by_hand():
    rows = [
        {"name": "a", "cost_usd": 100.0, "lost_gpu_hours": 5.0, "installed_cooling_kw": 10.0, "error": ""},
        {"name": "b", "cost_usd": 120.0, "lost_gpu_hours": 0.0, "installed_cooling_kw": 12.0, "error": ""},
        {"name": "c", "cost_usd": 130.0, "lost_gpu_hours": 0.0, "installed_cooling_kw": 11.0, "error": ""},
        {"name": "d", "cost_usd": 110.0, "lost_gpu_hours": 6.0, "installed_cooling_kw": 10.0, "error": ""},
        {"name": "e", "cost_usd": 100.0, "lost_gpu_hours": 5.0, "installed_cooling_kw": 10.0, "error": ""},
        {"name": "f", "cost_usd": 50.0, "lost_gpu_hours": 0.0, "installed_cooling_kw": 1.0, "error": "refused"},
        {"name": "g", "cost_usd": None, "lost_gpu_hours": None, "installed_cooling_kw": 1.0, "error": ""},
    ]
    assert [r["name"] for r in pareto(rows)] == ["a", "e", "b"]  # d dominated by a; c by b; f/g unusable
    assert [r["name"] for r in pareto(rows, ("cost_usd", "lost_gpu_hours", "installed_cooling_kw"))] == \
        ["a", "e", "b", "c"]  # c is smaller than b: a trade-off once capacity counts
    assert best(rows, [parse_constraint("lost_gpu_hours<=0")])["name"] == "b"
    assert best(rows)["name"] == "a"
    assert best(rows, [parse_constraint("cost_usd<10")]) is None


def test_readme_example_sweep_file_defines_the_36_variant_study(tmp_path, plan):
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    f = tmp_path / "sweep.toml"
    f.write_text(block)
    spec = load_sweep_file(f)
    sw = define(plan, spec["vary"], days=spec["days"])
    assert len(sw) == 36 and [parse_constraint(r) for r in spec["require"]]
    assert {v.labels["weather"] for v in sw.variants} == {"phoenix", "minneapolis", "dallas"}
    assert sw.varies_capacity


# ------------------------------------------------------------------ jobs and scheduler variants

JOBS_CSV = """name,gpus,utilization,duration_h,release,deadline,preemptible,priority,kind
big,576,0.95,4,2025-07-02T00:00,2025-07-03T00:00,false,0,training
small,64,0.8,2,2025-07-02T06:00,,true,1,batch
"""


def test_a_bad_jobs_csv_is_refused_with_file_row_and_column(plan, tmp_path):
    bad = tmp_path / "jobs.csv"
    bad.write_text(JOBS_CSV.replace("576", "many"))
    spy = SpyClient()
    with pytest.raises(SweepError, match=r"^jobs: jobs.csv:2: gpus: 'many' is not an integer"):
        run(plan, {"jobs": [str(bad)]}, client=spy, days=1)
    assert spy.calls == []


def test_jobs_variant_runs_exactly_those_jobs(plan, tmp_path):
    """A jobs variant is the plan with the CSV's jobs (times on the variant's own wall clock)."""
    from planner.schedule.jobs_csv import read_jobs_csv
    from planner.solver import simulate
    from planner.solver.results import SUMMARY_FIELDS

    path = tmp_path / "jobs.csv"
    path.write_text(JOBS_CSV)
    sw = define(plan, {"jobs": [str(path)]}, days=0.5)
    p, sc = apply_variant(sw.plan, sw.scenario, sw.variants[0].changes, sw.settings)
    assert [j.name for j in p.jobs] == ["big", "small"] and sc.load == "jobs"
    assert p.jobs == read_jobs_csv(path, sw.scenario.start, plan.site.timezone)
    [row] = run_serial(sw)
    direct = simulate(p, sc, record=("summary",)).summary()
    assert {k: row[k] for k in SUMMARY_FIELDS if k not in TIMING_FIELDS} == \
        {k: direct[k] for k in SUMMARY_FIELDS if k not in TIMING_FIELDS}


def test_scheduler_variant_rows_are_the_verified_schedules(plan, tmp_path):
    """Each scheduler variant schedules the variant's jobs and reports the solver's figures of exactly
    that schedule, plus the scheduler's own (missed deadlines, model cost, gap)."""
    from planner.schedule import schedule

    path = tmp_path / "jobs.csv"
    path.write_text(JOBS_CSV)
    sw = define(plan, {"scheduler": ["fcfs", "greedy"], "jobs": [str(path)]}, days=1, schedule_time_limit_s=30)
    rows = run_serial(sw)
    assert [r["scheduler"] for r in rows] == ["fcfs", "greedy"]
    for r, v in zip(rows, sw.variants):
        p, sc = apply_variant(sw.plan, sw.scenario, v.changes, sw.settings)
        ref = schedule(p, sc, method=r["scheduler"], time_limit_s=30)
        summary = ref.simulation.summary()
        for k in ("cost_usd", "facility_energy_kwh", "throttled_gpu_hours", "peak_15min_facility_kw"):
            assert r[k] == pytest.approx(summary[k], rel=1e-9), k
        assert r["missed_deadlines"] == len(ref.missed) and r["unscheduled_jobs"] == len(ref.unscheduled)
        assert r["model_cost_usd"] == pytest.approx(ref.model_cost_usd, rel=1e-9)
        assert r["error"] == ""
    assert list(rows[0])[-1] == "variant_hash" and "schedule_gap" in rows[0]
    # the budget is part of what a scheduler variant is: another budget, another hash
    other = define(plan, {"scheduler": ["fcfs", "greedy"], "jobs": [str(path)]}, days=1, schedule_time_limit_s=10)
    assert not {v.hash for v in other.variants} & {v.hash for v in sw.variants}
