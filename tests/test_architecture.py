"""The one-way layering ui -> models -> planner, checked on the source and at run time."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT = {"PySide6", "PyQt5", "PyQt6", "PySide2", "pyqtgraph", "shiboken6"}
FORBIDDEN = {
    "planner": QT | {"sqlmodel", "sqlalchemy", "models", "ui"},
    "models": QT | {"ui"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_source_imports_respect_layers():
    bad = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            hits = _imports(path) & forbidden
            if hits:
                bad.append(f"{path.relative_to(ROOT)} imports {sorted(hits)}")
    assert not bad, "\n".join(bad)


def test_forbidden_detector_would_catch_a_violation(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("import os\nfrom PySide6 import QtCore\nif True:\n    import sqlmodel.main\n")
    assert _imports(f) & FORBIDDEN["planner"] == {"PySide6", "sqlmodel"}


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return {m.split(".")[0] for m in out.stdout.split()}


def test_planner_and_models_load_no_qt_at_runtime():
    mods = [p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
            for pkg in ("planner", "models") for p in (ROOT / pkg).rglob("*.py")
            if p.name != "__init__.py" or p.parent.name in ("planner", "models")]
    code = "\n".join(f"import {m.removesuffix('.__init__')}" for m in sorted(mods))
    loaded = _loaded_after(code)
    assert not loaded & QT


def test_cli_imports_no_qt():
    loaded = _loaded_after("import ui.cli\nui.cli.build_parser()")
    assert not loaded & QT
