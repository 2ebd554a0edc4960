"""Shared fixtures: isolated settings, the app, and real PostgreSQL and MQTT services."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from lighthouse_os.app import create_app
from lighthouse_os.auth.credentials import use_cheap_hashing_for_tests
from lighthouse_os.bootstrap import initialise
from lighthouse_os.settings import Settings
from tests.support import (
    MQTT_URL,
    POSTGRES_URL,
    World,
    make_settings,
    seed_world,
    service_missing,
)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> None:
    use_cheap_hashing_for_tests()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def initialised_settings(settings: Settings) -> Settings:
    initialise(settings)
    return settings


@pytest.fixture
def world(initialised_settings: Settings) -> World:
    """Tenants, users of every role and tokens (see `tests.support.World`)."""
    return seed_world(initialised_settings)


@pytest.fixture
def client(initialised_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(initialised_settings)) as test_client:
        yield test_client


def _libpq_url(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The SQLAlchemy URL of the maintenance database on the test PostgreSQL server."""
    try:
        with psycopg.connect(_libpq_url(POSTGRES_URL), connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        service_missing("PostgreSQL", str(exc).splitlines()[0])
    return POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for this test session, dropped at the end."""
    name = f"lhos_test_{uuid.uuid4().hex[:12]}"
    admin = _libpq_url(postgres_server)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(postgres_server).set(database=name).render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    """The URL of the real MQTT broker (Mosquitto)."""
    parsed = urlparse(MQTT_URL)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 1883
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
    except OSError as exc:
        service_missing("MQTT broker", str(exc))
    return MQTT_URL
