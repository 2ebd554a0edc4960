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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

import ibis
import pyarrow as pa

from lighthouse_os.telemetry.store import queries as store_queries
from lighthouse_os.telemetry.store.base import DEFAULT_SCHEMA, StoreUnavailable
from lighthouse_os.telemetry.store.factory import DUCKDB_PREFIX
from lighthouse_os.telemetry.store.plan import Level, floor_to, tiles
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
    grouped = joined.group_by(["series_id", "period_start", "value", "prev"]).aggregate(
        seconds=(overlap.sum() / 1e6).cast("float64"),
        entries=joined.ts.nunique().cast("int64"),
    )
    return Template.compile(grouped.order_by(["series_id", "period_start", "value"]), dialect)


def _tile_pieces(schema: str, level: Level) -> Any:
    tiles_table = ibis.table(
        {"level": "int64", "bucket": TS, "bucket_end": TS, "period_start": TS}, name=TILES
    )
    chosen = tiles_table.filter(tiles_table.level == level.value)
    if level is Level.RAW:
        points = store_queries.points_table(schema)
        points = points.filter(
            points.series_id.isin([IDS]),
            points.ts >= ts_param("rlo"),
            points.ts < ts_param("rhi"),
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
    """The tiles of a counter query and the rollup/raw bounds its SQL filters on."""

    table: pa.Table
    lo: datetime
    hi: datetime
    raw_lo: datetime
    raw_hi: datetime


def tile_plan(ranges: Sequence[LabelledSpan], lo: datetime, hi: datetime) -> TilePlan:
    """Cover [lo, hi) with hour, minute and raw tiles; tiles inside `ranges` carry the label.

    `ranges` must be disjoint. Hour and minute tiles are listed bucket by bucket, so the SQL
    joins rollups on bucket equality; raw tiles (sub-minute edges) stay ranges.
    """
    rows: list[tuple[int, datetime, datetime, datetime | None]] = []
    cursor = lo
    for span in sorted(ranges, key=lambda s: s.start):
        start, end = max(span.start, cursor), min(span.end, hi)
        if start >= end:
            continue
        rows += _region(cursor, start, None)
        rows += _region(start, end, span.period)
        cursor = end
    rows += _region(cursor, hi, None)
    raw = [(r[1], r[2]) for r in rows if r[0] == 0]
    raw_lo = min((s for s, _ in raw), default=lo)
    raw_hi = max((e for _, e in raw), default=lo)
    return TilePlan(_tile_arrow(rows), lo, hi, raw_lo, raw_hi)


def _region(
    start: datetime, end: datetime, label: datetime | None
) -> list[tuple[int, datetime, datetime, datetime | None]]:
    out: list[tuple[int, datetime, datetime, datetime | None]] = []
    for tile in tiles(start, end, Level.HOUR):
        if tile.level is Level.RAW:
            out.append((0, tile.start, tile.end, label))
            continue
        bucket = tile.start
        while bucket < tile.end:
            out.append((tile.level.value, bucket, bucket + tile.level.grain, label))
            bucket += tile.level.grain
    return out


def _tile_arrow(rows: list[tuple[int, datetime, datetime, datetime | None]]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return pa.Table.from_arrays(
        [
            pa.array(list(columns[0]), type=pa.int64()),
            pa.array(list(columns[1]), type=UTC_US),
            pa.array(list(columns[2]), type=UTC_US),
            pa.array(list(columns[3]), type=UTC_US),
        ],
        schema=TILE_SCHEMA,
    )


# -- running the queries --------------------------------------------------------------------


class KpiReader(Protocol):
    """Runs the KPI queries on the time-series database."""

    dialect: str

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
        sql = increments_template(self.schema, self.dialect).render(
            ids, lo=plan.lo, hi=plan.hi, rlo=plan.raw_lo, rhi=plan.raw_hi
        )
        return self._run(sql, (TILES, plan.table), INCREMENT_SCHEMA)

    def latest(self, series_ids: Sequence[int]) -> pa.Table:
        ids = sorted({int(i) for i in series_ids})
        if not ids:
            return LATEST_SCHEMA.empty_table()
        sql = store_queries.latest_template(self.schema, self.dialect).render(ids)
        return self._run(sql, None, LATEST_SCHEMA)


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
            table = cursor.sql(sql).to_arrow_table()
        finally:
            cursor.close()
        return table.rename_columns(schema.names).cast(schema)

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
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
        return pa.Table.from_arrays(
            [pa.array(list(c), type=f.type) for c, f in zip(columns, schema, strict=True)],
            schema=schema,
        )

    def close(self) -> None:
        self._conn.close()


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
