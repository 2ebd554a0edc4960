"""Alert lifecycle: transitions, deduplication, flapping suppression, assignment and comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.alerts.lifecycle import (
    SYSTEM,
    AlertBook,
    AlertDeduplicated,
    AlertOpened,
    AlertResolved,
    AlertStatus,
    FlappingDetected,
    IllegalTransition,
    LifecycleError,
    LifecyclePolicy,
    UnknownAlert,
    acknowledge,
    apply,
    assign,
    comment,
    resolve,
    tick,
)
from lighthouse_os.alerts.rules import AlertCleared, AlertEvent, AlertRaised

T0 = datetime(2025, 11, 3, 8, 0, tzinfo=UTC)
S = "hcmc-1/press-1/temperature"
POLICY = LifecyclePolicy(flap_window=timedelta(hours=1), flap_max_opens=3)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def raised(minute: float, series: str = S) -> AlertRaised:
    return AlertRaised("hot", series, at(minute), 90.0, signals=("temperature",))


def cleared(minute: float, series: str = S) -> AlertCleared:
    return AlertCleared("hot", series, at(minute), 70.0)


def replay(
    events: list[AlertEvent], book: AlertBook | None = None
) -> tuple[AlertBook, list[object]]:
    book = book or AlertBook()
    outcomes: list[object] = []
    for event in events:
        step = apply(book, event, POLICY)
        book = step.book
        outcomes += step.outcomes
    return book, outcomes


def only(book: AlertBook) -> str:
    (alert_id,) = book.alerts
    return alert_id


def test_raise_opens_and_clear_resolves() -> None:
    book, outcomes = replay([raised(0), cleared(5)])
    alert = book.alerts[only(book)]
    assert [type(o) for o in outcomes] == [AlertOpened, AlertResolved]
    assert alert.status is AlertStatus.RESOLVED
    assert (alert.resolved_at, alert.resolved_by) == (at(5), SYSTEM)
    assert alert.signals == ("temperature",)


def test_raise_while_open_is_deduplicated() -> None:
    book, outcomes = replay([raised(0), raised(2), raised(4)])
    alert = book.alerts[only(book)]
    assert alert.occurrences == 3
    assert alert.last_raised_at == at(4)
    assert outcomes[-1] == AlertDeduplicated(alert.id, 3)


def test_series_get_separate_alerts() -> None:
    book, _ = replay([raised(0, "a"), raised(1, "b")])
    assert sorted(a.series for a in book.alerts.values()) == ["a", "b"]


def test_raise_after_resolution_opens_a_new_alert() -> None:
    book, _ = replay([raised(0), cleared(5), raised(90)])
    assert len(book.alerts) == 2
    assert book.active_for("hot", S) is not None


@pytest.mark.parametrize(
    ("steps", "allowed"),
    [
        (["ack"], True),
        (["resolve"], True),
        (["ack", "resolve"], True),
        (["ack", "ack"], False),
        (["resolve", "ack"], False),
        (["resolve", "resolve"], False),
        (["ack", "resolve", "resolve"], False),
    ],
)
def test_manual_transitions_are_validated(steps: list[str], allowed: bool) -> None:
    book, _ = replay([raised(0)])
    alert_id = only(book)

    def do_all() -> AlertBook:
        current = book
        for i, step in enumerate(steps):
            if step == "ack":
                current = acknowledge(current, alert_id, by="lan", at=at(i + 1))
            else:
                current = resolve(current, alert_id, by="lan", at=at(i + 1), note="valve fixed")
        return current

    if allowed:
        final = do_all().alerts[alert_id]
        assert final.status is (
            AlertStatus.RESOLVED if "resolve" in steps else AlertStatus.ACKNOWLEDGED
        )
    else:
        with pytest.raises(IllegalTransition):
            do_all()


def test_acknowledge_records_who_and_when() -> None:
    book, _ = replay([raised(0)])
    alert = acknowledge(book, only(book), by="lan", at=at(3)).alerts[only(book)]
    assert (alert.status, alert.acknowledged_by, alert.acknowledged_at) == (
        AlertStatus.ACKNOWLEDGED,
        "lan",
        at(3),
    )


def test_acknowledged_alert_resolves_when_condition_clears() -> None:
    book, _ = replay([raised(0)])
    book = acknowledge(book, only(book), by="lan", at=at(1))
    book, _ = replay([cleared(5)], book)
    assert book.alerts[only(book)].status is AlertStatus.RESOLVED


def test_clear_after_manual_resolution_is_ignored() -> None:
    book, _ = replay([raised(0)])
    book = resolve(book, only(book), by="lan", at=at(1))
    _, outcomes = replay([cleared(5)], book)
    assert outcomes == []


def test_assign_and_comment_are_kept_in_order() -> None:
    book, _ = replay([raised(0)])
    alert_id = only(book)
    book = assign(book, alert_id, assignee="minh", at=at(1), by="lan")
    book = comment(book, alert_id, author="minh", text="  checking the pump  ", at=at(2))
    alert = book.alerts[alert_id]
    assert alert.assignee == "minh"
    assert [c.text for c in alert.comments] == [
        "assigned to minh / giao cho minh",
        "checking the pump",
    ]


def test_resolved_alert_takes_comments_but_not_assignment() -> None:
    book, _ = replay([raised(0), cleared(1)])
    alert_id = only(book)
    book = comment(book, alert_id, author="lan", text="post-mortem done", at=at(2))
    assert book.alerts[alert_id].comments[-1].text == "post-mortem done"
    with pytest.raises(IllegalTransition):
        assign(book, alert_id, assignee="minh", at=at(3), by="lan")


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_comment_is_rejected(text: str) -> None:
    book, _ = replay([raised(0)])
    with pytest.raises(LifecycleError):
        comment(book, only(book), author="lan", text=text, at=at(1))


def test_unknown_alert_is_reported() -> None:
    with pytest.raises(UnknownAlert):
        acknowledge(AlertBook(), "nope", by="lan", at=T0)


def flapping_events() -> list[AlertEvent]:
    # Three open/clear cycles within 30 minutes, then a fourth raise.
    return [raised(0), cleared(5), raised(10), cleared(15), raised(20), cleared(25), raised(30)]


def test_flapping_holds_the_alert_open_instead_of_resolving() -> None:
    book, outcomes = replay(flapping_events())
    assert len(book.alerts) == 3  # the third open is held through its clear
    held = book.active_for("hot", S)
    assert held is not None
    assert held.flapping
    assert held.occurrences == 2  # its own raise and the raise at minute 30
    assert sum(isinstance(o, FlappingDetected) for o in outcomes) == 1


def test_flapping_alert_resolves_after_a_quiet_window() -> None:
    book, _ = replay([*flapping_events(), cleared(35)])
    assert tick(book, at(80), POLICY).outcomes == ()
    step = tick(book, at(95), POLICY)
    (alert_id,) = [o.alert_id for o in step.outcomes if isinstance(o, AlertResolved)]
    resolved = step.book.alerts[alert_id]
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.resolved_at == at(95)


def test_opens_outside_the_window_do_not_count_as_flapping() -> None:
    events: list[AlertEvent] = []
    for hour in range(5):
        events += [raised(hour * 61), cleared(hour * 61 + 5)]
    book, outcomes = replay(events)
    assert all(a.status is AlertStatus.RESOLVED for a in book.alerts.values())
    assert not any(isinstance(o, FlappingDetected) for o in outcomes)


def test_policy_rejects_bad_values() -> None:
    with pytest.raises(LifecycleError):
        LifecyclePolicy(flap_max_opens=0)


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b"])), max_size=40))
def test_at_most_one_active_alert_per_rule_and_series(steps: list[tuple[bool, str]]) -> None:
    events: list[AlertEvent] = [
        raised(i, series) if up else cleared(i, series) for i, (up, series) in enumerate(steps)
    ]
    book, _ = replay(events)
    for series in ("a", "b"):
        active = [x for x in book.alerts.values() if x.series == series and x.active]
        assert len(active) <= 1
    assert sum(a.occurrences for a in book.alerts.values()) == sum(up for up, _ in steps)
