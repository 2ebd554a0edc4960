"""Shift calendars: planned operation time (POT) and planned breaks for the ISO 22400 time model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lighthouse_os.kpi.iso22400 import PlannedDowntime, Span

MEAL_BREAK = "meal break / nghỉ ăn giữa ca"


class CalendarError(ValueError):
    """The calendar or the period cannot be expanded."""


@dataclass(frozen=True)
class Shift:
    """A shift in local time; `end <= start` ends the next day. Breaks are (start, end, reason)."""

    name: str
    start: time
    end: time
    breaks: tuple[tuple[time, time, str], ...] = ()


@dataclass(frozen=True)
class ShiftCalendar:
    """Shifts worked on `workdays` (Monday = 0) in the IANA time zone `tz`."""

    tz: str
    workdays: frozenset[int]
    shifts: tuple[Shift, ...]


# A common Ho Chi Minh City pattern: two 8-hour shifts, Monday to Saturday, a 30-minute meal each.
HCMC_TWO_SHIFT = ShiftCalendar(
    tz="Asia/Ho_Chi_Minh",
    workdays=frozenset(range(6)),
    shifts=(
        Shift("A", time(6), time(14), ((time(10), time(10, 30), MEAL_BREAK),)),
        Shift("B", time(14), time(22), ((time(18), time(18, 30), MEAL_BREAK),)),
    ),
)


@dataclass(frozen=True)
class PlannedTime:
    """Planned operation intervals and planned breaks inside a period, in time order."""

    planned: tuple[Span, ...]
    planned_downtime: tuple[PlannedDowntime, ...]


def planned_time(calendar: ShiftCalendar, start: datetime, end: datetime) -> PlannedTime:
    """Expand `calendar` over `[start, end)`: the shifts give POT (ISO 22400-2 planned operation
    time) and their breaks give planned downtime (part of PDOT). Intervals are clipped to the
    period; a shift that starts the day before and runs past midnight is included."""
    if start.tzinfo is None or end.tzinfo is None:
        raise CalendarError("start and end need a time zone")
    if end <= start:
        raise CalendarError("end must be after start")
    zone = ZoneInfo(calendar.tz)
    planned: list[Span] = []
    breaks: list[PlannedDowntime] = []
    for day in _days(start.astimezone(zone).date(), end.astimezone(zone).date()):
        if day.weekday() not in calendar.workdays:
            continue
        for shift in calendar.shifts:
            planned += _clip(_local(day, shift.start, shift.end, zone), start, end)
            for b_start, b_end, reason in shift.breaks:
                span = _local(day, b_start, b_end, zone, shift.start)
                breaks += [PlannedDowntime(s, e, reason) for s, e in _clip(span, start, end)]
    return PlannedTime(tuple(sorted(planned)), tuple(sorted(breaks, key=lambda b: b.start)))


def _days(first: date, last: date) -> Iterator[date]:
    # Start a day early so that a shift crossing midnight into the period is included.
    day = first - timedelta(days=1)
    while day <= last:
        yield day
        day += timedelta(days=1)


def _local(
    day: date, begin: time, end: time, zone: ZoneInfo, shift_start: time | None = None
) -> Span:
    # A break before its shift's start, or an end at or before its begin, falls on the next day.
    begin_day = day + timedelta(days=int(shift_start is not None and begin < shift_start))
    end_day = begin_day + timedelta(days=int(end <= begin))
    return datetime.combine(begin_day, begin, tzinfo=zone), datetime.combine(
        end_day, end, tzinfo=zone
    )


def _clip(span: Span, start: datetime, end: datetime) -> list[Span]:
    s, e = max(span[0], start), min(span[1], end)
    return [(s, e)] if s < e else []
