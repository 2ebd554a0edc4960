"""Writing and reading the audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.auth.models import AuditEvent
from lighthouse_os.auth.policy import Principal


def record(
    session: Session,
    action: str,
    *,
    actor: Principal | None = None,
    org_id: int | None = None,
    site_id: int | None = None,
    target: str = "",
    ip: str = "",
    **detail: Any,
) -> None:
    """Add one audit event to the caller's unit of work (committed with it)."""
    session.add(
        AuditEvent(
            action=action,
            actor_user_id=actor.user_id if actor else None,
            actor_token_id=actor.token_id if actor else None,
            org_id=org_id,
            site_id=site_id,
            target=target,
            ip=ip,
            detail=detail,
        )
    )


def recent(
    session: Session, *, site_id: int | None = None, action: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    """Newest events first, optionally for one site or one action."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if site_id is not None:
        query = query.where(AuditEvent.site_id == site_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))
