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


@pytest.fixture
def demo_file(tmp_path) -> Path:
    """The demo plan saved to a fresh ``demo.dcplan`` for this test alone (change it freely)."""
    from models.store import save_plan
    from planner.demo import build_demo_plan

    path = tmp_path / "demo.dcplan"
    save_plan(build_demo_plan(), path)
    return path


@pytest.fixture(scope="module")
def demo_file_shared(tmp_path_factory) -> Path:
    """The demo plan saved once per test module (0.4 s a save): read it, never write it."""
    from models.store import save_plan
    from planner.demo import build_demo_plan

    path = tmp_path_factory.mktemp("demo") / "demo.dcplan"
    save_plan(build_demo_plan(), path)
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
