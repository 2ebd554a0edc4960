"""`lhos calc aqi` and `lhos monitoring import` through a Typer app built here."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.calculator import CsvInputError, parse_hourly_csv
from lighthouse_os.environment.commands import calc_aqi, monitoring_import

app = typer.Typer()
calc = typer.Typer()
calc.command("aqi")(calc_aqi)
monitoring = typer.Typer()
monitoring.command("import")(monitoring_import)
app.add_typer(calc, name="calc")
app.add_typer(monitoring, name="monitoring")
runner = CliRunner()

HEADER = "time,pm25,pm10,o3,no2,so2,co"
NOWCAST_EXAMPLE = [19.3, 21.0, 22.0, 23.0, 20.5, 18.0, 17.0, 16.0, 15.0, 15.5, 16.5, 24.6]
START = datetime(2025, 3, 1, tzinfo=ICT)


def example_csv(tmp_path: Path) -> Path:
    """12 hours ending with the Decision's hourly example (AQIʰ = 60 at 11:00)."""
    rows = [HEADER]
    for k, pm25 in enumerate(reversed(NOWCAST_EXAMPLE)):
        last = k == 11
        time = (START + timedelta(hours=k)).isoformat()
        rows.append(f"{time},{pm25},,{136.1 if last else ''},{118.7 if last else ''},,")
    path = tmp_path / "hours.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_calc_aqi_hourly_json_reproduces_the_decision_example(tmp_path: Path) -> None:
    result = runner.invoke(app, ["calc", "aqi", "--hourly", str(example_csv(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 12
    last = rows[-1]
    assert last["time"] == "2025-03-01T11:00:00+07:00"
    assert (last["aqi"], last["dominant"], last["band"]["key"]) == (60, "no2", "moderate")
    assert last["sub_indices"] == {
        "pm25": 41,
        "pm10": None,
        "o3": 43,
        "no2": 60,
        "so2": None,
        "co": None,
    }
    assert last["nowcast"] == {"pm25": 20.3, "pm10": None}
    assert last["band"]["advice"]["sensitive"]["vi"]
    first = rows[0]  # one PM2.5 hour only: no NowCast yet, nothing else measured
    assert (first["aqi"], first["reason_code"]) == (None, "no_data")
    assert first["reason"]
    assert first["reason_vi"]
    assert first["missing"]["pm25"]["code"] == "nowcast_incomplete"


def test_calc_aqi_daily_json_gives_one_row_per_date(tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    lines = [HEADER] + [f"{(START + timedelta(hours=k)).isoformat()},55.7,,,,," for k in range(24)]
    path.write_text("\n".join(lines))
    result = runner.invoke(app, ["calc", "aqi", "--daily", str(path), "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert (row["date"], row["aqi"], row["dominant"]) == ("2025-03-01", 110, "pm25")
    assert set(row) >= {"date", "aqi", "band", "dominant", "sub_indices"}


def test_calc_aqi_epa_method(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["calc", "aqi", "--hourly", str(example_csv(tmp_path)), "--method", "epa", "--json"]
    )
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout)[-1]
    assert last["method"] == "us_epa_2024"
    assert last["sub_indices"]["pm25"] == 72  # NowCast 20.3 → 49/26.3 × 11.2 + 51 = 71.9


def test_calc_aqi_prints_a_table_without_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["calc", "aqi", "--hourly", str(example_csv(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "Moderate" in result.stdout
    assert "VN_AQI" in result.stdout
    assert "2025-03-01 11:00" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("time,pm25\n2025-03-01T00:00:00+07:00,abc\n", "line 2, column pm25"),
        ("time,pm25\n2025-03-01T00:00:00+07:00,-3\n", "≥ 0"),
        ("time,pm25\nyesterday,3\n", "ISO 8601"),
        ("time,pm25\n2025-03-01T00:30:00,3\n", "hour start"),
        ("time,pm25\n2025-03-01T00:00:00,3\n2025-03-01T00:00:00,4\n", "appears twice"),
        ("time,pm25,benzene\n", "benzene"),
        ("pm25\n3\n", "header"),
        ("time,pm25\n2025-03-01T00:00:00,3,4\n", "3 cells"),
        ("time,pm25\n", "no data rows"),
    ],
)
def test_calc_aqi_bad_csv_prints_one_error_line_and_exits_2(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = runner.invoke(app, ["calc", "aqi", "--hourly", str(path), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [[], ["--hourly", "a.csv", "--daily", "b.csv"]])
def test_calc_aqi_needs_exactly_one_input(args: list[str]) -> None:
    result = runner.invoke(app, ["calc", "aqi", *args])
    assert result.exit_code == 2
    assert "exactly one" in result.stderr


def test_calc_aqi_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["calc", "aqi", "--daily", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "nope.csv" in result.stderr


def test_parse_hourly_csv_takes_naive_times_as_vietnam_time_and_empty_cells_as_missing() -> None:
    [hour] = parse_hourly_csv("\ufefftime,pm25,co\n2025-03-01 07:00,12.5,\n")
    assert hour.start == datetime(2025, 3, 1, 7, tzinfo=ICT)
    assert (hour.pm25, hour.co, hour.no2) == (12.5, None, None)


def test_parse_hourly_csv_skips_blank_lines() -> None:
    assert len(parse_hourly_csv("time,pm25\n\n2025-03-01T00:00:00Z,1\n,\n")) == 1


def test_parse_hourly_csv_rejects_a_repeated_column() -> None:
    with pytest.raises(CsvInputError, match="twice"):
        parse_hourly_csv("time,pm25,pm25\n")


def write_feed_file(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_bytes(body.encode())
    return path


def test_monitoring_import_prints_parsed_files_as_json(tmp_path: Path) -> None:
    good = write_feed_file(
        tmp_path, "HCM_ABC_NUO001_20250301103000.txt", "pH\t7.1\t-\t20250301103000\t00\r\n"
    )
    result = runner.invoke(app, ["monitoring", "import", str(good), "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["file"] == good.name
    assert row["station"]["code"] == "NUO001"
    assert row["readings"][0]["time"] == "2025-03-01T10:30:00+07:00"
    assert row["problems"] == []


def test_monitoring_import_reports_unparseable_files_and_exits_1(tmp_path: Path) -> None:
    good = write_feed_file(
        tmp_path, "HCM_ABC_KHI001_20250301103000.txt", "SO2\t12.0\tmg/Nm3\t20250301103000\t00"
    )
    bad = write_feed_file(tmp_path, "not-a-feed.txt", "x")
    result = runner.invoke(app, ["monitoring", "import", str(good), str(bad), "--json"])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [r.get("error", {}).get("code") for r in rows] == [None, "bad_file_name"]


def test_monitoring_import_prints_a_table_without_json(tmp_path: Path) -> None:
    good = write_feed_file(
        tmp_path, "HCM_ABC_NUO001_20250301103000.txt", "pH\t7.1\t-\t20250301103000\t00"
    )
    result = runner.invoke(app, ["monitoring", "import", str(good), str(tmp_path / "gone.txt")])
    assert result.exit_code == 1
    assert "NUO001" in result.stdout
    assert "bad_file_name" in result.stdout or "unreadable" in result.stdout


def test_calc_aqi_daily_epa(tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    lines = [HEADER] + [f"{(START + timedelta(hours=k)).isoformat()},9.0,,,,," for k in range(24)]
    path.write_text("\n".join(lines))
    result = runner.invoke(app, ["calc", "aqi", "--daily", str(path), "--method", "epa", "--json"])
    assert result.exit_code == 0, result.output
    assert [r["aqi"] for r in json.loads(result.stdout)] == [50]


def test_compute_refuses_an_unknown_method() -> None:
    from dataclasses import replace

    from lighthouse_os.environment import standards
    from lighthouse_os.environment.calculator import compute

    with pytest.raises(ValueError, match="no calculator"):
        compute(replace(standards.vn_aqi_method(), key="cn_aqi"), "hourly", [])
