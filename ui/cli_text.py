"""How the command line writes figures a reader must not misread. Imports no Qt.

Money reads like money (``$631,821``), a ratio whose denominator is zero says so in words, and
counts whose meaning is not obvious ("throttle episodes", "GPUs throttled") carry their explanation
where they are printed (:data:`EXPLAINED`).
"""
from __future__ import annotations

import math

#: Counted quantities of a run and what they count (printed beside the figure).
EXPLAINED = {
    "throttle episodes": "spells of a GPU below full clock; a spell ends after {gap:g} minutes at "
                         "full clock",
    "GPUs throttled": "GPUs that slowed down at least once",
    "lost GPU-hours": "demanded GPU work not done because throttled GPUs ran slower",
    "most throttled at once": "the largest share of GPUs slowed down at the same moment",
}


def money(usd: float | None, cents: bool = False) -> str:
    """``$631,821`` (``$631,821.10`` with ``cents``); ``-$1,200`` below zero; ``-`` for no value."""
    if usd is None or (isinstance(usd, float) and not math.isfinite(usd)):
        return "-"
    text = f"${abs(usd):,.{2 if cents else 0}f}"
    return f"-{text}" if usd < 0 and text.strip("$0.,") else text


def ratio_text(top: float, bottom: float, top_name: str, bottom_name: str, what: str, unit: str = "") -> str:
    """``top / bottom`` as ``"4.2 times"``, or in words when ``bottom`` is zero (no ``∞``).

    ``what`` names the quantity ("throttled GPU-hours"), ``unit`` its unit for the figures.
    """
    u = f" {unit}" if unit else ""
    if bottom > 0:
        return f"{top / bottom:,.1f} times ({top:,.1f}{u} against {bottom:,.1f}{u})"
    if top > 0:
        return f"no ratio: {bottom_name} had no {what} ({top_name} {top:,.1f}{u})"
    return f"no ratio: neither {top_name} nor {bottom_name} had any {what}"


def count(n: int, thing: str) -> str:
    """``"1 error"``, ``"2 warnings"``, ``"1,344 GPUs"``: a count with its noun in the right number."""
    return f"{n:,} {thing}" + ("" if n == 1 else "s")


def clock_time(iso: str) -> str:
    """``"2025-07-02 00:00"`` for ``"2025-07-02T00:00:00"``: a local time as a clock shows it."""
    day, _, clock = iso.partition("T")
    return f"{day} {clock[:5]}".strip() if clock[5:] in ("", ":00") else f"{day} {clock}"


def duration_text(seconds: float) -> str:
    """``"2.4 h"``, ``"7 days (168 h)"``: a simulated period as an engineer states it."""
    hours = seconds / 3600.0
    if hours < 48:
        return f"{hours:,.3g} h"
    days = hours / 24.0
    return f"{days:,.4g} days ({hours:,.0f} h)"


def explained(name: str, **figures) -> str:
    """The explanation of counted quantity ``name`` (:data:`EXPLAINED`), figures filled in."""
    return EXPLAINED[name].format(**figures)
