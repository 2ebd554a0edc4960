"""Fixtures running the time-series store tests on DuckDB and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from lighthouse_os.telemetry.store import TimeSeriesStore, open_store
from lighthouse_os.telemetry.store.postgres import libpq_url
from tests.telemetry.store.store_reference import StoreFactory

BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def _drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def pg_store_factory(request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    """Opens PostgreSQL stores, each in a schema of its own in this session's database."""
    url: str = request.getfixturevalue("postgres_url")
    opened: list[tuple[TimeSeriesStore, str]] = []

    def factory(**options: Any) -> TimeSeriesStore:
        schema = options.pop("schema", f"lhos_ts_{uuid.uuid4().hex[:10]}")
        store = open_store(url, schema=schema, **options)
        opened.append((store, schema))
        return store

    yield factory
    for store, schema in opened:
        store.close()
        _drop_schema(url, schema)


@pytest.fixture
def duckdb_store_factory() -> Iterator[StoreFactory]:
    """Opens in-memory DuckDB stores."""
    opened: list[TimeSeriesStore] = []

    def factory(**options: Any) -> TimeSeriesStore:
        store = open_store("duckdb:///:memory:", **options)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture(params=BACKENDS)
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    """A factory of empty stores on each backend (PostgreSQL tests are marked `postgres`)."""
    name = "pg_store_factory" if request.param == "postgres" else "duckdb_store_factory"
    factory: StoreFactory = request.getfixturevalue(name)
    return factory


@pytest.fixture
def store(store_factory: StoreFactory) -> TimeSeriesStore:
    """An empty store with default settings on each backend."""
    return store_factory()
