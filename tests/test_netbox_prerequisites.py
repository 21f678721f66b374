"""NetBox prerequisite files: columns of NetBox 4.6.8's import forms, valid unique slugs, import order."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from planner.demo import build_demo_plan
from planner.netbox import columns as nb
from planner.netbox.prerequisites import IMPORT_ORDER, NO_PANEL, prerequisite_tables
from planner.netbox.slugs import SLUG_MAX, is_valid_slug, slugify, unique_slugs
from planner.plan import Hall, PowerFeed, Rack

FIELDS = json.loads((Path(__file__).parent / "data" / "netbox" / "import-fields-4.6.8.json").read_text())
#: file -> (import form, columns with a slug, scope of uniqueness of the slug / name)
FORMS = {
    nb.SITES_CSV: "SiteImportForm", nb.LOCATIONS_CSV: "LocationImportForm",
    nb.RACK_GROUPS_CSV: "RackGroupImportForm", nb.DEVICE_ROLES_CSV: "DeviceRoleImportForm",
    nb.MANUFACTURERS_CSV: "ManufacturerImportForm", nb.POWER_PANELS_CSV: "PowerPanelImportForm",
    nb.POWER_FEEDS_CSV: "PowerFeedImportForm",
}
#: Device-type schema enums (devicetype-library schema/generated_schema.json) the writer uses.
POWER_PORT_TYPES_USED = {"other"}
AIRFLOWS = {"front-to-rear", "rear-to-front", "left-to-right", "right-to-left", "side-to-rear", "passive", "mixed"}


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def test_column_lists_equal_netbox_4_6_8_import_forms():
    forms = {k for k in FIELDS if not k.endswith(".required")}
    assert set(nb.IMPORT_FORMS) == forms and len(forms) == 9
    for form, cols in nb.IMPORT_FORMS.items():
        assert list(cols) == FIELDS[form], form


def test_every_prerequisite_file_has_the_import_form_columns(netbox_export):
    plan, out, result = netbox_export
    names = [p.name for p in result.paths]
    assert names == [n for n, _, _ in IMPORT_ORDER if n not in ("racks.csv", "devices.csv")] + ["README.txt"]
    for file, form in FORMS.items():
        header, rows = read_csv(out / file)
        assert header == FIELDS[form], file
        assert rows, file
    # counts of the demo: 1 site, 1 hall, 6 rows, 1 role, 1 manufacturer, 12 panels, 64 feeds
    counts = {f: len(read_csv(out / f)[1]) for f in FORMS}
    assert counts == {nb.SITES_CSV: 1, nb.LOCATIONS_CSV: 1, nb.RACK_GROUPS_CSV: 6, nb.DEVICE_ROLES_CSV: 1,
                      nb.MANUFACTURERS_CSV: 1, nb.POWER_PANELS_CSV: 12, nb.POWER_FEEDS_CSV: 64}
    assert result.notes == []


def test_required_import_values_are_present_and_valid_choices(netbox_export):
    _, out, _ = netbox_export
    site = read_csv(out / nb.SITES_CSV)[1][0]
    assert site["status"] in dict(nb.SITE_STATUSES) and site["time_zone"] == "America/Phoenix"
    assert site["latitude"] == "33.45" and site["longitude"] == "-111.98"
    for loc in read_csv(out / nb.LOCATIONS_CSV)[1]:
        assert loc["site"] == site["name"] and loc["status"] == "active"
    for feed in read_csv(out / nb.POWER_FEEDS_CSV)[1]:
        assert feed["status"] in nb.POWER_FEED_STATUSES and feed["supply"] in nb.POWER_FEED_SUPPLIES
        assert feed["phase"] == "three-phase" and feed["voltage"] == "415" and feed["max_utilization"] == "80"
        assert feed["type"] == ("primary" if feed["name"].endswith("-A") else "redundant")
        assert feed["rack"] == feed["name"][:-2] and feed["location"] == "Hall 1"
        assert feed["amperage"] == ("250" if feed["rack"][0] in "EF" else "80")
    panels = read_csv(out / nb.POWER_PANELS_CSV)[1]
    assert sorted(p["name"] for p in panels) == sorted(f"PDU-{r}-{s}" for r in "ABCDEF" for s in "AB")


def test_slugs_valid_and_unique_in_netbox_scope(netbox_export):
    _, out, _ = netbox_export
    for file in (nb.SITES_CSV, nb.LOCATIONS_CSV, nb.RACK_GROUPS_CSV, nb.DEVICE_ROLES_CSV, nb.MANUFACTURERS_CSV):
        rows = read_csv(out / file)[1]
        slugs = [r["slug"] for r in rows]
        assert all(is_valid_slug(s) for s in slugs), (file, slugs)
        assert len(set(slugs)) == len(slugs) and len({r["name"] for r in rows}) == len(rows), file
    docs = list(yaml.safe_load_all((out / nb.DEVICE_TYPES_YAML).read_text()))
    per_maker = {}
    for d in docs:
        per_maker.setdefault(d["manufacturer"], []).append(d["slug"])
    for slugs in per_maker.values():
        assert len(set(slugs)) == len(slugs) and all(is_valid_slug(s) for s in slugs)


def test_device_types_yaml_follows_the_library_schema(netbox_export):
    plan, out, _ = netbox_export
    docs = list(yaml.safe_load_all((out / nb.DEVICE_TYPES_YAML).read_text()))
    assert (out / nb.DEVICE_TYPES_YAML).read_text().count("---\n") == len(docs) == len(plan.server_types)
    schema_fields = {"manufacturer", "model", "slug", "u_height", "is_full_depth", "airflow", "weight",
                     "weight_unit", "power-ports", "description"}
    for d, t in zip(docs, plan.server_types):
        assert set(d) <= schema_fields
        assert {"manufacturer", "model", "slug", "u_height", "is_full_depth"} <= set(d)
        assert d["slug"] == t.key and d["model"] == t.model and d["manufacturer"] == t.manufacturer
        assert d["u_height"] == t.u_height and d["is_full_depth"] is True and d["airflow"] in AIRFLOWS
        assert d["weight"] == round(t.weight_kg, 2) and d["weight_unit"] == "kg"
        assert len(d["description"]) <= 200
        (port,) = d["power-ports"]
        assert set(port) == {"name", "type", "maximum_draw"} and port["type"] in POWER_PORT_TYPES_USED
        assert port["maximum_draw"] == t.max_power_w and isinstance(port["maximum_draw"], int)


def test_rack_groups_are_unique_per_hall():
    """Row A of two halls: two NetBox rack groups (names are global in NetBox 4.6)."""
    plan = build_demo_plan()
    plan.halls.append(Hall("Hall 2"))
    plan.racks.append(Rack("H2-A01", hall="Hall 2", row="A"))
    tables, _ = prerequisite_tables(plan)
    groups = [r["name"] for r in tables[nb.RACK_GROUPS_CSV][1]]
    assert "Hall 1 / A" in groups and "Hall 2 / A" in groups
    assert len(set(groups)) == len(groups)
    slugs = [r["slug"] for r in tables[nb.RACK_GROUPS_CSV][1]]
    assert len(set(slugs)) == len(slugs) and "hall-2-a" in slugs
    assert nb.row_from_group("Hall 2", "Hall 2 / A") == "A"
    assert nb.row_from_group("Hall 2", "Hall 1 / A") == "Hall 1 / A"  # another hall's group: kept whole
    assert nb.row_from_group("Hall 2", "A") == "A"


def test_feeds_netbox_cannot_hold_are_reported():
    plan = build_demo_plan()
    f = plan.power_feeds[0]
    plan.power_feeds[0] = replace(f, amperage=62.5, max_utilization=1.2)
    plan.power_feeds.append(PowerFeed("LOOSE", side="B"))
    plan.racks[1].feed_a = plan.racks[0].feed_a  # one feed named by two racks
    tables, notes = prerequisite_tables(plan)
    text = "\n".join(notes)
    assert "amperage [A]: 62.5 written as 62" in text
    assert "max utilisation [%]: 120 written as 100" in text
    assert f"feed {plan.racks[0].feed_a!r} serves racks A01, A02" in text
    assert "1 feed(s) name no panel" in text
    loose = next(r for r in tables[nb.POWER_FEEDS_CSV][1] if r["name"] == "LOOSE")
    assert loose["power_panel"] == NO_PANEL and loose["rack"] == "" and loose["type"] == "redundant"


@pytest.mark.parametrize("name, slug", [("Hall 1 / A", "hall-1-a"), ("Phoenix AI Campus", "phoenix-ai-campus"),
                                        ("Café Nord", "cafe-nord"), ("GPU server", "gpu-server")])
def test_slugify(name, slug):
    assert slugify(name) == slug


def test_unique_slugs_are_valid_distinct_and_stable():
    names = ["Hall 1 / A", "Hall 1/A", "hall-1-a", "=+", "@", "x" * 300, "Ünïcode ✓"]
    slugs = unique_slugs(names)
    assert all(is_valid_slug(s) and len(s) <= SLUG_MAX for s in slugs.values())
    assert len(set(slugs.values())) == len(names)
    assert slugs["Hall 1 / A"] == "hall-1-a"  # first of the colliding names (sorted) keeps the base slug
    # stable: adding an unrelated name changes no slug
    more = unique_slugs(names + ["Hall 9"])
    assert all(more[n] == slugs[n] for n in names)


def test_readme_lists_the_import_order(netbox_export):
    _, out, _ = netbox_export
    text = (out / nb.README_TXT).read_text()
    positions = [text.index(f" {name} ") for name, _, _ in IMPORT_ORDER]
    assert positions == sorted(positions)
    assert text.index("sites.csv") < text.index("racks.csv") < text.index("devices.csv") < text.index("power_feeds.csv")

