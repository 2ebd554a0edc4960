"""Validation of raw telemetry points against a site's tags, shared by every source (pure core).

A point is rejected, with a reason `"<code>: <detail>"`, when its tag is unknown, its timestamp is
missing a UTC offset, unparseable, before 2000 or more than 5 minutes ahead of `now`, its value is
not a number (or a known state for a state tag), not finite, or it carries a unit that differs
from the tag's. Accepted points are scaled (stored = raw x scale + offset) and returned as
columns ready for the time-series store: series id, epoch microseconds (UTC), float value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lighthouse_os.telemetry.points import RawPoint, Rejection

FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
# Epoch numbers at or above 1e11 are milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973,
# and both sides of that line outside 2000..now are rejected anyway.
EPOCH_MS_THRESHOLD = 100_000_000_000
EARLIEST_US = (EARLIEST - EPOCH) // ONE_US
TOLERANCE_US = FUTURE_TOLERANCE // ONE_US
NUMERIC_KINDS = frozenset({"gauge", "counter", "event"})


class Reason:
    """Reason codes: the part of a rejection's reason before the colon, stable for counting."""

    UNKNOWN_SITE = "unknown_site"
    MISSING_TAG = "missing_tag"
    UNKNOWN_TAG = "unknown_tag"
    BAD_TIMESTAMP = "bad_timestamp"
    NAIVE_TIMESTAMP = "naive_timestamp"
    NONEXISTENT_LOCAL_TIME = "nonexistent_local_time"
    FUTURE_TIMESTAMP = "future_timestamp"
    TIMESTAMP_BEFORE_2000 = "timestamp_before_2000"
    NOT_A_NUMBER = "not_a_number"
    NOT_FINITE = "not_finite"
    UNIT_MISMATCH = "unit_mismatch"
    UNKNOWN_STATE = "unknown_state"


class PointError(ValueError):
    """One point broke a rule; `code` is a `Reason` and `detail` says what was seen."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class TagSpec:
    """What validation needs of a tag. `series_id` is the tag's id, the store's key."""

    series_id: int
    path: str
    unit: str
    kind: str
    scale: float = 1.0
    offset: float = 0.0
    states: tuple[str, ...] = ()
    state_codes: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A state's code is its position in the tag's list (the first state is 0).
        object.__setattr__(self, "state_codes", {s: i for i, s in enumerate(self.states)})


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """Accepted points as store columns, where they came from, and the rejections."""

    series_ids: list[int]
    ts_us: list[int]
    values: list[float]
    indexes: list[int]
    rejections: tuple[Rejection, ...]

    @property
    def unknown_tags(self) -> bool:
        """True when some point named a tag the index did not know (it may be brand new)."""
        prefix = Reason.UNKNOWN_TAG + ":"
        return any(r.reason.startswith(prefix) for r in self.rejections)


def reason_code(reason: str) -> str:
    """The stable code of a rejection reason (`unit_mismatch: …` -> `unit_mismatch`)."""
    return reason.partition(":")[0]


def check_batch(
    points: Sequence[RawPoint], tags: Mapping[str, TagSpec], now: datetime
) -> CheckedBatch:
    """Validate each point against `tags` (by path) at instant `now` (aware).

    Accepted: stored value = raw x scale + offset (state codes are not scaled), timestamp as
    integer microseconds since 1970-01-01T00:00Z, in [2000-01-01T00:00Z, now + 5 min].
    """
    now_us = epoch_us(now)
    latest_us = now_us + TOLERANCE_US
    series_ids: list[int] = []
    ts_us: list[int] = []
    values: list[float] = []
    indexes: list[int] = []
    rejections: list[Rejection] = []
    for index, point in enumerate(points):
        try:
            tag = _tag(point.tag, tags)
            stamp = _timestamp(point.ts, now_us, latest_us)
            value = _value(point.value, tag)
        except PointError as err:
            rejections.append(Rejection(index, str(point.tag), f"{err.code}: {err.detail}"))
            continue
        series_ids.append(tag.series_id)
        ts_us.append(stamp)
        values.append(value)
        indexes.append(index)
    return CheckedBatch(series_ids, ts_us, values, indexes, tuple(rejections))


def epoch_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01T00:00Z of an aware datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PointError(Reason.NAIVE_TIMESTAMP, f"{moment.isoformat()} has no UTC offset")
    return (moment - EPOCH) // ONE_US


def _tag(path: object, tags: Mapping[str, TagSpec]) -> TagSpec:
    if not isinstance(path, str) or not path:
        raise PointError(Reason.MISSING_TAG, "the point names no tag")
    tag = tags.get(path)
    if tag is None:
        raise PointError(Reason.UNKNOWN_TAG, f"no tag {path!r} at this site")
    return tag


def _timestamp(ts: object, now_us: int, latest_us: int) -> int:
    """Epoch microseconds of a datetime, ISO 8601 string or epoch number; None is `now`."""
    if ts is None:
        return now_us  # no clock on the device: stamped on arrival (not deduplicated)
    if isinstance(ts, datetime):
        stamp = epoch_us(ts)
    elif isinstance(ts, str):
        stamp = epoch_us(_parse_iso(ts))
    elif isinstance(ts, int | float) and not isinstance(ts, bool):
        stamp = _epoch_number(ts)
    else:
        raise PointError(Reason.BAD_TIMESTAMP, f"{type(ts).__name__} is not a timestamp")
    if stamp < EARLIEST_US:
        raise PointError(Reason.TIMESTAMP_BEFORE_2000, f"{_iso(stamp)} is before 2000-01-01")
    if stamp > latest_us:
        ahead = _duration(stamp - now_us)
        raise PointError(Reason.FUTURE_TIMESTAMP, f"{_iso(stamp)} is {ahead} ahead of now")
    return stamp


def _parse_iso(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise PointError(Reason.BAD_TIMESTAMP, f"{text[:40]!r} is not ISO 8601") from None


def _epoch_number(number: float) -> int:
    if not math.isfinite(number):
        raise PointError(Reason.BAD_TIMESTAMP, f"{number} is not a timestamp")
    if abs(number) >= EPOCH_MS_THRESHOLD:
        return round(number * 1_000)  # milliseconds
    return round(number * 1_000_000)  # seconds


def _iso(stamp_us: int) -> str:
    try:
        return (EPOCH + timedelta(microseconds=stamp_us)).isoformat()
    except OverflowError:
        return f"{stamp_us} us since 1970"


def _duration(micros: int) -> str:
    try:
        return str(timedelta(microseconds=micros))
    except OverflowError:  # a stamp millions of years away
        return f"{micros // 86_400_000_000} days"


def _value(raw: object, tag: TagSpec) -> float:
    if isinstance(raw, Mapping):
        raw = _unwrap(raw, tag)
    if tag.kind in NUMERIC_KINDS:
        number = _number(raw, accept_bool=tag.kind == "event")
        scaled = number * tag.scale + tag.offset
        if not math.isfinite(scaled):
            raise PointError(Reason.NOT_FINITE, f"{number} x {tag.scale} overflows")
        return scaled
    return float(_state_code(raw, tag))


def _unwrap(envelope: Mapping[object, object], tag: TagSpec) -> object:
    """`{"value": v, "unit": u}`: a point that states its unit must use the tag's unit."""
    unit = envelope.get("unit")
    if unit is not None and unit != tag.unit:
        raise PointError(Reason.UNIT_MISMATCH, f"point unit {unit!r} is not the tag's {tag.unit!r}")
    return envelope.get("value")


def _number(raw: object, *, accept_bool: bool) -> float:
    if isinstance(raw, bool):
        if accept_bool:
            return float(raw)
        raise PointError(Reason.NOT_A_NUMBER, f"{raw} is a boolean, not a number")
    if isinstance(raw, int | float):
        number = _float(raw)
    elif isinstance(raw, str):
        number = _parse_number(raw)
    else:
        raise PointError(Reason.NOT_A_NUMBER, f"{type(raw).__name__} {str(raw)[:40]!r}")
    if not math.isfinite(number):
        raise PointError(Reason.NOT_FINITE, f"{raw!r} is NaN or infinite")
    return number


def _float(raw: float) -> float:
    try:
        return float(raw)
    except OverflowError:  # an int beyond float range
        raise PointError(Reason.NOT_FINITE, "the integer is too large for a float") from None


def _parse_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise PointError(Reason.NOT_A_NUMBER, f"{text[:40]!r} is not a number") from None


def _state_code(raw: object, tag: TagSpec) -> int:
    """A state name from the tag's list (its position), or an integer code within the list."""
    if isinstance(raw, str) and raw in tag.state_codes:
        return tag.state_codes[raw]
    number = _number(raw, accept_bool=True) if not isinstance(raw, str) else _text_code(raw, tag)
    if not number.is_integer() or number < 0 or (tag.states and number >= len(tag.states)):
        known = ", ".join(tag.states) or "integer codes >= 0"
        raise PointError(Reason.UNKNOWN_STATE, f"{raw!r} is not a state of {tag.path} ({known})")
    return int(number)


def _text_code(text: str, tag: TagSpec) -> float:
    try:
        return float(text)
    except ValueError:
        known = ", ".join(tag.states) or "integer codes >= 0"
        raise PointError(
            Reason.UNKNOWN_STATE, f"{text[:40]!r} is not a state of {tag.path} ({known})"
        ) from None
