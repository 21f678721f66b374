"""``dcplan schedule``: the thermal-headroom job scheduler's command line. Imports no Qt.

Registered on the main parser by :func:`add_subcommands`. Exit 0 whenever a schedule was produced
(also with unscheduled jobs or missed deadlines: they are reported), 2 for bad input (one line per
problem on stderr; the plan is untouched).
"""
from __future__ import annotations

import math
import sys
from dataclasses import replace

from ui.cli_text import count
from ui.cli_sim import _cli_error as _error, _guarded, _jsonable, _pick_scenario, _print_json, _scenario_changes
from ui.progress import TerminalProgress


def cmd_schedule(args) -> int:
    """``dcplan schedule PLAN ...``: schedule the jobs, verify with the solver, print / write / save."""
    from models.store import PlanFileError, load_plan, save_plan
    from planner.outputs import OutputError, check_output_target
    from planner.schedule import METHODS, ScheduleInputError, schedule
    from planner.schedule.jobs_csv import JobsCsvError, read_jobs_csv
    from planner.schedule.result import write_schedule_csv

    try:
        plan = load_plan(args.plan)
    except PlanFileError as exc:
        raise _error(str(exc)) from None
    if args.method not in METHODS:  # argparse checks it; kept for callers building args by hand
        raise _error(f"--method must be one of {', '.join(METHODS)}")
    sc = _pick_scenario(plan, args.scenario)
    sc = replace(sc, **_scenario_changes(args))
    if not math.isfinite(args.slot) or args.slot <= 0:
        raise _error(f"--slot must be > 0 minutes, got {args.slot}")
    if not math.isfinite(args.time_limit) or args.time_limit <= 0:
        raise _error(f"--time-limit must be > 0 s, got {args.time_limit}")
    protect = [p for p in (args.plan, args.jobs, args.weather) if p]
    if args.out:  # refuse a bad output name before the run, not after it
        try:
            check_output_target(args.out, protect=protect)
        except OutputError as exc:
            raise _error(str(exc)) from None
    jobs = None
    if args.jobs:
        try:
            jobs = read_jobs_csv(args.jobs, sc.start, plan.site.timezone)
        except JobsCsvError as exc:
            for p in exc.problems:
                print(f"dcplan: error: {p}", file=sys.stderr)
            return 2
    bar = TerminalProgress(f"scheduling ({args.method})")
    try:
        res = schedule(plan, sc, method=args.method, jobs=jobs, slot_s=args.slot * 60.0,
                       time_limit_s=args.time_limit, progress=bar)
    except ScheduleInputError as exc:
        raise _error(str(exc)) from None
    finally:
        bar.close()
    if args.out:
        try:
            write_schedule_csv(res, args.out, protect=protect)
        except OutputError as exc:
            raise _error(str(exc)) from None
    if args.save:
        by_name = {j.name: j for j in res.jobs}
        source = jobs if jobs is not None else plan.jobs
        new_jobs = [by_name.get(j.name, replace(j, placement=())) for j in source]
        try:
            save_plan(replace(plan, jobs=new_jobs), args.plan)
        except PlanFileError as exc:
            raise _error(str(exc)) from None
    summary = res.summary()
    summary["scenario"] = sc.name
    summary["start"] = sc.start.isoformat()
    if args.save:
        summary["saved"] = args.plan
    if args.json:
        _print_json(summary)
    else:
        _print_text(_jsonable(summary))
        if args.save and res.unscheduled:
            print(f"note: {len(res.unscheduled)} unscheduled job(s) stay in the plan without a start; "
                  "dcplan simulate places them first-fit")
    return 0


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def _print_text(s: dict) -> None:
    b = s.get("baseline") or {}
    print(f"{s['method']}: {s['scheduled']} of {s['jobs']} jobs scheduled ({s['slot_min']:g}-min slots), "
          f"{count(s['missed_deadlines'], 'missed deadline')}, {count(s['verify_rounds'], 're-schedule')} "
          f"(after the verifying simulation found too little headroom), solve {s['solve_time_s']:.2f} s")
    rows = [("cost $", "cost_usd", ",.0f"), ("facility energy kWh", "facility_energy_kwh", ",.0f"),
            ("peak 15-min facility kW", "peak_15min_facility_kw", ",.0f"),
            ("throttled GPU-hours", "throttled_gpu_hours", ".1f"), ("lost GPU-hours", "lost_gpu_hours", ".1f"),
            ("max GPU °C", "max_gpu_temp_c", ".1f"), ("GPU-hours 22:00-06:00", "night_gpu_hours_share", ".1%"),
            ("GPU-hours run (billed)", "gpu_hours", ",.0f"), ("GPU-hours past the horizon", "gpu_hours_past_horizon", ",.0f"),
            ("missed deadlines", "missed_deadlines", "d")]
    print(f"{'':26s} {s['method']:>12s} {'fcfs':>12s}   (fcfs: first come, first served, the baseline)" if b else "")
    for label, key, spec in rows:
        print(f"{label:26s} {_fmt(s.get(key), spec):>12s}" + (f" {_fmt(b.get(key), spec):>12s}" if b else ""))
    print(f"{'model cost $':26s} {_fmt(s['model_cost_usd'], ',.0f'):>12s}   (the scheduler's own estimate; the cost "
          "row is the solver's verified figure)"
          + (f"; bound ${_fmt(s['lower_bound_usd'], ',.0f')}, gap {_fmt(s['gap'], '.2%')} (no schedule can cost less "
             "than the bound)" if s["gap"] is not None else ""))
    for name, why in s.get("unscheduled_reasons", {}).items():
        print(f"unscheduled {name}: {why}")


def cmd_night_shift(args) -> int:
    """``dcplan study night-shift``: every method on the demo's Phoenix July week, side by side."""
    from planner.schedule import ScheduleInputError
    from planner.schedule.study import night_shift_study

    bar = TerminalProgress("study night-shift")
    try:
        out = night_shift_study(progress=bar, tariff=getattr(args, "tariff", None) or "demo")
    except ScheduleInputError as exc:
        raise _error(str(exc)) from None
    finally:
        bar.close()
    if args.json:
        _print_json(out)
        return 0
    out = _jsonable(out)
    from planner.schedule import METHODS
    ms = [m for m in METHODS if m in out]
    print(f"Night shift: {out['scenario']} from {out['start']}, tariff {out['tariff']}, demo jobs + "
          f"{len(out['large_jobs'])} large training jobs ({', '.join(out['large_jobs'])})")
    print(f"{'':30s}" + "".join(f"{m:>12s}" for m in ms))
    rows = [("cost $", "cost_usd", ",.0f"), ("facility energy kWh", "facility_energy_kwh", ",.0f"),
            ("peak 15-min facility kW", "peak_15min_facility_kw", ",.0f"),
            ("throttled GPU-hours", "throttled_gpu_hours", ".1f"), ("lost GPU-hours", "lost_gpu_hours", ".1f"),
            ("max GPU °C", "max_gpu_temp_c", ".1f"), ("missed deadlines", "missed_deadlines", "d"),
            ("unscheduled", "unscheduled", None), ("GPU-hours run (billed)", "gpu_hours", ",.0f"),
            ("GPU-hours past the horizon", "gpu_hours_past_horizon", ",.0f"), ("all GPU-h 22:00-06:00", "night_gpu_hours_share", ".1%"),
            ("model cost $", "model_cost_usd", ",.0f"), ("gap", "gap", ".2%"), ("solve s", "solve_time_s", ".1f"),
            ("verification rounds", "verify_rounds", "d")]
    for label, key, spec in rows:
        vals = [len(out[m][key]) if spec is None else _fmt(out[m][key], spec) for m in ms]
        print(f"{label:30s}" + "".join(f"{str(v):>12s}" for v in vals))
    for w, label in (("night_22_06", "large jobs GPU-h 22:00-06:00"), ("early_02_06", "large jobs GPU-h 02:00-06:00"),
                     ("afternoon_12_20", "large jobs GPU-h 12:00-20:00")):
        print(f"{label:30s}" + "".join(f"{_fmt(out[m]['large_jobs_share'][w], '.1%'):>12s}" for m in ms))
    print("Where the bill goes (solver):")
    for price in out[ms[0]]["bill"]["energy_by_price"]:
        print(f"{'  energy $ at ' + price + ' $/kWh':30s}"
              + "".join(f"{_fmt(out[m]['bill']['energy_by_price'][price]['energy_usd'], ',.0f'):>12s}" for m in ms))
    share = out[ms[0]]["bill"]["demand_share_of_month"]
    label = "  demand $" + ("" if share is None else f" ({share:.1%} of month)")
    print(f"{label:30s}" + "".join(f"{_fmt(out[m]['bill']['demand_charge_usd'], ',.0f'):>12s}" for m in ms))
    for key, label in (("on_peak_demand_usd", "    on-peak demand $"), ("off_peak_demand_usd", "    off-peak demand $"),
                       ("on_peak_15min_facility_kw", "    on-peak 15-min kW"),
                       ("off_peak_15min_facility_kw", "    off-peak 15-min kW")):
        print(f"{label:30s}" + "".join(f"{_fmt(out[m]['bill'][key], ',.0f'):>12s}" for m in ms))
    for key, label in (("it_kwh", "  IT kWh"), ("cooling_kwh", "  cooling kWh"),
                       ("electrical_loss_kwh", "  electrical losses kWh"), ("lighting_misc_kwh", "  lighting, other kWh")):
        print(f"{label:30s}" + "".join(f"{_fmt(out[m]['bill'][key], ',.0f'):>12s}" for m in ms))
    return 0


def add_subcommands(subparsers) -> None:
    """Register ``schedule`` on the main parser's sub-parser object."""
    from planner.schedule import METHODS

    s = subparsers.add_parser("schedule", help="schedule jobs into thermal headroom and cheap hours, "
                              "verified by the solver")
    s.add_argument("plan", help="plan file (.dcplan)")
    s.add_argument("--jobs", default=None, metavar="JOBS.csv", help="jobs CSV (default: the plan's jobs)")
    s.add_argument("--method", choices=METHODS, default="greedy")
    s.add_argument("--scenario", default=None, help="scenario name or index (default: the first)")
    s.add_argument("--weather", default=None, help="EPW file or bundled name (default: the scenario's)")
    s.add_argument("--start", default=None, help="local start date YYYY-MM-DD")
    s.add_argument("--days", type=float, default=None, help="scheduled days")
    s.add_argument("--slot", type=float, default=15.0, metavar="MINUTES", help="start-time grid (default 15)")
    s.add_argument("--time-limit", dest="time_limit", type=float, default=60.0, metavar="S",
                   help="wall-clock budget of the optimisation incl. verification (default 60)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--out", default=None, metavar="SCHEDULE.csv", help="write one row per job")
    s.add_argument("--save", action="store_true", help="write the starts and placements into the plan")
    s.set_defaults(func=_guarded(cmd_schedule))
