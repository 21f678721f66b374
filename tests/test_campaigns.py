"""Seeded samples of the fault and fuzz campaigns (benchmarks/fault_campaign.py, fuzz_campaign.py).

The full campaigns (200+ kill -9 runs, thousands of fuzz cases) run as scripts; these samples keep
their promises checked in ``make test``: after a kill -9 the plan is the old or the new complete
file, no half output sits under a final name, no mixed export set imports; a damaged plan or a
hostile argument never gives exit 3, never hangs, never changes the input."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import fault_campaign  # noqa: E402
import fuzz_campaign  # noqa: E402

pytestmark = pytest.mark.slow


def test_fault_campaign_sample(tmp_path):
    out = fault_campaign.run(16, seed=20260801, work=tmp_path, follow_every=8, small=True)
    assert out["runs"] == 16 and out["killed"] >= 8, out
    assert out["failures"] == 0, out["failure_examples"]


def test_fuzz_campaign_sample(tmp_path):
    out = fuzz_campaign.run(plans=8, csvs=24, args=6, paths=4, seed=20260801, workers=1, timeout=120, work=tmp_path)
    assert out["cases"] == 42 and out["command_runs"] == 8 * 5 + 24 + 6 + 4, out
    assert out["cases_by_kind"] == {"plan": 8, "csv": 24, "args": 6, "path": 4}, out
    csv_codes = out["by_kind"]["csv"]["exit_codes"]
    assert csv_codes.get("import:0", 0) >= 2 and csv_codes.get("import:1", 0) >= 2, csv_codes  # both outcomes met
    assert out["failures"] == 0 and out["hangs"] == 0, out["failure_examples"]
