"""Rack-plan CSV exchange: NetBox racks/devices files and dcplan's rack_plan.csv."""
from __future__ import annotations

import copy
import csv
import io
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.csv_exchange import (
    DEVICES_CSV,
    NETBOX_DEVICE_COLUMNS,
    NETBOX_RACK_COLUMNS,
    RACK_PLAN_COLUMNS,
    RACK_PLAN_CSV,
    RACK_STATUSES,
    RACKS_CSV,
    CsvImportError,
    CsvProblem,
    export_csv,
    import_csv,
    neutralise,
    unneutralise,
)
from planner.floor import boxes_overlap
from planner.plan import QUANTITY_MAX, Hall, Plan, Rack, Server, ServerType, Site
from sample_plans import CSV_SITE as SITE, DGX_H100 as H100, GB200_NVL72 as NVL72, three_rack_plan

DATA = Path(__file__).parent / "data" / "csv"

# The shared three-rack plan and its server types: tests/sample_plans.py (test_hostile_files uses it too)
B200 = ServerType(key="nvidia-dgx-b200", manufacturer="NVIDIA", model="DGX B200", u_height=10, gpu_count=8,
                  gpu_model="B200", gpu_tdp_w=1000.0, idle_power_w=4000.0, max_power_w=14300.0)
CATALOG = [B200]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def problems(plan: Plan, **paths) -> list[str]:
    """Import that must fail; returns the problem texts. Also checks the plan is untouched."""
    before = copy.deepcopy(plan)
    with pytest.raises(CsvImportError) as exc:
        import_csv(plan, catalog_types=CATALOG, **paths)
    assert plan == before
    return [str(p) for p in exc.value.problems]


def rows_of(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def assert_racks_consistent(plan: Plan) -> None:
    """Invariants a successful import guarantees: unique names, known racks and types,
    every server inside its rack and no two servers of a rack sharing a U."""
    assert len({r.name for r in plan.racks}) == len(plan.racks)
    assert len({s.name for s in plan.servers}) == len(plan.servers)
    racks, types = plan.rack_map(), plan.server_type_map()
    used: dict[str, set[int]] = {}
    for s in plan.servers:
        t = types[s.server_type]
        assert 1 <= s.u_position and s.u_position + t.u_height - 1 <= racks[s.rack].u_height
        units = set(range(s.u_position, s.u_position + t.u_height))
        assert not units & used.setdefault(s.rack, set())
        used[s.rack] |= units


RACKS_HEAD = "site,name,status,u_height\n"
DEVICES_HEAD = "name,device_type,site,rack,position,status,face\n"
PLAN_HEAD = ",".join(RACK_PLAN_COLUMNS) + "\n"
PLAN_A01 = "A01,Hall A,A,2.7,1.8,S,0.6,1.2,42,48,1360,air,AIR,,A01-A,A01-B,active,2,20.4\n"


# --------------------------------------------------------------------------- columns and export

def test_netbox_columns_are_the_netbox_4_6_import_fields_in_order():
    # RackImportForm / DeviceImportForm Meta.fields, NetBox 4.6 (see the module docstring).
    assert NETBOX_RACK_COLUMNS == (
        "site", "location", "group", "name", "facility_id", "tenant", "status", "role", "rack_type",
        "form_factor", "serial", "asset_tag", "width", "u_height", "desc_units", "outer_width",
        "outer_height", "outer_depth", "outer_unit", "mounting_depth", "airflow", "weight",
        "max_weight", "weight_unit", "description", "owner", "comments", "tags")
    assert NETBOX_DEVICE_COLUMNS == (
        "name", "role", "tenant", "manufacturer", "device_type", "platform", "serial", "asset_tag",
        "status", "site", "location", "rack", "position", "face", "latitude", "longitude", "parent",
        "device_bay", "airflow", "virtual_chassis", "vc_position", "vc_priority", "cluster",
        "description", "config_template", "owner", "comments", "tags")


def test_export_writes_netbox_and_plan_rows(tmp_path):
    paths = export_csv(three_rack_plan(), tmp_path / "out")
    assert [p.name for p in paths] == [RACKS_CSV, DEVICES_CSV, RACK_PLAN_CSV]
    racks, devices, plan_rows = (p.read_bytes().decode("utf-8") for p in paths)
    assert "\r" not in racks + devices + plan_rows
    assert racks.splitlines() == [
        ",".join(NETBOX_RACK_COLUMNS),
        # width 19 in, outer 600 x 1200 mm, max weight 1360 kg (whole numbers for NetBox)
        f"{SITE},Hall A,A,A01,,,active,,,,,,19,42,false,600,,1200,mm,,front-to-rear,,1360,kg,,,,",
        f"{SITE},Hall A,A,A02,,,active,,,,,,19,42,false,600,,1200,mm,,front-to-rear,,1360,kg,,,,",
        f"{SITE},Hall A,E,E01,,,active,,,,,,19,48,false,600,,1200,mm,,front-to-rear,,1800,kg,,,,",
    ]
    assert devices.splitlines() == [
        ",".join(NETBOX_DEVICE_COLUMNS),
        f"A01-DGX1,GPU server,,NVIDIA,DGX H100,,,,active,{SITE},Hall A,A01,5,front,,,,,front-to-rear,,,,,,,,,",
        f"A01-DGX2,GPU server,,NVIDIA,DGX H100,,,,active,{SITE},Hall A,A01,14,front,,,,,front-to-rear,,,,,,,,,",
        f"A02-DGX1,GPU server,,NVIDIA,DGX H100,,,,active,{SITE},Hall A,A02,5,rear,,,,,front-to-rear,,,,,,,,,",
        f"E01-NVL72,GPU server,,NVIDIA,GB200 NVL72,,,,active,{SITE},Hall A,E01,1,front,,,,,front-to-rear,,,,,,,,,",
    ]
    # max_it_kw = 2 x 10.2 kW; 132 kW for the NVL72 rack
    assert plan_rows.splitlines() == [
        ",".join(RACK_PLAN_COLUMNS),
        PLAN_A01.strip(),
        "A02,Hall A,A,3.3,1.8,S,0.6,1.2,42,48,1360,air,AIR,,A02-A,A02-B,active,1,10.2",
        "E01,Hall A,E,2.7,5.4,S,0.6,1.2,48,140,1800,hybrid,AIR,TCS,,,active,1,132",
    ]


def test_export_is_sorted_and_deterministic(tmp_path):
    plan = three_rack_plan()
    shuffled = copy.deepcopy(plan)
    shuffled.racks.reverse()
    shuffled.servers.reverse()
    a = export_csv(plan, tmp_path / "a")
    b = export_csv(shuffled, tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [r[0] for r in rows_of(a[1])[1:]] == ["A01-DGX1", "A01-DGX2", "A02-DGX1", "E01-NVL72"]


def test_liquid_only_server_exports_passive_airflow_and_planned_status(tmp_path):
    plan = three_rack_plan()
    plan.server_types[1].liquid_fraction = 1.0
    plan.racks[2].status = "planned"
    rows = rows_of(export_csv(plan, tmp_path)[1])
    col = NETBOX_DEVICE_COLUMNS.index
    nvl = next(r for r in rows if r[0] == "E01-NVL72")
    assert (nvl[col("airflow")], nvl[col("status")]) == ("passive", "planned")


# --------------------------------------------------------------------------- round trips

def test_round_trip_is_byte_identical(tmp_path):
    plan = three_rack_plan()
    first = export_csv(plan, tmp_path / "first")
    target = Plan(site=copy.deepcopy(plan.site))
    outcome = import_csv(target, *first, catalog_types=plan.server_types)
    assert (outcome.created_racks, outcome.created_servers) == (3, 4)
    second = export_csv(outcome.plan, tmp_path / "second")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert target == Plan(site=plan.site)  # input untouched


def test_reimport_into_same_plan_changes_nothing(tmp_path):
    plan = three_rack_plan()
    paths = export_csv(plan, tmp_path)
    outcome = import_csv(plan, *paths)
    assert outcome.plan == plan and outcome.plan is not plan
    assert (outcome.created_racks, outcome.updated_racks, outcome.created_servers,
            outcome.updated_servers, outcome.removed_servers, outcome.notes) == (0, 0, 0, 0, 0, [])


def test_demo_plan_round_trip(tmp_path):
    demo = pytest.importorskip("planner.demo")
    catalog = pytest.importorskip("planner.catalog")
    plan = demo.build_demo_plan()
    first = export_csv(plan, tmp_path / "first")
    outcome = import_csv(Plan(site=copy.deepcopy(plan.site)), *first,
                         catalog_types=catalog.load_catalog().server_types)
    assert outcome.created_racks == len(plan.racks) and outcome.created_servers == len(plan.servers)
    second = export_csv(outcome.plan, tmp_path / "second")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    for rack in plan.racks:  # positions, loops and feeds survive
        back = outcome.plan.rack_map()[rack.name]
        assert back == rack


names = st.text(min_size=1, max_size=12).filter(lambda s: s == s.strip())
# within the importer's sanity bounds (FLOOR_COORD_MAX_M, RACK_SIDE_MAX_M); any float inside them
#: floor coordinates a rack of up to 5 m can take inside a hall (the import's floor rule)
on_floor = st.floats(min_value=2.5, max_value=10_000.0 - 2.5)
non_negative = st.floats(min_value=0.0, max_value=QUANTITY_MAX)  # a plan holds no more (its reader's bound)
positive = st.floats(min_value=0.001, max_value=5.0)  # rack sides: 1 mm (the export resolution) to 5 m


@st.composite
def random_plans(draw) -> Plan:
    rack_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    server_names = iter(draw(st.lists(names, min_size=8, max_size=8, unique=True)))
    racks, servers = [], []
    for name in rack_names:
        racks.append(Rack(
            # a hall of its own: racks at random places never overlap
            name, hall=name + "~hall", row=draw(st.one_of(st.just(""), names)), x_m=draw(on_floor), y_m=draw(on_floor),
            orientation=draw(st.sampled_from("NESW")), width_m=draw(positive), depth_m=draw(positive),
            u_height=draw(st.integers(20, 100)), power_budget_kw=draw(non_negative),
            max_weight_kg=draw(non_negative), cooling_type=draw(st.sampled_from(["air", "liquid", "hybrid"])),
            air_loop=draw(st.one_of(st.none(), names.map(lambda s: s + "~air"))),
            liquid_loop=draw(st.one_of(st.none(), names.map(lambda s: s + "~liquid"))),
            feed_a=draw(st.one_of(st.none(), names)), feed_b=draw(st.one_of(st.none(), names)),
            status=draw(st.sampled_from(RACK_STATUSES))))
        u = 1
        for t in draw(st.lists(st.sampled_from([H100, B200]), max_size=2)):
            servers.append(Server(next(server_names), name, t.key, u, draw(st.sampled_from(["front", "rear"]))))
            u += t.u_height
    return Plan(site=Site(draw(names)), server_types=[copy.deepcopy(H100), copy.deepcopy(B200)],
                racks=racks, servers=servers)


@settings(max_examples=150, deadline=None)
@given(plan=random_plans())
def test_random_plans_round_trip_byte_identical(plan):
    """Any text (formula characters, quotes, commas, newlines, unicode) and any finite float."""
    with tempfile.TemporaryDirectory() as tmp:
        first = export_csv(plan, Path(tmp) / "first")
        outcome = import_csv(Plan(site=copy.deepcopy(plan.site)), *first, catalog_types=plan.server_types)
        second = export_csv(outcome.plan, Path(tmp) / "second")
        assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
        assert {r.name: r for r in outcome.plan.racks} == {r.name: r for r in plan.racks}
        assert sorted(outcome.plan.servers, key=lambda s: s.name) == sorted(plan.servers, key=lambda s: s.name)


# --------------------------------------------------------------------------- formula injection

def test_formula_cells_are_neutralised_and_round_trip(tmp_path):
    plan = three_rack_plan()
    evil = '=HYPERLINK("http://evil.example","click")'
    plan.racks[0].name = evil
    plan.racks[0].x_m = -1.5  # a negative number (the rack stands outside the hall: refused on import)
    plan.racks[0].feed_a = "+1-A"
    plan.servers[0].rack = plan.servers[1].rack = evil
    plan.servers[0].name = "@dgx"
    paths = export_csv(plan, tmp_path / "a")
    racks, devices, plan_rows = (rows_of(p) for p in paths)
    assert racks[1][NETBOX_RACK_COLUMNS.index("name")] == "'" + evil
    assert devices[1][0] == "'@dgx" and devices[1][NETBOX_DEVICE_COLUMNS.index("rack")] == "'" + evil
    a01 = next(r for r in plan_rows if r[0] == "'" + evil)
    assert a01[RACK_PLAN_COLUMNS.index("x_m")] == "-1.5"  # numeric column: not escaped
    assert a01[RACK_PLAN_COLUMNS.index("feed_a")] == "'+1-A"
    with pytest.raises(CsvImportError, match="stands outside hall"):  # read back as the number -1.5
        import_csv(Plan(site=copy.deepcopy(plan.site)), *paths, catalog_types=plan.server_types)
    plan.racks[0].x_m = 1.5
    paths = export_csv(plan, tmp_path / "a")
    outcome = import_csv(Plan(site=copy.deepcopy(plan.site)), *paths, catalog_types=plan.server_types)
    rack = outcome.plan.rack_map()[evil]
    assert (rack.x_m, rack.feed_a) == (1.5, "+1-A")
    assert {s.name for s in outcome.plan.servers if s.rack == evil} == {"@dgx", "A01-DGX2"}
    again = export_csv(outcome.plan, tmp_path / "b")
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]


@given(st.text())
def test_neutralise_is_lossless_and_safe(text):
    cell = neutralise(text)
    assert unneutralise(cell) == text
    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_numeric_cell_with_neutralising_quote_is_read_as_number(tmp_path):
    rp = write(tmp_path, RACK_PLAN_CSV, PLAN_HEAD + PLAN_A01.replace("A,2.7,", "A,'+2.7,"))
    assert import_csv(three_rack_plan(), rack_plan_path=rp).plan.rack_map()["A01"].x_m == 2.7


# --------------------------------------------------------------------------- accepted NetBox files

def test_import_netbox_files(tmp_path):
    """Column order free, extra columns ignored, quoted commas and newlines, unit conversion,
    catalog type added, new hall created, new racks placed."""
    plan = three_rack_plan()
    outcome = import_csv(plan, racks_path=DATA / "netbox_racks.csv", devices_path=DATA / "netbox_devices.csv",
                         catalog_types=CATALOG)
    new = outcome.plan
    assert (outcome.created_racks, outcome.updated_racks, outcome.created_servers,
            outcome.removed_servers) == (2, 0, 3, 0)
    n01, n02 = new.rack_map()["N01"], new.rack_map()["N02"]
    assert (n01.hall, n01.row, n01.status, n01.u_height) == ("Hall B", "Row N", "planned", 48)
    assert (n01.width_m, n01.depth_m, n01.max_weight_kg) == (0.6, 1.2, 1500.0)
    # 23.622 in x 47.244 in, 3000 lb (1 in = 0.0254 m, 1 lb = 0.45359237 kg)
    assert (n02.width_m, n02.depth_m) == (23.622 * 0.0254, 47.244 * 0.0254)
    assert n02.max_weight_kg == 3000 * 0.45359237
    servers = {s.name: s for s in new.servers}
    assert servers["n01-dgx-1"] == Server("n01-dgx-1", "N01", H100.key, 1, "front")
    assert servers["n01-dgx-2"] == Server("n01-dgx-2", "N01", H100.key, 10, "front")
    assert servers["n02-b200"] == Server("n02-b200", "N02", B200.key, 1, "rear")
    assert [t.key for t in new.server_types] == [H100.key, NVL72.key, B200.key]
    # Placement rule, empty Hall B, margin 1.2 m, to the mm: N01 against the west margin
    # (1.2 + 0.6/2, 1.2 + 1.2/2); N02 (0.59999988 x 1.19999976 m) against N01's east edge at
    # 1.8 m: x = 1.8 + 0.29999994 -> 2.1, y = 1.2 + 0.59999988 -> 1.8.
    assert (n01.x_m, n01.y_m, n01.orientation) == (1.5, 1.8, "S")
    assert (n02.x_m, n02.y_m, n02.orientation) == (2.1, 1.8, "S")
    assert outcome.notes == [
        "created hall 'Hall B' (30 x 20 m default size)",
        "added server type 'nvidia-dgx-b200' (NVIDIA DGX B200) from the catalog",
        "placed new rack 'N01' at x=1.5 m, y=1.8 m in 'Hall B', facing S; it has no rack_plan.csv row",
        "placed new rack 'N02' at x=2.1 m, y=1.8 m in 'Hall B', facing S; it has no rack_plan.csv row",
    ]
    assert_racks_consistent(new)
    assert plan == three_rack_plan()


def test_utf8_bom_is_accepted():
    plan = three_rack_plan()
    plain = import_csv(plan, racks_path=DATA / "netbox_racks.csv")
    bom = import_csv(plan, racks_path=DATA / "netbox_racks_bom.csv")
    assert bom.plan == plain.plan and bom.plan.rack_map()["N01"].status == "planned"


def test_rack_plan_positions_loops_and_feeds(tmp_path):
    outcome = import_csv(three_rack_plan(), racks_path=DATA / "netbox_racks.csv",
                         devices_path=DATA / "netbox_devices.csv", rack_plan_path=DATA / "rack_plan.csv",
                         catalog_types=CATALOG)
    n01 = outcome.plan.rack_map()["N01"]
    assert (n01.x_m, n01.y_m, n01.orientation, n01.power_budget_kw, n01.cooling_type) == (0.9, 3.6, "E", 60.0,
                                                                                          "hybrid")
    assert (n01.air_loop, n01.liquid_loop, n01.feed_a, n01.feed_b) == ("AIR-B", "TCS-B", "N01-A", "N01-B")
    loops = {lp.name: lp.medium for lp in outcome.plan.cooling_loops}
    assert loops == {"AIR": "air", "TCS": "liquid", "AIR-B": "air", "TCS-B": "liquid"}
    feeds = {f.name: f.side for f in outcome.plan.power_feeds}
    assert (feeds["N01-A"], feeds["N01-B"]) == ("A", "B")
    assert outcome.notes[:5] == [
        "created hall 'Hall B' (30 x 20 m default size)",
        "created air cooling loop 'AIR-B' (named in rack_plan.csv)",
        "created liquid cooling loop 'TCS-B' (named in rack_plan.csv)",
        "created power feed 'N01-A' on side A with default rating (named in rack_plan.csv)",
        "created power feed 'N01-B' on side B with default rating (named in rack_plan.csv)",
    ]
    # N01 (facing E, x 0.3-1.5 m) sits south of row 0's band (y 1.2-2.4 m): N02 goes to the margin.
    n02 = outcome.plan.rack_map()["N02"]
    assert (n02.x_m, n02.y_m) == (1.5, 1.8)  # 1.2 + 0.29999994, 1.2 + 0.59999988 to the mm


def test_new_racks_fill_the_first_free_spots(tmp_path):
    # Hall A: A01 spans x 2.4-3.0 and A02 3.0-3.6 in row 0 (y 1.2-2.4).
    racks = write(tmp_path, RACKS_CSV, RACKS_HEAD + "".join(f"{SITE},B{i},planned,42\n" for i in (1, 2, 3)))
    outcome = import_csv(three_rack_plan(), racks_path=racks)
    spots = [(r.x_m, r.y_m, r.orientation) for r in outcome.plan.racks[3:]]
    assert spots == [(1.5, 1.8, "S"), (2.1, 1.8, "S"), (3.9, 1.8, "S")]
    footprints = [r.footprint() for r in outcome.plan.racks if r.hall == "Hall A" and r.row != "E"]
    for i, a in enumerate(footprints):
        for b in footprints[:i]:
            assert a[2] <= b[0] + 1e-9 or b[2] <= a[0] + 1e-9  # side by side, no overlap


def test_narrow_rack_fills_a_gap_a_wider_one_skipped(tmp_path):
    # Hall 4 m wide: racks must end by x = 2.8 m. E0 spans x 1.7-2.3 in row 0, leaving
    # 0.5 m gaps on both sides. An 800 mm rack fits in neither -> row 1 at the margin
    # (y = 1.2 + 0.6 + 1 x 2.4 = 4.2). A 300 mm rack then fits the west gap of row 0.
    plan = Plan(site=Site(SITE), halls=[Hall("H", 4.0, 8.0)],
                racks=[Rack("E0", hall="H", x_m=2.0, y_m=1.8, width_m=0.6, depth_m=1.2)])
    racks = write(tmp_path, RACKS_CSV, "site,location,name,status,outer_width,outer_depth,outer_unit\n"
                  f"{SITE},H,wide,planned,800,1200,mm\n{SITE},H,narrow,planned,300,1200,mm\n")
    placed = import_csv(plan, racks_path=racks).plan.rack_map()
    assert (placed["wide"].x_m, placed["wide"].y_m, placed["wide"].orientation) == (1.6, 4.2, "N")
    assert (placed["narrow"].x_m, placed["narrow"].y_m, placed["narrow"].orientation) == (1.35, 1.8, "S")


def reference_spot(hall: Hall, w: float, d: float, others: list) -> tuple[float, float] | None:
    """Brute-force oracle for the documented placement rule (planner.floor.place_new_racks): every
    row from row 0 that ends 1.2 m before the south wall, every candidate west edge (the margin or
    any obstacle's east edge, centre rounded up to the mm), first one that overlaps nothing and ends
    1.2 m before the east wall wins; None when the hall is full."""
    margin, aisle, eps = 1.2, 1.2, 1e-6

    def mm_up(v):
        return math.ceil(round(v * 1000.0, 6)) / 1000.0

    for j in range(1000):
        y = round(margin + d / 2 + j * (d + aisle), 3)
        if y + d / 2 > hall.depth_m - margin + 1e-9:
            return None
        top, bottom = y - d / 2, y + d / 2
        for x0 in sorted({margin, *(fp[2] for fp in others if fp[2] > margin)}):
            x = mm_up(x0 + w / 2)
            if x + w / 2 > hall.width_m - margin + 1e-9:
                break
            box = (x - w / 2, top, x + w / 2, bottom)
            if not any(min(box[2], fp[2]) - max(box[0], fp[0]) > eps and min(box[3], fp[3]) - max(box[1], fp[1]) > eps
                       for fp in others):
                return x, y
    raise AssertionError("no end of rows in 1000 rows")


@settings(max_examples=150, deadline=None)
@given(existing=st.lists(st.tuples(st.floats(0, 10), st.floats(0, 8), st.floats(0.3, 1.5), st.floats(0.3, 1.5),
                                   st.sampled_from("NESW")), max_size=12),
       sizes_mm=st.lists(st.tuples(st.sampled_from([300, 600, 800, 1200]), st.sampled_from([600, 1200])) |
                         st.tuples(st.integers(300, 1500), st.integers(300, 1500)), min_size=1, max_size=10))
def test_placement_takes_the_first_free_spot_and_never_overlaps(existing, sizes_mm):
    """Matches the brute-force oracle; placed racks overlap no rack of the hall (touching is fine);
    a rack that finds no spot refuses the import, naming it."""
    hall = Hall("H", 10.0, 8.0)
    plan = Plan(site=Site(SITE), halls=[hall],
                racks=[Rack(f"E{i}", hall="H", x_m=x, y_m=y, width_m=w, depth_m=d, orientation=o)
                       for i, (x, y, w, d, o) in enumerate(existing)])
    text = "site,location,name,status,outer_width,outer_depth,outer_unit\n" + "".join(
        f"{SITE},H,N{i},planned,{w},{d},mm\n" for i, (w, d) in enumerate(sizes_mm))
    others = [r.footprint() for r in plan.racks]
    expected, full = {}, []
    for i, (w, d) in enumerate(sizes_mm):
        spot = reference_spot(hall, w / 1000, d / 1000, others)
        if spot is None:
            full.append(f"N{i}")
            continue
        expected[f"N{i}"] = spot
        others.append((spot[0] - w / 2000, spot[1] - d / 2000, spot[0] + w / 2000, spot[1] + d / 2000))
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), RACKS_CSV, text)
        if full:
            with pytest.raises(CsvImportError) as e:
                import_csv(plan, racks_path=path)
            assert [p.message.split("'")[1] for p in e.value.problems] == full
            return
        outcome = import_csv(plan, racks_path=path)
    racks = outcome.plan.rack_map()
    assert {n: (racks[n].x_m, racks[n].y_m) for n in expected} == expected
    fps = {r.name: r.footprint() for r in outcome.plan.racks}
    for i in range(len(sizes_mm)):
        a = fps[f"N{i}"]
        for name, b in fps.items():
            if name != f"N{i}":
                assert not boxes_overlap(a, b), (name, a, b)


def test_new_rack_without_u_height_gets_the_default_with_a_note(tmp_path):
    racks = write(tmp_path, RACKS_CSV, f"site,name,status\n{SITE},B1,planned\n")
    outcome = import_csv(three_rack_plan(), racks_path=racks)
    assert outcome.plan.rack_map()["B1"].u_height == 42
    assert outcome.notes[0] == "new rack 'B1' has no u_height; using 42 U"


def test_site_mismatch_is_noted(tmp_path):
    racks = write(tmp_path, RACKS_CSV, RACKS_HEAD + "Other DC,A01,active,42\n")
    outcome = import_csv(three_rack_plan(), racks_path=racks)
    assert outcome.notes == ["racks.csv names site 'Other DC'; the plan's site 'Phoenix AI Campus' is kept"]


def test_case_insensitive_headers_and_choices(tmp_path):
    rp = write(tmp_path, RACK_PLAN_CSV, "Rack,HALL,x_m,y_m,Orientation,Cooling_Type\nA01,Hall A,2.7,1.8,n,LIQUID\n")
    rack = import_csv(three_rack_plan(), rack_plan_path=rp).plan.rack_map()["A01"]
    assert (rack.orientation, rack.cooling_type) == ("N", "liquid")


def test_desc_units_positions_are_converted(tmp_path):
    racks = write(tmp_path, RACKS_CSV, f"site,name,status,u_height,desc_units\n{SITE},N01,active,42,true\n")
    devices = write(tmp_path, DEVICES_CSV, DEVICES_HEAD + f"top,DGX H100,{SITE},N01,1,active,front\n")
    outcome = import_csv(three_rack_plan(), racks_path=racks, devices_path=devices)
    # top-down units 1-8 of a 42 U rack are bottom-up units 35-42
    assert outcome.plan.servers[-1].u_position == 42 - 8 + 1
    assert "rack 'N01' numbers units from the top (desc_units); positions converted to dcplan's bottom-up U" \
        in outcome.notes


# --------------------------------------------------------------------------- server merge rules

def test_devices_alone_merge_and_move(tmp_path):
    devices = write(tmp_path, DEVICES_CSV, DEVICES_HEAD
                    + f"A01-DGX2,DGX H100,{SITE},A02,14,active,front\n"   # moved from A01
                    + f"A01-DGX3,nvidia-dgx-b200,{SITE},A01,23,planned,\n")  # new, by key, catalog type
    outcome = import_csv(three_rack_plan(), devices_path=devices, catalog_types=CATALOG)
    got = {s.name: (s.rack, s.u_position) for s in outcome.plan.servers}
    assert got == {"A01-DGX1": ("A01", 5), "A01-DGX2": ("A02", 14), "A02-DGX1": ("A02", 5),
                   "E01-NVL72": ("E01", 1), "A01-DGX3": ("A01", 23)}
    assert (outcome.created_servers, outcome.updated_servers, outcome.removed_servers) == (1, 1, 0)


def test_racks_imported_with_devices_are_complete(tmp_path):
    racks = write(tmp_path, RACKS_CSV, RACKS_HEAD + f"{SITE},A01,active,42\n")
    devices = write(tmp_path, DEVICES_CSV, DEVICES_HEAD + f"A01-DGX1,DGX H100,{SITE},A01,5,active,front\n")
    with pytest.raises(CsvImportError, match="would remove 1 of 4 servers"):  # 25 % > 10 %: asks first
        import_csv(three_rack_plan(), racks_path=racks, devices_path=devices)
    outcome = import_csv(three_rack_plan(), racks_path=racks, devices_path=devices, allow_deletions=True)
    assert sorted(s.name for s in outcome.plan.servers) == ["A01-DGX1", "A02-DGX1", "E01-NVL72"]
    assert (outcome.removed_servers, outcome.updated_servers, outcome.updated_racks) == (1, 0, 0)


def test_model_resolution_uses_the_manufacturer(tmp_path):
    plan = three_rack_plan()
    plan.server_types.append(ServerType(key="oem-dgx-h100", manufacturer="OEM", model="DGX H100", u_height=8,
                                        gpu_count=8, gpu_model="H100", gpu_tdp_w=700.0, idle_power_w=3000.0,
                                        max_power_w=10200.0))
    devices = write(tmp_path, DEVICES_CSV, "name,manufacturer,device_type,site,rack,position,status\n"
                    f"x1,oem,DGX H100,{SITE},A01,23,active\n")
    assert import_csv(plan, devices_path=devices).plan.servers[-1].server_type == "oem-dgx-h100"
    ambiguous = write(tmp_path, "ambiguous.csv", DEVICES_HEAD + f"x1,DGX H100,{SITE},A01,23,active\n")
    assert problems(plan, devices_path=ambiguous) == [
        "ambiguous.csv:2: device_type: ambiguous device type 'DGX H100': matches nvidia-dgx-h100, "
        "oem-dgx-h100; give the manufacturer or the type key"]


# --------------------------------------------------------------------------- problem classes

def test_problem_text_format():
    assert str(CsvProblem("racks.csv", 3, "status", "bad")) == "racks.csv:3: status: bad"
    assert str(CsvProblem("racks.csv", 1, "", "bad")) == "racks.csv:1: bad"
    assert str(CsvProblem("racks.csv", 0, "", "file not found")) == "racks.csv: file not found"


def test_file_missing_folder_empty_and_not_utf8(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    write(tmp_path, "empty.csv", "")
    assert problems(three_rack_plan(), racks_path=tmp_path / "racks.csv", devices_path=tmp_path / "folder.csv",
                    rack_plan_path=tmp_path / "empty.csv") == [
        "racks.csv: file not found", "empty.csv: file is empty", "folder.csv: is a folder, not a CSV file"]
    assert problems(three_rack_plan(), racks_path=DATA / "racks_latin1.csv") == [
        "racks_latin1.csv:3: not UTF-8 text (byte 0xe9); save the file as 'CSV UTF-8'"]


def test_semicolon_separated_file_is_rejected():
    assert problems(three_rack_plan(), racks_path=DATA / "racks_semicolon.csv") == [
        "racks_semicolon.csv:1: uses ';' as separator; dcplan expects ','"]


def test_missing_and_duplicate_columns(tmp_path):
    racks = write(tmp_path, RACKS_CSV, f"site,name,name\n{SITE},A01,A01\n")
    devices = write(tmp_path, DEVICES_CSV, f"name,site,rack,position,status\nx,{SITE},A01,30,active\n")
    assert problems(three_rack_plan(), racks_path=racks, devices_path=devices) == [
        "racks.csv:1: name: duplicate column",
        "racks.csv:1: status: missing required column",
        "devices.csv:1: device_type: missing required column",
    ]


def test_empty_required_cells(tmp_path):
    racks = write(tmp_path, RACKS_CSV, RACKS_HEAD + f"{SITE},A01,active,42\n{SITE},A02, ,42\n,,active,42\n")
    assert problems(three_rack_plan(), racks_path=racks) == [
        "racks.csv:3: status: required value is empty",
        "racks.csv:4: name: required value is empty",
        "racks.csv:4: site: required value is empty",
    ]


@pytest.mark.parametrize("column, value, message", [
    ("x_m", "abc", "not a number: 'abc'"),
    ("x_m", "1,5", "not a number: '1,5'"),
    ("x_m", "nan", "not a finite number: 'nan'"),
    ("x_m", "-inf", "not a finite number: '-inf'"),
    ("x_m", "1e999", "not a finite number: '1e999'"),
    ("width_m", "-0.6", "must be >= 0.001, got -0.6"),
    ("width_m", "0", "must be >= 0.001, got 0"),
    ("depth_m", "5e-324", "must be >= 0.001, got 5e-324"),
    ("power_budget_kw", "-1", "must be >= 0, got -1"),
    ("u_height", "0", "must be >= 1, got 0"),
    ("u_height", "101", "must be <= 100, got 101"),
    ("u_height", "42.5", "must be a whole number, got 42.5"),
])
def test_bad_numbers(tmp_path, column, value, message):
    cells = dict(zip(RACK_PLAN_COLUMNS, next(csv.reader([PLAN_A01.strip()]))))
    cells[column] = value
    rp = write(tmp_path, RACK_PLAN_CSV, PLAN_HEAD + ",".join(f'"{v}"' for v in cells.values()) + "\n")
    assert problems(three_rack_plan(), rack_plan_path=rp) == [f"rack_plan.csv:2: {column}: {message}"]


def test_invalid_choices(tmp_path):
    rp = write(tmp_path, RACK_PLAN_CSV, "rack,hall,x_m,y_m,orientation,cooling_type\n"
               "A01,Hall A,2.7,1.8,NE,immersion\n")
    racks = write(tmp_path, RACKS_CSV, RACKS_HEAD + f"{SITE},A02,online,42\n")
    devices = write(tmp_path, DEVICES_CSV, DEVICES_HEAD + f"x,DGX H100,{SITE},A01,30,running,top\n")
    assert problems(three_rack_plan(), racks_path=racks, devices_path=devices, rack_plan_path=rp) == [
        "racks.csv:2: status: invalid choice 'online'; expected one of reserved, available, planned, active, "
        "deprecated",
        "rack_plan.csv:2: orientation: invalid choice 'NE'; expected one of N, E, S, W",
        "rack_plan.csv:2: cooling_type: invalid choice 'immersion'; expected one of air, liquid, hybrid",
        "devices.csv:2: status: invalid choice 'running'; expected one of offline, active, planned, staged, "
        "failed, inventory, decommissioning",
        "devices.csv:2: face: invalid choice 'top'; expected one of front, rear",
    ]


def test_duplicate_names(tmp_path):
    racks = write(tmp_path, RACKS_CSV, RACKS_HEAD + f"{SITE},N01,active,42\n{SITE},N02,active,42\n"
                  f"{SITE},N01,planned,42\n")
    rp = write(tmp_path, RACK_PLAN_CSV, PLAN_HEAD + PLAN_A01 + PLAN_A01)
    devices = write(tmp_path, DEVICES_CSV, DEVICES_HEAD + f"x,DGX H100,{SITE},A01,30,active\n"
                    f"x,DGX H100,{SITE},A02,30,active\n")
    assert problems(three_rack_plan(), racks_path=racks, devices_path=devices, rack_plan_path=rp) == [
        "racks.csv:4: name: duplicate rack name 'N01' (first on row 2)",
        "rack_plan.csv:3: rack: duplicate rack name 'A01' (first on row 2)",
        "devices.csv:3: name: duplicate device name 'x' (first on row 2)",
    ]


def test_unknown_rack_and_unknown_device_type(tmp_path):
    devices = write(tmp_path, DEVICES_CSV, "name,manufacturer,device_type,site,rack,position,status\n"
                    f"x1,NVIDIA,DGX H100,{SITE},Z99,1,active\n"
                    f"x2,NVIDIA,DGX Z1,{SITE},A01,30,active\n"
                    f"x3,,mystery,{SITE},A01,40,active\n")
    assert problems(three_rack_plan(), devices_path=devices) == [
        "devices.csv:2: rack: unknown rack 'Z99'",
        "devices.csv:3: device_type: unknown device type 'DGX Z1' from manufacturer 'NVIDIA'",
        "devices.csv:4: device_type: unknown device type 'mystery'",
    ]


def test_catalog_type_clashing_with_a_plan_key(tmp_path):
    clash = copy.deepcopy(H100)
    clash.model = "DGX H100 (other)"
    devices = write(tmp_path, DEVICES_CSV, DEVICES_HEAD + f"x,DGX H100 (other),{SITE},A01,30,active\n")
    with pytest.raises(CsvImportError) as exc:
        import_csv(three_rack_plan(), devices_path=devices, catalog_types=[clash])
    assert [str(p) for p in exc.value.problems] == [
        "devices.csv:2: device_type: catalog type 'nvidia-dgx-h100' clashes with a different plan server type "
        "of the same key"]


def test_positions_below_one_and_above_the_top(tmp_path):
    devices = write(tmp_path, DEVICES_CSV, DEVICES_HEAD + f"x1,DGX H100,{SITE},A01,0,active\n"
                    f"x2,DGX H100,{SITE},A01,36,active\n"
                    f"x3,DGX H100,{SITE},A01,35,active\n")  # U 35-42: fits exactly
    assert problems(three_rack_plan(), devices_path=devices) == [
        "devices.csv:2: position: must be >= 1, got 0",
        "devices.csv:3: position: server occupies U 36-43, above the top of rack 'A01' (42 U)",
    ]


def test_overlaps_in_file_and_with_kept_servers(tmp_path):
    devices = write(tmp_path, DEVICES_CSV, DEVICES_HEAD
                    + f"x1,DGX H100,{SITE},A01,22,active,front\n"  # U 22-29 touches A01-DGX2 (14-21): fine
                    + f"x2,DGX H100,{SITE},A01,26,active,rear\n"   # U 26-33 overlaps x1 (rear face too)
                    + f"x3,DGX H100,{SITE},A02,1,active,front\n")  # U 1-8 overlaps kept A02-DGX1 (5-12)
    assert problems(three_rack_plan(), devices_path=devices) == [
        "devices.csv:3: position: U 26-33 overlaps 'x1' (U 22-29) on row 2",
        "devices.csv:4: position: U 1-8 overlaps 'A02-DGX1' (U 5-12) already in the plan",
    ]


def test_kept_server_above_a_lowered_rack(tmp_path):
    racks = write(tmp_path, RACKS_CSV, RACKS_HEAD + f"{SITE},A01,active,20\n")
    assert problems(three_rack_plan(), racks_path=racks) == [
        "racks.csv:2: u_height: rack height 20 U leaves server 'A01-DGX2' (U 14-21) above the top"]


def test_loop_of_the_wrong_medium(tmp_path):
    rp = write(tmp_path, RACK_PLAN_CSV, "rack,hall,x_m,y_m,orientation,air_loop,liquid_loop\n"
               "A01,Hall A,2.7,1.8,S,TCS,AIR\n")
    assert problems(three_rack_plan(), rack_plan_path=rp) == [
        "rack_plan.csv:2: air_loop: 'TCS' is a liquid loop, not air",
        "rack_plan.csv:2: liquid_loop: 'AIR' is a air loop, not liquid",
    ]


def test_units_required_with_dimensions_and_weight(tmp_path):
    racks = write(tmp_path, RACKS_CSV, "site,name,status,outer_width,max_weight\n"
                  f"{SITE},A01,active,600,1360\n")
    assert problems(three_rack_plan(), racks_path=racks) == [
        "racks.csv:2: outer_unit: required when outer_width or outer_depth is set",
        "racks.csv:2: weight_unit: required when max_weight is set",
    ]


def test_row_numbers_count_spreadsheet_rows(tmp_path):
    """A quoted multi-line cell is one row; a blank line is a row too."""
    devices = write(tmp_path, DEVICES_CSV, DEVICES_HEAD
                    + f'"two-line\nname",DGX H100,{SITE},A01,30,active\n'
                    + f"x1,DGX H100,{SITE},A01,0,active\n"
                    + "\n"
                    + f"x2,DGX H100,{SITE},A01,x,active\n")
    assert problems(three_rack_plan(), devices_path=devices) == [
        "devices.csv:3: position: must be >= 1, got 0",
        "devices.csv:5: position: not a number: 'x'",
    ]


def test_too_many_cells_and_malformed_csv(tmp_path):
    racks = write(tmp_path, RACKS_CSV, RACKS_HEAD + f"{SITE},A01,active,42,extra\n{SITE},A02,active,42,,\n")
    huge = write(tmp_path, "huge.csv", RACKS_HEAD + f'{SITE},"{"x" * 200_000}",active,42\n')
    assert problems(three_rack_plan(), racks_path=racks, devices_path=huge) == [
        "racks.csv:2: row has 5 cells but the header has 4",
        "huge.csv:1: device_type: missing required column",
        "huge.csv:1: rack: missing required column",
        "huge.csv:1: position: missing required column",
        "huge.csv:2: malformed CSV: field larger than field limit (131072)",
    ]


def test_every_problem_in_every_file_is_reported_and_nothing_imported(tmp_path):
    plan = three_rack_plan()
    racks = write(tmp_path, RACKS_CSV, RACKS_HEAD + f"{SITE},N01,active,0\n")
    rp = write(tmp_path, RACK_PLAN_CSV, "rack,hall,x_m,y_m,orientation\nN02,Hall A,,1.8,S\n")
    devices = write(tmp_path, DEVICES_CSV, DEVICES_HEAD + f"x,DGX H100,{SITE},Z9,1,active\n"
                    f"y,DGX H100,{SITE},A01,99,active\n")
    assert problems(plan, racks_path=racks, rack_plan_path=rp, devices_path=devices) == [
        "racks.csv:2: u_height: must be >= 1, got 0",
        "rack_plan.csv:2: x_m: required value is empty",
        "devices.csv:2: rack: unknown rack 'Z9'",
        "devices.csv:3: position: server occupies U 99-106, above the top of rack 'A01' (42 U)",
    ]


def test_import_needs_a_file():
    with pytest.raises(ValueError):
        import_csv(three_rack_plan())


# --------------------------------------------------------------------------- corrupted files

CELL_VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "nan", "inf", "-1", "0", "1e999", "1,5", "101", "42.5", "=1+1", "'", '"', "N", "rear",
                     "active", "A01", "DGX H100", "nvidia-dgx-b200", "Hall A", "Z99"]),
    st.integers(-10**6, 10**6).map(str),
    st.floats().map(repr),
)
CORRUPTIONS = ["cell", "drop_column", "duplicate_row", "delete_row", "shuffle_columns", "insert_text",
               "flip_byte", "truncate"]


def _corrupt(data, raw: bytes) -> bytes:
    kind = data.draw(st.sampled_from(CORRUPTIONS), label="corruption")
    if kind == "flip_byte" and raw:
        i = data.draw(st.integers(0, len(raw) - 1))
        return raw[:i] + bytes([data.draw(st.integers(0, 255))]) + raw[i + 1:]
    if kind == "truncate":
        return raw[:data.draw(st.integers(0, len(raw)))]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    if kind == "insert_text":
        i = data.draw(st.integers(0, len(text)))
        return (text[:i] + data.draw(st.text(min_size=1, max_size=5)) + text[i:]).encode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return raw
    width = max(len(r) for r in rows) or 1
    if kind == "cell":
        r = data.draw(st.integers(0, len(rows) - 1))
        c = data.draw(st.integers(0, width - 1))
        rows[r] = rows[r] + [""] * (width - len(rows[r]))
        rows[r][c] = data.draw(CELL_VALUES)
    elif kind == "drop_column":
        c = data.draw(st.integers(0, width - 1))
        rows = [r[:c] + r[c + 1:] for r in rows]
    elif kind == "duplicate_row" and len(rows) > 1:
        r = data.draw(st.integers(1, len(rows) - 1))
        rows.insert(data.draw(st.integers(1, len(rows))), list(rows[r]))
    elif kind == "delete_row":
        del rows[data.draw(st.integers(0, len(rows) - 1))]
    elif kind == "shuffle_columns":
        order = data.draw(st.permutations(range(width)))
        rows = [[(r + [""] * width)[i] for i in order] for r in rows]
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_corrupted_files_give_an_outcome_or_csv_import_error(data):
    plan = three_rack_plan()
    snapshot = copy.deepcopy(plan)
    with tempfile.TemporaryDirectory() as tmp:
        paths = export_csv(plan, Path(tmp) / "in")
        for _ in range(data.draw(st.integers(1, 3), label="rounds")):
            path = data.draw(st.sampled_from(paths), label="file")
            path.write_bytes(_corrupt(data, path.read_bytes()))
        chosen = data.draw(st.lists(st.booleans(), min_size=3, max_size=3), label="files imported")
        if not any(chosen):
            chosen[0] = True
        args = [p if use else None for p, use in zip(paths, chosen)]
        try:
            outcome = import_csv(plan, *args, catalog_types=CATALOG)
        except CsvImportError as exc:
            assert exc.problems
            assert all(p.file in (RACKS_CSV, DEVICES_CSV, RACK_PLAN_CSV) and p.row >= 0 for p in exc.problems)
        else:
            assert_racks_consistent(outcome.plan)
            export_csv(outcome.plan, Path(tmp) / "out")
    assert plan == snapshot


def test_unclosed_quote_is_an_error_not_a_swallowed_file(tmp_path):
    devices = write(tmp_path, DEVICES_CSV, DEVICES_HEAD + f'D1,DGX H100,{SITE},A01,1,active,"front\n'
                    f"D2,DGX H100,{SITE},A01,9,active,front\nD3,DGX H100,{SITE},A01,17,active,front\n")
    found = problems(three_rack_plan(), devices_path=devices)
    assert len(found) == 1 and found[0].startswith("devices.csv:2: malformed CSV: unexpected end of data")


def test_not_a_boolean(tmp_path):
    racks = write(tmp_path, RACKS_CSV, f"site,name,status,u_height,desc_units\n{SITE},N01,active,42,maybe\n")
    assert problems(three_rack_plan(), racks_path=racks) == [
        "racks.csv:2: desc_units: not a boolean: 'maybe'; expected true or false"]


@pytest.mark.parametrize("sep,label", [("\t", "tab"), ("|", "'|'")])
def test_other_separators_are_rejected(tmp_path, sep, label):
    racks = write(tmp_path, RACKS_CSV, sep.join(["site", "name", "status"]) + "\n" + sep.join([SITE, "A9", "active"]))
    assert problems(three_rack_plan(), racks_path=racks) == [f"racks.csv:1: uses {label} as separator; dcplan expects ','"]


def test_no_header_row(tmp_path):
    racks = write(tmp_path, RACKS_CSV, ",,\nPhoenix,A01,active\n")
    assert problems(three_rack_plan(), racks_path=racks) == ["racks.csv:1: no header row"]


def test_absurd_sizes_and_coordinates_are_refused(tmp_path):
    """Finite but absurd values would blow up the overlap grid downstream (e.g. 1e308 m)."""
    row = PLAN_A01.split(",")
    row[3], row[6] = "1.7e308", "1e308"  # x_m, width_m
    plan_csv = write(tmp_path, RACK_PLAN_CSV, PLAN_HEAD + ",".join(row))
    found = problems(three_rack_plan(), rack_plan_path=plan_csv)
    assert "rack_plan.csv:2: x_m: must be <= 10000.0, got 1.7e308" in found
    assert "rack_plan.csv:2: width_m: must be <= 5.0, got 1e308" in found
    racks = write(tmp_path, RACKS_CSV, f"site,name,status,outer_width,outer_unit\n{SITE},W1,active,50000000,mm\n")
    assert problems(three_rack_plan(), racks_path=racks) == [
        "racks.csv:2: outer_width: 50000000 mm is larger than any rack (5 m at most)"]
