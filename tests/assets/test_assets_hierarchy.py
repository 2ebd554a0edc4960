"""ISA-95 hierarchy rules: keys, paths, level order and tag definitions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.assets.hierarchy import (
    KEY_PATTERN,
    AssetRuleError,
    NodeDraft,
    SiteShape,
    TagDraft,
    check_level,
    child_path,
    definition_problems,
    node_problems,
    split_path,
    tag_problems,
)
from lighthouse_os.assets.unit_data import unit_table

SHAPE = SiteShape(
    node_levels={"main": "area", "line1": "line", "line1/press2": "machine"},
    tag_paths={"line1/press2/kwh"},
)


@pytest.mark.parametrize(
    ("parent", "level", "ok"),
    [
        ("site", "area", True),
        ("site", "line", True),  # the issue's `line1/press2/kwh` has no area
        ("site", "machine", True),
        ("area", "line", True),
        ("area", "machine", True),
        ("line", "machine", True),
        ("line", "area", False),
        ("machine", "machine", False),
        ("machine", "line", False),
        ("area", "area", False),
        ("site", "cell", False),
    ],
)
def test_hierarchy_level_order_allows_skips_but_not_reversals(
    parent: str, level: str, ok: bool
) -> None:
    if ok:
        assert check_level(level, parent) == level
    else:
        with pytest.raises(AssetRuleError):
            check_level(level, parent)


@pytest.mark.parametrize(
    ("path", "parent", "key"),
    [("kwh", None, "kwh"), ("line1/press2/kwh", "line1/press2", "kwh"), ("a/b/c/d", "a/b/c", "d")],
)
def test_hierarchy_split_path_gives_parent_and_key(path: str, parent: str | None, key: str) -> None:
    assert split_path(path) == (parent, key)


@pytest.mark.parametrize("path", ["", "a//b", "/a", "a/", "a/b/c/d/e", "a+b", "a#", "ống", "-a"])
def test_hierarchy_split_path_refuses_bad_paths(path: str) -> None:
    with pytest.raises(AssetRuleError):
        split_path(path)


@given(st.lists(st.from_regex(KEY_PATTERN, fullmatch=True), min_size=1, max_size=4))
def test_hierarchy_child_path_round_trips_through_split_path(keys: list[str]) -> None:
    path: str | None = None
    for key in keys:
        path = child_path(path, key)
    assert path is not None
    assert split_path(path) == ("/".join(keys[:-1]) or None, keys[-1])


def test_hierarchy_new_machine_under_line_is_valid() -> None:
    draft = NodeDraft("line1/press3", "machine", asset_type="press")
    assert node_problems(draft, SHAPE) == {}


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (NodeDraft("nowhere/press3", "machine"), "path"),
        (NodeDraft("line1/press2", "machine"), "path"),  # taken
        (NodeDraft("line1/press2/kwh", "machine"), "path"),  # a tag's path
        (NodeDraft("line1/area9", "area"), "level"),
        (NodeDraft("main", "line"), "path"),
        (NodeDraft("line1/x", "machine", asset_type="Press Machine"), "asset_type"),
        (NodeDraft("line2", "line", asset_type="press"), "asset_type"),
    ],
)
def test_hierarchy_node_problems_name_the_field(draft: NodeDraft, field: str) -> None:
    assert field in node_problems(draft, SHAPE)


def test_hierarchy_tag_may_hang_off_the_site() -> None:
    draft = TagDraft("ambient_temp", "Cel", "gauge")
    assert tag_problems(draft, SHAPE, unit_table()) == {}


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (TagDraft("line1/press2/kwh", "kW.h", "counter"), "path"),
        (TagDraft("nowhere/kwh", "kW.h", "counter"), "path"),
        (TagDraft("line1/press2/t", "kWh", "counter"), "unit"),
        (TagDraft("line1/press2/t", "kW.h", "sum"), "kind"),
        (TagDraft("line1/press2/t", "kW.h", "gauge", scale=0.0), "scale"),
        (TagDraft("line1/press2/t", "kW.h", "gauge", offset=math.inf), "offset"),
        (TagDraft("line1/press2/t", "1", "state", scale=2.0), "scale"),
        (TagDraft("line1/press2/t", "1", "gauge", states=("run",)), "states"),
        (TagDraft("line1/press2/t", "1", "state", states=("run", "run")), "states"),
        (TagDraft("line1/press2/t", "1", "state", states=("1st",)), "states"),
    ],
)
def test_hierarchy_tag_problems_name_the_field(draft: TagDraft, field: str) -> None:
    assert field in tag_problems(draft, SHAPE, unit_table())


def test_hierarchy_definition_problems_ignore_the_path() -> None:
    draft = TagDraft("line1/press2/kwh", "kW.h", "counter", scale=0.001)
    assert definition_problems(draft, unit_table()) == {}
