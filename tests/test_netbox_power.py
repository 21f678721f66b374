"""power_panels.csv / power_feeds.csv (NetBox import columns) read back: round trip and refusals."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from planner.csv_exchange import CsvImportError
from planner.demo import build_demo_plan
from planner.netbox import columns as nb
from planner.netbox.power import import_power, parse_feed_description
from planner.netbox.prerequisites import prerequisite_tables
from planner.plan import Plan, PowerFeed


def without_feeds(plan: Plan) -> Plan:
    out = copy.deepcopy(plan)
    out.power_feeds = []
    for r in out.racks:
        r.feed_a = r.feed_b = None
    return out


def test_feeds_and_panels_round_trip(netbox_export):
    demo, out, _ = netbox_export
    result = import_power(without_feeds(demo), out / nb.POWER_PANELS_CSV, out / nb.POWER_FEEDS_CSV)
    assert result.created_feeds == 64 and result.updated_feeds == 0 and result.warnings == []
    back = result.plan
    assert sorted(back.power_feeds, key=lambda f: f.name) == sorted(demo.power_feeds, key=lambda f: f.name)
    assert [(r.feed_a, r.feed_b) for r in back.racks] == [(r.feed_a, r.feed_b) for r in demo.racks]
    first, _ = prerequisite_tables(demo)
    again, _ = prerequisite_tables(back)
    for file in (nb.POWER_FEEDS_CSV, nb.POWER_PANELS_CSV):
        assert again[file] == first[file]
    assert sum(f.capacity_kw for f in back.power_feeds) == pytest.approx(sum(f.capacity_kw for f in demo.power_feeds))


def test_reimport_updates_in_place(netbox_export):
    demo, out, _ = netbox_export
    result = import_power(demo, feeds_path=out / nb.POWER_FEEDS_CSV)
    assert (result.created_feeds, result.updated_feeds) == (0, 0)
    text = (out / nb.POWER_FEEDS_CSV).read_text().replace("A01-A,active,primary,,ac,three-phase,415,80,80",
                                                           "A01-A,active,primary,,ac,three-phase,400,125,90")
    p = out.parent / "edited_feeds.csv"
    p.write_text(text)
    result = import_power(demo, feeds_path=p)
    assert result.updated_feeds == 1
    f = next(f for f in result.plan.power_feeds if f.name == "A01-A")
    assert (f.voltage, f.amperage, f.max_utilization, f.phase, f.side) == (400.0, 125.0, 0.9, 3, "A")
    assert demo.power_feeds[0].amperage == 80  # input untouched


def feeds_file(tmp_path: Path, rows: list[str], header: str | None = None) -> Path:
    header = header or ",".join(nb.POWER_FEED_COLUMNS)
    p = tmp_path / "power_feeds.csv"
    p.write_text(header + "\n" + "\n".join(rows) + "\n")
    return p


def row(name="A01-A", rack="A01", kind="primary", supply="ac", phase="three-phase", voltage="415", amps="80",
        util="80", panel="PDU-A-A", description="") -> str:
    values = {"site": "Phoenix AI Campus", "power_panel": panel, "location": "Hall 1", "rack": rack, "name": name,
              "status": "active", "type": kind, "supply": supply, "phase": phase, "voltage": voltage,
              "amperage": amps, "max_utilization": util, "description": description}
    return ",".join(values.get(c, "") for c in nb.POWER_FEED_COLUMNS)


def refused(plan, **paths) -> list[str]:
    before = copy.deepcopy(plan)
    with pytest.raises(CsvImportError) as exc:
        import_power(plan, **paths)
    assert plan == before
    return [str(p) for p in exc.value.problems]


def test_every_problem_is_listed_with_row_and_column(tmp_path):
    plan = without_feeds(build_demo_plan())
    p = feeds_file(tmp_path, [
        row(),
        row(name="A01-A", rack="A02"),  # duplicate name
        row(name="X-A", rack="A01"),  # second primary on A01
        row(name="Y", rack="Z99"),
        row(name="DC1", rack="", supply="dc", voltage="-48"),
        row(name="U0", rack="", util="0"),
        row(name="U101", rack="", util="101"),
        row(name="H", rack="", amps="62.5"),
        row(name="P", rack="", phase="two-phase"),
    ])
    got = refused(plan, feeds_path=p)
    assert got == [
        "power_feeds.csv:3: name: duplicate feed name 'A01-A' (first on row 2); dcplan names feeds plant-wide, so "
        "they must differ across panels too",
        "power_feeds.csv:4: type: rack 'A01' already has primary feed 'A01-A' (row 2); dcplan models one A and one "
        "B feed per rack",
        "power_feeds.csv:5: rack: unknown rack 'Z99'",
        "power_feeds.csv:6: voltage: must be >= 1, got -48",
        "power_feeds.csv:6: supply: DC feeds are not modelled by dcplan (feed capacity uses AC power factor)",
        "power_feeds.csv:7: max_utilization: must be >= 1, got 0",
        "power_feeds.csv:8: max_utilization: must be <= 100, got 101",
        "power_feeds.csv:9: amperage: must be a whole number, got 62.5",
        "power_feeds.csv:10: phase: invalid choice 'two-phase'; expected one of single-phase, three-phase",
    ]


def test_ratings_netbox_would_default_are_required_columns(tmp_path):
    header = ",".join(c for c in nb.POWER_FEED_COLUMNS if c != "voltage")
    p = feeds_file(tmp_path, ["Phoenix AI Campus,PDU-A-A,Hall 1,A01,A01-A,active,primary,,ac,three-phase,80,80"],
                   header=header)
    assert refused(build_demo_plan(), feeds_path=p) == ["power_feeds.csv:1: voltage: missing required column"]


def test_panels_file_checks_feed_panels_and_reports_empty_panels(tmp_path):
    panels = tmp_path / "power_panels.csv"
    panels.write_text("site,location,name\nPhoenix AI Campus,Hall 1,PDU-A-A\nPhoenix AI Campus,Hall 1,SPARE\n"
                      "Phoenix AI Campus,Hall 1,SPARE\n")
    p = feeds_file(tmp_path, [row(), row(name="A01-B", kind="redundant", panel="PDU-Z")])
    assert refused(without_feeds(build_demo_plan()), panels_path=panels, feeds_path=p) == [
        "power_panels.csv:4: name: duplicate power panel 'SPARE' (first on row 3)",
        "power_feeds.csv:3: power_panel: unknown power panel 'PDU-Z' (not in power_panels.csv)"]
    panels.write_text("site,location,name\nPhoenix AI Campus,Hall 1,PDU-A-A\nPhoenix AI Campus,Hall 1,SPARE\n")
    result = import_power(without_feeds(build_demo_plan()), panels, feeds_file(tmp_path, [row()]))
    assert result.warnings == ["1 new feed(s) without a dcplan description: power factor 0.95 assumed (NetBox has "
                               "no power factor field)",
                               "1 panel(s) without feeds not kept (dcplan keeps panels as the panels of feeds): SPARE"]
    f = result.plan.power_feeds[0]
    assert (f.redundancy_group, f.power_factor, result.plan.rack_map()["A01"].feed_a) == ("A01", 0.95, "A01-A")


def test_feed_description_carries_what_netbox_lacks():
    assert parse_feed_description("dcplan side B; redundancy group R 7; power factor 0.9") == \
        {"redundancy_group": "R 7", "power_factor": 0.9}
    assert parse_feed_description("dcplan side A; power factor 1.5") == {}
    assert parse_feed_description("feed from UPS 2") == {}
    plan = build_demo_plan()
    plan.power_feeds.append(PowerFeed("SOLO", panel="", power_factor=0.9, side="B"))
    tables, _ = prerequisite_tables(plan)
    solo = next(r for r in tables[nb.POWER_FEEDS_CSV][1] if r["name"] == "SOLO")
    assert solo["description"] == "dcplan side B; power factor 0.9"
