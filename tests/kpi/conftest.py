"""Fixtures of the KPI engine tests: the store and a KPI reader on DuckDB and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from lighthouse_os.kpi.queries import KpiReader, open_reader
from lighthouse_os.telemetry.store import TimeSeriesStore, open_store
from lighthouse_os.telemetry.store.postgres import libpq_url

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
