"""Fixtures of the write-path tests: the access-test world, a DuckDB store and the sink."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.assets import service as assets
from lighthouse_os.auth.models import Site
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.service import TelemetryService
from lighthouse_os.telemetry.store import TimeSeriesStore, open_store
from tests.support import World

SF_NOW = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 08:00 in Ho Chi Minh City
SF_ASSETS = b"""
nodes:
  - {path: line1, level: line}
  - {path: line1/press2, level: machine, asset_type: press}
tags:
  - {path: line1/press2/kwh, unit: kW.h, kind: counter}
  - {path: line1/press2/power, unit: kW, kind: gauge, scale: 0.001}
  - {path: line1/press2/state, unit: "1", kind: state, states: [off, idle, run, fault]}
"""


@pytest.fixture
def sf_sessions(initialised_settings: Settings, world: World) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(initialised_settings.resolved_database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        site = session.get(Site, world.a1)
        assert site is not None
        assets.import_assets(session, site, assets.rows_from_file("a.yaml", SF_ASSETS))
    yield factory
    engine.dispose()


@pytest.fixture
def sf_store(tmp_path: Path) -> Iterator[TimeSeriesStore]:
    store = open_store(f"duckdb:///{tmp_path / 'ts.duckdb'}")
    yield store
    store.close()


@pytest.fixture
def sf_sink(sf_sessions: sessionmaker[Session], sf_store: TimeSeriesStore) -> TelemetryService:
    return TelemetryService(sf_sessions, sf_store, clock=lambda: SF_NOW)
