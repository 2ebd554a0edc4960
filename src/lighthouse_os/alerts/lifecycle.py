"""Alert lifecycle: open → acknowledged → resolved, with deduplication and flapping suppression."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from lighthouse_os.alerts.rules import AlertCleared, AlertEvent, AlertRaised, Severity
from lighthouse_os.text import N_, Text

SYSTEM = "system"  # actor of automatic transitions


class LifecycleError(ValueError):
    """An operation on an alert is not allowed."""


class IllegalTransition(LifecycleError):
    """The alert's status does not allow this change."""


class UnknownAlert(LifecycleError):
    """No alert has this id."""


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# The statuses as the UI words them (the same catalog entries as `_status.html`).
STATUS_NAMES = {
    AlertStatus.OPEN: Text(N_("open")),
    AlertStatus.ACKNOWLEDGED: Text(N_("acknowledged")),
    AlertStatus.RESOLVED: Text(N_("resolved")),
}


# Allowed moves; RESOLVED is final: a new raise opens a new alert.
TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.OPEN: frozenset({AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED}),
    AlertStatus.ACKNOWLEDGED: frozenset({AlertStatus.RESOLVED}),
    AlertStatus.RESOLVED: frozenset(),
}


@dataclass(frozen=True)
class Comment:
    author: str
    at: datetime
    text: str


@dataclass(frozen=True)
class Alert:
    """One alert of one rule on one series, from its first raise to its resolution."""

    id: str
    rule_id: str
    series: str
    severity: Severity
    opened_at: datetime
    last_raised_at: datetime
    status: AlertStatus = AlertStatus.OPEN
    occurrences: int = 1  # raises merged into this alert (deduplication)
    signals: tuple[str, ...] = ()
    assignee: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    comments: tuple[Comment, ...] = ()
    flapping: bool = False
    quiet_since: datetime | None = None  # a flapping alert's condition cleared at this time

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule_id, self.series)

    @property
    def active(self) -> bool:
        return self.status is not AlertStatus.RESOLVED


@dataclass(frozen=True)
class LifecyclePolicy:
    """Flapping: once a (rule, series) has opened `flap_max_opens` alerts within `flap_window`,
    its clears no longer resolve the alert; it resolves after `flap_window` without a raise.
    """

    flap_window: timedelta = timedelta(hours=1)
    flap_max_opens: int = 3

    def __post_init__(self) -> None:
        if self.flap_window <= timedelta(0) or self.flap_max_opens < 1:
            raise LifecycleError("flap_window must be positive and flap_max_opens >= 1")


@dataclass(frozen=True)
class AlertBook:
    """All alerts by id, and the recent open times of each (rule, series) for flap detection."""

    alerts: dict[str, Alert] = field(default_factory=dict)
    opens: dict[tuple[str, str], tuple[datetime, ...]] = field(default_factory=dict)

    def active_for(self, rule_id: str, series: str) -> Alert | None:
        found = [a for a in self.alerts.values() if a.key == (rule_id, series) and a.active]
        return found[0] if found else None

    def get(self, alert_id: str) -> Alert:
        if alert_id not in self.alerts:
            raise UnknownAlert(f"no alert {alert_id} / không có cảnh báo {alert_id}")
        return self.alerts[alert_id]

    def put(self, alert: Alert) -> AlertBook:
        return replace(self, alerts={**self.alerts, alert.id: alert})


@dataclass(frozen=True)
class AlertOpened:
    alert_id: str


@dataclass(frozen=True)
class AlertDeduplicated:
    alert_id: str
    occurrences: int


@dataclass(frozen=True)
class AlertResolved:
    alert_id: str
    by: str


@dataclass(frozen=True)
class FlappingDetected:
    alert_id: str


Outcome = AlertOpened | AlertDeduplicated | AlertResolved | FlappingDetected


@dataclass(frozen=True)
class Transition:
    book: AlertBook
    outcomes: tuple[Outcome, ...]


def alert_id(rule_id: str, series: str, opened_at: datetime) -> str:
    """Deterministic id, so replaying the same events gives the same alerts."""
    return f"{rule_id}|{series}|{opened_at.isoformat()}"


def apply(
    book: AlertBook, event: AlertEvent, policy: LifecyclePolicy = LifecyclePolicy()
) -> Transition:
    """Apply a rule engine event: open, deduplicate, resolve, or hold a flapping alert."""
    current = book.active_for(event.rule_id, event.series)
    if isinstance(event, AlertRaised):
        return _raised(book, current, event, policy)
    return _cleared(book, current, event, policy)


def _recent_opens(
    book: AlertBook, key: tuple[str, str], at: datetime, window: timedelta
) -> tuple[datetime, ...]:
    return tuple(t for t in book.opens.get(key, ()) if at - t <= window)


def _raised(
    book: AlertBook, current: Alert | None, event: AlertRaised, policy: LifecyclePolicy
) -> Transition:
    if current is not None:
        merged = replace(
            current,
            occurrences=current.occurrences + 1,
            last_raised_at=event.at,
            quiet_since=None,
            signals=event.signals or current.signals,
        )
        return Transition(book.put(merged), (AlertDeduplicated(merged.id, merged.occurrences),))
    key = (event.rule_id, event.series)
    opens = (*_recent_opens(book, key, event.at, policy.flap_window), event.at)
    alert = Alert(
        id=alert_id(event.rule_id, event.series, event.at),
        rule_id=event.rule_id,
        series=event.series,
        severity=event.severity,
        opened_at=event.at,
        last_raised_at=event.at,
        signals=event.signals,
    )
    book = replace(book.put(alert), opens={**book.opens, key: opens})
    return Transition(book, (AlertOpened(alert.id),))


def _cleared(
    book: AlertBook, current: Alert | None, event: AlertCleared, policy: LifecyclePolicy
) -> Transition:
    if current is None:
        return Transition(book, ())  # already resolved by hand: nothing to do
    opens = _recent_opens(book, current.key, event.at, policy.flap_window)
    if len(opens) >= policy.flap_max_opens:
        held = replace(current, flapping=True, quiet_since=event.at)
        outcomes: tuple[Outcome, ...] = () if current.flapping else (FlappingDetected(held.id),)
        return Transition(book.put(held), outcomes)
    resolved = _resolve(current, SYSTEM, event.at)
    return Transition(book.put(resolved), (AlertResolved(resolved.id, SYSTEM),))


def tick(book: AlertBook, now: datetime, policy: LifecyclePolicy = LifecyclePolicy()) -> Transition:
    """Resolve flapping alerts whose condition has stayed clear for the whole flap window."""
    outcomes: list[Outcome] = []
    for alert in list(book.alerts.values()):
        quiet = alert.quiet_since
        if alert.active and quiet is not None and now - quiet >= policy.flap_window:
            book = book.put(_resolve(alert, SYSTEM, quiet + policy.flap_window))
            outcomes.append(AlertResolved(alert.id, SYSTEM))
    return Transition(book, tuple(outcomes))


def _move(alert: Alert, target: AlertStatus) -> None:
    if target not in TRANSITIONS[alert.status]:
        raise IllegalTransition(
            Text(
                N_("alert {alert}: {status} → {target} is not allowed"),
                alert=alert.id,
                status=STATUS_NAMES[alert.status],
                target=STATUS_NAMES[target],
            )
        )


def _resolve(alert: Alert, by: str, at: datetime) -> Alert:
    _move(alert, AlertStatus.RESOLVED)
    return replace(
        alert, status=AlertStatus.RESOLVED, resolved_at=at, resolved_by=by, quiet_since=None
    )


def acknowledge(book: AlertBook, alert_id: str, *, by: str, at: datetime) -> AlertBook:
    """open → acknowledged: someone has seen the alert and takes it on."""
    alert = book.get(alert_id)
    _move(alert, AlertStatus.ACKNOWLEDGED)
    return book.put(
        replace(alert, status=AlertStatus.ACKNOWLEDGED, acknowledged_at=at, acknowledged_by=by)
    )


def resolve(
    book: AlertBook, alert_id: str, *, by: str, at: datetime, note: str | None = None
) -> AlertBook:
    """open/acknowledged → resolved by a person, with an optional closing comment."""
    alert = _resolve(book.get(alert_id), by, at)
    if note:
        alert = replace(alert, comments=(*alert.comments, Comment(by, at, note)))
    return book.put(alert)


def assign(
    book: AlertBook, alert_id: str, *, assignee: str | None, at: datetime, by: str
) -> AlertBook:
    """Set or clear the assignee of an alert that is not resolved; the change is commented."""
    alert = book.get(alert_id)
    if not alert.active:
        raise IllegalTransition(Text(N_("alert {alert} is resolved"), alert=alert_id))
    who = assignee or "nobody / không ai"
    note = Comment(by, at, f"assigned to {who} / giao cho {who}")
    return book.put(replace(alert, assignee=assignee, comments=(*alert.comments, note)))


def comment(book: AlertBook, alert_id: str, *, author: str, text: str, at: datetime) -> AlertBook:
    """Add a comment, in any status (post-mortem notes go on resolved alerts too)."""
    if not text.strip():
        raise LifecycleError(Text(N_("a comment needs text")))
    alert = book.get(alert_id)
    return book.put(replace(alert, comments=(*alert.comments, Comment(author, at, text.strip()))))
