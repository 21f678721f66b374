"""Hostile and damaged inputs (issue 8, points 4-7, 11, 12): every field validated on load with one
error naming table, row and column; views, FIFOs and devices refused; solver sizes checked before
allocation; the 0 m rack; disk full and damage reports in one line; read-only commands leave nothing.

No case may end in exit 3 (internal error), hang, or change the input's bytes."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from models.store import PlanFileError, load_plan, save_plan
from planner.demo import build_demo_plan
from ui.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_cli(*argv, timeout=60):
    """``dcplan`` in a subprocess (for inputs that could hang): (exit code, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DCPLAN_DEBUG", None)
    p = subprocess.run([sys.executable, "-m", "ui.cli", *map(str, argv)], capture_output=True, text=True,
                       timeout=timeout, cwd=ROOT, env=env)
    return p.returncode, p.stderr


def damage(path: Path, *statements: str, drop_not_null: str | None = None) -> bytes:
    """Edit a plan file with SQLite (a structurally valid file with bad values); its new bytes."""
    con = sqlite3.connect(path)
    if drop_not_null:  # let a column hold NULL, as a file written by another tool could
        con.execute("PRAGMA writable_schema=ON")
        sql = con.execute("SELECT sql FROM sqlite_master WHERE name=?", (drop_not_null,)).fetchone()[0]
        con.execute("UPDATE sqlite_master SET sql=? WHERE name=?", (sql.replace("NOT NULL", ""), drop_not_null))
        con.commit()
        con.close()
        con = sqlite3.connect(path)
    for s in statements:
        con.execute(s)
    con.commit()
    con.close()
    return path.read_bytes()


# ------------------------------------------------------------------ point 4: every field validated

CELLS = [
    # (statements, table, row label, column, message part)
    (["UPDATE rack SET orientation='n' WHERE name='A01'"], "rack", "'A01'", "orientation",
     "'n' is not one of N, E, S, W"),
    (["UPDATE server SET u_position='x' WHERE name='A01-DGX1'"], "server", "'A01-DGX1'", "u_position",
     "'x' is not a whole number"),
    (["UPDATE rack SET y_m=-1e999 WHERE name='A01'"], "rack", "'A01'", "y_m", "-inf is not a finite number"),
    (["UPDATE scenario SET start='2025-07-01T00:00:00+14:00' WHERE id=1"], "scenario", None, "start",
     "has a UTC offset"),
    (["UPDATE cooling_unit SET dead_time_s=1e300 WHERE name='CRAH-01'"], "cooling_unit", "'CRAH-01'",
     "dead_time_s", "above"),
    (["UPDATE cooling_unit SET dead_time_s=1e9 WHERE name='CRAH-01'"], "cooling_unit", "'CRAH-01'",
     "dead_time_s", "above"),
    (["UPDATE rack SET hall_id=999 WHERE name='A01'"], "rack", "'A01'", "hall_id", "no hall with id 999"),
    (["UPDATE job SET preemptible='maybe' WHERE id=1"], "job", None, "preemptible", "not true or false"),
    (["UPDATE scenario SET hourly_price_json='[1, 2' WHERE id=1"], "scenario", None, "hourly_price_json",
     "24 prices"),
    (["UPDATE server_type SET sources_json='[1]' WHERE id=1"], "server_type", None, "sources_json", "JSON"),
    (["UPDATE hall SET containment='open' WHERE id=1"], "hall", "'Hall 1'", "containment", "'open' is not one of"),
    (["UPDATE site SET timezone='Mars/Olympus' WHERE id=1"], "site", None, "timezone", "Mars/Olympus"),
    (["UPDATE server SET face=X'ff00' WHERE name='A01-DGX1'"], "server", "'A01-DGX1'", "face", "UTF-8"),
]


@pytest.mark.parametrize("statements, table, row, column, part", CELLS,
                         ids=[f"{c[1]}.{c[3]}-{i}" for i, c in enumerate(CELLS)])
def test_bad_cell_is_one_error_naming_table_row_and_column(plan_file, capsys, statements, table, row, column, part):
    before = damage(plan_file, *statements)
    with pytest.raises(PlanFileError) as e:
        load_plan(plan_file)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"{plan_file}: ")
    assert f"table {table}, row " in msg and f"column {column}: " in msg and part in msg, msg
    if row:
        assert f"row {row}" in msg, msg
    for command in (["check", plan_file], ["export", plan_file, "--out", plan_file.parent / "out"],
                    ["simulate", plan_file, "--days", "0.0125"]):
        code, _, err = cli(capsys, *command)
        assert code == 2 and err.count("\n") == 1 and f"column {column}" in err, (command, err)
    assert plan_file.read_bytes() == before


def test_null_in_a_not_null_column_is_named(plan_file):
    damage(plan_file, "UPDATE rack SET name=NULL WHERE name='A02'", drop_not_null="rack")
    with pytest.raises(PlanFileError, match=r"table rack, row id 2, column name: empty"):
        load_plan(plan_file)


# ------------------------------------------------------------------ point 5: hostile paths

def test_recursive_view_in_place_of_a_table_is_refused_at_once(plan_file):
    damage(plan_file, "ALTER TABLE job_placement RENAME TO jp_old",
           "CREATE VIEW job_placement AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
           "SELECT i AS id, 1 AS job_id, 1 AS server_id, 1 AS gpus FROM n")
    code, err = run_cli("check", plan_file, timeout=30)
    assert code == 2 and "job_placement is a view, not a table" in err and len(err.splitlines()) == 1


def test_fifo_as_plan_or_weather_is_refused_without_blocking(plan_file, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, err = run_cli("check", fifo, timeout=30)
    assert code == 2 and "not a regular file" in err
    code, err = run_cli("simulate", plan_file, "--weather", fifo, "--days", "0.0125", timeout=60)
    assert code == 2 and "not a regular file" in err


def test_device_and_oversized_weather_are_refused(plan_file, tmp_path):
    code, err = run_cli("simulate", plan_file, "--weather", "/dev/zero", "--days", "0.0125", timeout=60)
    assert code == 2 and "not a regular file" in err
    big = tmp_path / "big.epw"
    with open(big, "wb") as fh:
        fh.truncate(64 * 2 ** 20)
    code, err = run_cli("simulate", plan_file, "--weather", big, "--days", "0.0125", timeout=60)
    assert code == 2 and "larger than any EPW file" in err


# ------------------------------------------------------------------ point 6: solver sizes first

@pytest.mark.parametrize("args, part", [
    (["--step", "1e-6"], "time steps"),
    (["--step", "0.001", "--days", "1"], "time steps"),
    (["--days", "1e6"], "longest simulated period"),
    (["--start", "9999-12-31"], "the last day the solver's calendar covers"),
    (["--start", "9999-12-29", "--days", "0.0125"], "the last day the solver's calendar covers"),  # fuzz find
])
def test_solver_size_guards_answer_before_allocating(plan_file, args, part):
    code, err = run_cli("simulate", plan_file, *args, timeout=60)
    assert code == 2 and part in err and len(err.splitlines()) == 1, err


def test_size_guard_runs_before_compile_and_names_the_limit():
    from planner.solver import SolverInputError, simulate
    from planner.solver.limits import MAX_TIME_STEPS

    plan = build_demo_plan()
    with pytest.raises(SolverInputError, match=f"{MAX_TIME_STEPS:,}"):
        simulate(plan, plan.scenarios[0], step_s=1e-6)


def test_a_huge_dead_time_is_refused_before_the_delay_buffer_is_allocated():
    """dead_time_s = 1e9 s in a plan built in memory (the file reader refuses it on load): the
    actuator's delay ring would hold 1e8 rows per loop (GBs); the guard names the loop and the limit."""
    from planner.solver import SolverInputError, simulate
    from planner.solver.limits import MAX_DELAY_STEPS

    plan = build_demo_plan()
    unit = next(u for u in plan.cooling_units if u.kind == "crah")
    unit.dead_time_s = 1e9
    with pytest.raises(SolverInputError, match=rf"cooling loop {unit.loop!r}: .* at most {MAX_DELAY_STEPS:,}"):
        simulate(plan, plan.scenarios[0])


def test_an_absurd_price_is_refused_before_the_cost_overflows():
    """A 1e300 $/kWh price made the cost infinite, printed as JSON null: refused with the limit."""
    from dataclasses import replace

    from planner.plan import Tariff
    from planner.solver import SolverInputError, simulate

    plan = build_demo_plan()
    sc = replace(plan.scenarios[0], tariff=Tariff([1e300] * 24))
    with pytest.raises(SolverInputError, match=r"1e\+300 \$/kWh is above the highest accepted, 1000 \$/kWh"):
        simulate(plan, sc)


# ------------------------------------------------------------------ point 7: the 0 m rack

def test_sub_millimetre_rack_is_refused_and_own_export_reimports(tmp_path):
    from planner.csv_exchange import CsvImportError, export_csv, import_csv
    from planner.plan import Hall, Plan, Site

    racks = tmp_path / "racks.csv"
    racks.write_text("site,name,status,outer_width,outer_depth,outer_unit\nS,R1,active,600,4.9e-324,mm\n")
    with pytest.raises(CsvImportError, match="racks.csv:2: outer_depth: 4.9e-324 mm is less than 1 mm"):  # as written
        import_csv(Plan(site=Site("S"), halls=[Hall()]), racks_path=racks)
    rp = tmp_path / "rack_plan.csv"
    rp.write_text("rack,hall,x_m,y_m,orientation,depth_m\nR1,Hall 1,3,3,N,5e-324\n")
    with pytest.raises(CsvImportError, match="rack_plan.csv:2: depth_m: must be >= 0.001"):
        import_csv(Plan(site=Site("S"), halls=[Hall()]), rack_plan_path=rp)
    racks.write_text("site,name,status,outer_width,outer_depth,outer_unit\nS,R1,active,600,1,mm\n")
    plan = import_csv(Plan(site=Site("S"), halls=[Hall()]), racks_path=racks).plan
    files = export_csv(plan, tmp_path / "out")
    again = import_csv(Plan(site=Site("S"), halls=[Hall()]), *files).plan
    assert again.racks[0].depth_m == 0.001


@pytest.mark.parametrize("file, head, row, problem", [
    ("rack_plan.csv", "rack,hall,x_m,y_m,orientation,power_budget_kw", "A01,Hall 1,2.7,1.8,S,1e308",
     "rack_plan.csv:2: power_budget_kw: must be <= "),
    ("rack_plan.csv", "rack,hall,x_m,y_m,orientation,max_weight_kg", "A01,Hall 1,2.7,1.8,S,999999999999999999999",
     "rack_plan.csv:2: max_weight_kg: must be <= "),
    ("racks.csv", "site,location,name,status,max_weight,weight_unit", "Phoenix AI Campus,Hall 1,A01,active,3e9,lb",
     "racks.csv:2: max_weight: 3e9 lb is more than 1e+09 kg"),
])
def test_import_refuses_sizes_the_plan_could_not_be_opened_with(plan_file, tmp_path, capsys, file, head, row, problem):
    """Fuzz campaign find: these cells were imported (exit 0) into a plan that then failed to open.
    The import's bounds are the reader's (planner.plan.QUANTITY_MAX); the plan is not changed."""
    csv = tmp_path / file
    csv.write_text(f"{head}\n{row}\n")
    before = plan_file.read_bytes()
    option = "--rack-plan" if file == "rack_plan.csv" else "--racks"
    code, _, err = cli(capsys, "import", plan_file, option, csv)
    assert code == 1 and err.splitlines()[0].startswith(problem), err
    assert plan_file.read_bytes() == before


# ------------------------------------------------------------------ point 11: disk full, one line

@pytest.fixture
def tiny_disk(monkeypatch):
    """Every new SQLite database may grow to 8 pages: SQLite then answers SQLITE_FULL, "database or
    disk is full", exactly as on a full disk."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def cap(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA max_page_count=8")

    event.listen(Engine, "connect", cap)
    yield
    event.remove(Engine, "connect", cap)


def test_disk_full_while_saving_is_one_line_and_keeps_the_plan(plan_file, tiny_disk, capsys):
    before = plan_file.read_bytes()
    with pytest.raises(PlanFileError) as e:
        save_plan(build_demo_plan(), plan_file)
    assert str(e.value) == f"disk full while writing {plan_file}; the previous file is unchanged"
    assert plan_file.read_bytes() == before
    # the write lock's file stays (holding its OS lock is the lock); no temporary is left
    assert sorted(p.name for p in plan_file.parent.iterdir()) == [".hall.dcplan.lock", "hall.dcplan"]
    racks = plan_file.parent / "racks.csv"
    racks.write_text("site,location,name,status\nPhoenix AI Campus,Hall 1,NEW1,planned\n")
    code, _, err = cli(capsys, "import", plan_file, "--racks", racks)
    assert code == 2 and err == f"dcplan: error: disk full while writing {plan_file}; the previous file is unchanged\n"
    assert plan_file.read_bytes() == before


# ------------------------------------------------------------------ point 12: damage in one line, nothing left

def test_damage_report_is_one_line_with_detail_behind_verbose(plan_file, capsys):
    con = sqlite3.connect(plan_file)
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='rack'").fetchone()[0]
    con.close()
    data = bytearray(plan_file.read_bytes())
    page = (root - 1) * 4096  # the rack table's b-tree page: a bad header and scrambled cells
    data[page:page + 12] = b"\x0d\xff\xff\x00\x05" + bytes(7)
    data[page + 200:page + 1200] = bytes(range(256)) * 3 + bytes(232)
    plan_file.write_bytes(bytes(data))
    code, _, err = cli(capsys, "check", plan_file)
    assert code == 2 and len(err.splitlines()) == 1 and "damaged" in err and "--verbose" in err
    code, _, verbose = cli(capsys, "check", plan_file, "--verbose")
    assert code == 2 and len(verbose.splitlines()) > 1 and verbose.splitlines()[0] == err.splitlines()[0]


def _wal_plan(plan_file: Path) -> None:
    con = sqlite3.connect(plan_file)
    assert con.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    con.close()  # a clean close checkpoints and removes -wal/-shm: the file stays in WAL mode
    assert sorted(p.name for p in plan_file.parent.iterdir()) == ["hall.dcplan"]


def test_read_only_commands_leave_no_side_files_on_a_wal_plan(plan_file, capsys, tmp_path):
    _wal_plan(plan_file)
    before = plan_file.read_bytes()
    out = tmp_path / "csv"
    for command in (["check", plan_file], ["info", plan_file], ["export", plan_file, "--out", out],
                    ["simulate", plan_file, "--days", "0.0125"]):
        code, _, err = cli(capsys, *command)
        assert code in (0, 1), err
        assert sorted(p.name for p in plan_file.parent.iterdir() if p.is_file()) == ["hall.dcplan"], command
    assert plan_file.read_bytes() == before


def test_wal_plan_in_a_read_only_folder_opens(plan_file, capsys, tmp_path):
    _wal_plan(plan_file)
    if os.geteuid() == 0:  # root writes anywhere: make the folder truly read-only with a ro bind mount
        mnt = tmp_path / "ro"
        mnt.mkdir()
        if subprocess.run(["mount", "--bind", "-o", "ro", str(plan_file.parent), str(mnt)],
                          capture_output=True).returncode != 0:
            pytest.skip("cannot make a read-only mount here")
        try:
            code, out, err = cli(capsys, "info", mnt / "hall.dcplan", "--json")
        finally:
            subprocess.run(["umount", str(mnt)], check=True)
    else:
        os.chmod(plan_file.parent, 0o555)
        try:
            code, out, err = cli(capsys, "info", plan_file, "--json")
        finally:
            os.chmod(plan_file.parent, 0o755)
    assert code == 0 and "damaged" not in err, err


# ------------------------------------------------------------------ point 8: large imports stream

# peak resident memory [KiB] from /proc: VmHWM belongs to this process image (ru_maxrss would carry
# the parent's peak across fork + exec on Linux and measure pytest, not the import)
_RSS = """
import sys
from planner.csv_exchange import CsvImportError, import_csv
from planner.plan import Hall, Plan, Site
try:
    import_csv(Plan(site=Site("S"), halls=[Hall()]), racks_path=sys.argv[1])
except CsvImportError:
    pass
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def _peak_rss_kib(csv_path: Path) -> int:
    out = subprocess.run([sys.executable, "-c", _RSS, str(csv_path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=300, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory read from Linux's /proc")
def test_blank_lines_stream_in_constant_memory(tmp_path):
    """2 million blank lines after the header: the old reader held a list per line (~160 MB more)."""
    head = "site,location,name,status\nS,Hall 1,R1,active\n"
    small, big = tmp_path / "small.csv", tmp_path / "racks.csv"
    small.write_text(head)
    with open(big, "w") as fh:
        fh.write(head)
        fh.write("\n" * 2_000_000)
    extra_mib = (_peak_rss_kib(big) - _peak_rss_kib(small)) / 1024
    assert extra_mib < 20, f"{extra_mib:.0f} MiB more for 2 million blank lines"


def test_too_many_rows_stop_the_stream(tmp_path, monkeypatch):
    import planner.csv_cells as cells  # the row bound lives with the CSV reader
    from planner.csv_exchange import CsvImportError, import_csv
    from planner.plan import Hall, Plan, Site

    monkeypatch.setattr(cells, "MAX_CSV_ROWS", 1000)
    racks = tmp_path / "racks.csv"
    racks.write_text("site,location,name,status\n" + "".join(f"S,Hall 1,R{i},active\n" for i in range(5000)))
    with pytest.raises(CsvImportError) as e:
        import_csv(Plan(site=Site("S"), halls=[Hall()]), racks_path=racks)
    assert [str(p) for p in e.value.problems] == [
        "racks.csv:1002: more than 1,000 rows; no hall holds that many (split the file)"]


def test_printed_problems_are_capped_with_a_count_of_the_rest(plan_file, tmp_path, capsys):
    devices = tmp_path / "devices.csv"
    devices.write_text("name,device_type,site,rack,position,status\n"
                       + "".join(f"X{i},No Such Box,S,A01,1,active\n" for i in range(5000)))
    before = plan_file.read_bytes()
    code, _, err = cli(capsys, "import", plan_file, "--devices", devices)
    lines = err.splitlines()
    assert code == 1 and len(lines) == 102
    assert lines[0] == "devices.csv:2: device_type: unknown device type 'No Such Box'"
    assert lines[100] == "... and 4,900 more problem(s) not shown"
    assert lines[101] == f"dcplan: import refused: 5,000 problem(s); {plan_file} was not changed"
    code, out, _ = cli(capsys, "import", plan_file, "--devices", devices, "--json")
    import json

    info = json.loads(out)
    assert code == 1 and len(info["problems"]) == 100 and info["problems_total"] == 5000
    assert plan_file.read_bytes() == before


def test_devices_piled_into_one_unit_are_one_problem_per_row(tmp_path):
    """3,000 devices at U1 of one rack: each row is reported once (against the first row it meets),
    not against every earlier row (4.5 million problems, quadratic time)."""
    from planner.csv_exchange import CsvImportError, import_csv

    from sample_plans import three_rack_plan

    devices = tmp_path / "devices.csv"
    devices.write_text("name,device_type,site,rack,position,status\n"
                       + "".join(f"X{i},DGX H100,S,A01,1,active\n" for i in range(3000)))
    with pytest.raises(CsvImportError) as e:
        import_csv(three_rack_plan(), devices_path=devices)
    assert e.value.total == 3000 * 2 - 1  # each row overlaps A01-DGX1 in the plan; rows 3.. also row 2
    assert str(e.value.problems[1]) == "devices.csv:3: position: U 1-8 overlaps 'A01-DGX1' (U 5-12) already in the plan"
    assert str(e.value.problems[2]) == "devices.csv:3: position: U 1-8 overlaps 'X0' (U 1-8) on row 2"
