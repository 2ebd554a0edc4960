"""Alert use cases: rules, detectors and channels of a site; alerts and their lifecycle.

Each use case loads, calls a core (`rules`, `lifecycle`) and commits once. The engine records
what the rules raise and clear through `record_events`, which runs the same lifecycle core.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Literal

from babel.numbers import format_decimal
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lighthouse_os.alerts import codec, lifecycle
from lighthouse_os.alerts.lifecycle import AlertBook, LifecyclePolicy
from lighthouse_os.alerts.messages import AlertMessage, english, render
from lighthouse_os.alerts.models import (
    Alert,
    AlertChannel,
    AlertComment,
    AlertDelivery,
    AlertDetector,
    AlertRule,
)
from lighthouse_os.alerts.rules import AlertEvent, AlertRaised, Severity
from lighthouse_os.alerts.schemas import (
    AlertDetail,
    AlertPublic,
    ChannelIn,
    CommentPublic,
)
from lighthouse_os.auth import audit
from lighthouse_os.auth.models import Membership, Site, User
from lighthouse_os.auth.policy import Principal
from lighthouse_os.errors import Conflict, InvalidInput, NotFound
from lighthouse_os.text import N_, Text
from lighthouse_os.web import i18n

STATUSES = ("open", "acknowledged", "resolved")
NOTICES = {
    lifecycle.AlertOpened: "opened",
    lifecycle.AlertResolved: "resolved",
    lifecycle.FlappingDetected: "flapping",
}


# -- channels -------------------------------------------------------------------------------


def list_channels(session: Session, site: Site) -> list[AlertChannel]:
    query = select(AlertChannel).where(AlertChannel.site_id == site.id)
    return list(session.scalars(query.order_by(AlertChannel.id)))


def create_channel(
    session: Session, site: Site, data: ChannelIn, *, actor: Principal
) -> AlertChannel:
    """Store a webhook or e-mail channel; alerts of at least `min_severity` go to it."""
    channel = AlertChannel(
        site_id=site.id,
        name=data.name,
        kind=data.kind,
        config=data.config(),
        min_severity=data.min_severity,
        enabled=data.enabled,
    )
    session.add(channel)
    audit.record(session, "alert_channel.create", actor=actor, site_id=site.id, target=data.name)
    session.commit()
    return channel


def delete_channel(session: Session, site: Site, channel_id: int, *, actor: Principal) -> None:
    channel = session.get(AlertChannel, channel_id)
    if channel is None or channel.site_id != site.id:
        raise NotFound("channel not found")
    audit.record(session, "alert_channel.delete", actor=actor, site_id=site.id, target=channel.name)
    session.delete(channel)
    session.commit()


def list_deliveries(session: Session, site: Site, *, limit: int = 100) -> list[AlertDelivery]:
    """The newest entries of the site's delivery log."""
    query = (
        select(AlertDelivery)
        .join(AlertChannel, AlertChannel.id == AlertDelivery.channel_id)
        .where(AlertChannel.site_id == site.id)
        .order_by(AlertDelivery.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    return list(session.scalars(query))


# -- alerts: reading ------------------------------------------------------------------------


def list_alerts(
    session: Session, site: Site, *, status: str | None = None, limit: int = 200
) -> list[Alert]:
    """The site's alerts, newest first; `status` "active" means open or acknowledged."""
    query = select(Alert).where(Alert.site_id == site.id)
    if status == "active":
        query = query.where(Alert.status != "resolved")
    elif status:
        if status not in STATUSES:
            raise InvalidInput(f"unknown status {status!r}", fields={"status": "unknown"})
        query = query.where(Alert.status == status)
    query = query.order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(max(1, min(limit, 1000)))
    return list(session.scalars(query))


def get_alert(session: Session, site: Site, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or alert.site_id != site.id:
        raise NotFound("alert not found")
    return alert


def comments_of(session: Session, alert: Alert) -> list[AlertComment]:
    query = select(AlertComment).where(AlertComment.alert_id == alert.id)
    return list(session.scalars(query.order_by(AlertComment.at, AlertComment.id)))


def _email(session: Session, user_id: int | None) -> str | None:
    user = session.get(User, user_id) if user_id is not None else None
    return None if user is None else user.email


def _source(rule_key: str) -> Literal["rule", "detector", "environment"]:
    kind = rule_key.partition(":")[0]
    return "detector" if kind == "detector" else "environment" if kind == "env" else "rule"


def wording(alert: Alert, locale: str | None = None) -> tuple[str, str | None]:
    """(title, detail) in `locale` (default: the request's): an environmental alert's message
    from the UI catalog, numbers in the locale's style; a rule's or detector's alert keeps the
    name its author wrote and has no detail."""
    message = AlertMessage.from_json(alert.message)
    if message is None:
        return alert.title, None
    locale = locale or i18n.current_locale()

    def number(value: float) -> str:
        return format_decimal(value, format="#,##0.##", locale=locale)

    return render(message, i18n.translations(locale).gettext, number)


def alert_public(session: Session, alert: Alert) -> AlertPublic:
    title, detail = wording(alert)
    return AlertPublic(
        id=alert.id,
        title=title,
        detail=detail,
        source=_source(alert.rule_key),
        rule_id=alert.rule_id,
        detector_id=alert.detector_id,
        series=alert.series,
        severity=alert.severity,
        status=alert.status,
        value=alert.value,
        opened_at=codec.aware(alert.opened_at) or alert.opened_at,
        last_raised_at=codec.aware(alert.last_raised_at) or alert.last_raised_at,
        occurrences=alert.occurrences,
        signals=list(alert.signals),
        assignee=_email(session, alert.assignee_id),
        acknowledged_at=codec.aware(alert.acknowledged_at),
        acknowledged_by=alert.acknowledged_by,
        resolved_at=codec.aware(alert.resolved_at),
        resolved_by=alert.resolved_by,
        flapping=alert.flapping,
    )


def alert_detail(session: Session, alert: Alert) -> AlertDetail:
    comments = [
        CommentPublic(author=c.author, at=codec.aware(c.at) or c.at, text=c.text)
        for c in comments_of(session, alert)
    ]
    return AlertDetail(**alert_public(session, alert).model_dump(), comments=comments)


def assignable_users(session: Session, site: Site) -> list[User]:
    """Members and admins of the site's organisation who may work on its alerts."""
    query = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.org_id == site.org_id,
            Membership.role.in_(("site_member", "site_admin")),
            or_(Membership.site_id.is_(None), Membership.site_id == site.id),
            User.is_active,
        )
        .order_by(User.email)
    )
    return list(dict.fromkeys(session.scalars(query)))


# -- alerts: lifecycle ----------------------------------------------------------------------


def to_core(
    alert: Alert, comments: Sequence[AlertComment] = (), assignee: str | None = None
) -> lifecycle.Alert:
    """The lifecycle core's view of a stored alert."""
    return lifecycle.Alert(
        id=alert.uid,
        rule_id=alert.rule_key,
        series=alert.series,
        severity=Severity(alert.severity),
        opened_at=codec.aware(alert.opened_at) or alert.opened_at,
        last_raised_at=codec.aware(alert.last_raised_at) or alert.last_raised_at,
        status=lifecycle.AlertStatus(alert.status),
        occurrences=alert.occurrences,
        signals=tuple(alert.signals),
        assignee=assignee,
        acknowledged_at=codec.aware(alert.acknowledged_at),
        acknowledged_by=alert.acknowledged_by,
        resolved_at=codec.aware(alert.resolved_at),
        resolved_by=alert.resolved_by,
        comments=tuple(lifecycle.Comment(c.author, c.at, c.text) for c in comments),
        flapping=alert.flapping,
        quiet_since=codec.aware(alert.quiet_since),
    )


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else codec.utc(moment)


def _copy(core: lifecycle.Alert, row: Alert) -> None:
    """Write the core's alert fields onto the row (UTC, as SQLite keeps no offset)."""
    row.status, row.severity = core.status.value, core.severity.value
    row.opened_at, row.last_raised_at = codec.utc(core.opened_at), codec.utc(core.last_raised_at)
    row.occurrences, row.signals, row.flapping = core.occurrences, list(core.signals), core.flapping
    row.acknowledged_at = _utc_or_none(core.acknowledged_at)
    row.acknowledged_by = core.acknowledged_by
    row.resolved_at, row.resolved_by = _utc_or_none(core.resolved_at), core.resolved_by
    row.quiet_since = _utc_or_none(core.quiet_since)


def _act(session: Session, alert: Alert, change: lifecycle.Alert) -> None:
    """Persist a manual change: fields, and the comments the core appended."""
    known = len(comments_of(session, alert))
    _copy(change, alert)
    for note in change.comments[known:]:
        session.add(
            AlertComment(
                alert_id=alert.id, author=note.author, at=codec.utc(note.at), text=note.text
            )
        )


def _manual(
    session: Session, alert: Alert, actor: Principal, action: str, change: lifecycle.Alert
) -> Alert:
    _act(session, alert, change)
    audit.record(session, f"alert.{action}", actor=actor, site_id=alert.site_id, target=alert.uid)
    session.commit()
    return alert


def _book(session: Session, alert: Alert) -> AlertBook:
    core = to_core(alert, comments_of(session, alert), _email(session, alert.assignee_id))
    return AlertBook({alert.uid: core})


def acknowledge(
    session: Session, site: Site, alert_id: int, *, actor: Principal, now: datetime
) -> Alert:
    """open → acknowledged."""
    alert = get_alert(session, site, alert_id)
    try:
        book = lifecycle.acknowledge(_book(session, alert), alert.uid, by=actor.label, at=now)
    except lifecycle.LifecycleError as err:
        raise Conflict(err.args[0]) from err
    return _manual(session, alert, actor, "acknowledge", book.get(alert.uid))


def resolve(
    session: Session,
    site: Site,
    alert_id: int,
    *,
    actor: Principal,
    now: datetime,
    note: str | None = None,
) -> Alert:
    """open/acknowledged → resolved by a person, with an optional closing note."""
    alert = get_alert(session, site, alert_id)
    try:
        book = lifecycle.resolve(
            _book(session, alert), alert.uid, by=actor.label, at=now, note=(note or "").strip()
        )
    except lifecycle.LifecycleError as err:
        raise Conflict(err.args[0]) from err
    return _manual(session, alert, actor, "resolve", book.get(alert.uid))


def assign(
    session: Session,
    site: Site,
    alert_id: int,
    *,
    assignee: str | None,
    actor: Principal,
    now: datetime,
) -> Alert:
    """Set (or clear, with None) the assignee: a member of the site's organisation."""
    alert = get_alert(session, site, alert_id)
    user = None
    if assignee:
        users = {u.email.lower(): u for u in assignable_users(session, site)}
        user = users.get(assignee.strip().lower())
        if user is None:
            problem = Text(N_("{who} cannot be assigned alerts of this site"), who=assignee)
            raise InvalidInput(problem, fields={"assignee": "unknown"})
    who = None if user is None else user.email
    try:
        book = lifecycle.assign(
            _book(session, alert), alert.uid, assignee=who, at=now, by=actor.label
        )
    except lifecycle.LifecycleError as err:
        raise Conflict(err.args[0]) from err
    alert.assignee_id = None if user is None else user.id
    return _manual(session, alert, actor, "assign", book.get(alert.uid))


def add_comment(
    session: Session, site: Site, alert_id: int, *, text: str, actor: Principal, now: datetime
) -> Alert:
    """Add a comment, in any status."""
    alert = get_alert(session, site, alert_id)
    try:
        book = lifecycle.comment(
            _book(session, alert), alert.uid, author=actor.label, text=text, at=now
        )
    except lifecycle.LifecycleError as err:
        raise InvalidInput(err.args[0], fields={"text": "required"}) from err
    return _manual(session, alert, actor, "comment", book.get(alert.uid))


# -- alerts: from the engine ----------------------------------------------------------------


def _loaded(session: Session, site_id: int, since: datetime) -> list[Alert]:
    """Active alerts, and those opened within the flap window (flap detection needs them)."""
    query = select(Alert).where(
        Alert.site_id == site_id,
        or_(Alert.status != "resolved", Alert.opened_at >= codec.utc(since)),
    )
    return list(session.scalars(query))


def _origin(session: Session, key: str) -> tuple[int | None, int | None]:
    """(rule id, detector id) of a core rule id, None where it no longer exists."""
    kind, _, ident = key.partition(":")
    if not ident.isdigit():
        return None, None
    if kind == "rule":
        return (int(ident) if session.get(AlertRule, int(ident)) else None), None
    return None, (int(ident) if session.get(AlertDetector, int(ident)) else None)


def _new_row(
    session: Session,
    site_id: int,
    core: lifecycle.Alert,
    title: str,
    value: float | None,
    message: AlertMessage | None,
) -> Alert:
    rule_id, detector_id = _origin(session, core.rule_id)
    if message is not None:
        title = english(message)[0]
    row = Alert(
        site_id=site_id,
        uid=core.id,
        rule_key=core.rule_id,
        rule_id=rule_id,
        detector_id=detector_id,
        title=title[:300],
        message=None if message is None else message.to_json(),
        series=core.series,
        value=value,
    )
    _copy(core, row)
    return row


def record_events(
    session: Session,
    site_id: int,
    events: Iterable[AlertEvent],
    *,
    now: datetime,
    titles: Mapping[str, str],
    policy: LifecyclePolicy = LifecyclePolicy(),
    messages: Mapping[tuple[str, str, datetime], AlertMessage] | None = None,
) -> list[tuple[Alert, str]]:
    """Apply rule, detector and environmental events and the flapping timer; return (alert,
    notice) pairs.

    Raises open an alert or are merged into the active one (deduplication); clears resolve it
    unless it is flapping. A new alert is titled by `titles` (rule id → name), or by the
    catalogued message of the raise that opened it (`messages`, by rule id, series and time).
    Notices are "opened", "resolved" and "flapping". Flushes, does not commit: the engine
    commits the alerts with the evaluator state in one transaction.
    """
    ordered = sorted(events, key=lambda e: e.at)
    since = min((e.at for e in ordered), default=now) - policy.flap_window
    rows = {r.uid: r for r in _loaded(session, site_id, since)}
    opens: dict[tuple[str, str], tuple[datetime, ...]] = {}
    for row in sorted(rows.values(), key=lambda r: r.opened_at):
        key = (row.rule_key, row.series)
        opens[key] = (*opens.get(key, ()), codec.aware(row.opened_at) or row.opened_at)
    book = AlertBook({uid: to_core(r) for uid, r in rows.items()}, opens)
    outcomes: list[lifecycle.Outcome] = []
    values: dict[str, float] = {}
    opened_with: dict[str, AlertMessage] = {}
    for event in ordered:
        step = lifecycle.apply(book, event, policy)
        book, outcomes = step.book, outcomes + list(step.outcomes)
        if isinstance(event, AlertRaised):
            values.update({o.alert_id: event.value for o in step.outcomes})
            message = (messages or {}).get((event.rule_id, event.series, event.at))
            if message is not None:
                opened_with.update({o.alert_id: message for o in step.outcomes})
    step = lifecycle.tick(book, now, policy)
    book, outcomes = step.book, outcomes + list(step.outcomes)
    for uid, core in book.alerts.items():
        if uid in rows:
            _copy(core, rows[uid])
        else:
            title = titles.get(core.rule_id, core.rule_id)
            rows[uid] = _new_row(
                session, site_id, core, title, values.get(uid), opened_with.get(uid)
            )
            session.add(rows[uid])
    session.flush()
    return [(rows[o.alert_id], NOTICES[type(o)]) for o in outcomes if type(o) in NOTICES]


def event_with_severity(event: AlertEvent, severity: str) -> AlertEvent:
    """A detector's raise carries the severity configured for the detector."""
    return replace(event, severity=Severity(severity)) if isinstance(event, AlertRaised) else event
