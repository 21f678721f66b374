"""The scheduling problem on a slot grid: jobs, pools, headroom, prices — and the cost model.

Time is cut into slots of ``slot_s`` (15 min by default, the demand-charge interval); jobs start on
slot boundaries. A job occupies its GPUs in every slot its run touches (a 2.1-slot job blocks 3);
its power in slot k of its run is the slot mean of its utilisation curve, the solver's own curve
(:mod:`planner.solver.loads`: training ramp, bursts, checkpoints; the slots between the first and
the last at their mean), times its GPUs' dynamic power.

Cost model (the optimisation's own, ``model_cost_usd``): facility power in slot t is what the
solver's meter sees,

    F_t = chain(P_idle) + lighting + cool_t(idle) + Σ_jobs P_j,t · (k_chain + Σ_l share_l · c_l,t)

(:mod:`.build`: the IT's draw through the electrical chain, linear in the jobs' power by its secant
k_chain; :mod:`.headroom`: the plant's cooling power at that slot's outdoor conditions, linearised
per loop; lighting and other loads constant), and the cost is ``Σ_t price(local hour)·F_t·Δt +
Σ_periods charge · share of the month · max_{t in period} F_t``, a demand period being the slots of one
billing month inside the tariff's on-peak demand window (on-peak charge) or outside it (off-peak
charge) — the solver's tariff rule (:mod:`planner.solver.energy`) on slot means. The
solver's verified figures (``cost_usd`` etc.) come from the full transient run instead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from planner.plan import Job
from planner.solver.loads import TRAINING_KINDS, training_utilization_integral


@dataclass
class SlotJob:
    """One job on the slot grid.

    index : int  Position in the job list
    gpus : int
    duration_s : float
    offset_s : float  Start within its slot (0 unless a pinned start is off the grid) [s]
    profile : array  Mean utilisation in each slot of the run (zero-padded at the end) [-]
    earliest, latest : int  First / last allowed start slot (deadline-feasible window)
    pinned : int | None  Start slot fixed by the user (``Job.start_s`` without a placement)
    pools : list[int]  Pools with enough GPUs
    reason : str  Why it cannot be scheduled at all ('' if it can)
    """

    index: int
    name: str
    gpus: int
    duration_s: float
    release_s: float
    deadline_s: float
    offset_s: float
    profile: np.ndarray
    earliest: int
    latest: int
    pinned: int | None
    preemptible: bool
    priority: int
    pools: list
    reason: str = ""

    @property
    def length(self) -> int:
        """Slots occupied."""
        return len(self.profile)


def job_profile(job: Job, slot_s: float, offset_s: float = 0.0) -> np.ndarray:
    """Mean utilisation of ``job`` in each slot it touches, for a start ``offset_s`` into its first slot [-].

    First and last slot exact (start-up ramp, partial slot); the slots between carry their common
    mean: a training job's checkpoint dip (90 s every 30 min) moves a 15-min slot's mean by a few
    per cent, and a flat middle lets the MILP describe a run by its two ends (:mod:`.milp`). The
    job's energy is unchanged.
    """
    n = max(1, math.ceil((job.duration_s + offset_s) / slot_s - 1e-9))
    edges = np.clip(np.arange(n + 1) * slot_s - offset_s, 0.0, job.duration_s)
    if job.kind in TRAINING_KINDS:
        integ = training_utilization_integral(edges, job.utilization)
    else:
        integ = job.utilization * edges
    prof = np.diff(integ) / slot_s
    if n >= 3:
        prof[1:-1] = prof[1:-1].mean()
    return prof


def ends(profile: np.ndarray) -> tuple[float, float, float, int]:
    """``(first, middle, last, length)`` of a run's per-slot values; the middle must be flat."""
    L = len(profile)
    mid = profile[1] if L >= 3 else profile[0]
    if L >= 3 and not np.all(profile[1:-1] == mid):
        raise ValueError("a job profile's middle slots must be equal (job_profile makes them so)")
    return float(profile[0]), float(mid), float(profile[-1]), L


@dataclass
class Problem:
    """Everything the methods need, as arrays (no plan objects): built by :func:`.build.build_problem`.

    slot_s : Slot length [s]; n : slots in the horizon
    price_w : [n] $ per W of facility power held for one slot
    base_w : [n] Facility power with every server idle [W]
    fac : [pools × n] Facility W per W of job IT power (1 + cooling slope)
    dyn_w_per_gpu : [pools] Job IT power per GPU at utilisation 1 [W]
    pool_gpus : [pools]
    share : [pools × loops] Heat share of each pool into each IT-facing loop
    headroom_w : [loops × n] Job heat allowed per loop (above idle) [W]
    period : [n] demand period of each slot (billing month × inside/outside the on-peak demand
        window); period_charge : {period: $ per W of the period's peak} (prorated by the month's share)
    """

    slot_s: float
    n: int
    start: datetime
    timezone: str
    price_w: np.ndarray
    base_w: np.ndarray
    fac: np.ndarray
    dyn_w_per_gpu: np.ndarray
    pool_gpus: np.ndarray
    pool_names: list
    share: np.ndarray
    loop_names: list
    headroom_w: np.ndarray
    period: np.ndarray
    period_charge: dict
    jobs: list
    ambient_c: np.ndarray = field(default=None)  # [n] dry bulb used for the slot [°C]
    tie_w: np.ndarray = field(default=None)  # [n] tie-break weight per W (warmer slots, warmer GPUs)

    @property
    def n_pools(self) -> int:
        return len(self.pool_gpus)

    @property
    def max_len(self) -> int:
        """Longest run in slots (cached: the job list does not change)."""
        cached = self.__dict__.get("_max_len")
        if cached is None:
            cached = self.__dict__["_max_len"] = max((j.length for j in self.jobs), default=1)
        return cached

    def job_power(self, j: SlotJob, p: int) -> np.ndarray:
        """IT power of job ``j`` on pool ``p`` in each slot of its run [W]."""
        return j.gpus * self.dyn_w_per_gpu[p] * j.profile

    def run_sums(self, j: SlotJob, p: int, w: np.ndarray) -> np.ndarray:
        """``Σ_k w[s + k] · P_j,p[k]`` for every start s = 0..n−1 (``w`` per slot, zero past the horizon).

        O(n) through the flat middle of the profile: first slot, last slot, and a prefix sum between.
        """
        p0, m, pl, L = ends(self.job_power(j, p))
        ww = np.concatenate([np.asarray(w, float), np.zeros(L + 1)])
        s = np.arange(self.n)
        out = p0 * ww[s]
        if L >= 2:
            out = out + pl * ww[s + L - 1]
        if L >= 3:
            c = np.concatenate([[0.0], np.cumsum(ww)])
            out = out + m * (c[s + L - 1] - c[s + 1])
        return out

    def energy_costs(self, j: SlotJob, p: int) -> np.ndarray:
        """Energy cost [$] of starting ``j`` on pool ``p`` at every slot 0..n−1 (run clipped at the horizon)."""
        return self.run_sums(j, p, self.price_w * self.fac[p])

    def tie_costs(self, j: SlotJob, p: int) -> np.ndarray:
        """Tie-break weight of starting ``j`` on pool ``p`` at every slot (heat × ambient) [-]."""
        return self.run_sums(j, p, self.tie_w)

    def evaluate(self, assign) -> "Evaluation":
        """Cost and usage of a schedule; ``assign[k]`` = (start slot, pool) of job k, or None."""
        L = self.max_len
        ext = self.n + L
        fac_w = np.zeros(ext)
        use = np.zeros((self.n_pools, ext))
        heat = np.zeros((self.share.shape[1], ext))
        energy = 0.0
        for j, a in zip(self.jobs, assign):
            if a is None:
                continue
            s, p = a
            pw = self.job_power(j, p)
            sl = slice(s, s + j.length)
            use[p, sl] += j.gpus
            heat[:, sl] += self.share[p][:, None] * pw[None, :]
            fac_w[sl] += pw * np.concatenate([self.fac[p], np.ones(L)])[sl]
        f = self.base_w + fac_w[: self.n]
        energy = float(np.dot(self.price_w, f))
        demand = sum(charge * float(f[self.period == mo].max()) for mo, charge in self.period_charge.items()
                     if np.any(self.period == mo))
        over_gpu = float(np.max(use[:, : self.n] - self.pool_gpus[:, None], initial=0.0))
        over_heat = float(np.max(heat[:, : self.n] - self.headroom_w, initial=0.0))
        return Evaluation(cost=energy + demand, energy_cost=energy, demand_cost=demand, facility_w=f,
                          gpu_use=use[:, : self.n], heat_w=heat[:, : self.n], over_gpus=over_gpu,
                          over_heat_w=over_heat)

    def feasible(self, assign, *, headroom: bool = True) -> bool:
        """GPUs (and headroom) respected and every job inside its window."""
        ev = self.evaluate(assign)
        if ev.over_gpus > 1e-9 or (headroom and ev.over_heat_w > 1e-6 * max(1.0, float(self.headroom_w.max()))):
            return False
        for j, a in zip(self.jobs, assign):
            if a is not None and not (j.earliest <= a[0] <= j.latest and a[1] in j.pools):
                return False
        return True


@dataclass
class Evaluation:
    """A schedule under the cost model: cost [$], facility power [n, W], GPU use [pools × n],
    heat per IT loop [loops × n, W], worst excess over GPUs / headroom."""

    cost: float
    energy_cost: float
    demand_cost: float
    facility_w: np.ndarray
    gpu_use: np.ndarray
    heat_w: np.ndarray
    over_gpus: float
    over_heat_w: float
