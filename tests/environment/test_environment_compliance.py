"""Wastewater and stack compliance (QCVN 40:2011, QCVN 19:2009) and transmission gaps."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from lighthouse_os.environment import standards
from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.compliance import (
    NO_TO_NO2,
    Gap,
    allowed_limits,
    assess,
    find_gaps,
    limit_parameter,
    select_standard,
    step_lookup,
)
from lighthouse_os.environment.feed import FeedReading

STANDARDS = standards.effluent_standards()
T0 = datetime(2024, 6, 1, 10, 0, tzinfo=ICT)
MIN = timedelta(minutes=1)


def reading(
    symbol: str, value: float | None, unit: str, minutes: int = 0, status: str = "00"
) -> FeedReading:
    return FeedReading(symbol, value, unit, T0 + minutes * MIN, status)


def test_select_standard_returns_the_one_in_force() -> None:
    choice = select_standard(STANDARDS, "water", date(2024, 6, 1))
    assert choice is not None
    assert (choice.standard.standard, choice.provisional) == ("QCVN 40:2011/BTNMT", False)


@pytest.mark.parametrize(
    ("medium", "day", "successor"),
    [
        ("water", date(2025, 9, 1), "QCVN 40:2025/BTNMT"),
        ("stack", date(2025, 7, 1), "QCVN 19:2024/BTNMT"),
    ],
)
def test_select_standard_falls_back_provisionally_when_the_successor_is_not_loaded(
    medium: str, day: date, successor: str
) -> None:
    choice = select_standard(STANDARDS, medium, day)  # type: ignore[arg-type]
    assert choice is not None
    assert choice.provisional
    assert choice.note is not None
    assert successor in choice.note


def test_select_standard_returns_none_before_any_standard() -> None:
    assert select_standard(STANDARDS, "stack", date(2009, 1, 1)) is None


@pytest.mark.parametrize(
    ("column", "parameter", "low", "high"),
    [
        ("A", "COD", None, 75 * 0.99),
        ("B", "COD", None, 150 * 0.99),
        ("B", "TSS", None, 100 * 0.99),
        ("B", "NH4", None, 10 * 0.99),
        ("B", "TN", None, 40 * 0.99),
        ("B", "TP", None, 6 * 0.99),
        ("A", "BOD5", None, 30 * 0.99),
        ("A", "pH", 6.0, 9.0),  # no coefficients for pH
        ("B", "pH", 5.5, 9.0),
    ],
)
def test_allowed_limits_apply_kq_kf_except_to_ph(
    column: str, parameter: str, low: float | None, high: float
) -> None:
    choice = select_standard(STANDARDS, "water", date(2024, 6, 1))
    assert choice is not None
    lim = allowed_limits(choice, column, factor=0.9 * 1.1)[parameter]
    assert lim.low == (None if low is None else pytest.approx(low))
    assert lim.high == pytest.approx(high)
    assert "QCVN 40:2011/BTNMT column" in lim.source


def test_stack_limits_are_qcvn19_column_b() -> None:
    choice = select_standard(STANDARDS, "stack", date(2024, 6, 1))
    assert choice is not None
    limits = allowed_limits(choice, "B", factor=1.0)
    assert {p: lim.high for p, lim in limits.items()} == {
        "dust": 200,
        "SO2": 500,
        "NOx": 850,
        "CO": 1000,
    }
    assert {lim.unit for lim in limits.values()} == {"mg/Nm3"}


@pytest.mark.parametrize(
    ("table", "x", "expected"),
    [
        ("kf_discharge_m3_day", 50, 1.2),
        ("kf_discharge_m3_day", 51, 1.1),
        ("kf_discharge_m3_day", 5000, 1.0),
        ("kf_discharge_m3_day", 5001, 0.9),
        ("kq_river_flow_m3_s", 10, 0.9),
        ("kq_river_flow_m3_s", 600, 1.2),
        ("kq_lake_volume_m3", 5e6, 0.6),
        ("kp_emission_m3_h", 20000, 1.0),
        ("kp_emission_m3_h", 150000, 0.8),
    ],
)
def test_step_lookup_reads_the_coefficient_tables(table: str, x: float, expected: float) -> None:
    assert step_lookup(standards.coefficient_steps(table), x) == expected


def test_single_coefficients_and_region_map() -> None:
    assert standards.coefficient_value("kq_coastal_other") == 1.3
    assert standards.coefficient_value("kv_region", 1) == 0.6


@pytest.mark.parametrize(
    ("symbol", "medium", "parameter"),
    [
        ("pH", "water", "pH"),
        ("NH4", "water", "NH4"),
        ("TN", "water", "TN"),
        ("Flow", "water", None),
        ("PM", "stack", "dust"),
        ("SO2", "stack", "SO2"),
        ("NO", "stack", None),  # only through derived NOx
        ("PM2,5", "stack", None),
    ],
)
def test_limit_parameter_maps_feed_symbols(symbol: str, medium: str, parameter: str | None) -> None:
    assert limit_parameter(symbol, medium) == parameter  # type: ignore[arg-type]


def water_limits() -> dict[str, object]:
    choice = select_standard(STANDARDS, "water", date(2024, 6, 1))
    assert choice is not None
    return allowed_limits(choice, "B", factor=1.0)  # type: ignore[return-value]


def test_assess_counts_only_status_00_numeric_values() -> None:
    rows = [
        reading("COD", 140.0, "mg/L", 0),
        reading("COD", 170.0, "mg/L", 5),
        reading("COD", 900.0, "mg/L", 10, status="01"),  # calibrating
        reading("COD", None, "mg/L", 15, status="02"),
        reading("COD", 0.0, "mg/L", 20, status="02"),
    ]
    report = assess(rows, water_limits(), "water")  # type: ignore[arg-type]
    assert (report.counted, report.ignored) == (2, 3)
    [window] = report.windows
    assert (window.mean, window.samples, window.exceeded) == (155.0, 2, True)
    assert (window.start, window.end) == (T0, T0 + timedelta(hours=1))
    assert report.exceedances == (window,)


def test_assess_flags_ph_below_the_range() -> None:
    report = assess([reading("pH", 5.2, "-")], water_limits(), "water")  # type: ignore[arg-type]
    assert report.windows[0].exceeded


def test_assess_groups_by_window_aligned_to_local_midnight() -> None:
    rows = [reading("TSS", 50.0, "mg/L", m) for m in (0, 25, 40, 70)]
    report = assess(rows, water_limits(), "water", window=timedelta(minutes=30))  # type: ignore[arg-type]
    assert [(w.start.minute, w.samples) for w in report.windows] == [(0, 2), (30, 1), (0, 1)]


def test_assess_lists_unit_mismatches_instead_of_comparing() -> None:
    report = assess([reading("COD", 1.0, "g/m3")], water_limits(), "water")  # type: ignore[arg-type]
    assert report.windows == ()
    assert report.unit_mismatches == (("COD", "g/m3"),)


def test_assess_derives_nox_as_no2_from_no_and_no2() -> None:
    choice = select_standard(STANDARDS, "stack", date(2024, 6, 1))
    assert choice is not None
    limits = allowed_limits(choice, "B", factor=1.0)
    rows = [
        reading("NO", 400.0, "mg/Nm3"),
        reading("NO2", 300.0, "mg/Nm3"),
        reading("PM", 50.0, "mg/Nm3"),
    ]
    report = assess(rows, limits, "stack")
    by = {w.parameter: w for w in report.windows}
    assert by["NOx"].mean == pytest.approx(300 + 400 * NO_TO_NO2)
    assert by["NOx"].exceeded  # 913 > 850
    assert not by["dust"].exceeded


def test_assess_prefers_a_reported_nox_over_the_derived_one() -> None:
    choice = select_standard(STANDARDS, "stack", date(2024, 6, 1))
    assert choice is not None
    rows = [
        reading("NO", 400.0, "mg/Nm3"),
        reading("NO2", 300.0, "mg/Nm3"),
        reading("NOx", 800.0, "mg/Nm3"),
    ]
    report = assess(rows, allowed_limits(choice, "B", factor=1.0), "stack")
    assert [(w.parameter, w.mean) for w in report.windows] == [("NOx", 800.0)]


def every(minutes: int, count: int, start: datetime = T0) -> list[datetime]:
    return [start + k * minutes * MIN for k in range(count)]


def test_find_gaps_is_empty_for_files_every_five_minutes() -> None:
    arrivals = every(5, 12)
    assert find_gaps(arrivals, now=arrivals[-1] + 4 * MIN) == []


def test_find_gaps_reports_a_silence_longer_than_interval_plus_tolerance() -> None:
    arrivals = [*every(5, 3), T0 + 40 * MIN, T0 + 45 * MIN]
    gaps = find_gaps(arrivals, now=T0 + 46 * MIN, tolerance=2 * MIN)
    assert gaps == [Gap(T0 + 15 * MIN, T0 + 40 * MIN, T0 + 10 * MIN, open=False)]
    assert gaps[0].duration == 25 * MIN


def test_find_gaps_tolerates_a_late_file_within_tolerance() -> None:
    arrivals = [T0, T0 + 9 * MIN]
    assert find_gaps(arrivals, now=T0 + 10 * MIN, tolerance=5 * MIN) == []


def test_find_gaps_reports_an_open_gap_up_to_now() -> None:
    gaps = find_gaps(every(5, 3), now=T0 + 60 * MIN)
    assert gaps == [Gap(T0 + 15 * MIN, T0 + 60 * MIN, T0 + 10 * MIN, open=True)]


def test_find_gaps_sorts_resent_files_and_counts_since() -> None:
    arrivals = [T0 + 30 * MIN, T0 + 20 * MIN, T0 + 25 * MIN]
    gaps = find_gaps(arrivals, now=T0 + 31 * MIN, since=T0)
    assert gaps == [Gap(T0, T0 + 20 * MIN, None, open=False)]


def test_find_gaps_with_no_files_since_start_is_one_open_gap() -> None:
    assert find_gaps([], now=T0 + 30 * MIN, since=T0) == [Gap(T0, T0 + 30 * MIN, None, open=True)]
    assert find_gaps([], now=T0) == []


def test_find_gaps_rejects_naive_times() -> None:
    with pytest.raises(ValueError, match="time zone"):
        find_gaps([datetime(2024, 1, 1)], now=T0)


def test_effluent_data_names_sources_and_status() -> None:
    for std in STANDARDS:
        assert std.source
        assert "re-checked" in std.status
        assert std.successor is not None
        assert not std.successor_loaded


def test_column_and_step_lookups_refuse_unknown_values() -> None:
    with pytest.raises(KeyError, match="column 'C'"):
        STANDARDS[0].column("C")
    with pytest.raises(ValueError, match="above every step"):
        step_lookup([(10.0, 1.0)], 11.0)


def test_assess_skips_parameters_without_a_limit() -> None:
    limits = {"COD": water_limits()["COD"]}
    report = assess([reading("TSS", 500.0, "mg/L")], limits, "water")  # type: ignore[arg-type]
    assert (report.windows, report.counted) == ((), 0)
