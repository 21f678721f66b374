"""Gantt chart of the job schedule: rows = loops or servers, bars = jobs coloured by size.

Bars come from :func:`planner.solver.series.job_bars` (the placement the solver runs: a job's own
``placement``/``start_s`` when a schedule fixed them, else first-fit at release). Jobs that overlap
in time on one row are packed into lanes, so every job is visible. x is the site's local time
(same axis as the time series); hovering a bar shows the job, its GPUs and its times.
"""
from __future__ import annotations

import calendar
from datetime import timedelta

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter, QPicture, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

import pyqtgraph as pg

#: Job-size colours: ColorBrewer YlGnBu (sequential, light = small job, dark = large).
SIZE_COLORS = ["#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"]
SIZE_EDGES = (8, 32, 72, 144, 576)  # GPUs: ≤8, ≤32, ≤72 (one NVL72), ≤144, ≤576, more
LANE_H = 0.8


def size_color(gpus: int) -> QColor:
    i = int(np.searchsorted(SIZE_EDGES, gpus, side="left"))
    return QColor(SIZE_COLORS[min(i, len(SIZE_COLORS) - 1)])


def size_label(i: int) -> str:
    lo = 1 if i == 0 else SIZE_EDGES[i - 1] + 1
    return f"> {SIZE_EDGES[-1]} GPUs" if i >= len(SIZE_EDGES) else f"{lo}–{SIZE_EDGES[i]} GPUs"


def pack_lanes(bars) -> tuple[list[tuple[object, int, int]], list[tuple[str, int, int]]]:
    """``[(bar, row index, lane y)]`` and ``[(row name, first lane y, lanes)]``: per row, bars that
    overlap in time go to separate lanes (greedy, by start)."""
    rows: dict[str, list] = {}
    for b in bars:
        rows.setdefault(b.row, []).append(b)
    placed, heads, y = [], [], 0
    for ri, (name, bs) in enumerate(sorted(rows.items())):
        ends: list[float] = []
        for b in sorted(bs, key=lambda b: (b.start_s, b.job)):
            lane = next((k for k, e in enumerate(ends) if e <= b.start_s + 1e-9), None)
            if lane is None:
                lane = len(ends)
                ends.append(b.end_s)
            else:
                ends[lane] = b.end_s
            placed.append((b, ri, y + lane))
        heads.append((name, y, len(ends)))
        y += len(ends)
    return placed, heads


class BarsItem(pg.GraphicsObject):
    """All bars in one picture (hundreds of bars stay cheap to pan)."""

    def __init__(self, rects: list[tuple[QRectF, QColor]]) -> None:
        super().__init__()
        self.rects = rects
        self.pic = QPicture()
        p = QPainter(self.pic)
        pen = QPen(QColor("#1f2933"))
        pen.setCosmetic(True)
        pen.setWidthF(0.6)
        p.setPen(pen)
        for r, c in rects:
            p.setBrush(c)
            p.drawRect(r)
        p.end()
        self._bounds = QRectF()
        for r, _c in rects:
            self._bounds = self._bounds.united(r)

    def paint(self, p, *_a) -> None:
        p.drawPicture(0, 0, self.pic)

    def boundingRect(self) -> QRectF:
        return self._bounds


class GanttChart(QWidget):
    """Rows picker, the chart and a size legend."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ganttChart")
        self.rows = QComboBox()
        self.rows.setObjectName("ganttRows")
        self.rows.addItem("Rows: cooling loops", "loops")
        self.rows.addItem("Rows: servers", "servers")
        self.rows.activated.connect(lambda _i: self.redraw())
        self.readout = QLabel("Hover a bar to see the job.")
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setObjectName("ganttReadout")
        legend = QHBoxLayout()
        key = QLabel("Job size: " + " ".join(
            f"<span style='background:{c}; border:1px solid #555'>&nbsp;&nbsp;&nbsp;&nbsp;</span>&nbsp;{size_label(i)}&nbsp;&nbsp;"
            for i, c in enumerate(SIZE_COLORS)))
        key.setObjectName("ganttKey")
        key.setWordWrap(True)
        key.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        legend.addWidget(key, 1)
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.plot.setObjectName("ganttPlot")
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=False, alpha=0.2)
        self.plot.getPlotItem().invertY(True)
        self.plot.setLabel("bottom", "local site time (day of month, hour)")
        self.plot.scene().sigMouseMoved.connect(self._hover)
        top = QHBoxLayout()
        top.addWidget(self.rows)
        top.addWidget(self.readout, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.plot, 1)
        lay.addLayout(legend)
        self.plan = None
        self.start = None
        self.horizon_s = 0.0
        self.placed: list = []
        self.heads: list = []
        self.unplaced: list = []
        self.title = ""

    def set_plan(self, plan, start, horizon_s: float, title: str = "") -> None:
        """Show the jobs of ``plan`` from the scenario ``start`` (naive local) over ``horizon_s`` [s]."""
        self.plan, self.start, self.horizon_s, self.title = plan, start, horizon_s, title
        self.redraw()

    def job_names(self) -> set[str]:
        return {b.job for b, _r, _y in self.placed}

    def _x(self, t_s: float) -> float:
        return calendar.timegm(self.start.timetuple()) + t_s

    def redraw(self) -> None:
        from planner.solver.series import job_bars

        pi = self.plot.getPlotItem()
        pi.clear()
        self.placed, self.heads, self.unplaced = [], [], []
        if self.plan is None or self.start is None:
            pi.setTitle("No scenario: add one to see when jobs run.")
            return
        try:
            bars, self.unplaced = job_bars(self.plan, self.horizon_s, self.rows.currentData())
        except Exception as e:  # noqa: BLE001 - a bad job is the plan's problem; say it here
            pi.setTitle(f"Cannot place the jobs: {e}")
            return
        self.placed, self.heads = pack_lanes(bars)
        rects = [(QRectF(self._x(b.start_s), y + (1 - LANE_H) / 2, b.end_s - b.start_s, LANE_H), size_color(b.job_gpus))
                 for b, _r, y in self.placed]
        if rects:
            pi.addItem(BarsItem(rects))
        for k, (name, y, n) in enumerate(self.heads):  # row separators
            if k:
                pi.addItem(pg.InfiniteLine(pos=y, angle=0, pen=pg.mkPen("#9aa3ad", width=1)))
        ticks = [(y + n / 2, f"{name}") for name, y, n in self.heads]
        step = max(1, len(ticks) // 40)
        pi.getAxis("left").setTicks([ticks[::step], []])
        n_lanes = sum(n for _nm, _y, n in self.heads)
        pi.setYRange(0, max(n_lanes, 1), padding=0.02)
        pi.setXRange(self._x(0), self._x(self.horizon_s), padding=0.01)
        miss = f"; not placed within the run: {', '.join(self.unplaced)}" if self.unplaced else ""
        pi.setTitle(f"{self.title} — {len(self.job_names())} jobs on {len(self.heads)} "
                    f"{'loops' if self.rows.currentData() == 'loops' else 'servers'}{miss}", size="9pt")

    def _hover(self, pos) -> None:
        if not self.placed:
            return
        vb = self.plot.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(pos):
            return
        p = vb.mapSceneToView(pos)
        for b, _r, y in self.placed:
            x0 = self._x(b.start_s)
            if x0 <= p.x() <= x0 + b.end_s - b.start_s and y <= p.y() <= y + 1:
                a = (self.start + timedelta(seconds=b.start_s)).strftime("%a %H:%M")
                e = (self.start + timedelta(seconds=b.end_s)).strftime("%a %H:%M")
                self.readout.setText(f"<b>{b.job}</b>: {b.job_gpus} GPUs ({b.gpus:.0f} on {b.row}), {a} – {e} local")
                return
