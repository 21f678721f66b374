"""The headless CLI: JSON output, exit codes, clear errors instead of tracebacks."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ui.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_check_info(tmp_path, capsys):
    plan = tmp_path / "demo.dcplan"
    code, out, _ = run(capsys, "demo", str(plan), "--json")
    assert code == 0 and json.loads(out)["racks"] == 32
    # the Phoenix demo's plant is sized at 35 °C with no spare: the design-day check says so
    code, out, _ = run(capsys, "check", str(plan), "--json")
    data = json.loads(out)
    assert code == 1 and data["errors"] == 2 and data["totals"]["gpus"] == 1344
    short = {p["subject"]: p["message"] for p in data["problems"] if p["code"] == "loop-design-day"}
    assert set(short) == {"CHW", "FWS"} and "43.4 °C design dry bulb" in short["FWS"]
    assert data["totals"]["design_dry_bulb_c"] == 43.4 and data["totals"]["headroom_kw"] < 0
    # the same hall in Minneapolis: no error (bundled city names accepted), exit 0
    code, out, _ = run(capsys, "check", str(plan), "--json", "--weather", "Minneapolis")
    data = json.loads(out)
    assert code == 0 and data["errors"] == 0 and data["totals"]["design_dry_bulb_c"] == 32.8
    code, out, _ = run(capsys, "check", str(plan))
    assert code == 1 and "loop-design-day" in out and "43.4 °C design dry bulb" in out
    assert "at the 43.4 °C design day" in out
    code, _, err = run(capsys, "check", str(plan), "--weather", "Atlantis")
    assert code == 2 and "Atlantis" in err and "weather file not found" in err and "Traceback" not in err
    code, out, _ = run(capsys, "info", str(plan), "--json")
    assert json.loads(out)["site"] == "Phoenix AI Campus"


def test_demo_refuses_to_overwrite(tmp_path, capsys):
    plan = tmp_path / "d.dcplan"
    run(capsys, "demo", str(plan))
    code, _, err = run(capsys, "demo", str(plan))
    assert code == 2 and "already exists" in err
    assert run(capsys, "demo", str(plan), "--force", "--racks", "40")[0] == 0


def test_check_exit_code_on_errors(tmp_path, capsys):
    from models.store import load_plan, save_plan

    plan_path = tmp_path / "d.dcplan"
    run(capsys, "demo", str(plan_path))
    plan = load_plan(plan_path)
    plan.racks[1].x_m = plan.racks[0].x_m  # overlap
    save_plan(plan, plan_path)
    code, out, _ = run(capsys, "check", str(plan_path), "--weather", "Minneapolis")
    assert code == 1 and "rack-overlap" in out and re.search(r"^1 error, \d+ warnings; 32 racks", out, re.M), out


def test_bad_plan_file_is_a_clear_error(tmp_path, capsys):
    f = tmp_path / "x.dcplan"
    f.write_text("hello")
    code, out, err = run(capsys, "check", str(f))
    assert code == 2 and err.startswith("dcplan: error:") and "not an SQLite database" in err
    assert "Traceback" not in err


def test_console_script_runs_without_display(tmp_path):
    """The installed ``dcplan`` entry point, with no DISPLAY and a bare environment."""
    exe = Path(sys.executable).with_name("dcplan")
    assert exe.exists(), "dcplan console script not installed next to the test interpreter"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    r = subprocess.run([str(exe), "demo", str(tmp_path / "p.dcplan"), "--json"],
                       cwd=tmp_path, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["servers"] == 104


def test_usage_error_exit_code(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_round_trip_demo_export_import_export_identical(tmp_path, capsys):
    """Acceptance: demo -> export -> import into an empty plan -> export gives identical CSV files."""
    demo, fresh = tmp_path / "demo.dcplan", tmp_path / "fresh.dcplan"
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(capsys, "demo", str(demo))[0] == 0
    assert run(capsys, "export", str(demo), "--out", str(a))[0] == 0
    code, out, err = run(capsys, "import", str(fresh), "--racks", str(a / "racks.csv"),
                         "--devices", str(a / "devices.csv"), "--rack-plan", str(a / "rack_plan.csv"), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["created_racks"] == 32 and info["created_servers"] == 104
    assert run(capsys, "export", str(fresh), "--out", str(b))[0] == 0
    names = sorted(p.name for p in a.iterdir() if p.suffix == ".csv")
    assert names == ["devices.csv", "rack_plan.csv", "racks.csv"]
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n
    from models.store import load_plan

    # the rack plan survives: racks (positions, loops, feed names) and servers are the demo's
    original, back = load_plan(demo), load_plan(fresh)
    assert back.racks == original.racks and back.servers == original.servers
    assert back.site.name == original.site.name


def test_failed_import_changes_nothing(tmp_path, capsys):
    demo = tmp_path / "demo.dcplan"
    run(capsys, "demo", str(demo))
    before = demo.read_bytes()
    bad = tmp_path / "devices.csv"
    bad.write_text("name,role,manufacturer,device_type,site,location,rack,position,face,status\n"
                   "X1,GPU server,NVIDIA,DGX H100,Phoenix AI Campus,Hall 1,A01,1,front,active\n"
                   "X2,GPU server,NVIDIA,No Such Box,Phoenix AI Campus,Hall 1,A01,20,front,active\n")
    code, _, err = run(capsys, "import", str(demo), "--devices", str(bad))
    assert code == 1
    assert "devices.csv:2:" in err and "devices.csv:3: device_type:" in err and "was not changed" in err
    assert demo.read_bytes() == before


def test_missing_catalog_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import planner.catalog as catalog

    real = catalog.load_catalog
    monkeypatch.setattr(catalog, "load_catalog", lambda path=tmp_path / "nope.json": real(path))
    import planner.demo
    monkeypatch.setattr(planner.demo, "load_catalog", catalog.load_catalog)
    code, _, err = run(capsys, "demo", str(tmp_path / "d.dcplan"))
    assert code == 2 and "nope.json: cannot read catalog" in err and "Traceback" not in err


def test_unexpected_failure_is_one_line(tmp_path, capsys, monkeypatch):
    import planner.demo

    monkeypatch.delenv("DCPLAN_DEBUG", raising=False)
    monkeypatch.setattr(planner.demo, "build_demo_plan", lambda n=None: 1 / 0)
    code, _, err = run(capsys, "demo", str(tmp_path / "d.dcplan"))
    assert code == 3 and err.startswith("dcplan: internal error: ZeroDivisionError") and len(err.splitlines()) == 1


def test_closed_output_pipe_stops_quietly(tmp_path):
    """`dcplan ... | head`: when the reader has gone the CLI stops with 141 (128 + SIGPIPE) and prints
    nothing to stderr — no "internal error", no "Exception ignored" from the interpreter's exit flush.

    A real pipe whose read end is closed before the process starts, and buffered output (no
    PYTHONUNBUFFERED), so the broken pipe shows at the final flush as it does in a shell."""
    import os
    plan = tmp_path / "p.dcplan"
    assert main(["demo", str(plan)]) == 0
    exe = Path(sys.executable).with_name("dcplan")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for argv in (["check", str(plan)], ["info", str(plan)]):
        r, w = os.pipe()
        os.close(r)
        try:
            proc = subprocess.run([str(exe), *argv], stdout=w, stderr=subprocess.PIPE, text=True, env=env,
                                  timeout=60)
        finally:
            os.close(w)
        assert proc.returncode == 141, proc.stderr
        assert proc.stderr == ""
