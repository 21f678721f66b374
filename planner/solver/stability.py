"""Step limit of an *explicit* server ↔ loop coupling with sampled loop controllers.

One concept: how long a step an explicit scheme (loop temperature held while servers step,
controller command held over the step, coil to the parent loop held) may take before these
feedbacks make it oscillate. The integrator before issue 12 was such a scheme and
:func:`planner.solver.simulate` refused longer steps; the implicit coupling of :mod:`.integrate`
has no such limit, and tests/test_solver_verification.py runs far beyond this one to show it.
"""
from __future__ import annotations

import numpy as np

from .model import Model


def loop_conductance(model: Model) -> np.ndarray:
    """Σ 1/R_p [W/K] of the server plate nodes each loop touches (for the explicit-coupling limit;
    the loop sees a server's plate through R_p, the stiffer of the two-node resistances)."""
    share = model.loop_server_share
    return np.asarray(share @ (1.0 / model.r_plate)).ravel()


def max_stable_step(model: Model) -> float:
    """Largest step [s] for which the explicit server↔loop coupling and the sampled controllers stay
    stable and accurate.

    Per loop, two feedbacks act through values held over a step: the servers (a loop of heat
    capacity C coupled to server plates of total conductance G relaxes with ``τ_c = C / G``; holding
    the loop temperature over a step is stable for dt < 2 τ_c) and the controller (``K_c = C / (2θ)``,
    θ = τ_actuator + L: the sampled proportional loop is well damped for ``K_c·dt/C = dt/(2θ) ≤ 1``).
    They add: a loop at both limits at once diverges (cost_plan's hall air at 60 s: 60/61 + 60/60,
    a ~240 K limit cycle; onset between 36 and 40 s, i.e. a sum of ~1.2). So per loop
    ``dt·(1/τ_c + 1/(2θ)) ≤ 1`` — which also keeps dt ≤ τ_c for accuracy. A coil couples a loop to
    its parent the same way: each child's ``ε·C_min / C_parent`` joins the parent's sum. Checked in
    tests/test_solver_verification.py: past the limit the loop temperatures oscillate.
    """
    rate = loop_conductance(model) / model.loop_c  # 1/τ_c [1/s]
    rate = rate + 1.0 / (2.0 * (model.loop_tau + model.loop_dead))  # sampled controller
    # a coil couples a loop to its parent explicitly too: the parent relaxes with C_parent / (ε·C_min)
    # through each child's coil, one more held feedback on the parent
    par = model.loop_parent
    kids = (par >= 0) & (model.loop_coil_ec > 0)
    np.add.at(rate, par[kids], model.loop_coil_ec[kids] / model.loop_c[par[kids]])
    return float(1.0 / rate.max())
