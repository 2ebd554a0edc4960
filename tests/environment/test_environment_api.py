"""`GET /api/v1/open/air-quality`: open NGSI-LD AirQualityObserved data, no sign-in."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from lighthouse_os.db.base import utcnow
from lighthouse_os.environment.models import AirStation
from lighthouse_os.telemetry.service import TelemetryService
from tests.environment.environment_support import decision_example, hour_start, write_hours


def test_open_air_quality_is_public_ngsi_ld_of_each_station_now(
    client: TestClient, env_sink: TelemetryService, air_station: AirStation
) -> None:
    current = hour_start(utcnow()) - timedelta(hours=1)  # the latest complete hour
    write_hours(env_sink, "HCM-AQ-T01", decision_example(current))
    response = client.get("/api/v1/open/air-quality")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    [entity] = response.json()
    assert entity["type"] == "AirQualityObserved"
    assert entity["dateObserved"]["value"]["@value"] == current.isoformat()
    assert entity["airQualityIndex"]["value"] == 60
    assert entity["airQualityLevel"]["value"] == "moderate"
    assert entity["no2"] == {"type": "Property", "value": 118.7, "unitCode": "GQ"}
    assert "@context" in entity


def test_open_air_quality_key_values_and_bad_options(
    client: TestClient, env_sink: TelemetryService, air_station: AirStation
) -> None:
    current = hour_start(utcnow()) - timedelta(hours=1)
    write_hours(env_sink, "HCM-AQ-T01", decision_example(current))
    [entity] = client.get("/api/v1/open/air-quality?options=keyValues").json()
    assert (entity["airQualityIndex"], entity["pm25"]) == (60, 19.3)
    assert entity["location"]["coordinates"] == [106.6923, 10.7745]
    bad = client.get("/api/v1/open/air-quality?options=sysAttrs")
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"]


def test_open_air_quality_leaves_out_stations_without_an_aqi(
    client: TestClient, air_station: AirStation
) -> None:
    response = client.get("/api/v1/open/air-quality")
    assert (response.status_code, response.json()) == (200, [])
