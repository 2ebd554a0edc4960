"""The lhos/<site>/<tag path> JSON convention: accepted shapes and dead-letter reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.sources.decoder import InboundMessage
from lighthouse_os.telemetry.sources.mqtt.source import JsonTopicDecoder, parse_topic

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _decode(topic: str, payload: bytes | str) -> tuple[list[tuple[str, RawPoint]], list[str]]:
    raw = payload.encode() if isinstance(payload, str) else payload
    decoded = JsonTopicDecoder().decode(InboundMessage(topic, raw, NOW))
    points = [(b.site, p) for b in decoded.batches for p in b.points]
    return points, [p.reason for p in decoded.problems]


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        (
            "lhos/hcm-01/line1/press2/kwh",
            '{"ts": 1700000000, "value": 12.5}',
            [("hcm-01", RawPoint("line1/press2/kwh", 1700000000, 12.5))],
        ),
        (
            "lhos/hcm-01/line1",
            '{"ts": "2026-01-05T08:00:00+07:00", "values": {"press2/kwh": 1, "oven/temp": 180}}',
            [
                ("hcm-01", RawPoint("line1/press2/kwh", "2026-01-05T08:00:00+07:00", 1)),
                ("hcm-01", RawPoint("line1/oven/temp", "2026-01-05T08:00:00+07:00", 180)),
            ],
        ),
        (
            "lhos/hcm-01",
            '{"ts": 1, "values": {"line1/kwh": 2}}',
            [("hcm-01", RawPoint("line1/kwh", 1, 2))],
        ),
        (
            "lhos/s/a",
            '[{"ts": 1, "value": 1}, {"ts": 2, "value": 2}]',
            [("s", RawPoint("a", 1, 1)), ("s", RawPoint("a", 2, 2))],
        ),
        ("lhos/s/a", '{"value": "on"}', [("s", RawPoint("a", None, "on"))]),
    ],
)
def test_json_decoder_yields_points_when_shape_is_accepted(
    topic: str, payload: str, expected: list[tuple[str, RawPoint]]
) -> None:
    points, problems = _decode(topic, payload)
    assert problems == []
    assert points == expected


@pytest.mark.parametrize(
    ("topic", "payload", "reason_part"),
    [
        ("lhos/s/a", "{not json", "invalid JSON"),
        ("lhos/s/a", b"\xff\xfe", "invalid JSON"),
        ("lhos/s/a", "42", "expected a JSON object"),
        ("lhos/s/a", "[]", "empty list"),
        ("lhos/s/a", '{"ts": 1}', 'exactly one of "value" or "values"'),
        ("lhos/s/a", '{"ts": 1, "value": 1, "values": {"b": 1}}', "exactly one"),
        ("lhos/s/a", '{"ts": 1, "value": 1, "unit": "kWh"}', "unknown key(s) unit"),
        ("lhos/s/a", '{"ts": true, "value": 1}', "ts must be a string or a number"),
        ("lhos/s/a", '{"ts": [1], "value": 1}', "ts must be a string or a number"),
        ("lhos/s", '{"ts": 1, "value": 1}', "needs a tag path in the topic"),
        ("lhos/s/a", '{"ts": 1, "values": {}}', "non-empty object"),
        ("lhos/s/a", '{"ts": 1, "values": [1]}', "non-empty object"),
        ("lhos/s/a", '{"ts": 1, "values": {"b//c": 1}}', "empty level"),
        ("lhos/s/a", '[{"ts": 1, "value": 1}, {"ts": 2}]', "element 1:"),
        ("lhos//a", '{"ts": 1, "value": 1}', "empty level"),
        ("lhos/s/a/", '{"ts": 1, "value": 1}', "empty level"),
        ("other/s/a", '{"ts": 1, "value": 1}', "is not lhos/<site>/<tag path>"),
    ],
)
def test_json_decoder_reports_problem_when_message_is_bad(
    topic: str, payload: str | bytes, reason_part: str
) -> None:
    points, problems = _decode(topic, payload)
    assert points == []
    assert len(problems) == 1
    assert reason_part in problems[0]


def test_json_decoder_names_site_in_problem_when_topic_is_valid() -> None:
    decoded = JsonTopicDecoder().decode(InboundMessage("lhos/hcm-07/a", b"{", NOW))
    assert decoded.problems[0].site == "hcm-07"


def test_json_decoder_subscribes_only_given_sites() -> None:
    assert JsonTopicDecoder().topic_filters == ("lhos/#",)
    assert JsonTopicDecoder(["a", "b"]).topic_filters == ("lhos/a/#", "lhos/b/#")
    with pytest.raises(ValueError, match="single topic levels"):
        JsonTopicDecoder(["a/b"])


@pytest.mark.parametrize(
    ("topic", "accepted"),
    [("lhos/s/a", True), ("lhos", True), ("lhosx/s/a", False), ("spBv1.0/g/NDATA/e", False)],
)
def test_json_decoder_accepts_only_lhos_topics(topic: str, accepted: bool) -> None:
    assert JsonTopicDecoder().accepts(topic) is accepted


def test_parse_topic_splits_site_and_prefix() -> None:
    address = parse_topic("lhos/hcm-01/line1/press2")
    assert (address.site, address.prefix) == ("hcm-01", "line1/press2")


_level = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=8)
_finite = st.floats(allow_nan=False, allow_infinity=False)


@given(
    site=_level,
    prefix=st.lists(_level, max_size=3),
    values=st.dictionaries(
        st.lists(_level, min_size=1, max_size=3).map("/".join), _finite, min_size=1, max_size=10
    ),
    ts=st.integers(min_value=0, max_value=2**41),
)
def test_json_decoder_keeps_every_value_of_values_form(
    site: str, prefix: list[str], values: dict[str, float], ts: int
) -> None:
    topic = "/".join(["lhos", site, *prefix])
    payload = orjson.dumps({"ts": ts, "values": values})
    points, problems = _decode(topic, payload)
    assert problems == []
    joined = "/".join(prefix)
    expected = {(f"{joined}/{k}" if joined else k): v for k, v in values.items()}
    assert {p.tag: p.value for _, p in points} == expected
    assert all(s == site and p.ts == ts for s, p in points)
