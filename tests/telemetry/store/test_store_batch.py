"""Tests of the batch contract: what a write accepts, converts and refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.store import POINT_SCHEMA
from lighthouse_os.telemetry.store.batch import (
    conform_batch,
    sort_by_key,
    split_expired,
    ts_bounds,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def table(**columns: pa.Array) -> pa.Table:
    base = {
        "series_id": pa.array([1, 2], pa.int64()),
        "ts": pa.array([T0, T0 + timedelta(seconds=1)], pa.timestamp("us", tz="UTC")),
        "value": pa.array([1.5, 2.5], pa.float64()),
    }
    return pa.table({**base, **columns})


def test_conform_batch_keeps_a_batch_of_the_contract() -> None:
    assert conform_batch(table()).equals(table().cast(POINT_SCHEMA))


def test_conform_batch_converts_lossless_types() -> None:
    local = pa.array([T0, T0 + timedelta(seconds=1)], pa.timestamp("ms", tz="Asia/Ho_Chi_Minh"))
    converted = conform_batch(
        table(series_id=pa.array([1, 2], pa.int32()), ts=local, value=pa.array([1, 2]))
    )
    assert converted.schema == POINT_SCHEMA
    assert converted["ts"].to_pylist() == [T0, T0 + timedelta(seconds=1)]
    assert converted["value"].to_pylist() == [1.0, 2.0]


def test_conform_batch_ignores_extra_columns() -> None:
    assert conform_batch(table(quality=pa.array(["good", "bad"]))).column_names == [
        "series_id",
        "ts",
        "value",
    ]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"ts": pa.array([T0.replace(tzinfo=None)] * 2, pa.timestamp("us"))}, "aware timestamp"),
        ({"ts": pa.array(["2024-01-01", "2024-01-02"])}, "aware timestamp"),
        ({"value": pa.array([1.0, None])}, "null"),
        ({"series_id": pa.array([None, 1], pa.int64())}, "null"),
        ({"value": pa.array([float("nan"), 1.0])}, "NaN or infinite"),
        ({"value": pa.array([float("inf"), 1.0])}, "NaN or infinite"),
        ({"value": pa.array(["a", "b"])}, "value is string"),
        ({"series_id": pa.array([1.5, 2.0])}, "series_id is double"),
        ({"ts": pa.array([1, 2], pa.timestamp("ns", tz="UTC"))}, "ts is timestamp"),
    ],
)
def test_conform_batch_refuses_bad_columns(columns: dict[str, pa.Array], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        conform_batch(table(**columns))


def test_conform_batch_names_missing_columns() -> None:
    with pytest.raises(InvalidInput, match="value") as caught:
        conform_batch(table().drop_columns(["value"]))
    assert caught.value.fields == {"value": "missing"}


def test_split_expired_counts_points_before_the_cut() -> None:
    kept, expired = split_expired(conform_batch(table()), T0 + timedelta(seconds=1))
    assert (kept["series_id"].to_pylist(), expired) == ([2], 1)


def test_split_expired_keeps_everything_without_a_cut() -> None:
    assert split_expired(conform_batch(table()), None)[1] == 0


@pytest.mark.parametrize(("ids", "repeated"), [([1, 2], False), ([1, 1], False), ([1, 1, 1], True)])
def test_sort_by_key_finds_equal_series_and_ts(ids: list[int], repeated: bool) -> None:
    ts = [T0, T0 + timedelta(seconds=1), T0][: len(ids)]
    batch = pa.table(
        {"series_id": pa.array(ids, pa.int64()), "ts": pa.array(ts, pa.timestamp("us", tz="UTC"))}
    )
    assert sort_by_key(batch)[1] is repeated


def test_sort_by_key_orders_by_series_then_time_keeping_the_first_of_repeats() -> None:
    later = T0 + timedelta(seconds=1)
    batch = pa.table(
        {
            "series_id": pa.array([2, 1, 2, 1], pa.int64()),
            "ts": pa.array([later, later, T0, later], pa.timestamp("us", tz="UTC")),
            "value": [1.0, 2.0, 3.0, 4.0],
        }
    )
    ordered, repeats = sort_by_key(batch)
    assert repeats
    assert ordered["value"].to_pylist() == [2.0, 4.0, 3.0, 1.0]


def test_ts_bounds_are_first_and_last_timestamp() -> None:
    assert ts_bounds(conform_batch(table())) == (T0, T0 + timedelta(seconds=1))
