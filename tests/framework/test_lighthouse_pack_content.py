"""Content rules of the built-in Lighthouse OS pack 1.0.0 beyond what the validator checks."""

from __future__ import annotations

import re

import pytest

from lighthouse_os.framework import pack as p
from lighthouse_os.framework.loader import load_builtin_pack

ESTIMATE_EN = "Lighthouse OS project estimate, to be validated by pilots"
ESTIMATE_VI = "Ước tính của dự án Lighthouse OS, cần được kiểm chứng qua thí điểm"
GLN_SOURCE = "WEF Global Lighthouse Network, cohort average, September 2025"
VI_DIACRITIC = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]")

SKELETON: dict[str, dict[str, list[str]]] = {
    "adaptable_processes": {
        "line_operations": ["standard_work", "quick_changeover"],
        "maintenance": ["maintenance_excellence"],
        "quality": ["built_in_quality"],
        "safety_ergonomics": ["safe_ergonomic_work"],
    },
    "connected_flows": {
        "material_flow": ["synchronized_material_flow", "inventory_warehouse_management"],
        "performance_management": ["shopfloor_performance_management"],
        "traceability": ["traceability_genealogy"],
        "data_acquisition": ["machine_connectivity"],
    },
    "e2e_sync": {
        "planning": ["sales_operations_planning", "production_scheduling", "demand_forecasting"],
        "supply_chain": ["supplier_collaboration", "order_to_delivery_logistics"],
        "product_lifecycle": ["design_for_manufacturing"],
    },
    "sustainability": {
        "energy_climate": ["energy_management", "ghg_decarbonisation"],
        "resources": ["water_wastewater", "waste_circularity"],
        "compliance": ["environmental_compliance"],
    },
    "learning_org": {
        "problem_solving": ["smart_problem_solving"],
        "capability_building": ["skills_learning_journeys", "knowledge_management"],
        "continuous_improvement": ["continuous_improvement_system"],
        "leadership_change": ["performance_dialogue", "change_engagement"],
    },
    "digital_data": {
        "data_infrastructure": ["ot_it_integration", "data_governance"],
        "analytics": ["analytics_ai_at_scale", "digital_twin_simulation"],
        "security_tools": ["industrial_cybersecurity", "frontline_digital_tools"],
    },
}

# Use cases whose range carries a figure that DOMAIN.md attributes to the GLN, and that figure.
GLN_FIGURES: dict[str, tuple[str, float]] = {
    "predictive_maintenance": ("unplanned_downtime", -90.0),
    "cv_quality_inspection": ("defect_rate", -68.0),
}


@pytest.fixture(scope="module")
def lhos() -> p.CapabilityPack:
    pack = load_builtin_pack("lighthouse-os", "1.0.0")
    assert isinstance(pack, p.CapabilityPack)
    return pack


def test_lighthouse_pack_principles_and_areas_follow_the_skeleton(lhos: p.CapabilityPack) -> None:
    got = {pr.id: [a.id for a in pr.areas] for pr in lhos.principles}
    assert got == {pid: list(areas) for pid, areas in SKELETON.items()}
    assert [pr.number for pr in lhos.principles] == [1, 2, 3, 4, 5, 6]


def test_lighthouse_pack_capabilities_sit_in_their_skeleton_area(lhos: p.CapabilityPack) -> None:
    expected = {
        (cap, pid, area)
        for pid, areas in SKELETON.items()
        for area, caps in areas.items()
        for cap in caps
    }
    assert {(c.id, c.principle, c.area) for c in lhos.capabilities} == expected


def test_lighthouse_pack_every_level_has_two_to_four_criteria(lhos: p.CapabilityPack) -> None:
    bad = [
        f"{c.id} L{lv.level}"
        for c in lhos.capabilities
        for lv in c.levels
        if not 2 <= len(lv.criteria) <= 4
    ]
    assert bad == []


def test_lighthouse_pack_every_use_case_is_linked_by_a_capability(lhos: p.CapabilityPack) -> None:
    linked = {u for c in lhos.capabilities for u in c.use_cases}
    assert {u.id for u in lhos.use_cases} - linked == set()


def test_lighthouse_pack_capabilities_have_a_kpi_link(lhos: p.CapabilityPack) -> None:
    assert [c.id for c in lhos.capabilities if not any(c.kpis.values())] == []


def _texts(pack: p.CapabilityPack) -> list[tuple[str, p.Text]]:
    out: list[tuple[str, p.Text]] = []
    for c in pack.capabilities:
        out += [(c.id, c.name), (c.id, c.description)]
        for lv in c.levels:
            out.append((f"{c.id} L{lv.level}", lv.summary))
            out += [(cr.id, cr.text) for cr in lv.criteria]
    for u in pack.use_cases:
        out += [(u.id, u.name), (u.id, u.description), (u.id, u.source)]
    return out


def test_lighthouse_pack_vietnamese_texts_have_diacritics_and_differ_from_english(
    lhos: p.CapabilityPack,
) -> None:
    bad = [where for where, t in _texts(lhos) if not VI_DIACRITIC.search(t.vi) or t.vi == t.en]
    assert bad == []


@pytest.mark.parametrize(
    ("kpi_id", "change_pct"),
    [
        ("labour_productivity", 40),
        ("lead_time", -48),
        ("defect_rate", -41),
        ("energy_per_unit", -28),
    ],
)
def test_lighthouse_pack_kpi_prior_is_the_gln_cohort_average(
    lhos: p.CapabilityPack, kpi_id: str, change_pct: float
) -> None:
    prior = lhos.kpi(kpi_id).prior
    assert prior is not None
    assert (prior.change_pct, prior.source) == (change_pct, GLN_SOURCE)


def test_lighthouse_pack_kpis_without_a_gln_figure_have_no_prior(lhos: p.CapabilityPack) -> None:
    with_prior = {k.id for k in lhos.kpis if k.prior is not None}
    assert with_prior == {"labour_productivity", "lead_time", "defect_rate", "energy_per_unit"}


@pytest.mark.parametrize(("use_case", "figure"), list(GLN_FIGURES.items()))
def test_lighthouse_pack_use_case_range_carries_the_gln_site_figure(
    lhos: p.CapabilityPack, use_case: str, figure: tuple[str, float]
) -> None:
    kpi_id, pct = figure
    uc = next(u for u in lhos.use_cases if u.id == use_case)
    assert uc.kpi_impact[kpi_id].low_pct == pct
    assert "Global Lighthouse Network" in uc.source.en


def test_lighthouse_pack_other_ranges_are_labelled_project_estimates(
    lhos: p.CapabilityPack,
) -> None:
    bad = [
        u.id
        for u in lhos.use_cases
        if ESTIMATE_EN not in u.source.en or ESTIMATE_VI not in u.source.vi
    ]
    assert bad == []


def test_lighthouse_pack_prioritisation_says_it_is_not_official(lhos: p.CapabilityPack) -> None:
    assert "not official" in lhos.prioritisation.note.en
    assert "không phải số liệu chính thức" in lhos.prioritisation.note.vi


def test_lighthouse_pack_maintenance_needs_connectivity_for_prediction(
    lhos: p.CapabilityPack,
) -> None:
    pre = lhos.capability("maintenance_excellence").prerequisites
    assert p.Prerequisite("machine_connectivity", 2, 4) in pre
