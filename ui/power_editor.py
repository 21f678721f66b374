"""Power feeds as an editable table: create, rename, edit and delete feeds (each an undoable command).

Columns: name, side (A/B), panel, voltage [V], breaker [A], phases, max utilisation [%], usable
capacity [kW] (NetBox's formula, ``PowerFeed.capacity_kw``), racks on the feed and the load the feed
must carry alone when its partner side fails [kW] (``planner.checks.feed_loads_kw``). Electrical
power stays in kW in both unit systems (see ``ui.units``). A model/view table, so the 10,000 feeds
of a 5,000-rack plan cost nothing until scrolled into view.
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy,
                               QTableView, QVBoxLayout, QWidget)

from planner.checks import feed_loads_kw
from ui import commands as cmds
from ui import messages

#: (field, header, editable); field None: computed
COLUMNS = (
    ("name", "Name", True), ("side", "Side", True), ("panel", "Panel", True), ("voltage", "Voltage [V]", True),
    ("amperage", "Breaker [A]", True), ("phase", "Phases", True), ("max_utilization", "Max use [%]", True),
    (None, "Usable [kW]", False), (None, "Racks", False), (None, "Load if the other side fails [kW]", False),
)
NUMERIC = {"voltage": float, "amperage": float, "phase": int, "max_utilization": float}


class FeedModel(QAbstractTableModel):
    def __init__(self, editor: "PowerEditor") -> None:
        super().__init__(editor)
        self.editor = editor
        self.doc = editor.doc
        self.loads: dict[str, float] = {}
        self.racks: dict[str, int] = {}
        self._rows = -1

    def reload(self) -> None:
        """Re-read the feeds. Same number of rows: the cells change in place (a cell editor that just
        committed stays valid); otherwise the model is reset."""
        plan = self.doc.plan
        same_rows = len(plan.power_feeds) == self._rows
        if not same_rows:
            self.beginResetModel()
        self.loads = feed_loads_kw(plan)
        self.racks = {}
        for r in plan.racks:
            for f in {r.feed_a, r.feed_b} - {None}:
                self.racks[f] = self.racks.get(f, 0) + 1
        self._rows = len(plan.power_feeds)
        if same_rows:
            if self._rows:
                self.dataChanged.emit(self.index(0, 0), self.index(self._rows - 1, len(COLUMNS) - 1))
        else:
            self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else max(self._rows, 0)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][1]
        return None

    def flags(self, index):
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsEditable if COLUMNS[index.column()][2] else base

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.doc.plan.power_feeds):
            return None
        f = self.doc.plan.power_feeds[index.row()]
        field, _header, _editable = COLUMNS[index.column()]
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if field == "max_utilization":
                return f"{f.max_utilization * 100:g}"
            if field is not None:
                v = getattr(f, field)
                return f"{v:g}" if isinstance(v, float) else str(v)
            if col == 7:
                return f"{f.capacity_kw:,.1f}"
            if col == 8:
                return str(self.racks.get(f.name, 0))
            return f"{self.loads.get(f.name, 0.0):,.1f}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and col == 9 and self.loads.get(f.name, 0.0) > f.capacity_kw + 1e-6:
            return QColor("#b91c1c")
        if role == Qt.ItemDataRole.ToolTipRole and col == 9:
            return "IT power at max of every rack on this feed: what it carries alone when the other side fails"
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        f = self.doc.plan.power_feeds[index.row()]
        field = COLUMNS[index.column()][0]
        text = str(value).strip()
        if field in NUMERIC:
            try:
                v = NUMERIC[field](float(text.rstrip("%").strip()) if NUMERIC[field] is float else text)
            except ValueError:
                messages.warn(self.editor, "Edit refused", f"Feed {cmds.short(f.name)}: {COLUMNS[index.column()][1]} "
                              f"must be a number, not {text!r}.")
                return False
            if field == "max_utilization":
                v /= 100.0
        elif field == "side":
            v = text.upper()
        else:
            v = text
        return cmds.try_push(self.doc, self.editor, cmds.EditFeedCommand, f.name, {field: v})


class PowerEditor(QWidget):
    """The Power dock: the plan's feeds with Add / Delete."""

    def __init__(self, doc, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("powerEditor")
        self.doc = doc
        self.model = FeedModel(self)
        self.table = QTableView()
        self.table.setObjectName("feedTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.add_btn = QPushButton("Add Feed")
        self.add_btn.setObjectName("addFeed")
        self.add_btn.setToolTip("A new feed, the partner side of the last one (415 V, 63 A, 3-phase, 80 %)")
        self.del_btn = QPushButton("Delete")
        self.del_btn.setObjectName("deleteFeeds")
        self.add_btn.clicked.connect(self.add_feed)
        self.del_btn.clicked.connect(self.delete_selected)
        self.info = QLabel()
        self.info.setStyleSheet("color:#46505c")
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar = QHBoxLayout()
        bar.addWidget(self.add_btn)
        bar.addWidget(self.del_btn)
        bar.addWidget(self.info, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        lay.addWidget(self.table)
        doc.sigPlanChanged.connect(self._changed)
        doc.sigPlanReplaced.connect(self.refresh)
        self.refresh()

    def _changed(self, change) -> None:
        if "feed" in change.other or change.racks_any or change.server_racks or "server_type" in change.other:
            self.refresh()

    def refresh(self) -> None:
        self.model.reload()
        feeds = self.doc.plan.power_feeds
        self.info.setText(f"{len(feeds):,} feeds, {sum(f.capacity_kw for f in feeds):,.0f} kW usable; double-click "
                          "a cell to edit")

    def row_of(self, name: str) -> int:
        return next((i for i, f in enumerate(self.doc.plan.power_feeds) if f.name == name), -1)

    def add_feed(self) -> None:
        cmd_holder = {}

        def make(doc):
            cmd_holder["cmd"] = cmds.AddFeedCommand(doc)
            return cmd_holder["cmd"]

        if cmds.try_push(self.doc, self, make):
            row = self.row_of(cmd_holder["cmd"].name)
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))

    def selected_names(self) -> list[str]:
        feeds = self.doc.plan.power_feeds
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [feeds[r].name for r in rows if r < len(feeds)]

    def delete_selected(self) -> None:
        names = self.selected_names()
        if not names:
            return
        racks = cmds.racks_on_feeds(self.doc, names)
        if racks:
            shown = ", ".join(cmds.short(n) for n in racks[:5]) + (f" and {len(racks) - 5} more" if len(racks) > 5 else "")
            what = cmds.short(names[0]) if len(names) == 1 else f"these {len(names)} feeds"
            if not messages.confirm(self, "Delete power feeds?", f"{len(racks)} rack(s) are on {what} ({shown}); they "
                                    "will be left without that feed. Delete?", "Delete"):
                return
        cmds.try_push(self.doc, self, cmds.DeleteFeedsCommand, names)
