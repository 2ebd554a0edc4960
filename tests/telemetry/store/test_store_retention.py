"""Tests of retention per resolution: raw points, minute rollups and hour rollups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.store import Retention, RetentionResult, WriteResult
from tests.telemetry.store.store_reference import StoreFactory, batch, expected, rows

NOW = datetime(2024, 3, 20, 10, 30, 15, tzinfo=UTC)
RETENTION = Retention(raw=timedelta(days=2), minute=timedelta(days=10), hour=timedelta(days=40))
# One point every 7 minutes over 60 days, crossing two month (partition) boundaries.
POINTS = [(1, NOW - timedelta(minutes=7 * i), float(i % 13)) for i in range(60 * 24 * 60 // 7)]
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


def first_kept(cut: datetime | None, grain: timedelta) -> datetime:
    """The start of the first bucket of `grain` (a point, if zero) at or after `cut`."""
    ts = min(ts for _, ts, _ in POINTS if cut is not None and ts >= cut)
    return ts - (ts - datetime(2024, 1, 1, tzinfo=UTC)) % grain if grain else ts


EVERYTHING = (NOW - timedelta(days=90), NOW + timedelta(seconds=1))


def test_apply_retention_deletes_each_resolution_at_its_own_age(
    store_factory: StoreFactory,
) -> None:
    store = store_factory(retention=RETENTION)
    store.write(batch(POINTS))
    cuts = RetentionResult(
        raw_before=datetime(2024, 3, 18, 10, 30, tzinfo=UTC),
        minute_before=datetime(2024, 3, 10, 10, tzinfo=UTC),
        hour_before=datetime(2024, 2, 9, 10, tzinfo=UTC),
    )
    assert store.apply_retention(NOW) == cuts
    raw = rows(store.raw([1], *EVERYTHING))
    assert min(ts for _, ts, _ in raw) == first_kept(cuts.raw_before, timedelta(0))
    minutes = rows(store.aggregate([1], *EVERYTHING, "1m", "count"))
    assert min(bucket for _, bucket, _ in minutes) == first_kept(cuts.minute_before, MINUTE)
    hours = rows(store.aggregate([1], *EVERYTHING, "1h", "count"))
    assert min(bucket for _, bucket, _ in hours) == first_kept(cuts.hour_before, HOUR)


def test_aggregates_of_expired_raw_points_still_come_from_the_rollups(
    store_factory: StoreFactory,
) -> None:
    store = store_factory(retention=RETENTION)
    store.write(batch(POINTS))
    store.apply_retention(NOW)
    kept = (datetime(2024, 2, 10, 17, tzinfo=UTC), datetime(2024, 3, 19, 17, tzinfo=UTC))
    for fn in ("avg", "max", "delta", "last"):
        got = rows(store.aggregate([1], *kept, "1d", fn))
        assert got == expected(POINTS, kept, "1d", fn), fn


def test_write_counts_points_older_than_the_raw_cut_as_expired(
    store_factory: StoreFactory,
) -> None:
    store = store_factory(retention=RETENTION)
    store.write(batch(POINTS[:10]))
    cut = store.apply_retention(NOW).raw_before
    assert cut is not None
    late = [(1, cut - timedelta(seconds=1), 1.0), (1, cut, 2.0)]
    assert store.write(batch(late)) == WriteResult(inserted=1, duplicates=0, expired=1)


def test_apply_retention_never_moves_a_cut_back(store_factory: StoreFactory) -> None:
    store = store_factory(retention=RETENTION)
    first = store.apply_retention(NOW)
    assert store.apply_retention(NOW - timedelta(days=5)) == first


def test_apply_retention_keeps_everything_by_default(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.write(batch(POINTS[:100]))
    assert store.apply_retention(NOW) == RetentionResult(None, None, None)
    assert store.raw([1], *EVERYTHING).num_rows == 100


@pytest.mark.parametrize(
    "retention",
    [
        {"raw": timedelta(days=10), "minute": timedelta(days=2)},
        {"minute": None, "hour": timedelta(days=1)},
        {"raw": timedelta(0)},
    ],
)
def test_retention_refuses_finer_data_outliving_coarser(retention: dict[str, timedelta]) -> None:
    with pytest.raises(InvalidInput, match="retention"):
        Retention(**retention)
