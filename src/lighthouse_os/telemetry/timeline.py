"""Local file timestamps to instants, and what is odd about a file's time line (pure core).

Local wall-clock times are resolved in an IANA zone. Around a daylight-saving change a local
time can be *ambiguous* (it happens twice when clocks go back) or *non-existent* (skipped when
clocks go forward). Vietnam has kept UTC+7 since 1975, but files from other zones do have both.
An ambiguous time takes its first occurrence unless that would go back in time from the row
before, which is how a file written in order passes the repeated hour; a non-existent time is
refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

MAX_EXAMPLES = 5
MIDNIGHT = time(0, 0)


class NonexistentTime(ValueError):
    """A local time skipped by a clock change (e.g. 02:30 on a spring-forward night)."""


@dataclass(frozen=True)
class Resolved:
    """The instant of a local time, and whether it was ambiguous."""

    instant: datetime
    ambiguous: bool


def resolve_local(naive: datetime, zone: ZoneInfo, previous: datetime | None) -> Resolved:
    """The UTC instant of wall-clock `naive` in `zone` (see the module docstring for DST)."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return Resolved(first.astimezone(UTC), ambiguous=False)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise NonexistentTime(f"{naive.isoformat(sep=' ')} does not exist in {zone.key}")
    if second.astimezone(UTC) == first.astimezone(UTC):
        return Resolved(first.astimezone(UTC), ambiguous=False)
    chosen = first
    if previous is not None and first.astimezone(UTC) <= previous:
        chosen = second  # the file is on its second pass through the repeated hour
    return Resolved(chosen.astimezone(UTC), ambiguous=True)


def roll_midnight(naive: datetime, previous: datetime | None) -> datetime:
    """`D 00:00` right after a later time of the same date D is read as 24:00 of D.

    Some loggers write the end of a day's last interval as `D 00:00` instead of `D+1 00:00`.
    """
    if (
        previous is not None
        and naive.time() == MIDNIGHT
        and previous.date() == naive.date()
        and previous.time() > MIDNIGHT
    ):
        return naive + timedelta(days=1)
    return naive


@dataclass(frozen=True)
class Gap:
    """Missing rows between two consecutive instants of the sorted time line."""

    after: datetime
    before: datetime
    missing: int


@dataclass(frozen=True)
class TimelineFacts:
    """What is odd about a time line once sorted: repeats, gaps and off-grid steps."""

    first: datetime | None
    last: datetime | None
    distinct: int
    duplicated: int
    duplicate_examples: tuple[datetime, ...]
    gaps: int
    missing_intervals: int
    gap_examples: tuple[Gap, ...]
    irregular_steps: int
    interval: timedelta | None
    interval_inferred: bool


def timeline_facts(sorted_us: Sequence[int], interval: timedelta | None) -> TimelineFacts:
    """Facts of ascending instants (integer microseconds since 1970-01-01T00:00Z).

    duplicated = rows whose instant equals the previous row's; a gap is a step longer than the
    interval, missing = step / interval - 1 (rounded down); an irregular step is shorter than
    the interval or not a whole multiple of it. Without an interval the most common step is used.
    """
    steps = [b - a for a, b in pairwise(sorted_us)]
    positive = [s for s in steps if s > 0]
    step_us, inferred = _interval_us(interval, positive)
    duplicated = [sorted_us[i + 1] for i, s in enumerate(steps) if s == 0]
    gaps = [
        Gap(_dt(sorted_us[i]), _dt(sorted_us[i + 1]), s // step_us - 1)
        for i, s in enumerate(steps)
        if step_us and s > step_us and s % step_us == 0
    ]
    irregular = sum(1 for s in positive if step_us and s % step_us != 0)
    return TimelineFacts(
        first=_dt(sorted_us[0]) if sorted_us else None,
        last=_dt(sorted_us[-1]) if sorted_us else None,
        distinct=len(positive) + (1 if sorted_us else 0),
        duplicated=len(duplicated),
        duplicate_examples=tuple(_dt(u) for u in _unique(duplicated)[:MAX_EXAMPLES]),
        gaps=len(gaps),
        missing_intervals=sum(g.missing for g in gaps),
        gap_examples=tuple(gaps[:MAX_EXAMPLES]),
        irregular_steps=irregular,
        interval=timedelta(microseconds=step_us) if step_us else None,
        interval_inferred=inferred,
    )


def _interval_us(interval: timedelta | None, positive: Sequence[int]) -> tuple[int, bool]:
    if interval is not None:
        return interval // timedelta(microseconds=1), False
    if not positive:
        return 0, False
    counts: dict[int, int] = {}
    for step in positive:
        counts[step] = counts.get(step, 0) + 1
    return max(counts, key=lambda s: (counts[s], -s)), True


def _unique(values: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(values))


def _dt(stamp_us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=stamp_us)
