"""API tokens: minted for a site or organisation, resolved per request, revoked by admins."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.auth import audit
from lighthouse_os.auth.credentials import mint_token, parse_token, token_secret_matches
from lighthouse_os.auth.models import ApiToken
from lighthouse_os.auth.policy import Action, Principal, Scope, TokenGrant
from lighthouse_os.auth.service import authorize_site
from lighthouse_os.auth.sessions import as_utc
from lighthouse_os.auth.tenants import get_org, get_site
from lighthouse_os.errors import InvalidInput, NotFound

TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at precision; avoids a write per request
TOKEN_AUDIT_INTERVAL = timedelta(hours=1)  # one "token.used" event per token per hour


def principal_from_token(
    session: Session, plaintext: str, *, ip: str, now: datetime
) -> Principal | None:
    """The API token behind a Bearer header, or None when malformed, unknown or revoked."""
    parsed = parse_token(plaintext)
    if parsed is None:
        return None
    public_id, secret = parsed
    token = session.scalar(select(ApiToken).where(ApiToken.public_id == public_id))
    if token is None or token.revoked_at is not None:
        return None
    if not token_secret_matches(secret, token.secret_hash):
        return None
    _touch_token(session, token, ip, now)
    grant = TokenGrant(org_id=token.org_id, scope=Scope(token.scope), site_id=token.site_id)
    return Principal(token_id=token.id, token=grant, label=f"token {token.public_id}")


def _touch_token(session: Session, token: ApiToken, ip: str, now: datetime) -> None:
    last = as_utc(token.last_used_at) if token.last_used_at else None
    if last is not None and now - last < TOKEN_TOUCH_INTERVAL:
        return
    if last is None or now - last >= TOKEN_AUDIT_INTERVAL:
        audit.record(
            session,
            "token.used",
            actor=Principal(token_id=token.id),
            org_id=token.org_id,
            site_id=token.site_id,
            target=token.public_id,
            ip=ip,
        )
    token.last_used_at = now
    session.commit()


def create_token(
    session: Session,
    *,
    org_ref: int | str,
    scope: str,
    site_ref: int | str | None = None,
    name: str = "",
    actor: Principal | None = None,
) -> tuple[ApiToken, str]:
    """Mint a token; the plaintext is returned once and only its hash is stored."""
    if scope not in Scope.__members__.values():
        raise InvalidInput(f"scope must be read or write, not {scope!r}", fields={"scope": "bad"})
    org = get_org(session, org_ref)
    site = get_site(session, site_ref) if site_ref is not None else None
    if site is not None and site.org_id != org.id:
        raise InvalidInput("the site belongs to another organisation", fields={"site": "foreign"})
    minted = mint_token()
    token = ApiToken(
        public_id=minted.public_id,
        secret_hash=minted.secret_hash,
        name=name,
        org_id=org.id,
        site_id=site.id if site else None,
        scope=scope,
        created_by=actor.user_id if actor else None,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        "token.created",
        actor=actor,
        org_id=org.id,
        site_id=token.site_id,
        target=token.public_id,
        scope=scope,
    )
    session.commit()
    return token, minted.plaintext


def revoke_token(session: Session, principal: Principal, token_id: int, now: datetime) -> ApiToken:
    """Revoke a token of a site the caller administers."""
    token = session.get(ApiToken, token_id)
    if token is None or token.site_id is None:
        raise NotFound("token not found")
    authorize_site(session, principal, token.site_id, Action.SITE_ADMIN)
    token.revoked_at = now
    audit.record(
        session,
        "token.revoked",
        actor=principal,
        org_id=token.org_id,
        site_id=token.site_id,
        target=token.public_id,
    )
    session.commit()
    return token


def site_tokens(session: Session, principal: Principal, site_id: int) -> list[ApiToken]:
    """Tokens of a site, for its admins."""
    authorize_site(session, principal, site_id, Action.SITE_ADMIN)
    return list(session.scalars(select(ApiToken).where(ApiToken.site_id == site_id)))
