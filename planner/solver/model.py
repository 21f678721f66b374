"""Compile a :class:`~planner.plan.Plan` and a scenario into flat arrays for the integrators.

Everything the hot loop needs is computed once here: per-server thermal constants, the loop tree
with its capacities and lags, the recirculation matrix and the load placement. Validation lives
here too, so bad input fails before any stepping with a message naming the object and field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ..plan import RATING_AIR_INLET_C, RATING_LIQUID_SUPPLY_C, Plan, Scenario
from . import defaults as d
from .errors import SolverInputError
from .forecast import ForecastError
from .gpu_control import group_state, gpu_offset_groups, hw_slowdown_power_fraction, piece_tables
from .heat_rejection import design_rise_k, exchanger_conductance
from .loads import Placement, place_jobs
from .recirculation import recirculation_matrix
from .thermal import split_server

RHO_CP = {"air": d.AIR_DENSITY * d.AIR_CP, "liquid": d.WATER_DENSITY * d.WATER_CP,
          "facility": d.WATER_DENSITY * d.WATER_CP}  # volumetric heat capacity [J/(m³·K)]
CONTROL_MODES = ("reactive", "predictive", "predictive-throttle")
#: Default local error tolerance of adaptive stepping (``× 100 K`` per step); chosen so energy and cost
#: agree with the fixed 10 s run within 0.2 % (tests/test_solver_stepping.py). Measured against
#: fixed 10 s (issue 12): July month of the demo's jobs at 1e-3 / 3e-3 / 1e-2: 44.6k / 19.7k / 13.5k steps
#: (fixed 267.8k), facility energy +3.7e-5 / −6.2e-5 / −1.4e-4, cost −9e-6 / −7e-6 / +1.2e-4, max GPU
#: 0.000 / 0.0002 / 0.0002 K; pump-lag burst max GPU 0.000 / 0.000 / +0.070 K — 3e-3 keeps every
#: figure an order of magnitude inside the targets. Those figures are the compiled kernel's (with the
#: base-grid ripple of planner/solver/ripple.py) before issue 11's physics; with it (kernel, session 4)
#: see planner/solver/STATUS.md. NUMPY_DEFAULT_RTOL: main's 1e-3, measured on issue 11's numpy stepping
#: (integrate.KERNEL_CARRIES_PHYSICS_11 False)
KERNEL_DEFAULT_RTOL = 3e-3
NUMPY_DEFAULT_RTOL = 1e-3
DEFAULT_RTOL = KERNEL_DEFAULT_RTOL


@dataclass
class SolverOptions:
    """Model choices that are not part of a plan.

    containment : str | None  Aisle containment for recirculation, ``none`` / ``hot`` / ``cold``;
        ``None`` takes each hall's ``containment``
    ups_loss_coeffs, transformer_loss_coeffs : (a0, a1, a2)  Electrical chain between the utility and
        the IT (vendor max power such as DGX H100's 10.2 kW is measured at the server's inlet, so the
        UPS and PDU-transformer losses are facility power): :func:`.energy.electrical_chain_w`
    electrical_capacity_factor : float  UPS / PDU rating as a multiple of IT at max [-] (2N: 2)
    lighting_w_per_m2, misc_fraction_of_it : float  Lighting [W/m² of hall] and other facility loads
        [fraction of IT at max] (:func:`.energy.lighting_misc_w`)
    gpu_power_clock_exponent, hw_slowdown_clock, max_operating_below_slowdown_k : float  NVIDIA's
        thermal control (:mod:`.gpu_control`, :mod:`.defaults`)
    gpu_offset_groups : int  Most GPU groups a server is resolved into (1: one lumped GPU, no spread)
    forecast_error : ForecastError  What the predictive controllers' forecast gets wrong
        (:mod:`.forecast`: each burst's start ±60 s, its power ±10 %, uniform, seeded)
    initial_state : str  ``steady`` (loops at setpoint, servers at their steady temperature for the
        first step's load) — the only choice for now
    """

    containment: str | None = None
    ups_loss_coeffs: tuple = d.UPS_LOSS_COEFFS
    transformer_loss_coeffs: tuple = d.TRANSFORMER_LOSS_COEFFS
    electrical_capacity_factor: float = d.ELECTRICAL_CAPACITY_FACTOR
    lighting_w_per_m2: float = d.LIGHTING_W_PER_M2
    misc_fraction_of_it: float = d.MISC_FRACTION_OF_IT
    gpu_power_clock_exponent: float = d.GPU_POWER_CLOCK_EXPONENT
    hw_slowdown_clock: float = d.GPU_HW_SLOWDOWN_CLOCK
    max_operating_below_slowdown_k: float = d.GPU_MAX_OPERATING_BELOW_SLOWDOWN_K
    gpu_offset_groups: int = d.GPU_OFFSET_GROUPS
    forecast_error: ForecastError = ForecastError()
    initial_state: str = "steady"


@dataclass
class Model:
    """A compiled plan. Units: W, K, s, J/K; temperatures °C. Arrays are per server unless named.

    p_idle, p_dyn : Idle power and (max − idle) power [W]
    r_th, c_th, tau : Thermal resistance die → coolant [K/W], total heat capacity [J/K], catalog
        (dominant) time constant [s]
    r_die, r_plate, c_die, c_plate : the two-node split (:func:`.thermal.split_server`): die → plate
        and plate → coolant resistances [K/W], die and plate heat capacities [J/K]
    t_slow : GPU slowdown temperature [°C]
    gpus : GPUs per server [-]
    liquid_frac : Share of heat to the liquid loop [-]
    rack : Rack index; air_loop / liq_loop : loop index or -1
    height_factor : Recirculation multiplier by position in the rack [-]
    loop_* : per-loop arrays (see :func:`compile_model`)
    """

    n: int
    p_idle: np.ndarray
    p_dyn: np.ndarray
    r_th: np.ndarray
    c_th: np.ndarray
    tau: np.ndarray
    r_die: np.ndarray
    r_plate: np.ndarray
    c_die: np.ndarray
    c_plate: np.ndarray
    t_slow: np.ndarray
    gpus: np.ndarray
    liquid_frac: np.ndarray
    rack: np.ndarray
    air_loop: np.ndarray
    liq_loop: np.ndarray
    height_factor: np.ndarray
    server_names: list
    rack_names: list
    rack_air_share: sparse.csr_matrix  # [racks × servers] air share of each server's heat
    rack_top_factor: np.ndarray  # [racks] largest height factor in the rack
    rack_air_loop: np.ndarray  # [racks] air loop index or -1
    recirc: sparse.csr_matrix  # D [racks × racks] [K/W]
    loop_names: list
    loop_medium: list
    loop_parent: np.ndarray  # index or -1
    loop_order: list  # children before parents
    loop_setpoint: np.ndarray  # [°C]
    loop_c: np.ndarray  # [J/K]
    loop_tau: np.ndarray  # actuator lag [s]
    loop_dead: np.ndarray  # dead time incl. transit [s]
    loop_gain: np.ndarray  # controller gain [W/K]
    loop_coil_ec: np.ndarray  # ε·C_min to the parent loop [W/K] (CRAH/CDU), on return − parent supply
    loop_fixed_w: np.ndarray  # fixed capacity [W] (coil units without a parent)
    loop_chiller_w: np.ndarray  # rated chiller capacity [W]
    loop_chiller_rated_c: np.ndarray  # rating outdoor temperature [°C]
    loop_chiller_rated_chw_c: np.ndarray  # rating leaving chilled water (units' supply setpoints) [°C]
    loop_chiller_cop: np.ndarray  # [-]
    loop_drycooler_ec: np.ndarray  # ε·C_min [W/K] on return − dry bulb
    loop_tower_ec: np.ndarray  # ε·C_min [W/K] on return − wet bulb
    loop_flow_m3s: np.ndarray  # design volume flow of the loop (Σ of its units) [m³/s]
    loop_return_k_per_w: np.ndarray  # return − supply per W taken in, 1/(ρ c_p V̇) [K/W]; 0 without flow
    loop_rated_w: np.ndarray  # total rated capacity [W]
    loop_duty_rated_w: np.ndarray  # rated capacity without economisers [W] (duty basis of pumps and fans)
    loop_mover_w: np.ndarray  # fan + pump power at design flow [W]
    loop_fan_in_w: np.ndarray  # CRAH fans at design flow [W] (heat into the loop)
    loop_pump_in_w: np.ndarray  # CDU and chilled-water pumps at design flow [W] (heat into the loop)
    loop_fan_out_w: np.ndarray  # dry-cooler / tower fans at design flow [W] (heat outdoors)
    loop_outdoor_rated_w: np.ndarray  # rated capacity of the loop's dry coolers / towers [W]
    loop_it_air_max_w: np.ndarray  # air-side IT heat of the loop's servers at max power [W]
    loop_air_ratio: np.ndarray  # IT airflow at max / CRAH design airflow [-] (0: no CRAH flow given)
    loop_server_share: sparse.csr_matrix  # [loops × servers] share of each server's heat
    loop_downstream: np.ndarray  # [loops × loops] 1 where column loop feeds (transitively) row loop
    placement: Placement
    options: SolverOptions
    scenario: Scenario
    plan: Plan
    t_cool_design: np.ndarray = field(default=None)
    rated_it_w: float = 0.0  # IT power with every server at max [W]
    hall_area_m2: float = 0.0  # floor area of the plan's halls [m²]
    # GPU thermal control (:mod:`.gpu_control`): per server, its GPU groups and the piecewise law
    t_op: np.ndarray = field(default=None)  # max operating temperature (software slowdown) [°C]
    t_shut: np.ndarray = field(default=None)  # shutdown temperature [°C]
    gpu_off: np.ndarray = field(default=None)  # [n × G] group offsets around the die [K]
    gpu_w: np.ndarray = field(default=None)  # [n × G] group shares of the server's GPUs [-]
    first_kink: np.ndarray = field(default=None)  # coolest mean die at which any GPU throttles [°C]
    off_max: np.ndarray = field(default=None)  # hottest group's offset [K]
    p_hw: float = 0.125  # hardware-slowdown dynamic-power fraction [-]
    alpha: float = 3.0  # dynamic power vs clock exponent [-]
    # fan/pump power at design flow per loop [W] that heats the loop (CRAH fans, CDU and chilled-water
    # pumps) and that goes outdoors (dry-cooler / tower fans): :func:`.loopbank.mover_split`
    loop_mover_in_w: np.ndarray = field(default=None)
    loop_mover_out_w: np.ndarray = field(default=None)
    # racks each rack stands for (None: one each; a lumped model's classes, :mod:`.lumping`)
    rack_count: np.ndarray = field(default=None)

    @property
    def m(self) -> int:
        return len(self.loop_names)

    def gpu_tables(self, u, idx=None):
        """Piecewise power law of servers ``idx`` (all if None) at utilisation ``u`` [-]:
        ``(kinks, A, B, thr, k_die)`` (:func:`.gpu_control.piece_tables`)."""
        sel = slice(None) if idx is None else idx
        k_die = self.r_die[sel] * self.p_dyn[sel] * np.asarray(u, float)
        return (*piece_tables(self.gpu_off[sel], self.gpu_w[sel], self.t_op[sel], self.t_slow[sel], self.p_hw,
                              k_die), k_die)

    def gpu_groups(self, t_die, pbar, idx, k_die):
        """Temperatures [°C] and power fractions [-] of the GPU groups of servers ``idx``
        (:func:`.gpu_control.group_state`)."""
        return group_state(t_die, pbar, self.gpu_off[idx], self.t_op[idx], self.t_slow[idx], self.p_hw, k_die)


def _finite(obj, name, value, *, positive=False, nonneg=False):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise SolverInputError(f"{obj}: {name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise SolverInputError(f"{obj}: {name} must be > 0, got {value}")
    if nonneg and value < 0:
        raise SolverInputError(f"{obj}: {name} must be ≥ 0, got {value}")
    return float(value)


def _check_type(t):
    obj = f"server type {t.key!r}"
    for name in ("idle_power_w", "max_power_w"):
        _finite(obj, name, getattr(t, name), nonneg=True)
    if t.max_power_w <= 0:
        raise SolverInputError(f"{obj}: max_power_w must be > 0, got {t.max_power_w}")
    if t.idle_power_w > t.max_power_w:
        raise SolverInputError(f"{obj}: idle_power_w {t.idle_power_w} exceeds max_power_w {t.max_power_w}")
    _finite(obj, "liquid_fraction", t.liquid_fraction)
    if not 0.0 <= t.liquid_fraction <= 1.0:
        raise SolverInputError(f"{obj}: liquid_fraction must be in [0, 1], got {t.liquid_fraction}")
    _finite(obj, "thermal_time_constant_s", t.thermal_time_constant_s, positive=True)
    _finite(obj, "gpu_design_temp_c", t.gpu_design_temp_c)
    _finite(obj, "gpu_slowdown_c", t.gpu_slowdown_c)
    _finite(obj, "airflow_m3s", t.airflow_m3s, nonneg=True)
    if t.gpu_count < 0:
        raise SolverInputError(f"{obj}: gpu_count must be ≥ 0, got {t.gpu_count}")


def _check_unit(u):
    obj = f"cooling unit {u.name!r}"
    _finite(obj, "rated_capacity_kw", u.rated_capacity_kw, positive=True)
    for name in ("supply_setpoint_c", "rated_outdoor_c"):
        _finite(obj, name, getattr(u, name))
    for name in ("flow_m3s", "loop_volume_m3", "time_constant_s", "dead_time_s", "rated_power_kw",
                 "design_cop", "approach_k"):
        _finite(obj, name, getattr(u, name), nonneg=True)


def _loops(plan: Plan):
    names = [lp.name for lp in plan.cooling_loops]
    if len(set(names)) != len(names):
        raise SolverInputError("cooling loop names must be unique")
    idx = {n: k for k, n in enumerate(names)}
    parent = np.full(len(names), -1)
    for k, lp in enumerate(plan.cooling_loops):
        if lp.medium not in RHO_CP:
            raise SolverInputError(f"cooling loop {lp.name!r}: medium must be air/liquid/facility, got {lp.medium!r}")
        if lp.rejects_to is not None:
            if lp.rejects_to not in idx:
                raise SolverInputError(f"cooling loop {lp.name!r}: rejects_to {lp.rejects_to!r} is not a loop")
            parent[k] = idx[lp.rejects_to]
    # depth ordering, cycle check
    depth = np.zeros(len(names), dtype=int)
    for k in range(len(names)):
        seen, j = set(), k
        while parent[j] >= 0:
            if j in seen:
                raise SolverInputError(f"cooling loop {names[k]!r}: rejects_to forms a cycle")
            seen.add(j)
            j = parent[j]
            depth[k] += 1
    order = sorted(range(len(names)), key=lambda k: -depth[k])
    return names, idx, parent, order


def downstream_matrix(parent: np.ndarray) -> np.ndarray:
    """``down[j, k] = 1`` where loop ``j`` is loop ``k`` or a loop ``k`` rejects its heat to, directly or
    through others (``parent``: the loop each rejects to, index or −1; acyclic, :func:`_loops` checks)."""
    m = len(parent)
    down = np.eye(m)
    for k in range(m):
        j = parent[k]
        while j >= 0:
            down[j, k] = 1.0
            j = parent[j]
    return down


def children_first(down: np.ndarray) -> list:
    """Loop indices deepest first (children before the loops they reject to), ties by index: the
    order :func:`_loops` gives, from a :func:`downstream_matrix`."""
    return sorted(range(down.shape[0]), key=lambda k: -int(down[:, k].sum()))


def compile_model(plan: Plan, scenario: Scenario, horizon_s: float,
                  options: SolverOptions | None = None) -> Model:
    """Turn ``plan`` + ``scenario`` into a :class:`Model`; raise :class:`SolverInputError` on bad input."""
    opt = options or SolverOptions()
    types = {}
    for t in plan.server_types:
        _check_type(t)
        types[t.key] = t
    racks = list(plan.racks)
    rack_idx = {r.name: k for k, r in enumerate(racks)}
    loop_names, loop_idx, parent, order = _loops(plan)
    m = len(loop_names)
    medium = [lp.medium for lp in plan.cooling_loops]

    # --- loops ------------------------------------------------------------------------
    units_by_loop: list[list] = [[] for _ in range(m)]
    for u in plan.cooling_units:
        _check_unit(u)
        if u.loop not in loop_idx:
            raise SolverInputError(f"cooling unit {u.name!r}: loop {u.loop!r} is not a cooling loop")
        units_by_loop[loop_idx[u.loop]].append(u)
    setpoint = np.zeros(m)
    for k in range(m):
        us = units_by_loop[k]
        if not us:
            raise SolverInputError(f"cooling loop {loop_names[k]!r} has no cooling units")
        w = np.array([u.rated_capacity_kw for u in us])
        setpoint[k] = float(np.dot(w, [u.supply_setpoint_c for u in us]) / w.sum())
    z = np.zeros(m)
    coil_ec, fixed_w, ch_w, ch_rated, ch_cop, dc_ec, ct_ec, ch_chw = (z.copy() for _ in range(8))
    rated_w, mover_w, lag, dead, vol, flow = (z.copy() for _ in range(6))
    mover_in, mover_out = z.copy(), z.copy()
    fan_in, pump_in, fan_out, out_rated, crah_flow, duty_w = (z.copy() for _ in range(6))
    rho_cp = np.array([RHO_CP[x] for x in medium])
    main_w = z.copy()  # rated capacity without economisers (dry coolers / towers beside chillers) [W]
    for k in range(m):
        has_chiller = any(u.kind == "chiller" for u in units_by_loop[k])
        for u in units_by_loop[k]:
            rated_w[k] += u.rated_capacity_kw * 1e3
            flow[k] += u.flow_m3s
            if not (has_chiller and u.kind in ("dry_cooler", "cooling_tower")):
                main_w[k] += u.rated_capacity_kw * 1e3
    # Exchangers to the parent / outdoors: ε-NTU at fixed flows, q = ε·C_min·(T_return − T_cold,in)
    # (heat_rejection.exchanger_conductance). The design rise of a unit is its rated heat over its own
    # flow; a unit without a flow takes its loop's (the return the solver computes is the loop's).
    # (an economiser in the chilled-water return carries the chillers' flow at the loop's design duty)
    loop_rise = np.where(flow > 0, main_w / (rho_cp * np.where(flow > 0, flow, 1.0)), 0.0)
    for k in range(m):
        us = units_by_loop[k]
        ch_sum = 0.0
        for u in us:
            q = u.rated_capacity_kw * 1e3
            mover_w[k] += u.rated_power_kw * 1e3
            if u.kind in ("crah", "cdu", "chiller"):
                mover_in[k] += u.rated_power_kw * 1e3
            else:
                mover_out[k] += u.rated_power_kw * 1e3
            # fans and pumps by what they move (docs/physics.md, "Fans and pumps at part load")
            if u.kind == "crah":
                fan_in[k] += u.rated_power_kw * 1e3
                crah_flow[k] += u.flow_m3s
            elif u.kind in ("cdu", "chiller"):  # CDU secondary pumps, chilled-water pumps
                pump_in[k] += u.rated_power_kw * 1e3
            elif u.kind in ("dry_cooler", "cooling_tower"):
                fan_out[k] += u.rated_power_kw * 1e3
                out_rated[k] += q
            vol[k] += u.loop_volume_m3
            rise = float(design_rise_k(q, u.flow_m3s, rho_cp[k])) if u.flow_m3s > 0 else float(loop_rise[k])
            lag[k] += q * u.time_constant_s
            dead[k] = max(dead[k], u.dead_time_s)
            obj = f"cooling unit {u.name!r}"
            if u.kind in ("crah", "cdu"):
                if parent[k] >= 0:
                    approach = u.approach_k or (u.supply_setpoint_c - setpoint[parent[k]])
                    if approach <= 0:
                        raise SolverInputError(
                            f"{obj}: supply setpoint {u.supply_setpoint_c} °C must be above the "
                            f"{loop_names[parent[k]]!r} setpoint {setpoint[parent[k]]:.1f} °C (or give approach_k)")
                    coil_ec[k] += float(exchanger_conductance(q, approach, rise))
                else:
                    fixed_w[k] += q
            elif u.kind == "chiller":
                ch_w[k] += q
                ch_sum += q
                ch_rated[k] += q * u.rated_outdoor_c
                ch_chw[k] += q * u.supply_setpoint_c
                ch_cop[k] += q * (u.design_cop or d.CHILLER_RATED_COP)
            elif u.kind in ("dry_cooler", "cooling_tower"):
                if u.approach_k <= 0:
                    raise SolverInputError(f"{obj}: approach_k must be > 0 for a {u.kind}")
                if u.kind == "dry_cooler":
                    dc_ec[k] += float(exchanger_conductance(q, u.approach_k, rise))
                else:
                    ct_ec[k] += float(exchanger_conductance(q, u.approach_k, rise))
            else:
                raise SolverInputError(f"{obj}: unknown kind {u.kind!r}")
        lag[k] /= rated_w[k]
        duty_w[k] = main_w[k]  # economisers are not part of the loop's duty basis
        if ch_sum > 0:
            ch_rated[k] /= ch_sum
            ch_chw[k] /= ch_sum
            ch_cop[k] /= ch_sum
    transit = np.where((vol > 0) & (flow > 0) & (np.array(medium) != "air"), vol / np.where(flow > 0, flow, 1), 0.0)
    dead = dead + transit
    # thermal mass: given volumes, else estimates (see defaults)
    halls_of_loop: dict = {}  # air loop name -> halls of its racks
    air_loops_in_hall: dict = {}  # hall name -> air loops of its racks
    for r in racks:
        halls_of_loop.setdefault(r.air_loop, set()).add(r.hall)
        if r.air_loop:
            air_loops_in_hall.setdefault(r.hall, set()).add(r.air_loop)
    halls = {h.name: h for h in plan.halls}
    for k in range(m):
        if vol[k] > 0:
            continue
        if medium[k] == "air":
            area = 0.0
            for hname in halls_of_loop.get(loop_names[k], set()):
                h = halls.get(hname)
                if h is not None:
                    n_loops = len(air_loops_in_hall.get(hname, ()))
                    area += h.width_m * h.depth_m / max(n_loops, 1)
            vol[k] = area * d.HALL_AIR_HEIGHT_M
        else:
            vol[k] = (flow[k] if flow[k] > 0 else rated_w[k] / (rho_cp[k] * 10.0)) * d.DEFAULT_TRANSIT_S
        if vol[k] <= 0:
            raise SolverInputError(f"cooling loop {loop_names[k]!r}: give loop_volume_m3 on its units")
    loop_c = vol * rho_cp
    theta = np.maximum(lag + dead, 1.0)
    gain = loop_c / ((1.0 + d.CONTROLLER_TAU_C_OVER_THETA) * theta)

    # --- servers ----------------------------------------------------------------------
    n = len(plan.servers)
    if n == 0:
        raise SolverInputError("the plan has no servers")
    p_idle, p_max, tau, t_slow, t_design, gpus, lf, airflow = (np.zeros(n) for _ in range(8))
    rack = np.zeros(n, dtype=int)
    air_loop = np.full(n, -1)
    liq_loop = np.full(n, -1)
    height = np.ones(n)
    lo, hi = d.RECIRC_HEIGHT_FACTOR
    for i, s in enumerate(plan.servers):
        t = types.get(s.server_type)
        if t is None:
            raise SolverInputError(f"server {s.name!r}: unknown server type {s.server_type!r}")
        if s.rack not in rack_idx:
            raise SolverInputError(f"server {s.name!r}: unknown rack {s.rack!r}")
        r = racks[rack_idx[s.rack]]
        rack[i] = rack_idx[s.rack]
        p_idle[i], p_max[i] = t.idle_power_w, t.max_power_w
        tau[i], t_slow[i], t_design[i] = t.thermal_time_constant_s, t.gpu_slowdown_c, t.gpu_design_temp_c
        gpus[i] = t.gpu_count
        lf[i] = t.liquid_fraction
        airflow[i] = t.airflow_m3s if t.airflow_m3s > 0 else d.AIRFLOW_PER_W * t.max_power_w
        if lf[i] < 1.0:
            if r.air_loop not in loop_idx:
                raise SolverInputError(f"rack {r.name!r}: air-cooled servers need an air_loop (got {r.air_loop!r})")
            air_loop[i] = loop_idx[r.air_loop]
        if lf[i] > 0.0:
            if r.liquid_loop not in loop_idx:
                raise SolverInputError(f"rack {r.name!r}: liquid-cooled servers need a liquid_loop (got {r.liquid_loop!r})")
            liq_loop[i] = loop_idx[r.liquid_loop]
        mid = (s.u_position - 1 + t.u_height / 2.0) / max(r.u_height, 1)
        height[i] = lo + (hi - lo) * min(max(mid, 0.0), 1.0)
    # --- GPU thermal control: groups of GPUs at offsets, NVIDIA's software / hardware slowdown ----
    if not opt.gpu_power_clock_exponent > 0 or not 0 < opt.hw_slowdown_clock < 1 \
            or not opt.max_operating_below_slowdown_k > 0 or int(opt.gpu_offset_groups) < 1:
        raise SolverInputError("solver options: GPU control parameters out of range (exponent > 0, "
                               "0 < hw_slowdown_clock < 1, max_operating_below_slowdown_k > 0, groups ≥ 1)")
    p_hw = hw_slowdown_power_fraction(opt.gpu_power_clock_exponent, opt.hw_slowdown_clock)
    t_op = t_slow - opt.max_operating_below_slowdown_k
    t_shut = np.array([types[s.server_type].gpu_shutdown_c for s in plan.servers], float)
    per_type = {key: gpu_offset_groups(max(t.gpu_count, 1), t.liquid_fraction, int(opt.gpu_offset_groups))
                for key, t in types.items()}
    g_max = max(len(v[0]) for v in per_type.values())
    gpu_off, gpu_w = np.zeros((n, g_max)), np.zeros((n, g_max))
    for i, s in enumerate(plan.servers):
        off, w = per_type[s.server_type]
        gpu_off[i, :off.size], gpu_w[i, :w.size] = off, w
    off_max = gpu_off.max(axis=1, where=gpu_w > 0, initial=-np.inf)
    first_kink = t_op - off_max  # no GPU throttles while the mean die is below this [°C]
    # R is the hardware's: calibrated at the type's rating coolant (planner.plan.RATING_*), not at
    # the plan's setpoints, so a warmer loop makes warmer GPUs. The design temperature is the
    # hottest GPU's (a vendor qualifies its warmest slot): the server's mean die sits off_max below.
    t_cool = RATING_AIR_INLET_C * (1 - lf) + RATING_LIQUID_SUPPLY_C * lf
    rise = t_design - off_max - t_cool
    bad = np.nonzero(rise <= 0)[0]
    if bad.size:
        i = bad[0]
        raise SolverInputError(
            f"server type {plan.servers[i].server_type!r}: gpu_design_temp_c {t_design[i]} °C must exceed "
            f"its rating coolant temperature {t_cool[i]:.1f} °C ({RATING_AIR_INLET_C:g} °C air, "
            f"{RATING_LIQUID_SUPPLY_C:g} °C liquid, weighted by liquid_fraction) plus its hottest GPU's "
            f"offset {off_max[i]:.2f} K")
    r_th = rise / p_max
    r_die, r_plate, c_die, c_plate = split_server(r_th, tau)
    c_th = c_die + c_plate


    # --- racks / recirculation --------------------------------------------------------
    nr = len(racks)
    air_share = sparse.csr_matrix(((1 - lf), (rack, np.arange(n))), shape=(nr, n))
    rack_mcp = np.asarray(sparse.csr_matrix((airflow * (1 - lf > 0), (rack, np.arange(n))),
                                            shape=(nr, n)).sum(axis=1)).ravel() * d.AIR_DENSITY * d.AIR_CP
    has_air = rack_mcp > 0
    D = sparse.csr_matrix((nr, nr))
    hall_containment = {h.name: h.containment for h in plan.halls}
    for hall in sorted({r.hall for r in racks}):
        air_racks = np.array([k for k in range(nr) if has_air[k] and racks[k].hall == hall], dtype=int)
        if air_racks.size == 0:
            continue
        containment = opt.containment or hall_containment.get(hall, "none")
        Dsub = recirculation_matrix([racks[k] for k in air_racks], rack_mcp[air_racks], containment).tocoo()
        D = D + sparse.csr_matrix((Dsub.data, (air_racks[Dsub.row], air_racks[Dsub.col])), shape=(nr, nr))
    top = np.zeros(nr)
    np.maximum.at(top, rack, np.where(lf < 1, height, 0.0))
    rack_air_loop = np.array([loop_idx.get(r.air_loop, -1) if r.air_loop else -1 for r in racks], dtype=int)

    # --- loop ← server heat shares, downstream closure --------------------------------
    rows = np.concatenate([air_loop[air_loop >= 0], liq_loop[liq_loop >= 0]])
    cols = np.concatenate([np.nonzero(air_loop >= 0)[0], np.nonzero(liq_loop >= 0)[0]])
    vals = np.concatenate([(1 - lf)[air_loop >= 0], lf[liq_loop >= 0]])
    share = sparse.csr_matrix((vals, (rows, cols)), shape=(m, n))
    # CRAH airflow follows the IT airflow it serves: design IT airflow and air-side heat per air loop
    it_airflow = np.zeros(m)
    it_air_max = np.zeros(m)
    on_air = air_loop >= 0
    np.add.at(it_airflow, air_loop[on_air], airflow[on_air])
    np.add.at(it_air_max, air_loop[on_air], ((1 - lf) * p_max)[on_air])
    air_ratio = np.where(crah_flow > 0, it_airflow / np.where(crah_flow > 0, crah_flow, 1.0), 0.0)
    down = downstream_matrix(parent)

    # --- load placement ---------------------------------------------------------------
    if scenario.load == "full":
        from ..plan import Job
        pseudo = Job(name="full load", gpus=1, utilization=1.0, duration_s=max(horizon_s, 1.0) * 2,
                     kind="batch", start_s=0.0)
        placement = Placement(start_s=np.array([0.0]), end_s=np.array([np.inf]),
                              matrix=sparse.csr_matrix(np.ones((n, 1))), jobs=[pseudo], unplaced=[])
    elif scenario.load == "jobs":
        placement = place_jobs(list(plan.jobs), np.maximum(gpus, 1), horizon_s,
                               [s.name for s in plan.servers])
    else:
        raise SolverInputError(f"scenario {scenario.name!r}: load must be 'jobs' or 'full', got {scenario.load!r}")

    return Model(
        n=n, p_idle=p_idle, p_dyn=p_max - p_idle, r_th=r_th, c_th=c_th, tau=tau, r_die=r_die, r_plate=r_plate,
        c_die=c_die, c_plate=c_plate, t_slow=t_slow, gpus=gpus,
        liquid_frac=lf, rack=rack, air_loop=air_loop, liq_loop=liq_loop, height_factor=height,
        server_names=[s.name for s in plan.servers], rack_names=[r.name for r in racks],
        rack_air_share=air_share, rack_top_factor=top, rack_air_loop=rack_air_loop, recirc=D,
        loop_names=loop_names, loop_medium=medium, loop_parent=parent, loop_order=order,
        loop_setpoint=setpoint, loop_c=loop_c, loop_tau=np.maximum(lag, 1e-3), loop_dead=dead,
        loop_gain=gain, loop_coil_ec=coil_ec, loop_fixed_w=fixed_w, loop_chiller_w=ch_w,
        loop_chiller_rated_c=np.where(ch_w > 0, ch_rated, d.CHILLER_RATED_CONDENSER_C),
        loop_chiller_rated_chw_c=np.where(ch_w > 0, ch_chw, d.CHILLER_RATED_EVAP_C),
        loop_chiller_cop=np.where(ch_w > 0, ch_cop, d.CHILLER_RATED_COP), loop_drycooler_ec=dc_ec,
        loop_tower_ec=ct_ec, loop_flow_m3s=flow,
        loop_return_k_per_w=np.where(flow > 0, 1.0 / (rho_cp * np.where(flow > 0, flow, 1.0)), 0.0),
        loop_rated_w=rated_w, loop_duty_rated_w=duty_w, loop_mover_w=mover_w, loop_fan_in_w=fan_in, loop_pump_in_w=pump_in,
        loop_fan_out_w=fan_out, loop_outdoor_rated_w=out_rated, loop_it_air_max_w=it_air_max,
        loop_air_ratio=air_ratio, loop_server_share=share,
        loop_downstream=down, placement=placement, options=opt, scenario=scenario, plan=plan,
        t_cool_design=t_cool, rated_it_w=float(p_max.sum()), t_op=t_op, t_shut=t_shut, gpu_off=gpu_off,
        gpu_w=gpu_w, first_kink=first_kink, off_max=off_max, p_hw=p_hw, alpha=float(opt.gpu_power_clock_exponent),
        hall_area_m2=float(sum(h.width_m * h.depth_m for h in plan.halls)), loop_mover_in_w=mover_in,
        loop_mover_out_w=mover_out)
