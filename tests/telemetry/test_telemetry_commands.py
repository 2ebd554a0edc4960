"""`lhos assets import`, `lhos import csv`, `lhos deadletters list|replay`, `lhos series agg`."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from lighthouse_os.cli import run
from lighthouse_os.settings import Settings
from tests.support import TEST_SECRET, World
from tests.telemetry.conftest import SF_ASSETS

MAP = """
timestamp: {column: time, format: "%d/%m/%Y %H:%M", stamps: end, interval: 1h}
columns:
  energy: {tag: line1/press2/kwh, unit: kW.h}
"""


@pytest.fixture
def cli_env(
    initialised_settings: Settings, world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:
    monkeypatch.setenv("LHOS_DATA_DIR", str(initialised_settings.data_dir))
    monkeypatch.setenv("LHOS_SECRET_KEY", TEST_SECRET)
    monkeypatch.chdir(tmp_path)  # no stray .env
    (tmp_path / "assets.yaml").write_bytes(SF_ASSETS)
    (tmp_path / "map.yaml").write_text(MAP, encoding="utf-8")
    rows = [f"01/02/2026 {h:02d}:00,{h}" for h in range(1, 24)] + ["02/02/2026 00:00,x"]
    (tmp_path / "meter.csv").write_text("time,energy\n" + "\n".join(rows) + "\n", "utf-8")
    return tmp_path


def _json(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 0) -> dict[str, object]:
    assert run([*argv, "--json"]) == code
    data: dict[str, object] = orjson.loads(capsys.readouterr().out)
    return data


def test_cli_shop_floor_round_trip(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assets = _json(["assets", "import", str(cli_env / "assets.yaml"), "--site", "a1"], capsys)
    assert (assets["created_nodes"], assets["created_tags"]) == (2, 3)
    argv = ["import", "csv", str(cli_env / "meter.csv"), "--site", "a1", "--map", "map.yaml"]
    report = _json(argv, capsys)
    assert (report["rows_read"], report["points_written"], report["rejected"]) == (24, 23, 1)
    assert report["rejected_by_reason"] == {"not_a_number": 1}
    again = _json(argv, capsys)
    assert (again["points_written"], again["duplicates"]) == (0, 23)
    letters = _json(["deadletters", "list", "--site", "a1"], capsys)["dead_letters"]
    assert [d["source"] for d in letters] == ["import:meter.csv"] * 2  # type: ignore[index]
    replay = _json(["deadletters", "replay", "--site", "a1"], capsys)
    assert replay == {
        "replayed": 2,
        "accepted": 0,
        "duplicates": 0,
        "rejected": 2,  # "x" is still not a number: each letter is replaced by a new one
        "skipped": 0,
    }
    letters = _json(["deadletters", "list", "--site", "a1"], capsys)["dead_letters"]
    assert [d["source"] for d in letters] == ["import:meter.csv"] * 2  # type: ignore[index]
    series = _json(
        [
            "series",
            "agg",
            "--site",
            "a1",
            "--tag",
            "line1/press2/kwh",
            "--every",
            "1d",
            "--fn",
            "sum",
            "--from",
            "2026-02-01",
            "--to",
            "2026-02-02",
        ],
        capsys,
    )
    # End-stamped hours 01:00..23:00 are the intervals starting 00:00..22:00 of 1 February.
    assert series["buckets"] == [
        {"start": "2026-02-01T00:00:00+07:00", "value": float(sum(range(1, 24)))}
    ]


def test_cli_text_report_points_out_odd_stamps(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["assets", "import", str(cli_env / "assets.yaml"), "--site", "a1"])
    rows = "time,energy\n01/02/2026 02:00,1\n01/02/2026 01:00,2\n01/02/2026 05:00,3\n"
    (cli_env / "odd.csv").write_text(rows, "utf-8")
    capsys.readouterr()
    assert run(["import", "csv", "odd.csv", "--site", "a1", "--map", "map.yaml"]) == 0
    out = capsys.readouterr().out
    assert "1 rows out of order" in out
    assert "2 missing intervals" in out


def test_cli_bad_asset_file_lists_problems_and_fails(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cli_env / "bad.csv").write_text("record,path,level,unit,kind\ntag,a/b,,kWh,gauge\n", "utf-8")
    assert run(["assets", "import", "bad.csv", "--site", "a1"]) == 1
    out = capsys.readouterr().out
    assert "line 2: unit" in out
    assert "nothing was imported" in out


def test_cli_bad_map_is_one_clear_error(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_env / "bad.yaml").write_text("timestamp: {stamps: end}\ncolumns: {}\n", "utf-8")
    assert run(["import", "csv", "meter.csv", "--site", "a1", "--map", "bad.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: bad.yaml")
    assert "timestamp.column" in err
