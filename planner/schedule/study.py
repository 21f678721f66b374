"""Bundled study ``night-shift`` (seed story 4): which jobs should run between 22:00 and 06:00?

The demo hall in its Phoenix July week (:data:`planner.demo.DEMO_WEEK_START`, the demo's first
scenario and tariff) runs the demo week's jobs plus four training jobs of 576 GPUs × 8 h
(utilisation 0.95, released at the start of the week, due at its end), shipped as
``assets/jobs/night_shift_week.csv`` in the jobs CSV format. Every method schedules the same jobs;
the solver runs each schedule. Reported per method: the ``schedule --json`` figures, and for the
four large jobs the share of their GPU-hours between 22:00 and 06:00, 02:00 and 06:00 and
12:00 and 20:00 local time.
"""
from __future__ import annotations

import csv
from datetime import timedelta

from planner.assets import resolve_asset

from .errors import ScheduleInputError
from .jobs_csv import read_jobs_csv
from .scheduler import METHODS, schedule_many

CSV_NAME = "jobs/night_shift_week.csv"
LARGE_GPUS, LARGE_HOURS, LARGE_UTILIZATION, LARGE_COUNT = 576, 8.0, 0.95, 4
WINDOWS = {"night_22_06": (22, 6), "early_02_06": (2, 6), "afternoon_12_20": (12, 20)}
#: Wall-clock budget of each method [s]. ``optimal``'s neighbourhood search on this week needs about
#: 75 s of CPU to converge (measured; 2-3× that in wall time on a loaded machine): with 600 s it ends by
#: itself, so the study's schedule is the same on any machine (``search_complete`` in its figures).
STUDY_TIME_LIMIT_S = 600.0


def night_shift_jobs():
    """The study's jobs: the demo week's (:func:`planner.demo.demo_week_jobs`) plus the four large ones."""
    from planner.demo import build_demo_plan
    from planner.plan import Job
    plan = build_demo_plan()
    week = plan.scenarios[0].horizon_s
    large = [Job(name=f"large-train-{k + 1}", gpus=LARGE_GPUS, utilization=LARGE_UTILIZATION,
                 duration_s=LARGE_HOURS * 3600.0, release_s=0.0, deadline_s=week, preemptible=False, priority=8,
                 kind="training") for k in range(LARGE_COUNT)]
    return list(plan.jobs) + large


def write_night_shift_csv(path) -> None:
    """Write the study's jobs CSV (how ``assets/jobs/night_shift_week.csv`` was made)."""
    from planner.demo import DEMO_WEEK_START
    from planner.outputs import atomic_output

    def iso(s):
        return (DEMO_WEEK_START + timedelta(seconds=s)).isoformat(timespec="seconds")
    with atomic_output(path) as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["name", "gpus", "utilization", "duration_h", "release", "deadline", "preemptible", "priority",
                    "kind", "start"])
        for j in night_shift_jobs():
            w.writerow([j.name, j.gpus, repr(j.utilization), repr(j.duration_s / 3600.0), iso(j.release_s),
                        "" if j.deadline_s is None else iso(j.deadline_s), str(j.preemptible).lower(), j.priority,
                        j.kind, "" if j.start_s is None else iso(j.start_s)])


def night_shift_results(progress=None, time_limit_s: float = STUDY_TIME_LIMIT_S, methods=METHODS,
                        tariff: str = "demo"):
    """``(plan, scenario, {method: ScheduleResult}, names of the large jobs)`` of the night-shift week under
    ``tariff``, a name of :data:`planner.demo.DEMO_TARIFFS` (``demo``: the demo scenario's own)."""
    from dataclasses import replace

    from planner.demo import DEMO_TARIFFS, build_demo_plan
    if tariff not in DEMO_TARIFFS:
        raise ScheduleInputError(f"tariff must be one of {', '.join(DEMO_TARIFFS)}, got {tariff!r}")
    plan = build_demo_plan()
    sc = replace(plan.scenarios[0], tariff=DEMO_TARIFFS[tariff]())
    jobs = read_jobs_csv(resolve_asset(CSV_NAME), sc.start, plan.site.timezone)
    large = [j.name for j in jobs if j.gpus == LARGE_GPUS and j.duration_s == LARGE_HOURS * 3600.0]
    results = schedule_many(plan, sc, tuple(methods), jobs=jobs, time_limit_s=time_limit_s, progress=progress)
    return plan, sc, results, large


def bill_breakdown(res, tariff) -> dict:
    """Where a verified schedule's bill goes, from the solver's minute record (JSON-ready).

    ``energy_by_price``: per tariff price [$/kWh] the hours at that price, the facility energy [kWh]
    and its cost [$] (their sum is the solver's ``energy_cost_usd``); ``demand_charge_usd``, the peak
    15-min facility power inside the tariff's on-peak demand window and outside it [kW], what each
    bills [$], and ``demand_share_of_month`` (a run shorter than its billing month pays that share of
    the month's charges, :mod:`planner.solver.energy`); the facility energy by where it goes: IT,
    cooling, electrical chain losses, lighting and other loads [kWh].
    """
    import numpy as np

    from planner.solver.ambient import local_hour

    sim = res.simulation
    t = np.asarray(sim.time_s, float)
    dt = np.diff(np.r_[t, sim.horizon_s])
    prices = np.asarray(tariff.hourly_price_usd_per_kwh, float)
    p = prices[local_hour(res.start, t, res.timezone)]  # a minute bills at its start's hour, as the solver does
    kwh = np.asarray(sim.facility_kw, float) * dt / 3600.0
    bands = {}
    for price in sorted(set(prices.tolist())):
        sel = p == price
        bands[f"{price:g}"] = {"hours": round(float(dt[sel].sum()) / 3600.0, 4),
                               "facility_kwh": round(float(kwh[sel].sum()), 3),
                               "energy_usd": round(float(np.dot(kwh[sel], p[sel])), 4)}
    from planner.solver.energy import demand_charges, demand_window_mask, peak_15min_kw

    dc = demand_charges(tariff)
    inside = demand_window_mask(res.start, t, res.timezone, dc)
    offset = res.start.minute * 60 + res.start.second
    kw = np.asarray(sim.facility_kw, float)

    def peak(sel):
        return float(peak_15min_kw(t[sel], kw[sel], offset).max()) if np.any(sel) else 0.0
    on_kw, off_kw = peak(inside), peak(~inside)
    full = on_kw * dc.on_peak_usd_per_kw + off_kw * dc.off_peak_usd_per_kw
    share = sim.demand_charge_usd / full if full > 0 else None  # one billing month in this study
    return {"energy_by_price": bands, "energy_cost_usd": sim.energy_cost_usd,
            "demand_charge_usd": sim.demand_charge_usd, "peak_15min_facility_kw": sim.peak_15min_facility_kw,
            "on_peak_15min_facility_kw": on_kw, "off_peak_15min_facility_kw": off_kw,
            "on_peak_demand_usd": None if share is None else share * on_kw * dc.on_peak_usd_per_kw,
            "off_peak_demand_usd": None if share is None else share * off_kw * dc.off_peak_usd_per_kw,
            "demand_share_of_month": share,
            "it_kwh": sim.it_energy_kwh, "cooling_kwh": sim.cooling_energy_kwh,
            "electrical_loss_kwh": sim.electrical_loss_kwh, "lighting_misc_kwh": sim.lighting_misc_kwh}


def study_json(sc, results: dict, large: list, tariff_name: str = "demo") -> dict:
    """The ``study night-shift --json`` object: a ``schedule --json`` object per method, the large jobs'
    shares by window, each schedule's starts [s from the week's start] and its bill
    (:func:`bill_breakdown`)."""
    out: dict = {"scenario": sc.name, "start": sc.start.isoformat(), "tariff": tariff_name, "large_jobs": large}
    for m, res in results.items():
        s = res.summary()
        s["bill"] = bill_breakdown(res, sc.tariff)
        s["large_jobs_share"] = {w: res.share(h0, h1, large) for w, (h0, h1) in WINDOWS.items()}
        s["starts"] = {j.name: j.start_s for j in res.jobs}
        out[m] = s
    if "optimal" in out:
        out["largest_jobs_night_share"] = out["optimal"]["large_jobs_share"]["night_22_06"]
    return out


def night_shift_study(progress=None, time_limit_s: float = STUDY_TIME_LIMIT_S, methods=METHODS,
                      tariff: str = "demo") -> dict:
    """Run every method on the night-shift week under ``tariff``; :func:`study_json` of the results."""
    _, sc, results, large = night_shift_results(progress, time_limit_s, methods, tariff)
    return study_json(sc, results, large, tariff)
