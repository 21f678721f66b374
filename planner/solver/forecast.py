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
