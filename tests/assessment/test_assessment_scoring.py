"""Scoring core: cumulative capability levels, group means and SIRI bands."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.assessment.scoring import (
    cumulative_level,
    mean_score,
    score_areas,
    score_assessment,
    score_capability,
    score_capability_picked,
    score_dimension,
    score_principles,
    score_siri_groups,
)
from lighthouse_os.framework import pack as p

LEVELS = [["a1", "a2"], ["b1", "b2"], ["c1", "c2", "c3"], ["d1", "d2"], ["e1", "e2"]]


@pytest.mark.parametrize(
    ("met", "level", "first_unmet", "missing"),
    [
        (set(), 0, 1, ("a1", "a2")),
        ({"a1"}, 0, 1, ("a2",)),
        ({"a1", "a2"}, 1, 2, ("b1", "b2")),
        ({"a1", "a2", "b1", "b2", "c1", "c3"}, 2, 3, ("c2",)),
        ({"a1", "a2", "b1", "b2", "c1", "c2", "c3", "d1", "d2"}, 4, 5, ("e1", "e2")),
        ({c for lv in LEVELS for c in lv}, 5, None, ()),
    ],
)
def test_cumulative_level_table(
    met: set[str], level: int, first_unmet: int | None, missing: tuple[str, ...]
) -> None:
    explanation = cumulative_level(LEVELS, met)
    assert (explanation.level, explanation.first_unmet_level, explanation.missing) == (
        level,
        first_unmet,
        missing,
    )


def test_cumulative_level_gap_below_caps_level_and_lists_ignored_criteria() -> None:
    # WEF example logic: L3 criteria met do not count while an L2 criterion is missing.
    met = {"a1", "a2", "b1", "c1", "c2", "c3"}
    explanation = cumulative_level(LEVELS, met)
    assert explanation.level == 1
    assert explanation.ignored == ("c1", "c2", "c3")
    assert explanation.text.en == (
        "Level 1: every criterion of levels 1–1 is met; level 2 is missing b2 "
        "(1 of 2 criteria unmet). 3 criteria met at higher levels do not count until level 2 "
        "is complete."
    )
    assert explanation.text.vi.startswith("Mức 1: đạt mọi tiêu chí của mức 1–1; mức 2 còn thiếu b2")
    assert "chưa được tính" in explanation.text.vi


@pytest.mark.parametrize(
    ("met", "en", "vi"),
    [
        (
            set(),
            "Level 0: level 1 is missing a1, a2 (2 of 2 criteria unmet).",
            "Mức 0: mức 1 còn thiếu a1, a2",
        ),
        (
            {c for lv in LEVELS for c in lv},
            "Level 5: every criterion of levels 1–5 is met.",
            "Mức 5: đạt mọi tiêu chí của các mức 1–5.",
        ),
    ],
)
def test_level_explanation_text_at_the_ends(met: set[str], en: str, vi: str) -> None:
    text = cumulative_level(LEVELS, met).text
    assert text.en == en
    assert text.vi.startswith(vi)


def test_score_capability_ignores_other_capabilities_criteria(tiny_pack: p.CapabilityPack) -> None:
    cap = tiny_pack.capability("material_flow")
    met = {"material_flow.l1.1", "material_flow.l1.2", "info_flow.l2.1"}
    score = score_capability(cap, met)
    assert (score.capability_id, score.level) == ("material_flow", 1)
    assert score.explanation.missing == ("material_flow.l2.1", "material_flow.l2.2")


def test_score_capability_picked_records_method(tiny_pack: p.CapabilityPack) -> None:
    score = score_capability_picked(tiny_pack.capability("info_flow"), 3)
    assert score.level == 3
    assert score.explanation.method == "picked"
    assert score.explanation.text.en == "Level 3 picked directly by the assessor."
    assert score.explanation.text.vi == "Mức 3 do người đánh giá chọn trực tiếp."


@pytest.mark.parametrize("level", [-1, 6])
def test_score_capability_picked_rejects_out_of_range(
    tiny_pack: p.CapabilityPack, level: int
) -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.5"):
        score_capability_picked(tiny_pack.capability("info_flow"), level)


def test_score_assessment_scores_every_capability(tiny_pack: p.CapabilityPack) -> None:
    scores = score_assessment(tiny_pack, {"info_flow.l1.1", "info_flow.l1.2"})
    assert {k: s.level for k, s in scores.items()} == {
        "material_flow": 0,
        "info_flow": 1,
        "problem_solving": 0,
        "energy_mgmt": 0,
    }


def test_score_assessment_rejects_unknown_criterion(tiny_pack: p.CapabilityPack) -> None:
    with pytest.raises(ValueError, match="unknown criterion ids: nope"):
        score_assessment(tiny_pack, {"nope", "info_flow.l1.1"})


def test_area_and_principle_means_exclude_unassessed(tiny_pack: p.CapabilityPack) -> None:
    scores = {
        "material_flow": score_capability_picked(tiny_pack.capability("material_flow"), 2),
        "energy_mgmt": score_capability_picked(tiny_pack.capability("energy_mgmt"), 3),
        "info_flow": score_capability_picked(tiny_pack.capability("info_flow"), 0),
    }
    areas = {a.scope_id: a for a in score_areas(tiny_pack, scores)}
    assert areas["material"].mean == 2.5
    assert areas["info"].mean == 0
    assert areas["learning"].mean is None
    assert areas["learning"].unassessed == ("problem_solving",)
    principles = {pr.scope_id: pr for pr in score_principles(tiny_pack, scores)}
    flows = principles["flows"]
    assert flows.mean == pytest.approx(5 / 3)
    assert flows.assessed == (("material_flow", 2), ("info_flow", 0), ("energy_mgmt", 3))
    assert (
        flows.text.en
        == "Mean of 3 assessed items = 1.67 (material_flow=2, info_flow=0, energy_mgmt=3)."
    )
    assert "= 1,67" in flows.text.vi


def test_mean_score_text_counts_unassessed_and_empty_groups() -> None:
    partial = mean_score("area", "a", ["x", "y", "z"], {"x": 1})
    assert (
        partial.text.en == "Mean of 1 assessed items = 1.00 (x=1). 2 not assessed, excluded: y, z."
    )
    assert "2 mục chưa đánh giá bị loại khỏi phép tính: y, z." in partial.text.vi
    empty = mean_score("area", "a", ["x"], {})
    assert (empty.mean, empty.text.en, empty.text.vi) == (
        None,
        "Nothing assessed yet.",
        "Chưa có mục nào được đánh giá.",
    )


def test_score_dimension_returns_band_meaning(tiny_siri: p.SiriPack) -> None:
    score = score_dimension(tiny_siri.dimension("d1"), 3)
    assert (score.band, score.name.en) == (3, "B3 (en)")
    assert score.text.en == "Band 3 (B3 (en)), chosen by the assessor: band 3 (en)"
    assert score.text.vi.startswith("Bậc 3")


@pytest.mark.parametrize("band", [-1, 6])
def test_score_dimension_rejects_out_of_range(tiny_siri: p.SiriPack, band: int) -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.5"):
        score_dimension(tiny_siri.dimension("d1"), band)


def test_siri_group_means_are_marked_unofficial(tiny_siri: p.SiriPack) -> None:
    groups = {(g.scope, g.scope_id): g for g in score_siri_groups(tiny_siri, {"d1": 2, "d2": 4})}
    assert groups[("pillar", "operations")].mean == 3
    assert groups[("block", "technology")].mean is None
    process = groups[("block", "process")]
    assert not process.official
    assert "not an official SIRI score" in process.text.en
    assert "không phải điểm SIRI chính thức" in process.text.vi


@st.composite
def levels_and_met(draw: st.DrawFn) -> tuple[list[list[str]], set[str], set[str]]:
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=5))
    levels = [[f"l{i}.{n}" for n in range(size)] for i, size in enumerate(sizes)]
    every = [c for lv in levels for c in lv]
    met = draw(st.sets(st.sampled_from(every)))
    more = met | draw(st.sets(st.sampled_from(every)))
    return levels, met, more


@given(levels_and_met())
def test_cumulative_level_properties(case: tuple[list[list[str]], set[str], set[str]]) -> None:
    levels, met, more = case
    explanation = cumulative_level(levels, met)
    level = explanation.level
    # bounds
    assert 0 <= level <= len(levels)
    # cumulative: everything up to L is met; something at L + 1 is not
    assert all(c in met for lv in levels[:level] for c in lv)
    if level < len(levels):
        assert explanation.first_unmet_level == level + 1
        assert explanation.missing
        assert not set(explanation.missing) & met
    # monotone: meeting more criteria never lowers the level
    assert cumulative_level(levels, more).level >= level
