"""The store algorithm shared by the SQL backends: write, roll up, retain and query."""

from __future__ import annotations

import abc
import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.store import pieces, queries
from lighthouse_os.telemetry.store.base import (
    AGGREGATE_SCHEMA,
    DEFAULT_DELTA_LOOKBACK,
    DEFAULT_SCHEMA,
    DEFAULT_TZ,
    POINT_SCHEMA,
    AggFn,
    Every,
    Retention,
    RetentionResult,
    WriteResult,
    check_query,
)
from lighthouse_os.telemetry.store.batch import (
    conform_batch,
    sort_by_key,
    split_expired,
    ts_bounds,
)
from lighthouse_os.telemetry.store.group import GroupCommit
from lighthouse_os.telemetry.store.plan import (
    HOUR,
    MINUTE,
    Level,
    Tile,
    floor_to,
    require_aware,
    retention_cutoff,
    tiles,
    top_level,
    zone,
)
from lighthouse_os.telemetry.store.template import sql_literal

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Watermark key, table, time column, and the grain the cut is floored to.
RETAINED = (
    ("raw", "points", "ts", MINUTE),
    ("minute", "rollup_1m", "bucket", HOUR),
    ("hour", "rollup_1h", "bucket", HOUR),
)
# Arrow tables a write stages for SQL to read: new rollup keys, merged rows, latest points.
STAGED_KEYS = {Level.MINUTE: "_lhos_keys_1m", Level.HOUR: "_lhos_keys_1h"}
STAGED_ROWS = {Level.MINUTE: "_lhos_rows_1m", Level.HOUR: "_lhos_rows_1h"}
STAGED_LATEST = "_lhos_latest"
# The column numbering the batches of a group (`GroupCommit`) in order; a lone write has none.
MEMBER = "member"
MEMBER_COUNTS = pa.schema([pa.field(MEMBER, pa.int64()), pa.field("count", pa.int64())])
# A group takes queued batches up to this many points (one larger batch goes alone).
GROUP_MAX_POINTS = 500_000
ROLLUP_DDL_COLUMNS = (
    "series_id BIGINT NOT NULL, bucket TIMESTAMPTZ NOT NULL, count BIGINT NOT NULL, "
    "sum DOUBLE PRECISION NOT NULL, min DOUBLE PRECISION NOT NULL, "
    "max DOUBLE PRECISION NOT NULL, first DOUBLE PRECISION NOT NULL, "
    "last DOUBLE PRECISION NOT NULL, first_ts TIMESTAMPTZ NOT NULL, "
    "last_ts TIMESTAMPTZ NOT NULL, delta_in DOUBLE PRECISION NOT NULL"
)


def check_identifier(name: str) -> str:
    """`name` if it is a plain lower-case SQL identifier, safe to embed unquoted."""
    if not _IDENTIFIER.fullmatch(name):
        raise InvalidInput(f"schema name {name!r} must match {_IDENTIFIER.pattern}")
    return name


class SqlStore(abc.ABC):
    """A `TimeSeriesStore` over one SQL connection; subclasses supply the engine primitives."""

    dialect: str
    # Appended to the watermark read in `write`; PostgreSQL shares a row lock with retention.
    watermark_lock = ""

    def __init__(
        self,
        *,
        schema: str = DEFAULT_SCHEMA,
        retention: Retention | None = None,
        delta_lookback: timedelta = DEFAULT_DELTA_LOOKBACK,
    ) -> None:
        self.schema = check_identifier(schema)
        self.retention = retention or Retention()
        self.delta_lookback = delta_lookback
        self._commits = GroupCommit(self._write_group, max_size=GROUP_MAX_POINTS)

    # -- engine primitives -------------------------------------------------------------

    @abc.abstractmethod
    def _execute(self, sql: str) -> int:
        """Run one statement; the number of rows it affected (or returned)."""

    @abc.abstractmethod
    def _fetch(self, sql: str, schema: pa.Schema) -> pa.Table:
        """Run a query whose columns match `schema` (int8, timestamptz, float8)."""

    @abc.abstractmethod
    def _scalar(self, sql: str) -> object:
        """The single value a query returns."""

    @abc.abstractmethod
    def _transaction(self) -> AbstractContextManager[None]:
        """Hold the connection lock and one committed-or-rolled-back transaction."""

    @abc.abstractmethod
    def _fill_temp(self, name: str, select_sql: str) -> None:
        """Make temp table `name` hold exactly the rows of `select_sql` for this transaction."""

    @abc.abstractmethod
    def _stage(self, name: str, table: pa.Table) -> None:
        """Make `table` readable as `name` (one of `STAGED`) until the write transaction ends."""

    @abc.abstractmethod
    def _insert_points(self, points: pa.Table, repeats: bool, bounds: tuple[str, str]) -> int:
        """Stage the batch as `_lhos_batch`, insert its unseen keys (first occurrence wins)
        into points and return how many were inserted."""

    @abc.abstractmethod
    def _inserted_rows_sql(self, bounds: tuple[str, str]) -> str:
        """`FROM … WHERE …` naming as `b` the rows of `_lhos_batch` this transaction inserted
        (after `_prepare_roll_up`), for counting them per batch of a group."""

    def _prepare_write(self, points: pa.Table) -> None:
        """Work outside the write transaction, e.g. creating partitions."""
        return None

    def _release_batch(self) -> None:
        """Drop what `_insert_points` staged outside the transaction."""
        return None

    def _prepare_roll_up(self, repeats: bool) -> None:
        """Leave in `_lhos_new` the first occurrence of each key of the batch (at least every
        inserted point; an already stored key does no harm) and serialise the refreshes of
        its series between concurrent writers."""
        return None

    def _delete_before(self, table: str, column: str, cut: datetime) -> None:
        self._execute(f"DELETE FROM {self.schema}.{table} WHERE {column} < {sql_literal(cut)}")

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------

    def _create_common(self) -> Iterator[str]:
        """DDL shared by both engines (the points and rollup tables differ)."""
        s = self.schema
        yield f"CREATE SCHEMA IF NOT EXISTS {s}"
        yield (
            f"CREATE TABLE IF NOT EXISTS {s}.latest (series_id BIGINT PRIMARY KEY, "
            "ts TIMESTAMPTZ NOT NULL, value DOUBLE PRECISION NOT NULL)"
        )
        yield f"CREATE TABLE IF NOT EXISTS {s}.meta (key VARCHAR PRIMARY KEY, ts TIMESTAMPTZ)"
        yield (
            f"INSERT INTO {s}.meta (key) VALUES ('raw'), ('minute'), ('hour') "
            "ON CONFLICT (key) DO NOTHING"
        )

    # -- write -------------------------------------------------------------------------

    def write(self, batch: pa.Table) -> WriteResult:
        """Store a batch idempotently on (series_id, ts); see `WriteResult` for the counts.

        Duplicates within the batch keep their first occurrence. Only the minute and hour
        buckets the new points fall in are recomputed. Concurrent calls may share one
        transaction (`group.GroupCommit`); each still gets the counts it would have got
        writing alone in its turn.
        """
        points = conform_batch(batch)
        if points.num_rows == 0:
            return WriteResult(0, 0)
        return self._commits.submit(points, points.num_rows)

    def _write_group(self, batches: Sequence[pa.Table]) -> list[WriteResult]:
        """Write conformed batches in one transaction, as if one after the other in order."""
        points = batches[0]
        if len(batches) > 1:  # a lone batch needs no member column: it costs ~5% at 100k points
            sizes = [b.num_rows for b in batches]
            member = np.repeat(np.arange(len(batches), dtype=np.int64), sizes)
            points = pa.concat_tables(batches).append_column(MEMBER, pa.array(member))
        # Sorted outside the lock, stably: of keys repeated across batches the earlier batch's
        # stays first. Dropping expired points later keeps the order.
        points, repeats = sort_by_key(points)
        self._prepare_write(points)
        with self._transaction():
            try:
                return self._write_in_transaction(points, repeats, len(batches))
            finally:
                self._release_batch()

    def _write_in_transaction(
        self, points: pa.Table, repeats: bool, members: int
    ) -> list[WriteResult]:
        received = _per_member(points, members)
        points, _ = split_expired(points, self._watermark("raw", self.watermark_lock))
        kept = _per_member(points, members)
        expired = received - kept
        inserted = conflicts = np.zeros(members, dtype=np.int64)
        if points.num_rows:
            first, last = ts_bounds(points)
            bounds = (sql_literal(first), sql_literal(last))
            inserted_in_all = self._insert_points(points, repeats, bounds)
            if inserted_in_all < points.num_rows:
                conflicts = self._count_conflicts(bounds, members)
            if inserted_in_all:
                self._prepare_roll_up(repeats)
                inserted = (
                    np.array([inserted_in_all])
                    if members == 1
                    else self._count_members(self._inserted_rows_sql(bounds), members)
                )
                # Every point new and unrepeated: the batch itself is what was inserted.
                appended = inserted_in_all == points.num_rows and not repeats
                if not (appended and self._merge_rollups(points)):
                    self._roll_up(first, last)
        duplicates = kept - inserted - conflicts
        return [
            WriteResult(int(i), int(d), int(c), int(e))
            for i, d, c, e in zip(inserted, duplicates, conflicts, expired, strict=True)
        ]

    def _watermark(self, key: str, lock: str = "") -> datetime | None:
        value = self._scalar(f"SELECT ts FROM {self.schema}.meta WHERE key = '{key}'{lock}")
        return value if isinstance(value, datetime) else None

    def _count_conflicts(self, bounds: tuple[str, str], members: int) -> np.ndarray:
        """Per batch of the group: points whose key is stored with another value (by an
        earlier write, or earlier in the group; the stored one was kept)."""
        return self._count_members(
            f"FROM _lhos_batch b JOIN {self.schema}.points p "
            "ON p.series_id = b.series_id AND p.ts = b.ts "
            f"WHERE p.ts >= {bounds[0]} AND p.ts <= {bounds[1]} AND p.value <> b.value",
            members,
        )

    def _count_members(self, from_where: str, members: int) -> np.ndarray:
        """`count(*)` of `from_where` (rows `b` of the staged batch) per batch of the group."""
        if members == 1:
            count = self._scalar(f"SELECT count(*) {from_where}")
            return np.array([count if isinstance(count, int) else 0])
        counts = self._fetch(
            f"SELECT b.{MEMBER}, count(*) {from_where} GROUP BY b.{MEMBER}", MEMBER_COUNTS
        )
        per_member = np.zeros(members, dtype=np.int64)
        per_member[counts[MEMBER].to_numpy()] = counts["count"].to_numpy()
        return per_member

    def _merge_rollups(self, points: pa.Table) -> bool:
        """Fold the new points into the rollups in memory; False (nothing changed) when they
        interleave with stored samples of a bucket, which must then be recomputed.

        The usual write appends each series after its stored samples: its pieces are computed
        from the batch and combined with the stored rows of the buckets it touches, so the
        stored points are never re-read.
        """
        minute = pieces.combine(pieces.point_pieces(points), MINUTE, presorted=True)
        new = {Level.MINUTE: minute, Level.HOUR: pieces.combine(minute, HOUR)}
        # Taken out of the table, not just read: one statement instead of two. When the pieces
        # interleave, `_roll_up` recomputes exactly these buckets from the points anyway.
        stored = {level: self._take_stored_pieces(level, rows) for level, rows in new.items()}
        if any(pieces.overlapping(stored[level], new[level]) for level in new):
            return False
        columns = ", ".join(queries.ROLLUP_COLUMNS)
        for level, rows in new.items():
            merged = pieces.combine(pa.concat_tables([stored[level], rows]), level.grain)
            self._stage(STAGED_ROWS[level], merged)
            self._execute(
                f"INSERT INTO {self.schema}.{queries.ROLLUP_TABLES[level]} ({columns}) "
                f"SELECT {columns} FROM {STAGED_ROWS[level]}"
            )
        self._stage(STAGED_LATEST, pieces.latest_points(minute))
        self._upsert_latest(f"SELECT series_id, ts, value FROM {STAGED_LATEST}")
        return True

    def _take_stored_pieces(self, level: Level, new: pa.Table) -> pa.Table:
        """Delete and return the stored rollup rows of `level` for the keys of `new`."""
        keys, table = STAGED_KEYS[level], queries.ROLLUP_TABLES[level]
        self._stage(keys, new.select(["series_id", "bucket"]))
        lo, hi = _bucket_range(new, level)
        columns = ", ".join(f"r.{name}" for name in queries.ROLLUP_COLUMNS)
        return self._fetch(
            f"DELETE FROM {self.schema}.{table} AS r USING {keys} k "
            "WHERE k.series_id = r.series_id AND k.bucket = r.bucket "
            f"AND r.bucket >= {sql_literal(lo)} AND r.bucket < {sql_literal(hi)} "
            f"RETURNING {columns}",
            pieces.PIECE_SCHEMA,
        )

    def _upsert_latest(self, select_sql: str) -> None:
        self._execute(
            f"INSERT INTO {self.schema}.latest AS cur (series_id, ts, value) {select_sql} "
            "ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value "
            "WHERE excluded.ts > cur.ts"
        )

    def _roll_up(self, first: datetime, last: datetime) -> None:
        for level, table in queries.ROLLUP_TABLES.items():
            touched = queries.TOUCHED[level]
            self._fill_temp(touched, queries.touched_template(level, self.dialect).render())
            lo, hi = floor_to(first, level.grain), floor_to(last, level.grain) + level.grain
            self._execute(
                f"DELETE FROM {self.schema}.{table} AS r WHERE r.bucket >= {sql_literal(lo)} "
                f"AND r.bucket < {sql_literal(hi)} AND EXISTS (SELECT 1 FROM {touched} k "
                "WHERE k.series_id = r.series_id AND k.bucket = r.bucket)"
            )
            refresh = queries.refresh_template(self.schema, level, self.dialect)
            columns = ", ".join(queries.ROLLUP_COLUMNS)
            self._execute(
                f"INSERT INTO {self.schema}.{table} ({columns}) {refresh.render(lo=lo, hi=hi)}"
            )
        self._upsert_latest(queries.latest_of_touched_template(self.schema, self.dialect).render())

    # -- retention ---------------------------------------------------------------------

    def apply_retention(self, now: datetime) -> RetentionResult:
        """Delete raw points, minute and hour rollups older than their retention at `now`.

        Cuts only move forward; a write of a point older than the raw cut counts it as expired.
        """
        now = require_aware(now, "now")
        keep = {"raw": self.retention.raw, "minute": self.retention.minute}
        keep["hour"] = self.retention.hour
        with self._transaction():
            for key, table, column, grain in RETAINED:
                cut = retention_cutoff(now, keep[key], grain)
                if cut is not None:
                    self._delete_before(table, column, self._advance(key, cut))
            cuts = [self._watermark(key) for key, *_ in RETAINED]
        return RetentionResult(*cuts)

    def _advance(self, key: str, cut: datetime) -> datetime:
        self._execute(
            f"UPDATE {self.schema}.meta SET ts = {sql_literal(cut)} WHERE key = '{key}' "
            f"AND (ts IS NULL OR ts < {sql_literal(cut)})"
        )
        return self._watermark(key) or cut

    # -- queries -----------------------------------------------------------------------

    def raw(self, series_ids: Sequence[int], start: datetime, end: datetime) -> pa.Table:
        """The stored points of `series_ids` in [start, end), ordered by series_id and ts."""
        ids, start, end = _query_range(series_ids, start, end)
        if not ids or start >= end:
            return POINT_SCHEMA.empty_table()
        template = queries.raw_template(self.schema, self.dialect)
        return self._read(template.render(ids, start=start, end=end), POINT_SCHEMA)

    def aggregate(
        self,
        series_ids: Sequence[int],
        start: datetime,
        end: datetime,
        every: Every,
        fn: AggFn,
        tz: str = DEFAULT_TZ,
    ) -> pa.Table:
        """`fn` over each non-empty `every` bucket of [start, end), see `queries.metric`.

        1m and 1h buckets start at local minute and hour boundaries in `tz`; 1d and 1mo at
        local midnight. `delta` gives each sample's counter increment (reset-aware) to the
        bucket of that sample, looking up to `delta_lookback` before `start` for the sample
        before the first.
        """
        check_query(every, fn)
        zone(tz)
        ids, start, end = _query_range(series_ids, start, end)
        if not ids or start >= end:
            return AGGREGATE_SCHEMA.empty_table()
        cover = tiles(start, end, top_level(every, tz, start, end))
        before = tiles(start - self.delta_lookback, start, Level.HOUR) if fn == "delta" else []
        shape = (every, fn, _levels(cover), _levels(before))
        template = queries.aggregate_template(self.schema, self.dialect, shape)
        values = {**_bounds("t", cover), **_bounds("a", before), "tz": tz}
        return self._read(template.render(ids, **values), AGGREGATE_SCHEMA)

    def latest(self, series_ids: Sequence[int]) -> pa.Table:
        """The last stored point of each of `series_ids` that has one."""
        ids = _ids(series_ids)
        if not ids:
            return POINT_SCHEMA.empty_table()
        sql = queries.latest_template(self.schema, self.dialect).render(ids)
        return self._read(sql, POINT_SCHEMA)

    def _read(self, sql: str, schema: pa.Schema) -> pa.Table:
        with self._transaction():
            return self._fetch(sql, schema)


def _per_member(points: pa.Table, members: int) -> np.ndarray:
    if members == 1:
        return np.array([points.num_rows])
    return np.bincount(np.asarray(points[MEMBER].to_numpy()), minlength=members)


def _bucket_range(rows: pa.Table, level: Level) -> tuple[datetime, datetime]:
    """[first bucket, end of the last bucket) of non-empty rollup rows."""
    bounds = pc.min_max(rows["bucket"])
    return bounds["min"].as_py(), bounds["max"].as_py() + level.grain


def _ids(series_ids: Sequence[int]) -> list[int]:
    return sorted({int(series_id) for series_id in series_ids})


def _query_range(
    series_ids: Sequence[int], start: datetime, end: datetime
) -> tuple[list[int], datetime, datetime]:
    return _ids(series_ids), require_aware(start, "start"), require_aware(end, "end")


def _levels(cover: list[Tile]) -> tuple[Level, ...]:
    return tuple(tile.level for tile in cover)


def _bounds(prefix: str, cover: list[Tile]) -> dict[str, datetime | str]:
    values: dict[str, datetime | str] = {}
    for i, tile in enumerate(cover):
        values[f"{prefix}{i}_start"], values[f"{prefix}{i}_end"] = tile.start, tile.end
    return values
