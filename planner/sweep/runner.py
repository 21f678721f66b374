"""Running a sweep: on Dask (an embedded ``LocalCluster`` by default, or any cluster), or serially.

Dask does the distribution, retries and cancellation; this module only submits tasks of one or
more variants (a batch: one-day variants are too short for a task each, see :func:`execute`) and
collects the rows as they complete. On the embedded cluster the base plan and the weather files a
task uses travel with it, pickled once by the client and unpickled by each task (~1 ms), so that a
variant task depends on no other task: the scheduler hands tasks to any worker as it registers or frees up, and a worker that
replaces a dead one has all it needs with its first task. On a cluster of the user's (a client
given, or a scheduler address) they are sent once, as tasks of their own (``dcplan-plan-…``,
``dcplan-weather-…``) the variant tasks depend on. Variant tasks are keyed by their variants'
content hashes (``dcplan-variants-…``). A worker process that dies mid-task is replaced by the scheduler, which
reruns its tasks elsewhere (``distributed.scheduler.allowed-failures``); each key completes once,
so no row is duplicated. Each worker loads the solver's compiled kernels once, when it joins
(:class:`.kernels.SolverKernels`), not inside the first variant it runs.
"""
from __future__ import annotations

import logging
import math
import os
import queue
import signal
import sys
import threading
import time
import weakref
from contextlib import contextmanager
from typing import Callable, Iterable, Mapping

from ..plan import Plan
from . import forkserver_start
from .definition import Sweep, SweepError, content_hash, define
from .worker import pack, run_batch, run_packed_batch, run_variant

#: Seconds to wait for a Dask scheduler given by address before giving up.
CONNECT_TIMEOUT_S = 15.0
#: Dask settings of the embedded cluster (its scheduler, nannies and workers). Dask's defaults suit
#: a long-lived cluster with a dashboard: a 20 ms event-loop health tick, a 500 ms system monitor and
#: a 100 ms memory check per worker. Idle, those cost an embedded 2-worker cluster 0.077 of a core
#: (a sweep of one-day variants runs ~0.15 CPU-s per variant; over a loaded machine's long walls that
#: was 0.025 CPU-s per variant, 17 %). With these: 0.017 of a core (measured with
#: benchmarks/bench_sweep.py ``idle_cluster_cores``; planner/sweep/STATUS.md). A blocked event loop
#: is still reported (after 3 s, ``tick.limit``); a worker is still paused or restarted on memory
#: within half a second. Nobody watches a dashboard, so no statistical profiler either (every 10 ms).
#: Measured and left at Dask's defaults (distributed 2026.8.0, session 9): ``distributed.scheduler.work-stealing``,
#: ``…active-memory-manager.start``, ``distributed.admin.system-monitor.disk`` and ``…system-monitor.gil.enabled``
#: (gilknocker is not installed here) off together changed nothing: the cluster's CPU outside the variants
#: during 200 one-day variants stayed 0.055 of a core (3 alternating pairs). What is left of that is per
#: task (~11 ms of CPU: ~7 in this process's scheduler and client, ~4 in the worker) and the workers'
#: heartbeats, whose interval the scheduler sets (planner/sweep/STATUS.md, session 9).
EMBEDDED_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "500ms",
}
#: Modules the embedded cluster's forkserver imports once, before it forks the worker processes:
#: what a worker needs before its first task (Dask itself, and the sweep's worker path with the
#: solver; first :mod:`.forkserver_start`: the workers' thread settings, the garbage collector paused
#: meanwhile), then :mod:`.preload`, which loads the solver's compiled kernels from numba's on-disk
#: cache into the server. Each spawned worker imported these itself, ~1.2 CPU-s, and its
#: interpreter's orderly exit at shutdown took ~0.5-0.9 s more; a forked worker starts with them
#: (kernels included: ~0.5 CPU-s each worker no longer spends) and leaves with ``os._exit``
#: (benchmarks/bench_sweep.py ``--part e2e``, planner/sweep/STATUS.md). Where the cache lacks a
#: kernel (a fresh install) the server compiles nothing: :class:`.kernels.SolverKernels` loads them
#: in each worker, in a thread, with the worker answering the scheduler and Ctrl+C working.
FORKSERVER_PRELOAD = ("planner.sweep.forkserver_start", "distributed", "planner.sweep.worker", "planner.sweep.kernels",
                      "planner.sweep.preload")
#: How often the collection loop checks ``cancel`` while no result arrives [s]. A result that
#: arrives wakes the loop at once (it waits on a queue the futures' done-callbacks fill), so this
#: sets only how soon a cancel is seen, not the latency of a row or of the sweep's end.
POLL_S = 0.2
#: Work per Dask task that automatic batching aims at, at the time per variant measured on the
#: workers [s]. Dask's fixed cost per task here is ~0.03 s of wall time and ~20 % extra CPU on
#: one-day variants of 0.13 CPU-s (benchmarks/bench_sweep.py, planner/sweep/STATUS.md), so a task
#: of 1 s keeps it to a few per cent; a variant of a second or more (a year: ~5 s) runs alone.
BATCH_TARGET_S = 1.0
#: Tasks kept submitted per worker thread (Dask queues them; a worker never waits for the next).
IN_FLIGHT_PER_THREAD = 2
#: The variants left are split into at least this many tasks per worker thread, so batches shrink
#: near the end and the workers finish together.
TAIL_TASKS_PER_THREAD = 2
#: How often the sweep asks the scheduler how many worker threads there are [s].
THREADS_POLL_S = 1.0


def _identity(x):
    return x


def default_workers() -> int:
    """Worker processes of the embedded cluster: one per core this process may use."""
    from dask.system import CPU_COUNT
    return max(1, int(CPU_COUNT))


@contextmanager
def _sigint_ignored():
    """Ignore SIGINT while the embedded workers are spawned: they inherit the disposition (Python
    keeps an inherited SIG_IGN), so Ctrl+C, which the terminal sends to the whole process group,
    reaches only this process, which cancels the tasks and closes the cluster in order."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def worker_start_method() -> str:
    """How the embedded cluster starts its worker processes: ``forkserver`` on Linux, else ``spawn``
    (Windows has no forkserver; on macOS CPython keeps ``spawn`` as its default because the system
    frameworks are not fork-safe, and the server would fork after importing numpy and llvmlite).

    Not ``fork``: the process forking would be this one, with Dask's event-loop thread (and a
    notebook's or a GUI's threads) running, so a lock held by another thread at that instant stays
    held in the worker for ever (the reason Dask's default is ``spawn`` and Python 3.12 warns about
    ``fork`` in a threaded process). The forkserver is a separate, single-threaded process that
    imported :data:`FORKSERVER_PRELOAD` once; a worker is a fork of it, so it starts with them
    imported (measured start-up and shutdown: planner/sweep/STATUS.md)."""
    import multiprocessing

    linux = sys.platform.startswith("linux")
    return "forkserver" if linux and "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


_forkserver_lock = threading.Lock()


def _pre_spawn_environ() -> dict[str, str]:
    """The forkserver's environment on top of this process's: the marker that makes its first
    preload, :mod:`.forkserver_start`, set the workers' thread settings inside the server, and Dask's
    ``distributed.nanny.pre-spawn-environ`` — read here if this process has imported Dask (a
    ``dask.config.set`` here may change it), else by the server itself before it imports numpy
    (the same files and environment variables; ``import dask`` here would delay the server's start
    by ~0.1 s, which every sweep waits for)."""
    env = {forkserver_start.MARKER: "1"}
    if "dask" in sys.modules:
        env.update(forkserver_start.dask_pre_spawn_environ())
    else:
        env[forkserver_start.DASK_ENV_MARKER] = "1"
    return env


def start_forkserver() -> None:
    """Start this process's forkserver, which imports :data:`FORKSERVER_PRELOAD` and then forks the
    embedded cluster's workers; returns at once (the server imports beside this process). Once per
    process: the server serves every later embedded cluster (the next sweep in a notebook) and
    exits with this process. :func:`connect` calls it first thing; the CLI calls it before it reads
    the plan file, so the server's imports overlap that too.

    The server gets what a spawned worker would: SIGINT ignored (so are the workers it forks:
    Ctrl+C reaches only the sweep's process, which cancels and closes the cluster), Dask's
    ``distributed.nanny.pre-spawn-environ`` (one BLAS/OpenMP thread per worker process and the like,
    which must be set before numpy is imported; the Nanny sets them in this process before each
    start too), one numba thread (:data:`.forkserver_start.WORKER_ENVIRON`, set inside the server
    before numba is imported there, never in this process), and this
    process's leading ``sys.path`` entries (a checkout run in place: Python's
    forkserver ignores the parent's ``sys.path`` when it imports the preload). Nothing where the
    workers are spawned (:func:`worker_start_method`)."""
    if worker_start_method() != "forkserver":
        return
    import multiprocessing
    import sysconfig
    from multiprocessing import forkserver

    with _forkserver_lock, _sigint_ignored():
        multiprocessing.get_context("forkserver").set_forkserver_preload(list(FORKSERVER_PRELOAD))
        # the server (and so every worker) gets Dask's pre-spawn settings and this checkout's path; this
        # process gets its own environment back (nothing may start a cluster: a bad plan, --resume done)
        saved = dict(os.environ)
        os.environ.update(_pre_spawn_environ())
        stdlib = {os.path.normcase(os.path.abspath(sysconfig.get_paths()[k])) for k in ("stdlib", "platstdlib")}
        leading = []
        for entry in sys.path:
            full = os.path.normcase(os.path.abspath(entry or os.curdir))
            if full in stdlib or full.endswith(".zip"):
                break
            leading.append(full)
        os.environ["PYTHONPATH"] = os.pathsep.join(leading)
        try:
            forkserver.ensure_running()  # at once if it runs already (restarted if it died)
        finally:
            for key in set(os.environ) - set(saved):
                del os.environ[key]
            os.environ.update(saved)


def check_address(address: str) -> None:
    """Refuse a malformed scheduler address before a ``Client`` exists (a half-built client would
    block for its close timeout when collected)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        _, location = parse_address(address)
        parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise SweepError(f"--scheduler {address!r}: not a Dask scheduler address ({exc}); give e.g. "
                         f"tcp://HOST:8786") from None


@contextmanager
def connect(client=None, *, scheduler: str | None = None, workers: int | None = None, tasks: int | None = None,
            wait: bool = True):
    """A ``distributed.Client``: ``client`` as given (left open), one connected to ``scheduler``
    (an address such as ``tcp://host:8786``), or an embedded ``LocalCluster`` of ``workers``
    single-threaded worker processes (default one per core, at most one per task). The last two
    are closed on exit.

    wait : False hands out an embedded cluster's client as soon as its scheduler is up, while its
        forked workers still start (tasks submitted meanwhile run as they register; :func:`execute`
        does this and raises a SweepError when a worker cannot start); True (default) returns once they are up."""
    if client is not None:
        yield client
        return
    if scheduler is None:
        start_forkserver()  # before this process imports distributed: the two import side by side
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        check_address(scheduler)
        try:
            cl = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT_S:g} s "
                             f"({exc.__class__.__name__}: {exc}); start one with `dask scheduler` and "
                             f"`dask worker {scheduler}`") from None
        try:
            yield cl
        finally:
            cl.close()
        return
    n = workers or default_workers()
    if tasks:
        n = min(n, tasks)
    # Processes with one thread each: a variant that crashes or exhausts memory takes down its worker
    # (the nanny restarts it), not the sweep, and closing the cluster stops running variants at once.
    # The solver's numba kernel releases the GIL, but the Python around it (~17 % of a one-day
    # variant) holds it: on a quiet 2-core machine 2 worker threads did 1.15-1.46x serial where 2
    # processes did 1.68x (benchmarks/bench_sweep.py --part threads, planner/sweep/STATUS.md). Logs at
    # CRITICAL: a worker's own log of the shutdown would be noise, failures reach the caller through
    # the futures. Everything listens on the loopback only; the scheduler's status page (health and
    # metrics; the dashboard needs bokeh) on a free port, not on 8787, which another cluster may hold.
    # The workers inherit EMBEDDED_CONFIG (quieter background loops) from this process at their start
    # and fork from this process's forkserver (see worker_start_method).
    method = worker_start_method()
    environ = {**(dask.config.get("distributed.nanny.environ", default=None) or {}),
               **forkserver_start.WORKER_ENVIRON}  # for spawned workers (forked ones have it from the server)
    # the embedded cluster's own settings, whichever way its workers start
    local = dict(threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                 silence_logs=logging.CRITICAL)
    settings = {**EMBEDDED_CONFIG, "distributed.worker.multiprocessing-method": method,
                "distributed.nanny.environ": environ}
    if method != "forkserver":
        with _sigint_ignored(), dask.config.set(settings):
            cluster = LocalCluster(n_workers=n, **local)
        cl = Client(cluster, set_as_default=False)
        try:
            yield cl
        finally:
            cl.close()
            cluster.close()
        return
    # Forked workers: the scheduler comes up first and the client is handed out at once; the workers
    # start in the background (:func:`_start_workers`) and take the tasks submitted meanwhile as they
    # register, instead of the sweep waiting for the last one before it submits anything (~0.1-0.2 s of
    # a one-day sweep's start, benchmarks/bench_sweep.py, planner/sweep/STATUS.md session 8). The Dask
    # settings stay set while the cluster lives: the nannies read them when they start a worker process
    # (now in the background, and again if one has to be restarted). No SIGINT juggling: the forkserver
    # ignores it, and so does every worker it forks.
    import asyncio

    from distributed.worker_memory import parse_memory_limit

    with dask.config.set(settings):
        from distributed.utils import get_mp_context
        get_mp_context().set_forkserver_preload(list(FORKSERVER_PRELOAD))  # Dask sets its own list on its first use
        cluster = LocalCluster(n_workers=0, **local,
                               memory_limit=parse_memory_limit("auto", 1, n, logger=logging.getLogger(__name__)))
        try:
            # SpecCluster's own start (its scale() without the wait) through two private methods,
            # new_worker_spec and _correct_state (checked against distributed 2026.8.0 by
            # tests/test_sweep_start.py): scale() drops a worker's start error, and
            # Client.wait_for_workers would wait for ever on it
            for _ in range(n):
                cluster.worker_spec.update(cluster.new_worker_spec())
            starting = _Starting()
            starting.future = asyncio.run_coroutine_threadsafe(_start_workers(cluster, starting),
                                                               cluster.loop.asyncio_loop)
            if wait:
                starting.future.result()  # raises what a worker's start raised
            # by address: a client of the cluster object would first wait for its workers
            cl = Client(cluster.scheduler_address, loop=cluster.loop, security=cluster.security, set_as_default=False)
            if not wait:
                _STARTING[cl] = starting
            try:
                yield cl
            finally:
                cl.close()
        finally:
            cluster.close()


def _registrations(starting: "_Starting"):
    """A scheduler plugin that follows the workers joining and leaving into ``starting`` (its hooks
    run in the scheduler's event loop, in this process). A worker that dies while the others start
    leaves (``remove_worker``) before the nanny's replacement joins under a new address: the count is
    of the workers there, not of the registrations."""
    from distributed.diagnostics.plugin import SchedulerPlugin

    class Registrations(SchedulerPlugin):
        name = "dcplan-registrations"

        def add_worker(self, scheduler, worker):
            starting.registered(scheduler.workers[worker].nthreads, worker)

        def remove_worker(self, scheduler, worker, **kwargs):
            starting.removed(worker)

    return Registrations()


async def _start_workers(cluster, starting: _Starting) -> None:
    """Start the worker processes of ``cluster``'s worker spec (what ``LocalCluster`` does before its
    constructor returns), counting them into ``starting`` as they register and leave; raises what a
    worker's start raised."""
    cluster.scheduler.add_plugin(_registrations(starting))  # (named by its class's ``name``)
    await cluster._correct_state()


class _Starting:
    """The workers of an embedded cluster that :func:`connect` handed out before they were up.

    :func:`execute` submits tasks only for the worker threads registered so far (one task before the
    first): tasks submitted while no worker is registered all go to the first that registers, and a
    second one registering a moment later would wait for new tasks (or for Dask's work stealing)."""

    def __init__(self):
        self.future = None  # concurrent.futures.Future of _start_workers
        self.wake = None  # called (from the scheduler's thread) when a worker registers
        self._by_worker: dict[str, int] = {}  # address -> threads, of the workers there

    @property
    def threads(self) -> int:
        """Threads of the workers registered and not gone since."""
        return sum(self._by_worker.values())

    def registered(self, threads: int, worker: str) -> None:
        """The worker at address ``worker`` registered with ``threads`` threads."""
        self._by_worker[worker] = threads
        wake = self.wake
        if wake is not None:
            wake()

    def removed(self, worker: str) -> None:
        """The worker at address ``worker`` left (it died, or the cluster closes): its threads no
        longer count. The nanny's replacement registers under a new address."""
        self._by_worker.pop(worker, None)

    def check(self) -> bool:
        """True while the workers are starting; a :class:`SweepError` naming what their start raised."""
        if not self.future.done():
            return True
        exc = self.future.exception()
        if exc is not None:
            raise SweepError(f"a worker of the embedded cluster could not start ({exc.__class__.__name__}: {exc}); "
                             f"the rows done so far are kept") from exc
        return False


#: client -> its workers' start, for clients of :func:`connect` whose workers start in the background
_STARTING: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _exception_of(future) -> BaseException:
    """What went wrong with a future that did not finish (an error, or a cancel by the cluster)."""
    try:
        return future.exception()
    except BaseException as exc:  # CancelledError and the like: the cancel is the answer
        return exc


def _settled(future) -> bool | None:
    """True: the future's row is there; False: it failed (an error, or cancelled); None: not yet —
    its result lived on a worker that died after the task had finished ("lost", read between the
    done-callback and here) and the scheduler computes it again ("pending"), so wait for it."""
    if future.status == "finished":
        return True
    if future.status in ("lost", "pending"):
        return None
    return False


def _named(variants) -> str:
    return "; ".join(", ".join(f"{k}={val}" for k, val in v.labels.items()) for v in variants)


def _failure(variants, exc) -> SweepError:
    """The error of a task that did not finish: the variant (or the batch's variants) named."""
    from distributed import KilledWorker

    which = f"variant {_named(variants)}" if len(variants) == 1 else \
        f"one of the {len(variants)} variants of a batch ({_named(variants)})"
    if isinstance(exc, KilledWorker):
        return SweepError(f"{which}: its task killed several workers in a row (out of memory?); "
                          f"the rows done so far are kept")
    return SweepError(_failed_on_a_worker(which, f"{exc.__class__.__name__}: {exc}"))


def _failed_on_a_worker(which: str, what: str) -> str:
    return f"{which}: failed on a worker: {what} (is the same dcplan installed on every worker?)"


def _variant_failed(variant, outcome) -> SweepError:
    """A variant that raised inside its batch (its batch-mates' rows are kept). The worker's
    traceback is on the error as ``worker_traceback`` (the message stays one line)."""
    err = SweepError(_failed_on_a_worker(f"variant {_named([variant])}", outcome.failure)
                     + "; the rows done so far, its batch-mates' included, are kept")
    err.worker_traceback = outcome.trace
    return err


class _BatchSizer:
    """How many variants the next Dask task runs.

    Fixed when the caller gives ``batch_size``; otherwise one variant per task until the first
    results come back, then enough variants that a task is about :data:`BATCH_TARGET_S` of work at
    the mean time per variant measured so far on the workers, but never so many that fewer than
    :data:`TAIL_TASKS_PER_THREAD` tasks per worker thread remain for the rest (the workers finish
    together instead of one running a long last batch alone).
    """

    def __init__(self, batch_size: int | None):
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise SweepError(f"batch size must be a whole number >= 1, got {batch_size!r}")
        self.fixed = batch_size
        self.seconds = 0.0
        self.measured = 0

    def measure(self, outcomes) -> None:
        for o in outcomes:
            self.seconds += o.seconds
            self.measured += 1

    def next(self, remaining: int, threads: int) -> int:
        if self.fixed is not None:
            return min(self.fixed, remaining)
        if not self.measured:
            return 1
        per = max(self.seconds / self.measured, 1e-6)
        size = math.ceil(BATCH_TARGET_S / per)
        tail = math.ceil(remaining / (TAIL_TASKS_PER_THREAD * max(threads, 1)))
        return max(1, min(size, tail, remaining))


def execute(sweep: Sweep, client=None, *, scheduler: str | None = None, workers: int | None = None,
            skip: Iterable[str] = (), on_row: Callable[[dict], None] | None = None,
            progress: Callable[[float], None] | None = None, cancel: Callable[[], bool] | None = None,
            batch_size: int | None = None) -> list[dict]:
    """Run the variants of ``sweep`` not in ``skip`` on Dask; the rows, in variant order.

    client : distributed.Client | None  The user's client; default an embedded LocalCluster
        (``workers`` processes) or a client of ``scheduler``
    skip : hashes of variants already done (``--resume``)
    on_row : called with each row as it arrives (in completion order)
    progress : called with the fraction of the variants to run that is done (per variant)
    cancel : polled; True cancels the remaining tasks and returns the rows done
    batch_size : variants per Dask task; ``None`` (default) sizes batches from the time per variant
        measured on the workers, so each task is about :data:`BATCH_TARGET_S` of work (one-day demo
        variants: ~8 per task; annual ones: 1). Rows still arrive, count and are written per
        variant; a variant that fails inside a batch is named, its batch-mates' rows are kept.
    A ``KeyboardInterrupt`` cancels the remaining tasks too, then propagates.
    """
    sizer = _BatchSizer(batch_size)
    skip = set(skip)
    todo = [v for v in sweep.variants if v.hash not in skip]
    rows: dict[int, dict] = {}
    if not todo:
        return []
    if client is None and scheduler is None:
        start_forkserver()  # first: its imports overlap this process's import of distributed (below)
    from .kernels import SolverKernels

    if progress is not None:
        progress(0.0)
    with connect(client, scheduler=scheduler, workers=workers, tasks=len(todo), wait=False) as cl:
        # Waits until every worker present has loaded the kernels; later workers load them as they join.
        cl.register_plugin(SolverKernels())
        if client is None and scheduler is None:
            # The embedded cluster: the base plan and the weather files travel inside every variant task
            # that uses them, pickled once here and unpickled by each task, ~1 ms (plan ~30 kB, a parsed
            # weather file ~0.6 MB; over the loopback): so a task depends on no other task, and the scheduler hands the tasks to the
            # workers as they register and as they are free. As tasks of their own (dependencies) they
            # would pull every variant task to the worker that ran them first (Dask runs a task only where
            # its dependencies are; planner/sweep/STATUS.md session 8), and a worker that replaces a dead
            # one gets them with its first task.
            task = run_packed_batch
            plan_arg = pack(sweep.plan)
            weather_arg = {k: pack(sweep.weather[k]) for k in {v.weather_key for v in todo} if k is not None}
        else:
            # A cluster of the user's (a client given, or --scheduler): one copy of each per cluster, as tasks
            # of their own the variant tasks depend on (a weather file inside each of 1000 annual variant
            # tasks would be ~630 MB sent from the user's machine); the scheduler recomputes them if the
            # worker holding them dies. Its workers are up already, so the pull to one worker matters less.
            task = run_batch
            plan_arg = cl.submit(_identity, sweep.plan, key=f"dcplan-plan-{content_hash(sweep.plan)}")
            weather_arg = {k: cl.submit(_identity, sweep.weather[k], key=f"dcplan-weather-{k[:16]}")
                           for k in {v.weather_key for v in todo} if k is not None}
        futures: dict = {}  # in flight: future -> the variants of its batch
        lost: set = set()  # finished, then lost with their worker: computed again by the cluster
        arrived: queue.SimpleQueue = queue.SimpleQueue()
        queued = list(reversed(todo))  # popped from the end: factorial order
        starting = _STARTING.get(cl)  # an embedded cluster whose workers are still starting, or None
        threads = _Threads(cl, starting)
        if starting is not None:
            starting.wake = lambda: arrived.put(None)  # a worker registered: submit its tasks

        def submit() -> None:
            """Top up the tasks in flight to IN_FLIGHT_PER_THREAD per worker thread (one task before
            any worker has registered)."""
            while True:
                have = threads.count()  # every call, queue empty or not: a SweepError if a worker could not start
                if not queued or len(futures) >= max(IN_FLIGHT_PER_THREAD * have, 1):
                    return
                n = sizer.next(len(queued), max(have, 1))
                batch = [queued.pop() for _ in range(n)]
                keys = {v.weather_key for v in batch if v.weather_key is not None}
                f = cl.submit(task, plan_arg, sweep.scenario, sweep.settings,
                              {k: weather_arg[k] for k in keys}, batch,
                              key=f"dcplan-variants-{content_hash([v.hash for v in batch])}", retries=0)
                futures[f] = batch
                f.add_done_callback(arrived.put)  # called from Dask's callback thread

        try:
            submit()
            while futures:
                try:
                    finished = [arrived.get(timeout=POLL_S)]
                except queue.Empty:
                    finished = []
                while not arrived.empty():
                    finished.append(arrived.get_nowait())
                # rows lost with a worker are polled until the cluster has computed them again (a done
                # callback fires once, and at once for a lost future: Dask waits only on "pending")
                finished.extend(lost)
                lost.clear()
                for f in finished:
                    if f not in futures:
                        continue
                    state = _settled(f)
                    if state is None:
                        lost.add(f)
                        continue
                    batch = futures.pop(f)
                    if not state:
                        raise _failure(batch, _exception_of(f))
                    outcomes = f.result()
                    f.release()
                    sizer.measure(outcomes)
                    bad = None
                    for o in outcomes:
                        if o.row is None:
                            bad = bad or o
                            continue
                        rows[o.index] = o.row
                        if on_row is not None:
                            on_row(o.row)
                        if progress is not None:
                            progress(len(rows) / len(todo))
                    if bad is not None:
                        raise _variant_failed(next(v for v in batch if v.index == bad.index), bad)
                if cancel is not None and cancel():
                    break
                submit()
        finally:
            if futures:
                cl.cancel(list(futures))
    return [rows[k] for k in sorted(rows)]


class _Threads:
    """Worker threads of the cluster, asked of the scheduler at most every :data:`THREADS_POLL_S`
    (a cluster may grow, shrink or lose a worker during a sweep); while an embedded cluster's workers
    are still starting (``starting``), the threads registered so far. The one place that follows the
    start: :func:`execute` asks for the count at least every :data:`POLL_S`, so a worker that cannot
    start raises here (:meth:`_Starting.check`) instead of the sweep waiting for ever for rows."""

    def __init__(self, client, starting: _Starting | None = None):
        self.client = client
        self.starting = starting
        self.at = -math.inf
        self.value = 1

    def count(self) -> int:
        if self.starting is not None:
            if self.starting.check():  # a SweepError if a worker could not start
                return self.starting.threads
            self.starting = None
        now = time.monotonic()
        if now - self.at >= THREADS_POLL_S:
            self.at = now
            try:
                self.value = max(1, sum(self.client.nthreads().values()))
            except Exception:  # a scheduler that does not answer: keep the last count, the futures tell the rest
                pass
        return self.value


def run_serial(sweep: Sweep, *, skip: Iterable[str] = (), on_row=None, progress=None, cancel=None) -> list[dict]:
    """The same rows as :func:`execute`, computed one after another in this process (no Dask)."""
    skip = set(skip)
    todo = [v for v in sweep.variants if v.hash not in skip]
    rows = []
    for k, v in enumerate(todo):
        if cancel is not None and cancel():
            break
        weather = sweep.weather.get(v.weather_key) if v.weather_key else None
        row = run_variant(sweep.plan, sweep.scenario, sweep.settings, v.changes, weather, v.hash, v.labels)
        rows.append(row)
        if on_row is not None:
            on_row(row)
        if progress is not None:
            progress((k + 1) / len(todo))
    return rows


def run(plan: Plan, params: Mapping[str, Iterable], client=None, *, scenario: str | None = None,
        days: float | None = None, year: bool = False, workers: int | None = None,
        schedule_time_limit_s: float = 60.0, progress=None, cancel=None, batch_size: int | None = None) -> list[dict]:
    """Define and run a sweep on Dask; the rows (dicts), in the variants' factorial order.

    plan : Plan  Base plan; params : parameter name -> list of values (see :mod:`.definition`)
    client : distributed.Client | None  Your own client (a notebook's, a Slurm cluster's); by
        default an embedded LocalCluster with ``workers`` processes (one per core)
    scenario, days, year, schedule_time_limit_s : run settings, as in :func:`.definition.define`
    batch_size : variants per Dask task (default: sized from the measured time per variant, see
        :func:`execute`)

    >>> rows = run(plan, {"control": ["reactive", "predictive"], "setpoint.TCS": [40, 43]}, days=1)
    """
    if client is None:
        start_forkserver()  # the embedded cluster's forkserver imports beside define() (weather files are read there)
    sweep = define(plan, params, scenario=scenario, days=days, year=year,
                   schedule_time_limit_s=schedule_time_limit_s)
    return execute(sweep, client, workers=workers, progress=progress, cancel=cancel, batch_size=batch_size)
