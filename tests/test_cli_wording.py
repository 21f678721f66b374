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
