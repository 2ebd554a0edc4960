"""ORM models of alerts: rules and their per-series state, detectors, alerts, notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lighthouse_os.db.base import Base, utcnow


class AlertRule(Base):
    """A rule of a site, bound to one tag, one machine, or every machine of an asset type.

    `params` holds the kind's parameters (see `schemas.RuleIn`); an asset-type rule is resolved
    to matching machines at each evaluation, so a new machine of that type is covered at once.
    """

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20))
    tag_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset_tags.id", ondelete="SET NULL"), default=None
    )
    node_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset_nodes.id", ondelete="SET NULL"), default=None
    )
    asset_type: Mapped[str] = mapped_column(String(64), default="")
    tag_key: Mapped[str] = mapped_column(String(64), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    severity: Mapped[str] = mapped_column(String(10), default="warning")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertRuleState(Base):
    """What the rule evaluator remembers for one (rule, series) between engine runs."""

    __tablename__ = "alert_rule_states"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True
    )
    series: Mapped[str] = mapped_column(String(300), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertDetector(Base):
    """An anomaly detector of one machine, its reference period, fitted model and stream state."""

    __tablename__ = "alert_detectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("asset_nodes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    severity: Mapped[str] = mapped_column(String(10), default="warning")
    train_from: Mapped[datetime | None] = mapped_column(default=None)
    train_to: Mapped[datetime | None] = mapped_column(default=None)
    model: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    trained_at: Mapped[datetime | None] = mapped_column(default=None)
    stream: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    scored_until: Mapped[datetime | None] = mapped_column(default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Alert(Base):
    """One alert of one rule, detector or environmental check on one series, from its first
    raise to its resolution.

    `uid` is the lifecycle core's deterministic id (rule|series|opened_at), so an engine run
    that is repeated after a crash finds the alert it already opened.
    """

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_site_status", "site_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(400), unique=True)
    rule_key: Mapped[str] = mapped_column(String(40), index=True)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="SET NULL"), default=None
    )
    detector_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_detectors.id", ondelete="SET NULL"), default=None
    )
    title: Mapped[str] = mapped_column(String(300), default="")
    # A platform alert's catalogued message {key, args} (see `messages.py`), rendered in the
    # reader's language; None for alerts of rules and detectors, titled by their names.
    message: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    series: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="open")
    value: Mapped[float | None] = mapped_column(Float, default=None)
    opened_at: Mapped[datetime]
    last_raised_at: Mapped[datetime]
    occurrences: Mapped[int] = mapped_column(default=1)
    signals: Mapped[list[str]] = mapped_column(JSON, default=list)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(254), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(254), default=None)
    flapping: Mapped[bool] = mapped_column(default=False)
    quiet_since: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertComment(Base):
    """A comment on an alert (assignments and closing notes are comments too)."""

    __tablename__ = "alert_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)


class AlertChannel(Base):
    """Where a site's alerts are sent: a webhook URL or e-mail recipients (`config`)."""

    __tablename__ = "alert_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    min_severity: Mapped[str] = mapped_column(String(10), default="warning")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertDelivery(Base):
    """The delivery log: one notification of one alert event to one channel, and its attempts."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="CASCADE"), index=True
    )
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
