"""Ambient air limits of QCVN 05:2023/BTNMT as dated data, and exceedance detection (pure).

Averaging periods on an hourly series (values in µg/m³, compared with the µg/Nm³ limits as
reported: station analysers already report at reference conditions):
- 1 h: each hourly mean;
- 8 h: rolling means of 8 consecutive hours (≥ 6 present); consecutive exceeding windows are
  merged into one record (start of the first window, end of the last, highest mean);
- 24 h: calendar-day means in local time (≥ 18 of 24 hours);
- year: calendar-year mean of the hourly values (≥ 75% of the year's hours).
A limit is exceeded when the mean is strictly greater than it; the limit that applies is the one
valid on the date the averaging period starts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from typing import Literal

from lighthouse_os.environment.averaging import (
    HOUR,
    ICT,
    MIN_HOURS_PER_8H,
    MIN_HOURS_PER_DAY,
    HourlyMeans,
    check_hour_start,
    day_start,
)
from lighthouse_os.environment.scale import POLLUTANTS

Averaging = Literal["1h", "8h", "24h", "year"]
MIN_YEAR_COVERAGE = 0.75


@dataclass(frozen=True)
class AmbientLimit:
    """One limit value for a parameter and averaging time, with its validity dates and source."""

    parameter: str
    averaging: Averaging
    value: float
    unit: str
    valid_from: date
    valid_to: date | None
    source: str

    def valid_on(self, day: date) -> bool:
        """Whether the limit applies to a period starting on `day`."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Exceedance:
    """A period whose mean exceeded the applicable limit."""

    parameter: str
    averaging: Averaging
    start: datetime
    end: datetime
    value: float
    limit: float
    unit: str
    limit_source: str
    windows: int = 1


def limit_on(
    limits: Sequence[AmbientLimit], parameter: str, averaging: Averaging, day: date
) -> AmbientLimit | None:
    """The limit for `parameter` at `averaging` valid on `day`, None when there is none."""
    return next(
        (
            lim
            for lim in limits
            if lim.parameter == parameter and lim.averaging == averaging and lim.valid_on(day)
        ),
        None,
    )


HourValues = Mapping[datetime, float | None]


def _window(series: HourValues, first: datetime, count: int) -> list[float]:
    found = (series.get(first + k * HOUR) for k in range(count))
    return [v for v in found if v is not None]


def _record(
    lim: AmbientLimit, start: datetime, end: datetime, value: float, windows: int = 1
) -> Exceedance:
    return Exceedance(
        parameter=lim.parameter,
        averaging=lim.averaging,
        start=start,
        end=end,
        value=value,
        limit=lim.value,
        unit=lim.unit,
        limit_source=lim.source,
        windows=windows,
    )


def hourly_exceedances(
    series: HourValues, parameter: str, limits: Sequence[AmbientLimit], tz: tzinfo = ICT
) -> list[Exceedance]:
    """Hours whose 1-h mean exceeds the 1-h limit (QCVN 05:2023/BTNMT, "1 giờ")."""
    found = []
    for start in sorted(series):
        value = series[start]
        lim = limit_on(limits, parameter, "1h", start.astimezone(tz).date())
        if lim is not None and value is not None and value > lim.value:
            found.append(_record(lim, start, start + HOUR, value))
    return found


def rolling_8h_exceedances(
    series: HourValues, parameter: str, limits: Sequence[AmbientLimit], tz: tzinfo = ICT
) -> list[Exceedance]:
    """Merged runs of 8-h rolling means above the 8-h limit ("8 giờ"), ≥ 6 of 8 hours each."""
    if not series:
        return []
    first, last = min(series), max(series)
    found: list[Exceedance] = []
    start = first
    while start + 7 * HOUR <= last:
        present = _window(series, start, 8)
        lim = limit_on(limits, parameter, "8h", start.astimezone(tz).date())
        if lim is not None and len(present) >= MIN_HOURS_PER_8H:
            mean = sum(present) / len(present)
            if mean > lim.value:
                _merge(found, _record(lim, start, start + 8 * HOUR, mean))
        start += HOUR
    return found


def _merge(found: list[Exceedance], new: Exceedance) -> None:
    """Extend the previous run when this window starts one hour after its last window did."""
    prev = found[-1] if found else None
    if prev and prev.limit == new.limit and new.start == prev.end - 7 * HOUR:
        value = max(prev.value, new.value)
        found[-1] = replace(prev, end=new.end, value=value, windows=prev.windows + 1)
    else:
        found.append(new)


def daily_exceedances(
    series: HourValues, parameter: str, limits: Sequence[AmbientLimit], tz: tzinfo = ICT
) -> list[Exceedance]:
    """Calendar days whose 24-h mean (≥ 18 of 24 hours) exceeds the 24-h limit ("24 giờ")."""
    found = []
    for day in sorted({s.astimezone(tz).date() for s in series}):
        start = day_start(day, tz)
        present = _window(series, start, 24)
        lim = limit_on(limits, parameter, "24h", day)
        if lim is not None and len(present) >= MIN_HOURS_PER_DAY:
            mean = sum(present) / len(present)
            if mean > lim.value:
                found.append(_record(lim, start, start + 24 * HOUR, mean))
    return found


def yearly_exceedances(
    series: HourValues, parameter: str, limits: Sequence[AmbientLimit], tz: tzinfo = ICT
) -> list[Exceedance]:
    """Calendar years whose mean (≥ 75% of the year's hours) exceeds the annual limit ("năm")."""
    found = []
    for year in sorted({s.astimezone(tz).year for s in series}):
        start = day_start(date(year, 1, 1), tz)
        end = day_start(date(year + 1, 1, 1), tz)
        present = [v for s, v in series.items() if start <= s < end and v is not None]
        needed = math.ceil(MIN_YEAR_COVERAGE * (end - start) / HOUR)
        lim = limit_on(limits, parameter, "year", start.date())
        if lim is not None and len(present) >= needed:
            mean = sum(present) / len(present)
            if mean > lim.value:
                found.append(_record(lim, start, end, mean))
    return found


def exceedances(
    series: HourValues, parameter: str, limits: Sequence[AmbientLimit], tz: tzinfo = ICT
) -> list[Exceedance]:
    """All exceedances of one parameter's hourly series (hour start → µg/m³ or None).

    Hour starts must be time-zone aware and on the hour; days and years are taken in `tz`.
    """
    for start in series:
        check_hour_start(start)
    checks = (hourly_exceedances, rolling_8h_exceedances, daily_exceedances, yearly_exceedances)
    return [e for check in checks for e in check(series, parameter, limits, tz)]


def station_exceedances(
    hours: Iterable[HourlyMeans], limits: Sequence[AmbientLimit], tz: tzinfo = ICT
) -> list[Exceedance]:
    """Exceedances of every VN_AQI pollutant in a station's hourly means, by parameter."""
    rows = list(hours)
    found: list[Exceedance] = []
    for pollutant in POLLUTANTS:
        series = {h.start: h.get(pollutant) for h in rows}
        found += exceedances(series, pollutant, limits, tz)
    return found
