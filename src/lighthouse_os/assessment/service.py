"""Assessment use cases: start (from the last answers), answer, submit, review, carry over.

Every public function authorises through ``auth.service.authorize_site`` and commits once.
A draft is the only state whose answers change; submitted and reviewed assessments are history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lighthouse_os.assessment.answers import (
    AnswerInput,
    CarryOver,
    Rating,
    answer_problems,
    carry_answers,
    item_ids,
    max_level,
    rate,
)
from lighthouse_os.assessment.models import Answer, Assessment, EvidenceFile, ReviewItem
from lighthouse_os.auth import audit
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.policy import Action, Principal
from lighthouse_os.auth.service import authorize_site
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import Conflict, Forbidden, InvalidInput, NotFound
from lighthouse_os.framework import service as packs
from lighthouse_os.framework.models import FrameworkPack
from lighthouse_os.framework.pack import Pack
from lighthouse_os.settings import Settings
from lighthouse_os.text import N_

DRAFT, SUBMITTED, REVIEWED = "draft", "submitted", "reviewed"
FINISHED = (SUBMITTED, REVIEWED)


@dataclass(frozen=True)
class Loaded:
    """An authorised assessment with its site, pinned pack record and pack content."""

    site: Site
    assessment: Assessment
    record: FrameworkPack
    pack: Pack


def is_pinned(session: Session, record: FrameworkPack) -> bool:
    """True when some assessment is pinned to this pack version."""
    query = select(func.count()).where(Assessment.framework_pack_id == record.id)
    return bool(session.scalar(query))


def load_framework_packs(_settings: Settings, session: Session) -> str:
    """`lhos init` step: register the built-in packs; a version no assessment pins yet may be
    refreshed from its files, a pinned one never changes (ADR 0005)."""
    lines = packs.register_builtin_packs(
        session, may_replace=lambda record: not is_pinned(session, record)
    )
    return "framework packs: " + "; ".join(lines)


def allowed(session: Session, principal: Principal, site: Site, action: Action) -> bool:
    """Whether ``principal`` may do ``action`` on a site it can already see."""
    try:
        authorize_site(session, principal, site.id, action)
    except Forbidden:
        return False
    return True


def open_assessment(
    session: Session,
    principal: Principal,
    site_ref: int | str,
    assessment_id: int,
    action: Action = Action.SITE_READ,
) -> Loaded:
    """An assessment of the site, after checking ``action``; another site's is NotFound."""
    site = authorize_site(session, principal, site_ref, action)
    assessment = session.get(Assessment, assessment_id)
    if assessment is None or assessment.site_id != site.id:
        raise NotFound("assessment not found")
    record = session.get(FrameworkPack, assessment.framework_pack_id)
    if record is None:  # pragma: no cover - a foreign key guarantees it
        raise NotFound("framework pack not found")
    return Loaded(site, assessment, record, packs.pack_of(session, record))


def site_assessments(
    session: Session, principal: Principal, site_ref: int | str
) -> tuple[Site, list[Assessment]]:
    """The site's assessments, newest first (by submission, else start)."""
    site = authorize_site(session, principal, site_ref, Action.SITE_READ)
    rows = session.scalars(select(Assessment).where(Assessment.site_id == site.id))
    return site, sorted(rows, key=assessment_date, reverse=True)


def assessment_date(assessment: Assessment) -> datetime:
    """When an assessment counts as made: its submission, else its start (drafts); in UTC."""
    moment = assessment.submitted_at or assessment.created_at
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def answers_of(session: Session, assessment_id: int) -> dict[str, Answer]:
    """Item id -> answer row."""
    rows = session.scalars(select(Answer).where(Answer.assessment_id == assessment_id))
    return {row.item_id: row for row in rows}


def reviews_of(session: Session, assessment_id: int) -> dict[str, ReviewItem]:
    """Item id -> the assessor's adjustment."""
    rows = session.scalars(select(ReviewItem).where(ReviewItem.assessment_id == assessment_id))
    return {row.item_id: row for row in rows}


def answer_input(row: Answer) -> AnswerInput:
    """The stored answer as the core's value object."""
    return AnswerInput(
        met=tuple(row.met),
        picked_level=row.picked_level,
        target_level=row.target_level,
        confidence=row.confidence,
        notes=row.notes,
        links=tuple(row.links),
        kpi_refs=tuple(row.kpi_refs),
    )


def _write(row: Answer, answer: AnswerInput, rating: Rating | None, user_id: int | None) -> None:
    row.met, row.picked_level = list(answer.met), answer.picked_level
    row.target_level, row.confidence = answer.target_level, answer.confidence
    row.notes, row.links, row.kpi_refs = answer.notes, list(answer.links), list(answer.kpi_refs)
    row.level = None if rating is None else rating.level
    row.updated_by, row.updated_at = user_id, utcnow()


def latest_finished(session: Session, site_id: int, pack_id: str) -> Assessment | None:
    """The site's most recently submitted assessment of a pack (any version), if any."""
    return session.scalar(
        select(Assessment)
        .where(
            Assessment.site_id == site_id,
            Assessment.pack_id == pack_id,
            Assessment.status.in_(FINISHED),
        )
        .order_by(Assessment.submitted_at.desc(), Assessment.id.desc())
        .limit(1)
    )


def _new(site_id: int, record: FrameworkPack, user_id: int | None, origin: str) -> Assessment:
    return Assessment(
        site_id=site_id,
        framework_pack_id=record.id,
        pack_id=record.pack_id,
        pack_version=record.version,
        created_by=user_id,
        origin=origin,
    )


def _copy_answers(session: Session, old: Assessment, new: Assessment, pack: Pack) -> CarryOver:
    rows = answers_of(session, old.id)
    inputs = {item: answer_input(row) for item, row in rows.items()}
    carried, report = carry_answers(pack, inputs, {i: r.level for i, r in rows.items()})
    for item, answer in carried.items():
        row = Answer(assessment_id=new.id, item_id=item)
        _write(row, answer, rate(pack, item, answer), new.created_by)
        session.add(row)
    files = session.scalars(select(EvidenceFile).where(EvidenceFile.assessment_id == old.id))
    for f in files:
        if f.item_id in carried:  # the stored bytes are shared; a row per assessment
            session.add(_file_copy(f, new.id))
    new.previous_id = old.id
    return report


def _file_copy(f: EvidenceFile, assessment_id: int) -> EvidenceFile:
    return EvidenceFile(
        assessment_id=assessment_id,
        item_id=f.item_id,
        filename=f.filename,
        stored_name=f.stored_name,
        content_type=f.content_type,
        size_bytes=f.size_bytes,
        sha256=f.sha256,
        uploaded_by=f.uploaded_by,
        uploaded_at=f.uploaded_at,
    )


def carry_over(
    session: Session, old: Assessment, new_record: FrameworkPack, *, actor: Principal | None = None
) -> tuple[Assessment, CarryOver]:
    """A new draft on ``new_record`` holding ``old``'s answers where the ids persist.

    Building block for ``start_assessment`` (the caller authorises); commits.
    """
    if new_record.pack_id != old.pack_id:
        raise InvalidInput(f"cannot carry {old.pack_id} answers into {new_record.pack_id}")
    new = _new(old.site_id, new_record, actor.user_id if actor else None, "wizard")
    session.add(new)
    session.flush()
    report = _copy_answers(session, old, new, packs.pack_of(session, new_record))
    session.commit()
    return new, report


def start_assessment(
    session: Session,
    principal: Principal,
    site_ref: int | str,
    pack_id: str,
    version: str | None = None,
) -> Assessment:
    """Open the site's draft of ``pack_id`` or start one on the given (default: latest)
    version, pre-filled from the last submitted assessment of that pack."""
    site = authorize_site(session, principal, site_ref, Action.SITE_WRITE)
    record = packs.find_record(session, pack_id, version)
    draft = session.scalar(
        select(Assessment).where(
            Assessment.site_id == site.id,
            Assessment.pack_id == record.pack_id,
            Assessment.status == DRAFT,
        )
    )
    if draft is not None:  # one draft per site and pack: the wizard resumes it
        return draft
    previous = latest_finished(session, site.id, record.pack_id)
    if previous is not None:
        return carry_over(session, previous, record, actor=principal)[0]
    assessment = _new(site.id, record, principal.user_id, "wizard")
    session.add(assessment)
    session.commit()
    return assessment


def require_draft(assessment: Assessment) -> None:
    if assessment.status != DRAFT:
        raise Conflict("this assessment was submitted and can no longer change")


def require_item(pack: Pack, item_id: str) -> None:
    if item_id not in item_ids(pack):
        raise NotFound(f"{item_id!r} is not an item of this framework pack")


def save_answer(
    session: Session,
    principal: Principal,
    site_ref: int | str,
    assessment_id: int,
    item_id: str,
    answer: AnswerInput,
) -> tuple[Answer, Rating | None]:
    """Save one draft answer (autosave); InvalidInput names each bad field."""
    loaded = open_assessment(session, principal, site_ref, assessment_id, Action.SITE_WRITE)
    require_draft(loaded.assessment)
    require_item(loaded.pack, item_id)
    problems = answer_problems(loaded.pack, item_id, answer)
    if problems:
        raise InvalidInput("the answer is not valid", fields=problems)
    rating = rate(loaded.pack, item_id, answer)
    row = answers_of(session, assessment_id).get(item_id)
    if row is None:
        row = Answer(assessment_id=assessment_id, item_id=item_id)
        session.add(row)
    _write(row, answer, rating, principal.user_id)
    loaded.assessment.updated_at = utcnow()
    session.commit()
    return row, rating


def submit_assessment(
    session: Session,
    principal: Principal,
    site_ref: int | str,
    assessment_id: int,
    now: datetime | None = None,
) -> Assessment:
    """Freeze a draft; it needs at least one rated item."""
    loaded = open_assessment(session, principal, site_ref, assessment_id, Action.SITE_WRITE)
    assessment = loaded.assessment
    require_draft(assessment)
    rated = sum(1 for row in answers_of(session, assessment.id).values() if row.level is not None)
    if rated == 0:
        raise InvalidInput("rate at least one item before submitting", fields={"answers": "none"})
    assessment.status, assessment.submitted_by = SUBMITTED, principal.user_id
    assessment.submitted_at = now or utcnow()
    audit.record(
        session,
        "assessment.submitted",
        actor=principal,
        org_id=loaded.site.org_id,
        site_id=loaded.site.id,
        target=f"assessment {assessment.id}",
        pack=loaded.record.label,
        rated=rated,
    )
    session.commit()
    return assessment


def require_submitted(assessment: Assessment) -> None:
    if assessment.status != SUBMITTED:
        message = "only a submitted assessment can be reviewed"
        if assessment.status == REVIEWED:
            message = "the review of this assessment is complete"
        raise Conflict(message)


def _adjust(
    session: Session, loaded: Loaded, principal: Principal, item_id: str, level: int, comment: str
) -> ReviewItem:
    require_item(loaded.pack, item_id)
    problems = {}
    if not 0 <= level <= max_level(loaded.pack, item_id):
        problems["level"] = N_("Choose a level within the range of this item.")
    if not comment.strip():
        problems["comment"] = N_("Say why the level changes.")
    if problems:
        raise InvalidInput(f"the review of {item_id} is not valid", fields=problems)
    row = session.scalar(
        select(ReviewItem).where(
            ReviewItem.assessment_id == loaded.assessment.id, ReviewItem.item_id == item_id
        )
    )
    if row is None:
        row = ReviewItem(assessment_id=loaded.assessment.id, item_id=item_id)
        session.add(row)
    row.reviewed_level, row.comment = level, comment.strip()
    row.reviewer_id, row.at = principal.user_id, utcnow()
    session.flush()
    return row


def _complete(session: Session, loaded: Loaded, principal: Principal, comment: str) -> None:
    assessment = loaded.assessment
    assessment.status, assessment.reviewed_by = REVIEWED, principal.user_id
    assessment.reviewed_at, assessment.review_comment = utcnow(), comment.strip()
    audit.record(
        session,
        "assessment.reviewed",
        actor=principal,
        org_id=loaded.site.org_id,
        site_id=loaded.site.id,
        target=f"assessment {assessment.id}",
        adjusted=len(reviews_of(session, assessment.id)),
    )


@dataclass(frozen=True)
class Adjustment:
    """An assessor's reviewed level of one item and why."""

    item_id: str
    level: int
    comment: str


def review_assessment(
    session: Session,
    principal: Principal,
    site_ref: int | str,
    assessment_id: int,
    adjustments: Sequence[Adjustment] = (),
    *,
    complete: bool = False,
    comment: str = "",
) -> Assessment:
    """An assessor adjusts levels (each with a reason; the self levels stay) and, with
    ``complete``, agrees with every other level and closes the review. All or nothing."""
    loaded = open_assessment(session, principal, site_ref, assessment_id, Action.ASSESSMENT_REVIEW)
    require_submitted(loaded.assessment)
    try:
        for adjustment in adjustments:
            _adjust(session, loaded, principal, *astuple(adjustment))
    except InvalidInput:
        session.rollback()
        raise
    if complete:
        _complete(session, loaded, principal, comment)
    session.commit()
    return loaded.assessment
