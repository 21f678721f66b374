"""The main window: floor plan in the centre, catalog left, inspector right, problems and history below."""
from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QApplication, QComboBox, QDockWidget, QLabel, QMainWindow, QSizePolicy, QToolBar,
                               QUndoView, QVBoxLayout, QWidget)

from models import store
from models.store import PlanFileError
from planner.plan import Plan
from ui import commands as cmds
from ui import file_jobs, jobs, messages
from ui.analysis import Analysis
from ui.autosave import Autosaver, side_path, untitled_autosave_path
from ui.catalog_dock import CatalogWidget
from ui.document import FLOOR_UNIT_KINDS, PlanDocument, new_plan, unit_size
from ui.elevation import ElevationWidget
from ui.floor_view import COLOR_MODES, FloorScene, FloorView
from ui.icons import icon
from ui.inspector import Inspector
from ui.problems_dock import ProblemsWidget
from ui.units import IMPERIAL, SI, units

MAX_RECENT = 8
APP_NAME = "dcplan"


class MainWindow(QMainWindow):
    def __init__(self, plan: Plan | None = None, path: Path | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.settings = QSettings("dcplan", "dcplan")
        self.doc = PlanDocument(plan if plan is not None else new_plan(), path, self)
        self.scene = FloorScene(self.doc, self)
        self.view = FloorView(self.doc, self.scene)
        self.view.setObjectName("floorView")
        self.autosaver = Autosaver(self.doc, self)
        self.autosaver.sigFailed.connect(self._autosave_failed)  # bound method: queued from the worker
        self.analysis = Analysis(self)
        central = QWidget()
        central.setObjectName("floorArea")
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.analysis.scrubber)  # the heat map's time scrubber, under the floor
        self.setCentralWidget(central)
        self._build_docks()
        self._build_actions()
        self.analysis.run_button.setDefaultAction(self.act_run)
        self.analysis.scrubber.sigQuantityChanged.connect(lambda _q: self._update_legend())
        self._build_menus()
        self._build_toolbar()
        self._build_status()
        self.view.context_actions = [self.act_rename, self.act_rotate_cw, self.act_rotate_ccw, self.act_flip,
                                     self.act_duplicate, None, self.act_align_row, self.act_align_col, None,
                                     self.act_delete]
        self.doc.sigDirtyChanged.connect(self._update_title)
        self.doc.sigPathChanged.connect(self._update_title)
        self.doc.sigSelectionChanged.connect(self._update_actions)
        self.doc.sigProblemsChanged.connect(self._update_totals)
        self.doc.sigPlanReplaced.connect(self._on_plan_replaced)
        self.doc.sigHallChanged.connect(self._on_plan_replaced)
        self.doc.sigPlanChanged.connect(self._on_plan_changed)
        self.view.sigServerTypeDropped.connect(self.add_server_to_rack)
        self.view.sigUnitDropped.connect(lambda name, x, y: self.place_unit(name, (x, y)))
        self.view.sigZoomChanged.connect(self._update_zoom)
        units().sigChanged.connect(self._on_units)
        self._fill_halls()
        self._update_title()
        self._update_actions()
        self._update_totals()
        self._update_legend()
        # lay the docks out now: before its first activation the layout's minimum is the docks' size
        # hints stacked (1,337 px for the demo), and a resize before show was clamped to it
        self.layout().activate()
        self._size_to_screen()
        self.resizeDocks([self.catalog_dock, self.inspector_dock], [380, 370], Qt.Orientation.Horizontal)
        self.resizeDocks([self.catalog_dock, self.elevation_dock], [460, 480], Qt.Orientation.Vertical)
        self.resizeDocks([self.problems_dock], [170], Qt.Orientation.Vertical)
        self.view.fit_soon()

    def _size_to_screen(self) -> None:
        """Open at 1600 x 1000 or 95 % of the available screen, whichever is smaller."""
        screen = self.screen() or QApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else None
        w, h = 1600, 1000
        if avail is not None and avail.width() > 0:
            w, h = min(w, int(avail.width() * 0.95)), min(h, int(avail.height() * 0.95))
        self.resize(w, h)

    # ================================================================ layout
    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(name)
        d.setWidget(widget)
        d.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
                      | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, d)
        return d

    def _build_docks(self) -> None:
        self.catalog = CatalogWidget(lambda: self.doc.plan.server_types)
        self.catalog.sigAddServerToSelection.connect(self.add_server_to_selection)
        self.catalog.sigPlaceUnit.connect(lambda name: self.place_unit(name, None))
        self.catalog_dock = self._dock("Catalog", "catalogDock", self.catalog, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.elevation = ElevationWidget(self.doc)
        self.elevation.setObjectName("elevation")
        self.elevation.type_lookup = self.catalog.server_type
        self.elevation.sigServerTypeDropped.connect(self.add_server_at)
        self.elevation_dock = self._dock("Rack Elevation", "elevationDock", self.elevation,
                                         Qt.DockWidgetArea.LeftDockWidgetArea)
        self.splitDockWidget(self.catalog_dock, self.elevation_dock, Qt.Orientation.Vertical)
        self.inspector = Inspector(self.doc)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector,
                                         Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems = ProblemsWidget(self.doc)
        self.problems.sigRackActivated.connect(self.view.center_on_rack)
        self.problems.sigUnitActivated.connect(self._center_on_unit)
        self.problems_dock = self._dock("Problems", "problemsDock", self.problems, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.undo_view = QUndoView(self.doc.undo_stack)
        self.undo_view.setObjectName("undoView")
        self.undo_view.setEmptyLabel("<opened plan>")
        self.history_dock = self._dock("History", "historyDock", self.undo_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, self.history_dock)
        self.results_dock = self._dock("Results", "resultsDock", self.analysis.results,
                                       Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, self.results_dock)
        from ui.jobs_editor import JobsEditor
        from ui.plant_editor import PlantEditor
        from ui.scenario_editor import ScenarioEditor

        self.jobs_editor = JobsEditor(self.doc, self.analysis)
        self.jobs_dock = self._dock("Jobs", "jobsDock", self.jobs_editor, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, self.jobs_dock)
        self.scenario_editor = ScenarioEditor(self.doc, self.analysis)
        self.scenario_dock = self._dock("Site && Scenarios", "scenarioDock", self.scenario_editor,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        self.plant_editor = PlantEditor(self.doc)
        self.plant_dock = self._dock("Plant", "plantDock", self.plant_editor, Qt.DockWidgetArea.RightDockWidgetArea)
        from ui.power_editor import PowerEditor

        self.power_editor = PowerEditor(self.doc)
        self.power_dock = self._dock("Power Feeds", "powerDock", self.power_editor, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, self.power_dock)
        self.tabifyDockWidget(self.inspector_dock, self.scenario_dock)
        self.tabifyDockWidget(self.inspector_dock, self.plant_dock)
        self.inspector_dock.raise_()
        self.problems_dock.raise_()
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

    def _action(self, text: str, slot, shortcut=None, tip: str = "", icon_name: str | None = None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                a.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(f"{text.replace('&', '').rstrip('…')} ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                         if shortcut is not None else tip)
        if icon_name:
            a.setIcon(icon(icon_name))
        a.triggered.connect(slot)
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.act_new = self._action("&New", self.file_new, K.New, "Start a new, empty plan", "new")
        self.act_open = self._action("&Open…", self.file_open, K.Open, "Open a .dcplan file", "open")
        self.act_save = self._action("&Save", self.file_save, K.Save, "Save the plan", "save")
        self.act_save_as = self._action("Save &As…", self.file_save_as, K.SaveAs, "Save the plan under a new name")
        self.act_import = self._action("&Import Rack Plan from CSV…", self.import_csv, None,
                                       "Import racks.csv / devices.csv / rack_plan.csv")
        self.act_export = self._action("&Export Rack Plan to CSV…", self.export_csv, None,
                                       "Write racks.csv, devices.csv and rack_plan.csv")
        self.act_quit = self._action("&Quit", self.close, K.Quit, "Close dcplan")
        # fixed "Undo"/"Redo" labels (QUndoStack's own actions put the command text in the label,
        # and a long rack name then widens the toolbar); the command goes in the tooltip
        stack = self.doc.undo_stack
        self.act_undo = self._action("&Undo", stack.undo, None, "Undo the last edit", "undo")
        self.act_undo.setShortcuts(QKeySequence.keyBindings(K.Undo))
        self.act_redo = self._action("&Redo", stack.redo, None, "Redo the edit undone last", "redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z")] + [k for k in QKeySequence.keyBindings(K.Redo)
                                                                     if k != QKeySequence("Ctrl+Shift+Z")])
        stack.canUndoChanged.connect(self.act_undo.setEnabled)
        stack.canRedoChanged.connect(self.act_redo.setEnabled)
        stack.undoTextChanged.connect(self._undo_text_changed)
        stack.redoTextChanged.connect(self._redo_text_changed)
        self._undo_text_changed(stack.undoText())
        self._redo_text_changed(stack.redoText())
        self.act_add_rack = self._action("Add &Rack", self.add_rack, "Ctrl+Shift+R",
                                         "Add a rack at the nearest free spot to the view centre", "add_rack")
        self.act_add_row = self._action("Add Ro&w of Racks…", self.add_row, "Ctrl+Shift+W",
                                        "Add a row of N racks side by side", "add_row")
        self.act_duplicate = self._action("&Duplicate", self.duplicate, "Ctrl+D", "Copy the selected racks with their servers",
                                          "duplicate")
        self.act_delete = self._action("De&lete", self.delete, [QKeySequence.StandardKey.Delete, "Backspace"],
                                       "Delete the selected racks and cooling units", "delete")
        self.act_rename = self._action("Re&name…", self.rename, "F2", "Rename the selected rack in place")
        self.act_rotate_cw = self._action("Rotate &Clockwise", lambda: self.rotate("cw"), "R",
                                          "Turn the selected racks 90° clockwise", "rotate_cw")
        self.act_rotate_ccw = self._action("Rotate C&ounter-clockwise", lambda: self.rotate("ccw"), "Shift+R",
                                           "Turn the selected racks 90° counter-clockwise", "rotate_ccw")
        self.act_flip = self._action("&Flip Front (180°)", lambda: self.rotate("flip"), "Ctrl+Shift+F",
                                     "Turn each selected rack to face the other aisle", "flip")
        self.act_align_row = self._action("Align in a Ro&w", lambda: self.align("row"), "Ctrl+Shift+H",
                                          "Give the selected racks the y of the first one", "align_row")
        self.act_align_col = self._action("Align in a Co&lumn", lambda: self.align("column"), "Ctrl+Shift+V",
                                          "Give the selected racks the x of the first one", "align_col")
        self.act_select_all = self._action("Select &All", self.select_all, K.SelectAll, "Select every rack")
        self.act_deselect = self._action("Select &None", lambda: self.doc.set_selection(), K.Deselect,
                                         "Clear the selection")
        self.act_zoom_in = self._action("Zoom &In", lambda: self.view.zoom_by(1.25), K.ZoomIn, "Zoom in", "zoom_in")
        self.act_zoom_out = self._action("Zoom &Out", lambda: self.view.zoom_by(0.8), K.ZoomOut, "Zoom out", "zoom_out")
        self.act_fit = self._action("&Fit Hall", self.view.fit_hall, "Ctrl+0", "Show the whole hall", "fit")
        self.color_group = QActionGroup(self)
        self.color_actions = {}
        for mode, label in COLOR_MODES.items():
            a = QAction(label, self, checkable=True)
            a.setData(mode)
            a.setChecked(mode == "loop")
            a.triggered.connect(lambda _c=False, m=mode: self.set_color_mode(m))
            self.color_group.addAction(a)
            self.color_actions[mode] = a
        self.unit_group = QActionGroup(self)
        self.act_si = QAction("SI (kW, °C, m, m³/s)", self, checkable=True)
        self.act_imperial = QAction("Imperial (BTU/h, tons, °F, ft, CFM)", self, checkable=True)
        for a, system in ((self.act_si, SI), (self.act_imperial, IMPERIAL)):
            self.unit_group.addAction(a)
            a.setChecked(units().system == system)
            a.triggered.connect(lambda _c=False, s=system: units().set_system(s))
        self.act_about = self._action("&About dcplan", self.about, None, "About")
        self.act_run = self._action("&Run", self.analysis.run, "F5",
                                    "Simulate the current scenario (results appear in the Results dock)", "run")
        self.act_cancel_run = self._action("&Cancel Run", self.analysis.cancel, "Shift+F5",
                                           "Stop the running simulation (results stay as they were)")
        self.act_cancel_run.setEnabled(False)
        self.act_export_plots = self._action("Export &Plots (PNG, SVG)…", lambda: self.analysis.export_plots(), None,
                                             "Write every plot of the current run as PNG and SVG")
        self.act_export_ts = self._action("Export &Time Series (CSV)…", lambda: self.analysis.export_csv(), None,
                                          "Write the current run's minute series as CSV")
        self.act_report = self._action("&Report (PDF)…", lambda: self.analysis.export_report(), "Ctrl+P",
                                       "Answers, plots and the floor heat map at the worst instant, as a PDF")
        self.act_compare = self._action("C&ompare Runs", lambda: self.analysis.show_compare(), None,
                                        "Two scenarios, or before and after an edit, side by side")
        self.act_schedule = self._action("&Schedule…", lambda: self.analysis.schedule(), "Ctrl+F5",
                                         "Schedule the job list (method choice) and compare with first-come-first-served")

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        for a in (self.act_new, self.act_open):
            m.addAction(a)
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._fill_recent()
        m.addSeparator()
        for a in (self.act_save, self.act_save_as):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_import)
        m.addAction(self.act_export)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        m.addAction(self.act_undo)
        m.addAction(self.act_redo)
        m.addSeparator()
        for a in (self.act_add_rack, self.act_add_row, self.act_duplicate, self.act_rename, self.act_delete):
            m.addAction(a)
        m.addSeparator()
        for a in (self.act_rotate_cw, self.act_rotate_ccw, self.act_flip, self.act_align_row, self.act_align_col):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_select_all)
        m.addAction(self.act_deselect)
        m = mb.addMenu("&View")
        for a in (self.act_zoom_in, self.act_zoom_out, self.act_fit):
            m.addAction(a)
        m.addSeparator()
        cm = m.addMenu("&Colour Racks By")
        for a in self.color_actions.values():
            cm.addAction(a)
        um = m.addMenu("&Units")
        um.addAction(self.act_si)
        um.addAction(self.act_imperial)
        m.addSeparator()
        for d in (self.catalog_dock, self.elevation_dock, self.inspector_dock, self.problems_dock, self.history_dock,
                  self.results_dock, self.scenario_dock, self.plant_dock, self.jobs_dock, self.power_dock):
            m.addAction(d.toggleViewAction())
        self.sim_menu = m = mb.addMenu("&Simulation")
        m.addAction(self.act_run)
        m.addAction(self.act_cancel_run)
        m.addSeparator()
        m.addAction(self.act_schedule)
        m.addAction(self.act_compare)
        m.addSeparator()
        for a in (self.act_export_plots, self.act_export_ts, self.act_report):
            m.addAction(a)
        m = mb.addMenu("&Help")
        m.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main", self)
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        tb.setIconSize(tb.iconSize() * 1.0)
        # short button labels (the menus keep the full ones) leave room for the hall picker
        for a, text in ((self.act_add_row, "Add Row"), (self.act_rotate_cw, "Rotate"), (self.act_flip, "Flip"),
                        (self.act_align_row, "Align"), (self.act_fit, "Fit")):
            a.setIconText(text)
        for a in (self.act_new, self.act_open, self.act_save, None, self.act_undo, self.act_redo, None,
                  self.act_add_rack, self.act_add_row, self.act_duplicate, self.act_rotate_cw, self.act_flip,
                  self.act_align_row, self.act_delete, None, self.act_fit):
            if a is None:
                tb.addSeparator()
            else:
                tb.addAction(a)
        tb.addAction(self.act_run)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        tb.addWidget(QLabel("Colour by "))
        self.color_combo = QComboBox()
        self.color_combo.setObjectName("colorMode")
        # the longest mode label would make the combo ~250 px and push Units off the toolbar
        self.color_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.color_combo.setMinimumContentsLength(13)
        for mode, label in COLOR_MODES.items():
            self.color_combo.addItem(label, mode)
        self.color_combo.activated.connect(lambda i: self.set_color_mode(self.color_combo.itemData(i)))
        tb.addWidget(self.color_combo)
        tb.addWidget(QLabel("  Units "))
        self.units_combo = QComboBox()
        self.units_combo.setObjectName("unitSystem")
        self.units_combo.addItem("SI", SI)
        self.units_combo.addItem("Imperial", IMPERIAL)
        self.units_combo.setCurrentIndex(1 if units().system == IMPERIAL else 0)
        self.units_combo.activated.connect(lambda i: units().set_system(self.units_combo.itemData(i)))
        tb.addWidget(self.units_combo)
        self.hall_label = QLabel("  Hall ")
        self.hall_combo = QComboBox()
        self.hall_combo.setObjectName("hallPicker")
        self.hall_combo.setToolTip("The hall shown: a plan with several halls is edited one hall at a time")
        self.hall_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.hall_combo.setMinimumContentsLength(10)
        self.hall_combo.activated.connect(self._hall_picked)
        self.hall_actions = [tb.addWidget(self.hall_label), tb.addWidget(self.hall_combo)]
        self.addToolBar(tb)
        self.toolbar = tb

    def _build_status(self) -> None:
        sb = self.statusBar()
        sb.addPermanentWidget(self.analysis.progress)
        self.totals_labels = {}
        for key, tip in (("racks", "Racks in the plan"), ("servers", "Servers placed"), ("gpus", "GPUs"),
                         ("it", "IT power with every server at max"),
                         ("cooling", "Cooling capacity: in-room units, limited by the plant"),
                         ("headroom", "Cooling capacity minus IT heat at max; plant at the site's ASHRAE design day "
                                      "when the first scenario's weather file has one"), ("zoom", "Zoom")):
            lbl = QLabel()
            lbl.setObjectName(f"status_{key}")
            lbl.setToolTip(tip)
            lbl.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(lbl)
            self.totals_labels[key] = lbl

    # ================================================================ state
    def _undo_text_changed(self, text: str) -> None:
        keys = self.act_undo.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.act_undo.setToolTip(f"Undo {cmds.short(text, 60)} ({keys})" if text else f"Nothing to undo ({keys})")
        self.act_undo.setStatusTip(f"Undo {text}" if text else "Nothing to undo")

    def _redo_text_changed(self, text: str) -> None:
        keys = self.act_redo.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.act_redo.setToolTip(f"Redo {cmds.short(text, 60)} ({keys})" if text else f"Nothing to redo ({keys})")
        self.act_redo.setStatusTip(f"Redo {text}" if text else "Nothing to redo")

    def _autosave_failed(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    def _on_plan_replaced(self) -> None:
        self._fill_halls()
        self._update_legend()

    def _on_plan_changed(self, change) -> None:
        if "hall" in change.other:
            self._fill_halls()
        if change.other or change.racks_any:
            self._update_legend()

    def _fill_halls(self) -> None:
        """Hall picker: shown only when the plan has more than one hall."""
        names = self.doc.hall_names()
        self.hall_combo.blockSignals(True)
        self.hall_combo.clear()
        for n in names:
            self.hall_combo.addItem(cmds.short(n, 30), n)
            self.hall_combo.setItemData(self.hall_combo.count() - 1, n, Qt.ItemDataRole.ToolTipRole)
        self.hall_combo.setCurrentIndex(max(0, self.hall_combo.findData(self.doc.hall().name)))
        self.hall_combo.blockSignals(False)
        for a in self.hall_actions:
            a.setVisible(len(names) > 1)

    def _hall_picked(self, index: int) -> None:
        self.doc.show_hall(self.hall_combo.itemData(index))

    def show_hall_of(self, rack: str | None = None, unit: str | None = None) -> None:
        """Show the hall of a rack or cooling unit (the problem list can point anywhere in the plan)."""
        r = self.doc.rack(rack) if rack else None
        u = self.doc.unit(unit) if unit else None
        hall = r.hall if r is not None else (self.doc.unit_hall(u) if u is not None else None)
        if hall and hall != self.doc.hall().name:
            self.doc.show_hall(hall)

    def _update_title(self, *_a) -> None:
        name = self.doc.display_name()
        where = f" — {self.doc.path.parent}" if self.doc.path else ""
        self.setWindowTitle(f"{name}[*]{where} — {APP_NAME}")
        self.setWindowModified(self.doc.dirty)

    def _update_actions(self) -> None:
        n = len(self.doc.selected_racks)
        any_sel = n > 0 or bool(self.doc.selected_units)
        for a in (self.act_duplicate, self.act_rotate_cw, self.act_rotate_ccw, self.act_flip):
            a.setEnabled(n > 0)
        self.act_rename.setEnabled(n == 1)
        self.act_delete.setEnabled(any_sel)
        self.act_align_row.setEnabled(n > 1)
        self.act_align_col.setEnabled(n > 1)

    def _update_totals(self) -> None:
        t = self.doc.totals()
        u = units()
        L = self.totals_labels
        L["racks"].setText(f"Racks <b>{t.racks:,}</b>")
        L["servers"].setText(f"Servers <b>{t.servers:,}</b>")
        L["gpus"].setText(f"GPUs <b>{t.gpus:,}</b>")
        if u.system == IMPERIAL:  # its heat in the unit of the cooling and headroom beside it (tons), not BTU/h
            L["it"].setText(f"IT at max <b>{u.fmt('power', t.it_kw_max, 0)}</b> ({u.fmt('cooling', t.it_kw_max)} of heat)")
        else:
            L["it"].setText(f"IT at max <b>{u.fmt('power', t.it_kw_max, 0)}</b>")
        L["cooling"].setText(f"Cooling <b>{u.fmt('cooling', t.cooling_capacity_kw, 0)}</b>")
        color = "#b91c1c" if t.headroom_kw < 0 else "#1f7a3f"
        at = "" if t.design_dry_bulb_c is None else f" at {u.fmt('temp', t.design_dry_bulb_c, 1)}"
        L["headroom"].setText(f"Headroom <b style='color:{color}'>{u.fmt('cooling', t.headroom_kw, 0)}</b>{at}")

    def _update_zoom(self, px_per_m: float) -> None:
        self.totals_labels["zoom"].setText(f"{px_per_m:.0f} px/m")

    def _update_legend(self) -> None:
        from ui.floor_items import COLD_AISLE, FRONT_COLOR, HOT_AISLE, ramp_color
        from PySide6.QtGui import QColor

        mode = self.scene.color_mode
        entries = []
        if mode == "loop":
            entries = [(c, n) for n, c in self.scene.loop_colors()][:8]
            if len(self.scene.loop_colors()) > 8:
                entries.append((QColor("#888"), f"… {len(self.scene.loop_colors()) - 8} more loops"))
        elif mode == "density":
            from ui.floor_view import DENSITY_FULL_SCALE_KW

            from ui.floor_items import density_color

            for kw in (0, 40, 80, 120, DENSITY_FULL_SCALE_KW):
                entries.append((density_color(kw / DENSITY_FULL_SCALE_KW), f"{kw:.0f} kW" + ("+" if kw == DENSITY_FULL_SCALE_KW else "")))
        elif mode == "budget":
            entries = [(ramp_color(0.25), "< 50 %"), (ramp_color(0.75), "75 %"), (ramp_color(1.0), "100 %"),
                       (ramp_color(1.2), "over budget")]
        elif self.analysis.scrubber.rs is not None:
            from ui.heatmap import LUT, QUANTITIES

            sc = self.analysis.scrubber
            kind = QUANTITIES[sc.quantity][1]
            for i in (255, 191, 128, 64, 0):
                entries.append((LUT[i], sc.bar.label(sc.lo + (sc.hi - sc.lo) * i / 255)))
            entries.append((QColor("#d9dde2"), "no value (no GPUs / no air)" if kind == "temp" else "no GPUs"))
        else:
            entries = [(QColor("#d9dde2"), "run a simulation (F5) to colour by temperature")]
        solid = QColor(COLD_AISLE)
        solid.setAlpha(160)
        hot = QColor(HOT_AISLE)
        hot.setAlpha(160)
        entries += [(solid, "cold aisle (rack fronts)"), (hot, "hot aisle (rack backs)"), (FRONT_COLOR, "rack front edge")]
        title = COLOR_MODES[mode]
        if mode == "temperature" and self.analysis.scrubber.rs is not None:
            from ui.heatmap import QUANTITIES

            title = f"{QUANTITIES[self.analysis.scrubber.quantity][0]} at the time under the floor"
        self.view.legend.set_entries(title, entries)

    def set_color_mode(self, mode: str) -> None:
        self.scene.set_color_mode(mode)
        self.color_actions[mode].setChecked(True)
        self.color_combo.setCurrentIndex(self.color_combo.findData(mode))
        self._update_legend()

    def _on_units(self, system: str) -> None:
        (self.act_imperial if system == IMPERIAL else self.act_si).setChecked(True)
        self.units_combo.setCurrentIndex(1 if system == IMPERIAL else 0)
        self._update_totals()
        self.scene.invalidate(self.scene.sceneRect(), self.scene.SceneLayer.BackgroundLayer)
        self.view.resetCachedContent()

    def _center_on_unit(self, name: str) -> None:
        self.view.center_on_unit(name)

    # ================================================================ editing
    def _view_center(self) -> tuple[float, float]:
        c = self.view.mapToScene(self.view.viewport().rect().center())
        return c.x(), c.y()

    def add_rack(self) -> None:
        cmds.try_push(self.doc, self, cmds.add_rack_at, self._view_center())

    def add_row(self) -> None:
        params = messages.ask_row(self, {"count": 10, "orientation": None, "row": cmds.next_row_letter(self.doc),
                                         "feeds": [f.name for f in self.doc.plan.power_feeds]})
        if params:
            sel = self.doc.rack(self.doc.selected_racks[0]) if self.doc.selected_racks else None
            cmds.try_push(self.doc, self, cmds.add_row_at, self._view_center(), params["count"],
                          params.get("orientation"), params.get("row"), feeds=params.get("feeds", (None, None)),
                          neighbour=sel.row if sel is not None else None)

    def duplicate(self) -> None:
        cmds.try_push(self.doc, self, cmds.DuplicateCommand, self.doc.selected_racks)

    def delete(self) -> None:
        if self.doc.selected_racks or self.doc.selected_units:
            cmds.try_push(self.doc, self, cmds.DeleteCommand, self.doc.selected_racks, self.doc.selected_units)

    def rename(self) -> None:
        if len(self.doc.selected_racks) == 1:
            self.view.start_rename(self.doc.selected_racks[0])

    def rotate(self, turn: str) -> None:
        cmds.try_push(self.doc, self, cmds.RotateCommand, self.doc.selected_racks, turn)

    def align(self, axis: str) -> None:
        cmds.try_push(self.doc, self, cmds.AlignCommand, self.doc.selected_racks, axis)

    def select_all(self) -> None:
        self.doc.set_selection([r.name for r in self.doc.racks_here()], [])

    def add_server_to_rack(self, key: str, rack: str) -> None:
        t = self.catalog.server_type(key)
        if t is None:
            messages.warn(self, "Unknown server type", f"No server type {key!r} in the catalog or the plan.")
            return
        cmds.try_push(self.doc, self, cmds.AddServerCommand, rack, t)

    def add_server_at(self, key: str, rack: str, u: int) -> None:
        t = self.catalog.server_type(key)
        if t is not None:
            cmds.try_push(self.doc, self, cmds.AddServerCommand, rack, t, u)

    def add_server_to_selection(self, key: str) -> None:
        if len(self.doc.selected_racks) != 1:
            messages.warn(self, "Select one rack", "Select one rack first, then add the server to it "
                          "(or drag the server onto a rack).")
            return
        self.add_server_to_rack(key, self.doc.selected_racks[0])

    def place_unit(self, name: str, pos: tuple[float, float] | None) -> None:
        tpl = self.catalog.cooling_unit(name)
        if tpl is None:
            return
        if pos is None and tpl.kind in FLOOR_UNIT_KINDS:
            pos = self._view_center()
            w, d = unit_size(tpl)
            spot = cmds.find_free_spot(self.doc, w, d, pos)
            if spot is None:
                messages.warn(self, "Edit refused", "No free space on the floor for the unit.")
                return
            pos = (spot[0] + w / 2, spot[1] + d / 2)
        cmds.try_push(self.doc, self, cmds.AddCoolingUnitCommand, tpl, pos)

    # ================================================================ files
    def _recent(self) -> list[str]:
        v = self.settings.value("recentFiles", [])
        if isinstance(v, str):
            v = [v]
        return [p for p in (v or []) if p]

    def _add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        rec = [p] + [r for r in self._recent() if r != p]
        self.settings.setValue("recentFiles", rec[:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        rec = self._recent()
        for i, p in enumerate(rec):
            a = self.recent_menu.addAction(f"&{i + 1}  {Path(p).name}  —  {Path(p).parent}")
            a.setData(p)
            a.triggered.connect(lambda _c=False, path=p: self.open_path(path))
        if not rec:
            a = self.recent_menu.addAction("(no recent plans)")
            a.setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", lambda: (self.settings.setValue("recentFiles", []),
                                                              self._fill_recent()))

    def maybe_save(self) -> bool:
        """True if it is fine to drop the current plan (saved, discarded, or clean)."""
        if not self.doc.dirty:
            return True
        answer = messages.ask_save_changes(self, self.doc.display_name())
        if answer == "save":
            return self.file_save()
        if answer == "discard":
            self.autosaver.discard()
            return True
        return False

    def file_new(self) -> None:
        if self.maybe_save():
            self.doc.set_plan(new_plan(), None)

    def file_open(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.doc.path.parent) if self.doc.path else ""
        path = messages.ask_open_path(self, start)
        if path:
            self.open_path(path, ask_save=False)

    def _load(self, path: Path, title: str):
        """Read a plan file on a worker thread: ``(plan, None)``, ``(None, message)`` or
        ``(None, None)`` if the user cancelled."""
        res = jobs.run_job(self, title, f"Reading {path.name}…", lambda tok: file_jobs.load_plan_file(path, tok))
        if res.cancelled:
            return None, None
        if isinstance(res.error, PlanFileError):
            return None, str(res.error)
        if isinstance(res.error, OSError):
            return None, f"{path}: {res.error.strerror or res.error}"
        if res.error is not None:
            return None, f"{path}: {res.error.__class__.__name__}: {res.error}"
        return res.value, None

    def open_path(self, path, ask_save: bool = True) -> bool:
        """Open a plan file, offering recovery if an autosave newer than it exists.

        The file is read on a worker thread (progress dialog with Cancel after a short
        delay); Cancel leaves the open plan as it was.
        """
        if ask_save and not self.maybe_save():
            return False
        path = Path(path)
        t0 = time.perf_counter()
        stamp = store.disk_stamp(path)  # before reading: a save by another program after it shows
        side = side_path(path)
        plan, dirty = None, False
        if side.exists() and (not path.exists() or side.stat().st_mtime >= path.stat().st_mtime):
            when = datetime.fromtimestamp(side.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
            if messages.ask_recover(self, path.name, when):
                plan, error = self._load(side, "Recover plan")
                if error:
                    messages.warn(self, "Cannot recover", f"The autosave cannot be read:\n{error}")
                elif plan is None:
                    self.statusBar().showMessage("Recovery cancelled", 5000)
                    return False
                dirty = plan is not None
            else:
                self.autosaver.discard(path)
        if plan is None:
            plan, error = self._load(path, "Open plan")
            if error:
                messages.warn(self, "Cannot open plan", error)
                return False
            if plan is None:
                self.statusBar().showMessage(f"Opening {path.name} cancelled", 5000)
                return False
        self.doc.set_plan(plan, path, dirty=dirty)
        self.doc.disk_stamp = stamp
        self._add_recent(path)
        self.statusBar().showMessage(f"Opened {path.name} in {time.perf_counter() - t0:.2f} s", 5000)
        return True

    def offer_untitled_recovery(self) -> None:
        side = untitled_autosave_path()
        if side.exists():
            when = datetime.fromtimestamp(side.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
            if messages.ask_recover(self, "an untitled plan", when):
                plan, error = self._load(side, "Recover plan")
                if error:
                    messages.warn(self, "Cannot recover", f"The autosave cannot be read:\n{error}")
                elif plan is not None:
                    self.doc.set_plan(plan, None, dirty=True)
            else:
                self.autosaver.discard(None)

    def file_save(self) -> bool:
        if self.doc.path is None:
            return self.file_save_as()
        return self.save_to(self.doc.path)

    def file_save_as(self) -> bool:
        start = str(self.doc.path) if self.doc.path else "plan.dcplan"
        path = messages.ask_save_path(self, start)
        if not path:
            return False
        return self.save_to(Path(path))

    def save_to(self, path: Path) -> bool:
        """Save a snapshot of the plan on a worker thread; Cancel (before the final rename)
        leaves the file on disk unchanged and the plan marked modified."""
        path = Path(path)
        old_side_owner = self.doc.path
        snap = self.doc.snapshot()
        clean_index = self.doc.undo_stack.index()
        same = self.doc.path is not None and os.path.realpath(self.doc.path) == os.path.realpath(path)
        expect = self.doc.disk_stamp if same else None  # saving over the file we read: has it changed?
        while True:
            res = jobs.run_job(self, "Save plan", f"Saving {path.name}…",
                               lambda tok: file_jobs.save_plan_file(snap, path, tok, expect))
            if not isinstance(res.error, store.ChangedOnDisk):
                break
            if not messages.confirm(self, "File changed on disk", f"{path.name} was changed on disk since you opened "
                                    "it (another program saved it). Overwrite it with your version?", "Overwrite"):
                return False
            expect = None
        if res.cancelled:
            self.statusBar().showMessage(f"Save cancelled: {path.name} is unchanged", 5000)
            return False
        if res.error is not None:
            e = res.error
            text = str(e) if isinstance(e, PlanFileError) else f"{path}: {getattr(e, 'strerror', None) or e}"
            messages.warn(self, "Cannot save plan", text)
            return False
        self.autosaver.discard(old_side_owner)
        self.doc.set_path(path)
        self.doc.disk_stamp = res.value
        if self.doc.undo_stack.index() == clean_index:
            self.doc.undo_stack.setClean()
        self.autosaver.discard(path)
        self._add_recent(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def export_csv(self) -> None:
        start = str(self.doc.path.parent) if self.doc.path else ""
        folder = messages.ask_directory(self, "Export rack plan to folder", start)
        if not folder:
            return
        snap = self.doc.snapshot()
        res = jobs.run_job(self, "Export rack plan", f"Writing CSV files to {folder}…",
                           lambda tok: file_jobs.export_csv_files(snap, Path(folder), tok))
        if res.cancelled:
            self.statusBar().showMessage("Export cancelled: no file was written", 5000)
            return
        if res.error is not None:
            messages.warn(self, "Export failed", f"{folder}: {res.error}")
            return
        messages.info(self, "Rack plan exported", "Wrote:\n" + "\n".join(str(p) for p in res.value))

    def import_csv(self) -> None:
        from planner.csv_exchange import CsvImportError, DeletionsRefused

        start = str(self.doc.path.parent) if self.doc.path else ""
        files = messages.ask_csv_files(self, start)
        if not files:
            return
        try:
            kw = file_jobs.classify_csv(files)
        except ValueError as e:
            messages.warn(self, "Import refused", str(e))
            return
        names = ", ".join(Path(f).name for f in files)
        snap = self.doc.snapshot()
        catalog = list(self.catalog.server_types)
        res = jobs.run_job(self, "Import rack plan", f"Importing {names}…",
                           lambda tok: file_jobs.import_csv_files(snap, kw, catalog, tok))
        if isinstance(res.error, DeletionsRefused):
            if not messages.confirm(self, "Remove servers?", f"The import would remove {res.error.removed:,} of the "
                                    f"plan's {res.error.servers:,} servers: {names} list their racks without them.",
                                    "Remove them"):
                self.statusBar().showMessage("Import cancelled: the plan is unchanged", 5000)
                return
            res = jobs.run_job(self, "Import rack plan", f"Importing {names}…",
                               lambda tok: file_jobs.import_csv_files(snap, kw, catalog, tok, allow_deletions=True))
        if res.cancelled:
            self.statusBar().showMessage("Import cancelled: the plan is unchanged", 5000)
            return
        if isinstance(res.error, CsvImportError):
            messages.warn(self, "Import refused", str(res.error))
            return
        if res.error is not None:
            messages.warn(self, "Import failed", str(res.error))
            return
        out = res.value
        try:
            cmd = cmds.ReplacePlanCommand(self.doc, out.plan, f"Import {names}")
        except cmds.NoChange:
            messages.info(self, "Nothing to import", f"{names}: the plan already matches the files; nothing changed.")
            return
        self.doc.push(cmd)
        summary = (f"{out.created_racks} racks created, {out.updated_racks} updated; "
                   f"{out.created_servers} servers created, {out.removed_servers} removed.")
        notes = "\n".join([f"⚠ {w}" for w in out.warnings] + [f"• {n}" for n in out.notes[:20]])
        messages.info(self, "Rack plan imported", summary + ("\n\n" + notes if notes else ""))

    def about(self) -> None:
        messages.info(self, "About dcplan", "dcplan — desktop planner for AI datacenter floors.\n"
                      "Racks, GPU servers, cooling loops and power feeds with live capacity checks.")

    def closeEvent(self, event) -> None:
        if self.maybe_save():
            self.analysis.runner.cancel()
            self.analysis.runner.wait()
            self.autosaver.wait()
            if not self.doc.dirty:
                self.autosaver.discard()
            event.accept()
        else:
            event.ignore()
