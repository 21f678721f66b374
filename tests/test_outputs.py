"""Output files: never over a plan or an input, never a half file, disk full in one line."""
import errno
import os
import subprocess
import sys

import pytest

from models.store import load_plan, save_plan
from planner.demo import build_demo_plan
from planner.outputs import OutputError, atomic_output, check_output_target, is_plan_file, write_output

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _dcplan(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ui.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": ROOT})


def test_plan_recognised_by_application_id_not_suffix(plan_file, tmp_path):
    renamed = tmp_path / "looks-like.csv"
    renamed.write_bytes(plan_file.read_bytes())
    assert is_plan_file(plan_file) and is_plan_file(renamed)
    other = tmp_path / "other.dcplan"
    other.write_text("time,it_kw\n")
    assert not is_plan_file(other)
    import sqlite3
    foreign = tmp_path / "foreign.dcplan"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    assert not is_plan_file(foreign)  # SQLite, but not ours: an ordinary output may replace it


def test_simulate_timeseries_refuses_another_plan_and_the_input(plan_file, tmp_path):
    """The defect: `--timeseries other.dcplan` replaced the plan with CSV text."""
    other = tmp_path / "other.dcplan"
    save_plan(build_demo_plan(), other)
    before = other.read_bytes()
    r = _dcplan("simulate", plan_file, "--days", "0.01", "--step", "6", "--timeseries", other, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "is a dcplan plan" in r.stderr and "Traceback" not in r.stderr
    assert other.read_bytes() == before
    in_before = plan_file.read_bytes()
    r = _dcplan("simulate", plan_file, "--days", "0.01", "--step", "6", "--timeseries", plan_file, cwd=tmp_path)
    assert r.returncode == 2 and "input of this command" in r.stderr
    assert plan_file.read_bytes() == in_before
    load_plan(plan_file)


# every option that writes a file, with the least arguments that reach the write (--out of export is
# a folder: its racks.csv is the file at stake)
OUTPUT_OPTIONS = {
    ("simulate", "--timeseries"): ["--days", "0.01", "--step", "6"],
    ("schedule", "--out"): ["--days", "1", "--method", "fcfs"],
    ("sweep", "--out"): ["--vary", "control=reactive", "--days", "0.125"],
    ("export", "--out"): [],
    ("edit", "--out"): ["rename", "A01", "Z01"],  # the edited plan saved to another file
}


def test_every_output_option_of_the_cli_is_listed_here():
    """A new option that writes a file joins OUTPUT_OPTIONS (and so the test below)."""
    import argparse

    from ui.cli import build_parser

    found = set()
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= {(name, o) for a in sub._actions for o in a.option_strings
                          if a.dest in ("out", "timeseries", "output", "save_as", "report", "csv")}
    assert found == set(OUTPUT_OPTIONS)


@pytest.mark.parametrize("command, option", sorted(OUTPUT_OPTIONS))
def test_every_output_option_refuses_another_plan_and_the_input(plan_file, tmp_path, capsys, command, option):
    """Point 1 for every file-writing option: a plan (known by its application id, whatever its name)
    and the command's own input are never written over; exit 2 with one line, bytes unchanged."""
    from ui.cli import main

    other = tmp_path / "results.csv"  # a plan named like an output
    save_plan(build_demo_plan(2), other)
    target = other
    if command == "export":
        target = tmp_path / "set"
        target.mkdir()
        (target / "racks.csv").write_bytes(other.read_bytes())
        other = target / "racks.csv"
    before, plan_before = other.read_bytes(), plan_file.read_bytes()
    code = main([command, str(plan_file), *OUTPUT_OPTIONS[command, option], option, str(target)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "is a dcplan plan" in err[-1], err
    assert other.read_bytes() == before and plan_file.read_bytes() == plan_before
    if command != "export":  # (export's --out is a folder, never the plan file itself)
        code = main([command, str(plan_file), *OUTPUT_OPTIONS[command, option], option, str(plan_file)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and "input of this command" in err[-1], err
        assert plan_file.read_bytes() == plan_before


def test_export_refuses_to_write_over_a_plan_named_like_a_csv(plan_file, tmp_path):
    out = tmp_path / "csv"
    out.mkdir()
    trap = out / "racks.csv"
    trap.write_bytes(plan_file.read_bytes())
    r = _dcplan("export", plan_file, "--out", out, cwd=tmp_path)
    assert r.returncode == 2 and "is a dcplan plan" in r.stderr, r.stderr
    assert is_plan_file(trap)


def test_symlinked_input_is_still_the_input(plan_file, tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(plan_file)
    with pytest.raises(OutputError, match="input of this command|is a dcplan plan"):
        check_output_target(link, protect=[plan_file])


def test_folder_fifo_and_missing_folder_refused(tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        check_output_target(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="not a regular file"):
        check_output_target(fifo)
    with pytest.raises(OutputError, match="does not exist"):
        check_output_target(tmp_path / "no" / "x.csv")


def test_interrupted_write_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as fh:
            fh.write("new, half")
            raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_disk_full_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError) as info:
        write_output(target, "a,b\n" * 1000)
    assert str(info.value).startswith("disk full while writing") and "\n" not in str(info.value)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("size", [100, 20_000])
def test_disk_full_in_the_middle_of_a_buffered_write_is_one_line(tmp_path, monkeypatch, size):
    """Fault campaign find: with a few KiB free, the writer's own buffered write failed inside the
    block and the close in the clean-up flushed the rest and failed again; that second OSError
    escaped as an internal error (exit 3). The temporary's descriptor is /dev/full here: every write
    that reaches the disk answers ENOSPC, as a full disk does."""
    import planner.outputs as outputs

    target = tmp_path / "out.csv"
    target.write_text("old\n")
    real_mkstemp = outputs.tempfile.mkstemp

    def on_a_full_disk(**kw):
        fd, name = real_mkstemp(**kw)
        os.dup2(os.open("/dev/full", os.O_WRONLY), fd)
        return fd, name

    monkeypatch.setattr(outputs.tempfile, "mkstemp", on_a_full_disk)
    with pytest.raises(OutputError) as info:
        with atomic_output(target) as fh:
            fh.write("a,b\n" * (size // 4))
    assert str(info.value).startswith(f"disk full while writing {target}") and "\n" not in str(info.value)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_existing_output_keeps_its_mode_and_symlink(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_output(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert (real.stat().st_mode & 0o777) == 0o640
