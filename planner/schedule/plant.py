"""Steady state of a compiled plant (:class:`planner.solver.model.Model`), vectorised over conditions.

The scheduler needs the plant's answer to "what if this much heat enters each loop in this hour's
weather?" thousands of times, so it solves the *steady state* of the same equations the solver
integrates (:mod:`planner.solver.integrate`, :mod:`planner.solver.heat_rejection`), for a batch of
conditions at once:

* loads flow children first: a loop takes in its servers' heat, its own fan/pump heat and what its
  child loops deliver; at steady state a loop delivers exactly what it takes in. Fan and pump power
  follow the affinity law on speed = delivered / rated, floored at ``MOVER_MIN_SPEED`` (the same law
  as the solver); their heat into the loop makes this a fixed point (contraction ≪ 1, 6 passes);
* temperatures flow parents first: a loop holds its setpoint when its equipment's capacity there
  is at least its load (the solver's controller has load feed-forward, so no offset), else its
  supply floats to where capacity equals load. Capacity is the solver's ``a + b·T`` exchanger
  sum on the return ``T + q_in/(ρ c_p V̇)`` (ε-NTU at fixed flows) plus the EnergyPlus chiller curve
  on the leaving water (:func:`planner.solver.heat_rejection.chiller_capacity_ratio`); it rises with
  the supply temperature, so bisection finds the float;
* cooling power = fans and pumps + chiller compressors
  (:func:`planner.solver.heat_rejection.chiller_electric_power` on the load the dry coolers /
  towers of the same loop do not take for free).

The solver stays the judge: the scheduler verifies every schedule with the full transient run
(:mod:`.verify`); this model only ranks and bounds candidate schedules.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.solver import defaults as d
from planner.solver.heat_rejection import chiller_capacity_ratio, chiller_electric_power, mover_power
from planner.solver.model import Model

#: A loop whose supply would float more than this above setpoint has no steady state worth
#: reporting (the plant cannot carry the load) [K].
MAX_FLOAT_K = 80.0
_MOVER_PASSES = 6
_BISECTION_STEPS = 36  # 80 K / 2^36: 1e-9 K


@dataclass
class PlantState:
    """Steady state of every loop for a batch of conditions (arrays [batch × loops] unless named).

    supply_c : Supply temperature [°C] (``inf`` where the plant cannot carry the load)
    load_w : Heat each loop takes in and delivers [W]
    saturated : Actuators at full (the supply floats above setpoint)
    cooling_w : [batch] Fans, pumps and chiller compressors [W]
    """

    supply_c: np.ndarray
    load_w: np.ndarray
    saturated: np.ndarray
    cooling_w: np.ndarray


def mover_split(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Fan/pump power at design flow per loop [W]: heat into the loop, heat outdoors.

    The solver's convention: CRAH fans, CDU pumps and chilled-water pumps heat the loop they move;
    dry-cooler and tower fans blow their heat outdoors.
    """
    idx = {n: k for k, n in enumerate(model.loop_names)}
    m_in, m_out = np.zeros(model.m), np.zeros(model.m)
    for u in model.plan.cooling_units:
        if u.kind in ("crah", "cdu", "chiller"):
            m_in[idx[u.loop]] += u.rated_power_kw * 1e3
        else:
            m_out[idx[u.loop]] += u.rated_power_kw * 1e3
    return m_in, m_out


class SteadyPlant:
    """The steady-state plant of a compiled model; :meth:`solve` for a batch of conditions."""

    def __init__(self, model: Model):
        self.model = model
        self.m = model.m
        self.order = list(model.loop_order)  # children before parents
        self.parent = np.asarray(model.loop_parent)
        self.movers_in, self.movers_out = mover_split(model)
        self.b = model.loop_coil_ec + model.loop_drycooler_ec + model.loop_tower_ec

    def _capacity(self, l: int, t, q, t_parent, db, wb):
        """Capacity [W] of loop ``l`` at supply ``t`` with intake ``q`` (arrays over the batch)."""
        md = self.model
        t_ret = t + md.loop_return_k_per_w[l] * q
        cap = (md.loop_fixed_w[l] + md.loop_coil_ec[l] * (t_ret - t_parent)
               + md.loop_drycooler_ec[l] * (t_ret - db) + md.loop_tower_ec[l] * (t_ret - wb))
        if md.loop_chiller_w[l] > 0:
            cap = cap + md.loop_chiller_w[l] * chiller_capacity_ratio(
                db, t, md.loop_chiller_rated_c[l], md.loop_chiller_rated_chw_c[l])
        return cap

    def solve(self, q_it_w, db, wb) -> PlantState:
        """Steady state with server heat ``q_it_w`` [batch × loops, W] at dry / wet bulb ``db``, ``wb``
        [batch, °C]."""
        md = self.model
        q_it = np.atleast_2d(np.asarray(q_it_w, float))
        bsz = q_it.shape[0]
        db = np.broadcast_to(np.asarray(db, float), (bsz,))
        wb = np.broadcast_to(np.asarray(wb, float), (bsz,))
        load = np.zeros((bsz, self.m))
        speed3 = np.zeros((bsz, self.m))
        for l in self.order:  # children first: what each loop takes in
            kids = np.flatnonzero(self.parent == l)
            q0 = q_it[:, l] + (load[:, kids].sum(axis=1) if kids.size else 0.0)
            q = q0
            for _ in range(_MOVER_PASSES):
                s = np.clip(q / md.loop_rated_w[l], d.MOVER_MIN_SPEED, 1.0)
                q = q0 + self.movers_in[l] * s ** 3
            load[:, l] = q
            speed3[:, l] = np.clip(q / md.loop_rated_w[l], d.MOVER_MIN_SPEED, 1.0) ** 3
        supply = np.zeros((bsz, self.m))
        sat = np.zeros((bsz, self.m), dtype=bool)
        cooling = np.zeros(bsz)
        for l in reversed(self.order):  # parents first: temperatures
            p = self.parent[l]
            tp = supply[:, p] if p >= 0 else np.zeros(bsz)
            q = load[:, l]
            tset = np.full(bsz, md.loop_setpoint[l])
            short = self._capacity(l, tset, q, tp, db, wb) < q
            t = tset.copy()
            if short.any():
                lo, hi = tset[short], tset[short] + MAX_FLOAT_K
                qs, tps, dbs, wbs = q[short], tp[short], db[short], wb[short]
                ok_hi = self._capacity(l, hi, qs, tps, dbs, wbs) >= qs
                for _ in range(_BISECTION_STEPS):
                    mid = 0.5 * (lo + hi)
                    enough = self._capacity(l, mid, qs, tps, dbs, wbs) >= qs
                    hi = np.where(enough, mid, hi)
                    lo = np.where(enough, lo, mid)
                t[short] = np.where(ok_hi & np.isfinite(tps), hi, np.inf)
            supply[:, l] = t
            sat[:, l] = short
            cooling += mover_power(self.movers_in[l] + self.movers_out[l], speed3[:, l] ** (1.0 / 3.0))
            if md.loop_chiller_w[l] > 0:
                tf = np.where(np.isfinite(t), t, tset + MAX_FLOAT_K)
                t_ret = tf + md.loop_return_k_per_w[l] * q
                free = md.loop_drycooler_ec[l] * (t_ret - db) + md.loop_tower_ec[l] * (t_ret - wb)
                ch_load = np.maximum(q - np.maximum(free, 0.0), 0.0)
                cooling += chiller_electric_power(ch_load, md.loop_chiller_w[l], db, md.loop_chiller_cop[l],
                                                  md.loop_chiller_rated_c[l], tf, md.loop_chiller_rated_chw_c[l])
        return PlantState(supply_c=supply, load_w=load, saturated=sat, cooling_w=cooling)
