"""KPI queries over the time-series store, written once in Ibis and run on DuckDB and PostgreSQL.

Two queries feed every KPI:

- `state_seconds`: seconds each state code held inside labelled spans (planned busy time of a
  shift, a day ...), from the raw state points. A state holds from its sample until the next
  sample of a *different* value, so on-change and periodic sampling give the same answer.
- `increments`: the sum of counter increments (store `delta` semantics: reset-aware) whose sample
  falls inside labelled ranges, read from the hour rollup, the minute rollup or raw points,
  whichever is coarsest without crossing a range boundary (the store's own tiling).

The labelled spans and tiles are small per-query tables, registered with DuckDB or copied into a
session temp table in PostgreSQL, so the compiled SQL never changes shape and is compiled once
(see the store's `template.py` for why values are literals, and docs/adr/0006-kpi-queries.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol, TypeVar, overload

import ibis
import numpy as np
import pyarrow as pa

from lighthouse_os.telemetry.store import queries as store_queries
from lighthouse_os.telemetry.store.base import DEFAULT_SCHEMA, StoreUnavailable
from lighthouse_os.telemetry.store.factory import DUCKDB_PREFIX
from lighthouse_os.telemetry.store.plan import EPOCH, Level, floor_to
from lighthouse_os.telemetry.store.template import IDS, Template, ts_param

SPANS = "_lhos_kpi_spans"
TILES = "_lhos_kpi_tiles"
TS = "timestamp('UTC')"
UTC_US = pa.timestamp("us", tz="UTC")
SPAN_SCHEMA = pa.schema([("period_start", UTC_US), ("span_start", UTC_US), ("span_end", UTC_US)])
TILE_SCHEMA = pa.schema(
    [("level", pa.int64()), ("bucket", UTC_US), ("bucket_end", UTC_US), ("period_start", UTC_US)]
)
STATE_SCHEMA = pa.schema(
    [
        ("series_id", pa.int64()),
        ("period_start", UTC_US),
        ("value", pa.float64()),
        ("prev", pa.float64()),
        ("seconds", pa.float64()),
        ("entries", pa.int64()),
    ]
)
INCREMENT_SCHEMA = pa.schema(
    [("series_id", pa.int64()), ("period_start", UTC_US), ("value", pa.float64())]
)
LATEST_SCHEMA = pa.schema([("series_id", pa.int64()), ("ts", UTC_US), ("value", pa.float64())])
# How far before a query's start a state change or a counter sample is looked for.
STATE_LOOKBACK = timedelta(days=2)
COUNT_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class LabelledSpan:
    """[start, end) belongs to the period starting at `period`."""

    period: datetime
    start: datetime
    end: datetime


# -- query definitions (Ibis) -------------------------------------------------------------------


@lru_cache(maxsize=8)
def state_seconds_template(schema: str, dialect: str) -> Template:
    """(series_id, period_start, value, prev, seconds, entries) of the state series.

    Runs: the points where the value differs from the previous point (`prev`); each holds until
    the next run or value `end`. seconds = Σ |run ∩ span| over the spans of a period; entries =
    runs of `value` entered from `prev` that overlap the period's spans (failures, MTBF).
    """
    points = store_queries.points_table(schema)
    points = points.filter(
        points.series_id.isin([IDS]),
        points.ts >= ts_param("lo"),
        points.ts < ts_param("end"),
    )
    window = ibis.window(group_by="series_id", order_by="ts")
    marked = points.mutate(prev=points.value.lag().over(window))
    changes = marked.filter(marked.prev.isnull() | (marked.value != marked.prev))
    runs = changes.mutate(run_end=ibis.coalesce(changes.ts.lead().over(window), ts_param("end")))
    spans = ibis.table({"period_start": TS, "span_start": TS, "span_end": TS}, name=SPANS)
    joined = runs.join(spans, [runs.ts < spans.span_end, runs.run_end > spans.span_start])
    overlap = ibis.least(joined.run_end, joined.span_end).delta(
        ibis.greatest(joined.ts, joined.span_start), unit="microsecond"
    )
    # Per run, then per state: counting the runs of a group this way is what COUNT(DISTINCT ts)
    # would do, without the distinct-aggregate plan DuckDB builds for it (most of the query's
    # time on a dashboard). Overlaps are whole microseconds, so both sums are exact.
    per_run = joined.group_by(["series_id", "period_start", "value", "prev", "ts"]).aggregate(
        overlap_us=overlap.sum()
    )
    grouped = per_run.group_by(["series_id", "period_start", "value", "prev"]).aggregate(
        seconds=(per_run.overlap_us.sum() / 1e6).cast("float64"),
        entries=per_run.count().cast("int64"),
    )
    return Template.compile(grouped.order_by(["series_id", "period_start", "value"]), dialect)


def _tile_pieces(schema: str, level: Level) -> Any:
    tiles_table = ibis.table(
        {"level": "int64", "bucket": TS, "bucket_end": TS, "period_start": TS}, name=TILES
    )
    chosen = tiles_table.filter(tiles_table.level == level.value)
    if level is Level.RAW:
        # Raw tiles sit at the unaligned edges of a range, mostly at its two ends (a request's
        # `from`, and `now`): two windows read only around them, where one window from the
        # first to the last would read every raw point in between.
        points = store_queries.points_table(schema)
        ts = points.ts
        points = points.filter(
            points.series_id.isin([IDS]),
            ((ts >= ts_param("rlo")) & (ts < ts_param("rhi")))
            | ((ts >= ts_param("rlo2")) & (ts < ts_param("rhi2"))),
        )
        joined = points.join(chosen, [points.ts >= chosen.bucket, points.ts < chosen.bucket_end])
        return store_queries.raw_pieces(joined, "period_start")
    rollup = store_queries.rollup_table(schema, level)
    rollup = rollup.filter(
        rollup.series_id.isin([IDS]),
        rollup.bucket >= ts_param("lo"),
        rollup.bucket < ts_param("hi"),
    )
    joined = rollup.join(chosen, rollup.bucket == chosen.bucket)
    return joined.select(*store_queries.PIECE_COLUMNS, "period_start")


@lru_cache(maxsize=8)
def increments_template(schema: str, dialect: str) -> Template:
    """(series_id, period_start, value): Σ counter increments of samples in each period's tiles.

    A sample's increment is from the sample before it (current − previous, or current after a
    reset), as in the store's `delta`; unlabelled tiles only supply that previous sample.
    """
    parts = [_tile_pieces(schema, level) for level in (Level.HOUR, Level.MINUTE, Level.RAW)]
    pieces = ibis.union(*parts, distinct=False)
    stepped = store_queries.with_steps(pieces, ["series_id"])
    inside = stepped.filter(stepped.period_start.notnull())
    grouped = inside.group_by(["series_id", "period_start"]).aggregate(
        value=inside.step.sum().cast("float64")
    )
    return Template.compile(grouped.order_by(["series_id", "period_start"]), dialect)


# -- per-query tables ---------------------------------------------------------------------------


def span_table(spans: Iterable[LabelledSpan]) -> pa.Table:
    """The spans as the registered `_lhos_kpi_spans` table."""
    rows = [(s.period, s.start, s.end) for s in spans if s.start < s.end]
    columns = list(zip(*rows, strict=True)) if rows else [(), (), ()]
    return pa.Table.from_arrays(
        [pa.array(list(c), type=UTC_US) for c in columns], schema=SPAN_SCHEMA
    )


@dataclass(frozen=True)
class TilePlan:
    """The tiles of a counter query and the rollup/raw bounds its SQL filters on.

    `raw` are two windows [start, end) that hold every raw tile (an empty one is [lo, lo)).
    """

    table: pa.Table
    lo: datetime
    hi: datetime
    raw: tuple[tuple[datetime, datetime], tuple[datetime, datetime]]


# Tiles are planned in integer microseconds since the Unix epoch: a month of hour buckets is
# thousands of rows, too many to build one datetime at a time on every dashboard refresh.
_US = timedelta(microseconds=1)
_GRAINS_US = (Level.HOUR.value * 1_000_000, Level.MINUTE.value * 1_000_000)
# (grain µs or 0 for raw, start, end, label or None): tiles before they are split into buckets.
_Tiles = list[tuple[int, int, int, int | None]]


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // _US


def _at(us: int) -> datetime:
    return EPOCH + us * _US


def tile_plan(ranges: Sequence[LabelledSpan], lo: datetime, hi: datetime) -> TilePlan:
    """Cover [lo, hi) with hour, minute and raw tiles; tiles inside `ranges` carry the label.

    `ranges` must be disjoint. Hour and minute tiles are listed bucket by bucket, so the SQL
    joins rollups on bucket equality; raw tiles (sub-minute edges) stay ranges. The tiles are
    those of the store's `plan.tiles` from the hour level down (a test checks it).
    """
    lo_us, hi_us = _us(lo), _us(hi)
    parts: _Tiles = []
    cursor = lo_us
    for span in sorted(ranges, key=lambda s: s.start):
        start, end = max(_us(span.start), cursor), min(_us(span.end), hi_us)
        if start >= end:
            continue
        _region(cursor, start, None, parts)
        _region(start, end, _us(span.period), parts)
        cursor = end
    _region(cursor, hi_us, None, parts)
    raw = sorted((start, end) for grain, start, end, _ in parts if grain == 0)
    head, tail = _raw_windows(raw, lo_us)
    window = ((_at(head[0]), _at(head[1])), (_at(tail[0]), _at(tail[1])))
    return TilePlan(_tile_arrow(parts), lo, hi, window)


def _raw_windows(raw: list[tuple[int, int]], empty: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Two windows covering the sorted, disjoint raw tiles, split at the widest gap between
    neighbours (which makes the two windows shortest)."""
    if not raw:
        return (empty, empty), (empty, empty)
    if len(raw) == 1:
        return raw[0], (empty, empty)
    cut = max(range(1, len(raw)), key=lambda i: raw[i][0] - raw[i - 1][1])
    return (raw[0][0], raw[cut - 1][1]), (raw[cut][0], raw[-1][1])


def _region(start: int, end: int, label: int | None, out: _Tiles, depth: int = 0) -> None:
    """Append the tiles of [start, end): whole hours, whole minutes at their edges, then raw."""
    if start >= end:
        return
    if depth == len(_GRAINS_US):
        out.append((0, start, end, label))
        return
    grain = _GRAINS_US[depth]
    core_start, core_end = -(-start // grain) * grain, end // grain * grain
    if core_start >= core_end:
        _region(start, end, label, out, depth + 1)
        return
    _region(start, core_start, label, out, depth + 1)
    out.append((grain, core_start, core_end, label))
    _region(core_end, end, label, out, depth + 1)


def _tile_arrow(parts: _Tiles) -> pa.Table:
    """One row per hour or minute bucket of each rollup tile, one per raw tile."""
    if not parts:
        return TILE_SCHEMA.empty_table()
    grain, start, end = (np.array(c, np.int64) for c in list(zip(*parts, strict=True))[:3])
    label = np.array([p[3] or 0 for p in parts], np.int64)
    unlabelled = np.array([p[3] is None for p in parts])
    step = np.where(grain > 0, grain, 1)
    count = np.where(grain > 0, (end - start) // step, 1)
    first_row = np.repeat(np.cumsum(count) - count, count)
    bucket = np.repeat(start, count) + (np.arange(count.sum()) - first_row) * np.repeat(step, count)
    bucket_end = np.where(
        np.repeat(grain, count) > 0, bucket + np.repeat(step, count), np.repeat(end, count)
    )
    return pa.Table.from_arrays(
        [
            pa.array(np.repeat(grain // 1_000_000, count), pa.int64()),
            pa.array(bucket, UTC_US),
            pa.array(bucket_end, UTC_US),
            pa.array(np.repeat(label, count), UTC_US, mask=np.repeat(unlabelled, count)),
        ],
        schema=TILE_SCHEMA,
    )


# -- running the queries --------------------------------------------------------------------


class KpiReader(Protocol):
    """Runs the KPI queries on the time-series database."""

    dialect: str
    # True when queries may run at the same time from several threads (a cursor each).
    concurrent: bool

    def state_seconds(
        self, series_ids: Sequence[int], spans: Sequence[LabelledSpan], end: datetime
    ) -> pa.Table:
        """Seconds per state code inside the spans (STATE_SCHEMA)."""
        ...

    def increments(self, series_ids: Sequence[int], ranges: Sequence[LabelledSpan]) -> pa.Table:
        """Counter increments inside each labelled range (INCREMENT_SCHEMA)."""
        ...

    def latest(self, series_ids: Sequence[int]) -> pa.Table:
        """The last stored point of each series (LATEST_SCHEMA)."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class _SqlReader:
    """The template rendering shared by both engines; subclasses run SQL with a staged table."""

    dialect = ""
    concurrent = False

    def __init__(self, schema: str) -> None:
        self.schema = store_queries_identifier(schema)
        self._lock = threading.Lock()

    def _run(self, sql: str, staged: tuple[str, pa.Table] | None, schema: pa.Schema) -> pa.Table:
        raise NotImplementedError

    def state_seconds(
        self, series_ids: Sequence[int], spans: Sequence[LabelledSpan], end: datetime
    ) -> pa.Table:
        ids = sorted({int(i) for i in series_ids})
        table = span_table(spans)
        if not ids or table.num_rows == 0:
            return STATE_SCHEMA.empty_table()
        first = min(s.start for s in spans)
        template = state_seconds_template(self.schema, self.dialect)
        sql = template.render(ids, lo=_utc(first) - STATE_LOOKBACK, end=_utc(end))
        return self._run(sql, (SPANS, table), STATE_SCHEMA)

    def increments(self, series_ids: Sequence[int], ranges: Sequence[LabelledSpan]) -> pa.Table:
        ids = sorted({int(i) for i in series_ids})
        if not ids or not ranges:
            return INCREMENT_SCHEMA.empty_table()
        lo = floor_to(_utc(min(r.start for r in ranges)) - COUNT_LOOKBACK, Level.HOUR.grain)
        plan = tile_plan(ranges, lo, _utc(max(r.end for r in ranges)))
        (rlo, rhi), (rlo2, rhi2) = plan.raw
        sql = increments_template(self.schema, self.dialect).render(
            ids, lo=plan.lo, hi=plan.hi, rlo=rlo, rhi=rhi, rlo2=rlo2, rhi2=rhi2
        )
        return self._run(sql, (TILES, plan.table), INCREMENT_SCHEMA)

    def latest(self, series_ids: Sequence[int]) -> pa.Table:
        ids = sorted({int(i) for i in series_ids})
        if not ids:
            return LATEST_SCHEMA.empty_table()
        sql = store_queries.latest_template(self.schema, self.dialect).render(ids)
        return self._run(sql, None, LATEST_SCHEMA)


def rows_table(rows: Sequence[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Fetched rows as a table of `schema` (columns in order)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    return pa.Table.from_arrays(
        [pa.array(list(c), type=f.type) for c, f in zip(columns, schema, strict=True)],
        schema=schema,
    )


def store_queries_identifier(schema: str) -> str:
    """`schema` if it is a plain identifier (the store checks the same rule)."""
    from lighthouse_os.telemetry.store.sql import check_identifier

    return check_identifier(schema)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} in a KPI query")
    return moment.astimezone(UTC)


class DuckDBReader(_SqlReader):
    """A connection of its own to the store's DuckDB file (the process shares one database)."""

    dialect = "duckdb"
    concurrent = True  # each query runs on a cursor of its own

    def __init__(self, path: str, schema: str = DEFAULT_SCHEMA) -> None:
        super().__init__(schema)
        import duckdb

        try:
            self._con = duckdb.connect(path)
        except duckdb.Error as err:
            raise StoreUnavailable(f"cannot open DuckDB store {path}: {err}") from err

    def _run(self, sql: str, staged: tuple[str, pa.Table] | None, schema: pa.Schema) -> pa.Table:
        with self._lock:
            cursor = self._con.cursor()
        try:
            cursor.execute("SET TimeZone = 'UTC'")
            if staged is not None:
                cursor.register(*staged)
            # Plain `execute`: the relation API (`sql(...).to_arrow_table()`) binds the query a
            # second time, a few milliseconds on every dashboard refresh. NumPy columns, not
            # rows: an hourly month has thousands of timestamps, slow to make one by one.
            columns = cursor.execute(sql).fetchnumpy()
        finally:
            cursor.close()
        return pa.Table.from_arrays(
            [pa.array(c, f.type) for c, f in zip(columns.values(), schema, strict=True)],
            schema=schema,
        )

    def close(self) -> None:
        self._con.close()


class PostgresReader(_SqlReader):
    """A psycopg connection of its own; per-query tables are session temp tables."""

    dialect = "postgres"

    def __init__(self, url: str, schema: str = DEFAULT_SCHEMA) -> None:
        super().__init__(schema)
        import psycopg

        from lighthouse_os.telemetry.store.postgres import libpq_url

        try:
            self._conn = psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10)
        except psycopg.Error as err:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {err}") from err
        self._conn.execute("SET TIME ZONE 'UTC'")
        self._conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {SPANS} (period_start TIMESTAMPTZ, "
            "span_start TIMESTAMPTZ, span_end TIMESTAMPTZ) ON COMMIT DELETE ROWS"
        )
        self._conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {TILES} (level BIGINT, bucket TIMESTAMPTZ, "
            "bucket_end TIMESTAMPTZ, period_start TIMESTAMPTZ) ON COMMIT DELETE ROWS"
        )

    def _run(self, sql: str, staged: tuple[str, pa.Table] | None, schema: pa.Schema) -> pa.Table:
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            if staged is not None:
                name, table = staged
                with cur.copy(f"COPY {name} ({', '.join(table.column_names)}) FROM STDIN") as copy:
                    for row in zip(*(c.to_pylist() for c in table.columns), strict=True):
                        copy.write_row(row)
                cur.execute(f"ANALYZE {name}")
            rows = cur.execute(sql).fetchall()
        return rows_table(rows, schema)

    def close(self) -> None:
        self._conn.close()


# -- independent queries at the same time ----------------------------------------------------


class SupportsConcurrency(Protocol):
    """A reader that says whether its queries may run at the same time."""

    concurrent: bool


_A = TypeVar("_A")
_B = TypeVar("_B")
_C = TypeVar("_C")
_POOL_SIZE = 4
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_worker = threading.local()


def _mark_worker() -> None:
    _worker.active = True


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                _POOL_SIZE, thread_name_prefix="lhos-kpi", initializer=_mark_worker
            )
        return _pool


@overload
def run_concurrently(
    reader: SupportsConcurrency, first: Callable[[], _A], second: Callable[[], _B], /
) -> tuple[_A, _B]: ...


@overload
def run_concurrently(
    reader: SupportsConcurrency,
    first: Callable[[], _A],
    second: Callable[[], _B],
    third: Callable[[], _C],
    /,
) -> tuple[_A, _B, _C]: ...


def run_concurrently(reader: SupportsConcurrency, *calls: Callable[[], Any]) -> tuple[Any, ...]:
    """The results of independent `calls` that query through `reader`, in order.

    DuckDB plans and runs a dashboard's small queries in a few milliseconds each, mostly on one
    core and outside the GIL, so on a two-core machine running them side by side cuts the wait
    by about a third. The first call runs in the calling thread, the others on a shared pool;
    an error of the first call is raised once the others are done, else the first error among
    them. Everything runs in turn when the reader cannot serve threads at once (PostgreSQL: one
    connection) or when called from the pool itself (so a pool thread never waits for the pool).
    """
    if not reader.concurrent or getattr(_worker, "active", False):
        return tuple(call() for call in calls)
    pool = _shared_pool()
    others = [pool.submit(call) for call in calls[1:]]
    try:
        first = calls[0]()
    finally:
        wait(others)
    return (first, *(future.result() for future in others))


def open_reader(url: str, schema: str = DEFAULT_SCHEMA) -> KpiReader:
    """A reader on the time-series database at `url` (the store's URL and schema)."""
    if url.startswith(DUCKDB_PREFIX):
        path = url.removeprefix(DUCKDB_PREFIX)
        if path == ":memory:":
            raise StoreUnavailable("KPI queries need a DuckDB file, not an in-memory store")
        return DuckDBReader(path, schema)
    if url.split("://")[0].split("+")[0] in {"postgresql", "postgres"}:
        return PostgresReader(url, schema)
    raise StoreUnavailable(f"unsupported time-series store URL {url.partition(':')[0]!r}")
