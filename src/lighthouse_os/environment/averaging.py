"""Hourly air-quality series and the averages the indices and limits need (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from lighthouse_os.environment.scale import POLLUTANTS, Pollutant

HOUR = timedelta(hours=1)
# Vietnam has one time zone and no daylight saving time.
ICT = timezone(timedelta(hours=7), "ICT")

# Minimum data completeness. Decision 1459/QĐ-TCMT and DOMAIN.md give none for daily values, so
# we use the usual 75% rule (as the US EPA and EU Directive 2008/50/EC do): a 24-h value needs
# 18 of 24 hours, an 8-h mean 6 of 8 hours, a daily maximum 8-h mean 13 of its 17 windows.
MIN_HOURS_PER_DAY = 18
MIN_HOURS_PER_8H = 6
MIN_8H_WINDOWS_PER_DAY = 13
WINDOWS_8H_PER_DAY = 17  # 8-h windows starting 00:00..16:00 lie wholly inside the day


@dataclass(frozen=True)
class HourlyMeans:
    """One station hour: means in µg/m³ (CO too) of the hour from `start`; None = missing."""

    start: datetime
    pm25: float | None = None
    pm10: float | None = None
    o3: float | None = None
    no2: float | None = None
    so2: float | None = None
    co: float | None = None

    def get(self, pollutant: Pollutant) -> float | None:
        """The mean of one pollutant, or None when missing."""
        value: float | None = getattr(self, pollutant)
        return value


@dataclass(frozen=True)
class Aggregate:
    """An averaged or maximum value, how many values (hours or windows) it rests on, or why not."""

    value: float | None
    count: int
    reason: str | None = None


HourlySeries = Mapping[datetime, HourlyMeans]


def index_hours(hours: Iterable[HourlyMeans]) -> dict[datetime, HourlyMeans]:
    """Key hours by start; starts aware, on the hour and unique; values finite and ≥ 0."""
    series: dict[datetime, HourlyMeans] = {}
    for hour in hours:
        check_hour_start(hour.start)
        _check_values(hour)
        if hour.start in series:
            raise ValueError(f"duplicate hour {hour.start.isoformat()}")
        series[hour.start] = hour
    return series


def _check_values(hour: HourlyMeans) -> None:
    for pollutant in POLLUTANTS:
        value = hour.get(pollutant)
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{pollutant} at {hour.start.isoformat()} must be ≥ 0, got {value}")


def check_hour_start(start: datetime) -> None:
    """Raise ValueError unless `start` is time-zone aware and on the hour."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"hour start {start.isoformat()} has no time zone")
    if (start.minute, start.second, start.microsecond) != (0, 0, 0):
        raise ValueError(f"hour start {start.isoformat()} is not on the hour")


def value_at(series: HourlySeries, pollutant: Pollutant, start: datetime) -> float | None:
    """The hourly mean of `pollutant` for the hour starting at `start`, None when absent."""
    hour = series.get(start)
    return None if hour is None else hour.get(pollutant)


def values(
    series: HourlySeries, pollutant: Pollutant, first: datetime, count: int
) -> list[float | None]:
    """`count` consecutive hourly values starting at `first` (None where missing)."""
    return [value_at(series, pollutant, first + k * HOUR) for k in range(count)]


def recent(
    series: HourlySeries, pollutant: Pollutant, at: datetime, count: int
) -> list[float | None]:
    """Values for the hour at `at` and the `count − 1` hours before it, newest first."""
    return [value_at(series, pollutant, at - k * HOUR) for k in range(count)]


def mean_of(window: list[float | None], minimum: int) -> Aggregate:
    """Arithmetic mean of the present values when at least `minimum` are present."""
    present = [v for v in window if v is not None]
    if len(present) < minimum:
        return Aggregate(None, len(present), f"needs {minimum} of {len(window)} hours")
    return Aggregate(sum(present) / len(present), len(present))


def max_of(window: list[float | None], minimum: int) -> Aggregate:
    """Largest present value when at least `minimum` values are present."""
    present = [v for v in window if v is not None]
    if len(present) < minimum:
        return Aggregate(None, len(present), f"needs {minimum} of {len(window)} hours")
    return Aggregate(max(present), len(present))


def day_start(day: date, tz: tzinfo = ICT) -> datetime:
    """Local midnight that starts a calendar day."""
    return datetime.combine(day, time(0), tzinfo=tz)


def daily_mean(series: HourlySeries, pollutant: Pollutant, start: datetime) -> Aggregate:
    """24-h mean of the calendar day beginning at `start` (≥ 18 of 24 hours)."""
    return mean_of(values(series, pollutant, start, 24), MIN_HOURS_PER_DAY)


def daily_max_1h(series: HourlySeries, pollutant: Pollutant, start: datetime) -> Aggregate:
    """Highest 1-h mean of the day (≥ 18 of 24 hours, or the peak may be the hour missed)."""
    return max_of(values(series, pollutant, start, 24), MIN_HOURS_PER_DAY)


def mean_8h_ending(series: HourlySeries, pollutant: Pollutant, at: datetime) -> Aggregate:
    """8-h mean of the hour starting at `at` and the 7 before it (≥ 6 of 8 hours)."""
    return mean_of(recent(series, pollutant, at, 8), MIN_HOURS_PER_8H)


def daily_max_8h(series: HourlySeries, pollutant: Pollutant, start: datetime) -> Aggregate:
    """Highest 8-h rolling mean among the 17 windows that lie inside the day (≥ 13 valid)."""
    means = [
        mean_of(values(series, pollutant, start + k * HOUR, 8), MIN_HOURS_PER_8H).value
        for k in range(WINDOWS_8H_PER_DAY)
    ]
    valid = [m for m in means if m is not None]
    if len(valid) < MIN_8H_WINDOWS_PER_DAY:
        reason = f"needs {MIN_8H_WINDOWS_PER_DAY} of {WINDOWS_8H_PER_DAY} valid 8-h windows"
        return Aggregate(None, len(valid), reason)
    return Aggregate(max(valid), len(valid))


def days_in(series: HourlySeries, tz: tzinfo = ICT) -> list[date]:
    """Calendar days (in `tz`) that hold at least one hour, in order."""
    return sorted({start.astimezone(tz).date() for start in series})
