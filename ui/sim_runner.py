"""Simulation runs off the GUI thread, and the results they leave.

:class:`SimulationRunner` runs :func:`planner.solver.simulate` (the only way in) on a Python
thread with plain data — a :meth:`PlanDocument.snapshot` and a ``Scenario`` dataclass, never ORM
objects or widgets — and reports through queued signals: ``sigProgress(fraction, elapsed_s,
remaining_s)``, then exactly one of ``sigFinished(RunOutcome)``, ``sigFailed(str)`` or
``sigCancelled()``. The answers (:func:`planner.solver.answers.answers`), the extra plot series and
the per-rack heat-map series are computed on the worker too, so the GUI thread only draws.

One run at a time: :meth:`start` refuses a second while one is going (F5 during a run neither
starts a second nor cancels the first).

:class:`ResultsStore` keeps the last outcome per scenario name (for Compare), which one is shown,
and whether it is stale: each outcome remembers the document generation it was computed from,
and any later edit makes it stale (shown, never silently dropped).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from ui.jobs import WorkerThread

#: Per-server minute histories are recorded (the hottest server's name, per-server curves) up to
#: this many server-minutes [cells]; beyond, they are left out (two float64 arrays: 30 M cells ≈
#: 480 MB would be too much). The GPU 95th percentile and loop heat vs capacity come from the
#: solver's own minute series and the heat map from its per-rack series, which every run records.
SERVER_HISTORY_CELLS = 6_000_000


@dataclass
class RunRequest:
    """What to run: plain data only."""

    plan: object  # planner.plan.Plan snapshot
    scenario: object  # planner.plan.Scenario
    generation: int  # PlanDocument.generation when the snapshot was taken
    horizon_s: float | None = None  # None: the scenario's
    automatic: bool = False  # re-run after an edit (first day only)
    label: str = ""


@dataclass
class RunOutcome:
    """A finished run with everything the views show (plain data)."""

    request: RunRequest
    result: object  # SimulationResult
    answers: dict
    series: dict  # planner.solver.series.view_series
    racks: object  # planner.solver.series.RackSeries | None
    wall_s: float
    finished_at: float = field(default_factory=time.time)

    @property
    def scenario_name(self) -> str:
        return self.request.scenario.name

    def title(self) -> str:
        r = self.result
        days = r.horizon_s / 86400.0
        span = f"{days:.0f} day{'s' if round(days) != 1 else ''}" if days >= 1 else f"{r.horizon_s / 3600:.1f} h"
        extra = " (automatic re-run, first day)" if self.request.automatic else ""
        cut = " — cancelled, partial" if r.cancelled else ""
        return f"{self.scenario_name}: {r.start:%Y-%m-%d %H:%M}, {span}, {r.control}{extra}{cut}"


def describe_error(exc: BaseException, scenario) -> str:
    """A readable message naming what to fix (the solver's and the weather reader's messages name
    the field; this says where in the app it is)."""
    from planner.solver import SolverInputError
    from planner.weather import WeatherError

    text = str(exc)
    if isinstance(exc, WeatherError) or "weather" in text.lower():
        where = f"Scenario “{scenario.name}” ▸ Weather"
    elif any(k in text for k in ("step", "horizon")):
        where = f"Scenario “{scenario.name}” ▸ Step / Days"
    elif "tariff" in text.lower() or "price" in text.lower():
        where = f"Scenario “{scenario.name}” ▸ Tariff"
    elif "timezone" in text.lower() or "time zone" in text.lower():
        where = "Site ▸ Time zone"
    elif "control" in text.lower():
        where = f"Scenario “{scenario.name}” ▸ Control"
    elif isinstance(exc, SolverInputError):
        where = "the plan (see the message)"
    else:
        return f"{type(exc).__name__}: {text}"
    return f"{text}\n\nFix it in: {where}."


def record_kinds(plan, horizon_s: float) -> tuple:
    """Record per-server histories when they fit :data:`SERVER_HISTORY_CELLS`."""
    cells = len(plan.servers) * max(horizon_s / 60.0, 1.0)
    return ("summary", "minute", "server") if cells <= SERVER_HISTORY_CELLS else ("summary", "minute")


def run_request(req: RunRequest, progress=None, cancel=None) -> RunOutcome:
    """Run ``req`` (on any thread) and build the outcome. Raises the solver's errors."""
    from planner.solver import simulate
    from planner.solver.answers import answers
    from planner.solver.series import rack_series, view_series

    t0 = time.perf_counter()
    horizon = req.horizon_s or req.scenario.horizon_s
    res = simulate(req.plan, req.scenario, horizon_s=horizon, record=record_kinds(req.plan, horizon),
                   progress=progress, cancel=cancel)
    out = RunOutcome(req, res, answers(res, req.plan), view_series(res, req.plan, req.scenario),
                     rack_series(res, req.plan), 0.0)
    out.wall_s = time.perf_counter() - t0
    return out


class SimulationRunner(QObject):
    """Runs one simulation at a time on a worker thread; signals arrive on the GUI thread."""

    sigStarted = Signal(object)  # RunRequest
    sigProgress = Signal(float, float, float)  # fraction [0..1], elapsed [s], remaining [s] (-1: unknown)
    sigFinished = Signal(object)  # RunOutcome
    sigFailed = Signal(str, object)  # message, RunRequest
    sigCancelled = Signal(object)  # RunRequest
    sigRunningChanged = Signal(bool)
    _sigDone = Signal(object, object, object)  # worker -> GUI thread: (request, outcome, error)
    _sigTick = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._t0 = 0.0
        self.request: RunRequest | None = None
        self._sigDone.connect(self._done)
        self._sigTick.connect(self._tick)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, req: RunRequest, work=None) -> bool:
        """Start ``req``; False (and nothing happens) if a run is already going.

        ``work(request, progress, cancel) -> outcome`` replaces the simulation (the scheduler runs
        through the same machinery)."""
        if self.running:
            return False
        self._cancel = threading.Event()
        cancel = self._cancel
        self.request = req
        self._t0 = time.perf_counter()
        last = [0.0]
        task = work or run_request

        def progress(f: float) -> None:
            now = time.perf_counter()
            if now - last[0] >= 0.05 or f >= 1.0:  # at most 20 updates a second reach the GUI
                last[0] = now
                self._sigTick.emit(float(f))

        def target() -> None:
            try:
                out = task(req, progress, cancel.is_set)
            except BaseException as e:  # reported on the GUI thread
                self._sigDone.emit(req, None, e)
                return
            self._sigDone.emit(req, out, None)

        self._thread = WorkerThread(target, "dcplan-simulate")
        self.sigStarted.emit(req)
        self.sigRunningChanged.emit(True)
        self.sigProgress.emit(0.0, 0.0, -1.0)
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Ask the run to stop (the solver polls it every few steps)."""
        if self.running:
            self._cancel.set()

    def wait(self, timeout: float = 30.0) -> None:
        """Block until the worker ends (closing the window)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _tick(self, f: float) -> None:
        if not self.running:
            return
        el = time.perf_counter() - self._t0
        rem = el * (1.0 - f) / f if f > 0.01 else -1.0
        self.sigProgress.emit(f, el, rem)

    def _done(self, req, out, err) -> None:
        if self._thread is not None:
            self._thread.join(1.0)
        self._thread = None
        cancelled = self._cancel.is_set()
        self.sigRunningChanged.emit(False)
        if cancelled:  # also when the work stopped by raising (the scheduler's ScheduleCancelled)
            self.sigCancelled.emit(req)
        elif err is not None:
            self.sigFailed.emit(describe_error(err, req.scenario), req)
        elif getattr(getattr(out, "result", None), "cancelled", False):
            self.sigCancelled.emit(req)
        else:
            self.sigFinished.emit(out)


class ResultsStore(QObject):
    """The outcomes the views show: the current one, the last per scenario, and staleness."""

    sigChanged = Signal()  # current outcome replaced (or cleared)
    sigStaleChanged = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.current: RunOutcome | None = None
        self.by_scenario: dict[str, RunOutcome] = {}
        self.previous: RunOutcome | None = None  # the run before the current one (before/after an edit)
        self.generation = 0
        self._stale = False

    @property
    def stale(self) -> bool:
        return self._stale

    def set_generation(self, generation: int) -> None:
        """The document changed: results from an older generation are stale."""
        self.generation = generation
        self._update_stale()

    def _update_stale(self) -> None:
        stale = self.current is not None and self.current.request.generation != self.generation
        if stale != self._stale:
            self._stale = stale
            self.sigStaleChanged.emit(stale)

    def add(self, out: RunOutcome) -> None:
        if self.current is not None:
            self.previous = self.current
        self.current = out
        self.by_scenario[out.scenario_name] = out
        self._update_stale()
        self.sigChanged.emit()

    def clear(self) -> None:
        """A different plan: nothing shown belongs to it."""
        self.current, self.previous, self.by_scenario = None, None, {}
        self._update_stale()
        self.sigChanged.emit()
