"""REST API of assessments: packs, the assessment workflow, gaps, roadmap exports, goals."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from lighthouse_os.assessment import exports, goals, service, views
from lighthouse_os.assessment.schemas import (
    AnswerIn,
    AnswerOut,
    AssessmentCreate,
    AssessmentDetail,
    AssessmentSummary,
    CompareOut,
    GoalIo,
    PackPublic,
    ReviewIn,
    comparison_of,
    detail_of,
)
from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.framework import service as packs
from lighthouse_os.web.deps import SessionDep
from lighthouse_os.web.responses import JSONBytes

router = APIRouter(prefix="/api/v1", tags=["assessments"])
BASE = "/sites/{site_id}/assessments"


@router.get("/frameworks")
def list_frameworks(_principal: PrincipalDep, session: SessionDep) -> list[PackPublic]:
    """Every registered framework-pack version an assessment can be pinned to."""
    return [PackPublic.of(row) for row in packs.registered(session)]


@router.get(BASE)
def list_assessments(
    site_id: int, principal: PrincipalDep, session: SessionDep
) -> list[AssessmentSummary]:
    """The site's assessments, newest first."""
    _site, rows = service.site_assessments(session, principal, site_id)
    return [AssessmentSummary.of(row) for row in rows]


@router.post(BASE, status_code=201)
def start_assessment(
    site_id: int, body: AssessmentCreate, principal: PrincipalDep, session: SessionDep
) -> AssessmentSummary:
    """Start a draft (pre-filled from the last submitted one) or resume the open draft."""
    row = service.start_assessment(session, principal, site_id, body.pack, body.version)
    return AssessmentSummary.of(row)


@router.get(BASE + "/compare")
def compare_assessments(
    site_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    a: Annotated[int | None, Query(description="An assessment id")] = None,
    b: Annotated[int | None, Query(description="Another assessment id of the same pack")] = None,
) -> CompareOut:
    """Per-item levels of two assessments side by side with the change (later - earlier)."""
    return comparison_of(views.compare(session, principal, site_id, a, b))


@router.get(BASE + "/{assessment_id}")
def get_assessment(
    site_id: int, assessment_id: int, principal: PrincipalDep, session: SessionDep
) -> AssessmentDetail:
    """One assessment with its answers, levels, explanations and group means."""
    return detail_of(views.assessment_view(session, principal, site_id, assessment_id))


@router.put(BASE + "/{assessment_id}/answers/{item_id}")
def save_answer(
    site_id: int,
    assessment_id: int,
    item_id: str,
    body: AnswerIn,
    principal: PrincipalDep,
    session: SessionDep,
) -> AnswerOut:
    """Save one answer of a draft; 409 once the assessment is submitted."""
    row, rating = service.save_answer(
        session, principal, site_id, assessment_id, item_id, body.to_input()
    )
    return AnswerOut.of(row, None if rating is None else rating.explanation)


@router.post(BASE + "/{assessment_id}/submit")
def submit_assessment(
    site_id: int, assessment_id: int, principal: PrincipalDep, session: SessionDep
) -> AssessmentSummary:
    """Submit a draft; it cannot change afterwards."""
    row = service.submit_assessment(session, principal, site_id, assessment_id)
    return AssessmentSummary.of(row)


@router.post(BASE + "/{assessment_id}/review")
def review_assessment(
    site_id: int, assessment_id: int, body: ReviewIn, principal: PrincipalDep, session: SessionDep
) -> AssessmentSummary:
    """Assessors: adjust levels with a comment, and/or agree with the rest (``complete``)."""
    adjustments = [service.Adjustment(i.item_id, i.level, i.comment) for i in body.items]
    row = service.review_assessment(
        session, principal, site_id, assessment_id, adjustments, complete=body.complete,
        comment=body.comment,
    )  # fmt: skip
    return AssessmentSummary.of(row)


@router.get(BASE + "/{assessment_id}/gaps")
def ranked_gaps(
    site_id: int, assessment_id: int, principal: PrincipalDep, session: SessionDep
) -> JSONBytes:
    """Gaps (or SIRI dimensions) ranked for the site's goal, each explaining its rank."""
    view = views.assessment_view(session, principal, site_id, assessment_id)
    return JSONBytes([exports.ranked_dict(r) for r in view.results.ranked])


@router.get(BASE + "/{assessment_id}/roadmap")
def roadmap(
    request: Request,
    site_id: int,
    assessment_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    format: Literal["json", "csv"] = "json",
    lang: Literal["vi", "en"] | None = None,
) -> Response:
    """The roadmap as JSON (both languages) or CSV (``lang``, default the UI language); audited."""
    found = exports.roadmap_export(
        session, principal, site_id, assessment_id, fmt=format, lang=lang or request.state.locale
    )
    disposition = f'attachment; filename="{found.filename}"'
    return Response(
        found.body, media_type=found.media_type, headers={"content-disposition": disposition}
    )


@router.get("/sites/{site_id}/goals/{pack_id}")
def get_goal(site_id: int, pack_id: str, principal: PrincipalDep, session: SessionDep) -> GoalIo:
    """The site's operational goal for a pack (defaults when none is set)."""
    return GoalIo.of(goals.site_goal(session, principal, site_id, pack_id)[2])


@router.put("/sites/{site_id}/goals/{pack_id}")
def put_goal(
    site_id: int, pack_id: str, body: GoalIo, principal: PrincipalDep, session: SessionDep
) -> GoalIo:
    """Set the site's goal for a pack; 422 names each bad field."""
    return GoalIo.of(goals.set_goal(session, principal, site_id, pack_id, body.to_spec()))
