"""The headless CLI: JSON output, exit codes, clear errors instead of tracebacks."""
import json
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
    assert code == 0 and json.loads(out)["racks"] == 28
    code, out, _ = run(capsys, "check", str(plan), "--json")
    data = json.loads(out)
    assert code == 0 and data["errors"] == 0 and data["totals"]["gpus"] == 1056
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
    code, out, _ = run(capsys, "check", str(plan_path))
    assert code == 1 and "rack-overlap" in out and "1 error(s)" in out


def test_bad_plan_file_is_a_clear_error(tmp_path, capsys):
    f = tmp_path / "x.dcplan"
    f.write_text("hello")
    code, out, err = run(capsys, "check", str(f))
    assert code == 2 and err.startswith("dcplan: error:") and "not an SQLite database" in err
    assert "Traceback" not in err


def test_console_script_runs_without_display(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "ui.cli", "demo", str(tmp_path / "p.dcplan"), "--json"],
                       cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["servers"] == 100


def test_usage_error_exit_code(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
