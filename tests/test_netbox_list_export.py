"""NetBox's own list exports (display labels) read back: demo fixtures, unreadable values, forced defaults."""
from __future__ import annotations

from pathlib import Path

import pytest

from planner.csv_exchange import CsvImportError, import_csv
from planner.catalog import load_catalog
from planner.demo import build_demo_plan
from planner.netbox.columns import row_from_group
from planner.netbox.list_export import DEVICES, RACKS, read_list_export
from planner.plan import Plan
from tests import netbox_list_export as emulate

DATA = Path(__file__).parent / "data" / "netbox" / "list_export"
FIXTURES = {"netbox_racks_all.csv": (emulate.racks_csv, "all"), "netbox_racks_current.csv": (emulate.racks_csv, "current"),
            "netbox_devices_all.csv": (emulate.devices_csv, "all"),
            "netbox_devices_current.csv": (emulate.devices_csv, "current")}


def test_fixtures_are_what_the_emulation_writes_for_the_demo():
    plan = build_demo_plan()
    for name, (fn, view) in FIXTURES.items():
        assert (DATA / name).read_bytes().decode("utf-8") == fn(plan, view), name


def import_translated(tmp_path: Path, racks_file: Path, devices_file: Path | None):
    racks = read_list_export(racks_file, RACKS)
    (tmp_path / "racks.csv").write_text(racks.csv_text(), encoding="utf-8")
    paths = {"racks_path": tmp_path / "racks.csv"}
    warnings = list(racks.warnings)
    if devices_file is not None:
        devices = read_list_export(devices_file, DEVICES, racks.starting_units)
        (tmp_path / "devices.csv").write_text(devices.csv_text(), encoding="utf-8")
        paths["devices_path"] = tmp_path / "devices.csv"
        warnings += devices.warnings
    outcome = import_csv(Plan(), catalog_types=load_catalog().server_types, **paths)
    return outcome, warnings


def test_all_data_exports_of_the_demo_import_into_an_empty_plan(tmp_path):
    demo = build_demo_plan()
    outcome, warnings = import_translated(tmp_path, DATA / "netbox_racks_all.csv", DATA / "netbox_devices_all.csv")
    plan = outcome.plan
    assert outcome.created_racks == 32 and outcome.created_servers == 104
    racks = plan.rack_map()
    for r in demo.racks:
        got = racks[r.name]
        assert got.u_height == r.u_height, r.name  # 48 U GB200 racks stay 48 U
        assert (got.hall, got.status, got.width_m, got.depth_m, got.max_weight_kg) == \
            (r.hall, r.status, r.width_m, r.depth_m, r.max_weight_kg)
        assert row_from_group(got.hall, got.row) == r.row
    assert sorted(r.u_height for r in plan.racks).count(48) == 8
    servers = {s.name: s for s in plan.servers}
    assert set(servers) == {s.name for s in demo.servers}
    for s in demo.servers:
        got = servers[s.name]
        assert (got.rack, got.u_position, got.face, got.server_type) == (s.rack, s.u_position, s.face, s.server_type)
    assert warnings == ["netbox_racks_all.csv: 32 rack(s): unit numbering assumed bottom-up (NetBox's default; "
                        "its list export has no 'descending units' column)"]


def test_current_view_racks_import_with_forced_defaults_counted(tmp_path):
    outcome, warnings = import_translated(tmp_path, DATA / "netbox_racks_current.csv", DATA / "netbox_devices_all.csv")
    demo = build_demo_plan().rack_map()
    assert all(r.u_height == demo[r.name].u_height for r in outcome.plan.racks)
    assert len([w for w in warnings if "32 rack(s)" in w]) == 4
    assert any("no 'Starting unit' column; U1 assumed" in w for w in warnings)
    assert any("without max weight" in w for w in warnings)


def test_current_view_devices_are_refused_with_the_columns_to_add():
    with pytest.raises(CsvImportError) as exc:
        read_list_export(DATA / "netbox_devices_current.csv", DEVICES)
    assert [str(p) for p in exc.value.problems] == [
        "netbox_devices_current.csv:1: Position: missing column; dcplan needs it (add the column to the table view "
        "in NetBox (Configure Table), or export 'All data')",
        "netbox_devices_current.csv:1: Rack face: missing column; dcplan needs it (add the column to the table "
        "view in NetBox (Configure Table), or export 'All data')"]


def edited(tmp_path: Path, name: str, old: str, new: str, count: int = 1) -> Path:
    text = (DATA / name).read_text(encoding="utf-8")
    assert old in text
    p = tmp_path / name
    p.write_text(text.replace(old, new, count), encoding="utf-8")
    return p


def problems(path: Path, kind: str) -> list[str]:
    with pytest.raises(CsvImportError) as exc:
        read_list_export(path, kind)
    return [str(p) for p in exc.value.problems]


@pytest.mark.parametrize("old, new, expected", [
    (",48U,", ",forty-eight,", "netbox_racks_all.csv:26: Height: cannot read rack height 'forty-eight' (NetBox writes e.g. '42U')"),
    (",48U,", ",,", "netbox_racks_all.csv:26: Height: empty; dcplan needs the rack height"),
    (",48U,", ",0U,", "netbox_racks_all.csv:26: Height: cannot read rack height '0U'"),
    (",1200 mm,", ",1200 furlongs,", "netbox_racks_all.csv:2: Outer Depth: cannot read '1200 furlongs'"),
    (",1360 kg,", ",heavy,", "netbox_racks_all.csv:2: Max Weight: cannot read 'heavy' (NetBox writes e.g. '1360 kg')"),
    (",Active,", ",Broken,", "netbox_racks_all.csv:2: Status: cannot read 'Broken'; expected one of Reserved, Available"),
    (",19 inches,", ",20 inches,", "netbox_racks_all.csv:2: Width: cannot read '20 inches'"),
])
def test_unreadable_rack_values_are_errors_with_row_and_column(tmp_path, old, new, expected):
    path = edited(tmp_path, "netbox_racks_all.csv", old, new)
    got = problems(path, RACKS)
    assert len(got) == 1 and got[0].startswith(expected), got


def test_missing_height_column_is_an_error_not_42u(tmp_path):
    text = (DATA / "netbox_racks_current.csv").read_text(encoding="utf-8")
    p = tmp_path / "racks.csv"
    p.write_text(text.replace(",Height,", ",Heigth,"), encoding="utf-8")
    got = problems(p, RACKS)
    assert got == ["racks.csv:1: Height: missing column; dcplan needs it (add the column to the table view in "
                   "NetBox (Configure Table), or export 'All data')"]


@pytest.mark.parametrize("old, new, expected", [
    ("Hall 1,A01,GPU server,NVIDIA,DGX H100,,1,,,,,,,,5,Front,", "Hall 1,A01,GPU server,NVIDIA,DGX H100,,1,,,,,,,,5.5,Front,",
     "netbox_devices_all.csv:2: Position: U 5.5: dcplan places devices at whole rack units"),
    ("Hall 1,A01,GPU server,NVIDIA,DGX H100,,1,,,,,,,,5,Front,", "Hall 1,A01,GPU server,NVIDIA,DGX H100,,1,,,,,,,,,Front,",
     "netbox_devices_all.csv:2: Position: empty; dcplan places every device at a rack unit"),
    ("Hall 1,A01,GPU server,NVIDIA,DGX H100,,1,,,,,,,,5,Front,", "Hall 1,A01,GPU server,NVIDIA,DGX H100,,1,,,,,,,,5,Side,",
     "netbox_devices_all.csv:2: Rack face: cannot read 'Side'; expected one of Front, Rear"),
    ("Hall 1,A01,GPU server,NVIDIA,DGX H100,,1,,,,,,,,5,Front,", "Hall 1,A01,GPU server,NVIDIA,DGX H100,,1,,,,,,,,5,,",
     "netbox_devices_all.csv:2: Rack face: empty; dcplan needs it"),
    ("Hall 1,A01,GPU server,NVIDIA,DGX H100,", "Hall 1,A01,GPU server,NVIDIA,,",
     "netbox_devices_all.csv:2: Type: empty; dcplan needs it"),
    ("A01-DGX1,Active", "Unnamed device,Active", "netbox_devices_all.csv:2: Name: the device has no name in NetBox"),
])
def test_unreadable_device_values_are_errors_with_row_and_column(tmp_path, old, new, expected):
    path = edited(tmp_path, "netbox_devices_all.csv", old, new)
    got = problems(path, DEVICES)
    assert len(got) == 1 and got[0].startswith(expected), got


def test_html_escaped_names_and_starting_units(tmp_path):
    """Device names come from a TemplateColumn: '&' is exported as '&amp;'. A rack starting at U 5
    numbers its first unit 5: dcplan's U 1."""
    plan = build_demo_plan()
    plan.servers[0].name = "A01 R&D <1>"
    racks = emulate.racks_csv(plan).replace("\r\nA01,Phoenix AI Campus,Hall 1,Hall 1 / A,Active,,,None,,42U,4,"
                                            "76.19047619047619%,1,,,,,1,", "\r\nA01,Phoenix AI Campus,Hall 1,Hall 1 / A,"
                                            "Active,,,None,,42U,4,76.19047619047619%,1,,,,,5,")
    devices = emulate.devices_csv(plan)
    assert "A01 R&amp;D &lt;1&gt;" in devices
    devices = devices.replace(",5,Front,", ",9,Front,", 1)
    (tmp_path / "r.csv").write_text(racks, encoding="utf-8")
    (tmp_path / "d.csv").write_text(devices, encoding="utf-8")
    r = read_list_export(tmp_path / "r.csv", RACKS)
    assert r.starting_units == {"A01": 5}
    d = read_list_export(tmp_path / "d.csv", DEVICES, r.starting_units)
    first = dict(zip(sorted(d.table.columns, key=d.table.columns.get), d.table.rows[0][1]))
    assert first["name"] == "A01 R&D <1>" and first["position"] == "5"


def test_plain_import_files_are_not_list_exports(tmp_path):
    demo = build_demo_plan()
    from planner.csv_exchange import export_csv

    export_csv(demo, tmp_path)
    got = problems(tmp_path / "racks.csv", RACKS)
    assert got[0].startswith("racks.csv:1: not a NetBox list export of racks")
