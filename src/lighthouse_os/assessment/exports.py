"""Exports, each audited: a site's answers (the import format) and an assessment's roadmap."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.assessment import service
from lighthouse_os.assessment.answers import item_ids
from lighthouse_os.assessment.bulk import COLUMNS
from lighthouse_os.assessment.models import Assessment
from lighthouse_os.assessment.prioritisation import Ranked
from lighthouse_os.assessment.roadmap import roadmap_rows, roadmap_to_dict
from lighthouse_os.assessment.views import assessment_view
from lighthouse_os.auth import audit
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.policy import Action, Principal
from lighthouse_os.auth.service import authorize_site
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import InvalidInput
from lighthouse_os.framework import service as packs
from lighthouse_os.framework.models import FrameworkPack
from lighthouse_os.framework.pack import Lang

Format = Literal["csv", "json"]
EXPORT_COLUMNS = (*COLUMNS, "assessment_id", "status", "mode", "reviewed_level", "review_comment")
Cell = str | int | float | None


@dataclass(frozen=True)
class Export:
    """A file to hand out: suggested name, media type and bytes."""

    filename: str
    media_type: str
    body: bytes


def to_csv(columns: Sequence[str], rows: Sequence[Mapping[str, Cell]]) -> bytes:
    """CSV with a header, UTF-8 with a byte-order mark so spreadsheet programs read Vietnamese."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _rows_of(session: Session, site: Site, assessment: Assessment) -> list[dict[str, Cell]]:
    record = session.get(FrameworkPack, assessment.framework_pack_id)
    if record is None:  # pragma: no cover - a foreign key guarantees it
        raise InvalidInput(f"assessment {assessment.id} has no framework pack")
    pack = packs.pack_of(session, record)
    answers = service.answers_of(session, assessment.id)
    reviews = service.reviews_of(session, assessment.id)
    day = assessment.submitted_at or assessment.created_at
    rows: list[dict[str, Cell]] = []
    for item in (i for i in item_ids(pack) if i in answers):
        a, review = answers[item], reviews.get(item)
        rows.append(
            {
                "site": site.code,
                "pack": assessment.pack_id,
                "version": assessment.pack_version,
                "date": day.date().isoformat(),
                "capability": item,
                "level": a.level,
                "met": ";".join(a.met),
                "target": a.target_level,
                "confidence": a.confidence,
                "notes": a.notes,
                "assessment_id": assessment.id,
                "status": assessment.status,
                "mode": "picked" if a.picked_level is not None else "criteria" if a.met else "",
                "reviewed_level": review.reviewed_level if review else None,
                "review_comment": review.comment if review else "",
            }
        )
    return rows


def site_answers(
    session: Session, site_ref: int | str, *, fmt: Format, principal: Principal | None = None
) -> Export:
    """Every answer of every assessment of a site; ``principal`` None is the operator (CLI)."""
    site = (
        get_site(session, site_ref)
        if principal is None
        else authorize_site(session, principal, site_ref, Action.SITE_READ)
    )
    assessments = session.scalars(
        select(Assessment).where(Assessment.site_id == site.id).order_by(Assessment.id)
    )
    rows = [row for a in assessments for row in _rows_of(session, site, a)]
    _audit(session, principal, site, f"site {site.code}", "assessments", fmt)
    name = f"{site.code}-assessments.{fmt}"
    if fmt == "csv":
        return Export(name, "text/csv; charset=utf-8", to_csv(EXPORT_COLUMNS, rows))
    payload = {"site": site.code, "exported_at": utcnow().isoformat(), "rows": rows}
    return Export(name, "application/json", orjson.dumps(payload, option=orjson.OPT_INDENT_2))


def _audit(
    session: Session, principal: Principal | None, site: Site, target: str, what: str, fmt: str
) -> None:
    audit.record(
        session,
        "export",
        actor=principal,
        org_id=site.org_id,
        site_id=site.id,
        target=target,
        what=what,
        format=fmt,
    )
    session.commit()


def ranked_dict(item: Ranked) -> dict[str, object]:
    """JSON-ready ranked gap or dimension, with its explanation and factors."""
    return {
        "rank": item.rank,
        "item_id": item.item_id,
        "name": {"vi": item.name.vi, "en": item.name.en},
        "score": round(item.score, 4),
        "current": item.gap.current if item.gap else None,
        "target": item.gap.target if item.gap else None,
        "explanation": {"vi": item.explanation.vi, "en": item.explanation.en},
        "factors": [
            {
                "factor": r.factor,
                "value": round(r.value, 4),
                "weight": round(r.weight, 4),
                "contribution": round(r.contribution, 4),
            }
            for r in item.reasons
        ],
    }


def roadmap_export(
    session: Session,
    principal: Principal,
    site_ref: int | str,
    assessment_id: int,
    *,
    fmt: Format,
    lang: Lang,
) -> Export:
    """The roadmap of an assessment as CSV (texts in ``lang``) or JSON (both languages)."""
    view = assessment_view(session, principal, site_ref, assessment_id)
    roadmap = view.results.roadmap
    if roadmap is None:
        raise InvalidInput("this framework pack ranks dimensions and has no roadmap")
    target = f"assessment {view.assessment.id}"
    _audit(session, principal, view.site, target, "roadmap", fmt)
    name = f"{view.site.code}-roadmap-{view.assessment.id}.{fmt}"
    if fmt == "csv":
        rows = roadmap_rows(roadmap, lang)
        columns = list(rows[0]) if rows else ["quarter", "capability_id"]
        return Export(name, "text/csv; charset=utf-8", to_csv(columns, rows))
    payload = {
        "site": view.site.code,
        "assessment_id": view.assessment.id,
        "pack": view.record.pack_id,
        "version": view.record.version,
        "generated_at": utcnow().isoformat(),
        **roadmap_to_dict(roadmap),
        "ranked_gaps": [ranked_dict(r) for r in view.results.ranked],
    }
    return Export(name, "application/json", orjson.dumps(payload, option=orjson.OPT_INDENT_2))
