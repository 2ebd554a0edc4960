"""Roadmap core: cumulative steps, prerequisites, quarterly capacity, CSV/JSON export."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.assessment.prioritisation import (
    CapabilityGap,
    Goal,
    Ranked,
    SiriGoal,
    rank_capability_gaps,
    rank_dimensions,
)
from lighthouse_os.assessment.roadmap import (
    Roadmap,
    RoadmapStep,
    build_roadmap,
    roadmap_rows,
    roadmap_to_dict,
)
from lighthouse_os.framework import pack as p


def _ranked(pack: p.CapabilityPack, *gaps: tuple[str, int, int]) -> tuple[Ranked, ...]:
    return tuple(
        Ranked(i, cap, pack.capability(cap).name, 1.0 / i, (), CapabilityGap(cap, lo, hi))
        for i, (cap, lo, hi) in enumerate(gaps, start=1)
    )


def _plan(roadmap: Roadmap) -> list[tuple[int, str, int]]:
    return [(s.quarter, s.capability_id, s.to_level) for s in roadmap.steps]


def test_build_roadmap_sequences_levels_across_quarters(tiny_pack: p.CapabilityPack) -> None:
    ranked = _ranked(tiny_pack, ("material_flow", 1, 3), ("problem_solving", 0, 1))
    roadmap = build_roadmap(tiny_pack, ranked, {}, capacity=2)
    assert _plan(roadmap) == [
        (1, "material_flow", 2),
        (1, "problem_solving", 1),
        (2, "material_flow", 3),
    ]


def test_build_roadmap_respects_capacity(tiny_pack: p.CapabilityPack) -> None:
    ranked = _ranked(tiny_pack, ("problem_solving", 0, 1), ("material_flow", 1, 2))
    roadmap = build_roadmap(tiny_pack, ranked, {}, capacity=1)
    assert _plan(roadmap) == [(1, "problem_solving", 1), (2, "material_flow", 2)]
    assert roadmap.quarter_count == 2


def test_build_roadmap_adds_enabling_prerequisite_steps(tiny_pack: p.CapabilityPack) -> None:
    # info_flow needs material_flow at level 2 for every step.
    ranked = _ranked(tiny_pack, ("info_flow", 0, 1))
    roadmap = build_roadmap(tiny_pack, ranked, {"material_flow": 0}, capacity=3)
    assert _plan(roadmap) == [(1, "material_flow", 1), (2, "material_flow", 2), (3, "info_flow", 1)]
    assert roadmap.steps[0].required_by == ("info_flow",)
    assert roadmap.steps[0].rank == 1
    assert roadmap.steps[2].required_by == ()


def test_build_roadmap_applies_for_level_prerequisite_only_from_that_level(
    tiny_pack: p.CapabilityPack,
) -> None:
    # energy_mgmt needs info_flow L1 only to reach level 3 and above.
    ranked = _ranked(tiny_pack, ("energy_mgmt", 0, 3))
    roadmap = build_roadmap(tiny_pack, ranked, {"material_flow": 2}, capacity=5)
    assert _plan(roadmap) == [
        (1, "energy_mgmt", 1),
        (1, "info_flow", 1),
        (2, "energy_mgmt", 2),
        (3, "energy_mgmt", 3),
    ]
    assert roadmap.steps[1].required_by == ("energy_mgmt",)


def test_build_roadmap_skips_prerequisites_already_met(tiny_pack: p.CapabilityPack) -> None:
    ranked = _ranked(tiny_pack, ("info_flow", 1, 2))
    roadmap = build_roadmap(tiny_pack, ranked, {"material_flow": 3}, capacity=2)
    assert _plan(roadmap) == [(1, "info_flow", 2)]


def test_roadmap_step_carries_criteria_and_use_cases(tiny_pack: p.CapabilityPack) -> None:
    roadmap = build_roadmap(tiny_pack, _ranked(tiny_pack, ("material_flow", 2, 3)), {}, 1)
    step = roadmap.steps[0]
    assert (step.from_level, step.to_level) == (2, 3)
    assert [c.id for c in step.criteria] == [f"material_flow.l3.{n}" for n in (1, 2, 3)]
    assert step.use_cases[0].id == "e_kanban"
    assert step.use_cases[0].kpi_impact == (("lead_time", -30, -10),)


@pytest.mark.parametrize(
    ("start", "labels"),
    [
        (None, ["Q1", "Q2"]),
        ((2026, 4), ["2026-Q4", "2027-Q1"]),
        ((2026, 1), ["2026-Q1", "2026-Q2"]),
    ],
)
def test_roadmap_quarter_labels(
    tiny_pack: p.CapabilityPack, start: tuple[int, int] | None, labels: list[str]
) -> None:
    roadmap = build_roadmap(
        tiny_pack, _ranked(tiny_pack, ("material_flow", 1, 3)), {}, 1, start=start
    )
    assert [roadmap.quarter_label(q) for q in (1, 2)] == labels


def test_roadmap_rows_for_csv(tiny_pack: p.CapabilityPack) -> None:
    ranked = _ranked(tiny_pack, ("info_flow", 1, 2), ("material_flow", 0, 1))
    roadmap = build_roadmap(tiny_pack, ranked, {"material_flow": 0}, 2, start=(2026, 1))
    rows = roadmap_rows(roadmap, "en")
    assert rows[0] == {
        "quarter": "2026-Q1",
        "order": 1,
        "capability_id": "material_flow",
        "capability": "material_flow (en)",
        "from_level": 0,
        "to_level": 1,
        "rank": 1,
        "required_by": "info_flow",
        "criteria": "material_flow.l1.1; material_flow.l1.2",
        "use_cases": "e-Kanban (en)",
        "expected_impact": "e_kanban: lead_time -30%…-10%",
        "sources": "Kanban study (en)",
    }
    assert roadmap_rows(roadmap, "vi")[0]["capability"] == "material_flow (vi)"


def test_roadmap_to_dict_for_json(tiny_pack: p.CapabilityPack) -> None:
    roadmap = build_roadmap(tiny_pack, _ranked(tiny_pack, ("material_flow", 2, 4)), {}, 1)
    data = roadmap_to_dict(roadmap)
    assert data["capacity"] == 1
    quarters = data["quarters"]
    assert isinstance(quarters, list)
    assert [q["label"] for q in quarters] == ["Q1", "Q2"]
    step = quarters[1]["steps"][0]
    assert (step["from_level"], step["to_level"]) == (3, 4)
    assert step["use_cases"][0]["kpi_impact"] == {"lead_time": {"low_pct": -30, "high_pct": -10}}
    assert step["criteria"][0]["text"] == {"vi": "c1 (vi)", "en": "c1 (en)"}


@pytest.mark.parametrize(
    ("capacity", "start", "message"),
    [(0, None, "capacity must be at least 1"), (1, (2026, 5), "start quarter must be 1..4")],
)
def test_build_roadmap_rejects_bad_parameters(
    tiny_pack: p.CapabilityPack, capacity: int, start: tuple[int, int] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_roadmap(
            tiny_pack, _ranked(tiny_pack, ("material_flow", 1, 2)), {}, capacity, start=start
        )


def test_build_roadmap_rejects_siri_ranking(
    tiny_pack: p.CapabilityPack, tiny_siri: p.SiriPack
) -> None:
    ranked = rank_dimensions(tiny_siri, {"d1": 1}, SiriGoal("short"))
    with pytest.raises(ValueError, match="d1 is not a capability gap"):
        build_roadmap(tiny_pack, ranked, {}, 1)


def test_build_roadmap_rejects_prerequisite_cycle(tiny_pack: p.CapabilityPack) -> None:
    caps = tuple(
        dataclasses.replace(c, prerequisites=(p.Prerequisite("info_flow", 1),))
        if c.id == "material_flow"
        else c
        for c in tiny_pack.capabilities
    )
    cyclic = dataclasses.replace(tiny_pack, capabilities=caps)
    with pytest.raises(ValueError, match="prerequisites form a cycle"):
        build_roadmap(cyclic, _ranked(cyclic, ("info_flow", 0, 1)), {}, 2)


def test_build_roadmap_from_real_ranking(tiny_pack: p.CapabilityPack) -> None:
    gaps = [CapabilityGap("info_flow", 0, 2), CapabilityGap("problem_solving", 1, 2)]
    ranked = rank_capability_gaps(tiny_pack, Goal({"oee": 1.0}), gaps)
    roadmap = build_roadmap(tiny_pack, ranked, {"material_flow": 1}, capacity=1)
    assert ranked[0].item_id == "info_flow"
    assert _plan(roadmap) == [
        (1, "material_flow", 2),
        (2, "info_flow", 1),
        (3, "info_flow", 2),
        (4, "problem_solving", 2),
    ]


CAPS = ["material_flow", "info_flow", "problem_solving", "energy_mgmt"]


@given(
    current=st.fixed_dictionaries({c: st.integers(0, 4) for c in CAPS}),
    raise_by=st.fixed_dictionaries({c: st.integers(0, 3) for c in CAPS}),
    capacity=st.integers(1, 4),
)
def test_build_roadmap_properties(
    tiny_pack: p.CapabilityPack, current: dict[str, int], raise_by: dict[str, int], capacity: int
) -> None:
    gaps = [(c, current[c], min(5, current[c] + raise_by[c])) for c in CAPS if raise_by[c]]
    gaps = [g for g in gaps if g[2] > g[1]]
    roadmap = build_roadmap(tiny_pack, _ranked(tiny_pack, *gaps), current, capacity)
    when: dict[tuple[str, int], int] = {
        (s.capability_id, s.to_level): s.quarter for s in roadmap.steps
    }
    reached = dict(current)
    for step in roadmap.steps:
        reached[step.capability_id] = max(reached[step.capability_id], step.to_level)
    # every target is reached, with no step twice
    assert len(when) == len(roadmap.steps)
    assert all(reached[c] >= hi for c, _, hi in gaps)
    # quarters hold at most ``capacity`` steps and none is empty
    counts = [
        sum(1 for s in roadmap.steps if s.quarter == q) for q in range(1, roadmap.quarter_count + 1)
    ]
    assert all(0 < n <= capacity for n in counts)
    for step in roadmap.steps:
        _assert_needs_come_first(tiny_pack, step, current, when)


def _assert_needs_come_first(
    pack: p.CapabilityPack,
    step: RoadmapStep,
    current: dict[str, int],
    when: dict[tuple[str, int], int],
) -> None:
    # L + 1 strictly before L + 2
    if step.from_level > current[step.capability_id]:
        assert when[(step.capability_id, step.from_level)] < step.quarter
    for pre in pack.capability(step.capability_id).prerequisites:
        if pre.for_level <= step.to_level and current[pre.capability] < pre.level:
            assert when[(pre.capability, pre.level)] < step.quarter
