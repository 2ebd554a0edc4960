"""Open air-quality data as FIWARE AirQualityObserved: CSV, Parquet and NGSI-LD JSON.

One observation per station and hour: the hourly means (µg/m³) and that hour's VN_AQI. The
attributes follow the Smart Data Model `dataModel.Environment/AirQualityObserved`: id, type,
dateObserved (the start of the averaging hour, Vietnam time), location (GeoJSON point,
longitude first), pm25, pm10, no2, o3, so2, co, airQualityIndex, airQualityLevel (the VN_AQI
band key) and reliability (the share of the station's parameters with a value that hour).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from lighthouse_os.auth.models import Site
from lighthouse_os.environment import service, standards
from lighthouse_os.environment.aqi import vn_hourly_aqi
from lighthouse_os.environment.averaging import HOUR, HourlyMeans, index_hours
from lighthouse_os.environment.models import AirStation
from lighthouse_os.environment.monitoring import floor_hour
from lighthouse_os.environment.scale import POLLUTANTS
from lighthouse_os.telemetry.store import TimeSeriesStore

Format = Literal["csv", "parquet", "ngsi-ld"]
ENTITY_TYPE = "AirQualityObserved"
NGSI_LD_CONTEXT = [
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld",
]
UNIT_CODE = "GQ"  # UN/CEFACT common code: microgram per cubic metre
COLUMNS = (
    "id", "type", "stationCode", "name", "dateObserved", "latitude", "longitude",
    *POLLUTANTS, "airQualityIndex", "airQualityLevel", "reliability",
)  # fmt: skip


@dataclass(frozen=True)
class AirObservation:
    """One station hour: where, when, the means (µg/m³, None = missing) and the VN_AQI."""

    station: str
    name: str
    latitude: float | None
    longitude: float | None
    operator: str
    start: datetime
    values: dict[str, float | None]
    aqi: int | None
    level: str | None
    reliability: float

    @property
    def entity_id(self) -> str:
        """`urn:ngsi-ld:AirQualityObserved:<station>:<hour in UTC>`, unique per station hour."""
        return f"urn:ngsi-ld:{ENTITY_TYPE}:{self.station}:{self.start.astimezone(UTC):%Y%m%dT%H%MZ}"


def observation(
    station: AirStation, site: Site, hour: HourlyMeans, aqi: int | None, level: str | None
) -> AirObservation:
    """The observation of one hour of a station."""
    measured = station.parameters or list(POLLUTANTS)
    values: dict[str, float | None] = {p: hour.get(p) for p in POLLUTANTS}
    present = sum(1 for p in measured if values.get(p) is not None)
    return AirObservation(
        station=station.code,
        name=site.name,
        latitude=site.latitude,
        longitude=site.longitude,
        operator=station.operator,
        start=hour.start,
        values=values,
        aqi=aqi,
        level=level,
        reliability=round(present / len(measured), 3),
    )


def observations(
    session: Session,
    store: TimeSeriesStore,
    *,
    start: datetime,
    end: datetime,
    program_id: int | None = None,
) -> list[AirObservation]:
    """Every station hour in [start, end) that has data, by station then time."""
    method = standards.vn_aqi_method()
    first, last = floor_hour(start), floor_hour(end)
    pairs = service.air_stations(session, program_id)
    # 11 hours before the range feed the PM NowCast of its first hours.
    sites = [site for _, site in pairs]
    by_site = service.hourly_means_of(session, store, sites, first - 11 * HOUR, last)
    found = []
    for station, site in pairs:
        means = by_site.get(site.id, [])
        series = index_hours(means)
        for hour in means:
            if hour.start >= first:
                result = vn_hourly_aqi(method, series, hour.start)
                level = result.band.key if result.band else None
                found.append(observation(station, site, hour, result.aqi, level))
    return found


def current_observations(stations: Iterable[service.StationAir]) -> list[AirObservation]:
    """The latest hour with an AQI of each station (stations without one are left out)."""
    found = []
    for air in stations:
        hour = air.hour(air.current.start) if air.current else None
        if air.current is not None and hour is not None:
            level = air.current.band.key if air.current.band else None
            found.append(observation(air.station, air.site, hour, air.current.aqi, level))
    return found


# -- formats --------------------------------------------------------------------------------


def flat_row(obs: AirObservation) -> dict[str, Any]:
    """The observation as one flat record (CSV and Parquet columns)."""
    return {
        "id": obs.entity_id,
        "type": ENTITY_TYPE,
        "stationCode": obs.station,
        "name": obs.name,
        "dateObserved": obs.start.isoformat(),
        "latitude": obs.latitude,
        "longitude": obs.longitude,
        **obs.values,
        "airQualityIndex": obs.aqi,
        "airQualityLevel": obs.level,
        "reliability": obs.reliability,
    }


def to_csv(rows: Sequence[AirObservation]) -> str:
    """CSV text with a header; missing values are empty cells."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for obs in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in flat_row(obs).items()})
    return out.getvalue()


ARROW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("type", pa.string()),
        ("stationCode", pa.string()),
        ("name", pa.string()),
        ("dateObserved", pa.timestamp("us", tz="Asia/Ho_Chi_Minh")),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        *[(p, pa.float64()) for p in POLLUTANTS],
        ("airQualityIndex", pa.int32()),
        ("airQualityLevel", pa.string()),
        ("reliability", pa.float64()),
    ]
)


def to_parquet(rows: Sequence[AirObservation]) -> bytes:
    """A Parquet file (dateObserved as a zoned timestamp, values as nullable doubles)."""
    records = [flat_row(obs) | {"dateObserved": obs.start} for obs in rows]
    table = pa.Table.from_pylist(records, schema=ARROW_SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def ngsi_ld_entity(obs: AirObservation, *, key_values: bool = False) -> dict[str, Any]:
    """An NGSI-LD entity, normalised (`{"type": "Property", "value": …}`) or as key-values.

    Missing pollutants are left out, since NGSI-LD has no null property values.
    """
    point = {"type": "Point", "coordinates": [obs.longitude, obs.latitude]}
    pollutants = {p: v for p, v in obs.values.items() if v is not None}
    plain: dict[str, Any] = {
        "name": obs.name,
        "dateObserved": obs.start.isoformat(),
        **pollutants,
        "airQualityIndex": obs.aqi,
        "airQualityLevel": obs.level,
        "reliability": obs.reliability,
        "dataProvider": obs.operator,
    }
    plain = {k: v for k, v in plain.items() if v not in (None, "")}
    entity: dict[str, Any] = {"id": obs.entity_id, "type": ENTITY_TYPE}
    if key_values:
        entity |= {"location": point} if obs.latitude is not None else {}
        return entity | plain | {"@context": NGSI_LD_CONTEXT}
    if obs.latitude is not None and obs.longitude is not None:
        entity["location"] = {"type": "GeoProperty", "value": point}
    for key, value in plain.items():
        entity[key] = _property(key, value)
    return entity | {"@context": NGSI_LD_CONTEXT}


def _property(key: str, value: Any) -> dict[str, Any]:
    if key == "dateObserved":
        return {"type": "Property", "value": {"@type": "DateTime", "@value": value}}
    prop: dict[str, Any] = {"type": "Property", "value": value}
    if key in POLLUTANTS:
        prop["unitCode"] = UNIT_CODE
    return prop


def to_ngsi_ld(rows: Sequence[AirObservation], *, key_values: bool = False) -> list[dict[str, Any]]:
    """The observations as a list of NGSI-LD entities."""
    return [ngsi_ld_entity(obs, key_values=key_values) for obs in rows]


def render(rows: Sequence[AirObservation], fmt: str) -> bytes:
    """The observations in `fmt`: `csv`, `parquet` or `ngsi-ld` (normalised, indented JSON)."""
    if fmt == "csv":
        return to_csv(rows).encode()
    if fmt == "parquet":
        return to_parquet(rows)
    if fmt == "ngsi-ld":
        return orjson.dumps(to_ngsi_ld(rows), option=orjson.OPT_INDENT_2) + b"\n"
    raise ValueError(f"unknown format {fmt!r}; use csv, parquet or ngsi-ld")
