"""The start every GUI screenshot script shares: output folder, scratch settings, the demo window.

The screenshot scripts (``gui_*screenshots.py``) run the real app under Xvfb on the demo plan; this
opens it the same way for each, so a run's settings never touch the user's and every script starts
from the same 1600 × 1000 window in SI units.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class ShotSession:
    """``out`` (the folder shots go to), ``app``, ``win`` (the demo's MainWindow, shown) and
    :meth:`settle` (let the event loop run for a while)."""

    def __init__(self, description: str, title: str | None = None, quiet_dialogs: bool = False):
        ap = argparse.ArgumentParser(description=description)
        ap.add_argument("out_dir", nargs="?", default=str(ROOT / "screenshots"))
        self.out = Path(ap.parse_args().out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix="dcplan-shots-")  # the run's settings never touch the user's
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            os.environ[var] = scratch
        from ui.app import make_app

        self.app = make_app([])
        from planner.demo import build_demo_plan
        from ui.main_window import MainWindow
        from ui.units import SI, units

        if quiet_dialogs:  # a modal box would stop an unattended run: print what it would say
            from ui import messages
            messages.warn = lambda parent, title, text: print(f"[warning] {title}: {text}")
            messages.info = lambda parent, title, text: print(f"[info] {title}: {text}")
        units().set_system(SI)
        self.win = MainWindow(build_demo_plan())
        if title:
            self.win.setWindowTitle(title)  # xdotool finds the window by it
        self.win.resize(1600, 1000)
        self.win.show()

    def settle(self, ms: int = 300) -> None:
        """Run the event loop for ``ms`` [ms] (layouts, repaints, timers)."""
        from PySide6.QtCore import QTimer

        end = QTimer()
        end.setSingleShot(True)
        end.start(ms)
        while end.isActive():
            self.app.processEvents()
