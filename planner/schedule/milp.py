"""``optimal``: the time-indexed MILP of the slot problem, solved with HiGHS (highspy).

Variables: ``x[j,s,p]`` = 1 if job j starts in slot s on pool p (one column per start inside the
job's window and pool with enough GPUs, whose power alone fits the headroom), ``u[j]`` = 1 if job j
is left unscheduled (one penalty for every job, far above any cost: as many jobs as possible first), ``peak[m]`` the highest
facility power of demand period m [W] (a billing month's slots inside, or outside, the tariff's
on-peak demand window). Identical servers of a loop are one pool, so the model has
no per-server symmetry.

    min   Σ c[j,s,p]·x + Σ M_j·u_j + Σ_m charge_m·peak_m          (+ the idle cost, a constant)
    s.t.  Σ_{s,p} x[j,s,p] + u_j = 1                               every job
          Σ gpus_j·x[j,s,p] over runs covering t ≤ GPUs_p           every pool, slot
          Σ share_p,l·P_j,p[t−s]·x[j,s,p] ≤ H_l,t                   every IT loop, slot
          base_t + Σ fac_p,t·P_j,p[t−s]·x[j,s,p] ≤ peak_m(t)        every slot

``c`` is the energy cost of the start at the slot prices with the cooling slope of each slot
(:mod:`.problem`), plus a tie-break weight toward cooler hours ~1e-9 of it. HiGHS starts from the
greedy schedule (its columns are always in the model, so the result is never worse than greedy),
stops at the time limit, and reports its proven dual bound. The reported ``lower_bound_usd`` is
that bound less the incumbent's penalties and the largest possible tie-break total: no schedule
that leaves no more (priority-weighted) jobs unscheduled costs less. It is raised to the best of two
bounds valid on the full grid: :func:`relaxation_bound` and :func:`lagrangian_bound` (the peak rows
dualised; on the night-shift week $28,808 vs the LP relaxation's $29,108 and the full MILP's root
$29,371 after 600 s; its dual bound after 900 s, $29,916.53, is what excludes a 10 % cut there:
``benchmarks/night_shift_bound.py``).

When the full model has more than ``MAX_COLUMNS`` columns, :func:`window_search` improves the greedy
schedule by neighbourhoods instead — per pod and per 4-day window, the jobs inside re-solved exactly
as a MILP on hourly starts (node-limited: the same result on any machine given the time), everything
else fixed — and a 15-min repair pass moves each job to its best slot afterwards (equal cost: the
cooler slot, the issue's tie-break); the bound then comes from a relaxation valid for the full grid
(:func:`relaxation_bound`; the LP relaxation when it fits the budget, :func:`lp_bound`).
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .methods import Outcome, Usage, best_start
from .problem import Problem, ends

#: Largest number of start columns solved on the full slot grid (beyond: thinned starts) [-].
MAX_COLUMNS = 3_000
#: Largest LP relaxation attempted for the bound (its build alone grows with the columns) [-].
LP_MAX_COLUMNS = 100_000
KW = 1e3  #: heat and power rows in kW (keeps the matrix's coefficient range small for the simplex)


@dataclass
class MilpOutcome(Outcome):
    lower_bound: float | None = None
    status: str = ""
    columns: int = 0
    thinned_every: int = 1
    complete: bool = True  # the search ended by itself, not by the time limit


@contextmanager
def _quiet_stdout():
    """HiGHS prints its banner on stdout (C level) when constructed; keep ``--json`` output clean."""
    try:
        sys.stdout.flush()
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _columns(pr: Problem, thin: int, keep: dict) -> list[tuple[int, int, np.ndarray]]:
    """(job, pool, starts) blocks of the model's columns."""
    out = []
    for j in pr.jobs:
        if j.reason:
            continue
        starts_all = np.array([j.pinned]) if j.pinned is not None else np.arange(j.earliest, j.latest + 1)
        for p in j.pools:
            starts = starts_all
            if thin > 1 and j.pinned is None:
                sel = (starts % thin == 0) | (starts == j.earliest) | (starts == j.latest)
                if keep.get(j.index, (None, None))[1] == p:
                    sel |= starts == keep[j.index][0]
                starts = starts[sel]
            pw = pr.job_power(j, p)
            ok = np.ones(starts.size, dtype=bool)
            for l in np.flatnonzero(pr.share[p] > 0):  # the job alone must fit the headroom
                room = np.concatenate([pr.headroom_w[l], np.full(j.length, np.inf)])
                win = np.lib.stride_tricks.sliding_window_view(room, j.length)[starts]
                ok &= np.min(win - pr.share[p, l] * pw[None, :], axis=1) >= -1e-6
            if ok.any():
                out.append((j.index, p, starts[ok]))
    return out


def relaxation_bound(pr: Problem, only=None) -> float:
    """A lower bound on the cost model valid on the full grid for any schedule that runs at least the
    jobs ``only`` (indices; default all schedulable).

    Energy: every job at its cheapest start regardless of the others. Demand charge on the largest of
    three peaks no schedule can avoid: (1) the idle facility power; (2) per slot, idle power plus the
    *compulsory part* of every job whose window forces it to run then (latest start before earliest
    end), at its least power; (3) for intervals [a, b) of consecutive slots of one demand period (ends
    on an hourly grid for a week), the mean facility power of idle plus, for every job, the slots its
    run must spend inside the interval (its length less what can hang out before a and after b) at its
    least power (a peak is at least a mean). Each demand period's charge is on the largest of these
    over its own slots only (an on-peak window is a set of separate afternoons: intervals never span
    the hours between them).
    """
    n = pr.n
    base = float(np.dot(pr.price_w, pr.base_w))
    extra_energy = 0.0
    compulsory = np.zeros(n)
    inside_w = []  # (earliest, window end, least facility W·slots)
    for j in pr.jobs:
        if j.reason or (only is not None and j.index not in only):
            continue
        starts = np.array([j.pinned]) if j.pinned is not None else np.arange(j.earliest, j.latest + 1)
        best_c, best_w, least_p = np.inf, np.inf, np.inf
        for p in j.pools:
            best_c = min(best_c, float(pr.energy_costs(j, p)[starts].min()))
            pw = pr.job_power(j, p)
            # energy inside the horizon is least at the latest start
            best_w = min(best_w, float(np.sum(pw[: max(n - int(starts[-1]), 0)]) * pr.fac[p].min()))
            least_p = min(least_p, float(pw.min()) * float(pr.fac[p].min()))
        extra_energy += best_c if np.isfinite(best_c) else 0.0
        lo, hi = int(starts[-1]), int(starts[0]) + j.length  # running at every start in [lo, hi)
        if lo < hi and np.isfinite(least_p):
            compulsory[lo:min(hi, n)] += least_p
        if np.isfinite(least_p):
            # the run's slots in ascending facility power at its most frugal pool: k slots inside the
            # interval use at least the k smallest (piecewise linear in k: three segments)
            pf = min(j.pools, key=lambda p: pr.dyn_w_per_gpu[p] * pr.fac[p].min())
            p0, mid, pl, L = ends(pr.job_power(j, pf) * pr.fac[pf].min())
            segs = sorted([(p0, 1.0), (pl, 1.0 if L >= 2 else 0.0), (mid, float(max(L - 2, 0)))])
            inside_w.append((int(starts[0]), int(starts[-1]) + L, L, segs))
    demand = 0.0
    if inside_w:
        e_ = np.array([x[0] for x in inside_w], float)
        f_ = np.array([x[1] for x in inside_w], float)
        lp_ = np.array([x[2] for x in inside_w], float)
        seg_v = np.array([[v for v, _ in x[3]] for x in inside_w])  # [jobs × 3] W per slot
        seg_n = np.array([[c for _, c in x[3]] for x in inside_w])  # slots of each segment
        seg_s = np.cumsum(seg_n, axis=1) - seg_n  # where each segment starts in k
        length = np.minimum(lp_, f_ - e_)[:, None]
        cb = np.concatenate([[0.0], np.cumsum(pr.base_w)])
    for mo, charge in pr.period_charge.items():
        sel = np.flatnonzero(pr.period == mo)
        if not sel.size or charge == 0:
            continue
        peak = max(float(pr.base_w[sel].max()), float((pr.base_w + compulsory)[sel].max()))
        if inside_w:
            step = max(1, sel.size // 168)  # interval ends on a grid: any subset of intervals is valid
            cuts = np.flatnonzero(np.diff(sel) > 1) + 1
            for run in np.split(sel, cuts):  # consecutive slots of the period
                t0, t1 = int(run[0]), int(run[-1]) + 1
                b = np.arange(t0 + 1, t1 + 1)
                b = b[((b - t0) % step == 0) | (b == t1)]
                for a in range(t0, t1, step):
                    bb = b[b > a]
                    # least slots of each job's run inside [a, b): it may hang out before a and after b
                    before = np.maximum(0.0, a - e_)[:, None]
                    after = np.maximum(0.0, f_[:, None] - bb[None, :])
                    inside = np.clip(length - before - after, 0.0, None)  # [jobs × b]
                    k = inside[:, :, None] - seg_s[:, None, :]
                    energy = (seg_v[:, None, :] * np.clip(k, 0.0, seg_n[:, None, :])).sum(axis=(0, 2))
                    mean = (cb[bb] - cb[a] + energy) / (bb - a)
                    peak = max(peak, float(mean.max()))
        demand += charge * peak
    return base + extra_energy + demand


def _project_simplex(v: np.ndarray, total: float) -> np.ndarray:
    """Euclidean projection of ``v`` onto {x ≥ 0, Σx = total} (Duchi et al. 2008, Fig. 1)."""
    if total <= 0:
        return np.zeros_like(v)
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - total
    k = np.arange(1, v.size + 1)
    rho = np.flatnonzero(u - css / k > 0)[-1]
    return np.maximum(v - css[rho] / (rho + 1), 0.0)


LAGRANGE_STEP = 0.002  #: first step of the multipliers, as a share of the demand period's charge [-]


def lagrangian_bound(pr: Problem, only=None, iterations: int = 150, deadline: float = float("inf"),
                     columns=None) -> float:
    """A lower bound on the cost model for any schedule that runs at least the jobs ``only`` (indices;
    default all schedulable): the Lagrangian dual of the peak rows.

    With multipliers λ_t ≥ 0 on each demand period's slots summing to its charge, ``charge·peak ≥ Σ_t λ_t·F_t`` for any
    schedule, so ``Σ_t λ_t·base_t + Σ_j min over its starts and pools (energy + Σ_t λ_t·facility W)`` —
    GPU capacity and headroom dropped, every job at its own best start that fits alone — is below every
    schedule's cost, for every λ. Projected subgradient ascent on λ (step ``LAGRANGE_STEP`` × the charge,
    shrinking as 1/√k, toward the slots of the highest facility power; a fixed iteration count, so the
    bound does not depend on machine speed unless ``deadline``, a ``time.perf_counter`` value, stops it
    first); the best value seen is returned. All start columns are priced at once per iteration: usable
    where the LP relaxation is too large to solve (the 500-job benchmark: 150 iterations in ~8 s).
    ``columns``: ``_columns(pr, 1, {})`` when the caller has built them already.
    """
    columns = _columns(pr, 1, {}) if columns is None else columns
    blocks = [(k, p, st) for (k, p, st) in columns if only is None or k in only]
    if not blocks:
        return relaxation_bound(pr, only)
    if only is not None and set(only) - {k for k, _, _ in blocks}:
        return relaxation_bound(pr, only)  # a job with no start that fits alone: nothing better here
    n, L_max = pr.n, pr.max_len
    S, P, E, A0, AM, AL, LEN, BLK = [], [], [], [], [], [], [], []
    for b, (k, p, st) in enumerate(blocks):
        j = pr.jobs[k]
        p0, m, pl, L = ends(pr.job_power(j, p))
        S.append(st)
        P.append(np.full(st.size, p))
        E.append(pr.energy_costs(j, p)[st])
        A0.append(np.full(st.size, p0))
        AM.append(np.full(st.size, m if L >= 3 else 0.0))
        AL.append(np.full(st.size, pl if L >= 2 else 0.0))
        LEN.append(np.full(st.size, L))
        BLK.append(np.full(st.size, b))
    S, P, E, A0, AM, AL, LEN, BLK = map(np.concatenate, (S, P, E, A0, AM, AL, LEN, BLK))
    job_of = np.array([k for k, _, _ in blocks])
    power = [pr.job_power(pr.jobs[k], p) for k, p, _ in blocks]
    sizes = np.array([st.size for _, _, st in blocks])
    seg = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    last = S + np.maximum(LEN - 1, 0)
    mid_hi, mid_lo = S + np.maximum(LEN - 1, 1), S + 1
    fac_ext = np.concatenate([pr.fac, np.ones((pr.n_pools, L_max + 1))], axis=1)
    w_width, c_width = n + L_max + 1, n + L_max + 2  # flat indices into the per-pool rows below
    iw_s, iw_last = P * w_width + S, P * w_width + last
    ic_hi, ic_lo = P * c_width + mid_hi, P * c_width + mid_lo
    base_cost = float(np.dot(pr.price_w, pr.base_w))
    months = [(np.flatnonzero(pr.period == mo), ch) for mo, ch in sorted(pr.period_charge.items())]
    lam = np.zeros(n)
    for sel, ch in months:
        if sel.size:
            lam[sel] = ch / sel.size
    best = -np.inf
    for it in range(iterations):
        if it and time.perf_counter() >= deadline:
            break
        W = np.concatenate([lam[None, :] * pr.fac, np.zeros((pr.n_pools, L_max + 1))], axis=1)
        C = np.concatenate([np.zeros((pr.n_pools, 1)), np.cumsum(W, axis=1)], axis=1)
        Wf, Cf = W.ravel(), C.ravel()
        val = E + A0 * Wf[iw_s] + AL * Wf[iw_last] + AM * (Cf[ic_hi] - Cf[ic_lo])
        mins = np.minimum.reduceat(val, seg)  # each block's cheapest start (blocks are contiguous)
        hit = np.flatnonzero(val == np.repeat(mins, sizes))
        arg = hit[np.searchsorted(hit, seg)]  # first column of each block at its minimum
        order = np.lexsort((mins, job_of))  # per job, its cheapest block first
        first = arg[order[np.r_[True, job_of[order][1:] != job_of[order][:-1]]]]
        total = base_cost + float(np.dot(lam, pr.base_w)) + float(val[first].sum())
        best = max(best, total)
        load = np.concatenate([pr.base_w.astype(float), np.zeros(L_max + 1)])
        for c in first.tolist():
            b, p, s0 = BLK[c], P[c], S[c]
            pw = power[b]
            load[s0: s0 + pw.size] += pw * fac_ext[p, s0: s0 + pw.size]
        for sel, ch in months:  # ascend toward the slots of the highest facility power
            if sel.size and ch > 0:
                g = load[sel] - load[sel].mean()
                top = float(np.abs(g).max())
                if top > 0:
                    lam[sel] = _project_simplex(lam[sel] + LAGRANGE_STEP * ch / np.sqrt(it + 1.0) * g / top, ch)
    return float(best)


@dataclass
class _Model:
    lp: object
    col_of: list
    x_cols: np.ndarray
    cu: np.ndarray
    cp: np.ndarray
    months: list
    pen: np.ndarray
    blocks: list
    n_cols_total: int


def _build(pr: Problem, blocks, relax: bool = False) -> _Model:
    """The HiGHS model of the slot problem over the start columns ``blocks`` (integrality dropped if ``relax``)."""
    import highspy

    J = len(pr.jobs)
    P, Lp = pr.n_pools, pr.share.shape[1]
    ext = pr.n + pr.max_len
    months = sorted(pr.period_charge)
    # rows: assignment, GPUs per pool and slot, heat per loop and slot, peak per slot, then the
    # cumulative definitions of each block
    r_cap = J
    r_heat = r_cap + P * ext
    r_peak = r_heat + Lp * pr.n
    n_rows = r_peak + pr.n
    R, C, V = [], [], []
    cost_parts, kinds = [], []
    col_of = []  # (job, pool, start) of the x columns, in column order
    n_col = 0
    cum_rows = []
    for (k, p, starts) in blocks:
        j = pr.jobs[k]
        L = j.length
        pw = pr.job_power(j, p)
        m = pw[1] if L >= 3 else pw[0]
        d0, dL = pw[0] - m, pw[-1] - m
        S = starts
        s_min, s_max = int(S[0]), int(S[-1])
        nx = S.size
        cx = n_col + np.arange(nx)  # x columns
        col_x = np.full(s_max - s_min + 1, -1)
        col_x[S - s_min] = cx
        ny = s_max - s_min + 1
        cy = n_col + nx + np.arange(ny)  # Y_t = Σ_{s ≤ t} x_s, t = s_min..s_max
        n_col += nx + ny
        cost_parts += [pr.energy_costs(j, p)[S] + pr.tie_costs(j, p)[S], np.zeros(ny)]
        kinds += [np.ones(nx, dtype=bool), np.zeros(ny, dtype=bool)]
        col_of.extend((k, p, int(s)) for s in S)
        # assignment row: Σ x
        R.append(np.full(nx, k)); C.append(cx); V.append(np.ones(nx))
        # cumulative rows: Y_t − Y_{t−1} − x_t = 0
        rc = n_rows + sum(cum_rows) + np.arange(ny)
        cum_rows.append(ny)
        R.append(rc); C.append(cy); V.append(np.ones(ny))
        R.append(rc[1:]); C.append(cy[:-1]); V.append(-np.ones(ny - 1))
        R.append(rc[S - s_min]); C.append(cx); V.append(-np.ones(nx))
        # resources at slot t = s_min .. s_max + L − 1: running = Y_{min(t, s_max)} − Y_{t−L}
        t = np.arange(s_min, s_max + L)
        y_now = cy[np.minimum(t, s_max) - s_min]
        has_old = t - L >= s_min
        y_old = cy[np.clip(t - L, s_min, s_max) - s_min]
        first = (t <= s_max) & (col_x[np.clip(t - s_min, 0, ny - 1)] >= 0)  # x_t: a run starts at t
        x_first = col_x[np.clip(t - s_min, 0, ny - 1)]
        tl = t - L + 1
        last = (tl >= s_min) & (tl <= s_max) & (col_x[np.clip(tl - s_min, 0, ny - 1)] >= 0)
        x_last = col_x[np.clip(tl - s_min, 0, ny - 1)]

        def resource(rows, coef_now, coef_first, coef_last, valid):
            R.append(rows[valid]); C.append(y_now[valid]); V.append(coef_now[valid])
            v = valid & has_old
            R.append(rows[v]); C.append(y_old[v]); V.append(-coef_now[v])
            v = valid & first
            R.append(rows[v]); C.append(x_first[v]); V.append(coef_first[v])
            v = valid & last
            R.append(rows[v]); C.append(x_last[v]); V.append(coef_last[v])

        ones = np.ones(t.size)
        resource(r_cap + p * ext + np.minimum(t, ext - 1), j.gpus * ones, 0 * ones, 0 * ones, t < ext)
        in_h = t < pr.n
        th = np.minimum(t, pr.n - 1)
        for l in np.flatnonzero(pr.share[p] > 0):
            a = pr.share[p, l]
            resource(r_heat + l * pr.n + th, a * m * ones / KW, a * d0 * ones / KW, a * dL * ones / KW, in_h)
        f = pr.fac[p][th] / KW
        resource(r_peak + th, f * m, f * d0, f * dL, in_h)
    n_x_y = n_col
    # penalty of leaving a job out: one value for every job, far above anything a placement could
    # cost, so the optimum schedules as many jobs as possible first and is cheapest second
    charge_max = max(pr.period_charge.values(), default=0.0)
    top = max((float(pr.energy_costs(j, p).max()) + charge_max * float(pr.job_power(j, p).max())
               * float(pr.fac[p].max()) for j in pr.jobs for p in j.pools), default=0.0)
    pen = np.full(J, 10.0 * J * top + 1.0)
    pen[[j.index for j in pr.jobs if j.reason]] = 0.0  # out whatever happens: no constant in the objective
    cu = n_x_y + np.arange(J)
    R.append(np.arange(J)); C.append(cu); V.append(np.ones(J))
    cp = n_x_y + J + np.arange(len(months))
    for i, mo in enumerate(months):
        rows = r_peak + np.flatnonzero(pr.period == mo)
        R.append(rows); C.append(np.full(rows.size, cp[i])); V.append(-np.ones(rows.size))
    n_cols_total = n_x_y + J + len(months)
    n_rows_total = n_rows + sum(cum_rows)
    is_x = np.concatenate(kinds + [np.ones(J, dtype=bool), np.zeros(len(months), dtype=bool)]) if kinds else \
        np.concatenate([np.ones(J, dtype=bool), np.zeros(len(months), dtype=bool)])
    cost = np.concatenate(cost_parts + [pen, KW * np.array([pr.period_charge[mo] for mo in months])])
    lower = np.zeros(n_cols_total)
    upper = np.concatenate([np.ones(n_x_y + J), np.full(len(months), np.inf)])
    row_lo = np.full(n_rows_total, -np.inf)
    row_hi = np.zeros(n_rows_total)
    row_lo[:J] = 1.0
    row_hi[:J] = 1.0
    row_hi[r_cap:r_heat] = np.repeat(pr.pool_gpus, ext)
    row_hi[r_heat:r_peak] = pr.headroom_w.ravel() / KW
    row_hi[r_peak:n_rows] = -pr.base_w / KW
    row_lo[n_rows:] = 0.0
    A = sparse.csc_matrix((np.concatenate(V), (np.concatenate(R), np.concatenate(C))),
                          shape=(n_rows_total, n_cols_total))
    A.sum_duplicates()
    x_cols = np.flatnonzero(np.concatenate(kinds)) if kinds else np.zeros(0, dtype=int)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols_total, n_rows_total
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
    lp.row_lower_, lp.row_upper_ = row_lo, row_hi
    lp.offset_ = float(np.dot(pr.price_w, pr.base_w))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger if b and not relax else highspy.HighsVarType.kContinuous for b in is_x]
    return _Model(lp=lp, col_of=col_of, x_cols=x_cols, cu=cu, cp=cp, months=months, pen=pen, blocks=blocks,
                  n_cols_total=n_cols_total)


def _highs(time_limit_s: float, mip_rel_gap: float = 1e-4):
    import highspy
    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(os.environ.get("DCPLAN_HIGHS_LOG")))
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("time_limit", max(float(time_limit_s), 0.1))
    return h


def lp_bound(pr: Problem, time_limit_s: float) -> float | None:
    """Optimum of the LP relaxation on the full slot grid (interior point): a proven lower bound on
    the cost model for any schedule that runs every schedulable job; None if not solved in time."""
    blocks = _columns(pr, 1, {})
    if sum(b[2].size for b in blocks) > LP_MAX_COLUMNS:
        return None
    m = _build(pr, blocks, relax=True)
    m.lp.col_cost_ = np.asarray(m.lp.col_cost_, float).copy()
    h = _highs(time_limit_s)
    h.setOptionValue("solver", "ipm")
    h.passModel(m.lp)
    h.run()
    if h.modelStatusToString(h.getModelStatus()) != "Optimal":
        return None
    x = np.asarray(h.getSolution().col_value)
    if np.any(x[m.cu] > 1e-6):  # the relaxation left part of a job out: not a bound for full schedules
        return None
    tie_total = sum(float(max(pr.tie_costs(j, p).max() for p in j.pools)) for j in pr.jobs if j.pools and not j.reason)
    return float(h.getInfo().objective_function_value) - tie_total


def solve(pr: Problem, warm: Outcome, time_limit_s: float, *, mip_rel_gap: float = 1e-4,
          max_columns: int = MAX_COLUMNS, bound: bool = True, max_nodes: int | None = None,
          thin: int = 1) -> MilpOutcome:
    """Solve the MILP from the warm start ``warm`` (greedy) within ``time_limit_s``; ``max_nodes`` caps the
    branch-and-bound nodes (a limit on work, not time: the result does not depend on machine speed)."""
    import highspy

    t0 = time.perf_counter()
    keep = {k: a for k, a in enumerate(warm.assign) if a is not None}
    blocks = _columns(pr, thin, keep)
    n_cols = sum(b[2].size for b in blocks)
    while n_cols > max_columns and thin < 16:
        thin *= 2
        blocks = _columns(pr, thin, keep)
        n_cols = sum(b[2].size for b in blocks)
    J = len(pr.jobs)
    mm = _build(pr, blocks)
    lp, col_of, x_cols, cu, cp, months, pen = mm.lp, mm.col_of, mm.x_cols, mm.cu, mm.cp, mm.months, mm.pen
    n_cols_total, n_x = mm.n_cols_total, len(mm.col_of)
    h = _highs(time_limit_s - (time.perf_counter() - t0), 0.0)
    # the tolerance is on the cost, not on the penalties of jobs that cannot run in any schedule
    h.setOptionValue("mip_abs_gap", max(mip_rel_gap * pr.evaluate(warm.assign).cost, 1e-9))
    if max_nodes is not None:
        h.setOptionValue("mip_max_nodes", int(max_nodes))
    h.passModel(lp)
    # warm start from greedy (x, the cumulative Y, u, peaks)
    x0 = np.zeros(n_cols_total)
    pos = {c: x_cols[i] for i, c in enumerate(col_of)}
    warm_ok = [a if a is not None and (k, a[1], a[0]) in pos else None for k, a in enumerate(warm.assign)]
    for k, a in enumerate(warm_ok):
        if a is not None:
            x0[pos[(k, a[1], a[0])]] = 1.0
        else:
            x0[cu[k]] = 1.0
    start_col = 0
    for (k, p, starts) in blocks:  # Y = running sums of x inside each block
        nx, ny = starts.size, int(starts[-1] - starts[0] + 1)
        xs = np.zeros(ny)
        xs[starts - starts[0]] = x0[start_col:start_col + nx]
        x0[start_col + nx:start_col + nx + ny] = np.cumsum(xs)
        start_col += nx + ny
    ev = pr.evaluate(warm_ok)
    for i, mo in enumerate(months):
        x0[cp[i]] = float(ev.facility_w[pr.period == mo].max()) / KW
    sol = highspy.HighsSolution()
    sol.col_value = x0.tolist()
    h.setSolution(sol)
    h.run()
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    x = np.asarray(h.getSolution().col_value) if info.primal_solution_status else x0
    assign = [None] * J
    reasons = dict(warm.reasons)
    for i, c in enumerate(col_of):
        if x[x_cols[i]] > 0.5:
            k, p, s = c
            assign[k] = (s, p)
    for j in pr.jobs:
        if assign[j.index] is None and j.name not in reasons:
            reasons[j.name] = j.reason or "left out by the optimisation (no feasible start with the others)"
        if assign[j.index] is not None:
            reasons.pop(j.name, None)
    used_pen = float(sum(pen[k] for k in range(J) if assign[k] is None))
    tie_total = sum(float(max(pr.tie_costs(j, p).max() for p in j.pools)) for j in pr.jobs if j.pools and not j.reason)
    lb = float(info.mip_dual_bound) - used_pen - tie_total if np.isfinite(info.mip_dual_bound) else None
    # never worse than the warm start (fewer jobs left out first, then the model cost)
    def rank(a):
        return (sum(x is None for x in a), pr.evaluate(a).cost)
    if not pr.feasible(assign) or rank(assign) > rank(warm_ok):
        assign = list(warm_ok)
        reasons = dict(warm.reasons)
    done = {k for k in range(J) if assign[k] is not None}
    if not bound:
        lb = None
    elif thin > 1:  # the restricted model's bound is not one of the full grid
        lb = max(relaxation_bound(pr, done), lagrangian_bound(pr, done))
    elif lb is not None:
        lb = max(lb, relaxation_bound(pr, done), lagrangian_bound(pr, done))
    else:  # HiGHS stopped before a dual bound
        lb = max(relaxation_bound(pr, done), lagrangian_bound(pr, done))
    return MilpOutcome(assign=assign, reasons=reasons, lower_bound=lb, status=status, columns=n_x,
                       thinned_every=thin)


def tie_total(pr: Problem, assign: list) -> float:
    """The schedule's tie-break measure: heat × (slot's outdoor temperature − the coolest) [-]
    (``Problem.tie_w``; lower = cooler hours, lower GPU temperatures)."""
    return float(sum(pr.tie_costs(j, a[1])[a[0]] for j, a in zip(pr.jobs, assign) if a is not None))


def repair(pr: Problem, assign: list, deadline: float) -> list:
    """Move each job, one at a time, to its best 15-min start and pool given the others, while it
    lowers the model cost — or keeps it (to 1e-9 relative) and moves heat to cooler hours, the issue's
    tie-break (first improvement in job order; stops at ``deadline``, a ``time.perf_counter`` value)."""
    assign = list(assign)
    # each job's tie weight, kept as the schedule changes: a trial differs from it in one job, so it
    # costs one ``tie_costs`` row instead of one per job. Summed in job order from 0 (None adds 0.0,
    # which changes no sum), it is :func:`tie_total` to the last bit.
    ties = [0.0 if a is None else float(pr.tie_costs(j, a[1])[a[0]]) for j, a in zip(pr.jobs, assign)]
    cost, tie = pr.evaluate(assign).cost, float(sum(ties))
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for j in pr.jobs:
            if time.perf_counter() >= deadline:
                break
            a = assign[j.index]
            if a is None or j.pinned is not None:
                continue
            trial = list(assign)
            trial[j.index] = None
            u = Usage(pr)
            for jj, aa in zip(pr.jobs, trial):
                if aa is not None:
                    u.add(jj, *aa)
            hit, _ = best_start(pr, u, j)
            if hit is None or hit == a:
                continue
            trial[j.index] = hit
            c = pr.evaluate(trial).cost
            eps = 1e-9 * max(1.0, abs(cost))
            if c <= cost + eps:
                trial_ties = list(ties)
                trial_ties[j.index] = float(pr.tie_costs(j, hit[1])[hit[0]])
                t = float(sum(trial_ties))
                if c < cost - eps or t < tie - 1e-12 * max(1.0, abs(tie)):
                    assign, cost, tie, ties, improved = trial, c, t, trial_ties, True
    return assign


def pool_groups(pr: Problem) -> list[list[int]]:
    """Pools that share an IT loop, transitively (a pod: its air and liquid pools share the air loop)."""
    parent = list(range(pr.n_pools))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for l in range(pr.share.shape[1]):
        on = np.flatnonzero(pr.share[:, l] > 0)
        for p in on[1:]:
            parent[find(p)] = find(on[0])
    groups: dict[int, list[int]] = {}
    for p in range(pr.n_pools):
        groups.setdefault(find(p), []).append(p)
    return sorted(groups.values())


def _subproblem(pr: Problem, assign: list, pools: list[int], insert: bool = False):
    """The jobs on ``pools`` as a problem of their own, everything else fixed: its facility power joins
    the base, its heat leaves the headroom. Returns (sub, job indices in ``pr``, sub's warm assignment)."""
    from dataclasses import replace as dc_replace
    remap = {p: k for k, p in enumerate(pools)}
    # its scheduled jobs, and (``insert``) the jobs left out that could run there (the search may fit them in)
    mine = [k for k, a in enumerate(assign) if (a[1] in remap if a is not None else
                                                (insert and not pr.jobs[k].reason
                                                 and any(p in remap for p in pr.jobs[k].pools)))]
    others = [a if (a is None or a[1] not in remap) else None for a in assign]
    ev = pr.evaluate(others)
    jobs = [dc_replace(pr.jobs[k], index=i, pools=[remap[p] for p in pr.jobs[k].pools if p in remap])
            for i, k in enumerate(mine)]
    sub = dc_replace(pr, base_w=ev.facility_w.copy(), fac=pr.fac[pools], dyn_w_per_gpu=pr.dyn_w_per_gpu[pools],
                     pool_gpus=pr.pool_gpus[pools], pool_names=[pr.pool_names[p] for p in pools],
                     share=pr.share[pools], headroom_w=pr.headroom_w - ev.heat_w, jobs=jobs)
    sub.__dict__.pop("_max_len", None)
    warm = [None if assign[k] is None else (assign[k][0], remap[assign[k][1]]) for k in mine]
    return sub, mine, warm


#: The large-instance search (:func:`window_search`): jobs whose run lies inside a window of
#: ``WINDOW_S`` move freely inside it on starts every ``WINDOW_START_S`` (their current start kept), all
#: others stay; windows begin every ``WINDOW_STEP_S``; each neighbourhood's MILP stops after
#: ``WINDOW_NODES`` branch-and-bound nodes — a limit on work, so the search's result does not depend on
#: machine speed unless the time budget stops it first (then ``complete`` is False) [s, s, s, -].
WINDOW_S = 4 * 86400.0
WINDOW_STEP_S = 86400.0
WINDOW_START_S = 3600.0
WINDOW_NODES = 30


def _window_problem(pr: Problem, assign: list, a: int, b: int, insert: bool = False) -> tuple[Problem, int]:
    """``pr`` with only the jobs whose run lies inside slots [a, b) free to move (inside it); every other
    scheduled job pinned to its start and pool. With ``insert``, a job left out so far whose window allows
    a run inside [a, b) is free too (the MILP's penalty asks it in: the search can fit in what greedy left out);
    the other unscheduled ones stay out. Same job order as ``pr``. Returns (problem, number of free jobs)."""
    from dataclasses import replace as dc_replace
    jobs, free = [], 0
    for j, s in zip(pr.jobs, assign):
        lo, hi = max(j.earliest, a), min(j.latest, b - j.length)
        inside = s is not None and s[0] >= a and s[0] + j.length <= b
        if j.pinned is None and not j.reason and (inside or (insert and s is None and j.pools and lo <= hi)):
            jobs.append(dc_replace(j, earliest=lo, latest=hi))
            free += 1
        elif s is not None:
            jobs.append(dc_replace(j, pinned=s[0], pools=[s[1]]))
        else:
            jobs.append(dc_replace(j, reason=j.reason or "left out"))
    sub = dc_replace(pr, jobs=jobs)
    sub.__dict__.pop("_max_len", None)
    return sub, free


def _windows(n: int, slot_s: float) -> list[tuple[int, int]]:
    """Slot windows [a, b) of the search, in order; the last one ends at the horizon."""
    w = max(1, int(round(WINDOW_S / slot_s)))
    step = max(1, int(round(WINDOW_STEP_S / slot_s)))
    if n <= w:
        return [(0, n)]
    out = [(a, a + w) for a in range(0, n - w + 1, step)]
    if out[-1][1] < n:
        out.append((n - w, n))
    return out


def window_search(pr: Problem, assign: list, deadline: float) -> tuple[list, bool]:
    """Improve ``assign`` by re-solving neighbourhoods exactly: for each pool group (pod; the whole hall
    when it is one) and each time window (:func:`_windows`), the jobs inside move, the rest stay, and the
    neighbourhood's MILP (hourly starts, node limit) replaces them when the whole schedule gets cheaper.
    Passes over all neighbourhoods in a fixed order until one changes nothing; then, when jobs are left
    out, passes in which each neighbourhood also offers them a start (fewer left out is accepted before a
    lower cost; a later phase because those MILPs are harder: offered from the start, they cost the
    benchmark's 60-s search 4.3 → 5.4 % gap and fitted none in). A neighbourhood whose
    jobs and surroundings did not change since it was solved is not solved again. Deterministic: the
    same schedule on any machine, unless ``deadline`` (a ``time.perf_counter`` value) stops it first.
    Returns (schedule, True if it converged before the deadline)."""
    from .methods import Outcome
    assign = list(assign)
    cost = pr.evaluate(assign).cost
    out = sum(a is None for a in assign)  # fewer jobs left out first, then the cost (the MILP's penalties)
    groups = pool_groups(pr)
    thin = max(1, int(round(WINDOW_START_S / pr.slot_s)))
    seen: dict = {}
    insert = False  # left-out jobs join the neighbourhoods once the search has converged without them
    while True:
        improved = False
        for gi, g in enumerate(groups):
            if len(groups) > 1:
                P, mine, warm = _subproblem(pr, assign, g, insert)
            else:
                P, mine, warm = pr, list(range(len(assign))), list(assign)
            if not mine:
                continue
            for (a, b) in _windows(P.n, P.slot_s):
                if time.perf_counter() >= deadline:
                    return assign, False
                key = (gi, a, insert)
                if seen.get(key) == tuple(warm):
                    continue
                seen[key] = tuple(warm)
                sub, free = _window_problem(P, warm, a, b, insert)
                if not free:
                    continue
                sol = solve(sub, Outcome(assign=warm), deadline - time.perf_counter(), max_columns=10 ** 9,
                            bound=False, max_nodes=WINDOW_NODES, thin=thin)
                if "time limit" in sol.status.lower():
                    return assign, False  # stopped by the clock, not by its work limit: keep the last schedule
                # g maps the neighbourhood's pool numbers to pr's; with one group P is pr and g is
                # [0, 1, …, n_pools − 1] (pool_groups lists a group's pools in order), so g[p] == p and
                # g.index(p) == p: one mapping serves both cases
                trial = list(assign)
                for i, kk in enumerate(mine):
                    if sol.assign[i] is not None:
                        s, p = sol.assign[i]
                        trial[kk] = (s, g[p])
                c = pr.evaluate(trial).cost
                o = sum(x is None for x in trial)
                if (o < out or (o == out and c < cost - 1e-9 * max(1.0, abs(cost)))) and pr.feasible(trial):
                    assign, cost, out, improved = trial, c, o, True
                    warm = [None if trial[kk] is None else (trial[kk][0], g.index(trial[kk][1])) for kk in mine]
                    seen[key] = tuple(warm)
        if not improved:
            if insert or not any(x is None and not j.reason and j.pools for j, x in zip(pr.jobs, assign)):
                return assign, True
            insert = True  # converged: now offer the left-out jobs a start (a harder MILP per window)


def optimise(pr: Problem, warm: Outcome, budget_s: float) -> MilpOutcome:
    """``optimal`` within ``budget_s``: greedy (``warm``; when it left jobs out, the best of
    :func:`.methods.greedy_promoting`'s re-orderings) improved by single-job moves, then the MILP on
    the whole problem when its full slot grid is small (≤ ``MAX_COLUMNS`` start columns), else the
    neighbourhood search :func:`window_search`; then single-job moves again (15-min starts; equal
    cost → the cooler start). The bound is the MILP's where it solved the full grid, else
    :func:`relaxation_bound`. ``status`` says whether the search converged inside the budget (its
    schedule is then independent of machine speed)."""
    from .methods import greedy_promoting, left_out
    t0 = time.perf_counter()
    deadline = t0 + budget_s
    if left_out(pr, warm.assign):  # run as many jobs as possible first: re-ordered greedy rounds
        warm = greedy_promoting(pr, warm)
    start = repair(pr, warm.assign, t0 + 0.2 * budget_s)
    columns = _columns(pr, 1, {})
    n_cols = sum(b[2].size for b in columns)
    if n_cols > MAX_COLUMNS:
        done = {k for k, a in enumerate(start) if a is not None}  # the search never leaves one of them out
        lb = max(relaxation_bound(pr, done),
                 lagrangian_bound(pr, done, deadline=t0 + 0.3 * budget_s, columns=columns))
        assign, complete = window_search(pr, start, t0 + 0.85 * budget_s)
        assign = repair(pr, assign, deadline)
        reasons = {j.name: warm.reasons.get(j.name, j.reason or "not scheduled") for j, a in zip(pr.jobs, assign)
                   if a is None}
        groups = len(pool_groups(pr))
        return MilpOutcome(assign=assign, reasons=reasons, lower_bound=lb,
                           status=("converged" if complete else "stopped by the time limit")
                           + f" ({len(_windows(pr.n, pr.slot_s))} windows × {groups} pool groups)",
                           columns=n_cols, thinned_every=0, complete=complete)
    sol = solve(pr, Outcome(assign=start, reasons=warm.reasons), 0.8 * budget_s - (time.perf_counter() - t0))
    sol.assign = repair(pr, sol.assign, deadline)
    sol.complete = "time limit" not in sol.status.lower() and time.perf_counter() < deadline
    return sol
