"""Decoder for the JSON topic convention `lhos/<site code>/<tag path>`.

Accepted payloads (UTF-8 JSON), on topic `lhos/<site>/<path>`:

- `{"ts": T, "value": V}`: one point; the tag is `<path>`, which must not be empty.
- `{"ts": T, "values": {"<sub/path>": V, ...}}`: several points of one instant; each tag is
  `<path>/<sub/path>`, or just `<sub/path>` when the topic is `lhos/<site>`.
- a JSON list of such objects, e.g. a buffered backlog.

`ts` is passed on as sent (ISO 8601 string, epoch seconds or milliseconds, or absent) and `value`
as sent: the sink validates both and dead-letters single points. A message whose shape is wrong
(bad JSON, unknown keys, empty topic levels) yields no points and one problem: all or nothing,
so a dead letter can be replayed as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.sources.decoder import Decoded, InboundMessage, SiteBatch

TOPIC_ROOT = "lhos"
_KEYS = frozenset({"ts", "value", "values"})
_TIMESTAMP_TYPES = (str, int, float)  # checked with `type(...) in`, which leaves out bool
# Topics name tags, so there are about as many as tags; past this many remembered topics the
# cache is emptied rather than grown (a flood of random topics cannot exhaust memory).
_TOPIC_CACHE_SIZE = 65_536


class _ShapeError(ValueError):
    """The payload is JSON but not one of the accepted shapes."""


@dataclass(frozen=True, slots=True)
class TopicAddress:
    """The site and tag prefix a topic names."""

    site: str
    prefix: str


def parse_topic(topic: str) -> TopicAddress:
    """Split `lhos/<site>[/<path>]`; raise `ValueError` for another root or an empty level."""
    levels = topic.split("/")
    if len(levels) < 2 or levels[0] != TOPIC_ROOT:
        raise ValueError(f"topic {topic!r} is not lhos/<site>/<tag path>")
    if any(level == "" for level in levels[1:]):
        raise ValueError(f"topic {topic!r} has an empty level")
    return TopicAddress(site=levels[1], prefix="/".join(levels[2:]))


def _timestamp(obj: Mapping[str, object]) -> str | int | float | None:
    ts = obj.get("ts")
    if ts is None or type(ts) in _TIMESTAMP_TYPES:
        return ts  # type: ignore[return-value]
    if isinstance(ts, str | int | float) and not isinstance(ts, bool):
        return ts
    raise _ShapeError(f"ts must be a string or a number, not {type(ts).__name__}")


def _join(prefix: str, key: object) -> str:
    # Same as "no level of key is empty", without splitting: the hot path of the values form.
    if not isinstance(key, str) or not key or key[0] == "/" or key[-1] == "/" or "//" in key:
        raise _ShapeError(f"tag key {key!r} is empty or has an empty level")
    return f"{prefix}/{key}" if prefix else key


def _points_of(obj: object, prefix: str) -> list[RawPoint]:
    if not isinstance(obj, dict):
        raise _ShapeError(f"expected a JSON object, got {type(obj).__name__}")
    if len(obj) == 2 and "value" in obj and "ts" in obj and prefix:  # the common one-point form
        return [RawPoint(prefix, _timestamp(obj), obj["value"])]
    unknown = sorted(set(obj) - _KEYS)
    if unknown:
        raise _ShapeError(f"unknown key(s) {', '.join(unknown)}; allowed: ts, value, values")
    if ("value" in obj) == ("values" in obj):
        raise _ShapeError('give exactly one of "value" or "values"')
    ts = _timestamp(obj)
    if "value" in obj:
        if not prefix:
            raise _ShapeError('"value" needs a tag path in the topic: lhos/<site>/<tag path>')
        return [RawPoint(tag=prefix, ts=ts, value=obj["value"])]
    values = obj["values"]
    if not isinstance(values, dict) or not values:
        raise _ShapeError('"values" must be a non-empty object of tag: value')
    return [RawPoint(_join(prefix, key), ts, v) for key, v in values.items()]


def decode_payload(payload: bytes, prefix: str) -> list[RawPoint]:
    """The points of one payload; raises `ValueError` naming what is wrong."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        raise ValueError(f"invalid JSON: {err}") from err
    if not isinstance(document, list):
        try:
            return _points_of(document, prefix)
        except _ShapeError as err:
            raise ValueError(str(err)) from err
    if not document:
        raise ValueError("empty list: no points")
    points: list[RawPoint] = []
    for index, obj in enumerate(document):
        try:
            points.extend(_points_of(obj, prefix))
        except _ShapeError as err:
            raise ValueError(f"element {index}: {err}") from err
    return points


class JsonTopicDecoder:
    """The `lhos/#` convention as a `MessageDecoder`; stateless, so safe behind shared groups.

    `sites` narrows the subscription to `lhos/<site>/#` for each given site code. Parsed topics
    are remembered (a pure function of the topic), the only state; it is not shared.
    """

    source = "mqtt"

    def __init__(self, sites: Sequence[str] = ()) -> None:
        if any(not s or "/" in s or "+" in s or "#" in s for s in sites):
            raise ValueError(f"site codes must be single topic levels: {list(sites)}")
        self.topic_filters: tuple[str, ...] = tuple(f"{TOPIC_ROOT}/{s}/#" for s in sites) or (
            f"{TOPIC_ROOT}/#",
        )
        self._addresses: dict[str, TopicAddress | str] = {}

    def accepts(self, topic: str) -> bool:
        """Topics under `lhos/`."""
        return topic == TOPIC_ROOT or topic.startswith(f"{TOPIC_ROOT}/")

    def decode(self, message: InboundMessage) -> Decoded:
        """One site batch, or one problem naming what is wrong with the topic or payload."""
        address = self._address(message.topic)
        if isinstance(address, str):
            return Decoded.bad(address)
        try:
            points = decode_payload(message.payload, address.prefix)
        except ValueError as err:
            return Decoded.bad(str(err), address.site)
        return Decoded(batches=(SiteBatch(address.site, tuple(points)),))

    def _address(self, topic: str) -> TopicAddress | str:
        """The parsed topic, or why it is not one of ours."""
        found = self._addresses.get(topic)
        if found is None:
            try:
                found = parse_topic(topic)
            except ValueError as err:
                found = str(err)
            if len(self._addresses) >= _TOPIC_CACHE_SIZE:
                self._addresses.clear()
            self._addresses[topic] = found
        return found
