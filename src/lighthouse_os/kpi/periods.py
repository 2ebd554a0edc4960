"""Reporting periods (shift, day, week, month) and their planned busy time (pure core)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lighthouse_os.kpi.iso22400 import Span, planned_busy_spans
from lighthouse_os.kpi.shift_calendar import ShiftCalendar, planned_time

PERIOD_KINDS: tuple[str, ...] = ("shift", "day", "week", "month")
MAX_PERIODS = 400  # one answer covers at most this many periods (e.g. 400 days)


class PeriodError(ValueError):
    """The period kind or range cannot be expanded."""


@dataclass(frozen=True)
class Period:
    """One shift, day, week or month, in [start, end); `busy` is its PBT up to `now`."""

    start: datetime
    end: datetime
    label: str
    pot_s: float
    busy: tuple[Span, ...]


def periods(
    calendar: ShiftCalendar, kind: str, start: datetime, end: datetime, now: datetime
) -> list[Period]:
    """The periods of `kind` overlapping [start, end), clipped to it, with their planned time.

    Days, weeks (from Monday) and months start at local midnight in the calendar's zone; a
    shift period is one planned interval of the calendar. POT and PBT (ISO 22400-2: PBT =
    POT − planned downtime) count only up to `now`, so a running shift is measured so far.
    """
    if kind not in PERIOD_KINDS:
        raise PeriodError(f"period must be one of {', '.join(PERIOD_KINDS)}, got {kind!r}")
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise PeriodError("the range needs aware instants with from < to")
    zone = ZoneInfo(calendar.tz)
    bounds = (
        _shift_bounds(calendar, start, end)
        if kind == "shift"
        else _calendar_bounds(kind, start, end, zone)
    )
    if len(bounds) > MAX_PERIODS:
        raise PeriodError(f"more than {MAX_PERIODS} periods; narrow the range")
    return [_period(calendar, s, e, label, start, end, now) for s, e, label in bounds]


def _period(
    calendar: ShiftCalendar,
    start: datetime,
    end: datetime,
    label: str,
    lo: datetime,
    hi: datetime,
    now: datetime,
) -> Period:
    clip_start, clip_end = max(start, lo), min(end, hi)
    live_end = min(clip_end, max(now, clip_start))
    if live_end <= clip_start:
        return Period(clip_start, clip_end, label, 0.0, ())
    plan = planned_time(calendar, clip_start, live_end)
    pot = sum((e - s).total_seconds() for s, e in plan.planned)
    busy = tuple(planned_busy_spans(plan.planned, plan.planned_downtime))
    return Period(clip_start, clip_end, label, pot, busy)


def _calendar_bounds(
    kind: str, start: datetime, end: datetime, zone: ZoneInfo
) -> list[tuple[datetime, datetime, str]]:
    day = start.astimezone(zone).date()
    if kind == "week":
        day -= timedelta(days=day.weekday())
    elif kind == "month":
        day = day.replace(day=1)
    out = []
    while (begin := datetime.combine(day, time(), tzinfo=zone)) < end:
        following = _next(kind, day)
        finish = datetime.combine(following, time(), tzinfo=zone)
        if finish > start:
            label = day.strftime("%Y-%m") if kind == "month" else day.isoformat()
            out.append((begin, finish, label))
        day = following
    return out


def _next(kind: str, day: date) -> date:
    if kind == "day":
        return day + timedelta(days=1)
    if kind == "week":
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _shift_bounds(
    calendar: ShiftCalendar, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str]]:
    zone = ZoneInfo(calendar.tz)
    plan = planned_time(calendar, start - timedelta(days=1), end + timedelta(days=1))
    names = {s.start: s.name for s in calendar.shifts}
    out = []
    for s, e in plan.planned:
        if s < end and e > start:
            local = s.astimezone(zone)
            name = names.get(local.time().replace(tzinfo=None), "")
            out.append((s, e, f"{local.date().isoformat()} {name}".strip()))
    return out


def current_period(calendar: ShiftCalendar, kind: str, now: datetime) -> Period | None:
    """The whole shift (running now, else the last one that started), day, week or month
    that holds `now`; its planned time counts up to `now`."""
    later = now + timedelta(seconds=1)
    if kind == "shift":
        started = [
            b for b in _shift_bounds(calendar, now - timedelta(days=7), later) if b[0] <= now
        ]
        if not started:
            return None
        start, end, label = started[-1]
    elif kind in PERIOD_KINDS:
        start, end, label = _calendar_bounds(kind, now, later, ZoneInfo(calendar.tz))[0]
    else:
        raise PeriodError(f"period must be one of {', '.join(PERIOD_KINDS)}, got {kind!r}")
    return _period(calendar, start, end, label, start, end, now)
