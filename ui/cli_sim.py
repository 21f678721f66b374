"""``dcplan simulate`` and ``dcplan study``: the solver's command line. Imports no Qt.

Registered on the main parser by :func:`add_subcommands`; errors become ``CliError`` (one line on
stderr, exit 2), never a traceback.
"""
from __future__ import annotations

import json
import math
import sys
from datetime import datetime

from ui.cli_text import clock_time, duration_text, explained, money, ratio_text
from ui.progress import TerminalProgress

STUDY_NAMES = ("phoenix", "pump-lag", "cost", "night-shift")  # night-shift: planner.schedule.study


def _control_modes():
    from planner.solver.model import CONTROL_MODES
    return CONTROL_MODES


def _default_rtol():
    from planner.solver.model import DEFAULT_RTOL
    return DEFAULT_RTOL


CONTROL_CHOICES = _control_modes()
LOAD_CHOICES = ("jobs", "full")
#: Load of the run when the plan has no scenario: a plan without one rarely has jobs either.
FALLBACK_LOAD = "full"


def _scenario_default(field: str):
    """The ``planner.plan.Scenario`` default of ``field`` (help texts quote it, never a copy)."""
    from dataclasses import fields

    from planner.plan import Scenario
    return next(f.default for f in fields(Scenario) if f.name == field)


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


def _scenario_changes(args) -> dict:
    """The scenario fields ``--start``, ``--days`` and ``--weather`` override (shared by simulate and
    schedule), checked: a dict for ``dataclasses.replace``."""
    changes = {}
    if args.start is not None:
        changes["start"] = _parse_start(args.start)
    if args.days is not None:
        if not math.isfinite(args.days) or args.days <= 0:
            raise _cli_error(f"--days must be > 0, got {args.days}")
        changes["horizon_s"] = args.days * 86400.0
    if args.weather is not None:
        changes["weather_file"] = args.weather
    return changes


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
    return Scenario(name="command line", start=datetime(2025, 7, 1), horizon_s=86400.0, load=FALLBACK_LOAD)


def _whole_steps(sc, args):
    """``sc`` with a ``--days`` period rounded to a whole number of time steps (at least one), saying so
    on stderr: the solver reports energy and cost for exactly the simulated time, so it refuses a
    partial step, and ``--days 0.02`` (1,728 s) should run 1,730 s, not fail asking for seconds."""
    import sys
    from dataclasses import replace

    step = args.step if args.step is not None else sc.step_s
    if args.days is None or not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
        return sc  # a bad --step is refused by the solver, naming it
    steps = sc.horizon_s / step
    if not math.isfinite(steps) or steps > 1e12:
        return sc  # far beyond any run: the solver's size guard refuses it, naming the limit
    whole = max(1, round(steps)) * step
    if abs(whole - sc.horizon_s) <= 1e-9 * max(whole, 1.0):
        return sc
    print(f"note: --days {args.days:g} is {sc.horizon_s:,.6g} s; simulating {whole:,.6g} s "
          f"({whole / 86400:.6g} days), a whole number of {step:g} s steps", file=sys.stderr)
    return replace(sc, horizon_s=whole)


def cmd_simulate(args) -> int:
    """``dcplan simulate PLAN ...``: run the solver, print a summary (or JSON), write minute CSV."""
    from dataclasses import replace

    from models.store import load_plan
    from planner.solver import SolverInputError, simulate

    plan = load_plan(args.plan)  # PlanFileError: one line from ui.cli.main (detail with --verbose)
    sc = _pick_scenario(plan, args.scenario)
    changes = _scenario_changes(args)
    if args.year:
        if args.start is not None or args.days is not None:
            raise _cli_error("--year runs the whole weather year from 1 January; drop --start and --days")
        changes["start"] = datetime((sc.start.year if sc is not None else 2025), 1, 1)
        changes["horizon_s"] = 365 * 86400.0
    if args.rtol is not None and (not math.isfinite(args.rtol) or args.rtol <= 0):
        raise _cli_error(f"--rtol must be > 0, got {args.rtol}")
    if args.threads is not None and args.threads < 1:
        raise _cli_error(f"--threads must be at least 1, got {args.threads}")
    if args.load is not None:
        changes["load"] = args.load
    label = sc.name
    if args.load is not None and args.load != sc.load:  # not the run the scenario's name describes
        label = (("continuous full load" if args.load == "full" else "the plan's jobs") + f" (--load {args.load}) "
                 f"on the dates and weather of scenario {sc.name!r}")
    sc = replace(sc, **changes)
    sc = _whole_steps(sc, args)
    protect = [p for p in (args.plan, args.weather) if p]
    if args.timeseries:  # refuse a bad output name before a long run, not after it
        from planner.outputs import OutputError, check_output_target
        try:
            check_output_target(args.timeseries, protect=protect)
        except OutputError as exc:
            raise _cli_error(str(exc)) from None
    bar = TerminalProgress("simulating", total=sc.horizon_s / 3600.0, unit="h")
    try:
        res = simulate(plan, sc, control=args.control, step_s=args.step, rtol=args.rtol, progress=bar,
                       repeat_jobs=not args.no_repeat, threads=args.threads)
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
    from planner.solver.answers import answer_lines, answers

    summary = res.summary()
    summary["scenario"] = sc.name
    summary["scenario_label"] = label
    summary["load"] = sc.load
    summary["start"] = sc.start.isoformat()
    summary["timezone"] = plan.site.timezone
    summary["answers"] = answers(res, plan)
    annual = res.annual()
    if args.json:
        _print_json({**summary, **annual})
    else:
        _print_summary(summary)
        if summary["horizon_s"] >= MONTHLY_TABLE_MIN_S:
            _print_annual(annual)
        print()
        for line in answer_lines(summary["answers"]):
            print(line)
    return 0


#: Runs at least this long print the monthly table and the month × hour throttling table [s]
MONTHLY_TABLE_MIN_S = 28 * 86400.0


def _print_annual(annual: dict) -> None:
    """Monthly energy, PUE, cost and peak demand; hours with throttling by month and hour of day."""
    print()
    print(f"{'month':8s} {'IT MWh':>9s} {'fac. MWh':>9s} {'PUE':>6s} {'energy $':>11s} {'demand $':>10s} "
          f"{'cost $':>11s} {'peak kW':>8s} {'thr. GPU-h':>10s}")
    for r in annual["monthly"]:
        pue = f"{r['pue']:.3f}" if r["pue"] is not None else "-"
        print(f"{r['month']:8s} {r['it_energy_kwh'] / 1e3:9.1f} {r['facility_energy_kwh'] / 1e3:9.1f} {pue:>6s} "
              f"{r['energy_cost_usd']:11,.0f} {r['demand_charge_usd']:10,.0f} {r['cost_usd']:11,.0f} "
              f"{r['peak_15min_facility_kw']:8.0f} {r['throttled_gpu_hours']:10.1f}")
    table = annual["throttle_hours_by_month_hour"]
    if not any(any(row) for row in table):
        print("no throttling")
        return
    print()
    print("hours with throttling by month (rows) and local hour of day (columns)")
    print("     " + "".join(f"{h:>4d}" for h in range(24)))
    names = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    for name, row in zip(names, table):
        if any(row):
            print(f"{name:5s}" + "".join(f"{x:4.0f}" if x >= 0.5 else ("   ·" if x == 0 else "  <1") for x in row))


def _print_summary(summary: dict) -> None:
    from planner.solver.defaults import THROTTLE_EPISODE_GAP_MIN

    rows = [
        ("scenario", summary.get("scenario_label", summary["scenario"]), ""),
        ("start", clock_time(summary["start"]), f"local time ({summary['timezone']})" if summary.get("timezone")
         else "local time"),
        ("simulated", duration_text(summary["horizon_s"]), ""),
        ("stepping", f"{summary['stepping']}, {summary['steps']} steps"
         + (f" of {summary['step_s']:g} s" if summary["stepping"] == "fixed" else f" (base {summary['step_s']:g} s)"), ""),
        ("jobs repeated", "yes" if summary["jobs_repeated"] else "no", ""),
        ("servers", summary["servers"], ""), ("control", summary["control"], ""),
        ("IT energy", f"{summary['it_energy_kwh']:,.1f}", "kWh"),
        ("facility energy", f"{summary['facility_energy_kwh']:,.1f}", "kWh"),
        ("PUE (total)", f"{summary['pue']:.3f}" if summary["pue"] is not None else "-", ""),
        ("PUE (cooling)", f"{summary['pue_cooling']:.3f}" if summary["pue_cooling"] is not None else "-", ""),
        ("electrical losses", f"{summary['electrical_loss_kwh']:,.1f}", "kWh"),
        ("cost", money(summary["cost_usd"]), ""), ("peak IT", f"{summary['peak_it_kw']:,.1f}", "kW"),
        ("peak facility", f"{summary['peak_facility_kw']:,.1f}", "kW"),
        ("max GPU temperature", f"{summary['max_gpu_temp_c']:.1f}", "°C"),
        ("max inlet temperature", f"{summary['max_inlet_temp_c']:.1f}" if summary["max_inlet_temp_c"] is not None
         else "-", "°C"),
        ("throttle episodes", summary["throttle_events"],
         f"GPUs ({explained('throttle episodes', gap=THROTTLE_EPISODE_GAP_MIN)})"),
        ("GPUs throttled", summary["throttled_gpus"], f"of {summary['gpus']} ({explained('GPUs throttled')})"),
        ("throttled GPU-hours", f"{summary['throttled_gpu_hours']:,.1f}", "GPU·h"),
        ("lost GPU-hours", f"{summary['lost_gpu_hours']:,.2f}", f"GPU·h ({explained('lost GPU-hours')})"),
        ("most throttled at once", f"{summary['max_throttled_fraction'] * 100:.1f} %",
         f"of GPUs ({explained('most throttled at once')})"),
        ("wall time", f"{summary['wall_time_s']:.2f}", "s"),
    ]
    for name, value, unit in rows:
        print(f"{name:24s} {value} {unit}".rstrip())


def cmd_study(args) -> int:
    """``dcplan study NAME``: run a bundled seed-story study and print its figures."""
    from planner.solver import SolverInputError
    from planner.solver.studies import run_study

    if args.name == "night-shift":  # the scheduler's study (issue 9) lives with the scheduler's CLI
        from ui.cli_schedule import cmd_night_shift
        return cmd_night_shift(args)
    if getattr(args, "tariff", None) is not None:
        print(f"dcplan study {args.name}: --tariff applies to the night-shift study only", file=sys.stderr)
        return 2
    bar = TerminalProgress(f"study {args.name}")

    def on_run(label: str, index: int, count: int) -> None:  # a study of several simulations: say which runs
        bar.set_label(f"study {args.name}, run {index + 1} of {count}")
        bar.note(f"study {args.name}: run {index + 1} of {count}: {label}")

    try:
        out = run_study(args.name, progress=bar, on_run=on_run)
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
        print("  Phoenix / Minneapolis throttled GPU-hours: "
              + ratio_text(out["phoenix"]["throttled_gpu_hours_day"], out["minneapolis"]["throttled_gpu_hours_day"],
                           "Phoenix", "Minneapolis", "throttled GPU-hours", "GPU·h"))
    elif name == "pump-lag":
        from planner.solver.model import CONTROL_MODES

        def pct(x):
            return "n/a" if x is None else f"{x * 100:.0f} %"

        print(f"GB200 pair ({out['gpus']} GPUs), training job, {out['outdoor_c']:.0f} °C outdoor, step "
              f"{out['step_s']:g} s")
        print(f"Rule: {out['rule']}")
        print(f"s* = {out['setpoint_c']:.2f} °C; lost throughput [GPU-h] at {out['lag_s']:.0f} s lag:")
        print(f"{'setpoint °C':>11s} {'reactive':>9s} {'predictive':>10s} {'pred.-throttle':>14s}")
        for r in out["band"]:
            print(f"{r['setpoint_c']:11.2f} {r['reactive_lost_gpu_hours']:9.3f} {r['predictive_lost_gpu_hours']:10.3f} "
                  f"{r['predictive_throttle_lost_gpu_hours']:14.3f}")
        print(f"reduction (smallest, over {out['band_points_counted']} band points where reactive loses >= 0.1 "
              f"GPU-h): {pct(out['reduction'])}")
        fe = out["forecast_error"]
        print(f"forecast error: burst start ±{fe['start_jitter_s']:.0f} s, power ±{fe['power_error'] * 100:.0f} %, "
              f"{fe['distribution']}, seed {fe['seed']}")
        print(f"Lag sweep at {out['sweep_setpoint_c']:.2f} °C: lost GPU-h (episodes, GPUs) per mode")
        for r in out["sweep"]:
            cells = "  ".join(f"{m} {r[m]['lost_gpu_hours']:.3f} ({r[m]['events']}, {r[m]['throttled_gpus']})"
                              for m in CONTROL_MODES)
            print(f"  {r['lag_s']:5.0f} s  {cells}")
    else:
        print(f"IT energy {out['it_energy_kwh']:,.0f} kWh, IT electricity {money(out['it_cost_usd'])} "
              f"(expected {money(out['expected_it_cost_usd'])}, {out['error_fraction'] * 100:+.2f} %)")
        print(f"nodes: idle {out['node_idle_w']:.0f} W, max {out['node_max_w']:.0f} W (catalog idle fraction)")
        print(f"facility energy {out['facility_energy_kwh']:,.0f} kWh, PUE {out['pue']:.3f} (cooling "
              f"{out['pue_cooling']:.3f}), facility electricity {money(out['facility_cost_usd'])} "
              f"(IT {money(out['it_cost_usd'])})")
        print(f"{'month':>5s} {'IT kWh':>9s} {'facility kWh':>12s} {'PUE':>6s} {'PUE cool':>8s} {'facility $':>10s}")
        for r in out.get("monthly", []):
            print(f"{r['month']:5d} {r['it_kwh']:9,.0f} {r['facility_kwh']:12,.0f} {r['pue']:6.3f} "
                  f"{r['pue_cooling']:8.3f} {money(r['facility_cost_usd']):>10s}")


def add_subcommands(subparsers) -> None:
    """Register ``simulate`` and ``study`` on the main parser's sub-parser object."""
    s = subparsers.add_parser("simulate", help="transient power/thermal simulation of a plan")
    s.add_argument("plan", help="plan file (.dcplan)")
    s.add_argument("--scenario", default=None, help="scenario name or index (default: the first)")
    s.add_argument("--weather", default=None, help="EPW file or bundled name (default: the scenario's)")
    s.add_argument("--start", default=None, help="local start date YYYY-MM-DD")
    s.add_argument("--days", type=float, default=None, help="simulated days, fractions allowed (0.25 = 6 h)")
    s.add_argument("--year", action="store_true", help="the whole weather year from 1 January (365 days)")
    s.add_argument("--step", type=float, default=None,
                   help="fixed time step in seconds (with --rtol: the base step of adaptive stepping)")
    s.add_argument("--rtol", type=float, default=None,
                   help="adaptive stepping with this local error tolerance (× 100 K per step); default: "
                        f"adaptive at {_default_rtol():g} for runs longer than a day, else fixed at the scenario's step")
    s.add_argument("--no-repeat", action="store_true",
                   help="run the job list once (default: repeat it with its own period to cover the run)")
    s.add_argument("--control", choices=CONTROL_CHOICES, default=None,
                   help=f"cooling/throttle control: {', '.join(CONTROL_CHOICES)} (default: the scenario's, "
                        f"{_scenario_default('control')} when the plan has no scenario)")
    s.add_argument("--load", choices=LOAD_CHOICES, default=None,
                   help="jobs: the plan's job list; full: every GPU busy all the time (default: the scenario's, "
                        f"{FALLBACK_LOAD} when the plan has no scenario)")
    s.add_argument("--threads", type=int, default=None, metavar="N",
                   help="threads for the server steps of large halls (default: $DCPLAN_THREADS, else every core; "
                        "the results do not depend on it)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--timeseries", default=None, metavar="OUT.csv", help="write one row per minute")
    s.set_defaults(func=_guarded(cmd_simulate))

    t = subparsers.add_parser("study", help="run a bundled seed-story study (" + ", ".join(STUDY_NAMES) + ")")
    t.add_argument("name", choices=STUDY_NAMES)
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.add_argument("--tariff", default=None, choices=("demo", "aps-e32-tou-l"),
                   help="night-shift only: the demo's illustrative tariff (default) or APS's published E-32 TOU L "
                        "(on-peak demand 15:00-20:00 weekdays)")
    t.set_defaults(func=_guarded(cmd_study))
