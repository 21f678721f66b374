"""Energy, PUE and electricity cost.

``cost = Σ P_facility · Δt · price(local hour) + demand charge · peak 15-minute average kW`` per
calendar month (docs/physics.md, "Energy and cost"). Demand intervals are clock-aligned quarter hours,
as utility meters integrate them. A run that covers only part of a month is charged that month's
demand charge prorated by the share of the month simulated (billing days), so a 7-day run carries
7/31 of a July demand charge, not all of it; the unprorated peak is ``peak_15min_facility_kw``.

Time-of-use demand (:class:`planner.plan.Tariff`): the on-peak charge bills the month's peak quarter
hour inside the tariff's demand window, the off-peak charge the peak quarter hour outside it
(:func:`demand_window_mask`, :func:`demand_charge_usd`). The window is whole local hours, so a
clock-aligned quarter hour lies wholly inside or outside it.
"""
from __future__ import annotations

import numpy as np

from dataclasses import dataclass
from datetime import datetime

from ..plan import Tariff, window_covers_all_time
from . import defaults as d
from .errors import SolverInputError


def check_tariff(tariff: Tariff) -> np.ndarray:
    """24 hourly prices [$/kWh] as an array, or :class:`SolverInputError`."""
    p = np.asarray(tariff.hourly_price_usd_per_kwh, dtype=float)
    if p.shape != (24,):
        raise SolverInputError(f"tariff: hourly_price_usd_per_kwh needs 24 prices, got {p.size}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise SolverInputError("tariff: hourly prices must be finite and ≥ 0 $/kWh")
    dc = tariff.demand_charge_usd_per_kw
    if not np.isfinite(dc) or dc < 0:
        raise SolverInputError(f"tariff: demand_charge_usd_per_kw must be finite and ≥ 0, got {dc}")
    problem = tariff.window_problem()
    if problem:
        raise SolverInputError(f"tariff: {problem}")
    return p


@dataclass(frozen=True)
class DemandCharges:
    """The demand part of a tariff, plain data for the solver's bill (:func:`demand_charges`).

    on_peak_usd_per_kw, off_peak_usd_per_kw : float  [$/kW per month] inside / outside the window
    start_h, end_h : int  Window hours [start, end) of local clock time
    weekdays_only : bool  Window on Monday–Friday only
    months : tuple[int, ...]  Calendar months of the window (empty = all)
    """

    on_peak_usd_per_kw: float
    off_peak_usd_per_kw: float = 0.0
    start_h: int = 0
    end_h: int = 24
    weekdays_only: bool = False
    months: tuple[int, ...] = ()

    @property
    def whole_time(self) -> bool:
        return window_covers_all_time(self.start_h, self.end_h, self.weekdays_only, self.months)


def demand_charges(tariff: Tariff) -> DemandCharges:
    """The tariff's demand charges and window (:class:`DemandCharges`)."""
    return DemandCharges(float(tariff.demand_charge_usd_per_kw), float(tariff.off_peak_demand_charge_usd_per_kw),
                         int(tariff.demand_window_start_h), int(tariff.demand_window_end_h),
                         bool(tariff.demand_window_weekdays_only), tuple(int(m) for m in tariff.demand_window_months))


def as_demand_charges(charge) -> DemandCharges:
    """A :class:`DemandCharges` from one, or from a bare charge [$/kW per month] on every hour."""
    return charge if isinstance(charge, DemandCharges) else DemandCharges(float(charge))


def demand_window_mask(start: datetime, times_s, tz: str, charge) -> np.ndarray:
    """True where the local wall-clock time at elapsed ``times_s`` [s] (from the naive local ``start``,
    daylight saving included, as the tariff hours) lies in the demand window of ``charge``
    (:class:`DemandCharges` or a bare charge: every instant)."""
    from .ambient import month_index, wall_clock_s

    dc = as_demand_charges(charge)
    t = np.asarray(times_s, float)
    if dc.whole_time:
        return np.ones(t.shape, dtype=bool)
    s0 = start.hour * 3600 + start.minute * 60 + start.second + start.microsecond * 1e-6
    local = s0 + wall_clock_s(start, t, tz)  # seconds after the start day's midnight
    hour = np.floor(local / 3600.0) % 24
    inside = (hour >= dc.start_h) & (hour < dc.end_h)
    if dc.weekdays_only:
        weekday = (start.weekday() + np.floor(local / 86400.0).astype(int)) % 7
        inside &= weekday < 5
    if dc.months:
        month = (start.month - 1 + month_index(start, t, tz)) % 12 + 1
        inside &= np.isin(month, dc.months)
    return inside


def energy_cost_usd(energy_by_hour_j, price_usd_per_kwh) -> float:
    """Cost of energy binned by local clock hour [$].

    energy_by_hour_j : array[24]  Energy used in each local hour of day [J]
    price_usd_per_kwh : array[24]  Price by local hour [$/kWh]
    """
    return float(np.dot(np.asarray(energy_by_hour_j) / 3.6e6, price_usd_per_kwh))


def peak_15min_kw(minute_times_s, minute_kw, start_offset_s: float) -> np.ndarray:
    """Clock-aligned 15-minute averages [kW] of minute data.

    minute_times_s : array  Start of each minute from the run start [s]
    minute_kw : array  Mean power in each minute [kW]
    start_offset_s : float  Seconds past the local hour at the run start (for clock alignment)
    """
    t = np.asarray(minute_times_s, float)
    if t.size == 0:
        return np.zeros(0)
    q = np.floor((t + start_offset_s) / 900.0).astype(int)
    q -= q[0]
    sums = np.bincount(q, weights=np.asarray(minute_kw, float))
    counts = np.bincount(q)
    return sums[counts > 0] / counts[counts > 0]


def demand_charge_usd(minute_times_s, minute_kw, month_idx, start_offset_s, charge,
                      month_share=None, in_window=None) -> float:
    """Σ over calendar months of the demand charges × share of the month simulated [$]: the on-peak
    charge on the month's peak 15-min average kW inside the demand window, the off-peak charge on
    the peak outside it.

    charge : DemandCharges | float  The charges (:func:`demand_charges`), or one charge [$/kW per
        month] on the peak at any hour
    month_share : dict | None  Month index -> fraction of that billing month covered [0..1]
        (:func:`planner.solver.ambient.month_fractions`); None charges whole months.
    in_window : array[bool] | None  Each minute inside the demand window (:func:`demand_window_mask`);
        None = every minute
    """
    dc = as_demand_charges(charge)
    if (dc.on_peak_usd_per_kw == 0 and dc.off_peak_usd_per_kw == 0) or len(minute_kw) == 0:
        return 0.0
    t = np.asarray(minute_times_s, float)
    kw = np.asarray(minute_kw, float)
    inside = np.ones(t.shape, dtype=bool) if in_window is None else np.asarray(in_window, dtype=bool)
    total = 0.0
    month_idx = np.asarray(month_idx)
    for mo in np.unique(month_idx):
        share = 1.0 if month_share is None else month_share.get(int(mo), 1.0)
        for rate, part in ((dc.on_peak_usd_per_kw, inside), (dc.off_peak_usd_per_kw, ~inside)):
            sel = (month_idx == mo) & part
            if rate == 0 or not np.any(sel):
                continue
            peaks = peak_15min_kw(t[sel], kw[sel], start_offset_s)
            total += float(peaks.max()) * rate * share
    return total


def pue(facility_energy, it_energy) -> float:
    """Power usage effectiveness = total facility energy / IT energy [-] (The Green Grid, White Paper
    #49, "PUE: a comprehensive examination of the metric"): facility energy counts everything the
    site's meter sees — IT, cooling, the electrical chain's losses, lighting and other loads."""
    return float(facility_energy / it_energy) if it_energy > 0 else float("nan")


def partial_pue(it_energy, infrastructure_energy) -> float:
    """Partial PUE of one infrastructure subsystem, ``(IT + subsystem) / IT`` [-] (The Green Grid,
    White Paper #49, pPUE); ``pue_cooling`` is this with the cooling energy."""
    return float((it_energy + infrastructure_energy) / it_energy) if it_energy > 0 else float("nan")


# ----------------------------------------------------------------------------- electrical chain

def device_loss_w(output_w, rated_w, coeffs):
    """Losses of a power-conversion device delivering ``output_w`` [W].

    ``rating · (a0 + a1·L + a2·L²)``, L = output / rating: no-load, proportional and square-law
    losses (Rasmussen, APC/Schneider White Paper 113; ``defaults.UPS_LOSS_COEFFS``,
    ``defaults.TRANSFORMER_LOSS_COEFFS``). A device with no rating loses nothing.

    output_w : array  Power delivered to the load [W]
    rated_w : array  Rating [W]
    coeffs : (a0, a1, a2)  Loss fractions of the rating [-]
    """
    rated = np.asarray(rated_w, float)
    safe = np.where(rated > 0, rated, 1.0)
    load = np.asarray(output_w, float) / safe
    a0, a1, a2 = coeffs
    return np.where(rated > 0, rated * (a0 + a1 * load + a2 * load * load), 0.0)


def device_efficiency(load_fraction, coeffs):
    """Efficiency, output / input, at ``load_fraction`` of the rating [-] (:func:`device_loss_w`)."""
    load = np.asarray(load_fraction, float)
    loss = device_loss_w(load, 1.0, coeffs)
    return np.where(load > 0, load / np.where(load > 0, load + loss, 1.0), 0.0)


def electrical_chain_w(it_w, rated_it_w, ups_coeffs=d.UPS_LOSS_COEFFS, transformer_coeffs=d.TRANSFORMER_LOSS_COEFFS,
                       capacity_factor=d.ELECTRICAL_CAPACITY_FACTOR):
    """Utility power drawn for the IT load through the UPS and the PDU transformers [W].

    IT ← PDU transformer ← UPS ← utility, each rated ``capacity_factor · rated_it_w`` (2N: A and B
    side each sized for the whole hall): the transformer delivers ``it_w`` and loses
    :func:`device_loss_w` of it; the UPS delivers that plus the transformer's loss. Returns
    ``(input_w, ups_loss_w, transformer_loss_w)``. Mechanical plant is fed upstream of the UPS
    (not through it), as usual.

    it_w : array  IT power [W]
    rated_it_w : float  The hall's IT power at max [W]
    """
    rated = capacity_factor * float(rated_it_w)
    it = np.asarray(it_w, float)
    xfmr = device_loss_w(it, rated, transformer_coeffs)
    ups = device_loss_w(it + xfmr, rated, ups_coeffs)
    return it + xfmr + ups, ups, xfmr


def electrical_chain_coeffs(rated_it_w: float, ups_coeffs=d.UPS_LOSS_COEFFS,
                            transformer_coeffs=d.TRANSFORMER_LOSS_COEFFS,
                            capacity_factor=d.ELECTRICAL_CAPACITY_FACTOR) -> np.ndarray:
    """The six constants of :func:`electrical_chain_poly` for a hall of ``rated_it_w`` [W]:
    ``(t0 [W], t1 [-], t2 [1/W], u0 [W], u1 [-], u2 [1/W])``, the transformer's and the UPS's
    no-load, proportional and square-law loss terms with their ratings folded in (all zero for a hall
    with no IT rating: no losses)."""
    rated = capacity_factor * float(rated_it_w)
    if rated <= 0.0:
        return np.zeros(6)
    return np.array([rated * transformer_coeffs[0], transformer_coeffs[1], transformer_coeffs[2] / rated,
                     rated * ups_coeffs[0], ups_coeffs[1], ups_coeffs[2] / rated], dtype=float)


def electrical_chain_poly(c, it_w: float) -> tuple[float, float]:
    """:func:`electrical_chain_w` as a polynomial in the IT power ``it_w`` [W] with the constants
    ``c`` of :func:`electrical_chain_coeffs`: ``(input_w, loss_w)`` [W]. Plain arithmetic, so the
    stepping kernel compiles this very function (:mod:`.recorder`)."""
    x = c[0] + it_w * (c[1] + it_w * c[2])  # transformer loss
    o = it_w + x  # what the UPS delivers
    loss = x + c[3] + o * (c[4] + o * c[5])
    return it_w + loss, loss


def electrical_chain_kernel(rated_it_w: float, ups_coeffs=d.UPS_LOSS_COEFFS,
                            transformer_coeffs=d.TRANSFORMER_LOSS_COEFFS, capacity_factor=d.ELECTRICAL_CAPACITY_FACTOR):
    """Scalar :func:`electrical_chain_w` for the stepping loop: ``f(it_w) -> (input_w, loss_w)`` [W]
    (the same numbers, rating constants computed once: :func:`electrical_chain_poly`)."""
    c = tuple(electrical_chain_coeffs(rated_it_w, ups_coeffs, transformer_coeffs, capacity_factor).tolist())
    return lambda it_w: electrical_chain_poly(c, it_w)


def lighting_misc_w(hall_area_m2, rated_it_w, w_per_m2=d.LIGHTING_W_PER_M2, misc_fraction=d.MISC_FRACTION_OF_IT):
    """Constant lighting and other facility loads [W]: ``area · W/m² + fraction · IT at max``.

    hall_area_m2 : float  Floor area of the halls [m²]
    rated_it_w : float  IT power at max [W]
    """
    return float(hall_area_m2) * w_per_m2 + misc_fraction * float(rated_it_w)
