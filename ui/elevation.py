"""Rack elevation: the selected rack U by U, servers drawn by height.

Click a server to select it, drag it to another U (one undo step, refused with
a message if it would overlap or leave the rack), Delete removes it. A server
type dragged from the catalog lands at the U under the cursor.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import QApplication, QMenu, QSizePolicy, QWidget

from ui import commands as cmds
from ui.document import PlanDocument
from ui.floor_view import MIME_SERVER_TYPE
from ui.units import units

COOLING_COLORS = {"air": QColor("#4e79a7"), "liquid": QColor("#2a9d8f"), "hybrid": QColor("#59a14f")}
UNKNOWN_COLOR = QColor("#9aa3ad")


class ElevationWidget(QWidget):
    """Front elevation of one rack (U1 at the bottom)."""

    sigServerTypeDropped = Signal(str, str, int)  # type key, rack, lowest U

    GUTTER = 34  # px for U numbers
    TOP = 26  # px for the title
    U_PX_MIN, U_PX_MAX = 6, 20

    def __init__(self, doc: PlanDocument, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.rack_name: str | None = None
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self._drag = None  # (server name, grab offset in U, start y)
        self._ghost = None  # (lowest U, height, ok) while dragging/dropping
        #: key -> ServerType for catalog drops; the main window points it at the catalog
        self.type_lookup = lambda key: self.doc.plan.server_type_map().get(key)
        self.remove_action = QAction("Remove server", self)
        self.remove_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))  # shown in the menu
        self.remove_action.triggered.connect(self.remove_selected)
        doc.sigSelectionChanged.connect(self._follow_selection)
        doc.sigServerSelectionChanged.connect(self.update)
        doc.sigPlanChanged.connect(self._on_change)
        doc.sigPlanReplaced.connect(self._follow_selection)
        units().sigChanged.connect(self._on_units)  # bound method: dropped with the widget

    def _on_units(self, _system: str) -> None:
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(260, 42 * 12 + self.TOP + 12)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, 42 * self.U_PX_MIN + self.TOP + 12)

    # --------------------------------------------------------------- model
    def _follow_selection(self) -> None:
        racks = self.doc.selected_racks
        self.rack_name = racks[0] if len(racks) == 1 else None
        self._drag = self._ghost = None
        self.update()

    def _on_change(self, change) -> None:
        if self.rack_name in change.racks_removed and self.doc.rack(self.rack_name) is None:
            self.rack_name = None
        self.update()

    def servers(self):
        types = self.doc.plan.server_type_map()
        out = []
        for s in self.doc.servers_in(self.rack_name) if self.rack_name else []:
            t = types.get(s.server_type)
            out.append((s, t, t.u_height if t else 1))
        return out

    # ------------------------------------------------------------ geometry
    def u_px(self) -> float:
        rack = self.doc.rack(self.rack_name) if self.rack_name else None
        n = rack.u_height if rack else 42
        return max(self.U_PX_MIN, min(self.U_PX_MAX, (self.height() - self.TOP - 18) / n))

    def frame_rect(self) -> QRectF:
        rack = self.doc.rack(self.rack_name)
        h = rack.u_height * self.u_px()
        w = min(self.width() - self.GUTTER - 12, 320)
        return QRectF(self.GUTTER, self.TOP, w, h)

    def u_rect(self, lowest_u: int, height: int) -> QRectF:
        f = self.frame_rect()
        up = self.u_px()
        top_u = lowest_u + height - 1
        y = f.bottom() - top_u * up
        return QRectF(f.left() + 3, y + 0.5, f.width() - 6, height * up - 1)

    def u_at(self, y: float) -> int:
        """The U under pixel row ``y`` (1 = bottom)."""
        f = self.frame_rect()
        return int((f.bottom() - y) // self.u_px()) + 1

    def server_at(self, pos: QPointF):
        for s, t, h in self.servers():
            if self.u_rect(s.u_position, h).contains(pos):
                return s, t, h
        return None

    # ------------------------------------------------------------- painting
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        rack = self.doc.rack(self.rack_name) if self.rack_name else None
        if rack is None:
            p.setPen(QColor("#6b7280"))
            n = len(self.doc.selected_racks)
            msg = (f"{n} racks selected —\nselect one rack to see its elevation" if n > 1
                   else "Select a rack to see its elevation")
            p.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter), msg)
            p.end()
            return
        f = self.frame_rect()
        up = self.u_px()
        title = QFont(self.font())
        title.setBold(True)
        p.setFont(title)
        p.setPen(QColor("#1f2933"))
        title_rect = QRectF(4, 2, self.width() - 8, self.TOP - 6)
        suffix = f" — front, {rack.u_height} U"
        room = title_rect.width() - p.fontMetrics().horizontalAdvance(suffix)
        name = p.fontMetrics().elidedText(rack.name, Qt.TextElideMode.ElideMiddle, int(max(room, 20)))
        p.drawText(title_rect, int(Qt.AlignmentFlag.AlignCenter), name + suffix)
        # rack frame and empty slots
        p.setPen(QPen(QColor("#3b4754"), 2))
        p.setBrush(QColor("#f3f4f6"))
        p.drawRect(f.adjusted(-1, -1, 1, 1))
        small = QFont(self.font())
        small.setPixelSize(max(8, min(11, int(up * 0.75))))
        p.setFont(small)
        for u in range(1, rack.u_height + 1):
            y = f.bottom() - u * up
            p.setPen(QPen(QColor("#dde1e6"), 1))
            p.drawLine(QPointF(f.left() + 2, y), QPointF(f.right() - 2, y))
            if up >= 11 or u % 2 == 1:
                p.setPen(QColor("#6b7280"))
                p.drawText(QRectF(0, y, self.GUTTER - 5, up), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), str(u))
        label = QFont(self.font())
        label.setPixelSize(max(9, min(12, int(up * 0.8))))
        for s, t, h in self.servers():
            r = self.u_rect(s.u_position, h)
            color = COOLING_COLORS.get(t.cooling_type, UNKNOWN_COLOR) if t else UNKNOWN_COLOR
            beyond = s.u_position < 1 or s.u_position + h - 1 > rack.u_height
            if self._drag and self._drag[0] == s.name:
                color = QColor(color)
                color.setAlpha(90)
            p.setPen(QPen(color.darker(150), 1))
            p.setBrush(color if not beyond else QColor("#d62828"))
            p.drawRoundedRect(r, 2, 2)
            if s.name == self.doc.selected_server:
                p.setPen(QPen(QColor("#0a84ff"), 3))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRoundedRect(r.adjusted(-1, -1, 1, 1), 3, 3)
            p.setFont(label)
            p.setPen(QColor("white"))
            model = t.model if t else f"{s.server_type} (unknown type)"
            power = f" · {units().fmt('power', t.max_power_w / 1000.0)}" if t else ""
            text = f"{model} · {h}U{power}" if r.height() >= label.pixelSize() + 2 else model
            p.drawText(r.adjusted(6, 0, -4, 0), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                       p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, int(r.width() - 10)))
        if self._ghost is not None:
            u, h, ok = self._ghost
            r = self.u_rect(u, h)
            c = QColor("#2e9d5b") if ok else QColor("#d62828")
            p.setPen(QPen(c, 2, Qt.PenStyle.DashLine))
            fill = QColor(c)
            fill.setAlpha(50)
            p.setBrush(fill)
            p.drawRoundedRect(r, 2, 2)
        # free space note under the frame
        used = sum(h for _s, _t, h in self.servers())
        p.setFont(small)
        p.setPen(QColor("#6b7280"))
        p.drawText(QRectF(f.left(), f.bottom() + 2, f.width(), 12), int(Qt.AlignmentFlag.AlignCenter),
                   f"{used} U used, {rack.u_height - used} U free")
        p.end()

    # ---------------------------------------------------------------- mouse
    def mousePressEvent(self, event) -> None:
        if not self.rack_name:
            return
        hit = self.server_at(event.position())
        self.doc.set_selected_server(hit[0].name if hit else None)
        if hit and event.button() == Qt.MouseButton.LeftButton:
            s, _t, h = hit
            self._drag = (s.name, self.u_at(event.position().y()) - s.u_position, event.position().y(), h, False)
        self.update()

    def mouseMoveEvent(self, event) -> None:
        if not self._drag:
            return
        name, grab, y0, h, started = self._drag
        if not started and abs(event.position().y() - y0) < QApplication.startDragDistance():
            return
        self._drag = (name, grab, y0, h, True)
        u = self.u_at(event.position().y()) - grab
        ok = cmds.fits(self.doc, self.rack_name, u, h, exclude=name) is None
        self._ghost = (u, h, ok)
        self.update()

    def mouseReleaseEvent(self, event) -> None:
        drag, ghost = self._drag, self._ghost
        self._drag = self._ghost = None
        self.update()
        if not drag or not drag[4] or ghost is None:
            return
        s = next((s for s, _t, _h in self.servers() if s.name == drag[0]), None)
        if s is not None and ghost[0] != s.u_position:
            cmds.try_push(self.doc, self, cmds.MoveServerCommand, drag[0], ghost[0])

    def contextMenuEvent(self, event) -> None:
        hit = self.server_at(event.pos())
        if not hit:
            return
        self.doc.set_selected_server(hit[0].name)
        menu = QMenu(self)
        menu.addAction(self.remove_action)
        menu.exec(event.globalPos())

    def event(self, e) -> bool:
        # Delete here removes the selected server, not the rack (the window's Delete action)
        from PySide6.QtCore import QEvent

        if (e.type() == QEvent.Type.ShortcutOverride and e.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
                and self.doc.selected_server):
            e.accept()
            return True
        return super().event(e)

    def keyPressEvent(self, e) -> None:
        if e.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.doc.selected_server:
            self.remove_selected()
            return
        super().keyPressEvent(e)

    def remove_selected(self) -> None:
        name = self.doc.selected_server
        if name and any(s.name == name for s, _t, _h in self.servers()):
            cmds.try_push(self.doc, self, cmds.RemoveServersCommand, [name])

    # ---------------------------------------------------------------- drops
    def _drop_u(self, event, key: str) -> tuple[int, int]:
        t = self.type_lookup(key)
        h = t.u_height if t else 1
        u = self.u_at(event.position().y()) - (h - 1) // 2
        return max(1, u), h

    def dragEnterEvent(self, event) -> None:
        if self.rack_name and event.mimeData().hasFormat(MIME_SERVER_TYPE):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        md = event.mimeData()
        if not (self.rack_name and md.hasFormat(MIME_SERVER_TYPE)):
            event.ignore()
            return
        key = bytes(md.data(MIME_SERVER_TYPE)).decode()
        u, h = self._drop_u(event, key)
        self._ghost = (u, h, cmds.fits(self.doc, self.rack_name, u, h) is None)
        self.update()
        event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:
        self._ghost = None
        self.update()

    def dropEvent(self, event) -> None:
        md = event.mimeData()
        self._ghost = None
        self.update()
        if not (self.rack_name and md.hasFormat(MIME_SERVER_TYPE)):
            event.ignore()
            return
        key = bytes(md.data(MIME_SERVER_TYPE)).decode()
        u, _h = self._drop_u(event, key)
        event.acceptProposedAction()
        self.sigServerTypeDropped.emit(key, self.rack_name, u)
