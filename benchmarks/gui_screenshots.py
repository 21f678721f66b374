"""Screenshots of the GUI on the demo plan (run under Xvfb).

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/gui_screenshots.py [OUT_DIR]

Writes main_window.png, rack_elevation.png, catalog_drag.png, multi_select.png,
imperial.png and density.png into OUT_DIR (default ``screenshots/``).
"""
from __future__ import annotations

from shots_session import ShotSession  # also puts the project on sys.path

from PySide6.QtCore import QMimeData, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QDragMoveEvent  # noqa: E402


def main() -> None:
    session = ShotSession("Screenshots of the GUI on the demo plan (run under Xvfb).")
    win, out, settle = session.win, session.out, session.settle
    from planner.demo import build_demo_plan
    from ui.floor_view import MIME_SERVER_TYPE
    from ui.units import IMPERIAL, SI, units

    settle(600)
    win.view.fit_hall()
    settle()
    win.grab().save(str(out / "main_window.png"))

    win.doc.set_selection(["B03"])
    win.view.center_on_rack("B03")
    settle()
    win.grab().save(str(out / "rack_elevation.png"))

    # catalog drag: pick a server in the catalog and hover a drag over the elevation
    item = win.catalog.item_for("dell-r760xa-h100pcie")
    win.catalog.tree.setCurrentItem(item)
    win.doc.set_selection(["A02"])
    settle()
    elev = win.elevation
    md = QMimeData()
    md.setData(MIME_SERVER_TYPE, b"dell-r760xa-h100pcie")
    f = elev.frame_rect()
    pos = QPointF(f.center().x(), f.bottom() - 40.5 * elev.u_px())
    ev = QDragMoveEvent(pos.toPoint(), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                        Qt.KeyboardModifier.NoModifier)
    elev.dragMoveEvent(ev)
    settle()
    win.grab().save(str(out / "catalog_drag.png"))
    elev.dragLeaveEvent(None)

    win.doc.set_selection(["A01", "A02", "A03", "B01", "B02", "B03"])
    win.view.fit_hall()
    settle()
    win.grab().save(str(out / "multi_select.png"))

    units().set_system(IMPERIAL)
    win.doc.set_selection(["E01"])
    settle()
    win.grab().save(str(out / "imperial.png"))
    units().set_system(SI)

    win.set_color_mode("density")
    win.doc.set_selection([])
    settle()
    win.grab().save(str(out / "density.png"))
    # the 5,000-rack benchmark plan, whole hall (one-layer painting) and zoomed to a pod
    win.set_color_mode("loop")
    win.doc.set_plan(build_demo_plan(5000), None)
    settle(400)
    win.view.fit_hall()
    settle()
    win.grab().save(str(out / "big_plan.png"))
    win.view.zoom_by(25 / win.view.px_per_m())
    win.view.centerOn(40.0, 40.0)
    settle()
    win.grab().save(str(out / "big_plan_zoomed.png"))
    win.doc.undo_stack.clear()
    print("\n".join(str(p) for p in sorted(out.glob("*.png"))))
    win.close()


if __name__ == "__main__":
    main()
