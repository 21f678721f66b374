"""Heat rejection to outdoors and between loops, as functions of temperatures.

Pure, vectorised functions named after their models. Capacities are ratios to the rated value so a
plan's ``CoolingUnit.rated_capacity_kw`` stays the one sizing number.
"""
from __future__ import annotations

import numpy as np

from . import defaults as d


def chiller_delta_t(t_outdoor_c, t_chw_c=d.CHILLER_RATED_EVAP_C, rated_outdoor_c=d.CHILLER_RATED_CONDENSER_C):
    """EnergyPlus Chiller:Electric delta-T variable [K] (ChillerElectric.cc, from BLAST).

    ``dT = (T_cond_in − T_cond_design) / TempRiseCoef − (T_evap_out − T_evap_design)``. For an
    air-cooled chiller the condenser entering temperature is the outdoor dry bulb; the evaporator
    leaving temperature is the chilled-water supply. Warmer chilled water lowers dT and so raises
    capacity and efficiency; a hotter condenser does the opposite.

    t_outdoor_c : array  Outdoor dry bulb [°C]
    t_chw_c : array  Chilled-water supply (evaporator leaving) temperature [°C]
    rated_outdoor_c : float  Condenser entering temperature of the rating [°C]
    """
    return ((np.asarray(t_outdoor_c, dtype=float) - rated_outdoor_c) / d.CHILLER_TEMP_RISE_COEF
            - (np.asarray(t_chw_c, dtype=float) - d.CHILLER_RATED_EVAP_C))


def _quadratic(c, x):
    return c[0] + c[1] * x + c[2] * x * x


def _rated_raw(rated_chw_c):
    """Raw EnergyPlus capacity ratio at a rating with ``rated_chw_c`` leaving water (condenser at its rating)."""
    return _quadratic(d.CHILLER_CAPACITY_COEFFS, -(np.asarray(rated_chw_c, float) - d.CHILLER_RATED_EVAP_C))


def chiller_capacity_ratio(t_outdoor_c, t_chw_c=d.CHILLER_RATED_EVAP_C, rated_outdoor_c=d.CHILLER_RATED_CONDENSER_C,
                           rated_chw_c=d.CHILLER_RATED_EVAP_C):
    """Available capacity / rated capacity of an air-cooled electric chiller [-].

    EnergyPlus Chiller:Electric capacity curve ``0.944836 − 0.0570088 dT + 0.00185486 dT²`` with the
    full delta-T of :func:`chiller_delta_t`, normalised to 1 at the rating: ``rated_outdoor_c``
    entering air and ``rated_chw_c`` leaving water (the solver rates a plan's chiller at its own
    supply setpoint, as an engineer selects it; the EnergyPlus / AHRI 550/590 reference is 6.67 °C).
    With 6.67 °C water: 1.24 at 25 °C, 1.00 at 35 °C, 0.81 at 45 °C (physics.md). Each kelvin of
    warmer water adds ~6 % at the reference (5.7 % at 15 °C water); 15 °C water gives 1.64 × the
    6.67 °C capacity at 35 °C air.

    t_outdoor_c : array  Outdoor dry bulb [°C]
    t_chw_c : array  Chilled-water supply temperature [°C]
    rated_outdoor_c, rated_chw_c : float  Entering air and leaving water of the rating [°C]
    """
    c = d.CHILLER_CAPACITY_COEFFS
    ratio = _quadratic(c, chiller_delta_t(t_outdoor_c, t_chw_c, rated_outdoor_c)) / _rated_raw(rated_chw_c)
    return np.maximum(ratio, 0.0)


def chiller_power_ratio(t_outdoor_c, t_chw_c=d.CHILLER_RATED_EVAP_C, rated_outdoor_c=d.CHILLER_RATED_CONDENSER_C,
                        rated_chw_c=d.CHILLER_RATED_EVAP_C):
    """Full-load electric power per unit of *available* capacity, relative to the rating [-].

    EnergyPlus Chiller:Electric power-ratio curve ``2.333 − 1.975 r + 0.6121 r²`` of the raw
    capacity ratio r (same delta-T, so the evaporator term acts on power consistently), normalised
    to 1 at the rating. Full-load COP at (T_out, T_chw) is ``COP_rated / chiller_power_ratio``.
    """
    cap = d.CHILLER_CAPACITY_COEFFS
    r = _quadratic(cap, chiller_delta_t(t_outdoor_c, t_chw_c, rated_outdoor_c))
    return _quadratic(d.CHILLER_POWER_COEFFS, r) / _quadratic(d.CHILLER_POWER_COEFFS, _rated_raw(rated_chw_c))


def chiller_part_load_factor(plr):
    """Fraction of full-load power drawn at part-load ratio ``plr`` [-] (EnergyPlus Chiller:Electric).

    ``0.03303 + 0.6852 PLR + 0.2818 PLR²``; below the minimum PLR (0.05) the compressor cycles, so
    power scales linearly with PLR from the value at the minimum.
    """
    plr = np.clip(np.asarray(plr, dtype=float), 0.0, 1.0)
    pmin = d.CHILLER_MIN_PLR
    at_min = _quadratic(d.CHILLER_PLR_COEFFS, pmin)
    return np.where(plr >= pmin, _quadratic(d.CHILLER_PLR_COEFFS, plr), at_min * plr / pmin)


def chiller_electric_power(load_w, rated_capacity_w, t_outdoor_c, cop=d.CHILLER_RATED_COP,
                           rated_outdoor_c=d.CHILLER_RATED_CONDENSER_C, t_chw_c=d.CHILLER_RATED_EVAP_C,
                           rated_chw_c=d.CHILLER_RATED_EVAP_C):
    """Compressor (and condenser fan) power of an air-cooled chiller removing ``load_w`` [W].

    ``P = Q_avail / COP · power-ratio(dT) · PLF(Q / Q_avail)`` as in EnergyPlus Chiller:Electric
    (and dc-rl's ``calculate_chiller_power``), with Q_avail = rated · capacity ratio, both at the
    actual outdoor and chilled-water temperatures.

    load_w : array  Cooling delivered [W]
    rated_capacity_w : array  Capacity at the rating [W]
    t_outdoor_c : array  Outdoor dry bulb [°C]
    cop : array  Coefficient of performance at the rating [-]
    t_chw_c : array  Chilled-water supply temperature [°C]
    rated_chw_c : array  Leaving water of the rating [°C]
    """
    avail = np.asarray(rated_capacity_w, float) * chiller_capacity_ratio(t_outdoor_c, t_chw_c, rated_outdoor_c,
                                                                        rated_chw_c)
    safe = np.where(avail > 0, avail, 1.0)
    plr = np.where(avail > 0, np.asarray(load_w, float) / safe, 0.0)
    return (avail / cop * chiller_power_ratio(t_outdoor_c, t_chw_c, rated_outdoor_c, rated_chw_c)
            * chiller_part_load_factor(plr))


def exchanger_conductance(rated_w, approach_k, design_rise_k=0.0):
    """Effectiveness × minimum capacity rate, ``ε·C_min`` [W/K], of a loop-to-parent exchanger.

    At fixed flows a heat exchanger has a fixed effectiveness ε (ε-NTU method, Incropera & DeWitt,
    *Fundamentals of Heat and Mass Transfer*, 6th ed., §11.4, eq. 11.18–11.19 and Table 11.3), so
    the heat it moves is ``q = ε·C_min·(T_hot,in − T_cold,in)``: the driving difference is between
    the two *inlets*. For a loop rejecting to its parent (CDU plate exchanger, CRAH coil, dry
    cooler, tower) the hot inlet is the loop's return and the cold inlet the parent's supply (or the
    outdoor dry / wet bulb). At the rating, ``T_hot,in − T_cold,in = approach + design rise``:
    ``approach`` = leaving hot (this loop's supply) − entering cold, ``design rise`` = rated heat /
    (ρ c_p V̇) of this loop's flow. Hence ``ε·C_min = Q_rated / (approach + rise)``; with no flow
    given (rise 0) it falls back to the supply-to-supply conductance ``Q_rated / approach``, the
    infinite-flow limit.

    rated_w : array  Rated heat [W]
    approach_k : array  Rated approach [K], > 0
    design_rise_k : array  Rated temperature rise of this loop's flow [K], ≥ 0
    """
    return np.asarray(rated_w, float) / (np.asarray(approach_k, float) + np.asarray(design_rise_k, float))


def design_rise_k(rated_w, flow_m3s, rho_cp):
    """Temperature rise of a flow carrying its rated heat, ``Q / (ρ c_p V̇)`` [K]; 0 without a flow.

    rated_w : array  Rated heat [W]
    flow_m3s : array  Volume flow [m³/s]
    rho_cp : float  Volumetric heat capacity [J/(m³·K)] (air 1.2 × 1005, water 997 × 4180)
    """
    flow = np.asarray(flow_m3s, float)
    return np.where(flow > 0, np.asarray(rated_w, float) / (rho_cp * np.where(flow > 0, flow, 1.0)), 0.0)


def _ntu_ratio(t_return_c, t_cold_c, approach_k, design_rise_k):
    return np.maximum(np.asarray(t_return_c, float) - t_cold_c, 0.0) / (approach_k + design_rise_k)


def dry_cooler_capacity_ratio(t_return_c, t_dry_bulb_c, approach_k, design_rise_k=0.0):
    """Heat rejected by a dry cooler at full fan speed, relative to its rating [-].

    ε-NTU at fixed flows (:func:`exchanger_conductance`): ∝ (T_water,return − T_db), rated at
    ``approach_k + design_rise_k`` (leaving water − dry bulb, plus the water's rated rise). It
    falls to zero as the dry bulb nears the water temperature (physics.md).

    t_return_c : array  Water entering the cooler (the loop's return) [°C]
    t_dry_bulb_c : array  Outdoor dry bulb [°C]
    approach_k : array  Rated approach [K], > 0
    design_rise_k : array  Rated water temperature rise [K] (0: supply-to-supply form)
    """
    return _ntu_ratio(t_return_c, t_dry_bulb_c, approach_k, design_rise_k)


def cooling_tower_capacity_ratio(t_return_c, t_wet_bulb_c, approach_k, design_rise_k=0.0):
    """Heat rejected by an (open or closed) cooling tower relative to its rating [-].

    Same fixed-effectiveness law as the dry cooler, on wet bulb: towers approach the wet bulb,
    typically 3–6 K (physics.md). Evaporation makes the driving difference the wet bulb.
    """
    return _ntu_ratio(t_return_c, t_wet_bulb_c, approach_k, design_rise_k)


def coil_capacity_ratio(t_return_c, t_parent_supply_c, approach_k, design_rise_k=0.0):
    """Heat moved by a CRAH coil or CDU plate exchanger relative to its rating [-].

    ε-NTU at fixed flows: ∝ (T_return − T_parent_supply) — hall return air vs chilled-water supply
    for a CRAH, technology-loop return vs facility-water supply for a CDU — rated at
    ``approach_k + design_rise_k``.
    """
    return _ntu_ratio(t_return_c, t_parent_supply_c, approach_k, design_rise_k)


def mover_power(rated_power_w, speed_fraction):
    """Fan or pump electric power [W] by the affinity laws: ``P = P_rated · n³``.

    rated_power_w : array  Power at design flow [W]
    speed_fraction : array  Speed (≈ flow) / design [-]
    """
    n = np.asarray(speed_fraction, float)
    return np.asarray(rated_power_w, float) * n * n * n


_C0, _C1, _C2 = d.CHILLER_CAPACITY_COEFFS
_P0, _P1, _P2 = d.CHILLER_POWER_COEFFS
_L0, _L1, _L2 = d.CHILLER_PLR_COEFFS
_EVAP = d.CHILLER_RATED_EVAP_C
_RISE = d.CHILLER_TEMP_RISE_COEF


def chiller_capacity_linear(rated_w: float, x_cond: float, t_chw: float,
                            rated_chw: float = d.CHILLER_RATED_EVAP_C) -> tuple[float, float]:
    """Chiller capacity [W] at chilled water ``t_chw`` [°C] and its slope d(capacity)/dT_chw [W/K].

    ``x_cond`` is the condenser part of the delta-T, ``(T_out − T_rated)/TempRiseCoef`` [K];
    ``rated_chw`` the leaving water of the rating [°C]. Used to
    linearise the capacity over one integrator step (the quadratic's curvature over a step's change
    of a few mK is negligible); zero, with zero slope, where the curve gives no capacity.
    """
    x = x_cond - (t_chw - _EVAP)
    raw = _C0 + _C1 * x + _C2 * x * x
    if raw <= 0.0:
        return 0.0, 0.0
    xr = -(rated_chw - _EVAP)
    k = rated_w / (_C0 + _C1 * xr + _C2 * xr * xr)
    return k * raw, -k * (_C1 + 2.0 * _C2 * x)


def chiller_electric_power_scalar(load: float, rated_w: float, t_out: float, cop: float, rated_c: float,
                                  t_chw: float, rated_chw: float = d.CHILLER_RATED_EVAP_C) -> float:
    """Scalar :func:`chiller_electric_power` [W] (no numpy overhead in the hot loop)."""
    x = (t_out - rated_c) / _RISE - (t_chw - _EVAP)
    raw = _C0 + _C1 * x + _C2 * x * x
    xr = -(rated_chw - _EVAP)
    raw_r = _C0 + _C1 * xr + _C2 * xr * xr
    avail = rated_w * raw / raw_r
    if avail <= 0.0:
        return 0.0
    power_ratio = (_P0 + _P1 * raw + _P2 * raw * raw) / (_P0 + _P1 * raw_r + _P2 * raw_r * raw_r)
    plr = min(load / avail, 1.0)
    if plr >= d.CHILLER_MIN_PLR:
        plf = _L0 + _L1 * plr + _L2 * plr * plr
    else:
        pm = d.CHILLER_MIN_PLR
        plf = (_L0 + _L1 * pm + _L2 * pm * pm) * plr / pm
    return avail / cop * power_ratio * plf


def chiller_scalar_kernels(rated_w: float, cop: float, rated_c: float, rated_chw: float = d.CHILLER_RATED_EVAP_C):
    """``(capacity_linear(x_cond, t_chw), electric_power(load, t_out, t_chw))`` for one chiller, with
    the rating-point constants computed once: the same numbers as :func:`chiller_capacity_linear`
    and :func:`chiller_electric_power_scalar` (the integrator calls these every step)."""
    xr = -(rated_chw - _EVAP)
    raw_r = _C0 + _C1 * xr + _C2 * xr * xr
    k = rated_w / raw_r
    pr_den = _P0 + _P1 * raw_r + _P2 * raw_r * raw_r
    pm = d.CHILLER_MIN_PLR
    plf_min = (_L0 + _L1 * pm + _L2 * pm * pm) / pm
    x_off = _EVAP - rated_c / _RISE

    def capacity_linear(x_cond: float, t_chw: float) -> tuple[float, float]:
        x = x_cond - (t_chw - _EVAP)
        raw = _C0 + _C1 * x + _C2 * x * x
        if raw <= 0.0:
            return 0.0, 0.0
        return k * raw, -k * (_C1 + 2.0 * _C2 * x)

    def electric_power(load: float, t_out: float, t_chw: float) -> float:
        x = t_out / _RISE + x_off - t_chw
        raw = _C0 + _C1 * x + _C2 * x * x
        avail = k * raw
        if avail <= 0.0:
            return 0.0
        plr = load / avail
        if plr > 1.0:
            plr = 1.0
        plf = _L0 + _L1 * plr + _L2 * plr * plr if plr >= pm else plf_min * plr
        return avail / cop * (_P0 + _P1 * raw + _P2 * raw * raw) / pr_den * plf

    return capacity_linear, electric_power
