"""Python's automatic garbage collection paused while work runs off the GUI thread.

Why: the collector runs in whatever thread happens to allocate when a generation's count is
reached. The GUI keeps Qt objects whose Python wrappers sit in reference cycles (menus, actions,
scene items of a plan just replaced); a collection in a worker thread finalises them there while
the GUI thread destroys related Qt objects, and the two threads deadlock on Qt's locks. Seen twice:
the solver's kernel load in the simulation thread (PySide6 ``QObject::~QObject`` in both threads),
and a plan opening in the loader thread (session 7's CI: the GUI thread in Shiboken's
``runDeletionInMainThread`` → ``QMenu::~QMenu`` → ``QBasicMutex::lockInternal``, the loader
waiting). With the collector paused while any worker runs, every collection happens in the GUI
thread, before or after, where Qt objects belong.

The pause is counted and process-wide (the collector is): it ends when the last holder leaves, so a
short pause (the solver's kernel load) that ends inside a longer one (the simulation thread that
runs it) does not turn collection back on under the longer one. A collector that was already off
when the first holder came stays off. Reference counting still frees everything not in a cycle;
the pauses last seconds (a plan read, a run), not the life of the process.

Qt-free: the solver (:mod:`planner.solver.integrate`) and the GUI's worker threads
(:mod:`ui.jobs`) use the same counter.
"""
from __future__ import annotations

import contextlib
import gc
import threading

_lock = threading.Lock()
_holders = 0
_resume = False  # turn the collector back on when the last holder leaves


@contextlib.contextmanager
def gc_paused(pause: bool = True):
    """Automatic garbage collection off for the block (``pause``), back on after the last
    overlapping block in any thread ends (if it was on before the first began)."""
    global _holders, _resume
    if not pause:
        yield
        return
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _resume:
                gc.enable()


def holders() -> int:
    """How many blocks hold the pause now (tests)."""
    return _holders
