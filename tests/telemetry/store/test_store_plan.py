"""Tests of the pure planning core: tiles over rollup levels, zone alignment, retention cuts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.store.plan import (
    Level,
    Tile,
    ceil_to,
    floor_to,
    require_aware,
    retention_cutoff,
    tiles,
    top_level,
    zone,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


@pytest.mark.parametrize(
    ("value", "grain", "floor", "ceil"),
    [
        (at(seconds=90), MIN, at(minutes=1), at(minutes=2)),
        (at(minutes=1), MIN, at(minutes=1), at(minutes=1)),
        (at(minutes=61), HOUR, at(hours=1), at(hours=2)),
        (at(seconds=-1), HOUR, at(hours=-1), T0),
    ],
)
def test_floor_and_ceil_align_to_utc_epoch(
    value: datetime, grain: timedelta, floor: datetime, ceil: datetime
) -> None:
    assert floor_to(value, grain) == floor
    assert ceil_to(value, grain) == ceil


@pytest.mark.parametrize(
    ("start", "end", "top", "expected"),
    [
        # 10:07:30 to 12:00 reads raw to 10:08, minutes to 11:00, then hours.
        (
            at(hours=10, minutes=7, seconds=30),
            at(hours=12),
            Level.HOUR,
            [
                Tile(Level.RAW, at(hours=10, minutes=7, seconds=30), at(hours=10, minutes=8)),
                Tile(Level.MINUTE, at(hours=10, minutes=8), at(hours=11)),
                Tile(Level.HOUR, at(hours=11), at(hours=12)),
            ],
        ),
        (T0, at(days=2), Level.HOUR, [Tile(Level.HOUR, T0, at(days=2))]),
        (T0, at(minutes=30), Level.HOUR, [Tile(Level.MINUTE, T0, at(minutes=30))]),
        (
            at(seconds=5),
            at(seconds=50),
            Level.HOUR,
            [Tile(Level.RAW, at(seconds=5), at(seconds=50))],
        ),
        (T0, at(hours=3), Level.RAW, [Tile(Level.RAW, T0, at(hours=3))]),
        (T0, T0, Level.HOUR, []),
    ],
)
def test_tiles_use_the_coarsest_aligned_level(
    start: datetime, end: datetime, top: Level, expected: list[Tile]
) -> None:
    assert tiles(start, end, top) == expected


@given(
    start=st.integers(0, 3 * 86400),
    length=st.integers(1, 3 * 86400),
    top=st.sampled_from(list(Level)),
)
def test_tiles_cover_the_range_exactly_with_aligned_rollups(
    start: int, length: int, top: Level
) -> None:
    begin, end = at(seconds=start), at(seconds=start + length)
    cover = tiles(begin, end, top)
    assert cover[0].start == begin
    assert cover[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(cover))
    for tile in cover:
        assert tile.start < tile.end
        assert tile.level.value <= top.value
        if tile.level is not Level.RAW:
            assert floor_to(tile.start, tile.level.grain) == tile.start
            assert floor_to(tile.end, tile.level.grain) == tile.end


@pytest.mark.parametrize(
    ("every", "tz", "level"),
    [
        ("1d", "Asia/Ho_Chi_Minh", Level.HOUR),  # UTC+7 all year
        ("1mo", "Asia/Ho_Chi_Minh", Level.HOUR),
        ("1h", "Asia/Ho_Chi_Minh", Level.HOUR),
        ("1m", "Asia/Ho_Chi_Minh", Level.MINUTE),
        ("1d", "Europe/Berlin", Level.HOUR),  # summer time shifts by whole hours
        ("1d", "Asia/Kolkata", Level.MINUTE),  # UTC+5:30
        ("1h", "Asia/Kathmandu", Level.MINUTE),  # UTC+5:45
        ("1d", "UTC", Level.HOUR),
    ],
)
def test_top_level_follows_the_zone_offsets(every: str, tz: str, level: Level) -> None:
    assert top_level(every, tz, T0, at(days=60)) == level


def test_top_level_is_raw_when_the_zone_used_second_offsets() -> None:
    # Saigon kept local mean time, UTC+7:06:40, until 1906 (IANA tz database).
    start = datetime(1900, 1, 1, tzinfo=UTC)
    assert top_level("1d", "Asia/Ho_Chi_Minh", start, start + timedelta(days=3)) == Level.RAW


@pytest.mark.parametrize(
    ("keep", "grain", "expected"),
    [
        (timedelta(days=1), MIN, at(days=9, hours=10, minutes=20)),
        (timedelta(days=1), HOUR, at(days=9, hours=10)),
        (None, HOUR, None),
    ],
)
def test_retention_cutoff_floors_to_whole_buckets(
    keep: timedelta | None, grain: timedelta, expected: datetime | None
) -> None:
    now = at(days=10, hours=10, minutes=20, seconds=30)
    assert retention_cutoff(now, keep, grain) == expected


def test_require_aware_refuses_naive_datetimes() -> None:
    with pytest.raises(InvalidInput, match="time-zone aware"):
        require_aware(datetime(2024, 1, 1), "start")


def test_require_aware_converts_to_utc() -> None:
    local = datetime(2024, 1, 1, 7, tzinfo=zone("Asia/Ho_Chi_Minh"))
    assert require_aware(local, "start") == T0
    assert require_aware(local, "start").tzinfo is UTC


def test_zone_refuses_unknown_names() -> None:
    with pytest.raises(InvalidInput, match="unknown time zone"):
        zone("Mars/Olympus_Mons")
