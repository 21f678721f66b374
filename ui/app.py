"""``dcplan-gui [PLAN]``: open the floor plan editor.

``dcplan-gui --demo`` opens the bundled Phoenix demo hall (in memory, untitled).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

# PySide6 before pyqtgraph (pyqtgraph picks its Qt binding from what is already imported).
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName("dcplan")
    app.setApplicationName("dcplan")
    app.setApplicationDisplayName("dcplan")
    app.setStyle("Fusion")
    from ui.icons import icon

    app.setWindowIcon(icon("dcplan"))
    f = QFont(app.font())
    if f.pointSizeF() < 9.5:
        f.setPointSizeF(9.5)
        app.setFont(f)
    return app


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="dcplan-gui", description="Floor plan editor for AI datacenter halls.")
    p.add_argument("plan", nargs="?", help="a .dcplan file to open")
    p.add_argument("--demo", action="store_true", help="open the bundled Phoenix demo plan (unsaved)")
    p.add_argument("--demo-racks", type=int, default=None, help="scale the demo to N racks")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = make_app()
    from ui.main_window import MainWindow

    if args.demo:
        from planner.demo import build_demo_plan

        win = MainWindow(build_demo_plan(args.demo_racks))
    else:
        win = MainWindow()
    win.show()
    if args.plan:
        path = Path(args.plan)
        if not path.exists():
            from ui import messages

            messages.warn(win, "Cannot open plan", f"{path}: no such file")
        else:
            win.open_path(path, ask_save=False)
    elif not args.demo:
        win.offer_untitled_recovery()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
