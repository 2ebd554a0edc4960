"""Tests of `open_store`: URL schemes, DuckDB file paths and connection failures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.store import StoreUnavailable, open_store
from lighthouse_os.telemetry.store.duckdb import DuckDBStore
from lighthouse_os.telemetry.store.postgres import libpq_url
from tests.telemetry.store.store_reference import batch, rows

POINT = (7, datetime(2024, 1, 1, tzinfo=UTC), 1.5)


def test_open_store_keeps_a_duckdb_file_across_reopening(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'nested' / 'ts.duckdb'}"  # absolute: four slashes
    with open_store(url) as store:
        store.write(batch([POINT]))
    with open_store(url) as store:
        assert rows(store.latest([7])) == [POINT]
    assert (tmp_path / "nested" / "ts.duckdb").is_file()


def test_open_store_reads_a_relative_duckdb_path_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("duckdb:///data/ts.duckdb") as store:
        assert isinstance(store, DuckDBStore)
    assert (tmp_path / "data" / "ts.duckdb").is_file()


def test_open_store_opens_duckdb_in_memory() -> None:
    with open_store("duckdb:///:memory:") as store:
        assert store.write(batch([POINT])).inserted == 1


@pytest.mark.parametrize("url", ["sqlite:///x.db", "duckdb://x.duckdb", "timescale://h/db"])
def test_open_store_refuses_other_schemes(url: str) -> None:
    with pytest.raises(InvalidInput, match="unsupported time-series store URL"):
        open_store(url)


def test_open_store_refuses_a_schema_name_that_is_not_an_identifier() -> None:
    with pytest.raises(InvalidInput, match="schema name"):
        open_store("duckdb:///:memory:", schema="lhos; DROP")


def test_open_store_reports_an_unreachable_postgres_server() -> None:
    with pytest.raises(StoreUnavailable, match="cannot connect"):
        open_store("postgresql+psycopg://postgres@127.0.0.1:1/none")


@pytest.mark.parametrize(
    ("url", "libpq"),
    [
        ("postgresql+psycopg://u@h:5432/db", "postgresql://u@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgres://h/db?sslmode=require", "postgresql://h/db?sslmode=require"),
    ],
)
def test_libpq_url_drops_the_sqlalchemy_driver(url: str, libpq: str) -> None:
    assert libpq_url(url) == libpq
