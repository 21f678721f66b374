"""Floor heat map over time: a time scrubber under the floor and the colour scale it paints with.

The floor's "Temperature" colour mode colours each rack by its value at the scrubbed instant:
hottest air inlet, hottest GPU, or the share of its GPUs throttled (``planner.solver.series.
RackSeries``). The scrubber (slider + play/pause) picks the instant; a colour bar with the range in
the preferred units and the series' resolution is shown beside it.

Colours come from a 256-entry lookup table (ColorBrewer RdYlBu, reversed: blue cool, red hot,
designed for ordered data and readable by most colour-blind viewers), so a frame of 2,000 racks
costs one numpy index plus one assignment per rack.
"""
from __future__ import annotations

from datetime import timedelta

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QWidget

from ui.units import units

#: ColorBrewer RdYlBu (11 classes) reversed: cool blue -> pale yellow -> hot red.
RDYLBU_R = ["#313695", "#4575b4", "#74add1", "#abd9e9", "#e0f3f8", "#ffffbf", "#fee090", "#fdae61", "#f46d43",
            "#d73027", "#a50026"]
NO_DATA = QColor("#d9dde2")
#: Heat-map quantities: key -> (menu label, kind for units).
QUANTITIES = {"inlet": ("Inlet air", "temp"), "gpu": ("Hottest GPU", "temp"),
              "throttled": ("GPUs throttled", "percent")}
#: Fixed inlet scale [°C]: ASHRAE A1 allowable is 15–32 °C, recommended 18–27 °C (physics.md).
INLET_RANGE_C = (15.0, 35.0)
PLAY_INTERVAL_MS = 80


def _lut() -> list[QColor]:
    stops = [QColor(c) for c in RDYLBU_R]
    out = []
    n = len(stops) - 1
    for i in range(256):
        f = i / 255 * n
        k = min(int(f), n - 1)
        t = f - k
        a, b = stops[k], stops[k + 1]
        out.append(QColor(int(a.red() + (b.red() - a.red()) * t), int(a.green() + (b.green() - a.green()) * t),
                          int(a.blue() + (b.blue() - a.blue()) * t)))
    return out


LUT = _lut()


def scale_for(quantity: str, rs, slowdown_c: float | None) -> tuple[float, float]:
    """Colour range [SI] of ``quantity``: inlet fixed, GPU from the run's coolest to slowdown (or its
    hottest if hotter), throttled share 0–1."""
    if quantity == "throttled":
        return 0.0, 1.0
    if quantity == "inlet":
        return INLET_RANGE_C
    v = rs.gpu_max_c
    lo = float(np.nanmin(v)) if np.any(np.isfinite(v)) else 20.0
    hi = float(np.nanmax(v)) if np.any(np.isfinite(v)) else 90.0
    if slowdown_c is not None:
        hi = max(hi, slowdown_c)
    return (np.floor(lo), np.ceil(hi)) if hi > lo else (lo - 1.0, lo + 1.0)


def color_indices(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """LUT index per value; -1 where NaN (no data)."""
    idx = np.clip((values - lo) / (hi - lo) * 255.0, 0, 255)
    out = np.where(np.isfinite(idx), idx, -1)
    return out.astype(int)


class ColorBar(QWidget):
    """Horizontal gradient with the range written in the preferred units."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.lo, self.hi, self.kind = 0.0, 1.0, "temp"
        self.setMinimumWidth(150)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(260, 30)

    def set_range(self, lo: float, hi: float, kind: str) -> None:
        self.lo, self.hi, self.kind = lo, hi, kind
        self.update()

    def label(self, v: float) -> str:
        if self.kind == "percent":
            return f"{v * 100:.0f} %"
        return units().fmt("temp", v, 0)

    def paintEvent(self, _e) -> None:
        p = QPainter(self)
        r = QRectF(self.rect()).adjusted(1, 1, -1, -15)
        g = QLinearGradient(r.topLeft(), r.topRight())
        for i, c in enumerate(RDYLBU_R):
            g.setColorAt(i / (len(RDYLBU_R) - 1), QColor(c))
        p.fillRect(r, g)
        p.setPen(QColor("#666"))
        p.drawRect(r)
        p.setPen(QColor("#303840"))
        f = p.font()
        f.setPixelSize(10)
        p.setFont(f)
        mid = (self.lo + self.hi) / 2
        for frac, v, al in ((0.0, self.lo, Qt.AlignmentFlag.AlignLeft), (0.5, mid, Qt.AlignmentFlag.AlignHCenter),
                            (1.0, self.hi, Qt.AlignmentFlag.AlignRight)):
            x = r.left() + frac * r.width()
            box = QRectF(x - (0 if frac == 0 else (60 if frac == 1 else 30)), r.bottom() + 1, 60, 13)
            p.drawText(box, int(al | Qt.AlignmentFlag.AlignTop), self.label(v))
        p.end()


class TimeScrubber(QWidget):
    """Slider + play/pause over the per-rack series; emits the rack colours of the chosen instant.

    ``sigFrame(names, lut_indices)`` on every change of instant or quantity.
    """

    sigFrame = Signal(object, object)
    sigTimeChanged = Signal(int)
    sigQuantityChanged = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("timeScrubber")
        self.rs = None
        self.start = None
        self.timezone = "UTC"
        self.slowdown_c: float | None = None
        self.quantity = "gpu"
        self.lo, self.hi = 0.0, 1.0
        self._wall = np.zeros(0)
        self.play = QToolButton()
        self.play.setObjectName("playButton")
        self.play.setText("▶")
        self.play.setToolTip("Play / pause the heat map over time")
        self.play.setCheckable(True)
        self.play.toggled.connect(self._play)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("timeSlider")
        self.slider.valueChanged.connect(self._moved)
        self.time_label = QLabel("—")
        self.time_label.setObjectName("scrubTime")
        self.time_label.setMinimumWidth(130)
        self.combo = QComboBox()
        self.combo.setObjectName("heatQuantity")
        for key, (label, _k) in QUANTITIES.items():
            self.combo.addItem(label, key)
        self.combo.setCurrentIndex(self.combo.findData(self.quantity))
        self.combo.currentIndexChanged.connect(lambda _i: self.set_quantity(self.combo.currentData()))
        self.bar = ColorBar()
        self.resolution = QLabel("")
        self.resolution.setObjectName("heatResolution")
        self.resolution.setStyleSheet("color:#46505c")
        self.hint = QLabel("Heat map: run a simulation (F5) to colour racks by temperature over time.")
        self.hint.setStyleSheet("color:#46505c")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        for w in (self.play, self.slider, self.time_label, self.combo, self.bar, self.resolution, self.hint):
            lay.addWidget(w)
        lay.setStretch(1, 3)
        self.timer = QTimer(self)
        self.timer.setInterval(PLAY_INTERVAL_MS)
        self.timer.timeout.connect(self._advance)
        units().sigChanged.connect(self._on_units)  # bound method: dropped with the widget
        self._enable(False)

    def _on_units(self, _system: str) -> None:
        self.bar.update()
        self._label()

    def _enable(self, on: bool) -> None:
        for w in (self.play, self.slider, self.time_label, self.combo, self.bar, self.resolution):
            w.setVisible(on)
        self.hint.setVisible(not on)

    def set_series(self, rs, start, timezone: str, slowdown_c: float | None, at_s: float | None = None) -> None:
        """Show ``rs`` (a ``RackSeries``, or None: back to the hint); start at ``at_s`` [s] or the
        hottest instant."""
        from planner.solver.ambient import wall_clock_s

        self.play.setChecked(False)
        self.rs, self.start, self.timezone, self.slowdown_c = rs, start, timezone, slowdown_c
        if rs is None or not len(rs.time_s):
            self._enable(False)
            return
        self._wall = wall_clock_s(start, rs.time_s, timezone)
        self._enable(True)
        self.resolution.setText(f"{rs.step_s / 60:.0f}-min resolution" if rs.step_s < 3600
                                else f"{rs.step_s / 3600:.0f}-h resolution")
        if rs.source == "servers" and self.quantity == "inlet":
            self.quantity = "gpu"
        inlet_ok = bool(np.any(np.isfinite(rs.inlet_c)))
        item = self.combo.model().item(self.combo.findData("inlet"))
        item.setEnabled(inlet_ok)
        item.setToolTip("" if inlet_ok else "per-rack inlet series need the solver's rack series")
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(self.combo.findData(self.quantity))
        self.combo.blockSignals(False)
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(rs.time_s) - 1)
        if at_s is None:
            k = int(np.nanargmax(np.nanmax(rs.gpu_max_c, axis=1))) if np.any(np.isfinite(rs.gpu_max_c)) else 0
        else:
            k = int(np.clip(np.searchsorted(rs.time_s, at_s, side="right") - 1, 0, len(rs.time_s) - 1))
        self.slider.setValue(k)
        self.slider.blockSignals(False)
        self._rescale()
        self._moved(k)

    def set_quantity(self, q: str) -> None:
        if q not in QUANTITIES:
            return
        changed = q != self.quantity
        self.quantity = q
        self.combo.setCurrentIndex(self.combo.findData(q))
        if self.rs is not None:
            self._rescale()
            self._moved(self.slider.value())
        if changed:
            self.sigQuantityChanged.emit(q)

    def _rescale(self) -> None:
        self.lo, self.hi = scale_for(self.quantity, self.rs, self.slowdown_c)
        self.bar.set_range(self.lo, self.hi, QUANTITIES[self.quantity][1])

    def values(self, k: int) -> np.ndarray:
        rs = self.rs
        return {"inlet": rs.inlet_c, "gpu": rs.gpu_max_c, "throttled": rs.throttled_fraction}[self.quantity][k]

    def index(self) -> int:
        return self.slider.value()

    def set_index(self, k: int) -> None:
        self.slider.setValue(k)

    def local_time(self, k: int):
        return self.start + timedelta(seconds=float(self._wall[k]))

    def set_local_time(self, when) -> None:
        """Scrub to the local wall-clock time ``when`` (naive datetime)."""
        if self.rs is None:
            return
        target = (when - self.start).total_seconds()
        self.slider.setValue(int(np.clip(np.searchsorted(self._wall, target, side="right") - 1, 0,
                                         len(self._wall) - 1)))

    def _label(self) -> None:
        if self.rs is not None:
            self.time_label.setText(self.local_time(self.slider.value()).strftime("%a %b %d %H:%M") + " local")

    def _moved(self, k: int) -> None:
        if self.rs is None:
            return
        self._label()
        self.sigFrame.emit(self.rs.names, color_indices(self.values(k), self.lo, self.hi))
        self.sigTimeChanged.emit(k)

    def _play(self, on: bool) -> None:
        self.play.setText("⏸" if on else "▶")
        if on:
            if self.slider.value() >= self.slider.maximum():
                self.slider.setValue(0)
            self.timer.start()
        else:
            self.timer.stop()

    def _advance(self) -> None:
        # a day (1,440 one-minute frames) plays in about 12 s
        step = max(1, int(round(600.0 / max(self.rs.step_s, 1.0)))) if self.rs is not None else 1
        k = self.slider.value() + step
        if k > self.slider.maximum():
            self.play.setChecked(False)
            k = self.slider.maximum()
        self.slider.setValue(k)
