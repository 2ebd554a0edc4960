"""The MQTT 5 packet codec: the standard's worked examples, round trips and malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.telemetry.sources.mqtt import packets
from lighthouse_os.telemetry.sources.mqtt.packets import (
    Control,
    PacketIdGaps,
    PacketReader,
    ProtocolError,
    Publish,
)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [  # MQTT 5.0 §1.5.5, Table 1-1: the boundaries of each length
        (0, "00"),
        (127, "7f"),
        (128, "8001"),
        (16_383, "ff7f"),
        (16_384, "808001"),
        (2_097_151, "ffff7f"),
        (2_097_152, "80808001"),
        (268_435_455, "ffffff7f"),
    ],
)
def test_varint_matches_the_standard_table(value: int, encoded: str) -> None:
    assert packets.encode_varint(value).hex() == encoded
    assert packets.decode_varint(bytes.fromhex(encoded), 0) == (value, len(encoded) // 2)


@given(st.integers(min_value=0, max_value=packets.MAX_REMAINING_LENGTH))
def test_varint_round_trips(value: int) -> None:
    raw = b"\x99" + packets.encode_varint(value)
    assert packets.decode_varint(raw, 1) == (value, len(raw))


def test_varint_is_none_when_cut_short_and_an_error_when_too_long() -> None:
    assert packets.decode_varint(b"\x80\x80", 0) is None
    with pytest.raises(ProtocolError, match="longer than 4 bytes"):
        packets.decode_varint(b"\x80\x80\x80\x80\x01", 0)
    with pytest.raises(ValueError, match="does not fit"):
        packets.encode_varint(268_435_456)


def test_connect_packet_resumes_the_session_with_expiry_and_receive_maximum() -> None:
    request = packets.ConnectRequest(
        client_id="w1",
        keepalive_seconds=30,
        clean_start=False,
        session_expiry_seconds=86_400,
        receive_maximum=1_000,
    )
    expected = (
        "10"  # CONNECT
        "17"  # remaining length 23
        "00044d515454"  # "MQTT"
        "05"  # version 5
        "00"  # flags: no clean start, no credentials
        "001e"  # keep alive 30 s
        "08"  # properties length
        "1100015180"  # Session Expiry Interval 86400
        "2103e8"  # Receive Maximum 1000
        "00027731"  # client id "w1"
    )
    assert packets.connect_packet(request).hex() == expected


def test_connect_packet_carries_credentials_and_clean_start() -> None:
    request = packets.ConnectRequest("c", 0, True, 0, 10, username="u", password="p@ss")
    raw = packets.connect_packet(request)
    assert raw[9] == 0xC2  # user name, password and clean start flags (§3.1.2.3)
    assert raw.endswith(b"\x00\x01c\x00\x01u\x00\x04p@ss")


def test_subscribe_packet_sets_qos_and_retain_handling_per_filter() -> None:
    raw = packets.subscribe_packet(1, ["$share/g/lhos/#", "spBv1.0/#"], qos=1)
    assert raw[0] == 0x82  # SUBSCRIBE with the reserved flags 0010 (§3.8.1)
    assert raw[2:5] == b"\x00\x01\x00"  # packet id 1, no properties
    assert raw[5:] == b"\x00\x0f$share/g/lhos/#\x11\x00\x09spBv1.0/#\x11"


def test_puback_packets_are_the_short_success_form() -> None:
    assert packets.puback_packets([1, 258]).hex() == "400200014002" + "0102"


def test_publish_packet_refuses_a_missing_or_needless_packet_id() -> None:
    with pytest.raises(ValueError, match="packet id"):
        packets.publish_packet("a", b"", qos=1)
    with pytest.raises(ValueError, match="packet id"):
        packets.publish_packet("a", b"", qos=0, packet_id=3)


def _stream() -> tuple[bytes, list[Publish | Control]]:
    big = b"x" * 300  # a two-byte remaining length
    with_properties = bytes.fromhex("3a09" + "000174" + "0007" + "020101" + "3f")
    raw = (
        packets.publish_packet("lhos/s/a", b'{"value":1}', qos=1, packet_id=7)
        + b"\xd0\x00"  # PINGRESP
        + packets.publish_packet("lhos/s/b", big)
        + with_properties
    )
    expected: list[Publish | Control] = [
        Publish("lhos/s/a", b'{"value":1}', 1, 7, False, False),
        Control(packets.PINGRESP, 0, b""),
        Publish("lhos/s/b", big, 0, 0, False, False),
        # DUP and QoS 1, topic "t", id 7, a Payload Format Indicator property, payload "?"
        Publish("t", b"?", 1, 7, True, False),
    ]
    return raw, expected


def test_reader_cuts_packets_whatever_the_chunk_boundaries() -> None:
    raw, expected = _stream()
    for cut in range(len(raw) + 1):
        reader = PacketReader()
        found: list[Publish | Control] = []
        for chunk in (raw[:cut], raw[cut:]):
            reader.feed(chunk)
            found += reader.read(100)
        assert found == expected, cut
        assert reader.buffered == 0


def test_reader_returns_at_most_limit_packets_and_keeps_the_rest() -> None:
    raw, expected = _stream()
    reader = PacketReader()
    reader.feed(raw)
    assert reader.read(3) == expected[:3]
    assert reader.read(3) == expected[3:]
    assert reader.read(3) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("3206" + "0001" + "61" + "0000" + "00", "malformed PUBLISH"),  # QoS 1, packet id 0
        ("3605" + "0001" + "61" + "0001", "QoS 3"),
        ("3003" + "0001" + "ff", "malformed PUBLISH"),  # topic not UTF-8
        ("3003" + "0001" + "61", "without a properties length"),
    ],
)
def test_reader_rejects_a_malformed_publish(raw: str, message: str) -> None:
    reader = PacketReader()
    reader.feed(bytes.fromhex(raw))
    with pytest.raises(ProtocolError, match=message):
        reader.read(10)


def test_connack_reads_session_reason_and_properties() -> None:
    # Session present, success; Receive Maximum 20, Server Keep Alive 60, Reason String "hi".
    connack = packets.parse_connack(
        bytes.fromhex("0100" + "0b" + "210014" + "13003c" + "1f00026869")
    )
    assert connack == packets.Connack(True, 0, "hi", 60, 20)
    assert not connack.refused
    refused = packets.parse_connack(bytes.fromhex("0087" + "00"))
    assert refused.refused
    assert refused.describe() == "0x87 Not authorized"
    assert packets.parse_connack(b"\x00\x00").receive_maximum == 65_535


def test_properties_skip_user_properties_and_refuse_unknown_ones() -> None:
    body = bytes.fromhex("00" + "0a" + "26" + "000161" + "000162" + "22" + "000a")
    values, end = packets.parse_properties(body, 1)
    assert values == {0x22: 10}
    assert end == len(body)
    with pytest.raises(ProtocolError, match="unknown property 0x7F"):
        packets.parse_properties(bytes.fromhex("027f00"), 0)


def test_suback_and_disconnect_reasons() -> None:
    assert packets.parse_suback(bytes.fromhex("0001" + "00" + "019e")) == (1, (0x01, 0x9E))
    assert packets.reason_name(0x9E) == "0x9E Shared Subscriptions not supported"
    assert packets.parse_disconnect(b"") == "0x00 Normal disconnection"
    assert packets.parse_disconnect(bytes.fromhex("8b" + "04" + "1f000162")) == (
        "0x8B Server shutting down (b)"
    )


@pytest.mark.parametrize(
    ("ids", "skipped"),
    [
        ([1, 2, 3], [0, 0, 0]),
        ([10, 11, 15, 16], [0, 0, 3, 0]),  # 12, 13 and 14 were dropped
        ([65_534, 65_535, 1, 2], [0, 0, 0, 0]),  # ids wrap from 65535 to 1, never 0
        ([65_533, 2], [0, 3]),  # 65534, 65535 and 1
        ([5, 6, 3, 9], [0, 0, 0, 0]),  # a step back: ids are reused, counting stops
    ],
)
def test_packet_id_gaps_count_skipped_ids(ids: list[int], skipped: list[int]) -> None:
    gaps = PacketIdGaps()
    assert [gaps.observe(i, duplicate=False) for i in ids] == skipped


def test_packet_id_gaps_ignore_redeliveries_and_qos_0() -> None:
    gaps = PacketIdGaps()
    observed = [gaps.observe(1, False), gaps.observe(0, False), gaps.observe(40, True)]
    assert [*observed, gaps.observe(2, False)] == [0, 0, 0, 0]
