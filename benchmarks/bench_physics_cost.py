"""What issue 11's physics costs in solver speed: ``bench_solver.py`` parts run on two trees, alternately.

Run: ``.venv/bin/python benchmarks/bench_physics_cost.py [--before REF] [--after REF|.] [--parts ...]
[--rounds N] [--hours H]``. Each tree is the commit's ``planner``, ``assets`` and ``benchmarks`` (``git
archive`` into a temporary directory; ``.`` = this working tree as it is), and each part runs in its
own process (``bench_solver.py --part NAME`` of that tree, so it imports that tree's solver), before
and after alternating for ``--rounds`` rounds so a change in machine load hits both. Every part runs
``bench_solver``'s machine probe in its own process first; the figures are compared as walls
normalised by that probe (``wall / ufunc_call_s``) and raw, best of the rounds.

Acceptance (#11): the after/before ratio of the probe-normalised wall ≤ 1.20 on every part.
Default ``--before``: main before issue 11's physics (``PHYSICS_BASE``).
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: main before any of issue 11's physics was merged into it (the last main merged into the physics
#: branch before its hot-loop MILESTONE): the "before" of the acceptance ratio.
PHYSICS_BASE = "aafff86"


def tree(ref: str) -> tuple[str, bool]:
    """(directory holding planner/ assets/ benchmarks/ of ``ref``, whether it is temporary)."""
    if ref == ".":
        return str(ROOT), False
    tmp = tempfile.mkdtemp(prefix="dcplan-bench-")
    arch = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "planner", "assets", "benchmarks"],
                          check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=arch, check=True)
    return tmp, True


def run_part(root: str, part: str, hours: float) -> dict:
    script = Path(root) / "benchmarks" / "bench_solver.py"
    name = part
    if part == "week" and '"week-sim"' in script.read_text(encoding="utf-8"):
        name = "week-sim"  # a tree whose ``week`` times the scheduler: its 7-day simulation stand-in
    args = [sys.executable, str(script), "--part", name]
    if part == "scale":
        args += ["--hours", str(hours)]
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=root).stdout
    return json.loads(out)[name]


def figures(part: str, out: dict) -> dict:
    """(wall [s], wall / probe call) of one part's output, the quantity compared."""
    if part == "interactive":
        walls = [r["wall_s_min"] for r in out["runs"]]
        call = out["probe"]["ufunc_call_s"]
        return {"wall_s": sum(walls), "wall_in_probe_calls": sum(walls) / call,
                "runs": {r["scenario"]: r["wall_s_min"] for r in out["runs"]}}
    if part == "week":
        return {"wall_s": out["wall_s_min"], "wall_in_probe_calls": out["wall_in_probe_calls"]}
    if part == "scale":
        f = out["fixed"]
        wall = f["wall_s"]
        return {"wall_s": wall, "wall_in_probe_calls": wall / f["probe"]["ufunc_call_s"],
                "adaptive_wall_s": out["adaptive"]["wall_s"]}
    if part == "speedup":
        return {"wall_s": out["fast_s"], "wall_in_probe_calls": out["fast_s"], "solve_ivp_s": out["solve_ivp_s"]}
    raise ValueError(part)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default=PHYSICS_BASE, help=f"git ref of the tree before (default: {PHYSICS_BASE})")
    ap.add_argument("--after", default=".", help="git ref of the tree after ('.' = this working tree)")
    ap.add_argument("--parts", nargs="+", default=["interactive", "week", "scale"],
                    choices=("interactive", "week", "scale", "speedup"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--hours", type=float, default=1.0, help="simulated hours of the scale part")
    a = ap.parse_args(argv)
    trees = {"before": tree(a.before), "after": tree(a.after)}
    res: dict = {"before": a.before, "after": a.after, "rounds": a.rounds, "parts": {}}
    try:
        for part in a.parts:
            best = {"before": None, "after": None}
            raw = {"before": [], "after": []}
            for k in range(a.rounds):
                order = ("before", "after") if k % 2 == 0 else ("after", "before")
                for side in order:
                    f = figures(part, run_part(trees[side][0], part, a.hours))
                    raw[side].append(f)
                    if best[side] is None or f["wall_in_probe_calls"] < best[side]["wall_in_probe_calls"]:
                        best[side] = f
            ratio = best["after"]["wall_in_probe_calls"] / best["before"]["wall_in_probe_calls"]
            raw_ratio = (min(f["wall_s"] for f in raw["after"]) / min(f["wall_s"] for f in raw["before"]))
            res["parts"][part] = {"before": best["before"], "after": best["after"],
                                  "ratio_probe_normalised": ratio, "ratio_raw": raw_ratio,
                                  "all_rounds": raw, "within_20_percent": ratio <= 1.20}
            print(json.dumps({part: res["parts"][part]}), file=sys.stderr, flush=True)
    finally:
        for d, temp in trees.values():
            if temp:
                shutil.rmtree(d, ignore_errors=True)
    res["worst_ratio_probe_normalised"] = max((p["ratio_probe_normalised"] for p in res["parts"].values()),
                                              default=math.nan)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
