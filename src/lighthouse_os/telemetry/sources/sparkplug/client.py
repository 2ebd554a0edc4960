"""Sparkplug B wire format: topic namespace and payload encoding (imports nothing from the app).

Topics (Sparkplug 3.0 §4.1): `spBv1.0/<group>/<type>/<edge node>[/<device>]`, and
`spBv1.0/STATE/<host id>` for host application state. Payloads are protobuf messages whose
schema is `sparkplug_b.proto` next to this file, loaded at import time by `protofile.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError

from lighthouse_os.telemetry.sources.sparkplug.protofile import load_messages

NAMESPACE = "spBv1.0"
PROTO_FILE = Path(__file__).with_name("sparkplug_b.proto")
MESSAGES = load_messages(PROTO_FILE)
PayloadMessage: Any = MESSAGES["Payload"]
SEQ_MODULUS = 256


class SparkplugError(ValueError):
    """A topic or payload that does not follow Sparkplug B."""


class MessageType(StrEnum):
    """The message types of the Sparkplug topic namespace."""

    NBIRTH = "NBIRTH"
    NDEATH = "NDEATH"
    DBIRTH = "DBIRTH"
    DDEATH = "DDEATH"
    NDATA = "NDATA"
    DDATA = "DDATA"
    NCMD = "NCMD"
    DCMD = "DCMD"
    STATE = "STATE"


_DEVICE_TYPES = frozenset(
    {MessageType.DBIRTH, MessageType.DDEATH, MessageType.DDATA, MessageType.DCMD}
)


@dataclass(frozen=True, slots=True)
class SparkplugTopic:
    """A parsed topic; `edge_node` holds the host id for STATE."""

    group: str
    message_type: MessageType
    edge_node: str
    device: str | None = None

    def __str__(self) -> str:
        if self.message_type is MessageType.STATE:
            return f"{NAMESPACE}/STATE/{self.edge_node}"
        tail = f"/{self.device}" if self.device is not None else ""
        return f"{NAMESPACE}/{self.group}/{self.message_type}/{self.edge_node}{tail}"


def parse_topic(topic: str) -> SparkplugTopic:
    """Split a Sparkplug topic; raise `SparkplugError` naming what is wrong."""
    levels = topic.split("/")
    if levels[0] != NAMESPACE or any(level == "" for level in levels):
        raise SparkplugError(f"topic {topic!r} is not spBv1.0/<group>/<type>/<edge node>[/<dev>]")
    if len(levels) == 3 and levels[1] == MessageType.STATE:
        return SparkplugTopic("", MessageType.STATE, levels[2])
    if len(levels) not in (4, 5):
        raise SparkplugError(f"topic {topic!r} has {len(levels)} levels, expected 4 or 5")
    try:
        kind = MessageType(levels[2])
    except ValueError:
        raise SparkplugError(f"unknown Sparkplug message type {levels[2]!r}") from None
    device = levels[4] if len(levels) == 5 else None
    if (device is not None) != (kind in _DEVICE_TYPES):
        need = "must name a device" if device is None else "must not name a device"
        raise SparkplugError(f"{kind} topic {topic!r} {need}")
    return SparkplugTopic(levels[1], kind, levels[3], device)


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric as sent; `value_field` names the protobuf field that carried `value`."""

    name: str | None = None
    alias: int | None = None
    timestamp_ms: int | None = None
    datatype: int | None = None
    value: object = None
    value_field: str | None = None
    is_null: bool = False
    is_historical: bool = False
    is_transient: bool = False


@dataclass(frozen=True, slots=True)
class Payload:
    """One Sparkplug B payload, without the parts a host does not store (uuid, body)."""

    timestamp_ms: int | None = None
    seq: int | None = None
    metrics: tuple[Metric, ...] = field(default_factory=tuple)


def _opt(message: Any, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


def _metric(raw: Any) -> Metric:
    value_field = raw.WhichOneof("value")
    return Metric(
        name=_opt(raw, "name"),
        alias=_opt(raw, "alias"),
        timestamp_ms=_opt(raw, "timestamp"),
        datatype=_opt(raw, "datatype"),
        value=getattr(raw, value_field) if value_field else None,
        value_field=value_field,
        is_null=raw.is_null,
        is_historical=raw.is_historical,
        is_transient=raw.is_transient,
    )


def decode_payload(data: bytes) -> Payload:
    """Parse the protobuf bytes of a Sparkplug B payload."""
    try:
        raw = PayloadMessage.FromString(data)
    except DecodeError as err:
        raise SparkplugError(f"not a Sparkplug B payload: {err}") from err
    return Payload(
        timestamp_ms=_opt(raw, "timestamp"),
        seq=_opt(raw, "seq"),
        metrics=tuple(_metric(m) for m in raw.metrics),
    )


def _fill(target: Any, metric: Metric) -> None:
    for name in ("name", "alias", "datatype"):
        if getattr(metric, name) is not None:
            setattr(target, name, getattr(metric, name))
    if metric.timestamp_ms is not None:
        target.timestamp = metric.timestamp_ms
    for flag in ("is_null", "is_historical", "is_transient"):
        if getattr(metric, flag):  # proto2: setting False would still put the field on the wire
            setattr(target, flag, True)
    if metric.value_field is not None and not metric.is_null:
        setattr(target, metric.value_field, metric.value)


def encode_payload(payload: Payload) -> bytes:
    """Protobuf bytes of a payload: for tests, simulators and benchmarks (we never publish)."""
    raw = PayloadMessage()
    if payload.timestamp_ms is not None:
        raw.timestamp = payload.timestamp_ms
    if payload.seq is not None:
        raw.seq = payload.seq
    for metric in payload.metrics:
        _fill(raw.metrics.add(), metric)
    return bytes(raw.SerializeToString())
