"""Imported once by the embedded cluster's forkserver (:data:`.runner.FORKSERVER_PRELOAD`), after
Dask and the solver, before the server forks the first worker: loads the solver kernels from
numba's on-disk cache into the server, so the workers it forks start with them (see
:func:`.kernels.preload_from_cache`: nothing is compiled there and no thread started). Not meant
to be imported anywhere else; there it does nothing (:data:`.forkserver_start.MARKER`).
"""
from __future__ import annotations

import gc
import os

from . import kernels
from .forkserver_start import MARKER

#: What the load did: ``"loaded"``, ``"cold …"``, ``"parallel"``, ``"failed: …"``, or
#: ``"not the forkserver"`` (imported elsewhere: nothing done)
STATUS = "not the forkserver"
#: Seconds it took (None unless loaded)
SECONDS = None
#: OS threads of the server after it: 1, or 2 where the kernels run on numba's TBB threads (its pool,
#: launched by the load, is joined before each fork: the server is single-threaded when it forks)
THREADS = None
#: (loads from numba's cache, compiles) of the solver's kernels in the server when it was done: a
#: worker forked from it that loaded nothing itself has the same counts after its tasks
CACHE_COUNTS = None
#: The server's process id (a worker compares its parent's with it)
SERVER_PID = None

if os.environ.get(MARKER) == "1":
    STATUS = kernels.preload_from_cache()
    SECONDS = kernels.loaded_s()
    THREADS = kernels.os_threads()
    CACHE_COUNTS = kernels.cache_counts()
    SERVER_PID = os.getpid()
    # The collector was paused for the server's imports (.forkserver_start, the first preload): what
    # they created moves to the permanent generation (a worker's collections never rescan it, and do
    # not write to those pages, which the workers share with the server until written), then it is on.
    gc.freeze()
    gc.enable()
