"""Issue 8, points 9 and 10: the plan's write lock (no lost update), the GUI noticing a file changed
on disk, export sets marked by manifest.json (written last), refused mixed or interrupted sets,
--allow-deletions, and stale temporaries of crashed runs cleaned by the next writer."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.store import load_plan, save_plan
from planner.demo import build_demo_plan
from ui.cli import main

ROOT = Path(__file__).resolve().parents[1]
SITE = "Phoenix AI Campus"


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def rack_plan_row(tmp_path, name, x, y=17.0):
    p = tmp_path / f"rack_plan_{name}.csv"
    p.write_text(f"rack,hall,x_m,y_m,orientation\n{name},Hall 1,{x},{y},N\n")
    return p


# ------------------------------------------------------------------ point 9: the write lock

def test_import_refuses_while_another_process_holds_the_plan(plan_file, tmp_path, capsys):
    from models.store import plan_lock

    before = plan_file.read_bytes()
    csv = rack_plan_row(tmp_path, "Z01", 2.0)
    with plan_lock(plan_file):
        # the lock is a file lock: another process sees it (this test's process holds it)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        p = subprocess.run([sys.executable, "-m", "ui.cli", "import", str(plan_file), "--rack-plan", str(csv)],
                           capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1
    assert "is being changed by another program" in p.stderr and "try again" in p.stderr
    assert plan_file.read_bytes() == before
    assert cli(capsys, "import", plan_file, "--rack-plan", csv)[0] == 0  # released: it goes through


def test_concurrent_imports_never_lose_an_update(plan_file, tmp_path):
    """Two imports started together: both racks end in the plan, or the refused one says so."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for trial in range(3):
        a, b = f"Y{trial}A", f"Y{trial}B"
        procs = [subprocess.Popen([sys.executable, "-m", "ui.cli", "import", str(plan_file), "--rack-plan",
                                   str(rack_plan_row(tmp_path, n, x))], stderr=subprocess.PIPE, text=True,
                                  env=env, cwd=ROOT)
                 for n, x in ((a, round(0.9 + 1.2 * trial, 3)), (b, round(1.5 + 1.2 * trial, 3)))]
        codes = [p.wait(timeout=120) for p in procs]
        errs = [p.stderr.read() for p in procs]
        racks = load_plan(plan_file).rack_map()
        for name, code, err in zip((a, b), codes, errs):
            if code == 0:
                assert name in racks, f"trial {trial}: {name} imported (exit 0) but lost"
            else:
                assert code == 2 and "being changed by another program" in err, err
                assert name not in racks


def test_gui_save_notices_a_file_changed_on_disk(win, msgs, tmp_path, monkeypatch):
    from gui_helpers import select
    from ui import messages

    asked = []
    answer = {"value": False}
    monkeypatch.setattr(messages, "confirm", lambda parent, title, text, ok: (asked.append(text), answer["value"])[1])
    path = tmp_path / "hall.dcplan"
    save_plan(build_demo_plan(), path)
    assert win.open_path(path)
    other = load_plan(path)  # meanwhile another program changes the file
    other.racks[0].row = "changed elsewhere"
    save_plan(other, path)
    theirs = path.read_bytes()
    select(win, "A02")
    win.act_delete.trigger()
    assert not win.file_save()  # asked, answered Cancel: their file stays
    assert len(asked) == 1 and "changed on disk since you opened it" in asked[0] and not msgs.warnings
    assert path.read_bytes() == theirs and win.isWindowModified()
    answer["value"] = True
    assert win.file_save()  # asked again, answered Overwrite
    assert len(asked) == 2 and "A02" not in load_plan(path).rack_map()
    select(win, "A03")
    win.act_delete.trigger()
    assert win.file_save() and len(asked) == 2  # our own last save is not "changed on disk"


# ------------------------------------------------------------------ point 10: export sets

def test_export_writes_a_manifest_last_with_digests(plan_file, tmp_path, capsys):
    import hashlib

    out = tmp_path / "csv"
    assert cli(capsys, "export", plan_file, "--out", out)[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is True and len(manifest["export_id"]) == 32
    assert sorted(manifest["files"]) == ["devices.csv", "rack_plan.csv", "racks.csv"]
    for name, entry in manifest["files"].items():
        data = (out / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    # written last: its mtime is not older than any CSV's
    assert all((out / "manifest.json").stat().st_mtime_ns >= (out / n).stat().st_mtime_ns for n in manifest["files"])


def _export(capsys, plan_file, out):
    assert cli(capsys, "export", plan_file, "--out", out)[0] == 0
    return [out / "racks.csv", out / "devices.csv", out / "rack_plan.csv"]


def _import_set(capsys, plan_file, files, *extra):
    racks, devices, rack_plan = files
    return cli(capsys, "import", plan_file, "--racks", racks, "--devices", devices, "--rack-plan", rack_plan, *extra)


def test_killed_export_over_an_older_one_is_refused_on_import(plan_file, tmp_path, capsys, monkeypatch):
    """The export dies after replacing racks.csv: devices.csv and rack_plan.csv are the old export's.
    Importing that folder used to exit 0 and remove every server; now it is refused."""
    out = tmp_path / "csv"
    files = _export(capsys, plan_file, out)
    plan = load_plan(plan_file)
    plan.servers = plan.servers[:10]
    save_plan(plan, plan_file)
    import planner.outputs as outputs

    real, calls = os.replace, []

    def die_after_first_csv(a, b):
        calls.append(b)
        if len(calls) == 3:
            raise KeyboardInterrupt  # kill -9 stand-in: nothing after this point runs
        return real(a, b)

    monkeypatch.setattr(outputs.os, "replace", die_after_first_csv)
    with pytest.raises(KeyboardInterrupt):
        from planner.csv_exchange import export_csv

        export_csv(load_plan(plan_file), out)
    monkeypatch.setattr(outputs.os, "replace", real)
    fresh = tmp_path / "fresh.dcplan"
    save_plan(build_demo_plan(), fresh)
    before = fresh.read_bytes()
    code, _, err = _import_set(capsys, fresh, files)
    assert code == 1 and "interrupted" in err and fresh.read_bytes() == before


def test_files_from_two_exports_are_refused(plan_file, tmp_path, capsys):
    a = _export(capsys, plan_file, tmp_path / "a")
    plan = load_plan(plan_file)
    plan.racks[0].row = "other"
    save_plan(plan, plan_file)
    b = _export(capsys, plan_file, tmp_path / "b")
    code, _, err = _import_set(capsys, plan_file, (a[0], b[1], a[2]))
    assert code == 1 and "come from different exports" in err


def test_a_file_changed_since_its_export_is_refused_unless_told(plan_file, tmp_path, capsys):
    files = _export(capsys, plan_file, tmp_path / "a")
    text = files[2].read_text().replace(",active,", ",planned,", 1)  # a hand edit in rack_plan.csv
    files[2].write_text(text)
    before = plan_file.read_bytes()
    code, _, err = _import_set(capsys, plan_file, files)
    assert code == 1 and "rack_plan.csv: changed since export" in err and "--ignore-manifest" in err
    assert plan_file.read_bytes() == before
    code, out, err = _import_set(capsys, plan_file, files, "--ignore-manifest")
    assert code == 0, err
    assert "warning: rack_plan.csv: changed since export" in err


def test_files_without_a_manifest_import_with_a_warning(plan_file, tmp_path, capsys):
    files = _export(capsys, plan_file, tmp_path / "a")
    (tmp_path / "a" / "manifest.json").unlink()  # NetBox's own export, or hand-made files
    code, out, err = _import_set(capsys, plan_file, files, "--json")
    assert code == 0, err
    assert any("no manifest.json" in w for w in json.loads(out)["warnings"])


def test_removing_most_servers_needs_allow_deletions(plan_file, tmp_path, capsys):
    files = _export(capsys, plan_file, tmp_path / "a")
    (tmp_path / "a" / "manifest.json").unlink()
    header = files[1].read_text().splitlines()[0]
    files[1].write_text(header + "\n")  # devices.csv lists no server: every listed rack is emptied
    before = plan_file.read_bytes()
    n = len(load_plan(plan_file).servers)
    code, _, err = _import_set(capsys, plan_file, files)
    assert code == 1 and f"would remove {n:,} of {n:,} servers" in err and "--allow-deletions" in err
    assert plan_file.read_bytes() == before
    code, out, err = _import_set(capsys, plan_file, files, "--allow-deletions")
    assert code == 0 and f"{n} removed" in out and load_plan(plan_file).servers == []


# ------------------------------------------------------------------ point 10: debris of crashed runs

def test_a_writer_cleans_stale_temporaries_of_crashed_runs(plan_file, tmp_path, capsys):
    folder = plan_file.parent
    old = time.time() - 3600
    stale = [folder / ".hall.dcplan.k3j2h1g0.tmp", folder / ".hall.dcplan.k3j2h1g0.tmp-journal"]
    foreign = [folder / ".other.dcplan.abcdefgh.tmp", folder / "notes.tmp", folder / ".hall.dcplan.lockless"]
    for p in stale + foreign:
        p.write_bytes(b"debris")
        os.utime(p, (old, old))
    fresh = folder / ".hall.dcplan.zzzzzzzz.tmp"  # newer than the lock: not a crashed run's
    fresh.write_bytes(b"in use")
    os.utime(fresh, (time.time() + 600, time.time() + 600))
    assert cli(capsys, "import", plan_file, "--rack-plan", rack_plan_row(tmp_path, "Z02", 2.0))[0] == 0
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in foreign) and fresh.exists()


def test_export_cleans_stale_temporaries_in_its_folder(plan_file, tmp_path, capsys):
    out = tmp_path / "csv"
    out.mkdir()
    old = time.time() - 3600
    stale = out / ".racks.csv.q1w2e3r4.tmp"
    keep = out / ".mine.csv.q1w2e3r4.tmp"
    for p in (stale, keep):
        p.write_bytes(b"half")
        os.utime(p, (old, old))
    _export(capsys, plan_file, out)
    assert not stale.exists() and keep.exists()


def test_gui_import_asks_before_removing_most_servers(win, msgs, tmp_path, monkeypatch, capsys):
    """The editor's import refuses wholesale removal unless the user confirms it (the CLI's
    --allow-deletions); files without a manifest are imported with the warning shown."""
    from ui import messages

    path = tmp_path / "hall.dcplan"
    save_plan(build_demo_plan(), path)
    files = _export(capsys, path, tmp_path / "a")
    (tmp_path / "a" / "manifest.json").unlink()
    files[1].write_text(files[1].read_text().splitlines()[0] + "\n")  # no devices
    asked, answer = [], {"value": False}
    monkeypatch.setattr(messages, "confirm", lambda parent, title, text, ok: (asked.append(text), answer["value"])[1])
    msgs.csv_files = [str(f) for f in files]
    assert win.open_path(path)
    n = len(win.doc.plan.servers)
    win.act_import.trigger()
    assert len(asked) == 1 and f"remove {n:,} of the plan's {n:,} servers" in asked[0]
    assert len(win.doc.plan.servers) == n and not win.isWindowModified()
    answer["value"] = True
    win.act_import.trigger()
    assert len(asked) == 2 and win.doc.plan.servers == [] and win.isWindowModified()
    assert not msgs.warnings and "no manifest.json" in msgs.infos[-1]
