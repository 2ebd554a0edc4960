"""Import maps: intervals, defaults, and every problem reported at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lighthouse_os.telemetry.filemap import ColumnMap, MapError, parse_file_map, parse_interval


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15min", timedelta(minutes=15)),
        ("15m", timedelta(minutes=15)),
        (" 1h ", timedelta(hours=1)),
        ("30s", timedelta(seconds=30)),
        ("1d", timedelta(days=1)),
        ("PT15M", timedelta(minutes=15)),
        ("PT1H30M", timedelta(minutes=90)),
        ("P1D", timedelta(days=1)),
    ],
)
def test_filemap_interval_forms(text: str, expected: timedelta) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["0min", "15", "quarter", "P", "-5m", "PT"])
def test_filemap_interval_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="interval"):
        parse_interval(text)


def test_filemap_defaults_and_short_column_form() -> None:
    file_map = parse_file_map(
        {
            "timestamp": {"column": "time"},
            "columns": {"kWh": "main/kwh", "T": {"tag": "main/t", "unit": "Cel"}},
        }
    )
    assert (file_map.timestamp_format, file_map.timezone, file_map.stamps) == (
        "iso8601",
        "Asia/Ho_Chi_Minh",
        "start",
    )
    assert file_map.columns == (ColumnMap("kWh", "main/kwh"), ColumnMap("T", "main/t", "Cel"))
    assert file_map.shift == timedelta(0)


def test_filemap_end_stamps_shift_back_one_interval() -> None:
    file_map = parse_file_map(
        {"timestamp": {"column": "t", "stamps": "end", "interval": "15min"}, "columns": {"a": "x"}}
    )
    assert file_map.shift == -timedelta(minutes=15)


def test_filemap_lists_every_problem() -> None:
    with pytest.raises(MapError) as caught:
        parse_file_map(
            {
                "timestamp": {"stamps": "end", "timezone": "Mars/Olympus", "format": "dd/mm"},
                "columns": {"a": "x", "b": "x", "c": 5},
                "csv": {"delimiter": ";;", "decimal": "'"},
            }
        )
    assert set(caught.value.problems) == {
        "timestamp.column",
        "timestamp.interval",
        "timestamp.timezone",
        "timestamp.format",
        "columns",  # a and b feed the same tag
        "columns.c",
        "csv.delimiter",
        "csv.decimal",
    }


@pytest.mark.parametrize("data", [None, [], "text", {"timestamp": {"column": "t"}}])
def test_filemap_refuses_a_map_without_columns(data: object) -> None:
    with pytest.raises(MapError):
        parse_file_map(data)


def test_filemap_refuses_two_columns_for_one_tag() -> None:
    with pytest.raises(MapError, match="same tag"):
        parse_file_map({"timestamp": {"column": "t"}, "columns": {"a": "x", "b": "x"}})
