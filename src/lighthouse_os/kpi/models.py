"""ORM models of the KPI engine: a site's shift calendar and its product master."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lighthouse_os.db.base import Base, utcnow


class ShiftCalendarRecord(Base):
    """A site's shift calendar; a site without one uses the HCMC two-shift default.

    `shifts` is a list of `{name, start: "HH:MM", end: "HH:MM", breaks: [{start, end, reason}]}`;
    `workdays` lists the weekdays worked (Monday = 0).
    """

    __tablename__ = "kpi_shift_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), unique=True, index=True
    )
    timezone: Mapped[str] = mapped_column(String(64))
    workdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    shifts: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProductRecord(Base):
    """A product a machine makes, with its ideal cycle time (ISO 22400-2 PRI, s per unit).

    The machine's `active` product gives the PRI its counts are valued at, because the machine
    tags report counts, not which product they were.
    """

    __tablename__ = "kpi_products"
    __table_args__ = (UniqueConstraint("node_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[int] = mapped_column(
        ForeignKey("asset_nodes.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    ideal_cycle_time_s: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
