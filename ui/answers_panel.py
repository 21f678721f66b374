"""The Answers panel: the engineer's questions answered at the top of the results.

Reads the plain dict of :func:`planner.solver.answers.answers` and writes it in the preferred
units (``ui.units``). Rack names are links: clicking one emits ``sigRackClicked(name)`` and the
main window selects that rack on the floor. A banner says when the results are stale (the plan
was edited after the run) or partial (cancelled).
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from ui.units import units

STALE_STYLE = "background:#fff3cd; color:#664d03; border:1px solid #e0c36a; border-radius:3px; padding:4px;"


def _t(v) -> str:
    return units().fmt("temp", v)


def _kw(v) -> str:
    return "—" if v is None else f"{v:,.0f} kW"


def _kwh(v) -> str:
    if v is None:
        return "—"
    return f"{v / 1000:,.1f} MWh" if abs(v) >= 10_000 else f"{v:,.0f} kWh"


def _usd(v) -> str:
    return "—" if v is None else f"${v:,.0f}"


def _when(iso: str | None) -> str:
    """``2025-07-16T16:07:00`` -> ``Jul 16 16:07``."""
    if not iso:
        return "—"
    from datetime import datetime

    return datetime.fromisoformat(iso).strftime("%b %d %H:%M")


def _rack(name: str | None) -> str:
    if not name:
        return "—"
    return f'<a href="rack:{html.escape(name)}">{html.escape(name)}</a>'


def answers_html(a: dict, title: str = "") -> str:
    """The answers as rich text (rack names as ``rack:`` links)."""
    h, thr, e, c, p = a["hottest_gpu"], a["throttling"], a["energy"], a["cost"], a["peak"]
    u = units()
    rows = []

    def row(q: str, ans: str) -> None:
        rows.append(f"<tr><td style='color:#46505c; padding-right:10px; white-space:nowrap'>{q}</td>"
                    f"<td>{ans}</td></tr>")

    where = _rack(h["rack"]) + (f", server {html.escape(h['server'])}" if h.get("server") else "")
    margin = ""
    if h.get("slowdown_margin_k") is not None:
        m = h["slowdown_margin_k"]
        color = "#b42318" if m < 0 else "#1a7f37"
        margin = (f" <span style='color:{color}'>({u.fmt('dtemp', abs(m))} "
                  f"{'above' if m < 0 else 'below'} slowdown)</span>")
    row("Hottest GPU", f"<b>{_t(h['temp_c'])}</b> at {_when(h['time'])} in {where}{margin}")
    if thr["gpus"] or thr["peak_gpus"]:
        share = thr["peak_fraction"] * 100
        row("Throttling", f"<b style='color:#b42318'>{thr['peak_gpus']:,} of {thr['of_gpus']:,} GPUs "
            f"({share:.0f} %)</b> at once, {_when(thr['peak_time'])}; {thr['gpus']:,} throttled at some point")
        row("… during (local)", html.escape(", ".join(thr["hours"]) or "—"))
        if thr["worst_racks"]:
            row("… worst racks", ", ".join(f"{_rack(x['rack'])} ({x['throttled_gpu_hours']:,.0f} GPU·h)"
                                          for x in thr["worst_racks"]))
    else:
        row("Throttling", f"<b style='color:#1a7f37'>none</b> of {thr['of_gpus']:,} GPUs")
    lost = thr["lost_gpu_hours"]
    row("Lost GPU-hours", f"<b>{'—' if lost is None else f'{lost:,.1f}'}</b> GPU·h "
        f"(above slowdown {thr['throttled_gpu_hours'] or 0:,.1f} GPU·h)")
    pue = "—" if e["pue"] is None else f"{e['pue']:.3f}"
    row("Energy", f"IT {_kwh(e['it_kwh'])}, cooling {_kwh(e['cooling_kwh'])}, facility {_kwh(e['facility_kwh'])}")
    row("PUE", f"<b>{pue}</b>")
    cost = f"<b>{_usd(c['total_usd'])}</b> (energy {_usd(c['energy_usd'])}, demand charge {_usd(c['demand_usd'])})"
    if c.get("per_year_usd") is not None:
        cost += f"; <b>{_usd(c['per_year_usd'])} per year</b>"
    row("Cost", cost)
    row("Peak facility", f"<b>{_kw(p['facility_kw'])}</b> at {_when(p['facility_time'])} "
        f"(15-min {_kw(p['facility_15min_kw'])}; IT {_kw(p['it_kw'])})")
    if a["hottest_inlet"]["temp_c"] is not None:
        row("Hottest inlet", f"{_t(a['hottest_inlet']['temp_c'])} in {_rack(a['hottest_inlet']['rack'])}")
    head = f"<div style='font-weight:600; margin-bottom:4px'>{html.escape(title)}</div>" if title else ""
    return head + "<table cellspacing='0' cellpadding='2'>" + "".join(rows) + "</table>"


class AnswersPanel(QWidget):
    """Answers of the current run, a stale/partial banner, and a hint before any run."""

    sigRackClicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("answersPanel")
        self.banner = QLabel()
        self.banner.setObjectName("staleBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(STALE_STYLE)
        self.banner.hide()
        self.text = QLabel()
        self.text.setObjectName("answersText")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.text.setOpenExternalLinks(False)
        self.text.linkActivated.connect(self._link)
        inner = QWidget()
        lay = QVBoxLayout(inner)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.banner)
        lay.addWidget(self.text)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.answers: dict | None = None
        self.title = ""
        units().sigChanged.connect(self._on_units)
        self.show_hint()

    def show_hint(self, text: str | None = None) -> None:
        self.answers = None
        self.text.setText(text or "<p style='color:#46505c'>No results yet. <b>Simulation ▸ Run</b> (F5) simulates "
                          "the current scenario and answers here: hottest GPU and where, how many GPUs throttle "
                          "and when, lost GPU-hours, energy, PUE, cost and peak power.</p>")
        self.banner.hide()

    def set_answers(self, a: dict, title: str = "", partial: bool = False) -> None:
        self.answers, self.title = a, title
        self.text.setText(answers_html(a, title))

    def set_stale(self, stale: bool, automatic_soon: bool = False) -> None:
        if stale:
            self.banner.setText("⚠ Out of date: the plan changed after this run. "
                                + ("Re-simulating the first day…" if automatic_soon else "Press F5 to run again."))
        self.banner.setVisible(stale)

    def _on_units(self, _s) -> None:
        if self.answers is not None:
            self.text.setText(answers_html(self.answers, self.title))

    def _link(self, href: str) -> None:
        if href.startswith("rack:"):
            self.sigRackClicked.emit(href[5:])
