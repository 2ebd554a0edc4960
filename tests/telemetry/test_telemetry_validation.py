"""Point validation: every rule of the write path, on a table of points."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.validation import (
    TagSpec,
    check_batch,
    epoch_us,
    reason_code,
)

NOW = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 08:00 in Ho Chi Minh City
ICT = timezone(timedelta(hours=7))
TAGS = {
    "line1/press2/kwh": TagSpec(1, "line1/press2/kwh", "kW.h", "counter"),
    "line1/press2/temp": TagSpec(2, "line1/press2/temp", "Cel", "gauge", scale=0.1, offset=-5.0),
    "line1/press2/state": TagSpec(3, "line1/press2/state", "1", "state", states=("off", "run")),
    "line1/press2/door": TagSpec(4, "line1/press2/door", "1", "event"),
    "line1/press2/mode": TagSpec(5, "line1/press2/mode", "1", "state"),
    "line1/press2/big": TagSpec(6, "line1/press2/big", "W", "gauge", scale=10.0),
}


def _one(tag: str, ts: object, value: object) -> tuple[float | None, str | None]:
    checked = check_batch([RawPoint(tag, ts, value)], TAGS, NOW)  # type: ignore[arg-type]
    if checked.rejections:
        return None, reason_code(checked.rejections[0].reason)
    return checked.values[0], None


@pytest.mark.parametrize(
    ("tag", "ts", "value", "stored", "reason"),
    [
        ("line1/press2/kwh", "2026-03-01T08:00:00+07:00", 12.5, 12.5, None),
        ("line1/press2/kwh", "2026-03-01T01:00:00Z", 12, 12.0, None),
        ("line1/press2/kwh", "2026-03-01T08:00:00+07:00", "12.5", 12.5, None),
        ("line1/press2/kwh", 1772326800, 1.0, 1.0, None),  # epoch seconds
        ("line1/press2/kwh", 1772326800000, 1.0, 1.0, None),  # epoch milliseconds
        ("line1/press2/kwh", datetime(2026, 3, 1, 8, tzinfo=ICT), 1.0, 1.0, None),
        ("line1/press2/kwh", None, 1.0, 1.0, None),  # stamped on arrival
        ("line1/press2/temp", "2026-03-01T08:00:00+07:00", 300, 25.0, None),  # 300 x 0.1 - 5
        ("line1/press2/state", "2026-03-01T08:00:00+07:00", "run", 1.0, None),
        ("line1/press2/state", "2026-03-01T08:00:00+07:00", 0, 0.0, None),
        ("line1/press2/state", "2026-03-01T08:00:00+07:00", "1", 1.0, None),
        ("line1/press2/mode", "2026-03-01T08:00:00+07:00", 7, 7.0, None),
        ("line1/press2/door", "2026-03-01T08:00:00+07:00", True, 1.0, None),
        ("line1/press2/kwh", "2026-03-01T08:00:00+07:00", {"value": 2, "unit": "kW.h"}, 2.0, None),
        ("line1/press9/kwh", "2026-03-01T08:00:00+07:00", 1.0, None, "unknown_tag"),
        ("", "2026-03-01T08:00:00+07:00", 1.0, None, "missing_tag"),
        ("line1/press2/kwh", "2026-03-01T08:00:00+07:00", "abc", None, "not_a_number"),
        ("line1/press2/kwh", "2026-03-01T08:00:00+07:00", None, None, "not_a_number"),
        ("line1/press2/kwh", "2026-03-01T08:00:00+07:00", [1], None, "not_a_number"),
        ("line1/press2/kwh", "2026-03-01T08:00:00+07:00", True, None, "not_a_number"),
        ("line1/press2/kwh", "2026-03-01T08:00:00+07:00", math.nan, None, "not_finite"),
        ("line1/press2/kwh", "2026-03-01T08:00:00+07:00", "inf", None, "not_finite"),
        ("line1/press2/kwh", "2026-03-01T08:00:00+07:00", 10**400, None, "not_finite"),
        ("line1/press2/big", "2026-03-01T08:00:00+07:00", 1.7e308, None, "not_finite"),
        ("line1/press2/kwh", "2026-03-01T08:00:00", 1.0, None, "naive_timestamp"),
        ("line1/press2/kwh", datetime(2026, 3, 1, 8), 1.0, None, "naive_timestamp"),
        ("line1/press2/kwh", "yesterday", 1.0, None, "bad_timestamp"),
        ("line1/press2/kwh", [2026], 1.0, None, "bad_timestamp"),
        ("line1/press2/kwh", math.inf, 1.0, None, "bad_timestamp"),
        ("line1/press2/kwh", "2026-03-01T08:05:00+07:00", 1.0, 1.0, None),  # exactly +5 min
        ("line1/press2/kwh", "2026-03-01T08:05:00.000001+07:00", 1.0, None, "future_timestamp"),
        ("line1/press2/kwh", "2000-01-01T00:00:00Z", 1.0, 1.0, None),
        ("line1/press2/kwh", "1999-12-31T23:59:59Z", 1.0, None, "timestamp_before_2000"),
        ("line1/press2/kwh", 0, 1.0, None, "timestamp_before_2000"),
        ("line1/press2/kwh", 86_401_772_326_800_000, 1.0, None, "future_timestamp"),  # ms
        ("line1/press2/kwh", 1e300, 1.0, None, "future_timestamp"),
        (
            "line1/press2/kwh",
            "2026-03-01T08:00:00+07:00",
            {"value": 2, "unit": "kW"},
            None,
            "unit_mismatch",
        ),
        ("line1/press2/state", "2026-03-01T08:00:00+07:00", "fault", None, "unknown_state"),
        ("line1/press2/state", "2026-03-01T08:00:00+07:00", 2, None, "unknown_state"),
        ("line1/press2/state", "2026-03-01T08:00:00+07:00", 0.5, None, "unknown_state"),
        ("line1/press2/mode", "2026-03-01T08:00:00+07:00", -1, None, "unknown_state"),
    ],
)
def test_validation_rules(
    tag: str, ts: object, value: object, stored: float | None, reason: str | None
) -> None:
    assert _one(tag, ts, value) == (stored, reason)


def test_validation_rejections_keep_index_and_tag_and_the_rest_passes() -> None:
    points = [
        RawPoint("line1/press2/kwh", "2026-03-01T08:00:00+07:00", 1.0),
        RawPoint("nope", "2026-03-01T08:00:00+07:00", 1.0),
        RawPoint("line1/press2/kwh", "2026-03-01T08:01:00+07:00", "x"),
        RawPoint("line1/press2/kwh", "2026-03-01T08:02:00+07:00", 3.0),
    ]
    checked = check_batch(points, TAGS, NOW)
    assert checked.indexes == [0, 3]
    assert [(r.index, r.tag, reason_code(r.reason)) for r in checked.rejections] == [
        (1, "nope", "unknown_tag"),
        (2, "line1/press2/kwh", "not_a_number"),
    ]
    assert checked.unknown_tags


def test_validation_timestamps_are_utc_microseconds() -> None:
    checked = check_batch(
        [RawPoint("line1/press2/kwh", "2026-03-01T08:00:00.5+07:00", 1)], TAGS, NOW
    )
    assert checked.ts_us == [epoch_us(NOW) + 500_000]
    assert checked.series_ids == [1]


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2026, 2, 28), timezones=st.timezones()
    )
)
def test_validation_iso_and_datetime_stamps_agree(moment: datetime) -> None:
    if moment.utcoffset() is None:
        return
    as_text = check_batch([RawPoint("line1/press2/kwh", moment.isoformat(), 1)], TAGS, NOW)
    as_object = check_batch([RawPoint("line1/press2/kwh", moment, 1)], TAGS, NOW)
    assert as_text.ts_us == as_object.ts_us


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_validation_scaling_is_linear(raw: float) -> None:
    checked = check_batch([RawPoint("line1/press2/temp", NOW, raw)], TAGS, NOW)
    assert checked.values == [pytest.approx(raw * 0.1 - 5.0)]
