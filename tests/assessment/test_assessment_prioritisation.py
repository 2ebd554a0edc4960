"""Prioritisation core: capability-gap ranking and SIRI-style dimension ranking."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.assessment.prioritisation import (
    CapabilityGap,
    Goal,
    SiriGoal,
    active_weights,
    best_in_class_bands,
    capability_gaps,
    cost_kpi_weights,
    normalise,
    rank_capability_gaps,
    rank_dimensions,
)
from lighthouse_os.framework import pack as p

ONE_UP = [
    CapabilityGap("material_flow", 1, 2),
    CapabilityGap("info_flow", 1, 2),
    CapabilityGap("problem_solving", 1, 2),
]


def test_capability_gaps_next_level_or_target(tiny_pack: p.CapabilityPack) -> None:
    current = {"material_flow": 1, "info_flow": 4, "problem_solving": 5, "energy_mgmt": 2}
    gaps = capability_gaps(tiny_pack, current, {"material_flow": 3, "energy_mgmt": 1})
    assert gaps == (CapabilityGap("material_flow", 1, 3), CapabilityGap("info_flow", 4, 5))


def test_capability_gaps_caps_target_at_top_level(tiny_pack: p.CapabilityPack) -> None:
    gaps = capability_gaps(tiny_pack, {"info_flow": 4}, {"info_flow": 9})
    assert gaps == (CapabilityGap("info_flow", 4, 5),)


def test_capability_gaps_rejects_unknown_capability(tiny_pack: p.CapabilityPack) -> None:
    with pytest.raises(ValueError, match="unknown capabilities: ghost"):
        capability_gaps(tiny_pack, {"ghost": 1})


def test_rank_capability_gaps_worked_example(tiny_pack: p.CapabilityPack) -> None:
    # Goal: lead time only, no cost profile, so weights become 0.5 / 0.1875 / 0.3125.
    ranked = rank_capability_gaps(tiny_pack, Goal({"lead_time": 1.0}), ONE_UP)
    assert [r.item_id for r in ranked] == ["material_flow", "info_flow", "problem_solving"]
    assert [r.rank for r in ranked] == [1, 2, 3]
    # material_flow: R = 3/3, G = 1/5, U = min(1, 20/50) from e-Kanban (-30..-10 %).
    assert ranked[0].score == pytest.approx(0.5 * 1 + 0.1875 * 0.2 + 0.3125 * 0.4)
    # info_flow: R = 1/3; no use case on lead time, so the GLN prior 48 % * 1/3 = 16 %.
    assert ranked[1].score == pytest.approx(0.5 / 3 + 0.1875 * 0.2 + 0.3125 * 16 / 50)
    assert ranked[2].score == pytest.approx(0.1875 * 0.2)
    factors = {r.factor: r for r in ranked[1].reasons}
    assert set(factors) == {"kpi_relevance", "gap", "use_case_impact"}
    prior = factors["use_case_impact"].evidence[0]
    assert (prior.kind, prior.expected_pct, prior.source.en) == (
        "kpi_prior",
        16,
        "GLN (en); WEF 2025",
    )


def test_rank_capability_gaps_with_cost_profile(tiny_pack: p.CapabilityPack) -> None:
    goal = Goal({"lead_time": 1.0}, {"labour": 50, "quality": 50})
    ranked = {r.item_id: r for r in rank_capability_gaps(tiny_pack, goal, ONE_UP)}
    # cost KPI weights: oee 0.5, defect_rate 0.5
    assert ranked["material_flow"].score == pytest.approx(0.4 + 0.2 * (0.5 / 3) + 0.03 + 0.1)
    assert ranked["problem_solving"].score == pytest.approx(0.2 * (0.5 / 3 + 0.5) + 0.03)


def test_rank_capability_gaps_explains_itself_in_both_languages(
    tiny_pack: p.CapabilityPack,
) -> None:
    first = rank_capability_gaps(tiny_pack, Goal({"lead_time": 1.0}), ONE_UP)[0]
    en, vi = first.explanation.en, first.explanation.vi
    assert en.startswith("Ranked #1 (score 0.66) because: relevant to goal KPIs Lead time (en)")
    assert (
        "use case “e-Kanban (en)” reports Lead time (en) −30% … −10% (source: Kanban study (en))"
        in en
    )
    assert "a gap of 1 level(s) (1 → 2)" in en
    assert vi.startswith(
        "Xếp hạng #1 (điểm 0,66) vì: liên quan đến KPI mục tiêu Lead time (vi) (mạnh"
    )
    assert "tình huống “e-Kanban (vi)”" in vi


def test_rank_capability_gaps_explains_cost_and_prior_reasons(tiny_pack: p.CapabilityPack) -> None:
    goal = Goal({"defect_rate": 1.0}, {"quality": 1})
    ranked = rank_capability_gaps(tiny_pack, goal, [CapabilityGap("info_flow", 0, 1)])
    assert "no factor stands out" not in ranked[0].explanation.en
    solving = rank_capability_gaps(tiny_pack, goal, [CapabilityGap("problem_solving", 0, 2)])[0]
    assert "acts on the cost profile via Defects (en) (strongly, 100%)" in solving.explanation.en
    assert "tác động đến cơ cấu chi phí qua" in solving.explanation.vi
    lead = Goal({"lead_time": 1.0})
    info = rank_capability_gaps(tiny_pack, lead, [CapabilityGap("info_flow", 0, 1)])[0]
    assert (
        "prior for Lead time (en) −48% … −48% (source: GLN (en); WEF 2025)" in info.explanation.en
    )
    assert "giá trị tham chiếu Lead time (vi)" in info.explanation.vi


def test_rank_capability_gaps_uses_best_use_case_and_caps_impact(
    tiny_pack: p.CapabilityPack,
) -> None:
    goal = Goal({"defect_rate": 1.0})
    ranked = rank_capability_gaps(tiny_pack, goal, [CapabilityGap("problem_solving", 0, 1)])
    impact = {r.factor: r for r in ranked[0].reasons}["use_case_impact"]
    assert impact.value == 1.0  # 54 % expected > 50 % reference
    assert impact.evidence[0].ref_id == "vision_qc"


def test_rank_capability_gaps_breaks_ties_by_lower_current_level(
    tiny_pack: p.CapabilityPack,
) -> None:
    gaps = [CapabilityGap("problem_solving", 3, 4), CapabilityGap("energy_mgmt", 1, 2)]
    ranked = rank_capability_gaps(tiny_pack, Goal({"lead_time": 1.0}), gaps)
    assert [r.item_id for r in ranked] == ["energy_mgmt", "problem_solving"]


@pytest.mark.parametrize(
    ("goal", "gaps", "message"),
    [
        (Goal({"lead_time": -1}), ONE_UP, "goal KPI weights must not be negative: lead_time"),
        (Goal({"lead_time": 0}), ONE_UP, "goal KPI weights must have a positive total"),
        (Goal({"scrap": 1}), ONE_UP, "unknown KPIs: scrap"),
        (Goal({"oee": 1}, {"tax": 1}), ONE_UP, "unknown cost categories: tax"),
        (Goal({"oee": 1}, {"rent": 1}), ONE_UP, "the cost profile touches no KPI of the pack"),
        (Goal({"oee": 1}), [CapabilityGap("info_flow", 2, 2)], "is not a step up"),
        (Goal({"oee": 1}), [CapabilityGap("info_flow", 4, 6)], "is not a step up"),
    ],
)
def test_rank_capability_gaps_rejects_bad_input(
    tiny_pack: p.CapabilityPack, goal: Goal, gaps: list[CapabilityGap], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        rank_capability_gaps(tiny_pack, goal, gaps)


def test_rank_capability_gaps_without_goal_kpis_ranks_by_gap(tiny_pack: p.CapabilityPack) -> None:
    gaps = [CapabilityGap("info_flow", 1, 2), CapabilityGap("material_flow", 0, 3)]
    ranked = rank_capability_gaps(tiny_pack, Goal({}), gaps)
    assert [(r.item_id, r.score) for r in ranked] == [
        ("material_flow", pytest.approx(0.6)),
        ("info_flow", pytest.approx(0.2)),
    ]


def test_active_weights_rejects_when_no_factor_left() -> None:
    weights = {"kpi_relevance": 0.5, "cost_relevance": 0.5, "gap": 0.0, "use_case_impact": 0.0}
    with pytest.raises(ValueError, match="no prioritisation factor"):
        active_weights(weights, has_kpis=False, has_costs=False)  # type: ignore[arg-type]


def test_normalise_and_cost_weights(tiny_pack: p.CapabilityPack) -> None:
    assert normalise({"a": 1, "b": 3, "c": 0}, "w") == {"a": 0.25, "b": 0.75}
    categories = tiny_pack.prioritisation.cost_categories
    weights = cost_kpi_weights(categories, {"labour": 30, "energy": 10, "rent": 60})
    assert weights == pytest.approx({"oee": 0.75, "energy_per_unit": 0.25})


def test_no_use_case_and_no_prior_gives_no_evidence(tiny_pack: p.CapabilityPack) -> None:
    ranked = rank_capability_gaps(
        tiny_pack, Goal({"energy_per_unit": 1.0}), [CapabilityGap("energy_mgmt", 0, 1)]
    )
    impact = {r.factor: r for r in ranked[0].reasons}["use_case_impact"]
    assert (impact.value, impact.evidence) == (0.0, ())


def test_unfavourable_prior_or_use_case_gives_no_evidence(tiny_pack: p.CapabilityPack) -> None:
    kpis = tuple(
        dataclasses.replace(k, prior=p.KpiPrior(5, k.name, "x")) if k.id == "lead_time" else k
        for k in tiny_pack.kpis
    )
    odd = dataclasses.replace(tiny_pack, kpis=kpis)
    ranked = rank_capability_gaps(odd, Goal({"lead_time": 1.0}), [CapabilityGap("info_flow", 0, 1)])
    assert {r.factor: r for r in ranked[0].reasons}["use_case_impact"].evidence == ()
    goal = Goal({"oee": 1.0})
    # vision_qc improves OEE (+2..+6 %), favourable for a higher-is-better KPI.
    solving = rank_capability_gaps(tiny_pack, goal, [CapabilityGap("problem_solving", 0, 1)])[0]
    assert {r.factor: r for r in solving.reasons}["use_case_impact"].evidence[0].expected_pct == 4


GAP_STRATEGY = st.lists(
    st.tuples(
        st.sampled_from(["material_flow", "info_flow", "problem_solving", "energy_mgmt"]),
        st.integers(0, 4),
        st.integers(1, 5),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda g: g[0],
).map(lambda gs: [CapabilityGap(c, lo, max(lo + 1, hi)) for c, lo, hi in gs])
WEIGHTS = st.dictionaries(
    st.sampled_from(["oee", "lead_time", "defect_rate", "energy_per_unit"]),
    st.floats(0.01, 10),
    min_size=1,
)


@given(
    gaps=GAP_STRATEGY, weights=WEIGHTS, costs=st.none() | st.just({"labour": 1.0, "quality": 2.0})
)
def test_rank_capability_gaps_properties(
    tiny_pack: p.CapabilityPack,
    gaps: list[CapabilityGap],
    weights: dict[str, float],
    costs: dict[str, float] | None,
) -> None:
    goal = Goal(weights, costs)
    ranked = rank_capability_gaps(tiny_pack, goal, gaps)
    assert [r.rank for r in ranked] == list(range(1, len(gaps) + 1))
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
    for item in ranked:
        assert 0.0 <= item.score <= 1.0 + 1e-9
        assert all(0.0 <= r.value <= 1.0 + 1e-9 for r in item.reasons)
        assert sum(r.weight for r in item.reasons) == pytest.approx(1.0)
        # a larger gap never lowers the score
        gap = item.gap
        assert gap is not None
        if gap.target < 5:
            bigger = dataclasses.replace(gap, target=gap.target + 1)
            assert rank_capability_gaps(tiny_pack, goal, [bigger])[0].score >= item.score - 1e-12


BANDS = {"d1": 1, "d2": 2, "d3": 5}
SHORT = SiriGoal("short", {"oee": 1}, {"labour": 0.5, "energy": 0.5}, "electronics")


def test_rank_dimensions_worked_example(tiny_siri: p.SiriPack) -> None:
    ranked = rank_dimensions(tiny_siri, BANDS, SHORT)
    assert [r.item_id for r in ranked] == ["d1", "d2", "d3"]
    assert ranked[0].score == pytest.approx(0.5 * (0.5 / 3) + 0.3 * 1 + 0.2 * 3 / 5)
    assert ranked[1].score == pytest.approx(0.5 * 0.5 + 0.2 * 1 / 5)
    assert ranked[2].score == 0
    long = rank_dimensions(tiny_siri, BANDS, dataclasses.replace(SHORT, horizon="long"))
    assert long[0].score == pytest.approx(0.2 * (0.5 / 3) + 0.3 + 0.5 * 0.6)


def test_rank_dimensions_explains_band_gap(tiny_siri: p.SiriPack) -> None:
    first = rank_dimensions(tiny_siri, BANDS, SHORT)[0]
    assert "3 band(s) below best in class (1 → 4)" in first.explanation.en
    assert "thấp hơn mức tốt nhất trong ngành 3 bậc (1 → 4)" in first.explanation.vi
    assert "acts on the cost profile via Labour (en) (partly, 50%)" in first.explanation.en
    last = rank_dimensions(tiny_siri, BANDS, SHORT)[2]
    assert last.explanation.en == "Ranked #3 (score 0.00) because: no factor stands out."
    assert last.explanation.vi == "Xếp hạng #3 (điểm 0,00) vì: không có yếu tố nào nổi bật."


def test_best_in_class_override_then_industry_then_top_band(tiny_siri: p.SiriPack) -> None:
    goal = SiriGoal("short", industry="electronics", best_in_class={"d2": 5})
    assert best_in_class_bands(tiny_siri, goal) == {"d1": 4, "d2": 5, "d3": 5}
    assert best_in_class_bands(tiny_siri, SiriGoal("short")) == {"d1": 5, "d2": 5, "d3": 5}


def test_rank_dimensions_leaves_out_unassessed_and_drops_missing_inputs(
    tiny_siri: p.SiriPack,
) -> None:
    ranked = rank_dimensions(tiny_siri, {"d2": 0}, SiriGoal("short"))
    assert [(r.item_id, r.score) for r in ranked] == [("d2", pytest.approx(1.0))]
    assert [r.factor for r in ranked[0].reasons] == ["gap"]


@pytest.mark.parametrize(
    ("bands", "goal", "message"),
    [
        (BANDS, SiriGoal("decade"), "unknown horizons: decade"),
        ({"d9": 1}, SHORT, "unknown dimensions: d9"),
        ({"d1": 6}, SHORT, "band 6 of d1 is outside"),
        (BANDS, SiriGoal("short", industry="toys"), "unknown industries: toys"),
        (BANDS, SiriGoal("short", best_in_class={"d7": 3}), "unknown dimensions: d7"),
        (BANDS, SiriGoal("short", {"x": 1}), "unknown KPIs: x"),
        (BANDS, SiriGoal("short", cost_profile={"tax": 1}), "unknown cost categories: tax"),
    ],
)
def test_rank_dimensions_rejects_bad_input(
    tiny_siri: p.SiriPack, bands: dict[str, int], goal: SiriGoal, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        rank_dimensions(tiny_siri, bands, goal)


@given(
    bands=st.fixed_dictionaries({d: st.integers(0, 5) for d in ("d1", "d2", "d3")}),
    horizon=st.sampled_from(["short", "long"]),
    dim=st.sampled_from(["d1", "d2", "d3"]),
)
def test_rank_dimensions_properties(
    tiny_siri: p.SiriPack, bands: dict[str, int], horizon: str, dim: str
) -> None:
    goal = dataclasses.replace(SHORT, horizon=horizon)
    ranked = rank_dimensions(tiny_siri, bands, goal)
    scores = {r.item_id: r.score for r in ranked}
    assert all(0.0 <= s <= 1.0 + 1e-9 for s in scores.values())
    assert [r.score for r in ranked] == sorted(scores.values(), reverse=True)
    # a lower assessed band (further from best in class) never lowers the score
    if bands[dim] > 0:
        lower = {**bands, dim: bands[dim] - 1}
        again = {r.item_id: r.score for r in rank_dimensions(tiny_siri, lower, goal)}
        assert again[dim] >= scores[dim] - 1e-12
