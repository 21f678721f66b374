"""The jobs CSV writer: what ``planner.schedule.jobs_csv.read_jobs_csv`` reads back (Qt-free)."""
from __future__ import annotations

from datetime import datetime

import pytest

from planner.plan import Job
from planner.schedule.jobs_csv import COLUMNS, jobs_csv_text, read_jobs_csv


@pytest.mark.parametrize("tz", ["UTC", "America/Phoenix", "America/New_York"])
def test_written_jobs_read_back_the_same_across_daylight_saving(tmp_path, tz):
    start = datetime(2025, 11, 1)  # New York falls back on 2 November: 01:00-02:00 happens twice
    jobs = [Job("a", 8, 0.75, 3600.0 * 1.5, release_s=0.0, deadline_s=86400.0 * 3, preemptible=True, priority=2),
            Job("in-the-repeated-hour", 16, 1.0, 600.0, release_s=86400.0 + 2.5 * 3600, start_s=86400.0 + 2.5 * 3600,
                kind="inference"),
            Job("odd-seconds", 1, 0.5, 7.0, release_s=12345.0)]
    text = jobs_csv_text(jobs, start, tz)
    assert text.splitlines()[0] == ",".join(COLUMNS)
    p = tmp_path / "jobs.csv"
    p.write_text(text)
    assert read_jobs_csv(p, start, tz) == jobs


def test_an_ambiguous_wall_time_carries_its_offset():
    text = jobs_csv_text([Job("x", 1, 1.0, 60.0, release_s=86400.0 + 2.5 * 3600)], datetime(2025, 11, 1),
                         "America/New_York")
    assert "2025-11-02T01:30-05:00" in text  # the second 01:30 (EST), not the first (EDT)
