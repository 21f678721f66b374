"""Plan files: round trip, foreign keys, schema version, damaged files, atomic save."""
import hashlib
import os
import re
import sqlite3

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from models.store import PlanFileError, load_plan, make_engine, save_plan
from models.tables import SCHEMA_VERSION, ServerRow
from planner.demo import build_demo_plan
from planner.plan import Plan, Rack


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns


def test_round_trip_is_lossless(demo_file):
    assert load_plan(demo_file) == build_demo_plan()


def test_large_plan_round_trip(tmp_path):
    plan = build_demo_plan(600)
    save_plan(plan, tmp_path / "big.dcplan")
    assert load_plan(tmp_path / "big.dcplan") == plan


def test_empty_plan_round_trip(tmp_path):
    save_plan(Plan(), tmp_path / "e.dcplan")
    assert load_plan(tmp_path / "e.dcplan") == Plan()


def test_foreign_keys_enforced_on_every_connection(demo_file):
    engine = make_engine(demo_file)
    try:
        for _ in range(2):  # NullPool: each connect is new and must get the pragma
            with engine.connect() as con:
                assert con.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(IntegrityError):
            with engine.begin() as con:
                con.execute(insert(ServerRow.__table__), [dict(name="ghost", rack_id=9999, server_type_id=1,
                                                                 u_position=1, face="front")])
    finally:
        engine.dispose()


def test_deleting_a_rack_cascades_to_its_servers(demo_file):
    engine = make_engine(demo_file)
    try:
        with engine.begin() as con:
            n0 = con.exec_driver_sql("SELECT COUNT(*) FROM server").scalar()
            con.exec_driver_sql("DELETE FROM rack WHERE name='A01'")
            assert con.exec_driver_sql("SELECT COUNT(*) FROM server").scalar() == n0 - 4
    finally:
        engine.dispose()


def test_newer_schema_refused_and_file_untouched(demo_file):
    con = sqlite3.connect(demo_file)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    before = _digest(demo_file)
    with pytest.raises(PlanFileError, match="newer dcplan"):
        load_plan(demo_file)
    assert _digest(demo_file) == before


def test_non_sqlite_file(tmp_path):
    f = tmp_path / "notes.dcplan"
    f.write_text("rack,row\nA01,A\n")
    before = _digest(f)
    with pytest.raises(PlanFileError, match="not an SQLite database"):
        load_plan(f)
    assert _digest(f) == before


def test_foreign_sqlite_file(tmp_path):
    f = tmp_path / "other.db"
    con = sqlite3.connect(f)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(PlanFileError, match="not a dcplan plan"):
        load_plan(f)


def test_corrupt_file_is_reported_and_untouched(demo_file):
    data = bytearray(demo_file.read_bytes())
    for i in range(4096, len(data), 97):  # scribble over every page after the header page
        data[i] = (data[i] * 31 + 7) % 256
    demo_file.write_bytes(bytes(data))
    before = _digest(demo_file)
    with pytest.raises(PlanFileError, match="damaged"):
        load_plan(demo_file)
    assert _digest(demo_file) == before


def test_truncated_file(demo_file):
    demo_file.write_bytes(demo_file.read_bytes()[:5000])
    with pytest.raises(PlanFileError):
        load_plan(demo_file)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(PlanFileError, match="nope.dcplan: does not exist"):
        load_plan(tmp_path / "nope.dcplan")
    with pytest.raises(PlanFileError, match="folder"):
        load_plan(tmp_path)


def test_save_with_dangling_reference_leaves_old_file(demo_file):
    before = _digest(demo_file)
    plan = build_demo_plan()
    plan.racks[0].air_loop = "NO-SUCH-LOOP"
    with pytest.raises(PlanFileError, match="rack 'A01' refers to air loop 'NO-SUCH-LOOP'"):
        save_plan(plan, demo_file)
    assert _digest(demo_file) == before


@pytest.mark.parametrize("field, value, column", [
    ("power_budget_kw", 1e308, "power_budget_kw"), ("max_weight_kg", 1e21, "max_weight_kg"),
    ("orientation", "n", "orientation")])
def test_a_plan_the_reader_would_refuse_is_never_saved(demo_file, field, value, column):
    """Fuzz campaign find: an import saved a 1e308 kW power budget, and the plan then refused to
    open (its reader's bound is 1e9). A save reads its file back through the reader before the
    rename: refused with the reader's table, row and column; the old file and no temporary stay."""
    before = _digest(demo_file)
    plan = build_demo_plan()
    setattr(plan.racks[0], field, value)
    with pytest.raises(PlanFileError) as e:
        save_plan(plan, demo_file)
    assert f"table rack, row 'A01', column {column}:" in str(e.value) and "\n" not in str(e.value)
    assert _digest(demo_file) == before
    assert sorted(p.name for p in demo_file.parent.iterdir() if ".tmp" in p.name) == []


def test_save_with_duplicate_rack_names(tmp_path):
    plan = build_demo_plan()
    plan.racks.append(Rack(name="A01"))
    with pytest.raises(PlanFileError, match="two racks are named 'A01'"):
        save_plan(plan, tmp_path / "x.dcplan")
    assert not (tmp_path / "x.dcplan").exists()


def test_crash_during_save_keeps_old_file_and_no_temp(demo_file, monkeypatch):
    before = _digest(demo_file)

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    plan = build_demo_plan()
    plan.racks[0].row = "changed"
    with pytest.raises(PlanFileError, match="previous file is unchanged"):
        save_plan(plan, demo_file)
    assert _digest(demo_file) == before
    assert sorted(p.name for p in demo_file.parent.iterdir()) == [".demo.dcplan.lock", "demo.dcplan"]


def test_save_into_missing_folder(tmp_path):
    with pytest.raises(PlanFileError, match="does not exist"):
        save_plan(Plan(), tmp_path / "no" / "x.dcplan")


def test_stale_side_files_never_meet_the_new_file(demo_file):
    """A leftover journal/WAL of the replaced file would be applied to the new one by SQLite."""
    journal = demo_file.with_name(demo_file.name + "-journal")
    journal.write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + b"\0" * 500)  # journal magic + junk
    with pytest.raises(PlanFileError, match="unfinished changes in demo.dcplan-journal"):
        load_plan(demo_file)
    plan = build_demo_plan()
    plan.racks[0].row = "saved over"
    save_plan(plan, demo_file)
    assert not journal.exists()
    assert load_plan(demo_file).racks[0].row == "saved over"


def test_wal_mode_plan_saved_over(tmp_path):
    path = tmp_path / "wal.dcplan"
    save_plan(build_demo_plan(), path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("UPDATE rack SET row='from-wal' WHERE name='A01'")
    con.commit()  # the change lives in wal.dcplan-wal until a checkpoint
    plan = build_demo_plan()
    save_plan(plan, path)  # written while the WAL connection is still open
    con.close()
    assert not path.with_name("wal.dcplan-wal").exists()
    assert load_plan(path) == plan
    chk = sqlite3.connect(path)
    assert chk.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    chk.close()


def test_save_follows_symlink_and_keeps_mode(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    target = real / "target.dcplan"
    save_plan(build_demo_plan(), target)
    os.chmod(target, 0o600)
    link = tmp_path / "link.dcplan"
    link.symlink_to(target)
    plan = build_demo_plan()
    plan.racks[0].row = "via link"
    save_plan(plan, link)
    assert link.is_symlink()
    assert load_plan(target).racks[0].row == "via link"
    assert (target.stat().st_mode & 0o777) == 0o600


def test_save_refuses_read_only_file(demo_file):
    os.chmod(demo_file, 0o444)
    before = _digest(demo_file)
    with pytest.raises(PlanFileError, match="read-only"):
        save_plan(build_demo_plan(), demo_file)
    assert _digest(demo_file) == before


def test_cancelled_save_keeps_old_file(demo_file):
    from models.store import SaveCancelled

    before = _digest(demo_file)
    with pytest.raises(SaveCancelled):
        save_plan(build_demo_plan(100), demo_file, cancel=lambda: True)
    assert _digest(demo_file) == before
    assert sorted(p.name for p in demo_file.parent.iterdir()) == [".demo.dcplan.lock", "demo.dcplan"]


# ----------------------------------------------------------------------------- schema versions

OLD_PLANS = os.path.join(os.path.dirname(__file__), "data", "plans")


#: The demo tariff in tests/data/plans/demo_schema2.dcplan (and the demo's still): an illustrative
#: three-band summer TOU with one demand charge on the peak at any hour.
SCHEMA2_PRICES = [0.065] * 14 + [0.11, 0.11, 0.21, 0.21, 0.21, 0.11, 0.11] + [0.065] * 3


def _open_old_plan(name: str, version: int):
    """Open the committed ``tests/data/plans/NAME`` (a file of schema ``version``, checked read-only
    before) and check that opening it wrote nothing, also not to migrate; returns the plan."""
    from pathlib import Path

    old = Path(OLD_PLANS) / name
    before = _digest(old)
    con = sqlite3.connect(old.resolve().as_uri() + "?mode=ro", uri=True)
    assert con.execute("PRAGMA user_version").fetchone()[0] == version
    con.close()
    plan = load_plan(old)
    assert _digest(old) == before  # opening never writes, also not to migrate
    return plan


def test_schema_1_plan_opens_migrated_in_memory_and_stays_untouched():
    """tests/data/plans/demo_schema1.dcplan was written by the schema-1 dcplan (`dcplan demo`)."""
    plan = _open_old_plan("demo_schema1.dcplan", 1)
    import copy
    expected = copy.deepcopy(build_demo_plan())  # its server types are the catalog's objects: edit a copy
    # the file keeps the demo of its day: the catalog chiller COP 4.1 and no water-side economiser
    # (both changed by #11: reference chiller curves, economiser dry coolers on the chilled water)
    expected.cooling_units = [u for u in expected.cooling_units if not u.name.startswith("ECO-")]
    for t in expected.server_types:  # catalog citations of physics.md now point into docs/
        t.sources = {k: v.replace("docs/physics.md", "physics.md") for k, v in t.sources.items()}
    for u in expected.cooling_units:
        if u.kind == "chiller":
            u.design_cop = 4.1
    assert plan == expected  # schema 1 had no job placement: every job comes back with none
    assert all(j.placement == () for j in plan.jobs)


def test_schema_1_plan_saved_becomes_current_schema(tmp_path):
    from pathlib import Path
    import shutil

    path = tmp_path / "old.dcplan"
    shutil.copy(Path(OLD_PLANS) / "demo_schema1.dcplan", path)
    plan = load_plan(path)
    plan.jobs[1].start_s = 0.0
    plan.jobs[1].placement = ((plan.servers[0].name, 8),)
    save_plan(plan, path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.close()
    assert load_plan(path) == plan


def test_schema_2_plan_opens_with_the_any_hour_demand_charge_and_stays_untouched():
    """tests/data/plans/demo_schema2.dcplan was written by the schema-2 dcplan (main 92a6a5e: the demo
    plan, ``save_plan``) with one saved schedule (job finetune-001 at 01:00 on two servers)."""
    from planner.plan import Tariff

    plan = _open_old_plan("demo_schema2.dcplan", 2)
    # schema 2 knew one demand charge on the month's peak at any hour: the migration's defaults say so
    for sc in plan.scenarios:
        assert sc.tariff == Tariff(SCHEMA2_PRICES, 18.0)
        assert sc.tariff.window_is_whole_time and sc.tariff.off_peak_demand_charge_usd_per_kw == 0.0
    expected = build_demo_plan()  # the demo's tariff is still that one
    expected.jobs[1].start_s = 3600.0
    expected.jobs[1].placement = (("F04-NVL72", 56), ("F03-NVL72", 8))
    assert plan == expected


def test_schema_2_plan_saved_becomes_current_schema_with_its_window(tmp_path):
    from dataclasses import replace
    from pathlib import Path
    import shutil

    path = tmp_path / "old.dcplan"
    shutil.copy(Path(OLD_PLANS) / "demo_schema2.dcplan", path)
    plan = load_plan(path)
    t = replace(plan.scenarios[0].tariff, demand_window_start_h=15, demand_window_end_h=20,
                demand_window_weekdays_only=True, demand_window_months=(5, 6, 7, 8, 9, 10),
                off_peak_demand_charge_usd_per_kw=2.5)
    plan.scenarios[0] = replace(plan.scenarios[0], tariff=t)
    save_plan(plan, path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.close()
    back = load_plan(path)
    assert back == plan and back.scenarios[0].tariff.demand_window_months == (5, 6, 7, 8, 9, 10)


@pytest.mark.parametrize("column, value, words", [
    ("demand_window_end_h", 25, "column demand_window_end_h: 25 is outside 1..24"),
    ("demand_window_months_json", "[7, 13]", "column demand_window_months_json: month 13 is not a whole number"),
    ("demand_window_months_json", "July", "column demand_window_months_json: not a JSON list"),
    ("demand_window_weekdays_only", 2, "column demand_window_weekdays_only: 2 is not true or false"),
    ("off_peak_demand_charge_usd_per_kw", -1.0, "column off_peak_demand_charge_usd_per_kw: -1 is below 0"),
    ("demand_window_start_h", 21, "column demand_window_start_h: the demand window 21:00–20:00 must start before"),
])
def test_bad_demand_window_in_a_file_is_named(tmp_path, column, value, words):
    from dataclasses import replace

    from planner.plan import Tariff

    plan = build_demo_plan()
    plan.scenarios[0] = replace(plan.scenarios[0], tariff=Tariff([0.1] * 24, 10.0, demand_window_start_h=15,
                                                                  demand_window_end_h=20))
    path = tmp_path / "p.dcplan"
    save_plan(plan, path)
    con = sqlite3.connect(path)
    con.execute(f"UPDATE scenario SET {column}=? WHERE id=1", (value,))
    con.commit()
    con.close()
    with pytest.raises(PlanFileError, match=re.escape(f"table scenario, row '{plan.scenarios[0].name}', {words}")):
        load_plan(path)


def test_job_placement_round_trip_and_cascade(tmp_path):
    plan = build_demo_plan()
    job = plan.jobs[1]
    a, b = plan.servers[-1].name, plan.servers[-2].name
    job.placement = ((a, 64), (b, 8))
    job.start_s = 3600.0
    path = tmp_path / "p.dcplan"
    save_plan(plan, path)
    back = load_plan(path)
    assert back.jobs[1].placement == ((a, 64), (b, 8))  # order kept
    assert back == plan
    engine = make_engine(path)
    try:
        with engine.begin() as con:
            con.exec_driver_sql("DELETE FROM server WHERE name=?", (b,))
            assert con.exec_driver_sql("SELECT COUNT(*) FROM job_placement").scalar() == 1
    finally:
        engine.dispose()


def test_placement_on_an_unknown_server_is_refused_before_writing(tmp_path):
    plan = build_demo_plan()
    plan.jobs[0].placement = (("NO-SUCH-SERVER", 8),)
    with pytest.raises(PlanFileError, match="job 'inference-serving' refers to server 'NO-SUCH-SERVER'"):
        save_plan(plan, tmp_path / "x.dcplan")
    assert not (tmp_path / "x.dcplan").exists()


@pytest.mark.parametrize("name, version", [("demo_schema1.dcplan", 1), ("demo_schema2.dcplan", 2)])
def test_migrated_schema_equals_a_fresh_one(tmp_path, name, version):
    """Every table, column (order, type, default), foreign key and index of a migrated file is what a
    save writes."""
    from pathlib import Path

    from models.migrations import migrated_copy

    def shape(con):
        out = {}
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
            out[name] = (con.execute(f"PRAGMA table_info({name})").fetchall(),
                         con.execute(f"PRAGMA foreign_key_list({name})").fetchall(),
                         sorted(r[1] for r in con.execute(f"PRAGMA index_list({name})")))
        return out

    save_plan(Plan(), tmp_path / "fresh.dcplan")
    fresh = sqlite3.connect(tmp_path / "fresh.dcplan")
    old = sqlite3.connect((Path(OLD_PLANS) / name).resolve().as_uri() + "?mode=ro", uri=True)
    migrated = migrated_copy(old, version, SCHEMA_VERSION)
    assert shape(migrated) == shape(fresh)
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    for con in (fresh, old, migrated):
        con.close()
