"""The job list as an editable table, with CSV import/export in the scheduler's jobs format.

Columns: name, GPUs, utilisation, duration [h], release, deadline, preemptible, priority, kind,
start. Times are shown and typed as local site time (``YYYY-MM-DD HH:MM``) from the current
scenario's start (they are stored as seconds from it). Each cell edit is one undoable command;
an import replaces the list in one step.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from ui import messages
from ui import commands as cmds
from ui.commands import try_push

COLUMNS = ("name", "gpus", "utilization", "duration_h", "release", "deadline", "preemptible", "priority", "kind",
           "start")
HEADERS = ("Name", "GPUs", "Utilisation", "Duration [h]", "Release (local)", "Deadline (local)", "Preemptible",
           "Priority", "Kind", "Start (local)")
TIME_FMT = "%Y-%m-%d %H:%M"


class JobsEditor(QWidget):
    def __init__(self, doc, analysis, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("jobsEditor")
        self.doc, self.analysis = doc, analysis
        self._loading = False
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("jobsTable")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemChanged.connect(self._edited)
        self.info = QLabel()
        self.info.setStyleSheet("color:#46505c")
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar = QHBoxLayout()
        self.add_btn = QPushButton("Add Job")
        self.del_btn = QPushButton("Delete")
        self.imp_btn = QPushButton("Import CSV…")
        self.exp_btn = QPushButton("Export CSV…")
        self.add_btn.clicked.connect(lambda: try_push(self.doc, self, cmds.AddJobCommand))
        self.del_btn.clicked.connect(self.delete_selected)
        self.imp_btn.clicked.connect(self.import_csv)
        self.exp_btn.clicked.connect(self.export_csv)
        for b in (self.add_btn, self.del_btn, self.imp_btn, self.exp_btn):
            bar.addWidget(b)
        bar.addWidget(self.info, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        lay.addWidget(self.table)
        doc.sigPlanChanged.connect(self._changed)
        doc.sigPlanReplaced.connect(self.refresh)
        self.refresh()

    def start(self) -> datetime:
        sc = self.analysis.scenario()
        return sc.start if sc is not None else datetime(2025, 1, 1)

    def _t(self, s) -> str:
        return "" if s is None else (self.start() + timedelta(seconds=float(s))).strftime(TIME_FMT)

    def _changed(self, change) -> None:
        if change.other & {"job", "scenario"}:
            self.refresh()

    def refresh(self) -> None:
        self._loading = True
        try:
            jobs = self.doc.plan.jobs
            self.table.setRowCount(len(jobs))
            for r, j in enumerate(jobs):
                vals = (j.name, str(j.gpus), f"{j.utilization:g}", f"{j.duration_s / 3600:g}", self._t(j.release_s),
                        self._t(j.deadline_s), "", str(j.priority), j.kind, self._t(j.start_s))
                for c, v in enumerate(vals):
                    it = QTableWidgetItem(v)
                    if COLUMNS[c] == "preemptible":
                        it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable)
                        it.setCheckState(Qt.CheckState.Checked if j.preemptible else Qt.CheckState.Unchecked)
                    if c in (1, 2, 3, 7):
                        it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    it.setData(Qt.ItemDataRole.UserRole, j.name)
                    self.table.setItem(r, c, it)
            gpu_h = sum(j.gpus * j.duration_s for j in jobs) / 3600
            self.info.setText(f"{len(jobs)} jobs, {gpu_h:,.0f} GPU·h; times from the start of "
                              f"“{self.analysis.scenario().name if self.analysis.scenario() else '—'}”")
            self.table.resizeColumnsToContents()
        finally:
            self._loading = False

    def _edited(self, item: QTableWidgetItem) -> None:
        if self._loading:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        col = COLUMNS[item.column()]
        text = item.text().strip()
        try:
            if col == "name":
                values = {"name": text}
            elif col in ("gpus", "priority"):
                values = {col: int(text)}
            elif col == "utilization":
                values = {"utilization": float(text)}
            elif col == "duration_h":
                values = {"duration_s": float(text) * 3600.0}
            elif col == "preemptible":
                values = {"preemptible": item.checkState() == Qt.CheckState.Checked}
            elif col == "kind":
                values = {"kind": text or "training"}
            else:
                field = {"release": "release_s", "deadline": "deadline_s", "start": "start_s"}[col]
                if not text and col != "release":
                    values = {field: None}
                else:
                    values = {field: (datetime.strptime(text, TIME_FMT) - self.start()).total_seconds()}
        except ValueError:
            messages.warn(self, "Edit refused", f"Job {name}: {HEADERS[item.column()]}: cannot read {text!r}"
                          + (f" (as {TIME_FMT.replace('%', '')})" if col in ("release", "deadline", "start") else ""))
            self.refresh()
            return
        if not try_push(self.doc, self, cmds.EditJobCommand, name, values):
            self.refresh()

    def selected_names(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedItems()})
        return [self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in rows]

    def delete_selected(self) -> None:
        names = self.selected_names()
        if names:
            try_push(self.doc, self, cmds.DeleteJobsCommand, names)

    def import_csv(self) -> None:
        from planner.schedule.jobs_csv import JobsCsvError, read_jobs_csv
        path = messages.ask_jobs_csv(self, "open")
        if not path:
            return
        try:
            jobs = read_jobs_csv(path, self.start(), self.doc.plan.site.timezone)
        except JobsCsvError as e:
            messages.warn(self, "Import refused", str(e))
            return
        try_push(self.doc, self, cmds.ReplaceJobsCommand, jobs, f"Import {len(jobs)} jobs from CSV")

    def export_csv(self) -> None:
        from planner.outputs import OutputError, write_output
        from planner.schedule.jobs_csv import jobs_csv_text
        path = messages.ask_jobs_csv(self, "save")
        if not path:
            return
        try:
            write_output(path, jobs_csv_text(self.doc.plan.jobs, self.start(), self.doc.plan.site.timezone),
                         protect=[self.doc.path] if self.doc.path else [])
        except OutputError as e:
            messages.warn(self, "Export failed", str(e))
            return
        messages.info(self, "Jobs exported", f"Wrote {len(self.doc.plan.jobs)} jobs to {path}")
