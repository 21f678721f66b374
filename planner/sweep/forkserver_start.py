"""The first module the sweep's forkserver imports (:data:`planner.sweep.runner.FORKSERVER_PRELOAD`):
pauses Python's garbage collector for the server's imports and kernel load.

Those create ~260,000 objects, and the collector, run by allocation counts, rescans the growing
heap over and over meanwhile: ~10 % of the server's import time, which every sweep waits for before
its first worker can fork. :mod:`planner.sweep.preload` (imported last) freezes what was created
(``gc.freeze``: moved out of the collected generations, so a worker's collections never rescan the
server's modules) and turns the collector back on; every process forked from the server has it on
in any case. Here, not in ``planner.sweep``: importing a module of that package runs the package's
``__init__``, which imports the solver first. Not meant to be imported anywhere else.
"""
from __future__ import annotations

import gc
import os

gc.disable()
os.register_at_fork(after_in_child=gc.enable)
