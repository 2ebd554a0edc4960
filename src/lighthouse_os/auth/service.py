"""Identity use cases: tenants, people, credentials, consent, and the access checks on sites."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lighthouse_os.auth import audit
from lighthouse_os.auth.credentials import (
    hash_password,
    mint_token,
    new_session_id,
    parse_token,
    password_problem,
    sha256_hex,
    token_secret_matches,
    verify_password,
)
from lighthouse_os.auth.models import (
    ApiToken,
    Enrolment,
    LoginFailure,
    Membership,
    Organisation,
    Site,
    User,
    UserSession,
)
from lighthouse_os.auth.policy import (
    Action,
    Consent,
    Grant,
    OrgKind,
    Principal,
    Role,
    Scope,
    SiteFacts,
    TokenGrant,
    decide_org,
    decide_site,
)
from lighthouse_os.auth.vsic import sector
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests

SESSION_LIFETIME = timedelta(days=7)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at precision; avoids a write per request
TOKEN_AUDIT_INTERVAL = timedelta(hours=1)  # one "token.used" event per token per hour
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def slugify(name: str) -> str:
    """An ASCII handle from a name: 'Nhà máy Tân Thuận' -> 'nha-may-tan-thuan'."""
    ascii_name = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_name = ascii_name.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60] or "x"


def _by_ref(model: type[Organisation] | type[Site], ref: int | str) -> Any:
    """`WHERE id = …` for a numeric reference, `WHERE code = …` otherwise."""
    text = str(ref).strip()
    return model.id == int(text) if text.isdigit() else model.code == text


def get_org(session: Session, ref: int | str) -> Organisation:
    """An organisation by id or code."""
    org = session.scalar(select(Organisation).where(_by_ref(Organisation, ref)))
    if org is None:
        raise NotFound(f"organisation {str(ref)!r} not found")
    return org


def get_site(session: Session, ref: int | str) -> Site:
    """A site by id or code (no access check: callers use `authorize_site`)."""
    site = session.scalar(select(Site).where(_by_ref(Site, ref)))
    if site is None:
        raise NotFound(f"site {str(ref)!r} not found")
    return site


def _commit(session: Session, what: str) -> None:
    try:
        session.commit()
    except IntegrityError as err:
        session.rollback()
        raise Conflict(f"{what} already exists") from err


def create_org(session: Session, *, name: str, kind: str, code: str | None = None) -> Organisation:
    """Register a tenant."""
    if kind not in OrgKind.__members__.values():
        raise InvalidInput(
            f"unknown organisation kind {kind!r}; use one of {', '.join(OrgKind)}",
            fields={"kind": "unknown"},
        )
    if not name.strip():
        raise InvalidInput("organisation name is required", fields={"name": "required"})
    org = Organisation(name=name.strip(), kind=kind, code=code or slugify(name))
    session.add(org)
    _commit(session, f"organisation {org.code!r}")
    return org


@dataclass(frozen=True)
class SiteInput:
    """Fields of a new site; sector is a VSIC 2018 code in section C (manufacturing)."""

    name: str
    sector: str
    park: str = ""
    district: str = ""
    ward: str = ""
    latitude: float | None = None
    longitude: float | None = None
    headcount_band: str = ""
    code: str | None = None
    timezone: str = "Asia/Ho_Chi_Minh"


def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _site_problems(data: SiteInput, *, needs_sector: bool) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not data.name.strip():
        problems["name"] = "required"
    if (needs_sector or data.sector) and sector(data.sector) is None:
        problems["sector"] = "not a VSIC 2018 manufacturing code (10xxx to 33xxx)"
    if not _is_time_zone(data.timezone):
        problems["timezone"] = "not an IANA time zone such as Asia/Ho_Chi_Minh"
    if data.latitude is not None and not -90 <= data.latitude <= 90:
        problems["latitude"] = "must be between -90 and 90"
    if data.longitude is not None and not -180 <= data.longitude <= 180:
        problems["longitude"] = "must be between -180 and 180"
    return problems


def create_site(session: Session, *, org_ref: int | str, data: SiteInput) -> Site:
    """Add a factory to a manufacturer, or a monitoring station site to a program.

    A program (e.g. the city's environment department) owns its ambient air stations as sites,
    so they use the same assets, ingestion and store as factories; they have no VSIC sector.
    """
    org = get_org(session, org_ref)
    if org.kind not in (OrgKind.MANUFACTURER, OrgKind.PROGRAM):
        raise InvalidInput(
            "sites belong to manufacturer (factories) or program (stations) organisations",
            fields={"org": "kind"},
        )
    problems = _site_problems(data, needs_sector=org.kind == OrgKind.MANUFACTURER)
    if problems:
        raise InvalidInput(
            "the site is not valid: " + "; ".join(problems.values()), fields=problems
        )
    found = sector(data.sector)
    site = Site(
        org_id=org.id,
        code=data.code or slugify(data.name),
        name=data.name.strip(),
        vsic_code=found.code if found else data.sector,
        vsic_name=found.vi if found else "",
        park=data.park,
        district=data.district,
        ward=data.ward,
        latitude=data.latitude,
        longitude=data.longitude,
        headcount_band=data.headcount_band,
        timezone=data.timezone,
    )
    session.add(site)
    _commit(session, f"site {site.code!r}")
    return site


def _check_role_target(org: Organisation, role: Role, site: Site | None) -> None:
    if site is not None and site.org_id != org.id:
        raise InvalidInput("the site belongs to another organisation", fields={"site": "foreign"})
    if role is Role.PROGRAM_ADMIN and org.kind != OrgKind.PROGRAM:
        raise InvalidInput("program_admin needs a program organisation", fields={"role": "kind"})


def parse_role(role: str) -> Role:
    """A Role from its name, with a clear error listing the valid ones."""
    try:
        return Role(role)
    except ValueError as err:
        raise InvalidInput(
            f"unknown role {role!r}; use one of {', '.join(Role)}", fields={"role": "unknown"}
        ) from err


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    org_ref: int | str,
    role: str,
    site_ref: int | str | None = None,
    display_name: str = "",
    actor: Principal | None = None,
) -> User:
    """Create a user with one membership; all checks run before anything is written."""
    email = email.strip().lower()
    if not EMAIL_PATTERN.match(email):
        raise InvalidInput(f"{email!r} is not an email address", fields={"email": "invalid"})
    parsed_role = parse_role(role)
    problem = password_problem(password, email)
    if problem:
        raise InvalidInput(problem, fields={"password": problem})
    org = get_org(session, org_ref)
    site = get_site(session, site_ref) if site_ref is not None else None
    _check_role_target(org, parsed_role, site)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email!r} already exists", fields={"email": "taken"})
    user = User(email=email, password_hash=hash_password(password), display_name=display_name)
    user.memberships.append(
        Membership(org_id=org.id, site_id=site.id if site else None, role=parsed_role)
    )
    session.add(user)
    audit.record(
        session,
        "role.granted",
        actor=actor,
        org_id=org.id,
        site_id=site.id if site else None,
        target=email,
        role=parsed_role.value,
    )
    _commit(session, f"user {email!r}")
    return user


def grant_role(
    session: Session,
    *,
    email: str,
    org_ref: int | str,
    role: str,
    site_ref: int | str | None = None,
    actor: Principal | None = None,
) -> Membership:
    """Give an existing user one more role; audited."""
    user = _user_by_email(session, email)
    parsed_role = parse_role(role)
    org = get_org(session, org_ref)
    site = get_site(session, site_ref) if site_ref is not None else None
    _check_role_target(org, parsed_role, site)
    membership = Membership(
        user_id=user.id, org_id=org.id, site_id=site.id if site else None, role=parsed_role
    )
    session.add(membership)
    audit.record(
        session,
        "role.granted",
        actor=actor,
        org_id=org.id,
        site_id=site.id if site else None,
        target=user.email,
        role=parsed_role.value,
    )
    _commit(session, "this membership")
    return membership


def _user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email!r}")
    return user


def reset_password(session: Session, *, email: str, password: str) -> User:
    """Set a new password and end every open session of the user."""
    user = _user_by_email(session, email)
    problem = password_problem(password, user.email)
    if problem:
        raise InvalidInput(problem, fields={"password": problem})
    user.password_hash = hash_password(password)
    session.query(UserSession).filter(UserSession.user_id == user.id).delete()
    audit.record(session, "password.reset", target=user.email)
    session.commit()
    return user


# --- sign-in, sessions and tokens -------------------------------------------------------------


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
    if row is None or _aware(row.expires_at) <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return _user_principal(user)


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they were stored as UTC."""
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    last = _aware(token.last_used_at) if token.last_used_at else None
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


# --- access to sites and programs ---------------------------------------------------------------


def site_facts(session: Session, site: Site) -> SiteFacts:
    """The policy's view of a site: tenant and program consents."""
    rows = session.execute(
        select(Enrolment.program_id, Enrolment.consent).where(Enrolment.site_id == site.id)
    )
    return SiteFacts(site.id, site.org_id, {pid: Consent(c) for pid, c in rows})


def authorize_site(
    session: Session, principal: Principal, site_ref: int | str, action: str | Action
) -> Site:
    """Load a site and check `action` on it: 404 when the caller may not see it, 403 when it
    may see it but not act."""
    try:
        site = get_site(session, site_ref)
    except NotFound:
        raise NotFound("site not found") from None
    decision = decide_site(principal, Action(action), site_facts(session, site))
    if not decision.visible:
        raise NotFound("site not found")
    if not decision.allowed:
        raise Forbidden(decision.reason)
    return site


def visible_sites(session: Session, principal: Principal) -> list[Site]:
    """Every site the caller may read, by name."""
    sites = list(session.scalars(select(Site).order_by(Site.name)))
    consents: dict[int, dict[int, Consent]] = {}
    for site_id, program_id, consent in session.execute(
        select(Enrolment.site_id, Enrolment.program_id, Enrolment.consent)
    ):  # one query for every site's consents, not one per site
        consents.setdefault(site_id, {})[program_id] = Consent(consent)
    return [
        s
        for s in sites
        if decide_site(
            principal, Action.SITE_READ, SiteFacts(s.id, s.org_id, consents.get(s.id, {}))
        ).allowed
    ]


def authorize_org(
    session: Session, principal: Principal, org_ref: int | str, action: Action
) -> Organisation:
    """Load an organisation and check an org-level action on it (404 when not a member)."""
    org = get_org(session, org_ref)
    decision = decide_org(principal, action, org.id, OrgKind(org.kind))
    if not decision.visible:
        raise NotFound("organisation not found")
    if not decision.allowed:
        raise Forbidden(decision.reason)
    return org


def enrol(
    session: Session,
    *,
    program_ref: int | str,
    site_ref: int | str,
    consent: str = Consent.AGGREGATE,
    actor: Principal | None = None,
) -> Enrolment:
    """Enrol a site in a program (operator command); re-enrolling updates the consent."""
    program = get_org(session, program_ref)
    if program.kind != OrgKind.PROGRAM:
        raise InvalidInput(f"{program.code!r} is not a program", fields={"program": "kind"})
    site = get_site(session, site_ref)
    parsed = _parse_consent(consent)
    enrolment = session.scalar(
        select(Enrolment).where(Enrolment.program_id == program.id, Enrolment.site_id == site.id)
    )
    if enrolment is None:
        enrolment = Enrolment(program_id=program.id, site_id=site.id, consent=parsed)
        session.add(enrolment)
        audit.record(
            session,
            "program.enrolled",
            actor=actor,
            org_id=program.id,
            site_id=site.id,
            target=program.code,
            consent=parsed.value,
        )
    elif enrolment.consent != parsed:
        _change_consent(session, enrolment, parsed, actor, ip="")
    session.commit()
    return enrolment


def _parse_consent(consent: str) -> Consent:
    try:
        return Consent(consent)
    except ValueError as err:
        raise InvalidInput(
            "consent must be aggregate or details", fields={"consent": "unknown"}
        ) from err


def _change_consent(
    session: Session, enrolment: Enrolment, consent: Consent, actor: Principal | None, ip: str
) -> None:
    before = enrolment.consent
    enrolment.consent = consent
    enrolment.consent_changed_at = utcnow()
    audit.record(
        session,
        "consent.changed",
        actor=actor,
        org_id=enrolment.program_id,
        site_id=enrolment.site_id,
        target=f"program {enrolment.program_id}",
        ip=ip,
        before=before,
        after=consent.value,
    )


def set_consent(
    session: Session, principal: Principal, *, site_id: int, program_id: int, consent: str, ip: str
) -> Enrolment:
    """A site admin changes what a program may see; audited."""
    authorize_site(session, principal, site_id, Action.SITE_ADMIN)
    enrolment = session.scalar(
        select(Enrolment).where(Enrolment.program_id == program_id, Enrolment.site_id == site_id)
    )
    if enrolment is None:
        raise NotFound("enrolment not found")
    _change_consent(session, enrolment, _parse_consent(consent), principal, ip)
    session.commit()
    return enrolment


def site_enrolments(session: Session, site_id: int) -> list[tuple[Enrolment, Organisation]]:
    """The programs a site is enrolled in, with the program organisation."""
    rows = session.execute(
        select(Enrolment, Organisation)
        .join(Organisation, Organisation.id == Enrolment.program_id)
        .where(Enrolment.site_id == site_id)
    )
    return [(e, o) for e, o in rows]
