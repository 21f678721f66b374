"""Outdoor conditions on the integrator's time grid, from whatever the caller has.

``weather`` may be

* ``None`` — load the scenario's ``weather_file`` with :func:`planner.weather.load_weather`;
* a path or bundled name (``str`` / ``Path``) — same, that file;
* an ``EpwData`` (from ``load_weather``) — sliced with :func:`planner.weather.weather_series`
  in the site's time zone;
* a ``WeatherSeries``-like object with ``times_s``, ``dry_bulb_c`` and ``wet_bulb_c``;
* a number (constant dry bulb [°C]) or a ``(dry_bulb_c, wet_bulb_c)`` pair;
* a callable ``f(t_s) -> dry_bulb_c`` or ``-> (dry_bulb_c, wet_bulb_c)`` of seconds from the start
  (handy for analytic ambients in tests).

Returned arrays are sampled at the step boundaries ``0, dt, …, N·dt``; the integrators treat the
ambient as piecewise linear between them (hourly EPW data is interpolated linearly anyway).
"""
from __future__ import annotations

import functools

import os
from datetime import datetime, timedelta, timezone as dt_timezone, tzinfo

import numpy as np

from .. import weather as wx
from .errors import SolverInputError

#: Wet-bulb depression used when only a dry bulb is given [K]. *estimate* (moderately dry air).
DEFAULT_WET_BULB_DEPRESSION_K = 8.0


def check_timezone(name: str) -> tzinfo:
    """The time zone for ``name`` or a :class:`SolverInputError` saying it is unknown.

    Accepts what :func:`planner.weather.weather_series` accepts (one parser:
    :func:`planner.weather.parse_timezone`).
    """
    try:
        return wx.parse_timezone(name)[0]
    except ValueError as exc:
        raise SolverInputError(f"site {exc}") from None


MINUTE_S = 60.0


def _series_from_epw(epw, start: datetime, horizon_s: float, step_s: float, tz: str):
    try:
        ws = wx.weather_series(epw, start, horizon_s + step_s, step_s, timezone=tz)
    except wx.WeatherError as exc:
        raise SolverInputError(f"weather: {exc}") from exc
    return ws


def ambient_grid(weather, *, start: datetime, horizon_s: float, step_s: float, n_steps: int,
                 timezone: str, weather_file: str = ""):
    """Dry and wet bulb at the step boundaries ``k·step_s``, k = 0..n_steps [°C].

    Returns ``(times_s, dry_bulb_c, wet_bulb_c)``; raises :class:`SolverInputError` for NaN or
    missing data.
    """
    t = np.arange(n_steps + 1) * step_s
    if weather is None:
        if not weather_file:
            raise SolverInputError("no weather: give a weather file (--weather EPW) or set the scenario's weather_file")
        weather = weather_file
    if isinstance(weather, (str, os.PathLike)):
        try:
            weather = wx.load_weather(weather)
        except wx.WeatherError as exc:
            raise SolverInputError(f"weather: {exc}") from exc
        except OSError as exc:
            raise SolverInputError(f"weather file {str(weather)!r}: {exc.strerror or exc}") from exc
    if isinstance(weather, (int, float)) and not isinstance(weather, bool):
        db = np.full_like(t, float(weather))
        wb = db - DEFAULT_WET_BULB_DEPRESSION_K
    elif isinstance(weather, tuple) and len(weather) == 2:
        db = np.full_like(t, float(weather[0]))
        wb = np.full_like(t, float(weather[1]))
    elif callable(weather) and not hasattr(weather, "times_s"):
        out = weather(t)
        if isinstance(out, tuple):
            db, wb = (np.broadcast_to(np.asarray(x, float), t.shape).copy() for x in out)
        else:
            db = np.broadcast_to(np.asarray(out, float), t.shape).copy()
            wb = db - DEFAULT_WET_BULB_DEPRESSION_K
    else:
        if not hasattr(weather, "times_s"):  # an EpwData: slice it
            # hourly values interpolated linearly: their knots sit on whole minutes when the start
            # does, so a minute grid carries the same piecewise-linear series as the step grid
            # (6× fewer samples than 10 s steps over a year; interpolated onto the steps below)
            coarse = MINUTE_S if (step_s < MINUTE_S and start.second == 0 and start.microsecond == 0) else step_s
            weather = _series_from_epw(weather, start, horizon_s, coarse, timezone)
        ts = np.asarray(weather.times_s, float)
        if ts.size < 2 or ts[0] > 1e-9 or ts[-1] < t[-1] - 1e-6:
            have = f"{ts[0]:.0f}–{ts[-1]:.0f} s" if ts.size else "none"
            raise SolverInputError(f"weather covers {have} but the run needs 0–{t[-1]:.0f} s")
        db = np.interp(t, ts, np.asarray(weather.dry_bulb_c, float))
        wbs = getattr(weather, "wet_bulb_c", None)
        wb = np.interp(t, ts, np.asarray(wbs, float)) if wbs is not None else db - DEFAULT_WET_BULB_DEPRESSION_K
    for name, arr in (("dry bulb", db), ("wet bulb", wb)):
        bad = np.nonzero(~np.isfinite(arr))[0]
        if bad.size:
            raise SolverInputError(f"weather: {name} is missing (NaN) at t = {t[bad[0]]:.0f} s "
                                   f"({len(bad)} samples); the weather data has a gap")
        if np.any(arr < -90) or np.any(arr > 70):
            raise SolverInputError(f"weather: {name} outside −90…70 °C; wrong units or a corrupt file")
    above = np.nonzero(wb > db + 1e-6)[0]
    if above.size:
        k = above[0]
        raise SolverInputError(f"weather: wet bulb {wb[k]:.2f} °C above dry bulb {db[k]:.2f} °C at t = {t[k]:.0f} s "
                               f"({above.size} samples); a wet bulb cannot exceed the dry bulb (columns swapped?)")
    return t, db, wb


def wall_clock_s(start: datetime, times_s, tz: str = "UTC") -> np.ndarray:
    """Site wall-clock time at elapsed ``times_s`` [s], as seconds after the naive local ``start``.

    Elapsed time is physical time; the wall clock jumps at daylight-saving changes. ``start`` is read
    in ``tz`` with ``fold=0`` (the earlier offset in an ambiguous hour), as
    :func:`planner.weather.weather_series` does, so weather and tariff use the same clock.
    """
    t = np.asarray(times_s, float)
    if t.size == 0:
        return t.copy()
    edges, values = _offset_changes(start, tz, float(min(t.min(), 0.0)), float(t.max()))
    k = np.searchsorted(edges, t, side="right") - 1
    return t + values[np.maximum(k, 0)]


#: Sampling interval of the UTC offset when looking for daylight-saving changes [s]: a quarter day
#: (zones change their offset at most twice a year, never twice within six hours)
OFFSET_SCAN_S = 6 * 3600.0


@functools.lru_cache(maxsize=64)
def _offset_changes(start: datetime, tz: str, lo: float, hi: float):
    """``(edges, values)``: elapsed times [s] from which the wall clock's offset from ``start``'s
    changes to ``values`` [s] (the first edge is ``lo``), over ``[lo, hi]``; each change bisected to
    the second. Cached: a run asks for the same span several times (tariff hours, months, demand)."""
    zone = check_timezone(tz)
    utc0 = start.replace(tzinfo=zone).astimezone(dt_timezone.utc)
    off0 = start.replace(tzinfo=zone).utcoffset().total_seconds()

    def off(x: float) -> float:
        return (utc0 + timedelta(seconds=float(x))).astimezone(zone).utcoffset().total_seconds() - off0

    grid = np.arange(lo, hi + OFFSET_SCAN_S, OFFSET_SCAN_S)
    offs = np.array([off(x) for x in grid])
    edges, values = [lo], [offs[0]]
    for i in np.flatnonzero(np.diff(offs) != 0.0):  # bisect each change to the second
        a, b = grid[i], grid[i + 1]
        while b - a > 0.5:
            mid = 0.5 * (a + b)
            if off(mid) == offs[i]:
                a = mid
            else:
                b = mid
        edges.append(round(b))
        values.append(offs[i + 1])
    edges_a, values_a = np.asarray(edges, float), np.asarray(values, float)
    edges_a.flags.writeable = values_a.flags.writeable = False  # shared by the cache
    return edges_a, values_a


def local_times(start: datetime, times_s, tz: str = "UTC") -> list[str]:
    """ISO 8601 local (site) wall-clock times at elapsed ``times_s`` [s] from a naive local ``start``."""
    return [(start + timedelta(seconds=float(x))).isoformat(timespec="seconds")
            for x in wall_clock_s(start, times_s, tz)]


def local_hour(start: datetime, times_s, tz: str = "UTC") -> np.ndarray:
    """Local clock hour 0..23 at elapsed ``times_s`` [s] from a naive local ``start``, daylight saving included."""
    s0 = start.hour * 3600 + start.minute * 60 + start.second + start.microsecond * 1e-6
    return (np.floor((s0 + wall_clock_s(start, times_s, tz)) / 3600.0) % 24).astype(int)


def month_index(start: datetime, times_s, tz: str = "UTC") -> np.ndarray:
    """Calendar month counter (0 for the start month) of the local wall clock at elapsed ``times_s`` [s]."""
    t = wall_clock_s(start, times_s, tz)
    out = np.zeros(t.shape, dtype=int)
    if t.size == 0:
        return out
    y, mth = start.year, start.month
    k = 0
    while True:
        y2, m2 = (y + 1, 1) if mth == 12 else (y, mth + 1)
        edge = (datetime(y2, m2, 1) - start).total_seconds()
        if edge > t.max():
            break
        k += 1
        out[t >= edge] = k
        y, mth = y2, m2
    return out


def month_fractions(start: datetime, times_s, step_s: float, tz: str = "UTC") -> dict[int, float]:
    """Share of each calendar month (by :func:`month_index`) that the samples ``times_s`` [s], each
    covering ``step_s`` [s], span: for prorating a monthly demand charge by billing days."""
    idx = month_index(start, times_s, tz)
    wall = wall_clock_s(start, times_s, tz)
    out = {}
    for mo in np.unique(idx):
        first = start + timedelta(seconds=float(wall[idx == mo][0]))
        y, m = first.year, first.month
        days = ((datetime(y + (m == 12), m % 12 + 1, 1) - datetime(y, m, 1)).days)
        out[int(mo)] = min(float(np.count_nonzero(idx == mo)) * step_s / (days * 86400.0), 1.0)
    return out
