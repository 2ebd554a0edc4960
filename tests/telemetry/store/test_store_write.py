"""Tests of writing to the store: idempotency, conflicts, latest values and raw reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.store import POINT_SCHEMA, TimeSeriesStore, WriteResult
from tests.telemetry.store.store_reference import batch, expected, rows

T0 = datetime(2024, 3, 1, tzinfo=UTC)
DAY = (T0, T0 + timedelta(days=1))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


POINTS = [(1, at(0), 10.0), (1, at(30), 12.0), (1, at(90), 11.0), (2, at(0), 5.0)]


def test_write_stores_new_points(store: TimeSeriesStore) -> None:
    assert store.write(batch(POINTS)) == WriteResult(inserted=4, duplicates=0)
    assert rows(store.raw([1, 2], *DAY)) == sorted(POINTS)


def test_write_of_the_same_batch_twice_inserts_nothing_the_second_time(
    store: TimeSeriesStore,
) -> None:
    store.write(batch(POINTS))
    before = {fn: store.aggregate([1, 2], *DAY, "1h", fn) for fn in ("sum", "count", "delta")}
    assert store.write(batch(POINTS)) == WriteResult(inserted=0, duplicates=4)
    after = {fn: store.aggregate([1, 2], *DAY, "1h", fn) for fn in ("sum", "count", "delta")}
    assert after == before
    assert rows(store.raw([1, 2], *DAY)) == sorted(POINTS)


def test_write_keeps_the_first_value_when_a_redelivery_differs(store: TimeSeriesStore) -> None:
    store.write(batch(POINTS))
    result = store.write(batch([(1, at(0), 99.0), (1, at(30), 12.0), (1, at(120), 1.0)]))
    assert result == WriteResult(inserted=1, duplicates=1, conflicts=1)
    assert rows(store.raw([1], at(0), at(1))) == [(1, at(0), 10.0)]


def test_write_keeps_the_first_occurrence_when_a_batch_repeats_a_key(
    store: TimeSeriesStore,
) -> None:
    result = store.write(batch([(1, at(0), 1.0), (1, at(0), 2.0), (1, at(0), 1.0)]))
    assert result == WriteResult(inserted=1, duplicates=1, conflicts=1)
    assert rows(store.raw([1], *DAY)) == [(1, at(0), 1.0)]
    assert result.received == 3


def test_write_of_an_empty_batch_changes_nothing(store: TimeSeriesStore) -> None:
    assert store.write(POINT_SCHEMA.empty_table()) == WriteResult(0, 0)
    assert store.latest([1]).num_rows == 0


def test_write_refuses_a_bad_batch_and_stores_none_of_it(store: TimeSeriesStore) -> None:
    bad = batch(POINTS).set_column(2, "value", pa.array([1.0, float("nan"), 2.0, 3.0]))
    with pytest.raises(InvalidInput, match="NaN"):
        store.write(bad)
    assert store.raw([1, 2], *DAY).num_rows == 0


def test_write_rolls_up_late_points_into_finished_buckets(store: TimeSeriesStore) -> None:
    store.write(batch(POINTS))
    late = [(1, at(15), 20.0), (1, at(-3600), 3.0)]
    store.write(batch(late))
    for fn in ("avg", "last", "delta", "count"):
        got = rows(store.aggregate([1, 2], *DAY, "1m", fn, tz="UTC"))
        assert got == expected(POINTS + late, DAY, "1m", fn, tz="UTC"), fn


def test_latest_is_the_last_point_of_each_series(store: TimeSeriesStore) -> None:
    store.write(batch(POINTS))
    store.write(batch([(2, at(-60), 1.0)]))  # a late point must not replace a newer one
    assert rows(store.latest([1, 2, 3])) == [(1, at(90), 11.0), (2, at(0), 5.0)]


def test_raw_is_half_open_and_ordered(store: TimeSeriesStore) -> None:
    store.write(batch(reversed(POINTS)))
    assert rows(store.raw([1], at(0), at(90))) == [(1, at(0), 10.0), (1, at(30), 12.0)]


@pytest.mark.parametrize("query", ["raw", "aggregate", "latest"])
def test_queries_for_no_series_are_empty(store: TimeSeriesStore, query: str) -> None:
    store.write(batch(POINTS))
    results = {
        "raw": lambda: store.raw([], *DAY),
        "aggregate": lambda: store.aggregate([], *DAY, "1h", "avg"),
        "latest": lambda: store.latest([]),
    }
    assert results[query]().num_rows == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"start": datetime(2024, 3, 1)}, "time-zone aware"),
        ({"every": "5m"}, "every must be one of"),
        ({"fn": "median"}, "fn must be one of"),
        ({"tz": "Asia/Saigon City"}, "unknown time zone"),
    ],
)
def test_aggregate_refuses_bad_arguments(
    store: TimeSeriesStore, arguments: dict[str, object], message: str
) -> None:
    query: dict[str, object] = {"start": DAY[0], "end": DAY[1], "every": "1h", "fn": "avg"}
    with pytest.raises(InvalidInput, match=message):
        store.aggregate([1], **{**query, **arguments})  # type: ignore[arg-type]


def test_store_closes_as_a_context_manager(store: TimeSeriesStore) -> None:
    with store as opened:
        opened.write(batch(POINTS))
    with pytest.raises(Exception, match=r"(?i)closed"):
        store.latest([1])
