"""Checks and conversions of an incoming Arrow batch before it reaches a backend."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.store.base import POINT_SCHEMA, UTC_US


def conform_batch(batch: pa.Table) -> pa.Table:
    """The batch with exactly POINT_SCHEMA, or InvalidInput naming what is wrong.

    Integer ids of other widths, aware timestamps of other units or zones, and integer values
    are converted losslessly; naive timestamps, nulls and non-finite values are refused.
    """
    missing = [name for name in POINT_SCHEMA.names if name not in batch.column_names]
    if missing:
        raise InvalidInput(
            f"batch lacks column(s) {missing}", fields=dict.fromkeys(missing, "missing")
        )
    columns = [_conform(batch.column(field.name), field) for field in POINT_SCHEMA]
    return pa.Table.from_arrays(columns, schema=POINT_SCHEMA)


def _conform(column: pa.ChunkedArray, field: pa.Field) -> pa.ChunkedArray:
    if column.null_count:
        raise InvalidInput(
            f"{field.name} has {column.null_count} null(s)", fields={field.name: "null"}
        )
    if field.name == "ts":
        _require_aware(column.type)
    try:
        converted = column.cast(field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise InvalidInput(
            f"{field.name} is {column.type}, expected {field.type}", fields={field.name: "type"}
        ) from err
    if field.name == "value":
        _require_finite(converted)
    return converted


def _require_aware(kind: pa.DataType) -> None:
    if not pa.types.is_timestamp(kind) or kind.tz is None:
        raise InvalidInput(
            f"ts must be an aware timestamp ({UTC_US}), got {kind}", fields={"ts": "type"}
        )


def _require_finite(values: pa.ChunkedArray) -> None:
    # NaN and infinities would poison every sum, min and max of their buckets.
    bad = len(values) - pc.sum(pc.is_finite(values)).as_py() if len(values) else 0
    if bad:
        raise InvalidInput(f"value has {bad} NaN or infinite number(s)", fields={"value": "finite"})


def split_expired(points: pa.Table, cutoff: datetime | None) -> tuple[pa.Table, int]:
    """The points at or after `cutoff`, and how many were older."""
    if cutoff is None or points.num_rows == 0:
        return points, 0
    kept = points.filter(pc.greater_equal(points["ts"], pa.scalar(cutoff, type=UTC_US)))
    return kept, points.num_rows - kept.num_rows


def sort_by_key(points: pa.Table) -> tuple[pa.Table, bool]:
    """The batch in (series_id, ts) order, and whether a key occurs more than once.

    The sort is stable, so of repeated keys the first occurrence stays first. A batch already in
    key order is returned as it is.
    """
    series = np.asarray(points["series_id"].to_numpy())
    ts = np.asarray(points["ts"].cast(pa.int64()).to_numpy())
    in_order = (series[1:] > series[:-1]) | ((series[1:] == series[:-1]) & (ts[1:] >= ts[:-1]))
    if not bool(np.all(in_order)):
        order = np.lexsort((ts, series))
        points, series, ts = points.take(order), series[order], ts[order]
    repeats = bool(np.any((series[1:] == series[:-1]) & (ts[1:] == ts[:-1])))
    return points, repeats


def ts_bounds(points: pa.Table) -> tuple[datetime, datetime]:
    """The first and last timestamp of a non-empty batch."""
    bounds = pc.min_max(points["ts"])
    return bounds["min"].as_py(), bounds["max"].as_py()
