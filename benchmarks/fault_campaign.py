"""Fault campaign: kill -9 at random moments during the commands that write.

Scenarios (each run: start the command in a fresh process, SIGKILL it after a random delay within its
measured uninterrupted duration, then check what is on disk):

* ``import`` — ``dcplan import`` of a CSV set that changes the plan. The plan must be the old or
  the new complete plan (``PRAGMA integrity_check`` ok, loads, equals one of the two).
* ``export`` — ``dcplan export`` of a changed plan over an older export in the same folder. Every
  CSV under its final name is the old or the new version byte for byte (never a half file), and an
  import of the folder either is refused (interrupted or mixed set) or reads one complete set.
* ``gui_save`` — the GUI's save job (``ui.file_jobs.save_plan_file`` -> ``models.store.save_plan``)
  of a 400-rack plan over the old file: the old or the new complete plan.
* ``timeseries`` — ``dcplan simulate --timeseries out.csv`` over an existing ``out.csv``: the old
  file or the complete new one.

After every killed run the next uninterrupted writer of the same target is run too: it must succeed
and leave no temporary of the crashed run (the plan's / the export folder's write lock cleans them).

Run: ``.venv/bin/python benchmarks/fault_campaign.py [--runs 200] [--seed 1]``; prints one JSON
object. ``tests/test_campaigns.py`` runs a seeded sample (~20 runs) in ``make test``. As root, a
``--disk-full`` pass also writes onto a 1 MiB tmpfs (one-line "disk full" and the old files kept).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCENARIOS = ("import", "export", "gui_save", "timeseries")
_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
_ENV.pop("DCPLAN_DEBUG", None)

_GUI_SAVE = """
import sys
from models.store import load_plan
from ui.file_jobs import save_plan_file
from ui.jobs import CancelToken
save_plan_file(load_plan(sys.argv[1]), sys.argv[2], CancelToken())
"""


def _dcplan(*args) -> list[str]:
    return [sys.executable, "-m", "ui.cli", *map(str, args)]


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class Scenario:
    """Fixtures of one scenario in ``folder``: ``reset()`` puts the old state back, ``argv`` writes
    the new one, ``check()`` judges what a killed run left."""

    def __init__(self, name: str, folder: Path, small: bool = False):
        from models.store import load_plan, save_plan
        from planner.demo import build_demo_plan

        self.name, self.folder = name, folder
        folder.mkdir(parents=True, exist_ok=True)
        self.pristine = folder / "pristine"
        self.pristine.mkdir(exist_ok=True)
        racks = (120 if small else 400) if name == "gui_save" else None
        old, new = build_demo_plan(racks), build_demo_plan(racks)
        for r in new.racks[: len(new.racks) // 2]:
            r.row, r.status = r.row + "-moved", "planned"
        save_plan(old, self.pristine / "old.dcplan")
        save_plan(new, self.pristine / "new.dcplan")
        self.old_plan, self.new_plan = load_plan(self.pristine / "old.dcplan"), load_plan(self.pristine / "new.dcplan")
        self.plan = folder / "hall.dcplan"
        if name == "import":  # the new plan's export, imported into the old plan, gives the new plan
            _run(_dcplan("export", self.pristine / "new.dcplan", "--out", self.pristine / "csv"))
            self.argv = _dcplan("import", self.plan, *[a for kind in ("racks", "devices", "rack_plan") for a in
                                                      (f"--{kind.replace('_', '-')}", self.pristine / "csv" / f"{kind}.csv")])
        elif name == "export":
            self.out = folder / "csv"
            _run(_dcplan("export", self.pristine / "old.dcplan", "--out", self.pristine / "old_csv"))
            _run(_dcplan("export", self.pristine / "new.dcplan", "--out", self.pristine / "new_csv"))
            self.argv = _dcplan("export", self.pristine / "new.dcplan", "--out", self.out)
        elif name == "gui_save":
            self.argv = [sys.executable, "-c", _GUI_SAVE, self.pristine / "new.dcplan", self.plan]
        else:
            self.out = folder / "minutes.csv"
            days = "0.125" if small else "0.5"
            _run(_dcplan("simulate", self.pristine / "new.dcplan", "--days", days, "--timeseries",
                         self.pristine / "minutes.csv"))
            (self.pristine / "old_minutes.csv").write_text("time,old\n0,1\n")
            self.argv = _dcplan("simulate", self.pristine / "new.dcplan", "--days", days, "--timeseries", self.out)
        self.argv = [str(a) for a in self.argv]

    def reset(self) -> None:
        for p in self.folder.iterdir():
            if p.name != "pristine":
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        shutil.copyfile(self.pristine / "old.dcplan", self.plan)
        if self.name == "export":
            shutil.copytree(self.pristine / "old_csv", self.out)
        if self.name == "timeseries":
            shutil.copyfile(self.pristine / "old_minutes.csv", self.out)

    def check(self) -> list[str]:
        """What is wrong with the state a killed run left (empty: the promises held)."""
        from models.store import PlanFileError, load_plan

        problems = []
        if self.name in ("import", "gui_save"):
            con = sqlite3.connect(f"file:{self.plan}?mode=ro", uri=True)
            try:
                status = con.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                con.close()
            if status != "ok":
                problems.append(f"integrity_check: {status}")
            try:
                plan = load_plan(self.plan)
                if plan != self.old_plan and plan != self.new_plan:
                    problems.append("the plan is neither the old nor the new one")
            except PlanFileError as exc:
                problems.append(f"plan does not load: {exc}")
        elif self.name == "export":
            versions = {}
            for name in ("racks.csv", "devices.csv", "rack_plan.csv"):
                now = _sha(self.out / name)
                old, new = _sha(self.pristine / "old_csv" / name), _sha(self.pristine / "new_csv" / name)
                if now not in (old, new):
                    problems.append(f"{name} is neither the old nor the new file (a half file?)")
                versions[name] = "old" if now == old else "new"
            fresh = self.folder / "fresh.dcplan"
            shutil.copyfile(self.pristine / "old.dcplan", fresh)
            code, err = _cli("import", fresh, *[a for n in ("racks", "devices", "rack_plan") for a in
                                                (f"--{n.replace('_', '-')}", self.out / f"{n}.csv")],
                             "--allow-deletions")
            if code == 0 and len(set(versions.values())) > 1:
                problems.append(f"a mixed export set imported: {versions}")
            if code not in (0, 1):
                problems.append(f"import of the folder exited {code}: {err.strip()[-200:]}")
        else:
            now = _sha(self.out)
            if now not in (_sha(self.pristine / "old_minutes.csv"), _sha(self.pristine / "minutes.csv")):
                problems.append("minutes.csv is neither the old nor the complete new file")
        return problems

    def debris(self) -> list[str]:
        """Temporaries of writes of this scenario's targets left in their folders."""
        from planner.outputs import temporary_pattern

        names = {"import": ["hall.dcplan"], "gui_save": ["hall.dcplan"],
                 "export": ["racks.csv", "devices.csv", "rack_plan.csv", "manifest.json"],
                 "timeseries": ["minutes.csv"]}[self.name]
        folder = self.out if self.name == "export" else self.folder
        if not folder.is_dir():
            return []
        pats = [temporary_pattern(n) for n in names]
        return sorted(p.name for p in folder.iterdir() if any(t.fullmatch(p.name) for t in pats))


def _cli(*argv) -> tuple[int, str]:
    """``dcplan`` in this process (for checks: no start-up cost); (exit code, stderr)."""
    import contextlib
    import io

    from ui.cli import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


def _run(argv, check=True, timeout=600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=_ENV, cwd=ROOT, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))}: exit {proc.returncode}: {proc.stderr[-500:]}")
    return proc


def _duration(sc: Scenario) -> float:
    sc.reset()
    t0 = time.perf_counter()
    _run(sc.argv)
    return time.perf_counter() - t0


def run(runs: int, seed: int = 1, work: Path | None = None, scenarios=SCENARIOS, follow_every: int = 1,
        small: bool = False) -> dict:
    """``runs`` kill -9 runs spread over ``scenarios``; the summary. Every ``follow_every``-th killed
    run is followed by an uninterrupted one (it must succeed and clean the crashed run's debris);
    ``small`` fixtures (a 120-rack save, a 3 h time series) keep the ``make test`` sample short."""
    tmp = Path(tempfile.mkdtemp(prefix="dcplan-fault-")) if work is None else Path(work)
    rng = random.Random(seed)
    t0 = time.perf_counter()
    try:
        setups = {name: Scenario(name, tmp / name, small) for name in scenarios}
        durations = {name: _duration(sc) for name, sc in setups.items()}
        results = []
        for i in range(runs):
            name = scenarios[i % len(scenarios)]
            sc = setups[name]
            sc.reset()
            # most kills land in the second half, where the writing happens (the first is start-up)
            delay = durations[name] * (rng.uniform(0.5, 1.05) if rng.random() < 0.8 else rng.uniform(0.0, 0.5))
            proc = subprocess.Popen(sc.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_ENV, cwd=ROOT)
            time.sleep(delay)
            killed = proc.poll() is None
            if killed:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            problems = sc.check()
            left = sc.debris()
            if i % follow_every == 0:  # the next writer: succeeds, and cleans the crashed run's debris
                follow = _run(sc.argv, check=False)
                if follow.returncode != 0:
                    problems.append(f"the next run failed: {follow.stderr.strip()[-200:]}")
                if sc.debris():
                    problems.append(f"temporaries left after the next run: {sc.debris()}")
            results.append({"run": i, "scenario": name, "delay_s": round(delay, 3), "killed": killed,
                            "debris_after_kill": left, "problems": problems})
    finally:
        if work is None:
            shutil.rmtree(tmp, ignore_errors=True)
    by = {}
    for r in results:
        s = by.setdefault(r["scenario"], {"runs": 0, "killed": 0, "debris_after_kill": 0, "failures": 0})
        s["runs"] += 1
        s["killed"] += r["killed"]
        s["debris_after_kill"] += bool(r["debris_after_kill"])
        s["failures"] += bool(r["problems"])
    failures = [r for r in results if r["problems"]]
    return {"campaign": "fault", "seed": seed, "runs": len(results), "killed": sum(r["killed"] for r in results),
            "uninterrupted_s": {k: round(v, 2) for k, v in durations.items()}, "by_scenario": by,
            "failures": len(failures), "failure_examples": failures[:20], "wall_s": round(time.perf_counter() - t0, 1)}


def disk_full(work: Path) -> dict:
    """Writes onto a 1 MiB tmpfs (root only): each refused with one "disk full" line, old files kept."""
    mnt = work / "full"
    mnt.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True).returncode:
        return {"skipped": "cannot mount a tmpfs here (not root)"}
    out = {}
    try:
        from models.store import save_plan
        from planner.demo import build_demo_plan

        plan = work / "big.dcplan"
        save_plan(build_demo_plan(400), plan)  # larger than the tmpfs
        small = mnt / "hall.dcplan"
        save_plan(build_demo_plan(2), small)
        before = _sha(small)
        cases = {
            "import": _dcplan("import", small, "--rack-plan", _big_rack_plan(work)),
            "export": _dcplan("export", plan, "--out", mnt / "csv"),
            "timeseries": _dcplan("simulate", plan, "--days", "2", "--timeseries", mnt / "minutes.csv"),
        }
        (mnt / "minutes.csv").write_text("old\n")
        for name, argv in cases.items():
            proc = _run(argv, check=False)
            err = proc.stderr.strip().splitlines()
            out[name] = {"exit": proc.returncode, "stderr_lines": len(err), "message": err[-1] if err else "",
                         "plan_unchanged": _sha(small) == before,
                         "left": sorted(p.name for p in mnt.rglob("*") if ".tmp" in p.name)}
        out["minutes_csv_unchanged"] = (mnt / "minutes.csv").read_text() == "old\n"
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
    return out


def _big_rack_plan(work: Path) -> Path:
    p = work / "big_rack_plan.csv"
    p.write_text("rack,hall,x_m,y_m,orientation\n" + "".join(
        f"BIG{i},Big hall {i // 1000},{1.5 + 0.6 * (i % 40)},{1.8 + 2.4 * ((i // 40) % 25)},S\n" for i in range(20000)))
    return p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--disk-full", action="store_true", help="also the disk-full pass (needs root for a tmpfs)")
    args = ap.parse_args()
    out = run(args.runs, args.seed)
    if args.disk_full:
        with tempfile.TemporaryDirectory(prefix="dcplan-full-") as tmp:
            out["disk_full"] = disk_full(Path(tmp))
    print(json.dumps(out, indent=2, default=str))
    sys.exit(1 if out["failures"] else 0)


if __name__ == "__main__":
    main()
