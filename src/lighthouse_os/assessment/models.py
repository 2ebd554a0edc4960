"""ORM models of assessments: answers, evidence files, assessor reviews and site goals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lighthouse_os.db.base import Base, utcnow
from lighthouse_os.framework.models import FrameworkPack

__all__ = ["Answer", "Assessment", "EvidenceFile", "FrameworkPack", "ReviewItem", "SiteGoal"]


class Assessment(Base):
    """One assessment of a site against one pinned pack version.

    ``status`` moves draft -> submitted -> reviewed and never back; answers are frozen from
    submission on, and an assessor's review is kept beside them, not over them.
    """

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    framework_pack_id: Mapped[int] = mapped_column(ForeignKey("framework_packs.id"), index=True)
    pack_id: Mapped[str] = mapped_column(String(64))
    pack_version: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    origin: Mapped[str] = mapped_column(String(12), default="wizard")
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    review_comment: Mapped[str] = mapped_column(Text, default="")


class Answer(Base):
    """The self-assessment of one capability (or SIRI dimension) with its evidence.

    ``level`` is the self-assessed level computed when the answer was saved (None: not rated);
    it is stored so history, comparison and peer medians need no pack at query time.
    """

    __tablename__ = "assessment_answers"
    __table_args__ = (UniqueConstraint("assessment_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[str] = mapped_column(String(100))
    met: Mapped[list[str]] = mapped_column(JSON, default=list)
    picked_level: Mapped[int | None] = mapped_column(Integer, default=None)
    level: Mapped[int | None] = mapped_column(Integer, default=None)
    target_level: Mapped[int | None] = mapped_column(Integer, default=None)
    confidence: Mapped[str] = mapped_column(String(10), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    kpi_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


class ReviewItem(Base):
    """An assessor's adjusted level of one item, with the reason; the self level stays as is."""

    __tablename__ = "assessment_review_items"
    __table_args__ = (UniqueConstraint("assessment_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[str] = mapped_column(String(100))
    reviewed_level: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class EvidenceFile(Base):
    """An uploaded evidence file; the bytes live in the data dir under the site's folder."""

    __tablename__ = "assessment_evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class SiteGoal(Base):
    """A site's operational goal for one pack: KPI weights, optional cost profile, SIRI horizon
    and industry, and how many roadmap steps the site can take on per quarter."""

    __tablename__ = "site_goals"
    __table_args__ = (UniqueConstraint("site_id", "pack_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    pack_id: Mapped[str] = mapped_column(String(64))
    kpi_weights: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    cost_profile: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    horizon: Mapped[str] = mapped_column(String(20), default="")
    industry: Mapped[str] = mapped_column(String(40), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
