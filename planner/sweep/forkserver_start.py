"""The first module the embedded cluster's forkserver imports (:data:`.runner.FORKSERVER_PRELOAD`),
before Dask, numpy, numba and the solver. In that server only (the environment variable
:data:`MARKER`, which :func:`.runner.start_forkserver` sets for the server's start alone): it

* sets Dask's ``distributed.nanny.pre-spawn-environ`` (one BLAS/OpenMP thread per worker and the like,
  which must be set before numpy is imported) in the server's own environment when the sweep's process
  left that to the server (:data:`DASK_ENV_MARKER`: that process had not imported Dask, so no
  in-process Dask setting can differ from what the server reads; reading it there would have put
  ``import dask``, ~0.1 s, before the server's start);
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
#: Set (to "1") beside :data:`MARKER` when the server reads Dask's pre-spawn environment itself
DASK_ENV_MARKER = "DCPLAN_FORKSERVER_DASK_ENV"
#: Environment of the embedded cluster's worker processes on top of Dask's ``pre-spawn-environ``
#: (one BLAS/OpenMP thread each): one numba thread too — two workers on two cores are the
#: parallelism; a solver kernel on numba's threads in each would oversubscribe the cores.
#: ``DCPLAN_THREADS`` is the solver's own setting of the threads a simulation may use.
WORKER_ENVIRON = {"NUMBA_NUM_THREADS": "1", "DCPLAN_THREADS": "1"}


def dask_pre_spawn_environ() -> dict[str, str]:
    """Dask's ``distributed.nanny.pre-spawn-environ``: the user's Dask configuration over
    distributed's defaults, read without importing ``distributed`` (nor numpy: ``dask.config`` alone),
    so that it can be set before numpy is imported."""
    import importlib.util

    import dask.config
    import yaml

    env = {}
    spec = importlib.util.find_spec("distributed")
    if spec is not None and spec.submodule_search_locations:
        try:
            with open(os.path.join(list(spec.submodule_search_locations)[0], "distributed.yaml"), encoding="utf-8") as fh:
                defaults = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
            env = dict(((defaults.get("distributed") or {}).get("nanny") or {}).get("pre-spawn-environ") or {})
        except (OSError, yaml.YAMLError, AttributeError):  # another layout: the user's settings alone, below
            env = {}
    env.update(dask.config.get("distributed.nanny.pre-spawn-environ", default=None) or {})
    return {str(k): str(v) for k, v in env.items()}


if os.environ.get(MARKER) == "1":
    gc.disable()
    if os.environ.get(DASK_ENV_MARKER) == "1":
        os.environ.update(dask_pre_spawn_environ())
    os.environ.update(WORKER_ENVIRON)
    os.register_at_fork(after_in_child=gc.enable)
