"""Password sign-in under rate limits, and the browser sessions it opens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lighthouse_os.auth import audit
from lighthouse_os.auth.credentials import new_session_id, sha256_hex, verify_password
from lighthouse_os.auth.models import LoginFailure, User, UserSession
from lighthouse_os.auth.policy import Grant, Principal, Role
from lighthouse_os.errors import InvalidInput, TooManyRequests

SESSION_LIFETIME = timedelta(days=7)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20


def _recent_failures(session: Session, column: Any, value: str, now: datetime) -> int:
    since = now - FAILURE_WINDOW
    query = select(func.count()).select_from(LoginFailure).where(column == value)
    return session.scalar(query.where(LoginFailure.at >= since)) or 0


def sign_in(
    session: Session, *, email: str, password: str, ip: str, user_agent: str, now: datetime
) -> tuple[User, str]:
    """Check a password under rate limits; on success return the user and a new session id."""
    email = email.strip().lower()
    if (
        _recent_failures(session, LoginFailure.email, email, now) >= MAX_FAILURES_PER_ACCOUNT
        or _recent_failures(session, LoginFailure.ip, ip, now) >= MAX_FAILURES_PER_IP
    ):
        audit.record(session, "login.throttled", target=email, ip=ip)
        session.commit()
        raise TooManyRequests("too many failed sign-ins; wait 15 minutes and try again")
    user = session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        session.add(LoginFailure(email=email, ip=ip, at=now))
        audit.record(session, "login.failed", target=email, ip=ip)
        session.commit()
        raise InvalidInput("wrong email or password", fields={"password": "wrong"})
    session_id = new_session_id()
    session.add(
        UserSession(
            id_hash=sha256_hex(session_id),
            user_id=user.id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            ip=ip,
            user_agent=user_agent[:300],
        )
    )
    user.last_login_at = now
    audit.record(session, "login.succeeded", actor=Principal(user_id=user.id), ip=ip)
    session.commit()
    return user, session_id


def sign_out(session: Session, session_id: str) -> None:
    """End one browser session."""
    session.query(UserSession).filter(UserSession.id_hash == sha256_hex(session_id)).delete()
    session.commit()


def _user_principal(user: User) -> Principal:
    grants = tuple(Grant(m.org_id, Role(m.role), m.site_id) for m in user.memberships)
    return Principal(user_id=user.id, grants=grants, label=user.email)


def principal_from_session(session: Session, session_id: str, now: datetime) -> Principal | None:
    """The signed-in user behind a session cookie, or None when it is unknown or expired."""
    row = session.get(UserSession, sha256_hex(session_id))
    if row is None or as_utc(row.expires_at) <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return _user_principal(user)


def as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they were stored as UTC."""
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
