"""ORM model of the framework-pack registry: every pack version assessments can be pinned to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lighthouse_os.db.base import Base, utcnow


class FrameworkPack(Base):
    """One registered pack version with a snapshot of its files (see docs/adr/0005).

    The snapshot makes the database the single source of a pinned version's content: an edit of
    the YAML on disk, or a release that drops an old version, cannot change a stored assessment.
    """

    __tablename__ = "framework_packs"
    __table_args__ = (UniqueConstraint("pack_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(20))
    title_vi: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(12), default="builtin")
    # Deferred: 300 kB for lighthouse-os, needed only when a version is not in the cache yet.
    files: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, deferred=True)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def label(self) -> str:
        """``<pack id> <version>``."""
        return f"{self.pack_id} {self.version}"
