"""``dcplan schedule``: jobs CSV errors (every class), JSON keys, --out, --save and the schedule the
solver then runs, the plan untouched on bad input."""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import replace

import pytest

from models.store import load_plan, save_plan
from planner.demo import build_demo_plan
from planner.plan import Job, Scenario
from planner.schedule.jobs_csv import JobsCsvError, read_jobs_csv
from planner.solver import simulate
from ui.cli import main

HEADER = "name,gpus,utilization,duration_h,release,deadline,preemptible,priority,kind,start\n"
GOOD = "a,8,0.9,2,2025-07-02T00:00,2025-07-02T12:00,false,1,training,\n"


def _csv(tmp_path, text, name="jobs.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("text, expected", [
    (HEADER.replace("gpus,", "") + "a,0.9,2,2025-07-02T00:00,,false,1,training,\n", ["jobs.csv:1: gpus: required column is missing"]),
    (HEADER.replace("\n", ",colour\n") + GOOD.replace("\n", ",red\n"), ["jobs.csv:1: colour: unknown column"]),
    (HEADER + "a,eight,0.9,2,2025-07-02T00:00,,false,1,training,\n", ["jobs.csv:2: gpus: 'eight' is not an integer"]),
    (HEADER + "a,0,0.9,2,2025-07-02T00:00,,false,1,training,\n", ["jobs.csv:2: gpus: 0 must be ≥ 1"]),
    (HEADER + "a,8,1.5,2,2025-07-02T00:00,,false,1,training,\n", ["jobs.csv:2: utilization: 1.5 must be ≤ 1"]),
    (HEADER + "a,8,0.9,0,2025-07-02T00:00,,false,1,training,\n", ["jobs.csv:2: duration_h: 0 must be > 0"]),
    (HEADER + "a,8,0.9,nan,2025-07-02T00:00,,false,1,training,\n", ["jobs.csv:2: duration_h: 'nan' is not a finite number"]),
    (HEADER + "a,8,0.9,2,July 2nd,,false,1,training,\n", ["jobs.csv:2: release: 'July 2nd' is not an ISO 8601"]),
    (HEADER + "a,8,0.9,2,,,false,1,training,\n", ["jobs.csv:2: release: empty"]),
    (HEADER + "a,8,0.9,2,2025-07-02T05:00,2025-07-02T04:00,false,1,training,\n", ["jobs.csv:2: deadline: must be after release"]),
    (HEADER + "a,8,0.9,2,2025-07-02T00:00,,maybe,1,training,\n", ["jobs.csv:2: preemptible: 'maybe' is not true/false"]),
    (HEADER + "a,8,0.9,2,2025-07-02T00:00,,false,high,training,\n", ["jobs.csv:2: priority: 'high' is not an integer"]),
    (HEADER + "a,8,0.9,2,2025-07-02T00:00,,false,1,render,\n", ["jobs.csv:2: kind: 'render' is not one of"]),
    (HEADER + GOOD + GOOD, ["jobs.csv:3: name: 'a' already on row 2"]),
    (HEADER + ",8,0.9,2,2025-07-02T00:00,,false,1,training,\n", ["jobs.csv:2: name: empty"]),
    (HEADER + GOOD.replace("\n", ",x,y\n"), ["jobs.csv:2: 12 cells, the header has 10 columns"]),
    (HEADER, ["jobs.csv: no job rows"]),
    ("", ["jobs.csv:1: no header row"]),
    # several problems in several rows: every one reported
    (HEADER + "a,x,2,2,2025-07-02T00:00,,false,1,training,\nb,8,0.9,-1,bad,,false,1,training,\n",
     ["jobs.csv:2: gpus:", "jobs.csv:2: utilization: 2 must be ≤ 1", "jobs.csv:3: duration_h:", "jobs.csv:3: release:"]),
])
def test_bad_jobs_csv_every_problem_named(tmp_path, text, expected):
    p = _csv(tmp_path, text)
    with pytest.raises(JobsCsvError) as exc:
        read_jobs_csv(p, build_demo_plan().scenarios[0].start, "America/Phoenix")
    lines = str(exc.value).splitlines()
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected):
        assert line.startswith(want), line


def test_not_utf8_and_missing_file(tmp_path):
    p = tmp_path / "jobs.csv"
    p.write_bytes(HEADER.encode() + b"caf\xe9,8,0.9,2,2025-07-02T00:00,,false,1,training,\n")
    with pytest.raises(JobsCsvError, match=r"jobs.csv: not UTF-8"):
        read_jobs_csv(p, build_demo_plan().scenarios[0].start)
    with pytest.raises(JobsCsvError, match=r"nope.csv: file not found"):
        read_jobs_csv(tmp_path / "nope.csv", build_demo_plan().scenarios[0].start)


def test_good_csv_reads_local_times_defaults_and_fixed_start(tmp_path):
    start = build_demo_plan().scenarios[0].start
    p = _csv(tmp_path, "Name,GPUs,duration_h,release,start\nx,16,1.5,2025-07-02T06:30,2025-07-02T07:00\n")
    (j,) = read_jobs_csv(p, start, "America/Phoenix")
    assert (j.name, j.gpus, j.utilization, j.duration_s, j.release_s, j.deadline_s, j.kind, j.start_s, j.preemptible,
            j.priority) == ("x", 16, 1.0, 5400.0, 6.5 * 3600, None, "training", 7 * 3600.0, False, 0)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def day_plan_file(tmp_path):
    """The demo hall for one day with a handful of jobs (fast)."""
    plan = build_demo_plan()
    sc = replace(plan.scenarios[0], name="day", horizon_s=86400.0)
    plan.scenarios = [sc]
    plan.jobs = [Job("serve", 64, utilization=0.5, duration_s=86400.0, kind="inference", start_s=0.0),
                 Job("train-a", 576, utilization=0.95, duration_s=6 * 3600.0, release_s=0.0, deadline_s=86400.0),
                 Job("train-b", 256, utilization=0.9, duration_s=4 * 3600.0, release_s=3600.0, deadline_s=20 * 3600.0),
                 Job("eval", 16, utilization=0.7, duration_s=3600.0, release_s=7200.0, deadline_s=12 * 3600.0,
                     kind="batch", preemptible=True)]
    path = tmp_path / "p.dcplan"
    save_plan(plan, path)
    return path


def test_bad_csv_exits_2_and_leaves_the_plan_untouched(tmp_path, day_plan_file, capsys):
    before = _sha(day_plan_file)
    bad = _csv(tmp_path, HEADER + "a,x,0.9,2,2025-07-02T00:00,,false,1,training,\n")
    assert main(["schedule", str(day_plan_file), "--jobs", str(bad), "--save", "--json"]) == 2
    err = capsys.readouterr().err
    assert "dcplan: error: jobs.csv:2: gpus: 'x' is not an integer" in err
    assert _sha(day_plan_file) == before


def test_unschedulable_jobs_reported_by_name_exit_0(tmp_path, day_plan_file, capsys):
    jobs = _csv(tmp_path, HEADER + GOOD + "huge,5000,0.9,2,2025-07-02T00:00,,false,1,training,\n"
                "late,8,0.9,5,2025-07-02T10:00,2025-07-02T12:00,false,1,training,\n")
    assert main(["schedule", str(day_plan_file), "--jobs", str(jobs), "--json", "--method", "greedy"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["unscheduled"] == ["huge", "late"]
    assert "5000 GPUs" in out["unscheduled_reasons"]["huge"] and "deadline" in out["unscheduled_reasons"]["late"]
    assert out["scheduled"] == 1 and out["jobs"] == 3 and out["missed_deadlines"] == 2


def test_schedule_json_out_and_save_then_simulate_runs_exactly_that_schedule(tmp_path, day_plan_file, capsys):
    out_csv = tmp_path / "schedule.csv"
    assert main(["schedule", str(day_plan_file), "--method", "greedy", "--json", "--out", str(out_csv), "--save"]) == 0
    s = json.loads(capsys.readouterr().out)
    for key in ("method", "jobs", "scheduled", "unscheduled", "missed_deadlines", "cost_usd", "facility_energy_kwh",
                "peak_15min_facility_kw", "throttled_gpu_hours", "lost_gpu_hours", "max_gpu_temp_c",
                "night_gpu_hours_share", "solve_time_s", "model_cost_usd", "lower_bound_usd", "gap", "verify_rounds",
                "baseline"):
        assert key in s, key
    assert s["method"] == "greedy" and s["lower_bound_usd"] is None and s["gap"] is None
    assert s["baseline"]["method"] == "fcfs" and "baseline" not in s["baseline"]
    rows = list(csv.DictReader(out_csv.open()))
    assert [r for r in rows[0]] == ["name", "start", "end", "loop", "servers", "gpus"]
    plan = load_plan(day_plan_file)
    by_name = {j.name: j for j in plan.jobs}
    for r in rows:
        j = by_name[r["name"]]
        pairs = tuple((a, int(b)) for a, b in (x.split(":") for x in r["servers"].split(";")))
        assert j.placement == pairs and sum(g for _, g in pairs) == int(r["gpus"]) == j.gpus
        assert r["start"][14:16] in ("00", "15", "30", "45") and r["start"][17:] == "00"  # slot boundaries
    # the saved plan simulates to the figures the scheduler reported: same schedule, same solver
    res = simulate(plan, plan.scenarios[0])
    for key in ("cost_usd", "throttled_gpu_hours", "facility_energy_kwh", "max_gpu_temp_c"):
        assert res.summary()[key] == pytest.approx(s[key], rel=1e-9, abs=1e-9), key
    # --save never writes over another output and --out never over the plan
    assert main(["schedule", str(day_plan_file), "--out", str(day_plan_file)]) == 2
    assert "plan" in capsys.readouterr().err


def test_options_by_full_name_only_and_bad_values(day_plan_file, capsys):
    with pytest.raises(SystemExit):
        main(["schedule", str(day_plan_file), "--meth", "fcfs"])
    assert main(["schedule", str(day_plan_file), "--slot", "7"]) == 2  # 24 h is 205.7 slots of 7 min
    assert "whole number" in capsys.readouterr().err
    assert main(["schedule", str(day_plan_file), "--time-limit", "0"]) == 2


def test_fcfs_one_loop_per_job_and_plan_order(day_plan_file):
    from planner.schedule import schedule
    plan = load_plan(day_plan_file)
    res = schedule(plan, method="fcfs")
    loops = {}
    for s in plan.servers:
        r = plan.rack_map()[s.rack]
        loops[s.name] = r.liquid_loop if r.liquid_loop else r.air_loop
    for j in res.jobs:
        assert len({loops[name] for name, _ in j.placement}) == 1  # one piece on one loop
        assert sum(g for _, g in j.placement) == j.gpus
    assert isinstance(plan.scenarios[0], Scenario)


def test_cancel_and_progress(day_plan_file):
    from planner.schedule import ScheduleCancelled, schedule
    plan = load_plan(day_plan_file)
    with pytest.raises(ScheduleCancelled):
        schedule(plan, method="greedy", cancel=lambda: True)
    seen = []
    res = schedule(plan, method="backfill", progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and all(b >= a - 1e-12 for a, b in zip(seen, seen[1:]))
    assert res.method == "backfill" and res.baseline["method"] == "fcfs"
