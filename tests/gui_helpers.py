"""Helpers for the GUI tests (no tests, no fixtures: those are in conftest.py): settings isolation,
dialog stubs, and real mouse and keyboard input on the widgets."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

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


def isolate_settings(monkeypatch, tmp_path) -> None:
    """Every test gets its own empty settings and data folders under ``tmp_path``.

    ``QSettings("dcplan", "dcplan")`` uses the native format, which on Linux lives under
    ``$XDG_CONFIG_HOME`` (``~/.qttest/config`` in QStandardPaths test mode): recent files
    and a units=imperial left by one run leaked into the next. The environment points the
    XDG folders (read on every call) at ``tmp_path`` and ``setPath`` overrides the path
    QSettings cached at its first use; the unit preference is re-read, so it starts as SI.
    """
    from PySide6.QtCore import QSettings, QStandardPaths

    from ui import units

    QStandardPaths.setTestModeEnabled(False)
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        (tmp_path / sub).mkdir(exist_ok=True)
        monkeypatch.setenv(var, str(tmp_path / sub))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "config"))
    units._UNITS = None
    assert units.units().system == units.SI


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


def select(win, *names, units=()):
    win.doc.set_selection(list(names), list(units))


# ------------------------------------------------------------- real input helpers
def focus_floor(win) -> None:
    """Keyboard focus on the floor view (window shortcuts then reach the window's actions)."""
    if not win.isActiveWindow():
        win.activateWindow()
        QTest.qWaitForWindowActive(win, 200)
    if not win.isActiveWindow():  # offscreen: a closed popup menu does not hand activation back
        import warnings

        from PySide6.QtWidgets import QApplication

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            QApplication.setActiveWindow(win)
    win.view.setFocus()


def keys(win, sequence: str) -> None:
    """Press a key sequence in the window, as the user would (focus on the floor first)."""
    from PySide6.QtGui import QKeySequence

    focus_floor(win)
    QTest.keySequence(win, QKeySequence(sequence))


def undo_redo(win, before, after, read) -> None:
    """Ctrl+Z must bring back ``before`` and Ctrl+Shift+Z ``after`` (the real shortcuts)."""
    keys(win, "Ctrl+Z")
    assert read() == before
    keys(win, "Ctrl+Shift+Z")
    assert read() == after


def click_tool(win, action) -> None:
    """Click the toolbar button of ``action``."""
    button = win.toolbar.widgetForAction(action)
    assert button is not None and button.isVisible(), action.text()
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def type_into(widget, text: str, enter: bool = True) -> None:
    """Select all in a line edit / spin box, type ``text`` and press Enter."""
    widget.setFocus()
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget, text)
    if enter:
        QTest.keyClick(widget, Qt.Key.Key_Return)


def pick(qtbot, combo, data) -> None:
    """Open a combo's list with the mouse and click the entry whose data is ``data``."""
    from PySide6.QtWidgets import QApplication

    index = combo.findData(data)
    assert index >= 0, (combo.objectName(), data)
    QTest.mouseClick(combo, Qt.MouseButton.LeftButton)
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=2000)
    qtbot.wait(QApplication.doubleClickInterval() + 20)  # the popup ignores a release right after it opens
    rect = view.visualRect(view.model().index(index, 0))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=2000)


def answer_dialog(qtbot, fill, timeout_ms: int = 3000) -> None:
    """Call ``fill(dialog)`` on the next modal dialog once it is shown (call before opening it)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    deadline = [timeout_ms // 20]

    def poll() -> None:
        dlg = QApplication.activeModalWidget()
        if dlg is not None and dlg.isVisible():
            fill(dlg)
        elif deadline[0] > 0:
            deadline[0] -= 1
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


def menu_action(win, menu_title: str, text: str):
    for a in win.menuBar().actions():
        if a.text().replace("&", "") == menu_title:
            for b in a.menu().actions():
                if b.text().replace("&", "") == text:
                    return b
    raise AssertionError(f"no {menu_title} ▸ {text}")


def run_via_menu(win, qtbot, timeout=60_000):
    with qtbot.waitSignal(win.analysis.runner.sigFinished, timeout=timeout) as blocker:
        menu_action(win, "Simulation", "Run").trigger()
    return blocker.args[0]
