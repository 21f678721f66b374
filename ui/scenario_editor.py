"""Site and scenarios: what to simulate, edited as undoable commands (``ui.commands`` on ``planner.edits.scenarios``).

Site: name, latitude/longitude, time zone, elevation. Scenarios: a list with Add / Duplicate /
Delete, and for the selected one its start (local), days, step, load, control (every mode in
``planner.solver.model.CONTROL_MODES``), weather (bundled cities or any EPW; the file's location
and ASHRAE design conditions are shown, read by ``planner.weather``'s one EPW reader) and tariff
(24 hourly prices, demand charge) with a small price-by-hour chart.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateTimeEdit, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QPushButton, QScrollArea,
                               QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

import pyqtgraph as pg

from planner.plan import Tariff, months_text, parse_months
from ui import messages
from ui import commands as cmds
from ui.commands import try_push
from ui.units import units

OTHER_EPW = "\x00other"


def ask_epw(parent, start: str = "") -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Weather file", start, "EnergyPlus weather (*.epw);;All files (*)")
    return path or None


class ScenarioEditor(QWidget):
    """Dock content: site group, scenario list, scenario form, tariff table and chart."""

    def __init__(self, doc, analysis, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("scenarioEditor")
        self.doc, self.analysis = doc, analysis
        self._loading = False
        inner = QWidget()
        lay = QVBoxLayout(inner)
        lay.setContentsMargins(4, 4, 4, 4)

        # ---- site
        site = QGroupBox("Site")
        f = QFormLayout(site)
        self.site_name = QLineEdit()
        self.site_name.editingFinished.connect(lambda: self._site("name", self.site_name.text()))
        self.lat = self._dspin(-90, 90, 4, " °", lambda v: self._site("latitude", v))
        self.lon = self._dspin(-180, 180, 4, " °", lambda v: self._site("longitude", v))
        self.tz = QLineEdit()
        self.tz.setPlaceholderText("IANA name, e.g. America/Phoenix")
        self.tz.editingFinished.connect(lambda: self._site("timezone", self.tz.text().strip()))
        self.elev = self._dspin(-500, 9000, 0, " m", lambda v: self._site("elevation_m", v))
        for label, w in (("Name", self.site_name), ("Latitude", self.lat), ("Longitude", self.lon),
                         ("Time zone", self.tz), ("Elevation", self.elev)):
            f.addRow(label, w)
        lay.addWidget(site)

        # ---- scenario list
        box = QGroupBox("Scenarios")
        v = QVBoxLayout(box)
        self.list = QListWidget()
        self.list.setObjectName("scenarioList")
        self.list.setMaximumHeight(90)
        self.list.currentTextChanged.connect(self._picked)
        v.addWidget(self.list)
        row = QHBoxLayout()
        self.add_btn = QPushButton("Add")
        self.dup_btn = QPushButton("Duplicate")
        self.del_btn = QPushButton("Delete")
        self.add_btn.clicked.connect(self.add)
        self.dup_btn.clicked.connect(self.duplicate)
        self.del_btn.clicked.connect(self.delete)
        for b in (self.add_btn, self.dup_btn, self.del_btn):
            row.addWidget(b)
        v.addLayout(row)
        f = QFormLayout()
        self.sc_name = QLineEdit()
        self.sc_name.editingFinished.connect(lambda: self._set("name", self.sc_name.text()))
        self.start = QDateTimeEdit()
        self.start.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.start.setCalendarPopup(True)
        self.start.editingFinished.connect(lambda: self._set("start", self.start.dateTime().toPython()))
        self.days = self._dspin(0.01, 3660, 2, " days", lambda d: self._set("horizon_s", d * 86400.0))
        self.step = self._dspin(0.1, 3600, 1, " s", lambda s: self._set("step_s", s))
        self.load = QComboBox()
        self.load.addItem("Job list", "jobs")
        self.load.addItem("Full load, all day", "full")
        self.load.activated.connect(lambda _i: self._set("load", self.load.currentData()))
        self.control = QComboBox()
        self.control.setObjectName("controlMode")
        from planner.solver.model import CONTROL_MODES
        for m in CONTROL_MODES:
            self.control.addItem(m, m)
        self.control.activated.connect(lambda _i: self._set("control", self.control.currentData()))
        self.weather = QComboBox()
        self.weather.setObjectName("weatherPicker")
        self.weather.activated.connect(self._weather_picked)
        self.weather_info = QLabel()
        self.weather_info.setObjectName("weatherInfo")
        self.weather_info.setWordWrap(True)
        self.weather_info.setStyleSheet("color:#46505c")
        for label, w in (("Name", self.sc_name), ("Start (local)", self.start), ("Length", self.days),
                         ("Step", self.step), ("Load", self.load), ("Control", self.control),
                         ("Weather", self.weather), ("", self.weather_info)):
            f.addRow(label, w)
        v.addLayout(f)
        lay.addWidget(box)

        # ---- tariff
        tb = QGroupBox("Tariff")
        tv = QVBoxLayout(tb)
        self.prices = QTableWidget(2, 24)
        self.prices.setObjectName("tariffTable")
        self.prices.setVerticalHeaderLabels(["hour", "$/kWh"])
        self.prices.horizontalHeader().hide()
        self.prices.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.prices.setMaximumHeight(76)
        self.prices.itemChanged.connect(self._price_edited)
        tv.addWidget(self.prices)
        self.chart = pg.PlotWidget()
        self.chart.setObjectName("tariffChart")
        self.chart.setMaximumHeight(130)
        self.chart.setMinimumHeight(110)
        self.chart.setMenuEnabled(False)
        self.chart.setMouseEnabled(False, False)
        self.chart.setLabel("left", "$/kWh")
        self.chart.setLabel("bottom", "local hour")
        tv.addWidget(self.chart)
        f = QFormLayout()
        # demand charges of a time-of-use rate: on the month's peak quarter hour inside the on-peak
        # window and outside it (planner.plan.Tariff; every hour + no off-peak charge = one charge)
        self.demand = self._dspin(0, 1000, 3, " $/kW·month", lambda d: self._tariff(demand_charge_usd_per_kw=d))
        self.demand.setObjectName("onPeakDemandCharge")
        self.off_demand = self._dspin(0, 1000, 3, " $/kW·month",
                                      lambda d: self._tariff(off_peak_demand_charge_usd_per_kw=d))
        self.off_demand.setObjectName("offPeakDemandCharge")
        self.win_start = self._ispin(0, 23, lambda h: self._tariff(demand_window_start_h=h))
        self.win_start.setObjectName("demandWindowStart")
        self.win_end = self._ispin(1, 24, lambda h: self._tariff(demand_window_end_h=h))
        self.win_end.setObjectName("demandWindowEnd")
        hours = QHBoxLayout()
        hours.addWidget(self.win_start)
        hours.addWidget(QLabel("to"))
        hours.addWidget(self.win_end)
        self.weekdays = QCheckBox("Monday to Friday only")
        self.weekdays.setObjectName("demandWindowWeekdays")
        self.weekdays.toggled.connect(
            lambda on: None if self._loading else self._tariff(demand_window_weekdays_only=bool(on)))
        hours.addStretch(1)
        self.win_months = QLineEdit()
        self.win_months.setObjectName("demandWindowMonths")
        self.win_months.setPlaceholderText("all, or e.g. 5-10")
        self.win_months.editingFinished.connect(self._months_edited)
        f.addRow("On-peak demand charge", self.demand)
        f.addRow("On-peak hours", hours)
        f.addRow("", self.weekdays)
        f.addRow("On-peak months", self.win_months)
        f.addRow("Off-peak demand charge", self.off_demand)
        tv.addLayout(f)
        lay.addWidget(tb)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        doc.sigPlanChanged.connect(self._changed)
        doc.sigPlanReplaced.connect(self.refresh)
        self.refresh()

    # ---------------------------------------------------------------- helpers
    def _dspin(self, lo, hi, dec, suffix, commit) -> QDoubleSpinBox:
        b = QDoubleSpinBox()
        b.setRange(lo, hi)
        b.setDecimals(dec)
        b.setSuffix(suffix)
        b.setKeyboardTracking(False)
        b.setButtonSymbols(QDoubleSpinBox.ButtonSymbols.NoButtons)
        b.editingFinished.connect(lambda: None if self._loading else commit(b.value()))
        return b

    def _ispin(self, lo, hi, commit) -> QSpinBox:
        b = QSpinBox()
        b.setRange(lo, hi)
        b.setSuffix(":00")
        b.setKeyboardTracking(False)
        b.editingFinished.connect(lambda: None if self._loading else commit(b.value()))
        return b

    def _months_edited(self) -> None:
        if self._loading or self.current() is None:
            return
        try:
            months = parse_months(self.win_months.text())
        except ValueError as exc:
            messages.warn(self, "Edit refused", f"On-peak {exc}")
            self.refresh()
            return
        if months != tuple(self.current().tariff.demand_window_months):
            self._tariff(demand_window_months=months)

    def current(self):
        name = self.list.currentItem().text() if self.list.currentItem() else None
        return next((s for s in self.doc.plan.scenarios if s.name == name), None)

    def _site(self, field: str, value) -> None:
        if not self._loading:
            try_push(self.doc, self, cmds.EditSiteCommand, {field: value})

    def _set(self, field: str, value) -> None:
        sc = self.current()
        if sc is None or self._loading:
            return
        if field == "name":
            if try_push(self.doc, self, cmds.EditScenarioCommand, sc.name, {"name": value}):
                self.analysis.set_scenario(value.strip())
                self.refresh(select=value.strip())
            return
        try_push(self.doc, self, cmds.EditScenarioCommand, sc.name, {field: value})

    def _tariff(self, prices=None, **fields) -> None:
        """Push the scenario's tariff with ``prices`` and/or other :class:`Tariff` ``fields`` changed
        (the rest kept); a refused edit (a window that ends before it starts) shows why."""
        sc = self.current()
        if sc is None or self._loading:
            return
        t = sc.tariff
        new = replace(t, hourly_price_usd_per_kwh=list(prices if prices is not None else t.hourly_price_usd_per_kwh),
                      **fields)
        if new != t and not try_push(self.doc, self, cmds.EditScenarioCommand, sc.name, {"tariff": new}):
            self._show_tariff(t)

    def _price_edited(self, item: QTableWidgetItem) -> None:
        if self._loading or item.row() != 1:
            return
        sc = self.current()
        if sc is None:
            return
        try:
            v = float(item.text().replace("$", "").strip())
        except ValueError:
            messages.warn(self, "Edit refused", f"Tariff price at {item.column():02d}:00: not a number: {item.text()!r}")
            self.refresh()
            return
        prices = list(sc.tariff.hourly_price_usd_per_kwh)
        prices[item.column()] = v
        self._tariff(prices=prices)
        self.refresh()

    # --------------------------------------------------------------- actions
    def add(self) -> None:
        cmd_ok = try_push(self.doc, self, cmds.AddScenarioCommand, cmds.default_scenario(self.doc))
        if cmd_ok:
            self.refresh(select=self.doc.plan.scenarios[-1].name)

    def duplicate(self) -> None:
        sc = self.current()
        if sc is not None and try_push(self.doc, self, cmds.AddScenarioCommand, sc, f"Duplicate scenario {sc.name}"):
            self.refresh(select=self.doc.plan.scenarios[-1].name)

    def delete(self) -> None:
        sc = self.current()
        if sc is not None:
            try_push(self.doc, self, cmds.DeleteScenarioCommand, sc.name)

    def _weather_picked(self, _i: int) -> None:
        data = self.weather.currentData()
        if data == OTHER_EPW:
            sc = self.current()
            path = ask_epw(self, str(Path(sc.weather_file).parent) if sc and sc.weather_file else "")
            if not path:
                self.refresh()
                return
            from planner.weather import WeatherError, read_epw
            try:
                read_epw(path)
            except WeatherError as e:
                messages.warn(self, "Cannot use this weather file", str(e))
                self.refresh()
                return
            data = path
        self._set("weather_file", data)

    # ---------------------------------------------------------------- display
    def _changed(self, change) -> None:
        if change.other & {"scenario", "site"}:
            self.refresh()

    def refresh(self, select: str | None = None) -> None:
        self._loading = True
        try:
            s = self.doc.plan.site
            self.site_name.setText(s.name)
            self.lat.setValue(s.latitude)
            self.lon.setValue(s.longitude)
            self.tz.setText(s.timezone)
            self.elev.setValue(s.elevation_m)
            cur = select or (self.list.currentItem().text() if self.list.currentItem() else None) \
                or self.analysis.scenario_name
            self.list.blockSignals(True)
            self.list.clear()
            names = [sc.name for sc in self.doc.plan.scenarios]
            self.list.addItems(names)
            if names:
                self.list.setCurrentRow(names.index(cur) if cur in names else 0)
            self.list.blockSignals(False)
            self._show(self.current())
        finally:
            self._loading = False

    def _picked(self, name: str) -> None:
        if not self._loading and name:
            self.analysis.set_scenario(name)
        self._loading = True
        try:
            self._show(self.current())
        finally:
            self._loading = False

    def _show(self, sc) -> None:
        on = sc is not None
        for w in (self.sc_name, self.start, self.days, self.step, self.load, self.control, self.weather, self.prices,
                  self.demand, self.dup_btn, self.del_btn):
            w.setEnabled(on)
        if not on:
            self.weather_info.setText("Add a scenario to simulate (start, length, weather).")
            self.chart.clear()
            return
        self.sc_name.setText(sc.name)
        self.start.setDateTime(QDateTime(sc.start))
        self.days.setValue(sc.horizon_s / 86400.0)
        self.step.setValue(sc.step_s)
        self.load.setCurrentIndex(max(0, self.load.findData(sc.load)))
        idx = self.control.findData(sc.control)
        if idx < 0:
            self.control.addItem(f"{sc.control} (unknown)", sc.control)
            idx = self.control.count() - 1
        self.control.setCurrentIndex(idx)
        self._fill_weather(sc.weather_file)
        self._show_tariff(sc.tariff)

    def _fill_weather(self, current: str) -> None:
        from planner.weather import list_weather_files
        self.weather.clear()
        bundled = list_weather_files()
        for p in bundled:
            self.weather.addItem(_city(p.name), p.name)
        if current and current not in [p.name for p in bundled]:
            self.weather.addItem(Path(current).name, current)
        self.weather.addItem("Other EPW file…", OTHER_EPW)
        i = self.weather.findData(current)
        self.weather.setCurrentIndex(max(0, i))
        self.weather_info.setText(weather_summary(current))

    def _show_tariff(self, t: Tariff) -> None:
        p = t.hourly_price_usd_per_kwh
        for h in range(24):
            a = QTableWidgetItem(f"{h:02d}")
            a.setFlags(Qt.ItemFlag.ItemIsEnabled)
            a.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.prices.setItem(0, h, a)
            b = QTableWidgetItem(f"{p[h]:.5g}" if h < len(p) else "")
            b.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.prices.setItem(1, h, b)
        was = self._loading
        self._loading = True
        try:
            self.demand.setValue(t.demand_charge_usd_per_kw)
            self.off_demand.setValue(t.off_peak_demand_charge_usd_per_kw)
            self.win_start.setValue(int(t.demand_window_start_h))
            self.win_end.setValue(int(t.demand_window_end_h))
            self.weekdays.setChecked(bool(t.demand_window_weekdays_only))
            self.win_months.setText(months_text(t.demand_window_months))
        finally:
            self._loading = was
        self.chart.clear()
        if len(p) == 24:
            self.chart.addItem(pg.BarGraphItem(x=list(range(24)), height=p, width=0.8, brush="#59a14f"))
            self.chart.setXRange(-0.5, 23.5, padding=0)
            self.chart.setYRange(0, max(max(p), 1e-6) * 1.1, padding=0)


def _city(file_name: str) -> str:
    """``USA_AZ_Phoenix-Sky.Harbor.Intl.AP.722780_TMY3.epw`` -> ``Phoenix Sky Harbor Intl AP (AZ, USA)``."""
    stem = file_name.rsplit(".epw", 1)[0]
    parts = stem.split("_")
    if len(parts) >= 3:
        place = parts[2].rsplit(".", 1)[0].replace("-", " ").replace(".", " ")
        return f"{place} ({parts[1]}, {parts[0]})"
    return file_name


def weather_summary(path_or_name: str) -> str:
    """Location and ASHRAE design conditions of an EPW file (or why it cannot be read)."""
    from planner.weather import WeatherError, load_weather
    if not path_or_name:
        return "No weather file: pick one."
    try:
        h = load_weather(path_or_name).header
    except WeatherError as e:
        return f"⚠ {e}"
    u = units()
    lines = [f"{h.city}, {h.state} {h.country} (WMO {h.wmo}) — {h.latitude:.2f}°, {h.longitude:.2f}°, "
             f"{u.fmt('length', h.elevation_m, 0)}, UTC{h.tz_offset_h:+g} h, {h.data_source}"]
    d = h.design
    if d:
        def t(k):
            return u.fmt("temp", d[k]) if k in d else "—"
        lines.append(f"ASHRAE design: cooling 0.4 % {t('cooling_db_004')} dry bulb"
                     + (f" / {t('cooling_mcwb_004')} coincident wet bulb" if "cooling_mcwb_004" in d else "")
                     + (f"; evaporation 0.4 % {t('evaporation_wb_004')} wet bulb" if "evaporation_wb_004" in d else "")
                     + (f"; heating 99.6 % {t('heating_db_996')}" if "heating_db_996" in d else ""))
    else:
        lines.append("No ASHRAE design conditions in this file.")
    return "\n".join(lines)
