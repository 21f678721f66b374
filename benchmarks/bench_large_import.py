"""Large CSV imports stream (issue 8, point 8): wall time and peak memory of ``import_csv`` on the
files that exhausted memory before.

Cases (each in a fresh process; peak resident memory is the process's ``VmHWM``):

* ``baseline`` — a racks.csv of one row (the process's own memory: imports, interpreter);
* ``blank_200mb`` — the header, one row, then 200 MB of blank lines (was: memory exhausted);
* ``rows_2_3m`` — a rack_plan.csv of 2.3 million rows (was: 351 s and 11 GB); now refused at
  the row bound (``planner.csv_cells.MAX_CSV_ROWS``) with one problem, having read no further;
* ``racks_20k`` — a racks.csv of 20,000 new racks placed on the floor by ``planner.floor``
  (a realistic large import that succeeds).

Run: ``.venv/bin/python benchmarks/bench_large_import.py [--quick]``. Prints one JSON object: per
case the file size, wall and CPU time, peak memory and their ratio / excess over the baseline process.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# one import in a fresh process; prints its outcome and the peak resident memory [KiB] from /proc
# (VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across fork + exec)
_IMPORT = """
import sys
from planner.csv_exchange import CsvImportError, import_csv
from planner.plan import Hall, Plan, Site
kind, path = sys.argv[1], sys.argv[2]
try:
    out = import_csv(Plan(site=Site("S"), halls=[Hall(width_m=float(sys.argv[3]), depth_m=float(sys.argv[3]))]),
                     **{kind + "_path": path})
    said = f"imported {len(out.plan.racks)} racks"
except CsvImportError as exc:
    said = f"refused: {exc.total} problem(s): {exc.problems[0]}"
print(said)
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def peak_rss_kib(csv_path: Path, kind: str = "racks", hall_m: float = 30.0) -> tuple[int, str]:
    """Peak resident memory [KiB] of a fresh process that imports ``csv_path`` as ``kind`` (racks,
    devices, rack_plan) into an empty plan with one square hall of side ``hall_m`` [m]; and what the
    import said (imported / refused with the first problem)."""
    out = subprocess.run([sys.executable, "-c", _IMPORT, kind, str(csv_path), str(hall_m)], capture_output=True,
                         text=True, cwd=ROOT, timeout=1800, check=True)
    said, kib = out.stdout.strip().splitlines()[-2:]
    return int(kib), said


def write_cases(folder: Path, quick: bool) -> dict[str, tuple[Path, str, float]]:
    """The case files: name -> (path, kind, hall side [m])."""
    head = "site,location,name,status\n"
    cases = {}
    p = folder / "baseline.csv"
    p.write_text(head + "S,Hall 1,R1,active\n")
    cases["baseline"] = (p, "racks", 30.0)
    p = folder / "blank.csv"
    with open(p, "w") as fh:
        fh.write(head + "S,Hall 1,R1,active\n")
        block = "\n" * 2 ** 20
        for _ in range(20 if quick else 200):
            fh.write(block)
    cases["blank_200mb"] = (p, "racks", 30.0)
    p = folder / "rack_plan.csv"
    with open(p, "w") as fh:
        fh.write("rack,hall,x_m,y_m,orientation\n")
        n = 230_000 if quick else 2_300_000
        for start in range(0, n, 100_000):
            fh.write("".join(f"R{i},Hall 1,{1.5 + 0.6 * (i % 40):.1f},{1.8 + 2.4 * (i // 40 % 1000):.1f},S\n"
                             for i in range(start, min(n, start + 100_000))))
    cases["rows_2_3m"] = (p, "rack_plan", 30.0)
    p = folder / "racks20k.csv"
    n = 2_000 if quick else 20_000
    p.write_text(head + "".join(f"S,Hall 1,N{i},planned\n" for i in range(n)))
    cases["racks_20k"] = (p, "racks", 200.0)  # a 200 m x 200 m hall holds 20,000 racks in rows with aisles
    return cases


def _children_cpu() -> float:
    """CPU time [s] of this process's finished children (wall time swings with the machine's load)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tenth of every size")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dcplan-bigcsv-") as tmp:
        cases = write_cases(Path(tmp), args.quick)
        out = {}
        for name, (path, kind, hall) in cases.items():
            t0, cpu0 = time.perf_counter(), _children_cpu()
            kib, said = peak_rss_kib(path, kind, hall)
            out[name] = {"file_mib": round(path.stat().st_size / 2 ** 20, 1), "wall_s": round(time.perf_counter() - t0, 2),
                         "cpu_s": round(_children_cpu() - cpu0, 2), "peak_mib": round(kib / 1024, 1),
                         "outcome": said[:160]}
        base = out["baseline"]
        for row in out.values():
            row["peak_over_baseline_mib"] = round(row["peak_mib"] - base["peak_mib"], 1)
            row["cpu_over_baseline"] = round(row["cpu_s"] / base["cpu_s"], 2)
    print(json.dumps({"benchmark": "large_import", "quick": args.quick, "cases": out}, indent=2))


if __name__ == "__main__":
    main()
