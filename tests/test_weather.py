"""Tests for planner.weather and planner.psychrometrics.

References: the bundled EPW files (read independently with the csv module),
ASHRAE Handbook—Fundamentals ch. 1 (example 1 and table 3, values as quoted in
PsychroLib's test suite), Stull (2011) J. Appl. Meteor. Climatol. 50, 2267.
"""
from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import psychrometrics as psy
from planner import weather as W
from planner.assets import PHOENIX_EPW, WEATHER_DIR

DALLAS_EPW = "USA_TX_Dallas-Fort.Worth.Intl.AP.722590_TMY3.epw"
DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def row_index(month: int, day: int, hour: int) -> int:
    """0-based data row of (month, day, hour ending) in a 365-day EPW."""
    return (sum(DAYS[: month - 1]) + day - 1) * 24 + hour - 1


def line_of(month: int, day: int, hour: int) -> int:
    """1-based file line of that row (8 header lines)."""
    return 9 + row_index(month, day, hour)


def csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))[8:]


@pytest.fixture(scope="module")
def phoenix():
    return W.load_weather(PHOENIX_EPW)


@pytest.fixture(scope="module")
def dallas():
    return W.load_weather(DALLAS_EPW)


@pytest.fixture(scope="module")
def phoenix_lines():
    return (WEATHER_DIR / PHOENIX_EPW).read_text(encoding="latin-1").splitlines()


def write_copy(tmp_path, lines, name):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return p


def set_field(line: str, col: int, value: str) -> str:
    parts = line.split(",")
    parts[col] = value
    return ",".join(parts)


def assert_names(err: W.WeatherError, filename: str, line: int, field: str):
    msg = str(err)
    assert filename in msg
    assert f"line {line}" in msg
    assert f"'{field}'" in msg
    assert (err.line, err.field) == (line, field)


# --------------------------------------------------------------------------- header and rows


def test_phoenix_header(phoenix):
    h = phoenix.header
    assert (h.city, h.state, h.country, h.wmo) == ("Phoenix Sky Harbor Intl Ap", "AZ", "USA", "722780")
    assert h.latitude == 33.45 and h.longitude == -111.98
    assert h.tz_offset_h == -7.0 and h.elevation_m == 337.0
    d = h.design
    # DESIGN CONDITIONS line of the file: Heating,12,3.7,... Cooling,7,12,43.4,21.1,42.3,21,41.2,20.9,...
    assert d["cooling_db_004"] == 43.4 and d["cooling_mcwb_004"] == 21.1
    assert d["cooling_db_010"] == 42.3 and d["cooling_mcwb_010"] == 21.0
    assert d["cooling_db_020"] == 41.2 and d["cooling_mcwb_020"] == 20.9
    assert d["cooling_range_db"] == 12.0 and d["cooling_hottest_month"] == 7
    assert d["heating_db_996"] == 3.7 and d["heating_db_990"] == 5.2
    assert d["evaporation_wb_004"] == 24.5 and d["dehumidification_dp_004"] == 21.8
    assert d["hours_8_to_4_db_12_8_to_20_6"] == 749
    assert d["extreme_max_wb"] == 27.7 and d["extreme_db_n50_max"] == 49.8
    assert h.design_source == "Climate Design Data 2009 ASHRAE Handbook"


@pytest.mark.parametrize("path", W.list_weather_files(), ids=lambda p: p.name[:20])
def test_bundled_files_match_csv_reference(path):
    epw = W.read_epw(path)
    rows = csv_rows(path)
    assert len(rows) == 8760 and epw.dry_bulb_c.shape == (8760,)
    for attr, col in (("month", 1), ("day", 2), ("hour", 3)):
        np.testing.assert_array_equal(getattr(epw, attr), [int(r[col]) for r in rows])
    for attr, col in (("dry_bulb_c", 6), ("dew_point_c", 7), ("rel_humidity_pct", 8), ("pressure_pa", 9)):
        np.testing.assert_array_equal(getattr(epw, attr), [float(r[col]) for r in rows])
    assert epw.filled == {}
    # Wet bulb lies between dew point and dry bulb, and satisfies ASHRAE eq. 33/35 exactly.
    assert np.all(epw.wet_bulb_c <= epw.dry_bulb_c + 1e-9)
    assert np.all(epw.wet_bulb_c >= np.minimum(epw.dew_point_c, epw.dry_bulb_c) - 1e-9)
    w_dp = psy.humidity_ratio_from_dew_point(np.minimum(epw.dew_point_c, epw.dry_bulb_c), epw.pressure_pa)
    w_wb = psy.humidity_ratio_from_wet_bulb(epw.dry_bulb_c, epw.wet_bulb_c, epw.pressure_pa)
    np.testing.assert_allclose(w_wb, w_dp, rtol=0, atol=1e-9)


def test_cache_and_read_only(phoenix, tmp_path, phoenix_lines):
    assert W.load_weather(PHOENIX_EPW) is phoenix
    assert W.read_epw(WEATHER_DIR / PHOENIX_EPW) is phoenix
    with pytest.raises(ValueError):
        phoenix.dry_bulb_c[0] = 0.0
    p = write_copy(tmp_path, phoenix_lines, "copy.epw")
    first = W.read_epw(p)
    assert W.read_epw(p) is first
    st_ = os.stat(p)
    os.utime(p, ns=(st_.st_atime_ns, st_.st_mtime_ns + 10**9))  # "edited": new mtime -> parsed again
    assert W.read_epw(p) is not first


def test_load_weather_by_name():
    assert W.load_weather("phoenix").path.name == PHOENIX_EPW
    with pytest.raises(W.WeatherError, match="several"):
        W.load_weather("USA")
    with pytest.raises(W.WeatherError, match="not found"):
        W.load_weather("Atlantis")


def test_module_is_qt_and_orm_free():
    code = ("import sys, planner.weather; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'sqlmodel', 'sqlalchemy', 'models', 'ui')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=WEATHER_DIR.parents[1])


# --------------------------------------------------------------------------- stress periods


def test_hottest_day_phoenix(phoenix):
    rows = csv_rows(phoenix.path)
    daily = {}
    for r in rows:
        key = (int(r[1]), int(r[2]))
        daily[key] = max(daily.get(key, -1e9), float(r[6]))
    best = max(daily.values())
    assert W.hottest_day(phoenix) == (7, 16)
    assert daily[(7, 16)] == best == 44.4
    assert W.hottest_day(phoenix, month=7) == (7, 16)
    m, d = W.hottest_day(phoenix, month=1)
    assert m == 1 and daily[(1, d)] == max(v for (mm, _), v in daily.items() if mm == 1)
    with pytest.raises(ValueError):
        W.hottest_day(phoenix, month=13)


@pytest.mark.parametrize("month", [None, 7, 2])
def test_hottest_week_brute_force(phoenix, month):
    rows = csv_rows(phoenix.path)
    day_mean = {}
    for r in rows:
        day_mean.setdefault((int(r[1]), int(r[2])), []).append(float(r[6]))
    dates = [datetime(2025, 1, 1) + timedelta(days=i) for i in range(365)]
    best, best_start = -1e9, None
    for i in range(365 - 6):
        window = dates[i:i + 7]
        if month is not None and any(d.month != month for d in window):
            continue
        mean = sum(sum(day_mean[(d.month, d.day)]) for d in window) / (7 * 24)
        if mean > best + 1e-12:
            best, best_start = mean, (window[0].month, window[0].day)
    assert W.hottest_week(phoenix, month=month) == best_start


# --------------------------------------------------------------------------- time series


def test_half_hour_interpolation_is_mean_of_neighbours(phoenix):
    s = W.weather_series(phoenix, datetime(2025, 7, 16, 0, 0), horizon_s=86400, step_s=1800)
    assert s.times_s.shape == (49,) and s.times_s[-1] == 86400 and s.timezone == "UTC-07:00"
    # Whole hours: the value of the row whose hour ends then (00:00 is July 15 hour 24).
    i0 = row_index(7, 16, 1) - 1
    hourly = phoenix.dry_bulb_c[i0:i0 + 25]
    np.testing.assert_allclose(s.dry_bulb_c[::2], hourly, rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.dry_bulb_c[1::2], (hourly[:-1] + hourly[1:]) / 2, rtol=0, atol=1e-12)
    wb = phoenix.wet_bulb_c[i0:i0 + 25]
    np.testing.assert_allclose(s.wet_bulb_c[1::2], (wb[:-1] + wb[1:]) / 2, rtol=0, atol=1e-12)
    rh = phoenix.rel_humidity_pct[i0:i0 + 25]
    np.testing.assert_allclose(s.rel_humidity_pct[1::2], (rh[:-1] + rh[1:]) / 2, rtol=0, atol=1e-12)
    # 15:00 MST on July 16 reads the hour-ending-15 row: 44.4 °C
    assert s.dry_bulb_c[30] == 44.4
    assert s.at(15 * 3600 + 900) == pytest.approx(44.4)  # rows 15 and 16 are both 44.4


def test_year_end_wraps(phoenix):
    s = W.weather_series(phoenix, datetime(2025, 12, 31, 23, 30), horizon_s=7200, step_s=3600)
    db = phoenix.dry_bulb_c
    dec31_23, dec31_24, jan1_1 = db[8758], db[8759], db[0]
    np.testing.assert_allclose(s.dry_bulb_c, [(dec31_23 + dec31_24) / 2, (dec31_24 + jan1_1) / 2,
                                              (jan1_1 + db[1]) / 2])


def test_dst_zone_shifts_one_hour_in_july_not_january(dallas):
    db = dallas.dry_bulb_c
    # July: 15:00 CDT = 14:00 CST in the file.
    s = W.weather_series(dallas, datetime(2025, 7, 15, 15, 0), 3600, 3600, timezone="America/Chicago")
    assert s.dry_bulb_c[0] == db[row_index(7, 15, 14)] == 32.8
    fixed = W.weather_series(dallas, datetime(2025, 7, 15, 15, 0), 3600, 3600)
    assert fixed.dry_bulb_c[0] == db[row_index(7, 15, 15)] == 33.3
    assert s.start_local == datetime(2025, 7, 15, 15, 0) and s.timezone == "America/Chicago"
    # January: CST = file time, no shift.
    s = W.weather_series(dallas, datetime(2025, 1, 15, 15, 0), 3600, 3600, timezone="America/Chicago")
    assert s.dry_bulb_c[0] == db[row_index(1, 15, 15)]
    # An aware start means the same instant: 20:00 UTC = 15:00 CDT.
    aware = datetime(2025, 7, 15, 20, 0, tzinfo=timezone.utc)
    s = W.weather_series(dallas, aware, 3600, 3600, timezone="America/Chicago")
    assert s.dry_bulb_c[0] == 32.8 and s.start_local == datetime(2025, 7, 15, 15, 0)
    # The fixed-offset name round-trips.
    again = W.weather_series(dallas, datetime(2025, 7, 15, 15, 0), 3600, 3600, timezone=fixed.timezone)
    np.testing.assert_array_equal(again.dry_bulb_c, fixed.dry_bulb_c)


def test_dst_series_crossing_the_spring_change(dallas):
    # 2025-03-09 02:00 CST clocks jump to 03:00 CDT; the grid stays uniform in real time.
    s = W.weather_series(dallas, datetime(2025, 3, 9, 0, 0), 4 * 3600, 3600, timezone="America/Chicago")
    i = row_index(3, 9, 1) - 1
    np.testing.assert_array_equal(s.dry_bulb_c, dallas.dry_bulb_c[i:i + 5])


def test_leap_year_feb29_repeats_feb28(phoenix):
    db = phoenix.dry_bulb_c
    s = W.weather_series(phoenix, datetime(2024, 2, 28, 12, 0), 2 * 86400, 86400)
    assert s.dry_bulb_c[0] == db[row_index(2, 28, 12)]
    assert s.dry_bulb_c[1] == db[row_index(2, 28, 12)]  # Feb 29 12:00
    assert s.dry_bulb_c[2] == db[row_index(3, 1, 12)]
    s = W.weather_series(phoenix, datetime(2024, 12, 31, 12, 0), 365 * 86400, 86400)
    assert s.dry_bulb_c[0] == db[row_index(12, 31, 12)]
    assert s.dry_bulb_c[-1] == db[row_index(12, 31, 12)]  # 2025-12-31 12:00


def test_unknown_timezone(phoenix):
    with pytest.raises(W.WeatherError) as ei:
        W.weather_series(phoenix, datetime(2025, 7, 1), 3600, 60, timezone="Mars/Olympus_Mons")
    assert_names(ei.value, PHOENIX_EPW, 1, "timezone")
    assert "Mars/Olympus_Mons" in str(ei.value)


@pytest.mark.parametrize("horizon, step", [(3600, 0), (3600, -60), (0, 60), (-1, 60), (3600, float("nan")),
                                           (float("inf"), 60)])
def test_bad_step_or_horizon(phoenix, horizon, step):
    with pytest.raises(ValueError, match="step_s|horizon_s"):
        W.weather_series(phoenix, datetime(2025, 7, 1), horizon, step)


def test_too_many_samples_is_a_clear_error(phoenix):
    with pytest.raises(ValueError, match="step_s"):
        W.weather_series(phoenix, datetime(2025, 1, 1), 365 * 86400, 1.0)


def _value_at_boundary(epw, t: datetime) -> float:
    """Hourly value placed at whole hour t (file standard time, 2025): the row whose hour ends at t."""
    d = t - timedelta(hours=1)
    return float(epw.dry_bulb_c[row_index(d.month, d.day, d.hour + 1)])


@settings(max_examples=60, deadline=None)
@given(start_min=st.integers(0, 365 * 24 * 60 - 1), step_s=st.floats(30.0, 7200.0),
       horizon_h=st.floats(0.5, 72.0))
def test_interpolation_is_linear_between_neighbouring_hours(phoenix, start_min, step_s, horizon_h):
    start = datetime(2025, 1, 1) + timedelta(minutes=start_min)
    s = W.weather_series(phoenix, start, horizon_h * 3600.0, step_s)
    for k in range(0, s.times_s.size, max(1, s.times_s.size // 20)):
        t = start + timedelta(seconds=float(s.times_s[k]))
        lo_t = t.replace(minute=0, second=0, microsecond=0)
        t0 = lo_t.replace(year=2025) if lo_t.year > 2025 else lo_t
        a = _value_at_boundary(phoenix, t0)
        b = _value_at_boundary(phoenix, t0 + timedelta(hours=1))
        frac = (t - lo_t).total_seconds() / 3600.0
        assert min(a, b) - 1e-9 <= s.dry_bulb_c[k] <= max(a, b) + 1e-9
        assert s.dry_bulb_c[k] == pytest.approx(a + frac * (b - a), abs=1e-6)


# --------------------------------------------------------------------------- broken files


def test_missing_row(tmp_path, phoenix_lines):
    lines = list(phoenix_lines)
    del lines[line_of(3, 10, 5) - 1]
    p = write_copy(tmp_path, lines, "missing_row.epw")
    with pytest.raises(W.WeatherError) as ei:
        W.read_epw(p)
    assert_names(ei.value, "missing_row.epw", line_of(3, 10, 5), "month/day/hour")
    assert "first missing is month 3 day 10 hour 5" in str(ei.value)


def test_duplicated_row(tmp_path, phoenix_lines):
    lines = list(phoenix_lines)
    i = line_of(6, 1, 1) - 1
    lines.insert(i, lines[i - 1])
    p = write_copy(tmp_path, lines, "dup_row.epw")
    with pytest.raises(W.WeatherError, match="out of order or duplicated") as ei:
        W.read_epw(p)
    assert_names(ei.value, "dup_row.epw", line_of(6, 1, 1), "month/day/hour")


def test_non_numeric_field(tmp_path, phoenix_lines):
    lines = list(phoenix_lines)
    lines[4999] = set_field(lines[4999], 6, "abc")
    p = write_copy(tmp_path, lines, "non_numeric.epw")
    with pytest.raises(W.WeatherError, match="not a number: 'abc'") as ei:
        W.read_epw(p)
    assert_names(ei.value, "non_numeric.epw", 5000, "dry_bulb_c")


def test_non_integer_hour(tmp_path, phoenix_lines):
    lines = list(phoenix_lines)
    lines[99] = set_field(lines[99], 3, "x")
    with pytest.raises(W.WeatherError) as ei:
        W.read_epw(write_copy(tmp_path, lines, "bad_hour.epw"))
    assert_names(ei.value, "bad_hour.epw", 100, "hour")


@pytest.mark.parametrize("text", ["nan", "NaN", "inf"])
def test_nan_rejected(tmp_path, phoenix_lines, text):
    lines = list(phoenix_lines)
    lines[5999] = set_field(lines[5999], 9, text)
    p = write_copy(tmp_path, lines, f"nan_{text}.epw")
    with pytest.raises(W.WeatherError) as ei:
        W.read_epw(p)
    assert_names(ei.value, f"nan_{text}.epw", 6000, "pressure_pa")


def test_truncated_file(tmp_path, phoenix_lines):
    p = write_copy(tmp_path, phoenix_lines[: 8 + 4000], "truncated.epw")
    with pytest.raises(W.WeatherError, match="file ends after 4000 of 8760") as ei:
        W.read_epw(p)
    assert_names(ei.value, "truncated.epw", 8 + 4000 + 1, "month/day/hour")


def test_truncated_mid_row(tmp_path, phoenix_lines):
    lines = phoenix_lines[: 8 + 4000]
    lines[-1] = ",".join(lines[-1].split(",")[:7])  # cut after the dry bulb
    p = write_copy(tmp_path, lines, "cut_row.epw")
    with pytest.raises(W.WeatherError, match="only 7 fields") as ei:
        W.read_epw(p)
    assert_names(ei.value, "cut_row.epw", 8 + 4000, "dew_point_c")


def test_truncated_header(tmp_path, phoenix_lines):
    with pytest.raises(W.WeatherError) as ei:
        W.read_epw(write_copy(tmp_path, phoenix_lines[:5], "header_only.epw"))
    assert_names(ei.value, "header_only.epw", 6, "header")


def test_not_an_epw(tmp_path):
    p = tmp_path / "notes.epw"
    p.write_text("hello\n" * 20)
    with pytest.raises(W.WeatherError, match="LOCATION") as ei:
        W.read_epw(p)
    assert_names(ei.value, "notes.epw", 1, "location")


def test_bad_header_fields(tmp_path, phoenix_lines):
    lines = list(phoenix_lines)
    lines[0] = set_field(lines[0], 6, "north")
    with pytest.raises(W.WeatherError) as ei:
        W.read_epw(write_copy(tmp_path, lines, "bad_lat.epw"))
    assert_names(ei.value, "bad_lat.epw", 1, "latitude")
    lines = list(phoenix_lines)
    parts = lines[1].split(",")
    parts[parts.index("Cooling") + 3] = "hot"
    lines[1] = ",".join(parts)
    with pytest.raises(W.WeatherError) as ei:
        W.read_epw(write_copy(tmp_path, lines, "bad_design.epw"))
    assert_names(ei.value, "bad_design.epw", 2, "cooling_db_004")


def test_missing_file():
    with pytest.raises(W.WeatherError, match="nowhere.epw"):
        W.read_epw("/nonexistent/nowhere.epw")


def test_short_missing_gap_is_filled(tmp_path, phoenix_lines, phoenix):
    lines = list(phoenix_lines)
    i = row_index(7, 16, 12)
    lines[8 + i] = set_field(lines[8 + i], 6, "99.9")  # EPW 'missing' sentinel
    epw = W.read_epw(write_copy(tmp_path, lines, "one_missing.epw"))
    assert epw.filled == {"dry_bulb_c": 1}
    db = phoenix.dry_bulb_c
    assert epw.dry_bulb_c[i] == pytest.approx((db[i - 1] + db[i + 1]) / 2)
    # Gap across the year end fills from both sides too.
    lines = list(phoenix_lines)
    lines[8] = set_field(lines[8], 9, "999999")
    epw = W.read_epw(write_copy(tmp_path, lines, "first_missing.epw"))
    assert epw.pressure_pa[0] == pytest.approx((phoenix.pressure_pa[-1] + phoenix.pressure_pa[1]) / 2)


def test_long_missing_gap_is_an_error(tmp_path, phoenix_lines):
    lines = list(phoenix_lines)
    first = line_of(8, 1, 10)
    for ln in range(first, first + 5):
        lines[ln - 1] = set_field(lines[ln - 1], 9, "999999")
    with pytest.raises(W.WeatherError, match="5 consecutive hours") as ei:
        W.read_epw(write_copy(tmp_path, lines, "gap.epw"))
    assert_names(ei.value, "gap.epw", first, "pressure_pa")


def test_out_of_range_value(tmp_path, phoenix_lines):
    lines = list(phoenix_lines)
    lines[199] = set_field(lines[199], 8, "150")
    with pytest.raises(W.WeatherError, match="outside") as ei:
        W.read_epw(write_copy(tmp_path, lines, "rh.epw"))
    assert_names(ei.value, "rh.epw", 200, "rel_humidity_pct")


# --------------------------------------------------------------------------- psychrometrics


def test_saturation_pressure_vs_ashrae_table3():
    # ASHRAE Handbook—Fundamentals (2017) ch. 1 table 3 (as quoted by PsychroLib), 300 ppm.
    for t, p in ((-20, 103.24), (-5, 401.74), (5, 872.6), (25, 3169.7), (50, 12351.3)):
        assert psy.saturation_pressure_pa(t) == pytest.approx(p, rel=3e-4)


def test_wet_bulb_vs_published_values():
    # ASHRAE Handbook—Fundamentals (2017) ch. 1 example 1: 40 °C dry bulb, 20 °C wet bulb,
    # 101.325 kPa -> W = 0.0065 kg/kg, relative humidity 14 %.
    assert psy.humidity_ratio_from_wet_bulb(40.0, 20.0, 101325.0) == pytest.approx(0.0065, abs=1e-4)
    assert psy.wet_bulb_from_humidity_ratio(40.0, 0.0065, 101325.0) == pytest.approx(20.0, abs=0.2)
    assert psy.wet_bulb_from_rel_humidity(40.0, 14.0, 101325.0) == pytest.approx(20.0, abs=0.2)
    # Stull (2011), p. 2267: T = 20 °C, RH = 50 % at sea level -> Tw = 13.7 °C.
    assert psy.wet_bulb_from_rel_humidity(20.0, 50.0, 101325.0) == pytest.approx(13.7, abs=0.2)
    # Same air through the dew-point path used for EPW rows.
    w = psy.humidity_ratio_from_wet_bulb(40.0, 20.0, 101325.0)
    t_dp = psy.dew_point_from_humidity_ratio(w, 101325.0)
    assert psy.wet_bulb_from_dew_point(40.0, t_dp, 101325.0) == pytest.approx(20.0, abs=1e-6)


def test_wet_bulb_limits_and_pressure():
    assert psy.wet_bulb_from_dew_point(25.0, 25.0, 101325.0) == pytest.approx(25.0, abs=1e-6)  # saturated
    assert psy.wet_bulb_from_dew_point(25.0, 26.0, 101325.0) == pytest.approx(25.0, abs=1e-6)  # noisy dew point
    # Same dew point at altitude: lower pressure -> lower wet bulb (drier per kg of air).
    assert psy.wet_bulb_from_dew_point(40.0, 5.0, 80000.0) < psy.wet_bulb_from_dew_point(40.0, 5.0, 101325.0)
    assert psy.standard_pressure_pa(0.0) == pytest.approx(101325.0)
    assert psy.standard_pressure_pa(1000.0) == pytest.approx(89875.0, abs=1.0)  # ASHRAE ch. 1 table 1


@settings(max_examples=200, deadline=None)
@given(t_db=st.floats(-30.0, 55.0), depression=st.floats(0.0, 50.0), p=st.floats(70000.0, 105000.0))
def test_wet_bulb_between_dew_point_and_dry_bulb(t_db, depression, p):
    t_dp = t_db - depression
    t_wb = psy.wet_bulb_from_dew_point(t_db, t_dp, p)
    assert t_dp - 1e-6 <= t_wb <= t_db + 1e-6
    w = psy.humidity_ratio_from_dew_point(t_dp, p)
    assert psy.humidity_ratio_from_wet_bulb(t_db, t_wb, p) == pytest.approx(w, rel=1e-6, abs=1e-9)


# --------------------------------------------------------------------------- design day


def test_design_day_phoenix(phoenix):
    dd = W.design_day(phoenix)
    assert dd.times_s.shape == (25,)
    assert dd.dry_bulb_c.max() == pytest.approx(43.4, abs=1e-12)
    assert dd.dry_bulb_c.min() == pytest.approx(43.4 - 12.0, abs=1e-12)
    assert int(np.argmax(dd.dry_bulb_c)) == 14 and int(np.argmin(dd.dry_bulb_c)) == 5
    assert dd.dry_bulb_c[15] == dd.dry_bulb_c[14]  # table 6: fraction 0 at hours 14 and 15
    assert dd.wet_bulb_c.max() == pytest.approx(21.1, abs=1e-12) and int(np.argmax(dd.wet_bulb_c)) == 14
    assert np.all(dd.wet_bulb_c <= dd.dry_bulb_c)
    assert dd.start_local == datetime(W.DEFAULT_YEAR, 7, 21) and dd.timezone == "UTC-07:00"
    assert dd.dry_bulb_c[0] == dd.dry_bulb_c[24] == pytest.approx(43.4 - 0.82 * 12.0)
    # Humidity ratio at the peak equals that of (design DB, MCWB) at the site pressure.
    p = psy.standard_pressure_pa(337.0)
    w_peak = psy.humidity_ratio_from_wet_bulb(43.4, 21.1, p)
    assert psy.humidity_ratio_from_dew_point(dd.dew_point_c[14], p) == pytest.approx(w_peak, rel=1e-6)
    assert dd.pressure_pa[0] == pytest.approx(p)


def test_design_day_options(phoenix):
    one = W.design_day(phoenix, percentile="1")
    assert one.dry_bulb_c.max() == pytest.approx(42.3) and one.wet_bulb_c.max() == pytest.approx(21.0)
    two = W.design_day(phoenix, percentile=2)
    assert two.dry_bulb_c.max() == pytest.approx(41.2)
    fine = W.design_day(phoenix, step_s=1800, days=2, wb_range_k=5.0)
    assert fine.times_s[-1] == 2 * 86400 and fine.times_s.size == 97
    np.testing.assert_allclose(fine.dry_bulb_c[1:48:2], (fine.dry_bulb_c[0:47:2] + fine.dry_bulb_c[2:49:2]) / 2)
    np.testing.assert_allclose(fine.dry_bulb_c[:49], fine.dry_bulb_c[48:])  # identical days
    assert fine.wet_bulb_c.min() == pytest.approx(21.1 - 5.0)
    with pytest.raises(ValueError, match="percentile"):
        W.design_day(phoenix, percentile="5")


def test_design_day_without_design_conditions(tmp_path, phoenix_lines):
    lines = list(phoenix_lines)
    lines[1] = "DESIGN CONDITIONS,0"
    epw = W.read_epw(write_copy(tmp_path, lines, "no_design.epw"))
    assert epw.header.design == {}
    with pytest.raises(W.WeatherError) as ei:
        W.design_day(epw)
    assert_names(ei.value, "no_design.epw", 2, "cooling_db_004")


@pytest.mark.parametrize("path", W.list_weather_files(), ids=lambda p: p.name[:20])
def test_design_day_every_bundled_file(path):
    epw = W.read_epw(path)
    d = epw.header.design
    dd = W.design_day(epw, step_s=900)
    assert dd.dry_bulb_c.max() == pytest.approx(d["cooling_db_004"])
    assert dd.dry_bulb_c.min() == pytest.approx(d["cooling_db_004"] - d["cooling_range_db"])
    assert dd.wet_bulb_c.max() == pytest.approx(d["cooling_mcwb_004"])
    assert np.all(np.isfinite(dd.rel_humidity_pct)) and np.all(dd.rel_humidity_pct <= 100.0 + 1e-9)
    assert math.isclose(dd.start_local.month, d["cooling_hottest_month"])


def test_leap_year_file_drops_feb29(tmp_path, phoenix_lines, phoenix):
    # An actual-year file for a leap year carries Feb 29; the typical year keeps 365 days.
    lines = list(phoenix_lines)
    i = line_of(3, 1, 1) - 1
    feb29 = [set_field(lines[line_of(2, 28, h) - 1], 2, "29") for h in range(1, 25)]
    lines[i:i] = feb29
    epw = W.read_epw(write_copy(tmp_path, lines, "leap.epw"))
    np.testing.assert_array_equal(epw.dry_bulb_c, phoenix.dry_bulb_c)
    assert epw.line[row_index(3, 1, 1)] == line_of(3, 1, 1) + 24  # messages still point at the real line


def test_huge_integer_is_a_weather_error(tmp_path, phoenix_lines):
    lines = list(phoenix_lines)
    lines[20] = set_field(lines[20], 1, "99999999999999999999")
    p = write_copy(tmp_path, lines, "huge_month.epw")
    with pytest.raises(W.WeatherError, match="not an integer") as ei:
        W.read_epw(p)
    assert_names(ei.value, "huge_month.epw", 21, "month")


def test_form_feed_and_nel_in_comments_are_not_line_breaks(tmp_path, phoenix_lines):
    lines = list(phoenix_lines)
    lines[5] = lines[5] + " note\x0cwith\x85odd bytes"  # COMMENTS 1
    p = write_copy(tmp_path, lines, "odd_comment.epw")
    assert W.read_epw(p).dry_bulb_c.size == 8760


def test_crlf_and_bom_are_accepted(tmp_path, phoenix_lines, phoenix):
    p = tmp_path / "crlf_bom.epw"
    p.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(phoenix_lines) + "\r\n").encode("latin-1"))
    data = W.read_epw(p)
    assert data.header.latitude == 33.45
    np.testing.assert_array_equal(data.dry_bulb_c, phoenix.dry_bulb_c)
