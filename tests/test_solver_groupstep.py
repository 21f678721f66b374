"""The kernel's server step with issue 11's GPU groups (planner/solver/groupstep.py) against the
numpy ServerBank it replaces, step by step through throttling, the hardware floor and shutdowns."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from planner.demo import build_demo_plan
from planner.solver.groupstep import close_minute, group_state, group_table, servers_step_groups
from planner.solver.model import compile_model
from planner.solver.serverstep import ServerBank, server_chunks, server_state, server_table, servers_predict_all, step_levels


@pytest.mark.parametrize("dt, spike", [(10.0, 25.0), (60.0, 25.0), (10.0, 60.0)])
def test_group_step_equals_the_numpy_server_bank(dt, spike):
    demo = build_demo_plan()
    sc = replace(demo.scenarios[1], horizon_s=86400.0)
    model = compile_model(demo, sc, sc.horizon_s)
    n, m = model.n, model.m
    rng = np.random.default_rng(7)
    td = 60.0 + 30.0 * rng.random(n)
    tp = td - 15.0
    bank = ServerBank(model, dt, td, tp)
    T = server_table(model)
    L = step_levels(model, T, dt, [1])
    S = server_state(model, td, tp)
    GT, GS = group_table(model), group_state(model, td)
    K = server_chunks(T)  # the demo pod: one chunk
    from typing import NamedTuple

    class Jobs(NamedTuple):  # one job per server, share 1: the step means are ``u`` itself
        indptr: np.ndarray
        indices: np.ndarray
        data: np.ndarray
    J = Jobs(np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64), np.ones(n))
    from planner.solver.coupling import recirc_table
    D = recirc_table(model)
    D.rack_p[:] = 0.0
    D.delta[:] = 0.0
    worst = np.zeros(4)
    for k in range(400):
        u = np.clip(0.6 + 0.5 * rng.random(n), 0.0, 1.0)
        tl = model.loop_setpoint + rng.normal(0.0, 4.0, m) + (6.0 if 100 < k < 250 else 0.0) + (spike if 300 < k < 330 else 0.0)
        # numpy bank
        p_a = model.p_idle + model.p_dyn * u
        chunk = SimpleNamespace(u=u[None, :], e=(p_a * dt)[None, :], u_const=False,
                                rp2=np.stack([p_a * model.r_th, p_a * model.r_plate])[None, :, :])
        bank.predict(np.zeros(n), chunk, 0)
        from planner.solver.coupling import Coupling
        cpl = Coupling(model)
        e_np, dX_np, tmax_np, hot_np, thr_np = bank.step(cpl.loop_part(tl), np.zeros(n), chunk, 0)
        # kernel
        servers_predict_all(T, J, L, 0, S, D, u, dt, tl, False, np.zeros(m), np.zeros(m), K)
        tmax_k, hot_k, thr_k, _ = servers_step_groups(T, GT, GS, L, 0, S, tl, dt, np.zeros(0), None, K, D)
        if k % 6 == 5:
            bank.close_minute(1)
            close_minute(GT, GS, T, 1)
        worst[0] = max(worst[0], np.abs(S.X - bank.X).max())
        worst[1] = max(worst[1], np.abs(S.energy - e_np).max() / (p_a.max() * dt))
        worst[2] = max(worst[2], abs(tmax_k - tmax_np))
        worst[3] = max(worst[3], abs(thr_k - thr_np))
        assert hot_k == hot_np
    assert worst[0] < 1e-9 and worst[1] < 1e-12 and worst[2] < 1e-9 and worst[3] < 1e-6, worst
    st = GS.stats
    assert st[1] == pytest.approx(bank.thr_gpu_s, rel=1e-12) and st[2] == pytest.approx(bank.lost_gpu_s, rel=1e-9)
    assert st[0] == bank.events and st[5] == bank.shutdowns and st[3] == pytest.approx(bank.shutdown_gpu_s)
    assert bank.thr_gpu_s > 0 and bank.events > 0  # (+25 K holds GPUs at the hardware floor; no shutdown)
    if spike > 50:  # coolant near slowdown: groups shut down, restart once cooled
        assert bank.shutdowns > 0 and bank.shutdown_gpu_s > 0
        np.testing.assert_array_equal(GS.down, bank.down)
    print(worst, bank.events, bank.shutdowns, bank.thr_gpu_s)
