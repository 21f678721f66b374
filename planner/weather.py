"""Outdoor weather for the solver: EnergyPlus EPW files, time series and design days.

Qt-free and ORM-free (numpy + stdlib). What it does:

* :func:`read_epw` / :func:`load_weather` parse an EPW file (EnergyPlus weather
  format, "Auxiliary Programs", ch. "Weather Converter Program", EPW data
  dictionary) into :class:`EpwData`: the header, with the ASHRAE 2009 design
  conditions, and 8760 hourly rows. Parsed files are cached on
  (resolved path, mtime, size); the cached arrays are read-only.
* :func:`weather_series` puts the hourly data onto a simulation time grid.
* :func:`hottest_day`, :func:`hottest_week` find summer stress periods.
* :func:`design_day` builds an ASHRAE cooling design day from the header.

Time conventions
----------------
* An EPW row with hour ``H`` (1..24) is the hour *ending* at H:00 local
  **standard** time (the file never uses daylight saving). Its value is placed
  at H:00 and values in between are interpolated linearly; Dec 31 hour 24 is
  also Jan 1 00:00, so the year wraps around.
* TMY files mix months from different years, so the year column is ignored and
  the rows are mapped onto any calendar year. In leap years Feb 29 repeats
  Feb 28 (the only discontinuity: at Feb 29 00:00).
* The simulation start is wall-clock time at the site in an IANA zone
  (``America/Chicago``) or, by default, a fixed offset equal to the file's
  standard time. It is converted via UTC to the file's standard time, so a
  July 15:00 CDT start reads the file at 14:00 CST.

Errors in a file raise :class:`WeatherError` (a ``ValueError``) naming the file,
the 1-based line and the field.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from datetime import timezone as dt_timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from . import psychrometrics as psy
from .assets import WEATHER_DIR, resolve_asset
from .inputs import InputFileError, check_regular, open_input, read_input

HOURS_PER_YEAR = 8760
HEADER_LINES = 8
#: Largest EPW file read [bytes]: a year of hourly rows is about 1.6 MB (the bundled TMY3 files);
#: 8 MiB leaves room for sub-hourly files and stops a wrong path (a log, an image) early.
EPW_MAX_BYTES = 8 * 2 ** 20
HEADER_LINE_MAX_BYTES = 64 * 2 ** 10  # a header line read for the design conditions (they are < 1 kB)
DEFAULT_YEAR = 2025  # calendar year used when a caller gives none (design days); not a leap year
MAX_SAMPLES = 10_000_000  # guard against accidental multi-GB grids (e.g. a year at 1 s)

# Missing-data rule: EPW marks missing values with sentinels (EPW data dictionary:
# 99.9 for temperatures, 999 for relative humidity, 999999 for pressure). Up to
# MAX_FILL_GAP_H consecutive missing hours, and at most MAX_FILL_PER_FIELD hours in
# a field, are filled by linear interpolation in time between the neighbouring valid
# hours; anything more is a WeatherError. Filled counts are in EpwData.filled.
MAX_FILL_GAP_H = 3
MAX_FILL_PER_FIELD = 24

_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_DAY_MONTH = np.repeat(np.arange(1, 13), _DAYS_IN_MONTH)  # month of each of the 365 days
_DAY_DAY = np.concatenate([np.arange(1, n + 1) for n in _DAYS_IN_MONTH])  # day of month
_EXP_MONTH = np.repeat(_DAY_MONTH, 24)  # expected (month, day, hour) of each of the 8760 rows
_EXP_DAY = np.repeat(_DAY_DAY, 24)
_EXP_HOUR = np.tile(np.arange(1, 25), 365)

#: ASHRAE Handbook—Fundamentals (2009), ch. 14 "Climatic Design Information", table 6
#: "Fraction of Daily Temperature Range", hours 1..24 (hour ending, local standard time).
#: T(h) = T_design - fraction(h) * daily_range. Same table in the 2013-2021 editions.
DAILY_RANGE_FRACTION = np.array([
    0.88, 0.92, 0.95, 0.98, 1.00, 0.98, 0.91, 0.74, 0.55, 0.38, 0.23, 0.13,
    0.05, 0.00, 0.00, 0.06, 0.14, 0.24, 0.39, 0.50, 0.59, 0.68, 0.75, 0.82,
])

# DESIGN CONDITIONS line, ASHRAE 2009 layout: keyword "Heating", "Cooling" or
# "Extremes" followed by these fields in order (ASHRAE Handbook—Fundamentals 2009,
# ch. 14, table 1 / the station tables on the handbook CD; EnergyPlus Weather
# Converter writes them in this order). Units: °C, m/s, deg, g/kg, kJ/kg, h.
# Example (Phoenix): Cooling,7,12,43.4,21.1,... -> hottest month 7, range 12 K,
# 0.4 % DB 43.4 °C with MCWB 21.1 °C.
DESIGN_FIELDS = {
    "Heating": (
        "heating_coldest_month",        # 1  coldest month (1..12)
        "heating_db_996",               # 2  99.6 % heating dry bulb [°C]
        "heating_db_990",               # 3  99 % heating dry bulb [°C]
        "humidification_dp_996",        # 4  99.6 % humidification dew point [°C]
        "humidification_hr_996",        # 5  its humidity ratio [g/kg]
        "humidification_mcdb_996",      # 6  its mean coincident dry bulb [°C]
        "humidification_dp_990",        # 7  99 % dew point [°C]
        "humidification_hr_990",        # 8  [g/kg]
        "humidification_mcdb_990",      # 9  [°C]
        "coldest_month_ws_004",         # 10 coldest-month 0.4 % wind speed [m/s]
        "coldest_month_mcdb_004",       # 11 its mean coincident dry bulb [°C]
        "coldest_month_ws_010",         # 12 1 % wind speed [m/s]
        "coldest_month_mcdb_010",       # 13 [°C]
        "heating_mcws_996",             # 14 mean coincident wind speed to 99.6 % DB [m/s]
        "heating_pcwd_996",             # 15 prevailing coincident wind direction [deg]
    ),
    "Cooling": (
        "cooling_hottest_month",        # 1  hottest month (1..12)
        "cooling_range_db",             # 2  hottest-month mean daily dry-bulb range [K]
        "cooling_db_004",               # 3  0.4 % cooling dry bulb [°C]
        "cooling_mcwb_004",             # 4  mean coincident wet bulb [°C]
        "cooling_db_010",               # 5  1 % dry bulb [°C]
        "cooling_mcwb_010",             # 6
        "cooling_db_020",               # 7  2 % dry bulb [°C]
        "cooling_mcwb_020",             # 8
        "evaporation_wb_004",           # 9  0.4 % evaporation wet bulb [°C]
        "evaporation_mcdb_004",         # 10 mean coincident dry bulb [°C]
        "evaporation_wb_010",           # 11
        "evaporation_mcdb_010",         # 12
        "evaporation_wb_020",           # 13
        "evaporation_mcdb_020",         # 14
        "cooling_mcws_004",             # 15 mean coincident wind speed to 0.4 % DB [m/s]
        "cooling_pcwd_004",             # 16 prevailing coincident wind direction [deg]
        "dehumidification_dp_004",      # 17 0.4 % dehumidification dew point [°C]
        "dehumidification_hr_004",      # 18 its humidity ratio [g/kg]
        "dehumidification_mcdb_004",    # 19 its mean coincident dry bulb [°C]
        "dehumidification_dp_010",      # 20
        "dehumidification_hr_010",      # 21
        "dehumidification_mcdb_010",    # 22
        "dehumidification_dp_020",      # 23
        "dehumidification_hr_020",      # 24
        "dehumidification_mcdb_020",    # 25
        "enthalpy_004",                 # 26 0.4 % enthalpy [kJ/kg]
        "enthalpy_mcdb_004",            # 27 its mean coincident dry bulb [°C]
        "enthalpy_010",                 # 28
        "enthalpy_mcdb_010",            # 29
        "enthalpy_020",                 # 30
        "enthalpy_mcdb_020",            # 31
        "hours_8_to_4_db_12_8_to_20_6",  # 32 hours 8:00-16:00 with 12.8 < DB < 20.6 °C [h]
    ),
    "Extremes": (
        "extreme_ws_010",               # 1  extreme annual wind speed 1 % [m/s]
        "extreme_ws_025",               # 2  2.5 %
        "extreme_ws_050",               # 3  5 %
        "extreme_max_wb",               # 4  extreme maximum wet bulb [°C]
        "extreme_db_mean_min",          # 5  mean of annual extreme minimum dry bulb [°C]
        "extreme_db_mean_max",          # 6  mean of annual extreme maximum dry bulb [°C]
        "extreme_db_sd_min",            # 7  standard deviations [K]
        "extreme_db_sd_max",            # 8
        "extreme_db_n5_min",            # 9  5-year return period minimum / maximum [°C]
        "extreme_db_n5_max",            # 10
        "extreme_db_n10_min",           # 11
        "extreme_db_n10_max",           # 12
        "extreme_db_n20_min",           # 13
        "extreme_db_n20_max",           # 14
        "extreme_db_n50_min",           # 15
        "extreme_db_n50_max",           # 16
    ),
}

# Hourly data columns read (0-based; EPW data dictionary fields N1..N9) with the
# dictionary's valid range (exclusive) and missing-value sentinel.
_COL_MONTH, _COL_DAY, _COL_HOUR = 1, 2, 3
_VALUE_COLUMNS = (
    # attribute, column, description, low, high, missing if >= this
    ("dry_bulb_c", 6, "dry bulb temperature [°C]", -70.0, 70.0, 99.9),
    ("dew_point_c", 7, "dew point temperature [°C]", -70.0, 70.0, 99.9),
    ("rel_humidity_pct", 8, "relative humidity [%]", -1e-9, 110.0 + 1e-9, 999.0),
    ("pressure_pa", 9, "station pressure [Pa]", 31_000.0, 120_000.0, 999_999.0),
)
_COLUMN_NAMES = ("year", "month", "day", "hour", "minute", "data_source_flags",
                 "dry_bulb_c", "dew_point_c", "rel_humidity_pct", "pressure_pa")


class WeatherError(ValueError):
    """A problem in a weather file or with a weather request.

    The message names the file, the 1-based line in the file and the field, e.g.
    ``"x.epw, line 5012, field 'dry_bulb_c': not a number: 'abc'"``. Only when the
    file itself cannot be found or read are line and field ``None``.

    path : str  The file
    line : int | None  1-based line number in the file
    field : str | None  Field name (EpwData attribute or design-condition key)
    problem : str  What is wrong
    """

    def __init__(self, path, line: int | None, field: str | None, problem: str):
        self.path = str(path)
        self.line = line
        self.field = field
        self.problem = problem
        where = Path(self.path).name
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {problem}")


@dataclass
class EpwHeader:
    """The EPW header: LOCATION line and ASHRAE design conditions.

    latitude, longitude : float  [deg], north and east positive
    tz_offset_h : float  File time zone: standard time minus UTC [h], e.g. -7.0
    elevation_m : float  [m] above sea level
    design : dict[str, float]  ASHRAE 2009 design conditions by key (see
        ``DESIGN_FIELDS``), e.g. ``cooling_db_004`` [°C]; empty if the file has none
    data_source : str  LOCATION field 5, e.g. ``"TMY3"``
    design_source : str  e.g. ``"Climate Design Data 2009 ASHRAE Handbook"``
    path : Path | None  File the header was read from (for messages)
    """

    city: str
    state: str
    country: str
    wmo: str
    latitude: float
    longitude: float
    tz_offset_h: float
    elevation_m: float
    design: dict[str, float] = field(default_factory=dict)
    data_source: str = ""
    design_source: str = ""
    path: Path | None = None


@dataclass
class EpwData:
    """One parsed EPW file: 8760 hourly rows (Jan 1 hour 1 .. Dec 31 hour 24).

    month, day, hour : int arrays  Row time stamp; hour 1..24 is the hour ending at H:00
        local standard time
    dry_bulb_c, dew_point_c : float arrays  [°C]
    rel_humidity_pct : float array  [%]
    pressure_pa : float array  Station pressure [Pa]
    wet_bulb_c : float array  Thermodynamic wet bulb [°C], computed from dry bulb,
        dew point and station pressure with ASHRAE Handbook—Fundamentals ch. 1
        eq. 5/6, 20, 33/35 (see ``planner.psychrometrics``)
    line : int array  1-based line of each row in the file (for messages)
    filled : dict[str, int]  Field -> number of missing hours filled (see MAX_FILL_GAP_H)

    Arrays are read-only: instances are shared through the parse cache.
    """

    path: Path
    header: EpwHeader
    month: np.ndarray
    day: np.ndarray
    hour: np.ndarray
    dry_bulb_c: np.ndarray
    dew_point_c: np.ndarray
    rel_humidity_pct: np.ndarray
    pressure_pa: np.ndarray
    wet_bulb_c: np.ndarray
    line: np.ndarray | None = None
    filled: dict[str, int] = field(default_factory=dict)


@dataclass
class WeatherSeries:
    """Weather on the simulation grid.

    times_s : array  Seconds since the scenario start [s]
    dry_bulb_c, wet_bulb_c : arrays  [°C]
    rel_humidity_pct : array  [%]
    start_local : datetime  Naive wall-clock start at the site, in ``timezone``
    timezone : str  IANA name, or a fixed offset such as ``"UTC-07:00"``
    dew_point_c : array | None  [°C]
    pressure_pa : array | None  [Pa]
    source : str  File (or design-day description) the series came from
    """

    times_s: np.ndarray
    dry_bulb_c: np.ndarray
    wet_bulb_c: np.ndarray
    rel_humidity_pct: np.ndarray
    start_local: datetime
    timezone: str
    dew_point_c: np.ndarray | None = None
    pressure_pa: np.ndarray | None = None
    source: str = ""

    def at(self, t_s, quantity: str = "dry_bulb_c"):
        """``quantity`` linearly interpolated at ``t_s`` [s since start] (held at the ends)."""
        return np.interp(t_s, self.times_s, getattr(self, quantity))


# --------------------------------------------------------------------------- reading


def load_weather(path_or_name) -> EpwData:
    """Read an EPW file given a path, a file name in ``planner.assets.WEATHER_DIR``,
    or a unique part of a bundled file name (case-insensitive, e.g. ``"Phoenix"``)."""
    return read_epw(resolve_weather(path_or_name))


def load_weather_header(path_or_name) -> EpwHeader:
    """The header of an EPW file named as :func:`load_weather` accepts, without its hourly rows."""
    return read_epw_header(resolve_weather(path_or_name))


def resolve_weather(path_or_name) -> Path:
    """Path of an EPW file given a path, a bundled file name or a unique part of one (case-insensitive);
    :class:`WeatherError` naming the bundled files if there is none."""
    p = resolve_asset(path_or_name)
    if not p.exists() and not Path(path_or_name).parent.parts:
        key = str(path_or_name).lower()
        hits = [f for f in list_weather_files() if key in f.name.lower()]
        if len(hits) == 1:
            p = hits[0]
        elif len(hits) > 1:
            raise WeatherError(path_or_name, None, None,
                               f"name matches several weather files: {', '.join(f.name for f in hits)}")
        else:
            names = ", ".join(f.name for f in list_weather_files()) or "none"
            raise WeatherError(path_or_name, None, None,
                               f"weather file not found (bundled files in {WEATHER_DIR}: {names})")
    return p


def list_weather_files() -> list[Path]:
    """Bundled EPW files in ``WEATHER_DIR``, sorted by name."""
    return sorted(WEATHER_DIR.glob("*.epw")) if WEATHER_DIR.is_dir() else []


def read_epw(path) -> EpwData:
    """Parse and validate an EPW file (cached on resolved path + mtime + size)."""
    p = Path(path).expanduser()
    try:
        st = check_regular(p)  # a FIFO or a device as --weather would block or never end
    except InputFileError as exc:
        raise WeatherError(p, None, None, f"weather file {exc}") from None
    return _read_epw_cached(str(p.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=32)
def _read_epw_cached(path: str, mtime_ns: int, size: int) -> EpwData:
    return _parse_epw(Path(path))


def read_epw_header(path) -> EpwHeader:
    """Parse only the 8 header lines of an EPW file: LOCATION and the ASHRAE design conditions.

    The same parser as :func:`read_epw` (one header reader for the solver, the plan checks and the
    GUI); cached on resolved path + mtime + size, so a live check re-reads nothing. Reads a few kB,
    not the 8,760 rows (~1 ms).
    """
    p = Path(path).expanduser()
    try:
        st = check_regular(p)  # a FIFO or a device would block or never end
    except InputFileError as exc:
        raise WeatherError(p, None, None, f"weather file {exc}") from None
    return _read_header_cached(str(p.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _read_header_cached(path: str, mtime_ns: int, size: int) -> EpwHeader:
    p = Path(path)
    try:
        with open_input(p) as f:  # 8 lines, each bounded (a header line is a few hundred bytes)
            raw = [f.readline(HEADER_LINE_MAX_BYTES) for _ in range(HEADER_LINES)]
    except InputFileError as exc:
        raise WeatherError(p, None, None, f"weather file {exc}") from None
    except OSError as exc:
        raise WeatherError(p, None, None, f"cannot read weather file: {exc.strerror or exc}") from None
    return _parse_header(p, _header_lines(p, b"".join(raw).decode("latin-1")))


def _header_lines(path: Path, text: str) -> list[str]:
    """The first :data:`HEADER_LINES` lines of EPW text (BOM dropped, \\r\\n accepted), or WeatherError."""
    if text.startswith("\u00ef\u00bb\u00bf"):  # UTF-8 byte order mark, as read through latin-1
        text = text[3:]
    # only \n (and \r\n) end a line: str.splitlines() would also break at \x0c or \x85 in comments
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) < HEADER_LINES:
        raise WeatherError(path, len(lines) + 1, "header",
                           f"file ends after {len(lines)} lines; an EPW file has {HEADER_LINES} header "
                           f"lines then {HOURS_PER_YEAR} hourly rows")
    return lines


def _parse_epw(path: Path) -> EpwData:
    try:  # EPW is ASCII; latin-1 never fails
        text = read_input(path, EPW_MAX_BYTES, "EPW file").decode("latin-1")
    except InputFileError as exc:
        raise WeatherError(path, None, None, f"weather file {exc}") from None
    lines = _header_lines(path, text)
    header = _parse_header(path, lines)

    data = lines[HEADER_LINES:]
    rows = [ln.split(",", 10) for ln in data]
    short = [i for i, r in enumerate(rows) if len(r) < 10]
    if short:
        i = short[0]
        if not data[i].strip():
            raise WeatherError(path, HEADER_LINES + 1 + i, "year", "blank line inside the hourly data")
        raise WeatherError(path, HEADER_LINES + 1 + i, _COLUMN_NAMES[len(rows[i])],
                           f"row has only {len(rows[i])} fields, an EPW data row has 35 (truncated file?)")
    line_no = np.arange(HEADER_LINES + 1, HEADER_LINES + 1 + len(rows))
    if not rows:
        raise WeatherError(path, HEADER_LINES + 1, "month/day/hour",
                           f"no hourly rows after the header; expected {HOURS_PER_YEAR}")
    cols = list(zip(*rows))

    month = _int_column(path, cols[_COL_MONTH], line_no, "month", 1, 12)
    day = _int_column(path, cols[_COL_DAY], line_no, "day", 1, 31)
    hour = _int_column(path, cols[_COL_HOUR], line_no, "hour", 1, 24)
    values = {name: _float_column(path, cols[c], line_no, name) for name, c, *_ in _VALUE_COLUMNS}

    leap = (month == 2) & (day == 29)
    if leap.any():  # leap-year file: keep a 365-day typical year (Feb 29 is served from Feb 28)
        keep = ~leap
        month, day, hour, line_no = month[keep], day[keep], hour[keep], line_no[keep]
        values = {k: v[keep] for k, v in values.items()}
    _check_sequence(path, month, day, hour, line_no)

    filled = {}
    for name, _col, desc, low, high, sentinel in _VALUE_COLUMNS:
        values[name], n = _check_and_fill(path, values[name], line_no, name, desc, low, high, sentinel)
        if n:
            filled[name] = n

    wet_bulb = psy.wet_bulb_from_dew_point(values["dry_bulb_c"], values["dew_point_c"], values["pressure_pa"])
    arrays = dict(month=month, day=day, hour=hour, wet_bulb_c=wet_bulb, line=line_no, **values)
    for a in arrays.values():
        a.flags.writeable = False
    return EpwData(path=path, header=header, filled=filled, **arrays)


def _parse_header(path: Path, lines: list[str]) -> EpwHeader:
    for i, keyword in ((0, "LOCATION"), (1, "DESIGN CONDITIONS"), (7, "DATA PERIODS")):
        if not lines[i].upper().startswith(keyword):
            raise WeatherError(path, i + 1, keyword.lower().replace(" ", "_"),
                               f"header line {i + 1} must start with {keyword!r}, found {lines[i][:40]!r} "
                               f"(not an EPW file?)")
    loc = [s.strip() for s in lines[0].split(",")]
    if len(loc) < 10:
        raise WeatherError(path, 1, "elevation_m", f"LOCATION has {len(loc) - 1} fields, expected 9")

    def num(idx, name, low, high):
        try:
            v = float(loc[idx])
        except ValueError:
            raise WeatherError(path, 1, name, f"not a number: {loc[idx]!r}") from None
        if not (low <= v <= high):  # also rejects NaN
            raise WeatherError(path, 1, name, f"{v} outside {low}..{high}")
        return v

    header = EpwHeader(
        city=loc[1], state=loc[2], country=loc[3], data_source=loc[4], wmo=loc[5], path=path,
        latitude=num(6, "latitude", -90.0, 90.0),
        longitude=num(7, "longitude", -180.0, 180.0),
        tz_offset_h=num(8, "tz_offset_h", -12.0, 14.0),
        elevation_m=num(9, "elevation_m", -1000.0, 9999.9),
    )
    header.design, header.design_source = _parse_design(path, lines[1])

    periods = [s.strip() for s in lines[7].split(",")]
    if len(periods) > 2 and periods[2] not in ("", "1"):
        raise WeatherError(path, 8, "records_per_hour",
                           f"{periods[2]} records per hour; only hourly files (1) are supported")
    return header


def _parse_design(path: Path, line: str) -> tuple[dict[str, float], str]:
    """ASHRAE 2009 design conditions from line 2 (layout in ``DESIGN_FIELDS``)."""
    parts = [s.strip() for s in line.split(",")]
    source = parts[2] if len(parts) > 2 else ""
    if len(parts) < 2 or parts[1] in ("", "0"):
        return {}, source  # the file has no design conditions
    marks = {p: i for i, p in enumerate(parts) if p in DESIGN_FIELDS}
    design: dict[str, float] = {}
    for block, keys in DESIGN_FIELDS.items():
        if block not in marks:
            continue
        start = marks[block] + 1
        for j, key in enumerate(keys):
            k = start + j
            if k >= len(parts) or parts[k] == "" or parts[k] in DESIGN_FIELDS:
                break  # shorter block (older layouts): keep what is there
            try:
                v = float(parts[k])
            except ValueError:
                raise WeatherError(path, 2, key,
                                   f"DESIGN CONDITIONS field {k + 1} ({block} #{j + 1}) is not a number: "
                                   f"{parts[k]!r}") from None
            if not math.isfinite(v):
                raise WeatherError(path, 2, key, f"DESIGN CONDITIONS field {k + 1} is {parts[k]!r}")
            design[key] = v
    return design, source


def _first_bad(col, convert) -> int:
    for i, s in enumerate(col):
        try:
            convert(s)
        except ValueError:
            return i
    return 0  # not reached: numpy converts strings with the same int()/float() rules


def _int_column(path, col, line_no, name, low, high) -> np.ndarray:
    try:
        a = np.array(col, dtype=np.int64)
    except (ValueError, OverflowError):  # OverflowError: digits beyond int64
        i = _first_bad(col, lambda v: int(v) if abs(int(v)) < 2**63 else int("overflow"))
        raise WeatherError(path, int(line_no[i]), name, f"not an integer: {col[i].strip()!r}") from None
    bad = np.flatnonzero((a < low) | (a > high))
    if bad.size:
        i = bad[0]
        raise WeatherError(path, int(line_no[i]), name, f"{a[i]} outside {low}..{high}")
    return a


def _float_column(path, col, line_no, name) -> np.ndarray:
    try:
        a = np.array(col, dtype=np.float64)
    except ValueError:
        i = _first_bad(col, float)
        raise WeatherError(path, int(line_no[i]), name, f"not a number: {col[i].strip()!r}") from None
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        i = bad[0]
        raise WeatherError(path, int(line_no[i]), name,
                           f"{col[i].strip()!r} is not allowed (EPW marks missing values with sentinels, "
                           f"not NaN/inf)")
    return a


def _check_sequence(path, month, day, hour, line_no) -> None:
    """Rows must be Jan 1 hour 1 .. Dec 31 hour 24, one per hour, in order."""
    n = min(month.size, HOURS_PER_YEAR)
    mism = np.flatnonzero((month[:n] != _EXP_MONTH[:n]) | (day[:n] != _EXP_DAY[:n]) | (hour[:n] != _EXP_HOUR[:n]))
    if mism.size:
        i = mism[0]
        exp = (_EXP_MONTH[i], _EXP_DAY[i], _EXP_HOUR[i])
        got = (month[i], day[i], hour[i])
        # Index of the found stamp in the expected sequence tells "missing" from "out of order".
        got_idx = (np.sum(_DAYS_IN_MONTH[: got[0] - 1]) + got[1] - 1) * 24 + got[2] - 1
        kind = "missing row(s): first missing" if got_idx > i else "row out of order or duplicated; expected"
        raise WeatherError(path, int(line_no[i]), "month/day/hour",
                           f"{kind} is month {exp[0]} day {exp[1]} hour {exp[2]}, found month {got[0]} "
                           f"day {got[1]} hour {got[2]}")
    if month.size < HOURS_PER_YEAR:
        i = month.size
        raise WeatherError(path, int(line_no[-1]) + 1, "month/day/hour",
                           f"file ends after {month.size} of {HOURS_PER_YEAR} hourly rows; first missing is "
                           f"month {_EXP_MONTH[i]} day {_EXP_DAY[i]} hour {_EXP_HOUR[i]}")
    if month.size > HOURS_PER_YEAR:
        raise WeatherError(path, int(line_no[HOURS_PER_YEAR]), "month/day/hour",
                           f"extra row after Dec 31 hour 24 ({month.size} rows, expected {HOURS_PER_YEAR})")


def _check_and_fill(path, a, line_no, name, desc, low, high, sentinel):
    """Range-check one column; fill short runs of EPW missing sentinels (see MAX_FILL_GAP_H)."""
    missing = a >= sentinel
    bad = np.flatnonzero(~missing & ((a <= low) | (a >= high)))
    if bad.size:
        i = bad[0]
        raise WeatherError(path, int(line_no[i]), name, f"{desc} {a[i]} outside the EPW valid range {low:g}..{high:g}")
    n_missing = int(missing.sum())
    if n_missing == 0:
        return a, 0
    first = int(np.flatnonzero(missing)[0])
    if n_missing > MAX_FILL_PER_FIELD or n_missing == a.size:
        raise WeatherError(path, int(line_no[first]), name,
                           f"{n_missing} hours of {desc} are missing (EPW sentinel {sentinel:g}); at most "
                           f"{MAX_FILL_PER_FIELD} short gaps are filled")
    # Run lengths on the circular year: roll so that index 0 is a valid hour.
    k = int(np.flatnonzero(~missing)[0])
    m = np.roll(missing, -k).astype(np.int8)
    edges = np.diff(np.concatenate(([0], m, [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    too_long = np.flatnonzero(ends - starts > MAX_FILL_GAP_H)
    if too_long.size:
        i = (starts[too_long[0]] + k) % a.size
        raise WeatherError(path, int(line_no[i]), name,
                           f"{ends[too_long[0]] - starts[too_long[0]]} consecutive hours of {desc} missing "
                           f"(EPW sentinel {sentinel:g}); at most {MAX_FILL_GAP_H} are filled")
    valid = np.flatnonzero(~missing)
    xp = np.concatenate((valid - a.size, valid, valid + a.size))
    out = a.copy()
    out[missing] = np.interp(np.flatnonzero(missing), xp, np.tile(a[valid], 3))
    return out, n_missing


# --------------------------------------------------------------------------- time series


def _fixed_zone(offset_h: float) -> tuple[dt_timezone, str]:
    tz = dt_timezone(timedelta(hours=offset_h))
    return tz, tz.tzname(None)  # "UTC-07:00", or "UTC" for 0


_FIXED_NAME = re.compile(r"^UTC([+-])(\d{1,2}):?(\d{2})?$")


def parse_timezone(name: str) -> tuple[tzinfo, str]:
    """``(tzinfo, name)`` for an IANA zone (``"America/Phoenix"``) or a fixed offset ``"UTC±HH[:MM]"``.

    The one parser of site time zones (weather series, tariff hours, CSV times). Raises
    ``ValueError`` naming the accepted forms for anything else, offsets beyond ±14 h included.
    """
    m = _FIXED_NAME.match(name.strip()) if isinstance(name, str) else None
    if m:
        hours = int(m.group(2)) + int(m.group(3) or 0) / 60.0
        if hours > 14:
            raise ValueError(f"time zone {name!r}: offsets run from UTC-14:00 to UTC+14:00")
        return _fixed_zone(-hours if m.group(1) == "-" else hours)
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'America/Phoenix' or a "
                         f"fixed offset such as 'UTC-07:00'") from None


def _resolve_timezone(epw: EpwData, name: str | None):
    if name is None:
        return _fixed_zone(epw.header.tz_offset_h)
    try:
        return parse_timezone(name)
    except ValueError as exc:
        raise WeatherError(epw.path, 1, "timezone",
                           f"{exc} (this file's LOCATION line gives standard time "
                           f"{_fixed_zone(epw.header.tz_offset_h)[1]})") from None


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _typical_year_hours(start_std: datetime, times_s: np.ndarray) -> np.ndarray:
    """Position in the 8760-hour typical year [h] of each sample, given the start in file standard time."""
    year = start_std.year
    h = (start_std - datetime(year, 1, 1)).total_seconds() / 3600.0 + times_s / 3600.0
    pos = np.empty_like(h)
    offset = 0.0
    i0 = 0
    while i0 < h.size:
        length = 8784.0 if _is_leap(year) else 8760.0
        i1 = int(np.searchsorted(h, offset + length, side="left"))
        local = h[i0:i1] - offset
        if length == 8784.0:  # Feb 29 (hours 1416..1440) repeats Feb 28; later hours shift back a day
            local = np.where(local >= 59 * 24, local - 24.0, local)
        pos[i0:i1] = local
        i0, offset, year = i1, offset + length, year + 1
    return pos


def _interp_hourly(pos: np.ndarray, hourly: np.ndarray) -> np.ndarray:
    """Value at ``pos`` [h into the year]; row i (hour ending i+1) sits at i+1 h, Dec 31 24:00 = Jan 1 00:00."""
    x = np.arange(HOURS_PER_YEAR + 1, dtype=float)
    y = np.concatenate((hourly[-1:], hourly))
    return np.interp(pos, x, y)


def _grid(horizon_s: float, step_s: float) -> np.ndarray:
    for name, v in (("step_s", step_s), ("horizon_s", horizon_s)):
        if not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a positive, finite number of seconds, got {v!r}")
    n = int(math.floor(horizon_s / step_s + 1e-9)) + 1
    if n > MAX_SAMPLES:
        raise ValueError(f"horizon_s / step_s = {n - 1} steps exceeds {MAX_SAMPLES:,} samples; use a longer step_s")
    return np.arange(n, dtype=float) * float(step_s)


def weather_series(epw: EpwData, start_local: datetime, horizon_s: float, step_s: float,
                   timezone: str | None = None) -> WeatherSeries:
    """Weather on the grid ``0, step_s, ... <= horizon_s`` [s] from ``start_local``.

    epw : EpwData  Parsed file
    start_local : datetime  Wall-clock start at the site in ``timezone`` (naive;
        an aware datetime is converted to ``timezone`` first). A wall time that
        falls in a DST gap or overlap is read with ``fold=0`` (the earlier offset).
    horizon_s : float  Length of the series [s], > 0; the last sample is at the
        largest multiple of ``step_s`` not beyond it
    step_s : float  Grid step [s], > 0
    timezone : str | None  IANA zone (e.g. ``"America/Chicago"``) or ``"UTC±HH:MM"``;
        default: fixed offset = the file's ``tz_offset_h`` (no daylight saving)

    Hourly values (and the hourly wet bulb) are interpolated linearly in time;
    see the module docstring for the time conventions.
    Raises ValueError for a non-positive step or horizon, WeatherError for an
    unknown time zone.
    """
    times = _grid(horizon_s, step_s)
    tz, tz_name = _resolve_timezone(epw, timezone)
    if start_local.tzinfo is None:
        aware = start_local.replace(tzinfo=tz)
    else:
        aware = start_local.astimezone(tz)
        start_local = aware.replace(tzinfo=None)
    start_std = (aware.astimezone(dt_timezone.utc) + timedelta(hours=epw.header.tz_offset_h)).replace(tzinfo=None)
    pos = _typical_year_hours(start_std, times)
    return WeatherSeries(
        times_s=times,
        dry_bulb_c=_interp_hourly(pos, epw.dry_bulb_c),
        wet_bulb_c=_interp_hourly(pos, epw.wet_bulb_c),
        rel_humidity_pct=_interp_hourly(pos, epw.rel_humidity_pct),
        start_local=start_local,
        timezone=tz_name,
        dew_point_c=_interp_hourly(pos, epw.dew_point_c),
        pressure_pa=_interp_hourly(pos, epw.pressure_pa),
        source=str(epw.path),
    )


# --------------------------------------------------------------------------- stress periods


def hottest_day(epw: EpwData, month: int | None = None) -> tuple[int, int]:
    """(month, day) with the highest daily maximum dry bulb, optionally within ``month``.

    A day is the 24 rows of one date (00:00-24:00 local standard time). Ties go
    to the earliest day.
    """
    daily_max = epw.dry_bulb_c.reshape(365, 24).max(axis=1)
    if month is not None:
        _check_month(month)
        daily_max = np.where(_DAY_MONTH == month, daily_max, -np.inf)
    i = int(np.argmax(daily_max))
    return int(_DAY_MONTH[i]), int(_DAY_DAY[i])


def hottest_week(epw: EpwData, month: int | None = None) -> tuple[int, int]:
    """(month, day) starting the 7-day window with the highest mean dry bulb.

    Windows lie within the calendar year (no wrap from December into January);
    with ``month`` given, all 7 days lie in that month. Ties go to the earliest.
    """
    daily_mean = epw.dry_bulb_c.reshape(365, 24).mean(axis=1)
    window = np.convolve(daily_mean, np.ones(7), mode="valid") / 7.0  # window[i] = days i..i+6
    if month is not None:
        _check_month(month)
        inside = (_DAY_MONTH[:-6] == month) & (_DAY_MONTH[6:] == month)
        window = np.where(inside, window, -np.inf)
    i = int(np.argmax(window))
    return int(_DAY_MONTH[i]), int(_DAY_DAY[i])


def _check_month(month) -> None:
    if not isinstance(month, (int, np.integer)) or not 1 <= month <= 12:
        raise ValueError(f"month must be an integer 1..12, got {month!r}")


# --------------------------------------------------------------------------- design day

_PERCENTILES = {0.4: "004", 1.0: "010", 2.0: "020"}


def design_day(epw: EpwData, step_s: float = 3600.0, percentile="0.4", *, days: int = 1,
               year: int = DEFAULT_YEAR, month: int | None = None, day: int = 21,
               wb_range_k: float | None = None) -> WeatherSeries:
    """ASHRAE cooling design day from the file's design conditions.

    Dry bulb: ``T(h) = DB_design - f(h) * range`` with ``f`` the ASHRAE 2009
    ch. 14 table 6 fractions (``DAILY_RANGE_FRACTION``, hour ending h at h:00,
    linear in between, local standard time) and ``range`` the hottest-month mean
    daily range (``cooling_range_db``). The peak (f = 0, 14:00-15:00) equals the
    design dry bulb and the minimum (f = 1, 05:00) is ``DB_design - range``.

    Wet bulb: ``Twb(h) = MCWB - f(h) * wb_range``, the same shape (ASHRAE 2009
    ch. 14 applies table 6 to wet bulb with the monthly mean coincident wet-bulb
    range, which EPW headers do not carry). Unless ``wb_range_k`` [K] is given, the
    range is *estimated* by holding the humidity ratio of (DB_design, MCWB) constant
    down to the daily minimum dry bulb. Wet bulb is capped at dry bulb.

    epw : EpwData  File with ASHRAE design conditions
    step_s : float  Grid step [s]
    percentile : str | float  ``"0.4"``, ``"1"`` or ``"2"`` [% annual exceedance]
    days : int  Number of identical days; the grid runs 0..days*86400 s inclusive
    year, month, day : calendar date of ``start_local`` (00:00); month defaults to
        the file's hottest month; the 21st is the usual design-day date
    wb_range_k : float | None  Daily wet-bulb range [K], overrides the estimate

    Pressure is the standard atmosphere at the site elevation (ASHRAE ch. 1 eq. 3).
    The series' timezone is the file's fixed standard-time offset.
    """
    try:
        key = _PERCENTILES[round(float(str(percentile).strip().rstrip("%")), 3)]
    except (KeyError, ValueError):
        raise ValueError(f"percentile must be '0.4', '1' or '2', got {percentile!r}") from None
    if not isinstance(days, (int, np.integer)) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    d = epw.header.design
    need = (f"cooling_db_{key}", f"cooling_mcwb_{key}", "cooling_range_db")
    for k in need:
        if k not in d:
            raise WeatherError(epw.path, 2, k, "the DESIGN CONDITIONS line has no ASHRAE cooling design value "
                                               "for this field; a design day needs it")
    db_peak, mcwb, db_range = (d[k] for k in need)
    if month is None:
        month = int(d.get("cooling_hottest_month", 7))
    start = datetime(year, month, day)

    p = float(psy.standard_pressure_pa(epw.header.elevation_m))
    if wb_range_k is None:
        w_design = psy.humidity_ratio_from_wet_bulb(db_peak, mcwb, p)
        wb_range_k = mcwb - psy.wet_bulb_from_humidity_ratio(db_peak - db_range, w_design, p)

    times = _grid(days * 86400.0, step_s)
    hod = (times / 3600.0) % 24.0
    f = np.interp(hod, np.arange(25.0), np.concatenate((DAILY_RANGE_FRACTION[-1:], DAILY_RANGE_FRACTION)))
    db = db_peak - f * db_range
    wb = np.minimum(mcwb - f * wb_range_k, db)
    w = psy.humidity_ratio_from_wet_bulb(db, wb, p)
    pressure = np.full_like(times, p)
    return WeatherSeries(
        times_s=times,
        dry_bulb_c=db,
        wet_bulb_c=wb,
        rel_humidity_pct=psy.rel_humidity_from_humidity_ratio(db, w, p),
        start_local=start,
        timezone=_fixed_zone(epw.header.tz_offset_h)[1],
        dew_point_c=psy.dew_point_from_humidity_ratio(w, p),
        pressure_pa=pressure,
        source=f"ASHRAE {percentile}% cooling design day, {epw.path.name}",
    )
