"""The demanded utilisation of every server over any step, from the placed job list, and the job
list repeated with its own period when the horizon is longer than the list.

Step means are exact: each job's cumulative utilisation ``U_j(t) = ∫₀ᵗ u_j`` (training curves from
:func:`.loads.training_utilization_integral`, flat jobs ``u·t``) is differenced at the step ends, so
any step length — fixed or adaptive — gets the right energy. Repetition shifts the whole placed
list by multiples of its period ``P``: ``U(t) = ⌊t/P⌋·U(P) + U(t mod P)``.

The period is the span from the first release (or fixed start) to the last deadline or placed end,
rounded up to whole weeks (a week of jobs makes a working year; the issue's rule).
"""
from __future__ import annotations

import math

import numpy as np

from .loads import TRAINING_KINDS, Placement, training_utilization_integral

WEEK_S = 7 * 86400.0


def repeat_period(placement: Placement) -> float | None:
    """Period [s] of the job list: from its first release (or fixed start) to its last deadline or
    placed end, rounded up to whole weeks; None for an empty list."""
    jobs = placement.jobs
    placed = np.isfinite(placement.start_s)
    if not jobs or not placed.any():
        return None
    first = min(j.start_s if j.start_s is not None else j.release_s for j in jobs)
    last = float(np.max(placement.end_s[placed]))
    deadlines = [j.deadline_s for j in jobs if j.deadline_s is not None and math.isfinite(j.deadline_s)]
    if deadlines:
        last = max(last, max(deadlines))
    span = max(last - min(first, 0.0), 1.0)
    return math.ceil(span / WEEK_S - 1e-9) * WEEK_S


class Workload:
    """Per-job cumulative utilisation with optional periodic repetition.

    placement : Placement  Placed jobs (``matrix`` [servers × jobs] GPU shares)
    period_s : float | None  Repeat the list every ``period_s`` [s]; None: run it once
    """

    def __init__(self, placement: Placement, period_s: float | None = None):
        self.placement = placement
        self.matrix = placement.matrix.tocsr()
        self.matrix_t = self.matrix.T.tocsr()
        self.period = period_s
        jobs = placement.jobs
        start = np.asarray(placement.start_s, float)
        placed = np.isfinite(start)
        self.idx = np.flatnonzero(placed)
        self.start = start[self.idx]
        self.dur = np.array([j.duration_s for j in jobs], float)[self.idx]
        self.util = np.array([j.utilization for j in jobs], float)[self.idx]
        self.training = np.array([j.kind in TRAINING_KINDS for j in jobs], bool)[self.idx]
        self.n_jobs = len(jobs)
        self.u_full = np.zeros(self.idx.size)  # U_j at the job's end [s]
        if self.idx.size:
            tr = self.training
            self.u_full[tr] = training_utilization_integral(self.dur[tr], self.util[tr])
            self.u_full[~tr] = self.util[~tr] * self.dur[~tr]
        self._last_t, self._last_c = None, None
        self.u_period = self._cumulative_once(np.array([period_s]))[:, 0] if period_s else None

    def _cumulative_once(self, t):
        """``U_j(t)`` [s] of one pass of the list (no repetition), shape [jobs × len(t)]."""
        out = np.zeros((self.n_jobs, t.size))
        if self.idx.size == 0:
            return out
        x = np.clip(t[None, :] - self.start[:, None], 0.0, self.dur[:, None])
        vals = np.where(x >= self.dur[:, None], self.u_full[:, None], 0.0)
        running = (x > 0.0) & (x < self.dur[:, None])  # only running jobs need their curve
        rows = np.flatnonzero(running.any(axis=1))
        if rows.size:
            tr = self.training[rows]
            if tr.any():
                r = rows[tr]
                vals[r] = np.where(running[r], training_utilization_integral(x[r], self.util[r, None]), vals[r])
            if (~tr).any():
                r = rows[~tr]
                vals[r] = np.where(running[r], self.util[r, None] * x[r], vals[r])
        out[self.idx] = vals
        return out

    def cumulative(self, t) -> np.ndarray:
        """``U_j(t)`` [s] at times ``t`` [s] from the start, shape [jobs × len(t)]."""
        t = np.atleast_1d(np.asarray(t, float))
        if self.period is None:
            return self._cumulative_once(t)
        k = np.floor(t / self.period)
        return k[None, :] * self.u_period[:, None] + self._cumulative_once(t - k * self.period)

    def job_means(self, t_edges) -> np.ndarray:
        """Mean utilisation of every job over each interval between consecutive ``t_edges`` [s],
        shape [jobs × (len(t_edges) − 1)]."""
        t_edges = np.asarray(t_edges, float)
        c = self.cumulative(t_edges)
        return np.diff(c, axis=1) / np.diff(t_edges)[None, :]

    def bursty_servers(self, t0: float, t1: float) -> np.ndarray:
        """Servers with a training job (iterations, checkpoints: a load that moves within a step)
        running at some time in ``[t0, t1)`` [s], as a bool array."""
        if self.idx.size == 0 or not self.training.any():
            return np.zeros(self.matrix.shape[0], bool)
        a, b = t0, t1
        if self.period:
            k = np.floor(t0 / self.period)
            a, b = t0 - k * self.period, t1 - k * self.period
        live = np.zeros(self.n_jobs)
        run = self.training & (self.start < b) & (self.start + self.dur > a)
        if self.period and b > self.period:  # the step wraps into the next copy
            run |= self.training & (self.start < b - self.period)
        live[self.idx[run]] = 1.0
        return (self.matrix @ live) > 0.0

    def use_grid(self, dt: float, block: int = 2048) -> None:
        """Steps start and end on multiples of ``dt`` [s]: evaluate ``U`` a block of grid points at a
        time (one vectorised call per block instead of one per step)."""
        self.grid_dt, self.grid_block = dt, block
        self._blk0, self._blk = None, None

    def _at(self, t: float) -> np.ndarray:
        dt = getattr(self, "grid_dt", None)
        if dt is None:
            return self.cumulative([t])[:, 0]
        k = int(round(t / dt))
        if self._blk0 is None or not (self._blk0 <= k < self._blk0 + self._blk.shape[1]):
            self._blk0 = k
            self._blk = self.cumulative((k + np.arange(self.grid_block)) * dt)
        return self._blk[:, k - self._blk0]

    def server_means_step(self, t0: float, t1: float) -> np.ndarray:
        """:meth:`server_means` of one step ``[t0, t1)`` [s], shape [1 × servers]; the cumulative
        utilisation at the step start is reused from the step before."""
        c0 = self._last_c if self._last_t == t0 else self._at(t0)
        c1 = self._at(t1)
        self._last_t, self._last_c = t1, c1
        uj = (c1 - c0) / (t1 - t0)
        return np.clip(self.matrix @ uj, 0.0, 1.0)[None, :]

    def server_means(self, t_edges) -> np.ndarray:
        """Mean demanded utilisation of every server over each interval, shape [intervals × servers],
        clipped to [0, 1]."""
        uj = self.job_means(t_edges)
        return np.ascontiguousarray(np.clip((self.matrix @ uj).T, 0.0, 1.0))
