"""Continuous-monitoring stations (Circular 10/2021): registry, and receiving one file.

`receive_file` is the one use case behind the inbox watcher, the embedded FTP server and
`lhos monitoring import`: parse (tolerantly, `feed.parse_feed`), keep every reading with its
status in the relational store, write numeric status-00 values to the time-series store through
the telemetry sink (for charts), and compare hourly means with QCVN 40/19 (`compliance`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lighthouse_os.assets import service as assets
from lighthouse_os.assets.bulk import Row
from lighthouse_os.auth.models import Enrolment, Site
from lighthouse_os.auth.policy import Consent
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.environment import standards
from lighthouse_os.environment.averaging import HOUR, ICT
from lighthouse_os.environment.compliance import (
    MEASURING,
    AllowedRange,
    Medium,
    StandardChoice,
    WindowResult,
    allowed_limits,
    assess,
    select_standard,
)
from lighthouse_os.environment.feed import FeedFile, FeedReading, normalise_symbol, parse_feed
from lighthouse_os.environment.models import (
    MonitoringExceedance,
    MonitoringFile,
    MonitoringReading,
    MonitoringStation,
    aware,
    utc,
)
from lighthouse_os.environment.schemas import MONITORING_CODE, MonitoringStationInput
from lighthouse_os.errors import InvalidInput, LhosError, NotFound
from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.service import TelemetryService

log = logging.getLogger(__name__)

SOURCE = "monitoring-feed"
# Feed unit (lower case) → UCUM unit of the chart tag; pH's "-" is special-cased.
FEED_TO_UCUM = {
    "m3/h": "m3/h", "m3/s": "m3/s", "oc": "Cel", "°c": "Cel", "mg/l": "mg/L",
    "mg/nm3": "mg/m3{Nm3}", "mg/m3": "mg/m3", "%": "%", "pt-co": "{Pt-Co}", "ntu": "{NTU}",
}  # fmt: skip
_KEY = re.compile(r"[^A-Za-z0-9_.-]")

MESSAGES: dict[str, tuple[str, str]] = {
    "unregistered_station": (
        "No station is registered under this code; the file was read but nothing was stored.",
        "Trạm chưa được đăng ký; tệp đã được đọc nhưng không lưu số liệu.",
    ),
    "duplicate_file": (
        "This file was received before; its readings were not stored again.",
        "Tệp này đã được nhận trước đó; số liệu không được lưu lại lần nữa.",
    ),
}


def floor_hour(moment: datetime) -> datetime:
    """Start of the hour holding `moment` (Vietnam has whole-hour offsets only)."""
    return moment.astimezone(ICT).replace(minute=0, second=0, microsecond=0)


# -- registry --------------------------------------------------------------------


def register_monitoring_station(
    session: Session, data: MonitoringStationInput
) -> MonitoringStation:
    """Register (or update) a station so the receiver stores its files; one commit."""
    site = get_site(session, data.site)
    match = MONITORING_CODE.match(data.code)
    if match is None:  # the schema already checked it; kept for mypy and direct callers
        raise InvalidInput(f"bad station code {data.code!r}", fields={"code": "format"})
    station = find_monitoring_station(session, data.code) or MonitoringStation(code=data.code)
    station.province, station.facility = match["province"], match["facility"]
    station.station, station.kind, station.site_id = match["station"].upper(), data.kind, site.id
    station.limit_column, station.interval_s = data.column, data.interval_s
    station.kq, station.kf, station.kp, station.kv = data.kq, data.kf, data.kp, data.kv
    station.tag_map = dict(data.tag_map)
    session.add(station)
    session.commit()
    return station


def find_monitoring_station(session: Session, code: str) -> MonitoringStation | None:
    """The station `<Province>_<Facility>_<Station>` (case-insensitive), None if unregistered."""
    query = select(MonitoringStation).where(func.upper(MonitoringStation.code) == code.upper())
    return session.scalar(query)


def station_and_site(session: Session, code: str) -> tuple[MonitoringStation, Site]:
    """A registered station and its site; NotFound when the code is not registered."""
    station = find_monitoring_station(session, code)
    site = session.get(Site, station.site_id) if station else None
    if station is None or site is None:
        raise NotFound(f"monitoring station {code!r} is not registered")
    return station, site


def station_dict(station: MonitoringStation) -> dict[str, Any]:
    """A station for JSON output."""
    return {
        "code": station.code, "kind": station.kind, "column": station.limit_column,
        "kq": station.kq, "kf": station.kf, "kp": station.kp, "kv": station.kv,
        "interval_s": station.interval_s, "tag_map": dict(station.tag_map or {}),
    }  # fmt: skip


def monitoring_stations(
    session: Session, site_ids: Sequence[int] | None = None
) -> list[tuple[MonitoringStation, Site]]:
    """Registered stations with their sites (of the given sites, or all), by code."""
    query = select(MonitoringStation, Site).join(Site, Site.id == MonitoringStation.site_id)
    if site_ids is not None:
        query = query.where(MonitoringStation.site_id.in_(list(site_ids)))
    return [(m, s) for m, s in session.execute(query.order_by(MonitoringStation.code))]


def program_site_ids(session: Session, program_id: int) -> list[int]:
    """Sites a program may see in detail: its own and those enrolled with consent `details`."""
    own = select(Site.id).where(Site.org_id == program_id)
    enrolled = select(Enrolment.site_id).where(
        Enrolment.program_id == program_id, Enrolment.consent == Consent.DETAILS.value
    )
    return sorted(set(session.scalars(own)) | set(session.scalars(enrolled)))


def station_code(feed: FeedFile) -> str:
    """`<Province>_<Facility>_<Station>` of a parsed file, as stations are registered."""
    st = feed.station
    return f"{st.province}_{st.facility}_{st.station}"


def problem(code: str, text: str | None = None) -> dict[str, Any]:
    """A receiver problem in the parser's JSON shape (`feed.FeedProblem.to_json_dict`)."""
    en, vi = MESSAGES[code]
    return {
        "code": code, "line": None, "group": None, "field": None, "text": text,
        "message": en, "message_vi": vi,
    }  # fmt: skip


@dataclass(frozen=True)
class Received:
    """What became of one parsed file."""

    feed: FeedFile
    station: MonitoringStation | None
    stored: int = 0
    repeated: int = 0
    points: int = 0
    exceeded_windows: int = 0
    duplicate_file: bool = False
    extra_problems: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_json_dict(self) -> dict[str, Any]:
        """The import JSON: `{file, station, readings, problems}` plus what was stored."""
        out = self.feed.to_json_dict()
        out["problems"] = [*out["problems"], *self.extra_problems]
        out["stored"] = {
            "registered": self.station is not None,
            "readings": self.stored,
            "repeated": self.repeated,
            "points": self.points,
            "exceeded_windows": self.exceeded_windows,
        }
        return out


class ChartBuffer:
    """Chart points of several files, written to the store in one batch per site.

    Each store write refreshes its rollups, which costs far more than the few points of one
    file, so a poll of many files (or a bulk import) writes once (measured: 44 of the 60 ms a
    file took went to the write).
    """

    def __init__(self) -> None:
        self.points: dict[str, list[RawPoint]] = {}

    def add(self, site: str, points: Sequence[RawPoint]) -> int:
        """Queue points for `site`; returns how many."""
        self.points.setdefault(site, []).extend(points)
        return len(points)

    def flush(self, sink: TelemetryService) -> int:
        """Write every queued point; a store failure is logged (the readings are kept)."""
        accepted = 0
        for site, points in self.points.items():
            try:
                accepted += sink.ingest(site, points, source=SOURCE).accepted
            except LhosError as err:  # the store is down: only the chart lags
                log.warning("chart points of %s not stored: %s", site, err.message)
        self.points.clear()
        return accepted


def receive_file(
    session: Session,
    sink: TelemetryService,
    name: str,
    data: bytes,
    *,
    now: datetime,
    charts: ChartBuffer | None = None,
) -> Received:
    """Parse, store and judge one file (`name` may carry /yyyy/MM/dd/ folders).

    Raises `FeedError` when the file cannot be used at all; the caller dead-letters it.
    A file from an unregistered station is parsed and returned with a problem saying so.
    Chart points are written at once, or queued in `charts` for the caller to flush.
    """
    feed = parse_feed(data, name)
    code = station_code(feed)
    station = find_monitoring_station(session, code)
    if station is None:
        return Received(feed, None, extra_problems=(problem("unregistered_station", code),))
    file_row = session.scalar(
        select(MonitoringFile).where(
            MonitoringFile.station_id == station.id, MonitoringFile.file_name == feed.file
        )
    )
    if file_row is not None:
        return Received(
            feed, station, duplicate_file=True, extra_problems=(problem("duplicate_file"),)
        )
    stored, repeated = _store_readings(session, station, feed, now)
    session.commit()
    site = session.get(Site, station.site_id)
    buffer = charts or ChartBuffer()
    points = _chart_points(session, buffer, station, site, feed.readings) if site else 0
    if charts is None:
        points = buffer.flush(sink)
    exceeded = judge(session, station, [r.time for r in feed.readings])
    return Received(feed, station, stored, repeated, points, exceeded)


def _store_readings(
    session: Session, station: MonitoringStation, feed: FeedFile, now: datetime
) -> tuple[int, int]:
    times = [r.time for r in feed.readings]
    known = {
        (aware(t), s)
        for t, s in session.execute(
            select(MonitoringReading.time, MonitoringReading.symbol).where(
                MonitoringReading.station_id == station.id,
                MonitoringReading.time >= utc(min(times)),
                MonitoringReading.time <= utc(max(times)),
            )
        )
    }
    file_row = MonitoringFile(
        station_id=station.id,
        file_name=feed.file,
        file_time=utc(feed.station.time),
        received_at=utc(now),
        readings=len(feed.readings),
        problems=[p.to_json_dict() for p in feed.problems],
    )
    session.add(file_row)
    session.flush()
    stored = 0
    for r in feed.readings:
        if (r.time, r.symbol) in known:
            continue  # the same reading repeated in another file keeps its first value
        known.add((r.time, r.symbol))
        session.add(
            MonitoringReading(
                station_id=station.id, file_id=file_row.id, symbol=r.symbol[:20], value=r.value,
                unit=r.unit[:20], time=utc(r.time), status=r.status[:4],
            )
        )  # fmt: skip
        stored += 1
    return stored, len(feed.readings) - stored


# -- charts: numeric status-00 values into the time-series store ----------------------------


def tag_key(symbol: str) -> str:
    """The tag key of a feed symbol: `PM2,5` → `pm2.5`, `NH4+` → `nh4_`."""
    return _KEY.sub("_", normalise_symbol(symbol).lower()).lstrip("_.-") or "x"


def chart_unit(symbol: str, unit: str) -> str | None:
    """The UCUM unit of a feed unit, None when we have none (the value is not charted)."""
    if unit.strip() == "-":
        return "[pH]" if normalise_symbol(symbol).lower() == "ph" else "1"
    return FEED_TO_UCUM.get(unit.strip().lower())


def station_node(station: MonitoringStation) -> str:
    """Asset path of the station's machine node: `monitoring/<station code, lower case>`."""
    return f"monitoring/{station.station.lower()}"


def _chart_points(
    session: Session,
    charts: ChartBuffer,
    station: MonitoringStation,
    site: Site,
    readings: Sequence[FeedReading],
) -> int:
    counted = [
        (r, unit)
        for r in readings
        if r.status == MEASURING and r.value is not None
        if (unit := chart_unit(r.symbol, r.unit)) is not None
    ]
    if not counted:
        return 0
    node = station_node(station)
    _ensure_tags(session, station, site, {(tag_key(r.symbol), u) for r, u in counted})
    points = [
        RawPoint(f"{node}/{tag_key(r.symbol)}", r.time, {"value": r.value, "unit": u})
        for r, u in counted
    ]
    return charts.add(site.code, points)


def _ensure_tags(
    session: Session, station: MonitoringStation, site: Site, wanted: set[tuple[str, str]]
) -> None:
    node = station_node(station)
    have = {t.path for t in assets.tags_of_site(session, site.id)}
    missing = sorted((k, u) for k, u in wanted if f"{node}/{k}" not in have)
    if not missing:
        return
    asset_type = "cems-water" if station.kind == "wastewater" else "cems-stack"
    rows = [
        Row("monitoring", "node", {"path": "monitoring", "level": "area",
            "name_vi": "Quan trắc tự động", "name_en": "Automatic monitoring"}),
        Row(station.code, "node", {"path": node, "level": "machine", "asset_type": asset_type,
            "name_vi": f"Trạm {station.code}", "name_en": f"Station {station.code}"}),
    ]  # fmt: skip
    rows += [
        Row(key, "tag", {"path": f"{node}/{key}", "unit": unit, "kind": "gauge"})
        for key, unit in missing
    ]
    report = assets.import_assets(session, site, rows)
    if report.problems:  # e.g. a site already using `monitoring` as a tag: values stay unchartered
        log.warning("cannot create chart tags for %s: %s", station.code, report.problems[0])


# -- compliance: QCVN 40:2011 (water) and QCVN 19:2009 (stack) ------------------------------


def medium_of(station: MonitoringStation) -> Medium:
    """`water` for a wastewater station, `stack` for a stack station."""
    return "water" if station.kind == "wastewater" else "stack"


def factor_of(station: MonitoringStation) -> float:
    """Kq × Kf (water) or Kp × Kv (stack); a coefficient not set counts as 1."""
    pair = (station.kq, station.kf) if station.kind == "wastewater" else (station.kp, station.kv)
    return (pair[0] or 1.0) * (pair[1] or 1.0)


def judge(session: Session, station: MonitoringStation, times: Sequence[datetime]) -> int:
    """Re-assess the hourly windows `times` fall in; keep exceeded windows, drop recovered ones.

    Returns how many of those windows now exceed. One commit.
    """
    if not times:
        return 0
    first = floor_hour(min(times))
    end = floor_hour(max(times)) + HOUR
    found = station_limits(station, first.date())
    if found is None:
        return 0
    report = assess(stored_readings(session, station, first, end), found[1], medium_of(station))
    exceeded = _save_windows(session, station, report.windows)
    session.commit()
    return exceeded


def limit_column(station: MonitoringStation) -> str:
    """The column of the limit table the station is judged by (stacks: always B)."""
    return station.limit_column if station.kind == "wastewater" else "B"


def station_limits(
    station: MonitoringStation, day: date
) -> tuple[StandardChoice, dict[str, AllowedRange]] | None:
    """The standard in force on `day` for the station's medium, and its allowed ranges after the
    station's coefficients; None when no standard applies. (The alerts feature judges with it.)"""
    choice = select_standard(standards.effluent_standards(), medium_of(station), day)
    if choice is None:
        return None
    return choice, allowed_limits(choice, limit_column(station), factor_of(station))


def stored_readings(
    session: Session, station: MonitoringStation, start: datetime, end: datetime
) -> list[FeedReading]:
    """The station's stored readings with times in [start, end), as the parser returned them."""
    rows = session.scalars(
        select(MonitoringReading).where(
            MonitoringReading.station_id == station.id,
            MonitoringReading.time >= utc(start),
            MonitoringReading.time < utc(end),
        )
    )
    return [
        FeedReading(r.symbol, r.value, r.unit, aware(r.time).astimezone(ICT), r.status)
        for r in rows
    ]


def _save_windows(
    session: Session, station: MonitoringStation, windows: Sequence[WindowResult]
) -> int:
    exceeded = 0
    for w in windows:
        row = session.scalar(
            select(MonitoringExceedance).where(
                MonitoringExceedance.station_id == station.id,
                MonitoringExceedance.parameter == w.parameter,
                MonitoringExceedance.window_start == utc(w.start),
            )
        )
        if not w.exceeded:
            if row is not None:
                session.delete(row)  # more data brought the mean back within the limit
            continue
        exceeded += 1
        row = row or MonitoringExceedance(station_id=station.id, parameter=w.parameter)
        row.window_start, row.window_end = utc(w.start), utc(w.end)
        row.mean, row.samples, row.unit = w.mean, w.samples, w.unit
        row.low, row.high, row.limit_source = w.low, w.high, w.limit_source[:200]
        session.add(row)
    return exceeded
