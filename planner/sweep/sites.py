"""Where a weather file puts the site: location and clock from the EPW header.

A sweep's weather variant moves the hall to the weather station: latitude, longitude and
elevation from the EPW LOCATION line, and the station's *IANA* time zone, so tariff hours and
night hours follow the local wall clock, daylight saving included (an EPW file states only the
standard-time offset). The zone comes from the station's coordinates through ``timezonefinder``
(offline lookup in the timezone-boundary-builder polygons); it must agree with the file's
standard offset, else the file's fixed offset (``UTC-07:00``) is used, which is never wrong for
the weather itself (EPW rows are in local standard time).
"""
from __future__ import annotations

import functools
from datetime import datetime

from ..plan import Site
from ..weather import EpwHeader, parse_timezone


@functools.lru_cache(maxsize=1)
def _finder():
    from timezonefinder import TimezoneFinder  # loads its polygon index once (~0.5 s)
    return TimezoneFinder()


def fixed_offset_name(offset_h: float) -> str:
    """``"UTC-07:00"`` for ``-7.0`` [h] (the form :func:`planner.weather.parse_timezone` reads)."""
    minutes = int(round(abs(offset_h) * 60))
    sign = "-" if offset_h < 0 else "+"
    return "UTC" if minutes == 0 else f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def standard_offset_h(zone: str, year: int = 2025) -> float:
    """Standard-time offset of an IANA zone [h] (UTC offset minus daylight saving, mid-January)."""
    tz = parse_timezone(zone)[0]
    t = datetime(year, 1, 15, 12, tzinfo=tz)
    return (t.utcoffset() - t.dst()).total_seconds() / 3600.0


def timezone_for(header: EpwHeader) -> str:
    """IANA zone at the station's coordinates if it keeps the file's standard offset, else the
    fixed offset of the file (``"UTC-07:00"``)."""
    zone = _finder().timezone_at(lat=header.latitude, lng=header.longitude)
    if zone:
        try:
            if abs(standard_offset_h(zone) - header.tz_offset_h) < 1e-6:
                return zone
        except ValueError:  # a zone this machine's tz database lacks
            pass
    return fixed_offset_name(header.tz_offset_h)


def site_for_weather(header: EpwHeader, name: str = "Site") -> Site:
    """The site moved to the weather station of ``header`` (keeps ``name``)."""
    return Site(name=name, latitude=header.latitude, longitude=header.longitude,
                timezone=timezone_for(header), elevation_m=header.elevation_m)
