"""Recorder: streams what each step produced into the summary, minute series and per-rack figures,
and builds the :class:`~.results.SimulationResult` at the end (energy, PUE, cost).

Memory does not grow with the horizon except for the per-minute series (and per-server minute
histories when asked for).
"""
from __future__ import annotations

import numpy as np

from .ambient import local_hour, month_fractions, month_index, wall_clock_s
from . import defaults as d
from .energy import (demand_charge_usd, demand_window_mask, electrical_chain_kernel, energy_cost_usd, lighting_misc_w, partial_pue,
                     peak_15min_kw, pue)
from .model import Model
# the per-rack series step, minute keys and billing calendar are the kernel recorder's: both bin a run alike
from .recorder import MINUTE_KEYS, _calendar, rack_series_step
from .results import SimulationResult

class Recorder:
    """Per-step aggregates of a fixed-step run of ``n_steps`` of ``dt`` [s].

    model : Model; start : datetime  Local start; record : tuple  ``server`` adds per-server minute
    histories; coupling : :class:`.coupling.Coupling` (air inlets); scalar : bool  loop temperatures
    come as Python lists (:class:`.loopbank.ScalarLoopBank`) rather than arrays; tl0 [°C], p0 [W]:
    loop temperatures and server powers at the start; servers : :class:`.serverstep.ServerBank`
    (its state at the start; its throttled time per server is read for the rack series).
    """

    def __init__(self, model: Model, dt: float, n_steps: int, start, record, coupling, scalar: bool, tl0, p0,
                 servers, minute_len: float | None = None):
        m, n = model.m, model.n
        self.model, self.dt, self.n_steps, self.start = model, dt, n_steps, start
        self.horizon = n_steps * dt
        opt = model.options
        # facility power = the IT's draw through the electrical chain + cooling + lighting and other loads
        self.chain = electrical_chain_kernel(model.rated_it_w, opt.ups_loss_coeffs, opt.transformer_loss_coeffs,
                                             opt.electrical_capacity_factor)
        self.light_w = lighting_misc_w(model.hall_area_m2, model.rated_it_w, opt.lighting_w_per_m2,
                                       opt.misc_fraction_of_it)
        self.tz = model.plan.site.timezone
        # tariff hour and billing month by minute of the run (steps take the bin of their start)
        times = np.arange(int(np.ceil(self.horizon / 60.0)) + 1) * 60.0
        hours = local_hour(start, times, self.tz)  # daylight saving included
        self.hours = hours.tolist()
        # billing month × local hour bins of each step (monthly energy, cost, throttling tables)
        self.month_idx = month_index(start, times, self.tz)
        self.calendar = _calendar(start, self.month_idx, wall_clock_s(start, times, self.tz)) if n_steps else {}
        n_months = int(self.month_idx.max()) + 1 if n_steps else 1
        self.bins = (self.month_idx * 24 + hours).tolist()
        self.e_fac_bin = [0.0] * (24 * n_months)
        self.e_it_bin = [0.0] * (24 * n_months)
        self.e_cool_bin = [0.0] * (24 * n_months)
        self.thr_gpu_bin = [0.0] * (24 * n_months)  # GPU time above slowdown [s]
        self.thr_any_bin = [0.0] * (24 * n_months)  # time with any GPU above slowdown [s]
        self.cpl = coupling
        self.scalar = scalar
        self.record_servers = "server" in record
        self.total_gpus = float(model.gpus.sum()) or 1.0
        it_facing = [l for l in range(m) if model.loop_medium[l] in ("air", "liquid")] or list(range(m))
        self.it_facing_list = it_facing
        self.it_single, self.it0 = len(it_facing) == 1, it_facing[0]
        self.it_facing = np.array(it_facing)
        self.is_air = model.air_loop >= 0
        self.any_air = bool(np.any(self.is_air))
        # summary accumulators: energies summed as powers per step [W] (× dt at the end)
        self.e_it = self.e_cool = self.e_mover_heat = self.e_rejected = 0.0
        self.e_chiller = self.e_loss = 0.0
        self.e_by_hour = [0.0] * 24
        self.e_it_by_hour = [0.0] * 24
        self.peak_it = self.peak_fac = 0.0
        self.max_thr_frac = 0.0
        self.servers = servers
        self.srv_max_t = np.array(servers.t_hottest_gpu, dtype=float, copy=True)
        self.srv_max_in = (np.where(self.is_air, coupling.inlet(np.asarray(tl0), p0), -np.inf) if self.any_air
                           else np.full(n, -np.inf))
        # ASHRAE envelopes: rack-minutes with the rack's warmest air inlet outside them, and minutes with a
        # CRAH coil whose chilled water is too warm to hold the hall's dew point under the ceilings
        self.env_rec_min = self.env_a1_min = 0.0
        self.dew_rec_min = self.dew_a1_min = 0.0
        par = model.loop_parent
        self.coil_loops = [l for l in range(m) if model.loop_medium[l] == "air" and par[l] >= 0
                           and model.loop_coil_ec[l] > 0]
        self.coil_parent = [int(par[l]) for l in self.coil_loops]
        self.on_minute = None  # called at the end of each minute (the server step's throttle episodes)
        # per-rack series: interval maxima / sums per server, folded into racks at each interval end
        self.rack_step = rack_series_step(self.horizon, dt)
        self.rack_gpus = np.bincount(model.rack, weights=model.gpus, minlength=len(model.rack_names))
        self.iv_max_t = self.srv_max_t.copy()
        self.iv_max_in = self.srv_max_in.copy()
        self.iv_e = np.zeros(n)
        self.iv_thr0 = servers.srv_thr_s.copy()
        self.iv_start = 0.0
        self.iv_steps = 0
        self.next_rack_end = self.rack_step
        self.rack_series: dict[str, list] = {k: [] for k in ("time_s", "inlet_c", "gpu_max_c", "throttled_fraction",
                                                             "power_kw")}
        # minute aggregation
        self.minute_len = minute_len or max(60.0, dt)
        self.mins: dict[str, list] = {k: [] for k in MINUTE_KEYS}
        self.loop_min: list = []
        self.srv_hist_t: list = []
        self.srv_hist_p: list = []
        self._reset_minute()
        self.next_minute_end = self.minute_len
        self.cur_min_start = 0.0

    def _reset_minute(self):
        self.a_db = self.a_it = self.a_cool = self.a_fac = self.a_sup = self.a_thr = self.a_cnt = self.a_loss = 0.0
        self.a_loop = np.zeros(self.model.m)
        self.a_loop_l = [0.0] * self.model.m
        self.acc_max_t = -np.inf

    def step(self, t0: float, h: float, db: float, e_step: float, mover_w: float, chiller_w: float,
             rejected_w: float, mover_heat_w: float, tmax: float, step_thr_gpu_s: float, t_die, tl, energy) -> None:
        """Take the step ``[t0, t0 + h)`` [s]: mean ambient dry bulb ``db`` [°C], IT energy ``e_step``
        [J], mean fan/pump and chiller (compressor + condenser fan) electric power ``mover_w``,
        ``chiller_w`` [W], heat the plant loops deliver outdoors ``rejected_w`` [W] (the chillers'
        electricity is rejected with it), fan/pump heat into loops ``mover_heat_w`` [W], hottest GPU
        ``tmax`` [°C], GPU time below full clock [s], each server's hottest GPU [°C], loop supply
        temperatures ``tl`` [°C] and server energies [J] at the end."""
        it_w = e_step / h
        cool_w = mover_w + chiller_w
        chain_w, loss_w = self.chain(it_w)
        fac_w = chain_w + cool_w + self.light_w
        self.e_it += e_step
        self.e_cool += cool_w * h
        self.e_chiller += chiller_w * h
        self.e_loss += loss_w * h
        self.e_rejected += (rejected_w + chiller_w) * h
        self.e_mover_heat += mover_heat_w * h
        mi = int(t0 // 60.0)
        hr = self.hours[mi]
        self.e_by_hour[hr] += fac_w * h
        self.e_it_by_hour[hr] += e_step
        b = self.bins[mi]
        self.e_fac_bin[b] += fac_w * h
        self.e_it_bin[b] += e_step
        self.e_cool_bin[b] += cool_w * h
        if step_thr_gpu_s > 0.0:
            self.thr_gpu_bin[b] += step_thr_gpu_s
            self.thr_any_bin[b] += h
        if it_w > self.peak_it:
            self.peak_it = it_w
        if fac_w > self.peak_fac:
            self.peak_fac = fac_w
        thr_frac = step_thr_gpu_s / (self.total_gpus * h)
        if thr_frac > self.max_thr_frac:
            self.max_thr_frac = thr_frac
        np.maximum(self.iv_max_t, t_die, out=self.iv_max_t)
        self.iv_e += energy
        self.iv_steps += 1
        if self.scalar:
            sup = tl[self.it0] if self.it_single else max([tl[i] for i in self.it_facing_list])
        else:
            sup = np.maximum.reduce(tl[self.it_facing])
        t_end = t0 + h
        if h >= self.minute_len - 1e-9 and self.a_cnt == 0.0 and abs(t0 - self.cur_min_start) < 1e-9:
            # a step of whole minutes: its means fill each of its minutes
            reps = int(round(h / self.minute_len))
            mins = self.mins
            mins["time_s"].extend((t0 + self.minute_len * np.arange(reps)).tolist())
            for key, val in (("ambient_c", db), ("it_kw", it_w / 1e3), ("cooling_kw", cool_w / 1e3),
                             ("facility_kw", fac_w / 1e3), ("supply_temp_c", sup), ("max_gpu_temp_c", tmax),
                             ("throttled_fraction", thr_frac), ("electrical_loss_kw", loss_w / 1e3)):
                mins[key].extend([val] * reps)
            row = np.array(tl, dtype=float)
            self.loop_min.extend([row] * reps)
            self.cur_min_start = t_end
            self.next_minute_end = t_end + self.minute_len
            self._minute_end(t_end, t_die, tl, energy, h, reps)
        else:
            if tmax > self.acc_max_t:
                self.acc_max_t = tmax
            self.a_db += db * h
            self.a_it += e_step
            self.a_cool += cool_w * h
            self.a_fac += fac_w * h
            self.a_loss += loss_w * h
            if self.scalar:
                self.a_sup += sup * h
                a_loop_l = self.a_loop_l
                for i in range(len(a_loop_l)):
                    a_loop_l[i] += tl[i] * h
            else:
                self.a_sup += sup * h
                self.a_loop += tl * h
            self.a_thr += step_thr_gpu_s / self.total_gpus
            self.a_cnt += h
            if t_end >= self.next_minute_end - 1e-9 or t_end >= self.horizon - 1e-9:
                self._flush_minute(t_end, t_die, tl, energy, h)
        if t_end >= self.next_rack_end - 1e-9 or t_end >= self.horizon - 1e-9:
            self._flush_racks(t_end)

    def _flush_minute(self, t_end, t_die, tl, energy, h):
        c = self.a_cnt
        mins = self.mins
        mins["time_s"].append(self.cur_min_start)
        mins["ambient_c"].append(self.a_db / c)
        mins["it_kw"].append(self.a_it / c / 1e3)
        mins["cooling_kw"].append(self.a_cool / c / 1e3)
        mins["facility_kw"].append(self.a_fac / c / 1e3)
        mins["supply_temp_c"].append(self.a_sup / c)
        mins["max_gpu_temp_c"].append(self.acc_max_t)
        mins["throttled_fraction"].append(self.a_thr / c)
        mins["electrical_loss_kw"].append(self.a_loss / c / 1e3)
        self.loop_min.append((np.array(self.a_loop_l) if self.scalar else self.a_loop) / c)
        self._reset_minute()
        self.cur_min_start = self.next_minute_end
        while self.next_minute_end <= t_end + 1e-9:
            self.next_minute_end += self.minute_len
        self._minute_end(t_end, t_die, tl, energy, h)

    def _minute_end(self, t_end, t_die, tl, energy, h, minutes: int = 1):
        """Samples taken at the end of each minute (``minutes`` of them for a longer step): air inlets,
        ASHRAE envelope counts, throttle episodes, per-server histories."""
        if self.on_minute is not None:
            self.on_minute(minutes)
        if self.any_air:
            inlet = self.cpl.inlet(np.asarray(tl), energy / h)
            np.maximum(self.iv_max_in, inlet, out=self.iv_max_in, where=self.is_air)
            rack_in = np.full(len(self.model.rack_names), np.nan)
            np.fmax.at(rack_in, self.model.rack[self.is_air], inlet[self.is_air])
            r = rack_in[np.isfinite(rack_in)]
            lo, hi = d.ASHRAE_RECOMMENDED_C
            self.env_rec_min += minutes * float(np.count_nonzero((r < lo) | (r > hi)))
            lo, hi = d.ASHRAE_A1_C
            self.env_a1_min += minutes * float(np.count_nonzero((r < lo) | (r > hi)))
        if self.coil_loops:
            floor = np.asarray(tl, float)[self.coil_parent] + d.COIL_APPARATUS_APPROACH_K  # coils' lowest dew point
            self.dew_rec_min += minutes * float(np.any(floor > d.ASHRAE_RECOMMENDED_MAX_DEW_POINT_C))
            self.dew_a1_min += minutes * float(np.any(floor > d.ASHRAE_A1_MAX_DEW_POINT_C))
        if self.record_servers:
            self.srv_hist_t.append(t_die.copy())
            self.srv_hist_p.append(energy * (1.0 / h / 1e3))

    def _flush_racks(self, t_end):
        """Close a per-rack interval: hottest inlet (minute-end samples) and die, throttled share of
        GPU time, mean IT power."""
        model = self.model
        rack = model.rack
        nr = len(model.rack_names)
        span = t_end - self.iv_start
        rs = self.rack_series
        rin = np.full(nr, -np.inf)
        np.maximum.at(rin, rack, self.iv_max_in)
        rmax = np.full(nr, -np.inf)
        np.maximum.at(rmax, rack, self.iv_max_t)
        thr = self.servers.srv_thr_s
        gpu_s = np.bincount(rack, weights=(thr - self.iv_thr0) * model.gpus, minlength=nr)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(self.rack_gpus > 0, gpu_s / (self.rack_gpus * span), 0.0).astype(np.float32)
        power = (np.bincount(rack, weights=self.iv_e, minlength=nr) / (span * 1e3)).astype(np.float32)
        inlet = np.where(np.isfinite(rin), rin, np.nan).astype(np.float32)
        gmax = rmax.astype(np.float32)
        # a step longer than the interval fills each interval it covers with its means
        reps = max(1, int(round(span / self.rack_step))) if span > self.rack_step * 1.5 else 1
        for i in range(reps):
            rs["time_s"].append(self.iv_start + i * self.rack_step)
            rs["inlet_c"].append(inlet)
            rs["gpu_max_c"].append(gmax)
            rs["throttled_fraction"].append(frac)
            rs["power_kw"].append(power)
        np.maximum(self.srv_max_t, self.iv_max_t, out=self.srv_max_t)
        np.maximum(self.srv_max_in, self.iv_max_in, out=self.srv_max_in)
        self.iv_max_t.fill(-np.inf)
        self.iv_max_in.fill(-np.inf)
        self.iv_e.fill(0.0)
        self.iv_thr0 = thr.copy()
        self.iv_start = t_end
        self.iv_steps = 0
        while self.next_rack_end <= t_end + 1e-9:
            self.next_rack_end += self.rack_step

    def finish(self, servers, tl, steps_done: int, t_done: float, *, control: str, cancelled: bool, energy0: float,
               prices, demand_charge: float) -> SimulationResult:
        """The result of the steps taken: ``servers`` (:class:`.serverstep.ServerBank`, final state and
        throttling statistics), final loop temperatures ``tl`` [°C], tariff ``prices`` [$/kWh by
        local hour] and ``demand_charge`` [$/kW per month]."""
        model, dt, start, tz = self.model, self.dt, self.start, self.tz
        m = model.m
        if self.iv_steps:  # a cancelled run: close the partial interval
            self._flush_racks(t_done)
        gpus = model.gpus
        rack_of = model.rack
        tl_np = np.array(tl, dtype=float)
        t_srv, t_plt = servers.t_die, servers.t_plate
        e_mover_heat = self.e_mover_heat
        e_rejected = self.e_rejected
        e_cool = self.e_cool
        e_it = self.e_it
        e_by_hour = np.asarray(self.e_by_hour)
        e_it_by_hour = np.asarray(self.e_it_by_hour)
        energy1 = (float(np.dot(model.c_die, t_srv)) + float(np.dot(model.c_plate, t_plt))
                   + float(np.dot(model.loop_c, tl_np)))
        res = SimulationResult(start=start, timezone=tz)
        res.servers, res.gpus = model.n, int(gpus.sum())
        res.steps, res.step_s, res.horizon_s = steps_done, dt, t_done
        res.control, res.integrator, res.cancelled = control, "fast", cancelled
        res.it_energy_kwh = e_it / 3.6e6
        res.cooling_energy_kwh = e_cool / 3.6e6
        res.chiller_energy_kwh = self.e_chiller / 3.6e6
        res.electrical_loss_kwh = self.e_loss / 3.6e6
        res.lighting_misc_kwh = self.light_w * t_done / 3.6e6
        res.facility_energy_kwh = (res.it_energy_kwh + res.cooling_energy_kwh + res.electrical_loss_kwh
                                   + res.lighting_misc_kwh)
        res.pue = pue(res.facility_energy_kwh, res.it_energy_kwh)
        res.pue_cooling = partial_pue(res.it_energy_kwh, res.cooling_energy_kwh)
        res.peak_it_kw, res.peak_facility_kw = self.peak_it / 1e3, self.peak_fac / 1e3
        res.throttle_events = int(round(servers.events))
        res.throttled_gpus = int(round(servers.throttled_gpus))
        res.shutdown_gpu_hours = servers.shutdown_gpu_s / 3600.0
        res.gpu_shutdowns = int(round(servers.shutdowns))
        res.power_cap_lost_gpu_hours = servers.cap_lost_gpu_s / 3600.0
        per_min = self.minute_len / 3600.0
        res.inlet_rack_hours_outside_recommended = self.env_rec_min * per_min
        res.inlet_rack_hours_outside_a1 = self.env_a1_min * per_min
        res.dew_point_hours_over_recommended = self.dew_rec_min * per_min
        res.dew_point_hours_over_a1 = self.dew_a1_min * per_min
        res.throttled_gpu_hours = servers.thr_gpu_s / 3600.0
        res.lost_gpu_hours = servers.lost_gpu_s / 3600.0
        res.max_throttled_fraction = self.max_thr_frac
        res.heat_rejected_kwh = e_rejected / 3.6e6
        res.stored_energy_change_kwh = (energy1 - energy0) / 3.6e6
        res.mover_heat_kwh = e_mover_heat / 3.6e6
        mins = self.mins
        for key in ("time_s", "ambient_c", "it_kw", "cooling_kw", "facility_kw", "supply_temp_c",
                    "throttled_fraction", "electrical_loss_kw"):
            setattr(res, key, np.asarray(mins[key], float))
        res.max_gpu_temp_c_series = np.asarray(mins["max_gpu_temp_c"], float)
        res.max_gpu_temp_c = float(max(self.srv_max_t.max(), res.max_gpu_temp_c_series.max(initial=-np.inf)))
        res.loop_supply_c = np.asarray(self.loop_min, float).reshape(len(self.loop_min), m)
        res.loop_names = list(model.loop_names)
        res.rack_names = list(model.rack_names)
        nr = len(model.rack_names)
        rin = np.full(nr, -np.inf)
        np.maximum.at(rin, rack_of, self.srv_max_in)
        res.rack_max_inlet_c = np.where(np.isfinite(rin), rin, np.nan)
        res.max_inlet_temp_c = float(np.nanmax(res.rack_max_inlet_c)) if np.any(np.isfinite(rin)) else float("nan")
        rmax = np.full(nr, -np.inf)
        np.maximum.at(rmax, rack_of, self.srv_max_t)
        res.rack_max_gpu_c = rmax
        res.rack_throttled_gpu_hours = np.bincount(rack_of, weights=servers.srv_thr_s * gpus, minlength=nr) / 3600.0
        res.server_names = list(model.server_names)
        res.final_server_temp_c = np.array(servers.t_hottest_gpu, dtype=float, copy=True)
        res.final_loop_temp_c = tl_np
        if self.record_servers:
            res.server_temp_c = np.asarray(self.srv_hist_t)
            res.server_power_kw = np.asarray(self.srv_hist_p)
        # cost
        res.energy_cost_usd = energy_cost_usd(e_by_hour, prices)
        res.it_cost_usd = energy_cost_usd(e_it_by_hour, prices)
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
        rs = self.rack_series
        res.rack_series_step_s = self.rack_step
        res.rack_series_time_s = np.asarray(rs["time_s"], float)
        nr = len(model.rack_names)
        for key, name in (("inlet_c", "rack_inlet_c"), ("gpu_max_c", "rack_gpu_max_c"),
                          ("throttled_fraction", "rack_throttled_fraction"), ("power_kw", "rack_power_kw")):
            setattr(res, name, np.asarray(rs[key], np.float32).reshape(len(rs[key]), nr))
        return res

    def _annual(self, res, t_done, prices, demand_charge, offset, in_window=None):
        """Monthly energy, PUE, cost and peak demand (demand charge per billing month), and the
        month × local-hour throttling tables."""
        start, tz = self.start, self.tz
        n_min = int(np.ceil(t_done / 60.0 - 1e-9))
        months = sorted({int(x) for x in self.month_idx[:n_min]})
        t_min = res.time_s
        min_month = month_index(start, t_min, tz)
        shares = month_fractions(start, t_min, self.minute_len, tz)
        minutes_in = np.bincount(self.month_idx[:n_min], minlength=len(self.e_fac_bin) // 24)
        thr_any = np.zeros((12, 24))
        thr_gpu = np.zeros((12, 24))
        monthly = []
        for mo in months:
            sl = slice(24 * mo, 24 * mo + 24)
            e_fac = np.asarray(self.e_fac_bin[sl])
            e_it = float(np.sum(self.e_it_bin[sl]))
            e_cool = float(np.sum(self.e_cool_bin[sl]))
            sel = min_month == mo
            peaks = peak_15min_kw(t_min[sel], res.facility_kw[sel], offset)
            demand = demand_charge_usd(t_min[sel], res.facility_kw[sel], min_month[sel], offset, demand_charge,
                                       {mo: shares.get(mo, 1.0)}, None if in_window is None else in_window[sel])
            energy_cost = energy_cost_usd(e_fac, prices)
            year, month = self.calendar[mo]
            thr_any[month - 1] += np.asarray(self.thr_any_bin[sl]) / 3600.0
            thr_gpu[month - 1] += np.asarray(self.thr_gpu_bin[sl]) / 3600.0
            monthly.append({
                "month": f"{year:04d}-{month:02d}", "simulated_h": float(minutes_in[mo]) / 60.0,
                "billing_share": shares.get(mo, 0.0), "it_energy_kwh": e_it / 3.6e6,
                "cooling_energy_kwh": e_cool / 3.6e6, "facility_energy_kwh": float(e_fac.sum()) / 3.6e6,
                "pue": pue(float(e_fac.sum()), e_it), "pue_cooling": partial_pue(e_it, e_cool),
                "energy_cost_usd": energy_cost, "demand_charge_usd": demand,
                "cost_usd": energy_cost + demand, "peak_15min_facility_kw": float(peaks.max()) if peaks.size else 0.0,
                "throttled_gpu_hours": float(np.sum(self.thr_gpu_bin[sl])) / 3600.0,
                "throttle_hours": float(np.sum(self.thr_any_bin[sl])) / 3600.0})
        res.monthly = monthly
        res.throttle_hours_by_month_hour = thr_any
        res.throttled_gpu_hours_by_month_hour = thr_gpu
