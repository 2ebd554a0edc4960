"""Read side of assessments: one assessment with its results, peers, and comparisons."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lighthouse_os.assessment import service
from lighthouse_os.assessment.answers import rate
from lighthouse_os.assessment.goals import goal_spec, stored_goal
from lighthouse_os.assessment.models import Answer, Assessment, EvidenceFile, ReviewItem
from lighthouse_os.assessment.results import (
    CompareRow,
    GoalSpec,
    ItemState,
    Radar,
    Results,
    axis_values,
    compare_rows,
    compute_results,
    effective_levels,
    group_scores,
    peer_medians,
    with_peers,
)
from lighthouse_os.assessment.scoring import AggregateScore
from lighthouse_os.auth.models import Enrolment, Site
from lighthouse_os.auth.policy import MIN_AGGREGATE_SITES, Action, Principal
from lighthouse_os.auth.service import authorize_site, visible_sites
from lighthouse_os.errors import InvalidInput
from lighthouse_os.framework import service as packs
from lighthouse_os.framework.models import FrameworkPack
from lighthouse_os.framework.pack import Pack, Text


@dataclass(frozen=True)
class AssessmentView:
    """One assessment as pages and the API show it."""

    site: Site
    assessment: Assessment
    record: FrameworkPack
    pack: Pack
    answers: Mapping[str, Answer]
    reviews: Mapping[str, ReviewItem]
    files: Mapping[str, list[EvidenceFile]]
    explanations: Mapping[str, Text]
    goal: GoalSpec
    results: Results
    can_write: bool
    can_review: bool

    @property
    def rated(self) -> int:
        """Number of rated items."""
        return sum(1 for a in self.answers.values() if a.level is not None)

    def state(self, item_id: str) -> ItemState:
        """Self, target and reviewed level of one item."""
        return _state(self.answers.get(item_id), self.reviews.get(item_id))


def _state(answer: Answer | None, review: ReviewItem | None) -> ItemState:
    return ItemState(
        self_level=answer.level if answer else None,
        target=answer.target_level if answer else None,
        reviewed_level=review.reviewed_level if review else None,
    )


def states(
    answers: Mapping[str, Answer], reviews: Mapping[str, ReviewItem]
) -> dict[str, ItemState]:
    """Item -> state for every answered or reviewed item."""
    return {i: _state(answers.get(i), reviews.get(i)) for i in set(answers) | set(reviews)}


def files_of(session: Session, assessment_id: int) -> dict[str, list[EvidenceFile]]:
    """Item id -> evidence files, oldest first."""
    out: dict[str, list[EvidenceFile]] = defaultdict(list)
    rows = session.scalars(
        select(EvidenceFile)
        .where(EvidenceFile.assessment_id == assessment_id)
        .order_by(EvidenceFile.id)
    )
    for row in rows:
        out[row.item_id].append(row)
    return dict(out)


def _explanations(pack: Pack, answers: Mapping[str, Answer]) -> dict[str, Text]:
    out = {}
    for item_id, row in answers.items():
        rating = rate(pack, item_id, service.answer_input(row))
        if rating is not None:
            out[item_id] = rating.explanation
    return out


def assessment_view(
    session: Session, principal: Principal, site_ref: int | str, assessment_id: int
) -> AssessmentView:
    """Load, authorise (read) and compute everything shown about one assessment."""
    loaded = service.open_assessment(session, principal, site_ref, assessment_id)
    a, pack = loaded.assessment, loaded.pack
    answers, reviews = service.answers_of(session, a.id), service.reviews_of(session, a.id)
    goal = goal_spec(stored_goal(session, a.site_id, a.pack_id))
    day = (a.submitted_at or a.created_at).date()
    results = compute_results(pack, states(answers, reviews), goal, day)
    medians, sites = peer_axis_medians(session, loaded.site, a.pack_id, pack)
    results = _with_radar(results, with_peers(results.radar, medians, sites))
    return AssessmentView(
        site=loaded.site,
        assessment=a,
        record=loaded.record,
        pack=pack,
        answers=answers,
        reviews=reviews,
        files=files_of(session, a.id),
        explanations=_explanations(pack, answers),
        goal=goal,
        results=results,
        can_write=a.status == service.DRAFT
        and service.allowed(session, principal, loaded.site, Action.SITE_WRITE),
        can_review=a.status == service.SUBMITTED
        and service.allowed(session, principal, loaded.site, Action.ASSESSMENT_REVIEW),
    )


def _with_radar(results: Results, chart: Radar) -> Results:
    return Results(
        results.levels,
        results.targets,
        results.groups,
        results.areas,
        results.ranked,
        results.roadmap,
        chart,
        results.ignored_goal,
    )


def _peer_assessments(session: Session, site: Site, pack_id: str) -> list[Assessment]:
    programs = select(Enrolment.program_id).where(Enrolment.site_id == site.id)
    peers = select(Enrolment.site_id).where(
        Enrolment.program_id.in_(programs), Enrolment.site_id != site.id
    )
    rows = session.scalars(
        select(Assessment)
        .where(
            Assessment.site_id.in_(peers),
            Assessment.pack_id == pack_id,
            Assessment.status.in_(service.FINISHED),
        )
        .order_by(Assessment.submitted_at.desc(), Assessment.id.desc())
    )
    latest: dict[int, Assessment] = {}
    for row in rows:
        latest.setdefault(row.site_id, row)
    return list(latest.values())


def levels_by_assessment(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    """Assessment id -> effective levels (reviewed over self), rated items only."""
    answers: dict[int, dict[str, Answer]] = defaultdict(dict)
    reviews: dict[int, dict[str, ReviewItem]] = defaultdict(dict)
    for answer in session.scalars(select(Answer).where(Answer.assessment_id.in_(ids))):
        answers[answer.assessment_id][answer.item_id] = answer
    for review in session.scalars(select(ReviewItem).where(ReviewItem.assessment_id.in_(ids))):
        reviews[review.assessment_id][review.item_id] = review
    return {i: effective_levels(states(answers[i], reviews[i])) for i in ids}


def peer_axis_medians(
    session: Session, site: Site, pack_id: str, pack: Pack
) -> tuple[dict[str, float], int]:
    """Median radar values over the latest submitted assessments of the other sites enrolled
    in the site's programs, per axis only where at least MIN_AGGREGATE_SITES sites contribute."""
    peers = _peer_assessments(session, site, pack_id)
    if len(peers) < MIN_AGGREGATE_SITES:
        return {}, 0
    levels = levels_by_assessment(session, [p.id for p in peers])
    per_site = [axis_values(pack, levels[p.id]) for p in peers]
    return peer_medians(per_site, MIN_AGGREGATE_SITES), len(peers)


@dataclass(frozen=True)
class Comparison:
    """Two assessments of one site side by side (A earlier, B later)."""

    site: Site
    a: Assessment
    b: Assessment
    pack: Pack
    rows: tuple[CompareRow, ...]
    groups: tuple[tuple[AggregateScore, AggregateScore], ...]


def compare(
    session: Session,
    principal: Principal,
    site_ref: int | str,
    first: int | None,
    second: int | None,
) -> Comparison:
    """Per-item levels of two assessments of the same pack id, with deltas (B - A)."""
    authorize_site(session, principal, site_ref, Action.SITE_READ)
    if first is None or second is None:
        raise InvalidInput("choose two assessments", fields={"a": "required", "b": "required"})
    one = service.open_assessment(session, principal, site_ref, first)
    two = service.open_assessment(session, principal, site_ref, second)
    if one.assessment.pack_id != two.assessment.pack_id:
        raise InvalidInput("compare assessments of the same framework pack", fields={"b": "pack"})
    a, b = sorted(
        (one, two), key=lambda x: (service.assessment_date(x.assessment), x.assessment.id)
    )
    levels = levels_by_assessment(session, [a.assessment.id, b.assessment.id])
    la, lb = levels[a.assessment.id], levels[b.assessment.id]
    ga, _ = group_scores(b.pack, la)
    gb, _ = group_scores(b.pack, lb)
    rows = compare_rows(b.pack, la, lb)
    return Comparison(
        b.site, a.assessment, b.assessment, b.pack, rows, tuple(zip(ga, gb, strict=True))
    )


@dataclass(frozen=True)
class History:
    """A site's assessments (newest first) with their rated-item counts, and what can start."""

    site: Site
    rows: tuple[tuple[Assessment, int], ...]
    packs: tuple[FrameworkPack, ...]
    can_write: bool

    def draft(self, pack_id: str) -> Assessment | None:
        """The open draft of a pack, if any."""
        return next(
            (a for a, _ in self.rows if a.pack_id == pack_id and a.status == service.DRAFT), None
        )


def history(session: Session, principal: Principal, site_ref: int | str) -> History:
    """The assessments page of a site."""
    site, rows = service.site_assessments(session, principal, site_ref)
    query = (
        select(Answer.assessment_id, func.count())
        .where(Answer.assessment_id.in_([a.id for a in rows]), Answer.level.is_not(None))
        .group_by(Answer.assessment_id)
    )
    counts = dict(list(session.execute(query)))  # a Result has .keys(): list the rows first
    return History(
        site,
        tuple((a, counts.get(a.id, 0)) for a in rows),
        tuple(packs.latest_records(session)),
        service.allowed(session, principal, site, Action.SITE_WRITE),
    )


def portfolio(session: Session, principal: Principal) -> list[tuple[Site, Assessment | None]]:
    """Every site the caller may read, with its latest assessment (any status)."""
    sites = visible_sites(session, principal)
    latest: dict[int, Assessment] = {}
    rows = session.scalars(
        select(Assessment)
        .where(Assessment.site_id.in_([s.id for s in sites]))
        .order_by(Assessment.id.desc())
    )
    for row in rows:
        latest.setdefault(row.site_id, row)
    return [(s, latest.get(s.id)) for s in sites]
