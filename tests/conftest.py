"""Test setup and the fixtures tests share.

Qt must run headless, so the platform is chosen before any Qt import; this module imports no Qt
itself (the GUI fixtures import it when used), so Qt-free tests stay Qt-free. Shared plans are in
``sample_plans.py``, GUI input helpers in ``gui_helpers.py``.
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from sample_plans import small_plan  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    """The bundled Phoenix demo plan (``planner.demo.build_demo_plan``), built once per test module:
    do not change it (``dataclasses.replace`` gives a changed copy)."""
    from planner.demo import build_demo_plan

    return build_demo_plan()


@pytest.fixture(scope="module")
def netbox_export(tmp_path_factory):
    """The demo plan's NetBox prerequisite files written once per module: ``(plan, folder,
    write_prerequisites result)``; read them, never write them."""
    from planner.demo import build_demo_plan
    from planner.netbox.prerequisites import write_prerequisites

    out = tmp_path_factory.mktemp("netbox")
    plan = build_demo_plan()
    return plan, out, write_prerequisites(plan, out)


@pytest.fixture(scope="session")
def demo_bytes(tmp_path_factory) -> bytes:
    """The demo plan as a saved ``.dcplan`` file's bytes (saved once: 0.4 s a save)."""
    from models.store import save_plan
    from planner.demo import build_demo_plan

    path = tmp_path_factory.mktemp("demo-bytes") / "demo.dcplan"
    save_plan(build_demo_plan(), path)
    return path.read_bytes()


@pytest.fixture
def demo_file(tmp_path, demo_bytes) -> Path:
    """The demo plan in a fresh ``demo.dcplan`` for this test alone (change it freely)."""
    path = tmp_path / "demo.dcplan"
    path.write_bytes(demo_bytes)
    return path


@pytest.fixture
def plan_file(tmp_path, demo_bytes) -> Path:
    """The demo plan in a fresh ``hall.dcplan`` for this test alone (change it freely)."""
    path = tmp_path / "hall.dcplan"
    path.write_bytes(demo_bytes)
    return path


@pytest.fixture(scope="module")
def demo_file_shared(tmp_path_factory, demo_bytes) -> Path:
    """The demo plan in one ``demo.dcplan`` per test module: read it, never write it."""
    path = tmp_path_factory.mktemp("demo") / "demo.dcplan"
    path.write_bytes(demo_bytes)
    return path


@pytest.fixture
def msgs(monkeypatch, tmp_path):
    """Message boxes and file dialogs replaced by a recorder (:class:`gui_helpers.Messages`) that
    answers as told; settings and data folders under ``tmp_path``."""
    from gui_helpers import Messages, isolate_settings

    isolate_settings(monkeypatch, tmp_path)
    from ui import messages

    m = Messages()
    monkeypatch.setattr(messages, "warn", lambda parent, title, text: m.warnings.append(text))
    monkeypatch.setattr(messages, "info", lambda parent, title, text: m.infos.append(text))

    def ask_save(parent, name):
        m.asked_save.append(name)
        return m.save_answer

    def ask_recover(parent, name, when):
        m.asked_recover.append(name)
        return m.recover_answer

    monkeypatch.setattr(messages, "ask_save_changes", ask_save)
    monkeypatch.setattr(messages, "ask_recover", ask_recover)
    monkeypatch.setattr(messages, "ask_save_path", lambda parent, d="": m.save_path)
    monkeypatch.setattr(messages, "ask_open_path", lambda parent, d="": m.open_path)
    monkeypatch.setattr(messages, "ask_directory", lambda parent, title, d="": m.directory)
    monkeypatch.setattr(messages, "ask_csv_files", lambda parent, d="": list(m.csv_files))
    yield m
    from ui import units

    units._UNITS = None


@pytest.fixture
def win(qtbot, msgs):
    """Main window on :func:`small_plan`, shown and fitted, checks already run."""
    from ui.main_window import MainWindow

    from PySide6.QtWidgets import QApplication

    QApplication.setDoubleClickInterval(120)  # combo popups wait this long before taking a click
    w = MainWindow(small_plan())
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.view.fit_hall()
    w.doc.validate_now()
    yield w
    w.doc.undo_stack.setClean()  # closing must not ask
    w.autosaver.wait()


@pytest.fixture
def dwin(qtbot, msgs):
    """Main window on the demo with its hot day cut to 3 h (:func:`sample_plans.demo_plan`), that
    scenario picked; any run cancelled at the end."""
    from ui.main_window import MainWindow

    from sample_plans import DAY, demo_plan

    w = MainWindow(demo_plan())
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    w.analysis.set_scenario(DAY)
    yield w
    w.analysis.runner.cancel()
    w.analysis.runner.wait()
    w.doc.undo_stack.setClean()
    w.autosaver.wait()
