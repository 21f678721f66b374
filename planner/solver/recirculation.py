"""Hot-air recirculation: the abstract heat-flow model ``T_in = T_sup + D·P``.

Tang, Gupta, Varsamopoulos, "Energy-efficient thermal-aware task scheduling for homogeneous
high-performance computing data centers", IEEE TPDS 19(11), 2008. Their cross-interference
coefficients come from CFD; a planner has only geometry, so here they are built from it:

* a rack draws a fraction ``f_self`` of its intake from the hot aisle behind it (over the top and
  around the sides), shared with the rack facing it across that hot aisle, if any;
* a fraction ``f_nb`` from each immediate neighbour in its row (side leakage);
* an open row end draws an extra ``f_end`` (air wraps around the end of the row).

Containment (``"hot"`` / ``"cold"``) cuts all three (defaults in :mod:`.defaults`, *estimates*).
With F the intake-fraction matrix and ΔT_j = P_j / (ṁ_j c_p) a rack's exhaust rise,
``T_in − T_sup = F (T_in − T_sup + ΔT)`` so ``D = (I − F)⁻¹ F diag(1/(ṁ c_p))``.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from ..floor import aisle_partners
from . import defaults as d
from .errors import SolverInputError


def _row_key(rack, tol=0.3):
    """Racks in one row share orientation and the floor coordinate across their front."""
    across = rack.y_m if rack.orientation in ("N", "S") else rack.x_m
    return (rack.hall, rack.orientation, round(across / tol))


def intake_fractions(racks, containment="none"):
    """Intake-fraction matrix F [racks × racks]: share of rack i's intake that is rack j's exhaust [-].

    racks : list[Rack]  Plan racks (positions [m], orientation)
    containment : str  ``none``, ``hot`` or ``cold`` aisle containment
    """
    return intake_fractions_csr(racks, containment).toarray()


def intake_fractions_csr(racks, containment="none"):
    """:func:`intake_fractions` as a sparse CSR matrix, built from its entries (a rack draws from
    itself, two row neighbours and one aisle partner at most: ~4 entries a row, where a dense
    matrix of the 3,077-rack hall is 76 MB to clear and scan, ~0.3 s of every run's set-up)."""
    if containment not in d.RECIRC_SELF:
        raise SolverInputError(f"containment must be one of {sorted(d.RECIRC_SELF)}, got {containment!r}")
    f_self, f_nb, f_end = (d.RECIRC_SELF[containment], d.RECIRC_NEIGHBOUR[containment],
                           d.RECIRC_ROW_END[containment])
    n = len(racks)
    F: dict = {}  # (i, j) -> fraction, accumulated in the same order as a dense matrix would be

    def add(i, j, v):
        F[(i, j)] = F.get((i, j), 0.0) + v

    rows: dict = {}
    for i, r in enumerate(racks):
        rows.setdefault(_row_key(r), []).append(i)
    for members in rows.values():
        along = [racks[i].x_m if racks[i].orientation in ("N", "S") else racks[i].y_m for i in members]
        order = [members[k] for k in np.argsort(along)]
        for pos, i in enumerate(order):
            width = racks[i].width_m
            nbs = []
            for q in (pos - 1, pos + 1):
                if 0 <= q < len(order):
                    j = order[q]
                    gap = abs((racks[j].x_m - racks[i].x_m) if racks[i].orientation in ("N", "S")
                              else (racks[j].y_m - racks[i].y_m))
                    if gap < 1.5 * width:
                        nbs.append(j)
            for j in nbs:
                add(i, j, f_nb)
            add(i, i, f_end * (2 - len(nbs)) / 2.0)
    # hot-aisle partner: the nearest rack behind this one (within 4 m, roughly in line) whose back
    # faces this rack's back across the hot aisle (planner.floor's aisle relation)
    for i, j in enumerate(aisle_partners(racks, max_gap_m=4.0).hot):
        if j >= 0:
            add(i, i, f_self / 2.0)
            add(i, j, f_self / 2.0)
        else:
            add(i, i, f_self)
    keys = list(F)
    ij = np.array(keys, np.int64).reshape(-1, 2)
    out = sparse.csr_matrix((np.array([F[k] for k in keys], float), (ij[:, 0], ij[:, 1])), shape=(n, n))
    out.eliminate_zeros()
    out.sort_indices()  # canonical, as from a dense matrix (the products below sum in that order)
    return out


def recirculation_matrix(racks, airflow_heat_rate_w_per_k, containment="none", drop_below=1e-9):
    """Heat-flow matrix D [K/W]: inlet rise of rack i per watt of air-side heat in rack j.

    racks : list[Rack]
    airflow_heat_rate_w_per_k : array  ṁ c_p of each rack's airflow [W/K], > 0
    containment : str  ``none`` / ``hot`` / ``cold``
    drop_below : float  Entries smaller than this [K/W] are dropped (keeps D sparse at scale)
    """
    mcp = np.asarray(airflow_heat_rate_w_per_k, float)
    if len(racks) == 0:
        return sparse.csr_matrix((0, 0))
    if np.any(~np.isfinite(mcp)) or np.any(mcp <= 0):
        raise SolverInputError("every air-cooled rack needs a positive airflow (server airflow_m3s)")
    F = intake_fractions_csr(racks, containment)
    # (I − F)⁻¹ F = F + F² + F³ + …: row sums of F are well below 1 (≤ ~0.3), so the Neumann
    # series converges geometrically and stays as sparse as the neighbourhoods are
    M = F.copy()
    term = F
    for _ in range(60):
        term = term @ F
        if term.nnz == 0 or abs(term).max() < 1e-9:
            break
        M = M + term
    M = sparse.csr_matrix(M)
    D = M @ sparse.diags(1.0 / mcp)
    D = sparse.csr_matrix(D)
    D.data[np.abs(D.data) < drop_below] = 0.0
    D.eliminate_zeros()
    return D
