"""NetBox device-type library YAML into server types: real library files, side file, estimates, errors."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from planner.catalog import load_catalog
from planner.demo import build_demo_plan
from planner.netbox.device_types import (
    AIR_CP,
    AIR_DENSITY,
    AIR_RISE_K,
    DeviceTypeError,
    device_types_yaml,
    read_device_types,
)

DATA = Path(__file__).parent / "data" / "netbox" / "devicetypes"
REAL = sorted(p for p in DATA.iterdir() if p.suffix in (".yaml", ".yml") and p.name != "side.yaml")
SIDE = DATA / "side.yaml"


def errors(paths, side=None) -> list[str]:
    with pytest.raises(DeviceTypeError) as exc:
        read_device_types(paths, side)
    return [str(p) for p in exc.value.problems]


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


GOOD = """---
manufacturer: Example
model: GPU Box 8
slug: example-gpu-box-8
u_height: 4
is_full_depth: true
weight: 60
weight_unit: kg
power-ports:
  - name: PSU1
    type: iec-60320-c20
    maximum_draw: 3000
  - name: PSU2
    type: iec-60320-c20
    maximum_draw: 3000
"""


def test_seven_real_library_files_import_with_the_side_file():
    assert len(REAL) == 7
    result = read_device_types(REAL, SIDE)
    got = {t.key: t for t in result.types}
    assert set(got) == {"nvidia-dgx-a100-640gb", "supermicro-as-8125gs-tnmr2", "dell-poweredge-xe9680",
                        "nvidia-qm9700", "ap8886", "apc-ap7900b", "supermicro-ars-121gl-nb3-lcc-r1"}
    assert (got["apc-ap7900b"].u_height, got["apc-ap7900b"].weight_kg, got["apc-ap7900b"].liquid_fraction) == (1, 2.25, 0)
    dgx = got["nvidia-dgx-a100-640gb"]
    assert (dgx.manufacturer, dgx.model, dgx.u_height) == ("Nvidia", "NVIDIA DGX A100 640GB", 6)
    assert dgx.max_power_w == 6500 and dgx.gpu_count == 8 and dgx.gpu_tdp_w == 400
    assert dgx.sources["max_power_w"].startswith("NVIDIA DGX A100 datasheet")
    assert dgx.weight_kg == 0 and dgx.sources["weight_kg"].startswith("estimate")  # the file has no weight
    xe = got["dell-poweredge-xe9680"]
    assert (xe.u_height, xe.weight_kg, xe.max_power_w) == (6, 114.05, 11200)
    assert xe.sources["weight_kg"] == "NetBox device type Dell_PowerEdge-XE9680.yaml"
    # same estimate rule as the bundled catalog: its XE9680 entry has 0.64 m³/s for 11.2 kW
    assert xe.airflow_m3s == pytest.approx(11200 / (AIR_DENSITY * AIR_CP * AIR_RISE_K), rel=1e-12)
    assert xe.airflow_m3s == pytest.approx(load_catalog().server_type("dell-xe9680").airflow_m3s, abs=0.0005)
    tray = got["supermicro-ars-121gl-nb3-lcc-r1"]
    assert tray.liquid_fraction == 0.85 and tray.cooling_type == "hybrid" and tray.weight_kg == 32
    assert tray.airflow_m3s == pytest.approx(7889 * 0.15 / (AIR_DENSITY * AIR_CP * AIR_RISE_K), rel=1e-12)
    assert got["nvidia-qm9700"].gpu_count == 0 and got["nvidia-qm9700"].weight_kg == 14.8
    pdu = got["ap8886"]
    assert pdu.u_height == 0 and pdu.max_power_w == 20
    mi300 = got["supermicro-as-8125gs-tnmr2"]
    assert mi300.weight_kg == 75.3 and mi300.max_power_w == 9000
    text = "\n".join(result.warnings)
    # side file wins over the library's port sums, and says so
    assert "nvidia-dgx-a100-640gb: max_power_w 6500 from side file side.yaml replaces 2142" in text
    assert "supermicro-as-8125gs-tnmr2: max_power_w 9000 from side file side.yaml replaces 18000" in text
    assert "nvidia-qm9700: airflow rear-to-front" in text and "ap8886: 0 U" in text
    assert "apc-ap7900b: is_full_depth false; dcplan treats every device as full depth" in text
    # one warning per estimated field, naming the types
    per_field = [w for w in result.warnings if "marked estimate for" in w]
    assert len(per_field) == len({w.split(":")[0] for w in per_field})
    assert any(w.startswith("gpu_count: ") and "3 type(s): apc-ap7900b, ap8886, nvidia-qm9700" in w for w in per_field)
    for t in result.types:
        assert all(k in t.sources for k in ("max_power_w", "idle_power_w", "gpu_count", "airflow_m3s"))
        assert 0 <= t.idle_power_w <= t.max_power_w


def test_without_side_file_power_is_required_and_other_gaps_are_estimates():
    problems = errors(REAL)
    assert problems == [
        "APC_AP7900B.yaml:20: power-ports: apc-ap7900b: no power-port gives a maximum_draw; dcplan needs the "
        "system's maximum power: give max_power_w for it in a side file",
        "APC_AP8886.yaml:9: power-ports: ap8886: no power-port gives a maximum_draw; dcplan needs the system's "
        "maximum power: give max_power_w for it in a side file",
        "Dell_PowerEdge-XE9680.yaml:2: power-ports: dell-poweredge-xe9680: no power-port gives a maximum_draw; "
        "dcplan needs the system's maximum power: give max_power_w for it in a side file",
        "Nvidia_QM9700.yaml:13: power-ports: nvidia-qm9700: no power-port gives a maximum_draw; dcplan needs the "
        "system's maximum power: give max_power_w for it in a side file",
        "Supermicro_ARS-121GL-NB3-LCC-R1.yaml:2: power-ports: supermicro-ars-121gl-nb3-lcc-r1: is_powered: false "
        "(fed by the rack's power shelves); dcplan needs the system's maximum power: give max_power_w for it in "
        "a side file",
    ]
    ok = [DATA / "Nvidia_DGX-A100-640GB.yaml", DATA / "Supermicro_AS-8125GS-TNMR2.yml"]
    result = read_device_types(ok)
    dgx, mi300 = result.types
    assert dgx.max_power_w == 2 * 1071 and mi300.max_power_w == 6 * 3000  # NetBox sums port draws
    assert "allocated_draw sums to 1172 W" in dgx.sources["max_power_w"]
    assert dgx.idle_power_w == pytest.approx(0.25 * 2142) and dgx.sources["idle_power_w"].startswith("estimate")
    assert dgx.gpu_count == 0 and dgx.sources["gpu_count"].startswith("estimate")
    fields = [w.split(":")[0] for w in result.warnings if "marked estimate" in w]
    assert fields == ["weight_kg", "gpu_count", "gpu_model", "gpu_tdp_w", "gpu_memory_gb", "idle_power_w",
                      "liquid_fraction", "airflow_m3s", "gpu_slowdown_c", "gpu_shutdown_c", "gpu_design_temp_c",
                      "thermal_time_constant_s"]


def test_dcplan_written_device_types_read_back():
    types = load_catalog().server_types
    result = read_device_types_text(device_types_yaml(types))
    back = {t.key: t for t in result.types}
    for t in types:
        b = back[t.key]
        assert (b.manufacturer, b.model, b.u_height) == (t.manufacturer, t.model, t.u_height)
        assert b.max_power_w == round(t.max_power_w) and b.weight_kg == pytest.approx(t.weight_kg, abs=0.005)
        assert b.liquid_fraction == 0.0 and b.sources["liquid_fraction"].startswith("estimate")


def read_device_types_text(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "device_types.yaml"
        p.write_text(text, encoding="utf-8")
        return read_device_types([p])


@pytest.mark.parametrize("text, expected", [
    (GOOD.replace("u_height: 4", "u_height: [4"), "bad.yaml:6: YAML syntax error at column 14: expected ',' or "
     "']', but got ':' (while parsing a flow sequence that starts on line 5, column 11)"),
    (GOOD.replace("weight: 60\n", "weight: 60\nu_height: 5\n"), "bad.yaml:8: YAML syntax error at column 1: "
     "duplicate key 'u_height' (first on line 5)"),
    (GOOD.replace("u_height: 4\n", ""), "bad.yaml:2: u_height: required field is missing"),
    (GOOD.replace("slug: example-gpu-box-8\n", ""), "bad.yaml:2: slug: required field is missing"),
    (GOOD.replace("u_height: 4", "u_height: 4U"), "bad.yaml:5: u_height: must be a number of rack units >= 0, got '4U'"),
    (GOOD.replace("u_height: 4", "u_height: 1.5"), "bad.yaml:5: u_height: 1.5 U: dcplan places devices in whole rack units"),
    (GOOD.replace("u_height: 4", "u_height: 1.3"), "bad.yaml:5: u_height: must be a multiple of 0.5, got 1.3"),
    (GOOD.replace("slug: example-gpu-box-8", "slug: Example GPU"), "bad.yaml:4: slug: 'Example GPU' is not a valid slug"),
    (GOOD.replace("weight_unit: kg\n", ""), "bad.yaml:7: weight_unit: required with weight"),
    (GOOD.replace("weight_unit: kg", "weight_unit: stone"), "bad.yaml:8: weight_unit: invalid choice 'stone'"),
    (GOOD.replace("weight: 60", "weight: -1"), "bad.yaml:7: weight: must be a number >= 0, got -1"),
    (GOOD.replace("maximum_draw: 3000\n  - name: PSU2", "maximum_draw: 3 kW\n  - name: PSU2"),
     "bad.yaml:12: power-ports[0].maximum_draw: must be a whole number of watts >= 1, got '3 kW'"),
    (GOOD.replace("    maximum_draw: 3000\n", "    maximum_draw: 0\n", 1),
     "bad.yaml:12: power-ports[0].maximum_draw: must be a whole number of watts >= 1, got 0"),
    (GOOD.replace("    type: iec-60320-c20\n    maximum_draw: 3000\n", "    wattage: 3000\n", 1),
     "bad.yaml:11: power-ports[0].wattage: unknown field"),
    (GOOD.replace("is_full_depth: true", "is_full_depth: maybe"), "bad.yaml:6: is_full_depth: must be true or false"),
    (GOOD.replace("is_full_depth: true", "gpu_count: 8"), "bad.yaml:6: gpu_count: unknown field (not in the "
     "devicetype-library schema)"),
    (GOOD.replace("airflow", "x") + "airflow: sideways\n", "bad.yaml:16: airflow: invalid choice 'sideways'"),
    ("- manufacturer: Example\n", "bad.yaml:1: a device type must be a mapping of fields, got _Sequence"),
    ("", "bad.yaml: no device type in the file (empty)"),
    (GOOD.replace("model: GPU Box 8", "model: 8"), "bad.yaml:3: model: must be text, got 8"),
])
def test_malformed_yaml_gives_file_line_and_field(tmp_path, text, expected):
    path = write(tmp_path, "bad.yaml", text)
    problems = errors([path])
    assert any(p.startswith(expected) for p in problems), problems


def test_file_that_is_not_utf8(tmp_path):
    p = tmp_path / "latin1.yaml"
    p.write_bytes(GOOD.replace("GPU Box", "GPU B\xf6x").encode("latin-1"))
    assert errors([p]) == ["latin1.yaml:3: not UTF-8 text (byte 0xf6); save the file as UTF-8"]


def test_every_problem_of_every_file_is_listed(tmp_path):
    a = write(tmp_path, "a.yaml", GOOD.replace("u_height: 4", "u_height: 4U").replace("weight_unit: kg", "weight_unit: st"))
    b = write(tmp_path, "b.yaml", GOOD)
    c = write(tmp_path, "c.yaml", GOOD)  # same slug again
    problems = errors([a, b, c, tmp_path / "missing.yaml"])
    assert problems[:2] == ["a.yaml:5: u_height: must be a number of rack units >= 0, got '4U'",
                            "a.yaml:8: weight_unit: invalid choice 'st'; expected one of kg, g, lb, oz"]
    assert "missing.yaml: file not found" in problems
    assert "c.yaml:2: slug: 'example-gpu-box-8' is also defined in b.yaml:2; dcplan keys types by slug" in problems


def test_several_documents_in_one_file(tmp_path):
    two = GOOD + GOOD.replace("slug: example-gpu-box-8", "slug: example-gpu-box-4").replace("model: GPU Box 8",
                                                                                             "model: GPU Box 4")
    result = read_device_types([write(tmp_path, "two.yaml", two)])
    assert [t.key for t in result.types] == ["example-gpu-box-8", "example-gpu-box-4"]
    assert result.types[0].max_power_w == 6000 and result.types[0].weight_kg == 60


@pytest.mark.parametrize("side, expected", [
    ("example-gpu-box-8:\n  gpu_count: eight\n", "side.yaml:2: example-gpu-box-8.gpu_count: must be a number >= 0"),
    ("example-gpu-box-8:\n  gpu_count: 7.5\n", "side.yaml:2: example-gpu-box-8.gpu_count: must be a whole number"),
    ("example-gpu-box-8:\n  liquid_fraction: 1.5\n", "side.yaml:2: example-gpu-box-8.liquid_fraction: must be between"),
    ("example-gpu-box-8:\n  colour: red\n", "side.yaml:2: example-gpu-box-8.colour: not a server type field"),
    ("example-gpu-box-8:\n  u_height: 5\n", "side.yaml:2: example-gpu-box-8.u_height: 5 U contradicts u_height 4"),
    ("example-gpu-box-8:\n  idle_power_w: 9000\n", "example-gpu-box-8.idle_power_w: idle power 9000 W above max 6000 W"),
    ("- a\n", "side.yaml:1: a side file is one mapping"),
    ("example-gpu-box-8: 5\n", "side.yaml:1: example-gpu-box-8: must be a mapping"),
])
def test_side_file_errors(tmp_path, side, expected):
    problems = errors([write(tmp_path, "t.yaml", GOOD)], write(tmp_path, "side.yaml", side))
    assert any(expected in p for p in problems), problems


def test_side_file_values_and_sources(tmp_path):
    side = write(tmp_path, "side.yaml", "example-gpu-box-8:\n  gpu_count: 8\n  gpu_model: X1\n  liquid_fraction: 0.5\n"
                                        "  sources:\n    gpu_count: 'vendor sheet: 8 GPUs'\nother-type:\n  gpu_count: 1\n")
    result = read_device_types([write(tmp_path, "t.yaml", GOOD)], side)
    (t,) = result.types
    assert (t.gpu_count, t.gpu_model, t.liquid_fraction) == (8, "X1", 0.5)
    assert t.sources["gpu_count"] == "vendor sheet: 8 GPUs" and t.sources["gpu_model"] == "side file side.yaml"
    assert t.airflow_m3s == pytest.approx(3000 / (AIR_DENSITY * AIR_CP * AIR_RISE_K))
    assert "side file side.yaml lists 'other-type', which no imported file defines" in result.warnings
    assert not any(w.startswith(("gpu_count:", "liquid_fraction:")) for w in result.warnings)
    assert math.isclose(t.idle_power_w, 1500.0)


def test_add_server_types_to_a_plan():
    from dataclasses import replace

    from planner.netbox.catalog_import import CatalogImportError, add_server_types

    demo = build_demo_plan()
    imported = read_device_types(REAL, SIDE).types
    merged = add_server_types(demo, imported)
    kept = sorted(t.key for t in imported if t.key != "ap8886")
    assert sorted(merged.added) == kept and merged.replaced == []
    assert merged.notes == ["ap8886: 0 U (mounted outside the rack units) not added: dcplan places devices in rack units"]
    assert len(merged.plan.server_types) == len(demo.server_types) + 6 and len(demo.server_types) == 2
    again = add_server_types(merged.plan, imported)
    assert again.added == [] and sorted(again.unchanged) == kept
    # a taller DGX H100 would push the demo's 4th DGX (U 32-39) above a 42 U rack and onto its neighbours
    dgx = next(t for t in demo.server_types if t.key == "nvidia-dgx-h100")
    with pytest.raises(CatalogImportError) as exc:
        add_server_types(demo, [replace(dgx, u_height=12)])
    text = "\n".join(exc.value.problems)
    assert "server 'A01-DGX4': nvidia-dgx-h100 is now 12 U, U 32-43 reaches above rack 'A01' (42 U)" in text
    assert "server 'A01-DGX1': nvidia-dgx-h100 is now 12 U, U 5-16 overlaps 'A01-DGX2' (U 14-25)" in text
    heavier = add_server_types(demo, [replace(dgx, weight_kg=140.0)])
    assert heavier.replaced == ["nvidia-dgx-h100"] and demo.server_types[0].weight_kg == 130.45
