"""Shared helpers for the GUI tests (no tests here): small plans, dialog stubs, mouse helpers."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from planner.plan import CoolingLoop, CoolingUnit, Hall, Plan, PowerFeed, Rack, Server, ServerType

H100 = ServerType(key="test-8u", manufacturer="Test", model="Eight-U GPU box", u_height=8, gpu_count=8,
                  gpu_model="H100", gpu_tdp_w=700, idle_power_w=2000, max_power_w=10200, airflow_m3s=0.5)


def small_plan() -> Plan:
    """A 12 m x 8 m hall, one row of three racks facing N at y=2.4 m, plus a lone rack L01.

    R01 holds two 8U servers (U1, U9) = 20.4 kW; the others are empty. Racks are
    0.6 m x 1.2 m on the 0.6 m tile grid.
    """
    racks = [Rack(name=f"R0{i + 1}", row="R", x_m=1.5 + 0.6 * i, y_m=2.4, orientation="N", air_loop="AIR",
                  feed_a="FA", feed_b="FB", power_budget_kw=40.0) for i in range(3)]
    racks.append(Rack(name="L01", row="L", x_m=6.3, y_m=5.4, orientation="S", air_loop="AIR", feed_a="FA",
                      feed_b="FB", power_budget_kw=30.0))
    return Plan(
        halls=[Hall("Hall 1", 12.0, 8.0, 0.6)],
        server_types=[H100],
        racks=racks,
        servers=[Server("R01-a", "R01", H100.key, 1), Server("R01-b", "R01", H100.key, 9)],
        cooling_loops=[CoolingLoop("AIR", "air")],
        cooling_units=[CoolingUnit("CRAH-1", "crah", "AIR", 150.0, x_m=0.45, y_m=6.0)],
        power_feeds=[PowerFeed("FA", side="A", amperage=125), PowerFeed("FB", side="B", amperage=125)],
    )


def view_point(win, x_m: float, y_m: float) -> QPoint:
    """Viewport pixel of floor point (x, y) [m]."""
    return win.view.mapFromScene(QPointF(x_m, y_m))


def drag(widget, start: QPoint, end: QPoint, steps: int = 6, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Press, move in steps, release with the left button (as a user drags)."""
    QTest.mousePress(widget, Qt.MouseButton.LeftButton, modifier, start)
    for i in range(1, steps + 1):
        p = QPoint(start.x() + (end.x() - start.x()) * i // steps, start.y() + (end.y() - start.y()) * i // steps)
        QTest.mouseMove(widget, p)
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, modifier, end)


# ------------------------------------------------------------------ fixtures
import pytest  # noqa: E402


class Messages:
    """Records what the GUI would have shown in message boxes; answers its questions."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.infos: list[str] = []
        self.save_answer = "discard"
        self.recover_answer = False
        self.asked_save: list[str] = []
        self.asked_recover: list[str] = []
        self.save_path = None
        self.open_path = None
        self.directory = None
        self.csv_files: list[str] = []
        self.row = None


@pytest.fixture
def msgs(monkeypatch, tmp_path):
    from PySide6.QtCore import QSettings, QStandardPaths

    from ui import messages, units

    QStandardPaths.setTestModeEnabled(True)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    units._UNITS = None
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
    monkeypatch.setattr(messages, "ask_row", lambda parent, defaults: m.row)
    yield m
    units._UNITS = None


@pytest.fixture
def win(qtbot, msgs):
    """Main window on :func:`small_plan`, shown and fitted, checks already run."""
    from ui.main_window import MainWindow

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


def select(win, *names, units=()):
    win.doc.set_selection(list(names), list(units))
