"""Load curves: demanded GPU utilisation u(t) of every server from the job list.

Jobs run where a schedule placed them (``Job.start_s`` with ``Job.placement``: the scheduler's
output, :mod:`planner.schedule`), the others first-fit in start order (a job waits until enough
GPUs are free); each
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
    fixed : array[bool]  Jobs that ran where their ``placement`` put them (the rest first-fit)
    """

    start_s: np.ndarray
    end_s: np.ndarray
    matrix: sparse.csr_matrix
    jobs: list
    unplaced: list
    fixed: np.ndarray = None


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


def _fixed_reservations(jobs: list[Job], fixed: list[int], server_gpus: np.ndarray, server_names) -> tuple:
    """Validate the fixed placements; return (start, end, server, gpus) arrays of every reservation.

    Each pair must name a server of the plan once, with 1 … its GPUs; the pairs must add up to the
    job's GPUs; and no server may run more GPUs than it has at any instant (a sweep over the
    reservations' starts and ends, ends first at equal times since a job ending at t frees its
    GPUs for one starting at t).
    """
    if server_names is None:
        raise SolverInputError("jobs with a fixed placement need the plan's server names")
    idx = {name: i for i, name in enumerate(server_names)}
    fs, fe, fsrv, fg, fjob = [], [], [], [], []
    for k in fixed:
        job = jobs[k]
        seen = set()
        total = 0
        for pair in job.placement:
            try:
                name, g = pair
            except (TypeError, ValueError):
                raise SolverInputError(f"job {job.name!r}: placement entries must be (server, GPUs) pairs, "
                                       f"got {pair!r}") from None
            if name not in idx:
                raise SolverInputError(f"job {job.name!r}: placement names server {name!r}, which is not in the plan")
            if name in seen:
                raise SolverInputError(f"job {job.name!r}: placement names server {name!r} twice")
            seen.add(name)
            i = idx[name]
            if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or not 1 <= g <= server_gpus[i]:
                raise SolverInputError(f"job {job.name!r}: {g!r} GPUs on server {name!r}, which has "
                                       f"{int(server_gpus[i])}")
            total += int(g)
            fs.append(job.start_s)
            fe.append(job.start_s + job.duration_s)
            fsrv.append(i)
            fg.append(int(g))
            fjob.append(k)
        if total != job.gpus:
            raise SolverInputError(f"job {job.name!r}: placement gives {total} GPUs, the job asks for {job.gpus}")
    fs, fe = np.array(fs, float), np.array(fe, float)
    fsrv, fg, fjob = np.array(fsrv, int), np.array(fg, int), np.array(fjob, int)
    # over-subscription sweep: per server, events sorted by time, ends (−) before starts (+)
    order = np.lexsort((np.r_[np.ones(len(fs)), np.zeros(len(fe))], np.r_[fs, fe], np.r_[fsrv, fsrv]))
    srv_ev = np.r_[fsrv, fsrv][order]
    t_ev = np.r_[fs, fe][order]
    delta = np.r_[fg, -fg][order]
    who = np.r_[fjob, fjob][order]
    used = 0
    for e in range(len(order)):
        if e > 0 and srv_ev[e] != srv_ev[e - 1]:
            used = 0
        used += delta[e]
        i = srv_ev[e]
        if used > server_gpus[i]:
            t = t_ev[e]
            on = sorted({jobs[fjob[r]].name for r in np.nonzero((fsrv == i) & (fs <= t) & (fe > t))[0]})
            raise SolverInputError(
                f"job {jobs[who[e]].name!r}: server {server_names[i]!r} would run {int(used)} GPUs at "
                f"{t:g} s, it has {int(server_gpus[i])} (jobs there then: {', '.join(on)})")
    return fs, fe, fsrv, fg


def _reserved(res, t: float, d: float, n: int) -> np.ndarray:
    """Most GPUs the fixed reservations hold on each server at any instant of ``[t, t + d)`` [-]."""
    fs, fe, fsrv, fg = res
    live = (fs < t + d) & (fe > t)
    out = np.zeros(n)
    if not live.any():
        return out
    s, e, srv, g = fs[live], fe[live], fsrv[live], fg[live]
    for b in np.unique(np.r_[t, s[s > t]]):  # usage only rises at a start: check t and each start
        on = (s <= b) & (e > b)
        np.maximum(out, np.bincount(srv[on], weights=g[on], minlength=n), out=out)
    return out


def place_jobs(jobs: list[Job], server_gpus: np.ndarray, horizon_s: float, server_names=None) -> Placement:
    """Place jobs on GPUs: fixed placements where a schedule gave them, first-fit for the rest.

    A job with ``start_s`` *and* a non-empty ``placement`` runs exactly there (validated: the servers
    exist, each count fits its server, the counts add up to the job's GPUs, and no server is
    over-subscribed at any instant; :class:`SolverInputError` names the job otherwise). Every other
    job is placed first-fit in order of requested start (``start_s``, else ``release_s``): strictly
    first come, first served — a job starts at its requested time or, if too few GPUs are free for
    its whole run (fixed reservations included), when enough are, never before a job ahead of it.

    jobs : list[Job]  Jobs
    server_gpus : array  GPUs per server [-]
    horizon_s : float  Simulated time [s]; jobs that cannot start before it stay unplaced
    server_names : list[str] | None  Server names (needed only for fixed placements)
    """
    for j in jobs:
        validate_job(j)
    server_gpus = np.asarray(server_gpus)
    n = len(server_gpus)
    total = int(np.sum(server_gpus))
    for job in jobs:
        if job.gpus > total:
            raise SolverInputError(f"job {job.name!r}: asks for {job.gpus} GPUs, the plan has {total}")
    fixed = [k for k, j in enumerate(jobs) if j.start_s is not None and j.placement]
    is_fixed = np.zeros(len(jobs), dtype=bool)
    is_fixed[fixed] = True
    res = _fixed_reservations(jobs, fixed, server_gpus, server_names) if fixed else None
    start = np.full(len(jobs), np.nan)
    rows, cols, vals = [], [], []
    unplaced = []
    if fixed:
        idx = {name: i for i, name in enumerate(server_names)}
        for k in fixed:
            job = jobs[k]
            if job.start_s >= horizon_s:
                unplaced.append(job.name)
                continue
            start[k] = job.start_s
            for name, g in job.placement:
                i = idx[name]
                rows.append(i)
                cols.append(k)
                vals.append(g / server_gpus[i])
    order = sorted((k for k in range(len(jobs)) if not is_fixed[k]),
                   key=lambda k: (jobs[k].start_s if jobs[k].start_s is not None else jobs[k].release_s, k))
    used = np.zeros(n)  # GPUs the first-fit jobs hold at the current time
    busy: list[tuple[float, np.ndarray, np.ndarray]] = []  # (end, servers, gpus taken)
    t_last = -np.inf
    for k in order:
        job = jobs[k]
        requested = job.start_s if job.start_s is not None else job.release_s
        t = max(requested, t_last)  # first come, first served: nobody overtakes
        while True:
            still = []
            for end, srv, g in busy:  # release everything finished by t
                if end <= t:
                    used[srv] -= g
                else:
                    still.append((end, srv, g))
            busy = still
            free = server_gpus - used
            if res is not None:
                free = free - _reserved(res, t, job.duration_s, n)
            free = np.maximum(free, 0)
            if free.sum() >= job.gpus or t >= horizon_s:
                break
            nxt = [end for end, _, _ in busy]
            if res is not None:
                nxt += [e for e in res[1] if e > t]
            t = min(nxt) if nxt else horizon_s
        if t >= horizon_s:
            unplaced.append(job.name)
            continue
        t_last = t
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
    m = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(jobs)))
    return Placement(start_s=start, end_s=start + np.array([j.duration_s for j in jobs]), matrix=m,
                     jobs=list(jobs), unplaced=unplaced, fixed=is_fixed)


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
