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
#: (~150 CFM/kW), via /work/shared/design/physics.md.
AIRFLOW_PER_W = 1.0e-4
#: Clock reduction per kelvin above slowdown [1/K]. *estimate*: NVIDIA's software thermal slowdown
#: steps clocks down in ~100 MHz bins (of ~1.98 GHz on H100) per degree or two; 0.1/K reaches
#: the clock floor ~7 K above slowdown, before the 92 °C shutdown (physics.md, nvidia-smi -q).
THROTTLE_GAIN_PER_K = 0.1
#: Lowest clock fraction under thermal slowdown [-]. *estimate*: HW slowdown halves clocks or less.
THROTTLE_MIN_CLOCK = 0.3
#: A throttle event ends once the GPU is this far below slowdown [K]. *estimate* (hysteresis so a
#: GPU hovering at the threshold counts as one event, as nvidia-smi's clocks_event_reasons would).
THROTTLE_HYSTERESIS_K = 2.0

# --- loops -------------------------------------------------------------------------------
#: Hall air height used for the air-loop thermal mass when the CRAHs give no volume [m]. *estimate*
#: (slab-to-ceiling of a raised-floor hall, ~3 m room + 0.6 m plenum).
HALL_AIR_HEIGHT_M = 3.6
#: Liquid-loop residence time used when units give no volume [s]. *estimate*: physics.md cites a
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
#: EnergyPlus Chiller:Electric test-file coefficients (tst/EnergyPlus/unit/ChillerElectric.unit.cc,
#: used by HewlettPackard/dc-rl): capacity vs delta-T, power ratio, part-load power.
CHILLER_CAPACITY_COEFFS = (0.944836, -0.0570088, 0.00185486)
CHILLER_POWER_COEFFS = (2.333, -1.975, 0.6121)
CHILLER_PLR_COEFFS = (0.03303, 0.6852, 0.2818)
#: Condenser temperature rise coefficient [K] in the EnergyPlus Chiller:Electric delta-T.
CHILLER_TEMP_RISE_COEF = 2.778
#: EnergyPlus reference point of those coefficients: condenser entering 35 °C, evaporator leaving
#: 6.67 °C, COP 3.0 (same source; also the AHRI 550/590 standard rating of air-cooled chillers, 95 °F
#: air / 44 °F water). A plan's chiller is rated at its ``rated_outdoor_c`` and its own
#: ``supply_setpoint_c`` (the selection point); the curve — capacity and power ratio with the same
#: delta-T, evaporator term included — moves it from there to the actual air and water temperatures.
CHILLER_RATED_CONDENSER_C = 35.0
CHILLER_RATED_EVAP_C = 6.67
CHILLER_RATED_COP = 3.0
#: Minimum part-load ratio before the compressor cycles [-] (same source).
CHILLER_MIN_PLR = 0.05

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
