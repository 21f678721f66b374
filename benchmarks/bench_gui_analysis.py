"""Speed of the analysis views (headless).

    .venv/bin/python benchmarks/bench_gui_analysis.py [N_RACKS]   (default 2000)

1. F5 to answers on the demo day (Phoenix, hottest July day, full load, 24 h at 10 s): from the
   Run action to the answers, plots and heat map shown, against the baseline measured in the same
   run: ``planner.solver.simulate`` of the same scenario alone (same process, no GUI).
2. Scrubbing redraw of an N-rack floor (``build_demo_plan(N)``; per-rack series from a 1-hour run):
   one frame = move the time scrubber one step + the repaint it causes (event loop), zoomed out (whole hall, one
   layer paint) and zoomed in (per-rack items). Target < 33 ms per frame (issue 10). Baseline: a
   plain repaint of the same viewport with no change (the editor's own redraw).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    scratch = tempfile.mkdtemp(prefix="dcplan-bench-")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = scratch
    from ui.app import make_app

    app = make_app([])
    from planner.demo import build_demo_plan
    from planner.solver import simulate
    from ui.main_window import MainWindow

    def spin(cond, timeout=1800.0):
        t0 = time.perf_counter()
        while not cond():
            app.processEvents()
            time.sleep(0.002)
            if time.perf_counter() - t0 > timeout:
                raise SystemExit("timed out")

    # ---- 1. F5 to answers on the demo day
    plan = build_demo_plan()
    day = next(s for s in plan.scenarios if "day" in s.name)
    t0 = time.perf_counter()
    simulate(plan, day)
    base = time.perf_counter() - t0
    win = MainWindow(plan)
    win.resize(1600, 1000)
    win.show()
    app.processEvents()
    win.analysis.set_scenario(day.name)
    f5 = []
    for _ in range(2):
        win.analysis.store.clear()
        t0 = time.perf_counter()
        win.act_run.trigger()
        spin(lambda: win.analysis.store.current is not None)
        app.processEvents()
        f5.append(time.perf_counter() - t0)
    t_f5 = min(f5)
    print(f"demo day ({len(plan.servers)} servers, 24 h at {day.step_s:g} s)")
    print(f"  baseline simulate() alone        {base:7.2f} s")
    print(f"  F5 to answers, plots, heat map   {t_f5:7.2f} s   ratio {t_f5 / base:.2f}")
    win.doc.undo_stack.setClean()
    win.close()

    # ---- 2. scrubbing an N-rack floor
    big = build_demo_plan(n)
    sc = replace(big.scenarios[-1], horizon_s=3600.0)
    big.scenarios = [sc]
    win = MainWindow(big)
    win.resize(1600, 1000)
    win.show()
    app.processEvents()
    t0 = time.perf_counter()
    win.act_run.trigger()
    spin(lambda: win.analysis.store.current is not None)
    t_run = time.perf_counter() - t0
    out = win.analysis.store.current
    print(f"{len(big.racks)} racks, {len(big.servers)} servers: 1-hour run in {t_run:.1f} s; per-rack series "
          f"{out.racks.gpu_max_c.shape} from {out.racks.source}")
    win.set_color_mode("temperature")
    sb = win.analysis.scrubber
    vp = win.view.viewport()

    def frames(label):
        app.processEvents()
        idle = []
        for _ in range(15):
            t = time.perf_counter()
            vp.repaint()
            idle.append(time.perf_counter() - t)
        times = []
        k = 0
        for i in range(40):
            k = (k + 1) % len(out.racks.time_s)
            t = time.perf_counter()
            sb.set_index(k)  # recolours the racks and schedules one update of the viewport
            app.processEvents()  # ... which paints here, once
            times.append(time.perf_counter() - t)
        med, worst = statistics.median(times) * 1e3, max(times) * 1e3
        b = statistics.median(idle) * 1e3
        print(f"  scrub frame, {label:28s} median {med:6.1f} ms, worst {worst:6.1f} ms "
              f"(plain repaint {b:5.1f} ms, ratio {med / b:.1f}); target < 33 ms")

    win.view.fit_hall()
    frames(f"whole hall ({win.view.px_per_m():.0f} px/m)")
    win.view.zoom_by(40 / win.view.px_per_m())
    frames(f"zoomed in ({win.view.px_per_m():.0f} px/m)")
    win.doc.undo_stack.setClean()
    win.close()


if __name__ == "__main__":
    main()
