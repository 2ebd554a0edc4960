"""Helpers shared by tests (importable as `tests.support`)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lighthouse_os.settings import Settings

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
POSTGRES_URL = os.environ.get(
    "LHOS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MQTT_URL = os.environ.get("LHOS_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def service_missing(what: str, reason: str) -> None:
    """In CI a missing service is a failure, never a silent skip; locally it is a skip."""
    message = f"{what} is not reachable ({reason}); .ci/run starts it in CI"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings that ignore the developer's environment and .env file."""
    values: dict[str, object] = {"data_dir": data_dir, "secret_key": TEST_SECRET, **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class World:
    """Two manufacturers, a program and one user per role, for access tests.

    Site `a1` (org A) is enrolled in the program with consent `details`; site `b1` (org B) with
    consent `aggregate`. Tokens are the plaintexts, shown once at creation.
    """

    org_a: int
    org_b: int
    program: int
    a1: int
    a2: int
    b1: int
    users: dict[str, str]  # role label -> email
    tokens: dict[str, str]  # label -> plaintext


def seed_world(settings: Settings) -> World:
    """Create the access-test world through the real services."""
    from lighthouse_os.auth.consent import enrol
    from lighthouse_os.auth.tenants import SiteInput, create_org, create_site, create_user
    from lighthouse_os.auth.tokens import create_token
    from lighthouse_os.db.engine import make_engine, make_session_factory

    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        org_a = create_org(s, name="Org A", kind="manufacturer", code="org-a")
        org_b = create_org(s, name="Org B", kind="manufacturer", code="org-b")
        program = create_org(s, name="C4IR HCMC pilot", kind="program", code="c4ir")
        provider = create_org(s, name="Provider", kind="provider", code="prov")
        a1 = create_site(s, org_ref="org-a", data=SiteInput("A1", "2592", code="a1"))
        a2 = create_site(s, org_ref="org-a", data=SiteInput("A2", "2592", code="a2"))
        b1 = create_site(s, org_ref="org-b", data=SiteInput("B1", "1050", code="b1"))
        enrol(s, program_ref="c4ir", site_ref="a1", consent="details")
        enrol(s, program_ref="c4ir", site_ref="b1", consent="aggregate")
        users = {
            "member": ("member@a.vn", "org-a", "site_member", "a1"),
            "admin": ("admin@a.vn", "org-a", "site_admin", "a1"),
            "assessor": ("assessor@a.vn", "org-a", "assessor", "a1"),
            "program": ("program@c4ir.vn", "c4ir", "program_admin", None),
            "contributor": ("contrib@prov.vn", "prov", "contributor", None),
            "platform": ("root@lhos.vn", "prov", "platform_admin", None),
        }
        for email, org, role, site in users.values():
            create_user(s, email=email, password=PASSWORD, org_ref=org, role=role, site_ref=site)
        tokens = {
            "a1_write": create_token(s, org_ref="org-a", site_ref="a1", scope="write")[1],
            "a1_read": create_token(s, org_ref="org-a", site_ref="a1", scope="read")[1],
            "b1_write": create_token(s, org_ref="org-b", site_ref="b1", scope="write")[1],
        }
        world = World(
            org_a.id,
            org_b.id,
            program.id,
            a1.id,
            a2.id,
            b1.id,
            {label: u[0] for label, u in users.items()},
            tokens,
        )
        _ = provider
    engine.dispose()
    return world


def csrf_token(client: TestClient) -> str:
    """Fetch a page so the client holds the CSRF cookie; return the matching form token."""
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if found is None:
        raise AssertionError("the sign-in page carries no CSRF token")
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Sign the test client in through the real form."""
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise AssertionError(f"sign-in failed with {response.status_code}")
