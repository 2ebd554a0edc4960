"""Which rollup answers which part of a query, and where retention cuts (pure core)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lighthouse_os.errors import InvalidInput

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)

# The calendar unit of each `every`, as the truncation unit of the SQL backends.
EVERY_UNITS = {"1m": "minute", "1h": "hour", "1d": "day", "1mo": "month"}


class Level(enum.Enum):
    """A source of pieces: the hour rollup, the minute rollup, or the raw points."""

    HOUR = 3600
    MINUTE = 60
    RAW = 0

    @property
    def grain(self) -> timedelta:
        """The bucket length of this level (zero for raw points)."""
        return timedelta(seconds=self.value)

    def finer(self) -> Level:
        """The next finer source; raw is the finest."""
        return {Level.HOUR: Level.MINUTE, Level.MINUTE: Level.RAW}.get(self, Level.RAW)


@dataclass(frozen=True)
class Tile:
    """The half-open range [start, end) answered by one source level."""

    level: Level
    start: datetime
    end: datetime


def require_aware(value: datetime, name: str) -> datetime:
    """Return `value` in UTC; a naive datetime is refused because its instant is ambiguous."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} must be time-zone aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or InvalidInput when it does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise InvalidInput(f"unknown time zone {name!r}", fields={"tz": "unknown"}) from err


def floor_to(value: datetime, grain: timedelta) -> datetime:
    """The start of the UTC-epoch-aligned `grain` bucket holding `value`."""
    return EPOCH + ((value - EPOCH) // grain) * grain


def ceil_to(value: datetime, grain: timedelta) -> datetime:
    """The first `grain` boundary at or after `value`."""
    floored = floor_to(value, grain)
    return floored if floored == value else floored + grain


def tiles(start: datetime, end: datetime, top: Level) -> list[Tile]:
    """Cover [start, end) with the coarsest sources, starting at `top`.

    The aligned core comes from `top`; the unaligned edges recurse to the next finer level, so a
    query from 10:07:30 to 12:00 reads raw points to 10:08, minute rollups to 11:00, then hours.
    """
    if start >= end:
        return []
    if top is Level.RAW:
        return [Tile(Level.RAW, start, end)]
    core_start, core_end = ceil_to(start, top.grain), floor_to(end, top.grain)
    if core_start >= core_end:
        return tiles(start, end, top.finer())
    return [
        *tiles(start, core_start, top.finer()),
        Tile(top, core_start, core_end),
        *tiles(core_end, end, top.finer()),
    ]


@lru_cache(maxsize=512)
def _offsets_in_year(tz_name: str, year: int) -> frozenset[int]:
    """UTC offsets (seconds) of `tz_name` sampled at every UTC midnight of `year`."""
    tz, day = ZoneInfo(tz_name), datetime(year, 1, 1, tzinfo=UTC)
    found: set[int] = set()
    while day.year == year:
        offset = day.astimezone(tz).utcoffset()
        found.add(int(offset.total_seconds()) if offset is not None else 0)
        day += timedelta(days=1)
    return frozenset(found)


def utc_offsets(tz_name: str, start: datetime, end: datetime) -> frozenset[int]:
    """The UTC offsets, in seconds, that `tz_name` uses between `start` and `end`.

    Sampled daily: a clock change that lasts less than a day is not seen, and none exists.
    """
    zone(tz_name)
    # Local midnights may fall in a neighbouring year.
    years = range(max(start.year - 1, 1), min(end.year + 1, 9999) + 1)
    return frozenset().union(*(_offsets_in_year(tz_name, year) for year in years))


def top_level(every: str, tz_name: str, start: datetime, end: datetime) -> Level:
    """The coarsest rollup whose buckets never straddle a local `every` bucket boundary.

    Local boundaries are whole UTC hours when every offset of the zone is a whole number of hours
    (Asia/Ho_Chi_Minh is UTC+7), so 1h, 1d and 1mo buckets read the hour rollup; a UTC+5:30 zone
    falls back to the minute rollup, and a zone with second offsets (historic local mean time)
    to raw points.
    """
    offsets = utc_offsets(tz_name, start, end)
    if EVERY_UNITS[every] != "minute" and all(off % 3600 == 0 for off in offsets):
        return Level.HOUR
    if all(off % 60 == 0 for off in offsets):
        return Level.MINUTE
    return Level.RAW


def retention_cutoff(now: datetime, keep: timedelta | None, grain: timedelta) -> datetime | None:
    """The instant before which data is deleted: `now - keep`, floored to whole `grain` buckets.

    Raw points are cut at whole minutes and minute rollups at whole hours, so the rollup of any
    bucket that can still receive points is computed from complete data.
    """
    if keep is None:
        return None
    return floor_to(require_aware(now, "now") - keep, grain)
