"""Issue 14 acceptance through the CLI: export --netbox, NetBox label exports, power round trip,
device-type library import, names a spreadsheet would run."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml

from models.store import load_plan, save_plan
from planner.demo import build_demo_plan
from planner.netbox import columns as nb
from planner.netbox.slugs import is_valid_slug
from ui.cli import main

DATA = Path(__file__).parent / "data" / "netbox"
FIELDS = json.loads((DATA / "import-fields-4.6.8.json").read_text())
FORMS = {nb.SITES_CSV: "SiteImportForm", nb.LOCATIONS_CSV: "LocationImportForm",
         nb.RACK_GROUPS_CSV: "RackGroupImportForm", nb.DEVICE_ROLES_CSV: "DeviceRoleImportForm",
         nb.MANUFACTURERS_CSV: "ManufacturerImportForm", nb.POWER_PANELS_CSV: "PowerPanelImportForm",
         nb.POWER_FEEDS_CSV: "PowerFeedImportForm", "racks.csv": "RackImportForm", "devices.csv": "DeviceImportForm"}


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_export_netbox_has_every_prerequisite_in_netbox_4_6_columns(tmp_path, capsys, demo_file):
    code, out, _ = run(capsys, "export", demo_file, "--out", tmp_path / "nb", "--netbox", "--json")
    assert code == 0
    files = [Path(f).name for f in json.loads(out)["files"]]
    assert files == ["sites.csv", "locations.csv", "rack_groups.csv", "racks.csv", "device_roles.csv",
                     "manufacturers.csv", "device_types.yaml", "devices.csv", "power_panels.csv", "power_feeds.csv",
                     "rack_plan.csv", "README.txt"]
    manifest = json.loads((tmp_path / "nb" / "manifest.json").read_text())
    assert manifest["complete"] and sorted(manifest["files"]) == sorted(files)
    for file, form in FORMS.items():
        header, rows = read_csv(tmp_path / "nb" / file)
        assert header == FIELDS[form], file
        if "slug" in header:
            slugs = [r["slug"] for r in rows]
            assert all(is_valid_slug(s) for s in slugs) and len(set(slugs)) == len(slugs), file
    groups = {r["name"] for r in read_csv(tmp_path / "nb" / nb.RACK_GROUPS_CSV)[1]}
    racks = read_csv(tmp_path / "nb" / "racks.csv")[1]
    assert {r["group"] for r in racks} == groups == {f"Hall 1 / {x}" for x in "ABCDEF"}
    docs = list(yaml.safe_load_all((tmp_path / "nb" / nb.DEVICE_TYPES_YAML).read_text()))
    assert [d["slug"] for d in docs] == ["nvidia-dgx-h100", "nvidia-gb200-nvl72"]
    assert all(is_valid_slug(d["slug"]) for d in docs)
    readme = (tmp_path / "nb" / "README.txt").read_text()
    assert readme.index("sites.csv") < readme.index("racks.csv") < readme.index("device_types.yaml") \
        < readme.index("devices.csv") < readme.index("power_feeds.csv")


def test_netbox_label_exports_of_the_demo_import_into_an_empty_plan(tmp_path, capsys):
    new = tmp_path / "new.dcplan"
    code, out, _ = run(capsys, "import", new, "--racks", DATA / "list_export" / "netbox_racks_all.csv",
                       "--devices", DATA / "list_export" / "netbox_devices_all.csv", "--json")
    assert code == 0, out
    info = json.loads(out)
    assert (info["created_racks"], info["created_servers"]) == (32, 104)
    assert "netbox_racks_all.csv: 32 rack(s): unit numbering assumed bottom-up (NetBox's default; its list " \
           "export has no 'descending units' column)" in info["warnings"]
    assert any(w.startswith("32 new rack(s) have no rack_plan.csv row") for w in info["warnings"])
    demo, plan = build_demo_plan(), load_plan(new)
    got = plan.rack_map()
    for r in demo.racks:
        g = got[r.name]
        assert (g.u_height, g.row, g.hall, g.max_weight_kg, g.width_m, g.depth_m) == \
            (r.u_height, r.row, r.hall, r.max_weight_kg, r.width_m, r.depth_m), r.name
    servers = {s.name: s for s in plan.servers}
    assert len(servers) == len(demo.servers) == 104
    for s in demo.servers:
        g = servers[s.name]
        assert (g.rack, g.u_position, g.face, g.server_type) == (s.rack, s.u_position, s.face, s.server_type)


def test_unreadable_rack_height_is_an_error_not_42u(tmp_path, capsys):
    text = (DATA / "list_export" / "netbox_racks_current.csv").read_text(encoding="utf-8")
    bad = tmp_path / "racks.csv"
    bad.write_text(text.replace(",48U,", ",48 HE,", 1), encoding="utf-8")
    new = tmp_path / "new.dcplan"
    code, _, err = run(capsys, "import", new, "--racks", bad)
    assert code == 1 and not new.exists()
    assert "racks.csv:26: Height: cannot read rack height '48 HE' (NetBox writes e.g. '42U')" in err
    assert "import refused: 1 problem(s)" in err


def test_power_panels_and_feeds_round_trip(tmp_path, capsys, demo_file):
    first, second, new = tmp_path / "first", tmp_path / "second", tmp_path / "new.dcplan"
    assert run(capsys, "export", demo_file, "--out", first, "--netbox")[0] == 0
    code, out, _ = run(capsys, "import", new, "--racks", first / "racks.csv", "--devices", first / "devices.csv",
                       "--power-panels", first / "power_panels.csv", "--power-feeds", first / "power_feeds.csv",
                       "--json")
    assert code == 0 and json.loads(out)["created_feeds"] == 64
    assert run(capsys, "export", new, "--out", second, "--netbox")[0] == 0
    feeds_1, feeds_2 = (read_csv(d / nb.POWER_FEEDS_CSV) for d in (first, second))
    assert feeds_2 == feeds_1 and len(feeds_1[1]) == 64
    assert {(r["type"], r["name"][-1]) for r in feeds_1[1]} == {("primary", "A"), ("redundant", "B")}
    assert (second / nb.POWER_PANELS_CSV).read_text() == (first / nb.POWER_PANELS_CSV).read_text()
    assert len(read_csv(first / nb.POWER_PANELS_CSV)[1]) == 12
    plan = load_plan(new)
    assert {(r.name, r.feed_a, r.feed_b) for r in plan.racks} == \
        {(r.name, r.feed_a, r.feed_b) for r in build_demo_plan().racks}


def test_power_feed_problem_refuses_the_whole_import(tmp_path, capsys, demo_file):
    first, new = tmp_path / "first", tmp_path / "new.dcplan"
    run(capsys, "export", demo_file, "--out", first, "--netbox")
    feeds = first / nb.POWER_FEEDS_CSV
    feeds.write_text(feeds.read_text().replace(",A01,A01-A,active,primary,", ",A99,A01-A,active,primary,"))
    code, _, err = run(capsys, "import", new, "--racks", first / "racks.csv", "--power-feeds", feeds,
                       "--ignore-manifest")
    assert code == 1 and not new.exists()
    assert "power_feeds.csv:2: rack: unknown rack 'A99'" in err


def test_catalog_import_of_library_files(tmp_path, capsys, demo_file):
    files = sorted(p for p in (DATA / "devicetypes").iterdir() if p.suffix in (".yaml", ".yml") and p.stem != "side")
    code, out, _ = run(capsys, "catalog", "import", demo_file, *files, "--side-file", DATA / "devicetypes" / "side.yaml",
                       "--json")
    assert code == 0
    info = json.loads(out)
    assert len(info["added"]) == 6 and len(load_plan(demo_file).server_types) == 8  # 7 files, the 0 U PDU left out
    assert "ap8886: 0 U (mounted outside the rack units) not added: dcplan places devices in rack units" in info["warnings"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("manufacturer: X\nmodel: Y\nslug: x-y\nu_height: 2U\n")
    before = load_plan(demo_file)
    code, _, err = run(capsys, "catalog", "import", demo_file, bad)
    assert code == 1 and "bad.yaml:4: u_height: must be a number of rack units >= 0, got '2U'" in err
    assert load_plan(demo_file) == before


def test_formula_names_warned_neutralised_and_raw_with_netbox(tmp_path, capsys):
    plan = build_demo_plan()
    old = plan.racks[0].name
    plan.racks[0].name = "-R1"
    for s in plan.servers:
        if s.rack == old:
            s.rack = "-R1"
    for f in plan.power_feeds:
        if f.redundancy_group == old:
            f.redundancy_group = "-R1"
    plan.servers[0].name = "=S1"
    path = tmp_path / "risky.dcplan"
    save_plan(plan, path)
    code, out, _ = run(capsys, "check", path, "--json")
    found = {p["message"].split(" begins")[0] for p in json.loads(out)["problems"] if p["code"] == "name-formula"}
    assert found == {"Rack '-R1'", "Server '=S1'"}
    run(capsys, "export", path, "--out", tmp_path / "plain")
    racks = read_csv(tmp_path / "plain" / "racks.csv")[1]
    devices = read_csv(tmp_path / "plain" / "devices.csv")[1]
    assert "'-R1" in {r["name"] for r in racks} and "'=S1" in {d["name"] for d in devices}
    run(capsys, "export", path, "--out", tmp_path / "nb", "--netbox")
    racks = read_csv(tmp_path / "nb" / "racks.csv")[1]
    devices = read_csv(tmp_path / "nb" / "devices.csv")[1]
    feeds = read_csv(tmp_path / "nb" / nb.POWER_FEEDS_CSV)[1]
    assert "-R1" in {r["name"] for r in racks} and {"=S1", "-R1"} <= {d["name"] for d in devices} | {d["rack"] for d in devices}
    assert not any(v.startswith("'") for row in racks + devices + feeds for v in row.values())
    # both exports read back to the same names
    for folder in ("plain", "nb"):
        new = tmp_path / f"{folder}.dcplan"
        assert run(capsys, "import", new, "--racks", tmp_path / folder / "racks.csv",
                   "--devices", tmp_path / folder / "devices.csv")[0] == 0
        back = load_plan(new)
        assert "-R1" in back.rack_map() and "=S1" in {s.name for s in back.servers}
