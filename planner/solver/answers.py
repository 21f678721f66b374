"""The engineer's questions answered from one simulation: plain data for the CLI, the GUI and reports.

:func:`answers` reads a :class:`~planner.solver.results.SimulationResult` (and the plan it came from,
for rack/server names and GPU counts) and says *what*, *when* and *where*:

* hottest GPU: its temperature [°C], the local time of the minute it happened, the rack and server;
* throttling: how many GPUs throttled at all, the most at once and when, the local clock hours in
  which any GPU throttled (as ranges such as ``13:00–19:00``), the racks that lost most;
* lost and throttled GPU-hours [GPU·h];
* energy [kWh] (IT, cooling, facility), PUE, cost [$] (energy, demand charge; per year when the run
  covers a year), peak facility power [kW] and when.

Nothing here integrates anything: every figure is the solver's (``SimulationResult`` summary, minute
series, per-rack maxima). Times are the site's local wall clock (daylight saving included), as
:func:`planner.solver.ambient.local_times` gives them. Qt-free; the result is a JSON-ready ``dict``.
"""
from __future__ import annotations

import math

import numpy as np

from .ambient import local_hour, local_times

#: A run at least this long [days] is "annual": cost is also stated per year (365 days).
ANNUAL_MIN_DAYS = 364.0
#: Racks listed as the ones that lost most GPU time to throttling.
TOP_RACKS = 5


def _f(x) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _local(result, t_s: float) -> str:
    return local_times(result.start, [t_s], result.timezone)[0]


def hour_ranges(hours) -> list[str]:
    """Clock hours (0..23) as ranges of whole hours: ``{13, 14, 15, 22}`` -> ``["13:00–16:00", "22:00–23:00"]``.

    A range that runs past midnight is joined: ``{23, 0, 1}`` -> ``["23:00–02:00"]``.
    """
    hs = sorted({int(h) % 24 for h in hours})
    if not hs:
        return []
    if len(hs) == 24:
        return ["00:00–24:00"]
    runs: list[list[int]] = []
    for h in hs:
        if runs and h == runs[-1][1]:
            runs[-1][1] = h + 1
        else:
            runs.append([h, h + 1])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == 24:  # wrap around midnight
        first = runs.pop(0)
        runs[-1][1] = first[1]
    return [f"{a:02d}:00–{b % 24 if b != 24 else 24:02d}:00" for a, b in runs]


def _names(names, values, n: int) -> list[dict]:
    order = np.argsort(-np.asarray(values, float), kind="stable")
    return [{"rack": names[i], "throttled_gpu_hours": float(values[i])} for i in order[:n] if values[i] > 0]


def answers(result, plan=None) -> dict:
    """The questions a facility engineer asks of a run, answered from ``result``.

    result : SimulationResult  The run
    plan : Plan | None  The plan it came from; gives the server of the hottest GPU's rack when the
        run recorded no per-server history (``None``: rack names only)

    Returns a dict (JSON-ready; ``None`` where a figure does not exist, e.g. no air-cooled racks):

    ``hottest_gpu``: ``temp_c`` [°C], ``time`` (local ISO), ``time_s`` [s from start], ``rack``,
    ``server`` (when known), ``slowdown_margin_k`` [K] below the slowdown temperature of that server
    (negative: above it; needs ``plan``).
    ``hottest_inlet``: ``temp_c``, ``rack``.
    ``throttling``: ``gpus`` (throttled at all), ``of_gpus``, ``peak_gpus`` (most at once, from the
    largest minute share), ``peak_fraction``, ``peak_time``, ``hours`` (local clock ranges with any
    throttling), ``throttled_gpu_hours``, ``lost_gpu_hours``, ``events``, ``worst_racks``.
    ``energy``: ``it_kwh``, ``cooling_kwh``, ``facility_kwh``, ``pue``.
    ``cost``: ``total_usd``, ``energy_usd``, ``demand_usd``, ``per_year_usd`` (annual runs only).
    ``peak``: ``facility_kw``, ``facility_time``, ``facility_15min_kw``, ``it_kw``.
    ``run``: ``start``, ``end``, ``days``, ``step_s``, ``control``, ``cancelled``, ``resolution_s``.
    """
    r = result
    t = np.asarray(r.time_s, float)
    minute = float(t[1] - t[0]) if t.size > 1 else float(max(r.step_s, 60.0))
    out: dict = {}

    # ---- hottest GPU: where from the per-rack maxima, when from the minute maxima
    hot: dict = {"temp_c": _f(r.max_gpu_temp_c), "time": None, "time_s": None, "rack": None, "server": None,
                 "slowdown_margin_k": None}
    series = np.asarray(r.max_gpu_temp_c_series, float)
    if series.size and np.any(np.isfinite(series)):
        k = int(np.nanargmax(series))
        hot["time_s"], hot["time"] = float(t[k]), _local(r, float(t[k]))
    rack_gpu = np.asarray(r.rack_max_gpu_c, float)
    if rack_gpu.size and np.any(np.isfinite(rack_gpu)):
        hot["rack"] = r.rack_names[int(np.nanargmax(rack_gpu))]
    if r.server_temp_c is not None and np.size(r.server_temp_c) and hot["time_s"] is not None:
        k = int(np.nanargmax(series))
        hot["server"] = r.server_names[int(np.nanargmax(r.server_temp_c[k]))]
    if plan is not None and hot["rack"] is not None and hot["temp_c"] is not None:
        types = plan.server_type_map()
        in_rack = [s for s in plan.servers if s.rack == hot["rack"] and s.server_type in types]
        if hot["server"] is not None:
            in_rack = [s for s in in_rack if s.name == hot["server"]] or in_rack
        if in_rack:
            slow = min(types[s.server_type].gpu_slowdown_c for s in in_rack)
            hot["slowdown_margin_k"] = slow - hot["temp_c"]
            if hot["server"] is None and len(in_rack) == 1:
                hot["server"] = in_rack[0].name
    out["hottest_gpu"] = hot

    inlet = np.asarray(r.rack_max_inlet_c, float)
    has_inlet = inlet.size and np.any(np.isfinite(inlet))
    out["hottest_inlet"] = {"temp_c": _f(r.max_inlet_temp_c),
                            "rack": r.rack_names[int(np.nanargmax(inlet))] if has_inlet else None}

    # ---- throttling: how many, when (local clock hours), where
    frac = np.asarray(r.throttled_fraction, float)
    thr: dict = {"gpus": int(r.throttled_gpus), "of_gpus": int(r.gpus), "peak_gpus": 0, "peak_fraction": 0.0,
                 "peak_time": None, "hours": [], "throttled_gpu_hours": _f(r.throttled_gpu_hours),
                 "lost_gpu_hours": _f(r.lost_gpu_hours), "events": int(r.throttle_events), "worst_racks": []}
    if frac.size and np.nanmax(frac) > 0.0:
        k = int(np.nanargmax(frac))
        thr["peak_fraction"] = float(r.max_throttled_fraction) or float(frac[k])
        thr["peak_gpus"] = int(round(thr["peak_fraction"] * r.gpus))
        thr["peak_time"] = _local(r, float(t[k]))
        on = frac > 0.0
        # a minute that has throttling marks the clock hours it touches
        hours = set(local_hour(r.start, t[on], r.timezone).tolist())
        hours |= set(local_hour(r.start, t[on] + minute - 1e-3, r.timezone).tolist())
        thr["hours"] = hour_ranges(hours)
    thr["worst_racks"] = _names(r.rack_names, np.asarray(r.rack_throttled_gpu_hours, float), TOP_RACKS)
    out["throttling"] = thr

    # ---- energy, cost, peaks
    out["energy"] = {"it_kwh": _f(r.it_energy_kwh), "cooling_kwh": _f(r.cooling_energy_kwh),
                     "facility_kwh": _f(r.facility_energy_kwh), "pue": _f(r.pue)}
    days = r.horizon_s / 86400.0
    per_year = r.cost_usd * 365.0 / days if days >= ANNUAL_MIN_DAYS and not r.cancelled else None
    out["cost"] = {"total_usd": _f(r.cost_usd), "energy_usd": _f(r.energy_cost_usd),
                   "demand_usd": _f(r.demand_charge_usd), "per_year_usd": _f(per_year)}
    fac = np.asarray(r.facility_kw, float)
    out["peak"] = {"facility_kw": _f(r.peak_facility_kw),
                   "facility_time": _local(r, float(t[int(np.argmax(fac))])) if fac.size else None,
                   "facility_15min_kw": _f(r.peak_15min_facility_kw), "it_kw": _f(r.peak_it_kw)}
    out["run"] = {"start": r.start.isoformat(timespec="seconds"),
                  "end": _local(r, float(r.horizon_s)), "days": _f(days), "step_s": _f(r.step_s),
                  "control": r.control, "cancelled": bool(r.cancelled), "resolution_s": _f(minute)}
    return out


def _num(x, fmt: str, unit: str = "") -> str:
    return "-" if x is None else (format(x, fmt) + (f" {unit}" if unit else ""))


def _when(iso: str | None) -> str:
    """``"2025-07-16 16:07"`` for ``"2025-07-16T16:07:00"`` (local wall time, as read on a clock); ``-`` for none."""
    if not iso:
        return "-"
    day, _, clock = iso.partition("T")
    return f"{day} {clock[:5]}" if clock.endswith(":00") or len(clock) == 5 else f"{day} {clock}"


def answer_lines(a: dict) -> list[str]:
    """:func:`answers` as plain sentences (SI, local times as on a clock), one per line: the CLI's text output."""
    h, thr, e, c, p = a["hottest_gpu"], a["throttling"], a["energy"], a["cost"], a["peak"]
    where = f"rack {h['rack']}" + (f", server {h['server']}" if h.get("server") else "") if h["rack"] else "-"
    lines = [f"hottest GPU: {_num(h['temp_c'], '.1f', '°C')} at {_when(h['time'])} in {where}"
             + (f" ({abs(h['slowdown_margin_k']):.1f} K {'below' if h['slowdown_margin_k'] >= 0 else 'above'} slowdown)"
                if h.get("slowdown_margin_k") is not None else "")]
    if thr["gpus"] or thr["peak_gpus"]:
        lines.append(f"throttling: {thr['gpus']} of {thr['of_gpus']} GPUs throttled; most at once "
                     f"{thr['peak_gpus']} ({thr['peak_fraction'] * 100:.0f} %) at {_when(thr['peak_time'])}; "
                     f"local hours {', '.join(thr['hours']) or '-'}")
        if thr["worst_racks"]:
            lines.append("racks throttled most: " + ", ".join(
                f"{x['rack']} ({x['throttled_gpu_hours']:,.1f} GPU·h)" for x in thr["worst_racks"]))
    else:
        lines.append(f"throttling: none of {thr['of_gpus']} GPUs throttled")
    lines.append(f"lost GPU-hours: {_num(thr['lost_gpu_hours'], ',.1f', 'GPU·h')} "
                 f"(throttled {_num(thr['throttled_gpu_hours'], ',.1f', 'GPU·h')})")
    lines.append(f"energy: IT {_num(e['it_kwh'], ',.0f', 'kWh')}, facility {_num(e['facility_kwh'], ',.0f', 'kWh')}, "
                 f"PUE {_num(e['pue'], '.3f')}")
    lines.append(f"cost: ${_num(c['total_usd'], ',.0f')} (energy ${_num(c['energy_usd'], ',.0f')}, demand "
                 f"${_num(c['demand_usd'], ',.0f')})" + (f"; ${c['per_year_usd']:,.0f} per year"
                                                        if c.get("per_year_usd") is not None else ""))
    lines.append(f"peak facility power: {_num(p['facility_kw'], ',.0f', 'kW')} at {_when(p['facility_time'])} "
                 f"(15-min {_num(p['facility_15min_kw'], ',.0f', 'kW')})")
    return lines
