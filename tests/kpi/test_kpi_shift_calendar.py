"""Tests of shift-calendar expansion into planned operation time and breaks."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from lighthouse_os.kpi.iso22400 import PlannedDowntime, planned_busy_spans
from lighthouse_os.kpi.shift_calendar import (
    HCMC_TWO_SHIFT,
    MEAL_BREAK,
    CalendarError,
    Shift,
    ShiftCalendar,
    planned_time,
)

ICT = timezone(timedelta(hours=7))


def ict(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=ICT)  # 3 March 2025 is a Monday


def hours(spans: object) -> float:
    return sum((e - s).total_seconds() for s, e in spans) / 3600  # type: ignore[attr-defined]


def test_hcmc_two_shift_monday() -> None:
    period = planned_time(HCMC_TWO_SHIFT, ict(3, 0), ict(4, 0))
    assert period.planned == ((ict(3, 6), ict(3, 14)), (ict(3, 14), ict(3, 22)))
    assert period.planned_downtime == (
        PlannedDowntime(ict(3, 10), ict(3, 10, 30), MEAL_BREAK),
        PlannedDowntime(ict(3, 18), ict(3, 18, 30), MEAL_BREAK),
    )
    assert hours(planned_busy_spans(period.planned, period.planned_downtime)) == 15


@pytest.mark.parametrize(
    ("start", "end", "pot_hours"),
    [
        (ict(9, 0), ict(10, 0), 0),  # Sunday
        (ict(3, 0), ict(10, 0), 6 * 16),  # Monday to Sunday
        (ict(3, 12), ict(3, 15), 3),  # clipped at both ends
        (ict(3, 22), ict(4, 6), 0),  # the night between two working days
    ],
)
def test_planned_time_counts_working_days_and_clips(
    start: datetime, end: datetime, pot_hours: float
) -> None:
    assert hours(planned_time(HCMC_TWO_SHIFT, start, end).planned) == pot_hours


def test_planned_time_is_the_same_for_a_period_given_in_utc() -> None:
    utc = planned_time(HCMC_TWO_SHIFT, ict(3, 0).astimezone(UTC), ict(4, 0))
    assert utc == planned_time(HCMC_TWO_SHIFT, ict(3, 0), ict(4, 0))


def test_overnight_shift_and_its_break_fall_on_the_next_day() -> None:
    night = ShiftCalendar(
        "Asia/Ho_Chi_Minh",
        frozenset({0}),
        (Shift("C", time(22), time(6), ((time(2), time(2, 30), "meal"),)),),
    )
    period = planned_time(night, ict(4, 0), ict(5, 0))  # Tuesday only
    assert period.planned == ((ict(4, 0), ict(4, 6)),)  # the Monday-night shift's tail
    assert period.planned_downtime == (PlannedDowntime(ict(4, 2), ict(4, 2, 30), "meal"),)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2025, 3, 3), ict(4, 0), "time zone"),
        (ict(4, 0), ict(3, 0), "after start"),
        (ict(4, 0), ict(4, 0), "after start"),
    ],
)
def test_planned_time_rejects_bad_period(start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        planned_time(HCMC_TWO_SHIFT, start, end)
