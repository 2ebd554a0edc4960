"""Local times around clock changes, midnight roll-over, and a file's time-line facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.telemetry.timeline import (
    NonexistentTime,
    resolve_local,
    roll_midnight,
    timeline_facts,
)

BERLIN = ZoneInfo("Europe/Berlin")
HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
US = timedelta(microseconds=1)


def _us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // US


def test_timeline_vietnam_has_no_ambiguous_times() -> None:
    resolved = resolve_local(datetime(2026, 3, 1, 8, 0), HCMC, None)
    assert resolved == resolve_local(datetime(2026, 3, 1, 8, 0), HCMC, None)
    assert resolved.instant == datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    assert not resolved.ambiguous


def test_timeline_nonexistent_spring_forward_time_is_refused() -> None:
    # 2026-03-29 02:30 does not exist in Berlin: clocks jump from 02:00 to 03:00.
    with pytest.raises(NonexistentTime):
        resolve_local(datetime(2026, 3, 29, 2, 30), BERLIN, None)


def test_timeline_ambiguous_time_takes_the_second_pass_when_the_file_went_past_it() -> None:
    # 2026-10-25 02:30 happens twice in Berlin (CEST 00:30Z, then CET 01:30Z).
    first = resolve_local(datetime(2026, 10, 25, 2, 30), BERLIN, None)
    assert (first.instant, first.ambiguous) == (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), True)
    previous = datetime(2026, 10, 25, 0, 45, tzinfo=UTC)  # 02:45 CEST was the row before
    second = resolve_local(datetime(2026, 10, 25, 2, 30), BERLIN, previous)
    assert second.instant == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("naive", "previous", "expected"),
    [
        (datetime(2018, 1, 1, 0, 0), datetime(2018, 1, 1, 23, 45), datetime(2018, 1, 2, 0, 0)),
        (datetime(2018, 1, 2, 0, 0), datetime(2018, 1, 1, 23, 45), datetime(2018, 1, 2, 0, 0)),
        (datetime(2018, 1, 1, 0, 0), None, datetime(2018, 1, 1, 0, 0)),
        (datetime(2018, 1, 1, 0, 15), datetime(2018, 1, 1, 23, 45), datetime(2018, 1, 1, 0, 15)),
        (datetime(2018, 1, 1, 0, 0), datetime(2018, 1, 1, 0, 0), datetime(2018, 1, 1, 0, 0)),
    ],
)
def test_timeline_midnight_rollover(
    naive: datetime, previous: datetime | None, expected: datetime
) -> None:
    assert roll_midnight(naive, previous) == expected


def test_timeline_facts_find_repeats_gaps_and_irregular_steps() -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    minutes = [0, 15, 15, 30, 75, 90, 100]  # a repeat, a gap of 2 intervals, an off-grid step
    stamps = [_us(t0 + timedelta(minutes=m)) for m in minutes]
    facts = timeline_facts(stamps, timedelta(minutes=15))
    assert (facts.distinct, facts.duplicated, facts.gaps, facts.missing_intervals) == (6, 1, 1, 2)
    assert facts.irregular_steps == 1
    assert facts.gap_examples[0].after == t0 + timedelta(minutes=30)
    assert facts.duplicate_examples == (t0 + timedelta(minutes=15),)


def test_timeline_facts_infer_the_most_common_step() -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    stamps = [_us(t0 + timedelta(minutes=m)) for m in (0, 5, 10, 15, 25)]
    facts = timeline_facts(stamps, None)
    assert (facts.interval, facts.interval_inferred, facts.gaps) == (timedelta(minutes=5), True, 1)


def test_timeline_facts_of_nothing() -> None:
    facts = timeline_facts([], None)
    assert (facts.first, facts.distinct, facts.interval) == (None, 0, None)


@given(st.lists(st.integers(min_value=0, max_value=200), min_size=1))
def test_timeline_regular_series_has_no_gaps_and_counts_every_repeat(steps: list[int]) -> None:
    stamps = sorted(s * 60_000_000 for s in steps)
    facts = timeline_facts(stamps, timedelta(minutes=1))
    assert facts.distinct + facts.duplicated == len(stamps)
    assert facts.missing_intervals == (stamps[-1] - stamps[0]) // 60_000_000 + 1 - facts.distinct
