"""Environmental alerts: QCVN 05 air limits at air stations, QCVN 40/19 limits and feed gaps at
monitoring stations, judged as of the engine's clock and scoped to the station's site.

Read-only over the environment's evidence, with its own cores: hourly means from the store
(`service.hourly_means_of`, as the AQI and `refresh_air_exceedances` read them), the stored
readings of each monitoring station judged with `compliance.assess` against the station's
limits (`monitoring.station_limits`, as `judge` does), and the file times of each station
(`receiver.station_silences`, as `check_gaps` reads them). Why not the finding tables: see
docs/adr/0013-environment-alerts.md. The pure mapping is in `findings.py`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lighthouse_os.alerts import codec, findings
from lighthouse_os.alerts.findings import Finding, SeriesMark, Standard
from lighthouse_os.alerts.messages import AlertMessage
from lighthouse_os.alerts.models import Alert
from lighthouse_os.alerts.rules import AlertEvent, AlertRaised, Severity
from lighthouse_os.environment import monitoring, receiver, service, standards
from lighthouse_os.environment.averaging import day_start
from lighthouse_os.environment.compliance import assess
from lighthouse_os.environment.monitoring import floor_hour
from lighthouse_os.telemetry.store import TimeSeriesStore

SEVERITY = {
    findings.AIR: Severity.WARNING,  # ambient air: the city's concern, not one plant's breach
    findings.WASTEWATER: Severity.CRITICAL,  # a discharge permit is being breached
    findings.STACK: Severity.CRITICAL,
    findings.FEED_GAP: Severity.WARNING,
}
MessageKey = tuple[str, str, datetime]  # (rule id, series, at) of a raise


@dataclass(frozen=True)
class EnvironmentOptions:
    """`lookback`: how far back findings become events (older ones only carry their state);
    `grace`: how long after a period ends its last data may still arrive before it is judged
    (monitoring windows wait one file interval instead)."""

    lookback: timedelta = timedelta(hours=2)
    grace: timedelta = timedelta(minutes=5)


@dataclass
class SiteEvents:
    """One site's environmental events and the messages of their raises."""

    events: list[AlertEvent] = field(default_factory=list)
    messages: dict[MessageKey, AlertMessage] = field(default_factory=dict)

    def add(self, rule_id: str, found: list[Finding], events: list[AlertEvent]) -> None:
        by_at = {(f.series, f.at): f.message for f in found if f.exceeded}
        for event in events:
            message = by_at.get((event.series, event.at))
            if isinstance(event, AlertRaised) and message is not None:
                self.messages[(rule_id, event.series, event.at)] = message
        self.events += events


Marks = dict[tuple[int, str], dict[str, SeriesMark]]  # (site id, rule id) → series → mark


def check(
    session: Session,
    store: TimeSeriesStore,
    *,
    now: datetime,
    options: EnvironmentOptions | None = None,
) -> dict[int, SiteEvents]:
    """Events of every air and monitoring station as of `now`, by the station's site id."""
    options = options or EnvironmentOptions()
    since = now - options.lookback
    marks = _marks(session, since - timedelta(days=3))
    out: dict[int, SiteEvents] = defaultdict(SiteEvents)
    _air(session, store, now, since, options, marks, out)
    _monitoring(session, now, since, marks, out)
    return dict(out)


def _emit(
    out: dict[int, SiteEvents],
    marks: Marks,
    site_id: int,
    rule_id: str,
    found: list[Finding],
    since: datetime,
    *,
    repeat: bool = True,
) -> None:
    events = findings.to_events(
        rule_id,
        found,
        since=since,
        marks=marks.get((site_id, rule_id), {}),
        severity=SEVERITY[rule_id],
        repeat=repeat,
    )
    if events:
        out[site_id].add(rule_id, found, events)


def _air(
    session: Session,
    store: TimeSeriesStore,
    now: datetime,
    since: datetime,
    options: EnvironmentOptions,
    marks: Marks,
    out: dict[int, SiteEvents],
) -> None:
    pairs = service.air_stations(session)
    if not pairs:
        return
    until = floor_hour(now - options.grace)
    # From the local midnight a day before `since`: the day and 8-hour periods that end around
    # `since` carry the state that the window starts with.
    start = day_start((floor_hour(since) - timedelta(days=1)).date())
    means = service.hourly_means_of(session, store, [site for _, site in pairs], start, until)
    limits = standards.qcvn05_limits()
    names = {p: words[0] for p, words in service.POLLUTANT_NAMES.items()}  # "so2" → "SO₂"
    for station, site in pairs:
        hours = means.get(site.id, [])
        found = findings.air_findings(
            station.code, hours, limits, start=start, until=until, names=names
        )
        _emit(out, marks, site.id, findings.AIR, found, since)


def _monitoring(
    session: Session, now: datetime, since: datetime, marks: Marks, out: dict[int, SiteEvents]
) -> None:
    for station, site in monitoring.monitoring_stations(session):
        interval = timedelta(seconds=station.interval_s)
        gaps, last_file = receiver.station_silences(session, station, now=now)
        found = findings.gap_findings(station.code, gaps, last_file, interval)
        _emit(out, marks, site.id, findings.FEED_GAP, found, since, repeat=False)
        until = now - interval  # the window's last file was due by then
        judged = monitoring.station_limits(station, floor_hour(until).date())
        if judged is None:
            continue
        choice, limits = judged
        start = floor_hour(since) - timedelta(hours=2)
        readings = monitoring.stored_readings(session, station, start, floor_hour(until))
        report = assess(readings, limits, monitoring.medium_of(station))
        standard = Standard(
            choice.standard.standard,
            monitoring.limit_column(station),
            monitoring.factor_of(station),
            choice.provisional,
        )
        found = findings.effluent_findings(station.code, report.windows, standard, until=until)
        key = findings.WASTEWATER if station.kind == "wastewater" else findings.STACK
        _emit(out, marks, site.id, key, found, since)


def _marks(session: Session, cutoff: datetime) -> Marks:
    """Per (site, rule id, series): the newest instant its alerts reflect, and whether the newest
    alert holds its condition on. Alerts resolved before `cutoff` cannot touch the findings
    read."""
    query = select(Alert).where(
        Alert.rule_key.in_(findings.ENVIRONMENT_KEYS),
        or_(
            Alert.status != "resolved",
            Alert.last_raised_at >= codec.utc(cutoff),
            Alert.resolved_at >= codec.utc(cutoff),
        ),
    )
    marks: Marks = defaultdict(dict)
    for alert in sorted(session.scalars(query), key=lambda a: (a.opened_at, a.id)):
        moments = [alert.last_raised_at, alert.resolved_at, alert.quiet_since]
        until = max(m for m in (codec.aware(t) for t in moments) if m is not None)
        known = marks[(alert.site_id, alert.rule_key)].get(alert.series)
        if known is not None:
            until = max(until, known.until)
        # A flapping alert held open after its clear is waiting out the flap window: its
        # condition is off, so only a new raise (not another clear) may touch it.
        active = alert.status != "resolved" and alert.quiet_since is None
        marks[(alert.site_id, alert.rule_key)][alert.series] = SeriesMark(until, active)
    return dict(marks)
