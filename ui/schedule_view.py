"""Jobs and schedule: the Gantt chart, Simulation ▸ Schedule…, the before/after table, "apply".

**Schedule…** asks for a method (``planner.schedule.METHODS``) and runs
``planner.schedule.schedule(plan, scenario, method=..., progress=..., cancel=...)`` on a worker
thread with plain data (the agreed scheduler API, COORDINATION.md), with the same progress bar
(elapsed, remaining, Cancel) as a simulation. The result's ``summary()`` is set against its
``baseline`` (fcfs) in a before/after table — cost, peak kW, throttled GPU-hours, missed deadlines,
night share — and the Gantt shows the proposed schedule; **Apply this schedule** replaces the job
list with ``result.jobs`` (start and placement set) as one undoable edit.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)
from PySide6.QtCore import Qt

from ui import messages
from ui import commands as cmds
from ui.commands import try_push
from ui.gantt import GanttChart
from ui.sim_runner import RunRequest, SimulationRunner

#: Before/after rows: (summary key, label, format). Keys as ``schedule --json`` (issue 9).
COMPARE_ROWS = (
    ("cost_usd", "Cost", "${:,.0f}"),
    ("peak_15min_facility_kw", "Peak facility (15 min)", "{:,.0f} kW"),
    ("throttled_gpu_hours", "Throttled GPU-hours", "{:,.1f} GPU·h"),
    ("lost_gpu_hours", "Lost GPU-hours", "{:,.1f} GPU·h"),
    ("missed_deadlines", "Missed deadlines", "{:d}"),
    ("night_gpu_hours_share", "Night share (22:00–06:00)", "{:.0%}"),
)


@dataclass
class ScheduleOutcome:
    method: str
    result: object  # planner.schedule.ScheduleResult
    generation: int


def scheduler():
    """``planner.schedule`` or None while it is not part of this build."""
    try:
        import planner.schedule as s
    except ImportError:
        return None
    return s if hasattr(s, "schedule") else None


def _fmt(fmt: str, v) -> str:
    if v is None:
        return "—"
    try:
        return fmt.format(int(v) if fmt == "{:d}" else v)
    except (TypeError, ValueError):
        return str(v)


class ScheduleView(QWidget):
    """Results tab: controls, the Gantt and the before/after table."""

    def __init__(self, win, analysis, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("scheduleView")
        self.win = win
        self.analysis = analysis
        self.doc = win.doc
        self.outcome: ScheduleOutcome | None = None
        self.show_combo = QComboBox()
        self.show_combo.setObjectName("ganttShows")
        self.show_combo.addItem("Jobs as in the plan", "plan")
        self.show_combo.addItem("Proposed schedule", "proposed")
        self.show_combo.activated.connect(lambda _i: self.refresh())
        self.schedule_btn = QPushButton("Schedule…")
        self.schedule_btn.setObjectName("scheduleButton")
        self.apply_btn = QPushButton("Apply this schedule")
        self.apply_btn.setObjectName("applySchedule")
        self.apply_btn.setEnabled(False)
        self.apply_btn.clicked.connect(self.apply)
        self.status = QLabel()
        self.status.setStyleSheet("color:#46505c")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        for w in (self.schedule_btn, self.show_combo, self.apply_btn):
            top.addWidget(w)
        top.addWidget(self.status, 1)
        self.gantt = GanttChart()
        self.table = QTableWidget(len(COMPARE_ROWS), 3)
        self.table.setObjectName("beforeAfter")
        self.table.setHorizontalHeaderLabels(["fcfs (before)", "method (after)", "change"])
        self.table.setVerticalHeaderLabels([r[1] for r in COMPARE_ROWS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        # table under the chart: the Gantt needs the width, the table six rows
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.gantt)
        split.addWidget(self.table)
        split.setStretchFactor(0, 1)
        self.gantt.plot.setMinimumHeight(140)
        self.table.setMaximumHeight(210)
        split.setSizes([420, 200])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self.doc.sigPlanChanged.connect(self._plan_changed)
        self.doc.sigPlanReplaced.connect(self._plan_replaced)
        self.refresh()

    def _plan_changed(self, change) -> None:
        if change.other & {"job", "scenario"} or change.server_racks:
            if self.outcome is not None and change.other & {"job"}:
                self.status.setText("The job list changed since this schedule was computed.")
            self.refresh()

    def _plan_replaced(self) -> None:
        if self.doc.undo_stack.count() == 0:
            self.outcome = None
            self.apply_btn.setEnabled(False)
            self.status.setText("")
        self.refresh()

    def refresh(self) -> None:
        sc = self.analysis.scenario()
        shows = self.show_combo.currentData()
        if shows == "proposed" and self.outcome is not None:
            from dataclasses import replace
            plan = replace(self.doc.snapshot(), jobs=list(self.outcome.result.jobs))
            title = f"Proposed schedule ({self.outcome.method})"
        else:
            plan = self.doc.plan
            title = "Jobs as in the plan"
        if sc is None:
            self.gantt.set_plan(None, None, 0.0)
        else:
            self.gantt.set_plan(plan, sc.start, sc.horizon_s, title)
        self._fill_table()

    def _fill_table(self) -> None:
        o = self.outcome
        after = o.result.summary() if o is not None else {}
        before = (o.result.baseline or {}) if o is not None else {}
        if o is not None:
            self.table.setHorizontalHeaderLabels(["fcfs (before)", f"{o.method} (after)", "change"])
        for i, (key, _label, fmt) in enumerate(COMPARE_ROWS):
            b, a = before.get(key), after.get(key)
            delta = ""
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                d = a - b
                if abs(d) < 1e-9:
                    delta = "same"
                elif key == "night_gpu_hours_share":
                    delta = f"{d * 100:+.0f} pts"
                elif fmt == "{:d}" or not b:  # counts, or from nothing: the difference itself
                    delta = f"{d:+,.0f}" if fmt == "{:d}" else f"{d:+,.1f}"
                else:
                    delta = f"{d / b * 100:+.1f} %"
            for j, text in enumerate((_fmt(fmt, b), _fmt(fmt, a), delta)):
                it = QTableWidgetItem(text)
                it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, it)
        self.table.resizeColumnsToContents()

    # ------------------------------------------------------------ running
    def start(self, method: str | None = None) -> bool:
        s = scheduler()
        if s is None:
            messages.warn(self, "Scheduler not available",
                          "This build has no scheduler yet (planner.schedule, issue 9). The Gantt shows the jobs "
                          "as the solver runs them: each at its start or release, placed first-fit.")
            return False
        sc = self.analysis.scenario()
        if sc is None or not self.doc.plan.jobs:
            messages.warn(self, "Nothing to schedule", "Scheduling needs a scenario and jobs.\n\nFix it in: "
                          + ("Site & Scenarios ▸ Add" if sc is None else "Jobs ▸ Add Job / Import CSV") + ".")
            return False
        if method is None:
            method = messages.ask_schedule_method(self, s.METHODS, "greedy")
            if not method:
                return False
        runner: SimulationRunner = self.analysis.sched_runner
        req = RunRequest(self.doc.snapshot(), sc, self.doc.generation, label=method)

        def work(r, progress, cancel):
            res = s.schedule(r.plan, r.scenario, method=method, progress=progress, cancel=cancel)
            return ScheduleOutcome(method, res, r.generation)

        return runner.start(req, work)

    def finished(self, out: ScheduleOutcome) -> None:
        self.outcome = out
        self.apply_btn.setEnabled(True)
        self.show_combo.setCurrentIndex(self.show_combo.findData("proposed"))
        unsched = getattr(out.result, "unscheduled", None) or {}  # name -> reason
        names = "; ".join(f"{n} ({why})" for n, why in unsched.items()) if isinstance(unsched, dict) \
            else ", ".join(map(str, unsched))
        self.status.setText(f"{out.method}: {len(out.result.jobs)} jobs scheduled"
                            + (f"; not scheduled: {names}" if names else ""))
        self.refresh()

    def apply(self) -> None:
        if self.outcome is None:
            return
        if try_push(self.doc, self, cmds.ReplaceJobsCommand, list(self.outcome.result.jobs),
                    f"Apply {self.outcome.method} schedule"):
            self.show_combo.setCurrentIndex(self.show_combo.findData("plan"))
            self.status.setText(f"Applied the {self.outcome.method} schedule (Ctrl+Z undoes it).")
            self.refresh()
