"""The compiler of the solver's per-step kernels: numba's ``njit``, configured once.

Why numba (issue 12): a step of the demo hall is ~100 small numpy calls (0.3–1 ms on the shared
2-core machine), so the fixed per-call cost, not the arithmetic, set the speed. The stepping loop
is written as plain scalar Python over servers and loops and compiled whole by numba (LLVM), so a
step costs what its arithmetic costs. There is no second (numpy) implementation to keep in step:
with ``NUMBA_DISABLE_JIT=1`` the very same source runs as ordinary Python (slowly; useful in a
debugger).

Settings: ``cache=True`` (the compiled machine code is kept next to the sources, ``__pycache__``;
a new process loads it instead of compiling again), ``error_model="numpy"`` (a division by zero
gives inf/nan like numpy rather than raising; the kernels guard the cases that matter),
``boundscheck=False``.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading

import numba

#: Compile options of every solver kernel
OPTIONS = {"cache": True, "error_model": "numpy", "boundscheck": False, "nogil": True}


def njit(fn=None, refcount: bool = True, **overrides):
    """``numba.njit`` with the solver's :data:`OPTIONS` (usable bare or with keyword overrides).

    ``refcount=False`` compiles without numba's reference counting (NRT): for the per-step kernels,
    which allocate nothing and keep no array beyond the call. With it, every call of a compiled
    function increments and decrements (atomically) the count of each array it is handed, on entry
    and exit, and of each view it takes: perf on the demo's hot day put a third of the kernel's
    samples in ``NRT_incref`` / ``NRT_decref`` (record_step alone is handed ~40 arrays a step).
    A function compiled so cannot allocate an array (numba refuses at compile time)."""
    if not refcount:
        overrides = {**overrides, "_nrt": False}
    opts = {**OPTIONS, **overrides}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)


# ----------------------------------------------------------------------------- threads
#
# The per-step server passes run over fixed chunks of servers on numba's threads (``prange``) for
# large halls (:class:`.serverstep.Chunks`: the same bits on any number of threads). numba's own
# ``workqueue`` threading layer aborts the process when two Python threads launch parallel work at
# once (the GUI simulates in a worker thread; tests and sweeps may simulate from several), so the
# kernel asks for a thread-safe layer: TBB (a pip dependency on the platforms with wheels: also
# fork-safe, which the sweep's forked workers need), else OpenMP (thread-safe; GNU's is not
# fork-safe), else workqueue with a process-wide lock (a run that cannot take it runs serially).

#: Environment variable with the number of threads a simulation may use (default: every core numba
#: sees, ``NUMBA_NUM_THREADS``); the CLI's ``--threads`` sets it. Sweep workers run with 1.
THREADS_ENV = "DCPLAN_THREADS"


def _preload_tbb() -> None:
    """Load pip's ``tbb`` wheel's ``libtbb.so.12`` by path: the wheel puts it in ``<prefix>/lib``,
    which the dynamic loader does not search, so numba's TBB layer would not find it."""
    if not sys.platform.startswith("linux"):
        return
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        path = os.path.join(prefix, "lib", "libtbb.so.12")
        if os.path.exists(path):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                return
            except OSError:
                continue


def _choose_threading_layer() -> str:
    """The threading layer numba will use (set before any parallel kernel is compiled or loaded); a
    user's ``NUMBA_THREADING_LAYER`` is kept (pip's TBB loaded first all the same: numba's ``tbb``,
    ``safe`` and ``forksafe`` layers would not find it otherwise, and no run could start)."""
    _preload_tbb()
    if os.environ.get("NUMBA_THREADING_LAYER"):
        return os.environ["NUMBA_THREADING_LAYER"]
    import importlib
    for name in ("tbb", "omp"):
        try:
            if name == "tbb":
                from numba.np.ufunc.parallel import _check_tbb_version_compatible
                _check_tbb_version_compatible()
            importlib.import_module(f"numba.np.ufunc.{name}pool")
        except Exception:  # noqa: BLE001  (not installed / not loadable: try the next)
            continue
        numba.config.THREADING_LAYER = name
        return name
    numba.config.THREADING_LAYER = "workqueue"
    return "workqueue"


#: numba's ``parallel`` option of the kernels that run the chunks of servers on the threads: the
#: ``prange`` over chunks only, every other parallel transformation off (the chunk bodies are scalar
#: loops whose order of sums must stay a single pass's, :class:`.serverstep.Chunks`)
PRANGE_ONLY = {"prange": True, "comprehension": False, "reduction": False, "inplace_binop": False,
               "setitem": False, "numpy": False, "stencil": False, "fusion": False}
#: Chunks of servers a thread takes at a time (numba's dynamic scheduling; 0 would split the
#: chunks into one equal share per thread up front, which waits for a thread that another process
#: has delayed on a shared machine)
PARALLEL_CHUNKSIZE = 1
#: The threading layer chosen (``tbb``, ``omp`` or ``workqueue``)
THREADING_LAYER = _choose_threading_layer()
#: Held by a run whose chunks use the threads when the layer is not thread-safe (workqueue)
_PARALLEL_LOCK = threading.Lock()


def max_threads() -> int:
    """Threads numba can use in this process (``NUMBA_NUM_THREADS``, fixed at its start)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def threads_setting() -> int:
    """Threads a simulation may use: ``DCPLAN_THREADS`` (≥ 1) or every thread numba has."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        try:
            k = int(raw)
        except ValueError:
            raise ValueError(f"{THREADS_ENV} must be a whole number of threads, not {raw!r}") from None
        if k < 1:
            raise ValueError(f"{THREADS_ENV} must be at least 1, not {k}")
        return min(k, max_threads())
    return max_threads()


@contextlib.contextmanager
def parallel_threads(want: bool, threads: int | None = None):
    """Yield the number of threads the kernel's chunked server passes may use in this block (1 =
    run them serially): ``want`` is False for small runs; ``threads`` the caller's count (default
    :func:`threads_setting`), at most :func:`max_threads`. The count is numba's per-thread setting,
    so it is set in the calling thread (the GUI's worker thread does not inherit it)."""
    k = (min(int(threads), max_threads()) if threads is not None else threads_setting()) if want else 1
    locked = False
    if k > 1 and THREADING_LAYER not in ("tbb", "omp"):
        locked = _PARALLEL_LOCK.acquire(blocking=False)
        if not locked:
            k = 1
    old_chunk = old_threads = None
    try:
        if k > 1:
            old_threads = numba.get_num_threads()  # the caller's own numba code (a notebook) keeps its setting
            numba.set_num_threads(k)
            old_chunk = numba.set_parallel_chunksize(PARALLEL_CHUNKSIZE)
        yield k
    finally:
        if old_chunk is not None:
            numba.set_parallel_chunksize(old_chunk)
        if old_threads is not None:
            numba.set_num_threads(old_threads)
        if locked:
            _PARALLEL_LOCK.release()


# ----------------------------------------------------------------------------- the helper pool's atomics
#
# The large hall's server passes can run on a pool of helper threads that stay awake for a whole
# run (:mod:`.integrate`, :class:`.serverstep.Chunks` ``pool``): a pass publishes its chunks by an
# atomic word, every thread present claims chunks from it, and the caller waits only for chunks a
# helper has claimed, never for a helper that is not running. These are the few atomic operations
# (LLVM's, on one ``int64`` element of an array) and the spin hints the claim loop needs.

from llvmlite import ir as _ir  # noqa: E402
from numba.core import cgutils as _cgutils, types as _types  # noqa: E402
from numba.core import errors as _errors  # noqa: E402
from numba.extending import intrinsic as _intrinsic  # noqa: E402

import platform as _platform  # noqa: E402

_X86 = _platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
_POSIX = sys.platform != "win32"  # sched_yield / usleep from the C library (elsewhere: spin only)


def _element(context, builder, aryty, ary, idx, idxty):
    """A pointer to ``ary[idx]`` (the index cast to ``intp`` first, whatever integer type it came as)."""
    a = context.make_array(aryty)(context, builder, ary)
    i = context.cast(builder, idx, idxty, _types.intp)
    return _cgutils.get_item_pointer(context, builder, aryty, a, [i])


def _int64_word(arr, idx, what: str) -> None:
    """Typing check of the atomics: a 1-D int64 array and an integer index (the generated code
    reads and writes 8-byte words; anything else would be a silent wrong-width access)."""
    if not (isinstance(arr, _types.Array) and arr.ndim == 1 and arr.dtype == _types.int64):
        raise _errors.TypingError(f"{what}: needs a 1-D int64 array, got {arr}")
    if not isinstance(idx, _types.Integer):
        raise _errors.TypingError(f"{what}: needs an integer index, got {idx}")


@_intrinsic
def atomic_add(typingctx, arr, idx, val):
    """``arr[idx] += val`` as one atomic operation (sequentially consistent); returns the old value."""
    _int64_word(arr, idx, "atomic_add")

    def codegen(context, builder, sig, args):
        val = context.cast(builder, args[2], sig.args[2], _types.int64)
        return builder.atomic_rmw("add", _element(context, builder, sig.args[0], args[0], args[1], sig.args[1]), val,
                                  "seq_cst")
    return _types.int64(arr, idx, _types.int64), codegen


@_intrinsic
def atomic_load(typingctx, arr, idx):
    """``arr[idx]`` read atomically (acquire: what was written before the matching release is seen)."""
    _int64_word(arr, idx, "atomic_load")

    def codegen(context, builder, sig, args):
        return builder.load_atomic(_element(context, builder, sig.args[0], args[0], args[1], sig.args[1]), "acquire", 8)
    return _types.int64(arr, idx), codegen


@_intrinsic
def atomic_store(typingctx, arr, idx, val):
    """``arr[idx] = val`` written atomically (release: everything written before it is seen with it)."""
    _int64_word(arr, idx, "atomic_store")

    def codegen(context, builder, sig, args):
        val = context.cast(builder, args[2], sig.args[2], _types.int64)
        builder.store_atomic(val, _element(context, builder, sig.args[0], args[0], args[1], sig.args[1]), "release", 8)
        return context.get_dummy_value()
    return _types.none(arr, idx, _types.int64), codegen


@_intrinsic
def atomic_cas(typingctx, arr, idx, old, new):
    """``arr[idx] = new`` if it holds ``old`` (one atomic compare-and-swap); whether it did."""
    _int64_word(arr, idx, "atomic_cas")

    def codegen(context, builder, sig, args):
        old_v = context.cast(builder, args[2], sig.args[2], _types.int64)
        new_v = context.cast(builder, args[3], sig.args[3], _types.int64)
        r = builder.cmpxchg(_element(context, builder, sig.args[0], args[0], args[1], sig.args[1]), old_v, new_v,
                            "seq_cst", "seq_cst")
        return builder.extract_value(r, 1)
    return _types.boolean(arr, idx, _types.int64, _types.int64), codegen


@_intrinsic
def spin_pause(typingctx):
    """The CPU's spin-wait hint (x86 ``pause``; nothing elsewhere)."""
    def codegen(context, builder, sig, args):
        if _X86:
            fn = _cgutils.get_or_insert_function(builder.module, _ir.FunctionType(_ir.VoidType(), []),
                                                 "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()
    return _types.none(), codegen


@_intrinsic
def os_yield(typingctx):
    """``sched_yield()``: let another runnable thread have this core."""
    def codegen(context, builder, sig, args):
        if not _POSIX:
            return context.get_dummy_value()
        fn = _cgutils.get_or_insert_function(builder.module, _ir.FunctionType(_ir.IntType(32), []), "sched_yield")
        builder.call(fn, [])
        return context.get_dummy_value()
    return _types.none(), codegen


@_intrinsic
def os_sleep_us(typingctx, us):
    """``usleep(us)``: sleep about ``us`` microseconds."""
    def codegen(context, builder, sig, args):
        if not _POSIX:
            return context.get_dummy_value()
        fn = _cgutils.get_or_insert_function(builder.module, _ir.FunctionType(_ir.IntType(32), [_ir.IntType(32)]),
                                             "usleep")
        builder.call(fn, [builder.trunc(args[0], _ir.IntType(32))])
        return context.get_dummy_value()
    return _types.none(_types.int64), codegen


#: ``clock_gettime``'s monotonic clock id on this platform (Linux 1, macOS 6, ...)
_CLOCK_MONOTONIC = int(getattr(__import__("time"), "CLOCK_MONOTONIC", 1))


@_intrinsic
def mono_ns(typingctx):
    """A monotonic clock [ns] (``clock_gettime(CLOCK_MONOTONIC)``, a vDSO call of ~20 ns on Linux);
    0 where there is no such call (not POSIX: :data:`integrate.THREAD_POOL` is off there)."""
    def codegen(context, builder, sig, args):
        i64 = _ir.IntType(64)
        if not _POSIX:
            return _ir.Constant(i64, 0)
        ts_t = _ir.LiteralStructType([i64, i64])  # struct timespec {time_t tv_sec; long tv_nsec} (64-bit)
        ts = _cgutils.alloca_once(builder, ts_t)
        fn = _cgutils.get_or_insert_function(builder.module, _ir.FunctionType(_ir.IntType(32), [_ir.IntType(32),
                                                                                                  ts_t.as_pointer()]),
                                             "clock_gettime")
        builder.call(fn, [_ir.Constant(_ir.IntType(32), _CLOCK_MONOTONIC), ts])
        sec = builder.load(builder.gep(ts, [_ir.Constant(_ir.IntType(32), 0), _ir.Constant(_ir.IntType(32), 0)]))
        nsec = builder.load(builder.gep(ts, [_ir.Constant(_ir.IntType(32), 0), _ir.Constant(_ir.IntType(32), 1)]))
        return builder.add(builder.mul(sec, _ir.Constant(i64, 1_000_000_000)), nsec)
    return _types.int64(), codegen


#: The solver modules whose compiled functions the stepping kernel calls (and so inlines)
KERNEL_MODULES = ("control", "coupling", "heat_rejection", "integrate", "jit", "loopbank", "recorder", "ripple", "serverstep", "pieces", "groupstep",
                  "workload", "loads", "defaults")


def invalidate_stale_caches() -> None:
    """Drop the cached machine code of every solver kernel when any kernel module's source changed.

    numba checks a cached function against its *own* file only; the stepping kernel inlines
    functions from several modules, so an edit to one of them would otherwise leave a stale kernel
    in the cache. A digest of all :data:`KERNEL_MODULES` sources is kept beside the cache; when it
    differs, the solver's ``*.nbi`` / ``*.nbc`` files are removed before anything is compiled. (A
    cache numba keeps elsewhere, e.g. for a read-only install, is replaced with the install.)
    """
    import hashlib
    from pathlib import Path
    here = Path(__file__).resolve().parent
    cache = here / "__pycache__"
    digest = hashlib.sha256()
    for name in KERNEL_MODULES:
        try:
            digest.update((here / f"{name}.py").read_bytes())
        except OSError:
            return
    stamp = cache / "kernel-sources.sha256"
    want = digest.hexdigest()
    try:
        if stamp.read_text() == want:
            return
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for f in cache.iterdir():
            if f.suffix in (".nbi", ".nbc") and f.name.split(".", 1)[0] in KERNEL_MODULES:
                f.unlink(missing_ok=True)
        tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(want)
        os.replace(tmp, stamp)
    except OSError:  # a read-only install: numba keeps its cache elsewhere
        pass


invalidate_stale_caches()
