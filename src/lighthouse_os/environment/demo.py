"""Demo data: six HCMC air stations with 48 h of hourly history, two factory wastewater stations.

The air history goes through the real telemetry sink; the wastewater day is written as
Circular 10/2021 files (`feed.write_feed`, with the quirks real senders show) and received
through the inbox path, one exceedance and one transmission gap included. While `lhos demo`
serves, `start_streaming` keeps both going.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.auth.demo import PROGRAM_CODE
from lighthouse_os.auth.tenants import get_org
from lighthouse_os.db.base import utcnow
from lighthouse_os.environment import monitoring, receiver, service
from lighthouse_os.environment.averaging import HOUR, ICT
from lighthouse_os.environment.feed import FeedReading, feed_file_name, write_feed
from lighthouse_os.environment.models import AirStation
from lighthouse_os.environment.monitoring import floor_hour
from lighthouse_os.environment.schemas import AirStationInput, MonitoringStationInput
from lighthouse_os.settings import Settings
from lighthouse_os.simulator.air import AirStation as SimStation
from lighthouse_os.simulator.air import simulate_air, stations_for
from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.service import TelemetryService, build_sink

log = logging.getLogger(__name__)

AIR_STATIONS = 6
HISTORY_HOURS = 48
SEED = 1459  # the Decision's number: any fixed seed gives a repeatable demo
OPERATOR = "Trung tâm Quan trắc Môi trường TP.HCM (dữ liệu mô phỏng / simulated data)"
FILE_STEP = timedelta(minutes=5)
SOURCE = "demo"
# An SO2 release at the Tân Tạo industrial park station, hours before the end of the history,
# above the QCVN 05:2023 1-hour limit (350 µg/m³), so the demo shows an air exceedance.
RELEASE_STATION, RELEASE_HOURS_AGO, RELEASE_SO2 = "HCM-AQ-005", 10, (380.0, 410.0)


@dataclass(frozen=True)
class DemoWastewater:
    """A factory's wastewater station and what its demo day contains."""

    code: str
    site: str
    kq: float
    kf: float
    exceedance_hours_ago: int | None  # COD above the limit for that hour
    gap_hours_ago: int | None  # 40 minutes without a file from that hour


WASTEWATER = (
    DemoWastewater("HCM_SGP_NUO001", "saigon-precision", 0.9, 1.1, 6, None),
    DemoWastewater("HCM_HPF_NUO001", "hiepphuoc-foods", 1.0, 1.0, None, 9),
)
# Typical treated effluent (mean, spread) by symbol, unit; COD, TSS, NH4 well inside column B.
EFFLUENT = (
    ("Flow", "m3/h", 32.0, 6.0), ("Temp", "oC", 31.0, 1.0), ("pH", "-", 7.2, 0.2),
    ("TSS", "mg/L", 42.0, 8.0), ("COD", "mg/L", 88.0, 12.0), ("NH4", "mg/L", 4.5, 1.0),
    ("TN", "mg/L", 21.0, 3.0), ("TP", "mg/L", 2.6, 0.4),
)  # fmt: skip


def seed_environment(settings: Settings, session: Session, *, now: datetime | None = None) -> str:
    """Create the demo stations and their history once; later runs leave them as they are.

    The history ends at `now` (default: the wall clock; tests pass a fixed instant)."""
    if session.scalar(select(AirStation.id).limit(1)) is not None:
        return "environment demo already present"
    program = get_org(session, PROGRAM_CODE)
    stations = stations_for(AIR_STATIONS)
    for station in stations:
        service.add_air_station(session, program_ref=program.id, data=_air_input(station))
    for ww in WASTEWATER:
        monitoring.register_monitoring_station(session, _wastewater_input(ww))
    now = now or utcnow()
    sink = build_sink(settings)
    try:
        points = write_air_history(sink, stations, end=floor_hour(now))
        files = receive_day(settings, sink, now=now)
        with sink.sessions() as s:
            found = service.refresh_air_exceedances(s, sink.store, now=now)
            gaps = receiver.check_gaps(s, now=now)
    finally:
        sink.close()
    return (
        f"{len(stations)} air stations with {points} hourly values, {len(found)} QCVN 05 "
        f"exceedance(s); {len(WASTEWATER)} wastewater stations, {files} files received, "
        f"{len(gaps)} open gap(s)"
    )


def _air_input(station: SimStation) -> AirStationInput:
    district, _, park = station.area.partition(" – ")
    return AirStationInput(
        code=station.code,
        name=station.name,
        latitude=station.lat,
        longitude=station.lon,
        district=district,
        park=park,
        operator=OPERATOR,
        kind=station.kind,
        parameters=station.parameters,
    )


def _wastewater_input(ww: DemoWastewater) -> MonitoringStationInput:
    return MonitoringStationInput(
        code=ww.code, site=ww.site, kind="wastewater", column="B", kq=ww.kq, kf=ww.kf
    )


def write_air_history(
    sink: TelemetryService, stations: tuple[SimStation, ...], *, end: datetime
) -> int:
    """Simulated hourly means of the `HISTORY_HOURS` before `end`, one point per hour start."""
    sim = simulate_air(len(stations), end - HISTORY_HOURS * HOUR, HISTORY_HOURS, SEED)
    release = {end - (RELEASE_HOURS_AGO - k) * HOUR: value for k, value in enumerate(RELEASE_SO2)}
    accepted = 0
    for station in stations:
        points = [
            RawPoint(p, hour.start, value)
            for hour in sim.hours_for(station.code)
            for p in station.parameters
            if (value := _value(station.code, p, hour.start, hour.get(p), release)) is not None
        ]
        accepted += sink.ingest(station.code, points, source=SOURCE).accepted
    return accepted


def _value(
    code: str, pollutant: str, at: datetime, value: float | None, release: dict[datetime, float]
) -> float | None:
    if code == RELEASE_STATION and pollutant == "so2" and at in release:
        return release[at]
    return value


# -- wastewater files -----------------------------------------------------------------------


def effluent_readings(
    ww: DemoWastewater, at: datetime, rng: random.Random, now: datetime
) -> list[FeedReading]:
    """One cycle of readings: steady treated effluent, a COD exceedance hour, a calibration."""
    local = at.astimezone(ICT)
    exceeding = ww.exceedance_hours_ago is not None and floor_hour(at) == floor_hour(
        now - ww.exceedance_hours_ago * HOUR
    )
    readings = []
    for symbol, unit, mean, spread in EFFLUENT:
        value: float | None = round(max(0.0, rng.gauss(mean, spread / 2)), 2)
        status = "00"
        if symbol == "COD" and exceeding:
            value = round(rng.uniform(185.0, 230.0), 2)  # a treatment upset
        if symbol == "pH" and local.hour == 2 and local.minute < 15:
            status = "01"  # daily calibration: kept, not counted
        if symbol == "TSS" and local.hour == 4 and local.minute == 0:
            value, status = None, "02"  # analyser fault, written as ---
        readings.append(FeedReading(symbol, value, unit, at, status))
    return readings


def wastewater_files(
    ww: DemoWastewater, *, start: datetime, end: datetime, now: datetime, seed: int = SEED
) -> Iterator[tuple[str, bytes]]:
    """(relative path `yyyy/MM/dd/name`, body) of each 5-minute file in [start, end).

    Layouts vary as real senders do: CRLF or LF, some with a BOM, some on one line.
    """
    rng = random.Random(f"{seed}:{ww.code}:{start.isoformat()}")
    province, facility, station = ww.code.split("_")
    gap = None if ww.gap_hours_ago is None else floor_hour(now - ww.gap_hours_ago * HOUR)
    at, k = start, 0
    while at < end:
        if gap is None or not gap <= at < gap + timedelta(minutes=40):
            body = write_feed(
                effluent_readings(ww, at, rng, now),
                layout="single_line" if k % 7 == 3 else "lines",
                newline="\n" if k % 2 else "\r\n",
                bom=k % 5 == 0,
            )
            local = at.astimezone(ICT)
            name = feed_file_name(province, facility, station, at)
            yield f"{local:%Y}/{local:%m}/{local:%d}/{name}", body
        at, k = at + FILE_STEP, k + 1


def last_cycle(now: datetime) -> datetime:
    """The latest 5-minute boundary at or before `now`."""
    local = now.astimezone(ICT)
    return local.replace(minute=local.minute - local.minute % 5, second=0, microsecond=0)


def inbox_folder(settings: Settings) -> Path:
    """Where the demo's monitoring files arrive (`<data dir>/monitoring/inbox`)."""
    return settings.data_dir / "monitoring" / "inbox"


def receive_day(settings: Settings, sink: TelemetryService, *, now: datetime) -> int:
    """Write the last 24 h of files of each demo station into the inbox, then receive them."""
    inbox = inbox_folder(settings)
    end = last_cycle(now) + FILE_STEP
    for ww in WASTEWATER:
        for relative, body in wastewater_files(
            ww, start=end - timedelta(hours=24), end=end, now=now
        ):
            _drop(inbox, relative, body)
    watcher = receiver.Receiver(inbox, sink.sessions, sink, settle_s=0.0, checks=())
    return sum(1 for o in watcher.drain(timeout_s=600) if o.status == "processed")


def _drop(inbox: Path, relative: str, body: bytes) -> None:
    path = inbox / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


# -- streaming while the demo serves --------------------------------------------------------


def start_streaming(settings: Settings, stop: threading.Event) -> list[threading.Thread]:
    """A daemon thread that keeps the demo stations reporting until `stop` is set.

    Every minute each air station gets a point (its simulated mean for the hour), every five
    minutes each wastewater station drops a file into the inbox, which is then received.
    """
    thread = threading.Thread(
        target=_stream, args=(settings, stop), name="lhos-sim-environment", daemon=True
    )
    thread.start()
    return [thread]


def _stream(settings: Settings, stop: threading.Event) -> None:
    try:
        sink = build_sink(settings)
    except Exception:  # the demo still serves without live environment data
        log.exception("environment demo stream could not start")
        return

    def air_check(session: Session, now: datetime) -> None:
        service.refresh_air_exceedances(session, sink.store, now=now)

    checks = ((60.0, receiver.gap_check), (600.0, air_check))
    watcher = receiver.Receiver(
        inbox_folder(settings), sink.sessions, sink, settle_s=0.0, checks=checks
    )
    stations = stations_for(AIR_STATIONS)
    last_file = last_cycle(utcnow())
    try:
        while not stop.wait(60.0):
            now = utcnow()
            _stream_air(sink, stations, now)
            if last_cycle(now) > last_file:
                last_file = last_cycle(now)
                for ww in WASTEWATER:
                    for relative, body in wastewater_files(
                        ww, start=last_file, end=last_file + FILE_STEP, now=now
                    ):
                        _drop(watcher.inbox, relative, body)
                watcher.poll()
                watcher.periodic()
    except Exception:  # a daemon must not die silently: log once and stop streaming
        log.exception("the environment demo stream stopped")
    finally:
        sink.close()


def _stream_air(sink: TelemetryService, stations: tuple[SimStation, ...], now: datetime) -> None:
    hour = floor_hour(now)
    sim = simulate_air(len(stations), hour - 23 * HOUR, 24, SEED)
    for station in stations:
        latest = sim.hours_for(station.code)[-1]
        points = [
            RawPoint(p, now, value)
            for p in station.parameters
            if (value := latest.get(p)) is not None
        ]
        sink.ingest(station.code, points, source=SOURCE)
