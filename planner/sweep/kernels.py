"""Loading the solver's compiled kernels: once in the embedded cluster's forkserver, or on each worker.

The solver's stepping kernels are compiled by numba and kept in its on-disk cache
(:mod:`planner.solver.jit`, ``make venv`` fills it), so a worker process never compiles them
again, but each new process still *loads* them on its first simulation: ~0.5 CPU-s for a
one-day variant's kernels on this machine (numba's own target set-up, which imports ``scipy.linalg``,
is half of it), about five times what a one-day demo variant itself costs, and several seconds of
wall time on a loaded machine (measured: benchmarks/bench_sweep.py ``worker_first_task``;
planner/sweep/STATUS.md). Two ways keep that load out of the variants:

* the embedded cluster's forkserver loads them once, before it forks the workers
  (:func:`preload_from_cache`, run by :mod:`.preload`): every worker starts with them loaded
  (copy-on-write), so the load is paid once instead of once per worker, and there without numba's
  target set-up (:func:`_target_set_up_deferred`: ~0.2 CPU-s less on every sweep's start) — but only what numba's
  cache already holds: the server compiles nothing (a fresh install would otherwise compile for a
  minute inside the cluster's start, with Ctrl+C ignored there) and starts no thread (it must be
  single-threaded when it forks);
* the worker plugin :class:`SolverKernels` loads (or compiles) them when a worker joins, in a
  thread, for everything else: a cold cache, a user's own cluster, a replacement worker after a
  crash (the scheduler hands registered plugins to every worker that joins later). In a worker
  forked from a server that loaded them it returns at once.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager

from distributed.diagnostics.plugin import WorkerPlugin

logger = logging.getLogger(__name__)

#: Seconds this process spent loading the kernels (None until loaded here)
_loaded_s: float | None = None
#: Held while :func:`load_kernels` loads: the in-process workers of a ``processes=False`` cluster
#: run the plugin's setup in threads of one process at once, and the load is once per process
_loading = threading.Lock()


def load_kernels() -> float:
    """Load (or compile, if the cache lacks them) every specialisation of the solver kernels in this
    process, once; the seconds it took the first time [s] (later calls return at once)."""
    global _loaded_s
    with _loading:
        if _loaded_s is None:  # (planner.sweep's __init__ has already imported the worker's modules)
            from planner.solver.warmup import warm
            _loaded_s = warm()
    return _loaded_s


def loaded_s() -> float | None:
    """Seconds the kernel load took in this process, or None if :func:`load_kernels` has not run."""
    return _loaded_s


class _WouldCompile(BaseException):
    """Raised by :class:`_NoCompile` where numba would start compiling (a BaseException, so that no
    ``except Exception`` on the way swallows it and carries on into another compile)."""


def _no_compile_listener():
    from numba.core import event

    class _NoCompile(event.Listener):
        """Stops a kernel load at the first compile: numba broadcasts ``numba:compile`` after a
        dispatcher missed its on-disk cache, just before it compiles."""

        def on_start(self, ev):
            raise _WouldCompile(getattr(ev.data.get("dispatcher"), "__qualname__", "?") if isinstance(ev.data, dict)
                                else "?")

        def on_end(self, ev):
            pass

    return _NoCompile()


def solver_dispatchers() -> list:
    """numba's dispatchers of the solver's kernels (the ``planner.solver`` modules imported so far)."""
    from numba.core.registry import CPUDispatcher

    out = []
    for name, mod in list(sys.modules.items()):
        if (name == "planner.solver" or name.startswith("planner.solver.")) and mod is not None:
            out.extend(v for v in vars(mod).values()
                       if isinstance(v, CPUDispatcher) and getattr(v.py_func, "__module__", None) == name)
    return out


def cache_counts() -> tuple[int, int]:
    """(loads from numba's on-disk cache, compiles) of the solver's kernels in this process so far."""
    ds = solver_dispatchers()
    return (sum(sum(d.stats.cache_hits.values()) for d in ds), sum(sum(d.stats.cache_misses.values()) for d in ds))


def os_threads() -> int:
    """Threads of this process as the OS counts them (numba's or a BLAS library's included, which
    ``threading`` does not see)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux
        import threading
        return threading.active_count()


def _warm_short_runs() -> None:
    """Load the kernel specialisation of runs shorter than a few weeks: the first of
    :func:`planner.solver.warmup.warm`'s runs. Not the float32 loop series of long runs (another
    specialisation, ~0.1 s more in the server before it can fork): a worker loads that on its first
    long variant, 2-3 % of an annual variant's time."""
    from planner.solver.warmup import warm_short
    warm_short()


def _pool_joined_at_fork() -> bool:
    """Whether numba's threading layer is TBB, whose thread pool numba joins before a fork."""
    import numba
    return str(numba.config.THREADING_LAYER).lower() == "tbb"


def preload_from_cache() -> str:
    """Load the kernels of short runs (:func:`_warm_short_runs`), but only from numba's on-disk cache
    and only where that starts no thread: in the embedded cluster's forkserver, before it forks the workers
    (see the module docstring). Returns what happened:

    ``"loaded"``  every kernel came from the cache (:func:`loaded_s` is set: the workers forked from
        this process skip their own load)
    ``"cold"``  a kernel is not in the cache (a fresh install, a changed kernel source): the load
        stopped at numba's first compile, before anything was compiled; the workers' plugin loads
        (and compiles) them
    ``"parallel"``  a kernel runs on numba's threads (``prange``) and numba's threading layer is not
        TBB: loading such a kernel from the cache launches numba's thread pool, and a process with
        threads must not fork (workqueue and GNU OpenMP keep theirs across a fork); left to the
        workers. With TBB the kernels are loaded: numba's TBB layer joins its pool before every
        fork (a ``pthread_atfork`` handler) and starts it again when next needed, so the server is
        single-threaded when it forks
    ``"failed: …"``  anything else; left to the workers

    The kernels are loaded without numba's target set-up (:func:`_target_set_up_deferred`): what a
    cached kernel needs is there without it, and a worker that compiles or loads another
    specialisation later (its first long variant) does the set-up then, in the worker."""
    global _loaded_s
    if _loaded_s is not None:
        return "loaded"
    from numba.core import event

    t = time.perf_counter()
    try:
        if any(d.targetoptions.get("parallel") for d in solver_dispatchers()) and not _pool_joined_at_fork():
            return "parallel"
        try:
            with event.install_listener("numba:compile", _no_compile_listener()):
                try:
                    with _target_set_up_deferred():
                        _warm_short_runs()
                except (_WouldCompile, KeyboardInterrupt):
                    raise
                except Exception:  # noqa: BLE001 (a kernel that needs the set-up after all: numba's own way)
                    _warm_short_runs()
        except _WouldCompile as exc:
            return f"cold ({exc})" if str(exc) else "cold"
    except Exception as exc:  # noqa: BLE001 (the forkserver must come up: the workers load them then)
        return f"failed: {exc.__class__.__name__}: {exc}"
    _loaded_s = time.perf_counter() - t
    return "loaded"


@contextmanager
def _target_set_up_deferred():
    """Within this block numba loads kernels from its on-disk cache without its target set-up.

    numba refreshes its CPU target context before every load from the cache
    (``caching.Cache.load_overload``): it imports and installs every lowering and typing registry
    numba has (``numba.np.linalg`` and with it ``scipy.linalg``, cffi's parser, the unicode, random
    and datetime implementations …), what *compiling* needs. A cached kernel needs none of it: its
    machine code is linked against numba's runtime and helper symbols, which the context has from its
    creation, and its environment imports the modules it names itself. In the forkserver that set-up
    was ~0.2 of its ~1.0–1.2 CPU-s start, on the path of every sweep's first row (planner/sweep/STATUS.md,
    session 10). So here the context's ``refresh`` is a no-op (an attribute of the instance over the
    class's method), and afterwards numba's own again: the first compile or load outside the block (a
    worker's first long variant, another specialisation) does the whole set-up then, as numba always
    does. Only for a single-threaded process (the forkserver): another thread compiling meanwhile would
    find the registries missing. Compiling inside the block is stopped by :func:`preload_from_cache`'s
    listener before it starts."""
    from numba.core.registry import cpu_target

    ctx = cpu_target.target_context
    ctx.refresh = _no_refresh
    try:
        yield
    finally:
        del ctx.refresh


def _no_refresh() -> None:
    """numba's target context refresh, skipped (:func:`_target_set_up_deferred`)."""


class SolverKernels(WorkerPlugin):
    """Loads the solver kernels on each worker at setup (see the module docstring).

    The load runs in a thread so the worker's event loop keeps answering the scheduler (heartbeats)
    even when the cache is cold and numba compiles for a minute or two; a task that starts
    meanwhile waits on numba's compiler lock and then uses the loaded kernels. A failure is logged,
    not raised: the variant tasks then fail with the solver's own error, naming the variant.
    """

    name = "dcplan-solver-kernels"
    idempotent = True  # registering again (another sweep on the same cluster) does not re-run setup

    async def setup(self, worker) -> None:
        try:
            seconds = await asyncio.to_thread(load_kernels)
        except Exception:  # the tasks report it; a plugin error would only be logged on the worker
            logger.exception("dcplan: loading the solver kernels failed on %s", getattr(worker, "address", "?"))
            return
        logger.info("dcplan: solver kernels ready on %s in %.1f s", getattr(worker, "address", "?"), seconds)
