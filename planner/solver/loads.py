"""Load curves: demanded GPU utilisation u(t) of every server from the job list.

Jobs are placed on GPUs first-fit in start order (a job waits until enough GPUs are free); each
job has one utilisation curve shared by all its GPUs, because data-parallel training steps in
lock-step. A server's demand is the GPU-weighted sum of the jobs on it:
``u_server(t) = Σ_j (gpus of j on server / server gpus) · u_j(t)``, kept as a sparse matrix so a
step costs one sparse product.

Training jobs are not a flat line (structure after Meta's Llama 3 report, Dubey et al. 2024, §3.3.4,
which describes data-centre power swings from synchronised compute/communication phases and
checkpoints; the numbers below are *estimates*):

* a start-up ramp (data loading, compilation) of ``RAMP_S``;
* iterations of ``ITERATION_S``: a compute burst at u_hi for ``COMPUTE_FRACTION`` of the period,
  then collective communication at ``COMM_LEVEL``·u_hi;
* a checkpoint every ``CHECKPOINT_EVERY_S`` during which GPUs idle at ``CHECKPOINT_LEVEL`` for
  ``CHECKPOINT_S``.

u_hi is chosen so the mean over iterations equals the job's ``utilization``. Curves are returned as
exact averages over each integrator step, so a coarse step keeps the right energy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..plan import Job
from .errors import SolverInputError

RAMP_S = 120.0  #: start-up ramp [s] *estimate*
ITERATION_S = 6.0  #: training iteration period [s] *estimate* (large-model steps take seconds)
COMPUTE_FRACTION = 0.8  #: share of an iteration spent computing [-] *estimate*
COMM_LEVEL = 0.4  #: utilisation during communication relative to compute [-] *estimate*
CHECKPOINT_EVERY_S = 1800.0  #: checkpoint interval [s] *estimate*
CHECKPOINT_S = 90.0  #: checkpoint stall [s] *estimate*
CHECKPOINT_LEVEL = 0.1  #: utilisation while checkpointing [-] *estimate*
TRAINING_KINDS = ("training",)


@dataclass
class Placement:
    """Where and when jobs run.

    start_s, end_s : array  Job start / end from scenario start [s] (end = start + duration)
    matrix : scipy.sparse.csr_matrix  [servers × jobs] GPU share of each job on each server [-]
    jobs : list[Job]
    unplaced : list[str]  Names of jobs that never fit in the horizon
    """

    start_s: np.ndarray
    end_s: np.ndarray
    matrix: sparse.csr_matrix
    jobs: list
    unplaced: list


def validate_job(job: Job) -> None:
    """Raise :class:`SolverInputError` for a job with impossible numbers."""
    def bad(field, why):
        raise SolverInputError(f"job {job.name!r}: {field} {why}")
    for field in ("utilization", "duration_s", "release_s"):
        v = getattr(job, field)
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            bad(field, f"must be a finite number, got {v!r}")
    if job.start_s is not None and not math.isfinite(job.start_s):
        bad("start_s", f"must be a finite number, got {job.start_s!r}")
    if not 0.0 <= job.utilization <= 1.0:
        bad("utilization", f"must be in [0, 1], got {job.utilization}")
    if job.duration_s <= 0:
        bad("duration_s", f"must be > 0 s, got {job.duration_s}")
    if job.gpus <= 0:
        bad("gpus", f"must be ≥ 1, got {job.gpus}")


def place_jobs(jobs: list[Job], server_gpus: np.ndarray, horizon_s: float) -> Placement:
    """First-fit placement of jobs on GPUs, in order of requested start.

    jobs : list[Job]  Jobs; ``start_s`` (else ``release_s``) is the earliest start [s]
    server_gpus : array  GPUs per server [-]
    horizon_s : float  Simulated time [s]; jobs that cannot start before it stay unplaced
    """
    for j in jobs:
        validate_job(j)
    n = len(server_gpus)
    total = int(np.sum(server_gpus))
    order = sorted(range(len(jobs)), key=lambda k: (jobs[k].start_s if jobs[k].start_s is not None
                                                    else jobs[k].release_s, k))
    free_at = np.zeros(n)  # time each server's GPUs are free again (whole-server granularity per job)
    used = np.zeros(n)  # GPUs in use at the current candidate time
    busy: list[tuple[float, np.ndarray, np.ndarray]] = []  # (end, servers, gpus taken)
    start = np.full(len(jobs), np.nan)
    rows, cols, vals = [], [], []
    unplaced = []
    for k in order:
        job = jobs[k]
        if job.gpus > total:
            raise SolverInputError(f"job {job.name!r}: asks for {job.gpus} GPUs, the plan has {total}")
        t = job.start_s if job.start_s is not None else job.release_s
        while True:
            # release everything finished by t
            still = []
            for end, srv, g in busy:
                if end <= t:
                    used[srv] -= g
                else:
                    still.append((end, srv, g))
            busy = still
            free = server_gpus - used
            if free.sum() >= job.gpus:
                break
            t = min(end for end, _, _ in busy)  # wait for the next job to finish
        if t >= horizon_s:
            unplaced.append(job.name)
            continue
        need = job.gpus
        srv_list, g_list = [], []
        for i in np.nonzero(free > 0)[0]:
            g = min(free[i], need)
            srv_list.append(i)
            g_list.append(g)
            need -= g
            if need <= 0:
                break
        srv = np.array(srv_list, dtype=int)
        g = np.array(g_list, dtype=float)
        used[srv] += g
        busy.append((t + job.duration_s, srv, g))
        start[k] = t
        rows.extend(srv.tolist())
        cols.extend([k] * len(srv))
        vals.extend((g / server_gpus[srv]).tolist())
    del free_at
    m = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(jobs)))
    return Placement(start_s=start, end_s=start + np.array([j.duration_s for j in jobs]), matrix=m,
                     jobs=list(jobs), unplaced=unplaced)


def _square_wave_integral(t, period, duty, hi, lo):
    """∫₀ᵗ of a wave that is ``hi`` for the first ``duty`` of each period, else ``lo`` (t ≥ 0)."""
    n = np.floor(t / period)
    r = t - n * period
    on = duty * period
    return n * (on * hi + (period - on) * lo) + np.minimum(r, on) * hi + np.maximum(r - on, 0.0) * lo


def _ramp_integral(t, ramp):
    """∫₀ᵗ of min(τ/ramp, 1) dτ for t ≥ 0."""
    if ramp <= 0:
        return t
    return np.where(t < ramp, 0.5 * t * t / ramp, t - 0.5 * ramp)


def training_utilization_integral(t, utilization, ramp_s=RAMP_S, iteration_s=ITERATION_S,
                                  compute_fraction=COMPUTE_FRACTION, comm_level=COMM_LEVEL,
                                  checkpoint_every_s=CHECKPOINT_EVERY_S, checkpoint_s=CHECKPOINT_S,
                                  checkpoint_level=CHECKPOINT_LEVEL):
    """∫₀ᵗ u(τ) dτ of a training job's utilisation, t from the job start [s] (t ≥ 0).

    u(τ) = ramp(τ) · [iteration wave(τ), or ``checkpoint_level`` during checkpoints]; during the
    first ``ramp_s`` the wave's mean is scaled by τ/ramp (the ramp is much shorter than a
    checkpoint interval). ``utilization`` may be an array broadcasting against ``t`` (many jobs).
    """
    t = np.asarray(t, dtype=float)
    utilization = np.asarray(utilization, dtype=float)
    mean_wave = compute_fraction + (1.0 - compute_fraction) * comm_level
    u_hi = np.minimum(utilization / mean_wave, 1.0)
    u_lo = u_hi * comm_level
    # checkpoint stalls occupy the end of every checkpoint interval
    period = checkpoint_every_s
    work = period - checkpoint_s
    n = np.floor(t / period)
    r = t - n * period
    per_period = _square_wave_integral(work, iteration_s, compute_fraction, u_hi, u_lo) \
        + checkpoint_s * checkpoint_level
    body = n * per_period + _square_wave_integral(np.minimum(r, work), iteration_s, compute_fraction,
                                                  u_hi, u_lo) \
        + np.maximum(r - work, 0.0) * checkpoint_level
    if ramp_s > 0:
        mean_u = u_hi * mean_wave
        tr = np.minimum(t, ramp_s)
        body = body - mean_u * (tr - _ramp_integral(tr, ramp_s))
    return body


def job_utilization_step_means(placement: Placement, t0: np.ndarray, dt: float) -> np.ndarray:
    """Mean utilisation of every job over each step ``[t0, t0 + dt)`` [-], shape [jobs × steps].

    Vectorised over jobs and steps (a week of a 10,000-server hall has thousands of jobs).

    t0 : array  Step start times from scenario start [s]
    dt : float  Step [s]
    """
    jobs = placement.jobs
    out = np.zeros((len(jobs), len(t0)))
    if not jobs:
        return out
    t0 = np.asarray(t0, float)
    start = placement.start_s
    placed = np.isfinite(start)
    dur = np.array([j.duration_s for j in jobs])
    util = np.array([j.utilization for j in jobs])
    training = np.array([j.kind in TRAINING_KINDS for j in jobs]) & placed
    flat = ~training & placed
    # only jobs running at some point of this block matter
    live = placed & (start < t0[-1] + dt) & (start + dur > t0[0])
    for rows, fn in ((np.flatnonzero(training & live), "training"), (np.flatnonzero(flat & live), "flat")):
        if rows.size == 0:
            continue
        s0 = start[rows, None]
        d = dur[rows, None]
        lo = np.clip(t0[None, :] - s0, 0.0, d)
        hi = np.clip(t0[None, :] + dt - s0, 0.0, d)
        if fn == "training":
            u = util[rows, None]
            out[rows] = (training_utilization_integral(hi, u) - training_utilization_integral(lo, u)) / dt
        else:
            out[rows] = util[rows, None] * (hi - lo) / dt
    return out
