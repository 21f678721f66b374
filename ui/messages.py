"""The one place the GUI shows modal message boxes and small input dialogs.

Everything that would block (QMessageBox, QFileDialog, input dialogs) goes
through these functions so tests can monkeypatch them, e.g.::

    monkeypatch.setattr(messages, "ask_save_changes", lambda *a: "discard")

Each function's return value is the only thing callers look at.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

PLAN_FILTER = "dcplan plans (*.dcplan);;All files (*)"


def warn(parent: QWidget | None, title: str, text: str) -> None:
    """An operation was refused or failed: say why."""
    QMessageBox.warning(parent, title, text)


def info(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


def confirm(parent: QWidget | None, title: str, text: str, ok: str) -> bool:
    """A risky action needs a yes: True if the user chose the ``ok`` button (Cancel is the default)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
    yes = box.addButton(ok, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is yes


def progress(parent: QWidget | None, title: str, label: str) -> QProgressDialog:
    """A window-modal busy indicator with a Cancel button for work running on a worker thread.

    Not shown yet: ``ui.jobs`` shows it only if the work outlasts a short delay. Its
    ``canceled`` signal asks the work to stop. (Non-blocking, so tests drive it through
    its real Cancel button rather than stubbing it.)
    """
    dlg = QProgressDialog(label, "Cancel", 0, 0, parent)
    dlg.setObjectName("jobProgress")
    dlg.setWindowTitle(title)
    dlg.setWindowModality(Qt.WindowModality.WindowModal)
    dlg.setMinimumDuration(0)
    dlg.setAutoClose(False)
    dlg.setAutoReset(False)
    dlg.setMinimumWidth(360)
    dlg.hide()
    return dlg


def ask_save_changes(parent: QWidget | None, name: str) -> str:
    """``"save"``, ``"discard"`` or ``"cancel"`` for unsaved changes in ``name``."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Unsaved changes")
    box.setText(f"Save changes to {name} before closing?")
    box.setInformativeText("Your changes will be lost if you don't save them.")
    box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                           | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    if answer == QMessageBox.StandardButton.Save:
        return "save"
    if answer == QMessageBox.StandardButton.Discard:
        return "discard"
    return "cancel"


def ask_recover(parent: QWidget | None, name: str, when: str) -> bool:
    """Offer to recover an autosave left behind by a crash."""
    answer = QMessageBox.question(
        parent, "Recover unsaved work?",
        f"dcplan did not close cleanly. An autosave of {name} from {when} exists.\n\n"
        "Recover it? (No deletes the autosave.)")
    return answer == QMessageBox.StandardButton.Yes


def ask_open_path(parent: QWidget | None, directory: str = "") -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open plan", directory, PLAN_FILTER)
    return path or None


def ask_save_path(parent: QWidget | None, directory: str = "") -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save plan as", directory, PLAN_FILTER)
    if path and not path.endswith(".dcplan"):
        path += ".dcplan"
    return path or None


def ask_directory(parent: QWidget | None, title: str, directory: str = "") -> str | None:
    path = QFileDialog.getExistingDirectory(parent, title, directory)
    return path or None


def ask_csv_files(parent: QWidget | None, directory: str = "") -> list[str]:
    paths, _ = QFileDialog.getOpenFileNames(parent, "Import rack plan from CSV", directory,
                                            "CSV files (*.csv);;All files (*)")
    return list(paths)


def ask_row(parent: QWidget | None, defaults: dict) -> dict | None:
    """Parameters of a new row of racks, or None if cancelled (see AddRowDialog)."""
    from ui.dialogs import AddRowDialog

    dlg = AddRowDialog(parent, defaults)
    if dlg.exec():
        return dlg.values()
    return None


def ask_jobs_csv(parent: QWidget | None, mode: str) -> str | None:
    """A jobs CSV to import (``mode="open"``) or to write (``"save"``)."""
    if mode == "open":
        path, _ = QFileDialog.getOpenFileName(parent, "Import jobs from CSV", "", "CSV files (*.csv);;All files (*)")
    else:
        path, _ = QFileDialog.getSaveFileName(parent, "Export jobs to CSV", "jobs.csv", "CSV files (*.csv)")
    return path or None


def ask_export_path(parent: QWidget | None, title: str, suggestion: str, filters: str) -> str | None:
    """Where to write an exported file (plot image, time series, report)."""
    path, _ = QFileDialog.getSaveFileName(parent, title, suggestion, filters)
    return path or None


def ask_schedule_method(parent: QWidget | None, methods, default: str) -> str | None:
    """The scheduling method to run, or None if cancelled."""
    from PySide6.QtWidgets import QInputDialog

    items = list(methods)
    m, ok = QInputDialog.getItem(parent, "Schedule jobs", "Method (fcfs is the baseline it is compared with):",
                                 items, items.index(default) if default in items else 0, False)
    return m if ok else None
