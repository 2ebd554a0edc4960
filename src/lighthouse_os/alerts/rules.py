"""Alert rules (threshold, rate of change, absence, KPI) and their per-series evaluator."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

ZERO = timedelta(0)


class RuleError(ValueError):
    """A rule definition or the points given to the evaluator are invalid."""


class Direction(StrEnum):
    """Which side of the limit is bad."""

    ABOVE = "above"
    BELOW = "below"


class Trend(StrEnum):
    """Which change a rate-of-change rule watches."""

    RISE = "rise"
    FALL = "fall"
    EITHER = "either"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


def _check_noise_control(hysteresis: float, min_duration: timedelta) -> None:
    if hysteresis < 0 or min_duration < ZERO or math.isnan(hysteresis):
        raise RuleError("hysteresis and min_duration must be >= 0 / phải >= 0")


@dataclass(frozen=True)
class ThresholdRule:
    """Raise when the value is beyond `limit` for `min_duration`; clear back past limit ∓ h.

    ABOVE: raise while value > limit, clear when value <= limit − hysteresis.
    BELOW: raise while value < limit, clear when value >= limit + hysteresis.
    """

    id: str
    limit: float
    direction: Direction = Direction.ABOVE
    hysteresis: float = 0.0
    min_duration: timedelta = ZERO
    severity: Severity = Severity.WARNING

    def __post_init__(self) -> None:
        _check_noise_control(self.hysteresis, self.min_duration)
        if not math.isfinite(self.limit):
            raise RuleError(f"rule {self.id}: limit must be a finite number")


@dataclass(frozen=True)
class RateOfChangeRule:
    """Raise when the signal changes faster than `limit` units per `per`.

    rate = (v_now − v_then) / (t_now − t_then) · per, where `then` is the newest sample at least
    `over` old (the previous sample when `over` is zero). RISE watches rate > limit, FALL
    rate < −limit, EITHER |rate| > limit; clearing needs the watched rate <= limit − hysteresis.
    """

    id: str
    limit: float
    per: timedelta = timedelta(minutes=1)
    over: timedelta = ZERO
    trend: Trend = Trend.EITHER
    hysteresis: float = 0.0
    min_duration: timedelta = ZERO
    severity: Severity = Severity.WARNING

    def __post_init__(self) -> None:
        _check_noise_control(self.hysteresis, self.min_duration)
        if not self.limit > 0 or self.per <= ZERO or self.over < ZERO:
            raise RuleError(f"rule {self.id}: limit and per must be positive, over >= 0")


@dataclass(frozen=True)
class AbsenceRule:
    """Raise when a series has had no data for `max_silence` ("no data for 10 min")."""

    id: str
    max_silence: timedelta = timedelta(minutes=10)
    severity: Severity = Severity.WARNING

    def __post_init__(self) -> None:
        if self.max_silence <= ZERO:
            raise RuleError(f"rule {self.id}: max_silence must be positive")


Rule = ThresholdRule | RateOfChangeRule | AbsenceRule


def kpi_rule(
    rule_id: str,
    *,
    limit: float,
    hold: timedelta,
    direction: Direction = Direction.BELOW,
    hysteresis: float = 0.0,
    severity: Severity = Severity.WARNING,
) -> ThresholdRule:
    """A KPI rule is a threshold rule on a KPI series held for a period.

    "OEE below 60 % for a shift" = kpi_rule("oee-low", limit=0.60, hold=timedelta(hours=8)),
    bound to the line's OEE series; "PF below 0.9 for 1 h" = kpi_rule(..., limit=0.9,
    hold=timedelta(hours=1)). The KPI must stay beyond the limit at every sample during `hold`.
    """
    return ThresholdRule(rule_id, limit, direction, hysteresis, hold, severity)


@dataclass(frozen=True)
class Binding:
    """One rule applied to one series; the caller resolves scopes ("every press") to bindings."""

    rule: Rule
    series: str


@dataclass(frozen=True)
class Point:
    """One sample of a series in the signal's unit."""

    series: str
    ts: datetime
    value: float


@dataclass(frozen=True)
class AlertRaised:
    """A rule's condition started to hold on a series (value: what triggered it)."""

    rule_id: str
    series: str
    at: datetime
    value: float
    severity: Severity = Severity.WARNING
    signals: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertCleared:
    """A rule's condition stopped holding on a series."""

    rule_id: str
    series: str
    at: datetime
    value: float


AlertEvent = AlertRaised | AlertCleared


@dataclass(frozen=True)
class SeriesState:
    """What the evaluator remembers for one (rule, series)."""

    active: bool = False
    pending_since: datetime | None = None  # the raise condition has held since then
    last_ts: datetime | None = None
    recent: tuple[tuple[datetime, float], ...] = ()  # samples within a rate rule's window
    watch_since: datetime | None = None  # absence reference before the first sample


StateKey = tuple[str, str]  # (rule id, series)
EngineState = Mapping[StateKey, SeriesState]


@dataclass(frozen=True)
class Evaluation:
    """New state to keep for the next call, and the events in time order."""

    state: dict[StateKey, SeriesState]
    events: tuple[AlertEvent, ...]


def initial_state(bindings: Iterable[Binding], start: datetime) -> dict[StateKey, SeriesState]:
    """Empty state for every binding; absence is measured from `start` until data arrives."""
    return {(b.rule.id, b.series): SeriesState(watch_since=start) for b in bindings}


def _beyond(value: float, limit: float, direction: Direction) -> bool:
    return value > limit if direction is Direction.ABOVE else value < limit


def _back(value: float, limit: float, hysteresis: float, direction: Direction) -> bool:
    if direction is Direction.ABOVE:
        return value <= limit - hysteresis
    return value >= limit + hysteresis


def _step_condition(
    rule: ThresholdRule | RateOfChangeRule,
    state: SeriesState,
    point: Point,
    watched: float,
    limit: float,
    direction: Direction,
) -> tuple[SeriesState, AlertEvent | None]:
    """Shared raise/clear logic with hysteresis and minimum duration, at one sample."""
    if state.active:
        if _back(watched, limit, rule.hysteresis, direction):
            cleared = AlertCleared(rule.id, point.series, point.ts, watched)
            return replace(state, active=False, pending_since=None), cleared
        return state, None
    if not _beyond(watched, limit, direction):
        return replace(state, pending_since=None), None
    since = state.pending_since or point.ts
    if point.ts - since >= rule.min_duration:
        raised = AlertRaised(rule.id, point.series, point.ts, watched, rule.severity)
        return replace(state, active=True, pending_since=since), raised
    return replace(state, pending_since=since), None


def _rate(
    rule: RateOfChangeRule, state: SeriesState, point: Point
) -> tuple[SeriesState, float | None]:
    """Rate from the newest sample at least `over` old (None until one exists); window updated."""
    older = [s for s in state.recent if point.ts - s[0] >= rule.over]
    base = older[-1] if older else None
    kept = [s for s in state.recent if base is None or s[0] >= base[0]]
    state = replace(state, recent=(*kept, (point.ts, point.value)))
    if base is None:
        return state, None
    then, old = base
    return state, (point.value - old) / ((point.ts - then) / rule.per)


def _step_point(
    rule: Rule, state: SeriesState, point: Point
) -> tuple[SeriesState, list[AlertEvent]]:
    if isinstance(rule, AbsenceRule):
        return _step_absence(rule, state, point)
    if isinstance(rule, ThresholdRule):
        state, event = _step_condition(rule, state, point, point.value, rule.limit, rule.direction)
        return state, [] if event is None else [event]
    state, rate = _rate(rule, state, point)
    if rate is None:
        return state, []
    watched = {Trend.RISE: rate, Trend.FALL: -rate, Trend.EITHER: abs(rate)}[rule.trend]
    state, event = _step_condition(rule, state, point, watched, rule.limit, Direction.ABOVE)
    return state, [] if event is None else [event]


def _silence_start(state: SeriesState) -> datetime | None:
    return state.last_ts or state.watch_since


def _step_absence(
    rule: AbsenceRule, state: SeriesState, point: Point
) -> tuple[SeriesState, list[AlertEvent]]:
    """A sample ends any silence; a gap longer than allowed is raised and cleared at once."""
    events: list[AlertEvent] = []
    since = _silence_start(state)
    gap = ZERO if since is None else point.ts - since
    if not state.active and since is not None and gap >= rule.max_silence:
        silent = gap.total_seconds()
        events.append(
            AlertRaised(rule.id, point.series, since + rule.max_silence, silent, rule.severity)
        )
    if state.active or events:
        events.append(AlertCleared(rule.id, point.series, point.ts, gap.total_seconds()))
    return replace(state, active=False), events


def _check_absence(
    rule: AbsenceRule, series: str, state: SeriesState, now: datetime
) -> tuple[SeriesState, list[AlertEvent]]:
    since = _silence_start(state)
    if state.active or since is None or now - since < rule.max_silence:
        return state, []
    at = since + rule.max_silence
    raised = AlertRaised(rule.id, series, at, (now - since).total_seconds(), rule.severity)
    return replace(state, active=True), [raised]


def evaluate(
    bindings: Sequence[Binding],
    points: Iterable[Point],
    *,
    now: datetime,
    state: EngineState | None = None,
) -> Evaluation:
    """Feed points (time order within each series) and check absences at `now`.

    Each (rule, series) keeps its own state, so one rule bound to many series raises and clears
    independently per series. A repeated timestamp is ignored (idempotent redelivery); an earlier
    one raises `RuleError`. NaN values count as no data. A binding with no state yet starts being
    watched for absence at `now`.
    """
    current = dict(state or {})
    by_series: dict[str, list[Binding]] = {}
    for b in bindings:
        by_series.setdefault(b.series, []).append(b)
        current.setdefault((b.rule.id, b.series), SeriesState(watch_since=now))
    events: list[AlertEvent] = []
    for point in points:
        if math.isnan(point.value):
            continue
        for b in by_series.get(point.series, ()):
            events += _feed(b, current, point)
    for b in bindings:
        if isinstance(b.rule, AbsenceRule):
            key = (b.rule.id, b.series)
            current[key], found = _check_absence(b.rule, b.series, current[key], now)
            events += found
    return Evaluation(current, tuple(sorted(events, key=lambda e: e.at)))


def _feed(binding: Binding, current: dict[StateKey, SeriesState], point: Point) -> list[AlertEvent]:
    key = (binding.rule.id, binding.series)
    state = current[key]
    if state.last_ts is not None and point.ts <= state.last_ts:
        if point.ts == state.last_ts:
            return []
        raise RuleError(f"{point.series}: point at {point.ts} is older than {state.last_ts}")
    state, found = _step_point(binding.rule, state, point)
    current[key] = replace(state, last_ts=point.ts)
    return found
