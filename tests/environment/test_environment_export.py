"""Open data: FIWARE AirQualityObserved as CSV, Parquet and NGSI-LD; `lhos export air`."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from lighthouse_os.environment import export
from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.commands import register
from lighthouse_os.environment.models import AirStation
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.service import TelemetryService
from tests.environment.environment_support import decision_example, write_hours

CURRENT = datetime(2025, 3, 1, 11, tzinfo=ICT)
HOUR = timedelta(hours=1)


@pytest.fixture
def observed(
    env_session: Session, env_sink: TelemetryService, air_station: AirStation
) -> list[export.AirObservation]:
    write_hours(env_sink, "HCM-AQ-T01", decision_example(CURRENT))
    return export.observations(
        env_session, env_sink.store, start=CURRENT - 2 * HOUR, end=CURRENT + HOUR
    )


def test_observations_give_each_station_hour_its_means_and_vn_aqi(
    observed: list[export.AirObservation],
) -> None:
    assert [o.start for o in observed] == [CURRENT - 2 * HOUR, CURRENT - HOUR, CURRENT]
    last = observed[-1]
    assert (last.aqi, last.level, last.station) == (60, "moderate", "HCM-AQ-T01")
    assert last.values == {
        "pm25": 19.3, "pm10": None, "o3": 136.1, "no2": 118.7, "so2": None, "co": None
    }  # fmt: skip
    assert last.reliability == 0.5  # 3 of the station's 6 parameters reported
    assert last.entity_id == "urn:ngsi-ld:AirQualityObserved:HCM-AQ-T01:20250301T0400Z"


def test_csv_has_the_fiware_columns_and_empty_cells_for_missing_values(
    observed: list[export.AirObservation],
) -> None:
    rows = list(csv.DictReader(io.StringIO(export.to_csv(observed))))
    assert list(rows[0]) == list(export.COLUMNS)
    last = rows[-1]
    assert (last["type"], last["dateObserved"], last["pm25"], last["so2"]) == (
        "AirQualityObserved", "2025-03-01T11:00:00+07:00", "19.3", ""
    )  # fmt: skip
    assert (last["airQualityIndex"], last["airQualityLevel"]) == ("60", "moderate")


def test_parquet_round_trips_with_nulls_and_a_zoned_time(
    observed: list[export.AirObservation],
) -> None:
    table = pq.read_table(io.BytesIO(export.to_parquet(observed)))
    assert table.column_names == list(export.COLUMNS)
    rows = table.to_pylist()
    assert rows[-1]["dateObserved"] == CURRENT
    assert (rows[-1]["no2"], rows[-1]["co"], rows[-1]["airQualityIndex"]) == (118.7, None, 60)


def test_ngsi_ld_normalized_entity_shape(observed: list[export.AirObservation]) -> None:
    entity = export.ngsi_ld_entity(observed[-1])
    assert entity["type"] == "AirQualityObserved"
    assert entity["@context"] == export.NGSI_LD_CONTEXT
    assert entity["location"] == {
        "type": "GeoProperty", "value": {"type": "Point", "coordinates": [106.6923, 10.7745]}
    }  # fmt: skip
    assert entity["dateObserved"] == {
        "type": "Property", "value": {"@type": "DateTime", "@value": "2025-03-01T11:00:00+07:00"}
    }  # fmt: skip
    assert entity["no2"] == {"type": "Property", "value": 118.7, "unitCode": "GQ"}
    assert entity["airQualityIndex"] == {"type": "Property", "value": 60}
    assert "so2" not in entity  # NGSI-LD has no null values: missing means absent


def test_ngsi_ld_key_values_entity_is_flat(observed: list[export.AirObservation]) -> None:
    entity = export.ngsi_ld_entity(observed[-1], key_values=True)
    assert entity["location"] == {"type": "Point", "coordinates": [106.6923, 10.7745]}
    assert (entity["pm25"], entity["airQualityLevel"], entity["reliability"]) == (
        19.3, "moderate", 0.5
    )  # fmt: skip


runner = CliRunner()


@pytest.mark.parametrize("fmt", ["csv", "ngsi-ld", "parquet"])
def test_export_air_command_writes_each_format(
    fmt: str,
    tmp_path: Path,
    initialised_settings: Settings,
    observed: list[export.AirObservation],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LHOS_DATA_DIR", str(initialised_settings.data_dir))
    app = typer.Typer()
    register(app)
    args = [
        "export",
        "air",
        "--format",
        fmt,
        "--from",
        "2025-03-01T09:00",
        "--to",
        "2025-03-01T12:00",
    ]
    target = tmp_path / f"air.{fmt}"
    result = runner.invoke(app, [*args, "--output", str(target)])
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    if fmt == "csv":
        assert len(data.decode().splitlines()) == 1 + len(observed)
    elif fmt == "ngsi-ld":
        assert [e["id"] for e in json.loads(data)] == [o.entity_id for o in observed]
    else:
        assert pq.read_table(io.BytesIO(data)).num_rows == len(observed)


def test_export_air_parquet_needs_an_output_file(
    initialised_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LHOS_DATA_DIR", str(initialised_settings.data_dir))
    app = typer.Typer()
    register(app)
    result = runner.invoke(app, ["export", "air", "--format", "parquet"])
    assert result.exit_code == 2
    assert "--output" in result.stderr
