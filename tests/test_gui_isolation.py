"""Nothing leaks between tests and windows: settings live in the test folder, a closed window
leaves no connection to the app-wide units signal."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui_helpers import view_point
from sample_plans import small_plan

pytestmark = pytest.mark.gui


def click_rack(win, name, modifier=Qt.KeyboardModifier.NoModifier):
    r = win.doc.rack(name)
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, modifier, view_point(win, r.x_m, r.y_m))


# 5 ------------------------------------------------------------- isolated settings
def test_settings_live_in_the_test_folder(win, tmp_path):
    path = QSettings("dcplan", "dcplan").fileName()
    assert path.startswith(str(tmp_path)), path
    from ui.units import SI, units

    assert units().system == SI  # never a leftover "imperial" from another test or run


# 13 ---------------------------------------------------------- global signal hygiene
def test_closed_window_leaves_no_connection_to_the_units_signal(qtbot, msgs):
    from ui.main_window import MainWindow
    from ui.units import IMPERIAL, SI, units

    receivers = units().receivers("2sigChanged(QString)")
    w = MainWindow(small_plan())
    w.show()
    assert units().receivers("2sigChanged(QString)") > receivers
    w.doc.undo_stack.setClean()
    w.close()
    w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    QApplication.processEvents()
    assert units().receivers("2sigChanged(QString)") == receivers
    units().set_system(IMPERIAL)  # must not reach deleted widgets (RuntimeError before)
    units().set_system(SI)
