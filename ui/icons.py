"""Toolbar and window icons from ``assets/icons`` (SVG, drawn for this project)."""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QIcon

from planner.assets import ASSETS_DIR

ICON_DIR = ASSETS_DIR / "icons"


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """The icon ``assets/icons/<name>.svg``; an empty icon if the file is missing (text still shows)."""
    path = ICON_DIR / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()
