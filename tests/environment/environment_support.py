"""Helpers of the environment integration tests (importable as `tests.environment...`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.schemas import AirStationInput
from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.service import TelemetryService

# A fixed "now" for tests that do not go through the web app (which uses the real clock).
ENV_NOW = datetime(2025, 3, 2, 3, 20, tzinfo=UTC)  # 10:20 in Ho Chi Minh City
STATION = "HCM_ABC_NUO001"


def air_input(code: str = "HCM-AQ-T01", **changes: object) -> AirStationInput:
    values: dict[str, object] = {
        "code": code,
        "name": "Công viên Tao Đàn",
        "latitude": 10.7745,
        "longitude": 106.6923,
        "district": "Quận 1",
        "operator": "Trạm thử nghiệm / test operator",
    }
    return AirStationInput.model_validate(values | changes)


def write_hours(
    sink: TelemetryService, site: str, hours: Sequence[tuple[datetime, dict[str, float]]]
) -> int:
    """One point per pollutant at each hour start; returns how many were stored."""
    points = [RawPoint(p, at, v) for at, values in hours for p, v in values.items()]
    result = sink.ingest(site, points, source="test")
    assert not result.rejected, result.rejected
    return result.accepted


# The Decision's hourly worked example: PM2.5 of the 12 hours up to the current one (newest
# first; NowCast 20.3, w = 0.61), with O3 136.1 and NO2 118.7 in the current hour: AQIh = 60.
NOWCAST_EXAMPLE = [19.3, 21.0, 22.0, 23.0, 20.5, 18.0, 17.0, 16.0, 15.0, 15.5, 16.5, 24.6]


def decision_example(current: datetime) -> list[tuple[datetime, dict[str, float]]]:
    """Hours ending with `current` (an hour start) holding the Decision's hourly example."""
    hours: list[tuple[datetime, dict[str, float]]] = []
    for k, pm25 in enumerate(NOWCAST_EXAMPLE):
        values = {"pm25": pm25}
        if k == 0:
            values |= {"o3": 136.1, "no2": 118.7}
        hours.append((current - timedelta(hours=k), values))
    return hours


def hour_start(moment: datetime) -> datetime:
    return moment.astimezone(ICT).replace(minute=0, second=0, microsecond=0)


def drop(folder: Path, relative: str, body: bytes) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path
