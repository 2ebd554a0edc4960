"""Rollup pieces combined in memory, for the write path's append fast path (pure core).

A *piece* summarises consecutive samples of one series: count, sum, min, max, the first and last
value with their instants, and `delta_in`, the counter increments between its own samples. Pieces
that do not overlap in time combine exactly, whatever their size: a raw point is a piece of one
sample, a minute rollup row a piece of many. This is the same algebra as `queries.rollup_of`,
run with numpy on a batch that is already in memory, so a write that only appends new samples
after (or before) what a bucket holds never re-reads stored points.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa

from lighthouse_os.telemetry.store.base import UTC_US

ONE_US = timedelta(microseconds=1)
PIECE_SCHEMA = pa.schema(
    [
        pa.field("series_id", pa.int64(), nullable=False),
        pa.field("bucket", UTC_US, nullable=False),
        pa.field("count", pa.int64(), nullable=False),
        pa.field("sum", pa.float64(), nullable=False),
        pa.field("min", pa.float64(), nullable=False),
        pa.field("max", pa.float64(), nullable=False),
        pa.field("first", pa.float64(), nullable=False),
        pa.field("last", pa.float64(), nullable=False),
        pa.field("first_ts", UTC_US, nullable=False),
        pa.field("last_ts", UTC_US, nullable=False),
        pa.field("delta_in", pa.float64(), nullable=False),
    ]
)
_TIMESTAMPS = ("bucket", "first_ts", "last_ts")


def _column(table: pa.Table, name: str) -> np.ndarray:
    column = table.column(name)
    if name in _TIMESTAMPS:
        column = column.cast(pa.int64())
    return np.asarray(column.to_numpy())


def point_pieces(points: pa.Table) -> pa.Table:
    """Each point (series_id, ts, value) as a piece of one sample, bucketed at its own instant."""
    ts = points.column("ts")
    value = points.column("value")
    n = points.num_rows
    return pa.Table.from_arrays(
        [
            points.column("series_id"),
            ts,
            pa.array(np.ones(n, dtype=np.int64)),
            value,
            value,
            value,
            value,
            value,
            ts,
            ts,
            pa.array(np.zeros(n, dtype=np.float64)),
        ],
        schema=PIECE_SCHEMA,
    )


def increments(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Counter increments: current - previous, or current alone after a drop (a reset)."""
    return np.where(current >= previous, current - previous, current)


def combine(pieces: pa.Table, grain: timedelta, *, presorted: bool = False) -> pa.Table:
    """One piece per (series_id, `grain` bucket of its first_ts), from non-overlapping pieces.

    Buckets are aligned to the UTC epoch. Within a bucket, pieces are taken in first_ts order:
    the increment from one piece's last value to the next piece's first value joins the delta,
    as it does between samples. Pieces must not overlap in time nor straddle a bucket boundary.
    `presorted` says they already come in (series_id, first_ts) order, which skips the sort.
    """
    if pieces.num_rows == 0:
        return PIECE_SCHEMA.empty_table()
    grain_us = grain // ONE_US
    series = _column(pieces, "series_id")
    first_ts = _column(pieces, "first_ts")
    bucket = (first_ts // grain_us) * grain_us
    names = ("count", "sum", "min", "max", "first", "last", "last_ts", "delta_in")
    columns = [series, bucket, first_ts, *(_column(pieces, name) for name in names)]
    if not presorted:
        # Buckets follow first_ts, so (series_id, first_ts) order is (series_id, bucket) order.
        order = np.lexsort((first_ts, series))
        columns = [column[order] for column in columns]
    series, bucket, first_ts, count, total, low, high, first, last, last_ts, delta_in = columns

    starts_group = np.ones(len(series), dtype=bool)
    starts_group[1:] = (series[1:] != series[:-1]) | (bucket[1:] != bucket[:-1])
    starts = np.flatnonzero(starts_group)
    ends = np.append(starts[1:], len(series)) - 1
    steps = delta_in.astype(np.float64, copy=True)
    joins = ~starts_group[1:]  # a piece that follows another of its group
    steps[1:][joins] += increments(last[:-1][joins], first[1:][joins])
    return pa.Table.from_arrays(
        [
            pa.array(series[starts]),
            pa.array(bucket[starts]).cast(UTC_US),
            pa.array(np.add.reduceat(count, starts)),
            pa.array(np.add.reduceat(total, starts)),
            pa.array(np.minimum.reduceat(low, starts)),
            pa.array(np.maximum.reduceat(high, starts)),
            pa.array(first[starts]),
            pa.array(last[ends]),
            pa.array(first_ts[starts]).cast(UTC_US),
            pa.array(np.maximum.reduceat(last_ts, starts)).cast(UTC_US),
            pa.array(np.add.reduceat(steps, starts)),
        ],
        schema=PIECE_SCHEMA,
    )


def overlapping(stored: pa.Table, new: pa.Table) -> bool:
    """True when a stored piece and a new piece of the same key interleave in time.

    Such a bucket cannot be combined from its pieces (the new samples fall between stored ones,
    changing increments the stored piece already counted); it is recomputed from finer data.
    """
    if stored.num_rows == 0 or new.num_rows == 0:
        return False
    keys = ["series_id", "bucket"]
    joined = stored.select([*keys, "first_ts", "last_ts"]).join(
        new.select([*keys, "first_ts", "last_ts"]).rename_columns(
            [*keys, "new_first_ts", "new_last_ts"]
        ),
        keys,
        join_type="inner",
        use_threads=False,
    )
    if joined.num_rows == 0:
        return False
    after = _column(joined, "first_ts") > np.asarray(
        joined.column("new_last_ts").cast(pa.int64()).to_numpy()
    )
    before = _column(joined, "last_ts") < np.asarray(
        joined.column("new_first_ts").cast(pa.int64()).to_numpy()
    )
    return not bool(np.all(after | before))


def latest_points(pieces: pa.Table) -> pa.Table:
    """(series_id, ts, value) of the last sample of each series among the pieces."""
    series = _column(pieces, "series_id")
    last_ts = _column(pieces, "last_ts")
    order = np.lexsort((last_ts, series))
    series, last_ts = series[order], last_ts[order]
    is_last = np.ones(len(order), dtype=bool)
    is_last[:-1] = series[1:] != series[:-1]
    last = _column(pieces, "last")[order]
    return pa.table(
        {
            "series_id": pa.array(series[is_last]),
            "ts": pa.array(last_ts[is_last]).cast(UTC_US),
            "value": pa.array(last[is_last]),
        }
    )
