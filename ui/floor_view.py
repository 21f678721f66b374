"""The floor plan: a QGraphicsScene kept in step with the document, and its view.

Keys: arrows nudge the selection one tile (Shift: five).
Mouse: wheel zooms about the cursor; middle- or right-drag (or Space + drag)
pans; left-drag on a rack moves the selection with snap to tiles (one undo
step, refused with a message if it would overlap); left-drag on empty floor
draws a rubber band; double-click renames a rack in place. Drops: a catalog
server type onto a rack, a catalog CRAH/CDU onto the floor.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsScene, QGraphicsView, QLabel, QLineEdit, QMenu

from ui import commands as cmds
from ui.document import PlanDocument, on_floor, unit_footprint
from ui.floor_items import (HALL_FILL, OUTSIDE_FILL, TILE_PEN, TILE_PEN_MAJOR, FloorOverlayItem, RackItem, RackLayerItem,
                            UnitItem, CATEGORY_COLORS, UNIT_NEUTRAL_COLOR, category_color, density_color, ramp_color)

MIME_SERVER_TYPE = "application/x-dcplan-server-type"
MIME_COOLING_UNIT = "application/x-dcplan-cooling-unit"

COLOR_MODES = {
    "loop": "Cooling loop",
    "density": "Power density (kW per rack)",
    "budget": "Power vs budget",
    "temperature": "Temperature (simulation results over time)",
}
#: Below this zoom [px/m] racks are drawn by one RackLayerItem instead of one paint per item.
DETAIL_PX_PER_M = 20.0
#: Largest drag that gets live red/ok feedback on every mouse step [racks].
LIVE_CHECK_MAX = 1000
#: Full scale of the density colour ramp [kW/rack]: a GB300 NVL72-class rack is ~140 kW.
DENSITY_FULL_SCALE_KW = 150.0
#: Racks without a value in the heat map (no results, or no GPUs / no air inlet).
HEAT_NO_DATA = QColor("#d9dde2")


class FloorScene(QGraphicsScene):
    """Racks, units and aisles of the document's plan (one hall)."""

    MARGIN_M = 3.0

    def __init__(self, doc: PlanDocument, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.rack_items: dict[str, RackItem] = {}
        self.unit_items: dict[str, UnitItem] = {}
        self.overlay = FloorOverlayItem()
        self.layer: RackLayerItem | None = None
        self.detail = True  # individual items paint themselves (zoomed in)
        self._layer_timer = QTimer(self)
        self._layer_timer.setSingleShot(True)
        self._layer_timer.setInterval(0)
        self._layer_timer.timeout.connect(self._rebuild_layer)
        self.color_mode = "loop"
        # heat-map frame (Temperature mode): rack names and LUT indices at the scrubbed instant
        self._heat_frame: tuple = ((), ())
        self._heat_map: dict | None = None
        self._heat_items: list = []
        self._heat_items_key = None
        self._rack_kw: dict[str, float] = {}
        self._loop_index: dict[str, int] | None = None
        self._syncing = False
        self._overlay_timer = QTimer(self)
        self._overlay_timer.setSingleShot(True)
        self._overlay_timer.setInterval(0)
        self._overlay_timer.timeout.connect(self._rebuild_overlay)
        doc.sigPlanReplaced.connect(self.rebuild)
        doc.sigHallChanged.connect(self.rebuild)
        doc.sigPlanChanged.connect(self.on_plan_changed)
        doc.sigSelectionChanged.connect(self.on_doc_selection)
        doc.sigProblemsChanged.connect(self.on_problems)
        self.selectionChanged.connect(self.on_scene_selection)
        self.rebuild()

    # ------------------------------------------------------------- building
    def _rebuild_overlay(self) -> None:
        self.overlay.rebuild(self.doc.racks_here())

    def rebuild(self) -> None:
        """All items of the hall shown, from scratch (open / new / import / other hall).
        Built in bulk, indexed once."""
        self._syncing = True
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.clear()
        self.rack_items.clear()
        self.unit_items.clear()
        self._heat_items_key = None
        self.overlay = FloorOverlayItem()
        self.addItem(self.overlay)
        self.layer = RackLayerItem(self)
        self.layer.setVisible(not self.detail)
        self.addItem(self.layer)
        self._rack_kw = self.doc.plan.rack_max_power_kw()
        self._loop_index = None
        racks = self.doc.racks_here()
        for r in racks:
            item = RackItem(r)
            self._style_rack(item)
            self.rack_items[r.name] = item
            self.addItem(item)
        for u in self.doc.units_here():
            self._add_unit(u)
        self.overlay.rebuild(racks)
        if not self.detail:
            for item in list(self.rack_items.values()) + list(self.unit_items.values()):
                item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        self._update_rect()
        # BSP index after the bulk add: one build instead of one insert per item.
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self._syncing = False
        self.on_problems()
        self._rebuild_layer()

    # ------------------------------------------------------ level of detail
    def set_detail(self, on: bool) -> None:
        """Zoomed in: every item paints itself. Zoomed out: the layer paints them all at once."""
        if on == self.detail:
            return
        self.detail = on
        for name, item in self.rack_items.items():
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, not on and name not in self.layer.excluded)
        for name, item in self.unit_items.items():
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, not on and name not in self.layer.excluded)
        self.layer.setVisible(not on)
        if not on:
            self._rebuild_layer()

    def mark_layer(self) -> None:
        if not self.detail:
            self._layer_timer.start()

    def _rebuild_layer(self) -> None:
        if self.layer is not None and not self.detail:
            self.layer.rebuild()

    def exclude_from_layer(self, names) -> None:
        """Items that are being dragged paint themselves so they move on screen at any zoom."""
        names = set(names)
        self.layer.excluded = names
        if not self.detail:
            for n in names:
                item = self.rack_items.get(n) or self.unit_items.get(n)
                if item is not None:
                    item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, False)
            self.layer.rebuild()

    def include_all(self) -> None:
        names, self.layer.excluded = self.layer.excluded, set()
        if not self.detail:
            for n in names:
                item = self.rack_items.get(n) or self.unit_items.get(n)
                if item is not None:
                    item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
            self.layer.rebuild()

    def _add_unit(self, u) -> None:
        if on_floor(u) and self.doc.in_hall(u):
            item = UnitItem(u)
            if not self.detail:
                item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
            item.fill = self.unit_fill(u)
            self.unit_items[u.name] = item
            self.addItem(item)

    def _add_rack(self, r) -> None:
        if r.name not in self._rack_kw:
            types = self.doc.plan.server_type_map()
            self._rack_kw[r.name] = sum(t.max_power_w / 1000.0 for t in
                                        (types.get(s.server_type) for s in self.doc.servers_in(r.name)) if t)
        item = RackItem(r)
        if not self.detail:
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        self.rack_items[r.name] = item
        self.addItem(item)
        self._style_rack(item)
        item.severity = self.doc.rack_severity.get(r.name)

    def hall_rect(self) -> QRectF:
        h = self.doc.hall()
        return QRectF(0, 0, h.width_m, h.depth_m)

    def _grow_rect(self, change) -> None:
        """Extend the scene rect to changed items (cheap; a full recompute is O(items))."""
        r = self.sceneRect()
        m = self.MARGIN_M
        for n in change.racks_added | change.racks_modified:
            item = self.rack_items.get(n)
            if item is not None and not r.contains(item.sceneBoundingRect().adjusted(-m, -m, m, m)):
                r = r.united(item.sceneBoundingRect().adjusted(-m, -m, m, m))
        for n in change.units_added | change.units_modified:
            item = self.unit_items.get(n)
            if item is not None and not r.contains(item.sceneBoundingRect().adjusted(-m, -m, m, m)):
                r = r.united(item.sceneBoundingRect().adjusted(-m, -m, m, m))
        if r != self.sceneRect():
            self.setSceneRect(r)

    def _update_rect(self) -> None:
        r = self.hall_rect()
        items = self.itemsBoundingRect() if self.rack_items else r
        m = self.MARGIN_M
        self.setSceneRect(r.united(items).adjusted(-m, -m, m, m))

    # ------------------------------------------------------------- styling
    def _style_rack(self, item: RackItem) -> None:
        r = item.rack
        kw = self._rack_kw.get(r.name, 0.0)
        if self.color_mode == "density":
            item.fill = density_color(kw / DENSITY_FULL_SCALE_KW)
        elif self.color_mode == "budget":
            item.fill = ramp_color(kw / r.power_budget_kw if r.power_budget_kw > 0 else (2.0 if kw else 0.0))
        elif self.color_mode == "temperature":
            item.fill = self.heat.get(r.name, HEAT_NO_DATA)
        else:
            loop = r.liquid_loop if r.cooling_type in ("liquid", "hybrid") and r.liquid_loop else r.air_loop
            item.fill = self.loop_color(loop)
        item.load_text = f"{kw:.0f}/{r.power_budget_kw:.0f} kW" if kw or r.power_budget_kw else ""
        item.update()

    def set_heat(self, names, indices) -> None:
        """Rack colours of one heat-map frame: ``indices`` into ``ui.heatmap.LUT`` (-1: no data),
        aligned with ``names``. Repaints only in the Temperature mode (one layer rebuild)."""
        from ui.heatmap import LUT

        lut, none = LUT, HEAT_NO_DATA
        self._heat_frame, self._heat_map = (names, indices), None
        if self.color_mode != "temperature":
            return
        if self._heat_items_key != (id(names), len(self.rack_items)):  # items in series order, once
            self._heat_items = [self.rack_items.get(n) for n in names]
            self._heat_items_key = (id(names), len(self.rack_items))
        detail = self.detail
        for item, i in zip(self._heat_items, indices.tolist()):
            if item is not None:
                item.fill = lut[i] if i >= 0 else none
                if detail:  # zoomed out the items paint nothing: the layer alone is recoloured
                    item.update()
        if not detail and self.layer is not None:
            # geometry unchanged: regroup the cached rectangles by colour index
            self.layer.recolor_indices(names, indices)

    @property
    def heat(self) -> dict:
        """Rack name -> colour of the current heat-map frame (built on demand)."""
        if self._heat_map is None:
            from ui.heatmap import LUT

            names, idx = self._heat_frame
            self._heat_map = {n: (LUT[i] if i >= 0 else HEAT_NO_DATA) for n, i in zip(names, list(idx))}
        return self._heat_map

    def clear_heat(self) -> None:
        self._heat_frame, self._heat_map = ((), ()), None
        if self.color_mode == "temperature":
            for item in self.rack_items.values():
                self._style_rack(item)
            self.mark_layer()

    def unit_fill(self, u) -> QColor:
        """Floor units take their loop's colour when colouring by loop, else one neutral teal."""
        return self.loop_color(u.loop) if self.color_mode == "loop" else QColor(UNIT_NEUTRAL_COLOR)

    def set_color_mode(self, mode: str) -> None:
        self.color_mode = mode
        for item in self.rack_items.values():
            self._style_rack(item)
        for item in self.unit_items.values():
            item.fill = self.unit_fill(item.unit)
            item.update()
        self.mark_layer()

    def loop_colors(self) -> list[tuple[str, QColor]]:
        return [(l.name, self.loop_color(l.name)) for l in self.doc.plan.cooling_loops if l.medium != "facility"]

    def loop_color(self, name: str | None) -> QColor:
        """Colour of a loop: by its position among the plan's air/liquid loops (stable while editing)."""
        if self._loop_index is None:
            names = [l.name for l in self.doc.plan.cooling_loops if l.medium != "facility"]
            self._loop_index = {n: i for i, n in enumerate(names)}
        i = self._loop_index.get(name)
        return category_color(name) if i is None else QColor(CATEGORY_COLORS[i % len(CATEGORY_COLORS)])

    # ------------------------------------------------------------- updates
    def on_plan_changed(self, change) -> None:
        self._syncing = True
        if change.racks_any:
            self._heat_items_key = None  # rack items added, removed or renamed
        if change.server_racks:
            # power only changes for racks whose servers changed
            types = self.doc.plan.server_type_map()
            for n in change.server_racks:
                self._rack_kw[n] = 0.0
            for s in self.doc.plan.servers:
                if s.rack in change.server_racks:
                    t = types.get(s.server_type)
                    if t is not None:
                        self._rack_kw[s.rack] += t.max_power_w / 1000.0
        if "loop" in change.other:
            self._loop_index = None
            for item in self.rack_items.values():
                self._style_rack(item)
            for item in self.unit_items.values():
                item.fill = self.unit_fill(item.unit)
        if "server_type" in change.other:
            self._rack_kw = self.doc.plan.rack_max_power_kw()
        if "hall" in change.other:  # size or tiles: the floor, grid and rulers are drawn anew
            self._update_rect()
            self.invalidate(self.sceneRect(), self.SceneLayer.BackgroundLayer)
        for n in change.racks_removed:
            item = self.rack_items.pop(n, None)
            if item is not None:
                self.removeItem(item)
        rmap = self.doc.rack_map()
        # only the hall shown has items: a rack edited into (or out of) it gains (or loses) one
        for n in change.racks_added | change.racks_modified:
            r = rmap.get(n)
            item = self.rack_items.get(n)
            if r is None or not self.doc.in_hall(r):
                if item is not None:
                    self.removeItem(self.rack_items.pop(n))
            elif item is None:
                self._add_rack(r)
            else:
                item.set_rack(r)
                self._style_rack(item)
        for n in change.server_racks - change.racks_any:
            if n in self.rack_items:
                self._style_rack(self.rack_items[n])
        for n in change.units_removed:
            item = self.unit_items.pop(n, None)
            if item is not None:
                self.removeItem(item)
        for n in change.units_added | change.units_modified:
            u = self.doc.unit(n)
            item = self.unit_items.get(n)
            if u is None or not on_floor(u) or not self.doc.in_hall(u):
                if item is not None:
                    self.removeItem(self.unit_items.pop(n))
            elif item is None:
                self._add_unit(u)
            else:
                item.set_unit(u)
                item.fill = self.unit_fill(u)
        if change.racks_any or change.units_added or change.units_modified:
            self._overlay_timer.start()
            self._grow_rect(change)
        self._syncing = False
        self.on_doc_selection()
        self.mark_layer()

    def on_problems(self) -> None:
        sev = self.doc.rack_severity
        for name, item in self.rack_items.items():
            s = sev.get(name)
            if s != item.severity:
                item.severity = s
                item.update()
        self.mark_layer()

    # ----------------------------------------------------------- selection
    def on_doc_selection(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        want = {("r", n) for n in self.doc.selected_racks} | {("u", n) for n in self.doc.selected_units}
        for it in self.selectedItems():
            key = ("r", it.name) if isinstance(it, RackItem) else ("u", it.name)
            if key not in want:
                it.setSelected(False)
        for kind, n in want:
            it = self.rack_items.get(n) if kind == "r" else self.unit_items.get(n)
            if it is not None and not it.isSelected():
                it.setSelected(True)
        self._syncing = False
        self.mark_layer()

    def on_scene_selection(self) -> None:
        if self._syncing:
            return
        items = self.selectedItems()
        # keep the document's order for racks that stay selected (the first one anchors align)
        current = set(self.doc.selected_racks)
        racks = [n for n in self.doc.selected_racks if n in self.rack_items and self.rack_items[n].isSelected()]
        racks += sorted(it.name for it in items if isinstance(it, RackItem) and it.name not in current)
        units = [it.name for it in items if isinstance(it, UnitItem)]
        self._syncing = True
        self.doc.set_selection(racks, units)
        self._syncing = False
        self.mark_layer()

    # ----------------------------------------------------------- background
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, OUTSIDE_FILL)
        hall = self.hall_rect()
        painter.fillRect(hall, HALL_FILL)
        lod = painter.worldTransform().m11()
        tile = self.doc.hall().tile_m
        area = rect.intersected(hall)
        if tile > 0 and not area.isEmpty():
            major = 5  # a major line every 5 tiles (3 m for 0.6 m tiles)
            step_px = tile * lod
            i0, i1 = int(math.floor(area.left() / tile)), int(math.ceil(area.right() / tile))
            j0, j1 = int(math.floor(area.top() / tile)), int(math.ceil(area.bottom() / tile))
            for pen_color, only_major in ((TILE_PEN, False), (TILE_PEN_MAJOR, True)):
                if not only_major and step_px < 6:
                    continue
                if only_major and step_px * major < 6:
                    continue
                pen = QPen(pen_color, 0)
                pen.setCosmetic(True)
                painter.setPen(pen)
                for i in range(i0, i1 + 1):
                    if (i % major == 0) == only_major and hall.left() <= i * tile <= hall.right() + 1e-9:
                        x = i * tile
                        painter.drawLine(QPointF(x, max(area.top(), hall.top())), QPointF(x, min(area.bottom(), hall.bottom())))
                for j in range(j0, j1 + 1):
                    if (j % major == 0) == only_major and hall.top() <= j * tile <= hall.bottom() + 1e-9:
                        y = j * tile
                        painter.drawLine(QPointF(max(area.left(), hall.left()), y), QPointF(min(area.right(), hall.right()), y))
        pen = QPen(QColor("#5b6672"), 2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(hall)
        self._draw_rulers(painter, hall, lod, tile)

    def ruler_marks(self, lod: float) -> tuple[float, list[float]]:
        """Step [m] and positions [m] of the distance marks along the top wall at ``lod`` px/m: round
        numbers of the display unit (whole 2 ft tiles in feet when the hall uses them)."""
        from ui.units import ruler_step, units

        u = units()
        per_unit_m = u.from_display("length", 1.0)  # metres per displayed unit (1 or 0.3048)
        step_m = ruler_step(per_unit_m * lod, self.doc.hall().tile_m, u.system) * per_unit_m
        n = int(self.hall_rect().width() / step_m + 1e-9) + 1
        return step_m, [i * step_m for i in range(n)]

    def hall_caption(self) -> str:
        """The line under the hall: name, size and floor tiles in the display units."""
        from ui.units import tile_text, units

        u, h = units(), self.doc.hall()
        return (f"{h.name} — {u.fmt('length', h.width_m)} × {u.fmt('length', h.depth_m)}, "
                f"{tile_text(h.tile_m, u.system)} tiles")

    def _draw_rulers(self, painter: QPainter, hall: QRectF, lod: float, tile: float) -> None:
        """Distance marks along the top and left walls, at round numbers of the display unit."""
        if lod <= 0:
            return
        from ui.units import units

        u = units()
        step_m, xs = self.ruler_marks(lod)
        painter.save()
        painter.scale(1 / lod, 1 / lod)
        f = QFont(painter.font())
        f.setPixelSize(10)
        painter.setFont(f)
        painter.setPen(QColor("#5b6672"))
        for x in xs:
            painter.drawText(QRectF(x * lod - 40, hall.top() * lod - 18, 80, 14), int(Qt.AlignmentFlag.AlignCenter),
                             u.fmt("length", x, digits=0))
        n = int(hall.height() / step_m + 1e-9) + 1
        for j in range(1, n):
            y = j * step_m
            painter.drawText(QRectF(hall.left() * lod - 64, y * lod - 7, 58, 14),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                             u.fmt("length", y, digits=0))
        f.setBold(True)
        f.setPixelSize(12)
        painter.setFont(f)
        painter.drawText(QRectF(hall.left() * lod, hall.bottom() * lod + 6, 600, 18), int(Qt.AlignmentFlag.AlignLeft),
                         self.hall_caption())
        painter.restore()


class Legend(QLabel):
    """Key of the colour mode in a corner of the view.

    Click it to fold it to its title line (and back); drag it anywhere in the view.
    It starts in the bottom-left corner and stays inside the view when that resizes.
    """

    MARGIN = 10

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("floorLegend")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click to fold or unfold the key; drag to move it")
        self.setStyleSheet("#floorLegend { background: rgba(255,255,255,230); border: 1px solid #c9ced6;"
                           " border-radius: 4px; padding: 4px 8px; color: #222; font-size: 11px; }")
        self.collapsed = False
        self.user_pos = None  # set once the user drags it: (x, y) of the top-left corner
        self._title, self._entries = "", []
        self._press = None

    def set_entries(self, title: str, entries: list[tuple[QColor, str]]) -> None:
        self._title, self._entries = title, entries
        self._render()

    def _render(self) -> None:
        arrow = "&#9656;" if self.collapsed else "&#9662;"
        head = f"<b>{arrow} {self._title}</b>"
        if self.collapsed:
            self.setText(head)
        else:
            rows = "".join(f"<tr><td style='color:{c.name()}; font-size:14px'>&#9632;</td><td>&nbsp;{t}</td></tr>"
                           for c, t in self._entries)
            self.setText(f"{head}<table cellspacing='0' cellpadding='0'>{rows}</table>")
        self.adjustSize()
        self.keep_inside()

    def set_collapsed(self, on: bool) -> None:
        self.collapsed = on
        self._render()

    def keep_inside(self) -> None:
        """Default corner (bottom-left), or where the user put it, clamped to the view."""
        parent = self.parentWidget()
        if parent is None:
            return
        area = parent.viewport().geometry() if hasattr(parent, "viewport") else parent.rect()
        m = self.MARGIN
        x, y = self.user_pos if self.user_pos is not None else (area.left() + m, area.bottom() - self.height() - m)
        x = max(area.left(), min(x, area.right() - self.width()))
        y = max(area.top(), min(y, area.bottom() - self.height()))
        self.move(int(x), int(y))

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = (event.globalPosition(), self.pos(), False)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._press is None:
            return
        start, origin, moved = self._press
        d = event.globalPosition() - start
        if not moved and abs(d.x()) + abs(d.y()) < QApplication.startDragDistance():
            return
        self._press = (start, origin, True)
        self.user_pos = (origin.x() + d.x(), origin.y() + d.y())
        self.keep_inside()
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        press, self._press = self._press, None
        if press is not None and not press[2] and event.button() == Qt.MouseButton.LeftButton:
            self.set_collapsed(not self.collapsed)
        event.accept()


class FloorView(QGraphicsView):
    """Zoom, pan, select, drag racks, drop catalog items, rename in place."""

    sigServerTypeDropped = Signal(str, str)  # server type key, rack name
    sigUnitDropped = Signal(str, float, float)  # catalog unit name, x [m], y [m]
    sigZoomChanged = Signal(float)

    MIN_PX_PER_M, MAX_PX_PER_M = 0.5, 600.0

    def __init__(self, doc: PlanDocument, scene: FloorScene, parent=None) -> None:
        super().__init__(scene, parent)
        self.doc = doc
        self.fscene = scene
        self.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        # fixed scroll bars: fit-to-hall gives the same zoom whether or not the view was scrolled
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.context_actions: list = []
        self._pan_from = None
        self._pan_moved = False
        self._space = False
        self._drag = None  # state of a rack drag
        self._editor: QLineEdit | None = None
        self.legend = Legend(self)
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self.fit_hall)
        doc.sigPlanReplaced.connect(self.fit_soon)
        doc.sigHallChanged.connect(self.fit_soon)
        doc.sigPlanChanged.connect(self._plan_changed)

    def _plan_changed(self, change) -> None:
        if "hall" in change.other:  # the cached background holds the old grid and rulers
            self.resetCachedContent()

    def fit_soon(self) -> None:
        self._fit_timer.start()

    # ------------------------------------------------------------ zoom/pan
    def px_per_m(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        cur = self.px_per_m()
        factor = max(self.MIN_PX_PER_M / cur, min(self.MAX_PX_PER_M / cur, factor))
        self.scale(factor, factor)
        self._zoomed()

    def fit_hall(self) -> None:
        self._fit_timer.stop()
        r = self.fscene.hall_rect()
        if self.fscene.rack_items:
            r = r.united(self.fscene.itemsBoundingRect())
        m = max(1.2, 0.05 * max(r.width(), r.height()))  # room for the rulers and the hall caption
        self.fitInView(r.adjusted(-m, -m, m, m), Qt.AspectRatioMode.KeepAspectRatio)
        self._zoomed()

    def _zoomed(self) -> None:
        self.fscene.set_detail(self.px_per_m() >= DETAIL_PX_PER_M)
        self.resetCachedContent()
        self.sigZoomChanged.emit(self.px_per_m())

    def center_on_rack(self, name: str) -> None:
        if self._fit_timer.isActive():  # another hall was just shown: fit first, then centre
            self.fit_hall()
        item = self.fscene.rack_items.get(name)
        if item is None:
            return
        if self.px_per_m() < 25:
            self.zoom_by(40 / self.px_per_m())
        self.centerOn(item)

    def center_on_unit(self, name: str) -> None:
        if self._fit_timer.isActive():
            self.fit_hall()
        item = self.fscene.unit_items.get(name)
        if item is not None:
            self.centerOn(item)

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y()
        if delta == 0:
            return
        self.zoom_by(math.pow(1.0015, delta))

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self._place_editor()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.legend.keep_inside()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if event.key() == Qt.Key.Key_Escape and self._drag is not None:
            self._cancel_drag()
            return
        arrows = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        if event.key() in arrows and (self.doc.selected_racks or self.doc.selected_units):
            # nudge the selection one tile (Shift: five tiles), one undo step per press
            step = self.doc.hall().tile_m * (5 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1)
            dx, dy = arrows[event.key()]
            self.drag_selection_by(dx * step, dy * step)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

    # ---------------------------------------------------------------- mouse
    def _item_at(self, pos):
        for it in self.items(pos):
            if isinstance(it, (RackItem, UnitItem)):
                return it
        return None

    def mousePressEvent(self, event) -> None:
        btn = event.button()
        if btn in (Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton) or (btn == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = event.position()
            self._pan_moved = False
            self._pan_button = btn
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if btn == Qt.MouseButton.LeftButton:
            item = self._item_at(event.position().toPoint())
            if item is not None:
                self._finish_rename()
                mods = event.modifiers()
                if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier):
                    item.setSelected(not item.isSelected())
                    event.accept()
                    return
                if not item.isSelected():
                    self.fscene.clearSelection()
                    item.setSelected(True)
                self._start_drag(item, self.mapToScene(event.position().toPoint()))
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            d = event.position() - self._pan_from
            if abs(d.x()) + abs(d.y()) > 2:
                self._pan_moved = True
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(int(self.horizontalScrollBar().value() - d.x()))
            self.verticalScrollBar().setValue(int(self.verticalScrollBar().value() - d.y()))
            event.accept()
            return
        if self._drag is not None:
            self._drag_to(self.mapToScene(event.position().toPoint()), event.position())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() == getattr(self, "_pan_button", None):
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor) if self._space else self.viewport().unsetCursor()
            if event.button() == Qt.MouseButton.RightButton and not self._pan_moved:
                self._context_menu(event.position().toPoint(), event.globalPosition().toPoint())
            event.accept()
            return
        if self._drag is not None and event.button() == Qt.MouseButton.LeftButton:
            self._end_drag()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        item = self._item_at(event.position().toPoint())
        if isinstance(item, RackItem):
            self._drag = None
            self.start_rename(item.name)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event) -> None:
        event.accept()  # handled on right-button release (right-drag pans)

    def _context_menu(self, pos, global_pos) -> None:
        item = self._item_at(pos)
        if item is not None and not item.isSelected():
            self.fscene.clearSelection()
            item.setSelected(True)
        if not self.context_actions:
            return
        menu = QMenu(self)
        for a in self.context_actions:
            if a is None:
                menu.addSeparator()
            else:
                menu.addAction(a)
        menu.popup(global_pos)

    # ----------------------------------------------------------- rack drag
    def _start_drag(self, anchor, scene_pos: QPointF) -> None:
        racks = {n: (self.doc.rack(n).x_m, self.doc.rack(n).y_m) for n in self.doc.selected_racks}
        units = {n: (self.doc.unit(n).x_m, self.doc.unit(n).y_m) for n in self.doc.selected_units
                 if n in self.fscene.unit_items}
        fp = anchor.rack.footprint() if isinstance(anchor, RackItem) else unit_footprint(anchor.unit)
        self._drag = {"start": scene_pos, "racks": racks, "units": units, "corner": (fp[0], fp[1]),
                      "delta": (0.0, 0.0), "started": False}
        if not self.fscene.detail:
            self.fscene.exclude_from_layer(set(racks) | set(units))

    def _drag_to(self, scene_pos: QPointF, view_pos) -> None:
        d = self._drag
        raw = scene_pos - d["start"]
        if not d["started"]:
            if (raw.x() ** 2 + raw.y() ** 2) * self.px_per_m() ** 2 < QApplication.startDragDistance() ** 2:
                return
            d["started"] = True
        tile = self.doc.hall().tile_m
        cx, cy = d["corner"]
        dx = cmds.snap(cx + raw.x(), tile) - cx
        dy = cmds.snap(cy + raw.y(), tile) - cy
        if (dx, dy) == d["delta"]:
            return
        d["delta"] = (dx, dy)
        moved = {}
        for n, (x, y) in d["racks"].items():
            self.fscene.rack_items[n].setPos(x + dx, y + dy)
            moved[n] = (x + dx, y + dy)
        for n, (x, y) in d["units"].items():
            self.fscene.unit_items[n].setPos(x + dx, y + dy)
        # live overlap feedback: the spatial index answers in ~10 µs a rack, so up to LIVE_CHECK_MAX
        # racks a step stays under ~15 ms; bigger drags are checked on drop only
        if 0 < len(moved) <= LIVE_CHECK_MAX:
            from dataclasses import replace

            cand = [replace(self.doc.rack(n), x_m=x, y_m=y) for n, (x, y) in moved.items()]
            ucand = [replace(self.doc.unit(n), x_m=x + dx, y_m=y + dy) for n, (x, y) in d["units"].items()]
            pairs = self.doc.overlapping(cand, ignore=set(moved), units=ucand, ignore_units=set(d["units"]))
            bad = {n for pair in pairs for n in pair} | set(self.doc.outside_hall(cand))
            for n in moved:
                item = self.fscene.rack_items[n]
                if item.blocked != (n in bad):
                    item.blocked = n in bad
                    item.update()
        self.doc.sigRacksChanging.emit(moved)

    def _reset_drag_items(self, d: dict) -> None:
        """Put dragged items back where the document has them (the command then moves them for real)."""
        for n, (x, y) in d["racks"].items():
            item = self.fscene.rack_items.get(n)
            if item is not None:
                item.setPos(x, y)
                item.blocked = False
                item.update()
        for n, (x, y) in d["units"].items():
            item = self.fscene.unit_items.get(n)
            if item is not None:
                item.setPos(x, y)
        if d.get("started"):  # views that followed the drag (the inspector) show the real position again
            self.doc.sigRacksChanging.emit(dict(d["racks"]))

    def _cancel_drag(self) -> None:
        d, self._drag = self._drag, None
        if d is not None:
            self._reset_drag_items(d)
            self.fscene.include_all()

    def _end_drag(self) -> None:
        d, self._drag = self._drag, None
        if self.fscene.layer.excluded:
            self.fscene.include_all()
        self._reset_drag_items(d)
        dx, dy = d["delta"]
        if not d["started"] or (dx == 0 and dy == 0):
            return
        rack_pos = {n: (x + dx, y + dy) for n, (x, y) in d["racks"].items()}
        unit_pos = {n: (x + dx, y + dy) for n, (x, y) in d["units"].items()}
        cmds.try_push(self.doc, self, cmds.MoveCommand, rack_pos, unit_pos)

    def drag_selection_by(self, dx: float, dy: float) -> bool:
        """Move the selection by (dx, dy) [m] as a mouse drag would (snap, one undo step)."""
        racks = [r for r in (self.doc.rack(n) for n in self.doc.selected_racks) if r is not None]
        units = [u for u in (self.doc.unit(n) for n in self.doc.selected_units) if u is not None and on_floor(u)]
        if not racks and not units:
            return False
        rack_pos = {r.name: (r.x_m + dx, r.y_m + dy) for r in racks}
        unit_pos = {u.name: (u.x_m + dx, u.y_m + dy) for u in units}
        return cmds.try_push(self.doc, self, cmds.MoveCommand, rack_pos, unit_pos)

    # ------------------------------------------------------ rename in place
    def start_rename(self, name: str) -> None:
        self._finish_rename()
        item = self.fscene.rack_items.get(name)
        if item is None:
            return
        self.centerOn(item)
        ed = QLineEdit(name, self.viewport())
        ed.setObjectName("rackRenameEditor")
        ed.setProperty("rack", name)
        ed.selectAll()
        ed.setFrame(True)
        ed.setStyleSheet("QLineEdit { border: 2px solid #0a84ff; padding: 1px 3px; background: white; }")
        self._editor = ed
        self._place_editor()
        ed.show()
        ed.setFocus()
        ed.returnPressed.connect(self._commit_rename)
        ed.editingFinished.connect(self._commit_rename)
        ed.installEventFilter(self)

    def _place_editor(self) -> None:
        ed = self._editor
        if ed is None:
            return
        item = self.fscene.rack_items.get(ed.property("rack"))
        if item is None:
            return
        r = self.mapFromScene(item.sceneBoundingRect()).boundingRect()
        w = max(90, r.width())
        ed.setGeometry(int(r.center().x() - w / 2), int(r.center().y() - 13), int(w), 26)

    def eventFilter(self, obj, event) -> bool:
        from PySide6.QtCore import QEvent

        if obj is self._editor and event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
            self._close_editor()
            return True
        return super().eventFilter(obj, event)

    def _close_editor(self) -> None:
        ed, self._editor = self._editor, None
        if ed is not None:
            ed.removeEventFilter(self)
            ed.hide()
            ed.deleteLater()
            self.setFocus()

    def _commit_rename(self) -> None:
        ed = self._editor
        if ed is None:
            return
        old, new = ed.property("rack"), ed.text().strip()
        self._close_editor()
        if new and new != old:
            cmds.try_push(self.doc, self, cmds.RenameRackCommand, old, new)

    def _finish_rename(self) -> None:
        if self._editor is not None:
            self._commit_rename()

    # ----------------------------------------------------------------- drops
    def dragEnterEvent(self, event) -> None:
        md = event.mimeData()
        if md.hasFormat(MIME_SERVER_TYPE) or md.hasFormat(MIME_COOLING_UNIT):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        md = event.mimeData()
        pos = event.position().toPoint()
        if md.hasFormat(MIME_SERVER_TYPE):
            item = self._item_at(pos)
            if isinstance(item, RackItem):
                if not item.isSelected():
                    self.fscene.clearSelection()
                    item.setSelected(True)
                event.acceptProposedAction()
            else:
                event.ignore()
        elif md.hasFormat(MIME_COOLING_UNIT):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        md = event.mimeData()
        pos = event.position().toPoint()
        if md.hasFormat(MIME_SERVER_TYPE):
            item = self._item_at(pos)
            if isinstance(item, RackItem):
                key = bytes(md.data(MIME_SERVER_TYPE)).decode()
                event.acceptProposedAction()
                self.sigServerTypeDropped.emit(key, item.name)
                return
        elif md.hasFormat(MIME_COOLING_UNIT):
            p = self.mapToScene(pos)
            event.acceptProposedAction()
            self.sigUnitDropped.emit(bytes(md.data(MIME_COOLING_UNIT)).decode(), p.x(), p.y())
            return
        event.ignore()
