"""Measured errors behind the solver tests' bounds (issue 13, point 7): is each bound a small factor
above what it guards?

    .venv/bin/python benchmarks/measure_bounds.py [--skip-studies] [--only CASE ...]

Runs the cases the tests run (the same functions: ``tests/solver_accuracy.py``, used by
``tests/test_solver_verification.py`` and ``tests/test_solver_stories.py``) and prints, for each
bounded quantity, the bound the test asserts, the error measured when it was set, the error
measured now and bound / now. A ratio below ~1.5 is about to fail (find out why, do not loosen);
one above ~5 no longer guards much (tighten). Re-run after a solver change, e.g. when the compiled
kernel of issue 12 lands: its fixed-step results equal the numpy path's to ~1e-9, so the "now"
column should not move. Errors, not times: machine load does not change them (this is not a speed
benchmark). Exit status 1 if any error is at or above its bound.

Cases: demo_hour, halving, burst, onset, energy, big_steps, cost_steps, and (unless --skip-studies)
the stories: cost (a year of 100 nodes) and phoenix (four cities, two days each) — about 4 minutes
on a quiet 2-core machine, of which the demo hour's solve_ivp run is ~100 s.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import solver_accuracy as acc  # noqa: E402

CASES = ("demo_hour", "halving", "burst", "onset", "energy", "big_steps", "cost_steps", "cost", "phoenix")


def main(argv: list[str]) -> int:
    only = set(argv[argv.index("--only") + 1:]) if "--only" in argv else set(CASES)
    if "--skip-studies" in argv:
        only -= {"cost", "phoenix"}
    unknown = only - set(CASES)
    if unknown:
        print(f"unknown case(s) {', '.join(sorted(unknown))}; cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    failed: list[str] = []
    print(f"{'bound':34s} {'allowed':>10s} {'set at':>10s} {'now':>10s} {'allowed/now':>11s}  what")

    def show(case: str, errors: dict) -> None:
        for key, now in errors.items():
            name = f"{case}.{key}"
            if name not in acc.BOUNDS:
                continue
            b = acc.BOUNDS[name]
            low = key.endswith("_low")  # a lower bound (the convergence order): now must stay above it
            ok = now > b.value if low else now < b.value
            ratio = (now / b.value if low else b.value / now) if now else float("inf")
            flag = "" if ok else "   <-- FAILS"
            if case == "burst_order":  # an interval around the first order's 5, not an error bound
                pass
            elif ok and ratio < 1.5:
                flag = "   <-- thin"
            elif ok and ratio > 5 and now >= 1e-8 and case != "phoenix":
                flag = "   <-- loose"
            print(f"{name:34s} {b.value:10.3g} {b.measured:10.3g} {now:10.3g} {ratio:11.3g}  "
                  f"[{b.unit}] {b.what}{flag}", flush=True)
            if not ok:
                failed.append(name)

    t0 = time.perf_counter()
    if only & {"demo_hour", "halving"}:
        from planner.demo import build_demo_plan
        demo = build_demo_plan()
        hour = acc.demo_hour(demo)
        if "demo_hour" in only:
            show("demo_hour", acc.demo_hour_vs_reference(demo, hour)[0])
        if "halving" in only:
            show("halving", acc.halving(demo, hour))
    if "burst" in only:
        e2 = acc.burst_vs_reference(2.0)[0]
        e10 = acc.burst_vs_reference(10.0)[0]
        show("burst_2s", e2)
        print(f"{'(burst at 10 s, not bounded)':34s} {'':10s} {'':10s} servers {e10['servers']:.3g} K, loops "
              f"{e10['loops']:.3g} K")
        ratios = {f"{k}_{side}": e10[k] / e2[k] for k in ("servers", "loops") for side in ("low", "high")}
        show("burst_order", ratios)
    if "onset" in only:
        err, fig = acc.onset_vs_reference()
        print(f"{'(onset: solve_ivp event / fast 10 s / 5 s)':34s} {fig['t_ref'][0]:.2f} / {fig['t_fast'][0]:.2f} / "
              f"{fig['t_half'][0]:.2f} s")
        show("onset", err)
    if "energy" in only:
        show("energy", acc.energy_vs_reference()[0])
    if "big_steps" in only:
        show("big_steps", acc.big_steps()[0])
    if "cost_steps" in only:
        show("cost_steps", acc.cost_plan_steps())
    if "cost" in only:
        show("cost", acc.cost_story_errors(acc.cost_story()))
    if "phoenix" in only:
        out = acc.phoenix_story()
        show("phoenix", acc.phoenix_story_errors(out))
        ph, mn = out["phoenix"], out["minneapolis"]
        print(f"{'(phoenix story figures)':34s} Phoenix {ph['throttled_gpu_hours_day']:,.1f} throttled GPU-h on its "
              f"hottest day, Minneapolis {mn['throttled_gpu_hours_day']:,.1f} (hottest GPU {mn['max_gpu_temp_c']:.2f} °C)")
    print(f"({time.perf_counter() - t0:.0f} s){'; FAILING: ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
