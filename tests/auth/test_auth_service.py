"""Identity use cases: bad input is refused whole, consent changes are audited, sign-in limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lighthouse_os.auth.consent import set_consent
from lighthouse_os.auth.models import ApiToken, AuditEvent, Membership, User
from lighthouse_os.auth.policy import Grant, Principal, Role
from lighthouse_os.auth.service import authorize_site, visible_sites
from lighthouse_os.auth.sessions import (
    FAILURE_WINDOW,
    MAX_FAILURES_PER_ACCOUNT,
    MAX_FAILURES_PER_IP,
    principal_from_session,
    sign_in,
)
from lighthouse_os.auth.tenants import SiteInput, create_site, create_user, reset_password
from lighthouse_os.auth.tokens import create_token, principal_from_token, revoke_token
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from lighthouse_os.settings import Settings
from tests.support import PASSWORD, World

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def session(initialised_settings: Settings) -> Session:
    engine = make_engine(initialised_settings.resolved_database_url)
    return make_session_factory(engine)()


def _count(session: Session, model: type[User] | type[Membership] | type[AuditEvent]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    ("email", "password", "role", "error", "field"),
    [
        ("member@a.vn", PASSWORD, "site_member", Conflict, "email"),
        ("new@a.vn", "short", "site_member", InvalidInput, "password"),
        ("new@a.vn", "password1234", "site_member", InvalidInput, "password"),
        ("new@a.vn", PASSWORD, "boss", InvalidInput, "role"),
        ("not-an-email", PASSWORD, "site_member", InvalidInput, "email"),
        ("new@a.vn", PASSWORD, "program_admin", InvalidInput, "role"),
    ],
)
def test_create_user_refuses_bad_input_and_creates_nothing(
    session: Session,
    world: World,
    email: str,
    password: str,
    role: str,
    error: type[Exception],
    field: str,
) -> None:
    users, memberships = _count(session, User), _count(session, Membership)
    with pytest.raises(error) as caught:
        create_user(
            session, email=email, password=password, org_ref="org-a", role=role, site_ref="a1"
        )
    assert field in caught.value.fields  # type: ignore[attr-defined]
    session.rollback()
    assert (_count(session, User), _count(session, Membership)) == (users, memberships)


def test_create_user_email_is_case_insensitive(session: Session, world: World) -> None:
    with pytest.raises(Conflict):
        create_user(
            session, email="MEMBER@A.VN", password=PASSWORD, org_ref="org-a", role="site_member"
        )


def test_create_site_rejects_unknown_sector_and_bad_coordinates(
    session: Session, world: World
) -> None:
    data = SiteInput("X", "9999", latitude=95.0)
    with pytest.raises(InvalidInput) as caught:
        create_site(session, org_ref="org-a", data=data)
    assert set(caught.value.fields) == {"sector", "latitude"}


def test_create_site_names_the_vsic_division(session: Session, world: World) -> None:
    site = create_site(session, org_ref="org-b", data=SiteInput("Nhà máy Bình Chánh", "C10501"))
    assert site.code == "nha-may-binh-chanh"
    assert site.vsic_name == "Sản xuất, chế biến thực phẩm"


def test_token_is_stored_hashed_and_resolves_to_its_scope(session: Session, world: World) -> None:
    plaintext = world.tokens["a1_write"]
    stored = session.scalars(select(ApiToken.secret_hash)).all()
    assert all(plaintext.split("_", 2)[2] not in h for h in stored)
    principal = principal_from_token(session, plaintext, ip="10.0.0.1", now=NOW)
    assert principal is not None
    assert principal.token is not None
    assert principal.token.site_id == world.a1


def test_token_revoked_no_longer_authenticates(session: Session, world: World) -> None:
    admin_id = session.scalar(select(User.id).where(User.email == "admin@a.vn"))
    admin = Principal(user_id=admin_id, grants=(Grant(world.org_a, Role.SITE_ADMIN, world.a1),))
    token, plaintext = create_token(session, org_ref="org-a", site_ref="a1", scope="read")
    revoke_token(session, admin, token.id, NOW)
    assert principal_from_token(session, plaintext, ip="", now=NOW) is None


def test_token_use_is_recorded_once_per_interval(session: Session, world: World) -> None:
    plaintext = world.tokens["a1_read"]
    for minutes in (0, 0, 5, 90):
        principal_from_token(session, plaintext, ip="", now=NOW + timedelta(minutes=minutes))
    used = session.scalars(select(AuditEvent).where(AuditEvent.action == "token.used")).all()
    assert len(used) == 2  # at 0 and at 90 minutes


def test_sign_in_is_rate_limited_per_account(session: Session, world: World) -> None:
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(InvalidInput):
            sign_in(
                session,
                email="member@a.vn",
                password="wrong-password!",
                ip="1.1.1.1",
                user_agent="",
                now=NOW,
            )
    with pytest.raises(TooManyRequests):
        sign_in(
            session, email="member@a.vn", password=PASSWORD, ip="2.2.2.2", user_agent="", now=NOW
        )
    later = NOW + FAILURE_WINDOW + timedelta(seconds=1)
    user, _sid = sign_in(
        session, email="member@a.vn", password=PASSWORD, ip="2.2.2.2", user_agent="", now=later
    )
    assert user.email == "member@a.vn"


def test_sign_in_is_rate_limited_per_address(session: Session, world: World) -> None:
    for n in range(MAX_FAILURES_PER_IP):
        with pytest.raises(InvalidInput):
            sign_in(
                session,
                email=f"nobody{n}@x.vn",
                password="x" * 12,
                ip="3.3.3.3",
                user_agent="",
                now=NOW,
            )
    with pytest.raises(TooManyRequests):
        sign_in(
            session, email="admin@a.vn", password=PASSWORD, ip="3.3.3.3", user_agent="", now=NOW
        )


def test_consent_change_is_audited_and_takes_effect(session: Session, world: World) -> None:
    admin = Principal(user_id=2, grants=(Grant(world.org_a, Role.SITE_ADMIN, world.a1),))
    program = Principal(user_id=5, grants=(Grant(world.program, Role.PROGRAM_ADMIN),))
    assert [s.code for s in visible_sites(session, program)] == ["a1"]
    set_consent(
        session,
        admin,
        site_id=world.a1,
        program_id=world.program,
        consent="aggregate",
        ip="9.9.9.9",
    )
    assert visible_sites(session, program) == []
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "consent.changed")).one()
    assert (event.detail, event.ip, event.site_id) == (
        {"before": "details", "after": "aggregate"},
        "9.9.9.9",
        world.a1,
    )


def test_authorize_site_hides_foreign_sites_as_not_found(session: Session, world: World) -> None:
    member = Principal(user_id=1, grants=(Grant(world.org_a, Role.SITE_MEMBER, world.a1),))
    with pytest.raises(NotFound):
        authorize_site(session, member, world.b1, "site.read")
    with pytest.raises(NotFound):
        authorize_site(session, member, "no-such-site", "site.read")


def test_reset_password_ends_sessions(session: Session, world: World) -> None:
    _user, sid = sign_in(
        session, email="admin@a.vn", password=PASSWORD, ip="", user_agent="", now=NOW
    )
    assert principal_from_session(session, sid, NOW) is not None
    reset_password(session, email="admin@a.vn", password="another long pass phrase")
    assert principal_from_session(session, sid, NOW) is None


def test_program_may_own_a_station_site_without_sector(session: Session, world: World) -> None:
    station = create_site(session, org_ref="c4ir", data=SiteInput("Trạm Quận 1", "", code="aq-q1"))
    assert (station.org_id, station.vsic_code) == (world.program, "")


def test_provider_cannot_own_sites(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        create_site(session, org_ref="prov", data=SiteInput("X", "2592"))
    assert "org" in caught.value.fields


def test_create_site_keeps_its_time_zone_and_refuses_unknown_ones(
    session: Session, world: World
) -> None:
    seoul = SiteInput("Steel plant", "2410", code="steel", timezone="Asia/Seoul")
    assert create_site(session, org_ref="org-b", data=seoul).timezone == "Asia/Seoul"
    with pytest.raises(InvalidInput) as caught:
        create_site(session, org_ref="org-b", data=SiteInput("X", "2410", timezone="Mars/Base"))
    assert "timezone" in caught.value.fields
