"""Placement of new racks by a CSV import: planner.floor's O(n log n) rule against the quadratic
rule it replaced (csv_exchange's own ``_place_new_racks`` at f20acd1, kept below as the baseline).

Run: ``.venv/bin/python benchmarks/bench_placement.py [--sizes 1000,2000,4000,8000] [--repeats 3]``.
Prints one JSON object: per size, the best wall time of the baseline placement, of the new
placement (``planner.floor.place_new_racks``) and of a whole ``import_csv`` of a racks.csv of that
many racks (reading, merging, placing, the floor rule), their ratio, and the growth per doubling
(2.0 = linear, 4.0 = quadratic). Both placements run on identical copies of one plan in this run.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.csv_exchange import import_csv  # noqa: E402
from planner.floor import place_new_racks  # noqa: E402
from planner.plan import CoolingLoop, CoolingUnit, Hall, Plan, Rack, Site  # noqa: E402

MARGIN, AISLE = 1.2, 1.2


def baseline_place(plan: Plan, new_racks: list[Rack]) -> None:
    """The rule of f20acd1 (planner/csv_exchange.py ``_place_new_racks`` / ``_free_spot``): for
    every rack, every row's racks are filtered and sorted again — O(n) per rack, O(n²) in all."""
    pending = {id(r) for r in new_racks}
    footprints: dict[str, list] = {}
    for r in plan.racks:
        if id(r) not in pending:
            footprints.setdefault(r.hall, []).append(r.footprint())
    halls = {h.name: h for h in plan.halls}
    memo: dict = {}
    for rack in new_racks:
        hall = halls[rack.hall]
        others = footprints.setdefault(rack.hall, [])
        w, d, eps = rack.width_m, rack.depth_m, 1e-3
        east_limit = hall.width_m - MARGIN + eps
        first_row, known_width = memo.get((hall.name, d), (0, math.inf))
        for j in range(first_row if w >= known_width else 0, 10_000):
            y = MARGIN + d / 2 + j * (d + AISLE)
            top, bottom = y - d / 2, y + d / 2
            x0 = MARGIN
            for a, b in sorted((fp[0], fp[2]) for fp in others if fp[1] < bottom - eps and top < fp[3] - eps):
                if b <= x0 + eps:
                    continue
                if a >= x0 + w - eps:
                    break
                x0 = b
            if x0 == MARGIN or x0 + w <= east_limit:
                memo[(hall.name, d)] = (j, w)
                break
        rack.x_m, rack.y_m = round(x0 + w / 2, 3), round(y, 3)
        rack.orientation = "S" if j % 2 == 0 else "N"
        others.append(rack.footprint())


def hall_for(n: int) -> Plan:
    """A hall holding ``n`` new 0.6 m x 1.2 m racks in rows of 300, with a CRAH per row end
    (obstacles both rules see: the baseline ignores units, so they stand outside the rows)."""
    rows = math.ceil(n / 300) + 1
    hall = Hall("H", 2 * MARGIN + 300 * 0.6 + 3.0, 2 * MARGIN + rows * (1.2 + AISLE))
    return Plan(site=Site("Bench"), halls=[hall], cooling_loops=[CoolingLoop("AIR", "air")],
                cooling_units=[CoolingUnit(f"CRAH-{j}", "crah", "AIR", 150.0, x_m=hall.width_m - 0.6,
                                           y_m=MARGIN + 0.6 + j * 2.4, hall="H") for j in range(rows)])


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def measure(n: int, repeats: int) -> dict:
    plan = hall_for(n)
    new = [Rack(f"N{i:05d}", hall="H") for i in range(n)]

    def run(place):
        p = copy.deepcopy(plan)
        racks = copy.deepcopy(new)
        p.racks = racks
        t = time.perf_counter()
        place(p, racks)
        return time.perf_counter() - t, p

    base = min(run(baseline_place)[0] for _ in range(repeats))
    unplaced = []
    fast = min(run(lambda p, r: unplaced.append(len(place_new_racks(p, r))))[0] for _ in range(repeats))
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "racks.csv"
        csv.write_text("site,location,name,status\n" + "".join(f"Bench,H,{r.name},planned\n" for r in new))
        whole = best_of(repeats, lambda: import_csv(plan, racks_path=csv))
    return {"racks": n, "baseline_place_s": round(base, 4), "floor_place_s": round(fast, 4),
            "speedup": round(base / fast, 1), "import_csv_s": round(whole, 4), "unplaced": max(unplaced)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,2000,4000,8000")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rows = [measure(int(n), args.repeats) for n in args.sizes.split(",")]
    for a, b in zip(rows, rows[1:]):
        f = b["racks"] / a["racks"]
        b["growth_per_doubling"] = {k: round((b[k] / a[k]) ** (1 / math.log2(f)), 2)
                                    for k in ("baseline_place_s", "floor_place_s", "import_csv_s")}
    print(json.dumps({"benchmark": "placement", "sizes": rows}, indent=2))


if __name__ == "__main__":
    main()
