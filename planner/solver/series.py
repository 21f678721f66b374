"""Time series a view of a run needs beyond the solver's own minute series (Qt-free, plain data).

:func:`view_series` adds, on the run's minute grid: outdoor wet bulb [°C] (from the same weather
the solver read, :func:`.ambient.ambient_grid`), the energy price [$/kWh] of each local clock hour
(DST included, as the solver bills it), the 95th percentile of GPU temperature [°C] (GPU-weighted
over servers), and per loop the heat it takes in [kW] against the capacity of its equipment at
that minute's weather and loop temperatures [kW] (:func:`.integrate.loop_capacity` at full actuator:
the ambient-derated capacity). The percentile and the loop heat are the solver's own minute series
(``gpu_p95_c``, ``loop_heat_kw``, recorded at any run length) when the result has them, else they
are derived from the per-server minute histories.

:func:`rack_series` is the one adapter from a result to per-rack series for the floor heat map.
The solver's own per-rack series (``rack_series_time_s``, ``rack_inlet_c``, ``rack_gpu_max_c``,
``rack_throttled_fraction``, ``rack_power_kw``, ``rack_series_step_s``) are used when the result has
them; otherwise they are derived from the per-server minute histories (``record`` with
``"server"``): hottest GPU and summed power per rack, and the GPU-weighted share of the rack's
servers at or above their slowdown temperature at the minute's end (inlet needs the solver's
series: NaN then).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ambient import ambient_grid, local_hour

#: Most minutes at which loop capacity is evaluated exactly (the rest interpolated).
CAPACITY_SAMPLES = 4000


@dataclass
class RackSeries:
    """Per-rack series for the heat map.

    time_s : array [t]  Seconds from the run's start
    names : list[str]  Rack names (columns)
    inlet_c, gpu_max_c : arrays [t × racks]  Hottest air inlet / GPU in the rack [°C] (NaN: none)
    throttled_fraction : array [t × racks]  Share of the rack's GPUs throttled [0..1]
    power_kw : array [t × racks]  IT power [kW]
    step_s : float  Spacing of ``time_s`` [s] (the heat map's resolution)
    source : str  ``"solver"`` or ``"servers"`` (derived from per-server histories)
    """

    time_s: np.ndarray
    names: list
    inlet_c: np.ndarray
    gpu_max_c: np.ndarray
    throttled_fraction: np.ndarray
    power_kw: np.ndarray
    step_s: float
    source: str


def rack_series(result, plan) -> RackSeries | None:
    """Per-rack series of ``result`` (see module doc); None if the run recorded neither kind."""
    r = result
    if getattr(r, "rack_series_time_s", None) is not None and np.size(r.rack_series_time_s):
        return RackSeries(np.asarray(r.rack_series_time_s, float), list(r.rack_names),
                          np.asarray(r.rack_inlet_c, float), np.asarray(r.rack_gpu_max_c, float),
                          np.asarray(r.rack_throttled_fraction, float), np.asarray(r.rack_power_kw, float),
                          float(r.rack_series_step_s), "solver")
    if r.server_temp_c is None or not np.size(r.server_temp_c):
        return None
    temps = np.asarray(r.server_temp_c, float)
    power = np.asarray(r.server_power_kw, float)
    names = list(r.rack_names)
    col = {n: i for i, n in enumerate(names)}
    types = plan.server_type_map()
    by_name = {s.name: s for s in plan.servers}
    rack_idx = np.array([col.get(by_name[s].rack, -1) if s in by_name else -1 for s in r.server_names])
    gpus = np.array([types[by_name[s].server_type].gpu_count if s in by_name and by_name[s].server_type in types
                     else 0 for s in r.server_names], float)
    slow = np.array([types[by_name[s].server_type].gpu_slowdown_c if s in by_name and by_name[s].server_type in types
                     else np.inf for s in r.server_names])
    nt, nr = temps.shape[0], len(names)
    ok = rack_idx >= 0
    gpu_max = np.full((nt, nr), -np.inf)
    pw = np.zeros((nt, nr))
    thr = np.zeros((nt, nr))
    rack_gpus = np.bincount(rack_idx[ok], weights=gpus[ok], minlength=nr)
    for j in np.flatnonzero(ok):  # servers are few per rack: a loop over servers, vectorised over time
        c = rack_idx[j]
        np.maximum(gpu_max[:, c], temps[:, j], out=gpu_max[:, c])
        pw[:, c] += power[:, j]
        thr[:, c] += gpus[j] * (temps[:, j] >= slow[j])
    gpu_max[np.isinf(gpu_max)] = np.nan
    thr = np.divide(thr, rack_gpus, out=np.zeros_like(thr), where=rack_gpus > 0)
    t = np.asarray(r.time_s, float)[:nt]
    step = float(t[1] - t[0]) if t.size > 1 else float(max(r.step_s, 60.0))
    return RackSeries(t, names, np.full((nt, nr), np.nan), gpu_max, thr, pw, step, "servers")


def view_series(result, plan, scenario) -> dict:
    """Extra minute series for the plots (see module doc): a dict of arrays and names.

    Keys: ``wet_bulb_c``, ``price_usd_per_kwh``, ``gpu_p95_c`` (None without the solver's series or a
    per-server history), ``loop_names``, ``loop_heat_kw`` and ``loop_capacity_kw`` [minutes × loops]
    (None if the model cannot be rebuilt, e.g. the plan changed since).
    """
    r = result
    t = np.asarray(r.time_s, float)
    out: dict = {"wet_bulb_c": None, "price_usd_per_kwh": None, "gpu_p95_c": None, "loop_names": list(r.loop_names),
                 "loop_heat_kw": None, "loop_capacity_kw": None}
    if t.size == 0:
        return out
    tz = plan.site.timezone
    prices = np.asarray(scenario.tariff.hourly_price_usd_per_kwh, float)
    if prices.size == 24:
        out["price_usd_per_kwh"] = prices[local_hour(r.start, t, tz)]
    minute = float(t[1] - t[0]) if t.size > 1 else 60.0
    mid = t + 0.5 * minute  # the minute series are minute means: weather at the minute's middle
    db = wb = None
    try:
        n = int(round((t[-1] + minute) / 60.0))
        tg, db_g, wb_g = ambient_grid(None, start=r.start, horizon_s=n * 60.0, step_s=60.0, n_steps=n, timezone=tz,
                                      weather_file=scenario.weather_file)
        db, wb = np.interp(mid, tg, db_g), np.interp(mid, tg, wb_g)
        out["wet_bulb_c"] = wb
    except Exception:  # noqa: BLE001 - weather shown only if it can be read; the run itself succeeded
        pass
    if _has(getattr(r, "gpu_p95_c", None)):
        out["gpu_p95_c"] = np.asarray(r.gpu_p95_c, float)
    elif _has(r.server_temp_c):
        types = plan.server_type_map()
        by_name = {s.name: s for s in plan.servers}
        w = np.array([types[by_name[s].server_type].gpu_count if s in by_name and by_name[s].server_type in types
                      else 0 for s in r.server_names], float)
        out["gpu_p95_c"] = weighted_percentile(np.asarray(r.server_temp_c, float), w, 95.0)
    if (_has(getattr(r, "loop_heat_kw", None)) or _has(r.server_power_kw)) and db is not None:
        try:
            out["loop_heat_kw"], out["loop_capacity_kw"] = _loop_heat_and_capacity(r, plan, scenario, db, wb)
        except Exception:  # noqa: BLE001 - a plan edited since the run: no loop curves rather than wrong ones
            pass
    return out


def _has(a) -> bool:
    return a is not None and np.size(a) > 0


def weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """Row-wise ``q``-th percentile [%] of ``values`` [t × n] with column ``weights`` (inverted CDF)."""
    order = np.argsort(values, axis=1)
    v = np.take_along_axis(values, order, axis=1)
    cw = np.cumsum(weights[order], axis=1)
    total = cw[:, -1:]
    k = np.argmax(cw >= q / 100.0 * total, axis=1)
    return v[np.arange(v.shape[0]), k]


def _loop_heat_and_capacity(r, plan, scenario, db, wb):
    from .integrate import loop_capacity
    from .model import compile_model

    model = compile_model(plan, scenario, float(r.horizon_s), None)
    if list(model.loop_names) != list(r.loop_names) or list(model.server_names) != list(r.server_names):
        raise ValueError("plan changed since the run")
    if _has(getattr(r, "loop_heat_kw", None)):  # the solver's own series: any run length
        heat = np.asarray(r.loop_heat_kw, float)
    else:
        down = np.asarray(model.loop_downstream, float) @ model.loop_server_share.toarray()  # [loops × servers]
        heat = np.asarray(r.server_power_kw, float) @ down.T  # IT heat each loop carries, downstream incl. [kW]
    sup = np.asarray(r.loop_supply_c, float)
    nt, m = sup.shape
    parent = [int(p) for p in model.loop_parent]
    # capacity is a smooth function of weather and loop temperatures: evaluated on at most
    # CAPACITY_SAMPLES minutes (a year has 525,600) and interpolated between them
    ks = np.unique(np.linspace(0, nt - 1, min(nt, CAPACITY_SAMPLES)).round().astype(int))
    cap_s = np.zeros((ks.size, m))
    for i, k in enumerate(ks):
        for l in range(m):
            tp = sup[k, parent[l]] if parent[l] >= 0 else sup[k, l]
            cap_s[i, l] = loop_capacity(model, l, sup[k, l], db[k], wb[k], tp, heat[k, l] * 1e3)[0] / 1e3
    cap = np.column_stack([np.interp(np.arange(nt), ks, cap_s[:, l]) for l in range(m)]) if m else np.zeros((nt, 0))
    return heat[:nt], cap


@dataclass
class JobBar:
    """One job's run on one row of the Gantt chart.

    job : str  Job name
    row : str  Server or loop name
    start_s, end_s : float  From the scenario start [s]
    gpus : float  GPUs of the job on this row
    job_gpus : int  GPUs of the whole job (the bar's colour)
    """

    job: str
    row: str
    start_s: float
    end_s: float
    gpus: float
    job_gpus: int


def job_bars(plan, horizon_s: float, rows: str = "servers") -> tuple[list[JobBar], list[str]]:
    """Where and when each job runs, as the solver runs it: a job's own ``placement`` and
    ``start_s`` when set (a schedule fixed them), else the solver's first-fit placement at its
    start or release (:func:`.loads.place_jobs`). ``rows`` = ``"servers"`` or ``"loops"`` (a server
    belongs to its rack's liquid loop if it has one, else its air loop).

    Returns ``(bars, unplaced job names)``.
    """
    from .loads import place_jobs

    types = plan.server_type_map()
    servers = [s for s in plan.servers if s.server_type in types]
    gpus = np.array([types[s.server_type].gpu_count for s in servers], float)
    racks = plan.rack_map()

    def row_of(server_name: str) -> str:
        if rows == "servers":
            return server_name
        s = by_name.get(server_name)
        r = racks.get(s.rack) if s else None
        if r is None:
            return "(no rack)"
        return (r.liquid_loop if r.cooling_type in ("liquid", "hybrid") and r.liquid_loop else r.air_loop) or "(no loop)"

    by_name = {s.name: s for s in servers}
    free_jobs = [j for j in plan.jobs if not j.placement]
    pl = place_jobs(free_jobs, gpus, horizon_s) if free_jobs and gpus.size else None
    bars: list[JobBar] = []
    unplaced = list(pl.unplaced) if pl is not None else []
    for j in plan.jobs:
        if j.placement:
            t0 = j.start_s if j.start_s is not None else j.release_s
            acc: dict[str, float] = {}
            for srv, g in j.placement:
                acc[row_of(srv)] = acc.get(row_of(srv), 0.0) + g
            bars += [JobBar(j.name, r, t0, t0 + j.duration_s, g, j.gpus) for r, g in acc.items()]
    if pl is not None:
        m = pl.matrix.tocsc()
        for k, j in enumerate(free_jobs):
            if not np.isfinite(pl.start_s[k]):
                continue
            col = m.getcol(k)
            acc = {}
            for i, share in zip(col.indices, col.data):
                r = row_of(servers[i].name)
                acc[r] = acc.get(r, 0.0) + share * gpus[i]
            bars += [JobBar(j.name, r, float(pl.start_s[k]), float(pl.end_s[k]), g, j.gpus) for r, g in acc.items()]
    return bars, unplaced
