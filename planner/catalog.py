"""The bundled catalog of GPU server types and cooling unit templates (``assets/catalog.json``).

Every figure in the JSON carries its source; figures whose source starts with
"estimate" are engineering estimates and are shown as such in the GUI.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from planner.assets import ASSETS_DIR
from planner.plan import CoolingUnit, ServerType

CATALOG_PATH = ASSETS_DIR / "catalog.json"


class CatalogError(ValueError):
    """The catalog file is missing a field or has a bad value."""


@dataclass(frozen=True)
class Catalog:
    server_types: tuple[ServerType, ...]
    cooling_units: tuple[CoolingUnit, ...]

    def server_type(self, key_or_model: str) -> ServerType:
        """Look up a server type by key or by model name (case-insensitive)."""
        k = key_or_model.strip().lower()
        for t in self.server_types:
            if t.key.lower() == k or t.model.lower() == k:
                return t
        raise KeyError(key_or_model)

    def cooling_unit(self, name: str) -> CoolingUnit:
        for u in self.cooling_units:
            if u.name == name:
                return u
        raise KeyError(name)


def _build(cls, raw: dict, where: str):
    known = {f.name for f in fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {sorted(unknown)}")
    try:
        return cls(**raw)
    except TypeError as exc:  # missing required field
        raise CatalogError(f"{where}: {exc}") from None


def is_estimate(source: str | None) -> bool:
    """True when a figure's source marks it as an estimate (or it has none)."""
    return source is None or source.strip().lower().startswith("estimate")


@lru_cache(maxsize=4)
def load_catalog(path: str | Path = CATALOG_PATH) -> Catalog:
    """Read the catalog JSON into dataclasses.

    The result is cached and shared: treat it as read-only and derive changed copies with
    ``dataclasses.replace``. Cooling unit templates have an empty ``loop``.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read catalog: {exc}") from None
    types = []
    for i, item in enumerate(raw.get("server_types", [])):
        t = _build(ServerType, item, f"{path.name}: server_types[{i}]")
        if t.max_power_w < t.idle_power_w or t.idle_power_w < 0:
            raise CatalogError(f"{path.name}: server_types[{i}] ({t.key}): idle/max power inconsistent")
        if not 0.0 <= t.liquid_fraction <= 1.0:
            raise CatalogError(f"{path.name}: server_types[{i}] ({t.key}): liquid_fraction outside 0..1")
        types.append(t)
    if len({t.key for t in types}) != len(types):
        raise CatalogError(f"{path.name}: two server types share a key")
    units = []
    for i, item in enumerate(raw.get("cooling_units", [])):
        item = dict(item)
        item.pop("sources", None)  # kept in the JSON for readers; CoolingUnit has no sources field
        units.append(_build(CoolingUnit, {"loop": "", **item}, f"{path.name}: cooling_units[{i}]"))
    if len({u.name for u in units}) != len(units):
        raise CatalogError(f"{path.name}: two cooling units share a name")
    return Catalog(tuple(types), tuple(units))
