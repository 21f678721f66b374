"""Screenshots of the analysis views on the Phoenix demo, driven with real key presses (run under Xvfb).

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/gui_analysis_screenshots.py [OUT_DIR]

F5 is pressed with ``xdotool`` on the window (as a user would). Writes into OUT_DIR (default
``screenshots/``): ``results_after_f5.png`` (answers panel and plots), ``heatmap_1600.png`` (floor
coloured by hottest GPU at 16:00 on the hottest day), ``gantt_before.png`` and, when
``planner.schedule`` is in the build, ``gantt_after.png`` (greedy), ``report_page1.png`` (the PDF
report's first page, rendered with ``pdftoppm``).
"""
from __future__ import annotations

import shutil
import subprocess
import time

from shots_session import ShotSession  # also puts the project on sys.path


def main() -> None:
    session = ShotSession(__doc__.splitlines()[0], title="dcplan-shots", quiet_dialogs=True)
    app, win, out, settle = session.app, session.win, session.out, session.settle

    def wait_for(cond, timeout_s: float = 300.0) -> None:
        t0 = time.time()
        while not cond():
            app.processEvents()
            time.sleep(0.01)
            if time.time() - t0 > timeout_s:
                raise SystemExit("timed out")

    settle(800)
    a = win.analysis
    a.set_scenario("Hottest July day, full load")
    win.view.fit_hall()
    settle()
    wid = subprocess.run(["xdotool", "search", "--name", "dcplan-shots"], capture_output=True, text=True).stdout.split()
    t0 = time.perf_counter()
    if wid and shutil.which("xdotool"):
        # no window manager under Xvfb: give the window the keyboard focus, then press F5 as a user
        subprocess.run(["xdotool", "windowfocus", "--sync", wid[0]], check=False)
        settle(200)
        subprocess.run(["xdotool", "key", "F5"], check=True)
        settle(300)
        if not a.runner.running and a.store.current is None:  # the key went elsewhere: use the menu action
            print("xdotool key did not reach the window; triggering Simulation ▸ Run")
            win.act_run.trigger()
    else:
        win.act_run.trigger()
    wait_for(lambda: a.store.current is not None)
    print(f"F5 to answers: {time.perf_counter() - t0:.2f} s")
    settle(600)
    win.view.fit_hall()
    settle(200)
    win.grab().save(str(out / "results_after_f5.png"))
    a.results.grab().save(str(out / "results_panel.png"))

    from datetime import datetime
    start = a.store.current.result.start
    win.set_color_mode("temperature")
    a.scrubber.set_quantity("gpu")
    a.scrubber.set_local_time(datetime(start.year, start.month, start.day, 16, 0))
    win.doc.set_selection(["E01"])
    win.view.fit_hall()
    settle(600)
    win.grab().save(str(out / "heatmap_1600.png"))

    win.doc.set_selection([])
    a.set_scenario("Hottest July week (jobs)")
    a.results.tabs.setCurrentWidget(a.schedule_view)
    a.schedule_view.refresh()
    a.raise_results()
    settle(600)
    win.grab().save(str(out / "gantt_before.png"))
    from ui.schedule_view import scheduler
    if scheduler() is not None:
        t1 = time.perf_counter()
        a.schedule("greedy")
        wait_for(lambda: not a.sched_runner.running, 1800)
        print(f"schedule greedy: {time.perf_counter() - t1:.1f} s")
        settle(600)
        win.grab().save(str(out / "gantt_after.png"))
    else:
        print("planner.schedule not in this build: no gantt_after.png")

    a.set_scenario("Hottest July day, full load")
    a.show_outcome(a.store.by_scenario["Hottest July day, full load"])
    from ui.export import write_report
    pdf = out / "report.pdf"
    pages = write_report(win, pdf)
    print(f"report: {pages} pages")
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", str(pdf), str(out / "report_page")],
                       check=True)
        for p in out.glob("report_page-*.png"):
            p.rename(out / "report_page1.png")
    win.doc.undo_stack.setClean()
    print("\n".join(str(p) for p in sorted(out.glob("*.png"))))
    win.close()


if __name__ == "__main__":
    main()
