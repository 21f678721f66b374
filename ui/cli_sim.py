"""``dcplan simulate`` and ``dcplan study``: the solver's command line. Imports no Qt.

Registered on the main parser by :func:`add_subcommands`; errors become ``CliError`` (one line on
stderr, exit 2), never a traceback.
"""
from __future__ import annotations

import json
import math
import sys
from datetime import datetime

from ui.progress import TerminalProgress

STUDY_NAMES = ("phoenix", "pump-lag", "cost")


EXIT_USAGE = 2


class SimCliError(Exception):
    """A user-facing failure of ``simulate`` / ``study``: one line on stderr, exit 2."""


def _cli_error(msg: str) -> SimCliError:
    return SimCliError(msg)


def _guarded(handler):
    """Run ``handler(args)``; a :class:`SimCliError` becomes ``dcplan: error: ...`` and exit 2.

    Handled here rather than by ``ui.cli`` so it works however the CLI module was started
    (``python -m ui.cli`` makes ``ui.cli``'s own exception class a different object).
    """
    def run(args) -> int:
        try:
            return handler(args)
        except SimCliError as exc:
            print(f"dcplan: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def _jsonable(obj):
    """Replace NaN/inf (not JSON) by None, numpy scalars/arrays by Python values."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _print_json(obj) -> None:
    json.dump(_jsonable(obj), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def _parse_start(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise _cli_error(f"--start {text!r}: expected a date as YYYY-MM-DD") from None


def _pick_scenario(plan, name):
    from planner.plan import Scenario
    if name is not None:
        for k, s in enumerate(plan.scenarios):
            if s.name == name or str(k) == name:
                return s
        names = ", ".join(repr(s.name) for s in plan.scenarios) or "none"
        raise _cli_error(f"--scenario {name!r} not in the plan (scenarios: {names})")
    if plan.scenarios:
        return plan.scenarios[0]
    return Scenario(name="command line", start=datetime(2025, 7, 1), horizon_s=86400.0, load="full")


def cmd_simulate(args) -> int:
    """``dcplan simulate PLAN ...``: run the solver, print a summary (or JSON), write minute CSV."""
    from dataclasses import replace

    from models.store import PlanFileError, load_plan
    from planner.solver import SolverInputError, simulate

    try:
        plan = load_plan(args.plan)
    except PlanFileError as exc:
        raise _cli_error(str(exc)) from None
    sc = _pick_scenario(plan, args.scenario)
    changes = {}
    if args.start is not None:
        changes["start"] = _parse_start(args.start)
    if args.days is not None:
        if not math.isfinite(args.days) or args.days <= 0:
            raise _cli_error(f"--days must be > 0, got {args.days}")
        changes["horizon_s"] = args.days * 86400.0
    if args.weather is not None:
        changes["weather_file"] = args.weather
    if args.load is not None:
        changes["load"] = args.load
    sc = replace(sc, **changes)
    protect = [p for p in (args.plan, args.weather) if p]
    if args.timeseries:  # refuse a bad output name before a long run, not after it
        from planner.outputs import OutputError, check_output_target
        try:
            check_output_target(args.timeseries, protect=protect)
        except OutputError as exc:
            raise _cli_error(str(exc)) from None
    bar = TerminalProgress("simulating", total=sc.horizon_s / 3600.0, unit="h")
    try:
        res = simulate(plan, sc, control=args.control, step_s=args.step, progress=bar)
    except SolverInputError as exc:
        raise _cli_error(str(exc)) from None
    finally:
        bar.close()
    if args.timeseries:
        from planner.outputs import OutputError
        try:
            res.write_timeseries_csv(args.timeseries, protect=protect)
        except OutputError as exc:
            raise _cli_error(str(exc)) from None
    summary = res.summary()
    summary["scenario"] = sc.name
    summary["start"] = sc.start.isoformat()
    if args.json:
        _print_json(summary)
    else:
        _print_summary(summary)
    return 0


def _print_summary(summary: dict) -> None:
    rows = [
        ("scenario", summary["scenario"], ""), ("start", summary["start"], "local"),
        ("simulated", f"{summary['horizon_s'] / 3600:.2f}", "h"), ("step", summary["step_s"], "s"),
        ("servers", summary["servers"], ""), ("control", summary["control"], ""),
        ("IT energy", f"{summary['it_energy_kwh']:.1f}", "kWh"),
        ("facility energy", f"{summary['facility_energy_kwh']:.1f}", "kWh"),
        ("PUE", f"{summary['pue']:.3f}" if summary["pue"] is not None else "-", ""),
        ("cost", f"{summary['cost_usd']:.2f}", "$"), ("peak IT", f"{summary['peak_it_kw']:.1f}", "kW"),
        ("peak facility", f"{summary['peak_facility_kw']:.1f}", "kW"),
        ("max GPU temperature", f"{summary['max_gpu_temp_c']:.1f}", "°C"),
        ("max inlet temperature", f"{summary['max_inlet_temp_c']:.1f}" if summary["max_inlet_temp_c"] is not None
         else "-", "°C"),
        ("throttle events", summary["throttle_events"], ""),
        ("GPUs throttled", summary["throttled_gpus"], f"of {summary['gpus']}"),
        ("throttled GPU-hours", f"{summary['throttled_gpu_hours']:.1f}", "GPU·h"),
        ("lost GPU-hours", f"{summary['lost_gpu_hours']:.1f}", "GPU·h"),
        ("max throttled fraction", f"{summary['max_throttled_fraction']:.3f}", ""),
        ("wall time", f"{summary['wall_time_s']:.2f}", "s"),
    ]
    for name, value, unit in rows:
        print(f"{name:24s} {value} {unit}".rstrip())


def cmd_study(args) -> int:
    """``dcplan study NAME``: run a bundled seed-story study and print its figures."""
    from planner.solver import SolverInputError
    from planner.solver.studies import run_study

    bar = TerminalProgress(f"study {args.name}")
    try:
        out = run_study(args.name, progress=bar)
    except SolverInputError as exc:
        raise _cli_error(str(exc)) from None
    finally:
        bar.close()
    if args.json:
        _print_json(out)
    else:
        _print_study(args.name, _jsonable(out))
    return 0


def _print_study(name: str, out: dict) -> None:
    if name == "phoenix":
        print(f"Demo hall, full load, each city on its own hottest July day (step {out['step_s']} s)")
        for city in out.get("cities", ("phoenix", "minneapolis")):
            c = out[city]
            print(f"  {city:12s} {c['day']}: max ambient {c['max_ambient_c']:.1f} °C, max GPU "
                  f"{c['max_gpu_temp_c']:.1f} °C, throttled GPU-hours {c['throttled_gpu_hours_day']:.1f}")
            print(f"  {'':12s} 14:00-18:00 max throttled fraction {c['afternoon_14_18']['max_throttled_fraction']:.2f},"
                  f" 02:00-06:00 {c['night_02_06']['max_throttled_fraction']:.2f}")
            dd = c.get("design_day", {})
            if dd.get("design_dry_bulb_c") is not None:
                short = {k: v["shortfall_kw"] for k, v in dd["loops"].items() if v["shortfall_kw"] > 0}
                what = ", ".join(f"{k} {v:.0f} kW short" for k, v in short.items()) or "plant holds its setpoints"
                print(f"  {'':12s} design day {dd['design_dry_bulb_c']:.1f} °C: {what}")
        r = out["ratio_phoenix_to_minneapolis"]
        print(f"  Phoenix / Minneapolis throttled GPU-hours: {'∞ (none in Minneapolis)' if r is None else f'{r:.1f}x'}")
    elif name == "pump-lag":
        def pct(x):
            return "   n/a" if x is None else f"{x * 100:5.0f}%"

        def table(sweep):
            print(f"{'lag s':>6s} {'total s':>7s} {'reactive':>9s} {'predictive':>10s} {'reduction':>9s} "
                  f"{'react. GPU-h':>12s} {'react. max °C':>13s} {'pred. max °C':>12s} {'gap K':>6s}")
            for r in sweep:
                print(f"{r['lag_s']:6.0f} {r['total_lag_s']:7.0f} {r['reactive_events']:9d} "
                      f"{r['predictive_events']:10d} {pct(r['reduction']):>9s} "
                      f"{r['reactive_throttled_gpu_hours']:12.1f} {r['reactive_max_gpu_temp_c']:13.1f} "
                      f"{r['predictive_max_gpu_temp_c']:12.1f} {r['gap_max_gpu_temp_k']:6.1f}")
        print(f"GB200 pair ({out['gpus']} GPUs), training job, {out['outdoor_c']:.0f} °C outdoor; throttle events "
              f"= GPUs crossing {out['gpu_slowdown_c']:.0f} °C")
        print(f"CDU supply {out['tcs_supply_c']:.0f} °C, ~90 s lag ({out['total_lag_s']:.0f} s total): reactive "
              f"{out['reactive_events']} events on {out['reactive_throttled_gpus']} GPUs "
              f"({out['reactive_throttled_gpu_hours']:.1f} throttled GPU-h), predictive {out['predictive_events']} on "
              f"{out['predictive_throttled_gpus']} GPUs ({out['predictive_throttled_gpu_hours']:.1f} GPU-h), "
              f"reduction {pct(out['reduction']).strip()}")
        table(out["sweep"])
        if "comparison" in out:
            print(f"Same sweep at a {out['comparison']['tcs_supply_c']:.0f} °C CDU supply:")
            table(out["comparison"]["sweep"])
    else:
        print(f"IT energy {out['it_energy_kwh']:.0f} kWh, IT electricity ${out['it_cost_usd']:,.0f} "
              f"(expected ${out['expected_it_cost_usd']:,.0f}, {out['error_fraction'] * 100:+.2f} %)")
        print(f"nodes: idle {out['node_idle_w']:.0f} W, max {out['node_max_w']:.0f} W (catalog idle fraction)")
        print(f"facility energy {out['facility_energy_kwh']:.0f} kWh, PUE {out['pue']:.3f}, "
              f"facility electricity ${out['facility_cost_usd']:,.0f} (IT ${out['it_cost_usd']:,.0f})")


def add_subcommands(subparsers) -> None:
    """Register ``simulate`` and ``study`` on the main parser's sub-parser object."""
    s = subparsers.add_parser("simulate", help="transient power/thermal simulation of a plan")
    s.add_argument("plan", help="plan file (.dcplan)")
    s.add_argument("--scenario", default=None, help="scenario name or index (default: the first)")
    s.add_argument("--weather", default=None, help="EPW file or bundled name (default: the scenario's)")
    s.add_argument("--start", default=None, help="local start date YYYY-MM-DD")
    s.add_argument("--days", type=float, default=None, help="simulated days, fractions allowed (0.25 = 6 h)")
    s.add_argument("--step", type=float, default=None, help="time step in seconds")
    s.add_argument("--control", choices=("reactive", "predictive"), default=None)
    s.add_argument("--load", choices=("jobs", "full"), default=None, help="job list or continuous full load")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--timeseries", default=None, metavar="OUT.csv", help="write one row per minute")
    s.set_defaults(func=_guarded(cmd_simulate))

    t = subparsers.add_parser("study", help="run a bundled seed-story study (phoenix, pump-lag, cost)")
    t.add_argument("name", choices=STUDY_NAMES)
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.set_defaults(func=_guarded(cmd_study))
