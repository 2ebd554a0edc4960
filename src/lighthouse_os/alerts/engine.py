"""The alert engine: runs the site's rules and detectors over new data from the store.

Each run, per site: resolve every rule's scope to series (an asset-type rule covers machines
added since), read the points after each (rule, series)'s last evaluated instant, feed them to
the rules core with the state kept from the previous run, score trained detectors on the rows
after their last scored instant, apply the events to the alert lifecycle, queue notifications,
and commit all of it in one transaction. Data is evaluated in event time: a point stored after
its series' watermark has passed it is not evaluated (see docs/alerts.md). Once a minute the
environmental checks (`environment.py`) add the QCVN limit and feed-gap events of every air and
monitoring station to its site's run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.alerts import codec, environment, kpis, notify, service
from lighthouse_os.alerts.backtest import DetectorKind, detector_events
from lighthouse_os.alerts.lifecycle import LifecyclePolicy
from lighthouse_os.alerts.models import Alert, AlertDetector, AlertRule, AlertRuleState
from lighthouse_os.alerts.rules import AlertEvent, Binding, Point, SeriesState, evaluate
from lighthouse_os.alerts.targets import (
    EPOCH,
    Target,
    floor_to,
    machine_tags,
    read_frame,
    rule_targets,
)
from lighthouse_os.assets.models import AssetNode
from lighthouse_os.auth.models import Site
from lighthouse_os.db.base import utcnow
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.kpi.queries import KpiReader, open_reader
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.store import StoreUnavailable, TimeSeriesStore, open_store

log = logging.getLogger(__name__)
STEP = {"raw": timedelta(microseconds=1), "1m": timedelta(minutes=1), "1h": timedelta(hours=1)}


@dataclass(frozen=True)
class EngineOptions:
    """How far a new rule or detector looks back, how long raw rows may take to complete, and
    how often KPI rules and the environmental checks (`environment.py`) run."""

    lookback: timedelta = timedelta(minutes=15)
    kpi_lookback: timedelta = timedelta(days=1)
    raw_grace: timedelta = timedelta(seconds=30)
    kpi_every: timedelta = timedelta(minutes=1)
    policy: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    environment: environment.EnvironmentOptions | None = field(
        default_factory=environment.EnvironmentOptions
    )  # None: no environmental alerts
    environment_every: timedelta = timedelta(minutes=1)


@dataclass(frozen=True)
class RunReport:
    """What one run did."""

    sites: int = 0
    points: int = 0
    events: int = 0
    notices: int = 0
    delivered: int = 0


@dataclass
class _SiteRun:
    events: list[AlertEvent] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)
    points: int = 0


Bound = tuple[AlertRule, Target, Binding]


class AlertEngine:
    """Evaluates every site with enabled rules, detectors or active alerts; see the module doc."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: TimeSeriesStore,
        *,
        reader: Callable[[], KpiReader] | None = None,
        notifier: notify.Notifier | None = None,
        clock: Callable[[], datetime] = utcnow,
        options: EngineOptions | None = None,
    ) -> None:
        self.sessions, self.store, self.clock = sessions, store, clock
        self.notifier = notifier
        self.options = options or EngineOptions()
        self._open_reader = reader
        self._reader: KpiReader | None = None
        self._reader_failed = False
        self._kpi_checked: dict[int, datetime] = {}
        self._environment_checked: datetime | None = None

    def run_once(self, now: datetime | None = None) -> RunReport:
        """One pass over every site; returns counts for logs and tests."""
        now = (now or self.clock()).astimezone(UTC)
        found_env = self._environment(now)
        with self.sessions() as session:
            site_ids = sorted(set(_active_sites(session)) | set(found_env))
        points = events = notices = 0
        for site_id in site_ids:
            with self.sessions() as session:
                site = session.get(Site, site_id)
                if site is None:
                    continue
                run = self._site(session, site, now)
                env = found_env.get(site_id, environment.SiteEvents())
                run.events += env.events
                found = service.record_events(
                    session,
                    site.id,
                    run.events,
                    now=now,
                    titles=run.titles,
                    policy=self.options.policy,
                    messages=env.messages,
                )
                notify.queue(session, site, found, now)
                session.commit()
            points, events, notices = (
                points + run.points,
                events + len(run.events),
                notices + len(found),
            )
        delivered = self.notifier.send_due(now) if self.notifier else 0
        return RunReport(len(site_ids), points, events, notices, delivered)

    def _site(self, session: Session, site: Site, now: datetime) -> _SiteRun:
        run = _SiteRun()
        rules = list(
            session.scalars(
                select(AlertRule).where(AlertRule.site_id == site.id, AlertRule.enabled)
            )
        )
        run.titles.update({codec.rule_key(r.id): r.name for r in rules})
        plain = [r for r in rules if r.kind != "kpi"]
        self._rules(session, plain, lambda b, s: self._tag_points(b, s, now, run), now, run)
        kpi_rules = [r for r in rules if r.kind == "kpi"]
        if kpi_rules and self._kpi_due(site.id, now) and (reader := self._kpi_reader()):
            feed = lambda b, s: self._kpi_points(session, reader, site, b, s, now)  # noqa: E731
            self._rules(session, kpi_rules, feed, now, run)
        self._detectors(session, site, now, run)
        return run

    # -- rules ----------------------------------------------------------------------------

    def _rules(
        self,
        session: Session,
        rules: Sequence[AlertRule],
        feed: Callable[[list[Bound], dict[tuple[str, str], SeriesState]], list[Point]],
        now: datetime,
        run: _SiteRun,
    ) -> None:
        """Evaluate rules with their kept state; the new state is saved for the next run."""
        if not rules:
            return
        bound = [
            (
                r,
                t,
                Binding(
                    codec.core_rule(codec.rule_key(r.id), r.kind, r.params, r.severity), t.series
                ),
            )
            for r in rules
            for t in rule_targets(session, r)
        ]
        rows = _state_rows(session, [r.id for r in rules])
        state = {
            (codec.rule_key(rid), series): codec.state_from_json(row.state)
            for (rid, series), row in rows.items()
        }
        points = feed(bound, state)
        result = evaluate([b for _, _, b in bound], points, now=now, state=state)
        for rule, target, _binding in bound:
            saved = codec.state_to_json(result.state[(codec.rule_key(rule.id), target.series)])
            row = rows.get((rule.id, target.series))
            if row is None:
                session.add(AlertRuleState(rule_id=rule.id, series=target.series, state=saved))
            elif row.state != saved:
                row.state = saved
        run.events += result.events
        run.points += len(points)

    def _since(
        self, bound: list[Bound], state: dict[tuple[str, str], SeriesState], default: datetime
    ) -> dict[str, datetime]:
        """Per series: the newest instant any of its rules has evaluated, else `default`."""
        since: dict[str, datetime] = {}
        for rule, target, _ in bound:
            kept = state.get((codec.rule_key(rule.id), target.series))
            last = kept.last_ts if kept is not None and kept.last_ts is not None else default
            since[target.series] = max(since.get(target.series, last), last)
        return since

    def _tag_points(
        self,
        bound: list[Bound],
        state: dict[tuple[str, str], SeriesState],
        now: datetime,
        run: _SiteRun,
    ) -> list[Point]:
        since = self._since(bound, state, now - self.options.lookback)
        paths = {t.tag_id: t.series for _, t, _ in bound if t.tag_id is not None}
        if not paths:
            return []
        table = self.store.raw(list(paths), min(since.values()), now)
        sids = table.column("series_id").to_pylist()
        micros = table.column("ts").cast("int64").to_pylist()
        values = table.column("value").to_pylist()
        points = []
        for sid, us, value in zip(sids, micros, values, strict=True):
            ts = EPOCH + timedelta(microseconds=us)
            if ts > since[paths[sid]]:
                points.append(Point(paths[sid], ts, value))
        return points

    def _kpi_points(
        self,
        session: Session,
        reader: KpiReader,
        site: Site,
        bound: list[Bound],
        state: dict[tuple[str, str], SeriesState],
        now: datetime,
    ) -> list[Point]:
        since = self._since(bound, state, now - self.options.kpi_lookback)
        by_series = {t.series: (str(r.params["kpi"]), t.machine or "") for r, t, _ in bound}
        start = min(since.values(), default=now)
        pf = [m for s, (k, m) in by_series.items() if k == "power_factor"]
        shift = {k for k, _ in by_series.values() if k != "power_factor"}
        points = kpis.power_factor_points(session, reader, site, pf, start, now) if pf else []
        if shift:
            machines = [m for k, m in by_series.values() if k != "power_factor"]
            points += kpis.shift_points(session, reader, site, sorted(shift), machines, start, now)
        return [p for p in points if p.series in since and p.ts > since[p.series]]

    # -- environmental checks -------------------------------------------------------------

    def _environment(self, now: datetime) -> dict[int, environment.SiteEvents]:
        """QCVN limits and feed gaps of every station, by site; at most once a minute (periods
        end on the hour and files come every few minutes)."""
        options = self.options.environment
        last = self._environment_checked
        if options is None or (
            last is not None and timedelta(0) <= now - last < self.options.environment_every
        ):
            return {}
        with self.sessions() as session:
            found = environment.check(session, self.store, now=now, options=options)
        self._environment_checked = now
        return found

    def _kpi_due(self, site_id: int, now: datetime) -> bool:
        """KPI periods end on the hour at the finest, so one check a minute is enough."""
        last = self._kpi_checked.get(site_id)
        if last is not None and timedelta(0) <= now - last < self.options.kpi_every:
            return False
        self._kpi_checked[site_id] = now
        return True

    def _kpi_reader(self) -> KpiReader | None:
        if self._reader is None and self._open_reader is not None and not self._reader_failed:
            try:
                self._reader = self._open_reader()
            except StoreUnavailable as err:
                self._reader_failed = True
                log.warning("KPI rules are skipped: %s", err)
        return self._reader

    # -- detectors ------------------------------------------------------------------------

    def _detectors(self, session: Session, site: Site, now: datetime, run: _SiteRun) -> None:
        query = select(AlertDetector).where(
            AlertDetector.site_id == site.id,
            AlertDetector.enabled,
            AlertDetector.model.is_not(None),
        )
        for detector in session.scalars(query):
            run.titles[codec.detector_key(detector.id)] = detector.name
            run.events += self._score(session, site, detector, now)

    def _score(
        self, session: Session, site: Site, row: AlertDetector, now: datetime
    ) -> list[AlertEvent]:
        """Score the rows after the last scored one with the fitted model and stream state."""
        node = session.get(AssetNode, row.node_id)
        if node is None or not row.model:
            return []
        resolution = str(row.params.get("resolution", "1m"))
        key = codec.detector_key(row.id)
        spec = codec.detector_spec(key, row.kind, [], row.params)
        detectors = codec.load_model(spec, row.model)
        columns = list(dict.fromkeys(c for d in detectors for c in d.columns))
        end = now - self.options.raw_grace if resolution == "raw" else floor_to(now, resolution)
        start = self._score_start(row, resolution, end)
        frame = read_frame(
            self.store,
            node.path,
            machine_tags(session, node, columns),
            start,
            end,
            resolution=resolution,
            tz=site.timezone,
        )
        if not frame.timestamps:
            return []
        codec.load_stream(detectors, row.stream or [])
        events: list[AlertEvent] = []
        for detector in detectors:
            index = [frame.columns.index(c) for c in detector.columns]
            values = frame.values[:, index]
            keep = ~np.isnan(values).any(axis=1)
            stamps = [frame.timestamps[i] for i in np.flatnonzero(keep).tolist()]
            if not stamps:
                continue
            was_active = codec.alarm_active(detector)
            batch = detector.score_batch(values[keep], stamps)
            series = (
                node.path
                if spec.kind is DetectorKind.PCA_T2Q
                else f"{node.path}/{detector.columns[0]}"
            )
            found = detector_events(key, series, stamps, batch, was_active=was_active)
            events += [service.event_with_severity(e, row.severity) for e in found]
        row.stream = codec.dump_stream(detectors)
        row.scored_until = frame.timestamps[-1]
        return events

    def _score_start(self, row: AlertDetector, resolution: str, end: datetime) -> datetime:
        last = codec.aware(row.scored_until)
        if last is not None:
            return last + STEP[resolution]
        trained = codec.aware(row.train_to) or end
        return floor_to(max(trained, end - self.options.lookback), resolution)

    def close(self) -> None:
        """Release the reader, the notifier's HTTP client and the store."""
        if self._reader is not None:
            self._reader.close()
        if self.notifier is not None:
            self.notifier.close()
        self.store.close()


def _active_sites(session: Session) -> list[int]:
    """Sites with enabled rules or detectors, or active alerts (a flapping one may time out)."""
    found: set[int] = set()
    found.update(session.scalars(select(AlertRule.site_id).where(AlertRule.enabled)))
    found.update(session.scalars(select(AlertDetector.site_id).where(AlertDetector.enabled)))
    found.update(session.scalars(select(Alert.site_id).where(Alert.status != "resolved")))
    return sorted(found)


def _state_rows(session: Session, rule_ids: Sequence[int]) -> dict[tuple[int, str], AlertRuleState]:
    query = select(AlertRuleState).where(AlertRuleState.rule_id.in_(list(rule_ids)))
    return {(r.rule_id, r.series): r for r in session.scalars(query)}


# -- the worker loop ------------------------------------------------------------------------


def run_forever(
    engine: AlertEngine, *, interval: float, stop: threading.Event, max_runs: int | None = None
) -> int:
    """Run the engine every `interval` seconds until `stop` is set; returns the runs made.

    A failing run is logged once, and its recovery once; the loop itself never dies.
    """
    failing, runs = False, 0
    while not stop.is_set() and (max_runs is None or runs < max_runs):
        try:
            engine.run_once()
            if failing:
                log.info("alert engine recovered")
            failing = False
        except Exception:  # the worker's loop: log once, go on
            if not failing:
                log.exception("alert engine run failed; retrying every %s s", interval)
            failing = True
        runs += 1
        stop.wait(interval)
    return runs


def build_engine(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> AlertEngine:
    """The engine of a worker or the demo: its own database engine, store, reader and notifier."""
    sessions = make_session_factory(make_engine(settings.resolved_database_url))
    url = settings.resolved_timeseries_url
    return AlertEngine(
        sessions,
        open_store(url),
        reader=lambda: open_reader(url),
        notifier=notify.Notifier(sessions),
        clock=clock,
    )


def start_in_background(
    settings: Settings, *, interval: float = 10.0
) -> tuple[threading.Thread, threading.Event]:
    """Run the engine in a daemon thread (the demo server); set the event to stop it."""
    stop = threading.Event()
    engine = build_engine(settings)

    def _loop() -> None:
        try:
            run_forever(engine, interval=interval, stop=stop)
        finally:
            engine.close()

    thread = threading.Thread(target=_loop, name="lhos-alert-engine", daemon=True)
    thread.start()
    return thread, stop
