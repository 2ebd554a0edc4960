"""Helpers for the assessment tests: sessions, callers, assessments in a given state, tiny packs."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.assessment import evidence, service
from lighthouse_os.assessment.answers import AnswerInput, item_ids
from lighthouse_os.assessment.models import EvidenceFile
from lighthouse_os.auth.models import User
from lighthouse_os.auth.policy import Grant, Principal, Role
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.settings import Settings
from tests.support import World

ROOT = Principal(grants=(Grant(0, Role.PLATFORM_ADMIN),), label="tests")
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@contextmanager
def sessions(settings: Settings) -> Iterator[Session]:
    """One session on the test database (services commit their own work)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def draft(settings: Settings, site: str, pack: str = "lighthouse-os") -> int:
    """The site's open draft (started if needed), holding at least one rated answer."""
    with sessions(settings) as session:
        row = service.start_assessment(session, ROOT, site, pack)
        if not any(a.level is not None for a in service.answers_of(session, row.id).values()):
            service.save_answer(
                session, ROOT, site, row.id, "standard_work", AnswerInput(picked_level=2)
            )
        return row.id


def submitted(settings: Settings, site: str) -> int:
    """A freshly submitted assessment of the site."""
    assessment_id = draft(settings, site)
    with sessions(settings) as session:
        service.submit_assessment(session, ROOT, site, assessment_id)
    return assessment_id


def evidence_file(settings: Settings, site: str) -> int:
    """A PNG evidence file on the site's draft, on the first capability with room for one."""
    assessment_id = draft(settings, site)
    with sessions(settings) as session:
        counts = Counter(
            session.scalars(
                select(EvidenceFile.item_id).where(EvidenceFile.assessment_id == assessment_id)
            )
        )
        pack = service.open_assessment(session, ROOT, site, assessment_id).pack
        item = next(i for i in item_ids(pack) if counts[i] < evidence.MAX_FILES_PER_ITEM)
        row = evidence.add_file(
            session, settings, ROOT, site, assessment_id, item,
            filename="board.png", stream=io.BytesIO(PNG),
        )  # fmt: skip
        return row.id


def _assessment_for(settings: Settings, site: str, path: str) -> int:
    return submitted(settings, site) if path.endswith("/review") else draft(settings, site)


# Values for the access matrix's extra path parameters: name -> (settings, site code, path).
PATH_VALUES: dict[str, Any] = {
    "assessment_id": _assessment_for,
    "file_id": lambda settings, site, _path: evidence_file(settings, site),
    "item_id": lambda _settings, _site, _path: "standard_work",
    "group_id": lambda _settings, _site, _path: "first",
    "pack_id": lambda _settings, _site, _path: "lighthouse-os",
}


# -- tiny packs written as YAML, for carry-over and publishing ------------------------------------


def _t(word: str) -> dict[str, str]:
    return {"vi": f"{word} (vi)", "en": f"{word} (en)"}


def _capability(cap_id: str, area: str, sizes: tuple[int, ...] = (2, 2, 2, 2, 2)) -> dict[str, Any]:
    levels = {
        level: {
            "summary": _t(f"{cap_id} L{level}"),
            "criteria": [
                {"id": f"{cap_id}.l{level}.{n}", "text": _t(f"{cap_id} c{level}.{n}")}
                for n in range(1, size + 1)
            ],
        }
        for level, size in enumerate(sizes, start=1)
    }
    return {
        "id": cap_id,
        "principle": "flows",
        "area": area,
        "name": _t(cap_id),
        "description": _t(cap_id),
        "levels": levels,
        "kpis": {"lead_time": 3},
    }


def tiny_pack_files(version: str, capabilities: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid one-principle capability pack ``tiny`` at ``version``."""
    weights = {"kpi_relevance": 0.4, "cost_relevance": 0.2, "gap": 0.15, "use_case_impact": 0.25}
    return {
        "pack.yaml": {
            "id": "tiny",
            "version": version,
            "title": _t("Tiny"),
            "description": _t("Tiny pack"),
            "method": "capability-levels",
            "levels": [
                {"level": n, "name": _t(f"L{n}"), "description": _t(f"L{n}")} for n in range(6)
            ],
            "prioritisation": {
                "note": _t("project defaults"),
                "weights": weights,
                "impact_reference_pct": 50,
                "cost_categories": [{"id": "labour", "name": _t("Labour"), "kpis": ["lead_time"]}],
            },
            "sources": [{"title": "Test source", "publisher": "Tests", "year": 2025}],
        },
        "kpis.yaml": [{"id": "lead_time", "name": _t("Lead"), "unit": "d", "better": "lower"}],
        "principles.yaml": [
            {
                "id": "flows",
                "number": 1,
                "name": _t("Flows"),
                "description": _t("Flows"),
                "areas": sorted(
                    ({"id": a, "name": _t(a)} for a in {c["area"] for c in capabilities}),
                    key=lambda a: a["id"],
                ),
            }
        ],
        "use_cases.yaml": [],
        "capabilities/flows.yaml": capabilities,
    }


def write_pack(root: Path, files: dict[str, Any]) -> Path:
    """Write a pack to ``root/<id>/<version>`` and return that folder."""
    manifest = files["pack.yaml"]
    folder = root / manifest["id"] / manifest["version"]
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def tiny_v1() -> dict[str, Any]:
    """tiny 1.0.0: material_flow, info_flow, legacy_reports."""
    return tiny_pack_files(
        "1.0.0",
        [
            _capability("material_flow", "material"),
            _capability("info_flow", "info"),
            _capability("legacy_reports", "info"),
        ],
    )


def tiny_v2() -> dict[str, Any]:
    """tiny 1.1.0: legacy_reports removed, info_flow level 1 gains a criterion and loses .2,
    energy added."""
    info = _capability("info_flow", "info")
    info["levels"][1]["criteria"] = [
        {"id": "info_flow.l1.1", "text": _t("info_flow c1.1")},
        {"id": "info_flow.l1.3", "text": _t("info_flow c1.3")},
    ]
    return tiny_pack_files(
        "1.1.0",
        [_capability("material_flow", "material"), info, _capability("energy", "material")],
    )


# -- fixtures (import them into a test module to use them) -----------------------------------------


@pytest.fixture
def db(initialised_settings: Settings) -> Iterator[Session]:
    """A session on the initialised test database."""
    with sessions(initialised_settings) as session:
        yield session


def principal_of(session: Session, email: str) -> Principal:
    """The signed-in principal of a world user (same grants as a real session)."""
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise LookupError(email)
    grants = tuple(Grant(m.org_id, Role(m.role), m.site_id) for m in user.memberships)
    return Principal(user_id=user.id, grants=grants, label=email)


@pytest.fixture
def people(world: World, db: Session) -> dict[str, Principal]:
    """Role label (member, admin, assessor, program, ...) -> principal."""
    return {label: principal_of(db, email) for label, email in world.users.items()}
