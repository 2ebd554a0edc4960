"""The columnar fast path stores exactly what the per-point path would, or steps aside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pyarrow as pa
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from lighthouse_os.telemetry.api import points_from_body
from lighthouse_os.telemetry.columnar import (
    TagColumns,
    check_columns,
    columns_of_points,
    parse_columns,
)
from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.service import to_arrow
from lighthouse_os.telemetry.validation import TagSpec, check_batch

NOW = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
TAGS = {
    "line1/press2/kwh": TagSpec(1, "line1/press2/kwh", "kW.h", "counter"),
    "line1/press2/temp": TagSpec(2, "line1/press2/temp", "Cel", "gauge", scale=0.1, offset=-5.0),
    "line1/press2/door": TagSpec(4, "line1/press2/door", "1", "event"),
    "line1/press2/state": TagSpec(3, "line1/press2/state", "1", "state", states=("off", "run")),
}
COLUMNS = TagColumns.of(TAGS)


def body(points: list[dict[str, object]], ndjson: bool) -> bytes:
    if ndjson:
        return b"\n".join(orjson.dumps(point) for point in points)
    return orjson.dumps({"points": points})


def fast(data: bytes, ndjson: bool) -> pa.Table | None:
    """The fast path on the body, which must agree with it on the body's decoded points."""
    columns = parse_columns(data, ndjson=ndjson)
    got = None if columns is None else check_columns(columns, COLUMNS, NOW)
    decoded = columns_of_points(points_from_body(data, ndjson=ndjson)) if data.strip() else None
    from_points = None if decoded is None else check_columns(decoded, COLUMNS, NOW)
    if got is not None:  # what the body path accepts, the decoded points' path accepts alike
        assert from_points is not None
        assert got.equals(from_points)
    return got


def per_point(data: bytes, ndjson: bool) -> tuple[pa.Table, int]:
    checked = check_batch(points_from_body(data, ndjson=ndjson), TAGS, NOW)
    return to_arrow(checked), len(checked.rejections)


CLEAN = [
    {"tag": "line1/press2/kwh", "ts": "2026-03-01T08:00:00+07:00", "value": 12.5},
    {"tag": "line1/press2/temp", "ts": "2026-03-01T00:59:59.25Z", "value": 300},
    {"tag": "line1/press2/door", "ts": "2026-02-28T19:00:00-05:30", "value": 1},
]


@pytest.mark.parametrize("ndjson", [False, True])
def test_a_clean_batch_takes_the_fast_path_and_stores_what_the_per_point_path_would(
    ndjson: bool,
) -> None:
    data = body(CLEAN, ndjson)
    got = fast(data, ndjson)
    assert got is not None
    expected, rejected = per_point(data, ndjson)
    assert rejected == 0
    assert got.equals(expected)
    assert got["value"].to_pylist() == [12.5, 25.0, 1.0]  # 300 x 0.1 - 5


@pytest.mark.parametrize(
    "point",
    [
        {"tag": "line1/press9/kwh", "ts": "2026-03-01T08:00:00+07:00", "value": 1},  # unknown
        {"tag": "line1/press2/state", "ts": "2026-03-01T08:00:00+07:00", "value": 1},  # state
        {"tag": "line1/press2/kwh", "ts": "2026-03-01T08:00:00", "value": 1},  # no offset
        {"tag": "line1/press2/kwh", "ts": "2026-02-30T08:00:00+07:00", "value": 1},  # no such day
        {"tag": "line1/press2/kwh", "ts": "2026-03-01T24:00:00+07:00", "value": 1},  # hour 24
        {"tag": "line1/press2/kwh", "ts": "2026-03-01T08:10:00+07:00", "value": 1},  # future
        {"tag": "line1/press2/kwh", "ts": "1999-12-31T23:59:59Z", "value": 1},  # before 2000
        {"tag": "line1/press2/kwh", "ts": 1e300, "value": 1},  # epoch, far future
        {"tag": "line1/press2/kwh", "ts": "2026-03-01T08:00:00+07:00", "value": "1"},  # text
        {"tag": "line1/press2/kwh", "ts": "2026-03-01T08:00:00+07:00", "value": None},
        {"tag": "line1/press2/kwh", "ts": "2026-03-01T08:00:00+07:00", "value": 2**60},
        {"tag": "line1/press2/kwh", "ts": "2026-03-01T08:00:00+07:00", "value": 1, "unit": "W"},
        {"tag": "line1/press2/door", "ts": "2026-03-01T08:00:00+07:00", "value": True},
        {"tag": "line1/press2/kwh", "value": 1},  # stamped on arrival
    ],
)
def test_a_batch_with_anything_unusual_steps_aside(point: dict[str, object]) -> None:
    for ndjson in (False, True):
        assert fast(body([*CLEAN, point], ndjson), ndjson) is None


@pytest.mark.parametrize(
    "point",
    [
        RawPoint("line1/press2/kwh", datetime(2026, 3, 1, tzinfo=UTC), 1.0),
        RawPoint("line1/press2/kwh", 1772326800, 1.0),  # epoch among ISO texts
        RawPoint("line1/press2/kwh", True, 1.0),
        RawPoint("line1/press2/kwh", None, 1.0),
        RawPoint("line1/press2/door", "2026-03-01T00:00:00Z", True),
        RawPoint("line1/press2/kwh", "2026-03-01T00:00:00Z", "1.5"),
        RawPoint("line1/press2/kwh", "2026-03-01T00:00:00Z", {"value": 1, "unit": "kW.h"}),
        RawPoint("line1/press2/kwh", "2026-03-01T00:00:00Z", 2**70),
    ],
)
def test_decoded_points_of_another_kind_step_aside(point: RawPoint) -> None:
    clean = RawPoint("line1/press2/kwh", "2026-03-01T00:00:00Z", 1.0)
    assert columns_of_points([clean]) is not None
    assert columns_of_points([clean, point]) is None


@pytest.mark.parametrize(
    "data", [b"", b"{}", b'{"points": null}', b"[]", b'{"points": [1]}', b'{"points": []} x']
)
def test_bodies_of_another_shape_step_aside(data: bytes) -> None:
    assert parse_columns(data, ndjson=False) is None or fast(data, False) is None


def test_a_batch_with_epoch_time_stamps_takes_the_fast_path_too() -> None:
    seconds = int(NOW.timestamp()) - 60
    batch = [
        {"tag": "line1/press2/kwh", "ts": seconds, "value": 1},
        {"tag": "line1/press2/temp", "ts": seconds + 0.5, "value": 2.5},
        {"tag": "line1/press2/door", "ts": seconds * 1000 + 250, "value": 1},
    ]
    for ndjson in (False, True):
        data = body(batch, ndjson)
        got = fast(data, ndjson)
        assert got is not None
        assert got.equals(per_point(data, ndjson)[0])
        mixed = body([*CLEAN, *batch], ndjson)
        assert per_point(mixed, ndjson)[1] == 0
        assert fast(mixed, ndjson) is None  # text and numbers together: per-point path


instants = st.datetimes(
    min_value=datetime(1999, 12, 30), max_value=datetime(2026, 3, 2), timezones=st.just(UTC)
)
offsets = st.sampled_from(["Z", "+07:00", "-05:30", "+00:00", "+14:00", "-23:59"])
points = st.fixed_dictionaries(
    {
        "tag": st.sampled_from([*TAGS, "line1/press2/none"]),
        "ts": st.one_of(
            st.tuples(instants, offsets, st.integers(0, 6)),
            # Epoch seconds or milliseconds, as integers or with a fraction, and beyond.
            st.tuples(instants, st.sampled_from([1, 1_000]), st.booleans()),
            st.integers(-(2**60), 2**60),
        ),
        "value": st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, width=64),
            st.integers(-(2**55), 2**55),
        ),
    }
)


def render(instant: datetime, offset: str | int, detail: int | bool) -> str | int | float:
    """An ISO 8601 text with `offset` and `detail` fraction digits, or an epoch number in
    units of 1/`offset` s (`detail`: with its fraction), or an integer as it is."""
    if isinstance(offset, int):
        seconds = instant.timestamp() * offset
        return seconds if detail else int(seconds)
    return iso(instant, offset, int(detail))


def iso(instant: datetime, offset: str, digits: int) -> str:
    shifted = (
        instant
        if offset == "Z"
        else instant.astimezone(datetime.fromisoformat("2000-01-01T00:00:00" + offset).tzinfo)
    )
    text = shifted.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{shifted.microsecond:06d}"[:digits]
    return text + ("Z" if offset == "Z" else offset)


@given(st.lists(points, min_size=1, max_size=20), st.booleans())
def test_the_fast_path_agrees_with_the_per_point_path(
    raw: list[dict[str, object]], ndjson: bool
) -> None:
    batch = [
        {**p, "ts": p["ts"] if isinstance(p["ts"], int) else render(*p["ts"])}  # type: ignore[misc]
        for p in raw
    ]
    data = body(batch, ndjson)
    expected, rejected = per_point(data, ndjson)
    got = fast(data, ndjson)
    event("fast path" if got is not None else "per-point path")
    if got is None:
        # Stepping aside is only allowed for a rejected point, a state tag (names map to codes),
        # a value too large to be sure of its rounding, or text and number stamps mixed.
        assert (
            rejected
            or any(p["tag"] == "line1/press2/state" for p in batch)
            or any(abs(float(p["value"])) >= 2**53 for p in batch)  # type: ignore[arg-type]
            or len({type(p["ts"]) is str for p in batch}) == 2
        )
    else:
        assert rejected == 0
        assert got.equals(expected)


def test_the_fast_path_needs_a_whole_second_tolerance_only() -> None:
    ahead = (NOW + timedelta(minutes=5)).isoformat()
    assert fast(body([{"tag": "line1/press2/kwh", "ts": ahead, "value": 1}], False), False)
