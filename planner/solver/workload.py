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
from typing import NamedTuple

import numpy as np

from . import loads as _loads
from .jit import njit
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


# ----------------------------------------------------------------------------- compiled form
#
# The stepping kernel (:mod:`.integrate`) evaluates the same cumulative utilisation per step, job by
# job, with the training curve's closed form (:func:`.loads.training_utilization_integral`, same
# arithmetic, scalar).

_RAMP, _ITER, _CF, _COMM = _loads.RAMP_S, _loads.ITERATION_S, _loads.COMPUTE_FRACTION, _loads.COMM_LEVEL
_CK_EVERY, _CK_S, _CK_LEVEL = _loads.CHECKPOINT_EVERY_S, _loads.CHECKPOINT_S, _loads.CHECKPOINT_LEVEL


class JobTable(NamedTuple):
    """The placed job list as arrays for the kernel (jobs in plan order; unplaced ones never run).

    start, dur [s]; util [-]; training (bool); u_full: ``U_j`` at the job's end [s]; u_period:
    ``U_j(P)`` [s]; period: ``[P]`` [s] (0: no repetition); indptr, indices, data: the servers ×
    jobs GPU-share matrix (CSR)."""

    start: np.ndarray
    dur: np.ndarray
    util: np.ndarray
    training: np.ndarray
    u_full: np.ndarray
    u_period: np.ndarray
    period: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray


def job_table(wl: Workload) -> JobTable:
    """:class:`JobTable` of a :class:`Workload`."""
    nj = wl.n_jobs
    start = np.full(nj, np.inf)
    dur = np.ones(nj)
    util = np.zeros(nj)
    training = np.zeros(nj, np.bool_)
    u_full = np.zeros(nj)
    start[wl.idx], dur[wl.idx], util[wl.idx], training[wl.idx], u_full[wl.idx] = (
        wl.start, wl.dur, wl.util, wl.training, wl.u_full)
    u_period = wl.u_period if wl.u_period is not None else np.zeros(nj)
    m = wl.matrix
    return JobTable(start, dur, util, training, u_full, np.asarray(u_period, float),
                    np.array([wl.period or 0.0]), m.indptr.astype(np.int64), m.indices.astype(np.int64),
                    m.data.astype(float))


@njit(refcount=False)
def _square_wave_integral_1(t, period, duty, hi, lo):
    n = math.floor(t / period)
    r = t - n * period
    on = duty * period
    return n * (on * hi + (period - on) * lo) + min(r, on) * hi + max(r - on, 0.0) * lo


@njit(refcount=False)
def training_integral_1(t, utilization):
    """:func:`.loads.training_utilization_integral` for one job at one time ``t`` ≥ 0 [s]."""
    mean_wave = _CF + (1.0 - _CF) * _COMM
    u_hi = min(utilization / mean_wave, 1.0)
    u_lo = u_hi * _COMM
    work = _CK_EVERY - _CK_S
    n = math.floor(t / _CK_EVERY)
    r = t - n * _CK_EVERY
    per_period = _square_wave_integral_1(work, _ITER, _CF, u_hi, u_lo) + _CK_S * _CK_LEVEL
    body = (n * per_period + _square_wave_integral_1(min(r, work), _ITER, _CF, u_hi, u_lo)
            + max(r - work, 0.0) * _CK_LEVEL)
    if _RAMP > 0:
        tr = min(t, _RAMP)
        ramp_int = 0.5 * tr * tr / _RAMP if tr < _RAMP else tr - 0.5 * _RAMP
        body = body - u_hi * mean_wave * (tr - ramp_int)
    return body


@njit(refcount=False)
def _cumulative_once_1(J, j, t):
    x = t - J.start[j]
    if x <= 0.0:
        return 0.0
    if x >= J.dur[j]:
        return J.u_full[j]
    if J.training[j]:
        return training_integral_1(x, J.util[j])
    return J.util[j] * x


@njit(refcount=False)
def cumulative_1(J, j, t):
    """``U_j(t)`` [s] of job ``j`` with the list's repetition (:meth:`Workload.cumulative`)."""
    p = J.period[0]
    if p <= 0.0:
        return _cumulative_once_1(J, j, t)
    k = math.floor(t / p)
    return k * J.u_period[j] + _cumulative_once_1(J, j, t - k * p)


@njit(refcount=False)
def cumulative_all(J, t, out):
    """``U_j(t)`` for every job into ``out`` [s] (:func:`cumulative_1`, the period's count taken once)."""
    p = J.period[0]
    if p <= 0.0:
        for j in range(out.size):
            out[j] = _cumulative_once_1(J, j, t)
        return
    k = math.floor(t / p)
    tr = t - k * p
    for j in range(out.size):
        out[j] = k * J.u_period[j] + _cumulative_once_1(J, j, tr)


@njit(refcount=False)
def server_means_into(J, c0, c1, h, uj, u):
    """Step-mean utilisation of every server ``u`` [-] from the jobs' cumulative utilisation at the
    step's start ``c0`` and end ``c1`` [s] over ``h`` [s] (``uj``: the jobs' means, scratch)."""
    for j in range(uj.size):
        uj[j] = (c1[j] - c0[j]) / h
    for s in range(u.size):
        acc = 0.0
        for q in range(J.indptr[s], J.indptr[s + 1]):
            acc += J.data[q] * uj[J.indices[q]]
        u[s] = 0.0 if acc < 0.0 else (1.0 if acc > 1.0 else acc)


@njit(refcount=False)
def training_running(J, j, t0, t1):
    """Whether training job ``j`` runs at some time in ``[t0, t1)`` [s] (:meth:`Workload.bursty_servers`)."""
    if not J.training[j]:
        return False
    a, b = t0, t1
    p = J.period[0]
    if p > 0.0:
        k = math.floor(t0 / p)
        a, b = t0 - k * p, t1 - k * p
    if J.start[j] < b and J.start[j] + J.dur[j] > a:
        return True
    return p > 0.0 and b > p and J.start[j] < b - p
