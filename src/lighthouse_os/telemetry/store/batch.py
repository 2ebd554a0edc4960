"""Checks and conversions of an incoming Arrow batch before it reaches a backend."""

from __future__ import annotations

from datetime import datetime

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


def has_repeated_keys(points: pa.Table) -> bool:
    """True when a (series_id, ts) key occurs more than once in the batch."""
    keys = points.group_by(["series_id", "ts"], use_threads=False).aggregate([])
    return bool(keys.num_rows != points.num_rows)


def ts_bounds(points: pa.Table) -> tuple[datetime, datetime]:
    """The first and last timestamp of a non-empty batch."""
    bounds = pc.min_max(points["ts"])
    return bounds["min"].as_py(), bounds["max"].as_py()
