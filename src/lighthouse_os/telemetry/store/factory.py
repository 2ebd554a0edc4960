"""`open_store(url)`: the time-series backend named by a URL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.store.base import (
    DEFAULT_DELTA_LOOKBACK,
    DEFAULT_SCHEMA,
    Retention,
    TimeSeriesStore,
)

DUCKDB_PREFIX = "duckdb:///"


def open_store(
    url: str,
    *,
    schema: str = DEFAULT_SCHEMA,
    retention: Retention | None = None,
    delta_lookback: timedelta = DEFAULT_DELTA_LOOKBACK,
) -> TimeSeriesStore:
    """Open (creating if needed) the store at `url`.

    - `duckdb:///:memory:`: an in-memory DuckDB store (tests, demos).
    - `duckdb:///relative/file.duckdb` or `duckdb:////absolute/file.duckdb`: a DuckDB file;
      as in SQLAlchemy URLs, the path is what follows the third slash.
    - `postgresql://…`, `postgresql+psycopg://…`: a PostgreSQL database; tables live in
      `schema`, so several stores (or test runs) can share one database.
    """
    options = {"schema": schema, "retention": retention, "delta_lookback": delta_lookback}
    if url.startswith(DUCKDB_PREFIX):
        from lighthouse_os.telemetry.store.duckdb import DuckDBStore

        path = url.removeprefix(DUCKDB_PREFIX)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return DuckDBStore(path, **options)  # type: ignore[arg-type]
    if url.split("://")[0].split("+")[0] in {"postgresql", "postgres"}:
        from lighthouse_os.telemetry.store.postgres import PostgresStore

        return PostgresStore(url, **options)  # type: ignore[arg-type]
    scheme = url.partition(":")[0]
    raise InvalidInput(
        f"unsupported time-series store URL scheme {scheme!r}; use duckdb:/// or postgresql://",
        fields={"timeseries_url": "scheme"},
    )
