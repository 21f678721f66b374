"""Compare two runs side by side: the last run of each scenario, or the runs before and after an edit.

Two pickers list the kept outcomes (``ResultsStore.by_scenario`` and ``previous``); a table sets
their key figures side by side with the difference, and three plots overlay their curves (facility
power, hottest GPU, share of GPUs throttled) on hours from each run's start, so runs of different
dates line up.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QSplitter, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

import pyqtgraph as pg

from ui.units import units

#: (label, getter on the answers dict, kind for units: temp / none)
FIGURES = (
    ("Hottest GPU", lambda a: a["hottest_gpu"]["temp_c"], "temp"),
    ("GPUs throttled at once", lambda a: a["throttling"]["peak_gpus"], None),
    ("Lost GPU-hours", lambda a: a["throttling"]["lost_gpu_hours"], None),
    ("Throttled GPU-hours", lambda a: a["throttling"]["throttled_gpu_hours"], None),
    ("Facility energy [kWh]", lambda a: a["energy"]["facility_kwh"], None),
    ("PUE", lambda a: a["energy"]["pue"], None),
    ("Cost [$]", lambda a: a["cost"]["total_usd"], None),
    ("Peak facility [kW]", lambda a: a["peak"]["facility_kw"], None),
)
CURVES = (("facility_kw", "Facility power", "kW"), ("max_gpu_temp_c_series", "Hottest GPU", "temp"),
          ("throttled_fraction", "GPUs throttled", "%"))
COLORS = ("#4e79a7", "#e15759")


class CompareView(QWidget):
    def __init__(self, store, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.store = store
        self.left = QComboBox()
        self.right = QComboBox()
        self.left.setObjectName("compareLeft")
        self.right.setObjectName("compareRight")
        for c in (self.left, self.right):
            c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            c.activated.connect(lambda _i: self.redraw())
        top = QHBoxLayout()
        top.addWidget(QLabel("Compare"))
        top.addWidget(self.left)
        top.addWidget(QLabel("with"))
        top.addWidget(self.right)
        top.addStretch(1)
        self.table = QTableWidget(len(FIGURES), 3)
        self.table.setObjectName("compareTable")
        self.table.setVerticalHeaderLabels([f[0] for f in FIGURES])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.glw = pg.GraphicsLayoutWidget()
        self.plots = {}
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.glw)
        split.setSizes([420, 900])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        store.sigChanged.connect(self.fill)
        units().sigChanged.connect(self._on_units)
        self.fill()

    def _on_units(self, _s) -> None:
        self.redraw()

    def outcomes(self) -> list[tuple[str, object]]:
        s = self.store
        out = [(f"{n} (last run)", o) for n, o in s.by_scenario.items()]
        if s.previous is not None and all(o is not s.previous for _n, o in out):
            out.append((f"{s.previous.scenario_name} (before the last edit)", s.previous))
        return out

    def fill(self) -> None:
        items = self.outcomes()
        for c, pick in ((self.left, 0), (self.right, 1)):
            cur = c.currentText()
            c.blockSignals(True)
            c.clear()
            for label, _o in items:
                c.addItem(label)
            i = c.findText(cur)
            c.setCurrentIndex(i if i >= 0 else min(pick, len(items) - 1))
            c.blockSignals(False)
        # after each new run: the run before it (left) against it (right); the user may pick others
        if self.store.current is not None and self.store.previous is not None:
            labels = [l for l, o in items]
            cur = next((l for l, o in items if o is self.store.current), None)
            prev = next((l for l, o in items if o is self.store.previous), None)
            if cur and prev:
                self.left.setCurrentIndex(labels.index(prev))
                self.right.setCurrentIndex(labels.index(cur))
        self.redraw()

    def pair(self):
        items = dict(self.outcomes())
        return items.get(self.left.currentText()), items.get(self.right.currentText())

    def redraw(self) -> None:
        a, b = self.pair()
        self.table.setHorizontalHeaderLabels([self.left.currentText() or "—", self.right.currentText() or "—", "change"])
        u = units()
        for i, (_label, get, kind) in enumerate(FIGURES):
            va = get(a.answers) if a else None
            vb = get(b.answers) if b else None

            def f(v):
                if v is None:
                    return "—"
                if kind == "temp":
                    return u.fmt("temp", v)
                return f"{v:,.3f}" if abs(v) < 10 and not float(v).is_integer() else f"{v:,.0f}"
            d = ""
            if va is not None and vb is not None:
                d = u.fmt("dtemp", vb - va) if kind == "temp" else f"{vb - va:+,.{3 if abs(vb - va) < 10 else 0}f}"
            for j, t in enumerate((f(va), f(vb), d)):
                it = QTableWidgetItem(t)
                it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, it)
        self.glw.clear()
        self.plots = {}
        first = None
        for r, (attr, title, kind) in enumerate(CURVES):
            p = self.glw.addPlot(row=r, col=0)
            p.setTitle(title, size="9pt")
            p.setLabel("left", u.suffix("temp") if kind == "temp" else kind)
            p.setLabel("bottom", "hours from start")
            p.addLegend(offset=(6, 4), labelTextSize="8pt")
            p.showGrid(x=True, y=True, alpha=0.15)
            if first is not None:
                p.setXLink(first)
            first = first or p
            for k, (o, name) in enumerate(((a, self.left.currentText()), (b, self.right.currentText()))):
                if o is None:
                    continue
                y = np.asarray(getattr(o.result, attr), float)
                y = y * 100 if kind == "%" else (u.to_display("temp", y) if kind == "temp" else y)
                p.plot(np.asarray(o.result.time_s) / 3600.0, y, pen=pg.mkPen(COLORS[k], width=1.5), name=name)
            self.plots[attr] = p
