"""What is drawn on the floor plan: racks, floor cooling units, aisles and row labels.

Scene units are metres (x right, y down, as in ``planner.plan``). Items paint
with level of detail: zoomed out a rack is one filled rectangle with its front
edge; zoomed in it gets its name, load and a problem badge. Text is drawn in
device pixels (the painter is scaled back) so it stays crisp at any zoom.
"""
from __future__ import annotations

import hashlib

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyle

from planner.floor import row_aisles, unit_size
from planner.plan import CoolingUnit, Rack

# Palette: muted, distinguishable categories (Tableau 10, which is designed for
# categorical data and reads well on white).
CATEGORY_COLORS = ["#4e79a7", "#59a14f", "#9c755f", "#b07aa1", "#76b7b2",
                   "#edc948", "#f28e2b", "#ff9da7", "#bab0ac", "#e15759"]
NO_LOOP_COLOR = QColor("#c8ccd2")
UNIT_NEUTRAL_COLOR = "#76b7b2"  # floor units when racks are coloured by something other than loop
FRONT_COLOR = QColor("#1f2933")
SELECT_COLOR = QColor("#0a84ff")
ERROR_COLOR = QColor("#d62828")
WARNING_COLOR = QColor("#f29e0c")
COLD_AISLE = QColor(66, 133, 244, 46)
HOT_AISLE = QColor(234, 67, 53, 46)
HALL_FILL = QColor("#fcfcfd")
TILE_PEN = QColor("#e3e6ea")
TILE_PEN_MAJOR = QColor("#cfd4da")
OUTSIDE_FILL = QColor("#e9ecef")

RACK_Z, UNIT_Z, AISLE_Z, LABEL_Z = 10.0, 9.0, 1.0, 20.0


def category_color(name: str | None) -> QColor:
    """Stable colour per name (same loop -> same colour in every session)."""
    if not name:
        return QColor(NO_LOOP_COLOR)
    h = int(hashlib.md5(name.encode()).hexdigest()[:8], 16)
    return QColor(CATEGORY_COLORS[h % len(CATEGORY_COLORS)])


def ramp_color(frac: float) -> QColor:
    """Sequential ramp for load: pale green (0) -> amber -> deep orange (1); red above 1."""
    if frac > 1.0 + 1e-9:
        return QColor("#d62828")
    stops = [(0.0, (0xe5, 0xf5, 0xe0)), (0.5, (0xa1, 0xd9, 0x9b)), (0.75, (0xfd, 0xd4, 0x9e)), (1.0, (0xf0, 0x7a, 0x3a))]
    frac = max(0.0, frac)
    for (f0, c0), (f1, c1) in zip(stops, stops[1:]):
        if frac <= f1:
            t = (frac - f0) / (f1 - f0)
            return QColor(*(int(a + (b - a) * t) for a, b in zip(c0, c1)))
    return QColor(*stops[-1][1])


def density_color(frac: float) -> QColor:
    """Sequential ColorBrewer YlGnBu ramp (pale = light load, dark blue = dense), clipped at 1.

    Deliberately not red: red on the floor means a problem.
    """
    stops = [(0.0, (0xff, 0xff, 0xd9)), (0.25, (0xc7, 0xe9, 0xb4)), (0.5, (0x41, 0xb6, 0xc4)),
             (0.75, (0x22, 0x5e, 0xa8)), (1.0, (0x08, 0x1d, 0x58))]
    frac = min(1.0, max(0.0, frac))
    for (f0, c0), (f1, c1) in zip(stops, stops[1:]):
        if frac <= f1:
            t = (frac - f0) / (f1 - f0)
            return QColor(*(int(a + (b - a) * t) for a, b in zip(c0, c1)))
    return QColor(*stops[-1][1])


def _fp_rect(fp) -> tuple[float, float, float, float]:
    """``(x, y, w, h)`` of a footprint ``(x0, y0, x1, y1)``."""
    return fp[0], fp[1], fp[2] - fp[0], fp[3] - fp[1]


def _lod(painter: QPainter, option) -> float:
    """Device pixels per metre at the current zoom."""
    return option.levelOfDetailFromTransform(painter.worldTransform())


def _draw_text(painter: QPainter, lod: float, rect_m: QRectF, text: str, px: float, color: QColor,
               bold: bool = False, align=Qt.AlignmentFlag.AlignCenter) -> None:
    painter.save()
    painter.scale(1.0 / lod, 1.0 / lod)
    f = QFont(painter.font())
    f.setPixelSize(max(1, int(px)))
    f.setBold(bold)
    painter.setFont(f)
    painter.setPen(color)
    r = QRectF(rect_m.x() * lod, rect_m.y() * lod, rect_m.width() * lod, rect_m.height() * lod)
    painter.drawText(r, int(align), text)
    painter.restore()


class RackItem(QGraphicsItem):
    """One rack: footprint to scale, front edge marked, coloured by the view's colour mode."""

    FRONT_STRIP_M = 0.08

    def __init__(self, rack: Rack) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setZValue(RACK_Z)
        self.fill = QColor(NO_LOOP_COLOR)
        self.severity: str | None = None
        self.load_text = ""
        self.blocked = False  # drawn red while a drag would overlap
        self.set_rack(rack)

    @property
    def name(self) -> str:
        return self.rack.name

    def set_rack(self, rack: Rack) -> None:
        self.prepareGeometryChange()
        self.rack = rack
        x0, y0, x1, y1 = rack.footprint()
        self._rect = QRectF(x0 - rack.x_m, y0 - rack.y_m, x1 - x0, y1 - y0)
        self._bounds = self._rect.adjusted(-0.06, -0.06, 0.06, 0.06)
        self.setPos(rack.x_m, rack.y_m)
        self.setToolTip(f"{rack.name} — row {rack.row or '–'}, front {rack.orientation}")
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        p = QPainterPath()
        p.addRect(self._rect)
        return p

    def front_strip(self) -> QRectF:
        r, s = self._rect, self.FRONT_STRIP_M
        o = self.rack.orientation
        if o == "N":
            return QRectF(r.left(), r.top(), r.width(), s)
        if o == "S":
            return QRectF(r.left(), r.bottom() - s, r.width(), s)
        if o == "E":
            return QRectF(r.right() - s, r.top(), s, r.height())
        return QRectF(r.left(), r.top(), s, r.height())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        lod = _lod(painter, option)
        r = self._rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, lod > 40)
        painter.fillRect(r, self.fill)
        painter.fillRect(self.front_strip(), FRONT_COLOR)
        if lod > 6:
            pen = QPen(QColor("#3b4754") if lod > 20 else self.fill.darker(140), 0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(r)
        if self.severity or self.blocked:
            color = ERROR_COLOR if (self.blocked or self.severity == "error") else WARNING_COLOR
            pen = QPen(color, 2.5 if lod > 6 else 1.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(r.adjusted(0.02, 0.02, -0.02, -0.02))
        if selected:
            pen = QPen(SELECT_COLOR, 3.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(QColor(10, 132, 255, 40))
            painter.drawRect(r.adjusted(-0.03, -0.03, 0.03, 0.03))
        if lod >= 28:
            self._paint_detail(painter, lod)

    def _paint_detail(self, painter: QPainter, lod: float) -> None:
        r = self._rect
        # front arrow: a small triangle pointing out of the front
        o = self.rack.orientation
        c = r.center()
        a = min(r.width(), r.height()) * 0.18
        fx, fy = {"N": (0, -1), "S": (0, 1), "E": (1, 0), "W": (-1, 0)}[o]
        tip = QPointF(c.x() + fx * (abs(fx) * r.width() / 2 + abs(fy) * r.height() / 2 - self.FRONT_STRIP_M - a * 0.2),
                      c.y() + fy * (abs(fx) * r.width() / 2 + abs(fy) * r.height() / 2 - self.FRONT_STRIP_M - a * 0.2))
        base = QPointF(tip.x() - fx * a, tip.y() - fy * a)
        tri = QPolygonF([tip, QPointF(base.x() + fy * a * 0.7, base.y() + fx * a * 0.7),
                         QPointF(base.x() - fy * a * 0.7, base.y() - fx * a * 0.7)])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(31, 41, 51, 110))
        painter.drawPolygon(tri)
        text_color = QColor("#111") if self.fill.lightness() > 140 else QColor("white")
        px = min(13.0, max(8.0, lod * 0.2))
        vertical_room = r.height() * lod
        if self.load_text and vertical_room > 3.2 * px and lod >= 45:
            top = QRectF(r.x(), r.y(), r.width(), r.height() / 2)
            bot = QRectF(r.x(), r.center().y(), r.width(), r.height() / 2)
            _draw_text(painter, lod, top, self.rack.name, px, text_color, bold=True,
                       align=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)
            _draw_text(painter, lod, bot, self.load_text, px * 0.9, text_color,
                       align=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        else:
            _draw_text(painter, lod, r, self.rack.name, px, text_color, bold=True)
        if self.severity and lod >= 40:
            badge = QRectF(r.right() - 0.2, r.top() + 0.02, 0.18, 0.18)
            if o == "E":
                badge.moveLeft(r.left() + 0.02)
            elif o == "N":
                badge.moveTop(r.bottom() - 0.2)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(ERROR_COLOR if self.severity == "error" else WARNING_COLOR)
            painter.drawEllipse(badge)
            _draw_text(painter, lod, badge, "!", badge.height() * lod * 0.8, QColor("white"), bold=True)


def unit_label(name: str, fm, room_px: float) -> str:
    """The unit's name if it fits, else elided in the middle ("P03-…-12" keeps the pod
    prefix and the unit number), else just its last part ("CRAH-12"), elided as a last resort."""
    if fm.horizontalAdvance(name) <= room_px:
        return name
    middle = fm.elidedText(name, Qt.TextElideMode.ElideMiddle, room_px)
    if len(middle) >= 6:
        return middle
    tail = name.split()[-1].split("/")[-1]
    parts = tail.split("-")
    tail = "-".join(parts[-2:]) if len(parts) > 1 else tail
    return fm.elidedText(tail, Qt.TextElideMode.ElideRight, room_px)


class UnitItem(QGraphicsItem):
    """A CRAH or CDU standing on the floor."""

    def __init__(self, unit: CoolingUnit) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setZValue(UNIT_Z)
        self.fill = QColor(UNIT_NEUTRAL_COLOR)
        self.set_unit(unit)

    @property
    def name(self) -> str:
        return self.unit.name

    def set_unit(self, unit: CoolingUnit) -> None:
        self.prepareGeometryChange()
        self.unit = unit
        w, d = unit_size(unit)
        self._rect = QRectF(-w / 2, -d / 2, w, d)
        self.setPos(unit.x_m or 0.0, unit.y_m or 0.0)
        self.setToolTip(f"{unit.kind.upper()} {unit.name} — {unit.rated_capacity_kw:.0f} kW, loop {unit.loop}")
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-0.06, -0.06, 0.06, 0.06)

    def shape(self) -> QPainterPath:
        p = QPainterPath()
        p.addRect(self._rect)
        return p

    def paint(self, painter: QPainter, option, widget=None) -> None:
        lod = _lod(painter, option)
        r = self._rect
        painter.fillRect(r, self.fill.lighter(135))
        if lod > 8:
            brush = QBrush(self.fill.darker(115), Qt.BrushStyle.BDiagPattern)
            painter.fillRect(r, brush)
        pen = QPen(self.fill.darker(170), 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(r)
        if option.state & QStyle.StateFlag.State_Selected:
            pen = QPen(SELECT_COLOR, 3.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawRect(r.adjusted(-0.03, -0.03, 0.03, 0.03))
        if lod >= 22:
            px = min(12.0, max(8.0, lod * 0.18))
            painter.save()
            if r.height() > r.width() * 1.3:  # tall unit: write along its long side
                painter.rotate(-90)
                r = QRectF(-r.bottom(), r.left(), r.height(), r.width())
            plate = QFont(painter.font())
            plate.setPixelSize(int(px))
            plate.setBold(True)
            from PySide6.QtGui import QFontMetricsF

            fm = QFontMetricsF(plate)
            room = r.width() * lod - 4
            text = unit_label(self.unit.name, fm, room)
            tw = fm.horizontalAdvance(text) / lod + 0.08
            th = px * 1.4 / lod
            c = r.center()
            back = QRectF(c.x() - tw / 2, c.y() - th / 2, tw, th)
            if text:
                painter.fillRect(back, QColor(255, 255, 255, 215))
                _draw_text(painter, lod, back, text, px, QColor("#0b2e2c"), bold=True)
            painter.restore()


def _strip(box) -> QRectF:
    """An aisle strip ``(x0, y0, x1, y1)`` [m] as a rectangle with its edges on the micrometre."""
    x0, y0, x1, y1 = (round(v, 6) for v in box)
    return QRectF(x0, y0, x1 - x0, y1 - y0)


class FloorOverlayItem(QGraphicsItem):
    """Hot/cold aisle shading and row labels, computed from all racks at once (one item)."""

    AISLE_DEPTH_M = 1.2  # two tiles: the usual minimum cold-aisle width (ASHRAE TC9.9 layouts)

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(AISLE_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        # the aisle paths change only with the racks: a cached pixmap spares a path fill of the
        # whole hall on every repaint (heat-map playback repaints many times a second)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._cold = QPainterPath()
        self._hot = QPainterPath()
        self._labels: list[tuple[QPointF, str, bool]] = []
        self._bounds = QRectF()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def rebuild(self, racks: list[Rack]) -> None:
        """Per row: the strip in front of it is cold, behind it hot; label at the row's start."""
        self.prepareGeometryChange()
        cold, hot = QPainterPath(), QPainterPath()
        cold.setFillRule(Qt.FillRule.WindingFill)
        hot.setFillRule(Qt.FillRule.WindingFill)
        labels = []
        bounds = QRectF()
        for aisle in row_aisles(racks, self.AISLE_DEPTH_M):
            # on the micrometre: QPainterPath.simplified() drops the union of two strips whose edges
            # differ by float noise (18.6 vs 18.599999999999998 m: a cold aisle between two rows of
            # unequal length was not shaded at all)
            front, back = _strip(aisle.cold), _strip(aisle.hot)
            cold.addRect(front)
            hot.addRect(back)
            bounds = bounds.united(front).united(back)
            if aisle.row:
                # label in the hot aisle behind the row, at its start: the cold aisle in front
                # stays clear, and the two rows sharing a hot aisle label opposite edges of it
                x0, y0, x1, y1 = aisle.extent
                if aisle.orientation == "N":
                    labels.append((QPointF(x0, y1), f"Row {aisle.row}", "below"))
                else:
                    labels.append((QPointF(x0, y0), f"Row {aisle.row}", "above"))
                bounds = bounds.united(QRectF(x0 - 1, y0 - 1, 6, y1 - y0 + 2))
        self._cold, self._hot, self._labels = cold.simplified(), hot.simplified(), labels
        self._bounds = bounds
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        lod = _lod(painter, option)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(COLD_AISLE)
        painter.drawPath(self._cold)
        painter.setBrush(HOT_AISLE)
        painter.drawPath(self._hot)
        if lod < 6:
            return
        px = min(13.0, max(9.0, lod * 0.22))
        painter.save()
        painter.scale(1.0 / lod, 1.0 / lod)
        f = QFont(painter.font())
        f.setPixelSize(int(px))
        f.setBold(True)
        painter.setFont(f)
        painter.setPen(QColor("#46505c"))
        for pos, text, where in self._labels:
            p = QPointF(pos.x() * lod, pos.y() * lod)
            if where == "above":
                rect = QRectF(p.x() + 1, p.y() - 1.5 * px - 1, 400, 1.5 * px)
                painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom), text)
            else:
                rect = QRectF(p.x() + 1, p.y() + 1, 400, 1.5 * px)
                painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), text)
        painter.restore()


class RackLayerItem(QGraphicsItem):
    """All racks and floor units in one paint call, used when zoomed out.

    Below the detail threshold the individual items are flagged
    ``ItemHasNoContents`` (still selectable and hit-testable, but Qt skips their
    paint), and this item draws everything with a handful of ``drawRects`` calls
    grouped by colour — one C++ loop instead of 5,000 Python paint calls.
    """

    def __init__(self, scene) -> None:
        super().__init__()
        self.fscene = scene
        self.setZValue(RACK_Z - 0.5)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.excluded: set[str] = set()  # items being dragged draw themselves
        self._bounds = QRectF()
        self._groups: list[tuple[QColor, list[QRectF]]] = []
        self._unit_groups: list[tuple[QColor, list[QRectF]]] = []
        self._fronts: list[QRectF] = []
        self._errors: list[QRectF] = []
        self._warnings: list[QRectF] = []
        self._selected: list[QRectF] = []
        self._rack_rects: list | None = None

    def boundingRect(self) -> QRectF:
        return self._bounds

    def rebuild(self) -> None:
        self.prepareGeometryChange()
        groups: dict[int, tuple[QColor, list[QRectF]]] = {}
        fronts, errors, warnings, selected = [], [], [], []
        bounds = QRectF()
        for name, item in self.fscene.rack_items.items():
            if name in self.excluded:
                continue
            r = item.rack
            x0, y0, x1, y1 = r.footprint()
            rect = QRectF(x0, y0, x1 - x0, y1 - y0)
            key = item.fill.rgba()
            groups.setdefault(key, (item.fill, []))[1].append(rect)
            fronts.append(item.front_strip().translated(r.x_m, r.y_m))
            if item.severity == "error":
                errors.append(rect)
            elif item.severity == "warning":
                warnings.append(rect)
            if item.isSelected():
                selected.append(rect)
        ugroups: dict[int, tuple[QColor, list[QRectF]]] = {}
        for name, item in self.fscene.unit_items.items():
            if name in self.excluded:
                continue
            rect = item.sceneBoundingRect().adjusted(0.06, 0.06, -0.06, -0.06)
            ugroups.setdefault(item.fill.rgba(), (item.fill, []))[1].append(rect)
            if item.isSelected():
                selected.append(rect)
        for _c, rects in list(groups.values()) + list(ugroups.values()):
            for rect in rects:
                bounds = bounds.united(rect)
        self._groups, self._unit_groups = list(groups.values()), list(ugroups.values())
        # rack rectangles by item, for recolor() (colour changes without geometry changes)
        self._rack_rects = [(item, QRectF(*_fp_rect(item.rack.footprint())))
                            for name, item in self.fscene.rack_items.items() if name not in self.excluded]
        self._heat_key = None
        self._fronts, self._errors, self._warnings, self._selected = fronts, errors, warnings, selected
        self._bounds = bounds.adjusted(-1, -1, 1, 1)
        self.update()

    def recolor(self) -> None:
        """Regroup the rack rectangles by their items' current fill (a heat-map frame): no geometry,
        front strips or outlines are recomputed."""
        if self._rack_rects is None:
            self.rebuild()
            return
        groups: dict[int, tuple[QColor, list[QRectF]]] = {}
        for item, rect in self._rack_rects:
            f = item.fill
            g = groups.get(f.rgba())
            if g is None:
                groups[f.rgba()] = (f, [rect])
            else:
                g[1].append(rect)
        self._groups = list(groups.values())
        self.update()

    def recolor_indices(self, names, indices) -> None:
        """A heat-map frame: rack ``names[k]`` gets ``LUT[indices[k]]`` (-1: no data). Grouped with
        numpy (a stable sort of the colour indices) and ``itemgetter``: no Python loop over racks."""
        from operator import itemgetter

        import numpy as np

        from ui.heatmap import LUT

        if self._rack_rects is None:
            self.rebuild()
        key = (id(names), len(self._rack_rects))
        if getattr(self, "_heat_key", None) != key:  # map layer order -> column of the series, once
            col = {n: k for k, n in enumerate(names)}
            self._heat_pos = np.array([col.get(item.rack.name, -1) for item, _r in self._rack_rects], dtype=int)
            self._heat_rects = [r for _i, r in self._rack_rects]
            self._heat_key = key
        pos = self._heat_pos
        idx = np.where(pos >= 0, np.asarray(indices)[np.maximum(pos, 0)], -1) if pos.size else pos
        order = np.argsort(idx, kind="stable")
        sidx = idx[order]
        cuts = np.flatnonzero(np.diff(sidx)) + 1
        groups = []
        from ui.floor_view import HEAT_NO_DATA
        for part in np.split(order, cuts) if order.size else []:
            i = int(idx[part[0]])
            rects = itemgetter(*part.tolist())(self._heat_rects)
            groups.append((LUT[i] if i >= 0 else HEAT_NO_DATA, list(rects) if isinstance(rects, tuple) else [rects]))
        self._groups = groups
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        for color, rects in self._unit_groups:
            painter.setBrush(color.lighter(120))
            painter.drawRects(rects)
        for color, rects in self._groups:
            painter.setBrush(color)
            painter.drawRects(rects)
        painter.setBrush(FRONT_COLOR)
        if self._fronts:
            painter.drawRects(self._fronts)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for rects, color, width in ((self._warnings, WARNING_COLOR, 1.5), (self._errors, ERROR_COLOR, 2.0),
                                    (self._selected, SELECT_COLOR, 2.0)):
            if rects:
                pen = QPen(color, width)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.drawRects(rects)
