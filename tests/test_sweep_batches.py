"""Several variants per Dask task (planner.sweep.runner: ``batch_size`` / ``--batch``): what the
issue asks per variant still holds with batching on — rows equal to the serial loop's, rows and
progress per variant, a failing variant named without losing its batch-mates, cancel.

Small one-day or two-hour demo variants on real LocalClusters; every test has a timeout.
"""
from __future__ import annotations

import time

import pytest

from planner.sweep import SweepError, define, execute, run_serial
from planner.sweep.runner import BATCH_TARGET_S, TAIL_TASKS_PER_THREAD, _BatchSizer
from planner.sweep.worker import Outcome
from test_sweep_dask import _comparable

pytestmark = pytest.mark.slow


def _variant_tasks(events) -> list[str]:
    """Keys of the sweep's variant tasks in a task stream (``distributed.get_task_stream``)."""
    return [e["key"] for e in events if str(e["key"]).startswith("dcplan-variants-")]


def test_batch_sizer_aims_at_a_second_of_work_and_shrinks_at_the_tail():
    s = _BatchSizer(None)
    assert s.next(200, 2) == 1  # nothing measured yet: one variant per task
    s.measure([Outcome(k, {}, 0.125) for k in range(4)])  # one-day demo variants: 0.125 s each
    assert s.next(200, 2) == round(BATCH_TARGET_S / 0.125) == 8
    # near the end at least TAIL_TASKS_PER_THREAD tasks per thread are left: 20 variants, 2 threads
    assert s.next(20, 2) == 20 // (TAIL_TASKS_PER_THREAD * 2) == 5
    assert s.next(3, 2) == 1 and s.next(1, 2) == 1
    slow = _BatchSizer(None)
    slow.measure([Outcome(0, {}, 5.5)])  # an annual variant: a task of its own
    assert slow.next(36, 2) == 1
    fixed = _BatchSizer(4)
    fixed.measure([Outcome(0, {}, 100.0)])
    assert fixed.next(10, 2) == 4 and fixed.next(3, 2) == 3  # fixed: as given, the last batch what is left
    for bad in (0, -1, 2.5, "3"):
        with pytest.raises(SweepError, match="batch size must be a whole number >= 1"):
            _BatchSizer(bad)


@pytest.mark.timeout(240)
def test_batched_rows_equal_the_serial_rows_and_arrive_counted_per_variant(demo):
    from distributed import Client, LocalCluster, get_task_stream

    # 12 two-hour variants in tasks of 5, 5 and 2 that mix the two weather files
    sweep = define(demo, {"control": ["reactive", "predictive"], "weather": ["phoenix", "minneapolis"],
                          "setpoint.TCS": [43, 45, 47]}, days=2 / 24)
    serial = run_serial(sweep)
    arrived, fractions = [], []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        with get_task_stream(client=client) as ts:
            rows = execute(sweep, client, batch_size=5, on_row=arrived.append, progress=fractions.append)
        assert len(_variant_tasks(ts.data)) == 3
        # automatic batching of one-day variants (~0.13 s each): fewer tasks than variants, same rows
        day = define(demo, {"setpoint.TCS": [40 + 0.5 * k for k in range(24)]}, days=1)
        with get_task_stream(client=client) as ts:
            auto = execute(day, client)
        tasks = len(_variant_tasks(ts.data))
    assert [r["variant_hash"] for r in rows] == [v.hash for v in sweep.variants]
    assert _comparable(rows) == _comparable(serial)  # every field but wall_time_s, bit for bit
    assert len({(r["facility_energy_kwh"], r["max_gpu_temp_c"]) for r in rows}) == 12  # the variants differ
    assert sorted(r["variant_hash"] for r in arrived) == sorted(r["variant_hash"] for r in rows)  # each row once
    assert fractions == [0.0] + [k / 12 for k in range(1, 13)]  # progress per variant, not per task
    assert 4 < tasks < 24, tasks  # first 4 tasks of one variant (nothing measured yet), then batches
    assert _comparable(auto) == _comparable(run_serial(day))


@pytest.mark.timeout(240)
def test_a_failing_variant_in_a_batch_is_named_and_its_batch_mates_rows_are_kept(demo, monkeypatch):
    from distributed import Client, LocalCluster

    import planner.sweep.worker as worker

    real = worker.apply_variant

    def broken_at_45(plan, scenario, changes, settings=None):
        if any(c.label == "45" for c in changes):
            raise RuntimeError("a bug that only this variant meets")
        return real(plan, scenario, changes, settings)

    # threads in this process, so the patched transform is the one the tasks run
    monkeypatch.setattr(worker, "apply_variant", broken_at_45)
    sweep = define(demo, {"setpoint.TCS": [41, 43, 45, 47]}, days=2 / 24)
    arrived = []
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        with pytest.raises(SweepError) as err:
            execute(sweep, client, batch_size=4, on_row=arrived.append)  # one task holds all four
    msg = str(err.value)
    assert msg.startswith("variant setpoint.TCS=45: failed on a worker: RuntimeError: a bug that only this variant "
                          "meets") and "\n" not in msg
    assert "broken_at_45" in err.value.worker_traceback
    assert [r["setpoint.TCS"] for r in arrived] == ["41", "43", "47"]  # the one after it in the batch ran too
    monkeypatch.setattr(worker, "apply_variant", real)
    ok = [v for v in sweep.variants if v.labels["setpoint.TCS"] != "45"]
    assert _comparable(arrived) == _comparable(run_serial(define(demo, {"setpoint.TCS": [41, 43, 47]},
                                                                 days=2 / 24)))
    assert {r["variant_hash"] for r in arrived} == {v.hash for v in ok}


@pytest.mark.timeout(240)
def test_cancel_with_batches_keeps_whole_rows_and_leaves_no_task_behind(demo):
    from distributed import Client, LocalCluster

    sweep = define(demo, {"setpoint.TCS": [40 + 0.5 * k for k in range(30)]}, days=1)  # ~4 CPU-s of work
    arrived = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        t0 = time.monotonic()
        rows = execute(sweep, client, batch_size=3, on_row=arrived.append, cancel=lambda: bool(arrived))
        cancelled_in = time.monotonic() - t0
        time.sleep(1.0)
        left = client.run_on_scheduler(
            lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks if str(k).startswith("dcplan-variants-")])
    assert left == []  # the remaining batches were cancelled, not left running on the cluster
    assert 3 <= len(rows) < 30 and len(rows) % 3 == 0, (len(rows), cancelled_in)  # whole batches only
    assert sorted(r["variant_hash"] for r in rows) == sorted(r["variant_hash"] for r in arrived)
    done = {r["variant_hash"] for r in rows}
    sub = define(demo, {"setpoint.TCS": [float(v.labels["setpoint.TCS"]) for v in sweep.variants if v.hash in done]},
                 days=1)
    assert _comparable(rows) == _comparable(run_serial(sub))
