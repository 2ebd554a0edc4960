"""The embedded DuckDB backend: one file, one connection guarded by a lock."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from lighthouse_os.telemetry.store.base import (
    DEFAULT_DELTA_LOOKBACK,
    DEFAULT_SCHEMA,
    Retention,
    StoreUnavailable,
)
from lighthouse_os.telemetry.store.sql import ROLLUP_DDL_COLUMNS, SqlStore

MEMORY = ":memory:"
CHECKPOINT_THRESHOLD = "64MB"


class DuckDBStore(SqlStore):
    """Time series in a DuckDB file (or in memory).

    DuckDB allows one writing process, so the store keeps one connection and serialises its
    use with a lock. The points table has no primary key: uniqueness is enforced by an
    anti-join of each batch against the stored points of the batch's time range, which
    measured 2.5x faster than `INSERT OR IGNORE` on a key and keeps the file 7x smaller
    (10 M points: 1.04 M vs 0.41 M points/s, 99 MB vs 676 MB).
    """

    dialect = "duckdb"

    def __init__(
        self,
        path: str | Path = MEMORY,
        *,
        schema: str = DEFAULT_SCHEMA,
        retention: Retention | None = None,
        delta_lookback: timedelta = DEFAULT_DELTA_LOOKBACK,
    ) -> None:
        super().__init__(schema=schema, retention=retention, delta_lookback=delta_lookback)
        try:
            self._con = duckdb.connect(str(path))
        except duckdb.Error as err:
            raise StoreUnavailable(f"cannot open DuckDB store {path}: {err}") from err
        self._lock = threading.RLock()
        self._staged: set[str] = set()
        # Rollup buckets truncate in UTC; local calendars are applied per query.
        self._con.execute("SET TimeZone = 'UTC'")
        # A commit that pushes the write-ahead log past the threshold checkpoints the file. At
        # DuckDB's 16 MB default a steady ingest checkpoints every few batches; 64 MB measured
        # about 20% faster on 100k-point batches, for at most 64 MB of log to replay on restart.
        self._con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        for statement in self._create_statements():
            self._con.execute(statement)

    def _create_statements(self) -> Iterator[str]:
        yield from self._create_common()
        s = self.schema
        yield (
            f"CREATE TABLE IF NOT EXISTS {s}.points (series_id BIGINT NOT NULL, "
            "ts TIMESTAMPTZ NOT NULL, value DOUBLE NOT NULL)"
        )
        for table in ("rollup_1m", "rollup_1h"):
            yield f"CREATE TABLE IF NOT EXISTS {s}.{table} ({ROLLUP_DDL_COLUMNS})"

    def _execute(self, sql: str) -> int:
        rows = self._con.execute(sql).fetchall()
        return int(rows[0][0]) if rows and isinstance(rows[0][0], int) else 0

    def _scalar(self, sql: str) -> object:
        rows = self._con.execute(sql).fetchall()
        return rows[0][0] if rows else None

    def _fetch(self, sql: str, schema: pa.Schema) -> pa.Table:
        table = self._con.sql(sql).to_arrow_table()
        return table.rename_columns(schema.names).cast(schema)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._con.execute("BEGIN TRANSACTION")
            try:
                yield
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def _fill_temp(self, name: str, select_sql: str) -> None:
        self._con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select_sql}")

    def _stage(self, name: str, table: pa.Table) -> None:
        self._con.register(name, table)
        self._staged.add(name)

    def _insert_points(self, points: pa.Table, repeats: bool, bounds: tuple[str, str]) -> int:
        order = pa.array(np.arange(points.num_rows, dtype=np.int64))
        self._stage("_lhos_batch", points.append_column("ord", order))
        # Within a batch the first occurrence of a key wins, as a redelivery would.
        first_only = (
            "QUALIFY row_number() OVER (PARTITION BY b.series_id, b.ts ORDER BY b.ord) = 1"
            if repeats
            else ""
        )
        self._fill_temp(
            "_lhos_new",
            "SELECT b.* EXCLUDE (ord) FROM _lhos_batch b WHERE NOT EXISTS "
            f"(SELECT 1 FROM {self.schema}.points p WHERE p.series_id = b.series_id "
            f"AND p.ts = b.ts AND p.ts >= {bounds[0]} AND p.ts <= {bounds[1]}) {first_only}",
        )
        return self._execute(
            f"INSERT INTO {self.schema}.points SELECT series_id, ts, value FROM _lhos_new"
        )

    def _inserted_rows_sql(self, bounds: tuple[str, str]) -> str:
        return "FROM _lhos_new b"  # exactly the rows `_insert_points` inserted

    def _release_batch(self) -> None:
        # Registered Arrow tables pin their batches in memory until unregistered.
        for name in self._staged:
            with contextlib.suppress(duckdb.Error):
                self._con.unregister(name)
        self._staged.clear()

    def close(self) -> None:
        """Close the connection (DuckDB checkpoints the file)."""
        with self._lock:
            self._con.close()
