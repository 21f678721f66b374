"""Moist-air psychrometrics, vectorised over numpy arrays.

Source: ASHRAE Handbook—Fundamentals (2017), ch. 1 "Psychrometrics" (the same
formulas are in the 2009 edition; equation numbers below are those of 2017):

* eq. 3    standard atmosphere  p = 101 325 (1 - 2.25577e-5 Z)^5.2559  [Pa]
* eq. 5, 6 saturation vapour pressure over ice / liquid water (Hyland & Wexler 1983)
* eq. 20   humidity ratio  W = 0.621945 p_w / (p - p_w)
* eq. 33, 35 humidity ratio from thermodynamic wet bulb (above / below freezing)

The wet bulb is found by solving eq. 33/35 for t* with a bracketed Newton
iteration (bracket [dew point, dry bulb], bisection fallback), as PsychroLib
(Meyer & Thevenard 2019, JOSS 4(33) 1137) does with bisection. Following
PsychroLib, the ice/water switch of eq. 5/6 is at the triple point (0.01 °C),
which removes a small discontinuity that stalls the inversion at 0 °C.

Everything is plain numpy; inputs broadcast; scalars in give 0-d arrays or
floats out. Units: temperatures [°C], pressures [Pa], W [kg water / kg dry air],
relative humidity [%].
"""
from __future__ import annotations

import numpy as np

STANDARD_PRESSURE_PA = 101_325.0  # [Pa] sea level, ASHRAE ch. 1 table 1
TRIPLE_POINT_C = 0.01  # [°C]
MW_RATIO = 0.621945  # M_water / M_dry_air [-], ASHRAE ch. 1 eq. 20
_T0 = 273.15  # [K]
_TOL_K = 1e-6  # convergence of the wet-bulb and dew-point solvers [K]
_MAX_ITER = 60


def standard_pressure_pa(elevation_m):
    """Standard-atmosphere pressure at ``elevation_m`` [m] -> [Pa]. ASHRAE ch. 1 eq. 3."""
    z = np.asarray(elevation_m, dtype=float)
    return STANDARD_PRESSURE_PA * (1.0 - 2.25577e-5 * z) ** 5.2559


def saturation_pressure_pa(t_c):
    """Saturation vapour pressure of water [Pa] at ``t_c`` [°C], -100..200 °C.

    Hyland & Wexler (1983) as given in ASHRAE ch. 1 eq. 5 (over ice) and eq. 6
    (over liquid water). Accurate to ~300 ppm against ASHRAE table 3.
    """
    t = np.asarray(t_c, dtype=float)
    tk = t + _T0
    ln_ice = (-5.6745359e03 / tk + 6.3925247 - 9.677843e-03 * tk + 6.2215701e-07 * tk**2
              + 2.0747825e-09 * tk**3 - 9.484024e-13 * tk**4 + 4.1635019 * np.log(tk))
    ln_liq = (-5.8002206e03 / tk + 1.3914993 - 4.8640239e-02 * tk + 4.1764768e-05 * tk**2
              - 1.4452093e-08 * tk**3 + 6.5459673 * np.log(tk))
    return np.exp(np.where(t <= TRIPLE_POINT_C, ln_ice, ln_liq))


def _dln_psat_dt(t_c):
    """d ln(p_ws) / dT [1/K], analytic derivative of eq. 5/6 (for Newton)."""
    t = np.asarray(t_c, dtype=float)
    tk = t + _T0
    d_ice = (5.6745359e03 / tk**2 - 9.677843e-03 + 2 * 6.2215701e-07 * tk
             + 3 * 2.0747825e-09 * tk**2 - 4 * 9.484024e-13 * tk**3 + 4.1635019 / tk)
    d_liq = (5.8002206e03 / tk**2 - 4.8640239e-02 + 2 * 4.1764768e-05 * tk
             - 3 * 1.4452093e-08 * tk**2 + 6.5459673 / tk)
    return np.where(t <= TRIPLE_POINT_C, d_ice, d_liq)


def humidity_ratio_from_vapour_pressure(p_w_pa, pressure_pa):
    """Humidity ratio [kg/kg] from water-vapour partial pressure [Pa]. ASHRAE eq. 20."""
    p_w = np.asarray(p_w_pa, dtype=float)
    return MW_RATIO * p_w / (np.asarray(pressure_pa, dtype=float) - p_w)


def vapour_pressure_from_humidity_ratio(w, pressure_pa):
    """Water-vapour partial pressure [Pa] from humidity ratio [kg/kg]. ASHRAE eq. 20 inverted."""
    w = np.asarray(w, dtype=float)
    return np.asarray(pressure_pa, dtype=float) * w / (MW_RATIO + w)


def humidity_ratio_from_dew_point(t_dp_c, pressure_pa):
    """Humidity ratio [kg/kg] of air with dew point ``t_dp_c`` [°C] at ``pressure_pa`` [Pa]."""
    return humidity_ratio_from_vapour_pressure(saturation_pressure_pa(t_dp_c), pressure_pa)


def humidity_ratio_from_wet_bulb(t_db_c, t_wb_c, pressure_pa):
    """Humidity ratio [kg/kg] from dry bulb and thermodynamic wet bulb [°C]. ASHRAE eq. 33/35."""
    t = np.asarray(t_db_c, dtype=float)
    ts = np.asarray(t_wb_c, dtype=float)
    ws = humidity_ratio_from_vapour_pressure(saturation_pressure_pa(ts), pressure_pa)
    above = ((2501.0 - 2.326 * ts) * ws - 1.006 * (t - ts)) / (2501.0 + 1.86 * t - 4.186 * ts)
    below = ((2830.0 - 0.24 * ts) * ws - 1.006 * (t - ts)) / (2830.0 + 1.86 * t - 2.1 * ts)
    return np.where(ts >= 0.0, above, below)


def dew_point_from_vapour_pressure(p_w_pa):
    """Dew point [°C] from water-vapour partial pressure [Pa]: eq. 5/6 inverted by Newton on ln p."""
    p_w = np.maximum(np.asarray(p_w_pa, dtype=float), 1e-3)
    target = np.log(p_w)
    # Magnus-type first guess (good to ~0.5 K over -40..50 °C), then Newton.
    g = np.log(p_w / 611.2)
    t = 243.12 * g / (17.62 - g)
    for _ in range(_MAX_ITER):
        step = (np.log(saturation_pressure_pa(t)) - target) / _dln_psat_dt(t)
        t = np.clip(t - step, -100.0, 200.0)
        if np.all(np.abs(step) < _TOL_K):
            break
    return t


def dew_point_from_humidity_ratio(w, pressure_pa):
    """Dew point [°C] from humidity ratio [kg/kg] and pressure [Pa]."""
    return dew_point_from_vapour_pressure(vapour_pressure_from_humidity_ratio(w, pressure_pa))


def wet_bulb_from_humidity_ratio(t_db_c, w, pressure_pa, t_dp_c=None):
    """Thermodynamic wet bulb [°C] from dry bulb [°C], humidity ratio [kg/kg], pressure [Pa].

    Solves ASHRAE eq. 33/35 ``W(t_db, t*, p) = w`` for t*, bracketed by
    [dew point, dry bulb]; Newton steps that leave the bracket are replaced by
    bisection, and only unconverged points are iterated. Converges to 1e-6 K,
    usually in 3-4 iterations. ``t_dp_c`` [°C] (optional) is the dew point if
    the caller already has it (saves one inversion).
    """
    t_db, w, p = np.broadcast_arrays(np.asarray(t_db_c, dtype=float),
                                     np.asarray(w, dtype=float),
                                     np.asarray(pressure_pa, dtype=float))
    shape = t_db.shape
    t_db, w, p = t_db.ravel(), np.maximum(w.ravel(), 1e-7), p.ravel()
    hi = t_db.copy()
    lo = dew_point_from_humidity_ratio(w, p) if t_dp_c is None else \
        np.broadcast_to(np.asarray(t_dp_c, dtype=float), shape).ravel()
    lo = np.minimum(lo, hi)
    # Eq. 33 (water) and eq. 35 (ice) do not meet at t* = 0 °C, so for very dry
    # air there can be a root on each side (up to ~0.7 K apart). Take the water
    # branch whenever it has a root, which makes the answer unique.
    straddle = (lo < 0.0) & (hi > 0.0)
    water_root = humidity_ratio_from_wet_bulb(t_db, 0.0, p) <= w
    lo = np.where(straddle & water_root, 0.0, lo)
    hi = np.where(straddle & ~water_root, 0.0, hi)
    out = lo + (hi - lo) / 3.0  # "one-third rule" first guess
    idx = np.arange(t_db.size)
    x = out.copy()
    h = 1e-4  # [K] finite-difference step for the slope
    for _ in range(_MAX_ITER):
        if idx.size == 0:
            break
        tt, ww, pp = t_db[idx], w[idx], p[idx]
        f = humidity_ratio_from_wet_bulb(tt, x, pp) - ww
        # f rises with t*: a positive residual means the root is below x.
        pos = f > 0
        hi[idx] = np.where(pos, x, hi[idx])
        lo[idx] = np.where(pos, lo[idx], x)
        slope = (humidity_ratio_from_wet_bulb(tt, x + h, pp) - ww - f) / h
        with np.errstate(divide="ignore", invalid="ignore"):
            step = f / slope
        newton = x - step
        inside = np.isfinite(newton) & (newton >= lo[idx]) & (newton <= hi[idx])
        x = np.where(inside, newton, 0.5 * (lo[idx] + hi[idx]))
        out[idx] = x
        done = (inside & (np.abs(step) < _TOL_K)) | (hi[idx] - lo[idx] < _TOL_K)
        idx, x = idx[~done], x[~done]
    out = out.reshape(shape)
    return out if out.ndim else float(out)


def wet_bulb_from_dew_point(t_db_c, t_dp_c, pressure_pa):
    """Thermodynamic wet bulb [°C] from dry bulb and dew point [°C] at ``pressure_pa`` [Pa].

    A dew point above the dry bulb (sensor noise in some weather files) is taken
    as saturation, giving wet bulb = dry bulb.
    """
    t_db = np.asarray(t_db_c, dtype=float)
    t_dp = np.minimum(np.asarray(t_dp_c, dtype=float), t_db)
    return wet_bulb_from_humidity_ratio(t_db, humidity_ratio_from_dew_point(t_dp, pressure_pa), pressure_pa, t_dp)


def wet_bulb_from_rel_humidity(t_db_c, rh_pct, pressure_pa):
    """Thermodynamic wet bulb [°C] from dry bulb [°C], relative humidity [%], pressure [Pa]."""
    t_db = np.asarray(t_db_c, dtype=float)
    p_w = np.clip(np.asarray(rh_pct, dtype=float), 0.0, 100.0) / 100.0 * saturation_pressure_pa(t_db)
    return wet_bulb_from_humidity_ratio(t_db, humidity_ratio_from_vapour_pressure(p_w, pressure_pa), pressure_pa)


def rel_humidity_from_humidity_ratio(t_db_c, w, pressure_pa):
    """Relative humidity [%] from dry bulb [°C], humidity ratio [kg/kg], pressure [Pa]."""
    return 100.0 * vapour_pressure_from_humidity_ratio(w, pressure_pa) / saturation_pressure_pa(t_db_c)
