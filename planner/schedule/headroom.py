"""Thermal headroom per loop and time slot, and the cooling power a load costs, from the solver's physics.

Pools
-----
Servers of one type on the same air and liquid loops are interchangeable to the scheduler; they
form a *pool* (aggregating identical servers of a loop removes the per-server symmetry that
stalls a MILP). A job runs on one pool, in one piece. The pool's ``loop`` is the loop taking most
of its heat (the liquid loop of a GB200 NVL72, the air loop of a DGX).

Headroom (derivation)
---------------------
A GPU throttles when its die passes ``T_slow`` — in the solver, the first of a server's GPU groups
slows down (NVIDIA's software slowdown at the max operating temperature) when the server's mean die
passes ``model.first_kink`` = T_op − the hottest group's offset (:mod:`planner.solver.gpu_control`),
which is the ``T_slow`` of the steady check here; a job start's transient is held below the hardware
slowdown instead (:meth:`HeadroomModel.dies_ok`). In the solver's two-node server
(:mod:`planner.solver.thermal`) the die of server *i* sits at steady state at
``T_die = T_cool + R·P``, with ``R = R_d + R_p`` (die → plate → coolant) and the coolant
``T_cool = (1 − f)·(T_air + h·δ_rack) + f·T_liq`` (liquid share f, recirculation rise δ of its rack
[:mod:`planner.solver.recirculation`] times the height factor h). Training jobs burst: the die
(τ_d ≈ 1.5 s) follows each compute burst, the plate (τ ≈ 15 s) only the mean, so the die's peak
is ``T_cool + R·P̄ + R_d·(P_peak − P̄)``. The worst server of a pool is the one with the largest
recirculation rise at full rack power; its worst job has the highest mean and peak utilisation of
the job list. The die stays under slowdown while the loop's supply stays under

    T_max,l = min over pools p on l [ (T_slow − δ_l − R·P̄ − R_d·(P_peak − P̄) − (other loop's part)) / share ]

with the other loop of a hybrid server at its own steady temperature. The loop's supply is the
steady state of the compiled plant (:class:`.plant.SteadyPlant`: setpoint while its equipment,
derated by the slot's outdoor dry / wet bulb and by its parent's temperature, can carry the load,
floating above it when not), which rises monotonically with the heat the loop takes in. So the
headroom ``H_l,t`` — the largest job heat (above the servers' idle heat) on loop l in slot t — is
found by bisection on that heat, *jointly* (:meth:`HeadroomModel.compute`): first the largest common
fraction of every loop's most heat that keeps all dies safe, then each loop raised in turn with the
others held. Loops sharing a parent plant thus each get their share of the parent at simultaneous
use, and any schedule that keeps every loop within its headroom keeps every supply at or below the
ones checked (every supply rises monotonically with every load).

Transient margin δ_l: a job start is a load step, and the loop's supply overshoots while fans,
pumps and valves catch up (dead time, transit, actuator lag), smoothed by the servers' own heat
capacity and the job's start-up ramp. Rather than bound it by hand, :func:`.transient.transient_margin`
measures it with the solver: the largest job that fits each pool starts on it at once, at a mild
outdoor condition where no plant saturates, so every degree above setpoint is overshoot. δ_l is the
peak rise of loop l's supply. The overshoot happens while the plant still has capacity in hand,
i.e. from setpoint; a saturated plant creeps to its new steady state without one. So the dies are
checked at ``max(steady supply, setpoint + δ_l)``. Where the
full solver still finds throttling on a schedule, :mod:`.verify` tightens the headroom of that loop
and slot and the schedule is solved again.

A job's *own* start (per job, not per loop and slot): the check above is all-or-nothing in the heat
(while the plant holds its setpoint the overshoot does not depend on the loop's load), and a loop whose
overshoot alone breaks a die at idle drops its margin — exactly where the overshoot is largest. So a
job whose start throttles by itself was scheduled, and the verification rounds, which cut (loop, slot)
headroom, only moved it from slot to slot: at a constant 30 °C the demo's GB200 pool took 576 GPUs of
batch work at utilisation 1 and throttled 65.5 GPU-h after 3 rounds. Its steady hottest GPU sits
1.22 K under the max operating temperature (the software slowdown, which the solver counts as
throttled); the start overshoot on the die is 1.55 K, at any outdoor temperature. Hence
:func:`.build.refuse_hot_starts`: the overshoot of each job's start on the hottest servers of a pool
is measured with the solver (:func:`.transient.start_probe`; it does not scale with the job: 1.2 /
1.4 / 1.6 K for 2 / 4 / 8 of those servers) and compared with :meth:`HeadroomModel.start_room_k`,
the room left under slowdown at the loops' setpoints; a pool where it does not fit is taken off the
job's list, and a job with no pool left is reported by name with both figures. Several jobs starting
in one slot still add their overshoots; the verification rounds handle that (moving one start away
removes it).

Cooling cost
------------
Facility power in a slot is IT power plus the plant's cooling power at that slot's outdoor
conditions, ``F = P_IT + cool_t(Q)``. For the scheduler's linear cost model, ``cool_t`` is taken
as its value at the servers' idle heat plus, per loop, the secant slope up to half the loop's
design job heat: ``c_l,t = (cool_t(Q_idle + ΔQ e_l) − cool_t(Q_idle)) / ΔQ`` [W per W]. Chillers
lose capacity and efficiency as the air warms, so c is larger on hot afternoons: cooler hours are
cheaper even at a flat price.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from planner.solver.loads import COMM_LEVEL, COMPUTE_FRACTION, TRAINING_KINDS
from planner.solver.model import Model

from .plant import SteadyPlant

#: Ambient conditions are rounded *up* to this step before the headroom is computed, so nearby
#: slots share one evaluation and the rounding errs on the hot side [K].
AMBIENT_STEP_K = 0.5
_BISECTION_STEPS = 24  # 6e-8 of the most heat: far below what the solver resolves


@dataclass
class Pool:
    """Identical servers on the same loops.

    name : str  ``loop`` or ``loop/type`` when a loop has several pools
    loop : int  Loop taking most of the heat (index into ``Model.loop_names``)
    servers : array[int]  Server indices, coolest position first (least recirculation)
    gpus_per_server : int
    gpus : int  Total GPUs
    p_idle_w, p_dyn_w : float  Idle and (max − idle) power per server [W]
    share : array[loops]  Share of a server's heat into each loop [-]
    worst : int  Server index with the largest recirculation rise
    """

    name: str
    loop: int
    servers: np.ndarray
    gpus_per_server: int
    gpus: int
    p_idle_w: float
    p_dyn_w: float
    share: np.ndarray
    worst: int
    server_type: str = ""

    @property
    def dyn_w_per_gpu(self) -> float:
        """Dynamic power per GPU at utilisation 1 [W]."""
        return self.p_dyn_w / self.gpus_per_server


def build_pools(model: Model) -> list[Pool]:
    """Group the servers of a compiled model into pools (servers without GPUs are left out)."""
    plan = model.plan
    full = model.p_idle + model.p_dyn
    rack_p = model.rack_air_share @ full
    offset = model.height_factor * (model.recirc @ rack_p)[model.rack] * (1.0 - model.liquid_frac)
    share = model.loop_server_share.tocsc()
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(plan.servers):
        if model.gpus[i] <= 0:
            continue
        groups.setdefault((s.server_type, int(model.air_loop[i]), int(model.liq_loop[i])), []).append(i)
    pools = []
    for (stype, _, _), idx in groups.items():
        idx = np.array(sorted(idx, key=lambda i: (offset[i], i)))
        i0 = idx[0]
        sh = np.asarray(share[:, i0].todense()).ravel()
        pools.append(Pool(name="", loop=int(np.argmax(sh)), servers=idx, gpus_per_server=int(model.gpus[i0]),
                          gpus=int(model.gpus[idx].sum()), p_idle_w=float(model.p_idle[i0]),
                          p_dyn_w=float(model.p_dyn[i0]), share=sh, worst=int(idx[-1]), server_type=stype))
    pools.sort(key=lambda p: p.servers.min())  # plan order: "the first free GPUs" of fcfs
    per_loop: dict[int, int] = {}
    for p in pools:
        per_loop[p.loop] = per_loop.get(p.loop, 0) + 1
    for p in pools:
        p.name = model.loop_names[p.loop] if per_loop[p.loop] == 1 else f"{model.loop_names[p.loop]}/{p.server_type}"
    return pools


def job_peak_utilization(utilization: float, kind: str) -> float:
    """Highest utilisation a job's curve reaches (the compute burst of a training job) [-]."""
    if kind in TRAINING_KINDS:
        mean_wave = COMPUTE_FRACTION + (1.0 - COMPUTE_FRACTION) * COMM_LEVEL
        return min(utilization / mean_wave, 1.0)
    return utilization


@dataclass
class Headroom:
    """Headroom and cooling-cost coefficients per IT-facing loop and ambient condition.

    loops : list[int]  IT-facing loop indices (rows of the arrays)
    headroom_w : [loops × conditions] Largest job heat (above idle) per loop [W]
    cool_base_w : [conditions] Cooling power at idle heat [W]
    cool_slope : [loops × conditions] Extra cooling power per W of heat into the loop [-]
    margin_k : [loops] Transient-overshoot margin δ_l [K]
    idle_heat_w : [loops] Servers' idle heat into each loop [W]
    most_w : [loops] Job heat with every GPU busy at the peak utilisation (no schedule puts more) [W]
    conditions : [conditions × 2] (dry bulb, wet bulb) [°C]
    """

    loops: list
    headroom_w: np.ndarray
    cool_base_w: np.ndarray
    cool_slope: np.ndarray
    margin_k: np.ndarray
    idle_heat_w: np.ndarray
    most_w: np.ndarray
    conditions: np.ndarray


class HeadroomModel:
    """Headroom of a compiled model for a job mix (reference utilisations and transient margins).

    model : Model  Compiled plan (:func:`planner.solver.model.compile_model`)
    pools : list[Pool]
    u_mean, u_peak : float  Highest mean (over training iterations) and peak utilisation of the jobs [-]
    margin_k : array[loops of the model]  Transient-overshoot margin δ_l of each loop's supply [K]
        (:func:`.transient.transient_margin`)
    """

    def __init__(self, model: Model, pools: list[Pool], u_mean: float, u_peak: float, margin_k: np.ndarray):
        self.model, self.pools = model, pools
        self.plant = SteadyPlant(model)
        m = model.m
        self.loops = sorted({int(l) for p in pools for l in np.flatnonzero(p.share > 0)})
        self.u_mean, self.u_peak = float(u_mean), float(max(u_peak, u_mean))
        self.idle = np.asarray(model.loop_server_share @ model.p_idle).ravel()  # [m] W
        self.most = np.zeros(m)  # job heat with every GPU at the peak utilisation [W]
        for p in pools:
            self.most += p.share * p.p_dyn_w * len(p.servers) * self.u_peak
        self.margin = np.asarray(margin_k, float)  # δ_l [K]
        self.use_margin = np.ones(m, dtype=bool)
        # worst server of each pool: recirculation rise at full rack power of the reference mix
        p_ref = model.p_idle + model.p_dyn * self.u_mean
        self.recirc = model.recirc @ (model.rack_air_share @ p_ref)  # [racks] K
        self._m = m

    def dies_ok(self, supply: np.ndarray) -> np.ndarray:
        """[batch] True where the worst server of every pool keeps its GPUs out of thermal slowdown at
        these loop supplies ([batch × loops], °C), in two checks (NVIDIA's stack as the solver models
        it, :mod:`planner.solver.gpu_control`):

        * steady: at the steady supplies the hottest GPU group stays below its max operating
          temperature (the server's mean die below ``model.first_kink``) — no software slowdown while
          jobs run;
        * start transient: at ``max(steady, setpoint + δ_l)`` (a job start overshoots by up to δ_l while
          the plant has capacity in hand; a saturated plant creeps to its new steady state without
          one) the hottest group stays below the *hardware* slowdown threshold (mean die below
          ``t_slow − off_max``): the software slowdown may trim clocks for the minute or two of an
          overshoot (a few per cent of one minute's work), the clock-halving hardware slowdown never.
          δ_l is measured for the largest job starting at once on an idle pool, and a server at full
          power on the loop is assumed besides — both at once, so this errs safe. The solver's
          verification of every schedule (:mod:`.verify`) tightens any slot where it still throttles.
        """
        md = self.model
        eff = np.where(self.use_margin, np.maximum(supply, md.loop_setpoint + self.margin), supply)
        ok = np.ones(supply.shape[0], dtype=bool)
        for p in self.pools:
            i = p.worst
            rise = self._die_rise_k(i, self.u_mean, self.u_peak)
            for sup, limit in ((supply, md.first_kink[i]), (eff, md.t_slow[i] - md.off_max[i])):
                ok &= self._coolant_c(i, sup) + rise <= limit
        return ok

    def _coolant_c(self, i: int, supply: np.ndarray):
        """Coolant temperature server ``i``'s plate sees [°C]: ``(1 − f)·(T_air + h·δ_rack) + f·T_liq``
        (the module docstring) at the loop supplies ``supply`` [°C; loops on the last axis: [loops] gives
        a scalar, [batch × loops] a [batch]]; δ_rack the reference recirculation rise."""
        md = self.model
        lf = md.liquid_frac[i]
        t_cool = 0.0
        if md.air_loop[i] >= 0:
            t_cool = t_cool + (1 - lf) * (supply[..., md.air_loop[i]] + md.height_factor[i] * self.recirc[md.rack[i]])
        if md.liq_loop[i] >= 0:
            t_cool = t_cool + lf * supply[..., md.liq_loop[i]]
        return t_cool

    def _die_rise_k(self, i: int, u_mean: float, u_peak: float) -> float:
        """Server ``i``'s die above its coolant at the burst peak [K]: ``R·P̄ + R_d·(P_peak − P̄)`` at the
        job's mean and peak utilisation (the module docstring)."""
        md = self.model
        p_mean = md.p_idle[i] + md.p_dyn[i] * u_mean
        p_peak = md.p_idle[i] + md.p_dyn[i] * u_peak
        return md.r_th[i] * p_mean + md.r_die[i] * (p_peak - p_mean)

    def start_room_k(self, pool: Pool, u_mean: float, u_peak: float) -> float:
        """Room [K] between the worst server's mean die running a job at ``u_mean`` / ``u_peak`` with every
        loop at its setpoint (the reference recirculation around it) and ``model.first_kink`` (the hottest
        GPU at its max operating temperature: NVIDIA's software slowdown, which the solver counts as
        throttled). A job's start overshoot on the die must stay inside it (:func:`refuse_hot_starts`)."""
        md = self.model
        i = pool.worst
        t_cool = self._coolant_c(i, md.loop_setpoint)
        return float(md.first_kink[i] - (t_cool + self._die_rise_k(i, u_mean, max(u_peak, u_mean))))

    def _ok(self, q_jobs: np.ndarray, db, wb) -> np.ndarray:
        q = self.idle[None, :] + q_jobs
        return self.dies_ok(self.plant.solve(q, db, wb).supply_c)

    def compute(self, db: np.ndarray, wb: np.ndarray) -> Headroom:
        """Headroom and cooling coefficients at each condition (``db``, ``wb`` [°C], same length).

        Two stages keep the loops' headroom *jointly* safe (a hybrid server's die depends on both of
        its loops, loops under one plant share it): (1) the largest common fraction φ of every loop's
        most heat that keeps all dies under slowdown; (2) each loop in turn raised as far as it can
        go with the others held where they are. Every stage checks all dies, so the final point is safe.
        """
        db = np.asarray(db, float)
        wb = np.asarray(wb, float)
        n, m = db.size, self._m
        loops = self.loops
        most = np.zeros(m)
        most[loops] = self.most[loops]
        zero = np.zeros((n, m))
        # a loop whose overshoot alone breaks a die at idle loses the margin (the full solver judges it)
        for l in loops:
            self.use_margin[:] = False
            self.use_margin[l] = True
            if not self._ok(zero, db, wb).all():
                self.margin[l] = 0.0
        self.use_margin[:] = True
        lo, hi = np.zeros(n), np.ones(n)
        ok_full = self._ok(np.tile(most, (n, 1)), db, wb)
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            good = self._ok(mid[:, None] * most[None, :], db, wb)
            lo, hi = np.where(good, mid, lo), np.where(good, hi, mid)
        phi = np.where(ok_full, 1.0, lo)
        q = phi[:, None] * most[None, :]
        for l in loops:  # raise each loop with the others held
            a, b = q[:, l].copy(), np.full(n, most[l])
            trial = q.copy()
            trial[:, l] = b
            top = self._ok(trial, db, wb)
            for _ in range(_BISECTION_STEPS):
                mid = 0.5 * (a + b)
                trial[:, l] = mid
                good = self._ok(trial, db, wb)
                a, b = np.where(good, mid, a), np.where(good, b, mid)
            q[:, l] = np.where(top, most[l], a)
        idle = np.broadcast_to(self.idle, (n, m))
        base = self.plant.solve(idle, db, wb).cooling_w
        slope = np.zeros((len(loops), n))
        for k, l in enumerate(loops):  # secant of the cooling power up to half the loop's most heat
            dq = max(0.5 * self.most[l], 1.0)
            qq = np.array(idle)
            qq[:, l] += dq
            slope[k] = (self.plant.solve(qq, db, wb).cooling_w - base) / dq
        return Headroom(loops=list(loops), headroom_w=q[:, loops].T.copy(), cool_base_w=base, cool_slope=slope,
                        margin_k=self.margin[loops].copy(), idle_heat_w=self.idle[loops].copy(),
                        most_w=self.most[loops].copy(), conditions=np.column_stack([db, wb]))


def round_conditions(db: np.ndarray, wb: np.ndarray, step: float = AMBIENT_STEP_K):
    """Round ambient conditions up to ``step`` and return (unique [k × 2], index of each input)."""
    key = np.column_stack([np.ceil(np.asarray(db) / step) * step, np.ceil(np.asarray(wb) / step) * step])
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    return uniq, inv.ravel()


def loop_share_matrix(pools: list[Pool], loops: list[int]) -> np.ndarray:
    """[pools × IT loops] share of a pool's heat into each IT-facing loop [-]."""
    return np.array([[p.share[l] for l in loops] for p in pools]) if pools else np.zeros((0, len(loops)))


__all__ = ["Pool", "build_pools", "Headroom", "HeadroomModel", "round_conditions", "loop_share_matrix",
           "job_peak_utilization"]
