"""The base-step ripple of the hottest servers under adaptive steps.

The model's load is the step mean on the base grid (``step_s``, 10 s by default): a training job's
iterations (6 s, :mod:`.loads`) alias on that grid, so a server under training sees a 10 s-to-10 s
ripple of its load (the demo's GB200 NVL72: step means 0.916 / 0.868 / 0.856 around 0.88), and its
die — 0.6 s behind its power, the plate 14 s — follows it: ±0.7 K. The fixed-step run records the
peaks of that ripple; an adaptive step of whole iterations sees the mean only, and the first base
step after a long stretch starts from the mean state instead of the ripple's periodic state
(+0.135 K above the fixed run's peak on the demo's July days after the scheduler's placement fix).
The step-size control cannot see this: it measures the loops, and the servers' response to the
step-mean load is exact. So the error is not in the step but in what the long step stands for.

Here, for the servers whose die is near the run's maximum so far (where the reported maximum GPU
temperature is decided), the deviation ``δ = X_base − X_step`` of the die / plate pair between the
base-grid path and the kernel's path is carried as its own state: through a long step with a
training job on the server, the pair is sub-stepped on the base grid with the base steps' own load
means (full-clock propagator of level 0, the coolant held as the step holds it) from ``X + δ``;
elsewhere ``δ`` decays with the step's propagator. The recorded die temperature of those servers is
``X + δ`` (the sub-steps' peak within a long step). Linear superposition at full clock makes this
exact for the base grid; ``δ`` carries no energy (a zero-mean ripple), so the energy balance is
untouched. Servers near slowdown take base steps while they train anyway (:mod:`.integrate`).
"""
from __future__ import annotations

import math

from .jit import njit
from .workload import cumulative_1, training_running

#: Servers whose die is within this of the run's hottest recorded die carry the ripple [K]: the
#: ripple's half-height on the demo's hottest servers is ~0.8 K, and a server that starts to carry it
#: starts from the mean state (its first peak may overshoot by ~0.15 K), so it must start well below
#: the maximum it could set
TRACK_MARGIN_K = 3.0


@njit(refcount=False)
def servers_ripple(J, T, L, lv, f, s, rip, cum, t0, dt, floor, base, peak, end):
    """Advance the ripple ``rip`` [2 × n] [K] of the step ``[t0, t0 + f·dt)`` (level ``lv``) just
    taken by :func:`.groupstep.servers_step_groups` (``s.X`` at its end, ``s.dX`` its change, ``s.tcl``
    / ``s.r`` the coolant it held), for the servers whose recorded temperature ``base`` [°C] (the hottest
    GPU, die + offset) plus the ripple is above ``floor`` [°C]; others drop it. ``peak`` [n]: each
    server's hottest GPU over the step as the base grid sees it (``base`` + the die's deviation), ``end``
    [n] at the step's end [°C]; ``cum``:
    scratch, one entry per server-job pair. Returns the hottest of ``peak``."""
    n = T.p_idle.size
    F1b, F2b = L.F1[0], L.F2[0]
    F1, F2 = L.F1[lv], L.F2[lv]
    t1 = t0 + f * dt
    hottest = -math.inf
    for i in range(n):
        xd, xp = s.X[0, i], s.X[1, i]
        dd, dp = rip[0, i], rip[1, i]
        b = base[i]
        if b + dd <= floor:
            rip[0, i] = 0.0
            rip[1, i] = 0.0
            peak[i] = b
            end[i] = b
            if b > hottest:
                hottest = b
            continue
        q0, q1 = J.indptr[i], J.indptr[i + 1]
        moving = False
        if f > 1:
            for q in range(q0, q1):
                if training_running(J, J.indices[q], t0, t1):
                    moving = True
                    break
        if not moving:  # the same load on both paths: the deviation decays with the step
            rip[0, i] = dd + F1[0, i] * dd + F2[0, i] * dp
            rip[1, i] = dp + F1[1, i] * dp + F2[1, i] * dd
            pk = xd + rip[0, i]
        else:  # the base grid through the step, from the step's start plus the deviation
            c = s.tcl[i] + s.r[i]
            zd = xd - s.dX[0, i] + dd
            zp = xp - s.dX[1, i] + dp
            r_th, r_p = T.r_die[i] + T.r_plate[i], T.r_plate[i]
            for q in range(q0, q1):
                cum[q] = cumulative_1(J, J.indices[q], t0)
            pk = -math.inf
            for k in range(f):
                tk = t0 + (k + 1) * dt
                u = 0.0
                for q in range(q0, q1):
                    c1 = cumulative_1(J, J.indices[q], tk)
                    u += J.data[q] * (c1 - cum[q]) / dt
                    cum[q] = c1
                u = 0.0 if u < 0.0 else (1.0 if u > 1.0 else u)
                p = T.p_idle[i] + T.p_dyn[i] * u
                yd = zd - c - r_th * p
                yp = zp - c - r_p * p
                zd, zp = zd + F1b[0, i] * yd + F2b[0, i] * yp, zp + F1b[1, i] * yp + F2b[1, i] * yd
                if zd > pk:
                    pk = zd
            rip[0, i] = zd - xd
            rip[1, i] = zp - xp
        pk += b - xd  # the die's deviation on the recorded temperature
        peak[i] = pk
        end[i] = b + rip[0, i]
        if pk > hottest:
            hottest = pk
    return hottest
