"""ORM models of environmental monitoring: air stations, monitoring stations, files, findings."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lighthouse_os.db.base import Base, utcnow


def aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite returns it naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def utc(moment: datetime) -> datetime:
    """An aware time in UTC, as stored: SQLite keeps the wall time and drops the offset."""
    return moment.astimezone(UTC)


class AirStation(Base):
    """An ambient air-quality station: a program-owned site whose tags are its pollutants.

    Name, location (latitude, longitude), district and park live on the site; the station adds
    what only a station has.
    """

    __tablename__ = "env_air_stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="urban")
    operator: Mapped[str] = mapped_column(String(200), default="")
    parameters: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AirExceedance(Base):
    """A QCVN 05:2023 averaging period of one station whose mean exceeded the limit."""

    __tablename__ = "env_air_exceedances"
    __table_args__ = (UniqueConstraint("station_id", "parameter", "averaging", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("env_air_stations.id", ondelete="CASCADE"))
    parameter: Mapped[str] = mapped_column(String(10))
    averaging: Mapped[str] = mapped_column(String(5))
    period_start: Mapped[datetime] = mapped_column(index=True)
    period_end: Mapped[datetime] = mapped_column()
    value: Mapped[float] = mapped_column(Float)
    limit_value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    limit_source: Mapped[str] = mapped_column(String(200))
    windows: Mapped[int] = mapped_column(default=1)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MonitoringStation(Base):
    """A registered automatic wastewater or stack station sending Circular 10/2021 files.

    `code` is `<Province>_<Facility>_<Station>` as in the file names; `tag_map` maps feed
    symbols to the site's own tags for the sender role.
    """

    __tablename__ = "env_monitoring_stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    province: Mapped[str] = mapped_column(String(20))
    facility: Mapped[str] = mapped_column(String(80))
    station: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(12))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    limit_column: Mapped[str] = mapped_column(String(2), default="B")
    kq: Mapped[float | None] = mapped_column(Float, default=None)
    kf: Mapped[float | None] = mapped_column(Float, default=None)
    kp: Mapped[float | None] = mapped_column(Float, default=None)
    kv: Mapped[float | None] = mapped_column(Float, default=None)
    interval_s: Mapped[int] = mapped_column(default=300)
    tag_map: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MonitoringFile(Base):
    """One received file of a registered station; `file_time` is the time in its name."""

    __tablename__ = "env_monitoring_files"
    __table_args__ = (
        UniqueConstraint("station_id", "file_name"),
        Index("ix_env_monitoring_files_station_id_file_time", "station_id", "file_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("env_monitoring_stations.id", ondelete="CASCADE")
    )
    file_name: Mapped[str] = mapped_column(String(200))
    file_time: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    readings: Mapped[int] = mapped_column(default=0)
    problems: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)


class MonitoringReading(Base):
    """Parameter, value (None = missing), unit, time and device status, as the station sent."""

    __tablename__ = "env_monitoring_readings"
    __table_args__ = (UniqueConstraint("station_id", "time", "symbol"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("env_monitoring_stations.id", ondelete="CASCADE")
    )
    file_id: Mapped[int] = mapped_column(
        ForeignKey("env_monitoring_files.id", ondelete="CASCADE"), index=True
    )
    symbol: Mapped[str] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float, default=None)
    unit: Mapped[str] = mapped_column(String(20))
    time: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(4))


class MonitoringExceedance(Base):
    """An averaging window whose status-00 mean was outside the allowed range (QCVN 40/19)."""

    __tablename__ = "env_monitoring_exceedances"
    __table_args__ = (UniqueConstraint("station_id", "parameter", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("env_monitoring_stations.id", ondelete="CASCADE")
    )
    parameter: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[datetime] = mapped_column(index=True)
    window_end: Mapped[datetime] = mapped_column()
    mean: Mapped[float] = mapped_column(Float)
    samples: Mapped[int] = mapped_column()
    unit: Mapped[str] = mapped_column(String(20))
    low: Mapped[float | None] = mapped_column(Float, default=None)
    high: Mapped[float | None] = mapped_column(Float, default=None)
    limit_source: Mapped[str] = mapped_column(String(200))
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MonitoringGap(Base):
    """A transmission gap: no file from `start` (when one was due) to `end`; open while silent."""

    __tablename__ = "env_monitoring_gaps"
    __table_args__ = (UniqueConstraint("station_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("env_monitoring_stations.id", ondelete="CASCADE")
    )
    start: Mapped[datetime] = mapped_column()
    end: Mapped[datetime] = mapped_column()
    last_file_at: Mapped[datetime | None] = mapped_column(default=None)
    open: Mapped[bool] = mapped_column(default=False, index=True)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
