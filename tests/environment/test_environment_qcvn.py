"""QCVN 05:2023/BTNMT dated limits and exceedance detection on hourly series."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pytest

from lighthouse_os.environment import standards
from lighthouse_os.environment.averaging import ICT, HourlyMeans
from lighthouse_os.environment.qcvn import (
    AmbientLimit,
    exceedances,
    limit_on,
    rolling_8h_exceedances,
    station_exceedances,
)

LIMITS = standards.qcvn05_limits()
H = timedelta(hours=1)
DAY = datetime(2025, 3, 1, tzinfo=ICT)


@pytest.mark.parametrize(
    ("parameter", "averaging", "day", "value"),
    [
        ("so2", "1h", date(2024, 1, 1), 350),
        ("so2", "24h", date(2024, 1, 1), 125),
        ("so2", "year", date(2024, 1, 1), 50),
        ("co", "1h", date(2024, 1, 1), 30000),
        ("co", "8h", date(2024, 1, 1), 10000),
        ("no2", "1h", date(2024, 1, 1), 200),
        ("no2", "24h", date(2024, 1, 1), 100),
        ("no2", "year", date(2024, 1, 1), 40),
        ("o3", "1h", date(2024, 1, 1), 200),
        ("o3", "8h", date(2024, 1, 1), 120),
        ("tsp", "1h", date(2024, 1, 1), 300),
        ("tsp", "24h", date(2024, 1, 1), 200),
        ("tsp", "year", date(2024, 1, 1), 100),
        ("pm10", "24h", date(2024, 1, 1), 100),
        ("pm10", "year", date(2024, 1, 1), 50),
        ("pm25", "24h", date(2025, 12, 31), 50),
        ("pm25", "24h", date(2026, 1, 1), 45),
        ("pm25", "year", date(2026, 6, 1), 25),
    ],
)
def test_limit_on_returns_the_dated_qcvn05_value(
    parameter: str, averaging: str, day: date, value: float
) -> None:
    lim = limit_on(LIMITS, parameter, averaging, day)  # type: ignore[arg-type]
    assert lim is not None
    assert lim.value == value
    assert lim.unit == "µg/Nm3"
    assert lim.source == "QCVN 05:2023/BTNMT"


def test_limit_on_returns_none_before_the_standard_or_without_a_limit() -> None:
    assert limit_on(LIMITS, "so2", "1h", date(2023, 9, 11)) is None
    assert limit_on(LIMITS, "pm10", "1h", date(2024, 1, 1)) is None


def series(start: datetime, values: Sequence[float | None]) -> dict[datetime, float | None]:
    return {start + k * H: v for k, v in enumerate(values)}


def test_hourly_exceedance_is_strictly_above_the_limit() -> None:
    found = exceedances(series(DAY, [350.0, 350.1, None]), "so2", LIMITS)
    assert [(e.averaging, e.start, e.value, e.limit) for e in found] == [
        ("1h", DAY + H, 350.1, 350)
    ]


def test_pm25_day_mean_of_48_exceeds_only_from_2026() -> None:
    before = exceedances(series(datetime(2025, 12, 31, tzinfo=ICT), [48.0] * 24), "pm25", LIMITS)
    after = exceedances(series(datetime(2026, 1, 1, tzinfo=ICT), [48.0] * 24), "pm25", LIMITS)
    assert before == []
    assert [(e.averaging, e.limit, e.end - e.start) for e in after] == [("24h", 45, 24 * H)]


def test_daily_mean_needs_18_hours() -> None:
    assert exceedances(series(DAY, [200.0] * 17), "pm10", LIMITS) == []
    assert len(exceedances(series(DAY, [200.0] * 18), "pm10", LIMITS)) == 1


def test_rolling_8h_windows_above_the_limit_merge_into_one_record() -> None:
    o3 = [50.0] * 4 + [150.0] * 10 + [50.0] * 6
    found = rolling_8h_exceedances(series(DAY, o3), "o3", LIMITS)
    assert len(found) == 1
    run = found[0]
    # windows starting at hours 1..8 have means above 120 (hour 1: 3 lows, 5 highs → 112.5 no)
    means = [sum(o3[s : s + 8]) / 8 for s in range(len(o3) - 7)]
    exceeding = [s for s, m in enumerate(means) if m > 120]
    assert run.start == DAY + exceeding[0] * H
    assert run.end == DAY + (exceeding[-1] + 8) * H
    assert run.windows == len(exceeding)
    assert run.value == pytest.approx(max(means))


def test_rolling_8h_needs_6_of_8_hours() -> None:
    co = [20000.0] * 5 + [None] * 3
    assert rolling_8h_exceedances(series(DAY, co), "co", LIMITS) == []


def test_yearly_mean_needs_75_percent_of_the_year() -> None:
    start = datetime(2024, 1, 1, tzinfo=ICT)
    hours_2024 = 366 * 24
    full = series(start, [60.0] * int(hours_2024 * 0.75) + [None] * 10)
    short = series(start, [60.0] * (int(hours_2024 * 0.75) - 1))
    assert [e.averaging for e in exceedances(full, "so2", LIMITS) if e.averaging == "year"] == [
        "year"
    ]
    assert [e for e in exceedances(short, "so2", LIMITS) if e.averaging == "year"] == []


def test_exceedances_reject_naive_hours() -> None:
    with pytest.raises(ValueError, match="time zone"):
        exceedances({datetime(2025, 1, 1): 1.0}, "so2", LIMITS)


def test_station_exceedances_checks_every_pollutant() -> None:
    hours = [HourlyMeans(DAY + k * H, no2=250.0, pm25=20.0) for k in range(24)]
    found = station_exceedances(hours, LIMITS)
    assert {(e.parameter, e.averaging) for e in found} == {("no2", "1h"), ("no2", "24h")}


def test_custom_limits_are_plain_data() -> None:
    lim = AmbientLimit("pm25", "1h", 10.0, "µg/Nm3", date(2020, 1, 1), None, "test")
    found = exceedances(series(DAY, [11.0]), "pm25", [lim])
    assert [(e.limit_source, e.value) for e in found] == [("test", 11.0)]


def test_empty_series_has_no_exceedances() -> None:
    assert exceedances({}, "o3", LIMITS) == []
