"""Bottom dock: the live problem list from ``planner.checks.check_plan``.

Clicking a problem selects its rack (or cooling unit) and centres the floor on it.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QStyle,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ui.document import PlanDocument

#: The list shows at most this many rows; the header says how many were left out.
MAX_ROWS = 2000


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
        for p in shown[:MAX_ROWS]:
            it = QTreeWidgetItem([p.severity.capitalize(), p.rack or p.subject or "", p.message, p.code])
            it.setIcon(0, self._icons.get(p.severity, self._icons["warning"]))
            it.setData(0, Qt.ItemDataRole.UserRole, (p.rack, p.subject))
            it.setToolTip(2, p.message)
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
        if rack and self.doc.rack(rack) is not None:
            self.doc.set_selection([rack], [])
            self.sigRackActivated.emit(rack)
        elif subject and self.doc.unit(subject) is not None:
            self.doc.set_selection([], [subject])
            self.sigUnitActivated.emit(subject)
        elif subject:
            # a loop or feed problem: select everything attached to it
            plan = self.doc.plan
            racks = [r.name for r in plan.racks
                     if subject in (r.air_loop, r.liquid_loop, r.feed_a, r.feed_b)]
            units = [u.name for u in plan.cooling_units if u.loop == subject]
            if racks or units:
                self.doc.set_selection(racks, units)
                if racks:
                    self.sigRackActivated.emit(racks[0])
