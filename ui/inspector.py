"""Inspector for the selection: editable properties with units, power bar, pickers, elevation.

With several racks selected every field shows the shared value, or "—" where
they differ; changing a field sets it on all of them in one undo step.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QFrame, QGroupBox, QLabel, QLineEdit, QScrollArea,
                               QSpinBox, QStackedWidget, QVBoxLayout, QWidget)

from planner.plan import CONTAINMENTS, COOLING_TYPES, ORIENTATIONS, RACK_HEIGHTS_U, RACK_STATUSES
from ui import commands as cmds
from ui.commands import short
from ui.document import PlanDocument
from ui.units import METRIC_TILE_M, US_TILE_M, flow_kind, tile_text, units
from ui.widgets import PowerBar, QuantitySpinBox

MIXED = "—"
NONE = "(none)"
_NONE_KEY = "\x00none"  # item data standing for None (a QVariant cannot hold None reliably)
STATUSES = RACK_STATUSES
ORIENTATION_LABELS = {"N": "N (up)", "E": "E (right)", "S": "S (down)", "W": "W (left)"}
CONTAINMENT_LABELS = {"none": "none (open aisles)", "cold": "cold aisle contained", "hot": "hot aisle contained"}


def _shared(values):
    """The common value, or ``MIXED`` if they differ."""
    values = list(values)
    if not values:
        return MIXED
    first = values[0]
    return first if all(v == first for v in values[1:]) else MIXED


class Combo(QComboBox):
    """A combo whose user choices (not programmatic updates) call ``on_pick(data)``."""

    def __init__(self, on_pick, parent=None) -> None:
        super().__init__(parent)
        self._on_pick = on_pick
        self.activated.connect(self._picked)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(10)
        self._sig = None

    def fill(self, items: list[tuple[str, object]], current, sig=None) -> None:
        """Show ``items`` with ``current`` chosen. ``sig`` identifies the item list: when it is
        unchanged only the choice is updated (10,000 feeds make refilling cost ~30 ms)."""
        if sig is not None and sig == self._sig and current is not MIXED and self.itemData(0) != MIXED:
            idx = self.findData(_NONE_KEY if current is None else current)
            if idx >= 0:
                self.blockSignals(True)
                self.setCurrentIndex(idx)
                self.blockSignals(False)
                return
        self._sig = sig
        if callable(items):
            items = items()
        self.blockSignals(True)
        self.clear()
        if current is MIXED:
            self.addItem(MIXED, MIXED)
        for text, data in items:
            self.addItem(text, _NONE_KEY if data is None else data)
        key = _NONE_KEY if current is None else current
        idx = self.findData(key) if current is not MIXED else 0
        if idx < 0 and current is not None:  # a value the lists don't know: show it anyway
            self.addItem(f"{current} (missing)", current)
            idx = self.count() - 1
        self.setCurrentIndex(max(0, idx))
        self.blockSignals(False)

    def _picked(self, index: int) -> None:
        data = self.itemData(index)
        if data != MIXED:
            self._on_pick(None if data == _NONE_KEY else data)


class Inspector(QWidget):
    """Right dock content: rack page, cooling-unit page or a hint."""

    def __init__(self, doc: PlanDocument, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.header = QLabel()
        self.header.setObjectName("inspectorHeader")
        self.header.setStyleSheet("#inspectorHeader { font-size: 14px; font-weight: 600; padding: 2px 0 6px 0; }")
        self.header.setWordWrap(True)
        self.header.setMinimumWidth(10)  # long names are shortened, never widen the dock
        lay.addWidget(self.header)
        self.stack = QStackedWidget()
        lay.addWidget(self.stack, 1)
        self._build_hall_page()
        self._build_rack_page()
        self._build_unit_page()
        doc.sigSelectionChanged.connect(self.refresh)
        doc.sigPlanChanged.connect(self._on_change)
        doc.sigPlanReplaced.connect(self.refresh)
        doc.sigRacksChanging.connect(self._on_changing)
        # bound methods (not lambdas): Qt drops the connection when this widget is destroyed
        units().sigAboutToChange.connect(self.commit_pending)
        units().sigChanged.connect(self._on_units)
        self.refresh()

    def _on_units(self, _system: str) -> None:
        self.refresh()

    # ---------------------------------------------------------------- build
    def _qty(self, kind, lo, hi, field, target="rack"):
        box = QuantitySpinBox(kind, lo, hi)
        box.setObjectName(f"{target}_{field}")
        box.sigCommitted.connect(lambda v, f=field: self._set(target, f, v))
        return box

    def _build_rack_page(self) -> None:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        props = QGroupBox("Rack")
        form = QFormLayout(props)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("rack_name")
        self.name_edit.editingFinished.connect(self._rename)
        self.row_edit = QLineEdit()
        self.row_edit.setObjectName("rack_row")
        self.row_edit.editingFinished.connect(self._set_row)
        self.x_box = self._qty("length", 0, 10000, "x_m")
        self.y_box = self._qty("length", 0, 10000, "y_m")
        self.orient = Combo(lambda d: self._set("rack", "orientation", d))
        self.orient.setObjectName("rack_orientation")
        self.width_box = self._qty("length", 0.3, 3.0, "width_m")
        self.depth_box = self._qty("length", 0.3, 3.0, "depth_m")
        self.height_box = QSpinBox()
        self.height_box.setObjectName("rack_u_height")
        self.height_box.setRange(0, 60)
        self.height_box.setSpecialValueText(MIXED)
        self.height_box.setSuffix(" U")
        self.height_box.setKeyboardTracking(False)
        self.height_box.setToolTip(f"Common AI rack heights: {', '.join(map(str, RACK_HEIGHTS_U))} U")
        self.height_box.editingFinished.connect(self._set_height)
        self.budget_box = self._qty("power", 0, 1000, "power_budget_kw")
        self.weight_box = self._qty("mass", 0, 10000, "max_weight_kg")
        self.cooling = Combo(lambda d: self._set("rack", "cooling_type", d))
        self.cooling.setObjectName("rack_cooling_type")
        self.status = Combo(lambda d: self._set("rack", "status", d))
        self.status.setObjectName("rack_status")
        form.addRow("Name", self.name_edit)
        form.addRow("Row", self.row_edit)
        form.addRow("Centre x", self.x_box)
        form.addRow("Centre y", self.y_box)
        form.addRow("Front faces", self.orient)
        form.addRow("Width", self.width_box)
        form.addRow("Depth", self.depth_box)
        form.addRow("Height", self.height_box)
        form.addRow("Power budget", self.budget_box)
        form.addRow("Max weight", self.weight_box)
        form.addRow("Cooling", self.cooling)
        form.addRow("Status", self.status)
        v.addWidget(props)

        power = QGroupBox("Power and cooling")
        pform = QFormLayout(power)
        pform.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.power_bar = PowerBar()
        self.power_bar.setObjectName("rack_power_bar")
        self.heat_label = QLabel()
        self.heat_label.setObjectName("rack_heat")
        self.heat_label.setWordWrap(True)
        self.air_loop = Combo(lambda d: self._set("rack", "air_loop", d))
        self.air_loop.setObjectName("rack_air_loop")
        self.liquid_loop = Combo(lambda d: self._set("rack", "liquid_loop", d))
        self.liquid_loop.setObjectName("rack_liquid_loop")
        self.feed_a = Combo(lambda d: self._set("rack", "feed_a", d))
        self.feed_a.setObjectName("rack_feed_a")
        self.feed_b = Combo(lambda d: self._set("rack", "feed_b", d))
        self.feed_b.setObjectName("rack_feed_b")
        self.feed_label = QLabel()
        self.feed_label.setObjectName("rack_feed_capacity")
        self.feed_label.setWordWrap(True)
        self.feed_label.setStyleSheet("color: #4b5563;")
        pform.addRow("IT at max", self.power_bar)
        pform.addRow("Heat", self.heat_label)
        pform.addRow("Air loop", self.air_loop)
        pform.addRow("Liquid loop", self.liquid_loop)
        pform.addRow("Feed A", self.feed_a)
        pform.addRow("Feed B", self.feed_b)
        pform.addRow("", self.feed_label)
        v.addWidget(power)

        v.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(page)
        self.rack_page = scroll
        self.stack.addWidget(scroll)

    def _build_hall_page(self) -> None:
        """Nothing selected: the hall shown (size, floor tiles, containment) and how to select."""
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        self.hall_box = QGroupBox("Hall")
        form = QFormLayout(self.hall_box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.hall_width = self._qty("length", 1, 10000, "width_m", "hall")
        self.hall_depth = self._qty("length", 1, 10000, "depth_m", "hall")
        self.hall_tiles = Combo(lambda d: self._set("hall", "tile_m", d))
        self.hall_tiles.setObjectName("hall_tile_m")
        self.hall_tiles.setToolTip("Raised-floor tile pitch: the grid that racks snap to, and the unit of Add Row's "
                                   "aisles (two tiles)")
        self.hall_containment = Combo(lambda d: self._set("hall", "containment", d))
        self.hall_containment.setObjectName("hall_containment")
        form.addRow("Width (x)", self.hall_width)
        form.addRow("Depth (y)", self.hall_depth)
        form.addRow("Floor tiles", self.hall_tiles)
        form.addRow("Containment", self.hall_containment)
        v.addWidget(self.hall_box)
        hint = QLabel("Click a rack or cooling unit on the floor plan to inspect it.\n\n"
                      "Drag on empty floor to select several; Ctrl+A selects all.")
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignTop)
        hint.setStyleSheet("color: #6b7280; padding: 8px;")
        v.addWidget(hint)
        v.addStretch(1)
        self.empty = page
        self.stack.addWidget(page)

    def _show_hall(self) -> None:
        h = self.doc.hall()
        self.hall_box.setTitle(f"Hall {short(h.name)}")
        self.hall_width.set_si(h.width_m)
        self.hall_depth.set_si(h.depth_m)
        tiles = [(f"{tile_text(METRIC_TILE_M, units().system)} (metric)", METRIC_TILE_M),
                 (f"{tile_text(US_TILE_M, units().system)} (US)", US_TILE_M)]
        if all(abs(h.tile_m - t) > 1e-9 for _n, t in tiles):
            tiles.append((tile_text(h.tile_m, units().system), h.tile_m))
        self.hall_tiles.fill(tiles, next((t for _n, t in tiles if abs(h.tile_m - t) <= 1e-9), h.tile_m))
        self.hall_containment.fill([(CONTAINMENT_LABELS.get(c, c), c) for c in CONTAINMENTS], h.containment)

    def _build_unit_page(self) -> None:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        box = QGroupBox("Cooling unit")
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.unit_name = QLineEdit()
        self.unit_name.setObjectName("unit_name")
        self.unit_name.editingFinished.connect(self._rename_unit)
        self.unit_kind = QLabel()
        self.unit_model = QLabel()
        self.unit_model.setWordWrap(True)
        self.unit_loop = Combo(lambda d: self._set("unit", "loop", d))
        self.unit_loop.setObjectName("unit_loop")
        self.unit_cap = self._qty("cooling", 0, 100000, "rated_capacity_kw", "unit")
        self.unit_setpoint = self._qty("temp", -10, 60, "supply_setpoint_c", "unit")
        self.unit_flow = self._qty("liquid_flow", 0, 1000, "flow_m3s", "unit")  # air flow for CRAHs
        self.unit_power = self._qty("power", 0, 10000, "rated_power_kw", "unit")
        self.unit_x = self._qty("length", 0, 10000, "x_m", "unit")
        self.unit_y = self._qty("length", 0, 10000, "y_m", "unit")
        self.unit_load = QLabel()
        self.unit_load.setObjectName("unit_loop_load")
        self.unit_load.setWordWrap(True)
        form.addRow("Name", self.unit_name)
        form.addRow("Kind", self.unit_kind)
        form.addRow("Model", self.unit_model)
        form.addRow("Loop", self.unit_loop)
        form.addRow("Rated capacity", self.unit_cap)
        form.addRow("Supply setpoint", self.unit_setpoint)
        form.addRow("Design flow", self.unit_flow)
        form.addRow("Fan/pump power", self.unit_power)
        form.addRow("Centre x", self.unit_x)
        form.addRow("Centre y", self.unit_y)
        form.addRow("Loop load", self.unit_load)
        v.addWidget(box)
        v.addStretch(1)
        self.unit_page = page
        self.stack.addWidget(page)

    # --------------------------------------------------------------- refresh
    def _on_change(self, change) -> None:
        sel = set(self.doc.selected_racks)
        if not sel and not self.doc.selected_units and "hall" in change.other:
            self.refresh()
        elif (sel & (change.racks_any | change.server_racks) or set(self.doc.selected_units) & (
                change.units_added | change.units_modified) or change.other):
            self.refresh()

    def _on_changing(self, moved: dict) -> None:
        if len(self.doc.selected_racks) == 1:
            xy = moved.get(self.doc.selected_racks[0])
            if xy:
                self.x_box.set_si(xy[0])
                self.y_box.set_si(xy[1])

    def refresh(self) -> None:
        racks = [self.doc.rack(n) for n in self.doc.selected_racks if self.doc.rack(n)]
        unit_list = [self.doc.unit(n) for n in self.doc.selected_units if self.doc.unit(n)]
        if racks:
            self._show_racks(racks)
            extra = f" (+{len(unit_list)} cooling units)" if unit_list else ""
            self.header.setText((f"Rack {short(racks[0].name)}" if len(racks) == 1
                                 else f"{len(racks)} racks selected — edits apply to all") + extra)
            self.header.setToolTip(racks[0].name if len(racks) == 1 else "")
            self.stack.setCurrentWidget(self.rack_page)
        elif unit_list:
            self._show_units(unit_list)
            self.header.setText(f"{unit_list[0].kind.upper()} {short(unit_list[0].name)}" if len(unit_list) == 1
                                else f"{len(unit_list)} cooling units selected")
            self.header.setToolTip(unit_list[0].name if len(unit_list) == 1 else "")
            self.stack.setCurrentWidget(self.unit_page)
        else:
            self.header.setText("Nothing selected")
            self._show_hall()
            self.stack.setCurrentWidget(self.empty)

    def _show_racks(self, racks) -> None:
        one = len(racks) == 1
        plan = self.doc.plan
        self.name_edit.setEnabled(one)
        self.name_edit.setText(racks[0].name if one else "")
        self.name_edit.setPlaceholderText("" if one else f"{len(racks)} racks")
        row = _shared(r.row for r in racks)
        self.row_edit.setText("" if row is MIXED else row)
        self.row_edit.setPlaceholderText(MIXED if row is MIXED else "")
        for box, f in ((self.x_box, "x_m"), (self.y_box, "y_m"), (self.width_box, "width_m"),
                       (self.depth_box, "depth_m"), (self.budget_box, "power_budget_kw"),
                       (self.weight_box, "max_weight_kg")):
            val = _shared(getattr(r, f) for r in racks)
            box.set_si(None if val is MIXED else val)
        h = _shared(r.u_height for r in racks)
        self.height_box.blockSignals(True)
        self.height_box.setValue(0 if h is MIXED else h)
        self.height_box.blockSignals(False)
        self.orient.fill([(ORIENTATION_LABELS[o], o) for o in ORIENTATIONS], _shared(r.orientation for r in racks))
        self.cooling.fill([(c, c) for c in COOLING_TYPES], _shared(r.cooling_type for r in racks))
        self.status.fill([(s, s) for s in STATUSES], _shared(r.status for r in racks))
        air = [(l.name, l.name) for l in plan.cooling_loops if l.medium == "air"]
        liq = [(l.name, l.name) for l in plan.cooling_loops if l.medium == "liquid"]
        self.air_loop.fill([(NONE, None)] + air, _shared(r.air_loop for r in racks))
        self.liquid_loop.fill([(NONE, None)] + liq, _shared(r.liquid_loop for r in racks))
        fsig = (id(plan.power_feeds), len(plan.power_feeds))

        def feeds():  # built only when the list changed (fill() calls it then)
            return [(NONE, None)] + [(f"{f.name}  ({f.capacity_kw:.0f} kW)", f.name) for f in plan.power_feeds]

        self.feed_a.fill(feeds, _shared(r.feed_a for r in racks), sig=fsig)
        self.feed_b.fill(feeds, _shared(r.feed_b for r in racks), sig=fsig)
        # loads
        names = {r.name for r in racks}
        types = plan.server_type_map()
        alloc, air_kw, liq_kw = 0.0, 0.0, 0.0
        for s in plan.servers:
            if s.rack in names:
                t = types.get(s.server_type)
                if t:
                    kw = t.max_power_w / 1000.0
                    alloc += kw
                    liq_kw += kw * t.liquid_fraction
                    air_kw += kw * (1 - t.liquid_fraction)
        self.power_bar.set_values(alloc, sum(r.power_budget_kw for r in racks))
        u = units()
        self.heat_label.setText(f"{u.fmt('heat', air_kw)} to air, {u.fmt('heat', liq_kw)} to liquid")
        if one:
            r = racks[0]
            fmap = {f.name: f for f in plan.power_feeds}
            parts = []
            for side, fname in (("A", r.feed_a), ("B", r.feed_b)):
                f = fmap.get(fname)
                if f is not None:
                    ok = "carries the rack alone" if f.capacity_kw >= alloc else "cannot carry the rack alone"
                    parts.append(f"{side}: {f.capacity_kw:.1f} kW usable ({f.voltage:.0f} V, {f.amperage:.0f} A, "
                                 f"{f.phase}-phase, {f.max_utilization * 100:.0f} %) — {ok}")
            self.feed_label.setText("\n".join(parts) or "No feeds assigned")
        else:
            self.feed_label.setText("")

    def _show_units(self, ulist) -> None:
        one = len(ulist) == 1
        u0 = ulist[0]
        self.unit_name.setEnabled(one)
        self.unit_name.setText(u0.name if one else "")
        self.unit_kind.setText(_shared(u.kind for u in ulist).upper() if _shared(u.kind for u in ulist) is not MIXED else MIXED)
        self.unit_model.setText(_shared(u.model for u in ulist) or "—")
        self.unit_loop.fill([(l.name, l.name) for l in self.doc.plan.cooling_loops], _shared(u.loop for u in ulist))
        flows = {flow_kind(u.kind) for u in ulist}
        self.unit_flow.set_kind(next(iter(flows)) if len(flows) == 1 else "liquid_flow")
        self.unit_flow.setEnabled(len(flows) == 1)  # CRAHs and CDUs together: air and liquid flow do not mix
        for box, f in ((self.unit_cap, "rated_capacity_kw"), (self.unit_setpoint, "supply_setpoint_c"),
                       (self.unit_flow, "flow_m3s"), (self.unit_power, "rated_power_kw"),
                       (self.unit_x, "x_m"), (self.unit_y, "y_m")):
            val = _shared(getattr(u, f) for u in ulist)
            box.set_si(None if val is MIXED or val is None else val)
            if f != "flow_m3s":
                box.setEnabled(not (f in ("x_m", "y_m") and val is None))
        from planner.checks import loop_capacities_kw, loop_loads_kw

        loop = _shared(u.loop for u in ulist)
        if loop is not MIXED:
            load = loop_loads_kw(self.doc.plan).get(loop, 0.0)
            cap = loop_capacities_kw(self.doc.plan).get(loop, 0.0)
            uu = units()
            # a load compared with a capacity: both in the capacity's unit (kW or tons, never BTU/h with tons)
            self.unit_load.setText(f"{loop}: {uu.fmt('cooling', load)} at max of {uu.fmt('cooling', cap)} rated"
                                   + (f" ({load / cap * 100:.0f} %)" if cap else ""))
        else:
            self.unit_load.setText("")

    # ----------------------------------------------------------------- edits
    def _editable(self) -> bool:
        """Edits come from the user, never from focus changes a running command causes
        (deleting a rack hides its page: the name field loses focus and would commit)."""
        return not self.doc.executing

    def _set(self, target: str, field: str, value) -> None:
        if not self._editable():
            return
        if target == "hall":
            if not cmds.try_push(self.doc, self, cmds.EditHallCommand, self.doc.hall().name, {field: value}):
                self.refresh()
        elif target == "rack":
            names = [n for n in self.doc.selected_racks if self.doc.rack(n) is not None]
            if names:
                if not cmds.try_push(self.doc, self, cmds.EditRacksCommand, names, {field: value}):
                    self.refresh()
        else:
            names = [n for n in self.doc.selected_units if self.doc.unit(n) is not None]
            if names:
                if not cmds.try_push(self.doc, self, cmds.EditUnitsCommand, names, {field: value}):
                    self.refresh()

    def _rename(self) -> None:
        if not self._editable() or len(self.doc.selected_racks) != 1:
            return
        old, new = self.doc.selected_racks[0], self.name_edit.text().strip()
        if self.doc.rack(old) is None:
            return
        if new and new != old:
            if not cmds.try_push(self.doc, self, cmds.RenameRackCommand, old, new):
                self.name_edit.setText(old)
        self.name_edit.setModified(False)

    def _rename_unit(self) -> None:
        if not self._editable() or len(self.doc.selected_units) != 1:
            return
        old, new = self.doc.selected_units[0], self.unit_name.text().strip()
        if self.doc.unit(old) is None:
            return
        if new and new != old:
            if not cmds.try_push(self.doc, self, cmds.EditUnitsCommand, [old], {"name": new}):
                self.unit_name.setText(old)
        self.unit_name.setModified(False)

    def _set_row(self) -> None:
        if not self._editable():
            return
        text = self.row_edit.text().strip()
        racks = [r for r in (self.doc.rack(n) for n in self.doc.selected_racks) if r is not None]
        if racks and (text or len(racks) == 1) and any(r.row != text for r in racks):
            self._set("rack", "row", text)
        self.row_edit.setModified(False)

    def _set_height(self) -> None:
        if not self._editable():
            return
        v = self.height_box.value()
        racks = [r for r in (self.doc.rack(n) for n in self.doc.selected_racks) if r is not None]
        if v > 0 and racks and any(r.u_height != v for r in racks):
            self._set("rack", "u_height", v)

    def quantity_boxes(self):
        return [self.x_box, self.y_box, self.width_box, self.depth_box, self.budget_box, self.weight_box,
                self.unit_cap, self.unit_setpoint, self.unit_flow, self.unit_power, self.unit_x, self.unit_y,
                self.hall_width, self.hall_depth]

    def commit_pending(self, *_args) -> None:
        """Commit what the user typed but has not confirmed yet (Enter / leaving the field).

        Called before the unit system changes (the View menu does not take focus, so the
        field would otherwise be reset to the stored value in the new units).
        """
        if self.name_edit.isModified():
            self._rename()
        if self.row_edit.isModified():
            self._set_row()
        if self.unit_name.isModified():
            self._rename_unit()
        if self.height_box.lineEdit().isModified():
            self.height_box.interpretText()
            self.height_box.lineEdit().setModified(False)
            self._set_height()
        for box in self.quantity_boxes():
            box.commit_pending()
