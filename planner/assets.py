"""Where the bundled assets (catalog, weather files, demo inputs) live."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def _find_assets() -> Path:
    """``DCPLAN_ASSETS`` if set; else the checkout's ``assets/`` (editable install, tests); else the
    copy a wheel installs under ``<prefix>/share/dcplan/assets`` (pyproject data-files)."""
    if "DCPLAN_ASSETS" in os.environ:
        return Path(os.environ["DCPLAN_ASSETS"])
    checkout = Path(__file__).resolve().parents[1] / "assets"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "dcplan" / "assets"


ASSETS_DIR = _find_assets()
WEATHER_DIR = ASSETS_DIR / "weather"

PHOENIX_EPW = "USA_AZ_Phoenix-Sky.Harbor.Intl.AP.722780_TMY3.epw"
MINNEAPOLIS_EPW = "USA_MN_Minneapolis-St.Paul.Intl.AP.726580_TMY3.epw"


def resolve_asset(path: str | os.PathLike) -> Path:
    """Absolute path for ``path``: as given if it exists, else looked up in the assets folder."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    for base in (ASSETS_DIR, WEATHER_DIR):
        if (base / p).exists():
            return base / p
    return p
