"""Fixtures of the asset tests: a migrated SQLite database with the access-test world."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.auth.models import Site
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.settings import Settings
from tests.support import World


@pytest.fixture
def sf_sessions(initialised_settings: Settings, world: World) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(initialised_settings.resolved_database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def sf_session(sf_sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sf_sessions() as session:
        yield session


@pytest.fixture
def site_a1(sf_session: Session, world: World) -> Site:
    site = sf_session.get(Site, world.a1)
    if site is None:
        raise LookupError("the world has no site a1")
    return site
