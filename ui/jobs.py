"""Long work (open, save, CSV import/export) on a worker thread, with progress and Cancel.

:func:`run_job` starts ``work(token)`` on a Python thread and keeps the GUI thread's
event loop running until it ends, so the window repaints and timers (autosave, checks)
keep firing. For the first :data:`SHOW_AFTER_MS` user input is held back (a quick save
shows no dialog and cannot be interleaved with clicks); after that a window-modal
progress dialog (``ui.messages.progress``) with a Cancel button appears.

Cancel never kills the thread. It sets ``token.cancelled``; :func:`run_job` returns at
once with ``cancelled=True`` and the work's result is discarded when it ends. Work that
makes a visible change (renaming the saved file over the plan, moving exported files
into place) first calls ``token.commit()``: after that point Cancel is refused and the
dialog waits for the work to finish, so "cancelled" always means "nothing changed".

The work gets only plain data (``PlanDocument.snapshot()`` dataclasses, paths), never
ORM objects or widgets.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication

from planner.gc_pause import gc_paused
from ui import messages

#: The progress dialog appears only for work that takes longer than this [ms].
SHOW_AFTER_MS = 400


class WorkerThread(threading.Thread):
    """A daemon thread for work off the GUI thread, with Python's automatic garbage collection
    paused from :meth:`start` until the GUI thread has seen the work end, so no collection runs in
    the worker (:mod:`planner.gc_pause` says why: a collection there deadlocks with the GUI thread
    on Qt's locks). Every worker thread the GUI starts is one of these.

    The pause ends in the GUI thread, not in the worker: turned back on in the worker, the
    collector would run its overdue collection at the worker's next allocation — in the worker."""

    def __init__(self, target: Callable[[], object], name: str) -> None:
        super().__init__(target=target, name=name, daemon=True)
        self._pause = gc_paused()

    def start(self) -> None:
        ender = _PauseEnder.in_gui_thread()
        self._pause.__enter__()  # in the starting (GUI) thread: paused before the worker runs a line
        self._ender = ender
        try:
            super().start()
        except BaseException:
            self._pause.__exit__(None, None, None)
            raise

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._ender.sigEnd.emit(self._pause)  # queued: ends in the GUI thread's event loop


class _PauseEnder(QObject):
    """Lives in the GUI thread; ends a :class:`WorkerThread`'s pause there (queued from the worker)."""

    sigEnd = Signal(object)
    _instance: "_PauseEnder | None" = None

    def __init__(self) -> None:
        super().__init__()
        self.sigEnd.connect(self._end, Qt.ConnectionType.QueuedConnection)

    @classmethod
    def in_gui_thread(cls) -> "_PauseEnder":
        if cls._instance is None:
            cls._instance = cls()  # created on the first start, in the GUI thread
        return cls._instance

    @staticmethod
    def _end(pause) -> None:
        pause.__exit__(None, None, None)


class Cancelled(Exception):
    """Raised inside work that noticed ``token.cancelled``."""


class CancelToken:
    """Shared between the GUI thread (cancel) and the worker (checks, commit point)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._committed = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancel was asked (call between steps)."""
        if self._cancelled:
            raise Cancelled()

    def cancel(self) -> bool:
        """Ask the work to stop; False if it already passed its commit point."""
        with self._lock:
            if self._committed:
                return False
            self._cancelled = True
            return True

    def commit(self) -> bool:
        """The work is about to make its result visible: False if cancelled (then it must
        clean up and stop), True if it may go on (Cancel is refused from now on)."""
        with self._lock:
            if self._cancelled:
                return False
            self._committed = True
            return True


@dataclass
class JobResult:
    value: object = None
    error: BaseException | None = None
    cancelled: bool = False
    shown: bool = False  # the progress dialog appeared


class _Bridge(QObject):
    """Carries the worker's "done" to the GUI thread (queued: the receiver lives there)."""

    sigDone = Signal()


def run_job(parent, title: str, label: str, work: Callable[[CancelToken], object],
            show_after_ms: int | None = None) -> JobResult:
    """Run ``work(token)`` on a worker thread; return when it ends or the user cancels."""
    token = CancelToken()
    result = JobResult()
    done = threading.Event()
    bridge = _Bridge()
    loop = QEventLoop()
    bridge.sigDone.connect(loop.quit, Qt.ConnectionType.QueuedConnection)

    def target() -> None:
        try:
            result.value = work(token)
        except Cancelled:
            pass
        except BaseException as e:  # reported on the GUI thread
            result.error = e
        finally:
            done.set()
            bridge.sigDone.emit()

    thread = WorkerThread(target, f"dcplan-{title.lower()}")
    delay = SHOW_AFTER_MS if show_after_ms is None else show_after_ms
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
    try:
        thread.start()
        timer.start(delay)
        # phase 1: repaint and run timers, hold user input back (it is delivered afterwards)
        while not done.is_set() and timer.isActive():
            loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        timer.stop()
        if done.is_set():
            return result
        # phase 2: a modal progress dialog whose Cancel works
        dlg = messages.progress(parent, title, label)
        result.shown = True

        def on_cancel() -> None:
            if token.cancel():
                result.cancelled = True
                loop.quit()
            else:
                dlg.setLabelText(label + "\nFinishing — too late to cancel.")
                dlg.setCancelButton(None)
                dlg.show()

        dlg.canceled.connect(on_cancel)
        dlg.show()
        QApplication.restoreOverrideCursor()
        try:
            while not done.is_set() and not result.cancelled:
                loop.exec()
        finally:
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
            dlg.canceled.disconnect(on_cancel)
            dlg.hide()
            dlg.deleteLater()
        if result.cancelled:
            result.value, result.error = None, None
        return result
    finally:
        QApplication.restoreOverrideCursor()
