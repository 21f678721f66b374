"""The cooling plant as a tree by loop: loop → its units, loop → the loops that reject into it.

Every cooling unit is here, also chillers, dry coolers and cooling towers that have no place on
the floor. Selecting a unit shows its figures with units (``ui.units``: capacity in kW or tons,
temperatures in °C or °F, air flow in m³/s or CFM, liquid flow in L/s or GPM); selecting a loop shows where it rejects its heat. Edits are
undoable commands (``EditUnitsCommand``, ``EditLoopCommand``); loops are created (New Loop, by
medium), renamed (the loop page's name field: racks, units and child loops follow) and deleted
(empty loops only) here. Units are added from the catalog.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMenu,
                               QPushButton, QSplitter, QStackedWidget, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from ui import commands as cmds
from ui import messages
from ui.units import flow_kind, units
from ui.widgets import QuantitySpinBox

KIND_LABELS = {"crah": "CRAH", "cdu": "CDU", "chiller": "Chiller", "dry_cooler": "Dry cooler",
               "cooling_tower": "Cooling tower"}
MEDIUM_LABELS = {"air": "air", "liquid": "liquid", "facility": "facility water"}
#: unit field -> (label, units kind or None for a plain number, lo, hi, suffix for plain numbers)
UNIT_EDIT_FIELDS = {
    "rated_capacity_kw": ("Rated capacity", "cooling", 0.0, 1e6, ""),
    "rated_outdoor_c": ("Rated at outdoor", "temp", -40.0, 60.0, ""),
    "supply_setpoint_c": ("Supply setpoint", "temp", 0.0, 70.0, ""),
    "flow_m3s": ("Design flow", "liquid_flow", 0.0, 1e3, ""),  # air flow for CRAHs (ui.units.flow_kind)
    "rated_power_kw": ("Fan / pump power", "power", 0.0, 1e5, ""),
    "design_cop": ("Design COP", None, 0.0, 30.0, ""),
    "approach_k": ("Approach", "dtemp", 0.0, 40.0, ""),
    "loop_volume_m3": ("Loop volume", "volume", 0.0, 1e4, ""),
    "time_constant_s": ("Time constant", None, 0.0, 3600.0, " s"),
    "dead_time_s": ("Dead time", None, 0.0, 3600.0, " s"),
}
ROLE = Qt.ItemDataRole.UserRole


class PlantEditor(QWidget):
    def __init__(self, doc, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("plantEditor")
        self.doc = doc
        self.tree = QTreeWidget()
        self.tree.setObjectName("plantTree")
        self.tree.setHeaderLabels(["Loop / unit", "Capacity"])
        self.tree.setColumnWidth(0, 200)
        self.tree.currentItemChanged.connect(lambda *_a: self._show())
        self.stack = QStackedWidget()
        self.hint = QLabel("Select a loop or a unit.")
        self.hint.setStyleSheet("color:#46505c")
        self.stack.addWidget(self.hint)
        # loop page
        lp = QWidget()
        lf = QFormLayout(lp)
        self.loop_title = QLabel()
        self.loop_title.setStyleSheet("font-weight:600")
        self.loop_name = QLineEdit()
        self.loop_name.setObjectName("loopName")
        self.loop_name.editingFinished.connect(self._rename_loop)
        self.parent_combo = QComboBox()
        self.parent_combo.setObjectName("loopParent")
        self.parent_combo.activated.connect(self._parent_picked)
        self.loop_racks = QLabel()
        self.loop_racks.setObjectName("loopRacks")
        self.loop_racks.setWordWrap(True)
        self.loop_racks.setStyleSheet("color:#46505c")
        lf.addRow(self.loop_title)
        lf.addRow("Name", self.loop_name)
        lf.addRow("Rejects heat to", self.parent_combo)
        lf.addRow("", self.loop_racks)
        self.stack.addWidget(lp)
        # unit page
        up = QWidget()
        uf = QFormLayout(up)
        self.unit_title = QLabel()
        self.unit_title.setStyleSheet("font-weight:600")
        self.unit_title.setWordWrap(True)
        uf.addRow(self.unit_title)
        self.boxes: dict[str, QDoubleSpinBox] = {}
        for fld, (label, kind, lo, hi, suffix) in UNIT_EDIT_FIELDS.items():
            if kind is None:
                b = QDoubleSpinBox()
                b.setRange(lo, hi)
                b.setDecimals(2)
                b.setSuffix(suffix)
                b.setKeyboardTracking(False)
                b.setButtonSymbols(QDoubleSpinBox.ButtonSymbols.NoButtons)
                b.editingFinished.connect(lambda f=fld, b=b: self._set_unit(f, b.value()))
            else:
                b = QuantitySpinBox(kind, lo, hi)
                b.sigCommitted.connect(lambda v, f=fld: self._set_unit(f, v))
            b.setObjectName(f"plant_{fld}")
            self.boxes[fld] = b
            uf.addRow(label, b)
        self.stack.addWidget(up)
        bar = QHBoxLayout()
        self.new_loop_btn = QPushButton("New Loop")
        self.new_loop_btn.setObjectName("newLoop")
        menu = QMenu(self.new_loop_btn)
        for medium in ("air", "liquid", "facility"):
            menu.addAction(f"{MEDIUM_LABELS[medium].capitalize()} loop", lambda m=medium: self.add_loop(m))
        self.new_loop_btn.setMenu(menu)
        self.del_loop_btn = QPushButton("Delete Loop")
        self.del_loop_btn.setObjectName("deleteLoop")
        self.del_loop_btn.clicked.connect(self.delete_loop)
        bar.addWidget(self.new_loop_btn)
        bar.addWidget(self.del_loop_btn)
        bar.addStretch(1)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addLayout(bar)
        tl.addWidget(self.tree)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.stack)
        split.setSizes([300, 320])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(split)
        doc.sigPlanChanged.connect(self._changed)
        doc.sigPlanReplaced.connect(self.refresh)
        units().sigChanged.connect(self._on_units)
        self.refresh()

    def _on_units(self, _s) -> None:
        self.refresh()

    def _changed(self, change) -> None:
        if change.other & {"loop"} or change.units_added or change.units_removed or change.units_modified:
            self.refresh()
        elif change.racks_any and self.current() and self.current()[0] == "loop":
            self._show()  # the racks-on-this-loop line

    def current(self) -> tuple[str, str] | None:
        item = self.tree.currentItem()
        return item.data(0, ROLE) if item else None

    def select_loop(self, name: str) -> None:
        for item in self.tree.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive):
            if item.data(0, ROLE) == ("loop", name):
                self.tree.setCurrentItem(item)
                return

    def add_loop(self, medium: str) -> None:
        made = {}

        def make(doc):
            made["cmd"] = cmds.AddLoopCommand(doc, medium)
            return made["cmd"]

        if cmds.try_push(self.doc, self, make):
            self.select_loop(made["cmd"].name)
            self.loop_name.setFocus()
            self.loop_name.selectAll()

    def delete_loop(self) -> None:
        cur = self.current()
        if not cur or cur[0] != "loop":
            messages.warn(self, "Delete loop", "Select a loop in the tree first.")
            return
        racks = cmds.racks_on_loop(self.doc, cur[1])
        if racks:
            shown = ", ".join(cmds.short(n) for n in racks[:5]) + (f" and {len(racks) - 5} more" if len(racks) > 5 else "")
            if not messages.confirm(self, "Delete cooling loop?", f"{len(racks)} rack(s) are on loop "
                                    f"{cmds.short(cur[1])} ({shown}); they will be left without it. Delete?", "Delete"):
                return
        cmds.try_push(self.doc, self, cmds.DeleteLoopCommand, cur[1])

    def _rename_loop(self) -> None:
        cur = self.current()
        new = self.loop_name.text().strip()
        if self.doc.executing or not cur or cur[0] != "loop" or not self.loop_name.isModified():
            return
        self.loop_name.setModified(False)
        made = cmds.try_push(self.doc, self, cmds.RenameLoopCommand, cur[1], new)
        if made:
            self.select_loop(new)
        else:
            self.loop_name.setText(cur[1])

    def refresh(self) -> None:
        cur = self.tree.currentItem().data(0, ROLE) if self.tree.currentItem() else None
        self.tree.blockSignals(True)
        self.tree.clear()
        plan = self.doc.plan
        loops = {l.name: l for l in plan.cooling_loops}
        units_by_loop: dict[str, list] = {}
        for u in plan.cooling_units:
            units_by_loop.setdefault(u.loop, []).append(u)
        children: dict[str | None, list] = {}
        for l in plan.cooling_loops:
            p = l.rejects_to if l.rejects_to in loops else None
            children.setdefault(p, []).append(l)
        u = units()
        select = None

        def add_loop(loop, parent_item, depth=0):
            nonlocal select
            us = units_by_loop.get(loop.name, [])
            cap = sum(x.rated_capacity_kw for x in us)
            item = QTreeWidgetItem([f"{loop.name} ({MEDIUM_LABELS.get(loop.medium, loop.medium)} loop)",
                                    u.fmt("cooling", cap, 0) if us else "no units"])
            item.setData(0, ROLE, ("loop", loop.name))
            f = item.font(0)
            f.setBold(True)
            item.setFont(0, f)
            (parent_item.addChild(item) if parent_item is not None else self.tree.addTopLevelItem(item))
            if cur == ("loop", loop.name):
                select = item
            for x in us:
                ui = QTreeWidgetItem([f"{KIND_LABELS.get(x.kind, x.kind)} {x.name}", u.fmt("cooling", x.rated_capacity_kw, 0)])
                ui.setData(0, ROLE, ("unit", x.name))
                ui.setToolTip(0, x.model or x.name)
                item.addChild(ui)
                if cur == ("unit", x.name):
                    select = ui
            if depth < 20:
                for c in children.get(loop.name, []):
                    add_loop(c, item, depth + 1)
            item.setExpanded(True)

        for root in children.get(None, []):
            add_loop(root, None)
        orphans = [x for x in plan.cooling_units if x.loop not in loops]
        if orphans:
            item = QTreeWidgetItem(["(units in no known loop)", ""])
            self.tree.addTopLevelItem(item)
            for x in orphans:
                ui = QTreeWidgetItem([f"{KIND_LABELS.get(x.kind, x.kind)} {x.name}", u.fmt("cooling", x.rated_capacity_kw, 0)])
                ui.setData(0, ROLE, ("unit", x.name))
                item.addChild(ui)
            item.setExpanded(True)
        if select is not None:
            self.tree.setCurrentItem(select)
        self.tree.blockSignals(False)
        self._show()

    def _show(self) -> None:
        item = self.tree.currentItem()
        data = item.data(0, ROLE) if item else None
        if not data:
            self.stack.setCurrentIndex(0)
            return
        kind, name = data
        if kind == "loop":
            loop = next((l for l in self.doc.plan.cooling_loops if l.name == name), None)
            if loop is None:
                return
            self.loop_title.setText(f"Loop {loop.name} — {MEDIUM_LABELS.get(loop.medium, loop.medium)}")
            self.loop_name.setText(loop.name)
            self.loop_name.setModified(False)
            racks = cmds.racks_on_loop(self.doc, name)
            self.loop_racks.setText(f"{len(racks)} rack(s) on this loop" if racks else "No racks on this loop")
            self.parent_combo.clear()
            self.parent_combo.addItem("(outdoors: its own units reject the heat)", None)
            for l in self.doc.plan.cooling_loops:
                if l.name != name:
                    self.parent_combo.addItem(l.name, l.name)
            self.parent_combo.setCurrentIndex(max(0, self.parent_combo.findData(loop.rejects_to)))
            self.stack.setCurrentIndex(1)
            return
        u = self.doc.unit(name)
        if u is None:
            return
        self.unit_title.setText(f"{KIND_LABELS.get(u.kind, u.kind)} {u.name}" + (f" — {u.model}" if u.model else "")
                                + f"\nloop {u.loop}")
        self.boxes["flow_m3s"].set_kind(flow_kind(u.kind))
        for fld, b in self.boxes.items():
            v = getattr(u, fld)
            if isinstance(b, QuantitySpinBox):
                b.set_si(v)
            else:
                b.blockSignals(True)
                b.setValue(v)
                b.blockSignals(False)
        self.stack.setCurrentIndex(2)

    def _parent_picked(self, _i: int) -> None:
        item = self.tree.currentItem()
        if item and item.data(0, ROLE) and item.data(0, ROLE)[0] == "loop":
            cmds.try_push(self.doc, self, cmds.EditLoopCommand, item.data(0, ROLE)[1], self.parent_combo.currentData())

    def _set_unit(self, fld: str, value: float) -> None:
        item = self.tree.currentItem()
        if item and item.data(0, ROLE) and item.data(0, ROLE)[0] == "unit":
            cmds.try_push(self.doc, self, cmds.EditUnitsCommand, [item.data(0, ROLE)[1]], {fld: value})
