"""Small reusable widgets: unit-aware spin box, power bar."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QSizePolicy, QWidget

from ui.units import units


class QuantitySpinBox(QDoubleSpinBox):
    """Edits an SI quantity shown in the preferred units; ``sigCommitted(si_value)`` on Enter/focus-out.

    ``set_si(None)`` shows "—" (mixed values in a multi-selection); the box then
    commits nothing until the user types a value.
    """

    sigCommitted = Signal(float)

    def __init__(self, kind: str, lo_si: float, hi_si: float, parent=None) -> None:
        super().__init__(parent)
        self.kind = kind
        self._lo_si, self._hi_si = lo_si, hi_si
        self._si: float | None = None
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        self.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.setSpecialValueText("—")
        self.setMinimumWidth(110)
        self.editingFinished.connect(self._commit)
        units().sigChanged.connect(self._on_units)  # a bound method: disconnected when the box is destroyed
        self._configure()

    def _on_units(self, _system: str) -> None:
        self.set_si(self._si)

    def set_kind(self, kind: str) -> None:
        """Show another kind of quantity (a unit's flow is air or liquid flow, by unit kind)."""
        if kind != self.kind:
            self.kind = kind
            self.set_si(self._si)

    def commit_pending(self) -> None:
        """Commit a value typed but not yet confirmed (before the units change under it)."""
        if self.lineEdit().isModified():
            self.interpretText()
            self.lineEdit().setModified(False)
            self._commit()

    def _configure(self) -> None:
        u = units()
        self.blockSignals(True)
        self.setDecimals(self._decimals())
        lo, hi = u.to_display(self.kind, self._lo_si), u.to_display(self.kind, self._hi_si)
        step = 10 ** -self.decimals()
        # one step below the real minimum is the "mixed" sentinel shown as "—"
        self.setRange(lo - step, hi)
        self.setSingleStep(1.0 if self.decimals() <= 1 else 0.1)
        self.setSuffix(" " + u.suffix(self.kind))
        self.blockSignals(False)

    def _decimals(self) -> int:
        from ui.units import decimals

        return decimals(self.kind, units().system)

    def set_si(self, value: float | None) -> None:
        self._si = value
        self._configure()
        self.blockSignals(True)
        if value is None:
            self.setValue(self.minimum())
        else:
            self.setValue(units().to_display(self.kind, value))
        self.blockSignals(False)

    def si_value(self) -> float | None:
        if self.value() <= self.minimum():
            return None
        return units().from_display(self.kind, self.value())

    def _commit(self) -> None:
        v = self.si_value()
        if v is None:
            return
        shown_before = None if self._si is None else round(units().to_display(self.kind, self._si), self.decimals())
        if shown_before is not None and round(self.value(), self.decimals()) == shown_before:
            return  # unchanged: no command
        self._si = v
        self.lineEdit().setModified(False)
        self.sigCommitted.emit(v)


class PowerBar(QWidget):
    """Allocated IT power (every server at max) against the budget, with the numbers written on it."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.allocated_kw = 0.0
        self.budget_kw = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(22)

    def sizeHint(self) -> QSize:
        return QSize(200, 22)

    def set_values(self, allocated_kw: float, budget_kw: float) -> None:
        self.allocated_kw, self.budget_kw = allocated_kw, budget_kw
        self.setToolTip(self.text())
        self.update()

    def fraction(self) -> float:
        return self.allocated_kw / self.budget_kw if self.budget_kw > 0 else (1.5 if self.allocated_kw else 0.0)

    def text(self) -> str:
        u = units()
        pct = f" ({self.fraction() * 100:.0f} %)" if self.budget_kw > 0 else ""
        return f"{self.allocated_kw:,.1f} / {u.fmt('power', self.budget_kw)}{pct}"

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(QColor("#b8bec6"))
        p.setBrush(QColor("#eef0f3"))
        p.drawRoundedRect(r, 3, 3)
        f = self.fraction()
        color = QColor("#2e9d5b") if f <= 0.9 else (QColor("#e0a100") if f <= 1.0 else QColor("#d62828"))
        fill = QRectF(r.x(), r.y(), r.width() * min(1.0, f), r.height())
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        if fill.width() > 0:
            p.drawRoundedRect(fill, 3, 3)
        p.setPen(QColor("#111") if f < 0.55 else QColor("white"))
        p.drawText(r, int(Qt.AlignmentFlag.AlignCenter), self.text())
        p.end()
