"""Fixtures of the KPI engine tests: the store and a KPI reader on DuckDB and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.base import utcnow
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.kpi.queries import KpiReader, open_reader
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.service import TelemetryService
from lighthouse_os.telemetry.store import TimeSeriesStore, open_store
from lighthouse_os.telemetry.store.postgres import libpq_url
from tests.support import World

BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Backend:
    """A store and a KPI reader on the same database."""

    name: str
    store: TimeSeriesStore
    reader: KpiReader


def _duckdb(tmp_path: Path) -> Iterator[Backend]:
    url = f"duckdb:///{tmp_path / 'kpi.duckdb'}"
    store = open_store(url)
    reader = open_reader(url)
    yield Backend("duckdb", store, reader)
    reader.close()
    store.close()


def _postgres(url: str) -> Iterator[Backend]:
    schema = f"lhos_kpi_{uuid.uuid4().hex[:10]}"
    store = open_store(url, schema=schema)
    reader = open_reader(url, schema=schema)
    yield Backend("postgres", store, reader)
    reader.close()
    store.close()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """An empty store and its KPI reader, on each backend."""
    if request.param == "postgres":
        yield from _postgres(request.getfixturevalue("postgres_url"))
    else:
        yield from _duckdb(tmp_path)


BackendFactory = Callable[[], Backend]


HISTORY_HOURS = 30.0


@pytest.fixture
def factory_site(initialised_settings: Settings, world: World) -> Settings:
    """Site a1 with two simulated machines (one line) and 30 h of history through the sink."""
    from lighthouse_os.kpi.demo import provision
    from lighthouse_os.simulator.commands import run_factory
    from lighthouse_os.simulator.publish import SinkPublisher, factory_specs

    engine = make_engine(initialised_settings.resolved_database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        provision(session, get_site(session, "a1"), factory_specs(2))
    sink = TelemetryService(sessions, open_store(initialised_settings.resolved_timeseries_url))
    start = (utcnow() - timedelta(hours=HISTORY_HOURS)).replace(microsecond=0)
    try:
        run_factory(
            SinkPublisher(sink, "a1"),
            machines=2,
            seed=9,
            start=start,
            hours=HISTORY_HOURS,
            speed=0,
            sample_s=60,
        )
    finally:
        sink.close()
        engine.dispose()
    return initialised_settings
