"""Loader tests: typed frozen packs from YAML, built-in pack discovery and version choice."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from lighthouse_os.framework import pack as p
from lighthouse_os.framework.loader import (
    available_packs,
    find_pack,
    load_builtin_pack,
    load_pack,
    version_key,
)
from lighthouse_os.framework.problem import PackInvalidError, Problem, join_path

Files = dict[str, Any]


def test_load_pack_builds_frozen_capability_pack(capability_files: Files, write_pack: Any) -> None:
    pack = load_pack(write_pack(capability_files))
    assert isinstance(pack, p.CapabilityPack)
    cap = pack.capability("info_flow")
    assert [lv.level for lv in cap.levels] == [1, 2, 3, 4, 5]
    assert cap.level(3).criteria[1].id == "info_flow.l3.2"
    assert cap.prerequisites == (p.Prerequisite("material_flow", 2, 1),)
    assert pack.use_case("e_kanban").kpi_impact["lead_time"].midpoint_pct == -20
    assert pack.kpi("lead_time").prior is not None
    assert pack.prioritisation.cost_categories[0].kpis == ("oee",)
    assert [lv.level for lv in pack.levels] == [0, 1, 2, 3, 4, 5]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cap.id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cap.kpis["oee"] = 1  # type: ignore[index]


def test_load_pack_builds_siri_pack(siri_files: Files, write_pack: Any) -> None:
    pack = load_pack(write_pack(siri_files))
    assert isinstance(pack, p.SiriPack)
    assert [d.id for d in pack.dimensions] == ["d1", "d2"]
    assert [b.band for b in pack.dimension("d2").bands] == [0, 1, 2, 3, 4, 5]
    assert pack.blocks[0].areas[0].id == "operations"
    assert pack.prioritisation.industries[0].best_in_class["d1"] == 4


def test_load_pack_raises_with_every_problem(capability_files: Files, write_pack: Any) -> None:
    for kpi in capability_files["kpis.yaml"]:
        kpi["unit"] = ""
    with pytest.raises(PackInvalidError) as info:
        load_pack(write_pack(capability_files))
    assert len(info.value.problems) == 3
    assert "has 3 problem(s)" in str(info.value)


def test_pack_invalid_error_summarises_long_lists() -> None:
    problems = [Problem("a.yaml", "", f"p{i}") for i in range(5)]
    assert str(PackInvalidError("x", problems)).endswith("(and 2 more)")


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        (Problem("a.yaml", "[1].id", "bad"), "a.yaml: [1].id: bad"),
        (Problem("a.yaml", "", "m"), "a.yaml: m"),
    ],
)
def test_problem_str_names_file_and_path(problem: Problem, text: str) -> None:
    assert str(problem) == text


def test_join_path_renders_indices_and_keys() -> None:
    assert join_path(2, "levels", "3", "criteria", 1, "text") == "[2].levels.3.criteria[1].text"


def test_lookups_raise_key_error_for_unknown_ids(
    capability_files: Files, siri_files: Files, write_pack: Any, tmp_path: Path
) -> None:
    cap_pack = load_pack(write_pack(capability_files))
    siri = load_pack(write_pack(siri_files, tmp_path / "s"))
    assert isinstance(cap_pack, p.CapabilityPack)
    assert isinstance(siri, p.SiriPack)
    for call in (
        lambda: cap_pack.capability("x"),
        lambda: cap_pack.use_case("x"),
        lambda: cap_pack.kpi("x"),
        lambda: siri.dimension("x"),
    ):
        with pytest.raises(KeyError):
            call()
    with pytest.raises(ValueError, match="no level 6"):
        cap_pack.capability("info_flow").level(6)


@pytest.mark.parametrize(("version", "key"), [("1.2.3", (1, 2, 3)), ("10.0.0", (10, 0, 0))])
def test_version_key_orders_semver(version: str, key: tuple[int, int, int]) -> None:
    assert version_key(version) == key


def test_version_key_rejects_non_semver() -> None:
    with pytest.raises(ValueError, match="not a semantic version"):
        version_key("1.2")


def test_available_packs_lists_versions_in_semver_order(
    capability_files: Files, write_pack: Any, tmp_path: Path
) -> None:
    root = tmp_path / "packs"
    for version in ("1.10.0", "1.2.0", "1.9.1"):
        capability_files["pack.yaml"]["version"] = version
        write_pack(capability_files, root / "demo" / version)
    (root / "demo" / "notes").mkdir()
    (root / "demo" / "2.0.0").mkdir()  # no pack.yaml: ignored
    refs = available_packs(root)
    assert [r.version for r in refs] == ["1.2.0", "1.9.1", "1.10.0"]
    assert find_pack("demo", root=root).version == "1.10.0"
    assert find_pack("demo", "1.2.0", root=root).path == root / "demo" / "1.2.0"
    loaded = load_builtin_pack("demo", root=root)
    assert loaded.version == "1.10.0"


def test_available_packs_is_empty_without_folder(tmp_path: Path) -> None:
    assert available_packs(tmp_path / "none") == []


@pytest.mark.parametrize("version", [None, "9.9.9"])
def test_find_pack_raises_for_unknown_pack_or_version(tmp_path: Path, version: str | None) -> None:
    with pytest.raises(KeyError, match="no framework pack"):
        find_pack("ghost" if version is None else "demo", version, root=tmp_path)


def test_text_get_and_kpi_favourable_direction() -> None:
    text = p.Text(vi="xin chào", en="hello")
    assert (text.get("vi"), text.get("en")) == ("xin chào", "hello")
    lower = p.Kpi("lead_time", text, "d", "lower")
    higher = p.Kpi("oee", text, "%", "higher")
    assert (lower.favourable(-20), higher.favourable(-20)) == (20, -20)
