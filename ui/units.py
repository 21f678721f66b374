"""Display units: SI by default, imperial as a preference.

The plan is always SI inside (kW, °C, m, m³/s). This module only converts for
display and converts edited values back. The preference lives in QSettings
(organisation ``dcplan``, key ``units/system``) and every view listens to
:data:`UNITS.sigChanged` to redraw.

Conversion factors (exact or NIST SP 811, Appendix B):
* 1 kW = 3412.142 BTU/h
* 1 ton of refrigeration = 12 000 BTU/h = 3.516 853 kW
* 1 m³/s = 2118.880 CFM (ft³/min)
* 1 ft = 0.3048 m (exact)
* °F = °C · 9/5 + 32; a temperature *difference* of 1 K = 1.8 °F

Electrical power (rack budgets, feed capacities) stays in kW in both systems:
US facility engineers size circuits in kW/kVA too. Heat loads and cooling
capacities switch to BTU/h and tons.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal

BTUH_PER_KW = 3412.142
KW_PER_TON = 3.516853
CFM_PER_M3S = 2118.880
M_PER_FT = 0.3048

SI = "si"
IMPERIAL = "imperial"

#: quantity kind -> (SI suffix, imperial suffix)
SUFFIXES = {
    "length": ("m", "ft"),
    "temp": ("°C", "°F"),
    "dtemp": ("K", "°F"),
    "power": ("kW", "kW"),
    "heat": ("kW", "BTU/h"),
    "cooling": ("kW", "tons"),
    "flow": ("m³/s", "CFM"),
    "mass": ("kg", "lb"),
}
KG_PER_LB = 0.45359237


def to_display(kind: str, value: float, system: str) -> float:
    """SI ``value`` of quantity ``kind`` in the display unit of ``system``."""
    if system != IMPERIAL:
        return value
    if kind == "length":
        return value / M_PER_FT
    if kind == "temp":
        return value * 9.0 / 5.0 + 32.0
    if kind == "dtemp":
        return value * 1.8
    if kind == "heat":
        return value * BTUH_PER_KW
    if kind == "cooling":
        return value / KW_PER_TON
    if kind == "flow":
        return value * CFM_PER_M3S
    if kind == "mass":
        return value / KG_PER_LB
    return value


def from_display(kind: str, value: float, system: str) -> float:
    """Inverse of :func:`to_display`: a displayed value back to SI."""
    if system != IMPERIAL:
        return value
    if kind == "length":
        return value * M_PER_FT
    if kind == "temp":
        return (value - 32.0) * 5.0 / 9.0
    if kind == "dtemp":
        return value / 1.8
    if kind == "heat":
        return value / BTUH_PER_KW
    if kind == "cooling":
        return value * KW_PER_TON
    if kind == "flow":
        return value / CFM_PER_M3S
    if kind == "mass":
        return value * KG_PER_LB
    return value


def suffix(kind: str, system: str) -> str:
    si, imp = SUFFIXES[kind]
    return imp if system == IMPERIAL else si


def decimals(kind: str, system: str) -> int:
    """Sensible display precision per quantity."""
    if kind == "heat" and system == IMPERIAL:
        return 0
    if kind == "flow":
        return 0 if system == IMPERIAL else 3
    if kind == "length":
        return 2
    return 1


def fmt(kind: str, value: float | None, system: str, digits: int | None = None) -> str:
    """``value`` [SI] formatted with its unit, e.g. ``"12.5 kW"`` or ``"42,650 BTU/h"``."""
    if value is None:
        return "—"
    d = decimals(kind, system) if digits is None else digits
    v = to_display(kind, value, system)
    return f"{v:,.{d}f} {suffix(kind, system)}"


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
