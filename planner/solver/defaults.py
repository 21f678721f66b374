"""Physical constants and model defaults, each with its source.

Figures marked *estimate* are engineering judgement, not measured data; they are grouped here so a
study can override them and a reviewer can find them in one place.
"""
from __future__ import annotations

# --- fluid properties (near 20-40 °C) -------------------------------------------------------
#: Air density [kg/m³] at ~25 °C, sea level (ASHRAE Handbook Fundamentals, ch. 1).
AIR_DENSITY = 1.2
#: Air specific heat [J/(kg·K)] (ASHRAE Handbook Fundamentals, ch. 1).
AIR_CP = 1005.0
#: Water density [kg/m³] at ~25 °C.
WATER_DENSITY = 997.0
#: Water specific heat [J/(kg·K)].
WATER_CP = 4180.0

# --- servers -----------------------------------------------------------------------------
#: Airflow per watt when a server type gives none [m³/(s·W)]: EnergyPlus ITE:AirCooled test value
#: (~150 CFM/kW), via docs/physics.md.
AIRFLOW_PER_W = 1.0e-4
# The single-band slowdown law of the one-GPU building blocks :func:`.thermal.server_step` and
# :func:`.thermal.server_pair_step` (kept, and tested against analytic solutions, as the special case
# the solver's general piecewise step reduces to); the solver itself uses NVIDIA's control stack per
# GPU group (:mod:`.gpu_control`, constants under "GPU thermal control" below).
#: Clock reduction per kelvin above slowdown of the building blocks [1/K]. *estimate*.
THROTTLE_GAIN_PER_K = 0.1
#: Lowest clock fraction of the building blocks [-]. *estimate*.
THROTTLE_MIN_CLOCK = 0.3

# --- loops -------------------------------------------------------------------------------
#: Hall air height used for the air-loop thermal mass when the CRAHs give no volume [m]. *estimate*
#: (slab-to-ceiling of a raised-floor hall, ~3 m room + 0.6 m plenum).
HALL_AIR_HEIGHT_M = 3.6
#: Liquid-loop residence time used when units give no volume [s]. *estimate*: docs/physics.md cites a
#: 200 L loop at 3 L/s (67 s transit).
DEFAULT_TRANSIT_S = 60.0
#: Lowest fan/pump speed fraction [-]. *estimate*: EC fans and VFD pumps are rarely run below 20-30 %.
MOVER_MIN_SPEED = 0.3
#: Closed-loop time constant of the loop controller, as a multiple of the loop's total lag [-].
#: SIMC tuning for an integrating process (Skogestad 2003, J. Process Control 13:291) sets
#: tau_c = theta, giving Kc = C / (2 theta).
CONTROLLER_TAU_C_OVER_THETA = 1.0

# --- recirculation (abstract heat-flow model, Tang et al. IEEE TPDS 19(11) 2008) ------------
#: Fraction of a rack's intake that is its own exhaust wrapping over the top / sides [-] *estimate*.
RECIRC_SELF = {"none": 0.10, "cold": 0.02, "hot": 0.02}
#: Fraction of a rack's intake drawn from each immediate row neighbour's exhaust [-] *estimate*.
RECIRC_NEIGHBOUR = {"none": 0.03, "cold": 0.005, "hot": 0.005}
#: Extra self-recirculation at an open row end (air wraps around the end of the row) [-] *estimate*.
RECIRC_ROW_END = {"none": 0.10, "cold": 0.01, "hot": 0.01}
#: Vertical profile: top-of-rack servers see more recirculation; factor from bottom to top [-]
#: *estimate* (measured inlet profiles typically rise towards the top of uncontained racks).
RECIRC_HEIGHT_FACTOR = (0.5, 1.5)

# --- heat rejection ----------------------------------------------------------------------
# Air-cooled electric chiller: EnergyPlus Chiller:Electric:EIR with the ASHRAE 90.1-2022 Normative
# Appendix J reference curves for air-cooled chillers of 528 kW (150 ton) and more, path A,
# "ASHRAE901_AppJ_air_B_gt528kW_2.96COP_4.1IPLV.SI" in EnergyPlus datasets/CodeCompliantEquipment.idf
# (PNNL for the U.S. DOE, Sept. 2022; docs/physics.md, "Chiller"). x = leaving chilled water [°C],
# y = entering condenser air (outdoor dry bulb) [°C]; EnergyPlus clamps each input to the fitted range.
#: Capacity vs temperature, biquadratic ``c0 + c1 x + c2 x² + c3 y + c4 y² + c5 x y`` (= 1 at the rating).
CHILLER_CAPFT = (0.794185315225093, 0.060198988329897, -0.00201553365333625, 0.0062031510838352,
                 -0.000228894018237535, -0.000183160453325751)
#: Electric input / cooling output ratio vs temperature, biquadratic in (x, y) (= 1 at the rating).
CHILLER_EIRFT = (0.807832111491946, -0.0294518276175435, 0.00143133716733664, -0.00283225300374556,
                 0.000399221325718972, -0.000278364987198579)
#: EIR vs part-load ratio, cubic ``d0 + d1 p + d2 p² + d3 p³`` on 0 ≤ p ≤ 1 (same source).
CHILLER_EIRFPLR = (0.118080543023348, 0.10747666191967, 1.57083798659907, -0.79405059954209)
#: Fitted ranges of the curves' inputs [°C], [°C], [-] (same source); inputs are clamped to them.
CHILLER_CHW_RANGE_C = (4.0, 16.0)
CHILLER_AIR_RANGE_C = (12.8, 52.0)
CHILLER_PLR_RANGE = (0.0, 1.0)
#: Reference (rating) condition of the curves: AHRI 550/590, 6.67 °C (44 °F) leaving chilled water,
#: 35 °C (95 °F) entering air (the dataset header; both curves are 1.0 there to 1e-13).
CHILLER_RATED_EVAP_C = 6.67
CHILLER_RATED_CONDENSER_C = 35.0
#: Full-load COP of the reference chiller at its rating [-] (10.1 EER; the set's name, same source).
CHILLER_RATED_COP = 2.96
#: Minimum part-load ratio before the compressor cycles [-]: EnergyPlus datasets/AirCooledChiller.idf,
#: air-cooled screw chiller "Carrier 30XA300 1010.2kW/3.1COP" (Minimum Part Load Ratio 0.10).
CHILLER_MIN_PLR = 0.10
#: Minimum lift: the entering condenser air the compressor behaves as if it saw is at least the
#: leaving chilled water plus this [K]. *estimate*: screw and scroll compressors need a minimum
#: pressure ratio (oil return, expansion valve); with an air-cooled condenser ~15 K above the air and
#: an evaporator ~3 K below the water, a ~22 K saturated lift needs air ≥ water + ~5 K; head-pressure
#: control (fan cycling) holds it there at low ambient. Below 12.8 °C the curve's own range is the
#: low-ambient floor (EnergyPlus clamps there).
CHILLER_MIN_LIFT_K = 5.0
#: Scale of the condenser variable the integrator passes, ``x_cond = (T_out − T_rated) / coef`` [K]:
#: 1, so x_cond is the outdoor dry bulb's offset from the rating (the biquadratic curves take the dry
#: bulb itself; the name is the integrator's).
CHILLER_TEMP_RISE_COEF = 1.0

# --- two-node server (die + cold plate / heat sink) ------------------------------------------
#: Share of the junction-to-coolant resistance that lies between the die and the cold plate /
#: heat-sink base (die, TIM, lid) [-]. *estimate*: for cold-plated high-power accelerators the
#: junction-to-case (+TIM) part is commonly 30–50 % of junction-to-coolant; 0.4 is the middle.
DIE_RESISTANCE_SHARE = 0.4
#: Time constant of the die node, R_die·C_die [s]. *estimate*: a ~800 mm² die with its package and
#: lid holds some 10–50 J/K per GPU against ~0.01–0.02 K/W junction-to-case at ~1 kW, i.e. ~0.5–2 s
#: (GPU die temperatures follow power steps within 1–2 s); 1.5 s. Capped at a tenth of the die share
#: of a type's own time constant so that very fast server types stay well posed.
DIE_TIME_CONSTANT_S = 1.5

# --- electrical chain (utility -> UPS -> PDU transformer -> IT) ------------------------------
# Losses of each device as a fraction of its rating, ``loss = rating · (a0 + a1·L + a2·L²)`` with L the
# output / rating (no-load, proportional and square-law losses: Rasmussen, "Electrical Efficiency
# Modeling for Data Centers", APC/Schneider Electric White Paper 113, rev. 2; docs/physics.md).
#: Double-conversion UPS: no-load 1.0 %, proportional 2.0 %, square-law 1.0 % of rating [-]. *estimate*:
#: gives 94.1 / 95.7 / 96.1 / 96.2 % at 25 / 50 / 75 / 100 % load, the range of double-conversion
#: UPSs of recent manufacture; WP 113 notes square-law losses of 1–4 % at high load.
UPS_LOSS_COEFFS = (0.010, 0.020, 0.010)
#: Low-voltage dry-type PDU transformer: core (no-load) and winding (I²R) losses only, a1 = 0 [-].
#: Efficiency 99.0 % at 35 % load with its maximum there (core = winding loss at L = 0.35, the
#: per-unit load EnergyPlus ElectricLoadCenter:Transformer and the U.S. DOE test procedure use for
#: low-voltage dry-type units). *estimate*: ~99 % is the DOE 2016 level (10 CFR 431.196) for a
#: ~300 kVA unit, quoted from memory; a0 = 0.35·(1/0.99 − 1)/2, a2 = a0 / 0.35².
TRANSFORMER_LOSS_COEFFS = (0.35 * (1.0 / 0.99 - 1.0) / 2.0, 0.0, 0.35 * (1.0 / 0.99 - 1.0) / 2.0 / 0.35 ** 2)
#: Installed UPS / PDU capacity as a multiple of the hall's IT power at max [-]. *estimate*: 2N
#: (each of the A and B sides can carry the whole hall; in normal operation each carries half), the
#: redundancy of the demo's A/B rack feeds.
ELECTRICAL_CAPACITY_FACTOR = 2.0
#: Lighting power density of the hall [W/m²]. *estimate*: LED lighting of a computer room, ~1 W/ft²
#: (ASHRAE 90.1 space-by-space allowances for computer rooms are of this order).
LIGHTING_W_PER_M2 = 10.0
#: Other facility loads (security, BMS, controls, electrical-room ventilation, offices) as a fraction of
#: the hall's IT power at max [-], constant. *estimate*.
MISC_FRACTION_OF_IT = 0.01

# --- fans and pumps at part load ---------------------------------------------------------------
#: Variable-speed fan power / design power vs flow fraction x: ``0.0013 + 0.1470 x + 0.9506 x² −
#: 0.0998 x³`` (ANSI/ASHRAE/IES 90.1-2016 Appendix G, Table G3.1.3.15, Method 2; 30 % at half flow).
VSD_FAN_CURVE = (0.0013, 0.1470, 0.9506, -0.0998)
#: Pump at constant differential pressure: power ∝ flow (hydraulic power V̇·Δp at a fixed Δp, drive
#: and pump efficiency taken constant), the linear part-load curve (0, 1, 0, 0) that is EnergyPlus
#: Pump:VariableSpeed's default.
CONSTANT_DP_PUMP_CURVE = (0.0, 1.0, 0.0, 0.0)
#: Lowest flow fraction of server fans at idle [-]. *estimate*: server fans idle at ~30 % speed; above
#: that the airflow follows the server's heat at a roughly constant air temperature rise.
SERVER_MIN_AIRFLOW_FRACTION = 0.3

# --- GPU thermal control (NVIDIA's stack as it behaves) -----------------------------------------
#: Max operating temperature below the slowdown threshold [K]: nvidia-smi -q on Hopper (H800 SXM) reads
#: "GPU Max Operating Temp 87 C", "GPU Slowdown Temp 89 C", "GPU Shutdown Temp 92 C" (docs/physics.md).
#: The driver's software thermal slowdown holds the GPU at its max operating temperature by lowering
#: clocks smoothly; hardware slowdown engages at the slowdown threshold; the GPU stops at shutdown.
GPU_MAX_OPERATING_BELOW_SLOWDOWN_K = 2.0
#: Clock fraction under hardware thermal slowdown [-]. *estimate*: HW slowdown cuts clocks by about
#: half (NVIDIA documents "HW Slowdown: clocks reduced by a factor of 2 or more").
GPU_HW_SLOWDOWN_CLOCK = 0.5
#: Exponent of dynamic power vs clock, ``P_dyn ∝ s^α`` [-]: CMOS dynamic power C·V²·f with the supply
#: voltage scaled with frequency by DVFS gives f³ (N. Weste, D. Harris, "CMOS VLSI Design", 4th ed.,
#: §5.2, dynamic power; docs/physics.md). *estimate* at the upper end: once the voltage reaches its
#: floor the law tends to linear.
GPU_POWER_CLOCK_EXPONENT = 3.0
#: A shut-down GPU restarts once it is this far below its slowdown threshold [K]. *estimate*.
GPU_RESTART_BELOW_SLOWDOWN_K = 5.0
#: Throttle episodes: a GPU's episode ends after this many whole minutes without throttling [min];
#: counted on the minute record, so fast in-band oscillation (each training iteration) does not split
#: an episode whatever the controller's hysteresis. *estimate* (a job scheduler's view of an incident).
THROTTLE_EPISODE_GAP_MIN = 5
#: GPU-to-GPU temperature offsets around a server's mean die temperature at full load [K], by cooling
#: of the server type. *estimates* (docs/physics.md, "GPU spread"):
#: rack-scale liquid systems (GB200/GB300 NVL72: 18 compute trays of 4 GPUs on one rack manifold):
#: tray-to-tray flow maldistribution ±~10 % of the tray flow → ±1 K on the convective part of the
#: die rise, and two GPUs downstream of two in each tray's series cold-plate loop → ±0.75 K;
RACK_SCALE_TRAY_SPREAD_K = 1.0
RACK_SCALE_SERIES_OFFSET_K = 0.75
#: air-cooled 8-GPU boards (HGX): a front row of 4 GPUs in the server's cold air and a rear row in air
#: pre-heated by it → rows ∓2.5 K, and ±0.75 K across a row (edge vs centre slots).
AIR_ROW_OFFSET_K = 2.5
AIR_IN_ROW_SPREAD_K = 0.75
#: Most offset groups a server is resolved into [-] (GPUs with near offsets merged into equal groups;
#: each group adds two kinks to the server's power law). NVL72: 8 groups of 9 GPUs.
GPU_OFFSET_GROUPS = 8

# --- ASHRAE thermal envelopes (air inlet of IT equipment; ASHRAE TC 9.9 Thermal Guidelines, 5th ed. 2021) ----
#: Recommended envelope, dry bulb [°C], and its dew-point ceiling [°C] (docs/physics.md).
ASHRAE_RECOMMENDED_C = (18.0, 27.0)
ASHRAE_RECOMMENDED_MAX_DEW_POINT_C = 15.0
#: Class A1 allowable envelope, dry bulb [°C], and its dew-point ceiling [°C].
ASHRAE_A1_C = (15.0, 32.0)
ASHRAE_A1_MAX_DEW_POINT_C = 17.0
#: A wet cooling coil dries the air it cools down to about its apparatus dew point, ~1–2 K above the
#: chilled water entering it; *estimate* 1.5 K. The hall's dew point cannot be held below this.
COIL_APPARATUS_APPROACH_K = 1.5
