"""Exact lumping of identical servers, racks and loops: a hall of repeated pods is stepped once per kind.

A scaled hall (the demo with ``--racks``: 97 pods of the same design at the same load) has 10,004
servers but only a few dozen *different* ones: servers of the same type at the same rack position,
in racks that see the same recirculation, on loops of the same equipment whose servers are alike,
carrying the same jobs, follow the same trajectory from the same (steady) start. Such a class of
``k`` servers is one server with ``k`` times the extensive quantities (powers, heat capacities,
GPUs; resistances ``1/k``): its temperatures are the members' and its heat, energy and GPU-hours
are their sum. Loops lump the same way (heat capacities, capacities, flows, mover powers,
conductances ``× K``) and racks too (recirculation ``D'[R, J] = Σ_{j∈J} D[r, j] / K_J``: the rise in
rack ``r`` from the lumped rack ``J``'s power, which is ``K_J`` racks' power). Every law in the model
is homogeneous of degree one in those quantities (the piecewise GPU power law through
``r_die · p_dyn``, fans and pumps through their duty fraction, chillers through their part-load
ratio), so the lumped model is the same model, not an approximation: results differ only by
floating-point rounding (tests/test_solver_lumping.py compares every result field of lumped and
unlumped runs, and the kernel parity tests compare the lumped kernel with the unlumped numpy path).

The classes are the coarsest partition that every server, rack and loop parameter respects and
that is stable under the couplings (partition refinement, as for a bisimulation quotient):
servers by their own constants, jobs (placement row), rack class and loop classes; racks by their
constants, air loop class, the multiset of their servers' classes and their recirculation row summed
per rack class; loops by their constants, parent class, servers' and child loops' classes.
:func:`expand` maps a lumped run's per-server, per-rack and per-loop results back to the plan's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
from scipy import sparse

from .loads import Placement
from .model import Model, children_first, downstream_matrix
from .recorder import loop_series_f64_max_cells

#: Per-server Model arrays: scaled by the class size k, by 1/k, taken as they are, or indices
SERVER_EXTENSIVE = ("p_idle", "p_dyn", "c_th", "c_die", "c_plate", "gpus")
SERVER_INVERSE = ("r_th", "r_die", "r_plate")
SERVER_INTENSIVE = ("tau", "t_slow", "liquid_frac", "height_factor", "t_cool_design", "t_op", "t_shut", "gpu_off",
                    "gpu_w", "first_kink", "off_max")
SERVER_INDEX = ("rack", "air_loop", "liq_loop")
#: Per-loop Model arrays
LOOP_EXTENSIVE = ("loop_c", "loop_gain", "loop_coil_ec", "loop_fixed_w", "loop_chiller_w", "loop_drycooler_ec",
                  "loop_tower_ec", "loop_flow_m3s", "loop_rated_w", "loop_duty_rated_w", "loop_mover_w",
                  "loop_fan_in_w", "loop_pump_in_w", "loop_fan_out_w", "loop_outdoor_rated_w", "loop_it_air_max_w",
                  "loop_mover_in_w", "loop_mover_out_w")
LOOP_INVERSE = ("loop_return_k_per_w",)
LOOP_INTENSIVE = ("loop_setpoint", "loop_tau", "loop_dead", "loop_chiller_rated_c", "loop_chiller_rated_chw_c",
                  "loop_chiller_cop", "loop_air_ratio")
LOOP_STRUCTURE = ("loop_parent", "loop_names", "loop_medium", "loop_order", "loop_server_share", "loop_downstream")
RACK_INTENSIVE = ("rack_top_factor",)
RACK_STRUCTURE = ("rack_names", "rack_air_share", "rack_air_loop", "recirc", "rack_count")
#: Model fields that are neither per server, per rack nor per loop (kept as they are)
GLOBAL = ("n", "server_names", "placement", "options", "scenario", "plan", "rated_it_w", "hall_area_m2", "p_hw",
          "alpha")
#: Whether :func:`.run.simulate` lumps (the compiled kernel's runs; the numpy reference path never does)
LUMP = True
#: Lump only when it removes at least this share of the servers (else the plan runs as it is)
MIN_REDUCTION = 0.25
#: Recirculation sums that agree to this many significant digits count as equal (sums of the same
#: coefficients in another order differ in the last bits)
RECIRC_DIGITS = 12


@dataclass
class LumpMap:
    """Class of every server / rack / loop of the plan (index into the lumped model) and each
    class's size."""

    server: np.ndarray
    rack: np.ndarray
    loop: np.ndarray
    k_server: np.ndarray
    k_rack: np.ndarray
    k_loop: np.ndarray


def _check_fields(model: Model) -> None:
    """Every Model field must be classified above: a new per-server or per-loop quantity has to be
    declared extensive or intensive before lumping can be trusted with it."""
    known = set(SERVER_EXTENSIVE + SERVER_INVERSE + SERVER_INTENSIVE + SERVER_INDEX + LOOP_EXTENSIVE + LOOP_INVERSE
                + LOOP_INTENSIVE + LOOP_STRUCTURE + RACK_INTENSIVE + RACK_STRUCTURE + GLOBAL)
    unknown = [f.name for f in fields(model) if f.name not in known]
    if unknown:
        raise AssertionError(f"lumping: Model fields not classified as extensive / intensive: {unknown}")


def _ids(keys) -> np.ndarray:
    seen: dict = {}
    return np.array([seen.setdefault(k, len(seen)) for k in keys], np.int64)


def _first_ids(rows: np.ndarray) -> np.ndarray:
    """Class id of every row of ``rows`` (equal rows, equal ids), numbered by first occurrence."""
    _, first, inv = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(first.size, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[np.asarray(inv).ravel()]


def _first_ids_int(cols) -> np.ndarray:
    """:func:`_first_ids` of rows of small non-negative integer columns (one int64 key per row when
    their ranges allow, else rows)."""
    cols = [np.asarray(c, np.int64) for c in cols]
    key = np.zeros(cols[0].size, np.int64)
    span = 1
    for c in cols:
        hi = int(c.max()) + 1 if c.size else 1
        if span * hi >= 2 ** 62:
            return _first_ids(np.column_stack(cols))
        key = key * hi + c
        span *= hi
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(first.size, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[np.asarray(inv).ravel()]


def _round_sig(x: np.ndarray, digits: int) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits (zeros stay zero)."""
    x = np.asarray(x, float)
    mag = np.floor(np.log10(np.where(x != 0, np.abs(x), 1.0)))
    scale = 10.0 ** (digits - 1 - mag)
    return np.round(x * scale) / scale


def _row_keys(a) -> list:
    """Each row of a sparse matrix as a hashable key (its column indices and values)."""
    a = a.tocsr()
    a.sum_duplicates()
    a.sort_indices()
    ptr, idx, val = a.indptr, a.indices.astype(np.int64), a.data.astype(float)
    return [(idx[ptr[r]:ptr[r + 1]].tobytes(), val[ptr[r]:ptr[r + 1]].tobytes()) for r in range(a.shape[0])]


def classes(model: Model, max_servers: float = math.inf):
    """``(server, rack, loop)`` class ids (numbered by first occurrence) of the coarsest stable
    partition (module docstring), or None as soon as there are more than ``max_servers`` server
    classes (refinement only splits classes, so there would be more at the end too)."""
    _check_fields(model)
    n, m, nr = model.n, model.m, len(model.rack_names)
    P = model.placement.matrix.tocsr()
    jobs_of = _ids((tuple(P.indices[P.indptr[i]:P.indptr[i + 1]].tolist()),
                    tuple(P.data[P.indptr[i]:P.indptr[i + 1]].tolist())) for i in range(n))
    cols = [np.asarray(getattr(model, f), float).reshape(n, -1) for f in SERVER_EXTENSIVE + SERVER_INVERSE
            + SERVER_INTENSIVE]
    srv_static = _first_ids(np.column_stack(cols + [jobs_of.astype(float)]))
    loop_static = [tuple(float(getattr(model, f)[k]) for f in LOOP_EXTENSIVE + LOOP_INVERSE + LOOP_INTENSIVE)
                   + (model.loop_medium[k],) for k in range(m)]
    rack_static = [tuple(float(getattr(model, f)[r]) for f in RACK_INTENSIVE) for r in range(nr)]
    if srv_static.max() + 1 > max_servers:
        return None
    s_cls, r_cls, l_cls = srv_static, _ids(rack_static), _ids(loop_static)
    D = model.recirc.tocsr()
    # (loop, server) membership: a server's air and liquid loops (once if they are the same loop)
    pairs = {(int(l), i) for i, l in enumerate(model.air_loop) if l >= 0}
    pairs |= {(int(l), i) for i, l in enumerate(model.liq_loop) if l >= 0}
    pl_loop = np.array([p[0] for p in pairs], np.int64)
    pl_srv = np.array([p[1] for p in pairs], np.int64)
    kid = np.flatnonzero(model.loop_parent >= 0)
    air, liq, parent, rack_air = model.air_loop, model.liq_loop, model.loop_parent, model.rack_air_loop
    sizes = None
    while True:
        l_of = np.append(l_cls, -1)  # index -1: no loop
        s_cls = _first_ids_int((s_cls, r_cls[model.rack], l_of[air] + 1, l_of[liq] + 1))
        ns, nrc, nl = int(s_cls.max()) + 1, int(r_cls.max()) + 1 if nr else 0, int(l_cls.max()) + 1
        if ns > max_servers:
            return None
        srv_count = _row_keys(sparse.csr_matrix((np.ones(n), (model.rack, s_cls)), shape=(nr, ns)))
        to_cls = sparse.csr_matrix((np.ones(nr), (np.arange(nr), r_cls)), shape=(nr, max(nrc, 1)))
        recirc = (D @ to_cls).tocsr()
        recirc.data = _round_sig(recirc.data, RECIRC_DIGITS)
        recirc_keys = _row_keys(recirc)
        r_cls = _ids(zip(r_cls.tolist(), l_of[rack_air].tolist(), srv_count, recirc_keys))
        loop_srv = _row_keys(sparse.csr_matrix((np.ones(pl_loop.size), (pl_loop, s_cls[pl_srv])), shape=(m, ns)))
        loop_kids = _row_keys(sparse.csr_matrix((np.ones(kid.size), (parent[kid], l_cls[kid])), shape=(m, nl)))
        l_cls = _ids(zip(l_cls.tolist(), l_of[parent].tolist(), loop_srv, loop_kids))
        now = (ns, int(r_cls.max()) + 1 if nr else 0, int(l_cls.max()) + 1)
        if now == sizes:
            return s_cls, r_cls, l_cls
        sizes = now


def _reps(cls: np.ndarray) -> np.ndarray:
    """First member of every class (classes are numbered by first occurrence)."""
    _, first = np.unique(cls, return_index=True)
    return first


def lump(model: Model, min_reduction: float = MIN_REDUCTION):
    """``(lumped model, LumpMap)``, or ``(model, None)`` when lumping would remove fewer than
    ``min_reduction`` of the servers."""
    found = classes(model, max_servers=(1.0 - min_reduction) * model.n)
    if found is None:
        return model, None
    s_cls, r_cls, l_cls = found
    ns = int(s_cls.max()) + 1
    nr_l, m_l = int(r_cls.max()) + 1, int(l_cls.max()) + 1
    s_rep, r_rep, l_rep = _reps(s_cls), _reps(r_cls), _reps(l_cls)
    k_s = np.bincount(s_cls, minlength=ns).astype(float)
    k_r = np.bincount(r_cls, minlength=nr_l).astype(float)
    k_l = np.bincount(l_cls, minlength=m_l).astype(float)
    base_rack_count = model.rack_count if model.rack_count is not None else np.ones(len(model.rack_names))
    new: dict = {"n": ns, "server_names": [model.server_names[i] for i in s_rep]}
    for f in SERVER_EXTENSIVE:
        new[f] = np.asarray(getattr(model, f))[s_rep] * (k_s if np.asarray(getattr(model, f)).ndim == 1 else k_s[:, None])
    for f in SERVER_INVERSE:
        new[f] = np.asarray(getattr(model, f))[s_rep] / k_s
    for f in SERVER_INTENSIVE:
        new[f] = np.asarray(getattr(model, f))[s_rep].copy()
    new["rack"] = r_cls[model.rack[s_rep]]
    new["air_loop"] = np.where(model.air_loop[s_rep] >= 0, l_cls[np.maximum(model.air_loop[s_rep], 0)], -1)
    new["liq_loop"] = np.where(model.liq_loop[s_rep] >= 0, l_cls[np.maximum(model.liq_loop[s_rep], 0)], -1)
    # racks
    new["rack_names"] = [model.rack_names[r] for r in r_rep]
    new["rack_top_factor"] = np.asarray(model.rack_top_factor)[r_rep].copy()
    new["rack_air_loop"] = np.where(model.rack_air_loop[r_rep] >= 0, l_cls[np.maximum(model.rack_air_loop[r_rep], 0)], -1)
    new["rack_count"] = np.bincount(r_cls, weights=base_rack_count, minlength=nr_l)
    lf = new["liquid_frac"]
    new["rack_air_share"] = sparse.csr_matrix(((1 - lf), (new["rack"], np.arange(ns))), shape=(nr_l, ns))
    D = model.recirc.tocsr()
    rows, cols, vals = [], [], []
    for R, r in enumerate(r_rep):
        for q in range(D.indptr[r], D.indptr[r + 1]):
            J = int(r_cls[D.indices[q]])
            rows.append(R)
            cols.append(J)
            vals.append(float(D.data[q]) / k_r[J])
    new["recirc"] = sparse.csr_matrix((vals, (rows, cols)), shape=(nr_l, nr_l))
    # loops
    for f in LOOP_EXTENSIVE:
        new[f] = np.asarray(getattr(model, f))[l_rep] * k_l
    for f in LOOP_INVERSE:
        new[f] = np.asarray(getattr(model, f))[l_rep] / k_l
    for f in LOOP_INTENSIVE:
        new[f] = np.asarray(getattr(model, f))[l_rep].copy()
    parent = np.array([int(l_cls[model.loop_parent[l]]) if model.loop_parent[l] >= 0 else -1 for l in l_rep], int)
    new["loop_parent"] = parent
    new["loop_names"] = [model.loop_names[l] for l in l_rep]
    new["loop_medium"] = [model.loop_medium[l] for l in l_rep]
    down = downstream_matrix(parent)
    new["loop_order"] = children_first(down)
    new["loop_downstream"] = down
    share = model.loop_server_share.tocsc()
    srows, scols, svals = [], [], []
    for c, i in enumerate(s_rep):
        for q in range(share.indptr[i], share.indptr[i + 1]):
            srows.append(int(l_cls[share.indices[q]]))
            scols.append(c)
            svals.append(float(share.data[q]))
    new["loop_server_share"] = sparse.csr_matrix((svals, (srows, scols)), shape=(m_l, ns))
    pl = model.placement
    new["placement"] = Placement(start_s=pl.start_s, end_s=pl.end_s, matrix=pl.matrix.tocsr()[s_rep],
                                 jobs=pl.jobs, unplaced=pl.unplaced, fixed=pl.fixed)
    return replace(model, **new), LumpMap(s_cls, r_cls, l_cls, k_s, k_r, k_l)


def expand(res, model: Model, lm: LumpMap):
    """The lumped run's result ``res`` with per-server, per-rack and per-loop results of the plan's
    servers, racks and loops (``model`` is the plan's, unlumped): temperatures are the class's,
    extensive figures (powers, GPU-hours, IT heat per loop) the class's share ``1/k``."""
    S, R, L = lm.server, lm.rack, lm.loop
    res.servers = model.n
    res.server_names = list(model.server_names)
    res.rack_names = list(model.rack_names)
    res.loop_names = list(model.loop_names)
    if res.final_server_temp_c is not None:
        res.final_server_temp_c = np.asarray(res.final_server_temp_c)[S]
    if res.server_temp_c is not None:
        res.server_temp_c = res.server_temp_c[:, S]
    if res.server_power_kw is not None:
        res.server_power_kw = res.server_power_kw[:, S] / lm.k_server[S]
    res.rack_max_inlet_c = np.asarray(res.rack_max_inlet_c)[R]
    res.rack_max_gpu_c = np.asarray(res.rack_max_gpu_c)[R]
    res.rack_throttled_gpu_hours = np.asarray(res.rack_throttled_gpu_hours)[R] / lm.k_rack[R]
    res.rack_inlet_c = res.rack_inlet_c[:, R]
    res.rack_gpu_max_c = res.rack_gpu_max_c[:, R]
    res.rack_throttled_fraction = res.rack_throttled_fraction[:, R]
    res.rack_power_kw = res.rack_power_kw[:, R]  # (gathers copy; divided in place: a year of 3,000
    res.rack_power_kw /= lm.k_rack[R].astype(res.rack_power_kw.dtype)  # racks is 100 MB a series)
    # the plan's loop count sets the series' precision, as an unlumped run's recorder does (a year of
    # the 196-loop hall in float64 would be 824 MB)
    rows = res.loop_supply_c.shape[0]
    f32 = rows * len(L) > loop_series_f64_max_cells()
    res.loop_supply_c = np.asarray(res.loop_supply_c, np.float32 if f32 else res.loop_supply_c.dtype)[:, L]
    if res.loop_heat_kw is not None:
        res.loop_heat_kw = res.loop_heat_kw[:, L]
        res.loop_heat_kw /= lm.k_loop[L].astype(res.loop_heat_kw.dtype)
    if res.final_loop_temp_c is not None:
        res.final_loop_temp_c = np.asarray(res.final_loop_temp_c)[L]
    return res
