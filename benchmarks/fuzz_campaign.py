"""Fuzz campaign: a seeded mutator over damaged plan files, hostile paths and solver arguments.

Every case runs one ``dcplan`` command (``check``, ``info``, ``export``, ``simulate``, ``import``) on a
mutated input and must hold three promises:

* no internal error: exit code 0, 1 or 2 — never 3 (``dcplan: internal error``), never a traceback;
* no hang: each case finishes within ``--timeout`` seconds;
* the input is never changed: the plan's bytes are the same afterwards (``import`` may change
  it only when it exits 0), and nothing is left beside it except the import's lock file.

Run: ``.venv/bin/python benchmarks/fuzz_campaign.py [--cases 3000] [--seed 1] [--workers 2] [--timeout 60]``.
Prints one JSON object (cases, exit codes, failures with their reproduction). ``tests/test_campaigns.py``
runs a seeded sample of a few dozen cases in ``make test``.

Cases run in worker processes (imports paid once) that take cases one by one; the parent kills a
worker whose case outlasts the timeout (a hang in C, e.g. an SQLite query, cannot be interrupted
from inside) and records that case as a hang.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# hostile values a cell may take (SQLite stores them whatever the column's declared type)
HOSTILE = [None, "", "x", "n", "N ", "-", "'", "0", "1e999", "-1e999", float("inf"), float("-inf"), float("nan"),
           1e300, -1e300, 1e9, -1.0, 0, 0.0, 5e-324, 2 ** 63 - 1, -2 ** 63, 2 ** 31, 1.5, True,
           b"\xff\xfe", b"", "2025-07-01T00:00:00+14:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00",
           "2025-02-30T00:00:00", "[]", "{}", "[1, 2", '{"a": 1}', "[" + ",".join(["1e308"] * 24) + "]",
           "Mars/Olympus", "UTC+99:00", "\x00", "A" * 5000, "=cmd|' /C calc'!A0", "..\\..\\etc", "😀"]
STEPS = ["1e-9", "1e-6", "0.001", "0", "-1", "nan", "inf", "1e308", "7", "3.3", "86400", "1e6", "x", "1e-320"]
DAYS = ["1e6", "0", "-1", "nan", "inf", "1e-9", "0.0125", "3650", "3661", "1e308", "x", "0.01"]
STARTS = ["9999-12-31", "0001-01-01", "2025-02-30", "2025-13-01", "x", "1900-01-01", "2024-02-29", "9999-12-29"]
COMMANDS = ["check", "info", "export", "simulate", "import"]


@dataclass
class Case:
    """One fuzz case (plain data: it is sent to a worker process)."""

    index: int
    kind: str  # "cell" | "bytes" | "schema" | "args" | "path"
    command: str
    mutation: list = field(default_factory=list)  # SQL statements or byte edits, for the report
    argv: list = field(default_factory=list)  # extra arguments
    weather: str | None = None  # a hostile --weather path kind


def _tables(con) -> dict[str, list[str]]:
    out = {}
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"):
        out[name] = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")')]
    return out


def make_case(rng: random.Random, index: int, schema: dict[str, list[str]], size: int) -> Case:
    """A random case: mostly damaged cells, some byte damage, schema damage, hostile paths and
    solver arguments."""
    kind = rng.choices(["cell", "bytes", "schema", "args", "path"], weights=[50, 15, 10, 17, 8])[0]
    command = rng.choice(COMMANDS)
    case = Case(index, kind, command)
    if kind == "cell":
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            table = rng.choice(sorted(schema))
            column = rng.choice(schema[table])
            value = rng.choice(HOSTILE)
            case.mutation.append(("cell", table, column, value if not isinstance(value, float) or value == value
                                  else "nan", rng.random() < 0.5))
    elif kind == "bytes":
        for _ in range(rng.choice([1, 2, 8])):
            op = rng.choice(["flip", "zero", "truncate", "append", "header"])
            case.mutation.append(("bytes", op, rng.randrange(size), rng.randrange(1, 4096)))
    elif kind == "schema":
        table = rng.choice(sorted(schema))
        op = rng.choice(["view", "recursive_view", "drop", "drop_column", "rename_column", "wal", "user_version",
                         "application_id", "not_null_off", "journal"])
        case.mutation.append(("schema", op, table, rng.choice(schema[table])))
        case.command = rng.choice(COMMANDS)
    elif kind == "args":
        case.command = "simulate"
        case.argv = []
        for option, pool in (("--step", STEPS), ("--days", DAYS), ("--start", STARTS),
                             ("--scenario", ["0", "1", "99", "nope", ""]), ("--control", ["reactive", "predictive"]),
                             ("--load", ["jobs", "full"])):
            if rng.random() < 0.45:
                case.argv += [option, rng.choice(pool)]
        if "--days" not in case.argv:
            case.argv += ["--days", "0.0125"]
        # a legitimate but long run (say 1 million steps of 1 ms) is not a hang: keep accepted runs short
        # (at most ~100,000 steps) so the timeout measures hangs; sizes beyond the solver's limits stay
        try:
            step = float(case.argv[case.argv.index("--step") + 1]) if "--step" in case.argv else 10.0
            days = float(case.argv[case.argv.index("--days") + 1])
            steps = days * 86400 / step
        except (ValueError, ZeroDivisionError):
            steps = 0.0
        if 1e5 < steps <= 1e7:
            case.argv[case.argv.index("--days") + 1] = repr(1e5 * step / 86400)
    else:
        case.command = rng.choice(["check", "simulate", "import"])
        case.weather = rng.choice(["fifo", "dev_zero", "folder", "missing", "big", "garbage", "plan_as_csv"])
    return case


def _apply(case: Case, plan: Path) -> None:
    """Damage ``plan`` as the case says (the campaign's own edits of its private copy)."""
    for m in case.mutation:
        if m[0] == "cell":
            _, table, column, value, all_rows = m
            if value == "nan":
                value = float("nan")
            con = sqlite3.connect(plan)
            try:
                where = "" if all_rows else f' WHERE rowid = (SELECT min(rowid) FROM "{table}")'
                con.execute(f'UPDATE "{table}" SET "{column}" = ?{where}', (value,))
                con.commit()
            except sqlite3.Error:
                _not_null_off(con, table)
                try:
                    con = sqlite3.connect(plan)
                    con.execute(f'UPDATE "{table}" SET "{column}" = ?', (value,))
                    con.commit()
                except sqlite3.Error:
                    pass
            finally:
                con.close()
        elif m[0] == "bytes":
            _, op, pos, length = m
            data = bytearray(plan.read_bytes())
            pos = pos % max(len(data), 1)
            if op == "flip":
                for i in range(pos, min(pos + length, len(data))):
                    data[i] ^= 0xA5
            elif op == "zero":
                data[pos:pos + length] = bytes(min(length, len(data) - pos))
            elif op == "truncate":
                del data[pos:]
            elif op == "append":
                data += os.urandom(length)
            else:  # the 100-byte header
                data[pos % 100] ^= 0xFF
            plan.write_bytes(bytes(data))
        elif m[0] == "schema":
            _, op, table, column = m
            con = sqlite3.connect(plan)
            try:
                if op == "view":
                    con.executescript(f'ALTER TABLE "{table}" RENAME TO "{table}_old"; '
                                      f'CREATE VIEW "{table}" AS SELECT * FROM "{table}_old";')
                elif op == "recursive_view":
                    con.executescript(f'ALTER TABLE "{table}" RENAME TO "{table}_old"; CREATE VIEW "{table}" AS '
                                      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i AS id "
                                      "FROM n;")
                elif op == "drop":
                    con.executescript(f'PRAGMA foreign_keys=OFF; DROP TABLE "{table}";')
                elif op == "drop_column":
                    con.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
                elif op == "rename_column":
                    con.execute(f'ALTER TABLE "{table}" RENAME COLUMN "{column}" TO "{column}_x"')
                elif op == "wal":
                    con.execute("PRAGMA journal_mode=WAL")
                elif op == "user_version":
                    con.execute(f"PRAGMA user_version={random.Random(column).choice([0, 1, 3, 99, -1])}")
                elif op == "application_id":
                    con.execute("PRAGMA application_id=1")
                elif op == "not_null_off":
                    _not_null_off(con, table)
                    con = sqlite3.connect(plan)
                    con.execute(f'UPDATE "{table}" SET "{column}" = NULL')
                elif op == "journal":
                    plan.with_name(plan.name + "-journal").write_bytes(os.urandom(512))
                con.commit()
            except sqlite3.Error:
                pass
            finally:
                con.close()


def _not_null_off(con, table: str) -> None:
    con.execute("PRAGMA writable_schema=ON")
    row = con.execute("SELECT sql FROM sqlite_master WHERE name=?", (table,)).fetchone()
    if row and row[0]:
        con.execute("UPDATE sqlite_master SET sql=? WHERE name=?", (row[0].replace("NOT NULL", ""), table))
    con.commit()
    con.close()


def _hostile_path(kind: str, folder: Path, plan: Path) -> Path:
    p = folder / f"hostile_{kind}"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "dev_zero":
        return Path("/dev/zero")
    elif kind == "folder":
        p.mkdir()
    elif kind == "big":
        with open(p, "wb") as fh:
            fh.truncate(600 * 2 ** 20)  # sparse: costs no disk
    elif kind == "garbage":
        p.write_bytes(os.urandom(50_000))
    elif kind == "plan_as_csv":
        return plan
    return p


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def run_case(case: Case, base: Path, rack_csv: Path, work: Path) -> dict:
    """Run one case in this process; a dict with its outcome."""
    import contextlib
    import io

    from ui.cli import main

    folder = work / f"case{case.index}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    plan = folder / "plan.dcplan"
    shutil.copyfile(base, plan)
    _apply(case, plan)
    weather = _hostile_path(case.weather, folder, plan) if case.weather else None
    before = _digest(plan)
    others_before = sorted(p.name for p in folder.iterdir() if p != plan)
    argv = [case.command, str(plan)]
    if case.command == "export":
        argv += ["--out", str(folder / "out")]
    elif case.command == "simulate":
        argv += case.argv or ["--days", "0.0125"]
        if weather is not None:
            argv += ["--weather", str(weather)]
    elif case.command == "import":
        argv += ["--rack-plan", str(weather if weather is not None else rack_csv)]
    err = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # noqa: BLE001 - the campaign reports it
            code = f"raised {exc.__class__.__name__}: {exc}"
    wall = time.perf_counter() - t0
    after = _digest(plan)
    others_after = sorted(p.name for p in folder.iterdir() if p != plan)
    text = err.getvalue()
    problems = []
    if code not in (0, 1, 2):
        problems.append(f"exit {code}")
    if "Traceback" in text or "internal error" in text:
        problems.append("internal error text")
    if after != before and not (case.command == "import" and code == 0):
        problems.append("input plan changed")
    left = set(others_after) - set(others_before) - {"out", ".plan.dcplan.lock"}
    if left:
        problems.append(f"left beside the plan: {sorted(left)}")
    shutil.rmtree(folder, ignore_errors=True)
    return {"index": case.index, "code": code if isinstance(code, int) else -1, "wall_s": round(wall, 3),
            "problems": problems, "stderr": text.strip().splitlines()[-1][:300] if text.strip() else ""}


def _worker(conn, base: str, rack_csv: str, work: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    while True:
        case = conn.recv()
        if case is None:
            return
        conn.send(("start", case["index"]))
        out = run_case(Case(**case), Path(base), Path(rack_csv), Path(work))
        conn.send(("done", out))


def prepare(work: Path) -> tuple[Path, Path, dict[str, list[str]]]:
    """The base plan (a 4-rack demo: quick to load and simulate) and a valid rack_plan.csv."""
    from models.store import save_plan
    from planner.demo import build_demo_plan

    work.mkdir(parents=True, exist_ok=True)
    base = work / "base.dcplan"
    save_plan(build_demo_plan(4), base)
    rack_csv = work / "rack_plan.csv"
    rack_csv.write_text("rack,hall,x_m,y_m,orientation\nFZ1,Hall 1,6.9,16.8,N\n")
    con = sqlite3.connect(base)
    schema = _tables(con)
    con.close()
    return base, rack_csv, schema


def run(cases: int, seed: int = 1, workers: int = 2, timeout: float = 60.0, work: Path | None = None) -> dict:
    """Run ``cases`` seeded cases; the summary (see the module docstring)."""
    tmp = Path(tempfile.mkdtemp(prefix="dcplan-fuzz-")) if work is None else Path(work)
    try:
        base, rack_csv, schema = prepare(tmp)
        size = base.stat().st_size
        rng = random.Random(seed)
        todo = [make_case(rng, i, schema, size) for i in range(cases)]
        results: list[dict] = []
        hangs: list[dict] = []
        t0 = time.perf_counter()
        ctx = mp.get_context("spawn")
        queue = list(reversed(todo))
        pool: list[dict] = []

        def start_worker():
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, str(base), str(rack_csv), str(tmp / "w")), daemon=True)
            proc.start()
            return {"proc": proc, "conn": parent, "case": None, "since": 0.0}

        pool = [start_worker() for _ in range(max(1, workers))]
        while queue or any(w["case"] is not None for w in pool):
            for i, w in enumerate(pool):
                if w["case"] is None and queue:
                    c = queue.pop()
                    w["case"], w["since"] = c, time.perf_counter()
                    w["conn"].send(asdict(c))
                if w["case"] is not None and w["conn"].poll(0.05):
                    try:
                        tag, payload = w["conn"].recv()
                    except EOFError:
                        tag, payload = "died", None
                    if tag == "start":
                        w["since"] = time.perf_counter()
                    elif tag == "done":
                        payload["case"] = asdict(w["case"])
                        results.append(payload)
                        w["case"] = None
                    else:
                        results.append({"index": w["case"].index, "code": -1, "problems": ["worker died"],
                                        "case": asdict(w["case"]), "wall_s": 0.0, "stderr": ""})
                        pool[i] = start_worker()
                elif w["case"] is not None and time.perf_counter() - w["since"] > timeout:
                    w["proc"].kill()
                    hangs.append({"index": w["case"].index, "case": asdict(w["case"])})
                    results.append({"index": w["case"].index, "code": -1, "problems": [f"hang (> {timeout:g} s)"],
                                    "case": asdict(w["case"]), "wall_s": timeout, "stderr": ""})
                    pool[i] = start_worker()
        for w in pool:
            try:
                w["conn"].send(None)
            except OSError:
                pass
            w["proc"].join(5)
        wall = time.perf_counter() - t0
    finally:
        if work is None:
            shutil.rmtree(tmp, ignore_errors=True)
    codes: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for r in results:
        codes[str(r["code"])] = codes.get(str(r["code"]), 0) + 1
        kinds[r["case"]["kind"]] = kinds.get(r["case"]["kind"], 0) + 1
    failures = [r for r in results if r["problems"]]
    return {"campaign": "fuzz", "seed": seed, "cases": len(results), "by_kind": kinds, "exit_codes": codes,
            "failures": len(failures), "hangs": len(hangs), "wall_s": round(wall, 1),
            "slowest_case_s": max((r["wall_s"] for r in results), default=0.0),
            "failure_examples": failures[:20]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    out = run(args.cases, args.seed, args.workers, args.timeout)
    print(json.dumps(out, indent=2, default=str))
    sys.exit(1 if out["failures"] else 0)


if __name__ == "__main__":
    main()
