"""Bottom dock: the live problem list from ``planner.checks.check_plan``.

Clicking a problem selects its rack (or cooling unit) and centres the floor on it.
"""
from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QStyle,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ui.document import PlanDocument
from ui.units import IMPERIAL, decimals, fmt, units

#: The list shows at most this many rows; the header says how many were left out.
MAX_ROWS = 2000

#: Quantities in ``planner.checks`` messages ("150 kW", "0.30 m", "900 kg").
_QUANTITY = re.compile(r"(?<![\w.])(-?\d[\d,]*(?:\.\d+)?) (kW|m|kg)\b")
#: Which rules' kW figures are heat or cooling (converted to BTU/h or tons in imperial);
#: every other kW figure is electrical power, which stays in kW (see ``ui.units``).
_THERMAL_KW = {"loop-over-capacity": "cooling", "loop-near-capacity": "cooling",
               "rack-no-cooling": "heat", "rack-no-air": "heat"}


def display_message(code: str, message: str, system: str) -> str:
    """A problem message with its figures in the display units (the checks write SI)."""
    if system != IMPERIAL:
        return message

    def convert(m: re.Match) -> str:
        unit = m.group(2)
        kind = {"m": "length", "kg": "mass"}.get(unit) or _THERMAL_KW.get(code)
        if kind is None:
            return m.group(0)
        value = float(m.group(1).replace(",", ""))
        return fmt(kind, value, IMPERIAL, 0 if kind == "mass" else decimals(kind, IMPERIAL))

    return _QUANTITY.sub(convert, message)


class ProblemsWidget(QWidget):
    sigRackActivated = Signal(str)
    sigUnitActivated = Signal(str)

    def __init__(self, doc: PlanDocument, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setObjectName("problemSummary")
        top.addWidget(self.summary, 1)
        self.filter = QComboBox()
        self.filter.setObjectName("problemFilter")
        self.filter.addItems(["All", "Errors", "Warnings"])
        self.filter.currentIndexChanged.connect(self.refresh)
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter)
        lay.addLayout(top)
        self.tree = QTreeWidget()
        self.tree.setObjectName("problemTree")
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Severity", "Where", "Problem", "Rule"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        hdr = self.tree.header()
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        hdr.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setStretchLastSection(False)
        self.tree.itemClicked.connect(self._activate)
        self.tree.itemActivated.connect(self._activate)
        lay.addWidget(self.tree, 1)
        st = self.style()
        self._icons = {"error": st.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
                       "warning": st.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)}
        doc.sigProblemsChanged.connect(self.refresh)
        units().sigChanged.connect(self._on_units)  # bound method: dropped with the widget
        self.refresh()

    def _on_units(self, _system: str) -> None:
        self.refresh()

    def refresh(self) -> None:
        probs = self.doc.problems
        n_err = sum(1 for p in probs if p.severity == "error")
        n_warn = len(probs) - n_err
        want = {0: None, 1: "error", 2: "warning"}[self.filter.currentIndex()]
        shown = [p for p in probs if want is None or p.severity == want]
        self.tree.setUpdatesEnabled(False)
        self.tree.clear()
        items = []
        system = units().system
        for p in shown[:MAX_ROWS]:
            text = display_message(p.code, p.message, system)
            it = QTreeWidgetItem([p.severity.capitalize(), p.rack or p.subject or "", text, p.code])
            it.setIcon(0, self._icons.get(p.severity, self._icons["warning"]))
            it.setData(0, Qt.ItemDataRole.UserRole, (p.rack, p.subject))
            it.setToolTip(2, text if text == p.message else f"{text}\n(SI: {p.message})")
            it.setToolTip(1, p.rack or p.subject or "")
            if p.severity == "error":
                it.setForeground(0, QColor("#b91c1c"))
            items.append(it)
        self.tree.addTopLevelItems(items)
        self.tree.setUpdatesEnabled(True)
        if not probs:
            self.summary.setText("<span style='color:#2e7d32'>✔ No problems: every rule passes.</span>")
        else:
            more = f" — showing first {MAX_ROWS}" if len(shown) > MAX_ROWS else ""
            self.summary.setText(f"<b style='color:#b91c1c'>{n_err} error{'s' * (n_err != 1)}</b>, "
                                 f"<b style='color:#b45309'>{n_warn} warning{'s' * (n_warn != 1)}</b>{more}. "
                                 "Click a problem to select its rack.")

    def _activate(self, item, _col=0) -> None:
        rack, subject = item.data(0, Qt.ItemDataRole.UserRole)
        doc = self.doc
        if rack and doc.rack(rack) is not None:
            doc.show_hall(doc.rack(rack).hall)  # the problem may be in a hall not shown
            doc.set_selection([rack], [])
            self.sigRackActivated.emit(rack)
        elif subject and doc.unit(subject) is not None:
            u = doc.unit(subject)
            doc.show_hall(doc.unit_hall(u))
            doc.set_selection([], [subject])
            self.sigUnitActivated.emit(subject)
        elif subject:
            # a loop or feed problem: select everything attached to it in one hall (the one
            # shown if it has any, else the hall of the first rack on it)
            plan = doc.plan
            racks = [r for r in plan.racks if subject in (r.air_loop, r.liquid_loop, r.feed_a, r.feed_b)]
            units_on = [u for u in plan.cooling_units if u.loop == subject]
            if not racks and not units_on:
                return
            if racks and not any(doc.in_hall(r) for r in racks):
                doc.show_hall(racks[0].hall)
            doc.set_selection([r.name for r in racks if doc.in_hall(r)],
                              [u.name for u in units_on if doc.in_hall(u)])
            if doc.selected_racks:
                self.sigRackActivated.emit(doc.selected_racks[0])
