"""Size guards of a simulation, checked before anything is allocated.

:func:`check_run_size` is called once, at the top of :func:`planner.solver.run.simulate`. It works
out from the plain inputs how big the run would be — time steps, simulated period, calendar end,
the actuator delay buffers, per-server histories — and refuses a run beyond the limits below with a
:class:`SolverInputError` that states the limit, so ``--step 1e-6`` or ``--days 1e6`` is one clear
line instead of a 161 GiB allocation. Inputs that are not positive finite numbers are left to
``simulate``'s own checks (which word those errors).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from planner.plan import MAX_DEMAND_CHARGE_USD_PER_KW, MAX_PRICE_USD_PER_KWH

from .errors import SolverInputError

#: Most integrator steps one run takes [-]. The time grid, the ambient series and the local-hour
#: table cost ~32 bytes a step, so 10 million steps stay ~320 MB; a year at the default 10 s step
#: is 3.15 million, a year at 3.2 s or 115 days at 1 s fit.
MAX_TIME_STEPS = 10_000_000
#: Longest simulated period [s]: ten years (annual studies are the longest dcplan answers).
MAX_HORIZON_S = 10 * 366 * 86400.0
#: Most steps a loop's actuator delay (dead time plus coolant transit) may span [-]: the delay ring
#: holds one row per step for every loop (8 bytes x loops x rows; 1 million rows ~ 8 MB a loop).
MAX_DELAY_STEPS = 1_000_000
#: Most (server x minute) samples kept when per-server histories are recorded (``record=("server",)``):
#: several float arrays of this size are kept, 50 million samples ~ 400 MB each.
MAX_SERVER_SAMPLES = 50_000_000
#: Last moment a run may reach: monthly figures need the start of the month after the run and
#: Python's calendar ends with 9999, so a run ends by 30 November 9999 (a day of margin for time
#: zones). The fuzz campaign found 9999-12-29 failing inside the recorder's month index.
LAST_INSTANT = datetime(9999, 11, 30)
FIRST_INSTANT = datetime(1, 1, 2)


def _number(v) -> float | None:
    """``v`` as a positive finite float, or None (then ``simulate`` words the error)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) and v > 0 else None


def check_run_size(plan, scenario=None, *, step_s=None, horizon_s=None, record=()) -> None:
    """Refuse a run that would exceed a size limit, before it allocates anything.

    plan : Plan  The plan
    scenario : Scenario | None  The scenario (default: the plan's first, as ``simulate`` picks it)
    step_s, horizon_s : float | None  Overrides of the scenario's step and horizon [s]
    record : tuple  What ``simulate`` records (``"server"`` keeps per-server minute histories)
    """
    sc = scenario if scenario is not None else (plan.scenarios[0] if getattr(plan, "scenarios", None) else None)
    horizon = _number(horizon_s) if horizon_s is not None else _number(getattr(sc, "horizon_s", None))
    step = _number(step_s) if step_s is not None else _number(getattr(sc, "step_s", None))
    if horizon is None or step is None:
        return
    if horizon > MAX_HORIZON_S:
        raise SolverInputError(
            f"horizon {horizon / 86400:,.6g} days is longer than the longest simulated period, "
            f"{MAX_HORIZON_S / 86400:,.0f} days (ten years)")
    steps = horizon / step
    if steps > MAX_TIME_STEPS:
        raise SolverInputError(
            f"a {horizon / 86400:,.6g}-day run at a {step:g} s step is {steps:,.0f} time steps; the solver takes "
            f"at most {MAX_TIME_STEPS:,} time steps in one run (a year at a "
            f"{366 * 86400 / MAX_TIME_STEPS:.1f} s step): use a longer step or a shorter horizon")
    start = getattr(sc, "start", None)
    if isinstance(start, datetime):
        start = start.replace(tzinfo=None)
        if start < FIRST_INSTANT:
            raise SolverInputError(f"start {start:%Y-%m-%d} is before the year 1: the calendar cannot hold it")
        if start > LAST_INSTANT or LAST_INSTANT - start < timedelta(seconds=horizon):
            raise SolverInputError(
                f"a run from {start:%Y-%m-%d} for {horizon / 86400:,.6g} days ends past {LAST_INSTANT:%Y-%m-%d}, "
                "the last day the solver's calendar covers (monthly figures need the next month): choose an "
                "earlier start")
    _check_delays(plan, step)
    _check_tariff(getattr(sc, "tariff", None))
    if "server" in tuple(record or ()):
        samples = len(getattr(plan, "servers", ())) * math.ceil(horizon / 60.0)
        if samples > MAX_SERVER_SAMPLES:
            raise SolverInputError(
                f"per-server histories of {len(plan.servers):,} servers over {horizon / 86400:,.6g} days are "
                f"{samples:,} samples; at most {MAX_SERVER_SAMPLES:,} are kept (record fewer days)")


def _check_delays(plan, step: float) -> None:
    """Each loop's actuator delay — its units' longest dead time plus the coolant transit time
    (loop volume / loop flow, as ``model.compile_model`` adds it for water loops) — in steps."""
    by_loop: dict[str, list] = {}
    for u in getattr(plan, "cooling_units", ()):
        by_loop.setdefault(u.loop, []).append(u)
    media = {lp.name: lp.medium for lp in getattr(plan, "cooling_loops", ())}
    for loop, units in by_loop.items():
        values = [(u.dead_time_s, u.loop_volume_m3, u.flow_m3s) for u in units]
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for vals in values for v in vals):
            continue  # the model's own checks name the bad field
        dead = max(v[0] for v in values)
        volume, flow = sum(v[1] for v in values), sum(v[2] for v in values)
        transit = volume / flow if volume > 0 and flow > 0 and media.get(loop) != "air" else 0.0
        rows = (dead + transit) / step
        if rows > MAX_DELAY_STEPS:
            raise SolverInputError(
                f"cooling loop {loop!r}: its dead time plus coolant transit, {dead + transit:,.6g} s, spans "
                f"{rows:,.0f} steps of {step:g} s; the solver holds at most {MAX_DELAY_STEPS:,} "
                "(use a longer step, or check dead_time_s, loop_volume_m3 and flow_m3s of its units)")


def _check_tariff(tariff) -> None:
    """Prices low enough that energy and cost stay finite (``energy.check_tariff`` checks the rest)."""
    if tariff is None:
        return
    try:
        prices = [float(p) for p in tariff.hourly_price_usd_per_kwh]
        demand = float(tariff.demand_charge_usd_per_kw)
    except (TypeError, ValueError):
        return
    worst = max((p for p in prices if math.isfinite(p)), default=0.0)
    if worst > MAX_PRICE_USD_PER_KWH:
        raise SolverInputError(f"tariff: an hourly price of {worst:g} $/kWh is above the highest accepted, "
                               f"{MAX_PRICE_USD_PER_KWH:g} $/kWh")
    if math.isfinite(demand) and demand > MAX_DEMAND_CHARGE_USD_PER_KW:
        raise SolverInputError(f"tariff: a demand charge of {demand:g} $/kW is above the highest accepted, "
                               f"{MAX_DEMAND_CHARGE_USD_PER_KW:g} $/kW")
