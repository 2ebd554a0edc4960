"""The PostgreSQL backend: monthly range partitions, binary COPY, ON CONFLICT DO NOTHING."""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from lighthouse_os.telemetry.store import pgcopy
from lighthouse_os.telemetry.store.base import (
    DEFAULT_DELTA_LOOKBACK,
    DEFAULT_SCHEMA,
    Retention,
    StoreUnavailable,
)
from lighthouse_os.telemetry.store.batch import split_expired
from lighthouse_os.telemetry.store.sql import (
    MEMBER,
    ROLLUP_DDL_COLUMNS,
    STAGED_KEYS,
    STAGED_LATEST,
    STAGED_ROWS,
    SqlStore,
)
from lighthouse_os.telemetry.store.template import sql_literal

PARTITIONED = {"points": "ts", "rollup_1m": "bucket"}
_PARTITION_NAME = re.compile(r"_p(\d{4})(\d{2})$")
# Writers of the same series slot refresh rollups one after the other (see `_prepare_roll_up`).
LOCK_SLOTS = 64
WORK_MEM = "64MB"
TEMP_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS _lhos_batch (series_id BIGINT, ts TIMESTAMPTZ, "
    f"value DOUBLE PRECISION, {MEMBER} BIGINT, ord BIGINT GENERATED ALWAYS AS IDENTITY) "
    "ON COMMIT DELETE ROWS",
    # Not a copy: moving inserted rows out with RETURNING cost a third of the write time.
    "CREATE OR REPLACE TEMP VIEW _lhos_new AS SELECT series_id, ts, value FROM _lhos_batch",
    "CREATE TEMP TABLE IF NOT EXISTS _lhos_touched_1m (series_id BIGINT, bucket TIMESTAMPTZ) "
    "ON COMMIT DELETE ROWS",
    "CREATE TEMP TABLE IF NOT EXISTS _lhos_touched_1h (series_id BIGINT, bucket TIMESTAMPTZ) "
    "ON COMMIT DELETE ROWS",
    *(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} (series_id BIGINT, bucket TIMESTAMPTZ) "
        "ON COMMIT DELETE ROWS"
        for name in STAGED_KEYS.values()
    ),
    *(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} ({ROLLUP_DDL_COLUMNS}) ON COMMIT DELETE ROWS"
        for name in STAGED_ROWS.values()
    ),
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGED_LATEST} (series_id BIGINT, ts TIMESTAMPTZ, "
    "value DOUBLE PRECISION) ON COMMIT DELETE ROWS",
)


def libpq_url(url: str) -> str:
    """`postgresql+psycopg://…` (SQLAlchemy style) as the `postgresql://…` libpq understands."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in {"postgresql", "postgres"}:
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return f"postgresql://{rest}"


def month_start(year: int, month: int) -> datetime:
    """Midnight UTC of the first day of a month; month 13 is January of the next year."""
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


class PostgresStore(SqlStore):
    """Time series in a PostgreSQL schema (default `lhos_ts`).

    Points and minute rollups are range-partitioned by UTC month, created when a batch first
    needs them and dropped whole by retention. A batch is copied (binary COPY) into a session
    temp table, then moved with `INSERT … ON CONFLICT DO NOTHING RETURNING`.
    """

    dialect = "postgres"
    watermark_lock = " FOR SHARE"

    def __init__(
        self,
        url: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        retention: Retention | None = None,
        delta_lookback: timedelta = DEFAULT_DELTA_LOOKBACK,
    ) -> None:
        super().__init__(schema=schema, retention=retention, delta_lookback=delta_lookback)
        try:
            self._conn = psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10)
        except psycopg.Error as err:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {err}") from err
        self._lock = threading.RLock()
        self._lock_key = zlib.crc32(self.schema.encode()) & 0x7FFFFFFF
        self._months: set[tuple[int, int]] = set()
        self._conn.execute("SET TIME ZONE 'UTC'")
        # Refreshing the rollups of a large batch sorts it; keep that sort in memory.
        self._conn.execute(f"SET work_mem = '{WORK_MEM}'")
        with self._conn.transaction():
            self._conn.execute(f"SELECT pg_advisory_xact_lock({self._lock_key})")
            for statement in self._create_statements():
                self._conn.execute(statement)
        for statement in TEMP_TABLES:
            self._conn.execute(statement)

    def _create_statements(self) -> Iterator[str]:
        yield from self._create_common()
        s = self.schema
        yield (
            f"CREATE TABLE IF NOT EXISTS {s}.points (series_id BIGINT NOT NULL, "
            "ts TIMESTAMPTZ NOT NULL, value DOUBLE PRECISION NOT NULL, "
            "PRIMARY KEY (series_id, ts)) PARTITION BY RANGE (ts)"
        )
        yield (
            f"CREATE TABLE IF NOT EXISTS {s}.rollup_1m ({ROLLUP_DDL_COLUMNS}, "
            "PRIMARY KEY (series_id, bucket)) PARTITION BY RANGE (bucket)"
        )
        yield (
            f"CREATE TABLE IF NOT EXISTS {s}.rollup_1h ({ROLLUP_DDL_COLUMNS}, "
            "PRIMARY KEY (series_id, bucket))"
        )
        # Rollup refreshes read a time slice; points arrive roughly in time order, so a block
        # range index finds the slice without scanning the month (and costs little to keep).
        for table, column in PARTITIONED.items():
            yield (
                f"CREATE INDEX IF NOT EXISTS {table}_{column}_brin ON {s}.{table} "
                f"USING brin ({column})"
            )

    # -- engine primitives -------------------------------------------------------------

    def _execute(self, sql: str) -> int:
        with self._conn.cursor() as cur:
            cur.execute(sql)
            return max(cur.rowcount, 0)

    def _scalar(self, sql: str) -> object:
        with self._conn.cursor() as cur:
            row = cur.execute(sql).fetchone()
            return row[0] if row else None

    def _fetch(self, sql: str, schema: pa.Schema) -> pa.Table:
        copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT BINARY)"
        with self._conn.cursor() as cur, cur.copy(copy_sql) as copy:
            data = b"".join(bytes(block) for block in copy)
        return pgcopy.decode(data, schema)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock, self._conn.transaction():
            yield

    def _fill_temp(self, name: str, select_sql: str) -> None:
        self._execute(f"INSERT INTO {name} {select_sql}")

    # -- write -------------------------------------------------------------------------

    def _prepare_write(self, points: pa.Table) -> None:
        """Create the monthly partitions the batch needs, in a short transaction of its own."""
        with self._lock:
            ts = split_expired(points, self._watermark("raw"))[0]["ts"]
        months = pc.unique(pc.add(pc.multiply(pc.year(ts), 12), pc.subtract(pc.month(ts), 1)))
        wanted = {divmod(int(m), 12) for m in months.to_pylist()}
        missing = sorted((year, month + 1) for year, month in wanted) if wanted else []
        missing = [month for month in missing if month not in self._months]
        if not missing:
            return
        with self._transaction():
            self._execute(f"SELECT pg_advisory_xact_lock({self._lock_key})")
            for year, month in missing:
                self._create_partitions(year, month)
        self._months.update(missing)

    def _create_partitions(self, year: int, month: int) -> None:
        lower, upper = month_start(year, month), month_start(year, month + 1)
        for table in PARTITIONED:
            self._execute(
                f"CREATE TABLE IF NOT EXISTS {self.schema}.{table}_p{year:04d}{month:02d} "
                f"PARTITION OF {self.schema}.{table} "
                f"FOR VALUES FROM ({sql_literal(lower)}) TO ({sql_literal(upper)})"
            )

    def _stage(self, name: str, table: pa.Table) -> None:
        """Copy `table` into the session temp table `name` (emptied at commit)."""
        copy_sql = f"COPY {name} ({', '.join(table.column_names)}) FROM STDIN (FORMAT BINARY)"
        with self._conn.cursor() as cur, cur.copy(copy_sql) as copy:
            copy.write(pgcopy.encode(table))

    def _insert_points(self, points: pa.Table, repeats: bool, bounds: tuple[str, str]) -> int:
        self._stage("_lhos_batch", points)
        # Within a batch the first occurrence of a key wins, as a redelivery would.
        chosen = (
            "SELECT DISTINCT ON (series_id, ts) series_id, ts, value FROM _lhos_batch "
            "ORDER BY series_id, ts, ord"
            if repeats
            else "SELECT series_id, ts, value FROM _lhos_batch"
        )
        return self._execute(
            f"INSERT INTO {self.schema}.points (series_id, ts, value) {chosen} "
            "ON CONFLICT DO NOTHING"
        )

    def _inserted_rows_sql(self, bounds: tuple[str, str]) -> str:
        # Repeats are gone from the batch by now; a stored row this transaction created has
        # our transaction id as its xmin, one stored before (or by another writer) has not.
        return (
            f"FROM _lhos_batch b JOIN {self.schema}.points p "
            "ON p.series_id = b.series_id AND p.ts = b.ts "
            f"WHERE p.ts >= {bounds[0]} AND p.ts <= {bounds[1]} "
            "AND p.xmin = pg_current_xact_id()::xid"
        )

    def _prepare_roll_up(self, repeats: bool) -> None:
        """Drop repeated keys from the batch, then take its series' slot locks in order.

        Another writer may have inserted points into the same buckets but not yet committed.
        Holding the slot until commit, and recomputing after acquiring it (each statement of
        a READ COMMITTED transaction sees what committed before it), means the last writer of
        a bucket always recomputes it from every committed point.
        """
        if repeats:
            self._execute(
                "DELETE FROM _lhos_batch a USING _lhos_batch b "
                "WHERE a.series_id = b.series_id AND a.ts = b.ts AND a.ord > b.ord"
            )
        self._execute(
            f"SELECT count(pg_advisory_xact_lock({self._lock_key}, slot)) FROM "
            f"(SELECT DISTINCT (series_id % {LOCK_SLOTS})::int AS slot FROM _lhos_new "
            "ORDER BY slot) AS slots"
        )

    # -- retention ---------------------------------------------------------------------

    def _delete_before(self, table: str, column: str, cut: datetime) -> None:
        """Drop the partitions that end at or before `cut`, then delete the rest."""
        if table in PARTITIONED:
            for name in self._partitions(table):
                found = _PARTITION_NAME.search(name)
                year, month = (int(found[1]), int(found[2])) if found else (9999, 12)
                if month_start(year, month + 1) <= cut:
                    self._execute(f"DROP TABLE {self.schema}.{name}")
                    self._months.discard((year, month))
        super()._delete_before(table, column, cut)

    def _partitions(self, table: str) -> list[str]:
        with self._conn.cursor() as cur:
            rows = cur.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent "
                "JOIN pg_namespace n ON n.oid = p.relnamespace "
                "WHERE n.nspname = %s AND p.relname = %s",
                (self.schema, table),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
