"""Fuzz campaign: a seeded mutator over damaged plan files, mutated CSV sets, hostile paths and
solver arguments.

Four kinds of case, each in a private folder:

* ``plan`` — a damaged plan (wrong-typed, NULL, infinite or unknown cells; flipped, zeroed or
  truncated bytes; a view or a recursive view in place of a table, dropped or renamed columns,
  WAL mode, a foreign schema version or application id, a hot journal) run through all five
  commands, ``check``, ``info``, ``export``, ``simulate`` and ``import``, one after the other;
* ``csv`` — ``dcplan import --json`` of a mutated export set (cells, columns, rows, bytes,
  encodings, separators, quotes, sizes; with or without its manifest) into a valid plan;
* ``args`` — ``simulate`` with hostile ``--step``, ``--days``, ``--start``, ``--scenario``;
* ``path`` — a FIFO, ``/dev/zero``, a folder, a 600 MiB or random file as ``--weather`` or CSV.

Every command must hold these promises:

* no internal error: exit code 0, 1 or 2 — never 3 (``dcplan: internal error``), never a traceback;
* no hang: each case finishes within ``--timeout`` seconds;
* the input is never changed: the plan's bytes are the same afterwards (``import`` may change
  it only when it exits 0), and nothing is left beside it except the import's lock file;
* a refused CSV import names the file (and row and column where there is one) in every problem:
  ``rack_plan.csv:3: x_m: not a number: 'x'``; an accepted one leaves a plan that passes
  ``PRAGMA integrity_check`` and loads.

Run: ``.venv/bin/python benchmarks/fuzz_campaign.py [--plans 2100] [--csvs 10000] [--args 600]
[--paths 300] [--seed 1] [--workers 2] [--timeout 60]``. Prints one JSON object (cases, command runs,
exit codes, failures with their reproduction). ``tests/test_campaigns.py`` runs a seeded sample of a
few dozen cases in ``make test``.

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
import re
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
MAX_ACCEPTED_STEPS = 20_000  # longest run an args case keeps (see make_case)
KINDS = ("plan", "csv", "args", "path")
CSV_FILES = ("racks", "devices", "rack_plan")
# hostile CSV cells (text: a CSV has nothing else)
CSV_CELLS = ["", " ", "x", "-", "-1", "0", "0.0", "1e999", "-1e999", "nan", "inf", "-inf", "4.9e-324", "1e-320",
             "1e308", "999999999999999999999", "5.", ".5", "0x10", "1_000", " 7 ", "1,5", "true", "N", "Q", "n",
             "active ", "Planned", "front", "rear", "mm", "in", "kg", "lb", "=cmd|' /C calc'!A0", "'=1+1", "+1",
             "@SUM(A1)", "😀", "A" * 300, "A" * 70_000, '"', 'a"b', "\x00", "\u202e", "Hall 1", "A01", "A01-DGX1",
             "DGX H100", "NVIDIA", "nvidia-dgx-h100", "42", "43", "1", "100", "-0", "2.5", "19", "23", "600",
             "1200", "4.9e-324", "1e9"]
CSV_OPS = ["cell", "cell", "cell", "cell", "header", "drop_column", "dup_column", "swap_columns", "drop_row",
           "dup_row", "extra_cells", "truncate", "bytes", "blank_lines", "crlf", "bom", "latin1", "semicolon",
           "quote", "empty", "header_only", "many_rows", "no_newline", "nul"]


@dataclass
class Case:
    """One fuzz case (plain data: it is sent to a worker process)."""

    index: int
    kind: str  # "plan" | "csv" | "args" | "path"
    commands: list = field(default_factory=list)  # the commands run on the case's input, in order
    damage: str = ""  # plan: "cell" | "bytes" | "schema"
    mutation: list = field(default_factory=list)  # SQL edits, byte edits or CSV edits, for the report
    argv: list = field(default_factory=list)  # extra arguments
    weather: str | None = None  # a hostile --weather path kind
    files: list = field(default_factory=list)  # csv: which of CSV_FILES are given
    manifest: bool = False  # csv: the export's manifest.json stays beside the files
    allow_deletions: bool = False


def _tables(con) -> dict[str, list[str]]:
    out = {}
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"):
        out[name] = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")')]
    return out


def make_case(rng: random.Random, index: int, kind: str, schema: dict[str, list[str]], size: int) -> Case:
    """A random case of ``kind`` (see the module docstring)."""
    case = Case(index, kind)
    if kind == "plan":
        case.commands = list(COMMANDS)
        case.damage = rng.choices(["cell", "bytes", "schema"], weights=[50, 15, 10])[0]
        if case.damage == "cell":
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                table = rng.choice(sorted(schema))
                column = rng.choice(schema[table])
                value = rng.choice(HOSTILE)
                case.mutation.append(("cell", table, column, value if not isinstance(value, float) or value == value
                                      else "nan", rng.random() < 0.5))
        elif case.damage == "bytes":
            for _ in range(rng.choice([1, 2, 8])):
                op = rng.choice(["flip", "zero", "truncate", "append", "header"])
                case.mutation.append(("bytes", op, rng.randrange(size), rng.randrange(1, 4096)))
        else:
            table = rng.choice(sorted(schema))
            op = rng.choice(["view", "recursive_view", "drop", "drop_column", "rename_column", "wal", "user_version",
                             "application_id", "not_null_off", "journal"])
            case.mutation.append(("schema", op, table, rng.choice(schema[table])))
    elif kind == "csv":
        case.commands = ["import"]
        case.files = sorted(rng.sample(CSV_FILES, rng.choice([1, 2, 3, 3])), key=CSV_FILES.index)
        case.manifest = rng.random() < 0.15
        case.allow_deletions = rng.random() < 0.5
        for _ in range(rng.choice([1, 1, 2, 3, 5])):
            case.mutation.append((rng.choice(case.files), rng.choice(CSV_OPS), rng.random(), rng.random(),
                                  rng.choice(CSV_CELLS), rng.randrange(1, 4096)))
    elif kind == "args":
        case.commands = ["simulate"]
        for option, pool in (("--step", STEPS), ("--days", DAYS), ("--start", STARTS),
                             ("--scenario", ["0", "1", "99", "nope", ""]), ("--control", ["reactive", "predictive"]),
                             ("--load", ["jobs", "full"])):
            if rng.random() < 0.45:
                case.argv += [option, rng.choice(pool)]
        if "--days" not in case.argv:
            case.argv += ["--days", "0.0125"]
        # a legitimate but long run (say 1 million steps of 1 ms) is not a hang: keep accepted runs short
        # (at most 20,000 steps, ~2 s CPU on the 4-rack plan) so the timeout measures hangs even on a
        # loaded machine (100,000 steps of 1 ms took 9.8 s CPU, > 60 s wall at load 15); sizes beyond
        # the solver's limits stay as drawn
        try:
            step = float(case.argv[case.argv.index("--step") + 1]) if "--step" in case.argv else 10.0
            days = float(case.argv[case.argv.index("--days") + 1])
            steps = days * 86400 / step
        except (ValueError, ZeroDivisionError):
            steps = 0.0
        if MAX_ACCEPTED_STEPS < steps <= 1e7:
            case.argv[case.argv.index("--days") + 1] = repr(MAX_ACCEPTED_STEPS * step / 86400)
    else:
        case.commands = [rng.choice(["simulate", "import"])]
        case.weather = rng.choice(["fifo", "dev_zero", "folder", "missing", "big", "garbage", "plan_as_csv"])
    return case


def _mutate_csv(path: Path, op: str, u: float, v: float, cell: str, n: int) -> None:
    """One edit of the CSV file at ``path`` (``u``, ``v`` in [0, 1) pick the row and column)."""
    import csv
    import io

    raw = path.read_bytes()
    if op in ("truncate", "bytes", "bom", "latin1", "nul", "no_newline", "crlf", "empty"):
        if op == "truncate":
            raw = raw[: int(u * len(raw))]
        elif op == "bytes":
            pos = int(u * len(raw))
            raw = raw[:pos] + bytes(random.Random(n).randrange(256) for _ in range(1 + n % 16)) + raw[pos:]
        elif op == "bom":
            raw = b"\xef\xbb\xbf" + raw
        elif op == "latin1":
            raw = raw.decode("utf-8", "replace").replace("A", "\u00c5", 1).encode("latin-1", "replace")
        elif op == "nul":
            pos = int(u * len(raw))
            raw = raw[:pos] + b"\x00" + raw[pos:]
        elif op == "no_newline":
            raw = raw.rstrip(b"\r\n")
        elif op == "crlf":
            raw = raw.replace(b"\n", b"\r\n")
        else:
            raw = b""
        path.write_bytes(raw)
        return
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error):
        return  # an earlier edit broke it beyond the reader: it stays broken
    if not rows:
        return
    width = max(len(r) for r in rows)
    r, c = int(u * len(rows)), int(v * width)
    text = None
    if op == "cell":
        r = max(r, 1) if len(rows) > 1 and u > 0.05 else r
        while len(rows[r]) <= c:
            rows[r].append("")
        rows[r][c] = cell
    elif op == "header":
        while len(rows[0]) <= c:
            rows[0].append("")
        rows[0][c] = cell if u < 0.5 else rows[0][c].upper() + " "
    elif op == "drop_column":
        rows = [row[:c] + row[c + 1:] for row in rows]
    elif op == "dup_column":
        rows = [row + [row[c] if c < len(row) else ""] for row in rows]
    elif op == "swap_columns":
        d = int(u * width)
        for row in rows:
            if c < len(row) and d < len(row):
                row[c], row[d] = row[d], row[c]
    elif op == "drop_row" and len(rows) > 1:
        del rows[max(r, 1)]
    elif op == "dup_row" and len(rows) > 1:
        rows.insert(max(r, 1), list(rows[max(r, 1)]))
    elif op == "extra_cells":
        rows[r] += [cell] * (1 + n % 3)
    elif op == "blank_lines":
        for _ in range(1 + n % 50):
            rows.insert(max(r, 1), [])
    elif op == "many_rows" and len(rows) > 1:
        # new racks/servers by the thousand: placement, duplicate and overlap checks at size
        body = rows[1:]
        for k in range(200 + n):
            row = list(body[k % len(body)])
            if row:
                row[0] = f"{row[0]}-F{k}" if path.stem != "devices" or k % 7 else row[0]
            rows.append(row)
    if op == "semicolon":
        text = "\n".join(";".join(row) for row in rows) + "\n"
    elif op == "quote":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        body = buf.getvalue()
        pos = int(v * len(body))
        text = body[:pos] + '"' + body[pos:]
    elif op == "header_only":
        rows = rows[:1]
    if text is None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        text = buf.getvalue()
    path.write_text(text, encoding="utf-8")


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


_PROBLEM = re.compile(r"(?P<file>[^:\n]+\.csv)(:(?P<row>\d+))?: (?P<rest>\S.*)")


def _command(argv: list[str]) -> tuple[int | str, str, str]:
    """``dcplan`` in this process: (exit code or what it raised, stdout, stderr)."""
    import contextlib
    import io

    from ui.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # noqa: BLE001 - the campaign reports it
            code = f"raised {exc.__class__.__name__}: {exc}"
    return code, out.getvalue(), err.getvalue()


def _csv_problems(code, out: str, given: list[str]) -> list[str]:
    """What is wrong with a CSV import's ``--json`` answer: refused problems must each name one of
    the given files (``file:row: column: …`` or ``file: …``)."""
    if code != 1:
        return []
    try:
        answer = json.loads(out)
    except ValueError:
        return ["refused import printed no JSON"]
    bad = [p for p in answer.get("problems", []) if not ((m := _PROBLEM.fullmatch(p)) and m["file"] in given)]
    if not answer.get("problems"):
        bad.append("refused import listed no problem")
    return [f"problem text not 'file:row: …': {p[:200]!r}" for p in bad[:3]]


def run_case(case: Case, fixtures: dict[str, Path], work: Path) -> dict:
    """Run one case in this process; a dict with its outcome (one entry a command in ``runs``)."""
    folder = work / f"case{case.index}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    plan = folder / "plan.dcplan"
    shutil.copyfile(fixtures["base"], plan)
    if case.kind == "plan":
        _apply(case, plan)
    weather = _hostile_path(case.weather, folder, plan) if case.weather else None
    csv_args: list[str] = []
    if case.kind == "csv":
        (folder / "csv").mkdir()
        for name in case.files:
            shutil.copyfile(fixtures["csv"] / f"{name}.csv", folder / "csv" / f"{name}.csv")
            csv_args += [f"--{name.replace('_', '-')}", str(folder / "csv" / f"{name}.csv")]
        if case.manifest:
            shutil.copyfile(fixtures["csv"] / "manifest.json", folder / "csv" / "manifest.json")
        for name, op, u, v, cell, n in case.mutation:
            _mutate_csv(folder / "csv" / f"{name}.csv", op, u, v, cell, n)
        csv_args += ["--json"] + (["--allow-deletions"] if case.allow_deletions else [])
    others_before = sorted(p.name for p in folder.iterdir() if p != plan)
    runs, problems = [], []
    t_case = time.perf_counter()
    for command in case.commands:
        before = _digest(plan)
        argv = [command, str(plan)]
        if command == "export":
            argv += ["--out", str(folder / "out")]
        elif command == "simulate":
            argv += case.argv or ["--days", "0.0125"]
            if weather is not None:
                argv += ["--weather", str(weather)]
        elif command == "import":
            argv += csv_args or ["--rack-plan", str(weather if weather is not None else fixtures["rack_csv"])]
        t0 = time.perf_counter()
        code, out, err = _command(argv)
        wall = time.perf_counter() - t0
        found = []
        if code not in (0, 1, 2):
            found.append(f"exit {code}")
        if "Traceback" in err or "internal error" in err:
            found.append("internal error text")
        if _digest(plan) != before and not (command == "import" and code == 0):
            found.append("input plan changed")
        if case.kind == "csv":
            found += _csv_problems(code, out, [f"{n}.csv" for n in case.files])
            if code == 0:
                found += _loads(plan)
        problems += [f"{command}: {f}" for f in found]
        runs.append({"command": command, "code": code if isinstance(code, int) else -1, "wall_s": round(wall, 3),
                     "stderr": err.strip().splitlines()[-1][:300] if err.strip() else ""})
    left = set(p.name for p in folder.iterdir() if p != plan) - set(others_before) - {"out", ".plan.dcplan.lock"}
    if left:
        problems.append(f"left beside the plan: {sorted(left)}")
    shutil.rmtree(folder, ignore_errors=True)
    return {"index": case.index, "runs": runs, "wall_s": round(time.perf_counter() - t_case, 3), "problems": problems}


def _loads(plan: Path) -> list[str]:
    """An accepted import's plan: integrity ok and it loads."""
    from models.store import PlanFileError, load_plan

    con = sqlite3.connect(f"file:{plan}?mode=ro", uri=True)
    try:
        status = con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()
    try:
        load_plan(plan)
    except PlanFileError as exc:
        return [f"imported plan does not load: {exc}"]
    return [] if status == "ok" else [f"integrity_check: {status}"]


def _worker(conn, fixtures: dict, work: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    fixtures = {k: Path(v) for k, v in fixtures.items()}
    while True:
        case = conn.recv()
        if case is None:
            return
        conn.send(("start", case["index"]))
        out = run_case(Case(**case), fixtures, Path(work))
        conn.send(("done", out))


def prepare(work: Path) -> tuple[dict[str, Path], dict[str, list[str]]]:
    """Fixtures: the base plan (a 4-rack demo: quick to load and simulate), a valid rack_plan.csv, and
    the export of a 6-rack demo (with its manifest) whose import into the base plan changes it."""
    from models.store import save_plan
    from planner.demo import build_demo_plan

    work.mkdir(parents=True, exist_ok=True)
    base = work / "base.dcplan"
    save_plan(build_demo_plan(4), base)
    rack_csv = work / "rack_plan.csv"
    rack_csv.write_text("rack,hall,x_m,y_m,orientation\nFZ1,Hall 1,6.9,16.8,N\n")
    six = work / "six.dcplan"
    save_plan(build_demo_plan(6), six)
    code, _, err = _command(["export", str(six), "--out", str(work / "csv")])
    if code != 0:
        raise RuntimeError(f"export of the CSV fixture failed: {err}")
    con = sqlite3.connect(base)
    schema = _tables(con)
    con.close()
    return {"base": base, "rack_csv": rack_csv, "csv": work / "csv"}, schema


def run(plans: int = 0, csvs: int = 0, args: int = 0, paths: int = 0, *, seed: int = 1, workers: int = 2,
        timeout: float = 60.0, work: Path | None = None) -> dict:
    """Run the seeded cases (``plans`` damaged plans through all five commands, ``csvs`` mutated CSV
    imports, ``args`` hostile solver arguments, ``paths`` hostile paths); the summary."""
    tmp = Path(tempfile.mkdtemp(prefix="dcplan-fuzz-")) if work is None else Path(work)
    try:
        fixtures, schema = prepare(tmp)
        size = fixtures["base"].stat().st_size
        rng = random.Random(seed)
        kinds = [k for k, n in zip(KINDS, (plans, csvs, args, paths)) for _ in range(n)]
        rng.shuffle(kinds)  # kinds interleaved: a slow stretch of one kind does not idle a worker
        todo = [make_case(rng, i, kind, schema, size) for i, kind in enumerate(kinds)]
        results: list[dict] = []
        hangs: list[dict] = []
        t0 = time.perf_counter()
        ctx = mp.get_context("spawn")
        queue = list(reversed(todo))
        pool: list[dict] = []

        def start_worker():
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, {k: str(v) for k, v in fixtures.items()}, str(tmp / "w")),
                               daemon=True)
            proc.start()
            return {"proc": proc, "conn": parent, "case": None, "since": 0.0}

        def failed(case: Case, why: str, wall: float = 0.0) -> dict:
            return {"index": case.index, "runs": [{"command": c, "code": -1, "wall_s": wall, "stderr": ""}
                                                  for c in case.commands],
                    "problems": [why], "case": asdict(case), "wall_s": wall}

        pool = [start_worker() for _ in range(max(1, workers))]
        done = 0
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
                        results.append(failed(w["case"], "worker died"))
                        w["case"] = None
                        pool[i] = start_worker()
                elif w["case"] is not None and time.perf_counter() - w["since"] > timeout:
                    w["proc"].kill()
                    hangs.append({"index": w["case"].index, "case": asdict(w["case"])})
                    results.append(failed(w["case"], f"hang (> {timeout:g} s)", timeout))
                    pool[i] = start_worker()
            if len(results) // 500 > done // 500:
                print(f"{len(results)} / {len(todo)} cases, {sum(bool(r['problems']) for r in results)} failures, "
                      f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
            done = len(results)
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
    by_kind: dict[str, dict] = {}
    for r in results:
        k = r["case"]["kind"] + (f":{r['case']['damage']}" if r["case"]["damage"] else "")
        s = by_kind.setdefault(k, {"cases": 0, "command_runs": 0, "exit_codes": {}, "failures": 0})
        s["cases"] += 1
        s["failures"] += bool(r["problems"])
        for run_ in r["runs"]:
            s["command_runs"] += 1
            key = f"{run_['command']}:{run_['code']}"
            s["exit_codes"][key] = s["exit_codes"].get(key, 0) + 1
    failures = [r for r in results if r["problems"]]
    runs = [x for r in results for x in r["runs"]]
    return {"campaign": "fuzz", "seed": seed, "cases": len(results),
            "cases_by_kind": {k: sum(r["case"]["kind"] == k for r in results) for k in KINDS},
            "command_runs": len(runs), "by_kind": by_kind, "failures": len(failures), "hangs": len(hangs),
            "wall_s": round(wall, 1), "slowest_command_s": max((x["wall_s"] for x in runs), default=0.0),
            "failure_examples": failures[:20]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plans", type=int, default=2100, help="damaged plans, each through the five commands")
    ap.add_argument("--csvs", type=int, default=10000, help="mutated CSV sets imported")
    ap.add_argument("--args", type=int, default=600, help="hostile solver argument sets")
    ap.add_argument("--paths", type=int, default=300, help="hostile --weather / CSV paths")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    out = run(args.plans, args.csvs, args.args, args.paths, seed=args.seed, workers=args.workers, timeout=args.timeout)
    print(json.dumps(out, indent=2, default=str))
    sys.exit(1 if out["failures"] else 0)


if __name__ == "__main__":
    main()
