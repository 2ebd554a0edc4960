"""Environmental findings → alert events (pure): worked examples of the QCVN 05, QCVN 40 and gap
mappings, of `to_events` across runs, and of the messages in Vietnamese and English."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from babel.numbers import format_decimal

from lighthouse_os.alerts.findings import (
    Finding,
    SeriesMark,
    Standard,
    air_findings,
    effluent_findings,
    gap_findings,
    to_events,
)
from lighthouse_os.alerts.messages import AlertMessage, english, english_number, render
from lighthouse_os.alerts.rules import AlertCleared, AlertRaised, Severity
from lighthouse_os.environment import qcvn, standards
from lighthouse_os.environment.averaging import HOUR, ICT, HourlyMeans
from lighthouse_os.environment.compliance import Gap, WindowResult
from lighthouse_os.web.i18n import translations

DAY = datetime(2025, 3, 3, tzinfo=ICT)  # a Monday, local midnight
LIMITS = standards.qcvn05_limits()
WARN = Severity.WARNING


def at(hour: float) -> datetime:
    return DAY + timedelta(hours=hour)


def vietnamese(message: AlertMessage) -> tuple[str, str]:
    """As the alert list shows it in Vietnamese: the vi catalog, Vietnamese numbers."""
    return render(
        message,
        translations("vi").gettext,
        lambda v: format_decimal(v, format="#,##0.##", locale="vi"),
    )


def _so2_day() -> list[HourlyMeans]:
    """20 µg/m³ all day but for a release at 10:00 (380) and 11:00 (410): 1-h limit 350."""
    release = {10: 380.0, 11: 410.0}
    return [HourlyMeans(at(h), so2=release.get(h, 20.0)) for h in range(24)]


# -- air ------------------------------------------------------------------------------------


def test_air_one_hour_means_above_350_are_exceeded_the_next_hour_is_back_within() -> None:
    found = air_findings("HCM-AQ-005", _so2_day(), LIMITS, start=DAY, until=at(24))
    hourly = [(f.at, f.exceeded, f.value) for f in found if f.series == "HCM-AQ-005/so2/1h"]
    assert len(hourly) == 24
    assert hourly[9:13] == [
        (at(10), False, 20.0),
        (at(11), True, 380.0),  # the hour 10:00–11:00 is known at 11:00
        (at(12), True, 410.0),
        (at(13), False, 20.0),
    ]
    # The day's mean (22 × 20 + 380 + 410) / 24 = 51.25 is within the 24-h limit of 125.
    (daily,) = [f for f in found if f.series == "HCM-AQ-005/so2/24h"]
    assert (daily.at, daily.exceeded, daily.value) == (at(24), False, pytest.approx(51.25))


def test_air_findings_agree_with_the_qcvn_exceedances_of_the_environment_core() -> None:
    hours = _so2_day()
    found = air_findings("S", hours, LIMITS, start=DAY, until=at(24))
    ours = sorted((f.at - HOUR, f.value) for f in found if f.exceeded)
    theirs = sorted((e.start, e.value) for e in qcvn.station_exceedances(hours, LIMITS))
    assert ours == theirs == [(at(10), 380.0), (at(11), 410.0)]


def _o3_day(missing: tuple[int, ...] = ()) -> list[HourlyMeans]:
    """O3 100 µg/m³ all day but 160 from 12:00 to 17:00: the 8-h limit is 120, so a window
    exceeds when it holds at least three of the high hours (3 × 60 / 8 = 22.5 > 20)."""
    return [
        HourlyMeans(at(h), o3=160.0 if 12 <= h <= 17 else 100.0)
        for h in range(24)
        if h not in missing
    ]


def test_air_eight_hour_windows_agree_with_the_qcvn_run_of_exceeding_windows() -> None:
    hours = _o3_day()
    found = air_findings("S", hours, LIMITS, start=DAY, until=at(24))
    eight = [f for f in found if f.series == "S/o3/8h"]
    assert len(eight) == 17  # windows starting 00:00 … 16:00 end by midnight
    exceeded = [(f.at - 8 * HOUR, f.value) for f in eight if f.exceeded]
    assert exceeded == [
        (at(7), 122.5), (at(8), 130.0), (at(9), 137.5), (at(10), 145.0), (at(11), 145.0),
        (at(12), 145.0), (at(13), 137.5), (at(14), 130.0), (at(15), 122.5),
    ]  # fmt: skip
    (run,) = qcvn.rolling_8h_exceedances({h.start: h.o3 for h in hours}, "o3", LIMITS)
    assert (run.start, run.end, run.windows, run.value) == (at(7), at(23), 9, 145.0)
    assert all(not f.exceeded for f in found if f.series == "S/o3/1h")  # 1-h limit is 200


def test_air_eight_hour_windows_need_six_of_eight_hours() -> None:
    # Without 09:00–11:00, windows starting 04:00 … 09:00 hold five hours: no 8-h mean.
    found = air_findings("S", _o3_day(missing=(9, 10, 11)), LIMITS, start=DAY, until=at(24))
    starts = [(f.at - 8 * HOUR).hour for f in found if f.series == "S/o3/8h"]
    assert starts == [0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 16]


def test_air_judges_only_periods_complete_by_until_and_days_with_18_hours() -> None:
    hours = [HourlyMeans(at(h), pm25=60.0) for h in range(17)]  # 17 hours: no daily mean
    found = air_findings("S", hours, LIMITS, start=DAY, until=at(24))
    assert [f.series for f in found] == []  # PM2.5 has no 1-h or 8-h limit in QCVN 05:2023
    hours = [HourlyMeans(at(h), pm25=60.0) for h in range(18)]
    (daily,) = air_findings("S", hours, LIMITS, start=DAY, until=at(24))
    assert (daily.series, daily.exceeded) == ("S/pm25/24h", True)  # 60 > 50 (limit until 2025)
    assert air_findings("S", hours, LIMITS, start=DAY, until=at(23)) == []  # day not over


def test_air_message_names_the_limit_and_renders_in_both_languages() -> None:
    found = air_findings(
        "HCM-AQ-005", _so2_day(), LIMITS, start=DAY, until=at(24), names={"so2": "SO₂"}
    )
    message = next(f.message for f in found if f.exceeded)
    assert message is not None
    assert english(message) == (
        "SO₂ above the QCVN 05:2023 1-hour limit at HCM-AQ-005",
        "The 1-hour mean was 380 µg/Nm³; QCVN 05:2023/BTNMT allows 350 µg/Nm³.",
    )
    assert vietnamese(message) == (
        "SO₂ vượt giới hạn trung bình 1 giờ của QCVN 05:2023 tại HCM-AQ-005",
        "Giá trị trung bình 1 giờ là 380 µg/Nm³; QCVN 05:2023/BTNMT cho phép 350 µg/Nm³.",
    )


# -- wastewater -----------------------------------------------------------------------------


def _window(
    parameter: str, start: float, mean: float, low: float | None, high: float
) -> WindowResult:
    exceeded = mean > high or (low is not None and mean < low)
    unit = "-" if parameter == "pH" else "mg/L"
    return WindowResult(
        parameter, at(start), at(start + 1), mean, 12, unit, low, high, exceeded, "QCVN 40"
    )


STANDARD = Standard("QCVN 40:2011/BTNMT", "B", 0.99, provisional=True)


def test_effluent_windows_become_findings_once_they_end() -> None:
    windows = [
        _window("COD", 10, 210.4, None, 148.5),
        _window("COD", 11, 90.0, None, 148.5),
        _window("COD", 12, 95.0, None, 148.5),  # ends at 13:00, after `until`
        _window("pH", 10, 5.2, 5.5, 9.0),
    ]
    found = effluent_findings("HCM_SGP_NUO001", windows, STANDARD, until=at(12.5))
    assert [(f.series, f.at, f.exceeded, f.value) for f in found] == [
        ("HCM_SGP_NUO001/COD", at(11), True, 210.4),
        ("HCM_SGP_NUO001/pH", at(11), True, 5.2),
        ("HCM_SGP_NUO001/COD", at(12), False, 90.0),
    ]
    cod, ph = found[0].message, found[1].message
    assert cod is not None
    assert ph is not None
    assert english(cod) == (
        "COD above the QCVN 40:2011/BTNMT limit at HCM_SGP_NUO001",
        "The hourly mean was 210.4 mg/L; QCVN 40:2011/BTNMT column B allows at most 148.5 mg/L"
        " (coefficient 0.99). Provisional: QCVN 40:2011/BTNMT has been replaced and its"
        " successor's table is not loaded yet.",
    )
    assert english(ph)[1].startswith(
        "The hourly mean was 5.2; QCVN 40:2011/BTNMT column B allows 5.5 to 9."
    )
    title_vi, detail_vi = vietnamese(cod)
    assert title_vi == "COD vượt giới hạn QCVN 40:2011/BTNMT tại HCM_SGP_NUO001"
    assert detail_vi.startswith("Giá trị trung bình 1 giờ là 210,4 mg/L;")  # decimal comma


# -- transmission gaps ----------------------------------------------------------------------


FIVE = timedelta(minutes=5)


def test_a_closed_gap_raises_at_its_start_and_clears_at_its_end_an_open_one_only_raises() -> None:
    gaps = [
        Gap(at(10 + 5 / 60), at(10 + 40 / 60), at(10), open=False),
        Gap(at(11 + 5 / 60), at(11.5), at(11), open=True),
    ]
    found = gap_findings("HCM_HPF_NUO001", gaps, at(11), FIVE)
    assert [(f.at, f.exceeded, f.value) for f in found] == [
        (at(10 + 5 / 60), True, 35.0),
        (at(10 + 40 / 60), False, 35.0),
        (at(11 + 5 / 60), True, 25.0),
    ]
    message = found[0].message
    assert message is not None
    assert english(message)[0] == "No data from monitoring station HCM_HPF_NUO001"
    assert vietnamese(message)[1] == (
        "Trạm phải gửi một tệp mỗi 5 phút (Thông tư 10/2021/TT-BTNMT); đã quá hạn 35 phút mà"
        " chưa có tệp nào."
    )


def test_a_station_sending_again_clears_at_its_latest_file_even_without_a_gap() -> None:
    # Buffered files resent late can fill a silence entirely: no gap is left to close it.
    assert [(f.at, f.exceeded) for f in gap_findings("S", [], at(11.5), FIVE)] == [
        (at(11.5), False)
    ]


# -- findings → events ----------------------------------------------------------------------


def _f(hour: float, exceeded: bool, series: str = "S/so2/1h") -> Finding:
    return Finding(series, at(hour), exceeded, 400.0 if exceeded else 20.0)


RUN = [_f(10, True), _f(11, True), _f(12, False), _f(13, False)]


def test_events_raise_each_exceeded_period_and_clear_once() -> None:
    events = to_events("env:air", RUN, since=at(9), marks={}, severity=WARN)
    assert events == [
        AlertRaised("env:air", "S/so2/1h", at(10), 400.0, WARN),
        AlertRaised("env:air", "S/so2/1h", at(11), 400.0, WARN),  # merged: 2 occurrences
        AlertCleared("env:air", "S/so2/1h", at(12), 20.0),
    ]


def test_events_are_not_repeated_for_what_the_alerts_already_reflect() -> None:
    marks = {"S/so2/1h": SeriesMark(at(12), active=False)}  # raised 10, 11; resolved 12
    assert to_events("env:air", RUN, since=at(11.5), marks=marks, severity=WARN) == []
    later = [*RUN, _f(14, True)]
    assert to_events("env:air", later, since=at(13.5), marks=marks, severity=WARN) == [
        AlertRaised("env:air", "S/so2/1h", at(14), 400.0, WARN)  # a new alert: resolved is final
    ]


def test_only_the_newest_finding_before_the_window_carries_its_state() -> None:
    # The engine starts at 14:00 (window from 12:00): 10:00 and 11:00 are history, but the
    # series has been exceeded since 11:30 and still is, so that raises once.
    history = [_f(10, True), _f(11, False), _f(11.5, True)]
    assert to_events("env:air", history, since=at(12), marks={}, severity=WARN) == [
        AlertRaised("env:air", "S/so2/1h", at(11.5), 400.0, WARN)
    ]
    # An alert still active whose condition ended while the engine was away is cleared.
    marks = {"S/so2/1h": SeriesMark(at(10), active=True)}
    assert to_events("env:air", history[:2], since=at(12), marks=marks, severity=WARN) == [
        AlertCleared("env:air", "S/so2/1h", at(11), 20.0)
    ]


def test_a_resolved_by_hand_alert_is_not_reopened_by_the_period_it_was_raised_for() -> None:
    marks = {"S/so2/1h": SeriesMark(at(11.25), active=False)}  # resolved by a person at 11:15
    assert to_events("env:air", [_f(11, True)], since=at(10), marks=marks, severity=WARN) == []


def test_without_repeat_a_silence_raises_once_while_active() -> None:
    silence = [_f(10, True, "S"), _f(10.5, True, "S"), _f(11, False, "S")]
    assert to_events(
        "env:feed_gap", silence, since=at(9), marks={}, severity=WARN, repeat=False
    ) == [
        AlertRaised("env:feed_gap", "S", at(10), 400.0, WARN),
        AlertCleared("env:feed_gap", "S", at(11), 20.0),
    ]


def test_series_are_independent_and_events_come_in_time_order() -> None:
    found = [_f(11, True, "A"), _f(10, True, "B"), _f(12, False, "B")]
    events = to_events("env:air", found, since=at(9), marks={}, severity=WARN)
    assert [(e.series, e.at, type(e).__name__) for e in events] == [
        ("B", at(10), "AlertRaised"),
        ("A", at(11), "AlertRaised"),
        ("B", at(12), "AlertCleared"),
    ]


# -- messages -------------------------------------------------------------------------------


def test_messages_round_trip_and_refuse_unknown_keys() -> None:
    message = AlertMessage("feed_gap", {"station": "X", "interval": 5, "silence": 12})
    assert AlertMessage.from_json(message.to_json()) == message
    assert AlertMessage.from_json(None) is None
    assert AlertMessage.from_json({"key": "retired", "args": {}}) is None
    with pytest.raises(ValueError, match="unknown alert message"):
        AlertMessage("retired")


@pytest.mark.parametrize(
    ("value", "text"),
    [(380.0, "380"), (148.5, "148.5"), (0.99, "0.99"), (30000, "30,000"), (1234.567, "1,234.57")],
)  # fmt: skip
def test_english_numbers_are_written_as_babel_writes_them(value: float, text: str) -> None:
    assert english_number(value) == text
    assert format_decimal(value, format="#,##0.##", locale="en") == text
