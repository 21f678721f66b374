"""``dcplan sweep``: many variants of a plan on Dask, results as they arrive, a ranked summary.

Registered on the main parser by :func:`add_subcommands`. Imports no Qt; Dask is imported only
when a sweep runs. Errors are one line on stderr and exit 2; Ctrl+C cancels the remaining
variants, keeps the rows written so far and exits 130.
"""
from __future__ import annotations

import math
import sys
import time

from ui.cli_sim import _cli_error, _guarded, _print_json
from ui.progress import TerminalProgress

EXIT_INTERRUPTED = 130

EPILOG = """\
parameters (--vary NAME=V1,V2,… or a [vary] table in --file; LOOP is a cooling loop's name):
  weather          EPW file or bundled city (phoenix, minneapolis, …); moves the site there
  start            local start date YYYY-MM-DD          days         simulated days
  scenario         a scenario of the plan               control      control mode
  load             jobs or full                         containment  none, cold or hot
  tariff           flat price [$/kWh] (file: a table with hourly_usd_per_kwh, demand_charge_usd_per_kw)
  jobs             a jobs CSV (the `dcplan schedule --jobs` format); the variant runs those jobs
  scheduler        fcfs, backfill, greedy or optimal: the variant's jobs are scheduled, then simulated
  setpoint.LOOP    supply setpoint of the loop's units [°C]
  units.LOOP       unit count: N, N+1, N-1 … (N = the plan's count) or a number
  rating.LOOP      rating of each of the loop's units [kW]
examples:
  dcplan sweep demo.dcplan --days 1 --vary control=reactive,predictive --vary weather=phoenix,minneapolis
  dcplan sweep demo.dcplan --file sweep.toml --out results.csv --require "lost_gpu_hours<=0"
  dcplan sweep demo.dcplan --file sweep.toml --out results.csv --scheduler tcp://HOST:8786
"""


def _definition(args):
    """Sweep parameters and settings from ``--file`` and the command line (the command line wins
    for scenario/days/year; a parameter given in both is an error)."""
    from planner.sweep import SweepError, load_sweep_file, parse_vary

    spec = load_sweep_file(args.file) if args.file else {"vary": {}}
    vary = dict(spec["vary"])
    for name, values in parse_vary(args.vary or []).items():
        if name in vary:
            raise SweepError(f"{name}: given in {args.file} and by --vary; give it once")
        vary[name] = values
    scenario = args.scenario if args.scenario is not None else spec.get("scenario")
    if args.days is not None or args.year:
        days, year = args.days, args.year
    else:
        days, year = spec.get("days"), spec.get("year", False)
    require = list(spec.get("require", [])) + list(args.require or [])
    return vary, scenario, days, year, require


def cmd_sweep(args) -> int:
    """``dcplan sweep PLAN …``: run the variants, write the results file, print the ranking."""
    from planner.sweep import (ResultsFile, SweepError, best, check_address, define, default_workers, execute,
                               objectives_for, parse_constraint, pareto)
    from planner.sweep.runner import start_forkserver

    if args.workers is not None and args.workers < 1:
        raise _cli_error(f"--workers must be at least 1, got {args.workers}")
    if args.workers is not None and args.scheduler:
        raise _cli_error("--workers sizes the embedded cluster; with --scheduler the cluster's own workers run "
                         "the sweep")
    if args.batch is not None and args.batch < 1:
        raise _cli_error(f"--batch must be at least 1, got {args.batch}")
    if args.resume and not args.out:
        raise _cli_error("--resume needs --out RESULTS.csv (the file to resume)")
    if args.days is not None and (not math.isfinite(args.days) or args.days <= 0):
        raise _cli_error(f"--days must be > 0, got {args.days:g}")
    if args.scheduler is None:
        # the embedded cluster's workers fork from this server: it imports their modules while this
        # process reads the plan and checks the sweep (nothing is submitted before that is done)
        start_forkserver()
    from models.store import PlanFileError, load_plan
    try:
        plan = load_plan(args.plan)
    except PlanFileError as exc:
        raise _cli_error(str(exc)) from None
    results = None
    try:
        vary, scenario, days, year, require = _definition(args)
        constraints = [parse_constraint(r) for r in require]
        sweep = define(plan, vary, scenario=scenario, days=days, year=year,
                       schedule_time_limit_s=args.schedule_time_limit)
        if args.scheduler:
            check_address(args.scheduler)
        done: set[str] = set()
        if args.out:
            protect = [args.plan] + ([args.file] if args.file else []) + [str(w.path) for w in sweep.weather.values()]
            results = ResultsFile(args.out, sweep, protect=protect, resume=args.resume)
            done = results.open()
    except SweepError as exc:
        raise _cli_error(str(exc)) from None
    todo = len(sweep) - len(done)
    where = (f"the Dask cluster at {args.scheduler}" if args.scheduler else
             f"{min(args.workers or default_workers(), max(todo, 1))} local worker process(es)")
    rows_now: list[dict] = []

    def arrived(row):
        rows_now.append(row)
        if results is not None:
            results.append(row)

    t0 = time.perf_counter()
    bar = TerminalProgress("sweep", total=max(todo, 1), unit="variant")
    interrupted = False
    try:
        if todo:
            execute(sweep, scheduler=args.scheduler, workers=args.workers, skip=done, on_row=arrived,
                    progress=bar, batch_size=args.batch)
        bar.set_done(max(todo, 1))
    except KeyboardInterrupt:
        interrupted = True
    except SweepError as exc:
        if results is not None:
            results.close()
        raise _cli_error(f"{exc}{'; rows so far are in ' + args.out if args.out else ''}") from None
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    if interrupted:
        if results is not None:
            results.close()
        kept = f"; {len(done) + len(rows_now)} rows are in {args.out}, run again with --resume to finish" \
            if args.out else "; give --out to keep results across runs"
        print(f"dcplan: sweep interrupted: {len(rows_now)} of {todo} variants done{kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if results is not None:
        try:
            results.finish()
        except SweepError as exc:
            raise _cli_error(str(exc)) from None
        rows = results.ordered()
    else:
        rows = sorted(rows_now, key=lambda r: {v.hash: v.index for v in sweep.variants}[r["variant_hash"]])
    objectives = objectives_for(sweep.varies_capacity)
    front = pareto(rows, objectives)
    top = best(rows, constraints)
    failed = [r for r in rows if r.get("error")]
    out = {"plan": args.plan, "variants": len(sweep), "run": len(rows_now), "resumed": len(done),
           "failed": len(failed), "parameters": sweep.params, "out": args.out, "where": where,
           "wall_time_s": round(wall, 3), "objectives": list(objectives), "pareto": front,
           "require": [str(c) for c in constraints], "best": top, "rows": rows}
    if args.json:
        _print_json(out)
    else:
        _print_ranking(out, sweep.params)
    return 0


def _fmt(v, digits=1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def _print_ranking(out: dict, params: list[str]) -> None:
    print(f"sweep of {out['plan']}: {out['variants']} variants ({out['run']} run on {out['where']}, "
          f"{out['resumed']} from an earlier run, {out['failed']} failed) in {out['wall_time_s']:.1f} s")
    if out["out"]:
        print(f"results: {out['out']}")
    failed = [r for r in out["rows"] if r.get("error")]
    for r in failed[:10]:
        print(f"  failed: {', '.join(f'{p}={r[p]}' for p in params)}: {r['error']}")
    if len(failed) > 10:
        print(f"  … and {len(failed) - 10} more failed variants (their errors are in the results)")
    obj = out["objectives"]
    heads = {"cost_usd": "cost $", "lost_gpu_hours": "lost GPU·h", "installed_cooling_kw": "cooling kW"}
    cols = [heads[o] for o in obj] + params
    table = [[_fmt(r[o], 2 if o == "cost_usd" else 1) for o in obj] + [str(r[p]) for p in params]
             for r in out["pareto"]]
    print(f"Pareto set on {' vs '.join(obj)} ({len(out['pareto'])} of {len(out['rows'])}), lowest cost first:")
    widths = [max(len(c), *(len(row[k]) for row in table)) if table else len(c) for k, c in enumerate(cols)]
    print("  " + "  ".join(c.rjust(w) if k < len(obj) else c.ljust(w) for k, (c, w) in enumerate(zip(cols, widths))))
    for row in table:
        print("  " + "  ".join(c.rjust(w) if k < len(obj) else c.ljust(w) for k, (c, w) in enumerate(zip(row, widths))))
    rule = " and ".join(out["require"]) or "no constraint"
    top = out["best"]
    if top is None:
        print(f"Best with {rule}: no variant meets it")
    else:
        print(f"Best with {rule}: {', '.join(f'{p}={top[p]}' for p in params)}: cost ${top['cost_usd']:,.2f}, "
              f"lost {top['lost_gpu_hours']:,.1f} GPU·h, max GPU {_fmt(top['max_gpu_temp_c'])} °C, "
              f"PUE {_fmt(top['pue'], 3)}")


def add_subcommands(subparsers) -> None:
    """Register ``sweep`` on the main parser's sub-parser object."""
    import argparse

    s = subparsers.add_parser("sweep", help="run many variants of a plan on Dask and rank them",
                              description="Run every combination of the varied parameters (full factorial) on an "
                                          "embedded Dask cluster (one worker per core) or on the cluster at "
                                          "--scheduler; write one row per variant as results arrive.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("plan", help="plan file (.dcplan)")
    s.add_argument("--vary", action="append", metavar="NAME=V1,V2", help="a parameter and its values (repeatable)")
    s.add_argument("--file", default=None, metavar="SWEEP.toml", help="sweep definition: a [vary] table, optional "
                   "scenario, days, year, require")
    s.add_argument("--scenario", default=None, help="base scenario name (default: the plan's first)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--days", type=float, default=None, help="simulated days of every variant")
    g.add_argument("--year", action="store_true", help="the whole weather year from 1 January (365 days)")
    s.add_argument("--out", default=None, metavar="RESULTS.csv", help="results file, one row per variant, written "
                   "as results arrive")
    s.add_argument("--resume", action="store_true", help="keep the rows already in --out and run only the rest")
    s.add_argument("--require", action="append", metavar="EXPR", help="constraint for the best variant, e.g. "
                   "\"lost_gpu_hours<=0\" (repeatable; all must hold)")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS", help="an existing Dask scheduler, e.g. "
                   "tcp://host:8786 (default: an embedded local cluster)")
    s.add_argument("--workers", type=int, default=None, metavar="N", help="worker processes of the embedded "
                   "cluster (default: one per core)")
    s.add_argument("--batch", type=int, default=None, metavar="N",
                   help="variants per Dask task (default: automatic, about 1 s of work per task from the time "
                        "per variant measured on the workers: short variants are grouped so Dask's cost per task "
                        "stays small; 1 = a task per variant)")
    s.add_argument("--schedule-time-limit", dest="schedule_time_limit", type=float, default=60.0, metavar="S",
                   help="budget of each variant's scheduler run when 'scheduler' varies [s] (default: 60)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=_guarded(cmd_sweep))
