"""Sender role: a factory's own telemetry as Circular 10/2021 files, pushed by FTP every 5 minutes.

Each cycle writes one file from the latest values of the station's mapped tags into a local
outbox, then uploads every file in the outbox, oldest first, into `/yyyy/MM/dd/` on the server.
A file leaves the outbox only once the server accepted it, so an unreachable server means the
files wait and go out in order later (as MONITORING-FEED.md asks of dataloggers).
"""

from __future__ import annotations

import contextlib
import ftplib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from sqlalchemy.orm import Session

from lighthouse_os.assets import service as assets
from lighthouse_os.auth.models import Site
from lighthouse_os.db.base import utcnow
from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.feed import (
    FAULT,
    FeedError,
    FeedReading,
    feed_file_name,
    parse_file_name,
    write_feed,
)
from lighthouse_os.environment.models import MonitoringStation
from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.store import TimeSeriesStore

log = logging.getLogger(__name__)

# UCUM tag unit → the unit text the feed uses (MONITORING-FEED.md, field 3).
UCUM_TO_FEED = {
    "Cel": "oC", "[pH]": "-", "1": "-", "mg/L": "mg/L", "m3/h": "m3/h", "m3/s": "m3/s",
    "mg/m3": "mg/Nm3", "mg/m3{Nm3}": "mg/Nm3", "%": "%",
}  # fmt: skip
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class FtpTarget:
    """Where to push: `ftp://user:password@host:port/folder`."""

    host: str
    port: int
    user: str
    password: str
    folder: str

    def __repr__(self) -> str:
        return f"FtpTarget(ftp://{self.user}:***@{self.host}:{self.port}{self.folder})"


def parse_ftp_url(url: str) -> FtpTarget:
    """An `ftp://` URL with user and password; the path is the base folder (default /)."""
    parsed = urlparse(url)
    if parsed.scheme != "ftp" or not parsed.hostname:
        raise InvalidInput(f"{url!r} is not an ftp://user:password@host[:port]/ URL")
    if not parsed.username or parsed.password is None:
        raise InvalidInput("the FTP URL needs a user and a password", fields={"ftp": "credentials"})
    return FtpTarget(
        host=parsed.hostname,
        port=parsed.port or 21,
        user=unquote(parsed.username),
        password=unquote(parsed.password),
        folder=parsed.path or "/",
    )


# -- building a file ------------------------------------------------------------------------


def cycle_start(now: datetime, interval: timedelta) -> datetime:
    """The start of the sending cycle holding `now`, on the Vietnam-time clock grid."""
    local = now.astimezone(ICT)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((local - midnight) // interval) * interval


def station_readings(
    session: Session,
    store: TimeSeriesStore,
    station: MonitoringStation,
    site: Site,
    *,
    now: datetime,
) -> list[FeedReading]:
    """The latest value of each mapped tag as a reading, symbol order as in `tag_map`.

    A tag with no value within two intervals is sent as missing (`---`) with status 02: the
    analyser is not reporting, which the Circular's status codes call a device fault.
    """
    fresh_after = now - 2 * timedelta(seconds=station.interval_s)
    tags = {symbol: assets.get_tag(session, site, path) for symbol, path in station.tag_map.items()}
    latest = store.latest([t.id for t in tags.values()])
    found = {
        sid: (ts, value)
        for sid, ts, value in zip(
            latest.column("series_id").to_pylist(),
            latest.column("ts").to_pylist(),
            latest.column("value").to_pylist(),
            strict=True,
        )
    }
    readings = []
    for symbol, tag in tags.items():
        unit = UCUM_TO_FEED.get(tag.unit, tag.unit)
        ts, value = found.get(tag.id, (None, None))
        if ts is None or value is None or ts < fresh_after:
            readings.append(FeedReading(symbol, None, unit, now, FAULT))
        else:
            readings.append(FeedReading(symbol, round(value, 4), unit, ts, "00"))
    return readings


def build_file(
    session: Session,
    store: TimeSeriesStore,
    station: MonitoringStation,
    site: Site,
    *,
    now: datetime,
) -> tuple[str, bytes]:
    """(file name, body) of the cycle holding `now` for a station with a `tag_map`."""
    if not station.tag_map:
        raise InvalidInput(
            f"station {station.code} maps no tags; register it with --tag SYMBOL=tag/path",
            fields={"tag_map": "empty"},
        )
    at = cycle_start(now, timedelta(seconds=station.interval_s))
    name = feed_file_name(station.province, station.facility, station.station, at)
    readings = station_readings(session, store, station, site, now=now)
    return name, write_feed(readings)


# -- the outbox and the upload --------------------------------------------------------------


class Outbox:
    """Files waiting to be sent, oldest (by the time in the name) first."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder

    def put(self, name: str, body: bytes) -> Path:
        """Keep a file until it is sent (written under a temporary name, then renamed)."""
        path = self.folder / name
        partial = path.with_name(name + ".part")
        partial.write_bytes(body)
        partial.replace(path)
        return path

    def pending(self) -> list[Path]:
        """Waiting files in sending order."""
        return sorted(self.folder.glob("*.txt"), key=_send_order)


def _send_order(path: Path) -> tuple[datetime, str]:
    try:
        return parse_file_name(path.name).time, path.name
    except FeedError:
        return datetime.max.replace(tzinfo=ICT), path.name


def remote_path(target: FtpTarget, name: str) -> str:
    """`<folder>/yyyy/MM/dd/<name>` for the date in the file name."""
    day = parse_file_name(name).time
    return str(PurePosixPath(target.folder) / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / name)


def upload(target: FtpTarget, files: list[Path], *, timeout_s: float = TIMEOUT_S) -> int:
    """Upload `files` in order over one connection; each is deleted once stored remotely.

    Returns how many were sent. Stops at the first failure, so later files never overtake an
    earlier one; connection errors propagate as OSError or ftplib.Error.
    """
    sent = 0
    with ftplib.FTP() as ftp:
        ftp.connect(target.host, target.port, timeout=timeout_s)
        ftp.login(target.user, target.password)
        made: set[str] = set()
        for path in files:
            remote = remote_path(target, path.name)
            folder = str(PurePosixPath(remote).parent)
            if folder not in made:
                _make_dirs(ftp, folder)
                made.add(folder)
            with path.open("rb") as handle:
                ftp.storbinary(f"STOR {remote}", handle)
            path.unlink()
            sent += 1
    return sent


def _make_dirs(ftp: ftplib.FTP, folder: str) -> None:
    current = PurePosixPath("/")
    for part in PurePosixPath(folder).parts[1:]:
        current /= part
        with contextlib.suppress(ftplib.error_perm):  # already there: servers answer 550
            ftp.mkd(str(current))


@dataclass(frozen=True)
class SendReport:
    """One cycle: the file written, how many files went out, how many wait, the error if any."""

    written: str
    sent: int
    waiting: int
    error: str | None = None


class Sender:
    """Writes one file per cycle and pushes the outbox; `tick()` is one cycle."""

    def __init__(
        self,
        build: Callable[[datetime], tuple[str, bytes]],
        outbox: Outbox,
        target: FtpTarget,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.build, self.outbox, self.target, self.clock = build, outbox, target, clock
        self._failing = False

    def tick(self) -> SendReport:
        """Write this cycle's file into the outbox, then try to send everything waiting."""
        name, body = self.build(self.clock())
        self.outbox.put(name, body)
        return self.flush(name)

    def flush(self, written: str = "") -> SendReport:
        """Send waiting files oldest first; log a failure once and a recovery once."""
        pending = self.outbox.pending()
        try:
            sent = upload(self.target, pending)
        except (OSError, ftplib.Error, EOFError) as err:
            if not self._failing:
                log.warning("FTP %s unreachable, buffering files: %s", self.target.host, err)
            self._failing = True
            return SendReport(
                written, 0, len(self.outbox.pending()), str(err) or type(err).__name__
            )
        if self._failing:
            log.info("FTP %s reachable again: %d buffered file(s) sent", self.target.host, sent)
        self._failing = False
        return SendReport(written, sent, len(self.outbox.pending()))

    def run(
        self,
        stop: threading.Event,
        *,
        interval_s: float,
        on_report: Callable[[SendReport], None] = lambda _r: None,
    ) -> None:
        """One cycle at each interval boundary until `stop` is set."""
        while not stop.is_set():
            on_report(self.tick())
            now = self.clock()
            step = timedelta(seconds=interval_s)
            wait = (cycle_start(now, step) + step - now).total_seconds()
            stop.wait(max(wait, 0.5))
