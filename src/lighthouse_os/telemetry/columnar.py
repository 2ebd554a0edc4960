"""The columnar fast path of ingestion: clean batches validated as Arrow columns (pure core).

Per-point validation (`validation.check_batch`) costs a few microseconds a point in Python, more
than parsing and storing it. Most batches from a gateway are clean: every point names a known
numeric tag, carries an ISO 8601 instant with an offset (or, throughout, an epoch number) and a
finite number. Such a batch is parsed straight into Arrow columns and checked with vectorised
kernels here; it is accepted whole, with exactly the values and instants the per-point path
would store. Anything this path does not prove clean (a rejection, a state tag, an offset-less
or missing time stamp, text and number stamps mixed, an extra field such as `unit`) returns
None, and the caller runs the per-point path, which gives each rejected point its reason. So
the fast path changes the speed of clean batches only.
Points from a broker, already decoded into `RawPoint`s, take the same check through
`columns_of_points`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.store import POINT_SCHEMA
from lighthouse_os.telemetry.validation import (
    EARLIEST_US,
    EPOCH_MS_THRESHOLD,
    NUMERIC_KINDS,
    TOLERANCE_US,
    TagSpec,
    epoch_us,
)

POINT_FIELDS = [
    pa.field("tag", pa.string()),
    pa.field("ts", pa.string()),
    pa.field("value", pa.float64()),
]
POINT_COLUMNS = pa.schema(POINT_FIELDS)
BODY_SCHEMA = pa.schema([pa.field("points", pa.list_(pa.struct(POINT_FIELDS)))])
# The same with epoch numbers (seconds, or milliseconds at or above 1e11) as time stamps.
EPOCH_FIELDS = [POINT_FIELDS[0], pa.field("ts", pa.float64()), POINT_FIELDS[2]]
EPOCH_COLUMNS = pa.schema(EPOCH_FIELDS)
EPOCH_BODY_SCHEMA = pa.schema([pa.field("points", pa.list_(pa.struct(EPOCH_FIELDS)))])
# The first time stamp of a body, to choose the schema the body is parsed with.
_FIRST_TS = re.compile(rb'"ts"\s*:\s*(.)')
# The instants both parsers read alike: Python's `datetime.fromisoformat` (the per-point path)
# and Arrow's ISO 8601 cast. Fields are range-checked here so that neither parser is asked
# about an hour 24, a leap second or an offset beyond 23:59, where they might disagree.
ISO_INSTANT = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
_MIN_BLOCK = 1 << 20
# Beyond 2**53 not every integer is a float64; JSON parsers may round such literals differently.
EXACT_INTEGERS = 2.0**53


def parse_columns(body: bytes, *, ndjson: bool) -> pa.Table | None:
    """(tag, ts, value) of a body whose every point is exactly `{tag: str, ts: str, value: n}`.

    JSON bodies are `{"points": [...]}` and nothing else; NDJSON has one point per line. None when
    the body has another shape, a missing or extra field, or a value of another type.
    """
    if not body.strip():
        return None
    # A body mixing text and number time stamps fails to parse either way: per-point path.
    first = _FIRST_TS.search(body, 0, 4096)
    epochs = first is not None and first[1] != b'"'
    if ndjson:
        schema = EPOCH_COLUMNS if epochs else POINT_COLUMNS
    else:
        schema = EPOCH_BODY_SCHEMA if epochs else BODY_SCHEMA
    options = pa_json.ParseOptions(
        explicit_schema=schema,
        unexpected_field_behavior="error",
        newlines_in_values=not ndjson,
    )
    # A JSON body is one object, so its block must hold all of it; NDJSON lines are parsed in
    # blocks by several threads.
    block = _MIN_BLOCK if ndjson else max(_MIN_BLOCK, len(body) + 1)
    read = pa_json.ReadOptions(block_size=block)
    try:
        table = pa_json.read_json(io.BytesIO(body), read_options=read, parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if ndjson:
        return table
    points = table.column("points")
    if table.num_rows != 1 or points.null_count:
        return None
    items = pc.list_flatten(points)
    if items.null_count:
        return None
    structs = _array(items)
    return pa.Table.from_arrays(
        [structs.field(i) for i in range(3)], schema=EPOCH_COLUMNS if epochs else POINT_COLUMNS
    )


def columns_of_points(points: Sequence[RawPoint]) -> pa.Table | None:
    """(tag, ts, value) columns of points that all carry a plain number and either all a text
    time stamp or all an epoch number; None otherwise (a datetime, a missing stamp, a boolean,
    a text value or a unit envelope)."""
    if not points:
        return None
    tags, stamps, values = zip(*points, strict=True)
    plain = (float, int)
    if not all(type(v) in plain for v in values) or not all(type(t) is str for t in tags):
        return None
    if all(type(t) is str for t in stamps):
        schema = POINT_COLUMNS
    elif all(type(t) in plain for t in stamps):
        schema = EPOCH_COLUMNS
    else:
        return None
    try:
        columns = [pa.array(tags), pa.array(stamps, type=schema.field("ts").type)]
        columns.append(pa.array(values, type=pa.float64()))
    except (pa.ArrowInvalid, OverflowError):
        return None  # an integer beyond int64, or not exactly a float64
    return pa.Table.from_arrays(columns, schema=schema)


def _instants(stamps: pa.Array) -> pa.Array | None:
    """UTC instants of ISO 8601 texts or epoch numbers, as the per-point path reads them;
    None where the two might disagree."""
    if pa.types.is_string(stamps.type):
        # A batch repeats each instant for many tags: check and parse each distinct text once.
        encoded = stamps.dictionary_encode()
        texts = encoded.dictionary
        if not pc.all(pc.match_substring_regex(texts, ISO_INSTANT)).as_py():
            return None
        try:
            distinct = texts.cast(POINT_SCHEMA.field("ts").type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # e.g. 31 February: the per-point path names it
        return distinct.take(encoded.indices)
    numbers = np.asarray(stamps.to_numpy(zero_copy_only=False), dtype=np.float64)
    if not bool(np.isfinite(numbers).all()):
        return None
    # `validation._epoch_number` rounds number x 1e3 or x 1e6 half to even, as `rint` does;
    # below 2**53 microseconds the product is exact whether the number was an int or a float.
    millis = np.abs(numbers) >= EPOCH_MS_THRESHOLD
    micros = np.rint(np.where(millis, numbers * 1e3, numbers * 1e6))
    if bool((np.abs(micros) >= EXACT_INTEGERS).any()):
        return None
    return pa.array(micros.astype(np.int64)).cast(POINT_SCHEMA.field("ts").type)


def _array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


@dataclass(frozen=True)
class TagColumns:
    """A site's numeric tags as aligned arrays: path, series id, scale and offset.

    State tags are left out, so a batch naming one is not proven clean and takes the per-point
    path (which maps state names to codes).
    """

    paths: pa.Array
    series_ids: np.ndarray
    scales: np.ndarray
    offsets: np.ndarray

    @classmethod
    def of(cls, tags: Mapping[str, TagSpec]) -> TagColumns:
        """The numeric tags of a site's tag index."""
        numeric = [spec for spec in tags.values() if spec.kind in NUMERIC_KINDS]
        return cls(
            pa.array([spec.path for spec in numeric], type=pa.string()),
            np.array([spec.series_id for spec in numeric], dtype=np.int64),
            np.array([spec.scale for spec in numeric], dtype=np.float64),
            np.array([spec.offset for spec in numeric], dtype=np.float64),
        )


def check_columns(columns: pa.Table, tags: TagColumns, now: datetime) -> pa.Table | None:
    """The store batch (series_id, ts, value) when every point would be accepted, else None.

    The same rules as `validation.check_batch`: a known numeric tag; an instant in
    [2000-01-01T00:00Z, now + 5 min]; a finite value, stored as raw x scale + offset.
    """
    if columns.num_rows == 0 or any(columns.column(i).null_count for i in range(3)):
        return None
    position = pc.index_in(columns.column("tag"), value_set=tags.paths)
    if position.null_count:
        return None
    instants = _instants(_array(columns.column("ts")))
    if instants is None:
        return None
    ts_us = np.asarray(instants.cast(pa.int64()).to_numpy())
    latest_us = epoch_us(now) + TOLERANCE_US
    if ts_us.min() < EARLIEST_US or ts_us.max() > latest_us:
        return None
    which = np.asarray(position.to_numpy())
    raw = np.asarray(columns.column("value").to_numpy())
    if bool((np.abs(raw) >= EXACT_INTEGERS).any()):
        return None  # a huge integer literal: leave its rounding to Python's float()
    values = raw * tags.scales[which] + tags.offsets[which]
    if not bool(np.isfinite(values).all()):
        return None
    return pa.Table.from_arrays(
        [pa.array(tags.series_ids[which]), instants, pa.array(values)], schema=POINT_SCHEMA
    )
