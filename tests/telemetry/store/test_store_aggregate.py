"""Tests that aggregates read from rollups equal the same computation over the raw points."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lighthouse_os.telemetry.store import Every, TimeSeriesStore
from tests.telemetry.store.store_reference import Point, StoreFactory, batch, expected, rows

HCMC = "Asia/Ho_Chi_Minh"
FNS = ("avg", "min", "max", "sum", "last", "count", "delta")
# Late January: three days in HCMC cross the local month boundary (Jan 31 17:00 UTC).
T0 = datetime(2024, 1, 30, 12, tzinfo=UTC)
SPAN = 3 * 86400
_series_ids = itertools.count(1000, 10)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# Offsets cluster in the first minutes, so buckets hold several points.
offsets = st.one_of(st.integers(0, 600), st.integers(0, SPAN))
writes = st.lists(
    st.tuples(st.integers(0, 2), offsets, st.integers(0, 50), st.integers(0, 3)),
    min_size=1,
    max_size=60,
)


@settings(
    max_examples=30,
    deadline=None,
    # One store serves every example; each example writes its own fresh series ids.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    writes=writes,
    every=st.sampled_from(["1m", "1h", "1d", "1mo"]),
    tz=st.sampled_from([HCMC, "UTC", "Asia/Kolkata"]),
    window=st.tuples(st.integers(-3600, SPAN), st.integers(0, SPAN + 3600)),
)
def test_aggregate_equals_raw_computation_for_out_of_order_batches(
    store: TimeSeriesStore,
    writes: list[tuple[int, int, int, int]],
    every: str,
    tz: str,
    window: tuple[int, int],
) -> None:
    base = next(_series_ids)
    points: list[Point] = []
    for number in range(4):  # later batches carry late points into rolled-up buckets
        chunk = [(base + s, at(off), float(v)) for s, off, v, n in writes if n == number]
        store.write(batch(chunk))
        points += chunk
    span = (at(window[0]), at(window[0] + window[1]))
    ids = [base, base + 1, base + 2]
    for fn in FNS:
        got = rows(store.aggregate(ids, *span, every, fn, tz=tz))  # type: ignore[arg-type]
        assert got == expected(points, span, every, fn, tz), fn


def test_aggregate_starts_day_buckets_at_local_midnight(store: TimeSeriesStore) -> None:
    # 16:59:59 UTC is 23:59:59 in Ho Chi Minh City; 17:00 UTC is midnight of the next day.
    points = [(1, datetime(2024, 1, 1, 16, 59, 59, tzinfo=UTC), 1.0)]
    points.append((1, datetime(2024, 1, 1, 17, tzinfo=UTC), 2.0))
    store.write(batch(points))
    got = rows(store.aggregate([1], T0 - timedelta(days=60), T0, "1d", "sum"))
    assert got == [
        (1, datetime(2023, 12, 31, 17, tzinfo=UTC), 1.0),
        (1, datetime(2024, 1, 1, 17, tzinfo=UTC), 2.0),
    ]


def test_aggregate_starts_month_buckets_at_local_midnight(store: TimeSeriesStore) -> None:
    points = [(1, datetime(2024, 1, 31, 16, tzinfo=UTC), 1.0)]  # 23:00 on 31 January
    points.append((1, datetime(2024, 1, 31, 17, tzinfo=UTC), 2.0))  # 00:00 on 1 February
    store.write(batch(points))
    got = rows(
        store.aggregate([1], T0 - timedelta(days=60), T0 + timedelta(days=60), "1mo", "count")
    )
    assert got == [
        (1, datetime(2023, 12, 31, 17, tzinfo=UTC), 1.0),
        (1, datetime(2024, 1, 31, 17, tzinfo=UTC), 1.0),
    ]


def test_aggregate_day_buckets_follow_daylight_saving_time(store: TimeSeriesStore) -> None:
    # Berlin moves from UTC+1 to UTC+2 on 31 March 2024: that local day lasts 23 hours.
    points = [(1, datetime(2024, 3, d, 12, tzinfo=UTC), 1.0) for d in (30, 31)]
    points.append((1, datetime(2024, 4, 1, 12, tzinfo=UTC), 1.0))
    store.write(batch(points))
    span = (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 5, tzinfo=UTC))
    got = rows(store.aggregate([1], *span, "1d", "count", tz="Europe/Berlin"))
    assert [bucket for _, bucket, _ in got] == [
        datetime(2024, 3, 29, 23, tzinfo=UTC),
        datetime(2024, 3, 30, 23, tzinfo=UTC),
        datetime(2024, 3, 31, 22, tzinfo=UTC),
    ]


# An energy counter in kWh read every 20 minutes; the meter restarts from 0 at 01:00.
COUNTER = [100.0, 104.0, 110.0, 3.0, 5.0, 5.0, 9.0]


@pytest.mark.parametrize(
    ("every", "expected_deltas"),
    [
        # 00:00, 00:20, 00:40 -> +4, +6; 01:00 reset -> +3; then +2, +0, +4 at 01:20 .. 02:00
        ("1h", [10.0, 5.0, 4.0]),
        ("1d", [19.0]),
        ("1m", [0.0, 4.0, 6.0, 3.0, 2.0, 0.0, 4.0]),
    ],
)
def test_aggregate_delta_counts_increments_across_resets(
    store: TimeSeriesStore, every: Every, expected_deltas: list[float]
) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    reads = [(1, start + timedelta(minutes=20 * i), kwh) for i, kwh in enumerate(COUNTER)]
    store.write(batch(reads))
    got = rows(store.aggregate([1], start, start + timedelta(hours=3), every, "delta", tz="UTC"))
    assert [value for _, _, value in got] == expected_deltas


def test_aggregate_delta_takes_the_increment_from_before_the_range(
    store: TimeSeriesStore,
) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    store.write(batch([(1, start - timedelta(hours=2), 50.0), (1, start, 58.0)]))
    got = rows(store.aggregate([1], start, start + timedelta(hours=1), "1h", "delta", tz="UTC"))
    assert got == [(1, start, 8.0)]


def test_aggregate_delta_ignores_a_sample_older_than_the_lookback(
    store_factory: StoreFactory,
) -> None:
    store = store_factory(delta_lookback=timedelta(hours=1))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    store.write(batch([(1, start - timedelta(hours=2), 50.0), (1, start, 58.0)]))
    got = rows(store.aggregate([1], start, start + timedelta(hours=1), "1h", "delta", tz="UTC"))
    assert got == [(1, start, 0.0)]


@pytest.mark.postgres
def test_backends_return_identical_results_for_the_same_data(
    duckdb_store_factory: StoreFactory, pg_store_factory: StoreFactory
) -> None:
    stores = [duckdb_store_factory(), pg_store_factory()]
    points = [
        (s, at(137 * i + 11 * s), float((i * 7919 + s) % 1000) / 8)
        for s in range(3)
        for i in range(1500)
    ]
    for store in stores:
        for chunk in (points[::2], points[1::2]):  # the second half arrives late
            store.write(batch(chunk))
    span = (at(-1800), at(SPAN))
    for every, fn in itertools.product(["1m", "1h", "1d", "1mo"], FNS):
        duck, pg = (store.aggregate([0, 1, 2], *span, every, fn) for store in stores)  # type: ignore[arg-type]
        assert duck.equals(pg), (every, fn)
    assert stores[0].raw([0, 1, 2], *span).equals(stores[1].raw([0, 1, 2], *span))
    assert stores[0].latest([0, 1, 2]).equals(stores[1].latest([0, 1, 2]))
