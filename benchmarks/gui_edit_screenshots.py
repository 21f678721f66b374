"""Screenshots of issue 13's editing, units and problem list (run under Xvfb).

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/gui_edit_screenshots.py [OUT_DIR]

On the demo plan, with the hall made 6 m deeper (the inspector's hall page), Add Row is opened
with ``xdotool`` (Ctrl+Shift+W, as a user would) twice next to row F: the first row backs onto F
across a hot aisle, the second faces the first across a cold aisle. Writes into OUT_DIR (default
``screenshots/``):

* ``add_row_dialog.png`` — the dialog (Automatic facing, feeds picked);
* ``add_row_after.png`` — the floor after both rows: aisles shaded, the problem list unchanged;
* ``duplicate.png`` — the last rack of the new row G duplicated (Ctrl+D with ``xdotool``): the copy
  continues row G with the same facing (no rack behind another drawing its exhaust);
* ``imperial_cdu.png`` — CDU-01 selected in imperial units: flow in GPM, loop load and capacity in tons;
* ``imperial_cdu_plant.png`` — the same CDU in the Plant dock (GPM, gallons);
* ``loop_mismatch.png`` — liquid loop TCS set on air-only rack A01: the warning in the problem list.
"""
from __future__ import annotations

import shutil
import subprocess

from shots_session import ShotSession  # also puts the project on sys.path

from PySide6.QtCore import Qt, QTimer  # noqa: E402


def main() -> None:
    session = ShotSession(__doc__.splitlines()[0], title="dcplan-edit-shots")
    win, out, settle = session.win, session.out, session.settle
    from PySide6.QtWidgets import QApplication

    from planner.demo import build_demo_plan
    from ui import commands as cmds
    from ui.units import IMPERIAL, SI, units

    def screen(name: str) -> None:
        QApplication.primaryScreen().grabWindow(0).save(str(out / name))

    settle(600)
    win.doc.validate_now()
    before = {(p.code, p.rack) for p in win.doc.problems}
    # the user deepens the hall on the inspector's hall page (nothing selected): room south of row F
    win.doc.set_selection()
    cmds.try_push(win.doc, win, cmds.EditHallCommand, "Hall 1", {"depth_m": 24.0})
    win.view.fit_hall()
    settle()

    def add_row(shot: str | None) -> None:
        """Select row F's first rack (or the last new row's), press Ctrl+Shift+W, pick feeds, OK."""
        def fill() -> None:
            dlg = QApplication.activeModalWidget()
            if dlg is None or not dlg.isVisible():
                QTimer.singleShot(50, fill)
                return
            dlg.count.setValue(4)
            dlg.feed_a.setCurrentIndex(1)
            dlg.feed_b.setCurrentIndex(2)
            settle(200)
            if shot:
                screen(shot)
            dlg.accept()

        QTimer.singleShot(50, fill)
        wid = [str(int(win.winId()))] if shutil.which("xdotool") else []
        if wid:
            subprocess.run(["xdotool", "windowfocus", "--sync", wid[0]], check=False)
            settle(200)
            n = win.doc.undo_stack.count()
            subprocess.run(["xdotool", "key", "ctrl+shift+w"], check=True)
            settle(800)
            if win.doc.undo_stack.count() == n:
                print("xdotool key did not reach the window; triggering Edit ▸ Add Row")
                win.act_add_row.trigger()
        else:
            win.act_add_row.trigger()
        settle(300)

    win.doc.set_selection(["F01"])
    add_row("add_row_dialog.png")
    first = win.doc.selected_racks
    win.doc.set_selection([first[0]])
    add_row(None)
    win.doc.set_selection()
    win.doc.validate_now()
    after = {(p.code, p.rack) for p in win.doc.problems}
    new = sorted(set(win.doc.rack_map()) - {r.name for r in build_demo_plan().racks})
    print(f"new racks: {', '.join(new)}; problems before {len(before)}, after {len(after)}, new: {after - before}")
    win.problems_dock.raise_()
    win.view.fit_hall()
    settle(500)
    win.grab().save(str(out / "add_row_after.png"))

    # Duplicate (Ctrl+D, sent with xdotool) on the last rack of the new row G: the copy continues the row
    last_g = sorted(n for n in win.doc.rack_map() if n.startswith("G"))[-1]
    win.doc.set_selection([last_g])
    n_racks = len(win.doc.plan.racks)
    wid = [str(int(win.winId()))] if shutil.which("xdotool") else []  # the title now names the plan
    if wid:  # click the rack on the floor, then Ctrl+D, as a user would
        from PySide6.QtCore import QPointF

        win.view.center_on_rack(last_g)
        settle(300)
        r = win.doc.rack(last_g)
        at = win.view.viewport().mapToGlobal(win.view.mapFromScene(QPointF(r.x_m, r.y_m)))
        subprocess.run(["xdotool", "windowfocus", "--sync", wid[0]], check=False)
        subprocess.run(["xdotool", "mousemove", "--sync", str(at.x()), str(at.y()), "click", "1"], check=False)
        settle(300)
        subprocess.run(["xdotool", "key", "ctrl+d"], check=True)
        settle(600)
    if len(win.doc.plan.racks) == n_racks:
        print("xdotool key did not reach the window; triggering Edit ▸ Duplicate")
        win.act_duplicate.trigger()
        settle(300)
    copy = win.doc.rack(win.doc.selected_racks[0])
    src = win.doc.rack(last_g)
    win.doc.validate_now()
    print(f"duplicate of {last_g} ({src.x_m:.2f}, {src.y_m:.2f}) {src.orientation}: {copy.name} at "
          f"({copy.x_m:.2f}, {copy.y_m:.2f}) {copy.orientation}; problems naming it: "
          f"{[p.code for p in win.doc.problems if p.rack == copy.name] or 'none'}")
    win.view.center_on_rack(copy.name)
    settle(500)
    win.grab().save(str(out / "duplicate.png"))
    win.doc.undo_stack.undo()
    settle(200)

    units().set_system(IMPERIAL)
    win.doc.set_selection([], ["CDU-01"])
    win.inspector_dock.raise_()
    win.view.center_on_unit("CDU-01")
    settle(500)
    win.grab().save(str(out / "imperial_cdu.png"))
    win.plant_dock.raise_()
    ed = win.plant_editor
    item = next(it for it in ed.tree.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive)
                if it.data(0, Qt.ItemDataRole.UserRole) == ("unit", "CDU-01"))
    ed.tree.setCurrentItem(item)
    settle(300)
    win.grab().save(str(out / "imperial_cdu_plant.png"))

    units().set_system(SI)
    win.inspector_dock.raise_()
    win.doc.set_selection(["A01"])
    cmds.try_push(win.doc, win, cmds.EditRacksCommand, ["A01"], {"liquid_loop": "TCS"})  # the inspector's combo
    win.doc.validate_now()
    win.problems_dock.raise_()
    tree = win.problems.tree
    for i in range(tree.topLevelItemCount()):
        if tree.topLevelItem(i).text(3) == "rack-loop-mismatch":
            tree.setCurrentItem(tree.topLevelItem(i))
    win.view.center_on_rack("A01")
    settle(500)
    win.grab().save(str(out / "loop_mismatch.png"))
    win.doc.undo_stack.setClean()
    win.close()
    print(f"wrote screenshots to {out}")


if __name__ == "__main__":
    main()
