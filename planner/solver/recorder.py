"""Recorder: streams what each step produced into the summary, minute series and per-rack figures,
and builds the :class:`~.results.SimulationResult` at the end (energy, PUE, cost).

Memory does not grow with the horizon except for the per-minute series (and per-server minute
histories when asked for).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

import numpy as np

from . import defaults as d
from .ambient import local_hour, month_fractions, month_index, wall_clock_s
from .jit import njit
from .energy import (demand_charge_usd, demand_window_mask, electrical_chain_coeffs, electrical_chain_poly,
                     energy_cost_usd, lighting_misc_w, partial_pue, peak_15min_kw, pue)
from .model import Model
from .results import SimulationResult

#: Per-rack series (floor heat map) at 60 s for runs up to 7 days; longer runs take the smallest of
#: these steps that keeps the sample count at or below a 7-day run's, so memory stays bounded by
#: racks × 10,080 samples × 4 series × 4 bytes (3,000 racks: ~480 MB, a year as much as a week).
RACK_SERIES_STEPS_S = (60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0)
RACK_SERIES_MAX_SAMPLES = 7 * 24 * 60
#: Per-loop minute series (``loop_supply_c``, ``loop_heat_kw``) are float32 beyond this many
#: loop-minutes (a year of the 196-loop, 10,000-server hall has 103 M: 824 MB each in float64);
#: shorter runs keep float64 (tests compare loop temperatures to 1e-9 K)
LOOP_SERIES_F64_MAX_CELLS = 20_000_000
#: :data:`LOOP_SERIES_F64_MAX_CELLS` for the runs of one context only (a thread, an asyncio task):
#: set by :func:`loop_series_in_float32`, never by writing the module value, which simulations in
#: other threads read at the same time (two in-process Dask workers loading the kernels at once each
#: saved and restored the module value, and one restored the other's 0: every later run in the
#: process then recorded float32 loop series)
_F64_MAX_CELLS_HERE: ContextVar[int | None] = ContextVar("loop_series_f64_max_cells", default=None)


def loop_series_f64_max_cells() -> int:
    """The loop-minutes beyond which this context's runs record float32 loop series [cells]."""
    here = _F64_MAX_CELLS_HERE.get()
    return LOOP_SERIES_F64_MAX_CELLS if here is None else here


@contextmanager
def loop_series_in_float32():
    """Runs inside the block (in this thread or asyncio task only) record float32 loop series
    whatever their length: the kernel specialisation of long runs, for :mod:`.warmup`."""
    token = _F64_MAX_CELLS_HERE.set(0)
    try:
        yield
    finally:
        _F64_MAX_CELLS_HERE.reset(token)

MINUTE_KEYS = ("time_s", "ambient_c", "it_kw", "cooling_kw", "facility_kw", "supply_temp_c", "max_gpu_temp_c",
               "throttled_fraction", "electrical_loss_kw")


def _downstream_csr(model):
    """Per server, the loops whose IT heat it counts in (its own loops and every loop downstream of
    them, as :func:`.series.view_series` sums ``server_power @ (downstream @ share)ᵀ``): CSR arrays."""
    from scipy import sparse
    down = sparse.csr_matrix(np.asarray(model.loop_downstream, float)) @ model.loop_server_share.tocsr()  # [m × n]
    t = sparse.csr_matrix(down.T)
    t.eliminate_zeros()
    return t.indptr.astype(np.int64), t.indices.astype(np.int64), t.data.astype(float)


def heat_stored(c, t) -> float:
    """``Σ c·t`` [J] without BLAS: numpy's ``dot`` of more than 10,000 elements starts OpenBLAS's
    threads, which then spin on the other core for a while (perf on the 10,004-server hall: ~0.2
    CPU-s per run, counted in the run's CPU time and slowing the stepping on a 2-core machine)."""
    return float(np.einsum("i,i->", np.asarray(c, float), np.asarray(t, float)))


def rack_series_step(horizon_s: float, dt: float) -> float:
    """Interval of the per-rack series [s]: 60 s up to 7 days, coarser beyond (see
    :data:`RACK_SERIES_STEPS_S`), never shorter than the integrator step ``dt`` [s]."""
    need = horizon_s / RACK_SERIES_MAX_SAMPLES
    for s in RACK_SERIES_STEPS_S:
        if s >= need - 1e-9:
            return max(s, dt)
    return max(RACK_SERIES_STEPS_S[-1], dt, need)


def _calendar(start, month_idx, wall):
    """Per billing month index: ``(year, month)`` of its first sample's local date."""
    from datetime import timedelta
    out = {}
    for mo in np.unique(month_idx):
        first = start + timedelta(seconds=float(wall[np.argmax(month_idx == mo)]))
        out[int(mo)] = (first.year, first.month)
    return out


class RecordArrays(NamedTuple):
    """Everything the stepping kernel accumulates (see :class:`Recorder`).

    acc: float accumulators (``ACC_*`` indices); cnt: counters (``CNT_*``); hours, bins: local hour
    and billing month × hour bin of each minute of the run; by_hour [2 × 24] facility and IT energy
    [J]; bins_e [5 × bins]: facility, IT, cooling energy [J], GPU time above slowdown [s], time with
    any throttling [s]; minutes [rows × 8] (:data:`MINUTE_KEYS`) and loop_min [rows × loops];
    per-server interval and run maxima, interval energy; per-rack series rows; per-server minute
    histories (empty unless recorded); ``p95`` [rows]: GPU-weighted 95th percentile of the dies and
    ``loop_heat`` [rows × loops] (float32): the IT power each loop carries, downstream loops included,
    both at each minute's end (:func:`_minute_series`), with the servers × loops downstream shares
    as CSR (``down_*``) and selection scratch ``sel_v``, ``sel_w`` [n]. Plant parts (issue 11):
    ``chain`` the electrical chain's constants (:func:`.energy.electrical_chain_coeffs`);
    ``coil_loops`` the air loops with a CRAH coil on a parent loop and ``coil_parent`` those parents
    (the coils' dew-point floor); ``rack_in`` [racks] scratch: each rack's warmest air inlet at a
    minute's end (ASHRAE envelope counts); ``rack_w`` [racks]: racks each one stands for (a lumped
    model, :mod:`.lumping`; else ones)."""

    acc: np.ndarray
    cnt: np.ndarray
    hours: np.ndarray
    bins: np.ndarray
    by_hour: np.ndarray
    bins_e: np.ndarray
    minutes: np.ndarray
    loop_min: np.ndarray
    a_loop: np.ndarray
    it_facing: np.ndarray
    is_air: np.ndarray
    iv_max_t: np.ndarray
    iv_max_in: np.ndarray
    iv_e: np.ndarray
    iv_thr0: np.ndarray
    srv_max_t: np.ndarray
    srv_max_in: np.ndarray
    rack_gpus: np.ndarray
    rack_time: np.ndarray
    rack_inlet: np.ndarray
    rack_gmax: np.ndarray
    rack_thr: np.ndarray
    rack_power: np.ndarray
    rack_scr: np.ndarray
    hist_t: np.ndarray
    hist_p: np.ndarray
    inlet: np.ndarray
    p95: np.ndarray
    loop_heat: np.ndarray
    down_indptr: np.ndarray
    down_indices: np.ndarray
    down_data: np.ndarray
    sel_v: np.ndarray
    sel_w: np.ndarray
    chain: np.ndarray
    coil_loops: np.ndarray
    coil_parent: np.ndarray
    rack_in: np.ndarray
    rack_w: np.ndarray


# float accumulators (ACC_LIGHT: lighting and other facility loads [W]; ACC_LOSS: the minute's
# electrical-chain loss; ACC_ENV_* / ACC_DEW_*: ASHRAE envelope rack-minutes and dew-point minutes)
(ACC_E_IT, ACC_E_COOL, ACC_E_REJ, ACC_E_MOVER, ACC_PEAK_IT, ACC_PEAK_FAC, ACC_MAX_THR, ACC_DB, ACC_IT, ACC_COOL,
 ACC_FAC, ACC_SUP, ACC_THR, ACC_CNT, ACC_MAX_T, ACC_NEXT_MIN, ACC_CUR_MIN, ACC_IV_START, ACC_NEXT_RACK,
 ACC_MINUTE_LEN, ACC_RACK_STEP, ACC_HORIZON, ACC_LIGHT, ACC_TOTAL_GPUS, ACC_ANY_AIR, ACC_RECORD_SERVERS,
 ACC_E_CHILLER, ACC_E_LOSS, ACC_LOSS, ACC_ENV_REC, ACC_ENV_A1, ACC_DEW_REC, ACC_DEW_A1) = range(33)
# counters: minute rows, rack rows, steps in the rack interval, server history rows
CNT_MIN, CNT_RACK, CNT_IV_STEPS, CNT_HIST = range(4)


class Recorder:
    """Per-step aggregates of a run of ``n_steps`` of ``dt`` [s], accumulated by the compiled
    :func:`record_step` into :attr:`arrays`.

    model : Model; start : datetime  Local start; record : tuple  ``server`` adds per-server minute
    histories; coupling : :class:`.coupling.Coupling` (air inlets); tl0 [°C], p0 [W]: loop
    temperatures and server powers at the start; t_die0 [°C]: each server's hottest GPU at the start;
    minute_len [s]: length of a minute row (default ``max(60, dt)``); loops: the kernel's
    :class:`.loopbank.LoopState` (its free-cooling seconds go into the result).
    """

    def __init__(self, model: Model, dt: float, n_steps: int, start, record, coupling, tl0, p0, t_die0,
                 minute_len: float | None = None, loops=None):
        m, n = model.m, model.n
        self.model, self.dt, self.n_steps, self.start = model, dt, n_steps, start
        self.horizon = horizon = n_steps * dt
        self.tz = model.plan.site.timezone
        # tariff hour and billing month by minute of the run (steps take the bin of their start)
        times = np.arange(int(np.ceil(horizon / 60.0)) + 1) * 60.0
        hours = local_hour(start, times, self.tz)  # daylight saving included
        # billing month × local hour bins of each step (monthly energy, cost, throttling tables)
        self.month_idx = month_index(start, times, self.tz)
        self.calendar = _calendar(start, self.month_idx, wall_clock_s(start, times, self.tz)) if n_steps else {}
        n_months = int(self.month_idx.max()) + 1 if n_steps else 1
        bins = self.month_idx * 24 + hours
        self.minute_len = minute_len or max(60.0, dt)
        self.rack_step = rack_series_step(horizon, dt)
        nr = len(model.rack_names)
        rows = int(np.ceil(horizon / self.minute_len - 1e-9)) + 2
        rack_rows = int(np.ceil(horizon / self.rack_step - 1e-9)) + 2
        self.record_servers = "server" in record
        hist_rows = rows if self.record_servers else 0
        it_facing = [l for l in range(m) if model.loop_medium[l] in ("air", "liquid")] or list(range(m))
        is_air = model.air_loop >= 0
        any_air = bool(np.any(is_air))
        srv_max_t = np.array(t_die0, dtype=float, copy=True)
        srv_max_in = (np.where(is_air, coupling.inlet(np.asarray(tl0, float), p0), -np.inf) if any_air
                      else np.full(n, -np.inf))
        self.loops = loops
        acc = np.zeros(33)
        acc[ACC_MAX_T] = -np.inf
        acc[ACC_NEXT_MIN] = self.minute_len
        acc[ACC_NEXT_RACK] = self.rack_step
        acc[ACC_MINUTE_LEN], acc[ACC_RACK_STEP], acc[ACC_HORIZON] = self.minute_len, self.rack_step, horizon
        opt = model.options
        # facility power = the IT's draw through the electrical chain + cooling + lighting and other loads
        acc[ACC_LIGHT] = lighting_misc_w(model.hall_area_m2, model.rated_it_w, opt.lighting_w_per_m2,
                                         opt.misc_fraction_of_it)
        chain = electrical_chain_coeffs(model.rated_it_w, opt.ups_loss_coeffs, opt.transformer_loss_coeffs,
                                        opt.electrical_capacity_factor)
        par = model.loop_parent
        coil_loops = [l for l in range(m) if model.loop_medium[l] == "air" and par[l] >= 0
                      and model.loop_coil_ec[l] > 0]
        acc[ACC_TOTAL_GPUS] = float(model.gpus.sum()) or 1.0
        acc[ACC_ANY_AIR], acc[ACC_RECORD_SERVERS] = float(any_air), float(self.record_servers)
        loop_dtype = np.float64 if rows * m <= loop_series_f64_max_cells() else np.float32
        f32 = lambda: np.zeros((rack_rows, nr), np.float32)  # noqa: E731
        self.arrays = RecordArrays(
            acc, np.zeros(4, np.int64), hours.astype(np.int64), bins.astype(np.int64), np.zeros((2, 24)),
            np.zeros((5, 24 * n_months)), np.zeros((rows, len(MINUTE_KEYS))), np.zeros((rows, m), loop_dtype),
            np.zeros(m),
            np.asarray(it_facing, np.int64), is_air, srv_max_t.copy(), srv_max_in.copy(), np.zeros(n), np.zeros(n),
            srv_max_t, srv_max_in,
            np.bincount(model.rack, weights=model.gpus, minlength=nr).astype(float), np.zeros(rack_rows),
            f32(), f32(), f32(), f32(), np.zeros((4, nr)), np.zeros((hist_rows, n)), np.zeros((hist_rows, n)),
            np.zeros(n), np.full(rows, np.nan), np.zeros((rows, m), np.float32), *_downstream_csr(model),
            np.zeros(n), np.zeros(n), chain, np.asarray(coil_loops, np.int64),
            np.asarray([int(par[l]) for l in coil_loops], np.int64), np.zeros(nr),
            np.ones(nr) if model.rack_count is None else np.asarray(model.rack_count, float))

    def finish(self, servers, tl, steps_done: int, t_done: float, *, control: str, cancelled: bool, energy0: float,
               prices, demand_charge: float, server_table=None, groups=None) -> SimulationResult:
        """The result of the steps taken: ``servers`` (:class:`.serverstep.ServerState`, final state),
        ``groups`` (``(GroupTable, GroupState)`` of :mod:`.groupstep`: hottest GPUs and throttling
        statistics), final loop temperatures ``tl`` [°C], tariff ``prices`` [$/kWh by local hour] and
        ``demand_charge`` [$/kW per month]."""
        model, dt, start, tz = self.model, self.dt, self.start, self.tz
        A = self.arrays
        acc, cnt = A.acc, A.cnt
        m = model.m
        if cnt[CNT_IV_STEPS]:  # a cancelled run: close the partial interval
            flush_racks(A, server_table, servers.srv_thr_s, t_done)
        gpus = model.gpus
        rack_of = model.rack
        tl_np = np.array(tl, dtype=float)
        t_srv, t_plt = servers.X[0], servers.X[1]
        gt, gs = groups
        stats = gs.stats  # events, throttled, lost, shut-down, power-capped GPU-s, shutdowns (groupstep)
        e_it, e_cool = acc[ACC_E_IT], acc[ACC_E_COOL]
        energy1 = (heat_stored(server_table.c_die, t_srv) + heat_stored(server_table.c_plate, t_plt)
                   + heat_stored(model.loop_c, tl_np))
        res = SimulationResult(start=start, timezone=tz)
        res.servers, res.gpus = model.n, int(gpus.sum())
        res.steps, res.step_s, res.horizon_s = steps_done, dt, t_done
        res.control, res.integrator, res.cancelled = control, "fast", cancelled
        res.it_energy_kwh = e_it / 3.6e6
        res.cooling_energy_kwh = e_cool / 3.6e6
        res.chiller_energy_kwh = acc[ACC_E_CHILLER] / 3.6e6
        res.electrical_loss_kwh = acc[ACC_E_LOSS] / 3.6e6
        res.lighting_misc_kwh = acc[ACC_LIGHT] * t_done / 3.6e6
        res.facility_energy_kwh = (res.it_energy_kwh + res.cooling_energy_kwh + res.electrical_loss_kwh
                                   + res.lighting_misc_kwh)
        res.pue = pue(res.facility_energy_kwh, res.it_energy_kwh)
        res.pue_cooling = partial_pue(res.it_energy_kwh, res.cooling_energy_kwh)
        per_min = self.minute_len / 3600.0
        res.inlet_rack_hours_outside_recommended = acc[ACC_ENV_REC] * per_min
        res.inlet_rack_hours_outside_a1 = acc[ACC_ENV_A1] * per_min
        res.dew_point_hours_over_recommended = acc[ACC_DEW_REC] * per_min
        res.dew_point_hours_over_a1 = acc[ACC_DEW_A1] * per_min
        if self.loops is not None:
            res.free_cooling_full_hours = float(self.loops.free_s[0]) / 3600.0
            res.free_cooling_partial_hours = float(self.loops.free_s[1]) / 3600.0
        res.peak_it_kw, res.peak_facility_kw = acc[ACC_PEAK_IT] / 1e3, acc[ACC_PEAK_FAC] / 1e3
        res.throttle_events = int(round(stats[0]))
        res.throttled_gpus = int(round(float((gs.ever * gt.w * gpus[:, None]).sum())))
        res.throttled_gpu_hours = stats[1] / 3600.0
        res.lost_gpu_hours = stats[2] / 3600.0
        res.shutdown_gpu_hours = stats[3] / 3600.0
        res.gpu_shutdowns = int(round(stats[5]))
        res.power_cap_lost_gpu_hours = stats[4] / 3600.0
        res.max_throttled_fraction = float(acc[ACC_MAX_THR])
        res.heat_rejected_kwh = acc[ACC_E_REJ] / 3.6e6
        res.stored_energy_change_kwh = (energy1 - energy0) / 3.6e6
        res.mover_heat_kwh = acc[ACC_E_MOVER] / 3.6e6
        rows = int(cnt[CNT_MIN])
        mins = A.minutes[:rows]
        for i, key in enumerate(MINUTE_KEYS):
            if key != "max_gpu_temp_c":
                setattr(res, key, mins[:, i].copy())
        res.max_gpu_temp_c_series = mins[:, MINUTE_KEYS.index("max_gpu_temp_c")].copy()
        res.max_gpu_temp_c = float(max(A.srv_max_t.max(), res.max_gpu_temp_c_series.max(initial=-np.inf)))
        res.loop_supply_c = A.loop_min[:rows]  # views: a year of a large hall is not copied
        res.loop_names = list(model.loop_names)
        res.rack_names = list(model.rack_names)
        nr = len(model.rack_names)
        rin = np.full(nr, -np.inf)
        np.maximum.at(rin, rack_of, A.srv_max_in)
        res.rack_max_inlet_c = np.where(np.isfinite(rin), rin, np.nan)
        res.max_inlet_temp_c = float(np.nanmax(res.rack_max_inlet_c)) if np.any(np.isfinite(rin)) else float("nan")
        rmax = np.full(nr, -np.inf)
        np.maximum.at(rmax, rack_of, A.srv_max_t)
        res.rack_max_gpu_c = rmax
        res.rack_throttled_gpu_hours = np.bincount(rack_of, weights=servers.srv_thr_s * gpus, minlength=nr) / 3600.0
        res.server_names = list(model.server_names)
        res.final_server_temp_c = np.array(gs.t_gpu, dtype=float, copy=True)  # each server's hottest GPU
        res.final_loop_temp_c = tl_np
        res.gpu_p95_c = A.p95[:rows]
        res.loop_heat_kw = A.loop_heat[:rows]
        if self.record_servers:
            res.server_temp_c = A.hist_t[:int(cnt[CNT_HIST])].copy()
            res.server_power_kw = A.hist_p[:int(cnt[CNT_HIST])].copy()
        # cost
        res.energy_cost_usd = energy_cost_usd(A.by_hour[0], prices)
        res.it_cost_usd = energy_cost_usd(A.by_hour[1], prices)
        # quarter hours stay clock-aligned across a daylight-saving change (it shifts by whole hours)
        offset = start.minute * 60 + start.second
        peaks = peak_15min_kw(res.time_s, res.facility_kw, offset)
        res.peak_15min_facility_kw = float(peaks.max()) if peaks.size else 0.0
        in_window = demand_window_mask(start, res.time_s, tz, demand_charge)  # the tariff's on-peak demand hours
        res.demand_charge_usd = demand_charge_usd(res.time_s, res.facility_kw, month_index(start, res.time_s, tz),
                                                  offset, demand_charge,
                                                  month_fractions(start, res.time_s, self.minute_len, tz), in_window)
        res.cost_usd = res.energy_cost_usd + res.demand_charge_usd
        self._annual(res, t_done, prices, demand_charge, offset, in_window)
        k = int(cnt[CNT_RACK])
        res.rack_series_step_s = self.rack_step
        res.rack_series_time_s = A.rack_time[:k].copy()
        res.rack_inlet_c, res.rack_gpu_max_c, res.rack_throttled_fraction, res.rack_power_kw = (
            x[:k] for x in (A.rack_inlet, A.rack_gmax, A.rack_thr, A.rack_power))
        return res

    def _annual(self, res, t_done, prices, demand_charge, offset, in_window=None):
        """Monthly energy, PUE, cost and peak demand (demand charge per billing month), and the
        month × local-hour throttling tables."""
        start, tz = self.start, self.tz
        n_min = int(np.ceil(t_done / 60.0 - 1e-9))
        months = [int(x) for x in np.unique(self.month_idx[:n_min])]
        t_min = res.time_s
        min_month = month_index(start, t_min, tz)
        shares = month_fractions(start, t_min, self.minute_len, tz)
        bins_e = self.arrays.bins_e
        minutes_in = np.bincount(self.month_idx[:n_min], minlength=bins_e.shape[1] // 24)
        thr_any = np.zeros((12, 24))
        thr_gpu = np.zeros((12, 24))
        monthly = []
        for mo in months:
            sl = slice(24 * mo, 24 * mo + 24)
            e_fac = bins_e[0, sl]
            e_it = float(np.sum(bins_e[1, sl]))
            e_cool = float(np.sum(bins_e[2, sl]))
            sel = min_month == mo
            peaks = peak_15min_kw(t_min[sel], res.facility_kw[sel], offset)
            demand = demand_charge_usd(t_min[sel], res.facility_kw[sel], min_month[sel], offset, demand_charge,
                                       {mo: shares.get(mo, 1.0)}, None if in_window is None else in_window[sel])
            energy_cost = energy_cost_usd(e_fac, prices)
            year, month = self.calendar[mo]
            thr_any[month - 1] += bins_e[4, sl] / 3600.0
            thr_gpu[month - 1] += bins_e[3, sl] / 3600.0
            monthly.append({
                "month": f"{year:04d}-{month:02d}", "simulated_h": float(minutes_in[mo]) / 60.0,
                "billing_share": shares.get(mo, 0.0), "it_energy_kwh": e_it / 3.6e6,
                "cooling_energy_kwh": e_cool / 3.6e6, "facility_energy_kwh": float(e_fac.sum()) / 3.6e6,
                "pue": pue(float(e_fac.sum()), e_it), "pue_cooling": partial_pue(e_it, e_cool),
                "energy_cost_usd": energy_cost, "demand_charge_usd": demand,
                "cost_usd": energy_cost + demand, "peak_15min_facility_kw": float(peaks.max()) if peaks.size else 0.0,
                "throttled_gpu_hours": float(np.sum(bins_e[3, sl])) / 3600.0,
                "throttle_hours": float(np.sum(bins_e[4, sl])) / 3600.0})
        res.monthly = monthly
        res.throttle_hours_by_month_hour = thr_any
        res.throttled_gpu_hours_by_month_hour = thr_gpu


# ----------------------------------------------------------------------------- compiled form

from .coupling import rack_rise  # noqa: E402

_chain = njit(electrical_chain_poly)  # the electrical chain's polynomial, compiled from its one source


@njit(refcount=False)
def weighted_select(v, w, target):
    """Smallest value of ``v`` whose cumulative weight (values sorted ascending) reaches ``target``
    (the inverted CDF; :func:`.series.weighted_percentile`); ``v``, ``w`` are reordered in place.
    Expected O(n) (quickselect on the weights)."""
    lo, hi = 0, v.size
    while hi - lo > 1:
        a, b, c = v[lo], v[(lo + hi) // 2], v[hi - 1]  # median of three
        p = max(min(a, b), min(max(a, b), c))
        # three-way partition of [lo, hi): < p, == p, > p
        i, lt, gt = lo, lo, hi
        while i < gt:
            if v[i] < p:
                v[i], v[lt] = v[lt], v[i]
                w[i], w[lt] = w[lt], w[i]
                lt += 1
                i += 1
            elif v[i] > p:
                gt -= 1
                v[i], v[gt] = v[gt], v[i]
                w[i], w[gt] = w[gt], w[i]
            else:
                i += 1
        w_lt = 0.0
        for j in range(lo, lt):
            w_lt += w[j]
        w_eq = 0.0
        for j in range(lt, gt):
            w_eq += w[j]
        if target <= w_lt and lt > lo:
            hi = lt
        elif target <= w_lt + w_eq:
            return p
        else:
            target -= w_lt + w_eq
            lo = gt
    return v[lo]


@njit(refcount=False)
def _minute_series(A, S, t_die, energy, h, row0, reps):
    """The GPU-weighted 95th percentile of the dies and each loop's IT power at a minute's end into
    rows ``row0 …`` (``reps`` of them for a step of several minutes)."""
    n = t_die.size
    total = 0.0
    for i in range(n):
        A.sel_v[i] = t_die[i]
        A.sel_w[i] = S.gpus[i]
        total += S.gpus[i]
    p95 = weighted_select(A.sel_v, A.sel_w, 0.95 * total) if total > 0.0 else math.nan
    m = A.loop_heat.shape[1]
    for r in range(row0, min(row0 + reps, A.p95.size)):
        A.p95[r] = p95
        for l in range(m):
            A.loop_heat[r, l] = 0.0
    if row0 >= A.p95.size:
        return
    for i in range(n):
        p_kw = energy[i] / h / 1e3
        for q in range(A.down_indptr[i], A.down_indptr[i + 1]):
            A.loop_heat[row0, A.down_indices[q]] += A.down_data[q] * p_kw
    for r in range(row0 + 1, min(row0 + reps, A.p95.size)):
        for l in range(m):
            A.loop_heat[r, l] = A.loop_heat[row0, l]


_REC_LO, _REC_HI = (float(x) for x in d.ASHRAE_RECOMMENDED_C)
_A1_LO, _A1_HI = (float(x) for x in d.ASHRAE_A1_C)
_DEW_REC = float(d.ASHRAE_RECOMMENDED_MAX_DEW_POINT_C)
_DEW_A1 = float(d.ASHRAE_A1_MAX_DEW_POINT_C)
_COIL_APPROACH = float(d.COIL_APPARATUS_APPROACH_K)


@njit(refcount=False)
def _minute_end(A, S, D, tl, t_die, energy, h, reps):
    """Samples taken at the end of each minute: air inlets, ASHRAE envelope rack-minutes and coil
    dew-point minutes, the 95th-percentile die and loop IT power series, per-server histories (``reps`` rows: a step of several whole minutes fills each of its
    minutes with its end state, as the minute series does)."""
    _minute_series(A, S, t_die, energy, h, A.cnt[CNT_MIN] - reps, reps)
    if A.acc[ACC_ANY_AIR] > 0.0:
        pw = A.inlet  # scratch: server powers [W]
        for i in range(energy.size):
            pw[i] = energy[i] / h
        recirc = D.has[0]
        if recirc:
            rack_rise(S, D, pw)
        rin = A.rack_in  # each rack's warmest air inlet at this minute's end [°C] (nan: no air server)
        rin[:] = np.nan
        for i in range(energy.size):
            if A.is_air[i]:
                t_in = tl[S.air[i]] + (S.hf[i] * D.delta[S.rack[i]] if recirc else 0.0)
                if t_in > A.iv_max_in[i]:
                    A.iv_max_in[i] = t_in
                r = S.rack[i]
                if not t_in <= rin[r]:  # fmax: nan (no sample yet) gives way
                    rin[r] = t_in
        # ASHRAE envelopes: rack-minutes with the rack's warmest air inlet outside them
        out_rec = out_a1 = 0.0
        for r in range(rin.size):
            x = rin[r]
            if math.isfinite(x):
                if x < _REC_LO or x > _REC_HI:
                    out_rec += A.rack_w[r]
                if x < _A1_LO or x > _A1_HI:
                    out_a1 += A.rack_w[r]
        A.acc[ACC_ENV_REC] += reps * out_rec
        A.acc[ACC_ENV_A1] += reps * out_a1
    if A.coil_loops.size:
        # minutes with a CRAH coil whose chilled water is too warm to hold the hall's dew point
        over_rec = over_a1 = False
        for j in range(A.coil_loops.size):
            floor = tl[A.coil_parent[j]] + _COIL_APPROACH  # the coil's lowest dew point [°C]
            if floor > _DEW_REC:
                over_rec = True
            if floor > _DEW_A1:
                over_a1 = True
        if over_rec:
            A.acc[ACC_DEW_REC] += reps
        if over_a1:
            A.acc[ACC_DEW_A1] += reps
    if A.acc[ACC_RECORD_SERVERS] > 0.0:
        for _ in range(reps):
            row = A.cnt[CNT_HIST]
            if row >= A.hist_t.shape[0]:
                break
            for i in range(t_die.size):
                A.hist_t[row, i] = t_die[i]
                A.hist_p[row, i] = energy[i] * (1.0 / h / 1e3)
            A.cnt[CNT_HIST] = row + 1


@njit(refcount=False)
def _flush_minute(A, S, D, t_end, t_die, tl, energy, h):
    acc = A.acc
    c = acc[ACC_CNT]
    row = A.cnt[CNT_MIN]
    mr = A.minutes[row]
    mr[0] = acc[ACC_CUR_MIN]
    mr[1] = acc[ACC_DB] / c
    mr[2] = acc[ACC_IT] / c / 1e3
    mr[3] = acc[ACC_COOL] / c / 1e3
    mr[4] = acc[ACC_FAC] / c / 1e3
    mr[5] = acc[ACC_SUP] / c
    mr[6] = acc[ACC_MAX_T]
    mr[7] = acc[ACC_THR] / c
    mr[8] = acc[ACC_LOSS] / c / 1e3
    for l in range(A.a_loop.size):
        A.loop_min[row, l] = A.a_loop[l] / c
        A.a_loop[l] = 0.0
    A.cnt[CNT_MIN] = row + 1
    acc[ACC_DB] = acc[ACC_IT] = acc[ACC_COOL] = acc[ACC_FAC] = acc[ACC_SUP] = acc[ACC_THR] = acc[ACC_CNT] = 0.0
    acc[ACC_LOSS] = 0.0
    acc[ACC_MAX_T] = -np.inf
    acc[ACC_CUR_MIN] = acc[ACC_NEXT_MIN]
    while acc[ACC_NEXT_MIN] <= t_end + 1e-9:
        acc[ACC_NEXT_MIN] += acc[ACC_MINUTE_LEN]
    _minute_end(A, S, D, tl, t_die, energy, h, 1)


@njit(refcount=False)
def flush_racks(A, S, srv_thr_s, t_end):
    """Close a per-rack interval: hottest inlet (minute-end samples) and die, throttled share of GPU
    time, mean IT power (:meth:`Recorder` rack series)."""
    acc = A.acc
    nr = A.rack_gpus.size
    span = t_end - acc[ACC_IV_START]
    rin_row, gmax_row, gpu_s, power = A.rack_scr[0], A.rack_scr[1], A.rack_scr[2], A.rack_scr[3]
    rin_row[:] = -np.inf
    gmax_row[:] = -np.inf
    gpu_s[:] = 0.0
    power[:] = 0.0
    for i in range(S.rack.size):
        r = S.rack[i]
        if A.iv_max_in[i] > rin_row[r]:
            rin_row[r] = A.iv_max_in[i]
        if A.iv_max_t[i] > gmax_row[r]:
            gmax_row[r] = A.iv_max_t[i]
        gpu_s[r] += (srv_thr_s[i] - A.iv_thr0[i]) * S.gpus[i]
        power[r] += A.iv_e[i]
    rack_step = acc[ACC_RACK_STEP]
    reps = 1
    if span > rack_step * 1.5:
        reps = max(1, int(round(span / rack_step)))
    for k in range(reps):
        row = A.cnt[CNT_RACK]
        if row >= A.rack_time.size:
            break
        A.rack_time[row] = acc[ACC_IV_START] + k * rack_step
        for r in range(nr):
            A.rack_inlet[row, r] = rin_row[r] if math.isfinite(rin_row[r]) else np.nan
            A.rack_gmax[row, r] = gmax_row[r]
            A.rack_thr[row, r] = gpu_s[r] / (A.rack_gpus[r] * span) if A.rack_gpus[r] > 0 else 0.0
            A.rack_power[row, r] = power[r] / (span * 1e3)
        A.cnt[CNT_RACK] = row + 1
    for i in range(S.rack.size):
        if A.iv_max_t[i] > A.srv_max_t[i]:
            A.srv_max_t[i] = A.iv_max_t[i]
        if A.iv_max_in[i] > A.srv_max_in[i]:
            A.srv_max_in[i] = A.iv_max_in[i]
        A.iv_max_t[i] = -np.inf
        A.iv_max_in[i] = -np.inf
        A.iv_e[i] = 0.0
        A.iv_thr0[i] = srv_thr_s[i]
    acc[ACC_IV_START] = t_end
    A.cnt[CNT_IV_STEPS] = 0
    while acc[ACC_NEXT_RACK] <= t_end + 1e-9:
        acc[ACC_NEXT_RACK] += rack_step


@njit(refcount=False)
def record_step(A, S, D, srv_thr_s, t0, h, db, e_step, mover_w, chiller_w, rejected_w, mover_heat_w, tmax,
                step_thr_gpu_s, t_die, t_peak, tl, energy, servers_done=False):
    """Take the step ``[t0, t0 + h)`` [s] (:class:`Recorder`): mean ambient dry bulb ``db`` [°C], IT
    energy ``e_step`` [J], mean fan/pump and chiller (compressor + condenser fan) electric power
    ``mover_w``, ``chiller_w`` [W], heat the plant loops deliver outdoors ``rejected_w`` [W] (the
    chillers' electricity is rejected with it), fan/pump heat into loops ``mover_heat_w`` [W]; facility
    power = the IT's draw through the electrical chain + cooling + lighting and other loads (issue 11,
    as :class:`.recorder_numpy.Recorder`); hottest die ``tmax`` [°C], GPU
    time above slowdown [s], die temperatures [°C] at the end and hottest over the step ``t_peak``
    [°C] (:mod:`.ripple`), loop supply temperatures ``tl`` [°C] and server energies [J] at the end
    (``servers_done``: the per-server interval maxima and energies were taken by the caller,
    :func:`.groupstep.servers_step_groups`)."""
    acc = A.acc
    it_w = e_step / h
    cool_w = mover_w + chiller_w
    chain_w, loss_w = _chain(A.chain, it_w)
    fac_w = chain_w + cool_w + acc[ACC_LIGHT]
    acc[ACC_E_IT] += e_step
    acc[ACC_E_COOL] += cool_w * h
    acc[ACC_E_CHILLER] += chiller_w * h
    acc[ACC_E_LOSS] += loss_w * h
    acc[ACC_E_REJ] += (rejected_w + chiller_w) * h
    acc[ACC_E_MOVER] += mover_heat_w * h
    mi = int(t0 // 60.0)
    hr = A.hours[mi]
    A.by_hour[0, hr] += fac_w * h
    A.by_hour[1, hr] += e_step
    b = A.bins[mi]
    A.bins_e[0, b] += fac_w * h
    A.bins_e[1, b] += e_step
    A.bins_e[2, b] += cool_w * h
    if step_thr_gpu_s > 0.0:
        A.bins_e[3, b] += step_thr_gpu_s
        A.bins_e[4, b] += h
    if it_w > acc[ACC_PEAK_IT]:
        acc[ACC_PEAK_IT] = it_w
    if fac_w > acc[ACC_PEAK_FAC]:
        acc[ACC_PEAK_FAC] = fac_w
    thr_frac = step_thr_gpu_s / (acc[ACC_TOTAL_GPUS] * h)
    if thr_frac > acc[ACC_MAX_THR]:
        acc[ACC_MAX_THR] = thr_frac
    if not servers_done:
        for i in range(t_die.size):
            if t_peak[i] > A.iv_max_t[i]:
                A.iv_max_t[i] = t_peak[i]
            A.iv_e[i] += energy[i]
    A.cnt[CNT_IV_STEPS] += 1
    sup = -np.inf
    for l in A.it_facing:
        if tl[l] > sup:
            sup = tl[l]
    t_end = t0 + h
    minute_len = acc[ACC_MINUTE_LEN]
    horizon = acc[ACC_HORIZON]
    if h >= minute_len - 1e-9 and acc[ACC_CNT] == 0.0 and abs(t0 - acc[ACC_CUR_MIN]) < 1e-9:
        # a step of whole minutes: its means fill each of its minutes
        reps = int(round(h / minute_len))
        for k in range(reps):
            row = A.cnt[CNT_MIN]
            mr = A.minutes[row]
            mr[0] = t0 + minute_len * k
            mr[1] = db
            mr[2] = it_w / 1e3
            mr[3] = cool_w / 1e3
            mr[4] = fac_w / 1e3
            mr[5] = sup
            mr[6] = tmax
            mr[7] = thr_frac
            mr[8] = loss_w / 1e3
            for l in range(tl.size):
                A.loop_min[row, l] = tl[l]
            A.cnt[CNT_MIN] = row + 1
        acc[ACC_CUR_MIN] = t_end
        acc[ACC_NEXT_MIN] = t_end + minute_len
        _minute_end(A, S, D, tl, t_die, energy, h, reps)
    else:
        if tmax > acc[ACC_MAX_T]:
            acc[ACC_MAX_T] = tmax
        acc[ACC_DB] += db * h
        acc[ACC_IT] += e_step
        acc[ACC_COOL] += cool_w * h
        acc[ACC_FAC] += fac_w * h
        acc[ACC_LOSS] += loss_w * h
        acc[ACC_SUP] += sup * h
        for l in range(tl.size):
            A.a_loop[l] += tl[l] * h
        acc[ACC_THR] += step_thr_gpu_s / acc[ACC_TOTAL_GPUS]
        acc[ACC_CNT] += h
        if t_end >= acc[ACC_NEXT_MIN] - 1e-9 or t_end >= horizon - 1e-9:
            _flush_minute(A, S, D, t_end, t_die, tl, energy, h)
    if t_end >= acc[ACC_NEXT_RACK] - 1e-9 or t_end >= horizon - 1e-9:
        flush_racks(A, S, srv_thr_s, t_end)
