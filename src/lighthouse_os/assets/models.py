"""ORM models of the asset hierarchy: nodes (area, line, machine), tags, and a change counter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lighthouse_os.db.base import Base, utcnow


class AssetNode(Base):
    """An area, line or machine of a site; `path` is its keys from the site down."""

    __tablename__ = "asset_nodes"
    __table_args__ = (UniqueConstraint("site_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("asset_nodes.id"), default=None)
    level: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(300))
    name_vi: Mapped[str] = mapped_column(String(200), default="")
    name_en: Mapped[str] = mapped_column(String(200), default="")
    asset_type: Mapped[str] = mapped_column(String(64), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Tag(Base):
    """A signal of a site; its id is the store's `series_id`, so ids are never reused."""

    __tablename__ = "asset_tags"
    # AUTOINCREMENT: SQLite would otherwise hand a deleted tag's id, and its history, to a new tag.
    __table_args__ = (UniqueConstraint("site_id", "path"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[int | None] = mapped_column(ForeignKey("asset_nodes.id"), default=None)
    key: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    scale: Mapped[float | None] = mapped_column(Float, default=None)
    offset: Mapped[float | None] = mapped_column(Float, default=None)
    states: Mapped[list[str]] = mapped_column(JSON, default=list)
    description_vi: Mapped[str] = mapped_column(String(500), default="")
    description_en: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AssetRevision(Base):
    """Bumped in the same transaction as any asset change, so ingestion caches know to reload."""

    __tablename__ = "asset_revisions"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    revision: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
