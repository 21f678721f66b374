"""Left dock: the searchable catalog of server types and cooling units.

Drag a server type onto a rack (first free U) or onto the elevation (at a U);
drag a CRAH or CDU onto the floor. The buttons do the same for the selection,
for keyboard users.
"""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from planner.plan import CoolingUnit, ServerType
from ui.document import FLOOR_UNIT_KINDS
from ui.floor_view import MIME_COOLING_UNIT, MIME_SERVER_TYPE
from ui.units import flow_kind, units

ROLE_KIND = Qt.ItemDataRole.UserRole
ROLE_KEY = Qt.ItemDataRole.UserRole + 1
KIND_LABELS = {"crah": "CRAH", "cdu": "CDU", "chiller": "Chiller", "dry_cooler": "Dry cooler",
               "cooling_tower": "Cooling tower"}


def load_catalog_entries() -> tuple[list[ServerType], list[CoolingUnit]]:
    """The bundled catalog (``planner.catalog``); empty lists if it cannot be read."""
    try:
        from planner.catalog import load_catalog

        cat = load_catalog()
    except Exception:  # a broken catalog must not stop the editor; the plan's own types still show
        return [], []
    return list(cat.server_types), list(cat.cooling_units)


class CatalogTree(QTreeWidget):
    """Tree that drags our MIME types."""

    def mimeTypes(self) -> list[str]:
        return [MIME_SERVER_TYPE, MIME_COOLING_UNIT]

    def mimeData(self, items) -> QMimeData:
        md = QMimeData()
        for it in items:
            kind, key = it.data(0, ROLE_KIND), it.data(0, ROLE_KEY)
            if kind == "server":
                md.setData(MIME_SERVER_TYPE, key.encode())
                md.setText(key)
            elif kind == "unit":
                md.setData(MIME_COOLING_UNIT, key.encode())
                md.setText(key)
        return md


class CatalogWidget(QWidget):
    sigAddServerToSelection = Signal(str)  # server type key
    sigPlaceUnit = Signal(str)  # cooling unit template name

    def __init__(self, plan_types=lambda: [], parent=None) -> None:
        super().__init__(parent)
        self._plan_types = plan_types
        self.server_types, self.cooling_units = load_catalog_entries()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.search = QLineEdit()
        self.search.setObjectName("catalogSearch")
        self.search.setPlaceholderText("Search servers, GPUs, cooling units…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply_filter)
        lay.addWidget(self.search)
        self.tree = CatalogTree()
        self.tree.setObjectName("catalogTree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Item", "Size · power"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setAlternatingRowColors(True)
        # long models keep their start and their GPU suffix ("AS-8125GS…(8× MI300X)"); tooltips hold the full name
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        hdr = self.tree.header()
        hdr.setStretchLastSection(False)
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemDoubleClicked.connect(self._activate)
        self.tree.currentItemChanged.connect(self._current_changed)
        lay.addWidget(self.tree, 1)
        self.details = QLabel()
        self.details.setObjectName("catalogDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setStyleSheet("color: #374151; padding: 4px; background: #f6f7f9; border: 1px solid #e1e4e8;"
                                   " border-radius: 3px;")
        self.details.setMinimumHeight(60)
        lay.addWidget(self.details)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add to selected rack")
        self.add_button.setObjectName("catalogAddButton")
        self.add_button.clicked.connect(lambda: self._activate(self.tree.currentItem()))
        row.addWidget(self.add_button)
        lay.addLayout(row)
        hint = QLabel("Tip: drag a server onto a rack or the elevation; drag a CRAH/CDU onto the floor.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #6b7280; font-size: 11px;")
        lay.addWidget(hint)
        units().sigChanged.connect(self._on_units)  # bound method: dropped with the widget
        self.populate()
        self._current_changed(None)

    def _on_units(self, _system: str) -> None:
        self.populate()

    # -------------------------------------------------------------- content
    def all_server_types(self) -> list[ServerType]:
        seen = {t.key for t in self.server_types}
        extra = [t for t in self._plan_types() if t.key not in seen]
        return list(self.server_types) + extra

    def server_type(self, key: str) -> ServerType | None:
        for t in list(self._plan_types()) + self.server_types:
            if t.key == key:
                return t
        return None

    def cooling_unit(self, name: str) -> CoolingUnit | None:
        return next((u for u in self.cooling_units if u.name == name), None)

    def populate(self) -> None:
        u = units()
        self.tree.clear()
        self.servers_root = QTreeWidgetItem(["Server types"])
        self.units_root = QTreeWidgetItem(["Cooling units"])
        for root in (self.servers_root, self.units_root):
            root.setFlags(Qt.ItemFlag.ItemIsEnabled)
            f = root.font(0)
            f.setBold(True)
            root.setFont(0, f)
            self.tree.addTopLevelItem(root)
        for t in self.all_server_types():
            gpu = f"{t.gpu_count}× {t.gpu_model}" if t.gpu_count else "no GPU"
            it = QTreeWidgetItem([t.model, f"{t.u_height}U · {u.fmt('power', t.max_power_w / 1000.0)}"])
            it.setData(0, ROLE_KIND, "server")
            it.setData(0, ROLE_KEY, t.key)
            it.setToolTip(0, f"{t.manufacturer} {t.model}: {gpu}, {t.cooling_type} cooled")
            it.setData(0, Qt.ItemDataRole.UserRole + 2, " ".join(
                [t.key, t.manufacturer, t.model, t.gpu_model, t.cooling_type]).lower())
            it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
            self.servers_root.addChild(it)
        for c in self.cooling_units:
            # the name already says kind and size: it gets the whole row (no cut "Chilled-water CRAH 1…")
            it = QTreeWidgetItem([c.name])
            it.setToolTip(0, f"{c.name} ({KIND_LABELS.get(c.kind, c.kind)}): "
                             f"{u.fmt('cooling', c.rated_capacity_kw, 0)}, {c.model}")
            it.setData(0, ROLE_KIND, "unit")
            it.setData(0, ROLE_KEY, c.name)
            it.setData(0, Qt.ItemDataRole.UserRole + 2, " ".join([c.name, c.kind, c.model,
                                                                   KIND_LABELS.get(c.kind, "")]).lower())
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
            it.setFlags(flags)
            if c.kind not in FLOOR_UNIT_KINDS:
                it.setToolTip(0, it.toolTip(0) + " — plant unit: added to its loop, not placed on the floor")
            self.units_root.addChild(it)
            it.setFirstColumnSpanned(True)
        self.servers_root.setExpanded(True)
        self.units_root.setExpanded(True)
        self.apply_filter(self.search.text())

    def apply_filter(self, text: str) -> None:
        words = text.lower().split()
        for root in (self.servers_root, self.units_root):
            shown = 0
            for i in range(root.childCount()):
                it = root.child(i)
                hay = it.data(0, Qt.ItemDataRole.UserRole + 2) or ""
                ok = all(w in hay for w in words)
                it.setHidden(not ok)
                shown += ok
            root.setHidden(shown == 0)

    def visible_keys(self) -> list[str]:
        out = []
        for root in (self.servers_root, self.units_root):
            for i in range(root.childCount()):
                if not root.child(i).isHidden():
                    out.append(root.child(i).data(0, ROLE_KEY))
        return out

    def item_for(self, key: str) -> QTreeWidgetItem | None:
        for root in (self.servers_root, self.units_root):
            for i in range(root.childCount()):
                if root.child(i).data(0, ROLE_KEY) == key:
                    return root.child(i)
        return None

    # -------------------------------------------------------------- actions
    def _current_changed(self, item, _prev=None) -> None:
        if item is None or item.data(0, ROLE_KIND) is None:
            self.details.setText("Select an item to see its figures.")
            self.add_button.setEnabled(False)
            return
        u = units()
        kind = item.data(0, ROLE_KIND)
        self.add_button.setEnabled(True)
        if kind == "server":
            t = self.server_type(item.data(0, ROLE_KEY))
            self.add_button.setText("Add to selected rack")
            est = " <i>(estimate)</i>" if "estimate" in str(t.sources.get("max_power_w", "")).lower() else ""
            self.details.setText(
                f"<b>{t.manufacturer} {t.model}</b><br>{t.gpu_count}× {t.gpu_model} "
                f"({t.gpu_tdp_w:.0f} W each), {t.u_height}U<br>"
                f"Max {u.fmt('power', t.max_power_w / 1000)}{est}, idle {u.fmt('power', t.idle_power_w / 1000)}<br>"
                f"Cooling: {t.cooling_type} ({t.liquid_fraction * 100:.0f} % to liquid)"
                + (f", airflow {u.fmt('airflow', t.airflow_m3s)}" if t.airflow_m3s else ""))
        else:
            c = self.cooling_unit(item.data(0, ROLE_KEY))
            self.add_button.setText("Place on floor" if c.kind in FLOOR_UNIT_KINDS else "Add to plant")
            self.details.setText(
                f"<b>{c.name}</b><br>{KIND_LABELS.get(c.kind, c.kind)}, {u.fmt('cooling', c.rated_capacity_kw)} rated "
                f"at {u.fmt('temp', c.rated_outdoor_c)} outdoor<br>Supply {u.fmt('temp', c.supply_setpoint_c)}"
                + (f", flow {u.fmt(flow_kind(c.kind), c.flow_m3s)}" if c.flow_m3s else "")
                + (f", fans/pumps {u.fmt('power', c.rated_power_kw)}" if c.rated_power_kw else ""))

    def _activate(self, item, _col=0) -> None:
        if item is None:
            return
        kind, key = item.data(0, ROLE_KIND), item.data(0, ROLE_KEY)
        if kind == "server":
            self.sigAddServerToSelection.emit(key)
        elif kind == "unit":
            self.sigPlaceUnit.emit(key)
