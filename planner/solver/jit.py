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
import gc
import os

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


@contextlib.contextmanager
def gc_paused(pause: bool = True):
    """Automatic garbage collection off for the block (``pause``), back on after.

    Why: loading the compiled kernels from numba's cache (or compiling them) creates a great many
    Python objects, so the collector runs during it — in whatever thread loads them. A GUI runs the
    solver in a worker thread; a collection there can finalise Qt objects left by the GUI thread
    while that thread destroys related objects, and the two deadlock on Qt's locks (seen in the GUI
    tests: PySide6 ``QObject::~QObject`` in both threads). The load is short (≲ 2 s); the GUI thread
    collects again afterwards."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
