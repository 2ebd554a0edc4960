"""Validator tests: each kind of problem in a generated pack is reported with file and path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lighthouse_os.framework.validate import validate_pack

Files = dict[str, Any]


def _messages(root: Path) -> list[str]:
    return [str(p) for p in validate_pack(root)]


def _cap(files: Files, index: int = 0, rel: str = "capabilities/flows.yaml") -> dict[str, Any]:
    item: dict[str, Any] = files[rel][index]
    return item


def test_validate_pack_accepts_valid_capability_pack(
    capability_files: Files, write_pack: Any
) -> None:
    assert validate_pack(write_pack(capability_files)) == []


def test_validate_pack_accepts_valid_siri_pack(siri_files: Files, write_pack: Any) -> None:
    assert validate_pack(write_pack(siri_files)) == []


def test_validate_pack_reports_missing_folder(tmp_path: Path) -> None:
    assert _messages(tmp_path / "nope") == [f"{tmp_path / 'nope'}: not a pack folder"]


def test_validate_pack_reports_yaml_syntax_error_with_line(
    capability_files: Files, write_pack: Any
) -> None:
    capability_files["kpis.yaml"] = "- id: oee\n  name: a: b\n"
    messages = _messages(write_pack(capability_files))
    # libyaml and pure-Python PyYAML word the end of the message differently.
    prefix = "kpis.yaml: line 2, column 10: YAML error: mapping values are not allowed"
    assert any(m.startswith(prefix) for m in messages)


def test_validate_pack_reports_duplicate_yaml_key_with_line(
    capability_files: Files, write_pack: Any
) -> None:
    capability_files["use_cases.yaml"] = "- id: a\n  id: b\n"
    messages = _messages(write_pack(capability_files))
    assert "use_cases.yaml: line 2, column 3: YAML error: duplicate key 'id'" in messages


def test_validate_pack_reports_missing_file(capability_files: Files, write_pack: Any) -> None:
    del capability_files["use_cases.yaml"]
    messages = _messages(write_pack(capability_files))
    assert "use_cases.yaml: file is missing" in messages
    assert "capabilities/flows.yaml: [0].use_cases[0]: unknown use case 'e_kanban'" in messages


def test_validate_pack_reports_no_capability_files(
    capability_files: Files, write_pack: Any
) -> None:
    for rel in ("capabilities/flows.yaml", "capabilities/people.yaml"):
        del capability_files[rel]
    assert "capabilities/: no capability files (*.yaml)" in _messages(write_pack(capability_files))


def test_validate_pack_reports_missing_vietnamese_text_with_path(
    capability_files: Files, write_pack: Any
) -> None:
    del _cap(capability_files, 1)["levels"][3]["criteria"][1]["text"]["vi"]
    messages = _messages(write_pack(capability_files))
    assert messages == ["capabilities/flows.yaml: [1].levels.3.criteria[1].text.vi: missing"]


def test_validate_pack_reports_empty_english_text(capability_files: Files, write_pack: Any) -> None:
    capability_files["kpis.yaml"][0]["name"]["en"] = "   "
    assert _messages(write_pack(capability_files)) == ["kpis.yaml: [0].name.en: empty"]


def test_validate_pack_reports_unknown_field(capability_files: Files, write_pack: Any) -> None:
    capability_files["pack.yaml"]["author"] = "me"
    assert _messages(write_pack(capability_files)) == ["pack.yaml: author: unknown field"]


def test_validate_pack_reports_unknown_method(capability_files: Files, write_pack: Any) -> None:
    capability_files["pack.yaml"]["method"] = "stars"
    messages = _messages(write_pack(capability_files))
    assert messages[0] == "pack.yaml: method: must be 'capability-levels' or 'siri-bands'"


def test_validate_pack_reports_top_level_not_a_list(
    capability_files: Files, write_pack: Any
) -> None:
    capability_files["kpis.yaml"] = {"oee": 1}
    messages = _messages(write_pack(capability_files))
    assert "kpis.yaml: expected a list, found dict" in messages


@pytest.mark.parametrize(
    ("levels", "found"),
    [([1, 2, 4, 5], "1, 2, 4, 5"), ([2, 1, 3, 4, 5], "2, 1, 3, 4, 5")],
)
def test_validate_pack_reports_capability_levels_missing_or_unordered(
    capability_files: Files, write_pack: Any, levels: list[int], found: str
) -> None:
    cap = _cap(capability_files)
    cap["levels"] = {lv: cap["levels"][lv] for lv in levels}
    expected = (
        f"capabilities/flows.yaml: [0].levels: expected 1, 2, 3, 4, 5 in this order, found {found}"
    )
    assert _messages(write_pack(capability_files)) == [expected]


def test_validate_pack_reports_pack_levels_not_0_to_5(
    capability_files: Files, write_pack: Any
) -> None:
    capability_files["pack.yaml"]["levels"].pop(0)
    expected = "pack.yaml: levels: expected 0, 1, 2, 3, 4, 5 in this order, found 1, 2, 3, 4, 5"
    assert _messages(write_pack(capability_files)) == [expected]


@pytest.mark.parametrize("count", [1, 6])
def test_validate_pack_reports_criteria_count_outside_2_to_5(
    capability_files: Files, write_pack: Any, count: int
) -> None:
    criteria = [
        {"id": f"material_flow.l2.{n}", "text": {"vi": "a", "en": "b"}} for n in range(1, count + 1)
    ]
    _cap(capability_files)["levels"][2]["criteria"] = criteria
    messages = _messages(write_pack(capability_files))
    assert len(messages) == 1
    assert messages[0].startswith(
        "capabilities/flows.yaml: [0].levels.2.criteria: List should have"
    )


def test_validate_pack_reports_unknown_principle_and_foreign_area(
    capability_files: Files, write_pack: Any
) -> None:
    _cap(capability_files, 0)["principle"] = "nowhere"
    _cap(capability_files, 1)["area"] = "learning"
    assert _messages(write_pack(capability_files)) == [
        "capabilities/flows.yaml: [0].principle: unknown principle 'nowhere'",
        "capabilities/flows.yaml: [1].area: 'learning' is not a area of 'flows'",
        "principles.yaml: [0].areas[0]: no capability in 'material'",
        "principles.yaml: [0].areas[1]: no capability in 'info'",
    ]


def test_validate_pack_reports_unknown_kpi_links(capability_files: Files, write_pack: Any) -> None:
    _cap(capability_files)["kpis"]["scrap"] = 1
    capability_files["use_cases.yaml"][0]["kpi_impact"]["yield"] = {"low_pct": 1, "high_pct": 2}
    capability_files["pack.yaml"]["prioritisation"]["cost_categories"][0]["kpis"] = ["oee", "x"]
    assert sorted(_messages(write_pack(capability_files))) == [
        "capabilities/flows.yaml: [0].kpis.scrap: unknown KPI 'scrap'",
        "pack.yaml: prioritisation.cost_categories[0].kpis[1]: unknown KPI 'x'",
        "use_cases.yaml: [0].kpi_impact.yield: unknown KPI 'yield'",
    ]


def test_validate_pack_reports_bad_relevance_value(
    capability_files: Files, write_pack: Any
) -> None:
    _cap(capability_files)["kpis"]["lead_time"] = 2
    messages = _messages(write_pack(capability_files))
    assert messages == ["capabilities/flows.yaml: [0].kpis.lead_time: Input should be 0, 1 or 3"]


def test_validate_pack_reports_prerequisite_problems(
    capability_files: Files, write_pack: Any
) -> None:
    _cap(capability_files, 0)["prerequisites"] = [
        {"capability": "ghost", "level": 1},
        {"capability": "material_flow", "level": 1},
    ]
    assert _messages(write_pack(capability_files)) == [
        "capabilities/flows.yaml: [0].prerequisites[0].capability: unknown capability 'ghost'",
        "capabilities/flows.yaml: [0].prerequisites[1].capability: "
        "a capability cannot be its own prerequisite",
    ]


def test_validate_pack_reports_prerequisite_cycle(capability_files: Files, write_pack: Any) -> None:
    _cap(capability_files, 0)["prerequisites"] = [{"capability": "info_flow", "level": 1}]
    messages = _messages(write_pack(capability_files))
    assert len(messages) == 1
    assert "prerequisites form a cycle: " in messages[0]
    assert "info_flow L1" in messages[0]
    assert "material_flow L" in messages[0]


def test_validate_pack_accepts_prerequisite_loop_broken_by_for_level(
    capability_files: Files, write_pack: Any
) -> None:
    # info_flow needs material_flow L2; material_flow needs info_flow L1 only to reach L4.
    _cap(capability_files, 0)["prerequisites"] = [
        {"capability": "info_flow", "level": 1, "for_level": 4}
    ]
    assert validate_pack(write_pack(capability_files)) == []


def test_validate_pack_reports_duplicate_ids(capability_files: Files, write_pack: Any) -> None:
    capability_files["capabilities/people.yaml"][0]["id"] = "material_flow"
    capability_files["kpis.yaml"][2]["id"] = "oee"
    messages = _messages(write_pack(capability_files))
    assert "kpis.yaml: [2].id: duplicate KPI id 'oee' (first at kpis.yaml [0].id)" in messages
    assert (
        "capabilities/people.yaml: [0].id: duplicate capability id 'material_flow' "
        "(first at capabilities/flows.yaml [0].id)"
    ) in messages


def test_validate_pack_reports_duplicate_principle_number(
    capability_files: Files, write_pack: Any
) -> None:
    capability_files["principles.yaml"][1]["number"] = 1
    messages = _messages(write_pack(capability_files))
    assert messages == [
        "principles.yaml: [1].number: duplicate principle number '1' "
        "(first at principles.yaml [0].number)"
    ]


@pytest.mark.parametrize("bad_id", ["material_flow.l3.9", "info_flow.l2.1", "material_flow.l2.x"])
def test_validate_pack_reports_criterion_id_off_pattern(
    capability_files: Files, write_pack: Any, bad_id: str
) -> None:
    _cap(capability_files)["levels"][2]["criteria"][0]["id"] = bad_id
    assert _messages(write_pack(capability_files)) == [
        f"capabilities/flows.yaml: [0].levels.2.criteria[0].id: {bad_id!r} "
        "should be material_flow.l2.<n>"
    ]


def test_validate_pack_reports_duplicate_criterion_id(
    capability_files: Files, write_pack: Any
) -> None:
    _cap(capability_files)["levels"][2]["criteria"][1]["id"] = "material_flow.l2.1"
    messages = _messages(write_pack(capability_files))
    assert len(messages) == 1
    assert "duplicate criterion id 'material_flow.l2.1'" in messages[0]


def test_validate_pack_reports_impact_against_kpi_direction(
    capability_files: Files, write_pack: Any
) -> None:
    capability_files["use_cases.yaml"][0]["kpi_impact"]["lead_time"] = {
        "low_pct": -5,
        "high_pct": 5,
    }
    capability_files["kpis.yaml"][1]["prior"]["change_pct"] = 10
    assert _messages(write_pack(capability_files)) == [
        "kpis.yaml: [1].prior.change_pct: KPI 'lead_time' is better lower, "
        "so the change must be <= 0",
        "use_cases.yaml: [0].kpi_impact.lead_time: KPI 'lead_time' is better lower, so the change "
        "must be <= 0",
    ]


def test_validate_pack_reports_impact_range_reversed(
    capability_files: Files, write_pack: Any
) -> None:
    capability_files["use_cases.yaml"][0]["kpi_impact"]["lead_time"] = {
        "low_pct": -5,
        "high_pct": -9,
    }
    messages = _messages(write_pack(capability_files))
    assert messages == [
        "use_cases.yaml: [0].kpi_impact.lead_time: Value error, low_pct -5 is above high_pct -9"
    ]


def test_validate_pack_reports_weights_not_summing_to_one(
    capability_files: Files, write_pack: Any
) -> None:
    capability_files["pack.yaml"]["prioritisation"]["weights"]["gap"] = 0.5
    assert _messages(write_pack(capability_files)) == [
        "pack.yaml: prioritisation.weights: Value error, weights must sum to 1, got 1.35"
    ]


def test_validate_pack_reports_folder_mismatch(
    capability_files: Files, write_pack: Any, tmp_path: Path
) -> None:
    capability_files["pack.yaml"]["version"] = "1.1.0"
    capability_files["pack.yaml"]["id"] = "other"
    assert _messages(write_pack(capability_files, tmp_path / "demo" / "1.0.0")) == [
        "pack.yaml: version: is 1.1.0, folder is 1.0.0",
        "pack.yaml: id: is other, folder is demo",
    ]


def test_validate_pack_skips_folder_check_outside_version_folder(
    capability_files: Files, write_pack: Any, tmp_path: Path
) -> None:
    assert validate_pack(write_pack(capability_files, tmp_path / "draft")) == []


def test_validate_pack_reports_unexpected_file(capability_files: Files, write_pack: Any) -> None:
    capability_files["usecases.yaml"] = []
    assert _messages(write_pack(capability_files)) == [
        "usecases.yaml: unexpected file for this pack's method"
    ]


def test_validate_pack_reports_every_problem_not_just_the_first(
    capability_files: Files, write_pack: Any
) -> None:
    del _cap(capability_files, 0)["name"]["vi"]
    _cap(capability_files, 1)["kpis"]["nope"] = 3
    capability_files["capabilities/people.yaml"][0]["levels"][5]["criteria"][0]["id"] = "x"
    capability_files["kpis.yaml"][0]["unit"] = ""
    problems = validate_pack(write_pack(capability_files))
    files = sorted({p.file for p in problems})
    assert len(problems) >= 4
    assert files == ["capabilities/flows.yaml", "capabilities/people.yaml", "kpis.yaml"]


def test_validate_pack_reports_unreadable_bytes(capability_files: Files, write_pack: Any) -> None:
    root = write_pack(capability_files)
    (root / "kpis.yaml").write_bytes(b"\xff\xfe\x00bad")
    messages = _messages(root)
    assert any(m.startswith("kpis.yaml:") for m in messages)


def test_validate_siri_reports_bands_not_0_to_5(siri_files: Files, write_pack: Any) -> None:
    del siri_files["dimensions.yaml"][0]["bands"][0]
    assert _messages(write_pack(siri_files, None)) == [
        "dimensions.yaml: [0].bands: expected 0, 1, 2, 3, 4, 5 in this order, found 1, 2, 3, 4, 5"
    ]


def test_validate_siri_reports_unknown_block_pillar_and_cost_category(
    siri_files: Files, write_pack: Any
) -> None:
    dims = siri_files["dimensions.yaml"]
    dims[0]["block"] = "tech"
    dims[1]["pillar"] = "automation"
    dims[1]["cost_relevance"]["rent"] = 3
    dims[1]["kpis"]["x"] = 1
    assert _messages(write_pack(siri_files)) == [
        "dimensions.yaml: [0].block: unknown block 'tech'",
        "dimensions.yaml: [1].pillar: 'automation' is not a pillar of 'process'",
        "dimensions.yaml: [1].kpis.x: unknown KPI 'x'",
        "dimensions.yaml: [1].cost_relevance.rent: unknown cost category 'rent'",
        "blocks.yaml: [0].pillars[0]: no dimension in 'operations'",
    ]


def test_validate_siri_reports_best_in_class_gaps(siri_files: Files, write_pack: Any) -> None:
    industry = siri_files["pack.yaml"]["prioritisation"]["industries"][0]
    industry["best_in_class"] = {"d1": 4, "d9": 2}
    assert _messages(write_pack(siri_files)) == [
        "pack.yaml: prioritisation.industries[0].best_in_class.d9: unknown dimension 'd9'",
        "pack.yaml: prioritisation.industries[0].best_in_class: no band for d2",
    ]


def test_validate_siri_reports_duplicate_horizon_industry_and_dimension(
    siri_files: Files, write_pack: Any
) -> None:
    prio = siri_files["pack.yaml"]["prioritisation"]
    prio["horizons"].append(prio["horizons"][0])
    prio["industries"].append(prio["industries"][0])
    siri_files["dimensions.yaml"][1]["number"] = 1
    messages = _messages(write_pack(siri_files))
    assert len(messages) == 3
    assert any("duplicate horizon id 'short'" in m for m in messages)
    assert any("duplicate industry id 'electronics'" in m for m in messages)
    assert any("duplicate dimension number '1'" in m for m in messages)


def test_validate_siri_reports_missing_siri_files(siri_files: Files, write_pack: Any) -> None:
    del siri_files["blocks.yaml"]
    messages = _messages(write_pack(siri_files))
    assert "blocks.yaml: file is missing" in messages
    assert "dimensions.yaml: [0].block: unknown block 'process'" in messages


def test_validate_pack_reports_yaml_reader_error_without_line(
    capability_files: Files, write_pack: Any
) -> None:
    capability_files["kpis.yaml"] = "- id: o\x07ee\n"
    messages = _messages(write_pack(capability_files))
    assert any(m.startswith("kpis.yaml: YAML error: unacceptable character") for m in messages)


def test_validate_pack_reports_decrease_on_higher_is_better_kpi(
    capability_files: Files, write_pack: Any
) -> None:
    capability_files["use_cases.yaml"][0]["kpi_impact"]["oee"] = {"low_pct": -1, "high_pct": 3}
    assert _messages(write_pack(capability_files)) == [
        "use_cases.yaml: [0].kpi_impact.oee: KPI 'oee' is better higher, so the change must be >= 0"
    ]


def test_validate_siri_reports_horizon_weights_not_summing_to_one(
    siri_files: Files, write_pack: Any
) -> None:
    siri_files["pack.yaml"]["prioritisation"]["horizons"][0]["weights"]["gap"] = 0.1
    assert _messages(write_pack(siri_files)) == [
        "pack.yaml: prioritisation.horizons[0].weights: Value error, weights must sum to 1, got 0.9"
    ]
