"""What a predictive controller knows about the coming load: a forecast of compute intensity with error.

The controller does not see the exact job schedule. It sees each *burst* — a job's start and every
resume after a checkpoint stall (``loads.CHECKPOINT_EVERY_S``) — with its start shifted by a random
offset and its power scaled by a random factor, independently per burst:

* start error ``Δ ~ U(−start_jitter_s, +start_jitter_s)`` (default ±60 s),
* power error ``ε ~ U(−power_error, +power_error)`` (default ±10 %),

uniform, drawn from a seeded generator per job (``numpy.random.default_rng([seed, job])``), so a
study is reproducible and a different seed is a different realisation. A time ``τ`` from the job's
start belongs to the burst ``k = round(τ / checkpoint interval)`` (the burst whose resume is
nearest): the forecast there is ``(1 + ε_k) · u(τ − Δ_k)``, so the stall before a resume and the
resume itself move together. Steady jobs (no checkpoints) are one burst: their start.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .loads import CHECKPOINT_EVERY_S, TRAINING_KINDS, Placement, training_utilization_integral


@dataclass(frozen=True)
class ForecastError:
    """The error model of the predictive controller's forecast (see the module docstring).

    seed : int  Realisation
    start_jitter_s : float  Largest error of a burst's start [s]
    power_error : float  Largest relative error of a burst's power [-]
    """

    seed: int = 0
    start_jitter_s: float = 60.0
    power_error: float = 0.10

    def draws(self, job_index: int, bursts: int) -> tuple[np.ndarray, np.ndarray]:
        """``(Δ [s], ε [-])`` of a job's first ``bursts`` bursts."""
        rng = np.random.default_rng([int(self.seed), int(job_index)])
        return (rng.uniform(-self.start_jitter_s, self.start_jitter_s, bursts),
                rng.uniform(-self.power_error, self.power_error, bursts))


#: The controller that sees the schedule exactly (the previous predictive controller; for tests).
EXACT = ForecastError(start_jitter_s=0.0, power_error=0.0)


def forecast_job_utilization_step_means(placement: Placement, t0, dt: float, error: ForecastError) -> np.ndarray:
    """Forecast mean utilisation of every job over each step ``[t0, t0 + dt)`` [-], shape [jobs × steps]
    (:func:`.loads.job_utilization_step_means` with the burst errors of ``error``)."""
    t0 = np.asarray(t0, float)
    return _forecast_means(placement, t0, t0 + dt, error)


def forecast_job_utilization_means(placement: Placement, t_edges, error: ForecastError) -> np.ndarray:
    """Forecast mean utilisation of every job between consecutive ``t_edges`` [s] (steps of any
    length), shape [jobs × (len(t_edges) − 1)]."""
    t_edges = np.asarray(t_edges, float)
    return _forecast_means(placement, t_edges[:-1], t_edges[1:], error)


def _forecast_means(placement: Placement, t0, t1, error: ForecastError) -> np.ndarray:
    jobs = placement.jobs
    dt = t1 - t0
    out = np.zeros((len(jobs), t0.size))
    for j, job in enumerate(jobs):
        start = placement.start_s[j]
        if not np.isfinite(start):
            continue
        d = job.duration_s
        tau = t0 - start
        if np.all(tau + dt <= -error.start_jitter_s) or np.all(tau >= d + error.start_jitter_s) or not tau.size:
            continue
        training = job.kind in TRAINING_KINDS
        n_b = int(np.ceil(d / CHECKPOINT_EVERY_S)) + 2 if training else 1
        shift, scale = error.draws(j, n_b)
        k = np.clip(np.round(tau / CHECKPOINT_EVERY_S).astype(int), 0, n_b - 1) if training else np.zeros(tau.size, int)
        lo = np.clip(tau - shift[k], 0.0, d)
        hi = np.clip(tau + dt - shift[k], 0.0, d)
        if training:
            mean = (training_utilization_integral(hi, job.utilization)
                    - training_utilization_integral(lo, job.utilization)) / dt
        else:
            mean = job.utilization * (hi - lo) / dt
        out[j] = np.clip(mean * (1.0 + scale[k]), 0.0, 1.0)
    return out


# ----------------------------------------------------------------------------- compiled form
#
# The stepping kernel (:mod:`.integrate`) evaluates the same forecast per step and job:
# :func:`forecast_mean_1` is :func:`_forecast_means` for one job and one step (same arithmetic), the
# burst draws of every job kept as CSR arrays.

import math  # noqa: E402
from typing import NamedTuple  # noqa: E402

from .jit import njit  # noqa: E402
from .workload import training_integral_1  # noqa: E402


class ForecastTable(NamedTuple):
    """The forecast's view of the placed jobs (plan order): ``start`` [s] (inf: unplaced), ``dur``
    [s], ``util`` [-], ``training``; burst draws ``shift`` [s] and ``scale`` [-] of job ``j`` at
    ``ptr[j] … ptr[j + 1]``; ``opt = [start_jitter_s]``."""

    start: np.ndarray
    dur: np.ndarray
    util: np.ndarray
    training: np.ndarray
    ptr: np.ndarray
    shift: np.ndarray
    scale: np.ndarray
    opt: np.ndarray


def forecast_table(placement: Placement, error: ForecastError) -> ForecastTable:
    """:class:`ForecastTable` of the placed jobs with the bursts' errors of ``error``."""
    jobs = placement.jobs
    nj = len(jobs)
    start = np.asarray(placement.start_s, float).copy() if nj else np.zeros(0)
    dur = np.array([j.duration_s for j in jobs], float)
    util = np.array([j.utilization for j in jobs], float)
    training = np.array([j.kind in TRAINING_KINDS for j in jobs], np.bool_)
    ptr = np.zeros(nj + 1, np.int64)
    shifts, scales = [], []
    for j, job in enumerate(jobs):
        n_b = 0
        if np.isfinite(start[j]):
            n_b = int(np.ceil(job.duration_s / CHECKPOINT_EVERY_S)) + 2 if training[j] else 1
            s, e = error.draws(j, n_b)
            shifts.append(s)
            scales.append(e)
        ptr[j + 1] = ptr[j] + n_b
    cat = lambda xs: np.ascontiguousarray(np.concatenate(xs), float) if xs else np.zeros(0)  # noqa: E731
    return ForecastTable(start, dur, util, training, ptr, cat(shifts), cat(scales),
                         np.array([float(error.start_jitter_s)]))


@njit(refcount=False)
def _round_half_even(x):
    r = math.floor(x + 0.5)
    if r - x == 0.5 and r % 2.0 != 0.0:  # a tie: numpy rounds to the even neighbour
        r -= 1.0
    return r


@njit(refcount=False)
def forecast_mean_1(FT, j, t0, t1):
    """Forecast mean utilisation of job ``j`` over ``[t0, t1)`` [s] (:func:`_forecast_means`)."""
    start = FT.start[j]
    if not math.isfinite(start):
        return 0.0
    d = FT.dur[j]
    dt = t1 - t0
    tau = t0 - start
    jit = FT.opt[0]
    if tau + dt <= -jit or tau >= d + jit:
        return 0.0
    p0 = FT.ptr[j]
    k = 0
    if FT.training[j]:
        n_b = FT.ptr[j + 1] - p0
        kf = _round_half_even(tau / CHECKPOINT_EVERY_S)
        k = 0 if kf < 0.0 else (n_b - 1 if kf > n_b - 1 else int(kf))
    sh = FT.shift[p0 + k]
    lo = min(max(tau - sh, 0.0), d)
    hi = min(max(tau + dt - sh, 0.0), d)
    if FT.training[j]:
        mean = (training_integral_1(hi, FT.util[j]) - training_integral_1(lo, FT.util[j])) / dt
    else:
        mean = FT.util[j] * (hi - lo) / dt
    x = mean * (1.0 + FT.scale[p0 + k])
    return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)


@njit(refcount=False)
def forecast_rise(FT, w, lookahead, t0, t1, now, fc):
    """Each loop's foreseen rise of IT heat for the step ``[t0, t1)`` [s], one loop lag
    ``lookahead`` [s] ahead: ``fc[l] = max(w[l] · (u_f(t + θ_l) − u_f(t)), 0)`` [W] with the forecast
    job means ``u_f`` and ``w`` [m × jobs] [W] (:class:`.integrate_numpy._Chunk`); ``now``: scratch
    [jobs]."""
    nj = now.size
    for j in range(nj):
        now[j] = forecast_mean_1(FT, j, t0, t1)
    for l in range(fc.size):
        la = lookahead[l]
        a, b = t0 + la, t1 + la
        acc = 0.0
        for j in range(nj):
            wj = w[l, j]
            if wj != 0.0:
                acc += wj * (forecast_mean_1(FT, j, a, b) - now[j])
        fc[l] = acc if acc > 0.0 else 0.0
