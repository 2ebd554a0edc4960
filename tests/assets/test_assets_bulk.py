"""Bulk asset files: checked as a whole, every bad row reported, upsert by path."""

from __future__ import annotations

from lighthouse_os.assets.bulk import Row, plan_import
from lighthouse_os.assets.hierarchy import NodeDraft, TagDraft
from lighthouse_os.assets.unit_data import unit_table


def _node(where: str, **values: object) -> Row:
    return Row(where, "node", values)


def _tag(where: str, **values: object) -> Row:
    return Row(where, "tag", values)


def test_bulk_rows_in_any_order_plan_parents_first() -> None:
    rows = [
        _tag("tags[0]", path="line1/press2/kwh", unit="kW.h", kind="counter"),
        _node("nodes[0]", path="line1/press2", level="machine", asset_type="press"),
        _node("nodes[1]", path="line1", level="line", name={"vi": "Dây chuyền 1", "en": "Line 1"}),
    ]
    plan = plan_import(rows, {}, {}, unit_table())
    assert plan.problems == ()
    assert [n.path for n in plan.new_nodes] == ["line1", "line1/press2"]
    assert plan.new_nodes[0].name_vi == "Dây chuyền 1"
    assert [t.path for t in plan.new_tags] == ["line1/press2/kwh"]


def test_bulk_reports_every_bad_row_and_plans_nothing() -> None:
    rows = [
        _node("line 2", path="line1", level="line"),
        _node("line 3", path="line1/press2", level="area"),
        _tag("line 4", path="line1/kwh", unit="kWh", kind="counter"),
        _tag("line 5", path="ghost/kwh", unit="kW.h", kind="gauge"),
        _tag("line 6", path="line1/kwh", unit="kW.h", kind="counter", scale="x"),
        _tag("line 7", unit="kW.h", kind="gauge"),
    ]
    plan = plan_import(rows, {}, {}, unit_table())
    located = {(p.where, p.field) for p in plan.problems}
    assert located == {
        ("line 3", "level"),
        ("line 4", "unit"),
        ("line 5", "path"),
        ("line 6", "scale"),
        ("line 7", "path"),
    }
    assert plan.new_nodes == ()
    assert plan.new_tags == ()


def test_bulk_duplicate_paths_in_a_file_are_reported() -> None:
    rows = [
        _node("nodes[0]", path="main", level="area"),
        _node("nodes[1]", path="main", level="area"),
        _tag("tags[0]", path="main", unit="1", kind="gauge"),
    ]
    problems = plan_import(rows, {}, {}, unit_table()).problems
    assert {p.where for p in problems} >= {"nodes[1]", "tags[0]"}


def test_bulk_reimport_of_the_same_rows_is_unchanged() -> None:
    existing_nodes = {"main": NodeDraft("main", "area", "Chính", "Main")}
    existing_tags = {"main/kwh": TagDraft("main/kwh", "kW.h", "counter")}
    rows = [
        _node("nodes[0]", path="main", level="area", name_vi="Chính", name_en="Main"),
        _tag("tags[0]", path="main/kwh", unit="kW.h", kind="counter"),
    ]
    plan = plan_import(rows, existing_nodes, existing_tags, unit_table())
    assert (plan.new_nodes, plan.changed_nodes, plan.new_tags, plan.changed_tags) == ((),) * 4
    assert plan.unchanged == 2


def test_bulk_existing_paths_are_updated_but_levels_never_move() -> None:
    existing_nodes = {"main": NodeDraft("main", "area")}
    existing_tags = {"main/kwh": TagDraft("main/kwh", "kW.h", "counter")}
    rows = [
        _tag("tags[0]", path="main/kwh", unit="kW.h", kind="counter", scale=0.001),
        _node("nodes[0]", path="main", level="line"),
    ]
    plan = plan_import(rows, existing_nodes, existing_tags, unit_table())
    assert [(p.where, p.field) for p in plan.problems] == [("nodes[0]", "level")]
    rows = rows[:1]
    plan = plan_import(rows, existing_nodes, existing_tags, unit_table())
    assert [t.scale for t in plan.changed_tags] == [0.001]


def test_bulk_csv_states_cell_splits_on_bars() -> None:
    rows = [
        _node("line 2", path="m1", level="machine"),
        _tag("line 3", path="m1/state", unit="1", kind="state", states="off|idle|run|fault"),
    ]
    plan = plan_import(rows, {}, {}, unit_table())
    assert plan.new_tags[0].states == ("off", "idle", "run", "fault")
