"""Fixtures: tiny valid framework packs written as YAML into tmp_path, to break on purpose."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

Files = dict[str, Any]
WritePack = Callable[..., Path]


def _t(word: str) -> dict[str, str]:
    return {"vi": f"{word} (vi)", "en": f"{word} (en)"}


def _capability(cap_id: str, principle: str, area: str, **links: Any) -> dict[str, Any]:
    levels = {
        level: {
            "summary": _t(f"{cap_id} L{level}"),
            "criteria": [{"id": f"{cap_id}.l{level}.{n}", "text": _t(f"c{n}")} for n in (1, 2)],
        }
        for level in range(1, 6)
    }
    return {
        "id": cap_id,
        "principle": principle,
        "area": area,
        "name": _t(cap_id),
        "description": _t(cap_id),
        "levels": levels,
        "kpis": links.pop("kpis", {}),
        **links,
    }


def _levels() -> list[dict[str, Any]]:
    return [{"level": n, "name": _t(f"L{n}"), "description": _t(f"L{n}")} for n in range(6)]


def _source() -> list[dict[str, Any]]:
    return [{"title": "Test source", "publisher": "Tests", "year": 2025}]


def _kpis() -> list[dict[str, Any]]:
    prior = {"change_pct": -48, "basis": _t("GLN cohort"), "source": "WEF 2025"}
    return [
        {"id": "oee", "name": _t("OEE"), "unit": "%", "better": "higher", "prior": None},
        {"id": "lead_time", "name": _t("Lead"), "unit": "d", "better": "lower", "prior": prior},
        {"id": "defect_rate", "name": _t("Defects"), "unit": "%", "better": "lower"},
    ]


@pytest.fixture
def capability_files() -> Files:
    """A valid 3-capability pack as {relative file: YAML data}."""
    weights = {"kpi_relevance": 0.4, "cost_relevance": 0.2, "gap": 0.15, "use_case_impact": 0.25}
    return {
        "pack.yaml": {
            "id": "demo",
            "version": "1.0.0",
            "title": _t("Demo"),
            "description": _t("Demo pack"),
            "method": "capability-levels",
            "levels": _levels(),
            "prioritisation": {
                "note": _t("project defaults"),
                "weights": weights,
                "impact_reference_pct": 50,
                "cost_categories": [{"id": "labour", "name": _t("Labour"), "kpis": ["oee"]}],
            },
            "sources": _source(),
        },
        "kpis.yaml": _kpis(),
        "principles.yaml": [
            {
                "id": "flows",
                "number": 1,
                "name": _t("Flows"),
                "description": _t("Flows"),
                "areas": [
                    {"id": "material", "name": _t("Material")},
                    {"id": "info", "name": _t("Info")},
                ],
            },
            {
                "id": "people",
                "number": 2,
                "name": _t("People"),
                "description": _t("People"),
                "areas": [{"id": "learning", "name": _t("Learning")}],
            },
        ],
        "use_cases.yaml": [
            {
                "id": "e_kanban",
                "name": _t("e-Kanban"),
                "description": _t("e-Kanban"),
                "kpi_impact": {"lead_time": {"low_pct": -30, "high_pct": -10}},
                "source": _t("Test source"),
            }
        ],
        "capabilities/flows.yaml": [
            _capability(
                "material_flow", "flows", "material", kpis={"lead_time": 3}, use_cases=["e_kanban"]
            ),
            _capability(
                "info_flow",
                "flows",
                "info",
                kpis={"oee": 3},
                prerequisites=[{"capability": "material_flow", "level": 2}],
            ),
        ],
        "capabilities/people.yaml": [
            _capability("problem_solving", "people", "learning", kpis={"defect_rate": 3})
        ],
    }


@pytest.fixture
def siri_files() -> Files:
    """A valid 2-dimension SIRI-style pack as {relative file: YAML data}."""
    weights = {"cost_relevance": 0.5, "kpi_relevance": 0.3, "gap": 0.2}

    def dimension(number: int, dim_id: str) -> dict[str, Any]:
        return {
            "id": dim_id,
            "number": number,
            "block": "process",
            "pillar": "operations",
            "name": _t(dim_id),
            "description": _t(dim_id),
            "bands": {b: {"name": _t(f"B{b}"), "description": _t(f"band {b}")} for b in range(6)},
            "kpis": {"oee": 3},
            "cost_relevance": {"labour": 1},
        }

    return {
        "pack.yaml": {
            "id": "mini-siri",
            "version": "1.0.0",
            "title": _t("Mini SIRI"),
            "description": _t("Mini SIRI"),
            "method": "siri-bands",
            "levels": _levels(),
            "prioritisation": {
                "note": _t("project defaults"),
                "cost_categories": [{"id": "labour", "name": _t("Labour")}],
                "horizons": [{"id": "short", "name": _t("Short"), "weights": weights}],
                "industries": [
                    {
                        "id": "electronics",
                        "name": _t("Electronics"),
                        "best_in_class": {"d1": 4, "d2": 3},
                    }
                ],
            },
            "sources": _source(),
        },
        "kpis.yaml": _kpis(),
        "blocks.yaml": [
            {
                "id": "process",
                "number": 1,
                "name": _t("Process"),
                "description": _t("Process"),
                "pillars": [{"id": "operations", "name": _t("Operations")}],
            }
        ],
        "dimensions.yaml": [dimension(1, "d1"), dimension(2, "d2")],
    }


@pytest.fixture
def write_pack(tmp_path: Path) -> WritePack:
    """Write {relative file: data or raw text} to ``tmp_path/<id>/<version>`` and return it."""

    def write(files: Files, folder: Path | None = None) -> Path:
        manifest = files.get("pack.yaml")
        pack_id = manifest.get("id", "demo") if isinstance(manifest, dict) else "demo"
        root = folder or tmp_path / "packs" / str(pack_id) / "1.0.0"
        for rel, data in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            text = (
                data
                if isinstance(data, str)
                else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
            )
            path.write_text(text, encoding="utf-8")
        return root

    return write
