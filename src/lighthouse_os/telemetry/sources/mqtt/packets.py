"""MQTT 5.0 packets a subscriber needs, encoded and decoded (pure core: bytes in, bytes out).

Only the client side of a QoS 0/1 subscription: CONNECT, SUBSCRIBE, PUBACK, PINGREQ and
DISCONNECT out; CONNACK, SUBACK, PUBLISH, PINGRESP and DISCONNECT in. Section numbers are
those of the OASIS MQTT Version 5.0 standard (2019). `PacketReader` cuts a byte stream into
packets in bulk, so one `recv` of many small messages costs one call, not one per message
(ADR 0012).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

# Control packet types, the high nibble of the fixed header (§2.1.2).
CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14
PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"  # reason 0x00 Normal disconnection, no properties (§3.14.2.1)
# CONNECT properties (§3.1.2.11) and the CONNACK/SUBACK/DISCONNECT ones we read (§3.2.2.3).
_SESSION_EXPIRY, _RECEIVE_MAXIMUM, _REASON_STRING, _SERVER_KEEPALIVE = 0x11, 0x21, 0x1F, 0x13
MAX_REMAINING_LENGTH = 268_435_455  # four varint bytes (§1.5.5)
PACKET_ID_MAX = 65_535

REASONS = {
    0x80: "Unspecified error",
    0x81: "Malformed Packet",
    0x82: "Protocol Error",
    0x83: "Implementation specific error",
    0x84: "Unsupported Protocol Version",
    0x85: "Client Identifier not valid",
    0x86: "Bad User Name or Password",
    0x87: "Not authorized",
    0x88: "Server unavailable",
    0x89: "Server busy",
    0x8A: "Banned",
    0x8B: "Server shutting down",
    0x8D: "Keep Alive timeout",
    0x8E: "Session taken over",
    0x8F: "Topic Filter invalid",
    0x91: "Packet Identifier in use",
    0x93: "Receive Maximum exceeded",
    0x95: "Packet too large",
    0x97: "Quota exceeded",
    0x9C: "Use another server",
    0x9D: "Server moved",
    0x9E: "Shared Subscriptions not supported",
    0x9F: "Connection rate exceeded",
    0xA2: "Wildcard Subscriptions not supported",
}


class ProtocolError(ValueError):
    """The broker sent bytes that are not a valid MQTT 5 packet for a subscriber."""


def reason_name(code: int) -> str:
    """`0x87 Not authorized`: the code in hex and its name from the standard (§2.4)."""
    return f"0x{code:02X} {REASONS.get(code, 'Unknown reason')}"


def encode_varint(value: int) -> bytes:
    """Variable Byte Integer (§1.5.5): 7 bits a byte, least significant first."""
    if not 0 <= value <= MAX_REMAINING_LENGTH:
        raise ValueError(f"{value} does not fit a Variable Byte Integer")
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | 0x80 if value else digit)
        if not value:
            return bytes(out)


def decode_varint(data: bytes, pos: int) -> tuple[int, int] | None:
    """(value, position after it), or None when `data` ends inside the integer."""
    value, shift = 0, 0
    for index in range(pos, min(pos + 4, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    if len(data) >= pos + 4:
        raise ProtocolError("a Variable Byte Integer longer than 4 bytes")
    return None


def _string(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 65_535:
        raise ValueError("an MQTT string is at most 65,535 bytes")
    return struct.pack(">H", len(raw)) + raw


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + encode_varint(len(body)) + body


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """What goes into CONNECT (§3.1). `clean_start=False` resumes a stored session."""

    client_id: str
    keepalive_seconds: int
    clean_start: bool
    session_expiry_seconds: int
    receive_maximum: int
    username: str | None = None
    password: str | None = None


def connect_packet(request: ConnectRequest) -> bytes:
    """CONNECT with Session Expiry Interval and Receive Maximum properties (§3.1.2.11)."""
    flags = 0x02 if request.clean_start else 0x00
    credentials = b""
    if request.username is not None:
        flags |= 0x80
        credentials += _string(request.username)
        if request.password is not None:
            flags |= 0x40
            credentials += _string(request.password)
    properties = struct.pack(
        ">BIBH",
        _SESSION_EXPIRY,
        request.session_expiry_seconds,
        _RECEIVE_MAXIMUM,
        request.receive_maximum,
    )
    header = _string("MQTT") + struct.pack(">BBH", 5, flags, request.keepalive_seconds)
    body = header + encode_varint(len(properties)) + properties
    return _packet(CONNECT << 4, body + _string(request.client_id) + credentials)


def subscribe_packet(
    packet_id: int, filters: Sequence[str], qos: int, retain_handling: int = 1
) -> bytes:
    """SUBSCRIBE (§3.8), one option byte per filter: QoS and Retain Handling (§3.8.3.1)."""
    options = bytes((qos | retain_handling << 4,))
    payload = b"".join(_string(f) + options for f in filters)
    return _packet(SUBSCRIBE << 4 | 0x02, struct.pack(">HB", packet_id, 0) + payload)


def publish_packet(topic: str, payload: bytes, qos: int = 0, packet_id: int = 0) -> bytes:
    """PUBLISH (§3.3) without properties; a QoS 1 one needs a packet id from 1 to 65535.

    The worker never publishes; publishers in tests and benchmarks use this.
    """
    if qos not in (0, 1) or (qos == 1) != (0 < packet_id <= PACKET_ID_MAX):
        raise ValueError("QoS 0 without a packet id, or QoS 1 with one from 1 to 65535")
    head = _string(topic) + (packet_id.to_bytes(2, "big") if qos else b"")
    return _packet(PUBLISH << 4 | qos << 1, head + b"\x00" + payload)


def puback_packets(packet_ids: Iterable[int]) -> bytes:
    """PUBACKs with reason Success, in the short form without reason code (§3.4.2.1)."""
    return b"".join(b"\x40\x02" + pid.to_bytes(2, "big") for pid in packet_ids)


@dataclass(frozen=True, slots=True)
class Connack:
    """CONNACK (§3.2): refused when `reason_code` >= 0x80.

    `server_keepalive` is the Server Keep Alive property: when present the client must use it
    instead of the keep-alive it asked for (§3.2.2.3.14). `receive_maximum` is how many QoS 1
    publications the broker takes unacknowledged from us (65,535 when absent, §3.2.2.3.3).
    """

    session_present: bool
    reason_code: int
    reason_string: str | None = None
    server_keepalive: int | None = None
    receive_maximum: int = PACKET_ID_MAX

    @property
    def refused(self) -> bool:
        """Whether the broker refused the connection."""
        return self.reason_code >= 0x80

    def describe(self) -> str:
        """The reason in words, with the broker's reason string when it gave one."""
        detail = f" ({self.reason_string})" if self.reason_string else ""
        return reason_name(self.reason_code) + detail


def parse_connack(body: bytes) -> Connack:
    """CONNACK body: acknowledge flags, reason code, properties (§3.2.2)."""
    if len(body) < 2:
        raise ProtocolError("CONNACK shorter than 2 bytes")
    properties = parse_properties(body, 2)[0] if len(body) > 2 else {}
    reason_string = properties.get(_REASON_STRING)
    keepalive = properties.get(_SERVER_KEEPALIVE)
    receive_maximum = properties.get(_RECEIVE_MAXIMUM)
    return Connack(
        bool(body[0] & 0x01),
        body[1],
        reason_string if isinstance(reason_string, str) else None,
        keepalive if isinstance(keepalive, int) else None,
        receive_maximum if isinstance(receive_maximum, int) else PACKET_ID_MAX,
    )


def parse_suback(body: bytes) -> tuple[int, tuple[int, ...]]:
    """SUBACK body (§3.9): the packet id and one reason code per filter (>= 0x80 refused)."""
    if len(body) < 3:
        raise ProtocolError("SUBACK shorter than 3 bytes")
    end = parse_properties(body, 2)[1]
    return int.from_bytes(body[:2], "big"), tuple(body[end:])


def parse_disconnect(body: bytes) -> str:
    """DISCONNECT from the broker (§3.14): its reason in words."""
    if not body:
        return "0x00 Normal disconnection"
    text = parse_properties(body, 1)[0].get(_REASON_STRING) if len(body) > 1 else None
    return reason_name(body[0]) + (f" ({text})" if isinstance(text, str) else "")


# Property identifiers by the type of their value (§2.2.2.2); user properties are string pairs.
_BYTE_PROPS = frozenset({0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A})
_TWO_BYTE_PROPS = frozenset({0x13, 0x21, 0x22, 0x23})
_FOUR_BYTE_PROPS = frozenset({0x02, 0x11, 0x18, 0x27})
_STRING_PROPS = frozenset({0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F})
_BINARY_PROPS = frozenset({0x09, 0x16})
_USER_PROPERTY, _SUBSCRIPTION_ID = 0x26, 0x0B


def parse_properties(body: bytes, pos: int) -> tuple[dict[int, int | str | bytes], int]:
    """The properties at `pos` (last value wins for repeated ones) and the position after."""
    found = decode_varint(body, pos)
    if found is None:
        raise ProtocolError("properties cut short")
    length, index = found
    end = index + length
    if end > len(body):
        raise ProtocolError("properties longer than the packet")
    values: dict[int, int | str | bytes] = {}
    while index < end:
        identifier, index = body[index], index + 1
        value: int | str | bytes
        if identifier in _BYTE_PROPS:
            value, index = body[index], index + 1
        elif identifier in _TWO_BYTE_PROPS:
            value, index = int.from_bytes(body[index : index + 2], "big"), index + 2
        elif identifier in _FOUR_BYTE_PROPS:
            value, index = int.from_bytes(body[index : index + 4], "big"), index + 4
        elif identifier == _SUBSCRIPTION_ID:
            number = decode_varint(body, index)
            if number is None:
                raise ProtocolError("properties cut short")
            value, index = number
        elif identifier in _STRING_PROPS or identifier in _BINARY_PROPS:
            size = int.from_bytes(body[index : index + 2], "big")
            raw, index = body[index + 2 : index + 2 + size], index + 2 + size
            value = raw.decode(errors="replace") if identifier in _STRING_PROPS else raw
        elif identifier == _USER_PROPERTY:
            for _ in range(2):
                index += 2 + int.from_bytes(body[index : index + 2], "big")
            continue
        else:
            raise ProtocolError(f"unknown property 0x{identifier:02X}")
        values[identifier] = value
    if index != end:
        raise ProtocolError("properties overrun their length")
    return values, end


class Publish(NamedTuple):
    """A PUBLISH from the broker (§3.3). `packet_id` is 0 at QoS 0."""

    topic: str
    payload: bytes
    qos: int
    packet_id: int
    duplicate: bool
    retain: bool


class Control(NamedTuple):
    """Any other packet: its type, the fixed-header flags and the body."""

    kind: int
    flags: int
    body: bytes


class PacketReader:
    """Cuts the broker's byte stream into packets; `feed` bytes, then `read` many at once."""

    def __init__(self) -> None:
        self._data = b""
        self._pos = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as packets."""
        return len(self._data) - self._pos

    def feed(self, chunk: bytes) -> None:
        """Append bytes as received."""
        rest = self._data[self._pos :] if self._pos < len(self._data) else b""
        self._data = rest + chunk if rest else chunk
        self._pos = 0

    def read(self, limit: int) -> list[Publish | Control]:
        """Up to `limit` complete packets; a partial packet stays buffered for the next feed."""
        data, pos, end = self._data, self._pos, len(self._data)
        packets: list[Publish | Control] = []
        while len(packets) < limit and end - pos >= 2:
            first = data[pos]
            if data[pos + 1] < 0x80:  # the common case: a one-byte remaining length
                length, start = data[pos + 1], pos + 2
            else:
                found = decode_varint(data, pos + 1)
                if found is None:
                    break
                length, start = found
            stop = start + length
            if stop > end:
                break
            if first >> 4 == PUBLISH:
                try:
                    packets.append(_publish(data, first, start, stop))
                except (IndexError, UnicodeDecodeError) as err:
                    raise ProtocolError(f"malformed PUBLISH: {err}") from err
            else:
                packets.append(Control(first >> 4, first & 0x0F, data[start:stop]))
            pos = stop
        self._pos = pos
        return packets


def _publish(data: bytes, first: int, start: int, stop: int) -> Publish:
    """PUBLISH variable header (§3.3.2): topic, packet id at QoS > 0, properties, payload."""
    qos = (first >> 1) & 0x03
    if qos == 3:
        raise ProtocolError("PUBLISH with QoS 3")
    topic_end = start + 2 + ((data[start] << 8) | data[start + 1])
    topic = data[start + 2 : topic_end].decode()
    packet_id, pos = 0, topic_end
    if qos:
        packet_id, pos = (data[pos] << 8) | data[pos + 1], pos + 2
    if pos >= stop:
        raise ProtocolError("PUBLISH without a properties length")
    if data[pos] < 0x80:  # properties length
        pos += 1 + data[pos]
    else:
        found = decode_varint(data, pos)
        if found is None:
            raise ProtocolError("PUBLISH properties cut short")
        pos = found[0] + found[1]
    if pos > stop or (qos and packet_id == 0) or not topic:
        # An empty topic would mean a Topic Alias, which we never allow (maximum 0, §3.1.2.11.8).
        raise ProtocolError("malformed PUBLISH")
    return Publish(topic, data[pos:stop], qos, packet_id, bool(first & 0x08), bool(first & 0x01))


class PacketIdGaps:
    """Counts packet ids a broker skipped on one connection: messages it dropped for us.

    Mosquitto numbers the QoS 1/2 messages it sends one client consecutively (1 … 65535, then 1
    again) and spends an id on a message even when its full session queue drops it
    (`max_queued_messages`), so a jump means lost messages. Brokers that reuse freed ids
    instead go backwards sometimes; at the first backward step the count is switched off for
    the connection, so it never cries wolf. Redeliveries (DUP) reuse old ids and are skipped.
    """

    def __init__(self) -> None:
        self.last: int | None = None
        self.enabled = True

    def observe(self, packet_id: int, duplicate: bool) -> int:
        """How many ids were skipped before `packet_id` (0 when in sequence or unknown)."""
        if duplicate or not self.enabled or packet_id == 0:
            return 0
        last, self.last = self.last, packet_id
        if last is None:
            return 0
        step = (packet_id - last) % PACKET_ID_MAX  # ids run 1..65535: 65535 + 1 wraps to 1
        if step == 1:
            return 0
        if step == 0 or step > PACKET_ID_MAX // 2:
            self.enabled = False  # not consecutive numbering: stop counting on this connection
            return 0
        return step - 1
