"""How long the edit rules take on a big plan, without Qt (``planner.edits``).

    .venv/bin/python benchmarks/bench_edits.py [N_RACKS]   (default 3000)

Every GUI edit runs one of these rules on the GUI thread before its command is pushed, so each
should stay well under a frame budget on a big hall. Baseline, measured in the same run: one
``check_plan`` of the same plan (the problem check the GUI runs, debounced, after every edit).
Reported: the median of 5 runs of each rule (the rule only: the plan is not changed) with a cold
spatial index (the first edit after a rack moved rebuilds the hall's index) and a warm one, with
their ratios to the baseline; then an ``EditHistory`` do/undo of the biggest edit.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def median_s(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    from planner.checks import check_plan
    from planner.demo import build_demo_plan
    from planner.edits import EditHistory, PlanState, plant, racks

    plan = build_demo_plan(n)
    state = PlanState(plan)
    hall = state.hall()
    print(f"plan: {len(plan.racks)} racks, {len(plan.servers)} servers, {len(plan.cooling_units)} cooling units; "
          f"hall {hall.width_m:.0f} m x {hall.depth_m:.0f} m")
    base = median_s(lambda: check_plan(plan), repeat=3)
    print(f"baseline  check_plan                     {base * 1000:8.1f} ms")

    first = plan.racks[0]
    row = [r.name for r in plan.racks if r.row == first.row]
    everything = {r.name: (r.x_m, r.y_m) for r in plan.racks}
    air = next(l.name for l in plan.cooling_loops if l.medium == "air")

    def fresh(rule):
        """The rule on a state with no cached index (the first edit after a change pays for it)."""
        def run():
            s = PlanState(plan)
            return rule(s)
        return run

    cases = [
        ("move one rack", lambda s: racks.move(s, {first.name: (first.x_m, first.y_m + 0.0001)})),
        (f"move all {len(plan.racks)} racks", lambda s: racks.move(s, {k: (x, y + 0.0001) for k, (x, y)
                                                                      in everything.items()})),
        ("add rack at a free spot", lambda s: racks.add_rack_at(s, (hall.width_m / 2, hall.depth_m / 2))),
        ("add row of 10 across an aisle", lambda s: racks.add_row_at(s, (0.0, 0.0), 10, neighbour=first.row)),
        (f"duplicate row {first.row} ({len(row)} racks)", lambda s: racks.duplicate(s, row)),
        (f"rename loop {air} (all references)", lambda s: plant.rename_loop(s, air, air + " renamed")),
    ]
    print(f"  {'rule':38s} {'cold index':>10s}  {'warm index':>10s}   (ratio to check_plan)")
    warm_state = PlanState(plan)
    for label, rule in cases:
        cold = median_s(fresh(rule))
        rule(warm_state)  # builds and keeps the hall's spatial index, as the GUI keeps it between edits
        warm = median_s(lambda: rule(warm_state))
        print(f"  {label:38s} {cold * 1000:7.1f} ms  {warm * 1000:7.1f} ms   ({cold / base:4.2f} / {warm / base:4.2f})")
    history = EditHistory(state)
    edit = racks.move(state, {k: (x, y + 0.6) for k, (x, y) in everything.items()})
    t0 = time.perf_counter()
    history.do(edit)
    t1 = time.perf_counter()
    history.undo()
    t2 = time.perf_counter()
    print(f"  EditHistory do / undo of moving all    {(t1 - t0) * 1000:8.1f} / {(t2 - t1) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
