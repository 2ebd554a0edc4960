"""Environment use cases: air stations, VN_AQI from the store, QCVN 05 findings, the views.

Air stations are sites of a program whose tags are the six VN_AQI pollutants (µg/m³), so their
readings arrive through MQTT, HTTP or CSV like any telemetry. Indices and exceedances are
computed with the pure cores (`aqi`, `qcvn`) from hourly means the store aggregates
(`every=1h, fn=avg`). Monitoring stations (Circular 10/2021) live in `monitoring.py`; this
module also gathers what the city page and a site's monitoring page show.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.assets import service as assets
from lighthouse_os.assets.bulk import Row
from lighthouse_os.assets.models import Tag
from lighthouse_os.auth.models import Organisation, Site
from lighthouse_os.auth.policy import OrgKind, Principal, Role
from lighthouse_os.auth.tenants import SiteInput, create_site, get_org
from lighthouse_os.environment import qcvn, receiver, standards
from lighthouse_os.environment.aqi import AqiResult, vn_hourly_aqi
from lighthouse_os.environment.averaging import HOUR, ICT, HourlyMeans, index_hours
from lighthouse_os.environment.models import (
    AirExceedance,
    AirStation,
    aware,
    utc,
)
from lighthouse_os.environment.monitoring import (
    floor_hour,
    monitoring_stations,
    program_site_ids,
)
from lighthouse_os.environment.scale import POLLUTANTS, Pollutant
from lighthouse_os.environment.schemas import AirStationInput
from lighthouse_os.errors import Conflict, InvalidInput, NotFound
from lighthouse_os.telemetry.store import TimeSeriesStore

AIR_UNIT = "ug/m3"  # UCUM for µg/m³, the unit of every VN_AQI input (CO too)
HISTORY_HOURS = 24
STALE_AFTER = timedelta(hours=3)  # a "current" AQI older than this is shown as out of date
POLLUTANT_NAMES = {
    "pm25": ("PM2.5", "Bụi mịn PM2.5", "Fine particles PM2.5"),
    "pm10": ("PM10", "Bụi PM10", "Particles PM10"),
    "o3": ("O₃", "Ozone", "Ozone"),
    "no2": ("NO₂", "Nitơ đioxit", "Nitrogen dioxide"),
    "so2": ("SO₂", "Lưu huỳnh đioxit", "Sulphur dioxide"),
    "co": ("CO", "Cacbon monoxit", "Carbon monoxide"),
}


# -- air stations ---------------------------------------------------------------------------


def add_air_station(
    session: Session, *, program_ref: int | str, data: AirStationInput
) -> AirStation:
    """Create the station's site in the program, one µg/m³ gauge tag per pollutant, the station.

    The site and its tags are created through the auth and assets services, each of which
    commits; the station row is committed last, so a failure leaves at most an unused site.
    """
    program = get_org(session, program_ref)
    if program.kind != OrgKind.PROGRAM:
        raise InvalidInput(f"{program.code!r} is not a program", fields={"program": "kind"})
    if session.scalar(select(AirStation.id).where(AirStation.code == data.code)):
        raise Conflict(f"air station {data.code!r} already exists")
    site = _station_site(session, program, data)
    report = assets.import_assets(session, site, _pollutant_rows(data.parameters))
    if report.problems:
        problems = {p.field: p.message for p in report.problems}
        raise InvalidInput("the station's tags are not valid", fields=problems)
    station = AirStation(
        site_id=site.id,
        program_id=program.id,
        code=data.code,
        kind=data.kind,
        operator=data.operator,
        parameters=list(data.parameters),
    )
    session.add(station)
    session.commit()
    return station


def _station_site(session: Session, program: Organisation, data: AirStationInput) -> Site:
    existing = session.scalar(select(Site).where(Site.code == data.code))
    if existing is not None and existing.org_id == program.id:
        return existing  # a retry after a failed first attempt
    site_input = SiteInput(
        name=data.name,
        sector="",
        park=data.park,
        district=data.district,
        latitude=data.latitude,
        longitude=data.longitude,
        code=data.code,
    )
    return create_site(session, org_ref=program.id, data=site_input)


def _pollutant_rows(parameters: Sequence[Pollutant]) -> list[Row]:
    return [
        Row(
            f"tags[{i}]",
            "tag",
            {
                "path": p,
                "unit": AIR_UNIT,
                "kind": "gauge",
                "description_vi": f"{POLLUTANT_NAMES[p][1]}, trung bình theo thời gian đo",
                "description_en": f"{POLLUTANT_NAMES[p][2]}, measured concentration",
            },
        )
        for i, p in enumerate(parameters)
    ]


def air_stations(session: Session, program_id: int | None = None) -> list[tuple[AirStation, Site]]:
    """Air stations with their sites, by code; of one program or of every program."""
    query = select(AirStation, Site).join(Site, Site.id == AirStation.site_id)
    if program_id is not None:
        query = query.where(AirStation.program_id == program_id)
    return [(a, s) for a, s in session.execute(query.order_by(AirStation.code))]


def get_air_station(session: Session, code: str) -> tuple[AirStation, Site]:
    """One air station and its site by station code."""
    found = session.execute(
        select(AirStation, Site)
        .join(Site, Site.id == AirStation.site_id)
        .where(AirStation.code == code)
    ).first()
    if found is None:
        raise NotFound(f"air station {code!r} not found")
    return found[0], found[1]


# -- hourly means and the AQI ---------------------------------------------------------------


def hourly_means(
    session: Session, store: TimeSeriesStore, site: Site, start: datetime, end: datetime
) -> list[HourlyMeans]:
    """Hourly means (µg/m³) of one site's pollutant tags over [start, end), from the store."""
    return hourly_means_of(session, store, [site], start, end).get(site.id, [])


def hourly_means_of(
    session: Session, store: TimeSeriesStore, sites: Sequence[Site], start: datetime, end: datetime
) -> dict[int, list[HourlyMeans]]:
    """Hourly means of several sites' pollutant tags, one store query per time zone.

    A negative or non-finite mean (analyser drift below zero) counts as missing: the VN_AQI
    cores accept only concentrations ≥ 0.
    """
    tags = {
        t.id: (t.site_id, t.path)
        for t in session.scalars(
            select(Tag).where(Tag.site_id.in_([s.id for s in sites]), Tag.path.in_(POLLUTANTS))
        )
    }
    hours: dict[int, dict[datetime, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for zone in {s.timezone for s in sites}:
        zone_sites = {s.id for s in sites if s.timezone == zone}
        ids = [tag_id for tag_id, (site_id, _) in tags.items() if site_id in zone_sites]
        table = store.aggregate(ids, start, end, "1h", "avg", tz=zone) if ids else None
        for series_id, bucket, value in _rows(table):
            site_id, path = tags[series_id]
            if math.isfinite(value) and value >= 0:
                hours[site_id][bucket.astimezone(ICT)][path] = value
    return {
        site_id: [_means(at, values) for at, values in sorted(found.items())]
        for site_id, found in hours.items()
    }


def _rows(table: pa.Table | None) -> Iterable[tuple[int, datetime, float]]:
    if table is None:
        return []
    return zip(
        table.column("series_id").to_pylist(),
        table.column("bucket_start").to_pylist(),
        table.column("value").to_pylist(),
        strict=True,
    )


def _means(start: datetime, values: dict[str, float]) -> HourlyMeans:
    get = values.get
    return HourlyMeans(
        start, pm25=get("pm25"), pm10=get("pm10"), o3=get("o3"),
        no2=get("no2"), so2=get("so2"), co=get("co"),
    )  # fmt: skip


@dataclass(frozen=True)
class StationAir:
    """A station now: its current hourly AQI (None when none can be computed) and last 24 h."""

    station: AirStation
    site: Site
    current: AqiResult | None
    history: tuple[AqiResult, ...]
    hours: tuple[HourlyMeans, ...]
    stale: bool

    def hour(self, start: datetime) -> HourlyMeans | None:
        """The hourly means of the hour starting at `start`, if any."""
        return next((h for h in self.hours if h.start == start), None)


def station_air(
    session: Session, store: TimeSeriesStore, station: AirStation, site: Site, *, now: datetime
) -> StationAir:
    """Hourly VN_AQI of the last 24 complete hours and the latest hour holding data.

    Only complete hours count (the hour in progress is left out); the 11 hours before the
    window are read too, because the PM NowCast looks back 12 hours.
    """
    end = floor_hour(now)
    means = hourly_means(session, store, site, end - (HISTORY_HOURS + 11) * HOUR, end)
    return _station_air(station, site, means, end)


def _station_air(
    station: AirStation, site: Site, means: list[HourlyMeans], end: datetime
) -> StationAir:
    series = index_hours(means)
    method = standards.vn_aqi_method()
    window = [end - k * HOUR for k in range(HISTORY_HOURS, 0, -1)]
    history = tuple(vn_hourly_aqi(method, series, at) for at in window if at in series)
    current = next((r for r in reversed(history) if r.aqi is not None), None)
    stale = current is None or end - current.start > STALE_AFTER
    recent = tuple(h for h in means if h.start >= window[0])
    return StationAir(station, site, current, history, recent, stale)


def city_air(
    session: Session, store: TimeSeriesStore, *, now: datetime, program_id: int | None = None
) -> list[StationAir]:
    """Every station's current AQI and last 24 h (of one program, or all for the public)."""
    end = floor_hour(now)
    pairs = air_stations(session, program_id)
    start = end - (HISTORY_HOURS + 11) * HOUR
    means = hourly_means_of(session, store, [site for _, site in pairs], start, end)
    return [_station_air(st, site, means.get(site.id, []), end) for st, site in pairs]


# -- QCVN 05:2023 exceedances ---------------------------------------------------------------


def refresh_air_exceedances(
    session: Session,
    store: TimeSeriesStore,
    *,
    now: datetime,
    program_id: int | None = None,
    lookback: timedelta = timedelta(days=3),
) -> list[AirExceedance]:
    """Compare every station's hourly means with QCVN 05:2023 (1 h, 8 h, 24 h, year); persist.

    Reads from the start of the current year (for the annual mean) or `lookback`, whichever is
    earlier, up to the last complete hour. A period already stored is updated (a growing
    8-hour run, a day still filling in); the new ones are returned, for alerting.
    """
    end = floor_hour(now)
    year_start = end.replace(month=1, day=1, hour=0)
    start = min(year_start, end - lookback)
    limits = standards.qcvn05_limits()
    new: list[AirExceedance] = []
    pairs = air_stations(session, program_id)
    means = hourly_means_of(session, store, [site for _, site in pairs], start, end)
    for station, site in pairs:
        found = qcvn.station_exceedances(means.get(site.id, []), limits)
        new += _upsert_air(session, station, found, start)
    session.commit()
    return new


def _upsert_air(
    session: Session, station: AirStation, found: Iterable[qcvn.Exceedance], since: datetime
) -> list[AirExceedance]:
    stored = {
        (e.parameter, e.averaging, aware(e.period_start)): e
        for e in session.scalars(
            select(AirExceedance).where(
                AirExceedance.station_id == station.id, AirExceedance.period_start >= utc(since)
            )
        )
    }
    new = []
    for exc in found:
        row = stored.get((exc.parameter, exc.averaging, exc.start))
        if row is None:
            row = AirExceedance(station_id=station.id, parameter=exc.parameter)
            row.averaging, row.period_start = exc.averaging, utc(exc.start)
            session.add(row)
            new.append(row)
        row.period_end, row.value, row.windows = utc(exc.end), exc.value, exc.windows
        row.limit_value, row.unit, row.limit_source = exc.limit, exc.unit, exc.limit_source
    session.flush()
    return new


def exceedance_dict(exc: AirExceedance) -> dict[str, object]:
    """An air exceedance for JSON output (times in UTC, ISO 8601)."""
    return {
        "station_id": exc.station_id, "parameter": exc.parameter, "averaging": exc.averaging,
        "start": aware(exc.period_start).isoformat(), "end": aware(exc.period_end).isoformat(),
        "value": exc.value, "limit": exc.limit_value, "unit": exc.unit, "source": exc.limit_source,
    }  # fmt: skip


def air_exceedances(
    session: Session,
    *,
    program_id: int | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[tuple[AirExceedance, AirStation]]:
    """Stored air exceedances, newest period first."""
    query = select(AirExceedance, AirStation).join(
        AirStation, AirStation.id == AirExceedance.station_id
    )
    if program_id is not None:
        query = query.where(AirStation.program_id == program_id)
    if since is not None:
        query = query.where(AirExceedance.period_start >= utc(since))
    query = query.order_by(AirExceedance.period_start.desc(), AirExceedance.id.desc()).limit(limit)
    return [(e, s) for e, s in session.execute(query)]


# -- views: the city page and a site's own monitoring ---------------------------------------


def default_program(session: Session, principal: Principal) -> int | str:
    """The program a caller's environment page opens on: theirs, or the first for admins.

    Only a default; `auth.service.authorize_org` still decides whether the caller may read it.
    """
    mine = [g.org_id for g in principal.grants if g.role is Role.PROGRAM_ADMIN]
    if mine:
        return mine[0]
    first = session.scalar(
        select(Organisation.id)
        .where(Organisation.kind == OrgKind.PROGRAM)
        .order_by(Organisation.code)
    )
    if first is None or not principal.is_platform_admin:
        raise NotFound("no program to show")
    return first


@dataclass(frozen=True)
class CityOverview:
    """What the city environment page shows for one program."""

    program: Organisation
    air: list[StationAir]
    exceedances: list[tuple[AirExceedance, AirStation]]
    monitoring: list[receiver.StationHealth]


def city_overview(
    session: Session, store: TimeSeriesStore, program: Organisation, *, now: datetime
) -> CityOverview:
    """Air stations now and over 24 h, recent QCVN 05 exceedances, monitoring station health."""
    air = city_air(session, store, now=now, program_id=program.id)
    found = air_exceedances(session, program_id=program.id, since=now - timedelta(days=7))
    sites = program_site_ids(session, program.id)
    health = [
        receiver.station_health(session, m, s, now=now)
        for m, s in monitoring_stations(session, sites)
    ]
    return CityOverview(program, air, found, health)
