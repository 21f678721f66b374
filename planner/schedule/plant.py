"""Steady state of a compiled plant (:class:`planner.solver.model.Model`), vectorised over conditions.

The scheduler needs the plant's answer to "what if this much heat enters each loop in this hour's
weather?" thousands of times, so it solves the *steady state* of the same equations the solver
integrates (:mod:`planner.solver.integrate`, :mod:`planner.solver.heat_rejection`), for a batch of
conditions at once:

* loads flow children first: a loop takes in its servers' heat, its own fan/pump heat and what its
  child loops deliver; at steady state a loop delivers exactly what it takes in. Fans and pumps are
  the solver's own (:func:`planner.solver.loopbank.loop_movers_vec`: constant-Δp pumps on the
  loop's duty, CRAH fans on the IT airflow they serve, ASHRAE 90.1 Appendix G fan curve); their
  heat into the loop makes this a fixed point (contraction ≪ 1, 6 passes);
* temperatures flow parents first: a loop holds its setpoint when its equipment's capacity there
  is at least its load (the solver's controller has load feed-forward, so no offset), else its
  supply floats to where capacity equals load. Capacity is the solver's ``a + b·T`` exchanger
  sum on the return ``T + q_in/(ρ c_p V̇)`` (ε-NTU at fixed flows) plus the ASHRAE 90.1 App. J
  chiller curve on the leaving water (:func:`planner.solver.heat_rejection.chiller_capacity_ratio`);
  in a chilled-water loop a dry cooler / tower is a water-side economiser, bypassed while the return
  is not warmer than the dry / wet bulb (as :func:`planner.solver.integrate.loop_capacity`); capacity
  rises with the supply temperature, so bisection finds the float;
* cooling power = fans and pumps (the plant loops' outdoor fans at the actuator's fraction
  load / capacity, an economiser's at the share of its free capacity in use) + chiller compressors
  (:func:`planner.solver.heat_rejection.chiller_electric_power` on the load the economiser does not
  take for free, :func:`planner.solver.loopbank.economiser_free_w`).

The solver stays the judge: the scheduler verifies every schedule with the full transient run
(:mod:`.verify`); this model only ranks and bounds candidate schedules.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.solver.heat_rejection import chiller_capacity_ratio, chiller_electric_power
from planner.solver.loopbank import loop_movers_vec
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


class SteadyPlant:
    """The steady-state plant of a compiled model; :meth:`solve` for a batch of conditions."""

    def __init__(self, model: Model):
        self.model = model
        self.m = model.m
        self.order = list(model.loop_order)  # children before parents
        self.parent = np.asarray(model.loop_parent)
        self.chiller = model.loop_chiller_w > 0

    def _movers(self, l: int, deliv, q_it, y, free):
        """Loop ``l``'s fans and pumps: (heat into the loop, electricity) [W], arrays over the batch."""
        md = self.model
        one = np.ones_like(deliv)
        return loop_movers_vec(deliv, q_it, y, free, md.loop_duty_rated_w[l] * one, md.loop_pump_in_w[l] * one,
                               md.loop_fan_in_w[l] * one, md.loop_fan_out_w[l] * one,
                               md.loop_it_air_max_w[l] * one, md.loop_air_ratio[l] * one,
                               np.full(deliv.shape, bool(self.chiller[l])))

    def _stages(self, l: int, t_ret, db, wb):
        """Dry-cooler and tower ε·C_min [W/K] of loop ``l`` in use: an economiser stage of a
        chilled-water loop is bypassed while the return is not warmer than its outdoor temperature."""
        md = self.model
        dc, ct = md.loop_drycooler_ec[l], md.loop_tower_ec[l]
        if self.chiller[l]:
            return np.where(t_ret > db, dc, 0.0), np.where(t_ret > wb, ct, 0.0)
        return dc, ct

    def _capacity(self, l: int, t, q, t_parent, db, wb):
        """Capacity [W] of loop ``l`` at supply ``t`` with intake ``q`` (arrays over the batch)."""
        md = self.model
        t_ret = t + md.loop_return_k_per_w[l] * q
        dc, ct = self._stages(l, t_ret, db, wb)
        cap = md.loop_fixed_w[l] + md.loop_coil_ec[l] * (t_ret - t_parent) + dc * (t_ret - db) + ct * (t_ret - wb)
        if self.chiller[l]:
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
        zero = np.zeros(bsz)
        load = np.zeros((bsz, self.m))
        for l in self.order:  # children first: what each loop takes in
            kids = np.flatnonzero(self.parent == l)
            q0 = q_it[:, l] + (load[:, kids].sum(axis=1) if kids.size else 0.0)
            q = q0
            for _ in range(_MOVER_PASSES):
                q = q0 + self._movers(l, q, q_it[:, l], zero, zero)[0]
            load[:, l] = q
        supply = np.zeros((bsz, self.m))
        sat = np.zeros((bsz, self.m), dtype=bool)
        cooling = np.zeros(bsz)
        for l in reversed(self.order):  # parents first: temperatures
            p = self.parent[l]
            tp = supply[:, p] if p >= 0 else np.zeros(bsz)
            q = load[:, l]
            tset = np.full(bsz, md.loop_setpoint[l])
            cap_set = self._capacity(l, tset, q, tp, db, wb)
            short = cap_set < q
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
            # actuator fraction at steady state: load / capacity where it holds setpoint, full where short
            y = np.where(short, 1.0, np.divide(q, cap_set, out=np.zeros(bsz), where=cap_set > 0))
            free = zero
            if self.chiller[l]:
                tf = np.where(np.isfinite(t), t, tset + MAX_FLOAT_K)
                t_ret = tf + md.loop_return_k_per_w[l] * q
                dc, ct = self._stages(l, t_ret, db, wb)
                free = dc * (t_ret - db) + ct * (t_ret - wb)
                cooling += chiller_electric_power(np.maximum(q - free, 0.0), md.loop_chiller_w[l], db,
                                                  md.loop_chiller_cop[l], md.loop_chiller_rated_c[l], tf,
                                                  md.loop_chiller_rated_chw_c[l])
            cooling += self._movers(l, q, q_it[:, l], y, free)[1]
        return PlantState(supply_c=supply, load_w=load, saturated=sat, cooling_w=cooling)
