"""Autosave to a side file and crash recovery.

While a plan has unsaved changes it is written every ``INTERVAL_MS`` to
``<plan>.dcplan.autosave`` next to it (``untitled.dcplan.autosave`` in the
user's data folder for a plan never saved). A clean save or a deliberate
"discard" deletes the side file, so finding one at open time means dcplan
did not close cleanly: the window then offers to recover it.

The save runs on a worker thread on a *snapshot* of the plan: new lists of the
same immutable dataclass elements (see ``ui.document``), never ORM objects;
``models.store.save_plan`` builds its own rows inside that thread.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal

from models.store import save_plan
from ui.document import PlanDocument
from ui.jobs import WorkerThread

SUFFIX = ".autosave"


def untitled_autosave_path() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or str(Path.home() / ".dcplan")
    return Path(base) / ("untitled.dcplan" + SUFFIX)


def side_path(plan_path: Path | None) -> Path:
    """Where the autosave of ``plan_path`` goes."""
    if plan_path is None:
        return untitled_autosave_path()
    plan_path = Path(plan_path)
    return plan_path.with_name(plan_path.name + SUFFIX)


class Autosaver(QObject):
    """Writes the side file in the background every ``INTERVAL_MS`` while the plan is modified.

    Nothing here blocks the GUI thread: the snapshot is a copy of nine lists, the write
    runs on a thread, and :meth:`discard` never waits for a write in progress — a write
    that finishes after a discard deletes its own file (the generation counter says so).
    ``sigFailed`` is emitted on the worker thread; connect it to a bound method of a
    QObject living on the GUI thread so Qt queues it there.
    """

    sigFailed = Signal(str)  # message

    INTERVAL_MS = 60_000

    def __init__(self, doc: PlanDocument, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        self._timer = QTimer(self)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self.save_soon)
        self._timer.start()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._generation: dict[Path, int] = {}  # per side file, bumps on discard: a stale write removes its file

    def current_path(self) -> Path:
        return side_path(self.doc.path)

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def save_soon(self) -> bool:
        """Start a background autosave if there are unsaved changes and none is running."""
        if not self.doc.dirty or self.busy():
            return False
        snap = self.doc.snapshot()
        target = self.current_path()
        gen = self._generation.get(target, 0)

        def work() -> None:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                save_plan(snap, target)  # atomic: temporary file + rename
            except Exception as e:  # autosave must never take the editor down
                self.sigFailed.emit(f"Autosave to {target} failed: {e}")
                return
            with self._lock:
                if gen != self._generation.get(target, 0):  # discarded while writing: the file is stale
                    target.unlink(missing_ok=True)

        self._thread = WorkerThread(work, "dcplan-autosave")
        self._thread.start()
        return True

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def discard(self, plan_path: Path | None = None) -> None:
        """Delete the side file (after a clean save, or when the user discards changes)."""
        with self._lock:
            p = side_path(plan_path if plan_path is not None else self.doc.path)
            self._generation[p] = self._generation.get(p, 0) + 1
            p.unlink(missing_ok=True)
