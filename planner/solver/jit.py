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

import numba

#: Compile options of every solver kernel
OPTIONS = {"cache": True, "error_model": "numpy", "boundscheck": False, "nogil": True}


def njit(fn=None, **overrides):
    """``numba.njit`` with the solver's :data:`OPTIONS` (usable bare or with keyword overrides)."""
    opts = {**OPTIONS, **overrides}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)
