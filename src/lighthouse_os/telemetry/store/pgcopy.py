"""PostgreSQL binary COPY of rows of 8-byte fields to and from Arrow, vectorised.

Every row the store moves is made of int8, timestamptz and float8 fields: a point (series_id,
ts, value), an aggregate (series_id, bucket_start, value) or a rollup row. Each field is 8 bytes,
so a row is a fixed-size record (field count, then length and big-endian value per field) and
numpy converts whole batches without a Python loop. Format: PostgreSQL documentation, "COPY",
section "Binary Format".
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa

from lighthouse_os.telemetry.store.base import POINT_SCHEMA

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + np.array([0, 0], dtype=">i4").tobytes()  # flags, extension length
TRAILER = np.array([-1], dtype=">i2").tobytes()
# PostgreSQL counts microseconds from 2000-01-01; Arrow from 1970-01-01.
PG_EPOCH_US = 946_684_800_000_000


class CopyFormatError(ValueError):
    """The COPY stream does not hold the expected non-null 8-byte fields."""


def _kind(field: pa.Field) -> str:
    """'i8', 'ts' or 'f8': how a column travels; other types are refused."""
    if pa.types.is_int64(field.type):
        return "i8"
    if pa.types.is_timestamp(field.type):
        return "ts"
    if pa.types.is_float64(field.type):
        return "f8"
    raise TypeError(f"column {field.name} is {field.type}; COPY handles int64, timestamp, float64")


@lru_cache(maxsize=16)
def _row_dtype(kinds: tuple[str, ...]) -> np.dtype:
    fields: list[tuple[str, str]] = [("fields", ">i2")]
    for i, kind in enumerate(kinds):
        fields += [(f"len{i}", ">i4"), (f"c{i}", ">f8" if kind == "f8" else ">i8")]
    return np.dtype(fields)


def _kinds(schema: pa.Schema) -> tuple[str, ...]:
    return tuple(_kind(field) for field in schema)


def encode(table: pa.Table) -> bytes:
    """A complete binary COPY stream of a table of int64, timestamp and float64 columns."""
    kinds = _kinds(table.schema)
    rows = np.empty(table.num_rows, dtype=_row_dtype(kinds))
    rows["fields"] = len(kinds)
    for i, kind in enumerate(kinds):
        rows[f"len{i}"] = 8
        column = table.column(i)
        if kind == "ts":
            rows[f"c{i}"] = _numpy(column.cast(pa.int64()), np.int64) - PG_EPOCH_US
        else:
            rows[f"c{i}"] = _numpy(column, np.float64 if kind == "f8" else np.int64)
    return HEADER + rows.tobytes() + TRAILER


def _numpy(column: pa.ChunkedArray, kind: type[np.generic]) -> np.ndarray:
    return np.asarray(column.to_numpy(), dtype=kind)


def decode(data: bytes, schema: pa.Schema = POINT_SCHEMA) -> pa.Table:
    """The rows of a binary COPY stream as a table with `schema`."""
    kinds = _kinds(schema)
    row = _row_dtype(kinds)
    body = _body(data)
    if len(body) % row.itemsize:
        raise CopyFormatError(
            f"COPY rows are not {row.itemsize}-byte records of {len(kinds)} 8-byte fields"
        )
    rows = np.frombuffer(body, dtype=row)
    shape_ok = rows["fields"] == len(kinds)
    for i in range(len(kinds)):
        shape_ok &= rows[f"len{i}"] == 8
    if not bool(np.all(shape_ok)):
        raise CopyFormatError("COPY row with a NULL or a field that is not 8 bytes")
    arrays = []
    for i, (kind, field) in enumerate(zip(kinds, schema, strict=True)):
        values = rows[f"c{i}"]
        if kind == "ts":
            stamps = (values.astype(np.int64) + PG_EPOCH_US).astype("datetime64[us]")
            arrays.append(pa.array(stamps).cast(field.type))
        else:
            arrays.append(pa.array(values.astype(np.float64 if kind == "f8" else np.int64)))
    return pa.Table.from_arrays(arrays, schema=schema)


def _body(data: bytes) -> bytes:
    if not data.startswith(SIGNATURE):
        raise CopyFormatError("missing PGCOPY signature")
    extension = int(np.frombuffer(data, dtype=">i4", count=1, offset=15)[0])
    start = len(SIGNATURE) + 8 + extension
    if data[-2:] != TRAILER:
        raise CopyFormatError("missing COPY trailer")
    return data[start:-2]
