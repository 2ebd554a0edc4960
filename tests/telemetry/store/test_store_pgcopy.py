"""Tests of the vectorised PostgreSQL binary COPY codec."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.telemetry.store import POINT_SCHEMA
from lighthouse_os.telemetry.store.pgcopy import HEADER, TRAILER, CopyFormatError, decode, encode

points = st.lists(
    st.tuples(
        st.integers(-(2**63), 2**63 - 1),
        st.datetimes(
            min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
        ),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    max_size=50,
)


ONE_ROW = pa.Table.from_pylist(
    [{"series_id": 1, "ts": datetime(2024, 1, 1, tzinfo=UTC), "value": 1.0}], schema=POINT_SCHEMA
)


def as_table(rows: list[tuple[int, datetime, float]]) -> pa.Table:
    columns: list[Sequence[object]] = list(zip(*rows, strict=True)) if rows else [[], [], []]
    return pa.Table.from_arrays([pa.array(c) for c in columns], schema=POINT_SCHEMA)


@given(points)
def test_decode_inverts_encode(rows: list[tuple[int, datetime, float]]) -> None:
    table = as_table(rows)
    assert decode(encode(table), POINT_SCHEMA).equals(table)


def test_encode_writes_postgres_epoch_microseconds() -> None:
    data = encode(as_table([(1, datetime(2000, 1, 1, 0, 0, 1, tzinfo=UTC), 0.5)]))
    row = data[len(HEADER) : -len(TRAILER)]
    assert row[18:26] == (1_000_000).to_bytes(8, "big")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"NOTCOPY", "signature"),
        (HEADER + b"\x00\x03", "trailer"),
        (HEADER + b"\x00" * 37 + TRAILER, "38-byte"),
        # A row whose last field has length -1 (NULL), padded to 38 bytes.
        (HEADER + encode(ONE_ROW)[19:45] + b"\xff" * 12 + TRAILER, "NULL"),
    ],
)
def test_decode_refuses_other_streams(data: bytes, message: str) -> None:
    with pytest.raises(CopyFormatError, match=message):
        decode(data, POINT_SCHEMA)


def test_decode_of_an_empty_stream_is_an_empty_table() -> None:
    assert decode(HEADER + TRAILER, POINT_SCHEMA).num_rows == 0
