"""ORM model of dead letters: what ingestion could not store, with the reason, kept for review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from lighthouse_os.db.base import Base, utcnow


class DeadLetter(Base):
    """A rejected point or an unparseable message; `site_code` is kept as sent, even if unknown."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_site_id_received_at", "site_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(60), index=True)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), default=None
    )
    site_code: Mapped[str] = mapped_column(String(64), default="")
    tag: Mapped[str] = mapped_column(String(300), default="")
    reason: Mapped[str] = mapped_column(String(500))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_truncated: Mapped[bool] = mapped_column(default=False)
