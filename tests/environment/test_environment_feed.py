"""Circular 10/2021 monitoring files: sender quirks, problems, dead-letter errors, round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.feed import (
    FeedError,
    FeedReading,
    feed_file_name,
    format_value,
    normalise_symbol,
    parse_feed,
    parse_file_name,
    write_feed,
)

NAME = "HCM_ABC_NUO001_20250301103000.txt"
T = "20250301103000"
TIME = datetime(2025, 3, 1, 10, 30, tzinfo=ICT)


def group(symbol: str, value: str, unit: str, status: str = "00", time: str = T) -> str:
    return "\t".join([symbol, value, unit, time, status])


WATER = [group("pH", "7.12", "-"), group("COD", "45.6", "mg/L"), group("TSS", "12.0", "mg/L")]

# Every quirk MONITORING-FEED.md lists, one fixture each: (id, path, bytes).
QUIRKS = {
    "bom_crlf": (NAME, ("\ufeff" + "\r\n".join(WATER) + "\r\n").encode()),
    "lf": (NAME, ("\n".join(WATER) + "\n").encode()),
    "single_line": (NAME, ("\t".join(WATER) + "\r\n").encode()),
    "trailing_tab": (NAME, ("\t\n".join(WATER) + "\t\n").encode()),
    "station_folder_first": (f"NUO001/2025/03/01/{NAME}", "\n".join(WATER).encode()),
    "date_folders": (f"/srv/ftp/2025/03/01/{NAME}", "\n".join(WATER).encode()),
    "windows_path": (f"C:\\ftp\\NUO001\\2025\\03\\01\\{NAME}", "\n".join(WATER).encode()),
}


@pytest.mark.parametrize(("path", "data"), QUIRKS.values(), ids=QUIRKS.keys())
def test_parse_feed_reads_the_same_readings_whatever_the_layout(path: str, data: bytes) -> None:
    parsed = parse_feed(data, path)
    assert parsed.problems == ()
    assert parsed.file == NAME
    assert [(r.symbol, r.value, r.unit, r.time, r.status) for r in parsed.readings] == [
        ("pH", 7.12, "-", TIME, "00"),
        ("COD", 45.6, "mg/L", TIME, "00"),
        ("TSS", 12.0, "mg/L", TIME, "00"),
    ]


def test_parse_feed_keeps_an_empty_value_field_without_shifting_later_fields() -> None:
    line = "\t".join([group("COD", "", "mg/L", "02"), group("TSS", "12.0", "mg/L")])
    parsed = parse_feed(line.encode(), NAME)
    assert [(r.symbol, r.value, r.status) for r in parsed.readings] == [
        ("COD", None, "02"),
        ("TSS", 12.0, "00"),
    ]
    assert parsed.problems == ()


@pytest.mark.parametrize(
    ("value", "status", "expected"),
    [
        ("---", "02", None),
        ("---", "00", None),
        ("", "02", None),
        ("0", "02", None),
        ("0.0", "02", None),
        ("0", "00", 0.0),  # a real zero while measuring
        ("0", "01", 0.0),  # zero point during calibration: kept, never counted
        ("12", "00", 12.0),
        ("-1.5", "00", -1.5),
    ],
)
def test_parse_feed_reads_missing_markers_and_zeros(
    value: str, status: str, expected: float | None
) -> None:
    parsed = parse_feed(group("NH4", value, "mg/L", status).encode(), NAME)
    assert parsed.readings[0].value == expected
    assert parsed.problems == ()


def test_parse_feed_keeps_the_pm25_symbol_with_its_comma() -> None:
    name = "HCM_ABC_KHI001_20250301103000.txt"
    parsed = parse_feed(group("PM2,5", "18.4", "mg/Nm3").encode(), name)
    assert parsed.readings[0].symbol == "PM2,5"
    assert normalise_symbol(parsed.readings[0].symbol) == "PM2.5"
    assert parsed.station.kind == "stack"


def test_parse_feed_reports_each_problem_with_its_location() -> None:
    lines = [
        group("pH", "7.0", "-"),
        "COD\t45.6\tmg/L\t" + T,  # 4 fields
        group("TSS", "12,5", "mg/L"),  # decimal comma
        group("NH4", "1.0", "mg/L", "03"),  # unknown status
        group("TN", "3.0", "mg/L", time="2025-03-01"),  # bad time
        group("", "1.0", "mg/L"),  # empty symbol
    ]
    parsed = parse_feed("\n".join(lines).encode(), NAME)
    assert [(p.code, p.line, p.group, p.field) for p in parsed.problems] == [
        ("bad_group_length", 2, None, None),
        ("non_numeric_value", 3, 1, "value"),
        ("unknown_status", 4, 1, "status"),
        ("bad_time", 5, 1, "time"),
        ("empty_symbol", 6, 1, "symbol"),
    ]
    assert [(r.symbol, r.value, r.status) for r in parsed.readings] == [
        ("pH", 7.0, "00"),
        ("TSS", None, "00"),
        ("NH4", 1.0, "03"),
    ]


def test_parse_feed_locates_problems_by_group_on_a_single_line() -> None:
    line = "\t".join([group("pH", "7.0", "-"), group("COD", "x", "mg/L")])
    parsed = parse_feed(line.encode(), NAME)
    assert [(p.code, p.line, p.group) for p in parsed.problems] == [("non_numeric_value", 1, 2)]


def test_parse_feed_reports_a_folder_date_that_disagrees_with_the_name() -> None:
    parsed = parse_feed(group("pH", "7.0", "-").encode(), f"2025/03/02/{NAME}")
    assert [p.code for p in parsed.problems] == ["folder_date_mismatch"]


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"pH\t7.0\t-\t20250301103000\t00", "HCM_ABC_XYZ001_20250301103000.txt", "bad_file_name"),
        (b"pH\t7.0\t-\t20250301103000\t00", "HCM_ABC_NUO001_20250230103000.txt", "bad_file_name"),
        (b"pH\t7.0\t-\t20250301103000\t00", "HCM_NUO001_20250301103000.txt", "bad_file_name"),
        (b"pH\t7.0\t-\t20250301103000\t00", "HCM_ABC_NUO001_20250301103000.csv", "bad_file_name"),
        (b"\xff\xfep\x00H\x00", NAME, "not_utf8"),
        (b"", NAME, "no_readings"),
        (b"\r\n\r\n", NAME, "no_readings"),
        (b"garbage without tabs\n", NAME, "no_readings"),
    ],
)
def test_parse_feed_raises_a_clear_error_for_unusable_files(
    data: bytes, name: str, code: str
) -> None:
    with pytest.raises(FeedError) as info:
        parse_feed(data, name)
    assert info.value.code == code
    assert str(info.value).startswith(code)


def test_parse_file_name_is_tolerant_of_case_underscores_and_folders() -> None:
    st_ = parse_file_name("NUO001/2025/03/01/hcm_Cty_ABC_nuo001_20250301103000.TXT")
    assert (st_.province, st_.facility, st_.station, st_.kind) == (
        "hcm",
        "Cty_ABC",
        "NUO001",
        "water",
    )
    assert (st_.folder_station, st_.time) == ("NUO001", TIME)
    assert st_.folder_date == TIME.date()


def test_feed_file_to_json_dict_has_iso_times_with_offset() -> None:
    parsed = parse_feed(("\n".join(WATER) + "\n" + "COD\t1").encode(), NAME)
    data = parsed.to_json_dict()
    assert set(data) == {"file", "station", "readings", "problems"}
    assert data["station"] == {
        "province": "HCM",
        "facility": "ABC",
        "code": "NUO001",
        "kind": "water",
        "file_time": "2025-03-01T10:30:00+07:00",
    }
    assert data["readings"][0] == {
        "symbol": "pH",
        "value": 7.12,
        "unit": "-",
        "time": "2025-03-01T10:30:00+07:00",
        "status": "00",
    }
    assert data["problems"][0]["code"] == "bad_group_length"
    assert data["problems"][0]["message_vi"]


def test_feed_file_name_builds_the_circular_pattern_in_vietnam_time() -> None:
    utc = datetime(2025, 3, 1, 3, 30, tzinfo=UTC)
    assert feed_file_name("HCM", "ABC", "NUO001", utc) == NAME


@pytest.mark.parametrize(
    ("province", "station"),
    [("HCM", "NUO01"), ("HCM", "ABC001"), ("H_CM", "NUO001"), ("", "NUO001")],
)
def test_feed_file_name_rejects_bad_parts(province: str, station: str) -> None:
    with pytest.raises(ValueError, match="must"):
        feed_file_name(province, "ABC", station, TIME)


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "---"), (12.0, "12.0"), (1e-05, "0.00001"), (1e16, "10000000000000000.0")],
)
def test_format_value_always_has_a_decimal_point_and_no_exponent(
    value: float | None, text: str
) -> None:
    assert format_value(value) == text


def test_write_feed_rejects_invalid_readings() -> None:
    good = FeedReading("pH", 7.0, "-", TIME, "00")
    with pytest.raises(ValueError, match="at least one"):
        write_feed([])
    for bad in (
        FeedReading("p\tH", 7.0, "-", TIME, "00"),
        FeedReading("pH", 7.0, "-", TIME, "9"),
        FeedReading("pH", float("nan"), "-", TIME, "00"),
        FeedReading("pH", 7.0, "-", datetime(2025, 1, 1), "00"),
    ):
        with pytest.raises(ValueError, match=r"must|finite|time zone"):
            write_feed([good, bad])


SYMBOLS = ["Flow", "Temp", "pH", "TSS", "COD", "NH4", "TN", "TP", "Color", "SO2", "NO", "NO2",
           "CO", "O2", "PM", "PM10", "PM2,5", "H2S", "NH3"]  # fmt: skip
UNITS = ["m3/h", "oC", "-", "mg/L", "mg/Nm3"]

readings = st.builds(
    FeedReading,
    symbol=st.sampled_from(SYMBOLS),
    value=st.one_of(st.none(), st.floats(-1e6, 1e9, allow_nan=False, allow_infinity=False)),
    unit=st.sampled_from(UNITS),
    time=st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)).map(
        lambda t: t.replace(microsecond=0, tzinfo=ICT)
    ),
    status=st.sampled_from(["00", "01", "02"]),
)


@given(
    rows=st.lists(readings, min_size=1, max_size=20),
    layout=st.sampled_from(["lines", "single_line"]),
    newline=st.sampled_from(["\r\n", "\n"]),
    bom=st.booleans(),
)
def test_write_then_parse_round_trips(
    rows: list[FeedReading], layout: str, newline: str, bom: bool
) -> None:
    data = write_feed(rows, layout=layout, newline=newline, bom=bom)  # type: ignore[arg-type]
    parsed = parse_feed(data, feed_file_name("HCM", "ABC", "KHI001", TIME))
    expected = [
        FeedReading(
            r.symbol,
            None if r.value == 0 and r.status == "02" else r.value,
            r.unit,
            r.time,
            r.status,
        )
        for r in rows
    ]
    assert list(parsed.readings) == expected
    assert parsed.problems == ()


def test_write_feed_single_line_puts_every_group_on_one_line() -> None:
    rows = [FeedReading("pH", 7.0, "-", TIME, "00"), FeedReading("COD", None, "mg/L", TIME, "02")]
    data = write_feed(rows, layout="single_line", bom=True)
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == 1
    assert data.decode("utf-8-sig").rstrip("\r\n").split("\t") == [
        "pH", "7.0", "-", T, "00", "COD", "---", "mg/L", T, "02",
    ]  # fmt: skip


def test_feed_times_are_vietnam_local_time() -> None:
    parsed = parse_feed(group("pH", "7.0", "-").encode(), NAME)
    assert parsed.readings[0].time.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize("path", ["", "2025/02/30/" + NAME])
def test_parse_file_name_handles_empty_paths_and_impossible_folder_dates(path: str) -> None:
    if not path:
        with pytest.raises(FeedError, match="empty"):
            parse_file_name(path)
    else:
        assert parse_file_name(path).folder_date is None


def test_write_feed_rejects_a_unit_with_a_tab() -> None:
    with pytest.raises(ValueError, match="unit"):
        write_feed([FeedReading("pH", 7.0, "m\tg", TIME, "00")])
