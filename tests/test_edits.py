"""The edit rules (``planner.edits``) and their undo, without Qt: a ``PlanState`` on a small plan and
an ``EditHistory``. Each test applies edits, undoes and redoes them, and checks the plan every time.

The GUI's undo commands wrap exactly these edits (``ui.commands.PlanCommand``); the mapping itself
(selection, hall shown) is tested in ``test_edit_commands.py``.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from planner.edits import EditHistory, EditRefused, NoChange, PlanState
from planner.edits import plant, racks, scenarios, servers
from planner.plan import Hall, Job, PowerFeed, Rack
from sample_plans import H100, small_plan


@pytest.fixture
def state():
    return PlanState(small_plan())


@pytest.fixture
def history(state):
    return EditHistory(state)


def round_trip(history, read):
    """``read()`` after the last edit, after undo and after redo (which must equal the first)."""
    after = read()
    history.undo()
    before = read()
    history.redo()
    assert read() == after
    return before, after


# ------------------------------------------------------------------ the history itself
def test_undo_puts_deleted_racks_and_servers_back_in_their_list_places(state, history):
    order = ([r.name for r in state.plan.racks], [s.name for s in state.plan.servers])
    history.do(racks.delete(state, ["R01", "R03"]))
    assert [r.name for r in state.plan.racks] == ["R02", "L01"] and state.plan.servers == []
    assert history.undo_text == "Delete 2 items"
    history.undo()
    assert ([r.name for r in state.plan.racks], [s.name for s in state.plan.servers]) == order
    assert history.redo_text == "Delete 2 items"
    history.redo()
    assert [r.name for r in state.plan.racks] == ["R02", "L01"]
    with pytest.raises(IndexError):
        history.redo()


def test_a_new_edit_clears_redo_and_each_change_says_what_it_touched(state, history):
    change = history.do(racks.move(state, {"R02": (1.5 + 0.6, 3.6)}))
    assert change.racks_modified == {"R02"} and not change.racks_added
    history.undo()
    change = history.do(racks.rename_rack(state, "R01", "A-01"))
    assert (change.racks_added, change.racks_removed, change.server_racks) == ({"A-01"}, {"R01"}, {"R01", "A-01"})
    assert history.redo_text == "" and len(history) == 1
    assert {s.rack for s in state.plan.servers} == {"A-01"}  # the servers followed their rack


def test_an_edit_that_changes_nothing_is_no_edit(state):
    r = state.rack("R01")
    with pytest.raises(NoChange):
        racks.move(state, {"R01": (r.x_m, r.y_m)})
    with pytest.raises(NoChange):
        racks.edit_racks(state, ["R01"], {"power_budget_kw": 40.0})
    with pytest.raises(NoChange):
        racks.rename_rack(state, "R01", " R01 ")


# ------------------------------------------------------------------ floor rules
def test_a_move_onto_another_rack_or_off_the_floor_is_refused_naming_them(state):
    with pytest.raises(EditRefused, match="may not overlap: R01 ↔ R02"):
        racks.move(state, {"R01": (2.1, 2.4)})  # R02's centre
    with pytest.raises(EditRefused, match="may not overlap: L01 ↔ cooling unit CRAH-1"):
        racks.move(state, {"L01": (0.3, 5.4)})
    with pytest.raises(EditRefused, match="Outside the floor of Hall 1: R01"):
        racks.move(state, {"R01": (11.9, 2.4)})  # 0.6 m wide: its right edge at 12.2 m > 12 m
    r02 = state.rack("R02")
    edit = racks.move(state, {"R01": (r02.x_m, r02.y_m), "R02": (r02.x_m + 0.6, r02.y_m),
                              "R03": (r02.x_m + 1.2, r02.y_m)})  # the whole row one tile right: fine
    assert edit.text == "Move 3 items"


def test_names_are_one_namespace_for_racks_and_units_and_have_a_length_limit(state):
    with pytest.raises(EditRefused, match="already a cooling unit named CRAH-1"):
        racks.rename_rack(state, "R01", "CRAH-1")
    with pytest.raises(EditRefused, match="already a rack named R02"):
        plant.edit_units(state, ["CRAH-1"], {"name": "R02"})
    with pytest.raises(EditRefused, match="at most 64 characters \\(this one has 65\\)"):
        racks.rename_rack(state, "R01", "x" * 65)
    with pytest.raises(EditRefused, match="No rack named GONE \\(it was deleted or renamed\\)"):
        racks.edit_racks(state, ["GONE"], {"row": "Q"})


def test_add_row_goes_across_an_aisle_with_no_guessed_feeds(state, history):
    history.do(racks.add_rack_at(state, (10.0, 1.0), like="R02"))
    new = state.plan.racks[-1]
    assert (new.name, new.row, new.feed_a, new.feed_b) == ("R04", "R", None, None)  # R's look, not its feeds
    history.do(racks.add_row_at(state, (6.0, 4.0), 4, feeds=("FA", "FB"), neighbour="R"))
    row = state.plan.racks[-4:]
    # row R faces N with its front (cold side) 0.6 m from the wall: the new row backs onto it across a
    # hot aisle of 2 tiles (1.2 m, planner.floor.aisle_widths), facing S
    assert {r.orientation for r in row} == {"S"} and {(r.feed_a, r.feed_b) for r in row} == {("FA", "FB")}
    assert {round(r.footprint()[1], 6) for r in row} == {3.0 + 1.2}
    before, after = round_trip(history, lambda: len(state.plan.racks))
    assert (before, after) == (5, 9)
    with pytest.raises(EditRefused, match="No power feed named NOPE"):
        racks.add_row_at(state, (6.0, 4.0), 2, feeds=("NOPE", None))


def test_a_smaller_hall_that_would_leave_racks_outside_is_refused(state, history):
    with pytest.raises(EditRefused, match="A 6 m x 8 m floor would leave L01 outside hall Hall 1: move them first"):
        racks.edit_hall(state, "Hall 1", {"width_m": 6.0})
    history.do(racks.edit_hall(state, "Hall 1", {"width_m": 7.2, "containment": "hot"}))
    assert round_trip(history, lambda: (state.hall().width_m, state.hall().containment)) == \
        ((12.0, "none"), (7.2, "hot"))


def test_rotating_a_row_keeps_it_a_row_on_the_tile_grid(state, history):
    history.do(racks.rotate(state, ["R01", "R02", "R03"], "cw"))
    rs = [state.rack(n) for n in ("R01", "R02", "R03")]
    assert {r.orientation for r in rs} == {"E"} and len({r.x_m for r in rs}) == 1
    tile = state.hall().tile_m
    for r in rs:
        x0, y0, _x1, _y1 = r.footprint()
        assert x0 / tile == pytest.approx(round(x0 / tile), abs=1e-9)
        assert y0 / tile == pytest.approx(round(y0 / tile), abs=1e-9)
    assert [round(b.y_m - a.y_m, 6) for a, b in zip(rs, rs[1:])] == [0.6, 0.6]  # spacing kept
    with pytest.raises(EditRefused, match="A turn is one of cw, ccw, flip"):
        racks.rotate(state, ["R01"], "sideways")


def test_duplicate_continues_the_row_with_the_servers(state, history):
    from planner.checks import check_plan

    before = {p.code for p in check_plan(state.plan)}
    assert before == {"loop-no-redundancy"}  # one CRAH, no N+1 (issue 11's check): there before any edit
    history.do(racks.duplicate(state, ["R01"]))
    copy = state.plan.racks[-1]
    assert copy.name == "R04" and [s.name for s in state.servers_in("R04")] == ["R04-a", "R04-b"]
    # R02 stands right of R01: the copy takes the nearest free place along the row, left of R01
    assert (copy.x_m, copy.y_m, copy.orientation) == (0.9, 2.4, "N")
    assert {p.code for p in check_plan(state.plan)} == before  # before the fix: + inlet-faces-exhaust (behind R01)
    history.do(racks.duplicate(state, ["R04", "R01", "R02", "R03"]))  # the whole row: continued to the right
    assert [(r.name, r.x_m) for r in state.plan.racks[-4:]] == [("R05", 3.3), ("R06", 3.9), ("R07", 4.5), ("R08", 5.1)]
    # a copy is a copy, feeds included: 8 racks of 20.4 kW on FA/FB now overload them (an error, named)
    assert {p.code for p in check_plan(state.plan)} == before | {"feed-overloaded"}


# ------------------------------------------------------------------ servers
def test_servers_go_where_there_are_free_u_and_never_overlap(state, history):
    # R01 (42 U) holds 8 U servers at U1 and U9
    edit = servers.add_server(state, "R01", H100)
    assert edit.text == "Add Eight-U GPU box to R01 U17" and edit.server == "R01-U17"
    with pytest.raises(EditRefused, match="U5–U12 of R01 is taken by R01-a \\(U1–U8\\)"):
        servers.add_server(state, "R01", H100, u=5)
    with pytest.raises(EditRefused, match="8 U at U40 does not fit in R01 \\(42 U\\)"):
        servers.add_server(state, "R01", H100, u=40)
    history.do(servers.move_server(state, "R01-b", 20, rack="R02"))
    assert [(s.name, s.rack, s.u_position) for s in state.plan.servers] == [("R01-a", "R01", 1), ("R01-b", "R02", 20)]
    with pytest.raises(EditRefused, match="servers up to U27: its height cannot be less than 27 U"):
        racks.edit_racks(state, ["R02"], {"u_height": 24})
    history.undo()
    assert state.plan.servers[1].rack == "R01"


# ------------------------------------------------------------------ plant: feeds and loops
def test_add_feed_alternates_sides_and_refuses_bad_values(state, history):
    history.do(plant.add_feed(state))
    history.do(plant.add_feed(state))
    assert [(f.name, f.side) for f in state.plan.power_feeds][2:] == [("Feed A2", "A"), ("Feed B2", "B")]
    with pytest.raises(EditRefused, match="Feed X: breaker rating must be > 0, got 0"):
        plant.add_feed(state, PowerFeed("X", amperage=0))
    with pytest.raises(EditRefused, match="Feed FA: max utilisation must be ≤ 1, got 1.5"):
        plant.edit_feed(state, "FA", {"max_utilization": 1.5})
    assert round_trip(history, lambda: len(state.plan.power_feeds)) == (3, 4)


def test_renaming_a_feed_carries_every_rack_with_it_in_one_edit(state, history):
    edit = plant.edit_feed(state, "FB", {"name": "PDU-2B"})
    assert edit.text == "Rename power feed FB to PDU-2B" and edit.name == "PDU-2B"
    history.do(edit)
    assert round_trip(history, lambda: sorted({r.feed_b for r in state.plan.racks})) == (["FB"], ["PDU-2B"])


def test_deleting_a_feed_leaves_its_racks_without_that_side_and_undo_restores_order(state, history):
    assert plant.racks_on_feeds(state, ["FA"]) == ["R01", "R02", "R03", "L01"]
    history.do(plant.delete_feeds(state, ["FA"]))
    before, after = round_trip(history, lambda: ([f.name for f in state.plan.power_feeds],
                                                 {(r.feed_a, r.feed_b) for r in state.plan.racks}))
    assert before == (["FA", "FB"], {("FA", "FB")})
    assert after == (["FB"], {(None, "FB")})


def test_loops_add_rename_and_delete_follow_every_reference(state, history):
    history.do(plant.add_loop(state, "facility"))
    history.do(plant.set_loop_parent(state, "AIR", "Facility water 1"))  # AIR rejects to the new plant loop
    history.do(plant.rename_loop(state, "Facility water 1", "CHW"))
    loops = lambda: [(l.name, l.rejects_to) for l in state.plan.cooling_loops]  # noqa: E731
    assert loops() == [("AIR", "CHW"), ("TCS", None), ("CHW", None)]
    with pytest.raises(EditRefused, match="CHW cannot reject to AIR: the loops would form a cycle"):
        plant.set_loop_parent(state, "CHW", "AIR")
    history.do(plant.rename_loop(state, "AIR", "CRAH air"))
    assert {r.air_loop for r in state.plan.racks} == {"CRAH air"} and state.unit("CRAH-1").loop == "CRAH air"
    with pytest.raises(EditRefused, match=r"Loop CRAH air still has 1 cooling unit\(s\) \(CRAH-1\)"):
        plant.delete_loop(state, "CRAH air")
    with pytest.raises(EditRefused, match="already a cooling loop named TCS"):
        plant.rename_loop(state, "CHW", "TCS")
    history.do(plant.delete_loop(state, "CHW"))  # CRAH air then rejects outdoors
    before, after = round_trip(history, loops)
    assert before == [("CRAH air", "CHW"), ("TCS", None), ("CHW", None)]
    assert after == [("CRAH air", None), ("TCS", None)]
    for _ in range(5):
        history.undo()
    assert loops() == [("AIR", None), ("TCS", None)]
    assert {r.air_loop for r in state.plan.racks} == {"AIR"} and state.unit("CRAH-1").loop == "AIR"


def test_deleting_a_loop_takes_it_off_its_racks(state, history):
    state.plan.racks[0] = replace(state.plan.racks[0], liquid_loop="TCS")
    assert plant.racks_on_loop(state, "TCS") == ["R01"]
    history.do(plant.delete_loop(state, "TCS"))
    assert round_trip(history, lambda: state.rack("R01").liquid_loop) == ("TCS", None)


def test_a_cdu_dropped_on_a_plan_without_a_liquid_loop_brings_one(state, history):
    state.plan.cooling_loops = [l for l in state.plan.cooling_loops if l.medium != "liquid"]
    from planner.plan import CoolingUnit

    edit = plant.add_cooling_unit(state, CoolingUnit("CDU", "cdu", "", 800.0), pos=(9.0, 6.0))
    history.do(edit)
    unit = state.unit("CDU-1")
    assert unit.loop == "Liquid loop 1" and [l.medium for l in state.plan.cooling_loops] == ["air", "liquid"]
    x0, y0, _x1, _y1 = __import__("planner.floor", fromlist=["x"]).unit_footprint(unit)
    assert (round(x0 / 0.6, 9) % 1, round(y0 / 0.6, 9) % 1) == (0, 0)  # snapped to the tile grid
    assert round_trip(history, lambda: len(state.plan.cooling_loops)) == (1, 2)



def test_units_from_the_catalog_get_tags_numbered_like_the_plans(state, history):
    from planner.catalog import load_catalog

    cat = {u.kind: u for u in load_catalog().cooling_units}
    history.do(plant.add_cooling_unit(state, cat["crah"], pos=(9.0, 6.0)))  # the plan has CRAH-1
    history.do(plant.add_cooling_unit(state, cat["chiller"]))
    history.do(plant.add_cooling_unit(state, cat["dry_cooler"]))
    assert [u.name for u in state.plan.cooling_units] == ["CRAH-1", "CRAH-2", "CH-1", "DC-1"]  # not "Chilled-water…-1"
    state.plan.cooling_units[0] = replace(state.plan.cooling_units[0], name="CRAH-07")
    assert plant.add_cooling_unit(state, cat["crah"], pos=(9.0, 3.0)).name == "CRAH-08"  # zero-padded as the plan


# ------------------------------------------------------------------ site, scenarios, jobs
def test_scenarios_and_jobs_refuse_what_the_solver_would(state, history):
    sc = scenarios.default_scenario(state.plan)
    assert sc.load == "full"  # no jobs: every GPU flat out
    history.do(scenarios.add_scenario(state, sc))
    with pytest.raises(EditRefused, match="Step 7200 s is longer than the scenario \\(3600 s\\)"):
        scenarios.edit_scenario(state, "Scenario 1", {"horizon_s": 3600.0, "step_s": 7200.0})
    with pytest.raises(EditRefused, match="Tariff needs 24 hourly prices, got 3"):
        scenarios.edit_scenario(state, "Scenario 1", {"tariff": replace(sc.tariff, hourly_price_usd_per_kwh=[0.1] * 3)})
    with pytest.raises(EditRefused, match="Job j: deadline is before release \\+ duration \\(3 h\\)"):
        scenarios.add_job(state, Job("j", 8, duration_s=3 * 3600.0, deadline_s=3600.0))
    with pytest.raises(EditRefused, match="Latitude must be ≤ 90, got 91"):
        scenarios.edit_site(state, {"latitude": 91.0})
    history.do(scenarios.add_job(state))
    history.do(scenarios.add_job(state))
    assert [j.name for j in state.plan.jobs] == ["job-1", "job-2"]
    edit = scenarios.replace_jobs(state, [Job("job-2", 16), Job("new", 8)], "Import 2 jobs from CSV")
    history.do(edit)
    assert [(j.name, j.gpus) for j in state.plan.jobs] == [("job-2", 16), ("new", 8)]
    history.undo()
    assert [(j.name, j.gpus) for j in state.plan.jobs] == [("job-1", 8), ("job-2", 8)]


def test_edits_happen_in_the_hall_being_edited(state, history):
    state.plan.halls.append(Hall("Hall 2", 10.0, 6.0, 0.6))
    state.plan.racks.append(Rack("H2-01", hall="Hall 2", row="H", x_m=1.5, y_m=2.4, orientation="N"))
    state.hall_name = "Hall 2"
    edit = racks.add_rack_at(state, (1.5, 2.4))  # R01 of hall 1 stands there, but in another hall
    assert edit.hall == "Hall 2" and edit.diff[0][2].hall == "Hall 2"
    history.do(edit)
    assert [r.name for r in state.racks_here()] == ["H2-01", "A01"]
    with pytest.raises(EditRefused, match="may not overlap: A01 ↔ H2-01"):
        racks.move(state, {"A01": (1.5, 2.4)})
