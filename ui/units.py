"""Display units: SI by default, imperial as a preference — one table, :data:`QUANTITIES`.

The plan is always SI inside (kW, °C, m, m³/s, kg). This module only converts for display and
converts edited values back. Every quantity the GUI shows has a kind in :data:`QUANTITIES` with
the unit a facility engineer expects for it in each system; a new kind of figure gets a row
there, not a conversion of its own somewhere else. The preference lives in QSettings
(organisation ``dcplan``, key ``units/system``) and every view listens to
:data:`UNITS.sigChanged` to redraw.

Conversion factors (exact, or NIST SP 811 (2008) Appendix B.8):

* 1 ft = 0.3048 m (exact); 1 lb = 0.45359237 kg (exact)
* 1 kW = 3412.142 BTU/h (BTU_IT); 1 ton of refrigeration = 12 000 BTU/h = 3.516 853 kW
* 1 m³/s = 2118.880 ft³/min (CFM; 1 ft³ = 0.028 316 846 592 m³ exact)
* 1 m³/s = 15 850.32 US gal/min (GPM; 1 US gal = 3.785 411 784 L exact), 1 m³ = 264.1721 US gal
* °F = °C · 9/5 + 32; a temperature *difference* of 1 K = 1.8 °F

Choices (US and SI practice in data-centre design documents, e.g. ASHRAE TC9.9 and the Open
Compute Project's liquid-cooling specifications):

* electrical power (rack budgets, feed capacities, fans and pumps) stays in kW in both systems:
  US facility engineers size circuits in kW/kVA too;
* heat *loads* are BTU/h in imperial, cooling *capacities* are tons; a line that compares a load
  with a capacity uses one unit for both (tons);
* air flow (CRAHs, server fans) is m³/s or CFM; liquid flow (CDUs, chillers, towers) is L/s or
  GPM, never CFM; a liquid loop's volume is litres or US gallons;
* floor tiles are 0.6 m (metric) or 2 ft (US, 0.6096 m): :func:`tile_text` names each in its own unit.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QSettings, Signal

M_PER_FT = 0.3048
KG_PER_LB = 0.45359237
BTUH_PER_KW = 3412.142
KW_PER_TON = 3.516853
CFM_PER_M3S = 60.0 / (M_PER_FT ** 3)          # 2118.880
L_PER_US_GAL = 3.785411784
GPM_PER_M3S = 60.0 * 1000.0 / L_PER_US_GAL     # 15850.32
US_GAL_PER_M3 = 1000.0 / L_PER_US_GAL          # 264.1721

SI = "si"
IMPERIAL = "imperial"


@dataclass(frozen=True)
class Quantity:
    """How one kind of quantity is shown. The plan holds it in ``base`` (SI).

    Displayed value = stored value × ``scale`` + ``offset`` in the display unit of each system.
    """

    what: str
    base: str
    si_unit: str
    si_scale: float
    si_decimals: int
    imperial_unit: str
    imperial_scale: float
    imperial_offset: float
    imperial_decimals: int


#: THE table: every kind of quantity the GUI shows, with its unit in SI and in imperial.
QUANTITIES: dict[str, Quantity] = {
    "length": Quantity("lengths and positions on the floor", "m", "m", 1.0, 2, "ft", 1 / M_PER_FT, 0.0, 2),
    "temp": Quantity("temperatures", "°C", "°C", 1.0, 1, "°F", 1.8, 32.0, 1),
    "dtemp": Quantity("temperature differences (approach, margin, rise)", "K", "K", 1.0, 1, "°F", 1.8, 0.0, 1),
    "power": Quantity("electrical power: IT load, budgets, feeds, fans and pumps", "kW", "kW", 1.0, 1, "kW", 1.0, 0.0, 1),
    "heat": Quantity("heat loads: what racks and loops must reject", "kW", "kW", 1.0, 1, "BTU/h", BTUH_PER_KW, 0.0, 0),
    "cooling": Quantity("cooling capacity, and loads compared with it", "kW", "kW", 1.0, 1, "tons", 1 / KW_PER_TON,
                        0.0, 1),
    "airflow": Quantity("air volume flow: CRAHs, server fans", "m³/s", "m³/s", 1.0, 2, "CFM", CFM_PER_M3S, 0.0, 0),
    "liquid_flow": Quantity("liquid volume flow: CDUs, chillers, cooling towers", "m³/s", "L/s", 1000.0, 1, "GPM",
                            GPM_PER_M3S, 0.0, 0),
    "volume": Quantity("liquid volume of a loop", "m³", "L", 1000.0, 0, "gal", US_GAL_PER_M3, 0.0, 0),
    "mass": Quantity("mass: equipment, rack ratings", "kg", "kg", 1.0, 0, "lb", 1 / KG_PER_LB, 0.0, 0),
    "energy": Quantity("electrical energy", "kWh", "kWh", 1.0, 0, "kWh", 1.0, 0.0, 0),
}


def _q(kind: str) -> Quantity:
    try:
        return QUANTITIES[kind]
    except KeyError:
        raise KeyError(f"no display unit for quantity kind {kind!r}; add it to ui.units.QUANTITIES") from None


def to_display(kind: str, value, system: str):
    """SI ``value`` (a number or numpy array) of quantity ``kind`` in the display unit of ``system``."""
    q = _q(kind)
    if system == IMPERIAL:
        return value * q.imperial_scale + q.imperial_offset
    return value * q.si_scale if q.si_scale != 1.0 else value


def from_display(kind: str, value, system: str):
    """Inverse of :func:`to_display`: a displayed value back to SI."""
    q = _q(kind)
    if system == IMPERIAL:
        return (value - q.imperial_offset) / q.imperial_scale
    return value / q.si_scale if q.si_scale != 1.0 else value


def suffix(kind: str, system: str) -> str:
    q = _q(kind)
    return q.imperial_unit if system == IMPERIAL else q.si_unit


def decimals(kind: str, system: str) -> int:
    """Display precision of ``kind`` in ``system`` [digits after the point]."""
    q = _q(kind)
    return q.imperial_decimals if system == IMPERIAL else q.si_decimals


def fmt(kind: str, value: float | None, system: str, digits: int | None = None) -> str:
    """``value`` [SI] formatted with its unit, e.g. ``"12.5 kW"`` or ``"42,652 BTU/h"``."""
    if value is None:
        return "—"
    d = decimals(kind, system) if digits is None else digits
    v = to_display(kind, value, system)
    return f"{v:,.{d}f} {suffix(kind, system)}"


def flow_kind(unit_kind: str) -> str:
    """Quantity kind of a cooling unit's design flow: air for CRAHs, liquid for every other unit."""
    return "airflow" if unit_kind == "crah" else "liquid_flow"


#: Floor tile pitches [m]: the metric 600 mm tile and the US 2 ft tile.
METRIC_TILE_M = 0.6
US_TILE_M = 2 * M_PER_FT


def tile_text(tile_m: float, system: str) -> str:
    """A tile pitch as an engineer names it: ``"2 ft"`` / ``"0.6 m"`` for the standard tiles, each in
    its own unit whatever the display system (a 600 mm tile is not a "1.97 ft" tile), with the
    other system's figure in brackets; any other pitch in the display unit."""
    if abs(tile_m - US_TILE_M) < 1e-6:
        return "2 ft" if system == IMPERIAL else "2 ft (0.61 m)"
    if abs(tile_m - METRIC_TILE_M) < 1e-6:
        return "0.6 m" if system != IMPERIAL else "0.6 m (1.97 ft)"
    return fmt("length", tile_m, system)


def ruler_step(per_unit_px: float, tile_m: float, system: str, min_px: float = 60.0) -> float:
    """Spacing of the floor rulers' marks [display units]: the first round step at least ``min_px``
    apart (``per_unit_px`` pixels per display unit). With 2 ft tiles in feet the steps are whole tiles
    (2, 4, 10, 20 ... ft), so every mark sits on a grid line."""
    steps = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
    if system == IMPERIAL and abs(tile_m - US_TILE_M) < 1e-6:
        steps = (2, 4, 10, 20, 40, 100, 200, 400, 1000)
    for step in steps:
        if step * per_unit_px >= min_px:
            return float(step)
    return float(steps[-1])


class UnitPreference(QObject):
    """The unit-system preference, persisted in QSettings("dcplan")."""

    sigAboutToChange = Signal(str)  # new system, before the switch: editors commit typed values
    sigChanged = Signal(str)
    KEY = "units/system"

    def __init__(self) -> None:
        super().__init__()
        self._system: str | None = None

    @property
    def system(self) -> str:
        if self._system is None:
            value = QSettings("dcplan", "dcplan").value(self.KEY, SI)
            self._system = IMPERIAL if value == IMPERIAL else SI
        return self._system

    def set_system(self, system: str) -> None:
        system = IMPERIAL if system == IMPERIAL else SI
        if system == self.system:
            return
        self.sigAboutToChange.emit(system)
        self._system = system
        QSettings("dcplan", "dcplan").setValue(self.KEY, system)
        self.sigChanged.emit(system)

    def fmt(self, kind: str, value: float | None, digits: int | None = None) -> str:
        return fmt(kind, value, self.system, digits)

    def suffix(self, kind: str) -> str:
        return suffix(kind, self.system)

    def decimals(self, kind: str) -> int:
        return decimals(kind, self.system)

    def to_display(self, kind: str, value: float) -> float:
        return to_display(kind, value, self.system)

    def from_display(self, kind: str, value: float) -> float:
        return from_display(kind, value, self.system)


_UNITS: UnitPreference | None = None


def units() -> UnitPreference:
    """The process-wide unit preference (created on first use, after QApplication)."""
    global _UNITS
    if _UNITS is None:
        _UNITS = UnitPreference()
    return _UNITS
