"""The first module the embedded cluster's forkserver imports (:data:`.runner.FORKSERVER_PRELOAD`),
before Dask, numpy, numba and the solver. In that server only (the environment variable
:data:`MARKER`, which :func:`.runner.start_forkserver` sets for the server's start alone): it

* sets the workers' thread settings (:data:`WORKER_ENVIRON`) in the server's own environment, before
  numba is imported there (numba reads ``NUMBA_NUM_THREADS`` once, at its import), so every worker
  forked from the server has them — and the process that starts the sweep never has them, not even
  for the moment the server starts (a GUI or a notebook there keeps all its cores);
* pauses Python's garbage collector for the server's imports and kernel load: they create ~260,000
  objects, and the collector, run by allocation counts, rescans the growing heap over and over
  meanwhile (~10 % of the server's import time, which every sweep waits for before its first worker
  can fork; planner/sweep/STATUS.md, session 7). :mod:`.preload` (imported last) freezes what was
  created and turns the collector back on; every process forked from the server has it on in any case.

Imported anywhere else it does nothing.
"""
from __future__ import annotations

import gc
import os

#: Set (to "1") in the environment the forkserver starts with, and only there
MARKER = "DCPLAN_FORKSERVER"
#: Environment of the embedded cluster's worker processes on top of Dask's ``pre-spawn-environ``
#: (one BLAS/OpenMP thread each): one numba thread too — two workers on two cores are the
#: parallelism; a solver kernel on numba's threads in each would oversubscribe the cores.
#: ``DCPLAN_THREADS`` is the solver's own setting of the threads a simulation may use.
WORKER_ENVIRON = {"NUMBA_NUM_THREADS": "1", "DCPLAN_THREADS": "1"}

if os.environ.get(MARKER) == "1":
    os.environ.update(WORKER_ENVIRON)
    gc.disable()
    os.register_at_fork(after_in_child=gc.enable)
