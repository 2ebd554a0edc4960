"""PostgreSQL binary COPY of (int8, timestamptz, float8) rows to and from Arrow, vectorised.

Every row the store moves has this shape: a point (series_id, ts, value) or an aggregate
(series_id, bucket_start, value). Each field is 8 bytes, so a row is a fixed 38-byte record
(field count, then length and big-endian value per field) and numpy converts whole batches
without a Python loop. Format: PostgreSQL documentation, "COPY", section "Binary Format".
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + np.array([0, 0], dtype=">i4").tobytes()  # flags, extension length
TRAILER = np.array([-1], dtype=">i2").tobytes()
# PostgreSQL counts microseconds from 2000-01-01; Arrow from 1970-01-01.
PG_EPOCH_US = 946_684_800_000_000
ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("len0", ">i4"),
        ("c0", ">i8"),
        ("len1", ">i4"),
        ("c1", ">i8"),
        ("len2", ">i4"),
        ("c2", ">f8"),
    ]
)


class CopyFormatError(ValueError):
    """The COPY stream is not a sequence of three non-null 8-byte fields."""


def encode(table: pa.Table) -> bytes:
    """A complete binary COPY stream of a POINT_SCHEMA table."""
    rows = np.empty(table.num_rows, dtype=ROW)
    rows["fields"], rows["len0"], rows["len1"], rows["len2"] = 3, 8, 8, 8
    rows["c0"] = _numpy(table.column(0), np.int64)
    rows["c1"] = _numpy(table.column(1).cast(pa.int64()), np.int64) - PG_EPOCH_US
    rows["c2"] = _numpy(table.column(2), np.float64)
    return HEADER + rows.tobytes() + TRAILER


def _numpy(column: pa.ChunkedArray, kind: type[np.generic]) -> np.ndarray:
    return np.asarray(column.to_numpy(), dtype=kind)


def decode(data: bytes, schema: pa.Schema) -> pa.Table:
    """The rows of a binary COPY stream as a table with `schema` (int64, timestamp, float64)."""
    body = _body(data)
    if len(body) % ROW.itemsize:
        raise CopyFormatError("COPY rows are not 38-byte (int8, timestamptz, float8) records")
    rows = np.frombuffer(body, dtype=ROW)
    lengths_ok = (rows["len0"] == 8) & (rows["len1"] == 8) & (rows["len2"] == 8)
    if not bool(np.all((rows["fields"] == 3) & lengths_ok)):
        raise CopyFormatError("COPY row with a NULL or a field that is not 8 bytes")
    ts = (rows["c1"].astype(np.int64) + PG_EPOCH_US).astype("datetime64[us]")
    arrays = [
        pa.array(rows["c0"].astype(np.int64)),
        pa.array(ts).cast(schema.field(1).type),
        pa.array(rows["c2"].astype(np.float64)),
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _body(data: bytes) -> bytes:
    if not data.startswith(SIGNATURE):
        raise CopyFormatError("missing PGCOPY signature")
    extension = int(np.frombuffer(data, dtype=">i4", count=1, offset=15)[0])
    start = len(SIGNATURE) + 8 + extension
    if data[-2:] != TRAILER:
        raise CopyFormatError("missing COPY trailer")
    return data[start:-2]
