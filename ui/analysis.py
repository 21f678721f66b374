"""Simulation in the main window: the Simulation menu, runs with progress, the results views.

:class:`Analysis` is owned by the :class:`~ui.main_window.MainWindow`. It adds

* **Simulation ▸ Run** (F5) on the scenario picked in the toolbar, **Cancel Run** (Shift+F5);
  a progress bar with elapsed and remaining time and a Cancel button in the status bar while the
  solver works on its thread (the window stays usable); F5 during a run does nothing but say so;
* the **Results** dock: the Answers panel (rack names select racks) and tabs with the time series,
  the schedule (Gantt) and Compare;
* the time scrubber under the floor that drives the "Temperature" colour mode;
* stale marking on every edit, and for small plans (≤ :data:`AUTO_MAX_SERVERS` servers) an automatic
  re-run of the scenario's first day :data:`AUTO_DELAY_MS` after the last edit, once the plan has
  been simulated in this session. Opening a plan runs nothing.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSplitter, QTabWidget,
                               QToolButton, QVBoxLayout, QWidget)

from ui import messages
from ui.answers_panel import AnswersPanel
from ui.heatmap import TimeScrubber
from ui.plots import TimeSeriesPlots
from ui.sim_runner import ResultsStore, RunRequest, SimulationRunner

#: Plans with at most this many servers re-simulate automatically after an edit (issue 10).
AUTO_MAX_SERVERS = 200
#: Quiet time after the last edit before the automatic re-run [ms].
AUTO_DELAY_MS = 1200
#: Automatic re-runs cover the scenario's first day at most [s].
AUTO_HORIZON_S = 86400.0


def fmt_duration(s: float) -> str:
    if s < 0:
        return "…"
    s = int(round(s))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


class RunProgress(QWidget):
    """Status-bar progress: bar, elapsed and remaining time, Cancel."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("runProgress")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(True)
        self.label = QLabel()
        self.label.setObjectName("runProgressLabel")
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("cancelRun")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.what = QLabel("Simulating")
        lay.addWidget(self.what)
        lay.addWidget(self.bar)
        lay.addWidget(self.label)
        lay.addWidget(self.cancel)
        self.hide()

    def set_progress(self, f: float, elapsed: float, remaining: float) -> None:
        self.bar.setValue(int(f * 1000))
        self.bar.setFormat(f"{f * 100:.0f} %")
        self.label.setText(f"{fmt_duration(elapsed)} elapsed, {fmt_duration(remaining)} left")


class ResultsWidget(QWidget):
    """Results dock content: answers on the left, tabs of views on the right."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsWidget")
        self.title = QLabel("No results yet")
        self.title.setObjectName("resultsTitle")
        self.title.setStyleSheet("font-weight:600; padding:2px 4px;")
        self.header = QHBoxLayout()
        self.header.setContentsMargins(0, 0, 0, 0)
        self.header.addWidget(QLabel("Scenario"))
        self.answers = AnswersPanel()
        self.answers.setMinimumWidth(240)
        self.plots = TimeSeriesPlots()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("resultsTabs")
        self.tabs.addTab(self.plots, "Time series")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.answers)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([430, 1100])
        # the schedule and compare tabs' size hints would make the bottom docks 412 px tall at least
        # (tabbed with the problem list), leaving a 1,000 px screen little floor; they scroll instead
        split.setMinimumHeight(120)
        self.splitter = split
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(self.header)
        lay.addWidget(self.title)
        lay.addWidget(split, 1)


class Analysis(QObject):
    """See module doc."""

    sigOutcome = Signal(object)  # RunOutcome shown

    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        self.doc = win.doc
        self.runner = SimulationRunner(self)
        self.sched_runner = SimulationRunner(self)  # Simulation ▸ Schedule… (same machinery)
        self.store = ResultsStore(self)
        self.results = ResultsWidget()
        self.scrubber = TimeScrubber()
        self.progress = RunProgress()
        self.scenario_combo = QComboBox()
        self.scenario_combo.setObjectName("scenarioCombo")
        self.scenario_combo.setMinimumContentsLength(18)
        self.scenario_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.scenario_combo.setToolTip("Scenario that Simulation ▸ Run (F5) simulates")
        self.scenario_name: str | None = None
        self.ran_once = False  # automatic re-runs start after the first run of this plan
        self._auto_pending = False
        self.auto_timer = QTimer(self)
        self.auto_timer.setSingleShot(True)
        self.auto_timer.setInterval(AUTO_DELAY_MS)
        self.auto_timer.timeout.connect(self.run_automatic)
        self.last_error: str | None = None
        from ui.schedule_view import ScheduleView

        self.schedule_view = ScheduleView(win, self)
        self.results.tabs.addTab(self.schedule_view, "Jobs && schedule")
        self.schedule_view.schedule_btn.clicked.connect(lambda: self.schedule())
        from ui.compare import CompareView

        self.compare_view = CompareView(self.store)
        self.results.tabs.addTab(self.compare_view, "Compare")
        sr = self.sched_runner
        sr.sigProgress.connect(self.progress.set_progress)
        sr.sigRunningChanged.connect(self._sched_running)
        sr.sigFinished.connect(self.schedule_view.finished)
        sr.sigFailed.connect(lambda msg, _req: messages.warn(self.win, "Cannot schedule", msg))
        sr.sigCancelled.connect(lambda _r: self.win.statusBar().showMessage("Scheduling cancelled", 5000))
        self.runner.sigProgress.connect(self.progress.set_progress)
        self.runner.sigRunningChanged.connect(self._running_changed)
        self.runner.sigFinished.connect(self._finished)
        self.runner.sigFailed.connect(self._failed)
        self.runner.sigCancelled.connect(self._cancelled)
        self.progress.cancel.clicked.connect(self.cancel)
        self.store.sigStaleChanged.connect(self._stale_changed)
        self.results.answers.sigRackClicked.connect(self.select_rack)
        self.scrubber.sigFrame.connect(win.scene.set_heat)
        run_button = QToolButton()
        run_button.setObjectName("runButton")
        run_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.run_button = run_button
        self.results.header.addWidget(self.scenario_combo)
        self.results.header.addWidget(run_button)
        self.results.header.addStretch(1)
        self.scenario_combo.activated.connect(lambda _i: self.set_scenario(self.scenario_combo.currentData()))
        self.doc.sigPlanChanged.connect(self._plan_changed)
        self.doc.sigPlanReplaced.connect(self._plan_replaced)
        self.doc.sigSelectionChanged.connect(self._selection_changed)
        self.fill_scenarios()

    # ------------------------------------------------------------ scenario
    def scenario(self):
        """The scenario F5 runs (the toolbar's pick, else the plan's first)."""
        sc = self.doc.plan.scenarios
        for s in sc:
            if s.name == self.scenario_name:
                return s
        return sc[0] if sc else None

    def set_scenario(self, name: str | None) -> None:
        self.scenario_name = name
        self.fill_scenarios()

    def fill_scenarios(self) -> None:
        c = self.scenario_combo
        c.blockSignals(True)
        c.clear()
        for s in self.doc.plan.scenarios:
            c.addItem(s.name, s.name)
        cur = self.scenario()
        if cur is not None:
            self.scenario_name = cur.name
            c.setCurrentIndex(c.findData(cur.name))
        else:
            c.addItem("(no scenario)", None)
        c.setEnabled(bool(self.doc.plan.scenarios))
        c.blockSignals(False)

    # ------------------------------------------------------------- running
    def run(self, automatic: bool = False) -> bool:
        """Simulation ▸ Run: start the current scenario; False if a run is going or nothing to run."""
        if self.runner.running:
            if not automatic:
                self.win.statusBar().showMessage("A simulation is already running (Cancel it first).", 4000)
            else:
                self._auto_pending = True
            return False
        sc = self.scenario()
        if sc is None:
            if not automatic:
                messages.warn(self.win, "Cannot simulate", "The plan has no scenario.\n\nFix it in: Plan ▸ "
                              "Scenarios — add one (start date, days, weather).")
            return False
        if not self.doc.plan.servers:
            if not automatic:
                messages.warn(self.win, "Cannot simulate", "The plan has no servers: put servers into racks first.")
            return False
        horizon = min(sc.horizon_s, AUTO_HORIZON_S) if automatic else None
        req = RunRequest(self.doc.snapshot(), sc, self.doc.generation, horizon, automatic,
                         label="automatic" if automatic else "F5")
        self._auto_pending = False
        self.last_error = None
        return self.runner.start(req)

    def run_automatic(self) -> None:
        if self._auto_ok():
            self.run(automatic=True)

    def _auto_ok(self) -> bool:
        return (self.ran_once and len(self.doc.plan.servers) <= AUTO_MAX_SERVERS and self.scenario() is not None
                and self.store.stale)

    def schedule(self, method: str | None = None) -> bool:
        """Simulation ▸ Schedule…: the scheduler on a worker thread; F5-like rules (one at a time)."""
        if self.sched_runner.running or self.runner.running:
            self.win.statusBar().showMessage("Wait for the running simulation or schedule (or Cancel it).", 4000)
            return False
        self.results.tabs.setCurrentWidget(self.schedule_view)
        self.raise_results()
        return self.schedule_view.start(method)

    def _sched_running(self, running: bool) -> None:
        self.progress.what.setText("Scheduling" if running else "Simulating")
        self.progress.setVisible(running)
        self.win.act_cancel_run.setEnabled(running)
        if running:
            self.progress.set_progress(0.0, 0.0, -1.0)

    def show_compare(self) -> None:
        self.results.tabs.setCurrentWidget(self.compare_view)
        self.raise_results()

    # ------------------------------------------------------------- exports
    def _need_results(self) -> bool:
        if self.store.current is None:
            messages.warn(self.win, "Nothing to export", "Run a simulation first (Simulation ▸ Run, F5).")
            return False
        return True

    def export_plots(self) -> None:
        from planner.outputs import OutputError
        from ui.export import export_all_plots

        if not self._need_results():
            return
        folder = messages.ask_directory(self.win, "Export plots (PNG and SVG) to folder")
        if not folder:
            return
        try:
            paths = export_all_plots(self.win, folder)
        except OutputError as e:
            messages.warn(self.win, "Export failed", str(e))
            return
        messages.info(self.win, "Plots exported", f"Wrote {len(paths)} files to {folder}")

    def _export_file(self, title: str, suggestion: str, filters: str, write) -> None:
        """Ask where, ``write(path) -> note`` (through ``planner.outputs``), say what was written."""
        from planner.outputs import OutputError

        if not self._need_results():
            return
        path = messages.ask_export_path(self.win, title, suggestion, filters)
        if not path:
            return
        try:
            note = write(path)
        except OutputError as e:
            messages.warn(self.win, f"{title} failed", str(e))
            return
        self.win.statusBar().showMessage(f"Wrote {path}{note}", 5000)

    def export_csv(self) -> None:
        from ui.export import export_timeseries_csv

        self._export_file("Export time series", "timeseries.csv", "CSV files (*.csv)",
                          lambda p: export_timeseries_csv(self.win, p) and "")

    def export_report(self) -> None:
        from ui.export import write_report

        self._export_file("Report (PDF)", "report.pdf", "PDF files (*.pdf)",
                          lambda p: f" ({write_report(self.win, p)} pages)")

    def cancel(self) -> None:
        self.sched_runner.cancel()
        self.runner.cancel()
        self.progress.label.setText("cancelling…")

    def _running_changed(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.win.act_run.setEnabled(True)
        self.win.act_cancel_run.setEnabled(running)
        if running:
            self.progress.set_progress(0.0, 0.0, -1.0)

    def _finished(self, out) -> None:
        self.ran_once = True
        self.store.set_generation(self.doc.generation)
        self.store.add(out)
        self.show_outcome(out)
        self.win.statusBar().showMessage(f"Simulated {out.scenario_name} in {out.wall_s:.1f} s", 5000)
        self._after_run()

    def _failed(self, message: str, req) -> None:
        self.last_error = message
        if req.automatic:
            self.results.answers.banner.setText("⚠ Automatic re-run failed: " + message.replace("\n", " "))
            self.results.answers.banner.show()
        else:
            messages.warn(self.win, "Cannot simulate", message)
        self._after_run()

    def _cancelled(self, req) -> None:
        self.win.statusBar().showMessage("Simulation cancelled: results unchanged", 5000)
        self._after_run()

    def _after_run(self) -> None:
        if self._auto_pending or (self.store.stale and self._auto_ok()):
            self._auto_pending = False
            self.auto_timer.start()

    # ------------------------------------------------------------- showing
    def show_outcome(self, out) -> None:
        """Put ``out`` in every view (answers, plots, heat map)."""
        self.results.title.setText(out.title())
        self.results.answers.set_answers(out.answers)
        self.results.answers.set_stale(self.store.stale and out is self.store.current)
        sel = self.doc.selected_racks
        self.results.plots.set_outcome(out, sel[0] if len(sel) == 1 else None)
        hot = out.answers["hottest_gpu"]
        self.scrubber.set_series(out.racks, out.result.start, out.result.timezone,
                                 self.results.plots._slowdown(out), hot.get("time_s"))
        self.raise_results()
        self.sigOutcome.emit(out)
        self.win._update_legend()

    def raise_results(self) -> None:
        """Show the Results dock, tall enough for the plots (about half the window)."""
        d = self.win.results_dock
        d.show()
        d.raise_()
        if d.height() < 0.4 * self.win.height():
            self.win.resizeDocks([d], [int(0.48 * self.win.height())], Qt.Orientation.Vertical)
            QTimer.singleShot(0, self.win.view.fit_hall)  # the whole hall in the smaller floor area

    def _stale_changed(self, stale: bool) -> None:
        self.results.answers.set_stale(stale, automatic_soon=self._auto_ok())
        t = self.results.title.text()
        if stale and not t.startswith("(out of date) "):
            self.results.title.setText("(out of date) " + t)
        elif not stale and t.startswith("(out of date) "):
            self.results.title.setText(t[len("(out of date) "):])

    def _plan_changed(self, change) -> None:
        self.store.set_generation(self.doc.generation)
        if change.other & {"scenario"}:
            self.fill_scenarios()
        if self.store.stale and self._auto_ok():
            self.auto_timer.start()  # restarted by every edit: runs after the last one

    def _plan_replaced(self) -> None:
        """Another plan (open/new) or an import: results of the old one are gone or stale. Runs nothing."""
        self.store.set_generation(self.doc.generation)
        if self.doc.undo_stack.count() == 0:  # open / new (an undoable import keeps them, stale)
            self.runner.cancel()
            self.store.clear()
            self.ran_once = False
            self.auto_timer.stop()
            self.results.title.setText("No results yet")
            self.results.answers.show_hint()
            self.results.plots.clear()
            self.scrubber.set_series(None, None, "UTC", None)
            self.win.scene.clear_heat()
            self.scenario_name = None
        self.fill_scenarios()

    def _selection_changed(self) -> None:
        sel = self.doc.selected_racks
        if self.store.current is not None:
            self.results.plots.set_rack(sel[0] if len(sel) == 1 else None)

    def select_rack(self, name: str) -> None:
        """A rack name clicked in the answers: select it on the floor (switching hall if needed)."""
        r = self.doc.rack(name)
        if r is None:
            self.win.statusBar().showMessage(f"No rack {name} in the plan any more", 4000)
            return
        if r.hall != self.doc.hall().name:
            self.doc.show_hall(r.hall)
        self.doc.set_selection([name], [])
        self.win.view.center_on_rack(name)
