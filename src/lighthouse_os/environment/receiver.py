"""The receiver role: the inbox watcher, the transmission-gap check, and what the pages show.

Files arrive in an inbox folder (from the embedded FTP server, another FTP server or a copy);
each finished file passes through `monitoring.receive_file` and moves to
`processed/yyyy/MM/dd/`, or to `failed/` with a dead letter giving the reason.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.auth.models import Site
from lighthouse_os.db.base import utcnow
from lighthouse_os.environment.compliance import Gap, find_gaps
from lighthouse_os.environment.feed import FeedError, parse_file_name
from lighthouse_os.environment.models import (
    MonitoringExceedance,
    MonitoringFile,
    MonitoringGap,
    MonitoringReading,
    MonitoringStation,
    aware,
    utc,
)
from lighthouse_os.environment.monitoring import (
    SOURCE,
    ChartBuffer,
    find_monitoring_station,
    monitoring_stations,
    receive_file,
    station_code,
)
from lighthouse_os.telemetry.service import TelemetryService

log = logging.getLogger(__name__)

PROCESSED, FAILED = "processed", "failed"
# Names other FTP servers and copy tools give files still being written.
PARTIAL_SUFFIXES = (".part", ".tmp", ".filepart", ".crdownload", ".partial")
MAX_ATTEMPTS = 3
GAP_LOOKBACK = timedelta(days=2)
HEALTH_GAP_DAYS = timedelta(days=3)  # gaps shown on the pages: those ending in the last 3 days


# -- the inbox ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One file handled by the inbox: processed (moved to processed/…) or failed (dead letter)."""

    file: str
    status: Literal["processed", "failed"]
    moved_to: Path
    reason: str | None = None
    result: dict[str, Any] | None = None


def _ignored(relative: Path) -> bool:
    top = relative.parts[0] if relative.parts else ""
    name = relative.name
    return (
        top in (PROCESSED, FAILED)
        or name.startswith(".")
        or name.lower().endswith(PARTIAL_SUFFIXES)
    )


def unique_target(folder: Path, name: str) -> Path:
    """`folder/name`, or `name.1`, `name.2`, … when a file of that name is already there."""
    folder.mkdir(parents=True, exist_ok=True)
    target, n = folder / name, 0
    while target.exists():
        n += 1
        target = folder / f"{name}.{n}"
    return target


Check = Callable[[Session, datetime], object]


def gap_check(session: Session, now: datetime) -> None:
    open_gaps = check_gaps(session, now=now)
    if open_gaps:
        log.warning("%d monitoring station(s) silent beyond their interval", len(open_gaps))


class Receiver:
    """Watches an inbox folder and passes every finished file through `receive_file`.

    A file is taken once its size and modification time have not changed for `settle_s`
    (uploads in progress keep growing) and `busy(path)` is false (the embedded FTP server
    knows which uploads are open). It then moves to `processed/yyyy/MM/dd/` (the date in its
    name) or to `failed/` with a dead letter that gives the reason. `checks` run periodically
    between polls: by default the transmission-gap check every minute.
    """

    def __init__(
        self,
        inbox: Path,
        sessions: sessionmaker[Session],
        sink: TelemetryService,
        *,
        settle_s: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        busy: Callable[[Path], bool] = lambda _path: False,
        checks: Sequence[tuple[float, Check]] = ((60.0, gap_check),),
    ) -> None:
        self.inbox = inbox.resolve()
        self.sessions, self.sink = sessions, sink
        self.settle_s, self.clock, self.monotonic, self.busy = settle_s, clock, monotonic, busy
        self.checks = tuple(checks)
        self._due = [0.0] * len(self.checks)
        self._seen: dict[Path, tuple[int, int, float]] = {}
        self._attempts: dict[Path, int] = {}
        self._complete: set[Path] = set()
        self._lock = threading.Lock()
        inbox.mkdir(parents=True, exist_ok=True)

    def candidates(self) -> list[Path]:
        """Files in the inbox (any depth) that may be monitoring files, oldest name first."""
        found = []
        for path in self.inbox.rglob("*"):
            if path.is_file() and not _ignored(path.relative_to(self.inbox)):
                found.append(path)
        return sorted(found, key=lambda p: (p.name, str(p)))

    def mark_complete(self, path: Path) -> None:
        """Take `path` at the next poll without waiting to settle (an FTP upload has ended)."""
        with self._lock:
            self._complete.add(path.resolve())

    def ready(self) -> list[Path]:
        """Candidates whose size and time stamp held still for `settle_s` and are not busy,
        or that were marked complete."""
        now, ready, current = self.monotonic(), [], {}
        with self._lock:
            complete, self._complete = self._complete, set()
        for path in self.candidates():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            key = (stat.st_size, stat.st_mtime_ns)
            before = self._seen.get(path)
            since = before[2] if before is not None and before[:2] == key else now
            current[path] = (*key, since)
            done = path.resolve() in complete or now - since >= self.settle_s
            if done and not self.busy(path):
                ready.append(path)
        self._seen = current
        return ready

    def poll(self) -> list[Outcome]:
        """Process every ready file; a file that keeps failing goes to failed/ at last.

        The chart points of all the files of one poll are written to the store together.
        """
        outcomes, charts = [], ChartBuffer()
        for path in self.ready():
            try:
                outcomes.append(self.process(path, charts))
            except Exception:  # the loop must survive a database hiccup; retried next poll
                attempts = self._attempts.get(path, 0) + 1
                self._attempts[path] = attempts
                log.exception("receiving %s failed (attempt %d)", path.name, attempts)
                if attempts >= MAX_ATTEMPTS:
                    outcomes.append(self._fail(path, b"", "receiver_error: see the log", None))
        charts.flush(self.sink)
        return outcomes

    def drain(self, timeout_s: float = 30.0, pause_s: float = 0.2) -> list[Outcome]:
        """Poll until the inbox is empty or `timeout_s` passed (for `--once` runs and tests)."""
        outcomes: list[Outcome] = []
        deadline = self.monotonic() + timeout_s
        while True:
            outcomes += self.poll()
            if not self.candidates() or self.monotonic() >= deadline:
                return outcomes
            time.sleep(pause_s)

    def process(self, path: Path, charts: ChartBuffer | None = None) -> Outcome:
        """Receive one file now and move it to processed/ or failed/.

        With `charts`, its chart points are queued there for the caller to flush.
        """
        relative = path.relative_to(self.inbox).as_posix()
        data = path.read_bytes()
        with self.sessions() as session:
            try:
                received = receive_file(
                    session, self.sink, relative, data, now=self.clock(), charts=charts
                )
            except FeedError as err:
                site_code = _site_of_name(session, relative)
                return self._fail(path, data, f"{err.code}: {err.message}", site_code)
            site = session.get(Site, received.station.site_id) if received.station else None
        self._attempts.pop(path, None)
        if received.station is None:
            reason = f"unregistered_station: {station_code(received.feed)} is not registered"
            return self._fail(path, data, reason, station_code(received.feed))
        folder = self.inbox / PROCESSED / _day_folder(received.feed.station.time.date())
        target = unique_target(folder, path.name)
        shutil.move(path, target)
        log.info("received %s: %d readings stored", path.name, received.stored)
        result = received.to_json_dict()
        return Outcome(relative, "processed", target, None, result | {"site": site and site.code})

    def _fail(self, path: Path, data: bytes, reason: str, site: str | None) -> Outcome:
        relative = path.relative_to(self.inbox).as_posix()
        self.sink.dead_letter(
            source=SOURCE, payload=data, reason=f"{reason} ({relative})", site=site
        )
        target = unique_target(self.inbox / FAILED, path.name)
        shutil.move(path, target)
        self._attempts.pop(path, None)
        log.warning("monitoring file %s failed: %s", relative, reason)
        return Outcome(relative, "failed", target, reason)

    def periodic(self) -> None:
        """Run each periodic check (every `every_s` seconds) that is due, in its own session."""
        now_s = self.monotonic()
        for k, (every_s, check) in enumerate(self.checks):
            if now_s >= self._due[k]:
                self._due[k] = now_s + every_s
                with self.sessions() as session:
                    check(session, self.clock())

    def run(
        self,
        stop: threading.Event,
        *,
        interval_s: float = 1.0,
        on_outcome: Callable[[Outcome], None] = lambda _o: None,
    ) -> None:
        """Poll every `interval_s` until `stop` is set."""
        while not stop.is_set():
            for outcome in self.poll():
                on_outcome(outcome)
            try:
                self.periodic()
            except Exception:  # a failed check is retried at its next due time
                log.exception("periodic monitoring check failed")
            stop.wait(interval_s)


def _site_of_name(session: Session, name: str) -> str | None:
    """The site code of the registered station a file name points to, if any."""
    try:
        st = parse_file_name(name)
    except FeedError:
        return None
    station = find_monitoring_station(session, f"{st.province}_{st.facility}_{st.station}")
    site = session.get(Site, station.site_id) if station else None
    return site.code if site else f"{st.province}_{st.facility}_{st.station}"


def _day_folder(day: date) -> Path:
    return Path(f"{day:%Y}") / f"{day:%m}" / f"{day:%d}"


# -- transmission gaps ----------------------------------------------------------------------


def check_gaps(
    session: Session, *, now: datetime, station_ids: Sequence[int] | None = None
) -> list[MonitoringGap]:
    """Find transmission gaps of every station over the last 2 days; return the open ones.

    Arrivals are the times in the file names (the station's clock), so a day of files
    imported at once, or buffered files resent late, fill the silence they cover. A station
    that never sent a file is silent since it was registered. The receiver loop calls this
    periodically; the alert engine reads the same gaps through `station_silences`.
    """
    query = select(MonitoringStation)
    if station_ids is not None:
        query = query.where(MonitoringStation.id.in_(list(station_ids)))
    open_gaps: list[MonitoringGap] = []
    for station in session.scalars(query):
        open_gaps += [g for g in _station_gaps(session, station, now) if g.open]
    session.commit()
    return open_gaps


def _station_gaps(
    session: Session, station: MonitoringStation, now: datetime
) -> list[MonitoringGap]:
    found, _last = station_silences(session, station, now=now)
    return _upsert_gaps(session, station, found, utc(now - GAP_LOOKBACK))


def station_silences(
    session: Session, station: MonitoringStation, *, now: datetime
) -> tuple[list[Gap], datetime | None]:
    """The station's gaps over the last 2 days and its latest file time up to `now`, read-only
    (`check_gaps` stores them; the alerts feature reads them as of its own clock)."""
    since, now = utc(now - GAP_LOOKBACK), utc(now)
    times = [
        aware(t)
        for t in session.scalars(
            select(MonitoringFile.file_time).where(
                MonitoringFile.station_id == station.id,
                MonitoringFile.file_time >= since,
                MonitoringFile.file_time <= now,
            )
        )
    ]
    silent_since = None if times else max(aware(station.created_at), since)
    interval = timedelta(seconds=station.interval_s)
    found = find_gaps(times, now=now, expected=interval, tolerance=interval, since=silent_since)
    return found, max(times, default=None)


def _upsert_gaps(
    session: Session, station: MonitoringStation, found: Sequence[Gap], since: datetime
) -> list[MonitoringGap]:
    stored = {
        aware(g.start): g
        for g in session.scalars(
            select(MonitoringGap).where(
                MonitoringGap.station_id == station.id, MonitoringGap.start >= since
            )
        )
    }
    rows = []
    for gap in found:
        row = stored.pop(gap.start, None)
        if row is None:
            row = MonitoringGap(station_id=station.id, start=utc(gap.start))
        row.end, row.open = utc(gap.end), gap.open
        row.last_file_at = None if gap.last_file_at is None else utc(gap.last_file_at)
        session.add(row)
        rows.append(row)
    # A late (buffered) file can fill a silence entirely: that gap no longer exists.
    if stored:
        session.execute(
            delete(MonitoringGap).where(MonitoringGap.id.in_([g.id for g in stored.values()]))
        )
    session.flush()
    return rows


def gap_dict(gap: MonitoringGap, station: str) -> dict[str, Any]:
    """A gap of the station with code `station`, for JSON output (UTC, ISO 8601)."""
    last = None if gap.last_file_at is None else aware(gap.last_file_at).isoformat()
    return {
        "station": station,
        "start": aware(gap.start).isoformat(),
        "end": aware(gap.end).isoformat(),
        "last_file_at": last,
        "open": gap.open,
    }


# -- what the receiver shows: completeness, statistics, the latest file ---------------------


@dataclass(frozen=True)
class StationHealth:
    """A monitoring station's data completeness over the last 24 h and its recent findings."""

    station: MonitoringStation
    site: Site
    files_24h: int
    expected_24h: int
    last_file_at: datetime | None
    gaps: tuple[MonitoringGap, ...]
    exceedances: tuple[MonitoringExceedance, ...]

    @property
    def completeness(self) -> float:
        """Files received ÷ files expected in the last 24 h (capped at 1)."""
        return min(1.0, self.files_24h / self.expected_24h) if self.expected_24h else 0.0


def station_health(
    session: Session, station: MonitoringStation, site: Site, *, now: datetime
) -> StationHealth:
    """Completeness (files in the last 24 h by their own time stamps), gaps and exceedances."""
    since, now = utc(now - timedelta(hours=24)), utc(now)
    files = session.scalar(
        select(func.count()).where(
            MonitoringFile.station_id == station.id,
            MonitoringFile.file_time > since,
            MonitoringFile.file_time <= now,
        )
    )
    last = session.scalar(
        select(func.max(MonitoringFile.file_time)).where(MonitoringFile.station_id == station.id)
    )
    gaps = session.scalars(
        select(MonitoringGap)
        .where(MonitoringGap.station_id == station.id, MonitoringGap.end > now - HEALTH_GAP_DAYS)
        .order_by(MonitoringGap.start.desc())
    )
    found = session.scalars(
        select(MonitoringExceedance)
        .where(MonitoringExceedance.station_id == station.id)
        .order_by(MonitoringExceedance.window_start.desc())
        .limit(50)
    )
    expected = int(timedelta(hours=24) / timedelta(seconds=station.interval_s))
    last_at = aware(last) if last is not None else None
    return StationHealth(station, site, files or 0, expected, last_at, tuple(gaps), tuple(found))


@dataclass(frozen=True)
class ParameterStats:
    """Min, max and mean of one parameter's status-00 values over a period, with the limit."""

    symbol: str
    unit: str
    count: int
    minimum: float
    maximum: float
    mean: float


def parameter_stats(
    session: Session, station: MonitoringStation, *, start: datetime, end: datetime
) -> list[ParameterStats]:
    """Per-parameter statistics of the values that count (status 00, numeric) in [start, end)."""
    rows = session.execute(
        select(
            MonitoringReading.symbol,
            func.min(MonitoringReading.unit),
            func.count(),
            func.min(MonitoringReading.value),
            func.max(MonitoringReading.value),
            func.avg(MonitoringReading.value),
        )
        .where(
            MonitoringReading.station_id == station.id,
            MonitoringReading.status == "00",
            MonitoringReading.value.is_not(None),
            MonitoringReading.time >= utc(start),
            MonitoringReading.time < utc(end),
        )
        .group_by(MonitoringReading.symbol)
        .order_by(MonitoringReading.symbol)
    )
    return [
        ParameterStats(s, u, int(n), float(lo), float(hi), float(m)) for s, u, n, lo, hi, m in rows
    ]


def latest_readings(session: Session, station: MonitoringStation) -> list[MonitoringReading]:
    """The readings of the station's most recent file (by the time in its name)."""
    last = session.scalar(
        select(MonitoringFile.id)
        .where(MonitoringFile.station_id == station.id)
        .order_by(MonitoringFile.file_time.desc())
        .limit(1)
    )
    if last is None:
        return []
    query = select(MonitoringReading).where(MonitoringReading.file_id == last)
    return list(session.scalars(query.order_by(MonitoringReading.id)))


def site_monitoring(
    session: Session, site: Site, *, now: datetime
) -> list[tuple[StationHealth, list[ParameterStats], list[MonitoringReading]]]:
    """A site's own stations: health, 24-h statistics and the latest file's readings."""
    out = []
    for station, station_site in monitoring_stations(session, [site.id]):
        stats = parameter_stats(session, station, start=now - timedelta(hours=24), end=now)
        health = station_health(session, station, station_site, now=now)
        out.append((health, stats, latest_readings(session, station)))
    return out
