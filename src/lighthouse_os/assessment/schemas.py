"""Pydantic input and output of the assessment REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lighthouse_os.assessment.answers import AnswerInput, item_ids
from lighthouse_os.assessment.models import Answer, Assessment, EvidenceFile, ReviewItem
from lighthouse_os.assessment.results import GoalSpec
from lighthouse_os.assessment.scoring import AggregateScore
from lighthouse_os.assessment.views import AssessmentView, Comparison
from lighthouse_os.framework.models import FrameworkPack
from lighthouse_os.framework.pack import Text

Confidence = Literal["", "low", "medium", "high"]


class Bilingual(BaseModel):
    """A text in Vietnamese and English."""

    vi: str
    en: str

    @classmethod
    def of(cls, text: Text) -> Bilingual:
        return cls(vi=text.vi, en=text.en)


class PackPublic(BaseModel):
    """A registered framework-pack version."""

    pack_id: str
    version: str
    method: str
    title: Bilingual
    digest: str
    origin: str
    registered_at: datetime

    @classmethod
    def of(cls, row: FrameworkPack) -> PackPublic:
        return cls(
            pack_id=row.pack_id,
            version=row.version,
            method=row.method,
            title=Bilingual(vi=row.title_vi, en=row.title_en),
            digest=row.digest,
            origin=row.origin,
            registered_at=row.registered_at,
        )


class AssessmentCreate(BaseModel):
    """Start (or resume) the site's draft of a pack; default version: the latest."""

    model_config = ConfigDict(extra="forbid")

    pack: str = Field(min_length=1, max_length=64)
    version: str | None = Field(default=None, max_length=20)


class AssessmentSummary(BaseModel):
    """An assessment without its answers."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: int
    pack_id: str
    pack_version: str
    status: str
    origin: str
    previous_id: int | None
    created_at: datetime
    submitted_at: datetime | None
    reviewed_at: datetime | None
    review_comment: str

    @classmethod
    def of(cls, row: Assessment) -> AssessmentSummary:
        return cls.model_validate(row)


class AnswerIn(BaseModel):
    """One answer: ``level`` picks a level directly, else ``met`` lists the criteria met."""

    model_config = ConfigDict(extra="forbid")

    met: list[str] = Field(default_factory=list, max_length=200)
    level: int | None = None
    target: int | None = None
    confidence: Confidence = ""
    notes: str = ""
    links: list[str] = Field(default_factory=list)
    kpi_refs: list[str] = Field(default_factory=list)

    def to_input(self) -> AnswerInput:
        return AnswerInput(
            met=tuple(self.met),
            picked_level=self.level,
            target_level=self.target,
            confidence=self.confidence,
            notes=self.notes,
            links=tuple(self.links),
            kpi_refs=tuple(self.kpi_refs),
        )


class FilePublic(BaseModel):
    """An evidence file's metadata (download it from the page route)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime


class AnswerOut(BaseModel):
    """A stored answer with its level, explanation and any review."""

    item_id: str
    mode: Literal["", "criteria", "picked"]
    met: list[str]
    picked_level: int | None
    level: int | None
    target: int | None
    confidence: str
    notes: str
    links: list[str]
    kpi_refs: list[str]
    explanation: Bilingual | None
    reviewed_level: int | None = None
    review_comment: str = ""
    files: list[FilePublic] = Field(default_factory=list)

    @classmethod
    def of(
        cls,
        row: Answer,
        explanation: Text | None,
        review: ReviewItem | None = None,
        files: list[EvidenceFile] | None = None,
    ) -> AnswerOut:
        mode: Literal["", "criteria", "picked"] = (
            "picked" if row.picked_level is not None else "criteria" if row.met else ""
        )
        return cls(
            item_id=row.item_id,
            mode=mode,
            met=list(row.met),
            picked_level=row.picked_level,
            level=row.level,
            target=row.target_level,
            confidence=row.confidence,
            notes=row.notes,
            links=list(row.links),
            kpi_refs=list(row.kpi_refs),
            explanation=None if explanation is None else Bilingual.of(explanation),
            reviewed_level=review.reviewed_level if review else None,
            review_comment=review.comment if review else "",
            files=[FilePublic.model_validate(f) for f in files or []],
        )


class ScoreOut(BaseModel):
    """A group mean and how it was computed."""

    scope: str
    id: str
    mean: float | None
    official: bool
    explanation: Bilingual

    @classmethod
    def of(cls, score: AggregateScore) -> ScoreOut:
        return cls(
            scope=score.scope,
            id=score.scope_id,
            mean=score.mean,
            official=score.official,
            explanation=Bilingual.of(score.text),
        )


class AssessmentDetail(AssessmentSummary):
    """An assessment with its answers and group scores."""

    answers: list[AnswerOut]
    scores: list[ScoreOut]


class ReviewLine(BaseModel):
    """An assessor's adjusted level of one item."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    level: int
    comment: str = Field(min_length=1, max_length=4000)


class ReviewIn(BaseModel):
    """Adjust some levels and, with ``complete``, agree with the rest and close the review."""

    model_config = ConfigDict(extra="forbid")

    items: list[ReviewLine] = Field(default_factory=list)
    complete: bool = False
    comment: str = Field(default="", max_length=4000)


class GoalIo(BaseModel):
    """A site's goal for a pack: KPI weights and cost shares (0..100), SIRI horizon and
    industry, and roadmap steps per quarter."""

    model_config = ConfigDict(extra="forbid")

    kpi_weights: dict[str, float] = Field(default_factory=dict)
    cost_profile: dict[str, float] = Field(default_factory=dict)
    horizon: str = ""
    industry: str = ""
    capacity: int = 2

    def to_spec(self) -> GoalSpec:
        return GoalSpec(
            self.kpi_weights, self.cost_profile, self.horizon, self.industry, self.capacity
        )

    @classmethod
    def of(cls, goal: GoalSpec) -> GoalIo:
        return cls(
            kpi_weights=dict(goal.kpi_weights),
            cost_profile=dict(goal.cost_profile),
            horizon=goal.horizon,
            industry=goal.industry,
            capacity=goal.capacity,
        )


class CompareLine(BaseModel):
    """One item in two assessments."""

    item_id: str
    name: Bilingual
    a: int | None
    b: int | None
    delta: int | None


class CompareOut(BaseModel):
    """Two assessments of a site side by side (A earlier)."""

    a: AssessmentSummary
    b: AssessmentSummary
    rows: list[CompareLine]


def detail_of(view: AssessmentView) -> AssessmentDetail:
    """The API form of an assessment view: answers in pack order, then group means."""
    summary = AssessmentSummary.of(view.assessment).model_dump()
    answers = [
        AnswerOut.of(
            view.answers[item],
            view.explanations.get(item),
            view.reviews.get(item),
            view.files.get(item),
        )
        for item in item_ids(view.pack)
        if item in view.answers
    ]
    scores = [ScoreOut.of(s) for s in (*view.results.groups, *view.results.areas)]
    return AssessmentDetail(**summary, answers=answers, scores=scores)


def comparison_of(comparison: Comparison) -> CompareOut:
    """The API form of a comparison."""
    return CompareOut(
        a=AssessmentSummary.of(comparison.a),
        b=AssessmentSummary.of(comparison.b),
        rows=[
            CompareLine(item_id=r.item_id, name=Bilingual.of(r.name), a=r.a, b=r.b, delta=r.delta)
            for r in comparison.rows
        ],
    )
