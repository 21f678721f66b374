"""``dcplan simulate`` / ``dcplan study`` end to end (no Qt)."""
from __future__ import annotations

import csv
import json

import pytest

from ui.cli import main

SUMMARY_KEYS = {"it_energy_kwh", "facility_energy_kwh", "pue", "cost_usd", "peak_it_kw", "peak_facility_kw",
                "max_gpu_temp_c", "max_inlet_temp_c", "throttle_events", "throttled_gpu_hours", "lost_gpu_hours",
                "max_throttled_fraction", "servers", "steps", "wall_time_s"}
CSV_COLUMNS = ["time", "ambient_c", "it_kw", "cooling_kw", "facility_kw", "supply_temp_c", "max_gpu_temp_c",
               "throttled_fraction"]


@pytest.fixture(scope="module")
def demo_servers():
    """Server count of whatever the public demo builder returns (the demo's size is the lead's to change)."""
    from planner.demo import build_demo_plan
    return len(build_demo_plan().servers)


def test_simulate_json_and_timeseries(demo_file_shared, demo_servers, tmp_path, capsys):
    out_csv = tmp_path / "ts.csv"
    rc = main(["simulate", str(demo_file_shared), "--scenario", "1", "--start", "2025-07-16", "--days", "0.25",
               "--step", "10", "--control", "predictive", "--json", "--timeseries", str(out_csv)])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert SUMMARY_KEYS <= set(summary)
    assert summary["servers"] == demo_servers and summary["steps"] == 2160 and summary["control"] == "predictive"
    assert summary["stepping"] == "fixed" and summary["jobs_repeated"] is False
    (month,) = summary["monthly"]
    assert month["month"] == "2025-07" and month["cost_usd"] == pytest.approx(summary["cost_usd"], rel=1e-9)
    assert len(summary["throttle_hours_by_month_hour"]) == 12
    assert all(len(row) == 24 for row in summary["throttle_hours_by_month_hour"])
    rows = list(csv.reader(out_csv.open()))
    assert rows[0][:len(CSV_COLUMNS)] == CSV_COLUMNS
    assert len(rows) == 1 + 360  # one row per minute for 6 h
    assert rows[1][0] == "2025-07-16T00:00:00" and rows[-1][0] == "2025-07-16T05:59:00"
    it = [float(r[2]) for r in rows[1:]]
    assert max(it) == pytest.approx(summary["peak_it_kw"], rel=1e-6)


def test_simulate_text_prints_the_monthly_table_for_long_runs(demo_file_shared, capsys, monkeypatch):
    """Runs of four weeks or more print monthly energy/PUE/cost/peak demand and the throttling table
    (threshold lowered here so a 6-hour run shows it)."""
    from ui import cli_sim
    monkeypatch.setattr(cli_sim, "MONTHLY_TABLE_MIN_S", 0.0)
    assert main(["simulate", str(demo_file_shared), "--scenario", "1", "--start", "2025-07-16", "--days", "0.25",
                 "--step", "10"]) == 0
    out = capsys.readouterr().out
    assert "PUE" in out and "peak kW" in out
    line = next(x for x in out.splitlines() if x.startswith("2025-07"))
    assert len(line.split()) == 9
    assert "no throttling" in out  # midnight to 6 a.m.


def test_simulate_errors_are_one_line(demo_file_shared, capsys):
    assert main(["simulate", str(demo_file_shared), "--step", "1000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dcplan: error:") and "900 s" in err and "Traceback" not in err
    assert main(["simulate", str(demo_file_shared) + ".missing"]) == 2
    assert main(["simulate", str(demo_file_shared), "--weather", "nowhere.epw"]) == 2
    assert "nowhere.epw" in capsys.readouterr().err
    assert main(["simulate", str(demo_file_shared), "--start", "16/07/2025"]) == 2


def test_study_pump_lag_json(capsys, monkeypatch):
    """The --json shape (issue #11): ``band`` objects at 90 s lag and the smallest ``reduction``; the lag
    sweep shortened to 90 s here (the full study: tests/test_solver_stories.py)."""
    import functools

    from planner.solver import studies
    monkeypatch.setattr(studies, "pump_lag_study", functools.partial(studies.pump_lag_study, lags_s=(90.0,)))
    assert main(["study", "pump-lag", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["band"]) == 5
    for row in out["band"]:
        assert set(row) == {"setpoint_c", "reactive_lost_gpu_hours", "predictive_lost_gpu_hours",
                            "predictive_throttle_lost_gpu_hours"}
    assert [r["setpoint_c"] for r in out["band"]] == pytest.approx([out["setpoint_c"] + d for d in
                                                                    (-0.5, 0.0, 0.5, 1.0, 1.5)])
    assert out["reduction"] >= 0.7 and [r["lag_s"] for r in out["sweep"]] == [90.0]
    from ui.cli_sim import _print_study
    _print_study("pump-lag", out)  # the text report of the same figures
    text = capsys.readouterr().out
    assert "s* =" in text and "reduction" in text and "forecast error: burst start ±60 s, power ±10 %" in text


def test_simulate_stepping_options(demo_file_shared, capsys):
    """--step selects fixed stepping, --rtol adaptive (with --step as its base), --no-repeat runs the
    job list once; bad tolerances and --year with --days are one-line errors."""
    args = ["simulate", str(demo_file_shared), "--days", "0.5", "--json"]
    assert main(args + ["--step", "10"]) == 0
    fixed = json.loads(capsys.readouterr().out)
    assert fixed["stepping"] == "fixed" and fixed["steps"] == 4320
    assert main(args + ["--rtol", "1e-3", "--step", "10"]) == 0
    adaptive = json.loads(capsys.readouterr().out)
    assert adaptive["stepping"] == "adaptive" and adaptive["steps"] < fixed["steps"]
    assert adaptive["cost_usd"] == pytest.approx(fixed["cost_usd"], rel=2e-3)
    assert main(args + ["--rtol", "0"]) == 2
    assert "--rtol" in capsys.readouterr().err
    assert main(["simulate", str(demo_file_shared), "--year", "--days", "2"]) == 2
    assert "--year" in capsys.readouterr().err
