"""Time series of a run: stacked pyqtgraph plots on one linked local-time axis.

Panels: outdoor dry and wet bulb; IT, cooling and facility power; per-loop heat taken in against
the ambient-derated capacity of its equipment; loop supply temperatures; hottest and 95th-percentile
GPU against the slowdown temperature; share of GPUs throttled; energy price; and the selected
rack's own curves (inlet, hottest GPU, power). Every x axis is linked (zoom and pan together) and
shows the site's local wall clock (the x value is the local time read as UTC seconds, drawn by a
``DateAxisItem`` with no offset). Moving the mouse shows a cursor on every panel and a read-out of
the hovered panel's curves with units; each panel has a legend. Units follow ``ui.units``.
"""
from __future__ import annotations

import calendar

import numpy as np
from PySide6.QtCore import Qt  # (PySide6 before pyqtgraph)
from PySide6.QtWidgets import QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

import pyqtgraph as pg

from ui.units import units

#: Panel key -> (title, quantity kind of its y axis). Kinds: ``ui.units`` kinds plus ``percent``
#: and ``price``.
PANELS = {
    "outdoor": ("Outdoor air", "temp"),
    "power": ("Power", "power"),
    "loops": ("Loop heat (solid) vs ambient-derated capacity (dashed)", "cooling"),
    "supply": ("Loop supply temperature", "temp"),
    "gpu": ("GPU temperature", "temp"),
    "throttle": ("GPUs throttled", "percent"),
    "price": ("Energy price", "price"),
    "rack": ("Selected rack", "temp"),
}
PANEL_HEIGHT_PX = 190
#: Viewport width from which the panels stand in two columns [px].
TWO_COLUMNS_MIN_PX = 760
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
pg.setConfigOptions(antialias=True, background="w", foreground="#303840")


def local_x(result, t_s=None) -> np.ndarray:
    """x coordinates: the site's local wall clock at ``t_s`` (default the minute starts) as UTC seconds."""
    from planner.solver.ambient import wall_clock_s

    t = np.asarray(result.time_s if t_s is None else t_s, float)
    return calendar.timegm(result.start.timetuple()) + wall_clock_s(result.start, t, result.timezone)


def unit_label(kind: str) -> str:
    if kind == "percent":
        return "%"
    if kind == "price":
        return "$/kWh"
    return units().suffix(kind)


def to_display(kind: str, y):
    y = np.asarray(y, float)
    if kind == "percent":
        return y * 100.0
    if kind in ("price",):
        return y
    return units().to_display(kind, y)


class TimeSeriesPlots(QWidget):
    """All panels of one run (see module doc)."""

    def __init__(self, parent=None, compact: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("timeSeriesPlots")
        self.readout = QLabel("Move the mouse over a plot to read values.")
        self.readout.setObjectName("plotReadout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setStyleSheet("color:#303840; padding:2px 4px;")
        self.readout.setWordWrap(True)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setObjectName("plotCanvas")
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.glw)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.readout)
        lay.addWidget(self.scroll, 1)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, list[tuple[str, str, np.ndarray, np.ndarray, object]]] = {}
        self.cursors: list[pg.InfiniteLine] = []
        self.outcome = None
        self.rack_name: str | None = None
        self.compact = compact
        self._x = np.zeros(0)
        self._ncol = 2
        self.glw.scene().sigMouseMoved.connect(self._hover)
        units().sigChanged.connect(self._redraw)

    # ------------------------------------------------------------ building
    def _panel(self, key: str, row: int, col: int, link: pg.PlotItem | None, title: str | None = None) -> pg.PlotItem:
        t, kind = PANELS[key]
        p = self.glw.addPlot(row=row, col=col, axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        p.setTitle(title or t, size="10pt")
        p.setLabel("left", unit_label(kind))
        p.showGrid(x=True, y=True, alpha=0.15)
        # see-through legend: the curves under it stay visible
        p.addLegend(offset=(6, 2), labelTextSize="8pt", brush=pg.mkBrush(255, 255, 255, 110), verSpacing=-6)
        p.setMenuEnabled(False)
        p.getAxis("left").setWidth(54)
        if link is not None:
            p.setXLink(link)
        cur = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#888", width=1, style=Qt.PenStyle.DashLine))
        cur.setVisible(False)
        p.addItem(cur, ignoreBounds=True)
        self.cursors.append(cur)
        self.plots[key] = p
        self.curves[key] = []
        return p

    def _curve(self, key: str, name: str, y, color: str, style=Qt.PenStyle.SolidLine, width: float = 1.6,
               x=None, legend: bool = True) -> None:
        if y is None:
            return
        kind = PANELS[key][1]
        x = self._x if x is None else x
        yd = to_display(kind, y)
        pen = pg.mkPen(color, width=width, style=style)
        self.plots[key].plot(x, yd, pen=pen, name=name if legend else None)
        self.curves[key].append((name, kind, x, yd, color))
        shown = len(self.plots[key].legend.items)
        if shown > 3:  # many curves: legend in columns, so it covers less of the plot
            self.plots[key].legend.setColumnCount(min(4, (shown + 1) // 2))

    def set_outcome(self, outcome, rack: str | None = None) -> None:
        """Draw ``outcome`` (a ``RunOutcome``); ``rack`` adds that rack's own curves."""
        self.outcome = outcome
        self.rack_name = rack
        self._redraw()

    def set_rack(self, rack: str | None) -> None:
        if rack != self.rack_name:
            self.rack_name = rack
            self._redraw()

    def clear(self) -> None:
        self.outcome = None
        self._redraw()

    def _redraw(self, *_a) -> None:
        view = None
        if self.plots:
            view = self.plots[next(iter(self.plots))].viewRange()[0]
        self.glw.clear()
        self.plots, self.curves, self.cursors = {}, {}, []
        o = self.outcome
        if o is None:
            self.glw.setMinimumHeight(0)
            self.readout.setText("No results yet: Simulation ▸ Run (F5).")
            return
        r, s = o.result, o.series
        self._x = local_x(r)
        keys = [k for k in PANELS if k != "rack" or self.rack_name]
        ncol = self._ncol = self.columns()
        first = None
        for i, key in enumerate(keys):
            title = f"Rack {self.rack_name}: inlet, hottest GPU, power" if key == "rack" else None
            p = self._panel(key, i // ncol, i % ncol, first, title)
            first = first or p
        self.glw.setMinimumHeight(PANEL_HEIGHT_PX * ((len(keys) + ncol - 1) // ncol))
        self._curve("outdoor", "dry bulb", r.ambient_c, PALETTE[2])
        self._curve("outdoor", "wet bulb", s.get("wet_bulb_c"), PALETTE[0])
        self._curve("power", "facility", r.facility_kw, PALETTE[2])
        self._curve("power", "IT", r.it_kw, PALETTE[0])
        self._curve("power", "cooling", r.cooling_kw, PALETTE[3])
        names = s.get("loop_names") or r.loop_names
        heat, cap = s.get("loop_heat_kw"), s.get("loop_capacity_kw")
        for j, n in enumerate(names):
            c = PALETTE[j % len(PALETTE)]
            if heat is not None:
                self._curve("loops", n, heat[:, j], c)
                self._curve("loops", f"{n} capacity", cap[:, j], c, Qt.PenStyle.DashLine, 1.2, legend=False)
            if r.loop_supply_c.size:
                self._curve("supply", n, r.loop_supply_c[:, j], c)
        if heat is None:
            self.plots["loops"].setTitle("Loop heat vs capacity (needs per-server history: shorter run)", size="9pt")
        self._curve("gpu", "hottest GPU", r.max_gpu_temp_c_series, PALETTE[2])
        self._curve("gpu", "95th percentile", s.get("gpu_p95_c"), PALETTE[1])
        slow = self._slowdown(o)
        if slow is not None:
            line = pg.InfiniteLine(pos=float(to_display("temp", slow)), angle=0, movable=False,
                                   pen=pg.mkPen("#b42318", width=1, style=Qt.PenStyle.DotLine),
                                   label=f"slowdown {units().fmt('temp', slow)}",
                                   labelOpts={"position": 0.08, "color": "#b42318", "anchors": [(0, 1), (0, 1)]})
            self.plots["gpu"].addItem(line)
        self._curve("throttle", "throttled", r.throttled_fraction, PALETTE[2])
        self._curve("price", "price", s.get("price_usd_per_kwh"), PALETTE[4])
        if self.rack_name and o.racks is not None and self.rack_name in o.racks.names:
            rs, j = o.racks, o.racks.names.index(self.rack_name)
            xr = local_x(r, rs.time_s)
            self._curve("rack", "hottest GPU", rs.gpu_max_c[:, j], PALETTE[2], x=xr)
            if np.any(np.isfinite(rs.inlet_c[:, j])):
                self._curve("rack", "inlet", rs.inlet_c[:, j], PALETTE[0], x=xr)
            else:
                idx = r.rack_names.index(self.rack_name) if self.rack_name in r.rack_names else -1
                if idx >= 0 and np.isfinite(r.rack_max_inlet_c[idx]):
                    self.plots["rack"].addItem(pg.InfiniteLine(
                        pos=float(to_display("temp", r.rack_max_inlet_c[idx])), angle=0, movable=False,
                        pen=pg.mkPen(PALETTE[0], width=1, style=Qt.PenStyle.DashLine),
                        label=f"max inlet {units().fmt('temp', r.rack_max_inlet_c[idx])}",
                        labelOpts={"position": 0.1, "color": PALETTE[0]}))
            p = self.plots["rack"]
            p.showAxis("right")
            p.setLabel("right", "kW")
            vb2 = pg.ViewBox()
            p.scene().addItem(vb2)
            p.getAxis("right").linkToView(vb2)
            vb2.setXLink(p)
            pw = pg.PlotCurveItem(xr, rs.power_kw[:, j], pen=pg.mkPen(PALETTE[4], width=1.4))
            vb2.addItem(pw)
            p.legend.addItem(pw, "power (right axis)")
            self.curves["rack"].append(("power", "power", xr, np.asarray(rs.power_kw[:, j]), PALETTE[4]))

            def sync(*_a, p=p, vb2=vb2):
                vb2.setGeometry(p.vb.sceneBoundingRect())
            p.vb.sigResized.connect(sync)
            sync()
        if view is not None and self._x.size and view[0] >= self._x[0] - 1 and view[1] <= self._x[-1] + 61:
            first.setXRange(*view, padding=0)
        self.readout.setText("Move the mouse over a plot to read values (times are local site time).")

    def columns(self) -> int:
        """Two columns of panels when there is room for two readable plots, else one."""
        return 2 if self.scroll.viewport().width() >= TWO_COLUMNS_MIN_PX else 1

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.outcome is not None and self.columns() != self._ncol:
            self._redraw()

    @staticmethod
    def _slowdown(o) -> float | None:
        plan = o.request.plan
        types = plan.server_type_map()
        used = {s.server_type for s in plan.servers}
        vals = [types[k].gpu_slowdown_c for k in used if k in types]
        return min(vals) if vals else None

    # ------------------------------------------------------------- hover
    def _hover(self, pos) -> None:
        for key, p in self.plots.items():
            if p.sceneBoundingRect().contains(pos):
                x = p.vb.mapSceneToView(pos).x()
                for c in self.cursors:
                    c.setPos(x)
                    c.setVisible(True)
                self.readout.setText(self.readout_text(key, x))
                return

    def readout_text(self, key: str, x: float) -> str:
        """Values of panel ``key``'s curves at local time ``x`` with their units."""
        from datetime import datetime, timezone

        when = datetime.fromtimestamp(x, tz=timezone.utc).strftime("%b %d %H:%M")
        parts = []
        for name, kind, xs, ys, color in self.curves.get(key, []):
            if not xs.size:
                continue
            i = int(np.clip(np.searchsorted(xs, x, side="right") - 1, 0, xs.size - 1))
            v = ys[i]
            unit = unit_label(kind)
            d = {"price": 3, "percent": 1}.get(kind) if kind in ("price", "percent") else units().decimals(kind)
            parts.append(f"<span style='color:{color}'>■</span> {name} <b>{v:,.{d}f} {unit}</b>")
        return f"<b>{when}</b> · {PANELS[key][0]}: " + " · ".join(parts)

    def export_item(self, key: str):
        return self.plots.get(key)
