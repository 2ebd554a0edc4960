"""Rollup and aggregation queries, written once in Ibis and compiled for each backend.

Every computation works on *pieces*: a raw point is a piece of one sample, a rollup row is a
piece of many. Pieces combine the same way whether they build a minute rollup from points, an
hour rollup from minutes, or a dashboard's daily buckets from hours, so one definition serves
the write path, the read path and both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from lighthouse_os.telemetry.store.plan import EVERY_UNITS, Level
from lighthouse_os.telemetry.store.template import IDS, Template, param, ts_param

Table = Any  # ibis.Table; ibis ships no type information that mypy can check
Column = Any

POINT_COLUMNS = {"series_id": "int64", "ts": "timestamp('UTC')", "value": "float64"}
KEY_COLUMNS = {"series_id": "int64", "bucket": "timestamp('UTC')"}
PIECE_COLUMNS = {
    "series_id": "int64",
    "count": "int64",
    "sum": "float64",
    "min": "float64",
    "max": "float64",
    "first": "float64",
    "last": "float64",
    "first_ts": "timestamp('UTC')",
    "last_ts": "timestamp('UTC')",
    "delta_in": "float64",
}
ROLLUP_COLUMNS = {**KEY_COLUMNS, **PIECE_COLUMNS}
ROLLUP_TABLES = {Level.MINUTE: "rollup_1m", Level.HOUR: "rollup_1h"}
TRUNCATE = {Level.MINUTE: "m", Level.HOUR: "h"}
IBIS_UNITS = {"minute": "m", "hour": "h", "day": "D", "month": "M"}

# Temporary tables of one write, in the session's own temp schema on both backends.
NEW_POINTS = "_lhos_new"
TOUCHED = {Level.MINUTE: "_lhos_touched_1m", Level.HOUR: "_lhos_touched_1h"}


def _timezone(tz: Any, ts: Any) -> Any:
    """`timezone(zone, ts)`, the same function in DuckDB and PostgreSQL."""


LOCAL = dt.Timestamp()
INSTANT = dt.Timestamp(timezone="UTC")
# timezone(zone, timestamptz) -> local wall-clock time; timezone(zone, timestamp) -> instant.
to_local = ibis.udf.scalar.builtin(
    _timezone, name="timezone", signature=((dt.string, INSTANT), LOCAL)
)
from_local = ibis.udf.scalar.builtin(
    _timezone, name="timezone", signature=((dt.string, LOCAL), INSTANT)
)


def points_table(schema: str | None, name: str = "points") -> Table:
    """The raw points table (or a temp table of the same shape when schema is None)."""
    return ibis.table(POINT_COLUMNS, name=name, database=schema)


def rollup_table(schema: str, level: Level) -> Table:
    """The minute or hour rollup table."""
    return ibis.table(ROLLUP_COLUMNS, name=ROLLUP_TABLES[level], database=schema)


def raw_pieces(points: Table, *keep: str) -> Table:
    """Each point as a piece of one sample; a lone sample has no increment of its own."""
    value = points.value
    return points.select(
        *keep,
        series_id=points.series_id,
        count=ibis.literal(1, type="int64"),
        sum=value,
        min=value,
        max=value,
        first=value,
        last=value,
        first_ts=points.ts,
        last_ts=points.ts,
        delta_in=ibis.literal(0.0, type="float64"),
    )


def increment(previous: Column, current: Column) -> Column:
    """Counter increment from `previous` to `current` sample.

    Formula: current - previous when current >= previous; otherwise the counter was reset
    (restarted from zero), so the increment is current itself. No previous sample: 0.
    """
    return ibis.cases(
        (previous.isnull(), 0.0), (current >= previous, current - previous), else_=current
    )


def with_steps(pieces: Table, partition: Sequence[str], ends: bool = False) -> Table:
    """Add `step`: a piece's own increments plus the one from the piece before it.

    With `ends`, also the first and last value of the partition: one sort serves the window
    and these, where an ordered aggregate (arg_min, array_agg) would sort each group again.
    """
    window = ibis.window(group_by=list(partition), order_by=pieces.first_ts)
    previous = pieces["last"].lag().over(window)
    steps = pieces.delta_in + increment(previous, pieces["first"])
    if not ends:
        return pieces.mutate(step=steps)
    return pieces.mutate(
        step=steps,
        v_first=pieces["first"].first().over(window),
        v_last=pieces["last"].last().over(window),
    )


def rollup_of(pieces: Table) -> Table:
    """One rollup row per (series_id, bucket) from pieces that carry their `bucket`.

    Increments are counted inside the bucket only; the one across the bucket's start belongs to
    the query that combines buckets (see `aggregate_template`).
    """
    p = with_steps(pieces, ["series_id", "bucket"], ends=True)
    grouped = p.group_by(["series_id", "bucket"]).aggregate(
        count=p["count"].sum().cast("int64"),
        sum=p["sum"].sum(),
        min=p["min"].min(),
        max=p["max"].max(),
        first=p.v_first.min(),  # the same value on every row of the group
        last=p.v_last.min(),
        first_ts=p.first_ts.min(),
        last_ts=p.last_ts.max(),
        delta_in=p.step.sum(),
    )
    return grouped.select(*ROLLUP_COLUMNS)


@lru_cache(maxsize=16)
def refresh_template(schema: str, level: Level, dialect: str) -> Template:
    """Rollup rows of the touched buckets of `level`, recomputed from the next finer level.

    Minute buckets come from raw points, hour buckets from minute rollups. Values `lo`/`hi`
    bound the touched buckets so both engines prune partitions and row groups.
    """
    lo, hi = ts_param("lo"), ts_param("hi")
    touched = ibis.table(KEY_COLUMNS, name=TOUCHED[level]).rename(key_id="series_id")
    if level is Level.MINUTE:
        source = points_table(schema)
    else:
        source = rollup_table(schema, Level.MINUTE).rename(ts="bucket")
    source = source.filter(source.ts >= lo, source.ts < hi)
    # The bucket equality lets a hash join pair each row with its one bucket (a backfill of a
    # single series touches thousands); the redundant range lets PostgreSQL instead walk the
    # (series_id, ts) key once per bucket when few buckets are touched.
    joined = source.join(
        touched,
        [
            source.series_id == touched.key_id,
            source.ts.truncate(TRUNCATE[level]) == touched.bucket,
            source.ts >= touched.bucket,
            source.ts < touched.bucket + ibis.interval(seconds=level.value),
        ],
    )
    if level is Level.MINUTE:
        pieces = raw_pieces(joined, "bucket")
    else:
        pieces = joined.select(*PIECE_COLUMNS, "bucket")
    return Template.compile(rollup_of(pieces), dialect)


@lru_cache(maxsize=16)
def touched_template(level: Level, dialect: str) -> Template:
    """Distinct (series_id, bucket) of `level` hit by the new points (or the touched minutes)."""
    if level is Level.MINUTE:
        new = points_table(None, NEW_POINTS)
        expr = new.select("series_id", bucket=new.ts.truncate("m"))
    else:
        minutes = ibis.table(KEY_COLUMNS, name=TOUCHED[Level.MINUTE])
        expr = minutes.select("series_id", bucket=minutes.bucket.truncate("h"))
    return Template.compile(expr.distinct(), dialect)


@lru_cache(maxsize=16)
def latest_of_touched_template(schema: str, dialect: str) -> Template:
    """The last stored point of each series this write touched, from its fresh minute rollups.

    A few rows per series, where reading the new points would sort the whole batch.
    """
    rollup = rollup_table(schema, Level.MINUTE)
    touched = ibis.table(KEY_COLUMNS, name=TOUCHED[Level.MINUTE])
    rows = rollup.semi_join(touched, ["series_id", "bucket"])
    grouped = rows.group_by("series_id").aggregate(
        ts=rows.last_ts.max(), value=rows["last"].argmax(rows.last_ts)
    )
    return Template.compile(grouped.select("series_id", "ts", "value"), dialect)


@lru_cache(maxsize=16)
def raw_template(schema: str, dialect: str) -> Template:
    """The stored points of the ids in [start, end), ordered."""
    points = points_table(schema)
    chosen = points.filter(
        points.series_id.isin([IDS]), points.ts >= ts_param("start"), points.ts < ts_param("end")
    )
    return Template.compile(chosen.order_by(["series_id", "ts"]), dialect)


@lru_cache(maxsize=16)
def latest_template(schema: str, dialect: str) -> Template:
    """The last point of each series, from the table the write path keeps current."""
    latest = points_table(schema, "latest")
    chosen = latest.filter(latest.series_id.isin([IDS])).order_by("series_id")
    return Template.compile(chosen, dialect)


def tile_pieces(schema: str, level: Level, name: str) -> Table:
    """Pieces of the ids between values `<name>_start` and `<name>_end`, read from `level`."""
    start, end = ts_param(f"{name}_start"), ts_param(f"{name}_end")
    if level is Level.RAW:
        points = points_table(schema)
        chosen = points.filter(points.series_id.isin([IDS]), points.ts >= start, points.ts < end)
        return raw_pieces(chosen)
    rollup = rollup_table(schema, level)
    chosen = rollup.filter(
        rollup.series_id.isin([IDS]), rollup.bucket >= start, rollup.bucket < end
    )
    return chosen.select(*PIECE_COLUMNS)


def pieces_of(schema: str, levels: Sequence[Level], prefix: str, anchor: bool) -> Table:
    """The union of the tiles' pieces, named `<prefix><i>`, flagged as anchor or not."""
    parts = [tile_pieces(schema, level, f"{prefix}{i}") for i, level in enumerate(levels)]
    union = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return union.mutate(is_anchor=ibis.literal(anchor))


def metric(pieces: Table, fn: str) -> Column:
    """The aggregate `fn` over the pieces of a bucket, as float64.

    avg = sum of sums / sum of counts; count is the number of samples; last is the value at
    the latest timestamp; delta is the sum of counter increments (see `increment`).
    """
    p = pieces
    values = {
        "avg": lambda: p["sum"].sum() / p["count"].sum(),
        "min": lambda: p["min"].min(),
        "max": lambda: p["max"].max(),
        "sum": lambda: p["sum"].sum(),
        "count": lambda: p["count"].sum(),
        "last": lambda: p["last"].argmax(p.last_ts),
        "delta": lambda: p.step.sum(),
    }
    return values[fn]().cast("float64")


@lru_cache(maxsize=256)
def aggregate_template(
    schema: str,
    dialect: str,
    shape: tuple[str, str, tuple[Level, ...], tuple[Level, ...]],
) -> Template:
    """(series_id, bucket_start, value) for each non-empty local calendar bucket.

    `shape` is (every, fn, levels of the range's tiles `t<i>`, levels of the tiles `a<i>`
    before the range). A bucket starts at a local calendar boundary in value `tz`. For
    `delta`, a sample's increment from the sample before it belongs to the sample's bucket, so
    the first sample of the range takes its predecessor from the `a` tiles.
    """
    every, fn, levels, before = shape
    pieces = pieces_of(schema, levels, "t", anchor=False)
    if fn == "delta":
        if before:
            pieces = pieces.union(pieces_of(schema, before, "a", anchor=True))
        pieces = with_steps(pieces, ["series_id"])
        pieces = pieces.filter(~pieces.is_anchor)
    tz, unit = param("tz"), IBIS_UNITS[EVERY_UNITS[every]]
    bucketed = pieces.mutate(
        bucket_start=from_local(tz, to_local(tz, pieces.first_ts).truncate(unit))
    )
    result = bucketed.group_by(["series_id", "bucket_start"]).aggregate(value=metric(bucketed, fn))
    return Template.compile(result.order_by(["series_id", "bucket_start"]), dialect)
