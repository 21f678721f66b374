"""Scheduling methods on the slot problem: ``fcfs``, ``backfill`` (EASY) and ``greedy``.

All three return a :class:`Plan` of (start slot, pool) per job, or ``None`` with a reason.

* ``fcfs`` — strict first come, first served in release order (a pinned start stays), each job on
  the first pool, in plan order, with enough free GPUs for its whole run; a job never starts before
  one ahead of it. Blind to heat, price and deadlines (a late start is a missed deadline): the
  baseline every report compares to.
* ``backfill`` — fcfs with EASY backfilling (Lifka 1995; Slurm's ``sched/backfill`` and ORNL RAPS
  use this rule): when the head of the queue cannot start, it gets a reservation at the earliest
  time it fits, and later jobs may start now if they do not delay that reservation. Still blind to
  heat and price.
* ``greedy`` — least slack first (then higher priority, earlier release): each job goes to the
  start slot and pool of lowest marginal cost (energy at the slot's price and cooling, plus the
  demand charge on any rise of the peak; ties toward cooler hours) among those that keep every
  loop within its headroom and every pool within its GPUs, inside [release, deadline]. It finds a
  start whenever one exists for the job given those placed before it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .problem import Problem, SlotJob, ends
from .windows import window_max, window_min


@dataclass
class Outcome:
    """A method's answer: ``assign[k]`` = (start slot, pool) or None; ``reasons[name]`` for the Nones."""

    assign: list
    reasons: dict = field(default_factory=dict)


class Usage:
    """Running totals of a partial schedule (GPUs per pool, heat per loop, facility power)."""

    def __init__(self, pr: Problem):
        self.pr = pr
        ext = pr.n + pr.max_len
        self.free = np.repeat(pr.pool_gpus[:, None], ext, axis=1)
        self.room = np.full((pr.share.shape[1], ext), np.inf)
        self.room[:, : pr.n] = pr.headroom_w
        self.fac = np.full(ext, -np.inf)  # facility power; −inf past the horizon (not billed)
        self.fac[: pr.n] = pr.base_w
        self.ext = ext

    def add(self, j: SlotJob, s: int, p: int) -> None:
        pr = self.pr
        pw = pr.job_power(j, p)
        sl = slice(s, s + j.length)
        self.free[p, sl] -= j.gpus
        self.room[:, sl] -= pr.share[p][:, None] * pw[None, :]
        f = np.concatenate([pr.fac[p], np.ones(pr.max_len)])[sl]
        self.fac[sl] += pw * f

    def gpu_ok(self, j: SlotJob, p: int) -> np.ndarray:
        """[n] True where ``j`` fits pool ``p``'s free GPUs for its whole run, by start slot."""
        return window_min(self.free[p], j.length)[: self.pr.n] >= j.gpus

    def heat_ok(self, j: SlotJob, p: int, starts: np.ndarray) -> np.ndarray:
        """True where ``j`` on pool ``p`` from each of ``starts`` keeps every loop within its headroom."""
        pr = self.pr
        p0, mid, pl, L = ends(pr.job_power(j, p))
        ok = np.ones(starts.size, dtype=bool)
        for l in np.flatnonzero(pr.share[p] > 0):
            a, room = pr.share[p, l], self.room[l]
            ok &= room[starts] - a * p0 >= -1e-6
            if L >= 2:
                ok &= room[starts + L - 1] - a * pl >= -1e-6
            if L >= 3:
                ok &= window_min(room[1:], L - 2)[starts] - a * mid >= -1e-6
        return ok


def _first_fit(u: Usage, j: SlotJob, s0: int) -> tuple[int, int] | None:
    """Earliest start ≥ ``s0`` and the first pool (plan order) where ``j`` fits, ignoring heat."""
    if not j.pools or s0 >= u.pr.n:
        return None
    P = np.asarray(j.pools, dtype=int)
    ok = window_min(u.free[P], j.length)[:, s0: u.pr.n] >= j.gpus  # [pools × starts]
    hit = np.flatnonzero(ok.any(axis=0))
    if not hit.size:
        return None
    s = int(hit[0])
    return s0 + s, int(P[np.flatnonzero(ok[:, s])[0]])


def _place_pinned(pr: Problem, u: Usage, out: Outcome, *, heat: bool) -> None:
    for j in pr.jobs:
        # fcfs and backfill are blind baselines: they keep a fixed start whose run ends after the
        # horizon (its work past the end is reported as gpu_hours_past_horizon); greedy and optimal
        # leave it out by name (SlotJob.reason)
        if j.pinned is None or (j.reason and (heat or not j.pools or not 0 <= j.pinned < pr.n)):
            continue
        choice = None
        for p in j.pools:
            if u.gpu_ok(j, p)[j.pinned] and (not heat or u.heat_ok(j, p, np.array([j.pinned]))[0]):
                choice = p
                break
        if choice is None:
            out.reasons[j.name] = ("no loop has enough free GPUs" + (" and thermal headroom" if heat else "")
                                   + " at its fixed start")
        else:
            out.assign[j.index] = (j.pinned, choice)
            u.add(j, j.pinned, choice)


def _queue(pr: Problem, out: Outcome) -> list[SlotJob]:
    q = []
    for j in pr.jobs:
        if j.pinned is not None:
            continue
        if j.reason and (not j.pools or j.earliest >= pr.n):
            out.reasons[j.name] = j.reason
            continue
        q.append(j)
    return sorted(q, key=lambda j: (j.release_s, j.index))


def fcfs(pr: Problem) -> Outcome:
    """Strict first come, first served on the first free GPUs (see the module docstring)."""
    out = Outcome(assign=[None] * len(pr.jobs))
    u = Usage(pr)
    _place_pinned(pr, u, out, heat=False)
    s_last = 0
    for j in _queue(pr, out):
        hit = _first_fit(u, j, max(j.earliest, s_last))
        if hit is None:
            out.reasons[j.name] = "no free GPUs before the end of the horizon"
            continue
        out.assign[j.index] = hit
        u.add(j, *hit)
        s_last = hit[0]
    return out


def backfill(pr: Problem) -> Outcome:
    """FCFS with EASY backfilling (see the module docstring)."""
    out = Outcome(assign=[None] * len(pr.jobs))
    u = Usage(pr)
    _place_pinned(pr, u, out, heat=False)
    queue = _queue(pr, out)
    s = 0
    ends: list[int] = []
    while queue and s < pr.n:
        started = True
        while started and queue:
            started = False
            head = queue[0]
            if head.earliest > s:
                break
            for p in head.pools:
                if u.gpu_ok(head, p)[s]:
                    out.assign[head.index] = (s, p)
                    u.add(head, s, p)
                    ends.append(s + head.length)
                    queue.pop(0)
                    started = True
                    break
        if queue and queue[0].earliest <= s:
            head = queue[0]
            resv = _first_fit(u, head, s)
            for j in list(queue[1:]):
                if j.earliest > s:
                    continue
                for p in j.pools:
                    if not u.gpu_ok(j, p)[s]:
                        continue
                    if resv is not None and p == resv[1]:  # would it delay the head's reservation?
                        row = u.free[p].copy()
                        row[s: s + j.length] -= j.gpus
                        if row[resv[0]: resv[0] + head.length].min() < head.gpus:
                            continue
                    out.assign[j.index] = (s, p)
                    u.add(j, s, p)
                    ends.append(s + j.length)
                    queue.remove(j)
                    break
            if resv is None:
                out.reasons[head.name] = "no free GPUs before the end of the horizon"
                queue.pop(0)
                continue
        # next event: a job ends or the next job is released
        nxt = [e for e in ends if e > s] + [j.earliest for j in queue if j.earliest > s]
        s = min(nxt) if nxt else pr.n
    for j in queue:
        out.reasons[j.name] = "no free GPUs before the end of the horizon"
    return out


def greedy_order(pr: Problem) -> list[SlotJob]:
    """Least slack first, then higher priority, earlier release (pinned jobs are placed before)."""
    return sorted((j for j in pr.jobs if j.pinned is None and not j.reason),
                  key=lambda j: (j.latest - j.earliest, -j.priority, j.release_s, j.index))


def _run_sums(w: np.ndarray, starts: np.ndarray, L: int, p0: float, mid: float, pl: float) -> np.ndarray:
    """``Σ_k w[.., s + k] · profile[k]`` at ``starts`` for a flat-middle profile (rows of ``w`` at once)."""
    ww = np.concatenate([w, np.zeros(w.shape[:-1] + (L + 1,))], axis=-1)
    out = p0 * ww[..., starts]
    if L >= 2:
        out = out + pl * ww[..., starts + L - 1]
    if L >= 3:
        c = np.concatenate([np.zeros(w.shape[:-1] + (1,)), np.cumsum(ww, axis=-1)], axis=-1)
        out = out + mid * (c[..., starts + L - 1] - c[..., starts + 1])
    return out


def best_start(pr: Problem, u: Usage, j: SlotJob) -> tuple[tuple[int, int] | None, str]:
    """Cheapest feasible (start, pool) of ``j`` given ``u``, or (None, reason); all pools at once.

    Cost = energy (slot price × facility factor × the job's power) + demand-charge rise of the peak;
    ties toward cooler slots, then the earlier start, then the pool first in plan order.
    """
    P = np.asarray(j.pools, dtype=int)
    if P.size == 0 or j.latest < j.earliest:
        return None, j.reason or "no start fits its window"
    L = j.length
    starts = np.arange(j.earliest, j.latest + 1)
    p0, mid, pl, _ = ends(j.profile)
    scale = j.gpus * pr.dyn_w_per_gpu[P]  # W per unit of utilisation, per pool
    ok = window_min(u.free[P], L)[:, starts] >= j.gpus  # [pools × starts]
    if not ok.any():
        return None, "no loop has enough free GPUs inside its window"
    A = pr.share[P] * scale[:, None]  # [pools × loops] heat per unit of utilisation
    pi, li = np.nonzero(A > 0)  # the (pool, loop) pairs that matter, grouped by pool
    if pi.size:
        loops, inv = np.unique(li, return_inverse=True)
        rooms = u.room[loops]  # [loops × ext]
        a = A[pi, li][:, None]
        need = rooms[inv][:, starts] - a * p0  # [pairs × starts]
        if L >= 2:
            need = np.minimum(need, rooms[inv][:, starts + L - 1] - a * pl)
        if L >= 3:
            need = np.minimum(need, window_min(rooms[:, 1:], L - 2)[inv][:, starts] - a * mid)
        first = np.flatnonzero(np.r_[True, pi[1:] != pi[:-1]])
        bad = np.add.reduceat((need < -1e-6).astype(np.int32), first, axis=0) > 0
        ok[pi[first]] &= ~bad
    if not ok.any():
        return None, "no thermal headroom on any loop with free GPUs inside its window"
    w = pr.price_w[None, :] * pr.fac[P]
    cost = scale[:, None] * _run_sums(w, starts, L, p0, mid, pl)
    tie = scale[:, None] * _run_sums(pr.tie_w[None, :], starts, L, p0, mid, pl)
    ext = u.ext
    f = np.concatenate([pr.fac[P], np.ones((P.size, ext - pr.n))], axis=1)
    for mo, charge in pr.period_charge.items():
        sel = pr.period == mo
        if not sel.any():
            continue
        cur = u.fac[: pr.n][sel].max()
        fm = np.where(np.concatenate([sel, np.zeros(ext - pr.n, dtype=bool)]), u.fac, -np.inf)
        new = fm[starts][None, :] + f[:, starts] * (scale * p0)[:, None]
        if L >= 2:
            new = np.maximum(new, fm[starts + L - 1][None, :] + f[:, starts + L - 1] * (scale * pl)[:, None])
        if L >= 3:
            new = np.maximum(new, window_max((fm[None, :] + f * (scale * mid)[:, None])[:, 1:], L - 2)[:, starts])
        cost = cost + charge * np.maximum(new - cur, 0.0)
    pi, si = np.nonzero(ok)
    k = np.lexsort((pi, starts[si], tie[pi, si], np.round(cost[pi, si], 9)))[0]
    return (int(starts[si[k]]), int(P[pi[k]])), ""


def greedy(pr: Problem, order: list[SlotJob] | None = None) -> Outcome:
    """Least slack first (or ``order``) to the cheapest start and pool that keep headroom (see the
    module docstring)."""
    out = Outcome(assign=[None] * len(pr.jobs))
    u = Usage(pr)
    _place_pinned(pr, u, out, heat=True)
    for j in pr.jobs:
        if j.pinned is None and j.reason:
            out.reasons[j.name] = j.reason
    for j in (greedy_order(pr) if order is None else order):
        hit, why = best_start(pr, u, j)
        if hit is None:
            out.reasons[j.name] = why
            continue
        out.assign[j.index] = hit
        u.add(j, *hit)
    return out


#: Re-orderings :func:`greedy_promoting` tries at most (a count, not a time: the result does not
#: depend on machine speed) [-].
PROMOTE_ROUNDS = 4


def left_out(pr: Problem, assign: list) -> set[int]:
    """Jobs that could run (no reason of their own) but have no start in ``assign``."""
    return {k for k, a in enumerate(assign) if a is None and not pr.jobs[k].reason}


def greedy_promoting(pr: Problem, first: Outcome, rounds: int = PROMOTE_ROUNDS) -> Outcome:
    """``first`` (a greedy schedule) or a better one: the jobs greedy left out are placed first, then
    the rest in greedy's order, repeated with every job left out so far in front ("squeaky wheel"
    re-ordering, Joslin & Clements, JAIR 10, 1999) for at most ``rounds`` rounds. Greedy places each
    job at its cheapest start given those before it, so the cheap hours of many small jobs can leave
    no pool with a large job's GPUs and headroom for its whole run although the hall has room
    (the 500-job benchmark: 15 large jobs left out by least-slack order at 46 % mean GPU use, 5 after
    four rounds). Best = fewest jobs left out, then the lower model cost; ties keep the earlier."""
    best, best_key = first, (len(left_out(pr, first.assign)), pr.evaluate(first.assign).cost)
    failed = left_out(pr, first.assign)
    base = greedy_order(pr)
    for _ in range(rounds):
        if not failed:
            break
        order = [j for j in base if j.index in failed] + [j for j in base if j.index not in failed]
        o = greedy(pr, order)
        now = left_out(pr, o.assign)
        key = (len(now), pr.evaluate(o.assign).cost)
        if key < best_key:
            best, best_key = o, key
        if now <= failed:
            break  # nothing new left out: the next round would repeat this one
        failed |= now
    return best
