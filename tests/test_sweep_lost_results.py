"""A variant's result lost with its worker after the task had finished: the sweep waits for the
cluster to compute it again instead of calling the variant failed (planner.sweep.runner._settled).

Seen in the killed-worker test under load: the done-callback fired, the worker holding the row died,
and the status read a moment later was "lost" — the sweep stopped with "failed on a worker: NoneType".
"""
import logging
import os
import time

import pytest

pytestmark = pytest.mark.slow


def _square(x):
    return x * x


@pytest.mark.timeout(120)
def test_a_lost_result_is_waited_for_not_failed():
    from distributed import Client, LocalCluster

    from planner.sweep.runner import _settled

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster, set_as_default=False) as cl:
        f = cl.submit(_square, 7, pure=False)
        assert f.result(timeout=60) == 49 and _settled(f) is True
        holder = next(iter(cl.who_has(f)[f.key]))
        with pytest.raises(Exception):  # the worker exits under the call: a lost machine
            cl.run(os._exit, 1, workers=[holder])
        t0 = time.monotonic()
        while f.status == "finished" and time.monotonic() - t0 < 30:
            time.sleep(0.001)
        assert f.status in ("lost", "pending") and _settled(f) is None  # the sweep keeps it and polls
        while _settled(f) is None and time.monotonic() - t0 < 60:
            time.sleep(0.01)
        assert _settled(f) is True and f.result(timeout=10) == 49  # computed again on the other worker


def test_errors_and_cancels_are_failures():
    from planner.sweep.runner import _settled

    class Fake:
        def __init__(self, status):
            self.status = status

    assert _settled(Fake("error")) is False and _settled(Fake("cancelled")) is False
    assert _settled(Fake("finished")) is True and _settled(Fake("lost")) is None
