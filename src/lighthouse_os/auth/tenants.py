"""Tenants and their people: organisations, their sites, and users with their roles."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lighthouse_os.auth import audit
from lighthouse_os.auth.credentials import hash_password, password_problem
from lighthouse_os.auth.models import Membership, Organisation, Site, User, UserSession
from lighthouse_os.auth.policy import OrgKind, Principal, Role
from lighthouse_os.auth.vsic import sector
from lighthouse_os.errors import Conflict, InvalidInput, NotFound

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
