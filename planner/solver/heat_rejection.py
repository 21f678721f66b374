"""Heat rejection to outdoors and between loops, as functions of temperatures.

Pure, vectorised functions named after their models. Capacities are ratios to the rated value so a
plan's ``CoolingUnit.rated_capacity_kw`` stays the one sizing number.
"""
from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from . import defaults as d


def _biquadratic(c, x, y):
    return c[0] + c[1] * x + c[2] * x * x + c[3] * y + c[4] * y * y + c[5] * x * y


def _cubic(c, p):
    return c[0] + p * (c[1] + p * (c[2] + p * c[3]))


def chiller_curve_inputs(t_outdoor_c, t_chw_c=d.CHILLER_RATED_EVAP_C):
    """The (x, y) at which the chiller curves are evaluated [°C], EnergyPlus style.

    ``x`` = leaving chilled water, ``y`` = entering condenser air, each clamped to the curves'
    fitted range (``CHILLER_CHW_RANGE_C``, ``CHILLER_AIR_RANGE_C``) as EnergyPlus clamps curve
    inputs; before clamping, ``y`` is raised to ``T_chw + CHILLER_MIN_LIFT_K`` (minimum lift: head
    pressure control keeps the condenser from following very cold air), so the chiller gains
    nothing from outdoor air below 12.8 °C or below the water + 5 K, whichever is warmer.

    t_outdoor_c : array  Outdoor dry bulb [°C]
    t_chw_c : array  Chilled-water supply (evaporator leaving) temperature [°C]
    """
    t_chw = np.asarray(t_chw_c, dtype=float)
    y = np.maximum(np.asarray(t_outdoor_c, dtype=float), t_chw + d.CHILLER_MIN_LIFT_K)
    return np.clip(t_chw, *d.CHILLER_CHW_RANGE_C), np.clip(y, *d.CHILLER_AIR_RANGE_C)


def _capft(t_outdoor_c, t_chw_c):
    return _biquadratic(d.CHILLER_CAPFT, *chiller_curve_inputs(t_outdoor_c, t_chw_c))


def _eirft(t_outdoor_c, t_chw_c):
    return _biquadratic(d.CHILLER_EIRFT, *chiller_curve_inputs(t_outdoor_c, t_chw_c))


def chiller_capacity_ratio(t_outdoor_c, t_chw_c=d.CHILLER_RATED_EVAP_C, rated_outdoor_c=d.CHILLER_RATED_CONDENSER_C,
                           rated_chw_c=d.CHILLER_RATED_EVAP_C):
    """Available capacity / rated capacity of an air-cooled electric chiller [-].

    EnergyPlus Chiller:Electric:EIR capacity curve ``CAPFT(x, y)`` (ASHRAE 90.1 Appendix J
    air-cooled reference, ``defaults.CHILLER_CAPFT``) at :func:`chiller_curve_inputs`, normalised to
    1 at the unit's own rating: ``rated_outdoor_c`` entering air and ``rated_chw_c`` leaving water
    (a plan's chiller is rated at its selection point; the curve's own reference is 6.67 / 35 °C).
    With rated water: 1.13 at ≤ 12.8 °C air, 1.09 at 25 °C, 1.00 at 35 °C, 0.88 at 44 °C; warmer
    water adds ~1 %/K up to the curve's 16 °C limit.

    t_outdoor_c : array  Outdoor dry bulb [°C]
    t_chw_c : array  Chilled-water supply temperature [°C]
    rated_outdoor_c, rated_chw_c : float  Entering air and leaving water of the rating [°C]
    """
    return np.maximum(_capft(t_outdoor_c, t_chw_c) / _capft(rated_outdoor_c, rated_chw_c), 0.0)


def chiller_power_ratio(t_outdoor_c, t_chw_c=d.CHILLER_RATED_EVAP_C, rated_outdoor_c=d.CHILLER_RATED_CONDENSER_C,
                        rated_chw_c=d.CHILLER_RATED_EVAP_C):
    """Full-load electric input per unit of *available* capacity, relative to the rating [-].

    The EIR curve ``EIRFT(x, y)`` normalised to 1 at the unit's rating: full-load COP at
    (T_out, T_chw) is ``COP_rated / chiller_power_ratio``; it rises as the outdoor air cools
    (down to the low-ambient floor) and as the chilled water warms.
    """
    return _eirft(t_outdoor_c, t_chw_c) / _eirft(rated_outdoor_c, rated_chw_c)


_PLF_FULL = _cubic(d.CHILLER_EIRFPLR, 1.0)


def chiller_part_load_factor(plr):
    """Fraction of full-load electric power drawn at part-load ratio ``plr`` [-].

    ``EIRFPLR(max(PLR, PLR_min)) / EIRFPLR(1) · min(PLR / PLR_min, 1)``: the reference cubic
    (``CHILLER_EIRFPLR``, evaluated on its 0–1 range) as EnergyPlus uses it, with the compressor
    cycling below ``CHILLER_MIN_PLR`` (EnergyPlus's cycling ratio). Divided by its value at full
    load (1.0023, a fit residual) so the rated COP is the unit's rated COP exactly.
    """
    plr = np.clip(np.asarray(plr, dtype=float), *d.CHILLER_PLR_RANGE)
    pmin = d.CHILLER_MIN_PLR
    return _cubic(d.CHILLER_EIRFPLR, np.maximum(plr, pmin)) / _PLF_FULL * np.minimum(plr / pmin, 1.0)


def chiller_electric_power(load_w, rated_capacity_w, t_outdoor_c, cop=d.CHILLER_RATED_COP,
                           rated_outdoor_c=d.CHILLER_RATED_CONDENSER_C, t_chw_c=d.CHILLER_RATED_EVAP_C,
                           rated_chw_c=d.CHILLER_RATED_EVAP_C):
    """Compressor and condenser-fan power of an air-cooled chiller removing ``load_w`` [W].

    ``P = Q_avail / COP · EIR-ratio(T_out, T_chw) · PLF(Q / Q_avail)`` as in EnergyPlus
    Chiller:Electric:EIR (an air-cooled chiller's rated COP includes its condenser fans, AHRI
    550/590), with Q_avail = rated · :func:`chiller_capacity_ratio`, both at the actual outdoor and
    chilled-water temperatures. All of it is rejected at the condenser with the evaporator duty.

    load_w : array  Cooling delivered [W]
    rated_capacity_w : array  Capacity at the rating [W]
    t_outdoor_c : array  Outdoor dry bulb [°C]
    cop : array  Coefficient of performance at the rating, full load [-]
    rated_outdoor_c : array  Entering air of the rating [°C]
    t_chw_c : array  Chilled-water supply temperature [°C]
    rated_chw_c : array  Leaving water of the rating [°C]
    """
    avail = np.asarray(rated_capacity_w, float) * chiller_capacity_ratio(t_outdoor_c, t_chw_c, rated_outdoor_c,
                                                                        rated_chw_c)
    safe = np.where(avail > 0, avail, 1.0)
    plr = np.where(avail > 0, np.asarray(load_w, float) / safe, 0.0)
    return (avail / cop * chiller_power_ratio(t_outdoor_c, t_chw_c, rated_outdoor_c, rated_chw_c)
            * chiller_part_load_factor(plr))


def chiller_cop(t_outdoor_c, t_chw_c=d.CHILLER_RATED_EVAP_C, plr=1.0, cop=d.CHILLER_RATED_COP,
                rated_outdoor_c=d.CHILLER_RATED_CONDENSER_C, rated_chw_c=d.CHILLER_RATED_EVAP_C):
    """Coefficient of performance, cooling delivered / electric input, at part-load ratio ``plr`` [-].

    t_outdoor_c, t_chw_c : array  Outdoor dry bulb, chilled-water supply [°C]
    plr : array  Load / available capacity [-] (> 0)
    cop, rated_outdoor_c, rated_chw_c : rating of the unit (COP [-], air and water [°C])
    """
    ratio = chiller_capacity_ratio(t_outdoor_c, t_chw_c, rated_outdoor_c, rated_chw_c)
    load = np.asarray(plr, float) * ratio
    return load / chiller_electric_power(load, 1.0, t_outdoor_c, cop, rated_outdoor_c, t_chw_c, rated_chw_c)


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
    falls to zero as the dry bulb nears the water temperature (docs/physics.md).

    t_return_c : array  Water entering the cooler (the loop's return) [°C]
    t_dry_bulb_c : array  Outdoor dry bulb [°C]
    approach_k : array  Rated approach [K], > 0
    design_rise_k : array  Rated water temperature rise [K] (0: supply-to-supply form)
    """
    return _ntu_ratio(t_return_c, t_dry_bulb_c, approach_k, design_rise_k)


def cooling_tower_capacity_ratio(t_return_c, t_wet_bulb_c, approach_k, design_rise_k=0.0):
    """Heat rejected by an (open or closed) cooling tower relative to its rating [-].

    Same fixed-effectiveness law as the dry cooler, on wet bulb: towers approach the wet bulb,
    typically 3–6 K (docs/physics.md). Evaporation makes the driving difference the wet bulb.
    """
    return _ntu_ratio(t_return_c, t_wet_bulb_c, approach_k, design_rise_k)


def coil_capacity_ratio(t_return_c, t_parent_supply_c, approach_k, design_rise_k=0.0):
    """Heat moved by a CRAH coil or CDU plate exchanger relative to its rating [-].

    ε-NTU at fixed flows: ∝ (T_return − T_parent_supply) — hall return air vs chilled-water supply
    for a CRAH, technology-loop return vs facility-water supply for a CDU — rated at
    ``approach_k + design_rise_k``.
    """
    return _ntu_ratio(t_return_c, t_parent_supply_c, approach_k, design_rise_k)


def _cubic_curve(c, x):
    return c[0] + x * (c[1] + x * (c[2] + x * c[3]))


def fan_power_fraction(flow_fraction):
    """Variable-speed fan power / design power at ``flow_fraction`` of design flow [-].

    ASHRAE 90.1-2016 Appendix G, Table G3.1.3.15 Method 2 (``defaults.VSD_FAN_CURVE``):
    0.30 at half flow (fan, belt, motor and drive losses; the ideal cube would give 0.125). Flow is
    clipped to 0..1.

    flow_fraction : array  Flow / design flow [-]
    """
    return _cubic_curve(d.VSD_FAN_CURVE, np.clip(np.asarray(flow_fraction, float), 0.0, 1.0))


def pump_power_fraction(flow_fraction):
    """Pump power / design power at ``flow_fraction`` of design flow, held at constant differential
    pressure [-]: power ∝ flow (``defaults.CONSTANT_DP_PUMP_CURVE``, EnergyPlus Pump:VariableSpeed's
    linear default). Flow is clipped to 0..1."""
    return _cubic_curve(d.CONSTANT_DP_PUMP_CURVE, np.clip(np.asarray(flow_fraction, float), 0.0, 1.0))


def server_airflow_fraction(power_fraction):
    """Server airflow / its design airflow at ``power_fraction`` of its max power [-]: the fans hold a
    roughly constant air temperature rise, so airflow follows the heat, down to
    ``defaults.SERVER_MIN_AIRFLOW_FRACTION`` at idle (*estimate*)."""
    return np.clip(np.asarray(power_fraction, float), d.SERVER_MIN_AIRFLOW_FRACTION, 1.0)


def mover_power(rated_power_w, speed_fraction):
    """Fan or pump electric power [W] by the affinity laws: ``P = P_rated · n³``.

    rated_power_w : array  Power at design flow [W]
    speed_fraction : array  Speed (≈ flow) / design [-]
    """
    n = np.asarray(speed_fraction, float)
    return np.asarray(rated_power_w, float) * n * n * n


_Q = d.CHILLER_CAPFT
_E = d.CHILLER_EIRFT
_L = d.CHILLER_EIRFPLR
_XLO, _XHI = d.CHILLER_CHW_RANGE_C
_YLO, _YHI = d.CHILLER_AIR_RANGE_C
_LIFT = d.CHILLER_MIN_LIFT_K
_RISE = d.CHILLER_TEMP_RISE_COEF
_PMIN = d.CHILLER_MIN_PLR


@register_jitable
def _curve_point(t_out: float, t_chw: float) -> tuple[float, float, float, float]:
    """Scalar :func:`chiller_curve_inputs` with the inputs' slopes: ``(x, y, dx/dT_chw, dy/dT_chw)``."""
    if t_chw < _XLO:
        x, dx = _XLO, 0.0
    elif t_chw > _XHI:
        x, dx = _XHI, 0.0
    else:
        x, dx = t_chw, 1.0
    y, dy = t_out, 0.0
    if t_chw + _LIFT > y:  # minimum lift holds the condenser up
        y, dy = t_chw + _LIFT, 1.0
    if y < _YLO:
        y, dy = _YLO, 0.0
    elif y > _YHI:
        y, dy = _YHI, 0.0
    return x, y, dx, dy


@register_jitable
def _capft_scalar(t_out: float, t_chw: float) -> tuple[float, float]:
    """CAPFT at (T_out, T_chw) and its slope d/dT_chw [1/K] (through the clamps and the lift floor)."""
    x, y, dx, dy = _curve_point(t_out, t_chw)
    val = _Q[0] + _Q[1] * x + _Q[2] * x * x + _Q[3] * y + _Q[4] * y * y + _Q[5] * x * y
    return val, (_Q[1] + 2.0 * _Q[2] * x + _Q[5] * y) * dx + (_Q[3] + 2.0 * _Q[4] * y + _Q[5] * x) * dy


def _eirft_scalar(t_out: float, t_chw: float) -> float:
    x, y, _, _ = _curve_point(t_out, t_chw)
    return _E[0] + _E[1] * x + _E[2] * x * x + _E[3] * y + _E[4] * y * y + _E[5] * x * y


def chiller_capacity_linear(rated_w: float, x_cond: float, t_chw: float,
                            rated_chw: float = d.CHILLER_RATED_EVAP_C,
                            rated_outdoor_c: float = d.CHILLER_RATED_CONDENSER_C) -> tuple[float, float]:
    """Chiller capacity [W] at chilled water ``t_chw`` [°C] and its slope d(capacity)/dT_chw [W/K].

    ``x_cond`` is the outdoor dry bulb's offset from the rating, ``(T_out − rated_outdoor_c) /
    CHILLER_TEMP_RISE_COEF`` [K]; ``rated_chw`` / ``rated_outdoor_c`` the rating's leaving water and
    entering air [°C]. Used to linearise the capacity over one integrator step (the curvature over
    a step's change of a few mK is negligible); zero, with zero slope, where the curve gives none.
    """
    raw, slope = _capft_scalar(rated_outdoor_c + x_cond * _RISE, t_chw)
    if raw <= 0.0:
        return 0.0, 0.0
    k = rated_w / _capft_scalar(rated_outdoor_c, rated_chw)[0]
    return k * raw, k * slope


def chiller_electric_power_scalar(load: float, rated_w: float, t_out: float, cop: float, rated_c: float,
                                  t_chw: float, rated_chw: float = d.CHILLER_RATED_EVAP_C) -> float:
    """Scalar :func:`chiller_electric_power` [W] (no numpy overhead in the hot loop)."""
    return chiller_scalar_kernels(rated_w, cop, rated_c, rated_chw)[1](load, t_out, t_chw)


def chiller_rating_constants(rated_w: float, cop: float, rated_c: float,
                             rated_chw: float = d.CHILLER_RATED_EVAP_C) -> tuple[float, float, float, float]:
    """The rating-point constants of one chiller the scalar kernels take: ``(k [W], scale [-], eir_den
    [-], plf_min [-])`` — capacity per unit of CAPFT, ``1 / (COP · EIRFT_rated · PLF(1))``, EIRFT at the
    rating and the cycling part-load slope below ``CHILLER_MIN_PLR``."""
    k = rated_w / _capft_scalar(rated_c, rated_chw)[0]
    eir_den = _eirft_scalar(rated_c, rated_chw)
    pm = d.CHILLER_MIN_PLR
    plf_min = (_L[0] + pm * (_L[1] + pm * (_L[2] + pm * _L[3]))) / _PLF_FULL / pm
    scale = 1.0 / (cop * eir_den * _PLF_FULL)
    return k, scale, eir_den, plf_min


@register_jitable
def chiller_capacity_point(k: float, rated_c: float, x_cond: float, t_chw: float) -> tuple[float, float]:
    """Capacity [W] of a chiller with rating constant ``k`` (:func:`chiller_rating_constants`) and
    rated entering air ``rated_c`` [°C] at ``x_cond`` (the outdoor dry bulb's offset from the rating,
    :func:`chiller_capacity_linear`) and chilled water ``t_chw`` [°C], and its slope d/dT_chw [W/K].
    Plain arithmetic: the stepping kernel compiles this same function (numba ``register_jitable``)."""
    raw, slope = _capft_scalar(rated_c + x_cond * _RISE, t_chw)
    if raw <= 0.0:
        return 0.0, 0.0
    return k * raw, k * slope


@register_jitable
def chiller_power_point(load: float, t_out: float, t_chw: float, k: float, scale: float, cop: float, eir_den: float,
                        plf_min: float) -> float:
    """Electric power [W] (compressor and condenser fans) of a chiller removing ``load`` [W] at
    outdoor ``t_out`` and chilled water ``t_chw`` [°C], with its rating constants
    (:func:`chiller_rating_constants`) and rated ``cop``: :func:`chiller_electric_power`'s numbers.
    Plain arithmetic: the stepping kernel compiles this same function."""
    x, y, _, _ = _curve_point(t_out, t_chw)
    avail = k * (_Q[0] + _Q[1] * x + _Q[2] * x * x + _Q[3] * y + _Q[4] * y * y + _Q[5] * x * y)
    if avail <= 0.0:
        return 0.0
    plr = load / avail
    if plr > 1.0:
        plr = 1.0
    eir = _E[0] + _E[1] * x + _E[2] * x * x + _E[3] * y + _E[4] * y * y + _E[5] * x * y
    if plr >= _PMIN:
        return avail * scale * eir * (_L[0] + plr * (_L[1] + plr * (_L[2] + plr * _L[3])))
    return avail * eir / (cop * eir_den) * plf_min * (plr if plr > 0.0 else 0.0)


def chiller_scalar_kernels(rated_w: float, cop: float, rated_c: float, rated_chw: float = d.CHILLER_RATED_EVAP_C):
    """``(capacity_linear(x_cond, t_chw), electric_power(load, t_out, t_chw))`` for one chiller, with
    the rating-point constants computed once: the same numbers as :func:`chiller_capacity_linear`
    and :func:`chiller_electric_power` (the integrator calls these every step; the stepping kernel
    calls :func:`chiller_capacity_point` / :func:`chiller_power_point` with the same constants)."""
    k, scale, eir_den, plf_min = chiller_rating_constants(rated_w, cop, rated_c, rated_chw)

    def capacity_linear(x_cond: float, t_chw: float) -> tuple[float, float]:
        return chiller_capacity_point(k, rated_c, x_cond, t_chw)

    def electric_power(load: float, t_out: float, t_chw: float) -> float:
        return chiller_power_point(load, t_out, t_chw, k, scale, cop, eir_den, plf_min)

    return capacity_linear, electric_power
