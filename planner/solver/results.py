"""What a simulation returns: a plain dataclass the CLI, GUI and scheduler read."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

SUMMARY_FIELDS = (
    "it_energy_kwh", "cooling_energy_kwh", "facility_energy_kwh", "pue", "pue_cooling", "chiller_energy_kwh",
    "electrical_loss_kwh", "lighting_misc_kwh", "free_cooling_full_hours", "free_cooling_partial_hours",
    "cost_usd", "energy_cost_usd",
    "demand_charge_usd", "it_cost_usd", "peak_it_kw", "peak_facility_kw", "peak_15min_facility_kw",
    "max_gpu_temp_c", "max_inlet_temp_c", "throttle_events", "throttled_gpus", "throttled_gpu_hours", "lost_gpu_hours",
    "max_throttled_fraction", "shutdown_gpu_hours", "gpu_shutdowns", "power_cap_lost_gpu_hours",
    "inlet_rack_hours_outside_recommended", "inlet_rack_hours_outside_a1", "dew_point_hours_over_recommended",
    "dew_point_hours_over_a1", "servers", "gpus", "steps", "step_s", "horizon_s", "wall_time_s",
    "control", "integrator", "cancelled", "heat_rejected_kwh", "stored_energy_change_kwh",
    "mover_heat_kwh", "stepping", "jobs_repeated",
)
MINUTE_FIELDS = ("time_s", "ambient_c", "it_kw", "cooling_kw", "facility_kw", "supply_temp_c",
                 "max_gpu_temp_c", "throttled_fraction", "electrical_loss_kw", "pue", "pue_cooling")


@dataclass
class SimulationResult:
    """Outcome of :func:`planner.solver.simulate`.

    Summary (units in the names): energies [kWh], powers [kW], temperatures [°C], cost [$]
    (``demand_charge_usd`` prorated by the share of each billing month simulated);
    ``facility_energy_kwh`` is the site meter: IT through the electrical chain (``electrical_loss_kwh``:
    UPS and PDU transformers), cooling (``cooling_energy_kwh``: fans, pumps and
    ``chiller_energy_kwh``) and ``lighting_misc_kwh``; ``pue`` = facility / IT (total PUE, The Green
    Grid), ``pue_cooling`` = (IT + cooling) / IT (partial PUE of cooling);
    ``free_cooling_full_hours`` / ``free_cooling_partial_hours`` count chilled-water-loop hours with the
    economiser carrying the whole load (chillers off) / part of it;
    ``throttle_events`` counts throttle episodes in GPUs (per GPU group, on the minute record: an
    episode ends after ``defaults.THROTTLE_EPISODE_GAP_MIN`` quiet minutes, so oscillation within a
    throttled spell does not start new ones and no temperature hysteresis enters the count);
    ``throttled_gpus`` how many GPUs throttled at all (fast integrator; 0 from the reference path);
    ``throttled_gpu_hours`` is GPU time below full clock (NVIDIA's software thermal slowdown above the
    max operating temperature, hardware slowdown, shutdown); ``lost_gpu_hours`` the demanded GPU work
    not delivered, ``Σ gpus · u · (1 − clock) dt`` — the headline; ``max_throttled_fraction`` the
    largest share of GPUs throttled in any step; ``shutdown_gpu_hours`` / ``gpu_shutdowns`` GPUs that
    passed their shutdown temperature (stopped until cooled); ``power_cap_lost_gpu_hours`` the part of
    ``lost_gpu_hours`` given up on purpose by ``predictive-throttle`` control (:mod:`.power_cap`).
    ASHRAE envelopes (Thermal Guidelines, 5th ed.): ``inlet_rack_hours_outside_recommended`` /
    ``_a1`` are rack-hours with a rack's warmest air inlet outside 18–27 °C / 15–32 °C (minute
    record); ``dew_point_hours_over_recommended`` / ``_a1`` are hours in which a CRAH coil's chilled
    water (+ its apparatus approach) is too warm to hold the hall's dew point under 15 / 17 °C — the
    hall's humidity is otherwise not modelled (the economiser is water-side: no outdoor air, no
    outdoor moisture). GPUs are resolved in groups around their
    server's mean die (:mod:`.gpu_control`); temperatures reported are the hottest GPU's. ``heat_rejected_kwh`` is the heat to outdoors through the plant:
    evaporator and exchanger duty plus the chillers' compressor and condenser-fan work; with
    ``stored_energy_change_kwh`` and ``mover_heat_kwh`` it closes the energy balance
    ``IT + fan/pump heat + chiller work = rejected + Δstored``.

    Minute arrays (one entry per minute, or per step if the step is longer): ``time_s`` [s from
    start], ``ambient_c`` (dry bulb), ``it_kw``, ``cooling_kw`` (fans, pumps, compressors),
    ``facility_kw``, ``supply_temp_c`` (hottest IT-facing loop supply), ``max_gpu_temp_c``,
    ``throttled_fraction`` — minute means except ``max_gpu_temp_c`` (minute maximum).
    ``loop_supply_c`` [minutes × loops] per loop. Sampled at each minute's end (any run length, no
    per-server history needed): ``gpu_p95_c`` the GPU-weighted 95th percentile of the servers' dies
    [°C] and ``loop_heat_kw`` [minutes × loops] (float32) the IT power each loop carries, loops
    downstream of it included [kW] (what :func:`.series.view_series` derives from the histories).

    Per rack (``rack_names`` order): ``rack_max_inlet_c``, ``rack_max_gpu_c``,
    ``rack_throttled_gpu_hours``. Per rack over time (floor heat map), one sample per
    ``rack_series_step_s`` (60 s up to 7 days, coarser beyond: at most 10,080 samples) starting at
    ``rack_series_time_s`` [s]: ``rack_inlet_c`` (hottest air inlet, NaN for racks without air),
    ``rack_gpu_max_c`` (hottest GPU), ``rack_throttled_fraction`` (share of the rack's GPU time
    above slowdown), ``rack_power_kw`` (mean IT power) [samples × racks], float32.

    Stepping: ``stepping`` is ``fixed`` or ``adaptive``; ``jobs_repeated`` says the job list was
    repeated with its own period to cover the horizon. Annual outputs: ``monthly`` (one dict per
    billing month: energies [kWh], PUE, energy cost, demand charge (prorated by the share of the
    month simulated) and cost [$], peak 15-min facility demand [kW], throttled GPU-hours and hours
    with any throttling), ``throttle_hours_by_month_hour`` [12 × 24] hours with any GPU above
    slowdown by calendar month and local hour of day, ``throttled_gpu_hours_by_month_hour`` [12 × 24]
    GPU-hours above slowdown. Per server, only if ``record`` had ``'server'``:
    ``server_temp_c`` and ``server_power_kw`` [minutes × servers] sampled at each minute's end.
    """

    start: datetime
    timezone: str = "UTC"
    it_energy_kwh: float = 0.0
    cooling_energy_kwh: float = 0.0
    facility_energy_kwh: float = 0.0
    pue: float = float("nan")
    pue_cooling: float = float("nan")
    chiller_energy_kwh: float = 0.0
    electrical_loss_kwh: float = 0.0
    lighting_misc_kwh: float = 0.0
    free_cooling_full_hours: float = 0.0
    free_cooling_partial_hours: float = 0.0
    cost_usd: float = 0.0
    energy_cost_usd: float = 0.0
    demand_charge_usd: float = 0.0
    it_cost_usd: float = 0.0
    peak_it_kw: float = 0.0
    peak_facility_kw: float = 0.0
    peak_15min_facility_kw: float = 0.0
    max_gpu_temp_c: float = float("nan")
    max_inlet_temp_c: float = float("nan")
    throttle_events: int = 0
    throttled_gpus: int = 0
    throttled_gpu_hours: float = 0.0
    lost_gpu_hours: float = 0.0
    max_throttled_fraction: float = 0.0
    shutdown_gpu_hours: float = 0.0
    gpu_shutdowns: int = 0
    power_cap_lost_gpu_hours: float = 0.0
    inlet_rack_hours_outside_recommended: float = 0.0
    inlet_rack_hours_outside_a1: float = 0.0
    dew_point_hours_over_recommended: float = 0.0
    dew_point_hours_over_a1: float = 0.0
    servers: int = 0
    gpus: int = 0
    steps: int = 0
    step_s: float = 0.0
    horizon_s: float = 0.0
    wall_time_s: float = 0.0
    control: str = "reactive"
    integrator: str = "fast"
    cancelled: bool = False
    heat_rejected_kwh: float = 0.0
    stored_energy_change_kwh: float = 0.0
    mover_heat_kwh: float = 0.0
    time_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ambient_c: np.ndarray = field(default_factory=lambda: np.zeros(0))
    it_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cooling_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    facility_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    electrical_loss_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    supply_temp_c: np.ndarray = field(default_factory=lambda: np.zeros(0))
    max_gpu_temp_c_series: np.ndarray = field(default_factory=lambda: np.zeros(0))
    throttled_fraction: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loop_supply_c: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    loop_names: list = field(default_factory=list)
    rack_names: list = field(default_factory=list)
    rack_max_inlet_c: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rack_max_gpu_c: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rack_throttled_gpu_hours: np.ndarray = field(default_factory=lambda: np.zeros(0))
    server_names: list = field(default_factory=list)
    server_temp_c: np.ndarray | None = None
    server_power_kw: np.ndarray | None = None
    gpu_p95_c: np.ndarray | None = None
    loop_heat_kw: np.ndarray | None = None
    final_server_temp_c: np.ndarray | None = None
    final_loop_temp_c: np.ndarray | None = None
    stepping: str = "fixed"
    jobs_repeated: bool = False
    rack_series_step_s: float = 60.0
    rack_series_time_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rack_inlet_c: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    rack_gpu_max_c: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    rack_throttled_fraction: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    rack_power_kw: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    monthly: list = field(default_factory=list)
    throttle_hours_by_month_hour: np.ndarray = field(default_factory=lambda: np.zeros((12, 24)))
    throttled_gpu_hours_by_month_hour: np.ndarray = field(default_factory=lambda: np.zeros((12, 24)))

    def summary(self) -> dict:
        """The summary fields as a JSON-ready dict (floats rounded for printing, not for maths)."""
        out = {}
        for k in SUMMARY_FIELDS:
            v = getattr(self, k)
            if isinstance(v, (np.floating, float)):
                v = float(v)
                v = None if not np.isfinite(v) else round(v, 6)
            elif isinstance(v, (np.integer,)):
                v = int(v)
            out[k] = v
        return out

    def annual(self) -> dict:
        """Monthly figures and the month × hour throttling tables as a JSON-ready dict."""
        def clean(v):
            if isinstance(v, (float, np.floating)):
                v = float(v)
                return None if not np.isfinite(v) else round(v, 6)
            return v
        return {"monthly": [{k: clean(v) for k, v in row.items()} for row in self.monthly],
                "throttle_hours_by_month_hour": np.round(np.asarray(self.throttle_hours_by_month_hour, float), 6).tolist(),
                "throttled_gpu_hours_by_month_hour":
                    np.round(np.asarray(self.throttled_gpu_hours_by_month_hour, float), 6).tolist()}

    def minute_table(self) -> dict:
        """Minute series by CSV column name (``max_gpu_temp_c`` is the series, not the summary)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            pue_min = np.where(self.it_kw > 0, self.facility_kw / self.it_kw, np.nan)
            pue_cool = np.where(self.it_kw > 0, (self.it_kw + self.cooling_kw) / self.it_kw, np.nan)
        loss = self.electrical_loss_kw if self.electrical_loss_kw.size == self.time_s.size else \
            np.full(self.time_s.size, np.nan)
        return {"time_s": self.time_s, "ambient_c": self.ambient_c, "it_kw": self.it_kw,
                "cooling_kw": self.cooling_kw, "facility_kw": self.facility_kw, "electrical_loss_kw": loss,
                "pue": pue_min, "pue_cooling": pue_cool,
                "supply_temp_c": self.supply_temp_c, "max_gpu_temp_c": self.max_gpu_temp_c_series,
                "throttled_fraction": self.throttled_fraction}

    def write_timeseries_csv(self, path, *, protect=()) -> None:
        """One row per minute: ``time`` (ISO 8601, site local time) and the minute series.

        Written through :func:`planner.outputs.atomic_output`: never over a plan or one of the
        ``protect`` paths, never a half file (``OutputError`` says why not).
        """
        from ..outputs import atomic_output
        from .ambient import local_times
        table = self.minute_table()
        times = local_times(self.start, self.time_s, self.timezone)
        cols = [c for c in MINUTE_FIELDS if c != "time_s"]
        with atomic_output(path, protect=protect) as fh:
            w = csv.writer(fh)
            w.writerow(["time"] + cols + [f"supply_{n}_c" for n in self.loop_names])
            for k, t in enumerate(times):
                row = [t] + [f"{float(table[c][k]):.4f}" for c in cols]
                row += [f"{float(x):.4f}" for x in self.loop_supply_c[k]] if self.loop_supply_c.size else []
                w.writerow(row)
