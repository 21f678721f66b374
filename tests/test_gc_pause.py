"""planner.gc_pause: the counted, process-wide pause of automatic garbage collection that keeps
collections out of worker threads (the GUI's file jobs, simulations, autosave; the solver's kernel load)."""
from __future__ import annotations

import gc
import threading

import pytest

from planner.gc_pause import gc_paused, holders


@pytest.fixture(autouse=True)
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    assert holders() == 0
    (gc.enable if was else gc.disable)()


def test_nested_pauses_end_with_the_outer_one():
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled() and holders() == 2
        assert not gc.isenabled() and holders() == 1  # the short inner pause (a kernel load) ended inside
    assert gc.isenabled()


def test_overlapping_pauses_in_two_threads_end_with_the_last():
    # thread A pauses, B pauses, A leaves first: still paused until B leaves
    a_in, b_in, a_out, b_go = (threading.Event() for _ in range(4))
    seen = {}

    def a():
        with gc_paused():
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def b():
        a_in.wait(10)
        with gc_paused():
            b_in.set()
            a_out.wait(10)
            seen["after_a_left"] = gc.isenabled()
            b_go.wait(10)

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start(), tb.start()
    ta.join(10)
    assert a_out.is_set() and not gc.isenabled() and holders() == 1
    b_go.set()
    tb.join(10)
    assert seen == {"after_a_left": False} and gc.isenabled()


def test_a_collector_already_off_stays_off_and_errors_end_the_pause():
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()
    gc.enable()
    with pytest.raises(RuntimeError):
        with gc_paused():
            raise RuntimeError("work failed")
    assert gc.isenabled() and holders() == 0


def test_no_pause_asked_changes_nothing():
    with gc_paused(False):
        assert gc.isenabled() and holders() == 0
