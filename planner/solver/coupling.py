"""Server ↔ loop and rack couplings: what coolant each server sees, where its heat goes.

The loop supply temperatures reach a server through its air and liquid loops (weighted by its
liquid fraction) plus the recirculation rise ``D·P`` of the rack powers (:mod:`.recirculation`);
its heat goes back to the same loops with the same weights. Dense matrices for small plans (one
product per step), indexed sums for large ones.
"""
from __future__ import annotations

import numpy as np

from .model import Model


def _segments(idx):
    """``(ids, starts)`` if ``idx`` is non-decreasing (servers grouped), else None."""
    idx = np.asarray(idx)
    if idx.size == 0 or np.any(np.diff(idx) < 0):
        return None
    starts = np.flatnonzero(np.r_[True, np.diff(idx) != 0])
    return idx[starts], starts


class Coupling:
    """Server ↔ loop and rack couplings, dense for small plans and indexed for large ones.

    ``coolant(tl, p)`` gives every server's coolant temperature [°C] from loop supply temperatures
    ``tl`` [°C] and server powers ``p`` [W] (recirculation); ``to_loops(q)`` sums per-server heat
    into loops; ``inlet(tl, p)`` the air inlet of every server [°C] (for air-cooled ones).
    """

    def __init__(self, model: Model, dense_limit: int = 1500):
        n, m = model.n, model.m
        lf = model.liquid_frac
        self.lf = lf
        self.air = np.maximum(model.air_loop, 0)
        self.liq = np.maximum(model.liq_loop, 0)
        self.rack = model.rack
        self.nr = len(model.rack_names)
        self.hf = model.height_factor
        self.air_w = 1.0 - lf
        self.any_liquid = bool(np.any(lf > 0))
        self.li = np.flatnonzero(lf > 0)  # servers with a liquid share (usually few)
        self.D = model.recirc.tocsr()
        self.has_recirc = self.D.nnz > 0
        self.dense = n <= dense_limit
        self.m = m
        self.air_sorted = _segments(self.air)
        self.rack_sorted = _segments(self.rack)
        if self.dense:
            W = np.zeros((m, n))
            idx = np.arange(n)
            np.add.at(W, (model.air_loop[model.air_loop >= 0], idx[model.air_loop >= 0]), self.air_w[model.air_loop >= 0])
            np.add.at(W, (model.liq_loop[model.liq_loop >= 0], idx[model.liq_loop >= 0]), lf[model.liq_loop >= 0])
            self.W = W
            self.WT = np.ascontiguousarray(W.T)
            if self.has_recirc:
                Dd = self.D.toarray()
                share = model.rack_air_share.toarray()  # [racks × n] with (1 − lf)
                self.Rs_inlet = (self.hf[:, None] * Dd[self.rack, :]) @ share  # inlet rise per W [K/W]
                self.Rs = self.air_w[:, None] * self.Rs_inlet
            else:
                self.Rs = self.Rs_inlet = None

    def setup(self, model: Model) -> None:
        """Matrices for the implicit step: heat to loops [J] in one product (dense plans), and the
        loop ← server share matrix for the coupling conductances."""
        c_die, c_plate = model.c_die, model.c_plate
        self.C2 = np.vstack((c_die, c_plate))
        n = self.C2.shape[1]
        self.q_buf = np.empty(n)
        self.tmp2 = np.empty((2, n))
        self.S = model.loop_server_share.tocsr()
        self.ST = self.S.T.tocsr()
        if self.dense:
            # [E, ΔT_d, ΔT_p] @ [W; −C_d W; −C_p W]: heat to the loops in one product
            self.m_q = np.ascontiguousarray(np.vstack((self.WT, -c_die[:, None] * self.WT, -c_plate[:, None] * self.WT)))

    def gamma(self, g) -> np.ndarray:
        """Coupling of loop end temperatures through the servers over a step, ``Γ = S·diag(g)·Sᵀ``
        [J/K] ([loops × loops]) for the servers' heat sensitivities ``g`` [J/K]."""
        if self.dense:
            return (self.W * g) @ self.WT
        return np.asarray((self.S.multiply(g[None, :]) @ self.ST).todense())

    def rack_air_power(self, p):
        """Air-side power of every rack [W] from server powers ``p`` [W]."""
        w = p if self.li.size == 0 else self.air_w * p
        if self.rack_sorted is not None:  # servers grouped by rack: segment sums beat bincount
            ids, starts = self.rack_sorted
            rack_p = np.zeros(self.nr)
            rack_p[ids] = np.add.reduceat(w, starts)
            return rack_p
        return np.bincount(self.rack, weights=w, minlength=self.nr)

    def recirculation(self, p, rack_p=None):
        """The part of every server's coolant [°C] that is not its loops' supply: the recirculation
        rise of server powers ``p`` [W] (or of the air-side rack powers ``rack_p`` [W])."""
        if not self.has_recirc:
            return 0.0
        if self.dense:
            return self.Rs @ p
        if rack_p is None:
            rack_p = self.rack_air_power(p)
        r = self.hf * (self.D @ rack_p)[self.rack]
        if self.li.size:
            r[self.li] *= self.air_w[self.li]
        return r

    def loop_part(self, tl):
        """The loops' part of every server's coolant [°C] for loop supply temperatures ``tl`` [°C]."""
        if self.dense:
            return np.asarray(tl, float) @ self.W
        tl = np.asarray(tl, float)
        tc = tl[self.air]
        if self.li.size:
            li = self.li
            tc[li] = self.air_w[li] * tc[li] + self.lf[li] * tl[self.liq[li]]
        return tc

    def heat_to_loops(self, energy, dX):
        """Heat each loop took from its servers over the step [J]: ``E − C_d ΔT_d − C_p ΔT_p`` (exact
        energy bookkeeping: nothing is created or lost between servers and loops).

        energy : array  Server electric energy over the step [J]; dX : array [2 × n]  ΔT_d, ΔT_p [K]
        """
        if self.dense:
            return np.concatenate((energy, dX.ravel())) @ self.m_q
        cdx = np.multiply(self.C2, dX, out=self.tmp2)
        q_srv = np.subtract(energy, cdx[0], out=self.q_buf)
        q_srv -= cdx[1]
        return self.to_loops(q_srv)

    def coolant(self, tl, p, rack_p=None):
        """``rack_p``: air-side power per rack [W] if the caller has it (saves a pass over servers)."""
        if self.dense:
            tc = tl @ self.W
            if self.Rs is not None:
                tc = tc + self.Rs @ p
            return tc
        tc = tl[self.air]
        if self.has_recirc:
            if rack_p is None:
                rack_p = self.rack_air_power(p)
            delta = self.D @ rack_p
            tc += self.hf * delta[self.rack]
        if self.li.size:
            li = self.li
            tc[li] = self.air_w[li] * tc[li] + self.lf[li] * tl[self.liq[li]]
        return tc

    def inlet(self, tl, p):
        t = tl[self.air]
        if self.has_recirc:
            if self.dense:
                t = t + self.Rs_inlet @ p
            else:
                delta = self.D @ np.bincount(self.rack, weights=self.air_w * p, minlength=self.nr)
                t = t + self.hf * delta[self.rack]
        return t

    def to_loops(self, q):
        if self.dense:
            return q @ self.WT
        if self.air_sorted is not None:  # servers grouped by loop: segment sums beat bincount
            ids, starts = self.air_sorted
            out = np.zeros(self.m)
            out[ids] = np.add.reduceat(q, starts)
        else:
            out = np.bincount(self.air, weights=q, minlength=self.m)
        if self.li.size:
            li = self.li
            ql = self.lf[li] * q[li]
            out -= np.bincount(self.air[li], weights=ql, minlength=self.m)
            out += np.bincount(self.liq[li], weights=ql, minlength=self.m)
        return out


# ----------------------------------------------------------------------------- compiled form
#
# The same couplings for the stepping kernel, in index form (air / liquid loop and weight per
# server, the rack recirculation matrix in CSR): O(servers) per step whatever the plan's size.

from typing import NamedTuple  # noqa: E402

from .jit import njit  # noqa: E402


class RecircTable(NamedTuple):
    """Rack recirculation ``D`` [racks × racks] [K/W] as CSR, ``has`` = [any recirculation], and
    per-rack scratch (air-side power [W], rise [K])."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    has: np.ndarray
    rack_p: np.ndarray
    delta: np.ndarray


def recirc_table(model) -> RecircTable:
    D = model.recirc.tocsr()
    nr = D.shape[0]
    return RecircTable(D.indptr.astype(np.int64), D.indices.astype(np.int64), D.data.astype(float),
                       np.array([D.nnz > 0]), np.zeros(nr), np.zeros(nr))


def has_sibling_coupling(table) -> bool:
    """Whether some server couples two different loops (mixed air/liquid): Γ has off-diagonal terms."""
    return bool(np.any((table.wa > 0) & (table.wb > 0) & (table.air != table.liq)))


@njit(refcount=False)
def rack_rise(S, D, p):
    """Recirculation rise of every rack ``D @ (air-side rack power)`` into ``D.delta`` [K] from
    server powers ``p`` [W]."""
    rack_p, delta = D.rack_p, D.delta
    rack_p[:] = 0.0
    for i in range(p.size):
        rack_p[S.rack[i]] += S.wa[i] * p[i]
    for r in range(delta.size):
        acc = 0.0
        for q in range(D.indptr[r], D.indptr[r + 1]):
            acc += D.data[q] * rack_p[D.indices[q]]
        delta[r] = acc


@njit(refcount=False)
def recirculation_into(S, D, p, out):
    """:meth:`Coupling.recirculation`: the coolant of every server beyond its loops' supply [°C]."""
    if not D.has[0]:
        out[:] = 0.0
        return
    rack_rise(S, D, p)
    for i in range(out.size):
        out[i] = S.wa[i] * S.hf[i] * D.delta[S.rack[i]]


@njit(refcount=False)
def inlet_into(S, D, tl, p, out):
    """:meth:`Coupling.inlet`: air inlet of every server [°C] (loop supply + recirculation)."""
    if D.has[0]:
        rack_rise(S, D, p)
        for i in range(out.size):
            out[i] = tl[S.air[i]] + S.hf[i] * D.delta[S.rack[i]]
    else:
        for i in range(out.size):
            out[i] = tl[S.air[i]]


@njit(refcount=False)
def to_loops_into(S, q, out):
    """:meth:`Coupling.to_loops`: per-server heat ``q`` [J] summed into loops."""
    out[:] = 0.0
    for i in range(q.size):
        out[S.air[i]] += S.wa[i] * q[i]
        out[S.liq[i]] += S.wb[i] * q[i]


@njit(refcount=False)
def gamma_off_into(S, g, g_self, tl, out):
    """``Γ_off @ tl``: the coupling between sibling loops through servers with sensitivity ``g``
    [J/K] (Γ = S diag(g) Sᵀ less its diagonal ``g_self``) applied to loop temperatures ``tl``."""
    out[:] = 0.0
    for i in range(g.size):
        lp = S.wa[i] * tl[S.air[i]] + S.wb[i] * tl[S.liq[i]]
        x = g[i] * lp
        out[S.air[i]] += S.wa[i] * x
        out[S.liq[i]] += S.wb[i] * x
    for l in range(out.size):
        out[l] -= g_self[l] * tl[l]
