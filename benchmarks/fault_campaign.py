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

Two more passes:

* ``--disk-full LEVELS`` (root: it mounts a 1 MiB tmpfs) — every writer (``import``, GUI save,
  ``export``, ``--timeseries``, ``schedule --out``) onto a disk filled to LEVELS random levels: a
  complete output, or exit 2 with one line ``disk full while writing …`` and the old files byte
  for byte, never a temporary or a truncated file left;
* ``--concurrency ROUNDS`` — two or three ``dcplan import`` runs started together into one plan:
  no lost update (every import that exits 0 is in the plan; the others are refused in one line).

Run: ``.venv/bin/python benchmarks/fault_campaign.py [--runs 200] [--seed 1] [--disk-full 24]
[--concurrency 60]``; prints one JSON object. ``tests/test_campaigns.py`` runs a seeded sample
(~20 runs) in ``make test``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
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


#: Uninterrupted runs a scenario's duration is measured over; the fastest counts
DURATION_RUNS = 3


def _duration(sc: Scenario) -> float:
    """The scenario's shortest uninterrupted run [s]. The kills are timed as fractions of it: a
    single measurement taken while the machine was busier (another suite, a first load of the
    solver's compiled kernels) made later, faster runs end before their kill and the sample
    killed fewer runs than it asserts (seen: 4 of 16 as the load fell)."""
    best = math.inf
    for _ in range(DURATION_RUNS):
        sc.reset()
        t0 = time.perf_counter()
        _run(sc.argv)
        best = min(best, time.perf_counter() - t0)
    return best


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


_GUI_SAVE_PLAN = """
import sys
from models.store import PlanFileError
from planner.demo import build_demo_plan
from ui.file_jobs import save_plan_file
from ui.jobs import CancelToken
try:
    save_plan_file(build_demo_plan(int(sys.argv[2])), sys.argv[1], CancelToken())
except PlanFileError as exc:  # the GUI shows this text in its message box
    sys.exit(f"{exc}")
"""


def disk_full(work: Path, levels: int = 24, seed: int = 1) -> dict:
    """Every writer onto a 1 MiB tmpfs (root only) filled to ``levels`` random levels (a ballast file
    leaves 0 to 600 KiB free). Each run must either succeed with a complete output or exit 2 with
    one line ``disk full while writing …``; the old plan / output is byte for byte unchanged, no
    temporary is left and nothing incomplete sits under a final name."""
    mnt = work / "full"
    mnt.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True).returncode:
        return {"skipped": "cannot mount a tmpfs here (not root)"}
    rng = random.Random(seed)
    t0 = time.perf_counter()
    runs = []
    try:
        from models.store import save_plan
        from planner.demo import build_demo_plan

        plan = work / "big.dcplan"  # inputs live off the small disk
        save_plan(build_demo_plan(60), plan)
        _run(_dcplan("export", plan, "--out", work / "big_csv"))
        small_plan = work / "small.dcplan"
        save_plan(build_demo_plan(2), small_plan)
        bare = build_demo_plan(60)  # the 60 racks without servers: the import adds 240 servers
        bare.servers, bare.jobs = [], []
        bare_plan = work / "bare.dcplan"
        save_plan(bare, bare_plan)
        writers = {  # name: (argv, the file it changes or writes)
            "import": (_dcplan("import", mnt / "hall.dcplan", *[a for n in ("racks", "devices", "rack_plan") for a in
                                                               (f"--{n.replace('_', '-')}", work / "big_csv" / f"{n}.csv")]),
                       mnt / "hall.dcplan"),
            "gui_save": ([sys.executable, "-c", _GUI_SAVE_PLAN, mnt / "hall.dcplan", "RACKS"], mnt / "hall.dcplan"),
            "export": (_dcplan("export", plan, "--out", mnt / "csv"), mnt / "csv" / "devices.csv"),
            "timeseries": (_dcplan("simulate", plan, "--days", "0.5", "--timeseries", mnt / "minutes.csv"),
                           mnt / "minutes.csv"),
            "schedule_out": (_dcplan("schedule", small_plan, "--days", "1", "--method", "fcfs", "--out",
                                     mnt / "schedule.csv"), mnt / "schedule.csv"),
        }
        for i in range(levels * len(writers)):
            name = list(writers)[i % len(writers)]
            argv, target = writers[name]
            for p in list(mnt.iterdir()):
                shutil.rmtree(p) if p.is_dir() else p.unlink()
            argv = [str(a).replace("RACKS", str(rng.choice([4, 40, 120, 300]))) for a in argv]
            if name in ("import", "gui_save"):
                shutil.copyfile(bare_plan if name == "import" else small_plan, target)
            elif name == "export":
                _run(_dcplan("export", small_plan, "--out", mnt / "csv"))
            else:
                target.write_text("old\n")
            before = {p.relative_to(mnt): _sha(p) for p in mnt.rglob("*") if p.is_file()}  # (no lock file yet)
            free = shutil.disk_usage(mnt).free
            leave = rng.choice([0, 4096, rng.randrange(0, 600 * 1024)])
            with open(mnt / "ballast", "wb") as fh:
                try:
                    fh.write(b"\0" * max(0, free - leave))
                except OSError:
                    pass
            proc = _run(argv, check=False)
            (mnt / "ballast").unlink()
            err = proc.stderr.strip().splitlines()
            after = {p.relative_to(mnt): _sha(p) for p in mnt.rglob("*") if p.is_file() and p.name != ".hall.dcplan.lock"}
            problems = []
            said = [line for line in err if not _PROGRESS.match(line)]  # progress lines aside
            if proc.returncode == 0:
                problems += _complete(name, target)
            else:
                if proc.returncode not in (1, 2) or len(said) != 1 or "disk full while writing" not in said[0]:
                    problems.append(f"exit {proc.returncode}, stderr {said[-3:]}")
                if after != before:
                    problems.append("files changed by a refused write: "
                                    f"{sorted(str(k) for k in set(after) ^ set(before) | {k for k in after if after[k] != before.get(k)})}")
            left = sorted(str(k) for k in after if ".tmp" in str(k))
            if left:
                problems.append(f"temporaries left: {left}")
            runs.append({"writer": name, "free_bytes": min(free, leave), "exit": proc.returncode,
                         "message": err[-1][:200] if err else "", "problems": problems})
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
    by = {}
    for r in runs:
        s = by.setdefault(r["writer"], {"runs": 0, "succeeded": 0, "disk_full": 0, "failures": 0})
        s["runs"] += 1
        s["succeeded"] += r["exit"] == 0
        s["disk_full"] += "disk full while writing" in r["message"]
        s["failures"] += bool(r["problems"])
    failures = [r for r in runs if r["problems"]]
    return {"runs": len(runs), "by_writer": by, "failures": len(failures), "failure_examples": failures[:10],
            "messages": sorted({r["message"] for r in runs if r["exit"]})[:8], "wall_s": round(time.perf_counter() - t0, 1)}


_PROGRESS = re.compile(r"\w[\w ()]*: +\d+ % \(")  # ui.progress.TerminalProgress lines on stderr


def _complete(name: str, target: Path) -> list[str]:
    """A write that reported success left a complete file."""
    from models.store import PlanFileError, load_plan

    if name in ("import", "gui_save"):
        try:
            load_plan(target)
        except PlanFileError as exc:
            return [f"saved plan does not load: {exc}"]
        return []
    if name == "export":
        manifest = json.loads((target.parent / "manifest.json").read_text())
        return [f"{f} does not match the manifest" for f, d in manifest.get("files", {}).items()
                if _sha(target.parent / f) != (d.get("sha256") if isinstance(d, dict) else d)]
    text = target.read_text()
    return [] if text.endswith("\n") and text.count("\n") > 2 else [f"{target.name} is incomplete"]


def concurrency(trials: int, seed: int = 1, work: Path | None = None) -> dict:
    """``trials`` rounds of two or three ``dcplan import`` runs started together into one plan, each
    adding its own rack: every import that exits 0 has its rack in the plan afterwards (no lost
    update); a refused one exits 2 with one line saying another program is changing the plan, and its
    rack is absent. The plan passes ``PRAGMA integrity_check`` after every round."""
    from models.store import load_plan, save_plan
    from planner.demo import build_demo_plan

    tmp = Path(tempfile.mkdtemp(prefix="dcplan-conc-")) if work is None else Path(work)
    rng = random.Random(seed)
    t0 = time.perf_counter()
    rounds = []
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        plan = tmp / "hall.dcplan"
        save_plan(build_demo_plan(300), plan)  # a 42 m x 36 m hall: room for the new racks
        for t in range(trials):
            names = [f"C{t:03d}{k}" for k in range(rng.choice([2, 2, 3]))]
            procs = []
            for k, name in enumerate(names):
                csv = tmp / f"{name}.csv"  # a new rack without a position: placed on the first free spot
                csv.write_text(f"site,location,name,status,u_height\nPhoenix AI Campus,Hall 1,{name},planned,42\n")
                procs.append(subprocess.Popen(_dcplan("import", plan, "--racks", csv), stderr=subprocess.PIPE,
                                              stdout=subprocess.DEVNULL, text=True, env=_ENV, cwd=ROOT))
            codes = [p.wait(timeout=300) for p in procs]
            errs = [p.stderr.read().strip() for p in procs]
            racks = load_plan(plan).rack_map()
            problems = []
            for name, code, err in zip(names, codes, errs):
                if code == 0 and name not in racks:
                    problems.append(f"{name}: imported (exit 0) but lost")
                elif code != 0 and (code != 2 or len(err.splitlines()) != 1 or "another program" not in err
                                    or name in racks):
                    problems.append(f"{name}: exit {code}: {err[-200:]}")
            con = sqlite3.connect(f"file:{plan}?mode=ro", uri=True)
            if con.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                problems.append("integrity_check failed")
            con.close()
            rounds.append({"round": t, "imports": len(names), "exit_codes": codes, "problems": problems})
    finally:
        if work is None:
            shutil.rmtree(tmp, ignore_errors=True)
    imports = sum(r["imports"] for r in rounds)
    ok = sum(c == 0 for r in rounds for c in r["exit_codes"])
    failures = [r for r in rounds if r["problems"]]
    return {"rounds": len(rounds), "imports": imports, "applied": ok, "refused_held": imports - ok,
            "rounds_all_applied": sum(all(c == 0 for c in r["exit_codes"]) for r in rounds),
            "lost_updates": sum("lost" in p for r in rounds for p in r["problems"]), "failures": len(failures),
            "failure_examples": failures[:10], "wall_s": round(time.perf_counter() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--disk-full", type=int, default=0, metavar="LEVELS",
                    help="also the disk-full pass: every writer at LEVELS fill levels (needs root for a tmpfs)")
    ap.add_argument("--concurrency", type=int, default=0, metavar="ROUNDS",
                    help="also ROUNDS of two or three imports started together into one plan")
    args = ap.parse_args()
    out = run(args.runs, args.seed) if args.runs else {"campaign": "fault", "runs": 0, "failures": 0}
    if args.disk_full:
        with tempfile.TemporaryDirectory(prefix="dcplan-full-") as tmp:
            out["disk_full"] = disk_full(Path(tmp), args.disk_full, args.seed)
    if args.concurrency:
        out["concurrency"] = concurrency(args.concurrency, args.seed)
    print(json.dumps(out, indent=2, default=str))
    failed = out["failures"] + sum(out.get(k, {}).get("failures", 0) for k in ("disk_full", "concurrency"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
