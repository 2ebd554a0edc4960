"""Rule engine: threshold, rate of change, absence and KPI rules, per-series state."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.alerts.rules import (
    AbsenceRule,
    AlertCleared,
    AlertEvent,
    AlertRaised,
    Binding,
    Direction,
    Point,
    RateOfChangeRule,
    RuleError,
    ThresholdRule,
    Trend,
    evaluate,
    initial_state,
    kpi_rule,
)

T0 = datetime(2025, 11, 3, 8, 0, tzinfo=UTC)
S = "hcmc-1/press-1/temperature"


def minutes(values: list[float], series: str = S, step: float = 1.0) -> list[Point]:
    return [Point(series, T0 + timedelta(minutes=i * step), v) for i, v in enumerate(values)]


def kinds(events: tuple[AlertEvent, ...]) -> list[tuple[str, int]]:
    """('raise'|'clear', minute) per event, for compact expectations."""
    return [
        ("raise" if isinstance(e, AlertRaised) else "clear", int((e.at - T0).total_seconds() // 60))
        for e in events
    ]


def run(
    rule: ThresholdRule | RateOfChangeRule | AbsenceRule, points: list[Point], now_min: float = 0
) -> tuple[AlertEvent, ...]:
    last = max((p.ts for p in points), default=T0)
    now = max(last, T0 + timedelta(minutes=now_min))
    bindings = [Binding(rule, S)]
    return evaluate(bindings, points, now=now, state=initial_state(bindings, T0)).events


@pytest.mark.parametrize(
    ("rule", "values", "expected"),
    [
        (ThresholdRule("hot", 80), [70, 81, 85, 80, 79], [("raise", 1), ("clear", 3)]),
        # equality is not beyond the limit
        (ThresholdRule("hot", 80), [80, 80], []),
        (ThresholdRule("cold", 10, Direction.BELOW), [12, 9, 11], [("raise", 1), ("clear", 2)]),
        # hysteresis 5: raise above 80, clear only at or below 75
        (
            ThresholdRule("hot", 80, hysteresis=5),
            [81, 78, 76, 82, 75],
            [("raise", 0), ("clear", 4)],
        ),
        (
            ThresholdRule("cold", 10, Direction.BELOW, hysteresis=2),
            [9, 11, 12],
            [("raise", 0), ("clear", 2)],
        ),
        # min duration 3 min: must hold at every sample from minute 1 to minute 4
        (
            ThresholdRule("hot", 80, min_duration=timedelta(minutes=3)),
            [70, 81, 82, 83, 84, 70],
            [("raise", 4), ("clear", 5)],
        ),
        # an interruption restarts the count
        (ThresholdRule("hot", 80, min_duration=timedelta(minutes=3)), [81, 82, 79, 81, 82, 83], []),
    ],
)
def test_threshold_rule_raises_and_clears(
    rule: ThresholdRule, values: list[float], expected: list[tuple[str, int]]
) -> None:
    assert kinds(run(rule, minutes(values))) == expected


@pytest.mark.parametrize(
    ("rule", "values", "expected"),
    [
        # 5 units/min allowed; rise of 10 in one minute
        (RateOfChangeRule("fast", 5), [0, 10, 12, 14], [("raise", 1), ("clear", 2)]),
        (
            RateOfChangeRule("fall", 5, trend=Trend.FALL),
            [20, 30, 20, 19],
            [("raise", 2), ("clear", 3)],
        ),
        (RateOfChangeRule("rise", 5, trend=Trend.RISE), [20, 10, 0], []),
        # per hour: 120 units/h = 2 units/min
        (
            RateOfChangeRule("fast", 100, per=timedelta(hours=1)),
            [0, 1, 3, 4],
            [("raise", 2), ("clear", 3)],
        ),
        # over a 3-minute window the noisy ±4 steps average out
        (RateOfChangeRule("fast", 5, over=timedelta(minutes=3)), [0, 8, 4, 8, 4, 8], []),
        # a steady climb of 6/min is seen once 3 minutes of history exist
        (
            RateOfChangeRule("fast", 5, over=timedelta(minutes=3)),
            [0, 6, 12, 18, 24],
            [("raise", 3)],
        ),
        (
            RateOfChangeRule("fast", 5, over=timedelta(minutes=0)),
            [0, 8, 4, 10],
            [("raise", 1), ("clear", 2), ("raise", 3)],
        ),
    ],
)
def test_rate_of_change_rule(
    rule: RateOfChangeRule, values: list[float], expected: list[tuple[str, int]]
) -> None:
    assert kinds(run(rule, minutes(values))) == expected


def test_rate_of_change_value_is_the_rate_in_units_per_period() -> None:
    events = run(RateOfChangeRule("fast", 5, per=timedelta(minutes=1)), minutes([0, 0, 12]))
    assert events[0] == AlertRaised("fast", S, T0 + timedelta(minutes=2), 12.0)


def test_absence_rule_raises_after_ten_minutes_without_data() -> None:
    points = minutes([1.0, 2.0])  # minutes 0 and 1
    events = run(AbsenceRule("silent"), points, now_min=15)
    assert events == (AlertRaised("silent", S, T0 + timedelta(minutes=11), 14 * 60.0),)


def test_absence_rule_is_quiet_while_data_flows() -> None:
    assert run(AbsenceRule("silent"), minutes([1.0] * 30), now_min=30) == ()


def test_absence_rule_raises_and_clears_for_a_gap_between_points() -> None:
    points = [Point(S, T0, 1.0), Point(S, T0 + timedelta(minutes=25), 2.0)]
    assert kinds(run(AbsenceRule("silent"), points)) == [("raise", 10), ("clear", 25)]


def test_absence_rule_clears_when_data_returns_after_it_was_raised() -> None:
    rule = AbsenceRule("silent", max_silence=timedelta(minutes=5))
    bindings = [Binding(rule, S)]
    first = evaluate(bindings, [], now=T0 + timedelta(minutes=6), state=initial_state(bindings, T0))
    assert kinds(first.events) == [("raise", 5)]
    later = evaluate(
        bindings,
        [Point(S, T0 + timedelta(minutes=8), 1.0)],
        now=T0 + timedelta(minutes=8),
        state=first.state,
    )
    assert kinds(later.events) == [("clear", 8)]


def test_absence_counts_nan_as_no_data() -> None:
    points = minutes([1.0] + [math.nan] * 12)
    assert kinds(run(AbsenceRule("silent"), points)) == [("raise", 10)]


def test_series_never_seen_is_watched_from_the_first_evaluation() -> None:
    bindings = [Binding(AbsenceRule("silent"), S)]
    first = evaluate(bindings, [], now=T0)
    assert first.events == ()
    later = evaluate(bindings, [], now=T0 + timedelta(minutes=10), state=first.state)
    assert kinds(later.events) == [("raise", 10)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # OEE sampled hourly: below 60 % at every sample for 8 h raises at hour 8 of the streak.
        ([0.7] + [0.5] * 9, [("raise", 9 * 60)]),
        ([0.7] + [0.5] * 7 + [0.65] + [0.5] * 3, []),
    ],
)
def test_kpi_rule_oee_below_60_percent_for_a_shift(
    values: list[float], expected: list[tuple[str, int]]
) -> None:
    rule = kpi_rule("oee-low", limit=0.60, hold=timedelta(hours=8))
    assert kinds(run(rule, minutes(values, step=60))) == expected


def test_kpi_rule_power_factor_below_0_9_for_an_hour() -> None:
    rule = kpi_rule("pf-low", limit=0.9, hold=timedelta(hours=1), hysteresis=0.02)
    values = [0.95] + [0.85] * 5 + [0.91, 0.93]  # 15-minute samples
    assert kinds(run(rule, minutes(values, step=15))) == [("raise", 75), ("clear", 105)]


def test_one_rule_keeps_independent_state_per_series() -> None:
    rule = ThresholdRule("hot", 80)
    a, b = "site/press-1/temp", "site/press-2/temp"
    bindings = [Binding(rule, a), Binding(rule, b)]
    points = sorted(minutes([90, 90, 70], a) + minutes([70, 90, 90], b), key=lambda p: p.ts)
    events = evaluate(bindings, points, now=T0 + timedelta(minutes=3)).events
    assert [(type(e).__name__, e.series) for e in events] == [
        ("AlertRaised", a),
        ("AlertRaised", b),
        ("AlertCleared", a),
    ]


def test_points_of_unbound_series_are_ignored() -> None:
    bindings = [Binding(ThresholdRule("hot", 80), S)]
    assert evaluate(bindings, minutes([99.0], "other"), now=T0).events == ()


def test_repeated_point_is_ignored_and_older_point_is_rejected() -> None:
    bindings = [Binding(ThresholdRule("hot", 80), S)]
    first = evaluate(bindings, minutes([90.0, 90.0]), now=T0)
    again = evaluate(
        bindings, [Point(S, T0 + timedelta(minutes=1), 90.0)], now=T0, state=first.state
    )
    assert again.events == ()
    with pytest.raises(RuleError):
        evaluate(bindings, [Point(S, T0, 70.0)], now=T0, state=first.state)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ThresholdRule("x", 1, hysteresis=-1),
        lambda: ThresholdRule("x", math.inf),
        lambda: ThresholdRule("x", 1, min_duration=timedelta(seconds=-1)),
        lambda: RateOfChangeRule("x", 0),
        lambda: AbsenceRule("x", max_silence=timedelta(0)),
    ],
)
def test_invalid_rules_are_rejected(make: object) -> None:
    with pytest.raises(RuleError):
        make()  # type: ignore[operator]


values_strategy = st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=80)


@given(values_strategy, st.floats(0, 20), st.integers(0, 10))
def test_raise_and_clear_alternate_starting_with_raise(
    values: list[float], h: float, hold: int
) -> None:
    rule = ThresholdRule("r", 50, hysteresis=h, min_duration=timedelta(minutes=hold))
    events = run(rule, minutes(values))
    assert all(isinstance(e, AlertRaised) == (i % 2 == 0) for i, e in enumerate(events))


@given(values_strategy, st.integers(0, 10))
def test_no_raise_without_condition_held_for_min_duration(values: list[float], hold: int) -> None:
    rule = ThresholdRule("r", 50, min_duration=timedelta(minutes=hold))
    for event in run(rule, minutes(values)):
        if isinstance(event, AlertRaised):
            end = int((event.at - T0).total_seconds() // 60)
            assert end >= hold
            assert all(v > 50 for v in values[end - hold : end + 1])


@given(values_strategy, st.floats(0.1, 20))
def test_clear_only_past_the_hysteresis_band(values: list[float], h: float) -> None:
    for event in run(ThresholdRule("r", 50, hysteresis=h), minutes(values)):
        if isinstance(event, AlertCleared):
            assert event.value <= 50 - h


@given(values_strategy, st.integers(1, 79))
def test_evaluating_in_two_chunks_equals_one_pass(values: list[float], cut: int) -> None:
    rule = ThresholdRule("r", 50, hysteresis=5, min_duration=timedelta(minutes=2))
    bindings = [Binding(rule, S)]
    points = minutes(values)
    end = T0 + timedelta(minutes=len(values))
    whole = evaluate(bindings, points, now=end, state=initial_state(bindings, T0))
    first = evaluate(bindings, points[:cut], now=T0, state=initial_state(bindings, T0))
    second = evaluate(bindings, points[cut:], now=end, state=first.state)
    assert first.events + second.events == whole.events
    assert second.state == whole.state
