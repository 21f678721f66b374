"""Recorder: streams what each step produced into the summary, minute series and per-rack figures,
and builds the :class:`~.results.SimulationResult` at the end (energy, PUE, cost).

Memory does not grow with the horizon except for the per-minute series (and per-server minute
histories when asked for).
"""
from __future__ import annotations

import numpy as np

from .ambient import local_hour, month_fractions, month_index
from .energy import (demand_charge_usd, electrical_chain_kernel, energy_cost_usd, lighting_misc_w, partial_pue,
                     peak_15min_kw, pue)
from . import defaults as d
from .model import Model
from .results import SimulationResult

MINUTE_KEYS = ("time_s", "ambient_c", "it_kw", "cooling_kw", "facility_kw", "supply_temp_c", "max_gpu_temp_c",
               "throttled_fraction", "electrical_loss_kw")


class Recorder:
    """Per-step aggregates of a fixed-step run of ``n_steps`` of ``dt`` [s].

    model : Model; start : datetime  Local start; record : tuple  ``server`` adds per-server minute
    histories; coupling : :class:`.coupling.Coupling` (air inlets); scalar : bool  loop temperatures
    come as Python lists (:class:`.loopbank.ScalarLoopBank`) rather than arrays; tl0 [°C], p0 [W]:
    loop temperatures and server powers at the start.
    """

    def __init__(self, model: Model, dt: float, n_steps: int, start, record, coupling, scalar: bool, tl0, p0,
                 t_die0):
        m, n = model.m, model.n
        self.model, self.dt, self.n_steps, self.start = model, dt, n_steps, start
        self.inv_dt = 1.0 / dt
        opt = model.options
        # facility power = the IT's draw through the electrical chain + cooling + lighting and other loads
        self.chain = electrical_chain_kernel(model.rated_it_w, opt.ups_loss_coeffs, opt.transformer_loss_coeffs,
                                             opt.electrical_capacity_factor)
        self.light_w = lighting_misc_w(model.hall_area_m2, model.rated_it_w, opt.lighting_w_per_m2,
                                       opt.misc_fraction_of_it)
        self.tz = model.plan.site.timezone
        self.hours = local_hour(start, np.arange(n_steps) * dt, self.tz).tolist()  # daylight saving included
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
        self.srv_max_t = np.array(t_die0, dtype=float, copy=True)
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
        # minute aggregation
        self.minute_len = max(60.0, dt)
        self.mins: dict[str, list] = {k: [] for k in MINUTE_KEYS}
        self.loop_min: list = []
        self.srv_hist_t: list = []
        self.srv_hist_p: list = []
        self._reset_minute()
        self.on_minute = None  # called at the end of each minute (the server step's episodes)
        self.next_minute_end = self.minute_len
        self.cur_min_start = 0.0

    def _reset_minute(self):
        self.a_db = self.a_it = self.a_cool = self.a_fac = self.a_sup = self.a_thr = self.a_cnt = self.a_loss = 0.0
        self.a_loop = np.zeros(self.model.m)
        self.a_loop_l = [0.0] * self.model.m
        self.acc_max_t = -np.inf

    def step(self, k: int, db: float, e_step: float, mover_w: float, chiller_w: float, rejected_w: float,
             mover_heat_w: float, tmax: float, step_thr_gpu_s: float, t_die, tl, energy) -> None:
        """Take step ``k``: ambient dry bulb ``db`` [°C], IT energy ``e_step`` [J], fan/pump and chiller
        (compressor + condenser fan) electric power ``mover_w``, ``chiller_w`` [W], heat the plant loops
        deliver outdoors ``rejected_w`` [W] (the chillers' electricity is rejected with it), fan/pump
        heat into loops ``mover_heat_w`` [W], hottest die ``tmax`` [°C], GPU time above slowdown [s],
        die temperatures [°C], loop supply temperatures ``tl`` [°C] and server energies [J] at the end."""
        dt = self.dt
        it_w = e_step / dt
        cool_w = mover_w + chiller_w
        chain_w, loss_w = self.chain(it_w)
        fac_w = chain_w + cool_w + self.light_w
        self.e_it += e_step
        self.e_cool += cool_w
        self.e_chiller += chiller_w
        self.e_loss += loss_w
        self.e_rejected += rejected_w + chiller_w
        self.e_mover_heat += mover_heat_w
        h = self.hours[k]
        self.e_by_hour[h] += fac_w
        self.e_it_by_hour[h] += it_w
        if it_w > self.peak_it:
            self.peak_it = it_w
        if fac_w > self.peak_fac:
            self.peak_fac = fac_w
        thr_frac = step_thr_gpu_s / (self.total_gpus * dt)
        if thr_frac > self.max_thr_frac:
            self.max_thr_frac = thr_frac
        np.maximum(self.srv_max_t, t_die, out=self.srv_max_t)
        if tmax > self.acc_max_t:
            self.acc_max_t = tmax
        self.a_db += db
        self.a_it += it_w
        self.a_cool += cool_w
        self.a_fac += fac_w
        self.a_loss += loss_w
        if self.scalar:
            self.a_sup += tl[self.it0] if self.it_single else max([tl[i] for i in self.it_facing_list])
            a_loop_l = self.a_loop_l
            for i in range(len(a_loop_l)):
                a_loop_l[i] += tl[i]
        else:
            self.a_sup += np.maximum.reduce(tl[self.it_facing])
            self.a_loop += tl
        self.a_thr += thr_frac
        self.a_cnt += 1.0
        steps_done = k + 1
        t_end = steps_done * dt
        if t_end >= self.next_minute_end - 1e-9 or steps_done == self.n_steps:
            self._flush_minute(t_end, t_die, tl, energy)

    def _flush_minute(self, t_end, t_die, tl, energy):
        if self.on_minute is not None:
            self.on_minute()
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
        if self.any_air:
            inlet = self.cpl.inlet(np.asarray(tl), energy * self.inv_dt)
            np.maximum(self.srv_max_in, inlet, out=self.srv_max_in, where=self.is_air)
            rack_in = np.full(len(self.model.rack_names), np.nan)
            np.fmax.at(rack_in, self.model.rack[self.is_air], inlet[self.is_air])
            r = rack_in[np.isfinite(rack_in)]
            lo, hi = d.ASHRAE_RECOMMENDED_C
            self.env_rec_min += float(np.count_nonzero((r < lo) | (r > hi)))
            lo, hi = d.ASHRAE_A1_C
            self.env_a1_min += float(np.count_nonzero((r < lo) | (r > hi)))
        if self.coil_loops:
            t_chw = np.asarray(tl, float)[self.coil_parent]
            floor = t_chw + d.COIL_APPARATUS_APPROACH_K  # the lowest dew point the coils can hold
            self.dew_rec_min += float(np.any(floor > d.ASHRAE_RECOMMENDED_MAX_DEW_POINT_C))
            self.dew_a1_min += float(np.any(floor > d.ASHRAE_A1_MAX_DEW_POINT_C))
        if self.record_servers:
            self.srv_hist_t.append(t_die.copy())
            self.srv_hist_p.append(energy * (self.inv_dt / 1e3))
        self._reset_minute()
        self.cur_min_start = self.next_minute_end
        while self.next_minute_end <= t_end + 1e-9:
            self.next_minute_end += self.minute_len

    def finish(self, servers, tl, steps_done: int, *, control: str, cancelled: bool, energy0: float, prices,
               demand_charge: float) -> SimulationResult:
        """The result of the steps taken: ``servers`` (:class:`.serverstep.ServerBank`, final state and
        throttling statistics), final loop temperatures ``tl`` [°C], tariff ``prices`` [$/kWh by
        local hour] and ``demand_charge`` [$/kW per month]."""
        model, dt, start, tz = self.model, self.dt, self.start, self.tz
        m = model.m
        gpus = model.gpus
        rack_of = model.rack
        tl_np = np.array(tl, dtype=float)
        t_srv, t_plt = servers.t_die, servers.t_plate
        t_gpu = servers.t_hottest_gpu
        e_mover_heat = self.e_mover_heat * dt
        e_rejected = self.e_rejected * dt
        e_cool = self.e_cool * dt
        e_it = self.e_it
        e_by_hour = np.asarray(self.e_by_hour) * dt
        e_it_by_hour = np.asarray(self.e_it_by_hour) * dt
        energy1 = (float(np.dot(model.c_die, t_srv)) + float(np.dot(model.c_plate, t_plt))
                   + float(np.dot(model.loop_c, tl_np)))
        res = SimulationResult(start=start, timezone=tz)
        res.servers, res.gpus = model.n, int(gpus.sum())
        res.steps, res.step_s, res.horizon_s = steps_done, dt, steps_done * dt
        res.control, res.integrator, res.cancelled = control, "fast", cancelled
        res.it_energy_kwh = e_it / 3.6e6
        res.cooling_energy_kwh = e_cool / 3.6e6
        res.chiller_energy_kwh = self.e_chiller * dt / 3.6e6
        res.electrical_loss_kwh = self.e_loss * dt / 3.6e6
        res.lighting_misc_kwh = self.light_w * steps_done * dt / 3.6e6
        res.facility_energy_kwh = (res.it_energy_kwh + res.cooling_energy_kwh + res.electrical_loss_kwh
                                   + res.lighting_misc_kwh)
        res.pue = pue(res.facility_energy_kwh, res.it_energy_kwh)
        res.pue_cooling = partial_pue(res.it_energy_kwh, res.cooling_energy_kwh)
        res.peak_it_kw, res.peak_facility_kw = self.peak_it / 1e3, self.peak_fac / 1e3
        res.throttle_events = int(round(servers.events))
        res.throttled_gpus = int(round(servers.throttled_gpus))
        res.shutdown_gpu_hours = servers.shutdown_gpu_s / 3600.0
        res.power_cap_lost_gpu_hours = servers.cap_lost_gpu_s / 3600.0
        per_min = self.minute_len / 3600.0
        res.inlet_rack_hours_outside_recommended = self.env_rec_min * per_min
        res.inlet_rack_hours_outside_a1 = self.env_a1_min * per_min
        res.dew_point_hours_over_recommended = self.dew_rec_min * per_min
        res.dew_point_hours_over_a1 = self.dew_a1_min * per_min
        res.gpu_shutdowns = int(round(servers.shutdowns))
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
        res.final_server_temp_c = t_gpu.copy()
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
        res.demand_charge_usd = demand_charge_usd(res.time_s, res.facility_kw, month_index(start, res.time_s, tz),
                                                  offset, demand_charge,
                                                  month_fractions(start, res.time_s, self.minute_len, tz))
        res.cost_usd = res.energy_cost_usd + res.demand_charge_usd
        return res
