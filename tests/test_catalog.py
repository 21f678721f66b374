"""The bundled catalog: real systems, every figure sourced, estimates marked."""
import dataclasses

import pytest

from planner.catalog import CatalogError, is_estimate, load_catalog
from planner.plan import UNIT_KINDS

FIGURES = ("u_height", "gpu_count", "gpu_shutdown_c", "gpu_memory_gb", "liquid_fraction", "gpu_tdp_w", "idle_power_w", "max_power_w", "airflow_m3s", "gpu_slowdown_c",
           "gpu_design_temp_c", "thermal_time_constant_s", "weight_kg")


def test_catalog_size_and_kinds():
    cat = load_catalog()
    assert len(cat.server_types) >= 8
    assert len(cat.cooling_units) >= 6
    assert set(UNIT_KINDS) <= {u.kind for u in cat.cooling_units}


@pytest.mark.parametrize("key,kw,u,gpus", [
    ("nvidia-dgx-h100", 10.2, 8, 8), ("nvidia-dgx-h200", 10.2, 8, 8), ("nvidia-dgx-b200", 14.3, 10, 8),
    ("nvidia-dgx-a100", 6.5, 6, 8), ("nvidia-gb200-nvl72", 132.0, 48, 72),
])
def test_reference_systems_match_physics_reference(key, kw, u, gpus):
    t = load_catalog().server_type(key)
    assert t.max_power_w == pytest.approx(kw * 1000)
    assert (t.u_height, t.gpu_count) == (u, gpus)


def test_every_figure_has_a_source():
    for t in load_catalog().server_types:
        missing = [f for f in FIGURES if f not in t.sources and f != "u_height"]
        assert not missing, f"{t.key}: no source for {missing}"
        assert "max_power_w" in t.sources


def test_estimates_are_marked():
    t = load_catalog().server_type("nvidia-dgx-h100")
    assert is_estimate(t.sources["idle_power_w"])
    assert not is_estimate(t.sources["max_power_w"])


def test_hopper_thresholds():
    t = load_catalog().server_type("DGX H100")  # lookup by model too
    assert (t.gpu_slowdown_c, t.gpu_shutdown_c) == (89, 92)


def test_liquid_systems_have_short_time_constants():
    for t in load_catalog().server_types:
        if t.liquid_fraction >= 0.5:
            assert 10 <= t.thermal_time_constant_s <= 20
        else:
            assert 60 <= t.thermal_time_constant_s <= 120


def test_bad_catalog_is_reported(tmp_path):
    f = tmp_path / "c.json"
    f.write_text('{"server_types": [{"key": "x", "manufacturer": "m"}]}')
    with pytest.raises(CatalogError, match=r"c.json: server_types\[0\]"):
        load_catalog(f)
    f.write_text("{not json")
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog(f)


def test_catalog_is_shared_but_copies_are_independent():
    t = load_catalog().server_types[0]
    c = dataclasses.replace(t, max_power_w=1.0)
    assert load_catalog().server_types[0].max_power_w != 1.0 and c.max_power_w == 1.0


def test_every_cooling_unit_figure_has_a_source():
    import json

    from planner.catalog import CATALOG_PATH

    for u in json.loads(CATALOG_PATH.read_text())["cooling_units"]:
        figures = [k for k, v in u.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        missing = [k for k in figures if k not in u.get("sources", {})]
        assert not missing, f"{u['name']}: no source for {missing}"


def test_duplicate_names_are_refused(tmp_path):
    import json

    from planner.catalog import CATALOG_PATH

    raw = json.loads(CATALOG_PATH.read_text())
    raw["cooling_units"].append(raw["cooling_units"][0])
    f = tmp_path / "dup.json"
    f.write_text(json.dumps(raw))
    with pytest.raises(CatalogError, match="two cooling units share a name"):
        load_catalog(f)
