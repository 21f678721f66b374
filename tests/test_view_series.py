"""The plots' extra series (planner.solver.series.view_series) for runs with and without
per-server histories: the GUI records histories only for short runs (ui.sim_runner
SERVER_HISTORY_CELLS), so a long run's GPU 95th percentile and loop heat vs capacity must come from
the solver's own minute series and be the same curves."""
from dataclasses import replace

import numpy as np

from planner.solver import simulate
from planner.solver.series import view_series


def test_curves_without_server_histories_equal_those_from_the_histories(demo):
    sc = replace(demo.scenarios[1], horizon_s=6 * 3600.0)
    full = simulate(demo, sc, record=("summary", "minute", "server"))
    lean = simulate(demo, sc, record=("summary", "minute"))
    assert lean.server_temp_c is None or np.size(lean.server_temp_c) == 0
    from_hist = view_series(replace(full, gpu_p95_c=None, loop_heat_kw=None), demo, sc)
    from_solver = view_series(lean, demo, sc)
    assert from_solver["gpu_p95_c"] is not None and from_solver["loop_heat_kw"] is not None
    assert np.array_equal(from_solver["gpu_p95_c"], from_hist["gpu_p95_c"])
    # the solver's loop heat is float32 (measured 9.4e-7 relative, capacity through it 5.3e-7): ~2x
    assert np.allclose(from_solver["loop_heat_kw"], from_hist["loop_heat_kw"], rtol=2e-6, atol=0.0)
    assert np.allclose(from_solver["loop_capacity_kw"], from_hist["loop_capacity_kw"], rtol=1.2e-6, atol=0.0)
    assert from_solver["loop_heat_kw"].max() > 100.0  # the hot day's loops carry real heat


def test_no_series_and_no_histories_leave_the_curves_out(demo):
    sc = replace(demo.scenarios[1], horizon_s=3600.0)
    lean = simulate(demo, sc, record=("summary", "minute"))
    view = view_series(replace(lean, gpu_p95_c=None, loop_heat_kw=None), demo, sc)
    assert view["gpu_p95_c"] is None and view["loop_heat_kw"] is None and view["loop_capacity_kw"] is None
    assert view["wet_bulb_c"] is not None and view["price_usd_per_kwh"] is not None
