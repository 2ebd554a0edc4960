"""Tiny framework packs built directly as dataclasses, so core tests need no YAML or real pack."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from lighthouse_os.framework import pack as p


def t(word: str) -> p.Text:
    """A bilingual test text."""
    return p.Text(vi=f"{word} (vi)", en=f"{word} (en)")


def capability(
    cap_id: str,
    area: str,
    kpis: dict[str, int],
    use_cases: tuple[str, ...] = (),
    prerequisites: tuple[p.Prerequisite, ...] = (),
    principle: str = "flows",
    sizes: tuple[int, ...] = (2, 2, 3, 2, 2),
) -> p.Capability:
    """A capability with ``sizes[i]`` criteria at level i + 1."""
    levels = tuple(
        p.CapabilityLevel(
            level,
            t(f"{cap_id} L{level}"),
            tuple(p.Criterion(f"{cap_id}.l{level}.{n}", t(f"c{n}")) for n in range(1, size + 1)),
        )
        for level, size in enumerate(sizes, start=1)
    )
    return p.Capability(
        cap_id,
        principle,
        area,
        t(cap_id),
        t(cap_id),
        levels,
        MappingProxyType(kpis),
        use_cases,
        prerequisites,
    )


def kpis() -> tuple[p.Kpi, ...]:
    """KPIs with GLN-style priors on lead time and defects."""
    return (
        p.Kpi("oee", t("OEE"), "%", "higher"),
        p.Kpi("lead_time", t("Lead time"), "d", "lower", p.KpiPrior(-48, t("GLN"), "WEF 2025")),
        p.Kpi("defect_rate", t("Defects"), "%", "lower", p.KpiPrior(-41, t("GLN"), "WEF 2025")),
        p.Kpi("energy_per_unit", t("Energy"), "kWh/unit", "lower"),
    )


def levels() -> tuple[p.LevelDef, ...]:
    """Pack levels 0..5."""
    return tuple(p.LevelDef(n, t(f"L{n}"), t(f"L{n}")) for n in range(6))


@pytest.fixture(scope="session")
def tiny_pack() -> p.CapabilityPack:
    """4 capabilities in 2 principles, 2 use cases, prerequisites with and without for_level."""
    caps = (
        capability("material_flow", "material", {"lead_time": 3, "oee": 1}, ("e_kanban",)),
        capability(
            "info_flow",
            "info",
            {"oee": 3, "lead_time": 1},
            prerequisites=(p.Prerequisite("material_flow", 2),),
        ),
        capability(
            "problem_solving",
            "learning",
            {"defect_rate": 3, "oee": 1},
            ("vision_qc",),
            principle="people",
        ),
        capability(
            "energy_mgmt",
            "material",
            {"energy_per_unit": 3},
            prerequisites=(p.Prerequisite("info_flow", 1, for_level=3),),
        ),
    )
    use_cases = (
        p.UseCase(
            "e_kanban",
            t("e-Kanban"),
            t("e-Kanban"),
            MappingProxyType({"lead_time": p.ImpactRange(-30, -10)}),
            t("Kanban study"),
        ),
        p.UseCase(
            "vision_qc",
            t("Vision QC"),
            t("Vision QC"),
            MappingProxyType({"defect_rate": p.ImpactRange(-68, -40), "oee": p.ImpactRange(2, 6)}),
            t("Kiln case"),
        ),
    )
    principles = (
        p.Principle(
            "flows", 1, t("Flows"), t("Flows"), (p.Area("material", t("M")), p.Area("info", t("I")))
        ),
        p.Principle("people", 2, t("People"), t("People"), (p.Area("learning", t("L")),)),
    )
    prioritisation = p.CapabilityPrioritisation(
        note=t("project defaults"),
        weights=p.CapabilityWeights(0.4, 0.2, 0.15, 0.25),
        impact_reference_pct=50,
        cost_categories=(
            p.CostCategory("labour", t("Labour"), ("oee",)),
            p.CostCategory("energy", t("Energy"), ("energy_per_unit",)),
            p.CostCategory("quality", t("Quality"), ("defect_rate",)),
            p.CostCategory("rent", t("Rent"), ()),
        ),
    )
    return p.CapabilityPack(
        "tiny", "1.0.0", t("Tiny"), t("Tiny"), levels(), (), kpis(),
        principles, caps, use_cases, prioritisation,
    )  # fmt: skip


def dimension(number: int, kpi_rel: dict[str, int], cost_rel: dict[str, int]) -> p.Dimension:
    """Dimension ``d<number>`` with bands 0..5."""
    bands = tuple(p.Band(b, t(f"B{b}"), t(f"band {b}")) for b in range(6))
    pillar = "operations" if number < 3 else "automation"
    block = "process" if number < 3 else "technology"
    return p.Dimension(
        f"d{number}", number, block, pillar, t(f"d{number}"), t(f"d{number}"), bands,
        MappingProxyType(kpi_rel), MappingProxyType(cost_rel),
    )  # fmt: skip


@pytest.fixture(scope="session")
def tiny_siri() -> p.SiriPack:
    """3 dimensions, 2 horizons, one industry with best-in-class bands."""
    dims = (
        dimension(1, {"oee": 3}, {"labour": 1}),
        dimension(2, {"lead_time": 3}, {"energy": 3}),
        dimension(3, {}, {}),
    )
    blocks = (
        p.Principle("process", 1, t("Process"), t("Process"), (p.Area("operations", t("O")),)),
        p.Principle("technology", 2, t("Tech"), t("Tech"), (p.Area("automation", t("A")),)),
    )
    prioritisation = p.SiriPrioritisation(
        note=t("project defaults"),
        cost_categories=(
            p.CostCategory("labour", t("Labour")),
            p.CostCategory("energy", t("Energy")),
        ),
        horizons=(
            p.Horizon("short", t("Short"), p.SiriWeights(0.5, 0.3, 0.2)),
            p.Horizon("long", t("Long"), p.SiriWeights(0.2, 0.3, 0.5)),
        ),
        industries=(
            p.Industry(
                "electronics", t("Electronics"), MappingProxyType({"d1": 4, "d2": 3, "d3": 5})
            ),
        ),
    )
    return p.SiriPack(
        "tiny-siri", "1.0.0", t("Tiny SIRI"), t("Tiny SIRI"), levels(), (), kpis(),
        blocks, dims, prioritisation,
    )  # fmt: skip
