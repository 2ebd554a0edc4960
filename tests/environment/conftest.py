"""Fixtures of the environment integration tests: database, store, sink and stations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.db.base import utcnow
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.environment import monitoring, service
from lighthouse_os.environment.models import AirStation, MonitoringStation
from lighthouse_os.environment.schemas import MonitoringStationInput
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.service import TelemetryService
from lighthouse_os.telemetry.store import TimeSeriesStore, open_store
from tests.environment.environment_support import STATION, air_input
from tests.support import World


@pytest.fixture
def env_sessions(initialised_settings: Settings, world: World) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(initialised_settings.resolved_database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def env_session(env_sessions: sessionmaker[Session]) -> Iterator[Session]:
    with env_sessions() as session:
        yield session


@pytest.fixture
def env_store(initialised_settings: Settings) -> Iterator[TimeSeriesStore]:
    # The settings' own store, so the web app of the same test reads what the test wrote.
    store = open_store(initialised_settings.resolved_timeseries_url)
    yield store
    store.close()


@pytest.fixture
def env_sink(env_sessions: sessionmaker[Session], env_store: TimeSeriesStore) -> TelemetryService:
    return TelemetryService(env_sessions, env_store, clock=utcnow)


@pytest.fixture
def air_station(env_session: Session) -> AirStation:
    return service.add_air_station(env_session, program_ref="c4ir", data=air_input())


@pytest.fixture
def water_station(env_session: Session) -> MonitoringStation:
    data = MonitoringStationInput(code=STATION, site="a1", kind="wastewater", kq=0.9, kf=1.1)
    return monitoring.register_monitoring_station(env_session, data)
