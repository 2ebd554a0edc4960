"""`lhos org|site|user|token|program …`: operator commands over the identity service."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from lighthouse_os.auth.consent import enrol
from lighthouse_os.auth.tenants import (
    SiteInput,
    create_org,
    create_site,
    create_user,
    grant_role,
    reset_password,
)
from lighthouse_os.auth.tokens import create_token
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.settings import Settings

org_app = typer.Typer(help="Organisations (tenants).", no_args_is_help=True)
site_app = typer.Typer(help="Sites (factories).", no_args_is_help=True)
user_app = typer.Typer(help="Users and roles.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for machines and scripts.", no_args_is_help=True)
program_app = typer.Typer(help="Programs and site enrolment.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@contextmanager
def _session() -> Iterator[Session]:
    """One session on the configured database; services commit their own work."""
    from lighthouse_os.cli import load_settings

    settings: Settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _out(json_out: bool, data: dict[str, object], text: str) -> None:
    from lighthouse_os.cli import console, print_json

    if json_out:
        print_json(data)
    else:
        console.print(text, highlight=False)


def _read_password(from_stdin: bool) -> tuple[str, bool]:
    """The password from stdin, or a generated one (returned so it can be shown once)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return secrets.token_urlsafe(18), True


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Option(help="Display name.")],
    kind: Annotated[str, typer.Option(help="manufacturer, program, provider or academia.")],
    code: Annotated[str | None, typer.Option(help="Short handle; derived from the name.")] = None,
    json_out: Json = False,
) -> None:
    """Register an organisation."""
    with _session() as session:
        org = create_org(session, name=name, kind=kind, code=code)
        data = {"id": org.id, "code": org.code, "name": org.name, "kind": org.kind}
    _out(json_out, data, f"organisation {org.code} (id {org.id}) created")


@site_app.command("create")
def site_create(
    org: Annotated[str, typer.Option(help="Organisation id or code.")],
    name: Annotated[str, typer.Option(help="Site name.")],
    sector: Annotated[str, typer.Option(help="VSIC 2018 code, e.g. 2599.")],
    park: Annotated[str, typer.Option(help="Industrial park or zone.")] = "",
    lat: Annotated[float | None, typer.Option(help="Latitude.")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude.")] = None,
    district: Annotated[str, typer.Option(help="District or ward.")] = "",
    code: Annotated[str | None, typer.Option(help="Handle used in MQTT topics.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "Asia/Ho_Chi_Minh",
    json_out: Json = False,
) -> None:
    """Add a factory to a manufacturer, or a station site to a program."""
    data_in = SiteInput(
        name=name,
        sector=sector,
        park=park,
        district=district,
        latitude=lat,
        longitude=lon,
        code=code,
        timezone=timezone,
    )
    with _session() as session:
        site = create_site(session, org_ref=org, data=data_in)
        data = {
            "id": site.id,
            "code": site.code,
            "name": site.name,
            "org_id": site.org_id,
            "vsic_code": site.vsic_code,
            "vsic_name": site.vsic_name,
            "park": site.park,
            "timezone": site.timezone,
        }
    _out(json_out, data, f"site {site.code} (id {site.id}) created")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    org: Annotated[str, typer.Option(help="Organisation id or code.")],
    role: Annotated[str, typer.Option(help="site_member, site_admin, assessor, …")],
    site: Annotated[str | None, typer.Option(help="Narrow the role to one site.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    json_out: Json = False,
) -> None:
    """Create a user; without --password-stdin a random password is generated and shown once."""
    password, generated = _read_password(password_stdin)
    with _session() as session:
        user = create_user(
            session, email=email, password=password, org_ref=org, role=role, site_ref=site
        )
        data: dict[str, object] = {"id": user.id, "email": user.email, "role": role}
    if generated:
        data["password"] = password
    shown = f"; password: {password}" if generated else ""
    _out(json_out, data, f"user {user.email} (id {user.id}) created{shown}")


@user_app.command("grant")
def user_grant(
    email: Annotated[str, typer.Option(help="Existing user's email.")],
    org: Annotated[str, typer.Option(help="Organisation id or code.")],
    role: Annotated[str, typer.Option(help="Role to add.")],
    site: Annotated[str | None, typer.Option(help="Narrow the role to one site.")] = None,
) -> None:
    """Give a user one more role (audited)."""
    with _session() as session:
        grant_role(session, email=email, org_ref=org, role=role, site_ref=site)
    _out(False, {}, f"{role} granted to {email}")


@user_app.command("reset-password")
def user_reset_password(
    email: Annotated[str, typer.Option(help="The user's email.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    json_out: Json = False,
) -> None:
    """Set a new password (generated unless read from stdin) and end the user's sessions."""
    password, generated = _read_password(password_stdin)
    with _session() as session:
        user = reset_password(session, email=email, password=password)
    data: dict[str, object] = {"email": user.email}
    if generated:
        data["password"] = password
    _out(
        json_out, data, f"password reset for {user.email}" + (f": {password}" if generated else "")
    )


@token_app.command("create")
def token_create(
    org: Annotated[str, typer.Option(help="Organisation id or code.")],
    scope: Annotated[str, typer.Option(help="read or write.")],
    site: Annotated[str | None, typer.Option(help="Limit the token to one site.")] = None,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
    json_out: Json = False,
) -> None:
    """Create an API token and print it once."""
    with _session() as session:
        token, plaintext = create_token(session, org_ref=org, site_ref=site, scope=scope, name=name)
        data = {
            "id": token.id,
            "token": plaintext,
            "scope": token.scope,
            "org_id": token.org_id,
            "site_id": token.site_id,
        }
    _out(json_out, data, plaintext)


@program_app.command("enrol")
def program_enrol(
    program: Annotated[str, typer.Option(help="Program organisation id or code.")],
    site: Annotated[str, typer.Option(help="Site id or code.")],
    consent: Annotated[str, typer.Option(help="aggregate or details.")] = "aggregate",
    json_out: Json = False,
) -> None:
    """Enrol a site in a program with a consent level."""
    with _session() as session:
        enrolment = enrol(session, program_ref=program, site_ref=site, consent=consent)
        data = {
            "program_id": enrolment.program_id,
            "site_id": enrolment.site_id,
            "consent": enrolment.consent,
        }
    _out(json_out, data, f"site {site} enrolled in {program} ({consent})")


def register(app: typer.Typer) -> None:
    """Attach the identity commands to `lhos`."""
    for sub, name in (
        (org_app, "org"),
        (site_app, "site"),
        (user_app, "user"),
        (token_app, "token"),
        (program_app, "program"),
    ):
        app.add_typer(sub, name=name)
