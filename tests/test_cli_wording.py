"""The command line talks like an engineer: money, overridden loads, ratios, explained counts, help."""
from __future__ import annotations

import json
import re

import pytest

from ui.cli import main
from ui.cli_text import money, ratio_text


@pytest.mark.parametrize("usd, cents, text", [
    (631821.10, False, "$631,821"), (631821.10, True, "$631,821.10"), (-1200.4, False, "-$1,200"),
    (0.2, False, "$0"), (-0.2, False, "$0"), (None, False, "-"), (float("nan"), False, "-"),
])
def test_money_reads_like_money(usd, cents, text):
    assert money(usd, cents) == text


def test_a_ratio_over_zero_says_so_in_words():
    assert ratio_text(12.0, 4.0, "Phoenix", "Minneapolis", "throttled GPU-hours", "GPU·h") == \
        "3.0 times (12.0 GPU·h against 4.0 GPU·h)"
    assert ratio_text(12.0, 0.0, "Phoenix", "Minneapolis", "throttled GPU-hours", "GPU·h") == \
        "no ratio: Minneapolis had no throttled GPU-hours (Phoenix 12.0 GPU·h)"
    assert ratio_text(0.0, 0.0, "Phoenix", "Minneapolis", "throttled GPU-hours") == \
        "no ratio: neither Phoenix nor Minneapolis had any throttled GPU-hours"


def test_simulate_text_money_load_label_and_explained_counts(demo_file_shared, capsys):
    assert main(["simulate", str(demo_file_shared), "--days", "0.05", "--load", "full"]) == 0
    out = capsys.readouterr().out
    lines = {line[:24].strip(): line[24:].strip() for line in out.splitlines() if len(line) > 24}
    assert lines["scenario"] == ("continuous full load (--load full) on the dates and weather of scenario "
                                 "'Hottest July week (jobs)'")
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*", lines["cost"]), lines["cost"]  # "$256", not "256.10 $"
    assert "GPUs (spells of a GPU below full clock; a spell ends after 5 minutes at full clock)" in \
        lines["throttle episodes"]
    assert lines["GPUs throttled"].endswith("of 1344 (GPUs that slowed down at least once)")
    # times as a clock shows them, with the zone; thousands separated; every count explained
    assert lines["start"] == "2025-07-02 00:00 local time (America/Phoenix)" and lines["simulated"] == "1.2 h"
    assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d kWh", lines["facility energy"]), lines["facility energy"]
    assert lines["most throttled at once"].endswith("% of GPUs (the largest share of GPUs slowed down at the same "
                                                    "moment)")
    assert "(demanded GPU work not done because throttled GPUs ran slower)" in lines["lost GPU-hours"]
    hottest = next(line for line in out.splitlines() if line.startswith("hottest GPU:"))
    assert re.search(r" at 2025-07-02 \d\d:\d\d in rack ", hottest), hottest
    assert "T" not in out.split("hottest GPU:")[1].split("\n")[0].split(" in rack")[0]


def test_days_that_are_not_whole_steps_are_rounded_and_said(demo_file_shared, capsys):
    assert main(["simulate", str(demo_file_shared), "--days", "0.02", "--json"]) == 0  # 1,728 s: refused before
    cap = capsys.readouterr()
    assert json.loads(cap.out)["horizon_s"] == 1730.0
    assert cap.err.startswith("note: --days 0.02 is 1,728 s; simulating 1,730 s (0.0200231 days), a whole "
                              "number of 10 s steps")
    # absurd periods reach the solver's size guard as before (one line, exit 2), not an overflow
    assert main(["simulate", str(demo_file_shared), "--step", "1e308", "--days", "1e308"]) == 2
    assert main(["simulate", str(demo_file_shared), "--days", "1e308"]) == 2
    assert "internal error" not in capsys.readouterr().err


def test_simulate_json_says_which_load_ran(demo_file_shared, capsys):
    assert main(["simulate", str(demo_file_shared), "--days", "0.05", "--load", "full", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["scenario"], out["load"]) == ("Hottest July week (jobs)", "full")
    assert out["scenario_label"].startswith("continuous full load (--load full)")
    assert main(["simulate", str(demo_file_shared), "--days", "0.05", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["scenario_label"], out["load"]) == ("Hottest July week (jobs)", "jobs")


def test_control_and_load_help_give_choices_and_defaults_from_the_code(capsys):
    from planner.plan import Scenario
    from planner.solver.model import CONTROL_MODES
    from ui import cli_sim

    assert cli_sim.CONTROL_CHOICES is CONTROL_MODES  # read, never copied
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    control = text[text.rindex("--control {"):]  # the option's entry, after the usage line
    control = control[control.index("}") + 1:control.index("--load")]
    assert all(m in control for m in CONTROL_MODES)
    assert f"(default: the scenario's, {Scenario.control} when the plan has no scenario)" in control
    load = text[text.rindex("--load {jobs,full}") + len("--load {jobs,full}"):text.rindex("--json")]
    assert "jobs: the plan's job list; full: every GPU busy all the time" in load
    assert "(default: the scenario's, full when the plan has no scenario)" in load


def test_study_phoenix_labels_each_run_and_words_a_zero_ratio(monkeypatch, capsys):
    from planner.solver import studies

    city = {"day": "2025-07-19", "max_ambient_c": 40.0, "max_gpu_temp_c": 88.0, "throttled_gpu_hours_day": 0.0,
            "afternoon_14_18": {"max_throttled_fraction": 0.0}, "night_02_06": {"max_throttled_fraction": 0.0}}

    def fake(name, progress=None, on_run=None):  # the study's protocol, without two days of simulation
        for i, label in enumerate(("phoenix: demo hall at full load", "minneapolis: demo hall at full load")):
            on_run(label, i, 2)
            for k in range(1, 11):
                progress((i + k / 10) / 2)
        return {"step_s": 10.0, "cities": ["phoenix", "minneapolis"],
                "phoenix": {**city, "day": "2025-07-16", "throttled_gpu_hours_day": 15.5},
                "minneapolis": city, "ratio_phoenix_to_minneapolis": None}

    monkeypatch.setattr(studies, "run_study", fake)
    from ui import progress
    monkeypatch.setattr(progress, "QUIET_S", 0.0)  # the fake study takes no time: lines from the start
    assert main(["study", "phoenix"]) == 0
    cap = capsys.readouterr()
    err = cap.err.splitlines()
    assert "study phoenix: run 1 of 2: phoenix: demo hall at full load" in err
    assert "study phoenix: run 2 of 2: minneapolis: demo hall at full load" in err
    assert any(line.startswith("study phoenix, run 1 of 2:  40 %") for line in err)
    assert any(line.startswith("study phoenix, run 2 of 2: 100 %") for line in err)
    assert "∞" not in cap.out
    assert ("Phoenix / Minneapolis throttled GPU-hours: no ratio: Minneapolis had no throttled GPU-hours "
            "(Phoenix 15.5 GPU·h)") in cap.out


def test_info_and_check_read_as_words_with_units(demo_file_shared, capsys):
    assert main(["info", str(demo_file_shared)]) == 0
    lines = dict(line.split(None, 1) if not line[:20].strip().count(" ") else (line[:20].strip(), line[20:].strip())
                 for line in capsys.readouterr().out.splitlines())
    assert lines["IT at max"] == "2,035.2 kW" and lines["GPUs"] == "1,344"
    assert lines["headroom"] == "-644.4 kW (cooling capacity − IT at max)"  # Phoenix's design day (issue 11)
    assert lines["cooling capacity"] == "1,390.8 kW at the 43.4 °C design day (plant derated for the heat)"
    assert lines["site"] == "Phoenix AI Campus (America/Phoenix)"
    assert lines["scenarios"] == "Hottest July week (jobs), 'Hottest July day, full load'"  # the comma is in a name
    assert main(["check", str(demo_file_shared)]) == 1  # the demo's plant is short on Phoenix's design day
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("2 errors, 5 warnings; 32 racks, 104 servers, 1,344 GPUs, 2,035.2 kW IT at max")


def test_schedule_text_explains_its_baseline_and_model_cost(capsys):
    from ui.cli_schedule import _print_text

    row = {"cost_usd": 24836.0, "facility_energy_kwh": 206312.0, "peak_15min_facility_kw": 1630.0,
           "throttled_gpu_hours": 0.0, "lost_gpu_hours": 0.0, "max_gpu_temp_c": 85.4, "night_gpu_hours_share": 0.355,
           "missed_deadlines": 1}
    _print_text({**row, "method": "optimal", "scheduled": 36, "jobs": 36, "slot_min": 15.0, "verify_rounds": 1,
                 "solve_time_s": 5.1, "model_cost_usd": 24770.06, "lower_bound_usd": 24700.0, "gap": 0.0028,
                 "baseline": {**row, "cost_usd": 25782.0, "missed_deadlines": 4}})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("optimal: 36 of 36 jobs scheduled (15-min slots), 1 missed deadline, 1 re-schedule (after the "
                      "verifying simulation found too little headroom), solve 5.10 s")
    assert out[1].endswith("(fcfs: first come, first served, the baseline)")
    assert out[-1] == ("model cost $                     24,770   (the scheduler's own estimate; the cost row is the "
                       "solver's verified figure); bound $24,700, gap 0.28% (no schedule can cost less than the bound)")

